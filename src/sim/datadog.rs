//! Simulated Datadog metrics query (`GET /datadog/api/v1/query?from=&to=&query=`; a plan's
//! `api_url` is `http://<sim>/datadog`, since the Prometheus family owns `/api/v1/query`),
//! answering like Datadog: `{"status":"ok","res_type":"time_series","series":[{…,"pointlist":
//! [[ms, value]]}],…}`; 403 `{"errors":["Forbidden"]}` without both `DD-API-KEY` and
//! `DD-APPLICATION-KEY` (or with the key `bad`); 400 `{"errors":[…]}` without from/to/query.
//!
//! Values by query text: `replica_lag` 2 s, `oldest_replication_slot_lag` 1 MiB,
//! `transaction_logs_disk_usage` 256 MiB, `backup` 3600 s; `nulls` makes the latest point null;
//! anything else answers no series (a wrong metric or tag), as Datadog does.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub fn family() -> super::Family {
    super::Family::new("datadog", routes()).endpoint(
        "GET /datadog/api/v1/query?from=&to=&query= (DD-API-KEY, DD-APPLICATION-KEY; aws.rds.replica_lag, …)",
    )
}

pub fn routes() -> Router {
    Router::new().route("/datadog/api/v1/query", get(query))
}

fn errors(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "errors": [msg] }))).into_response()
}

fn value_of(q: &str) -> Option<f64> {
    let q = q.to_ascii_lowercase();
    if q.contains("replica_lag") {
        Some(2.0)
    } else if q.contains("oldest_replication_slot_lag") {
        Some(1_048_576.0)
    } else if q.contains("transaction_logs_disk_usage") {
        Some(268_435_456.0)
    } else if q.contains("backup") {
        Some(3600.0)
    } else {
        None
    }
}

async fn query(headers: HeaderMap, Query(p): Query<HashMap<String, String>>) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (api, app) = (h("dd-api-key"), h("dd-application-key"));
    if api.is_empty() || app.is_empty() || api == "bad" || app == "bad" {
        return errors(StatusCode::FORBIDDEN, "Forbidden");
    }
    let (Some(from), Some(to), Some(q)) = (
        p.get("from").and_then(|v| v.parse::<i64>().ok()),
        p.get("to").and_then(|v| v.parse::<i64>().ok()),
        p.get("query"),
    ) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "The 'from', 'to' and 'query' parameters are required",
        );
    };
    let end = to / 60 * 60;
    let series = match value_of(q) {
        None => vec![],
        Some(v) => {
            let nulls = q.contains("nulls");
            let points: Vec<serde_json::Value> = (0..5)
                .rev()
                .map(|i| {
                    let t = (end - i * 60) * 1000;
                    if nulls && i == 0 {
                        json!([t as f64, null])
                    } else {
                        json!([t as f64, v])
                    }
                })
                .collect();
            let metric = q
                .split(':')
                .nth(1)
                .unwrap_or(q)
                .split('{')
                .next()
                .unwrap_or(q);
            let scope = q
                .split('{')
                .nth(1)
                .and_then(|s| s.split('}').next())
                .unwrap_or("*");
            vec![json!({
                "aggr": "max", "display_name": metric, "end": end * 1000 + 59_999,
                "expression": q, "interval": 60, "length": points.len(), "metric": metric,
                "pointlist": points, "query_index": 0, "scope": scope,
                "start": (end - 240) * 1000, "tag_set": [], "unit": null
            })]
        }
    };
    axum::Json(json!({
        "status": "ok", "res_type": "time_series", "resp_version": 1, "query": q,
        "from_date": from * 1000, "to_date": to * 1000, "series": series,
        "message": "", "error": null, "group_by": []
    }))
    .into_response()
}
