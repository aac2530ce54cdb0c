//! The DR guide's test schedule, run from the shipped plans (issue 16, "Done when"): for each
//! cadence the plan is loaded from plans/, driven through the engine's `update()` by keys as an
//! operator would (typed words, notes), its steps run against the simulator — and against a real
//! PostgreSQL where the kind needs one — every event written to a real journal file, and the
//! report built from that file carries the cadence's evidence:
//!
//! | cadence | plan | mode | evidence in the report |
//! |---|---|---|---|
//! | monthly runbook review | plans/demo.toml | review | every step reviewed, preflight results |
//! | monthly restore test | plans/restore-test.toml | live, drill | the backup's age as RPO |
//! | quarterly partial drill | plans/partial-drill.toml | live, drill | the clone created and deleted |
//! | bi-annual full failover and failback | plans/qovery-pilot-light.toml, then plans/qovery-pilot-light-failback.toml | live, drill | RPO 0 of the planned switchover, with its proof |
//!
//! The plans' `${env:…}` references are pointed at files holding the test's values (the loader
//! resolves `${file:…}` like `${env:…}`; setting the process environment from a test is racy), and
//! their example ids and URLs at the simulator's: everything else is the shipped text.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use drcockpit::app::{DialogKind, Mode, Operator, State, StepStatus};
use drcockpit::app::{Effect, Msg, update};
use drcockpit::clients::http::HttpClient;
use drcockpit::journal::Event;
use drcockpit::journal::writer::JournalWriter;
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::report::{self, ReportModel, Verdict};
use drcockpit::sim::qovery::ids;
use drcockpit::sim::{self, SimHandle, SimOptions};
use drcockpit::steps::{self, StepContext, StepSink};

mod common;
use common::pg;

async fn simulator(scenario: &str) -> SimHandle {
    sim::start(SimOptions {
        scenario: scenario.into(),
        seed: 16,
        listen: None,
        time_scale: 1,
    })
    .await
    .expect("simulator starts")
}

/// Secrets and values the plans reference, as files (`${env:NAME}` → `${file:DIR/NAME}`).
fn with_values(text: &str, dir: &Path, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        let p = dir.join(name);
        std::fs::write(&p, value).expect("write value");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        out = out.replace(
            &format!("${{env:{name}}}"),
            &format!("${{file:{}}}", p.display()),
        );
    }
    assert!(!out.contains("${env:"), "a reference left unset:\n{out}");
    out
}

/// The shipped Qovery plans' example organization, cluster and environment ids (prod
/// eu-west-1, DR nl-ams), pointed at the simulator's world.
fn at_simulator(text: &str, sim_url: &str) -> String {
    text.replace(
        "organization = \"1b6e2f6c-8c4c-4a59-9a39-5f0f6a3c1001\"",
        &format!("organization = \"{}\"\napi_url = \"{sim_url}\"", ids::ORG),
    )
    .replace("4e9b5c9f-bf7f-4d8c-8d6c-8c3c9d6f4001", ids::PROD_CLUSTER)
    .replace("4e9b5c9f-bf7f-4d8c-8d6c-8c3c9d6f4002", ids::PROD_ENV)
    .replace("5fac6daf-c08f-4e9d-9e7d-9d4dae7f5001", ids::DR_CLUSTER)
    .replace("5fac6daf-c08f-4e9d-9e7d-9d4dae7f5002", ids::DR_ENV)
    .replace(
        "https://eu-west-1.shop.example.com/healthz",
        &format!("{sim_url}/sites/prod/healthz"),
    )
    .replace(
        "https://nl-ams.shop.example.com/healthz",
        &format!("{sim_url}/sites/dr/healthz"),
    )
    .replace(
        "https://shop.example.com/healthz",
        &format!("{sim_url}/sites/dr/healthz"),
    )
}

