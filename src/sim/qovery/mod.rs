//! The simulated Qovery API: the endpoints the cockpit calls (paths and shapes from
//! `../shared/reference/qovery-openapi.yaml`), quirks included:
//! - `POST /environment/{id}/deploy` answers a service-shaped `Status`, while redeploy, stop and
//!   `service/deploy` answer an `EnvironmentStatus`;
//! - 409 while an operation runs (and on stopping a stopped environment);
//! - error bodies are plain text, not JSON;
//! - deployments walk QUEUED → DEPLOYING → DEPLOYED over seconds, service by service;
//! - `region-outage` sends the prod cluster and environment into error states after ~5 s;
//! - `flaky-api` injects 5xx, slow answers and timeouts (seeded);
//! - `hostile` keeps the GROUND TRUTH of every deployment apart from WHAT IT ANSWERS: the status
//!   fields catch up with the truth in one of the orders the spec allows (it defines none; see
//!   [`FieldOrder`]), deployments stall for a while, and some reads answer after the client's
//!   timeout. Tests compare the step's verdict with [`QoveryWorld::ground_truth`];
//! - the `Authorization` header is checked: `Token` + [`ids::DEMO_TOKEN`] or `Bearer` +
//!   [`ids::DEMO_JWT`]; anything else is a plain-text 401.
//!
//! Tests drive it through hooks on [`QoveryWorld`] (fault injection, raw states, the request log).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Fixed demo ids: the demo plan and the tests refer to these.
pub mod ids {
    pub const ORG: &str = "3d5a0b5c-6c1e-4f0b-9a57-0f6f1b0c0001";
    pub const PROJECT: &str = "3d5a0b5c-6c1e-4f0b-9a57-0f6f1b0c0002";
    pub const PROD_CLUSTER: &str = "8a1f6a62-2f4e-4c55-9d1c-3a7e0c0a0101";
    pub const DR_CLUSTER: &str = "8a1f6a62-2f4e-4c55-9d1c-3a7e0c0a0201";
    pub const PROD_ENV: &str = "c7e9d1a4-5b2f-4e8a-8c3d-1f2a3b4c0102";
    pub const DR_ENV: &str = "c7e9d1a4-5b2f-4e8a-8c3d-1f2a3b4c0202";
    pub const PROD_WEB: &str = "5b0e2c1d-0000-4000-8000-000000000111";
    pub const PROD_API: &str = "5b0e2c1d-0000-4000-8000-000000000112";
    pub const PROD_WORKER: &str = "5b0e2c1d-0000-4000-8000-000000000113";
    pub const PROD_CACHE: &str = "5b0e2c1d-0000-4000-8000-000000000114";
    pub const DR_WEB: &str = "5b0e2c1d-0000-4000-8000-000000000211";
    pub const DR_API: &str = "5b0e2c1d-0000-4000-8000-000000000212";
    pub const DR_WORKER: &str = "5b0e2c1d-0000-4000-8000-000000000213";
    pub const DR_CACHE: &str = "5b0e2c1d-0000-4000-8000-000000000214";
    pub const PROD_REGISTRY: &str = "9e4b7c2a-0000-4000-8000-000000000301";
    pub const DR_REGISTRY: &str = "9e4b7c2a-0000-4000-8000-000000000302";
    /// An API token (`Authorization: Token …`). Not base64 before its first `.`, so the CLI rule
    /// picks `Token` for it.
    pub const DEMO_TOKEN: &str = "qov_demo_7Fq2sLx9RkT4mWv8";
    /// A JWT-shaped token (`Authorization: Bearer …`).
    pub const DEMO_JWT: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vQGRyY29ja3BpdCJ9.ZGVtby1zaWduYXR1cmU";
}

