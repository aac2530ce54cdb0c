//! The HTTP side of the simulated Qovery API: every path served, the handler that records a
//! request, passes it through the fault gate and routes it, and one function per route that
//! does more than answer a shape.

use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::Utc;
use serde_json::{Value, json};

use super::faults::{Gate, gate};
use super::seed::{registries, sub_id};
use super::shapes::*;
use super::world::{Env, IN_PROGRESS, Inner, Kind, OpKind, Var, answered, start_op, tick};
use super::{QoveryWorld, RecordedRequest, ids};
use crate::clients::qovery::ENVIRONMENT_MODES;

/// Every path template served (axum 0.8 and OpenAPI use the same `{param}` syntax).
const PATHS: &[&str] = &[
    "/organization",
    "/organization/{organizationId}",
    "/organization/{organizationId}/cluster",
    "/organization/{organizationId}/cluster/status",
    "/organization/{organizationId}/cluster/{clusterId}/status",
    "/organization/{organizationId}/cluster/{clusterId}/isReady",
    "/environment/deploymentStatus",
    "/environment/{environmentId}",
    "/environment/{environmentId}/status",
    "/environment/{environmentId}/statuses",
    "/environment/{environmentId}/container",
    "/environment/{environmentId}/application",
    "/environment/{environmentId}/database",
    "/environment/{environmentId}/deploy",
    "/environment/{environmentId}/redeploy",
    "/environment/{environmentId}/stop",
    "/environment/{environmentId}/service/deploy",
    "/environment/{environmentId}/environmentVariable",
    "/environment/{environmentId}/environmentVariable/{environmentVariableId}",
    "/environment/{environmentId}/secret",
    "/environment/{environmentId}/secret/{secretId}",
    "/environment/{environmentId}/deploymentHistory",
    "/environment/{environmentId}/clone",
    "/variable",
    "/container/{containerId}",
    "/organization/{organizationId}/containerRegistry",
    "/organization/{organizationId}/project",
    "/project/{projectId}/environment",
];

/// The Qovery routes with their state applied, ready to `merge` into the simulator's router.
pub fn routes(world: Arc<QoveryWorld>) -> Router {
    let mut r: Router<Arc<QoveryWorld>> = Router::new();
    for p in PATHS {
        r = r.route(p, any(handle));
    }
    r.with_state(world)
}