fn load(text: &str, name: &str) -> Plan {
    steps::load_str(text, name, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{name} does not load: {e}\n{text}"))
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An operator at the keyboard, with the runtime's part played here: effects journaled to a
/// real file (then `Msg::Recorded`), steps run and their output fed back, preflights run.
struct Cockpit {
    state: State,
    plan: Arc<Plan>,
    now: DateTime<Utc>,
    journal: JournalWriter,
    path: PathBuf,
    probes: Arc<drcockpit::probes::ProbeMemory>,
}

impl Cockpit {
    async fn open(plan: Plan, mode: Mode, drill: bool, dir: &Path) -> Cockpit {
        let plan = Arc::new(plan);
        let now = Utc::now();
        let op = Operator {
            name: "alice".into(),
            host: "bastion-1".into(),
        };
        let path = dir.join(format!("{}.journal", mode.as_str()));
        let journal = JournalWriter::create(&path, "alice").expect("journal");
        let mut c = Cockpit {
            state: State::new(plan.clone(), mode, op, now),
            plan: plan.clone(),
            now,
            journal,
            path,
            probes: Arc::default(),
        };
        let started = common::steps::session_started(&plan, mode.as_str(), drill);
        let rec = c.journal.append(started).expect("append");
        c.send(Msg::Recorded(rec)).await;
        c
    }

    /// Deliver a message and everything it leads to.
    async fn send(&mut self, msg: Msg) {
        let mut queue = VecDeque::from([msg]);
        while let Some(m) = queue.pop_front() {
            for fx in update(&mut self.state, m, self.now) {
                match fx {
                    Effect::Record(ev) => {
                        let rec = self.journal.append(ev).expect("append");
                        queue.push_back(Msg::Recorded(rec));
                    }
                    Effect::RunStep { step, attempt } => {
                        queue.extend(self.run(step, attempt).await);
                    }
                    Effect::Preflight { step } => {
                        let ctx = StepContext::read_only(
                            self.plan.clone(),
                            step,
                            StepSink::channel(tokio::sync::mpsc::unbounded_channel::<Msg>().0),
                        )
                        .with_probes(self.probes.clone());
                        let from_state = self.state.precondition_checks(step);
                        let checks =
                            steps::preflight(&self.plan.steps[step].action, &ctx, from_state).await;
                        queue.push_back(Msg::PreflightDone { step, checks });
                    }
                    _ => {}
                }
            }
        }
    }

    /// Run a step as the executor does; its output messages, then its end.
    async fn run(&self, step: usize, attempt: u32) -> Vec<Msg> {
        let mut spec = self.plan.steps[step].clone();
        steps::hand_off_journal(&mut spec.action, &self.state.records);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = StepContext {
            plan: self.plan.clone(),
            http: HttpClient::new(false),
            allow_spawn: true,
            step,
            attempt,
            out: StepSink::channel(tx),
            probes: self.probes.clone(),
        };
        let limit = steps::timeout_of(&spec);
        let result = match tokio::time::timeout(limit, steps::run(&spec.action, ctx)).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {limit:?}")),
        };
        let mut msgs = Vec::new();
        while let Ok(m) = rx.try_recv() {
            msgs.push(m);
        }
        msgs.push(Msg::StepDone {
            step,
            attempt,
            result,
        });
        msgs
    }

    /// Every configured probe once, as seen now.
    async fn probe_round(&mut self) {
        let http = HttpClient::new(true);
        for key in drcockpit::probes::configured(&self.plan) {
            let mut obs = drcockpit::probes::run(&self.plan, &http, &self.probes, key).await;
            obs.at = self.now;
            self.send(Msg::Observed(obs)).await;
        }
    }

    async fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .await;
    }

    async fn type_str(&mut self, s: &str) {
        for ch in s.chars() {
            self.key(KeyCode::Char(ch)).await;
        }
    }

    /// Answer whatever dialog is open as a careful operator does: the typed word, a note.
    async fn answer_dialogs(&mut self, note: &str) {
        for _ in 0..4 {
            let Some(d) = self.state.dialog().cloned() else {
                return;
            };
            match (&d.kind, &d.word) {
                (DialogKind::Override { unmet }, _) => {
                    panic!("step {:?}: preconditions unmet: {unmet:?}", d.step)
                }
                (_, Some(word)) => self.type_str(word).await,
                (DialogKind::ConfirmRun, None) => {
                    self.key(KeyCode::Char('y')).await;
                    continue;
                }
                (DialogKind::ManualDone | DialogKind::Reviewed | DialogKind::Note, None) => {
                    self.type_str(note).await
                }
                (other, None) => panic!("unexpected dialog {other:?}"),
            }
            self.key(KeyCode::Enter).await;
        }
    }

    /// Live/drill: run step `id` (probes first, so its conditions see the world).
    async fn run_step(&mut self, id: &str) {
        self.probe_round().await;
        self.state.selected = self.plan.step_index(id).expect("step");
        self.key(KeyCode::Enter).await;
        self.answer_dialogs("done during the scheduled test").await;
        let i = self.state.selected_index(id);
        // A `wait` step is the engine's: it holds once the probes see its conditions.
        for _ in 0..150 {
            if !matches!(self.state.status(i), StepStatus::Running) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            self.now += chrono::Duration::seconds(1);
            self.probe_round().await;
            self.send(Msg::Tick).await;
        }
        assert_eq!(
            self.state.status(i),
            StepStatus::Succeeded,
            "step {id}: {:?}; flash {:?}; dialog {:?}",
            self.state.steps[i].phase,
            self.state.flash,
            self.state.dialog()
        );
    }

    /// Review: show the calls and preflight of every step, and mark each reviewed.
    async fn review_all(&mut self) {
        self.probe_round().await;
        for i in 0..self.plan.steps.len() {
            self.state.selected = i;
            self.key(KeyCode::Enter).await;
            self.state.showing_calls = None;
            self.key(KeyCode::Char('m')).await;
            self.answer_dialogs("read through, still right").await;
        }
    }

    /// End the session and build the report from the journal file.
    fn report(mut self) -> ReportModel {
        self.journal
            .append(Event::SessionEnded {
                reason: "completed".into(),
            })
            .expect("append");
        drop(self.journal);
        report::build_from_file(&self.path).expect("report")
    }
}

