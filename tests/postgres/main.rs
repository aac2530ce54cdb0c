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
use common::{free_port, serve};
use drcockpit::steps::{self, StepContext};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn bin_dir() -> PathBuf {
    std::env::var_os("DRCOCKPIT_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn require_binaries() {
    for b in ["initdb", "pg_ctl", "pg_basebackup", "postgres"] {
        let p = bin_dir().join(b);
        assert!(
            p.exists(),
            "PostgreSQL 15 server binary {} is missing: run `scripts/install-test-deps.sh` (as root) \
             to install postgresql-15, or point DRCOCKPIT_PG_BIN at its bin directory",
            p.display()
        );
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A PostgreSQL command, as user `postgres` when the tests run as root.
fn pg_cmd(name: &str) -> Command {
    let bin = bin_dir().join(name);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Pg {
    data: PathBuf,
    port: u16,
    _tmp: Option<tempfile::TempDir>,
}

impl Pg {
    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
    fn log(&self) -> PathBuf {
        self.data.with_extension("log")
    }
    fn start(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D").arg(&self.data).arg("-l").arg(self.log());
        c.args(["-w", "-t", "60", "start"]);
        run(c, "pg_ctl start");
    }
    fn stop_immediate(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.output();
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}

fn tempdir() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("drcockpit-pg-")
        .tempdir()
        .expect("temp dir");
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.arg("postgres:postgres").arg(t.path());
                c
            },
            "chown the temp dir to postgres",
        );
    }
    t
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("append config");
}

fn common_conf(port: u16, dir: &Path) -> String {
    format!(
        "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\nfsync = off\n\
         shared_buffers = 16MB\nmax_connections = 40\nwal_receiver_status_interval = 1s\n",
        dir.display()
    )
}

/// `initdb` a trust-auth cluster (superuser `postgres`) at `data`.
fn initdb(data: &Path, what: &str) {
    let mut c = pg_cmd("initdb");
    c.arg("-D")
        .arg(data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
    run(c, what);
}

/// Configure the cluster at `data` (in `tmp`) on a free port, plus `extra` settings, and start
/// it; the returned server owns `tmp`.
fn start_cluster(tmp: tempfile::TempDir, data: PathBuf, extra: &str) -> Pg {
    let port = free_port();
    append(
        &data.join("postgresql.conf"),
        &format!("{}{extra}", common_conf(port, tmp.path())),
    );
    let pg = Pg {
        data,
        port,
        _tmp: Some(tmp),
    };
    pg.start();
    pg
}

/// A fresh primary (initdb, wal_level=logical, replication allowed from loopback).
fn primary() -> Pg {
    require_binaries();
    let tmp = tempdir();
    let data = tmp.path().join("primary");
    initdb(&data, "initdb");
    append(
        &data.join("pg_hba.conf"),
        "\nhost replication all 127.0.0.1/32 trust\n",
    );
    start_cluster(tmp, data, "")
}

/// A streaming standby of `p` (`pg_basebackup -R -C -S <slot>`).
fn standby(p: &Pg, slot: &str) -> Pg {
    let tmp = tempdir();
    let data = tmp.path().join("standby");
    let mut c = pg_cmd("pg_basebackup");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &p.port.to_string(),
        "-U",
        "postgres",
        "-D",
    ])
    .arg(&data)
    .args(["-R", "-X", "stream", "-C", "-S", slot]);
    run(c, "pg_basebackup");
    start_cluster(tmp, data, "")
}

async fn admin(url: &str) -> postgres::PgSession {
    postgres::connect(url, &ConnectOptions::mutating(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|e| panic!("admin session: {e}"))
}

async fn sql(url: &str, q: &str) {
    admin(url)
        .await
        .simple(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
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
