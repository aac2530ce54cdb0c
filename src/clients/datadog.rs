//! Datadog metrics query (`GET /api/v1/query?from=&to=&query=`, headers `DD-API-KEY` and
//! `DD-APPLICATION-KEY`), for replication lag and backup age when a team's metrics live in
//! Datadog. The API host is `https://api.<site>` (`datadoghq.com`, `datadoghq.eu`,
//! `us3.datadoghq.com`, …). Answer: `{"status":"ok","series":[{"pointlist":[[ms, value|null]],
//! "scope":…,"expression":…}],…}`; errors as `{"errors":["Forbidden"]}`. Shapes from Datadog's
//! API reference, "Query timeseries points" (docs.datadoghq.com/api/latest/metrics/
//! query-timeseries-points), confirmed with the `search` tool; the reference folder is silent on
//! Datadog.

use std::time::Duration;

use super::http::{HttpClient, RequestSpec, percent_encode};
use super::series::Series;

const NAME: &str = "Datadog";

#[derive(Debug, Clone)]
pub struct Datadog {
    /// `https://api.<site>` unless overridden (simulator, proxy).
    pub api_url: String,
    pub api_key: String,
    pub app_key: String,
}

/// `datadoghq.eu` → `https://api.datadoghq.eu`.
pub fn site_api_url(site: &str) -> String {
    format!("https://api.{}", site.trim().trim_start_matches("app."))
}

impl Datadog {
    pub fn request(&self, query: &str, from: i64, to: i64) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            url: format!(
                "{}/api/v1/query?from={from}&to={to}&query={}",
                self.api_url.trim_end_matches('/'),
                percent_encode(query)
            ),
            headers: vec![
                ("DD-API-KEY".into(), self.api_key.clone()),
                ("DD-APPLICATION-KEY".into(), self.app_key.clone()),
                ("Accept".into(), "application/json".into()),
            ],
            body: None,
        }
    }

    pub async fn query(
        &self,
        http: &HttpClient,
        query: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<Series>, String> {
        let resp = http
            .send(&self.request(query, from, to), Duration::from_secs(5))
            .await
            .map_err(|e| format!("{NAME}: {e}"))?;
        if !(200..300).contains(&resp.status) {
            let hint = if matches!(resp.status, 401 | 403) {
                " (check the API key, the application key and its timeseries_query permission, and the site)"
            } else {
                ""
            };
            return Err(format!(
                "{NAME} answered {}: {}{hint}",
                resp.status,
                error_detail(&resp.body)
            ));
        }
        parse_response(&resp.body, query)
    }
}

/// The `errors` list of an error answer, joined.
pub fn error_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["errors"].as_array().map(|a| {
                a.iter()
                    .map(|e| e.as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The series of a query answer (`pointlist` timestamps are milliseconds).
pub fn parse_response(body: &str, query: &str) -> Result<Vec<Series>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "{NAME}: the answer to `{query}` is not JSON: {}",
            body.chars().take(120).collect::<String>()
        )
    })?;
    if v["status"].as_str() != Some("ok") {
        return Err(format!(
            "{NAME}: `{query}`: status {} {}",
            v["status"].as_str().unwrap_or("?"),
            v["error"].as_str().unwrap_or("")
        ));
    }
    let Some(series) = v["series"].as_array() else {
        return Err(format!("{NAME}: the answer to `{query}` has no `series`"));
    };
    Ok(series
        .iter()
        .map(|s| {
            let label = s["scope"]
                .as_str()
                .or(s["expression"].as_str())
                .unwrap_or(query)
                .to_string();
            let points = s["pointlist"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            let ms = p.get(0)?.as_f64()?;
                            Some(((ms / 1000.0) as i64, p.get(1).and_then(|x| x.as_f64())))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Series { label, points }
        })
        .collect())
}
