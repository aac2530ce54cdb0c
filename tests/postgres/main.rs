//! The Database section and the promotion steps against real PostgreSQL 15: a primary, a
//! streaming standby (`pg_basebackup -R`) and a logical subscriber, each started on loopback in
//! a temporary directory on a free port. When the server binaries are missing these tests FAIL
//! and say how to install them (`scripts/install-test-deps.sh`).
//!
//! Also: the Prometheus probe and the Scaleway promote step against the simulator's routes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use drcockpit::app::observe::{SectionView, Verdict};
use drcockpit::app::{Level, Mode, Observation, Operator, Section, State};
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::postgres::{self, ConnectOptions, PgError};
use drcockpit::plan::condition::{CondResult, Condition, Lookup};
use drcockpit::plan::{
    DatabaseConfig, Plan, ProbeSettings, PrometheusSource, Site, SiteId, Step, StepAction,
    Strategy, Value,
};
use drcockpit::probes::{self, ProbeKey};

#[path = "../common/mod.rs"]
mod common;
use common::serve;
use drcockpit::steps::{self, StepContext};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

// The real-server harness is shared with the failback and restore tests (tests/common/pg.rs).
use common::pg::{Pg, admin, is_root, require_binaries, run, sql, standby, start_cluster, tempdir};

/// A fresh primary (no data checksums: these tests do not rewind).
fn primary() -> Pg {
    common::pg::primary(false)
}

/// `initdb` without data checksums.
fn initdb(data: &Path, what: &str) {
    common::pg::initdb(data, false, what)
}

fn plan(prod: Option<DatabaseConfig>, dr: Option<DatabaseConfig>) -> Plan {
    let site = |label: &str, db| Site {
        label: label.into(),
        database: db,
        ..Default::default()
    };
    Plan {
        name: "pg test".into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<test>".into(),
        hash: "0".into(),
        parity: None,
        sites: [site("prod", prod), site("dr", dr)],
        qovery: None,
        images: None,
        dns: None,
        probes: ProbeSettings::default(),
        steps: vec![],
    }
}

fn db(url: &str) -> DatabaseConfig {
    DatabaseConfig {
        postgres: Some(url.into()),
        max_lag_bytes: Some(16 << 20),
        ..Default::default()
    }
}

/// The probe memory of this test binary, shared by its probe rounds and steps the way one
/// cockpit run shares its memory between its probes and its steps.
fn mem() -> Arc<probes::ProbeMemory> {
    static MEM: std::sync::LazyLock<Arc<probes::ProbeMemory>> =
        std::sync::LazyLock::new(Arc::default);
    MEM.clone()
}

async fn observe(plan: &Arc<Plan>, site: SiteId) -> Observation {
    probes::run(
        plan,
        &HttpClient::new(true),
        &mem(),
        ProbeKey {
            site,
            section: Section::Database,
        },
    )
    .await
}

fn reading_field(o: &Observation, f: &str) -> Value {
    match &o.outcome {
        Ok(r) => r
            .fields
            .get(f)
            .cloned()
            .unwrap_or_else(|| panic!("no field {f} in {r:?}")),
        Err(e) => panic!("probe failed: {e:?}"),
    }
}

fn lag_of(o: &Observation) -> u64 {
    match reading_field(o, "lag") {
        Value::Bytes(b) => b,
        other => panic!("lag is {other:?}"),
    }
}

struct Ctx {
    ctx: StepContext,
    rx: common::steps::Heard,
}

fn ctx(plan: &Arc<Plan>, read_only: bool) -> Ctx {
    let (mut ctx, rx) = common::steps::context(plan.clone(), HttpClient::new(read_only));
    ctx.allow_spawn = !read_only;
    ctx.probes = mem();
    Ctx { ctx, rx }
}

/// (stream, text) of every output line sent so far.
fn lines(rx: &mut common::steps::Heard) -> Vec<(String, String)> {
    rx.lines()
        .into_iter()
        .map(|line| (line.stream, line.text))
        .collect()
}

fn promote_step() -> StepAction {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(
        "id = \"promote\"\ntitle = \"Promote\"\nkind = \"postgres.promote\"\nsite = \"dr\"\nwait_seconds = 30\n",
    )
    .expect("raw step");
    steps::postgres::build("postgres.promote", &raw).expect("build promote")
}

fn fence_step(terminate: bool) -> StepAction {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(&format!(
        "id = \"fence\"\ntitle = \"Fence\"\nkind = \"postgres.fence\"\nsite = \"prod\"\nterminate_sessions = {terminate}\n"
    ))
    .expect("raw step");
    steps::postgres::build("postgres.fence", &raw).expect("build fence")
}

async fn in_recovery(url: &str) -> bool {
    admin(url).await.position().await.expect("position").0
}

async fn wait_lag_zero(plan: &Arc<Plan>, within: Duration) -> Observation {
    let t = Instant::now();
    loop {
        let o = observe(plan, SiteId::Dr).await;
        if o.outcome.is_ok() && lag_of(&o) == 0 {
            return o;
        }
        assert!(
            t.elapsed() < within,
            "lag did not drain to 0 within {within:?}: {o:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// A plan step wrapping an action.
fn plan_step(action: StepAction) -> Step {
    Step {
        id: "x".into(),
        title: "x".into(),
        description: None,
        action,
        requires: vec![],
        confirm: None,
        timeout: None,
        site: None,
    }
}

mod replication;
mod simulated;
mod split_brain;
mod tls;