trait ByIndex {
    fn selected_index(&self, id: &str) -> usize;
}

impl ByIndex for State {
    fn selected_index(&self, id: &str) -> usize {
        self.plan.step_index(id).expect("step")
    }
}

fn markdown(m: &ReportModel) -> String {
    report::render_markdown(m)
}

/// Monthly runbook review: the demo plan walked in review mode; the review record has every
/// step reviewed, with its read-only preflight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_runbook_review_of_the_demo_plan_produces_a_review_record() {
    let s = simulator("all-good").await;
    let dir = tempfile::tempdir().expect("dir");
    let plan = common::demo_plan_at(&s.url);
    let n = plan.steps.len();
    let mut c = Cockpit::open(plan, Mode::Review, false, dir.path()).await;
    c.review_all().await;
    let m = c.report();
    assert_eq!(m.kind, "review", "{}", markdown(&m));
    assert_eq!(m.review.len(), n);
    assert!(
        m.review.iter().all(|r| r.reviewed),
        "every step reviewed: {:?}",
        m.review
            .iter()
            .filter(|r| !r.reviewed)
            .map(|r| &r.id)
            .collect::<Vec<_>>()
    );
    assert!(
        m.review.iter().any(|r| !r.preflight.is_empty()),
        "preflight results are in the record"
    );
    assert_eq!(m.rpo.verdict, Verdict::NotMeasurable);
    assert!(markdown(&m).contains("read through, still right"));
}

/// The warm-standby failback plan walked in review mode too (it is not run here: its rejoin
/// needs a server reached over ssh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_standby_failback_plan_walks_in_review_mode() {
    let dir = tempfile::tempdir().expect("dir");
    let text = with_values(
        &shipped("plans/qovery-warm-standby-failback.toml"),
        dir.path(),
        &[
            ("QOVERY_API_TOKEN", "qov_review_only_token"),
            ("PROD_PG_URL", "postgresql://postgres@127.0.0.1:9/postgres"),
            ("DR_PG_URL", "postgresql://postgres@127.0.0.1:9/postgres"),
            ("PROD_DATABASE_URL", "postgresql://app@db-prod/shop"),
            ("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
        ],
    );
    let plan = load(&text, "qovery-warm-standby-failback.toml");
    let n = plan.steps.len();
    let mut c = Cockpit::open(plan, Mode::Review, false, dir.path()).await;
    c.review_all().await;
    let m = c.report();
    assert_eq!(m.kind, "review");
    assert_eq!(m.review.iter().filter(|r| r.reviewed).count(), n);
    // Nothing ran: no step started in a review.
    assert!(m.steps.iter().all(|s| s.started.is_none()), "{:?}", m.steps);
}

