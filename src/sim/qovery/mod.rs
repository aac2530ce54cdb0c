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
//!
//! Where things live: `world` (the state and the clock that moves deployments along), `seed`
//! (the demo organization), `faults` (fault injection and `hostile`'s answering orders),
//! `routes` (the HTTP handlers) and `shapes` (the JSON bodies they answer).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

mod faults;
mod routes;
mod seed;
mod shapes;
mod world;

pub use faults::FieldOrder;
pub use routes::routes;
use seed::{dr_env, prod_env};
use world::{Cluster, Inner, record_truth, tick};

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
        let world = QoveryWorld {
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
                time_scale: 1,
                fail_next: Vec::new(),
                seq: 0,
                hostile: scenario_name == "hostile",
                forced_order: None,
                lag: DEMO_PHASE * 2,
                late_reads: scenario_name == "hostile",
                stall_next: false,
            }),
        };
        if scenario_name == "drift" {
            seed::drift(&mut world.lock().envs, now);
        }
        world
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
        if scenario_name == "drift" {
            seed::drift(&mut g.envs, Utc::now());
        }
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

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The mutating requests received so far (anything but GET and HEAD): what a step must send
    /// exactly once, and monitor or review mode never.
    pub fn mutations(&self) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_mutating())
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
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
