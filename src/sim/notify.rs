//! Simulated on-call services for the `notify.*` step kinds (issue 16, item 4). Each sink checks
//! the body against the service's documented format, answers as the service does (errors in its
//! own shape), and records what it received, refused or not (`SimState::webhook_requests`, sink
//! names `notify-slack`, `notify-teams`, `notify-pagerduty`, `notify-opsgenie`,
//! `notify-opsgenie-close`):
//!
//! | endpoint | answers |
//! |---|---|
//! | `POST /notify/slack/{token}` | `200 ok`; `400 invalid_payload` / `no_text`; `403 invalid_token`; `429` |
//! | `POST /notify/teams/{token}` | `202`; `400` (not an Adaptive Card message); `401`; `429` |
//! | `POST /notify/pagerduty/v2/enqueue` | `202 {status, message, dedup_key}`; `400 {status: "invalid event", message, errors}`; `429` |
//! | `POST /notify/opsgenie/v2/alerts` | `202 {result, took, requestId}`; `400` bad JSON; `401`; `422` semantic errors; `429` |
//! | `POST /notify/opsgenie/v2/alerts/{id}/close` | the same (`?identifierType=alias` for an alias) |
//!
//! A credential (the webhook URL's token, the routing key, the GenieKey) containing `bad` is
//! refused as the service refuses a revoked one; one containing `ratelimited` gets a 429.
//!
//! Sources (tests/fixtures/notify/README.md has a documented example body per service and the
//! page it follows; tests/notify_formats.rs checks the sinks against them). Checked against the
//! documentation: the request bodies each sink accepts or refuses; Slack's `400 invalid_payload`
//! (Slack changelog 2016-05-17); the Teams message shape (Microsoft Teams "Send Adaptive Cards
//! using an Incoming Webhook"); PagerDuty's required fields, enums, limits (summary 1024,
//! dedup_key 255, 512 KB) and codes 202/400/429 (Events API v2 "Send an Alert Event" and
//! "Overview"); Opsgenie's create fields and limits (message 130, alias 512, description 15000,
//! priority P1–P5), GenieKey auth and `202 {result, took, requestId}` (Alert API). Opsgenie's
//! codes 400 = JSON syntax, 401 = bad key, 422 = semantic errors are from its "Response" page.
//! NOT verified against a page (kept from the first version, written from memory): Slack's
//! `no_text` and `403 invalid_token` for a revoked webhook; the Teams workflow answering `202`,
//! its `401` and its error object `{"error":{"code","message"}}`; PagerDuty's `400` (not 401) for
//! an unknown routing key and its 429 body; Opsgenie's error body `{"message","took",
//! "requestId"}` with `errors` on 422, and which over-long fields it refuses rather than cuts.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Family;
use super::world::SimState;

pub fn family(state: SimState) -> Family {
    let router = Router::new()
        .route("/notify/slack/{token}", post(slack))
        .route("/notify/teams/{token}", post(teams))
        .route("/notify/pagerduty/v2/enqueue", post(pagerduty))
        .route("/notify/opsgenie/v2/alerts", post(opsgenie_create))
        .route(
            "/notify/opsgenie/v2/alerts/{id}/close",
            post(opsgenie_close),
        )
        .with_state(state);
    Family::new("notify", router)
        .endpoint("POST /notify/slack/{token}")
        .endpoint("POST /notify/teams/{token}")
        .endpoint("POST /notify/pagerduty/v2/enqueue")
        .endpoint("POST /notify/opsgenie/v2/alerts")
        .endpoint("POST /notify/opsgenie/v2/alerts/{id}/close")
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn record(
    state: &SimState,
    name: &str,
    headers: &HeaderMap,
    body: String,
    r: Response,
) -> Response {
    state.record_webhook(name, content_type(headers), body, r.status().as_u16());
    r
}

fn rate_limited(body: impl IntoResponse) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
    r
}

async fn slack(
    State(state): State<SimState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let r = if token.contains("bad") {
        (StatusCode::FORBIDDEN, "invalid_token").into_response()
    } else if token.contains("ratelimited") {
        rate_limited("rate_limited")
    } else {
        super::webhooks::slack(&body)
    };
    record(&state, "notify-slack", &headers, body, r)
}