pub(super) fn text(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

pub(super) fn json_resp(status: u16, v: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn handle(
    AxState(world): AxState<Arc<QoveryWorld>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let m = method.as_str().to_ascii_uppercase();
    let (gate, scale) = {
        let mut g = world.lock();
        g.requests.push(RecordedRequest {
            method: m.clone(),
            path: if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{query}")
            },
            authorization: auth.clone(),
            body: body.clone(),
        });
        (
            gate(&mut g, &m, &path, auth.as_deref()),
            g.time_scale.max(1),
        )
    };
    let after = match gate {
        Gate::Answer(r) => return r,
        Gate::Delay(d, then) => {
            tokio::time::sleep(d / scale).await;
            if let Some(r) = then {
                return r;
            }
            None
        }
        Gate::AfterApply(d, r) => Some((d, r)),
        Gate::Pass => None,
    };
    let real = {
        let mut g = world.lock();
        tick(&mut g);
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        route(&mut g, &m, &segs, &query, &body)
    };
    match after {
        None => real,
        Some((delay, instead)) => {
            if let Some(d) = delay {
                tokio::time::sleep(d / scale).await;
            }
            instead.unwrap_or(real)
        }
    }
}

fn route(g: &mut Inner, m: &str, segs: &[&str], query: &str, body: &str) -> Response {
    match (m, segs) {
        ("GET", ["organization"]) => json_resp(200, json!({ "results": [org_json()] })),
        ("GET", ["organization", org]) => {
            if *org == ids::ORG {
                json_resp(200, org_json())
            } else {
                text(404, "Organization not found")
            }
        }
        ("GET", ["organization", org, "cluster"]) => {
            if *org != ids::ORG {
                return text(404, "Organization not found");
            }
            let l: Vec<Value> = g.clusters.iter().map(cluster_json).collect();
            json_resp(200, json!({ "results": l }))
        }
        ("GET", ["organization", org, "project"]) => {
            if *org != ids::ORG {
                return text(404, "Organization not found");
            }
            json_resp(200, json!({ "results": [project_json(g.envs.len())] }))
        }
        ("GET", ["project", project, "environment"]) => {
            if *project != ids::PROJECT {
                return text(404, "Project not found");
            }
            let l: Vec<Value> = g.envs.iter().map(env_json).collect();
            json_resp(200, json!({ "results": l }))
        }
        ("GET", ["organization", org, "containerRegistry"]) => {
            if *org != ids::ORG {
                return text(404, "Organization not found");
            }
            json_resp(200, json!({ "results": registries_json() }))
        }
        ("GET", ["container", id]) => match find_container(g, id) {
            Some((ei, si)) => json_resp(200, container_json(&g.envs[ei], &g.envs[ei].services[si])),
            None => text(404, &format!("Container {id} not found")),
        },
        ("PUT", ["container", id]) => match find_container(g, id) {
            Some((ei, si)) => edit_container(g, ei, si, body),
            None => text(404, &format!("Container {id} not found")),
        },
        ("GET", ["organization", org, "cluster", "status"]) => {
            if *org != ids::ORG {
                return text(404, "Organization not found");
            }
            let l: Vec<Value> = g.clusters.iter().map(cluster_status_json).collect();
            json_resp(200, json!({ "results": l }))
        }
        ("GET", ["organization", org, "cluster", id, what]) => {
            if *org != ids::ORG {
                return text(404, "Organization not found");
            }
            let Some(c) = g.clusters.iter().find(|c| c.id == *id) else {
                return text(404, &format!("Cluster {id} not found"));
            };
            match *what {
                "status" => json_resp(200, cluster_status_json(c)),
                "isReady" => json_resp(
                    200,
                    json!({ "is_ready": c.is_deployed && (c.status == "DEPLOYED" || c.status == "READY") }),
                ),
                _ => text(404, "Not found"),
            }
        }
        ("GET", ["environment", "deploymentStatus"]) => {
            let Some(id) = query_param(query, "deploymentRequestId") else {
                return text(400, "deploymentRequestId is required");
            };
            for e in &g.envs {
                if let Some(h) = e.history.iter().find(|h| h.id == id) {
                    return json_resp(
                        200,
                        json!({ "deployment_request_id": h.id, "environment_id": e.id, "status": h.status }),
                    );
                }
            }
            text(404, &format!("Deployment request {id} not found"))
        }
        ("GET", ["variable"]) => {
            let (Some(parent), Some(scope)) =
                (query_param(query, "parent_id"), query_param(query, "scope"))
            else {
                return text(400, "parent_id and scope are required");
            };
            if scope != "ENVIRONMENT" {
                return json_resp(200, json!({ "results": [] }));
            }
            let Some(e) = g.envs.iter().find(|e| e.id == parent) else {
                return text(404, &format!("Environment {parent} not found"));
            };
            let want_secret = query_param(query, "is_secret").map(|v| v == "true");
            let l: Vec<Value> = e
                .vars
                .iter()
                .filter(|v| want_secret.is_none_or(|s| s == v.secret))
                .map(|v| {
                    json!({
                        "id": v.id, "created_at": v.created_at, "updated_at": v.updated_at,
                        "key": v.key, "value": if v.secret { Value::Null } else { json!(v.value) },
                        "mount_path": null, "scope": v.scope, "variable_type": v.variable_type,
                        "is_secret": v.secret, "description": "",
                    })
                })
                .collect();
            json_resp(200, json!({ "results": l }))
        }
        (_, ["environment", env, rest @ ..]) => {
            let Some(ei) = g.envs.iter().position(|e| e.id == *env) else {
                return text(404, &format!("Environment {env} not found"));
            };
            env_route(g, ei, m, rest, body)
        }
        _ => text(405, "Method not allowed"),
    }
}

/// `/environment/{id}/…`: the environment at index `ei`.
fn env_route(g: &mut Inner, ei: usize, m: &str, rest: &[&str], body: &str) -> Response {
    match (m, rest) {
        ("GET", []) => json_resp(200, env_json(&g.envs[ei])),
        ("GET", ["status"]) => json_resp(200, env_status_json(&answered(&g.envs[ei], g.lag))),
        ("GET", ["statuses"]) => env_statuses(g, ei),
        ("GET", ["container"]) => list_kind(&g.envs[ei], Kind::Container),
        ("GET", ["application"]) => list_kind(&g.envs[ei], Kind::Application),
        ("GET", ["database"]) => list_kind(&g.envs[ei], Kind::Database),
        ("POST", ["deploy"]) => deploy(g, ei),
        ("POST", ["redeploy"]) => match start_op(g, ei, OpKind::Redeploy, None) {
            None => text(409, IN_PROGRESS),
            Some(_) => json_resp(202, env_status_json(&g.envs[ei])),
        },
        ("POST", ["stop"]) => stop(g, ei),
        ("POST", ["service", "deploy"]) => deploy_services(g, ei, body),
        ("GET", ["environmentVariable"]) => list_vars(&g.envs[ei], false),
        ("GET", ["secret"]) => list_vars(&g.envs[ei], true),
        ("POST", [which @ ("environmentVariable" | "secret")]) => {
            create_var(g, ei, *which == "secret", body)
        }
        ("PUT", [which @ ("environmentVariable" | "secret"), id]) => {
            edit_var(g, ei, *which == "secret", id, body)
        }
        ("GET", ["deploymentHistory"]) => deployment_history(&g.envs[ei]),
        ("POST", ["clone"]) => clone_env(g, ei, body),
        ("DELETE", []) => {
            // Deleting is instant here: the next GET answers 404 (ground truth: it is gone).
            g.envs.remove(ei);
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(axum::body::Body::empty())
                .unwrap_or_else(|_| text(500, "response"))
        }
        _ => text(405, "Method not allowed"),
    }
}

/// `GET /environment/{id}/statuses`: the environment and its services, as answered.
fn env_statuses(g: &Inner, ei: usize) -> Response {
    let e = &answered(&g.envs[ei], g.lag);
    let of = |k: Kind| -> Vec<Value> {
        e.services
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| service_status_json(e, s))
            .collect()
    };
    json_resp(
        200,
        json!({
            "environment": env_status_json(e),
            "applications": of(Kind::Application),
            "containers": of(Kind::Container),
            "jobs": [], "databases": of(Kind::Database), "helms": [], "terraforms": [],
        }),
    )
}

