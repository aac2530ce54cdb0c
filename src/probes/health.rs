//! Health: HTTP GET of a site's health URL → status and latency.

use super::reading::{Level, ProbeError, Reading};
use crate::clients::http::HttpClient;
use crate::plan::{HealthConfig, Value};

pub async fn probe(http: &HttpClient, cfg: &HealthConfig) -> Result<Reading, ProbeError> {
    match http.get(&cfg.url, cfg.timeout).await {
        Ok(r) => {
            let ok = cfg.expect_status.contains(&r.status);
            let ms = r.elapsed.as_millis();
            // The panel adds the ✓/✗ mark from the level; the summary carries the facts.
            let reason = reqwest::StatusCode::from_u16(r.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let summary = format!("{} {reason} · {ms} ms", r.status);
            Ok(
                Reading::new(summary, if ok { Level::Good } else { Level::Bad })
                    .field("ok", Value::Bool(ok))
                    .field("status", Value::Num(f64::from(r.status)))
                    .field("latency", Value::Duration(r.elapsed)),
            )
        }
        Err(e) => Err(ProbeError::new(e.short(), e.to_string())),
    }
}