fn teams_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// What is wrong with a Teams workflow message, if anything: `type: "message"` and at least one
/// attachment, each an Adaptive Card (`contentType` and a `content` of `type: "AdaptiveCard"`
/// with a `body` array).
pub fn teams_problem(body: &str) -> Option<String> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) else {
        return Some("the request body is not a JSON object".into());
    };
    if m.get("type").and_then(Value::as_str) != Some("message") {
        return Some("`type` must be \"message\"".into());
    }
    let Some(Value::Array(atts)) = m.get("attachments") else {
        return Some("`attachments` is missing".into());
    };
    if atts.is_empty() {
        return Some("`attachments` is empty".into());
    }
    for a in atts {
        if a.get("contentType").and_then(Value::as_str)
            != Some("application/vnd.microsoft.card.adaptive")
        {
            return Some(
                "attachment contentType must be application/vnd.microsoft.card.adaptive".into(),
            );
        }
        let card = a.get("content");
        if card.and_then(|c| c.get("type")).and_then(Value::as_str) != Some("AdaptiveCard") {
            return Some("attachment content must be an AdaptiveCard".into());
        }
        if !card
            .and_then(|c| c.get("body"))
            .is_some_and(Value::is_array)
        {
            return Some("the AdaptiveCard has no `body` array".into());
        }
    }
    None
}

async fn teams(
    State(state): State<SimState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let r = if token.contains("bad") {
        teams_error(
            StatusCode::UNAUTHORIZED,
            "DirectApiAuthorizationRequired",
            "The request must be authenticated (the workflow URL's signature is not valid).",
        )
    } else if token.contains("ratelimited") {
        rate_limited(Json(
            json!({ "error": { "code": "TooManyRequests", "message": "Rate limit is exceeded." } }),
        ))
    } else if let Some(why) = teams_problem(&body) {
        teams_error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &why)
    } else {
        StatusCode::ACCEPTED.into_response()
    };
    record(&state, "notify-teams", &headers, body, r)
}

fn pd_invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": errors,
        })),
    )
        .into_response()
}

/// What is wrong with a PagerDuty Events API v2 event (empty: nothing).
pub fn pagerduty_problems(e: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Value::Object(e) = e else {
        return vec!["Event object is not a JSON object".into()];
    };
    if e.get("routing_key")
        .and_then(Value::as_str)
        .is_none_or(|k| k.trim().is_empty())
    {
        errors.push("'routing_key' is missing or blank".into());
    }
    let action = e.get("event_action").and_then(Value::as_str);
    if !matches!(action, Some("trigger" | "acknowledge" | "resolve")) {
        errors.push("'event_action' is missing or invalid".into());
    }
    if matches!(action, Some("acknowledge" | "resolve"))
        && e.get("dedup_key")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        errors.push("'dedup_key' is required for acknowledge and resolve".into());
    }
    if e.get("dedup_key")
        .and_then(Value::as_str)
        .is_some_and(|k| k.chars().count() > 255)
    {
        errors.push("'dedup_key' is longer than 255 characters".into());
    }
    if action == Some("trigger") {
        match e.get("payload") {
            Some(Value::Object(p)) => {
                let text = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
                match text("summary") {
                    None => errors.push("'payload.summary' is missing or blank".into()),
                    Some(s) if s.chars().count() > 1024 => {
                        errors.push("'payload.summary' is longer than 1024 characters".into())
                    }
                    _ => {}
                }
                if text("source").is_none() {
                    errors.push("'payload.source' is missing or blank".into());
                }
                if !matches!(
                    text("severity"),
                    Some("critical" | "error" | "warning" | "info")
                ) {
                    errors.push(
                        "'payload.severity' must be one of critical, error, warning, info".into(),
                    );
                }
                if p.get("custom_details").is_some_and(|d| !d.is_object()) {
                    errors.push("'payload.custom_details' must be an object".into());
                }
            }
            _ => errors.push("'payload' is missing or not an object".into()),
        }
    }
    // The context arrays: each link needs its `href`, each image its `src`.
    for (list, key) in [("links", "href"), ("images", "src")] {
        match e.get(list) {
            None => {}
            Some(Value::Array(items))
                if items.iter().all(|i| {
                    i.get(key)
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                }) => {}
            Some(_) => errors.push(format!("'{list}' must be a list of objects with '{key}'")),
        }
    }
    errors
}

/// Events API payloads are limited to 512 KB (Events API v2 Overview, "Size Limits").
const PD_MAX_BYTES: usize = 512 * 1024;

async fn pagerduty(State(state): State<SimState>, headers: HeaderMap, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let r = match serde_json::from_str::<Value>(&body) {
        _ if body.len() > PD_MAX_BYTES => pd_invalid(vec![format!(
            "Event object is larger than the {} KB limit",
            PD_MAX_BYTES / 1024
        )]),
        Err(_) => pd_invalid(vec!["Event object is not valid JSON".into()]),
        Ok(e) => {
            let key = e.get("routing_key").and_then(Value::as_str).unwrap_or("");
            let problems = pagerduty_problems(&e);
            if key.contains("ratelimited") {
                rate_limited(Json(json!({
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.  Please retry later."
                })))
            } else if !problems.is_empty() {
                pd_invalid(problems)
            } else if key.contains("bad") {
                pd_invalid(vec!["Invalid routing key".into()])
            } else {
                let dedup = e
                    .get("dedup_key")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        format!("{:032x}", state.with_rng("notify", |rng| rng.u128(..)))
                    });
                (
                    StatusCode::ACCEPTED,
                    Json(json!({ "status": "success", "message": "Event processed", "dedup_key": dedup })),
                )
                    .into_response()
            }
        }
    };
    record(&state, "notify-pagerduty", &headers, body, r)
}