/// `POST /environment/{id}/deploy`.
fn deploy(g: &mut Inner, ei: usize) -> Response {
    match start_op(g, ei, OpKind::Deploy, None) {
        None => text(409, IN_PROGRESS),
        Some(rid) => {
            let e = &g.envs[ei];
            // The spec's quirk: a service-shaped `Status` for an environment action.
            json_resp(
                202,
                json!({
                    "id": e.id, "state": e.state, "service_deployment_status": "OUT_OF_DATE",
                    "last_deployment_date": e.last_deployment_date, "is_part_last_deployment": true,
                    "execution_id": format!("{}-{}", e.id, rid), "deployment_request_id": rid,
                    "deployment_requests_count": 1,
                    "status_details": { "action": "DEPLOY", "status": "QUEUED", "sub_action": "NONE" },
                    "steps": { "total_duration_sec": null, "total_computing_duration_sec": 0, "details": [] },
                }),
            )
        }
    }
}

/// `POST /environment/{id}/stop` (409 on a stopped environment, as the real API does).
fn stop(g: &mut Inner, ei: usize) -> Response {
    if g.envs[ei].op.is_none() && g.envs[ei].state == "STOPPED" {
        return text(409, "Environment is already stopped");
    }
    match start_op(g, ei, OpKind::Stop, None) {
        None => text(409, IN_PROGRESS),
        Some(_) => json_resp(202, env_status_json(&g.envs[ei])),
    }
}

