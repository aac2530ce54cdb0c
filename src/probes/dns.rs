//! DNS: where the record points on every authoritative nameserver (asked directly, recursion
//! off, `aa` required) — PROD, DR, or neither — with its TTL and whether the SOA serials agree.
//!
//! Fields for conditions: `points_to` (`prod`, `dr`, `other`, `none`, `split`), `serving`
//! (this site is the one it points at), `ttl` (seconds), `serial_agree`, `serial`, `answering`,
//! `nameservers`, `target_ready` (this site has a target to switch to) and, after a switch in this
//! process, `caches_left` (how long resolvers may still hold the old answer).
//!
//! The section is healthy only when every authoritative nameserver answers the same target and
//! that target is one of the sites' `dns_target`: an answer pointing at neither site (`other`)
//! or at nothing (`none`) is an error on both panels, with the answer named.

use std::time::Duration;

use chrono::Utc;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::dns::query::{ZoneView, observe_config};
use crate::clients::dns::{Provider, matches_target};
use crate::clients::http::HttpClient;
use crate::plan::{DnsProvider, Plan, SiteId, Value};

pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Which site `values` point at, as a field value.
pub fn classify(plan: &Plan, record_type: &str, values: &[String]) -> &'static str {
    if values.is_empty() {
        return "none";
    }
    for site in SiteId::ALL {
        if let Some(t) = &plan.site(site).dns_target
            && matches_target(record_type, values, t)
        {
            return site.as_str();
        }
    }
    "other"
}

fn upper(points_to: &str) -> String {
    match points_to {
        "prod" | "dr" => points_to.to_ascii_uppercase(),
        other => other.to_string(),
    }
}

pub async fn probe(plan: &Plan, http: &HttpClient, site: SiteId) -> Result<Reading, ProbeError> {
    let Some(cfg) = &plan.dns else {
        return Err(ProbeError::new(
            "not configured",
            "no [dns] section in the plan",
        ));
    };
    let view = observe_config(cfg, QUERY_TIMEOUT)
        .await
        .map_err(|e| ProbeError::new(e.short(), e.redacted()))?;
    let mut r = reading(plan, site, &view)?;
    // A proxied Cloudflare record answers with edge addresses: read it back through the API.
    if matches!(cfg.provider, Some(DnsProvider::Cloudflare { .. }))
        && matches!(r.fields.get("points_to"), Some(Value::Text(t)) if t == "other")
        && let Ok(p) = Provider::from_config(cfg)
        && let Ok(Some(st)) = p.current(http).await
        && st.proxied == Some(true)
    {
        let points_to = classify(plan, &cfg.record_type, &st.values);
        let serving = points_to == site.as_str();
        let record = cfg.record.trim_end_matches('.');
        r.summary = if serving {
            format!("{record} → {} (proxied)", site.upper())
        } else {
            format!("standby · → {} (proxied)", upper(points_to))
        };
        // The edge addresses made the nameservers' answer look foreign: judge the API's.
        let partial = matches!(
            (r.fields.get("answering"), r.fields.get("nameservers")),
            (Some(Value::Num(a)), Some(Value::Num(n))) if a < n
        );
        r.level = match points_to {
            "prod" | "dr" if partial => Level::Warn,
            "prod" | "dr" => Level::Good,
            _ => Level::Bad,
        };
        r.fields
            .insert("points_to".into(), Value::Text(points_to.into()));
        r.fields.insert("serving".into(), Value::Bool(serving));
        r.fields.insert("proxied".into(), Value::Bool(true));
        r.details.push(format!(
            "proxied by Cloudflare: the nameservers answer edge addresses; the API holds {}",
            st.show()
        ));
    }
    Ok(r)
}

