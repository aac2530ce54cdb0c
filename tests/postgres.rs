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
use tokio::sync::mpsc;

use drcockpit::app::observe::{SectionView, Verdict};
use drcockpit::app::{Level, Mode, Msg, Observation, Operator, Section, State};
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::postgres::{self, ConnectOptions, PgError};
use drcockpit::plan::condition::{CondResult, Condition, Lookup};
use drcockpit::plan::{
    DatabaseConfig, Plan, ProbeSettings, PrometheusSource, Site, SiteId, Step, StepAction,
    Strategy, Value,
};
use drcockpit::probes::{self, ProbeKey};

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
    rx: mpsc::UnboundedReceiver<Msg>,
}

fn ctx(plan: &Arc<Plan>, read_only: bool) -> Ctx {
    let (tx, rx) = mpsc::unbounded_channel();
    Ctx {
        ctx: StepContext {
            plan: plan.clone(),
            http: HttpClient::new(read_only),
            allow_spawn: !read_only,
            step: 0,
            attempt: 1,
            out: tx,
            probes: mem(),
        },
        rx,
    }
}

/// (stream, text) of every output line sent so far.
fn lines(rx: &mut mpsc::UnboundedReceiver<Msg>) -> Vec<(String, String)> {
    let mut v = Vec::new();
    while let Ok(m) = rx.try_recv() {
        if let Msg::StepOutput { line, .. } = m {
            v.push((line.stream, line.text));
        }
    }
    v
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

// ---------------------------------------------------------------------------------------------
// Tests against real PostgreSQL
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_rises_during_a_write_burst_and_drains_to_zero() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE burst(id bigserial, pad text)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;

    // A write burst on the primary while the DR side is probed.
    let url = p.url();
    let writer = tokio::spawn(async move {
        let s = admin(&url).await;
        for _ in 0..40 {
            s.simple(
                "INSERT INTO burst(pad) SELECT repeat('x', 200) FROM generate_series(1, 20000)",
            )
            .await
            .expect("insert");
        }
    });
    let mut max_lag = 0u64;
    while !writer.is_finished() {
        let o = observe(&plan, SiteId::Dr).await;
        max_lag = max_lag.max(lag_of(&o));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    writer.await.expect("writer");
    assert!(max_lag > 0, "no lag seen during a write burst");

    // The primary sees its standby too.
    let po = observe(&plan, SiteId::Prod).await;
    assert_eq!(reading_field(&po, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&po, "replicas"), Value::Num(1.0));

    let o = wait_lag_zero(&plan, Duration::from_secs(60)).await;
    assert_eq!(reading_field(&o, "role"), Value::Text("standby".into()));
    assert_eq!(
        reading_field(&o, "receiver"),
        Value::Text("streaming".into())
    );

    // Conditions and the RPO estimate resolve from the reading.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&o);
    // The RPO figure is believed only while the prod primary answers too.
    state.sections[SiteId::Prod.index()][Section::Database.index()].observe(&po);
    state.now = Utc::now();
    assert!(matches!(
        state.lookup("dr.database.lag"),
        Lookup::Value {
            value: Value::Bytes(0),
            ..
        }
    ));
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(state.evaluate(&c).passed(), "{:?}", state.evaluate(&c));
    assert_eq!(state.rpo_estimate().as_deref(), Some("0 B · 0s"));
    eprintln!("max lag seen during the burst: {max_lag} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_primary_raises_no_false_lag_alarm() {
    let p = primary();
    let s = standby(&p, "standby1");
    let mut dr = db(&s.url());
    dr.max_replay_age = Some(Duration::from_secs(2));
    let plan = Arc::new(plan(Some(db(&p.url())), Some(dr)));
    sql(&p.url(), "CREATE TABLE t(i int); INSERT INTO t VALUES (1)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // Idle for longer than max_replay_age: the last replayed commit gets old.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let o = wait_lag_zero(&plan, Duration::from_secs(10)).await;
    let st = mem()
        .pg
        .session(&s.url())
        .await
        .expect("session")
        .status(None)
        .await
        .expect("status");
    assert!(
        st.since_last_replay.expect("a replayed commit") > Duration::from_secs(2),
        "the raw timestamp age should exceed max_replay_age: {st:?}"
    );
    let r = o.outcome.as_ref().expect("reading");
    assert_eq!(r.level, Level::Good, "false alarm: {r:?}");
    assert_eq!(r.fields["replay_age"], Value::Duration(Duration::ZERO));
    assert_eq!(r.fields["primary_reachable"], Value::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_succeeds_records_rpo_evidence_and_pressing_again_succeeds() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(
        &p.url(),
        "CREATE TABLE orders(id int); INSERT INTO orders VALUES (1), (2)",
    )
    .await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    let action = promote_step();
    assert!(steps::is_mutating(&action));
    assert!(
        steps::describe(&action)
            .iter()
            .any(|l| l.contains("pg_promote(true, 30)"))
    );

    let mut c = ctx(&plan, false);
    let out = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = out.unwrap_or_else(|e| panic!("promote failed: {e}\n{got:#?}"));
    assert!(done.contains("promoted"), "{done}");
    assert!(!in_recovery(&s.url()).await);
    let ev: Vec<&(String, String)> = got.iter().filter(|(s, _)| s == "evidence:rpo").collect();
    assert_eq!(ev.len(), 1, "{got:#?}");
    let j: serde_json::Value = serde_json::from_str(&ev[0].1).expect("evidence is JSON");
    assert_eq!(j["lag_bytes"], 0);
    assert_eq!(j["replay_age_secs"], 0.0, "caught up: no data-loss window");
    assert_eq!(j["what"], "rpo at promotion");
    assert!(j["replay_lsn"].as_str().is_some_and(|l| l.contains('/')));
    assert!(j["last_replayed_commit"].as_str().is_some(), "{j}");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("pg_current_wal_lsn")
    );
    // The promoted server takes writes.
    sql(&s.url(), "INSERT INTO orders VALUES (3)").await;

    // Pressing it again succeeds, with a note, and changes nothing.
    let mut c2 = ctx(&plan, false);
    let again = steps::run(&action, c2.ctx.clone())
        .await
        .expect("second press");
    assert!(again.contains("already primary"), "{again}");
    assert!(
        lines(&mut c2.rx).iter().all(|(s, _)| s != "evidence:rpo"),
        "no new evidence when nothing was promoted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_after_the_primary_is_killed() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(
        &p.url(),
        "CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000)",
    )
    .await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    p.stop_immediate();
    // The DR panel keeps the last known lag and says the primary is gone.
    let o = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&o, "primary_reachable"), Value::Bool(false));
    let prod = observe(&plan, SiteId::Prod).await;
    assert!(
        prod.outcome.is_err(),
        "a dead primary must be an error: {prod:?}"
    );

    let mut c = ctx(&plan, false);
    let t = Instant::now();
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    res.unwrap_or_else(|e| panic!("promote after kill: {e}\n{got:#?}"));
    eprintln!("promotion after killing the primary took {:?}", t.elapsed());
    let ev = got
        .iter()
        .find(|(s, _)| s == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{j}"
    );
    assert!(!in_recovery(&s.url()).await);
    sql(&s.url(), "INSERT INTO t VALUES (0)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_after_a_crash_records_the_unreplayed_lag_as_evidence() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // The standby stops replaying; the primary keeps committing.
    sql(&s.url(), "SELECT pg_wal_replay_pause()").await;
    sql(&p.url(), "INSERT INTO t SELECT generate_series(1, 50000)").await;
    let seen = observe(&plan, SiteId::Dr).await;
    let behind = lag_of(&seen);
    assert!(behind > 0, "{seen:?}");
    let c = Condition::parse("dr.database.lag < 1KiB").expect("condition");
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&seen);
    state.now = Utc::now();
    assert!(
        matches!(state.evaluate(&c), CondResult::Fail(_)),
        "a lag precondition blocks"
    );
    p.stop_immediate();

    let mut c = ctx(&plan, false);
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    res.unwrap_or_else(|e| panic!("promote: {e}\n{got:#?}"));
    let ev = got
        .iter()
        .find(|(s, _)| s == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert!(j["lag_bytes"].as_u64().is_some_and(|b| b >= behind), "{j}");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{j}"
    );
    assert!(j["replay_age_secs"].as_f64().is_some(), "{j}");
    assert!(!in_recovery(&s.url()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_standby_is_an_error_then_stale_never_healthy() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let good = wait_lag_zero(&plan, Duration::from_secs(30)).await;
    s.stop_immediate();
    let bad = observe(&plan, SiteId::Dr).await;
    let err = bad
        .outcome
        .as_ref()
        .expect_err("an unreachable standby must not read");
    assert_eq!(err.short, "unreachable", "{err:?}");
    assert!(
        err.full.contains(&format!("127.0.0.1:{}", s.port)),
        "{err:?}"
    );

    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    let sec = &mut state.sections[SiteId::Dr.index()][Section::Database.index()];
    sec.observe(&good);
    sec.observe(&bad);
    state.now = Utc::now();
    assert!(matches!(
        state.view(SiteId::Dr, Section::Database),
        SectionView::Error { .. }
    ));
    assert_ne!(state.verdict(SiteId::Dr), Verdict::Ready);
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(matches!(state.evaluate(&c), CondResult::Unknown(_)));
    assert!(state.rpo_estimate().is_none());

    // A good reading that is not refreshed goes stale and stops counting as healthy.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&good);
    state.now = Utc::now() + chrono::Duration::seconds(60);
    assert!(matches!(
        state.view(SiteId::Dr, Section::Database),
        SectionView::Stale { .. }
    ));
    assert!(matches!(state.evaluate(&c), CondResult::Unknown(_)));
    assert_ne!(state.verdict(SiteId::Dr), Verdict::Ready);

    // The standby comes back: the next rounds reconnect by themselves.
    s.start();
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_makes_the_old_primary_refuse_writes() {
    let p = primary();
    let plan = Arc::new(plan(Some(db(&p.url())), None));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    // A client session that fencing should terminate.
    let client = admin(&p.url()).await;
    client.simple("SELECT 1").await.expect("client works");

    let action = fence_step(true);
    let mut c = ctx(&plan, false);
    let res = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = res.unwrap_or_else(|e| panic!("fence: {e}\n{got:#?}"));
    assert!(done.contains("fenced"), "{done}");
    assert!(
        client.simple("SELECT 1").await.is_err(),
        "the client session was terminated"
    );

    // A new session's write is refused with SQLSTATE 25006.
    let s = admin(&p.url()).await;
    let e = s
        .simple("INSERT INTO t VALUES (1)")
        .await
        .expect_err("write refused");
    assert_eq!(e.sqlstate(), Some("25006"), "{e}");
    // Fencing again is harmless.
    steps::run(&action, ctx(&plan, false).ctx)
        .await
        .expect("fence twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_cannot_promote_and_the_probe_session_refuses_writes() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;

    let mut c = ctx(&plan, true);
    let e = steps::run(&promote_step(), c.ctx.clone())
        .await
        .expect_err("monitor mode must not promote");
    assert!(e.contains("read-only"), "{e}");
    assert!(
        in_recovery(&s.url()).await,
        "the standby must still be a standby"
    );
    let e = steps::run(&fence_step(false), ctx(&plan, true).ctx)
        .await
        .expect_err("monitor mode must not fence");
    assert!(e.contains("read-only"), "{e}");
    assert!(lines(&mut c.rx).is_empty(), "nothing was attempted");

    // Preflight is read-only and reports reachable, role and lag.
    let checks = steps::preflight(&promote_step(), &ctx(&plan, true).ctx, vec![]).await;
    assert!(
        checks
            .iter()
            .any(|c| c.what.starts_with("reachable") && c.ok == Some(true)),
        "{checks:?}"
    );
    assert!(
        checks.iter().any(|c| c.what == "role: standby"),
        "{checks:?}"
    );
    assert!(checks.iter().any(|c| c.what == "lag"), "{checks:?}");

    // The probe's kept session is read-only on the primary.
    observe(&plan, SiteId::Prod).await;
    let session = mem().pg.session(&p.url()).await.expect("probe session");
    assert!(session.is_read_only());
    let e = session
        .simple("INSERT INTO t VALUES (1)")
        .await
        .expect_err("a write through the probe session must fail");
    assert_eq!(e.sqlstate(), Some("25006"), "{e}");
    assert!(matches!(
        session.promote(5).await,
        Err(PgError::ReadOnly(_))
    ));
    // A broken backup-age query is reported, and the kept session stays usable.
    let st = session
        .status(Some("SELECT no_such_column FROM pg_class"))
        .await
        .expect("status despite the backup query");
    assert!(
        matches!(&st.backup_age, Some(Err(e)) if e.contains("no_such_column")),
        "{:?}",
        st.backup_age
    );
    assert!(session.status(None).await.is_ok());
    assert!(!session.is_closed());
    assert!(matches!(
        session.fence(false).await,
        Err(PgError::ReadOnly(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_subscription_lag_is_read() {
    let p = primary();
    // The subscriber: a third cluster.
    let sub = {
        let tmp = tempdir();
        let data = tmp.path().join("subscriber");
        initdb(&data, "initdb subscriber");
        start_cluster(tmp, data, "")
    };
    sql(
        &p.url(),
        "CREATE TABLE items(id int primary key, v text); CREATE PUBLICATION pub FOR TABLE items",
    )
    .await;
    sql(&sub.url(), "CREATE TABLE items(id int primary key, v text)").await;
    sql(
        &sub.url(),
        &format!(
            "CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port={} user=postgres dbname=postgres' PUBLICATION pub",
            p.port
        ),
    )
    .await;
    sql(
        &p.url(),
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 5000) g",
    )
    .await;
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&sub.url()))));
    let t = Instant::now();
    let o = loop {
        let o = observe(&plan, SiteId::Dr).await;
        if let Ok(r) = &o.outcome
            && r.fields.get("subscription_lag") == Some(&Value::Bytes(0))
        {
            break o;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "subscription never caught up: {o:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let r = o.outcome.as_ref().expect("reading");
    assert_eq!(r.fields["role"], Value::Text("subscriber".into()));
    assert_eq!(r.fields["subscriptions"], Value::Num(1.0));
    assert_eq!(r.fields["lag"], Value::Bytes(0));
    assert!(
        r.details.iter().any(|d| d.contains("subscription sub")),
        "{r:?}"
    );
    // The publisher shows the logical slot and its lag.
    let po = observe(&plan, SiteId::Prod).await;
    let pr = po.outcome.as_ref().expect("publisher reading");
    assert!(pr.fields.contains_key("slot_lag"), "{pr:?}");
    assert_eq!(pr.fields["slots_ok"], Value::Bool(true));
    assert_eq!(
        pr.fields["replicas"],
        Value::Num(0.0),
        "a subscriber is no standby"
    );
    assert!(pr.details.iter().any(|d| d.contains("(logical)")), "{pr:?}");
    assert!(
        pr.details.iter().any(|d| d.contains("slot sub (logical)")),
        "{pr:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_probe_round_costs_one_round_trip_per_server() {
    let p = primary();
    let s = standby(&p, "standby1");
    let mut dr = db(&s.url());
    dr.backup_age_query = Some("SELECT now() - interval '2 hours'".into());
    dr.max_backup_age = Some(Duration::from_secs(3600));
    let plan = Arc::new(plan(Some(db(&p.url())), Some(dr)));
    // Warm up: connections are opened once.
    observe(&plan, SiteId::Prod).await;
    observe(&plan, SiteId::Dr).await;
    let ps = mem().pg.session(&p.url()).await.expect("prod session");
    let ss = mem().pg.session(&s.url()).await.expect("dr session");
    let (p0, s0) = (ps.round_trips(), ss.round_trips());
    let rounds = 20u64;
    let t = Instant::now();
    for _ in 0..rounds {
        observe(&plan, SiteId::Prod).await;
    }
    let prod_ms = t.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let p1 = ps.round_trips();
    let t = Instant::now();
    let mut last = None;
    for _ in 0..rounds {
        last = Some(observe(&plan, SiteId::Dr).await);
    }
    let dr_ms = t.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let (p2, s2) = (ps.round_trips(), ss.round_trips());
    // Same sessions: nothing reconnected.
    assert!(Arc::ptr_eq(
        &ps,
        &mem().pg.session(&p.url()).await.expect("same")
    ));
    assert!(Arc::ptr_eq(
        &ss,
        &mem().pg.session(&s.url()).await.expect("same")
    ));
    assert_eq!((p1 - p0) / rounds, 1, "prod: one round trip per round");
    assert_eq!(
        (s2 - s0) / rounds,
        1,
        "dr: one round trip to the standby per round"
    );
    assert_eq!(
        (p2 - p1) / rounds,
        1,
        "dr: one round trip to the primary per round"
    );
    // The backup age came back in the same round trip.
    let r = last.expect("obs").outcome.expect("reading");
    match r.fields["backup_age"] {
        Value::Duration(d) => assert!((7190..7210).contains(&d.as_secs()), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert_eq!(
        r.level,
        Level::Bad,
        "backup older than max_backup_age: {r:?}"
    );
    eprintln!(
        "COST prod (primary): 1 query / 1 round trip per round, {prod_ms:.2} ms; dr (standby): 1 query to the standby + 1 to the primary = 2 round trips per round, {dr_ms:.2} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_step_configuration_is_an_actionable_error() {
    // No server needed: building steps, the load-time site check, and the run-time refusal.
    let mut p = plan(None, Some(db("postgresql://postgres@127.0.0.1:1/postgres")));
    let raw: drcockpit::plan::raw::RawStep =
        toml::from_str("id = \"f\"\ntitle = \"F\"\nkind = \"postgres.fence\"\nsite = \"prod\"\n")
            .expect("raw");
    let fence = steps::postgres::build("postgres.fence", &raw).expect("fence builds");
    p.steps.push(plan_step(fence.clone()));
    let (i, e) = steps::postgres::check_sites(&p).expect("prod has no database");
    assert_eq!(i, 0);
    assert!(e.contains("[sites.prod] has no `database.postgres`"), "{e}");
    let plan = Arc::new(p);
    let e = steps::run(&fence, ctx(&plan, false).ctx)
        .await
        .expect_err("no server");
    assert!(e.contains("[sites.prod] has no `database.postgres`"), "{e}");
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(
        "id = \"p\"\ntitle = \"P\"\nkind = \"postgres.promote\"\nsite = \"dr\"\nwait_seconds = 0\n",
    )
    .expect("raw");
    let e = steps::postgres::build("postgres.promote", &raw).expect_err("bad wait");
    assert!(e.contains("wait_seconds"), "{e}");
    // An unreachable standby: the promote step says it cannot promote, and why.
    let e = steps::run(&promote_step(), ctx(&plan, false).ctx)
        .await
        .expect_err("unreachable");
    assert!(
        e.contains("cannot promote") && e.contains("127.0.0.1:1"),
        "{e}"
    );
}

/// A primary with TLS on: a test CA and a server certificate for `localhost` only (no IP SAN).
fn tls_primary() -> (Pg, PathBuf) {
    require_binaries();
    let tmp = tempdir();
    let d = tmp.path();
    let ssl = |args: &[&str], what: &str| {
        let mut c = Command::new("openssl");
        c.current_dir(d).args(args);
        run(c, what);
    };
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    ssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=drcockpit test CA",
        ],
        "openssl CA",
    );
    ssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        "openssl CSR",
    );
    ssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
        "openssl sign",
    );
    if is_root() {
        let mut c = Command::new("chown");
        c.arg("postgres:postgres")
            .arg(d.join("server.key"))
            .arg(d.join("server.crt"));
        run(c, "chown key");
    }
    let mut c = Command::new("chmod");
    c.arg("600").arg(d.join("server.key"));
    run(c, "chmod key");
    let data = d.join("tls");
    initdb(&data, "initdb");
    let tls = format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        d.join("server.crt").display(),
        d.join("server.key").display()
    );
    let ca = d.join("ca.crt");
    (start_cluster(tmp, data, &tls), ca)
}

async fn uses_tls(url: &str) -> Result<bool, PgError> {
    let s = postgres::connect(url, &ConnectOptions::probe()).await?;
    let v = s
        .scalar("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await?;
    Ok(v.as_deref() == Some("true"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_follows_sslmode() {
    let (p, ca) = tls_primary();
    let ca = ca.display().to_string();
    let at = |host: &str, q: &str| format!("postgresql://postgres@{host}:{}/postgres?{q}", p.port);
    // prefer (the default) and require encrypt without verifying.
    assert!(
        uses_tls(&format!(
            "postgresql://postgres@127.0.0.1:{}/postgres",
            p.port
        ))
        .await
        .expect("prefer")
    );
    assert!(
        uses_tls(&at("127.0.0.1", "sslmode=require"))
            .await
            .expect("require")
    );
    assert!(
        !uses_tls(&at("127.0.0.1", "sslmode=disable"))
            .await
            .expect("disable")
    );
    // verify-full: the built-in roots do not know the test CA.
    let e = uses_tls(&at("localhost", "sslmode=verify-full"))
        .await
        .expect_err("unknown CA");
    assert_eq!(e.short(), "unreachable", "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // With the CA: the right name passes, an IP not in the certificate does not.
    assert!(
        uses_tls(&at(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}")
        ))
        .await
        .expect("verify-full")
    );
    let e = uses_tls(&at(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .expect_err("name mismatch");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // verify-ca checks the chain only.
    assert!(
        uses_tls(&at(
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        ))
        .await
        .expect("verify-ca")
    );
}

// ---------------------------------------------------------------------------------------------
// The Prometheus probe and the Scaleway step against the simulator's routes
// ---------------------------------------------------------------------------------------------

use drcockpit::sim::prometheus::DbWorld;
use drcockpit::sim::scaleway::{self as scw_sim, ScalewayState};

fn prom_db(url: &str, site: &str) -> DatabaseConfig {
    DatabaseConfig {
        prometheus: Some(PrometheusSource {
            url: url.into(),
            lag_query: Some(format!("pg_replication_lag_bytes{{site=\"{site}\"}}")),
            replay_age_query: Some(format!(
                "pg_replication_replay_lag_seconds{{site=\"{site}\"}}"
            )),
            backup_age_query: Some(format!(
                "time() - pg_backup_last_success_timestamp_seconds{{site=\"{site}\"}}"
            )),
        }),
        max_lag_bytes: Some(16 << 20),
        max_backup_age: Some(Duration::from_secs(6 * 3600)),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_probe_reads_lag_and_backup_and_the_outage_freezes_lag() {
    let db = Arc::new(DbWorld::new(7));
    let url = serve(drcockpit::sim::prometheus::routes(db.clone())).await;
    let plan = Arc::new(plan(Some(prom_db(&url, "prod")), Some(prom_db(&url, "dr"))));

    let o = observe(&plan, SiteId::Dr).await;
    let r = o.outcome.as_ref().expect("dr reading");
    assert_eq!(r.level, Level::Good, "{r:?}");
    assert!(lag_of(&o) > 0, "the simulated standby lags a little: {r:?}");
    match r.fields["backup_age"] {
        Value::Duration(d) => assert!((2 * 3600..3 * 3600).contains(&d.as_secs()), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert!(r.summary.contains("via Prometheus"), "{}", r.summary);
    // The time-based lag (seconds of replay lag, like RDS ReplicaLag) feeds the RPO estimate.
    match r.fields["replay_age"] {
        Value::Duration(d) => assert!(d > Duration::ZERO && d < Duration::from_secs(60), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert!(r.summary.contains("replay "), "{}", r.summary);
    let prod = observe(&plan, SiteId::Prod).await;
    assert_eq!(lag_of(&prod), 0);

    // The timestamp form of the backup metric is understood too.
    let samples = drcockpit::probes::database::instant_query(
        &HttpClient::new(true),
        &url,
        "pg_backup_last_success_timestamp_seconds{site=\"dr\"}",
    )
    .await
    .expect("query");
    assert!(samples[0].value > 1e9);

    // Region outage: prod's series vanish (an error, never healthy); the DR lag freezes.
    db.set_region_outage(true);
    let frozen = lag_of(&observe(&plan, SiteId::Dr).await);
    let prod = observe(&plan, SiteId::Prod).await;
    let e = prod.outcome.expect_err("prod must be unreachable");
    assert_eq!(e.short, "no data", "{e:?}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), frozen);

    // Conditions resolve from the Prometheus reading.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()]
        .observe(&observe(&plan, SiteId::Dr).await);
    state.now = Utc::now();
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(state.evaluate(&c).passed());

    // A bad query is an error with Prometheus' message.
    let e = drcockpit::probes::database::instant_query(&HttpClient::new(true), &url, "")
        .await
        .expect_err("empty query");
    assert!(e.contains("bad_data"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_region_outage_scenario_drives_the_database_world() {
    use drcockpit::sim::{self, Scenario, SimState};
    let state = SimState::new(Scenario::RegionOutage, 11);
    let db = sim::prometheus::world(&state);
    let families = vec![
        sim::prometheus::family(db.clone()),
        scw_sim::family(Arc::new(ScalewayState::new(db.clone()))),
    ];
    let url = serve(sim::build_router_with(state, families)).await;
    let plan = Arc::new(plan(Some(prom_db(&url, "prod")), Some(prom_db(&url, "dr"))));
    assert!(observe(&plan, SiteId::Prod).await.outcome.is_ok());
    let before = lag_of(&observe(&plan, SiteId::Dr).await);
    assert!(before > 0);
    tokio::time::sleep(sim::REGION_OUTAGE_AFTER + Duration::from_millis(300)).await;
    let prod = observe(&plan, SiteId::Prod).await;
    assert!(
        prod.outcome.is_err(),
        "prod database down in the outage: {prod:?}"
    );
    let frozen = lag_of(&observe(&plan, SiteId::Dr).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), frozen);
}

fn scw_step(api: &str, token: &str) -> StepAction {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(&format!(
        "id = \"scw\"\ntitle = \"Promote\"\nkind = \"scaleway.promote_replica\"\nregion = \"{}\"\nread_replica_id = \"{}\"\ntoken = \"${{env:SCW_SECRET_KEY}}\"\napi_url = \"${{sim}}\"\ntimeout = \"20s\"\n",
        scw_sim::DEMO_REGION,
        scw_sim::DEMO_READ_REPLICA_ID
    ))
    .expect("raw");
    let (api, token) = (api.to_string(), token.to_string());
    let mut resolve = |v: &str, _key: &str| -> Result<String, String> {
        Ok(v.replace("${sim}", &api)
            .replace("${env:SCW_SECRET_KEY}", &token))
    };
    steps::scaleway::build("scaleway.promote_replica", &raw, &mut resolve).expect("build")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaleway_promotion_is_confirmed_by_reading_the_instance_back() {
    let db = Arc::new(DbWorld::new(3));
    let scw = Arc::new(ScalewayState::new(db.clone()));
    let url =
        serve(drcockpit::sim::prometheus::routes(db.clone()).merge(scw_sim::routes(scw.clone())))
            .await;
    let plan = Arc::new(plan(None, Some(prom_db(&url, "dr"))));
    assert!(lag_of(&observe(&plan, SiteId::Dr).await) > 0);
    let action = scw_step(&url, scw_sim::DEMO_SECRET_KEY);
    assert!(steps::is_mutating(&action));
    assert!(
        steps::describe(&action)
            .iter()
            .any(|l| l.starts_with("POST ") && l.contains("/promote"))
    );

    // Monitor mode refuses before sending anything.
    let e = steps::run(&action, ctx(&plan, true).ctx)
        .await
        .expect_err("read-only");
    assert!(e.contains("read-only"), "{e}");
    assert!(!scw.promotions());

    // Preflight (read-only) sees the replica.
    let checks = steps::preflight(&action, &ctx(&plan, true).ctx, vec![]).await;
    assert_eq!(checks[0].ok, Some(true), "{checks:?}");

    // A wrong secret key is an actionable error.
    let e = steps::run(&scw_step(&url, "wrong-key-xxxx"), ctx(&plan, false).ctx)
        .await
        .expect_err("bad key");
    assert!(e.contains("401") && e.contains("token"), "{e}");

    let mut c = ctx(&plan, false);
    let done = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = done.unwrap_or_else(|e| panic!("{e}\n{got:#?}"));
    assert!(done.contains("ready"), "{done}");
    assert!(
        got.iter().any(|(_, t)| t.contains("configuring")),
        "{got:#?}"
    );
    assert!(scw.promotions());
    // The database panel follows: the promoted DR has no lag.
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), 0);

    // The replica is gone: pressing again sends nothing and says why.
    let e = steps::run(&action, ctx(&plan, false).ctx)
        .await
        .expect_err("gone");
    assert!(
        e.contains("not found") && e.contains("nothing was sent"),
        "{e}"
    );
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

/// Split brain against real servers: the probe's own read-only session never looks like a
/// fence; after a promotion with the old primary still writable both are primaries that accept
/// writes (CRITICAL, not ready, `status` exit 2); fencing the old primary ends it and the panel
/// says `primary · fenced (read-only)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_is_seen_and_a_fenced_old_primary_is_told_apart_from_the_probe_session() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let state_of = |prod: &Observation, dr: &Observation| {
        let mut state = State::new(
            plan.clone(),
            Mode::Monitor,
            Operator::from_env(),
            Utc::now(),
        );
        state.sections[SiteId::Prod.index()][Section::Database.index()].observe(prod);
        state.sections[SiteId::Dr.index()][Section::Database.index()].observe(dr);
        state.now = Utc::now();
        state
    };

    // Before: a writable primary (the probe's read-only session is not a fence) and a standby.
    let prod = observe(&plan, SiteId::Prod).await;
    let dr = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&prod, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&prod, "fenced"), Value::Bool(false));
    assert_eq!(reading_field(&prod, "writable"), Value::Bool(true));
    assert_eq!(reading_field(&dr, "writable"), Value::Bool(false));
    let st = state_of(&prod, &dr);
    assert!(
        drcockpit::runtime::status::report_of(&plan, &st, 2)
            .alerts
            .is_empty()
    );

    // Promote the standby while the old primary still runs, writable.
    sql(&s.url(), "SELECT pg_promote(true, 30)").await;
    assert!(!in_recovery(&s.url()).await);
    let prod = observe(&plan, SiteId::Prod).await;
    let dr = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&dr, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&dr, "writable"), Value::Bool(true));
    let st = state_of(&prod, &dr);
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Down);
    let report = drcockpit::runtime::status::report_of(&plan, &st, 2);
    assert_eq!(report.exit_code, 2);
    let text = drcockpit::runtime::status::render_text(&report);
    assert!(
        text.contains("split brain: prod and DR both accept writes"),
        "{text}"
    );

    // Fence the old primary: no longer writable, shown as fenced, the split brain is over.
    steps::run(&fence_step(true), ctx(&plan, false).ctx)
        .await
        .expect("fence");
    let prod = observe(&plan, SiteId::Prod).await;
    let prod = if prod.outcome.is_err() {
        // The fence terminated the kept probe session: the next round reconnects.
        observe(&plan, SiteId::Prod).await
    } else {
        prod
    };
    assert_eq!(reading_field(&prod, "fenced"), Value::Bool(true));
    assert_eq!(reading_field(&prod, "writable"), Value::Bool(false));
    let summary = prod
        .outcome
        .as_ref()
        .map(|r| r.summary.clone())
        .unwrap_or_default();
    assert!(
        summary.starts_with("primary · fenced (read-only)"),
        "{summary}"
    );
    let st = state_of(&prod, &dr);
    assert!(
        drcockpit::runtime::status::report_of(&plan, &st, 2)
            .alerts
            .is_empty()
    );
    assert_ne!(st.verdict(SiteId::Dr), Verdict::Down);
}

/// Issue 11 defect 4: the primary is killed mid-write and the standby promoted. Data loss cannot
/// be measured: the evidence says RPO unknown (last-seen primary position and age, the standby's
/// received and replayed LSN, what would tell), the report says UNKNOWN — never MET — and the
/// step reports the new timeline (2), read from the server after promotion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_primary_mid_write_promotion_is_rpo_unknown_on_timeline_2() {
    use drcockpit::journal::{Event, Record, StepInfo};
    use drcockpit::report::{self, Verdict as RV};
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // A writer keeps committing until the primary dies under it.
    let url = p.url();
    let writer = tokio::spawn(async move {
        let w = admin(&url).await;
        let mut n = 0u32;
        while w
            .simple("INSERT INTO t SELECT generate_series(1, 500)")
            .await
            .is_ok()
        {
            n += 1;
        }
        n
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    p.stop_immediate();
    let commits = writer.await.expect("writer task");
    assert!(commits > 0, "the writer never committed");

    let mut c = ctx(&plan, false);
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = res.unwrap_or_else(|e| panic!("promote: {e}\n{got:#?}"));
    assert!(done.contains("timeline 2"), "{done}");
    assert!(done.contains("RPO UNKNOWN"), "{done}");
    let ev = got
        .iter()
        .find(|(st, _)| st == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert_eq!(j["rpo"], "unknown", "{j}");
    assert_eq!(j["primary_reachable"], false, "{j}");
    assert!(
        j["replay_lsn"].as_str().is_some_and(|l| l.contains('/')),
        "{j}"
    );
    assert!(
        j["receive_lsn"].as_str().is_some_and(|l| l.contains('/')),
        "{j}"
    );
    assert!(
        j["primary_last_seen_lsn"].as_str().is_some() || j["receiver_end_lsn"].as_str().is_some(),
        "{j}"
    );
    assert!(
        j["needed"]
            .as_str()
            .unwrap_or("")
            .contains("pg_controldata"),
        "{j}"
    );
    assert_eq!(j["timeline_before"], 1, "{j}");
    // The server agrees: it writes on timeline 2 now.
    let promoted = admin(&s.url()).await;
    assert_eq!(promoted.timeline().await.expect("timeline"), Some(2));

    // The report built from what the engine journals says UNKNOWN.
    let t0 = Utc::now();
    let rec = |seq: u64, event: Event| Record {
        seq,
        at: t0 + chrono::Duration::seconds(seq as i64),
        operator: "ops".into(),
        event,
    };
    let records = vec![
        rec(
            0,
            Event::SessionStarted {
                plan_name: "pg".into(),
                plan_source: "pg.toml".into(),
                plan_hash: "h".into(),
                mode: "live".into(),
                drill: true,
                host: "h".into(),
                pid: 1,
                version: "0".into(),
                commit: None,
                resumed_from: None,
                rto_secs: Some(1800),
                rpo_secs: Some(300),
                steps: vec![StepInfo {
                    id: "promote".into(),
                    title: "Promote".into(),
                    kind: "postgres.promote".into(),
                    mutating: Some(true),
                }],
            },
        ),
        rec(
            1,
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: Some("postgres.promote".into()),
            },
        ),
        rec(
            2,
            Event::Evidence {
                step: Some("promote".into()),
                what: "rpo".into(),
                detail: j.clone(),
            },
        ),
        rec(
            3,
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: true,
                detail: done.clone(),
            },
        ),
    ];
    let m = report::build(&records);
    assert_eq!(m.rpo.verdict, RV::Unknown, "{:?}", m.rpo);
    assert!(m.rpo.note.contains("pg_controldata"), "{}", m.rpo.note);
    assert!(!report::render_markdown(&m).contains("· **MET**"));
}

/// Issue 17: what the database probes remember (kept sessions, the primary's last position,
/// the cost counters) belongs to the run that probes. Another run in the same process starts
/// with none of it and opens its own sessions; and however many rounds run, one run holds one
/// session per server and one position per primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_keeps_its_own_sessions_and_positions_bounded() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let round = |mem: Arc<probes::ProbeMemory>, site| {
        let plan = plan.clone();
        async move {
            let key = ProbeKey {
                site,
                section: Section::Database,
            };
            probes::run(&plan, &HttpClient::new(true), &mem, key).await
        }
    };
    let first = Arc::new(probes::ProbeMemory::new());
    let rounds = 30;
    for _ in 0..rounds {
        for site in SiteId::ALL {
            let o = round(first.clone(), site).await;
            assert!(o.outcome.is_ok(), "{:?}", o.outcome);
        }
    }
    assert_eq!(
        first.pg.entries(),
        (2, 1),
        "one session per server, one primary position"
    );
    let stats = first.pg.stats();
    assert_eq!(
        stats.connects.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "sessions are kept across rounds"
    );
    assert!(stats.round_trips.load(std::sync::atomic::Ordering::Relaxed) >= 2 * rounds);
    assert!(first.pg.last_primary_position(&p.url()).is_some());

    let second = Arc::new(probes::ProbeMemory::new());
    assert_eq!(second.pg.entries(), (0, 0), "a new run starts empty");
    assert!(second.pg.last_primary_position(&p.url()).is_none());
    let o = round(second.clone(), SiteId::Prod).await;
    assert!(o.outcome.is_ok(), "{:?}", o.outcome);
    assert!(!Arc::ptr_eq(
        &first.pg.session(&p.url()).await.expect("first"),
        &second.pg.session(&p.url()).await.expect("second")
    ));
    assert_eq!(
        second
            .pg
            .stats()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