pub use ids::DEMO_TOKEN;

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/variable?parent_id=…&scope=ENVIRONMENT`.
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

impl RecordedRequest {
    pub fn is_mutating(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

#[derive(Debug, Clone)]
struct Fault {
    method: String,
    path_contains: String,
    status: Option<(u16, String)>,
    delay: Option<Duration>,
    times: u32,
    /// Apply the request first, then answer with `status`/after `delay` (a gateway failing after
    /// the work started, an answer arriving after the client gave up).
    apply: bool,
}

/// In which order the ANSWERED status fields catch up with the ground truth. The spec says
/// nothing about it, so every order is allowed; the lagging fields answer the truth as it was
/// [`QoveryWorld::with_lag`] ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    /// Every field answers the truth (every scenario but `hostile`).
    Truthful,
    /// `deployment_request_id` first; `state`, `last_deployment_state` and the services lag.
    RequestIdFirst,
    /// `state` first; `deployment_request_id`, `last_deployment_state` and the services lag.
    StateFirst,
    /// `last_deployment_state` first; `deployment_request_id`, `state` and the services lag.
    LastStateFirst,
    /// The environment's fields are current; every service's status lags.
    ServicesLagging,
}

impl FieldOrder {
    /// The orders `hostile` draws from (seeded, one per deployment).
    pub const HOSTILE: [FieldOrder; 4] = [
        FieldOrder::RequestIdFirst,
        FieldOrder::StateFirst,
        FieldOrder::LastStateFirst,
        FieldOrder::ServicesLagging,
    ];
}

/// The status fields as they really are at one instant.
#[derive(Debug, Clone, PartialEq)]
struct Snap {
    state: String,
    last_deployment_state: String,
    deployment_request_id: Option<String>,
    /// `(state, deployment_request_id)` of every service, in the environment's order.
    services: Vec<(String, Option<String>)>,
}

/// The ground truth of an environment, for tests (what really is, whatever was answered).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    pub state: String,
    pub last_deployment_state: String,
    pub deployment_request_id: Option<String>,
    /// An operation is still running.
    pub running: bool,
    /// `(service id, state)`.
    pub services: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Container,
    Application,
    Database,
}

#[derive(Debug, Clone)]
struct Service {
    id: String,
    name: String,
    kind: Kind,
    image_name: String,
    tag: String,
    registry: (String, String, String, String),
    /// Containers: the editable `ContainerRequest` fields besides name, image, tag and registry
    /// (resources, healthchecks, ports and storage with their ids, …), as last written.
    settings: Value,
    state: String,
    last_deployment_date: DateTime<Utc>,
    deployment_request_id: Option<String>,
    requests_count: i64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Var {
    id: String,
    key: String,
    value: String,
    scope: String,
    variable_type: String,
    secret: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum OpKind {
    Deploy,
    Redeploy,
    Stop,
    DeployServices,
}

#[derive(Debug, Clone)]
struct Op {
    kind: OpKind,
    request_id: String,
    started: Instant,
    started_wall: DateTime<Utc>,
    /// Indexes into the environment's services, in deployment order.
    targets: Vec<usize>,
    fail_at: Option<usize>,
    /// Ops on an environment hit by the outage fail.
    doomed: bool,
    /// The targets' states before the operation (restored on the ones that never ran).
    prev: Vec<String>,
    /// The truth stops progressing at this phase for this many phases (`usize::MAX`: for good).
    stall: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct Hist {
    id: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status: String,
    services: Vec<(usize, String)>,
}

#[derive(Debug, Clone)]
struct Env {
    id: String,
    name: String,
    cluster_id: String,
    cluster_name: String,
    provider: String,
    region: String,
    state: String,
    last_deployment_state: String,
    last_deployment_date: DateTime<Utc>,
    last_deployment_id: Option<String>,
    deployment_request_id: Option<String>,
    services: Vec<Service>,
    vars: Vec<Var>,
    history: Vec<Hist>,
    op: Option<Op>,
    created_at: DateTime<Utc>,
    /// How this environment's answers catch up with its truth (drawn per deployment in `hostile`).
    order: FieldOrder,
    /// The truth of the status fields over time (oldest first), for the lagging answers.
    truth_log: Vec<(Instant, Snap)>,
}

#[derive(Debug, Clone)]
struct Cluster {
    id: String,
    name: String,
    region: String,
    provider: String,
    production: bool,
    status: String,
    is_deployed: bool,
    last_deployment_date: DateTime<Utc>,
}

struct Inner {
    scenario: String,
    /// When the current scenario started (the outage timer counts from here).
    scenario_started: Instant,
    rng: fastrand::Rng,
    clusters: Vec<Cluster>,
    envs: Vec<Env>,
    requests: Vec<RecordedRequest>,
    faults: Vec<Fault>,
    phase: Duration,
    outage_after: Option<Duration>,
    outage_applied: bool,
    flaky: bool,
    fail_next: Vec<String>,
    seq: u64,
    /// `hostile`: seeded field orders, stalls and late reads.
    hostile: bool,
    /// An order chosen by a test (any scenario); otherwise `hostile` draws one per deployment.
    forced_order: Option<FieldOrder>,
    /// How far behind the truth the lagging fields answer.
    lag: Duration,
    /// `hostile`: some status reads answer after the client's timeout.
    late_reads: bool,
    /// The next deployment stalls for good on its first service.
    stall_next: bool,
}

/// The simulated Qovery world of one scenario.
pub struct QoveryWorld {
    inner: Mutex<Inner>,
}

/// Each deployment phase lasts a little longer than the official CLI's 3 s poll, so a cockpit
/// following at that cadence sees every state of every service.
const DEMO_PHASE: Duration = Duration::from_millis(3500);

impl QoveryWorld {
    /// A world for `scenario` (`all-good`, `region-outage`, `flaky-api`, …; unknown names play
    /// `all-good`). `seed` drives every random choice (flaky-api faults).
    pub fn new(scenario_name: &str, seed: u64) -> QoveryWorld {
        let now = Utc::now();
        let outage = scenario_name == "region-outage";
        QoveryWorld {
            inner: Mutex::new(Inner {
                scenario: scenario_name.to_string(),
                scenario_started: Instant::now(),
                rng: fastrand::Rng::with_seed(seed),
                clusters: vec![
                    Cluster {
                        id: ids::PROD_CLUSTER.into(),
                        name: "prod-par".into(),
                        region: "fr-par".into(),
                        provider: "SCW".into(),
                        production: true,
                        status: "DEPLOYED".into(),
                        is_deployed: true,
                        last_deployment_date: now - chrono::Duration::days(12),
                    },
                    Cluster {
                        id: ids::DR_CLUSTER.into(),
                        name: "dr-eu1".into(),
                        region: "eu-west-1".into(),
                        provider: "AWS".into(),
                        production: false,
                        status: "DEPLOYED".into(),
                        is_deployed: true,
                        last_deployment_date: now - chrono::Duration::days(9),
                    },
                ],
                envs: vec![prod_env(now), dr_env(now)]
                    .into_iter()
                    .map(|mut e| {
                        record_truth(&mut e, Instant::now());
                        e
                    })
                    .collect(),
                requests: Vec::new(),
                faults: Vec::new(),
                phase: DEMO_PHASE,
                outage_after: outage.then_some(Duration::from_secs(5)),
                outage_applied: false,
                flaky: scenario_name == "flaky-api",
                fail_next: Vec::new(),
                seq: 0,
                hostile: scenario_name == "hostile",
                forced_order: None,
                lag: DEMO_PHASE * 2,
                late_reads: scenario_name == "hostile",
                stall_next: false,
            }),
        }
    }

    pub fn scenario(&self) -> String {
        self.lock().scenario.clone()
    }

    /// Switch the scenario live (the simulator's `POST /_sim/scenario/{name}`): `region-outage`
    /// starts its 5 s timer now, `flaky-api` turns the faults on, and leaving `region-outage`
    /// brings the prod cluster and environment back.
    pub fn set_scenario(&self, scenario_name: &str) {
        let mut g = self.lock();
        g.scenario = scenario_name.to_string();
        g.scenario_started = Instant::now();
        g.flaky = scenario_name == "flaky-api";
        g.hostile = scenario_name == "hostile";
        g.late_reads = g.hostile;
        if scenario_name == "region-outage" {
            g.outage_after = Some(Duration::from_secs(5));
            g.outage_applied = false;
        } else {
            g.outage_after = None;
            if g.outage_applied {
                g.outage_applied = false;
                if let Some(c) = g.clusters.iter_mut().find(|c| c.id == ids::PROD_CLUSTER) {
                    c.status = "DEPLOYED".into();
                }
                if let Some(e) = g.envs.iter_mut().find(|e| e.id == ids::PROD_ENV)
                    && e.op.is_none()
                {
                    e.state = e.last_deployment_state.clone();
                    for s in &mut e.services {
                        if s.state == "UNAVAILABLE" {
                            s.state = e.last_deployment_state.clone();
                        }
                    }
                }
            }
        }
    }

    /// The endpoints served, as `METHOD /path` lines (for the simulator's `GET /_sim`).
    pub fn endpoints() -> Vec<String> {
        crate::clients::qovery::ENDPOINTS
            .iter()
            .map(|(m, p)| format!("{m} {p}"))
            .collect()
    }

    /// How long each deployment phase (queue, then each service) takes (default 3.5 s).
    pub fn with_phase(self, phase: Duration) -> QoveryWorld {
        self.lock().phase = phase;
        self
    }

    /// When the region outage hits (default 5 s after start in `region-outage`; any scenario).
    pub fn with_outage_after(self, after: Duration) -> QoveryWorld {
        self.lock().outage_after = Some(after);
        self
    }

    /// Answer every deployment's status fields in this order (any scenario), instead of the
    /// truth (or `hostile`'s seeded draw).
    pub fn with_field_order(self, order: FieldOrder) -> QoveryWorld {
        self.lock().forced_order = Some(order);
        self
    }

    /// How far behind the truth the lagging fields answer (default two phases).
    pub fn with_lag(self, lag: Duration) -> QoveryWorld {
        self.lock().lag = lag;
        self
    }

    /// Turn `hostile`'s late status reads (answers after the client's timeout) on or off.
    pub fn with_late_reads(self, late: bool) -> QoveryWorld {
        self.lock().late_reads = late;
        self
    }

    /// The next deployment stalls for good on its first service (its truth stays DEPLOYING).
    pub fn stall_next_deployment(&self) {
        self.lock().stall_next = true;
    }

    /// The next `times` matching requests are APPLIED, then answered with `status` and `body`
    /// (a gateway 5xx after the work started).
    pub fn fail_after_applying(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
    ) {
        self.push_status_fault(method, path_contains, status, body, times, true);
    }

    /// One status fault; `apply`: the request is carried out before the fault answers.
    fn push_status_fault(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
        apply: bool,
    ) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: Some((status, body.into())),
            delay: None,
            times,
            apply,
        });
    }

    /// The next `times` matching requests are APPLIED, then answered only after `delay` (after the
    /// client's timeout, when `delay` is longer).
    pub fn answer_late_after_applying(
        &self,
        method: &str,
        path_contains: &str,
        delay: Duration,
        times: u32,
    ) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: None,
            delay: Some(delay),
            times,
            apply: true,
        });
    }

    /// What really is in an environment, whatever the answers say.
    pub fn ground_truth(&self, env_id: &str) -> Option<GroundTruth> {
        let mut g = self.lock();
        tick(&mut g);
        let e = g.envs.iter().find(|e| e.id == env_id)?;
        Some(GroundTruth {
            state: e.state.clone(),
            last_deployment_state: e.last_deployment_state.clone(),
            deployment_request_id: e.deployment_request_id.clone(),
            running: e.op.is_some(),
            services: e
                .services
                .iter()
                .map(|s| (s.id.clone(), s.state.clone()))
                .collect(),
        })
    }

    /// How a deployment request really ended (`None` while it runs or if unknown).
    pub fn request_outcome(&self, request_id: &str) -> Option<String> {
        let mut g = self.lock();
        tick(&mut g);
        for e in &g.envs {
            if e.op.as_ref().is_some_and(|o| o.request_id == request_id) {
                return None;
            }
            if let Some(h) = e.history.iter().find(|h| h.id == request_id) {
                return Some(h.status.clone());
            }
        }
        None
    }

    /// Turn the flaky-api faults on or off.
    pub fn with_flaky(self, flaky: bool) -> QoveryWorld {
        self.lock().flaky = flaky;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Answer the next `times` requests matching `method` and a path containing `path_contains`
    /// with `status` and a plain-text `body`.
    pub fn inject_status(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
    ) {
        self.push_status_fault(method, path_contains, status, body, times, false);
    }

    /// Delay the next `times` matching requests by `delay` before answering.
    pub fn inject_delay(&self, method: &str, path_contains: &str, delay: Duration, times: u32) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: None,
            delay: Some(delay),
            times,
            apply: false,
        });
    }

    /// Set a cluster's `status` to any string (unknown enum values included).
    pub fn set_cluster_state(&self, cluster_id: &str, state: &str) {
        if let Some(c) = self.lock().clusters.iter_mut().find(|c| c.id == cluster_id) {
            c.status = state.into();
        }
    }

    /// Set an environment's `state` and `last_deployment_state` to any string.
    pub fn set_env_state(&self, env_id: &str, state: &str) {
        if let Some(e) = self.lock().envs.iter_mut().find(|e| e.id == env_id) {
            e.state = state.into();
            e.last_deployment_state = state.into();
            record_truth(e, Instant::now());
        }
    }

    /// The next deployment that includes the service named `name` fails on it
    /// (`DEPLOYMENT_ERROR`).
    pub fn fail_next_deployment_of(&self, name: &str) {
        self.lock().fail_next.push(name.into());
    }

    /// `(state, last_deployment_state)` of an environment.
    pub fn env_state(&self, env_id: &str) -> Option<(String, String)> {
        let mut g = self.lock();
        tick(&mut g);
        g.envs
            .iter()
            .find(|e| e.id == env_id)
            .map(|e| (e.state.clone(), e.last_deployment_state.clone()))
    }

    /// The value of an environment-scope variable or secret.
    pub fn variable(&self, env_id: &str, key: &str) -> Option<String> {
        let g = self.lock();
        g.envs
            .iter()
            .find(|e| e.id == env_id)?
            .vars
            .iter()
            .find(|v| v.key == key && v.scope == "ENVIRONMENT")
            .map(|v| v.value.clone())
    }

    /// `(image_name, tag, registry id)` of a container.
    pub fn container_image(&self, service_id: &str) -> Option<(String, String, String)> {
        let g = self.lock();
        g.envs
            .iter()
            .flat_map(|e| e.services.iter())
            .find(|s| s.id == service_id)
            .map(|s| (s.image_name.clone(), s.tag.clone(), s.registry.0.clone()))
    }

    /// The ports and storage of a container as stored (ids included).
    pub fn container_settings(&self, service_id: &str) -> Option<Value> {
        let g = self.lock();
        g.envs
            .iter()
            .flat_map(|e| e.services.iter())
            .find(|s| s.id == service_id)
            .map(|s| s.settings.clone())
    }

    /// The image tag of a service.
    pub fn service_tag(&self, service_id: &str) -> Option<String> {
        let g = self.lock();
        g.envs
            .iter()
            .flat_map(|e| e.services.iter())
            .find(|s| s.id == service_id)
            .map(|s| s.tag.clone())
    }
}

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

fn text(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn json_resp(status: u16, v: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

enum Gate {
    Pass,
    Answer(Response),
    Delay(Duration, Option<Response>),
    /// Apply the request, then (after the delay) answer this instead of the real answer.
    AfterApply(Option<Duration>, Option<Response>),
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
    let gate = {
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
        gate(&mut g, &m, &path, auth.as_deref())
    };
    let after = match gate {
        Gate::Answer(r) => return r,
        Gate::Delay(d, then) => {
            tokio::time::sleep(d).await;
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
                tokio::time::sleep(d).await;
            }
            instead.unwrap_or(real)
        }
    }
}

fn gate(g: &mut Inner, method: &str, path: &str, auth: Option<&str>) -> Gate {
    let ok = match auth.map(str::trim) {
        Some(a) => {
            a == format!("Token {}", ids::DEMO_TOKEN) || a == format!("Bearer {}", ids::DEMO_JWT)
        }
        None => false,
    };
    if !ok {
        return Gate::Answer(text(401, "Access token is missing or invalid"));
    }
    if let Some(i) = g
        .faults
        .iter()
        .position(|f| f.method == method && path.contains(&f.path_contains) && f.times > 0)
    {
        let f = &mut g.faults[i];
        f.times -= 1;
        let answer = f.status.clone().map(|(s, b)| text(s, &b));
        let delay = f.delay;
        let apply = f.apply;
        if f.times == 0 {
            g.faults.remove(i);
        }
        if apply {
            return Gate::AfterApply(delay, answer);
        }
        return match (delay, answer) {
            (Some(d), a) => Gate::Delay(d, a),
            (None, Some(a)) => Gate::Answer(a),
            (None, None) => Gate::Pass,
        };
    }
    // `hostile`: a status read that answers after the client's timeout (30 s).
    if g.late_reads && method == "GET" && path.ends_with("/statuses") && g.rng.f64() < 0.05 {
        return Gate::Delay(Duration::from_secs(35), None);
    }
    if g.flaky {
        let r = g.rng.f64();
        if r < 0.12 {
            return Gate::Answer(text(
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
            ));
        }
        if r < 0.14 {
            return Gate::Answer(text(502, "Bad Gateway"));
        }
        if r < 0.24 {
            let ms = g.rng.u64(400..2500);
            return Gate::Delay(Duration::from_millis(ms), None);
        }
        if r < 0.27 {
            return Gate::Delay(
                Duration::from_secs(15),
                Some(text(504, "upstream request timeout")),
            );
        }
    }
    Gate::Pass
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

fn env_route(g: &mut Inner, ei: usize, m: &str, rest: &[&str], body: &str) -> Response {
    match (m, rest) {
        ("GET", []) => json_resp(200, env_json(&g.envs[ei])),
        ("GET", ["status"]) => json_resp(200, env_status_json(&answered(&g.envs[ei], g.lag))),
        ("GET", ["statuses"]) => {
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
        ("GET", ["container"]) => list_kind(&g.envs[ei], Kind::Container),
        ("GET", ["application"]) => list_kind(&g.envs[ei], Kind::Application),
        ("GET", ["database"]) => list_kind(&g.envs[ei], Kind::Database),
        ("POST", ["deploy"]) => match start_op(g, ei, OpKind::Deploy, None) {
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
        },
        ("POST", ["redeploy"]) => match start_op(g, ei, OpKind::Redeploy, None) {
            None => text(409, IN_PROGRESS),
            Some(_) => json_resp(202, env_status_json(&g.envs[ei])),
        },
        ("POST", ["stop"]) => {
            if g.envs[ei].op.is_none() && g.envs[ei].state == "STOPPED" {
                return text(409, "Environment is already stopped");
            }
            match start_op(g, ei, OpKind::Stop, None) {
                None => text(409, IN_PROGRESS),
                Some(_) => json_resp(202, env_status_json(&g.envs[ei])),
            }
        }
        ("POST", ["service", "deploy"]) => {
            let req: Value =
                match serde_json::from_str(if body.trim().is_empty() { "{}" } else { body }) {
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
        ("GET", ["environmentVariable"]) => list_vars(&g.envs[ei], false),
        ("GET", ["secret"]) => list_vars(&g.envs[ei], true),
        ("POST", [which @ ("environmentVariable" | "secret")]) => {
            let secret = *which == "secret";
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
        ("PUT", [which @ ("environmentVariable" | "secret"), id]) => {
            let secret = *which == "secret";
            let (key, value) = match parse_var_body(body) {
                Ok(kv) => kv,
                Err(msg) => return text(400, &msg),
            };
            let e = &mut g.envs[ei];
            let Some(v) = e
                .vars
                .iter_mut()
                .find(|v| v.id == *id && v.secret == secret)
            else {
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
        ("GET", ["deploymentHistory"]) => {
            let e = &g.envs[ei];
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
        _ => text(405, "Method not allowed"),
    }
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

const IN_PROGRESS: &str = "Operation is in progress: wait until the current deployment is finished";

/// Start an operation; `None` while one runs (answer 409 with [`IN_PROGRESS`]).
fn start_op(g: &mut Inner, ei: usize, kind: OpKind, targets: Option<Vec<usize>>) -> Option<String> {
    if g.envs[ei].op.is_some() {
        return None;
    }
    g.seq += 1;
    let rid = format!("d0e1f2a3-0000-4000-8000-{:012}", g.seq);
    let outage = g.outage_applied && g.envs[ei].id == ids::PROD_ENV;
    let e = &mut g.envs[ei];
    let targets = targets.unwrap_or_else(|| (0..e.services.len()).collect());
    let fail_at = targets
        .iter()
        .position(|&i| g.fail_next.iter().any(|n| n == &e.services[i].name));
    if let Some(p) = fail_at {
        let name = e.services[targets[p]].name.clone();
        g.fail_next.retain(|n| *n != name);
    }
    let queued = if kind == OpKind::Stop {
        "STOP_QUEUED"
    } else {
        "DEPLOYMENT_QUEUED"
    };
    let now = Utc::now();
    let prev = targets
        .iter()
        .map(|&i| e.services[i].state.clone())
        .collect();
    e.order = match g.forced_order {
        Some(o) => o,
        None if g.hostile => FieldOrder::HOSTILE[g.rng.usize(0..FieldOrder::HOSTILE.len())],
        None => FieldOrder::Truthful,
    };
    let stall = if std::mem::take(&mut g.stall_next) {
        Some((1, usize::MAX))
    } else if g.hostile && g.rng.bool() {
        // A deployment that stalls for two phases on one of its services, then goes on.
        Some((1 + g.rng.usize(0..targets.len().max(1)), 2))
    } else {
        None
    };
    e.state = queued.into();
    e.last_deployment_state = queued.into();
    e.deployment_request_id = Some(rid.clone());
    e.last_deployment_id = Some(rid.clone());
    e.last_deployment_date = now;
    for &i in &targets {
        let s = &mut e.services[i];
        s.state = if kind == OpKind::Stop {
            "STOP_QUEUED".into()
        } else {
            "QUEUED".into()
        };
        s.deployment_request_id = Some(rid.clone());
        s.requests_count += 1;
    }
    e.history.push(Hist {
        id: rid.clone(),
        created_at: now,
        updated_at: now,
        status: queued.into(),
        services: targets.iter().map(|&i| (i, "QUEUED".to_string())).collect(),
    });
    e.op = Some(Op {
        kind,
        request_id: rid.clone(),
        started: Instant::now(),
        started_wall: now,
        targets,
        fail_at,
        doomed: outage,
        prev,
        stall,
    });
    record_truth(e, Instant::now());
    Some(rid)
}

/// Advance every running operation to where the clock says it is.
fn tick(g: &mut Inner) {
    let started = g.scenario_started;
    let now = Instant::now();
    if let Some(after) = g.outage_after
        && !g.outage_applied
        && now.duration_since(started) >= after
    {
        g.outage_applied = true;
        if let Some(c) = g.clusters.iter_mut().find(|c| c.id == ids::PROD_CLUSTER) {
            c.status = "DEPLOYMENT_ERROR".into();
        }
        if let Some(e) = g.envs.iter_mut().find(|e| e.id == ids::PROD_ENV) {
            e.state = "UNAVAILABLE".into();
            for s in &mut e.services {
                s.state = "UNAVAILABLE".into();
            }
        }
    }
    let phase = g.phase.max(Duration::from_millis(1));
    for e in &mut g.envs {
        let Some(op) = e.op.clone() else { continue };
        let el = now.duration_since(op.started);
        let raw = (el.as_nanos() / phase.as_nanos()) as usize;
        // A stalled deployment: the truth stays where it was for `extra` phases.
        let step = match op.stall {
            Some((at, extra)) if raw > at => raw.saturating_sub(extra).max(at),
            _ => raw,
        };
        let stop = op.kind == OpKind::Stop;
        let (running, done, failed) = if stop {
            ("STOPPING", "STOPPED", "STOP_ERROR")
        } else {
            ("DEPLOYING", "DEPLOYED", "DEPLOYMENT_ERROR")
        };
        let fail_at = if op.doomed { Some(0) } else { op.fail_at };
        let wall = |k: usize| {
            op.started_wall + chrono::Duration::from_std(phase * k as u32).unwrap_or_default()
        };
        // Phase 0: queued. Phase k (k ≥ 1): target k-1 runs; it is done at the start of k+1.
        let mut finished = None;
        for (pos, &i) in op.targets.iter().enumerate() {
            let s = &mut e.services[i];
            if step > pos + 1 {
                if fail_at == Some(pos) {
                    s.state = failed.into();
                    finished = Some(failed);
                    break;
                }
                if s.state != done {
                    s.state = done.into();
                    s.last_deployment_date = wall(pos + 2);
                }
            } else if step == pos + 1 {
                s.state = running.into();
            }
        }
        if step >= 1 && finished.is_none() {
            e.state = running.into();
            e.last_deployment_state = running.into();
        }
        if finished.is_none() && step > op.targets.len() {
            finished = Some(done);
        }
        if let Some(end) = finished {
            e.state = end.into();
            e.last_deployment_state = end.into();
            e.last_deployment_date = wall(step.min(op.targets.len() + 1));
            if end == failed {
                // Services that never started go back to what they were doing.
                for (pos, &i) in op.targets.iter().enumerate() {
                    let s = &mut e.services[i];
                    if s.state == "QUEUED" || s.state == "STOP_QUEUED" {
                        s.state = op.prev.get(pos).cloned().unwrap_or_default();
                    }
                }
            }
            if let Some(h) = e.history.iter_mut().find(|h| h.id == op.request_id) {
                h.status = end.into();
                h.updated_at = Utc::now();
                for (i, st) in &mut h.services {
                    *st = e.services[*i].state.clone();
                }
            }
            e.op = None;
        }
    }
    for e in &mut g.envs {
        record_truth(e, now);
    }
}

fn snap(e: &Env) -> Snap {
    Snap {
        state: e.state.clone(),
        last_deployment_state: e.last_deployment_state.clone(),
        deployment_request_id: e.deployment_request_id.clone(),
        services: e
            .services
            .iter()
            .map(|s| (s.state.clone(), s.deployment_request_id.clone()))
            .collect(),
    }
}

/// Remember the truth of the status fields when it changes (a week of history is not needed:
/// entries older than a minute are dropped, keeping the newest of them).
fn record_truth(e: &mut Env, now: Instant) {
    let s = snap(e);
    if e.truth_log.last().map(|(_, l)| l) != Some(&s) {
        e.truth_log.push((now, s));
    }
    let horizon = Duration::from_secs(60);
    while e.truth_log.len() > 1 && now.duration_since(e.truth_log[1].0) > horizon {
        e.truth_log.remove(0);
    }
}

/// What the API answers for an environment: the truth, except the fields the environment's
/// [`FieldOrder`] makes lag, which answer the truth as it was `lag` ago.
fn answered(e: &Env, lag: Duration) -> Env {
    let mut v = e.clone();
    if e.order == FieldOrder::Truthful {
        return v;
    }
    let now = Instant::now();
    let old = match now.checked_sub(lag) {
        Some(cutoff) => e
            .truth_log
            .iter()
            .rev()
            .find(|(t, _)| *t <= cutoff)
            .or(e.truth_log.first()),
        None => e.truth_log.first(),
    };
    let Some((_, old)) = old else { return v };
    let (rid, state, last, services) = match e.order {
        FieldOrder::Truthful => (false, false, false, false),
        FieldOrder::RequestIdFirst => (false, true, true, true),
        FieldOrder::StateFirst => (true, false, true, true),
        FieldOrder::LastStateFirst => (true, true, false, true),
        FieldOrder::ServicesLagging => (false, false, false, true),
    };
    if rid {
        v.deployment_request_id = old.deployment_request_id.clone();
    }
    if state {
        v.state = old.state.clone();
    }
    if last {
        v.last_deployment_state = old.last_deployment_state.clone();
    }
    if services {
        for (s, (st, r)) in v.services.iter_mut().zip(&old.services) {
            s.state = st.clone();
            s.deployment_request_id = r.clone();
        }
    }
    v
}

fn org_json() -> Value {
    json!({
        "id": ids::ORG, "created_at": "2024-03-01T09:00:00Z", "name": "Shop Inc.",
        "plan": "TEAM_2025", "description": "drcockpit demo organization",
    })
}

/// `Project` (listProject): the one project holding both environments.
fn project_json(envs: usize) -> Value {
    json!({
        "id": ids::PROJECT, "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-01T09:00:00Z",
        "name": "shop", "description": "the demo shop", "associated_environments_count": envs,
        "organization": { "id": ids::ORG },
    })
}

fn cluster_json(c: &Cluster) -> Value {
    json!({
        "id": c.id, "created_at": "2025-01-10T08:00:00Z", "updated_at": c.last_deployment_date,
        "organization": { "id": ids::ORG }, "name": c.name, "region": c.region,
        "cloud_provider": c.provider, "kubernetes": "MANAGED", "status": c.status,
        "deployment_status": "UP_TO_DATE", "has_access": true, "version": "1.31",
        "is_default": false, "is_demo": false, "production": c.production,
        "min_running_nodes": 3, "max_running_nodes": 10, "instance_type": "PRO2-M",
    })
}

fn cluster_status_json(c: &Cluster) -> Value {
    json!({
        "cluster_id": c.id, "status": c.status, "is_deployed": c.is_deployed,
        "last_deployment_date": c.last_deployment_date, "last_execution_id": format!("{}-1", c.id),
        "next_k8s_available_version": null, "cluster_lock": null, "reason": "UNSPECIFIED",
    })
}

fn env_json(e: &Env) -> Value {
    json!({
        "id": e.id, "created_at": e.created_at, "updated_at": e.created_at, "name": e.name,
        "organization": { "id": ids::ORG }, "project": { "id": ids::PROJECT },
        "cloud_provider": { "provider": e.provider, "cluster": e.region },
        "mode": "PRODUCTION", "cluster_id": e.cluster_id, "cluster_name": e.cluster_name,
        "expires_at": null,
    })
}

fn env_status_json(e: &Env) -> Value {
    json!({
        "id": e.id, "state": e.state, "last_deployment_state": e.last_deployment_state,
        "last_deployment_date": e.last_deployment_date, "last_deployment_id": e.last_deployment_id,
        "deployment_status": "UP_TO_DATE", "deployment_request_id": e.deployment_request_id,
        "origin": "API", "triggered_by": "drcockpit", "total_deployment_duration_in_seconds": null,
        "metrics": [],
    })
}

fn service_status_json(e: &Env, s: &Service) -> Value {
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

fn list_kind(e: &Env, k: Kind) -> Response {
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

fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
}

fn list_vars(e: &Env, secret: bool) -> Response {
    let l: Vec<Value> = e
        .vars
        .iter()
        .filter(|v| v.secret == secret)
        .map(var_json)
        .collect();
    json_resp(200, json!({ "results": l }))
}

fn var_json(v: &Var) -> Value {
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

fn service(
    id: &str,
    name: &str,
    kind: Kind,
    tag: &str,
    registry: (String, String, String, String),
    state: &str,
    now: DateTime<Utc>,
) -> Service {
    Service {
        id: id.into(),
        name: name.into(),
        kind,
        image_name: format!("shop/{name}"),
        tag: tag.into(),
        registry,
        settings: container_settings(id, name),
        state: state.into(),
        last_deployment_date: now - chrono::Duration::hours(30),
        deployment_request_id: None,
        requests_count: 1,
        created_at: now - chrono::Duration::days(90),
    }
}

fn var(
    id: u32,
    key: &str,
    value: &str,
    scope: &str,
    vt: &str,
    secret: bool,
    now: DateTime<Utc>,
) -> Var {
    Var {
        id: format!("a1b2c3d4-0000-4000-8000-{id:012}"),
        key: key.into(),
        value: value.into(),
        scope: scope.into(),
        variable_type: vt.into(),
        secret,
        created_at: now - chrono::Duration::days(30),
        updated_at: now - chrono::Duration::days(3),
    }
}

fn prod_env(now: DateTime<Utc>) -> Env {
    let reg = (
        ids::PROD_REGISTRY.to_string(),
        "scaleway-fr-par".to_string(),
        "https://rg.fr-par.scw.cloud".to_string(),
        "SCALEWAY_CR".to_string(),
    );
    let services = vec![
        service(
            ids::PROD_WEB,
            "web",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_API,
            "api",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_WORKER,
            "worker",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_CACHE,
            "cache",
            Kind::Database,
            "",
            reg,
            "DEPLOYED",
            now,
        ),
    ];
    Env {
        id: ids::PROD_ENV.into(),
        name: "shop".into(),
        cluster_id: ids::PROD_CLUSTER.into(),
        cluster_name: "prod-par".into(),
        provider: "scw".into(),
        region: "fr-par".into(),
        state: "DEPLOYED".into(),
        last_deployment_state: "DEPLOYED".into(),
        last_deployment_date: now - chrono::Duration::hours(30),
        last_deployment_id: Some("d0e1f2a3-0000-4000-8000-100000000001".into()),
        deployment_request_id: Some("d0e1f2a3-0000-4000-8000-100000000001".into()),
        history: vec![Hist {
            id: "d0e1f2a3-0000-4000-8000-100000000001".into(),
            created_at: now - chrono::Duration::hours(30),
            updated_at: now - chrono::Duration::hours(30) + chrono::Duration::minutes(4),
            status: "DEPLOYED".into(),
            services: (0..services.len())
                .map(|i| (i, "DEPLOYED".into()))
                .collect(),
        }],
        services,
        vars: vec![
            var(
                1,
                "DATABASE_URL",
                "postgres://shop@db.fr-par.internal:5432/shop",
                "ENVIRONMENT",
                "VALUE",
                false,
                now,
            ),
            var(2, "LOG_LEVEL", "info", "ENVIRONMENT", "VALUE", false, now),
            var(3, "REGION", "fr-par", "PROJECT", "VALUE", false, now),
            var(
                4,
                "QOVERY_ENVIRONMENT_ID",
                ids::PROD_ENV,
                "BUILT_IN",
                "BUILT_IN",
                false,
                now,
            ),
            var(
                5,
                "STRIPE_SECRET_KEY",
                "sk_live_demo_prod_0000",
                "ENVIRONMENT",
                "VALUE",
                true,
                now,
            ),
        ],
        op: None,
        order: FieldOrder::Truthful,
        truth_log: Vec::new(),
        created_at: now - chrono::Duration::days(90),
    }
}

fn dr_env(now: DateTime<Utc>) -> Env {
    let reg = (
        ids::DR_REGISTRY.to_string(),
        "ecr-eu-west-1".to_string(),
        "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com".to_string(),
        "ECR".to_string(),
    );
    let services = vec![
        service(
            ids::DR_WEB,
            "web",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_API,
            "api",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_WORKER,
            "worker",
            Kind::Container,
            "1.4.1",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_CACHE,
            "cache",
            Kind::Database,
            "",
            reg,
            "STOPPED",
            now,
        ),
    ];
    Env {
        id: ids::DR_ENV.into(),
        name: "shop-dr".into(),
        cluster_id: ids::DR_CLUSTER.into(),
        cluster_name: "dr-eu1".into(),
        provider: "aws".into(),
        region: "eu-west-1".into(),
        state: "STOPPED".into(),
        last_deployment_state: "STOPPED".into(),
        last_deployment_date: now - chrono::Duration::days(6),
        last_deployment_id: Some("d0e1f2a3-0000-4000-8000-200000000001".into()),
        deployment_request_id: Some("d0e1f2a3-0000-4000-8000-200000000001".into()),
        history: vec![Hist {
            id: "d0e1f2a3-0000-4000-8000-200000000001".into(),
            created_at: now - chrono::Duration::days(6),
            updated_at: now - chrono::Duration::days(6) + chrono::Duration::minutes(2),
            status: "STOPPED".into(),
            services: (0..services.len()).map(|i| (i, "STOPPED".into())).collect(),
        }],
        services,
        vars: vec![
            var(
                11,
                "DATABASE_URL",
                "postgres://shop@db.fr-par.internal:5432/shop",
                "ENVIRONMENT",
                "VALUE",
                false,
                now,
            ),
            var(12, "LOG_LEVEL", "info", "ENVIRONMENT", "VALUE", false, now),
            var(13, "REGION", "eu-west-1", "PROJECT", "VALUE", false, now),
            var(
                14,
                "QOVERY_ENVIRONMENT_ID",
                ids::DR_ENV,
                "BUILT_IN",
                "BUILT_IN",
                false,
                now,
            ),
            var(
                15,
                "STRIPE_SECRET_KEY",
                "sk_live_demo_dr_0000",
                "ENVIRONMENT",
                "VALUE",
                true,
                now,
            ),
        ],
        op: None,
        order: FieldOrder::Truthful,
        truth_log: Vec::new(),
        created_at: now - chrono::Duration::days(90),
    }
}

/// The organization's container registries (`ContainerRegistryResponse`).
fn registries() -> [(String, String, String, String); 2] {
    [
        (
            ids::PROD_REGISTRY.to_string(),
            "scaleway-fr-par".to_string(),
            "https://rg.fr-par.scw.cloud".to_string(),
            "SCALEWAY_CR".to_string(),
        ),
        (
            ids::DR_REGISTRY.to_string(),
            "ecr-eu-west-1".to_string(),
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com".to_string(),
            "ECR".to_string(),
        ),
    ]
}

fn registries_json() -> Vec<Value> {
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

/// A sim id derived from a service id (ports and storage of the demo containers).
fn sub_id(service_id: &str, kind: u32, n: u32) -> String {
    let tail = service_id.rsplit('-').next().unwrap_or("0");
    format!(
        "6f1e2d3c-{kind:04}-4000-8000-{:0>9}{n:03}",
        &tail[tail.len().saturating_sub(9)..]
    )
}

/// The editable fields of a demo container: web and api serve HTTP, worker has a volume.
fn container_settings(id: &str, name: &str) -> Value {
    let port = |internal: u16| {
        json!([{
            "id": sub_id(id, 1, 1), "name": "http", "internal_port": internal, "external_port": 443,
            "publicly_accessible": true, "is_default": true, "protocol": "HTTP",
        }])
    };
    let (ports, storage) = match name {
        "web" => (port(8080), json!([])),
        "api" => (port(8081), json!([])),
        "worker" => (
            json!([]),
            json!([{ "id": sub_id(id, 2, 1), "type": "FAST_SSD", "size": 10, "mount_point": "/data" }]),
        ),
        _ => (json!([]), json!([])),
    };
    json!({
        "description": format!("{name} service"),
        "arguments": [], "entrypoint": null,
        "cpu": 500, "memory": 512, "gpu": 0,
        "min_running_instances": 1, "max_running_instances": 3,
        "auto_preview": false, "auto_deploy": false,
        "healthchecks": { "liveness_probe": { "type": { "tcp": { "port": 8080 } }, "initial_delay_seconds": 30, "period_seconds": 10, "timeout_seconds": 5, "success_threshold": 1, "failure_threshold": 3 } },
        "ports": ports, "storage": storage,
        "annotations_groups": [], "labels_groups": [],
    })
}

/// The `ContainerResponse` fields of a container besides the common ones.
fn container_fields(s: &Service) -> Value {
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

fn container_json(e: &Env, s: &Service) -> Value {
    let mut v = json!({
        "id": s.id, "created_at": s.created_at, "updated_at": s.created_at, "name": s.name,
        "environment": { "id": e.id }, "icon_uri": "app://qovery-console/container",
        "service_type": "CONTAINER",
    });
    merge(&mut v, container_fields(s));
    v
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
