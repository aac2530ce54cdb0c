//! Simulated database world seen through Prometheus: `GET /api/v1/query` answers the instant
//! queries a plan uses for replication lag, replay age and backup age, in Prometheus' real JSON shape
//! (`{"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[ts,"v"]}]}}`).
//!
//! What a query means is read from its text, as a postgres_exporter dashboard would (first match):
//! - contains `replay` or `replicalag` → seconds of replay lag (the byte lag at
//!   [`SIM_WRITE_BYTES_PER_SEC`]);
//! - contains `backup` → with `time()` the age in seconds of the last backup, otherwise (e.g.
//!   `pg_backup_last_success_timestamp_seconds`) its Unix timestamp;
//! - contains `lag`, `lsn` or `replication` → bytes the site's database is behind its primary
//!   (`dr`: a slowly wobbling value; `prod`: 0, it is the primary);
//! - contains `up` (e.g. `pg_up`) → 1, or 0 for a database that is down;
//! - anything else → an empty vector (an unknown metric), like Prometheus.
//!
//! The site is taken from a `site="prod"` / `site="dr"` matcher (default `dr`).
//! During a region outage the prod database is unreachable (its series vanish, `pg_up` is 0)
//! and the DR lag stays frozen at its last value. After a promotion the DR lag is 0.
//! In the `hostile` scenario: a primary dying mid-write looks like that outage; a split brain
//! makes DR's replication series vanish; a skewed clock stamps DR's backup hours in the
//! future; late answers come after the probe's timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::hostile::Lie;

/// How old the last backup is when the simulator starts.
pub const INITIAL_BACKUP_AGE: Duration = Duration::from_secs(2 * 3600 + 17 * 60);

type OutageSource = Box<dyn Fn() -> bool + Send + Sync>;
type LieSource = Box<dyn Fn() -> Option<super::hostile::Lie> + Send + Sync>;

/// The simulated databases of both sites (shared by the Prometheus and Scaleway families).
pub struct DbWorld {
    started: Instant,
    seed: u64,
    outage: AtomicBool,
    outage_source: Option<OutageSource>,
    /// The `hostile` scenario's lie playing now.
    lie_source: Option<LieSource>,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The DR lag last served while replication was flowing.
    last_lag: u64,
    promoted: bool,
    backup_at: SystemTime,
}

impl DbWorld {
    pub fn new(seed: u64) -> DbWorld {
        DbWorld {
            started: Instant::now(),
            seed,
            outage: AtomicBool::new(false),
            outage_source: None,
            lie_source: None,
            inner: Mutex::new(Inner {
                last_lag: 0,
                promoted: false,
                backup_at: SystemTime::now() - INITIAL_BACKUP_AGE,
            }),
        }
    }

    /// Ask `f` whether the region is out (e.g. `move || !sim.site_up(Site::Prod)`), in addition
    /// to [`DbWorld::set_region_outage`].
    pub fn with_outage_source(mut self, f: impl Fn() -> bool + Send + Sync + 'static) -> DbWorld {
        self.outage_source = Some(Box::new(f));
        self
    }

    /// Ask `f` which lie the `hostile` scenario plays (see `sim::hostile`).
    pub fn with_lie_source(
        mut self,
        f: impl Fn() -> Option<super::hostile::Lie> + Send + Sync + 'static,
    ) -> DbWorld {
        self.lie_source = Some(Box::new(f));
        self
    }

    fn lie(&self) -> Option<super::hostile::Lie> {
        self.lie_source.as_ref().and_then(|f| f())
    }

    /// The region-outage hook: the prod primary becomes unreachable and the DR lag freezes.
    pub fn set_region_outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    pub fn region_outage(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
            || self.outage_source.as_ref().is_some_and(|f| f())
            || self.lie() == Some(super::hostile::Lie::PrimaryDiesMidWrite)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The DR database became a primary (Scaleway promotion).
    pub fn set_promoted(&self) {
        self.lock().promoted = true;
    }

    pub fn promoted(&self) -> bool {
        self.lock().promoted
    }

    /// Is this site's database reachable?
    pub fn up(&self, site: &str) -> bool {
        !(site == "prod" && self.region_outage())
    }

    /// Bytes the DR database is behind the prod primary.
    pub fn dr_lag_bytes(&self) -> u64 {
        let outage = self.region_outage();
        let mut g = self.lock();
        if g.promoted {
            return 0;
        }
        if outage {
            return g.last_lag;
        }
        let t = self.started.elapsed().as_secs_f64();
        let phase = (self.seed % 97) as f64;
        let wobble = ((t + phase) / 7.0).sin().abs();
        let lag = 48 * 1024 + (wobble * 160.0 * 1024.0) as u64 + (self.seed % 4096);
        g.last_lag = lag;
        lag
    }

    /// Bytes `site` is behind its primary (0 for the primary itself).
    pub fn lag_bytes(&self, site: &str) -> Option<u64> {
        if !self.up(site) {
            return None;
        }
        Some(if site == "dr" { self.dr_lag_bytes() } else { 0 })
    }

    pub fn last_backup(&self) -> SystemTime {
        self.lock().backup_at
    }

    pub fn backup_age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.last_backup())
            .unwrap_or_default()
    }
}

