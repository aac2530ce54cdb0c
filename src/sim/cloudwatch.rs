//! Simulated CloudWatch `GetMetricData` (Query API, `GET /cloudwatch/?Action=GetMetricData&…`),
//! answering like the service so the CloudWatch metric source is tested against its shapes:
//! the XML `GetMetricDataResponse` (`MetricDataResults/member` with `Id`, `Label`, `StatusCode`,
//! `Timestamps/member`, `Values/member`, newest first), and errors as the Query API's XML
//! `ErrorResponse` (`Error/Type`, `Code`, `Message`, then `RequestId`): 403
//! `MissingAuthenticationToken` without a SigV4 `Authorization`, 400 `InvalidAction`,
//! `MissingParameter`, `InvalidParameterValue` (an unknown statistic).
//!
//! Values (namespace `AWS/RDS`, any `DBInstanceIdentifier`): `ReplicaLag` 2 s,
//! `OldestReplicationSlotLag` 1 MiB, `TransactionLogsDiskUsage` 256 MiB; namespace
//! `Custom/Backups` `BackupAgeSeconds` 3600. One point a minute over the last five minutes. A
//! metric CloudWatch does not know answers an EMPTY result (`Complete`, no datapoints), as the
//! real service does; a dimension value `stale` answers points an hour old.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const XMLNS: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

pub fn family() -> super::Family {
    super::Family::new("cloudwatch", routes()).endpoint(
        "GET /cloudwatch/?Action=GetMetricData&Version=2010-08-01&… (SigV4; RDS ReplicaLag, OldestReplicationSlotLag, TransactionLogsDiskUsage; Custom/Backups BackupAgeSeconds)",
    )
}

pub fn routes() -> Router {
    Router::new().route("/cloudwatch/", get(get_metric_data))
}

pub fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>0f6e5c2a-sim0-4c1e-9d3b-cloudwatch01</RequestId>\n</ErrorResponse>\n"
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn value_of(namespace: &str, metric: &str) -> Option<f64> {
    match (namespace, metric) {
        ("AWS/RDS", "ReplicaLag") => Some(2.0),
        ("AWS/RDS", "OldestReplicationSlotLag") => Some(1_048_576.0),
        ("AWS/RDS", "TransactionLogsDiskUsage") => Some(268_435_456.0),
        ("Custom/Backups", "BackupAgeSeconds") => Some(3600.0),
        _ => None,
    }
}

async fn get_metric_data(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="));
    if !signed {
        return error(
            StatusCode::FORBIDDEN,
            "Sender",
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        );
    }
    if q.get("Action").map(String::as_str) != Some("GetMetricData") {
        return error(
            StatusCode::BAD_REQUEST,
            "Sender",
            "InvalidAction",
            "The action or operation requested is invalid. Verify that the action is typed correctly.",
        );
    }
    for k in ["StartTime", "EndTime"] {
        if !q.contains_key(k) {
            return error(
                StatusCode::BAD_REQUEST,
                "Sender",
                "MissingParameter",
                &format!("The parameter {k} is required."),
            );
        }
    }
    let now = chrono::Utc::now().timestamp() / 60 * 60;
    let mut members = String::new();
    for n in 1.. {
        let p = format!("MetricDataQueries.member.{n}");
        let Some(id) = q.get(&format!("{p}.Id")) else {
            break;
        };
        let get = |k: &str| q.get(&format!("{p}.{k}")).cloned().unwrap_or_default();
        let ns = get("MetricStat.Metric.Namespace");
        let metric = get("MetricStat.Metric.MetricName");
        let stat = get("MetricStat.Stat");
        let stat_ok = matches!(
            stat.as_str(),
            "Average" | "Minimum" | "Maximum" | "Sum" | "SampleCount"
        ) || stat.starts_with('p');
        if !stat_ok {
            return error(
                StatusCode::BAD_REQUEST,
                "Sender",
                "InvalidParameterValue",
                &format!(
                    "The value {stat} for parameter MetricDataQueries.member.{n}.MetricStat.Stat is not valid."
                ),
            );
        }
        let stale = (1..=10).any(|d| {
            q.get(&format!(
                "{p}.MetricStat.Metric.Dimensions.member.{d}.Value"
            ))
            .is_some_and(|v| v == "stale")
        });
        let base = if stale { now - 3600 } else { now };
        let (mut ts, mut vs) = (String::new(), String::new());
        if let Some(v) = value_of(&ns, &metric) {
            for i in 0..5 {
                let t = chrono::DateTime::from_timestamp(base - i * 60, 0).unwrap_or_default();
                ts.push_str(&format!(
                    "\n            <member>{}</member>",
                    t.format("%Y-%m-%dT%H:%M:%SZ")
                ));
                vs.push_str(&format!("\n            <member>{v:.1}</member>"));
            }
        }
        members.push_str(&format!(
            "\n      <member>\n        <Timestamps>{ts}\n        </Timestamps>\n        <Label>{metric}</Label>\n        <Id>{id}</Id>\n        <StatusCode>Complete</StatusCode>\n        <Values>{vs}\n        </Values>\n      </member>"
        ));
    }
    let body = format!(
        "<GetMetricDataResponse xmlns=\"{XMLNS}\">\n  <GetMetricDataResult>\n    <MetricDataResults>{members}\n    </MetricDataResults>\n    <Messages/>\n  </GetMetricDataResult>\n  <ResponseMetadata>\n    <RequestId>5b1a3e2c-sim0-4f7e-8a8e-cloudwatch01</RequestId>\n  </ResponseMetadata>\n</GetMetricDataResponse>\n"
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}
