//! The JSON bodies the simulated API answers, in the shapes of the OpenAPI spec
//! (`Organization`, `Cluster`, `EnvironmentStatus`, `ContainerResponse`, …).

use axum::response::Response;
use serde_json::{Value, json};

use super::ids;
use super::routes::json_resp;
use super::seed::registries;
use super::world::{Cluster, Env, Kind, Service, Var};

pub(super) fn org_json() -> Value {
    json!({
        "id": ids::ORG, "created_at": "2024-03-01T09:00:00Z", "name": "Shop Inc.",
        "plan": "TEAM_2025", "description": "drcockpit demo organization",
    })
}

/// `Project` (listProject): the one project holding both environments.
pub(super) fn project_json(envs: usize) -> Value {
    json!({
        "id": ids::PROJECT, "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-01T09:00:00Z",
        "name": "shop", "description": "the demo shop", "associated_environments_count": envs,
        "organization": { "id": ids::ORG },
    })
}

pub(super) fn cluster_json(c: &Cluster) -> Value {
    json!({
        "id": c.id, "created_at": "2025-01-10T08:00:00Z", "updated_at": c.last_deployment_date,
        "organization": { "id": ids::ORG }, "name": c.name, "region": c.region,
        "cloud_provider": c.provider, "kubernetes": "MANAGED", "status": c.status,
        "deployment_status": "UP_TO_DATE", "has_access": true, "version": "1.31",
        "is_default": false, "is_demo": false, "production": c.production,
        "min_running_nodes": 3, "max_running_nodes": 10, "instance_type": "PRO2-M",
    })
}

pub(super) fn cluster_status_json(c: &Cluster) -> Value {
    json!({
        "cluster_id": c.id, "status": c.status, "is_deployed": c.is_deployed,
        "last_deployment_date": c.last_deployment_date, "last_execution_id": format!("{}-1", c.id),
        "next_k8s_available_version": null, "cluster_lock": null, "reason": "UNSPECIFIED",
    })
}

pub(super) fn env_json(e: &Env) -> Value {
    json!({
        "id": e.id, "created_at": e.created_at, "updated_at": e.created_at, "name": e.name,
        "organization": { "id": ids::ORG }, "project": { "id": ids::PROJECT },
        "cloud_provider": { "provider": e.provider, "cluster": e.region },
        "mode": e.mode, "cluster_id": e.cluster_id, "cluster_name": e.cluster_name,
        "expires_at": null,
    })
}

pub(super) fn env_status_json(e: &Env) -> Value {
    json!({
        "id": e.id, "state": e.state, "last_deployment_state": e.last_deployment_state,
        "last_deployment_date": e.last_deployment_date, "last_deployment_id": e.last_deployment_id,
        "deployment_status": "UP_TO_DATE", "deployment_request_id": e.deployment_request_id,
        "origin": "API", "triggered_by": "drcockpit", "total_deployment_duration_in_seconds": null,
        "metrics": [],
    })
}

pub(super) fn service_status_json(e: &Env, s: &Service) -> Value {
    let (action, status) = match s.state.as_str() {
        "QUEUED" | "DEPLOYMENT_QUEUED" => ("DEPLOY", "QUEUED"),
        "DEPLOYING" => ("DEPLOY", "ONGOING"),
        "DEPLOYED" => ("DEPLOY", "SUCCESS"),
        "STOP_QUEUED" => ("STOP", "QUEUED"),
        "STOPPING" => ("STOP", "ONGOING"),
        "STOPPED" => ("STOP", "SUCCESS"),
        x if x.ends_with("ERROR") => ("DEPLOY", "ERROR"),
        _ => ("UNKNOWN", "NEVER"),
    };
    json!({
        "id": s.id, "state": s.state, "service_deployment_status": "UP_TO_DATE",
        "last_deployment_date": s.last_deployment_date,
        "is_part_last_deployment": s.deployment_request_id.is_some() && s.deployment_request_id == e.deployment_request_id,
        "execution_id": format!("{}-{}", e.id, s.requests_count),
        "deployment_request_id": s.deployment_request_id, "deployment_requests_count": s.requests_count,
        "status_details": { "action": action, "status": status, "sub_action": "NONE" },
        "steps": { "total_duration_sec": null, "total_computing_duration_sec": 0, "details": [] },
    })
}

pub(super) fn list_kind(e: &Env, k: Kind) -> Response {
    let l: Vec<Value> = e
        .services
        .iter()
        .filter(|s| s.kind == k)
        .map(|s| {
            let common = json!({
                "id": s.id, "created_at": s.created_at, "updated_at": s.created_at, "name": s.name,
                "environment": { "id": e.id }, "icon_uri": "app://qovery-console/container",
                "service_type": match k { Kind::Container => "CONTAINER", Kind::Application => "APPLICATION", Kind::Database => "DATABASE" },
                "healthchecks": {},
            });
            let mut v = common;
            match k {
                Kind::Container => {
                    merge(&mut v, container_fields(s));
                }
                Kind::Database => merge(
                    &mut v,
                    json!({ "type": "REDIS", "version": "7.2", "mode": "CONTAINER", "accessibility": "PRIVATE" }),
                ),
                Kind::Application => {}
            }
            v
        })
        .collect();
    json_resp(200, json!({ "results": l }))
}

pub(super) fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
}

pub(super) fn list_vars(e: &Env, secret: bool) -> Response {
    let l: Vec<Value> = e
        .vars
        .iter()
        .filter(|v| v.secret == secret)
        .map(var_json)
        .collect();
    json_resp(200, json!({ "results": l }))
}

pub(super) fn var_json(v: &Var) -> Value {
    let mut j = json!({
        "id": v.id, "created_at": v.created_at, "updated_at": v.updated_at, "key": v.key,
        "mount_path": null, "description": null, "enable_interpolation_in_file": false,
        "scope": v.scope, "variable_type": v.variable_type,
    });
    if !v.secret {
        j["value"] = json!(v.value);
    }
    j
}

pub(super) fn registries_json() -> Vec<Value> {
    registries()
        .iter()
        .map(|(id, name, url, kind)| {
            json!({
                "id": id, "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-01T09:00:00Z",
                "name": name, "kind": kind, "description": "", "url": url,
                "associated_services_count": 3, "config": {},
            })
        })
        .collect()
}

/// The `ContainerResponse` fields of a container besides the common ones.
pub(super) fn container_fields(s: &Service) -> Value {
    let (rid, rname, rurl, rkind) = &s.registry;
    let mut v = json!({
        "image_name": s.image_name, "tag": s.tag, "registry_id": rid,
        "registry": { "id": rid, "name": rname, "url": rurl, "kind": rkind },
        "maximum_cpu": 16000, "maximum_memory": 32768, "maximum_gpu": 0,
    });
    merge(&mut v, s.settings.clone());
    if v["entrypoint"].is_null()
        && let Some(o) = v.as_object_mut()
    {
        o.remove("entrypoint");
    }
    v
}

pub(super) fn container_json(e: &Env, s: &Service) -> Value {
    let mut v = json!({
        "id": s.id, "created_at": s.created_at, "updated_at": s.created_at, "name": s.name,
        "environment": { "id": e.id }, "icon_uri": "app://qovery-console/container",
        "service_type": "CONTAINER",
    });
    merge(&mut v, container_fields(s));
    v
}