/// Monthly restore test: the shipped plan against a real PostgreSQL and a real `pg_dump`; the
/// report gives the backup's age as the RPO and the notification was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_restore_test_restores_a_real_dump_and_reports_the_backup_age() {
    let s = simulator("all-good").await;
    let server = pg::primary(false);
    let shop = format!("postgresql://postgres@127.0.0.1:{}/shop", server.port);
    pg::sql(&server.url(), "CREATE DATABASE shop").await;
    pg::sql(
        &shop,
        "CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL); \
         INSERT INTO orders SELECT g, now() FROM generate_series(1, 1200) g; \
         CREATE TABLE customers (id int PRIMARY KEY); \
         INSERT INTO customers SELECT g FROM generate_series(1, 150) g",
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("shop.dump");
    let mut cmd = std::process::Command::new(pg::bin_dir().join("pg_dump"));
    cmd.args(["-Fc", "-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["-U", "postgres", "-d", "shop", "-f"])
        .arg(&dump);
    pg::run(cmd, "pg_dump -Fc");

    let text = shipped("plans/restore-test.toml").replace(
        "${cmd:/usr/local/bin/latest-backup shop}",
        &dump.display().to_string(),
    );
    let text = with_values(
        &text,
        dir.path(),
        &[
            ("RESTORE_PG_URL", &server.url()),
            (
                "SLACK_WEBHOOK_URL",
                &format!("{}/notify/slack/T000-restore", s.url),
            ),
        ],
    );
    let plan = load(&text, "restore-test.toml");
    let ids: Vec<String> = plan.steps.iter().map(|s| s.id.clone()).collect();
    let mut c = Cockpit::open(plan, Mode::Live, true, dir.path()).await;
    for id in &ids {
        c.run_step(id).await;
    }
    let m = c.report();
    let md = markdown(&m);
    assert_eq!(m.kind, "drill", "{md}");
    assert_eq!(m.title, "Drill report", "{md}");
    // The backup's age is the RPO evidence: seconds old, within the 26h target.
    assert_eq!(m.rpo.verdict, Verdict::Met, "{:?}", m.rpo);
    assert!(m.rpo.measured_secs.is_some_and(|s| s < 600), "{:?}", m.rpo);
    assert!(m.rpo.note.contains("backup age"), "{}", m.rpo.note);
    assert!(md.contains("backup age"), "{md}");
    assert!(
        s.state()
            .webhook_requests("notify-slack")
            .iter()
            .any(|r| r.status == 200),
        "the team was told"
    );
    // The scratch database is gone.
    let left = pg::admin(&server.url())
        .await
        .scalar("SELECT count(*) FROM pg_database WHERE datname = 'drcockpit_restore_test'")
        .await
        .expect("query");
    assert_eq!(left.as_deref(), Some("0"));
}

/// Quarterly partial drill: the shipped plan clones prod onto the DR cluster, is exercised by
/// hand and deletes the clone; prod and DR are untouched, and the report has both steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarterly_partial_drill_clones_and_deletes_a_drill_environment() {
    let s = simulator("all-good").await;
    let dir = tempfile::tempdir().expect("dir");
    let text = with_values(
        &at_simulator(&shipped("plans/partial-drill.toml"), &s.url),
        dir.path(),
        &[("QOVERY_API_TOKEN", ids::DEMO_TOKEN)],
    );
    let plan = load(&text, "partial-drill.toml");
    let ids_: Vec<String> = plan.steps.iter().map(|s| s.id.clone()).collect();
    let mut c = Cockpit::open(plan, Mode::Live, true, dir.path()).await;
    for id in &ids_ {
        c.run_step(id).await;
    }
    let m = c.report();
    let md = markdown(&m);
    assert_eq!(m.kind, "drill", "{md}");
    assert!(
        m.steps
            .iter()
            .all(|s| s.state != "failed" && s.state != "not started"),
        "{:?}",
        m.steps
    );
    // The cadence's evidence: the clone was made on the DR cluster, then deleted and gone.
    let detail = |id: &str| {
        m.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.detail.clone())
            .unwrap_or_default()
    };
    assert!(
        detail("clone").contains("to drill-2026-q4") && detail("clone").contains("on cluster"),
        "{md}"
    );
    assert!(
        detail("deploy").contains("drill-2026-q4 DEPLOYED"),
        "the drill environment was deployed, by name: {md}"
    );
    assert!(
        detail("delete").contains("deleted drill-2026-q4") && detail("delete").contains("gone"),
        "{md}"
    );
}

