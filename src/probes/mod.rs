//! What the panels watch. Each probe reads one section of one site and returns an
//! [`Observation`]; the runtime schedules them on their intervals with bounded concurrency.
//! Probes never block the screen and never decide anything: the engine does.

pub mod dns;
pub mod health;

use std::sync::Arc;

use chrono::Utc;

use crate::app::{Observation, Section};
use crate::clients::http::HttpClient;
use crate::plan::{Plan, SiteId};

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
        if plan.site(site).health.is_some() {
            v.push(ProbeKey {
                site,
                section: Section::Health,
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

/// Run one probe once.
pub async fn run(plan: &Arc<Plan>, http: &HttpClient, key: ProbeKey) -> Observation {
    let outcome = match key.section {
        Section::Health => match &plan.site(key.site).health {
            Some(cfg) => health::probe(http, cfg).await,
            None => Err(crate::app::ProbeError::new(
                "not configured",
                "no health URL in the plan",
            )),
        },
        Section::Dns => dns::probe(plan, http, key.site).await,
        other => Err(crate::app::ProbeError::new(
            "no probe",
            format!(
                "the {} probe is not available in this build",
                other.as_str()
            ),
        )),
    };
    Observation {
        site: key.site,
        section: key.section,
        at: Utc::now(),
        outcome,
    }
}
