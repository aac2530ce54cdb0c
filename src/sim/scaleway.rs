//! Simulated Scaleway Managed Database API (RDB v1), what `scaleway.promote_replica` and
//! `scaleway.create_read_replica` use:
//! - `GET  /rdb/v1/regions/{region}/read-replicas/{id}` → `ReadReplica`
//! - `POST /rdb/v1/regions/{region}/read-replicas` (`CreateReadReplicaRequest`) → `ReadReplica`
//! - `POST /rdb/v1/regions/{region}/read-replicas/{id}/endpoints` → `ReadReplica`
//! - `POST /rdb/v1/regions/{region}/read-replicas/{id}/promote` → the new `Instance`
//! - `GET  /rdb/v1/regions/{region}/instances/{id}` → `Instance` (with its `read_replicas`)
//!
//! Shapes follow scaleway/scaleway-sdk-python `scaleway/scaleway/rdb/v1/{api,types,marshalling}.py`
//! (commit bc3a31eeb7ab49414c55f57f2cffe9e532b41da9); error bodies follow scaleway-sdk-go
//! `scw/errors.go` (`type` = `not_found`, `quotas_exceeded`, `transient_state`,
//! `invalid_arguments`, `denied_authentication`). The recorded copies are
//! `tests/fixtures/scaleway-*.json`.
//!
//! The world is kept as ground truth ([`Truth`]: which instances and replicas exist, when each
//! was created or promoted) apart from what is answered, which is computed from it at the time of
//! the request: a new replica is `provisioning`, then `initializing`, then `ready`
//! ([`REPLICA_PROVISIONING`], [`REPLICA_INITIALIZING`]), as the documented `ReadReplicaStatus`
//! transient statuses go; a promoted replica no longer exists (404) and its new instance is
//! `configuring` for [`PROMOTION_TIME`]. An instance has at most [`MAX_READ_REPLICAS`] replicas
//! ("You can only create a maximum of 3 Read Replicas per Database Instance"); one more is
//! refused. Every call needs `X-Auth-Token` equal to the configured secret key (401 otherwise).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::prometheus::DbWorld;

pub const DEMO_REGION: &str = "nl-ams";
pub const DEMO_READ_REPLICA_ID: &str = "5e1d2c3b-4a59-4f6e-8d7c-0b1a2f3e4d5c";
pub const DEMO_SOURCE_INSTANCE_ID: &str = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f";
pub const DEMO_PROMOTED_INSTANCE_ID: &str = "7c6b5a49-3827-4f16-a5e4-d3c2b1a09f8e";
/// The secret key the simulator accepts unless told otherwise.
pub const DEMO_SECRET_KEY: &str = "sim-scw-secret-key-00000000";

/// How long a promoted instance stays `configuring`.
pub const PROMOTION_TIME: Duration = Duration::from_millis(1500);
/// How long a new read replica is `provisioning`, then how long `initializing`.
pub const REPLICA_PROVISIONING: Duration = Duration::from_millis(1200);
pub const REPLICA_INITIALIZING: Duration = Duration::from_millis(1200);
/// Read replicas per Database Instance (Scaleway's documented maximum).
pub const MAX_READ_REPLICAS: usize = 3;

/// One Database Instance as it really is.
struct Inst {
    name: String,
    /// `Some(t)`: made by promoting a replica at `t` (configuring until [`PROMOTION_TIME`]).
    promoted_at: Option<Instant>,
    /// The demo's source instance: in `error` while the prod region is out.
    follows_outage: bool,
}

/// One read replica as it really is.
struct Rep {
    instance_id: String,
    created_at: Option<Instant>,
    same_zone: bool,
    endpoints: Vec<Value>,
}

/// The ground truth: what exists, and what was asked of the API (for tests).
#[derive(Default)]
pub struct Truth {
    instances: BTreeMap<String, Inst>,
    replicas: BTreeMap<String, Rep>,
    next_id: u32,
    /// `POST …/read-replicas` received (accepted or not).
    pub create_posts: usize,
    /// `POST …/promote` received.
    pub promote_posts: usize,
}

pub struct ScalewayState {
    pub db: Arc<DbWorld>,
    pub secret_key: String,
    pub region: String,
    pub read_replica_id: String,
    pub source_instance_id: String,
    pub promoted_instance_id: String,
    truth: Mutex<Truth>,
}

