//! Webhook sinks: `POST /webhooks/{name}` records the body and answers; `GET /webhooks/{name}`
//! lists the bodies that arrived (a JSON array of strings, `[]` when none).
//!
//! Most sinks answer `200 ok`. Two answer as the real service does, quirks included:
//! - `slack` (and `slack-*`): Slack incoming webhooks answer `200 ok` in plain text, and refuse a
//!   body that is not JSON (nor a `payload=` form) with `400 invalid_payload`, and a message with
//!   no `text`, `blocks` or `attachments` with `400 no_text` — plain text, not JSON.
//! - `pagerduty` (and `pagerduty-*`): PagerDuty Events API v2 answers `202` with a JSON
//!   `{"status":"success","message":"Event processed","dedup_key":…}`, and `400` with a JSON
//!   `{"status":"invalid event",…}` when `routing_key` or a valid `event_action` is missing.
//!
//! Every body is recorded, refused or not: the sink shows what was sent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Family;
use super::world::SimState;

pub fn family(state: SimState) -> Family {
    let router = Router::new()
        .route("/webhooks/{name}", get(list).post(receive))
        .with_state(state);
    Family::new("webhooks", router)
        .endpoint("POST /webhooks/{name}")
        .endpoint("GET /webhooks/{name}")
}

async fn receive(
    State(state): State<SimState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = String::from_utf8_lossy(&body).into_owned();
    let is = |service: &str| name == service || name.starts_with(&format!("{service}-"));
    let response = if is("slack") {
        slack(&body)
    } else if is("pagerduty") {
        pagerduty(&body, state.with_rng("webhooks", |rng| rng.u128(..)))
    } else {
        (StatusCode::OK, "ok").into_response()
    };
    state.record_webhook(&name, content_type, body, response.status().as_u16());
    response
}

async fn list(State(state): State<SimState>, Path(name): Path<String>) -> Json<Vec<String>> {
    Json(state.webhooks(&name))
}

/// Slack's answer to an incoming-webhook body (also `sim::notify`'s).
pub(super) fn slack(body: &str) -> Response {
    let json = match body.strip_prefix("payload=") {
        Some(form) => percent_decode_form(form),
        None => Some(body.to_owned()),
    };
    let message = json.and_then(|j| serde_json::from_str::<Value>(&j).ok());
    let Some(Value::Object(message)) = message else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let has = |key: &str| match message.get(key) {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    if has("text") || has("blocks") || has("attachments") {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::BAD_REQUEST, "no_text").into_response()
    }
}

fn pagerduty(body: &str, fresh_key: u128) -> Response {
    let event = serde_json::from_str::<Value>(body).ok();
    let mut errors = Vec::new();
    match &event {
        Some(Value::Object(e)) => {
            if !e.get("routing_key").is_some_and(Value::is_string) {
                errors.push("'routing_key' is missing or blank");
            }
            let action = e.get("event_action").and_then(Value::as_str);
            if !matches!(action, Some("trigger" | "acknowledge" | "resolve")) {
                errors.push("'event_action' is missing or invalid");
            }
            if action == Some("trigger") && !e.get("payload").is_some_and(Value::is_object) {
                errors.push("'payload' is missing or not an object");
            }
        }
        _ => errors.push("Event object is not valid JSON"),
    }
    if !errors.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            })),
        )
            .into_response();
    }
    let dedup_key = event
        .as_ref()
        .and_then(|e| e.get("dedup_key"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{fresh_key:032x}"));
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "success",
            "message": "Event processed",
            "dedup_key": dedup_key,
        })),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` value decoding (`+` is a space, `%XX` a byte); `None`
/// when the bytes are not UTF-8.
fn percent_decode_form(s: &str) -> Option<String> {
    let s = s.split('&').next().unwrap_or_default().replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}
