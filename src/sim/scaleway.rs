//! Simulated Scaleway Managed Database API (RDB v1), just what `scaleway.promote_replica` uses:
//! - `GET  /rdb/v1/regions/{region}/read-replicas/{id}` → `ReadReplica`
//! - `POST /rdb/v1/regions/{region}/read-replicas/{id}/promote` → the new `Instance`
//! - `GET  /rdb/v1/regions/{region}/instances/{id}` → `Instance` (`configuring` → `ready`)
//!
//! Every call needs `X-Auth-Token` equal to the configured secret key (401 otherwise, with
//! Scaleway's error body). A promoted replica no longer exists (404), as on Scaleway.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::prometheus::DbWorld;

pub const DEMO_REGION: &str = "nl-ams";
pub const DEMO_READ_REPLICA_ID: &str = "5e1d2c3b-4a59-4f6e-8d7c-0b1a2f3e4d5c";
pub const DEMO_SOURCE_INSTANCE_ID: &str = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f";
pub const DEMO_PROMOTED_INSTANCE_ID: &str = "7c6b5a49-3827-4f16-a5e4-d3c2b1a09f8e";
/// The secret key the simulator accepts unless told otherwise.
pub const DEMO_SECRET_KEY: &str = "sim-scw-secret-key-00000000";

/// How long a promoted instance stays `configuring`.
pub const PROMOTION_TIME: Duration = Duration::from_millis(1500);

pub struct ScalewayState {
    pub db: Arc<DbWorld>,
    pub secret_key: String,
    pub region: String,
    pub read_replica_id: String,
    pub source_instance_id: String,
    pub promoted_instance_id: String,
    promoted_at: Mutex<Option<Instant>>,
}

impl ScalewayState {
    pub fn new(db: Arc<DbWorld>) -> ScalewayState {
        ScalewayState::with_key(db, DEMO_SECRET_KEY)
    }

    pub fn with_key(db: Arc<DbWorld>, secret_key: &str) -> ScalewayState {
        ScalewayState {
            db,
            secret_key: secret_key.into(),
            region: DEMO_REGION.into(),
            read_replica_id: DEMO_READ_REPLICA_ID.into(),
            source_instance_id: DEMO_SOURCE_INSTANCE_ID.into(),
            promoted_instance_id: DEMO_PROMOTED_INSTANCE_ID.into(),
            promoted_at: Mutex::new(None),
        }
    }

    fn promoted_at(&self) -> Option<Instant> {
        *self.promoted_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn promotions(&self) -> bool {
        self.promoted_at().is_some()
    }
}

pub fn routes(state: Arc<ScalewayState>) -> Router {
    Router::new()
        .route(
            "/rdb/v1/regions/{region}/read-replicas/{id}",
            get(get_replica),
        )
        .route(
            "/rdb/v1/regions/{region}/read-replicas/{id}/promote",
            post(promote),
        )
        .route("/rdb/v1/regions/{region}/instances/{id}", get(get_instance))
        .with_state(state)
}

fn denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "message": "authentication is denied",
            "method": "api_key",
            "reason": "invalid_argument",
            "type": "denied_authentication"
        })),
    )
        .into_response()
}

fn not_found(resource: &str, id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "message": "resource is not found",
            "resource": resource,
            "resource_id": id,
            "type": "not_found"
        })),
    )
        .into_response()
}

fn authorized(s: &ScalewayState, h: &HeaderMap) -> bool {
    h.get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == s.secret_key)
}

fn replica_json(s: &ScalewayState) -> serde_json::Value {
    json!({
        "id": s.read_replica_id,
        "endpoints": [{
            "id": "b2c3d4e5-0000-4000-8000-000000000001",
            "ip": "51.15.0.10",
            "port": 5432,
            "name": null,
            "direct_access": {}
        }],
        "status": "ready",
        "region": s.region,
        "same_zone": false,
        "instance_id": s.source_instance_id,
    })
}

fn instance_json(s: &ScalewayState, id: &str, status: &str, name: &str) -> serde_json::Value {
    json!({
        "id": id,
        "name": name,
        "organization_id": "00000000-0000-4000-8000-00000000a11a",
        "project_id": "00000000-0000-4000-8000-00000000b22b",
        "status": status,
        "engine": "PostgreSQL-15",
        "upgradable_version": [],
        "tags": ["drcockpit-sim"],
        "is_ha_cluster": false,
        "read_replicas": [],
        "node_type": "db-dev-s",
        "region": s.region,
        "endpoints": [{"id": "b2c3d4e5-0000-4000-8000-000000000001", "ip": "51.15.0.10", "port": 5432}],
        "backup_same_region": false,
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
    if region != s.region || id != s.read_replica_id || s.promoted_at().is_some() {
        return not_found("read_replica", &id);
    }
    Json(replica_json(&s)).into_response()
}

async fn promote(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    if region != s.region || id != s.read_replica_id {
        return not_found("read_replica", &id);
    }
    {
        let mut g = s.promoted_at.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_some() {
            drop(g);
            return not_found("read_replica", &id);
        }
        *g = Some(Instant::now());
    }
    s.db.set_promoted();
    Json(instance_json(
        &s,
        &s.promoted_instance_id,
        "configuring",
        "shop-dr",
    ))
    .into_response()
}

async fn get_instance(
    State(s): State<Arc<ScalewayState>>,
    Path((region, id)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&s, &h) {
        return denied();
    }
    if region != s.region {
        return not_found("instance", &id);
    }
    if id == s.source_instance_id {
        let status = if s.db.region_outage() {
            "error"
        } else {
            "ready"
        };
        return Json(instance_json(&s, &id, status, "shop-prod")).into_response();
    }
    match s.promoted_at() {
        Some(at) if id == s.promoted_instance_id => {
            let status = if at.elapsed() >= PROMOTION_TIME {
                "ready"
            } else {
                "configuring"
            };
            Json(instance_json(&s, &id, status, "shop-dr")).into_response()
        }
        _ => not_found("instance", &id),
    }
}

/// This family for [`super::families`].
pub fn family(state: Arc<ScalewayState>) -> super::Family {
    super::Family::new("scaleway", routes(state))
        .endpoint("GET /rdb/v1/regions/{region}/read-replicas/{id}")
        .endpoint("POST /rdb/v1/regions/{region}/read-replicas/{id}/promote")
        .endpoint("GET /rdb/v1/regions/{region}/instances/{id}")
}