impl ScalewayState {
    pub fn new(db: Arc<DbWorld>) -> ScalewayState {
        ScalewayState::with_key(db, DEMO_SECRET_KEY)
    }

    pub fn with_key(db: Arc<DbWorld>, secret_key: &str) -> ScalewayState {
        let mut truth = Truth::default();
        truth.instances.insert(
            DEMO_SOURCE_INSTANCE_ID.into(),
            Inst {
                name: "shop-prod".into(),
                promoted_at: None,
                follows_outage: true,
            },
        );
        truth.replicas.insert(
            DEMO_READ_REPLICA_ID.into(),
            Rep {
                instance_id: DEMO_SOURCE_INSTANCE_ID.into(),
                created_at: None,
                same_zone: false,
                endpoints: vec![direct_endpoint(1)],
            },
        );
        ScalewayState {
            db,
            secret_key: secret_key.into(),
            region: DEMO_REGION.into(),
            read_replica_id: DEMO_READ_REPLICA_ID.into(),
            source_instance_id: DEMO_SOURCE_INSTANCE_ID.into(),
            promoted_instance_id: DEMO_PROMOTED_INSTANCE_ID.into(),
            truth: Mutex::new(truth),
        }
    }

    /// The ground truth (tests read it; answers are computed from it).
    pub fn truth(&self) -> MutexGuard<'_, Truth> {
        self.truth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Has the demo's replica been promoted?
    pub fn promotions(&self) -> bool {
        self.truth()
            .instances
            .get(&self.promoted_instance_id)
            .is_some_and(|i| i.promoted_at.is_some())
    }

    /// Promote the demo's replica now, as the demo's failover step does (a test starting from
    /// the state after the failover).
    pub fn promote_demo_replica(&self) {
        let id = self.read_replica_id.clone();
        let _ = promote_in(self, &mut self.truth(), &id, Instant::now());
    }

    /// Ids of the read replicas of `instance_id` that exist now.
    pub fn replicas_of(&self, instance_id: &str) -> Vec<String> {
        self.truth()
            .replicas
            .iter()
            .filter(|(_, r)| r.instance_id == instance_id)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Add a replica of `instance_id` created at `at` (a test setting up a world: a crash after
    /// the POST, an instance at its limit).
    pub fn add_replica(&self, instance_id: &str, at: Instant) -> String {
        let mut t = self.truth();
        let id = fresh_id(&mut t);
        t.replicas.insert(
            id.clone(),
            Rep {
                instance_id: instance_id.into(),
                created_at: Some(at),
                same_zone: false,
                endpoints: vec![],
            },
        );
        id
    }
}

fn fresh_id(t: &mut Truth) -> String {
    t.next_id += 1;
    format!(
        "a11ce000-{:04x}-4000-8000-00000000{:04x}",
        t.next_id, t.next_id
    )
}

fn direct_endpoint(n: u32) -> Value {
    json!({
        "id": format!("b2c3d4e5-0000-4000-8000-{n:012}"),
        "ip": format!("51.15.0.{}", 10 + n),
        "port": 5432,
        "name": null,
        "direct_access": {}
    })
}

fn private_endpoint(n: u32, network: &str, region: &str) -> Value {
    json!({
        "id": format!("b2c3d4e5-0000-4000-8000-{n:012}"),
        "ip": format!("10.10.0.{}", 10 + n),
        "port": 5432,
        "name": null,
        "private_network": {
            "private_network_id": network,
            "service_ip": format!("10.10.0.{}/22", 10 + n),
            "zone": format!("{region}-1"),
            "provisioning_mode": "ipam"
        }
    })
}

pub fn routes(state: Arc<ScalewayState>) -> Router {
    Router::new()
        .route(
            "/rdb/v1/regions/{region}/read-replicas",
            post(create_replica),
        )
        .route(
            "/rdb/v1/regions/{region}/read-replicas/{id}",
            get(get_replica),
        )
        .route(
            "/rdb/v1/regions/{region}/read-replicas/{id}/promote",
            post(promote),
        )
        .route(
            "/rdb/v1/regions/{region}/read-replicas/{id}/endpoints",
            post(create_endpoint),
        )
        .route("/rdb/v1/regions/{region}/instances/{id}", get(get_instance))
        .with_state(state)
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn denied() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        json!({
            "message": "authentication is denied",
            "method": "api_key",
            "reason": "invalid_argument",
            "type": "denied_authentication"
        }),
    )
}

fn not_found(resource: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({
            "message": "resource is not found",
            "resource": resource,
            "resource_id": id,
            "type": "not_found"
        }),
    )
}

