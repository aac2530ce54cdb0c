//! What the panels watch. Each probe reads one section of one site and returns an
//! [`Observation`]; the runtime schedules them on their intervals with bounded concurrency.
//! Probes never block the screen and never decide anything: the engine does.
//!
//! What probes remember between rounds (kept sessions, names, last digests and positions) is a
//! [`ProbeMemory`] owned by the run and passed to [`run`], never a process-wide cache.

pub mod database;
pub mod dns;
pub mod health;
pub mod images;
pub mod memory;
pub mod parity;
pub mod qovery;
pub mod reading;

pub use memory::ProbeMemory;

use std::sync::Arc;

use chrono::Utc;

use crate::clients::http::HttpClient;
use crate::plan::{Plan, SiteId};
use reading::{Observation, Section};

/// One thing to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeKey {
    pub site: SiteId,
    pub section: Section,
}

/// Every probe this plan configures. Sections without a probe implementation yet stay "not
/// configured"/waiting in the panel rather than showing invented data.
pub fn configured(plan: &Plan) -> Vec<ProbeKey> {
    let mut v = Vec::new();
    for site in SiteId::ALL {
        let s = plan.site(site);
        if plan.qovery.is_some() {
            if s.cluster.is_some() {
                v.push(ProbeKey {
                    site,
                    section: Section::Cluster,
                });
            }
            if s.environment.is_some() {
                v.push(ProbeKey {
                    site,
                    section: Section::Env,
                });
            }
        }
        if s.health.is_some() {
            v.push(ProbeKey {
                site,
                section: Section::Health,
            });
        }
        if s.registry.is_some() && plan.images.is_some() {
            v.push(ProbeKey {
                site,
                section: Section::Images,
            });
        }
        if plan.site(site).database.is_some() {
            v.push(ProbeKey {
                site,
                section: Section::Database,
            });
        }
    }
    if parity::configured(plan) {
        for site in SiteId::ALL {
            v.push(ProbeKey {
                site,
                section: Section::Parity,
            });
        }
    }
    if plan.dns.is_some() {
        for site in SiteId::ALL {
            v.push(ProbeKey {
                site,
                section: Section::Dns,
            });
        }
    }
    v
}

/// Run one probe once, with the run's memory of earlier rounds.
pub async fn run(
    plan: &Arc<Plan>,
    http: &HttpClient,
    mem: &ProbeMemory,
    key: ProbeKey,
) -> Observation {
    let outcome = match key.section {
        Section::Health => match &plan.site(key.site).health {
            Some(cfg) => health::probe(http, cfg).await,
            None => Err(reading::ProbeError::new(
                "not configured",
                "no health URL in the plan",
            )),
        },
        Section::Cluster | Section::Env => qovery_probe(plan, http, &mem.qovery, key).await,
        Section::Database => database::probe(plan, http, &mem.pg, key.site).await,
        Section::Dns => dns::probe(plan, http, key.site).await,
        Section::Images => images::probe(plan, http, &mem.images, key.site).await,
        Section::Parity => match &plan.qovery {
            Some(cfg) => {
                let client = crate::clients::qovery::QoveryClient::from_plan(cfg, http.clone())
                    .with_timeout(std::time::Duration::from_secs(10));
                parity::probe(plan, &client).await
            }
            None => Err(reading::ProbeError::new(
                "not configured",
                "no [qovery] section in the plan",
            )),
        },
    };
    Observation {
        site: key.site,
        section: key.section,
        at: Utc::now(),
        outcome,
    }
}

async fn qovery_probe(
    plan: &Arc<Plan>,
    http: &HttpClient,
    mem: &qovery::QoveryMemory,
    key: ProbeKey,
) -> Result<reading::Reading, reading::ProbeError> {
    let not_configured = |what: &str| {
        Err(reading::ProbeError::new(
            "not configured",
            format!("no {what} in the plan"),
        ))
    };
    let Some(cfg) = &plan.qovery else {
        return not_configured("[qovery] section");
    };
    let client = crate::clients::qovery::QoveryClient::from_plan(cfg, http.clone())
        .with_timeout(std::time::Duration::from_secs(10));
    let site = plan.site(key.site);
    match key.section {
        Section::Cluster => match &site.cluster {
            Some(id) => qovery::cluster(&client, mem, id).await,
            None => not_configured("cluster id for this site"),
        },
        _ => match &site.environment {
            Some(id) => qovery::environment(&client, mem, key.site, id).await,
            None => not_configured("environment id for this site"),
        },
    }
}