/// `POST /environment/{id}/service/deploy`: some services, containers with an optional tag.
fn deploy_services(g: &mut Inner, ei: usize, body: &str) -> Response {
    let req: Value = match serde_json::from_str(if body.trim().is_empty() { "{}" } else { body }) {
        Ok(v) => v,
        Err(e) => return text(400, &format!("Invalid request body: {e}")),
    };
    let mut targets = Vec::new();
    let mut tags = Vec::new();
    for c in req["containers"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("");
        let Some(i) = g.envs[ei]
            .services
            .iter()
            .position(|s| s.id == id && s.kind == Kind::Container)
        else {
            return text(
                400,
                &format!("Container {id} does not belong to this environment"),
            );
        };
        targets.push(i);
        if let Some(t) = c["image_tag"].as_str().filter(|t| !t.is_empty()) {
            tags.push((i, t.to_string()));
        }
    }
    for list in ["applications", "databases"] {
        for a in req[list].as_array().into_iter().flatten() {
            let id = a["application_id"].as_str().or(a.as_str()).unwrap_or("");
            let Some(i) = g.envs[ei].services.iter().position(|s| s.id == id) else {
                return text(
                    400,
                    &format!("Service {id} does not belong to this environment"),
                );
            };
            targets.push(i);
        }
    }
    if targets.is_empty() {
        return text(400, "No service to deploy");
    }
    match start_op(g, ei, OpKind::DeployServices, Some(targets)) {
        None => text(409, IN_PROGRESS),
        Some(_) => {
            for (i, t) in tags {
                g.envs[ei].services[i].tag = t;
            }
            json_resp(202, env_status_json(&g.envs[ei]))
        }
    }
}

/// `POST /environment/{id}/environmentVariable` or `…/secret`.
fn create_var(g: &mut Inner, ei: usize, secret: bool, body: &str) -> Response {
    let (key, value) = match parse_var_body(body) {
        Ok(kv) => kv,
        Err(msg) => return text(400, &msg),
    };
    let now = Utc::now();
    g.seq += 1;
    let id = format!("a1b2c3d4-0000-4000-8000-{:012}", 500 + g.seq);
    let e = &mut g.envs[ei];
    let v = match e
        .vars
        .iter_mut()
        .find(|v| v.key == key && v.scope == "ENVIRONMENT" && v.secret == secret)
    {
        // "If the environment variable key already exists, then it will be replaced by
        // the new one."
        Some(v) => {
            v.value = value;
            v.updated_at = now;
            v.clone()
        }
        None => {
            let v = Var {
                id,
                key,
                value,
                scope: "ENVIRONMENT".into(),
                variable_type: "VALUE".into(),
                secret,
                created_at: now,
                updated_at: now,
            };
            e.vars.push(v.clone());
            v
        }
    };
    json_resp(201, var_json(&v))
}

/// `PUT /environment/{id}/environmentVariable/{varId}` or `…/secret/{secretId}`.
fn edit_var(g: &mut Inner, ei: usize, secret: bool, id: &str, body: &str) -> Response {
    let (key, value) = match parse_var_body(body) {
        Ok(kv) => kv,
        Err(msg) => return text(400, &msg),
    };
    let e = &mut g.envs[ei];
    let Some(v) = e.vars.iter_mut().find(|v| v.id == id && v.secret == secret) else {
        return text(
            404,
            &format!(
                "{} {id} not found",
                if secret {
                    "Secret"
                } else {
                    "Environment variable"
                }
            ),
        );
    };
    if v.scope == "BUILT_IN" {
        return text(400, "You can't edit a BUILT_IN variable");
    }
    if v.scope != "ENVIRONMENT" {
        return text(
            400,
            &format!("Variable {} belongs to the {} scope", v.key, v.scope),
        );
    }
    v.key = key;
    v.value = value;
    v.updated_at = Utc::now();
    let v = v.clone();
    json_resp(200, var_json(&v))
}

/// `GET /environment/{id}/deploymentHistory`: the last 20 deployments, newest first.
fn deployment_history(e: &Env) -> Response {
    let l: Vec<Value> = e
        .history
        .iter()
        .rev()
        .take(20)
        .map(|h| {
            let svc = |k: Kind| -> Vec<Value> {
                h.services
                    .iter()
                    .filter_map(|(i, st)| e.services.get(*i).map(|s| (s, st)))
                    .filter(|(s, _)| s.kind == k)
                    .map(|(s, st)| {
                        let mut v = json!({
                            "id": s.id, "created_at": h.created_at, "updated_at": h.updated_at,
                            "name": s.name, "status": st,
                        });
                        if k == Kind::Container {
                            v["image_name"] = json!(s.image_name);
                            v["tag"] = json!(s.tag);
                            v["arguments"] = json!([]);
                        }
                        v
                    })
                    .collect()
            };
            json!({
                "id": h.id, "created_at": h.created_at, "updated_at": h.updated_at,
                "status": h.status, "origin": "API", "triggered_by": "drcockpit",
                "applications": svc(Kind::Application), "containers": svc(Kind::Container),
                "databases": svc(Kind::Database), "jobs": [], "helms": [],
            })
        })
        .collect();
    json_resp(200, json!({ "page": 1, "page_size": 20, "results": l }))
}