/// The Prometheus query family: `GET /api/v1/query`.
pub fn routes(state: Arc<DbWorld>) -> Router {
    Router::new()
        .route("/api/v1/query", get(query).post(query))
        .with_state(state)
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn site_of(q: &str) -> &'static str {
    let compact: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("site=\"prod\"") || compact.contains("site='prod'") {
        "prod"
    } else {
        "dr"
    }
}

fn bad_data(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "error", "errorType": "bad_data", "error": msg})),
    )
        .into_response()
}

async fn query(
    State(db): State<Arc<DbWorld>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(q) = params
        .get("query")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    else {
        return bad_data(
            "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        );
    };
    let now = unix(SystemTime::now());
    let site = site_of(q);
    let lower = q.to_ascii_lowercase();
    // The hostile scenario's lies about DR (ground truth: `sim::hostile::Lie::truth`).
    let lie = db.lie();
    if site == "dr" && lie == Some(Lie::LateAnswers) {
        tokio::time::sleep(super::hostile::LATE_BY).await;
    }
    // A promoted DR (split brain) exports no replication series.
    let split = site == "dr" && lie == Some(Lie::SplitBrain);
    // DR's clock is ahead: its backup is stamped in the future.
    let skew = if site == "dr" && lie == Some(Lie::SkewedClock) {
        super::hostile::CLOCK_SKEW.as_secs_f64()
    } else {
        0.0
    };
    let sample = |name: Option<&str>, v: f64| {
        let mut metric = serde_json::Map::new();
        if let Some(n) = name {
            metric.insert("__name__".into(), json!(n));
        }
        metric.insert("site".into(), json!(site));
        metric.insert("instance".into(), json!(format!("{site}-db:9187")));
        metric.insert("job".into(), json!("postgres"));
        json!({"metric": metric, "value": [now, format_value(v)]})
    };
    // Arithmetic (`time() - …`) drops the metric name, as in Prometheus.
    let arithmetic = lower.contains("time()") || lower.contains(" - ");
    let result: Vec<serde_json::Value> = if lower.contains("replay") || lower.contains("replicalag")
    {
        // Seconds of replay lag: the DR copy is behind by its byte lag at the primary's
        // simulated write rate (frozen with the byte lag during an outage).
        match db.lag_bytes(site).filter(|_| !split) {
            None => vec![],
            Some(b) => vec![sample(
                (!arithmetic).then_some("pg_replication_replay_lag_seconds"),
                b as f64 / SIM_WRITE_BYTES_PER_SEC,
            )],
        }
    } else if lower.contains("backup") {
        if !db.up(site) {
            vec![]
        } else if lower.contains("time()") {
            vec![sample(None, db.backup_age().as_secs_f64() - skew)]
        } else {
            vec![sample(
                Some("pg_backup_last_success_timestamp_seconds"),
                unix(db.last_backup()) + skew,
            )]
        }
    } else if lower.contains("lag") || lower.contains("lsn") || lower.contains("replication") {
        match db.lag_bytes(site).filter(|_| !split) {
            None => vec![],
            Some(b) => vec![sample(
                (!arithmetic).then_some("pg_replication_lag_bytes"),
                b as f64,
            )],
        }
    } else if lower.contains("up") {
        vec![sample(Some("pg_up"), if db.up(site) { 1.0 } else { 0.0 })]
    } else {
        vec![]
    };
    Json(json!({
        "status": "success",
        "data": {"resultType": "vector", "result": result}
    }))
    .into_response()
}

/// The simulated primary's write rate, which turns byte lag into seconds of replay lag.
pub const SIM_WRITE_BYTES_PER_SEC: f64 = 48.0 * 1024.0;

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The database world of a running simulator: the region outage follows the scenario (the prod
/// site down ⇒ prod database unreachable, DR lag frozen).
pub fn world(state: &super::SimState) -> Arc<DbWorld> {
    let s = state.clone();
    let lies = state.clone();
    Arc::new(
        DbWorld::new(state.seed())
            .with_outage_source(move || !s.site_up(super::Site::Prod))
            .with_lie_source(move || lies.hostile_lie()),
    )
}

/// This family for [`super::families`].
pub fn family(db: Arc<DbWorld>) -> super::Family {
    super::Family::new("prometheus", routes(db)).endpoint(
        "GET /api/v1/query?query=… (lag, replay age, backup age, pg_up; site=\"prod\"|\"dr\")",
    )
}
