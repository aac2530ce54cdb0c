//! The `big` scenario (issue 15, "Big environments"): the demo world at the size of a real
//! organisation, 500 container services in each Qovery environment and 500 images in each
//! registry, so probe rounds, `status`, the panels and a deploy's log can be measured at scale.
//!
//! The Qovery world keeps its three demo containers and their behaviour (deploys, stops, phases);
//! this layer, wrapped around the Qovery routes, adds 497 more to the answers that list services
//! (`GET /environment/{id}/statuses` and `/container`) while the scenario plays. Each added
//! service copies one demo container (`svc-NNN` copies container `NNN % 3`), state and tag
//! included, so a deploy moves 500 services through their states in three waves. The registries
//! hold an image for every `svc-NNN` (see `registry.rs`). Other scenarios pass through untouched.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use serde_json::Value;

use super::qovery::ids;
use super::{Scenario, SimState};

/// Container services per environment in `big`, the demo's three included.
pub const SERVICES: usize = 500;

/// The largest answer the layer rewrites (a 500-container list is about 1 MB).
const MAX_BODY: usize = 16 << 20;

/// The name of the `k`-th service (`k` ≥ 3; 0–2 are the demo's web, api and worker).
pub fn service_name(k: usize) -> String {
    format!("svc-{k:03}")
}

/// Whether `name` is one of the services `big` adds (the registries hold its images).
pub fn is_big_service(name: &str) -> bool {
    name.strip_prefix("svc-")
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|k| (3..SERVICES).contains(&k))
}

/// Every image name `big` serves, in the environment's order (for a plan's `[images]`).
pub fn service_names() -> Vec<String> {
    ["web", "api", "worker"]
        .into_iter()
        .map(String::from)
        .chain((3..SERVICES).map(service_name))
        .collect()
}

/// A stable id for the `k`-th added service of environment `env`.
fn service_id(env: &str, k: usize) -> String {
    let site = match env {
        ids::PROD_ENV => 1,
        ids::DR_ENV => 2,
        _ => 9,
    };
    format!("b1600000-0000-4000-8000-{site:04}{k:08}")
}

/// The Qovery routes with the `big` services added to their answers while `big` plays.
pub fn scaled(qovery: axum::Router, state: SimState) -> axum::Router {
    qovery.layer(from_fn_with_state(state, scale))
}

async fn scale(State(state): State<SimState>, req: Request, next: Next) -> Response {
    if state.scenario() != Scenario::Big || req.method() != Method::GET {
        return next.run(req).await;
    }
    let env = match req.uri().path().split('/').collect::<Vec<_>>()[..] {
        ["", "environment", env, "statuses" | "container"] => env.to_string(),
        _ => return next.run(req).await,
    };
    let res = next.run(req).await;
    if !res.status().is_success() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    for key in ["containers", "results"] {
        if let Some(list) = v.get_mut(key).and_then(Value::as_array_mut) {
            grow(&env, list);
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(v.to_string()))
}

/// Append copies of the first three entries (statuses or containers) up to [`SERVICES`].
fn grow(env: &str, list: &mut Vec<Value>) {
    let templates: Vec<Value> = list.iter().take(3).cloned().collect();
    if templates.is_empty() {
        return;
    }
    for k in list.len()..SERVICES {
        let mut s = templates[k % templates.len()].clone();
        s["id"] = Value::String(service_id(env, k));
        if s.get("name").is_some() {
            s["name"] = Value::String(service_name(k));
        }
        if s.get("image_name").is_some() {
            s["image_name"] = Value::String(format!("shop/{}", service_name(k)));
        }
        list.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_stable_and_bounded() {
        let names = service_names();
        assert_eq!(names.len(), SERVICES);
        assert!(is_big_service("svc-003") && is_big_service("svc-499"));
        assert!(!is_big_service("svc-500") && !is_big_service("svc-002"));
        assert!(!is_big_service("web"));
        assert_eq!(service_id(ids::DR_ENV, 42).len(), 36);
        assert_ne!(service_id(ids::DR_ENV, 42), service_id(ids::PROD_ENV, 42));
    }

    #[test]
    fn a_list_grows_to_500_copies_of_its_first_three() {
        let mut l: Vec<Value> = ["web", "api", "worker"]
            .iter()
            .map(|n| serde_json::json!({"id": n, "name": n, "image_name": format!("shop/{n}"), "state": n}))
            .collect();
        grow(ids::PROD_ENV, &mut l);
        assert_eq!(l.len(), SERVICES);
        assert_eq!(l[4]["name"], "svc-004");
        assert_eq!(l[4]["image_name"], "shop/svc-004");
        assert_eq!(l[4]["state"], "api");
    }
}