/// The old primary's rewind and restart, run locally instead of over ssh (the shipped plan's
/// `rewind_command` / `start_command` lines replaced; everything else as shipped).
fn local_rejoin_commands(text: &str, old: &pg::Pg, new: &pg::Pg) -> String {
    let list = |v: Vec<String>| {
        let items: Vec<String> = v.iter().map(|a| format!("'{a}'")).collect();
        format!("[{}]", items.join(", "))
    };
    let mut rewind = pg::pg_argv("pg_rewind");
    rewind.extend([
        "--target-pgdata".to_string(),
        old.data.display().to_string(),
        "--source-server".into(),
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres application_name=eu-west-1",
            new.port
        ),
        "--write-recovery-conf".into(),
    ]);
    // pg_rewind copies the new primary's configuration (its port): start on the old port.
    let mut start = pg::pg_argv("pg_ctl");
    start.extend([
        "-D".to_string(),
        old.data.display().to_string(),
        "-l".into(),
        old.log().display().to_string(),
        "-o".into(),
        format!("-p {}", old.port),
        "-w".into(),
        "-t".into(),
        "60".into(),
        "start".into(),
    ]);
    text.lines()
        .map(|l| {
            if l.starts_with("rewind_command = ") {
                format!("rewind_command = {}", list(rewind.clone()))
            } else if l.starts_with("start_command = ") {
                format!("start_command = {}", list(start.clone()))
            } else if l.starts_with("wait_seconds = ") {
                "wait_seconds = 60".into()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bi-annual full failover and failback: the shipped pilot-light plan against a simulated
/// region outage (its database promotion is a manual step: done here on a real standby), then
/// the shipped failback plan against real PostgreSQL — the old primary rewound into a standby by
/// the real `pg_rewind`, caught up, DR fenced, prod promoted — and the simulator for Qovery. The
/// failover's report has every step done; the failback's reads RPO 0 with its proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn biannual_full_failover_then_failback_reports_rpo_0_with_its_proof() {
    let old = pg::primary(true);
    let new = pg::standby(&old, "dr_slot");
    pg::sql(
        &old.url(),
        "CREATE TABLE orders(id int); INSERT INTO orders VALUES (1)",
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");

    // The failover.
    let s = simulator("region-outage").await;
    let values = |s: &SimHandle, what: &str| {
        vec![
            ("QOVERY_API_TOKEN".to_string(), ids::DEMO_TOKEN.to_string()),
            (
                "DR_DATABASE_URL".into(),
                "postgresql://app@db-dr/shop".into(),
            ),
            (
                "PROD_DATABASE_URL".into(),
                "postgresql://app@db-prod/shop".into(),
            ),
            ("RELEASE_TAG".into(), "1.4.2".into()),
            ("PROD_PG_URL".into(), old.url()),
            ("DR_PG_URL".into(), new.url()),
            (
                "SLACK_WEBHOOK_URL".into(),
                format!("{}/notify/slack/T000-{what}", s.url),
            ),
        ]
    };
    let plan_at = |name: &str, s: &SimHandle, what: &str, sub: &Path| {
        std::fs::create_dir_all(sub).expect("dir");
        let text = at_simulator(&shipped(name), &s.url);
        let text = local_rejoin_commands(&text, &old, &new);
        let vals = values(s, what);
        let used: Vec<(&str, &str)> = vals
            .iter()
            .filter(|(k, _)| text.contains(&format!("${{env:{k}}}")))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        load(&with_values(&text, sub, &used), name)
    };
    let plan = plan_at(
        "plans/qovery-pilot-light.toml",
        &s,
        "failover",
        &dir.path().join("over"),
    );
    let ids_: Vec<String> = plan.steps.iter().map(|s| s.id.clone()).collect();
    let mut c = Cockpit::open(plan, Mode::Live, true, &dir.path().join("over")).await;
    // The simulated region goes down shortly after the start; prod has then been down for
    // longer than the detection window.
    tokio::time::sleep(sim::REGION_OUTAGE_AFTER + std::time::Duration::from_secs(1)).await;
    c.probe_round().await;
    c.now += chrono::Duration::minutes(6);
    for id in &ids_ {
        if id == "promote-db" {
            // The manual step's instructions, done on the real standby.
            let promoted = pg::admin(&new.url())
                .await
                .scalar("SELECT pg_promote(true, 30)")
                .await
                .expect("promote");
            assert_eq!(promoted.as_deref(), Some("t"));
        }
        c.run_step(id).await;
        c.now += chrono::Duration::seconds(30);
    }
    let m = c.report();
    assert_eq!(m.kind, "drill", "{}", markdown(&m));
    assert!(
        m.steps
            .iter()
            .all(|s| s.state != "failed" && s.state != "not started"),
        "{:?}",
        m.steps
    );
    // The shipped pilot-light plan moves DNS by hand (a manual step), so the report cannot know
    // when traffic moved: it says so instead of giving an RTO.
    assert_eq!(m.rto.verdict, Verdict::NotReached, "{:?}", m.rto);
    assert!(
        m.rto.missing.iter().any(|x| x.contains("dns.switch")),
        "{:?}",
        m.rto
    );

    // DR took writes while it served; the old primary is stopped before the failback.
    pg::sql(&new.url(), "INSERT INTO orders VALUES (2)").await;
    old.stop_fast();
    // pg_rewind copies the new primary's `primary_slot_name` (from its own base backup).
    pg::sql(
        &new.url(),
        "SELECT pg_create_physical_replication_slot('dr_slot')",
    )
    .await;

    // The failback, with prod's region back.
    let s = simulator("all-good").await;
    let plan = plan_at(
        "plans/qovery-pilot-light-failback.toml",
        &s,
        "failback",
        &dir.path().join("back"),
    );
    let ids_: Vec<String> = plan.steps.iter().map(|s| s.id.clone()).collect();
    let mut c = Cockpit::open(plan, Mode::Live, true, &dir.path().join("back")).await;
    for id in &ids_ {
        c.run_step(id).await;
        c.now += chrono::Duration::seconds(30);
    }
    let m = c.report();
    let md = markdown(&m);
    assert_eq!(m.kind, "drill", "{md}");
    assert_eq!(
        (m.rpo.measured_secs, m.rpo.lag_bytes, m.rpo.verdict),
        (Some(0), Some(0), Verdict::Met),
        "{:?}\n{md}",
        m.rpo
    );
    assert!(
        m.rpo.note.contains("planned switchover: fenced at LSN")
            && m.rpo.note.contains("0 bytes lost")
            && m.rpo.note.contains("`fence-dr`"),
        "{}",
        m.rpo.note
    );
    assert!(md.contains("0 bytes lost"), "{md}");
    // Prod is primary again with DR's write; DR is fenced.
    let prod = pg::admin(&old.url()).await;
    assert_eq!(
        prod.scalar("SELECT pg_is_in_recovery()")
            .await
            .expect("q")
            .as_deref(),
        Some("f")
    );
    assert_eq!(
        prod.scalar("SELECT count(*) FROM orders")
            .await
            .expect("q")
            .as_deref(),
        Some("2")
    );
}

/// Every plan of the schedule passes `drcockpit check` with none of its secrets set (a check
/// runs on a laptop; `postgres.restore_check` used to parse its unset `admin_url` reference and
/// refuse the plan).
#[test]
fn every_schedule_plan_checks_without_its_secrets() {
    for plan in [
        "plans/demo.toml",
        "plans/restore-test.toml",
        "plans/partial-drill.toml",
        "plans/qovery-pilot-light.toml",
        "plans/qovery-pilot-light-failback.toml",
        "plans/qovery-warm-standby.toml",
        "plans/qovery-warm-standby-failback.toml",
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"));
        cmd.args(["check", plan]).env(
            "DRCOCKPIT_STATE_DIR",
            std::env::temp_dir().join("drcockpit-schedule-test-state"),
        );
        for k in [
            "RESTORE_PG_URL",
            "SLACK_WEBHOOK_URL",
            "QOVERY_API_TOKEN",
            "PROD_PG_URL",
            "DR_PG_URL",
            "DR_DATABASE_URL",
            "PROD_DATABASE_URL",
            "RELEASE_TAG",
        ] {
            cmd.env_remove(k);
        }
        let out = cmd.output().expect("run drcockpit");
        assert!(
            out.status.success(),
            "check {plan}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