fn invalid(argument: &str, help: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        json!({
            "message": "invalid argument(s)",
            "type": "invalid_arguments",
            "details": [{"argument_name": argument, "reason": "required", "help_message": help}]
        }),
    )
}

fn authorized(s: &ScalewayState, h: &HeaderMap) -> bool {
    h.get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == s.secret_key)
}

/// What a replica answers now (`ReadReplica`).
fn replica_view(s: &ScalewayState, id: &str, r: &Rep, now: Instant) -> Value {
    let status = match r.created_at {
        None => "ready",
        Some(at) => {
            let age = now.saturating_duration_since(at);
            if age < REPLICA_PROVISIONING {
                "provisioning"
            } else if age < REPLICA_PROVISIONING + REPLICA_INITIALIZING {
                "initializing"
            } else {
                "ready"
            }
        }
    };
    json!({
        "id": id,
        "endpoints": r.endpoints,
        "status": status,
        "region": s.region,
        "same_zone": r.same_zone,
        "instance_id": r.instance_id,
    })
}

/// What an instance answers now (`Instance`).
fn instance_view(s: &ScalewayState, t: &Truth, id: &str, i: &Inst, now: Instant) -> Value {
    let status = match i.promoted_at {
        Some(at) if now.saturating_duration_since(at) < PROMOTION_TIME => "configuring",
        _ if i.follows_outage && s.db.region_outage() => "error",
        _ => "ready",
    };
    let replicas: Vec<Value> = t
        .replicas
        .iter()
        .filter(|(_, r)| r.instance_id == id)
        .map(|(rid, r)| replica_view(s, rid, r, now))
        .collect();
    json!({
        "id": id,
        "name": i.name,
        "organization_id": "00000000-0000-4000-8000-00000000a11a",
        "project_id": "00000000-0000-4000-8000-00000000b22b",
        "status": status,
        "engine": "PostgreSQL-15",
        "upgradable_version": [],
        "tags": ["drcockpit-sim"],
        "settings": [],
        "is_ha_cluster": false,
        "read_replicas": replicas,
        "node_type": "db-dev-s",
        "init_settings": [],
        "region": s.region,
        "endpoints": [direct_endpoint(0)],
        "backup_same_region": false,
        "maintenances": [],
        "created_at": "2026-01-01T00:00:00Z",
    })
}

async fn get_replica(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    let t = s.truth();
    match t.replicas.get(&id) {
        Some(r) if region == s.region => {
            Json(replica_view(&s, &id, r, Instant::now())).into_response()
        }
        _ => not_found("read_replica", &id),
    }
}

async fn get_instance(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    let t = s.truth();
    match t.instances.get(&id) {
        Some(i) if region == s.region => {
            Json(instance_view(&s, &t, &id, i, Instant::now())).into_response()
        }
        _ => not_found("instance", &id),
    }
}

/// `CreateReadReplicaRequest`: `instance_id`, `endpoint_spec` (a list of `{direct_access: {}}`
/// or `{private_network: {private_network_id, service_ip | ipam_config}}`), `same_zone`.
async fn create_replica(
    State(s): State<Arc<ScalewayState>>,
    Path(region): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    let mut t = s.truth();
    t.create_posts += 1;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return invalid(
            "instance_id",
            "the body must be a JSON CreateReadReplicaRequest",
        );
    };
    let Some(instance_id) = req["instance_id"].as_str().map(str::to_string) else {
        return invalid("instance_id", "UUID of the Database Instance");
    };
    let now = Instant::now();
    let Some(inst) = t.instances.get(&instance_id).filter(|_| region == s.region) else {
        return not_found("instance", &instance_id);
    };
    let status = instance_view(&s, &t, &instance_id, inst, now)["status"].clone();
    if status != "ready" {
        return error(
            StatusCode::CONFLICT,
            json!({
                "message": "resource is in a transient state",
                "resource": "instance",
                "resource_id": instance_id,
                "current_state": status,
                "type": "transient_state"
            }),
        );
    }
    let current = t
        .replicas
        .values()
        .filter(|r| r.instance_id == instance_id)
        .count();
    if current >= MAX_READ_REPLICAS {
        return error(
            StatusCode::CONFLICT,
            json!({
                "message": "quota(s) exceeded for this resource",
                "type": "quotas_exceeded",
                "details": [{"resource": "read_replicas", "quota": MAX_READ_REPLICAS, "current": current}]
            }),
        );
    }
    let id = fresh_id(&mut t);
    let endpoints = match endpoints_of(&s, &req["endpoint_spec"], t.next_id) {
        Ok(e) => e,
        Err((a, h)) => return invalid(a, h),
    };
    let rep = Rep {
        instance_id,
        created_at: Some(now),
        same_zone: req["same_zone"].as_bool().unwrap_or(false),
        endpoints,
    };
    let view = replica_view(&s, &id, &rep, now);
    t.replicas.insert(id, rep);
    Json(view).into_response()
}