/// `(key, value)` of a variable request, or the plain-text 400 message.
fn parse_var_body(body: &str) -> Result<(String, String), String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("Invalid request body: {e}"))?;
    let key = v["key"].as_str().unwrap_or("").to_string();
    if key.is_empty() {
        return Err("key is required".into());
    }
    Ok((key, v["value"].as_str().unwrap_or("").to_string()))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn find_container(g: &Inner, id: &str) -> Option<(usize, usize)> {
    g.envs.iter().enumerate().find_map(|(ei, e)| {
        e.services
            .iter()
            .position(|s| s.id == id && s.kind == Kind::Container)
            .map(|si| (ei, si))
    })
}

/// `PUT /container/{id}`: a full replacement. Required: name, registry_id, image_name, tag,
/// healthchecks. Ports and storage: an entry with an `id` updates that one (an unknown id is a
/// 400), one without creates a new one, and every existing entry left out is deleted. Every other
/// field left out goes back to its default.
fn edit_container(g: &mut Inner, ei: usize, si: usize, body: &str) -> Response {
    let req: Value = match serde_json::from_str(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return text(
                400,
                "Invalid request body: expected a ContainerRequest object",
            );
        }
        Err(e) => return text(400, &format!("Invalid request body: {e}")),
    };
    for k in ["name", "registry_id", "image_name", "tag", "healthchecks"] {
        if req.get(k).is_none_or(Value::is_null) {
            return text(400, &format!("{k} is required"));
        }
    }
    let name = req["name"].as_str().unwrap_or("").to_string();
    if g.envs[ei]
        .services
        .iter()
        .enumerate()
        .any(|(i, s)| i != si && s.name == name)
    {
        return text(
            409,
            "Container name within the environment is already taken",
        );
    }
    let Some(registry) = registries()
        .into_iter()
        .find(|r| Some(r.0.as_str()) == req["registry_id"].as_str())
    else {
        return text(
            400,
            &format!("Container registry {} not found", req["registry_id"]),
        );
    };
    let old = g.envs[ei].services[si].settings.clone();
    let merged_list = |key: &str, kind: u32, g: &mut Inner| -> Result<Value, String> {
        let existing: Vec<String> = old[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect();
        let mut out = Vec::new();
        for entry in req[key].as_array().into_iter().flatten() {
            let mut e = entry.clone();
            match entry["id"].as_str() {
                Some(id) if !existing.iter().any(|x| x == id) => {
                    return Err(format!("{key}: {id} does not belong to this container"));
                }
                Some(_) => {}
                None => {
                    g.seq += 1;
                    let sid = g.envs[ei].services[si].id.clone();
                    e["id"] = json!(sub_id(&sid, kind, 100 + (g.seq % 900) as u32));
                }
            }
            out.push(e);
        }
        Ok(Value::Array(out))
    };
    let ports = match merged_list("ports", 1, g) {
        Ok(p) => p,
        Err(m) => return text(400, &m),
    };
    let storage = match merged_list("storage", 2, g) {
        Ok(p) => p,
        Err(m) => return text(400, &m),
    };
    let field = |k: &str, default: Value| req.get(k).cloned().unwrap_or(default);
    let settings = json!({
        "description": field("description", json!("")),
        "arguments": field("arguments", json!([])),
        "entrypoint": field("entrypoint", Value::Null),
        "cpu": field("cpu", json!(500)), "memory": field("memory", json!(512)), "gpu": field("gpu", json!(0)),
        "min_running_instances": field("min_running_instances", json!(1)),
        "max_running_instances": field("max_running_instances", json!(1)),
        "auto_preview": field("auto_preview", json!(false)),
        "auto_deploy": field("auto_deploy", json!(false)),
        "healthchecks": req["healthchecks"].clone(),
        "ports": ports, "storage": storage,
        "annotations_groups": field("annotations_groups", json!([])),
        "labels_groups": field("labels_groups", json!([])),
    });
    let s = &mut g.envs[ei].services[si];
    s.name = name;
    s.image_name = req["image_name"].as_str().unwrap_or("").to_string();
    s.tag = req["tag"].as_str().unwrap_or("").to_string();
    s.registry = registry;
    s.settings = settings;
    let e = &g.envs[ei];
    json_resp(200, container_json(e, &e.services[si]))
}

