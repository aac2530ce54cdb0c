//! The sites' health URLs, `GET /sites/{prod|dr}/healthz`, and the fault injection that
//! `flaky-api` applies to them (and that any family can apply with [`with_faults`]).

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Family;
use super::world::{Fault, SimState, Site, UPSTREAM_DOWN_BODY};

/// The random stream the health URLs draw their faults from.
pub const FAULT_STREAM: &str = "sites";

pub fn family(state: SimState) -> Family {
    let router = Router::new()
        .route("/sites/{site}/healthz", get(healthz))
        .with_state(state.clone());
    Family::new("sites", with_faults(router, state, FAULT_STREAM))
        .endpoint("GET /sites/{prod|dr}/healthz")
}

async fn healthz(State(state): State<SimState>, Path(site): Path<String>) -> Response {
    let Some(site) = Site::from_name(&site) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no such site: {site:?} (the simulator has \"prod\" and \"dr\")"),
        )
            .into_response();
    };
    // Hostile: DR answers, but only after every probe's timeout.
    if site == Site::Dr && state.hostile_lie() == Some(super::hostile::Lie::LateAnswers) {
        tokio::time::sleep(super::hostile::LATE_BY).await;
    }
    if state.site_up(site) {
        (StatusCode::OK, "ok").into_response()
    } else {
        envoy(StatusCode::SERVICE_UNAVAILABLE, UPSTREAM_DOWN_BODY)
    }
}

/// A plain-text answer from the load balancer in front of a site, as Envoy sends it.
fn envoy(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("envoy"));
    response
}

/// Apply the scenario's faults (see [`SimState::draw_fault`]) to every route of `router`, drawing
/// from the random stream `stream`. Only matched routes are affected: a 404 stays a 404.
pub fn with_faults(router: Router, state: SimState, stream: &'static str) -> Router {
    router.layer(middleware::from_fn_with_state(
        (state, stream),
        inject_faults,
    ))
}

async fn inject_faults(
    State((state, stream)): State<(SimState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    match state.draw_fault(stream) {
        Fault::None => next.run(request).await,
        Fault::Status(code, body) => envoy(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
            body,
        ),
        Fault::Slow(delay) => {
            tokio::time::sleep(state.scaled(delay)).await;
            next.run(request).await
        }
        Fault::Stall(delay) => {
            tokio::time::sleep(state.scaled(delay)).await;
            envoy(StatusCode::GATEWAY_TIMEOUT, "upstream request timeout")
        }
    }
}