/// The endpoints a `ReadReplicaEndpointSpec` list asks for.
/// An invalid one is the `(argument, help)` of the `invalid_arguments` answer.
fn endpoints_of(
    s: &ScalewayState,
    spec: &Value,
    n: u32,
) -> Result<Vec<Value>, (&'static str, &'static str)> {
    let mut out = Vec::new();
    for (i, e) in spec.as_array().into_iter().flatten().enumerate() {
        let n = n * 10 + i as u32;
        if e.get("direct_access").is_some() {
            out.push(direct_endpoint(n));
        } else if let Some(pn) = e.get("private_network") {
            let Some(net) = pn["private_network_id"].as_str() else {
                return Err((
                    "endpoint_spec.private_network.private_network_id",
                    "UUID of the Private Network to be connected to the Read Replica",
                ));
            };
            out.push(private_endpoint(n, net, &s.region));
        } else {
            return Err(("endpoint_spec", "one of direct_access or private_network"));
        }
    }
    Ok(out)
}

async fn create_endpoint(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    let req: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut t = s.truth();
    t.next_id += 1;
    let n = t.next_id;
    if region != s.region || !t.replicas.contains_key(&id) {
        return not_found("read_replica", &id);
    }
    let new = match endpoints_of(&s, &req["endpoint_spec"], n) {
        Ok(e) if !e.is_empty() => e,
        Ok(_) => return invalid("endpoint_spec", "at least one endpoint"),
        Err((a, h)) => return invalid(a, h),
    };
    let Some(rep) = t.replicas.get_mut(&id) else {
        return not_found("read_replica", &id);
    };
    rep.endpoints.extend(new);
    let view = replica_view(&s, &id, rep, Instant::now());
    Json(view).into_response()
}

/// Promote replica `id` in the truth: it disappears and an instance takes its place.
fn promote_in(
    s: &ScalewayState,
    t: &mut Truth,
    id: &str,
    now: Instant,
) -> Option<(String, String)> {
    t.replicas.remove(id)?;
    let (new_id, name) = if id == s.read_replica_id {
        (s.promoted_instance_id.clone(), "shop-dr".to_string())
    } else {
        (fresh_id(t), format!("shop-promoted-{}", t.next_id))
    };
    t.instances.insert(
        new_id.clone(),
        Inst {
            name: name.clone(),
            promoted_at: Some(now),
            follows_outage: false,
        },
    );
    if id == s.read_replica_id {
        s.db.set_promoted();
    }
    Some((new_id, name))
}

async fn promote(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    let mut t = s.truth();
    t.promote_posts += 1;
    if region != s.region {
        return not_found("read_replica", &id);
    }
    let now = Instant::now();
    let Some((new_id, _)) = promote_in(&s, &mut t, &id, now) else {
        return not_found("read_replica", &id);
    };
    match t.instances.get(&new_id) {
        Some(i) => Json(instance_view(&s, &t, &new_id, i, now)).into_response(),
        None => not_found("instance", &new_id),
    }
}

/// This family for [`super::families`].
pub fn family(state: Arc<ScalewayState>) -> super::Family {
    super::Family::new("scaleway", routes(state))
        .endpoint("GET /rdb/v1/regions/{region}/read-replicas/{id}")
        .endpoint("POST /rdb/v1/regions/{region}/read-replicas")
        .endpoint("POST /rdb/v1/regions/{region}/read-replicas/{id}/endpoints")
        .endpoint("POST /rdb/v1/regions/{region}/read-replicas/{id}/promote")
        .endpoint("GET /rdb/v1/regions/{region}/instances/{id}")
}