/// A fresh id in `prefix`'s family (drawn from the seeded generator, so runs repeat).
fn fresh_id(g: &mut Inner, prefix: &str) -> String {
    format!("{prefix}-{:012x}", g.rng.u64(0..1 << 48))
}

/// `format: uuid`: 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A body checked against the spec's `CloneEnvironmentRequest` schema: `name` a string
/// (required), `cluster_id` and `project_id` uuids, `mode` one of `EnvironmentModeEnum`,
/// `apply_deployment_rule` a boolean. The reason a body is refused (a 400), or `None`.
fn clone_body_refused(v: &Value) -> Option<String> {
    let Some(o) = v.as_object() else {
        return Some("the body is not a JSON object (CloneEnvironmentRequest)".into());
    };
    match o.get("name").map(|n| n.as_str().map(str::trim)) {
        None | Some(Some("")) => return Some("name is required".into()),
        Some(None) => return Some("name must be a string".into()),
        Some(Some(_)) => {}
    }
    for k in ["cluster_id", "project_id"] {
        if let Some(x) = o.get(k)
            && !x.as_str().is_some_and(is_uuid)
        {
            return Some(format!("{k} must be a uuid, got {x}"));
        }
    }
    if let Some(m) = o.get("mode")
        && !m.as_str().is_some_and(|m| ENVIRONMENT_MODES.contains(&m))
    {
        return Some(format!(
            "mode must be one of {}, got {m}",
            ENVIRONMENT_MODES.join(", ")
        ));
    }
    if let Some(b) = o.get("apply_deployment_rule")
        && !b.is_boolean()
    {
        return Some(format!("apply_deployment_rule must be a boolean, got {b}"));
    }
    None
}

/// `POST /environment/{id}/clone` (cloneEnvironment): a new, never-deployed environment with the
/// source's services and variables (new ids), on `cluster_id` when given; 202 with the new
/// `Environment`. 400 for a body outside `CloneEnvironmentRequest`, 409 while the source has an operation running.
fn clone_env(g: &mut Inner, ei: usize, body: &str) -> Response {
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return text(400, &format!("Invalid request body: {e}")),
    };
    if let Some(why) = clone_body_refused(&v) {
        return text(400, &why);
    }
    let name = v["name"].as_str().unwrap_or_default().trim();
    if g.envs[ei].op.is_some() {
        return text(409, IN_PROGRESS);
    }
    let mut env = g.envs[ei].clone();
    if let Some(cl) = v.get("cluster_id").and_then(Value::as_str) {
        let Some(c) = g.clusters.iter().find(|c| c.id == cl) else {
            return text(400, &format!("Cluster {cl} not found"));
        };
        env.cluster_id = c.id.clone();
        env.cluster_name = c.name.clone();
        env.provider = c.provider.clone();
        env.region = c.region.clone();
    }
    if let Some(p) = v.get("project_id").and_then(Value::as_str)
        && p != ids::PROJECT
    {
        return text(404, &format!("Project {p} not found"));
    }
    // Without `mode` the clone keeps the source's ("the same configuration", says the spec).
    if let Some(m) = v.get("mode").and_then(Value::as_str) {
        env.mode = m.to_string();
    }
    env.id = fresh_id(g, "c7e9d1a4-5b2f-4e8a-8c3d");
    env.name = name.to_string();
    let now = Utc::now();
    env.created_at = now;
    env.state = "READY".into();
    env.last_deployment_state = "READY".into();
    env.last_deployment_id = None;
    env.deployment_request_id = None;
    env.history.clear();
    env.truth_log.clear();
    env.order = super::faults::FieldOrder::Truthful;
    env.op = None;
    for i in 0..env.services.len() {
        let id = fresh_id(g, "5b0e2c1d-0000-4000-8000");
        let s = &mut env.services[i];
        s.id = id;
        s.state = "READY".into();
        s.deployment_request_id = None;
        s.created_at = now;
    }
    for i in 0..env.vars.len() {
        env.vars[i].id = fresh_id(g, "7a3c9e10-0000-4000-8000");
    }
    let answer = env_json(&env);
    g.envs.push(env);
    json_resp(202, answer)
}
