//! Webhook sinks (Slack, PagerDuty, …): `POST /webhooks/{name}` records the body and answers
//! `ok` in plain text, as Slack's incoming webhooks do; `GET /webhooks/{name}` lists what arrived.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use axum::{Json, Router};

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
) -> &'static str {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    state.record_webhook(
        &name,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    );
    "ok"
}

async fn list(State(state): State<SimState>, Path(name): Path<String>) -> Json<Vec<String>> {
    Json(state.webhooks(&name))
}