/// Turn every nameserver's answer into this site's panel reading.
pub fn reading(plan: &Plan, site: SiteId, view: &ZoneView) -> Result<Reading, ProbeError> {
    let Some(cfg) = &plan.dns else {
        return Err(ProbeError::new(
            "not configured",
            "no [dns] section in the plan",
        ));
    };
    let total = view.answers.len();
    let mut details = Vec::new();
    let mut sites: Vec<&'static str> = Vec::new();
    let mut errors = Vec::new();
    // Answers that point at neither site (`other`) or at nothing (`none`), named for the panel.
    let mut foreign: Vec<String> = Vec::new();
    for a in &view.answers {
        match &a.result {
            Ok(r) => {
                let p = classify(plan, &cfg.record_type, &r.values);
                sites.push(p);
                match p {
                    "other" => foreign.push(r.values.join(", ")),
                    "none" => foreign.push(format!("no {} record ({})", cfg.record_type, r.rcode)),
                    _ => {}
                }
                details.push(format!(
                    "{}: {} ({}) TTL {} serial {} · {} ms",
                    a.ns,
                    if r.values.is_empty() {
                        r.rcode.clone()
                    } else {
                        r.values.join(", ")
                    },
                    upper(p),
                    r.ttl.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                    r.serial
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.elapsed.as_millis()
                ));
            }
            Err(e) => {
                details.push(format!("{}: ✗ {}", a.ns, e.reason(&a.ns)));
                errors.push(e.redacted());
            }
        }
    }
    if sites.is_empty() {
        return Err(ProbeError::new(
            if total == 0 {
                "no nameservers"
            } else {
                "no answer"
            },
            if errors.is_empty() {
                "no nameserver to ask".to_string()
            } else {
                errors.join("; ")
            },
        ));
    }
    let mut distinct = sites.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let points_to = if distinct.len() == 1 {
        distinct[0]
    } else {
        "split"
    };
    let serial_agree = view.serial_agree();
    let answering = sites.len();
    let ttl = view.ttl();
    let own_target = plan.site(site).dns_target.clone();
    let serving = points_to == site.as_str();
    let record = cfg.record.trim_end_matches('.');
    let ttl_text = ttl.map(|t| format!(" TTL {t}")).unwrap_or_default();
    foreign.sort();
    foreign.dedup();
    let mut summary = if !foreign.is_empty() {
        // Neither site's target: DR is not ready to take traffic, whatever else holds.
        format!(
            "→ {}: {} (neither site)",
            if points_to == "split" {
                "split"
            } else {
                points_to
            },
            foreign.join("; ")
        )
    } else if serving {
        format!("{record} → {}{ttl_text}", site.upper())
    } else if points_to == "split" {
        let n = sites.iter().filter(|s| **s == site.as_str()).count();
        format!("{record} split: {n}/{answering} → {}", site.upper())
    } else if own_target.is_some() && site == SiteId::Dr && points_to == "prod" {
        // The mock-up's wording; where it points is in `points_to` and the expanded view.
        "standby target ready".to_string()
    } else if own_target.is_some() && site == SiteId::Dr {
        format!("standby ready · → {}{ttl_text}", upper(points_to))
    } else if own_target.is_some() {
        format!("{record} → {}{ttl_text}", upper(points_to))
    } else {
        format!("{record} → {} · no dns_target", upper(points_to))
    };
    let mut level = Level::Good;
    if answering < total {
        summary.push_str(&format!(" · {answering}/{total} NS"));
        level = Level::Warn;
    }
    if !serial_agree && answering > 1 {
        summary.push_str(" · serials differ");
        level = Level::Warn;
    }
    if points_to == "split" || (own_target.is_none() && !serving) {
        level = Level::Warn;
    }
    if !foreign.is_empty() {
        level = Level::Bad;
    }
    let mut r = Reading::new(summary, level)
        .field("points_to", Value::Text(points_to.into()))
        .field("serving", Value::Bool(serving))
        .field("serial_agree", Value::Bool(serial_agree))
        .field("answering", Value::Num(answering as f64))
        .field("nameservers", Value::Num(total as f64))
        .field("target_ready", Value::Bool(own_target.is_some()));
    if let Some(t) = ttl {
        r = r.field("ttl", Value::Num(f64::from(t)));
    }
    if let [s] = view.serials().as_slice() {
        r = r.field("serial", Value::Num(f64::from(*s)));
    }
    if let Some(until) = crate::steps::dns::caches_until(&cfg.record) {
        let left = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        r = r.field("caches_left", Value::Duration(left));
        details.push(format!(
            "resolvers may hold the old answer until {}{}",
            until.format("%H:%M:%S UTC"),
            if left.is_zero() {
                " (expired)".to_string()
            } else {
                format!(" ({} left)", crate::plan::units::fmt_duration(left))
            }
        ));
    }
    if let Some(t) = &own_target {
        details.push(format!("{} target: {t}", site.upper()));
    }
    r.details = details;
    Ok(r)
}