fn og(state: &SimState, status: StatusCode, mut body: Value) -> Response {
    let id = state.with_rng("notify", |rng| rng.u128(..));
    body["took"] = json!(0.01);
    body["requestId"] = json!(format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (id >> 96) as u32,
        (id >> 80) as u16,
        (id >> 68) as u16 & 0xfff,
        (id >> 56) as u16 & 0xfff,
        id as u64 & 0xffff_ffff_ffff
    ));
    (status, Json(body)).into_response()
}

/// The GenieKey, or the answer refusing the request.
fn opsgenie_auth(state: &SimState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("GenieKey "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None => Err(Box::new(og(
            state,
            StatusCode::UNAUTHORIZED,
            json!({ "message": "Could not authenticate" }),
        ))),
        Some(k) if k.contains("bad") => Err(Box::new(og(
            state,
            StatusCode::UNAUTHORIZED,
            json!({ "message": "Could not authenticate" }),
        ))),
        Some(k) if k.contains("ratelimited") => {
            let r = og(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "message": "You are making too many requests! To avoid errors, we recommend you limit requests." }),
            );
            Err(Box::new(rate_limited(r)))
        }
        Some(_) => Ok(()),
    }
}

fn accepted(state: &SimState) -> Response {
    og(
        state,
        StatusCode::ACCEPTED,
        json!({ "result": "Request will be processed" }),
    )
}

fn unprocessable(state: &SimState, errors: Value) -> Response {
    og(
        state,
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({ "message": "Request body is not processable. Please check the errors.", "errors": errors }),
    )
}

/// Semantic problems of an Opsgenie create-alert body, as `{field: message}`.
pub fn opsgenie_problems(a: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut errors = serde_json::Map::new();
    match a.get("message").and_then(Value::as_str).map(str::trim) {
        None | Some("") => {
            errors.insert("message".into(), json!("Message can not be empty."));
        }
        Some(m) if m.chars().count() > 130 => {
            errors.insert(
                "message".into(),
                json!("Message can not be longer than 130 characters."),
            );
        }
        _ => {}
    }
    if let Some(alias) = a.get("alias")
        && alias.as_str().is_none_or(|s| s.chars().count() > 512)
    {
        errors.insert(
            "alias".into(),
            json!("Alias must be a string of at most 512 characters."),
        );
    }
    if let Some(p) = a.get("priority")
        && !matches!(p.as_str(), Some("P1" | "P2" | "P3" | "P4" | "P5"))
    {
        errors.insert(
            "priority".into(),
            json!("Priority should be one of [P1, P2, P3, P4, P5]"),
        );
    }
    errors
}

async fn opsgenie_create(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let r = match opsgenie_auth(&state, &headers) {
        Err(r) => *r,
        Ok(()) => match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(a)) => {
                let errors = opsgenie_problems(&a);
                if errors.is_empty() {
                    accepted(&state)
                } else {
                    unprocessable(&state, Value::Object(errors))
                }
            }
            _ => og(
                &state,
                StatusCode::BAD_REQUEST,
                json!({ "message": "Could not parse the request body as JSON." }),
            ),
        },
    };
    record(&state, "notify-opsgenie", &headers, body, r)
}

#[derive(serde::Deserialize)]
struct CloseQuery {
    #[serde(rename = "identifierType")]
    identifier_type: Option<String>,
}

async fn opsgenie_close(
    State(state): State<SimState>,
    Path(id): Path<String>,
    Query(q): Query<CloseQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let kind = q.identifier_type.unwrap_or_else(|| "id".into());
    let r = match opsgenie_auth(&state, &headers) {
        Err(r) => *r,
        Ok(()) if !matches!(kind.as_str(), "id" | "alias" | "tiny") => unprocessable(
            &state,
            json!({ "identifierType": "identifierType should be one of [id, alias, tiny]" }),
        ),
        Ok(()) => match serde_json::from_str::<Value>(&body) {
            // Opsgenie accepts an empty body on close.
            Ok(Value::Object(_)) => accepted(&state),
            _ if body.trim().is_empty() => accepted(&state),
            _ => og(
                &state,
                StatusCode::BAD_REQUEST,
                json!({ "message": "Could not parse the request body as JSON." }),
            ),
        },
    };
    // Recorded with the identifier the URL named, so a test sees which alert was closed.
    let seen = json!({ "identifier": id, "identifierType": kind, "body": body }).to_string();
    record(&state, "notify-opsgenie-close", &headers, seen, r)
}
