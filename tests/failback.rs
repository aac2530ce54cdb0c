//! Failback against real PostgreSQL 15 (issue 16): a primary (data checksums, so `pg_rewind`
//! works) and a streaming standby; the standby is promoted, written to, and the old primary is
//! rejoined as its standby by the `postgres.rejoin` step running the real `pg_rewind` and
//! `pg_ctl`, verified from the new primary. A rejoin whose server never shows in
//! `pg_stat_replication` must fail, never pass.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use drcockpit::app::Msg;
use drcockpit::clients::http::HttpClient;
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::steps::{self, StepContext};

mod common;
use common::pg::{self, Pg};

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
            out: drcockpit::steps::StepSink::channel(tx),
            probes: Arc::default(),
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

fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "")))
        .collect();
    format!("[{}]", items.join(", "))
}

/// A plan whose prod is the old primary and DR the new one, with one `postgres.rejoin` step.
fn rejoin_plan(old: &Pg, new: &Pg, rewind: &[String], start: Option<&[String]>, wait: u32) -> Plan {
    let start = start
        .map(|s| format!("start_command = {}\n", toml_list(s)))
        .unwrap_or_default();
    let text = format!(
        r#"
[plan]
name = "failback test"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "Prod (old primary)"
database = {{ postgres = "{old}" }}

[sites.dr]
label = "DR (new primary)"
database = {{ postgres = "{new}" }}

[[step]]
id = "rejoin"
title = "Rejoin the old primary"
kind = "postgres.rejoin"
site = "prod"
new_primary = "dr"
confirm = "REJOIN"
application_name = "oldprimary"
rewind_command = {rewind}
{start}wait_seconds = {wait}
"#,
        old = old.url(),
        new = new.url(),
        rewind = toml_list(rewind),
    );
    steps::load_str(&text, "failback.toml", &LoadOptions::default())
        .unwrap_or_else(|e| panic!("plan loads: {e}"))
}

async fn scalar(url: &str, q: &str) -> Option<String> {
    pg::admin(url)
        .await
        .scalar(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// Fail over while the old primary still runs, then let it diverge: the standby replays a
/// table, is promoted and written to; the old primary gets writes the new one never receives.
async fn fail_over_and_diverge(old: &Pg, new: &Pg) {
    pg::sql(
        &old.url(),
        "CREATE TABLE t(x int); INSERT INTO t VALUES (1)",
    )
    .await;
    // Let the standby replay it, then fail over while the old primary still runs.
    for _ in 0..100 {
        if scalar(
            &new.url(),
            "SELECT count(*) FROM pg_class WHERE relname = 't'",
        )
        .await
            == Some("1".into())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(&new.url(), "SELECT pg_promote(true, 30)").await,
        Some("t".into())
    );
    pg::sql(&new.url(), "INSERT INTO t VALUES (2)").await;
    // The old primary diverges: a write the new primary never receives.
    pg::sql(
        &old.url(),
        "INSERT INTO t SELECT generate_series(100, 1100)",
    )
    .await;
}

/// The rejoin plan with the real `pg_rewind` from the new primary and `pg_ctl start`.
fn real_rejoin_plan(old: &Pg, new: &Pg) -> Plan {
    let source = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres application_name=oldprimary",
        new.port
    );
    let mut rewind = pg::pg_argv("pg_rewind");
    rewind.extend([
        "--target-pgdata".to_string(),
        old.data.display().to_string(),
        "--source-server".into(),
        source,
        "--write-recovery-conf".into(),
        "--progress".into(),
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
    rejoin_plan(old, new, &rewind, Some(&start), 60)
}

/// Review mode: preflight (read-only) measures what would be lost past the fork point, and a
/// read-only session cannot run the step.
async fn review_measures_the_loss_and_refuses_to_run(plan: &Arc<Plan>) {
    let step = &plan.steps[0];
    let mut c = ctx(plan, true);
    let checks = steps::preflight(&step.action, &c.ctx, Vec::new()).await;
    let lost = checks
        .iter()
        .find(|k| k.what == "would be lost")
        .expect("a loss check");
    assert_eq!(lost.ok, Some(true), "{checks:?}");
    assert!(
        lost.detail.contains("past the fork point"),
        "{}",
        lost.detail
    );
    assert!(!lost.detail.starts_with("0 B"), "{}", lost.detail);
    let rewind_ok = checks
        .iter()
        .find(|k| k.what.starts_with("pg_rewind possible"))
        .expect("rewind check");
    assert_eq!(rewind_ok.ok, Some(true), "{checks:?}");
    assert!(
        rewind_ok.detail.contains("data_checksums=on"),
        "{}",
        rewind_ok.detail
    );
    // Review and monitor sessions cannot run it.
    let refused = steps::run(&step.action, c.ctx.clone()).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("read-only")),
        "{refused:?}"
    );
    let _ = lines(&mut c.rx);
}

/// The operator stops the old primary cleanly, then runs the step: the old primary is rewound
/// and streams from the new one, with the new primary's row and without its divergent ones.
async fn rejoin_streams_from_the_new_primary(old: &Pg, new: &Pg, plan: &Arc<Plan>) {
    let step = &plan.steps[0];
    // pg_rewind copies the new primary's postgresql.auto.conf, whose `primary_slot_name =
    // 'dr_slot'` (from its own base backup) the rewound server then asks for: the slot must
    // exist on the new primary.
    old.stop_fast();
    pg::sql(
        &new.url(),
        "SELECT pg_create_physical_replication_slot('dr_slot')",
    )
    .await;
    let mut c = ctx(plan, false);
    let out = steps::run(&step.action, c.ctx.clone()).await;
    let log = lines(&mut c.rx);
    let text: Vec<String> = log.iter().map(|(s, t)| format!("{s}: {t}")).collect();
    let summary = out.unwrap_or_else(|e| {
        let server_log = std::fs::read_to_string(old.log()).unwrap_or_default();
        let auto = std::fs::read_to_string(old.data.join("postgresql.auto.conf")).unwrap_or_default();
        let tail: Vec<&str> = server_log.lines().rev().take(15).collect();
        panic!(
            "rejoin failed: {e}\n{}\n--- old primary's log (last lines, newest first)\n{}\n--- postgresql.auto.conf\n{auto}",
            text.join("\n"),
            tail.join("\n")
        )
    });
    assert!(summary.contains("lag 0"), "{summary}");
    assert!(
        log.iter().any(|(_, t)| t.contains("pg_rewind")),
        "the rewind's command line and output stream into the log: {text:?}"
    );
    // Really a streaming standby of the new primary, with the new primary's write.
    assert_eq!(
        scalar(
            &new.url(),
            "SELECT state FROM pg_stat_replication WHERE application_name = 'oldprimary'"
        )
        .await
        .as_deref(),
        Some("streaming")
    );
    assert_eq!(
        scalar(&old.url(), "SELECT pg_is_in_recovery()").await,
        Some("t".into())
    );
    assert_eq!(
        scalar(&old.url(), "SELECT count(*) FROM t").await,
        Some("2".into()),
        "the divergent rows are rewound away, the new primary's row is there"
    );
}

/// Switch back (planned switchover): fence DR, then promote prod. With nothing in flight the
/// promotion's RPO evidence is a measurement of 0 — what the report reads as RPO 0 measured.
async fn switch_back_measures_rpo_zero(old: &Pg, plan: &Arc<Plan>) {
    let step = |toml_text: &str, kind: &str| {
        let raw: drcockpit::plan::raw::RawStep = toml::from_str(toml_text).expect("raw step");
        steps::postgres::build(kind, &raw).expect("build")
    };
    let fence = step(
        "id = \"fence-dr\"\ntitle = \"Fence DR\"\nkind = \"postgres.fence\"\nsite = \"dr\"\n",
        "postgres.fence",
    );
    let promote = step(
        "id = \"promote-prod\"\ntitle = \"Promote prod\"\nkind = \"postgres.promote\"\nsite = \"prod\"\nwait_seconds = 30\n",
        "postgres.promote",
    );
    let c = ctx(plan, false);
    steps::run(&fence, c.ctx.clone())
        .await
        .unwrap_or_else(|e| panic!("fence DR: {e}"));
    let mut c = ctx(plan, false);
    let promoted = steps::run(&promote, c.ctx.clone()).await;
    let log = lines(&mut c.rx);
    let summary = promoted.unwrap_or_else(|e| panic!("promote prod: {e}\n{log:?}"));
    assert!(summary.contains("0 B behind"), "{summary}");
    let evidence: serde_json::Value = log
        .iter()
        .find(|(s, _)| s == steps::postgres::EVIDENCE_STREAM)
        .map(|(_, t)| serde_json::from_str(t).expect("evidence JSON"))
        .expect("RPO evidence recorded");
    assert_eq!(evidence["lag_bytes"], 0, "{evidence}");
    assert_eq!(evidence["replay_age_secs"], 0.0, "{evidence}");
    assert!(
        evidence.get("rpo").is_none(),
        "measured, not unknown: {evidence}"
    );
    assert_eq!(
        scalar(&old.url(), "SELECT pg_is_in_recovery()").await,
        Some("f".into()),
        "prod is primary again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejoin_rewinds_the_old_primary_and_is_verified_streaming_from_the_new_one() {
    let old = pg::primary(true);
    let new = pg::standby(&old, "dr_slot");
    fail_over_and_diverge(&old, &new).await;
    let plan = Arc::new(real_rejoin_plan(&old, &new));
    let step = &plan.steps[0];
    assert!(steps::is_mutating(&step.action));
    assert_eq!(step.confirm.as_deref(), Some("REJOIN"));
    let described = steps::describe(&step.action).join("\n");
    assert!(described.contains("rewind $ "), "{described}");
    assert!(described.contains("pg_rewind"), "{described}");
    assert!(described.contains("DESTROYS"), "{described}");

    review_measures_the_loss_and_refuses_to_run(&plan).await;
    rejoin_streams_from_the_new_primary(&old, &new, &plan).await;
    switch_back_measures_rpo_zero(&old, &plan).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejoin_whose_server_never_streams_fails_never_a_false_green() {
    let new = pg::primary(true);
    // The "old primary" is a server that never connects back: a rewind that exits 0 and
    // nothing started.
    let old = pg::primary(false);
    let plan = Arc::new(rejoin_plan(&old, &new, &["true".to_string()], None, 3));
    let mut c = ctx(&plan, false);
    let out = steps::run(&plan.steps[0].action, c.ctx.clone()).await;
    let e = out.expect_err("never in pg_stat_replication: must fail");
    assert!(e.contains("NOT verified"), "{e}");
    assert!(e.contains("not in pg_stat_replication"), "{e}");
    let log = lines(&mut c.rx);
    assert!(log.iter().any(|(_, t)| t.contains("$ true")), "{log:?}");
}

#[test]
fn a_rejoin_without_a_typed_word_does_not_load() {
    let text = r#"
[plan]
name = "x"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "P"
database = { postgres = "postgresql://postgres@127.0.0.1:1/postgres" }

[sites.dr]
label = "D"
database = { postgres = "postgresql://postgres@127.0.0.1:2/postgres" }

[[step]]
id = "rejoin"
title = "Rejoin"
kind = "postgres.rejoin"
new_primary = "dr"
rewind_command = ["pg_rewind"]
"#;
    let e = steps::load_str(text, "x.toml", &LoadOptions::default()).expect_err("no confirm");
    assert!(e.message.contains("`confirm`"), "{e}");
    let same = text.replace(
        "new_primary = \"dr\"",
        "new_primary = \"prod\"\nconfirm = \"REJOIN\"",
    );
    let e = steps::load_str(&same, "x.toml", &LoadOptions::default()).expect_err("same site");
    assert!(e.message.contains("the site being rejoined"), "{e}");
}

fn drcockpit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(args)
        .env(
            "DRCOCKPIT_STATE_DIR",
            std::env::temp_dir().join("drcockpit-failback-test-state"),
        )
        .output()
        .expect("run drcockpit")
}

#[test]
fn reverse_of_every_shipped_plan_passes_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    for plan in [
        "plans/demo.toml",
        "plans/qovery-pilot-light.toml",
        "plans/qovery-warm-standby.toml",
    ] {
        let out = drcockpit(&["reverse", plan]);
        assert!(
            out.status.success(),
            "reverse {plan}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(text.contains("# TODO:"), "{plan}: {text}");
        assert!(text.contains("— failback"), "{plan}: {text}");
        // Next to the shipped plans, so relative paths and the schema line resolve alike.
        let path = dir.path().join("back.toml");
        std::fs::write(&path, &text).expect("write");
        let check = drcockpit(&["check", path.to_str().expect("path")]);
        assert!(
            check.status.success(),
            "check of reverse {plan} failed: {}\n{text}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let demo = String::from_utf8(drcockpit(&["reverse", "plans/demo.toml"]).stdout).expect("utf-8");
    assert!(demo.contains("id = \"deploy-dr-back\""), "{demo}");
    assert!(
        demo.contains("kind = \"dns.switch\"\nsite = \"prod\""),
        "{demo}"
    );
}

#[test]
fn reverse_of_a_postgres_promotion_is_rejoin_wait_fence_promote_back() {
    let plan = r#"
[plan]
name = "pg"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "P"
database = { postgres = "postgresql://postgres@db-prod:5432/postgres" }

[sites.dr]
label = "D"
database = { postgres = "postgresql://postgres@db-dr:5432/postgres" }

[[step]]
id = "approve"
title = "Go"
kind = "approval"
confirm = "FAILOVER"

[[step]]
id = "promote"
title = "Promote DR"
kind = "postgres.promote"
site = "dr"
confirm = "PROMOTE"

[[step]]
id = "point"
title = "Point the variables at DR"
kind = "qovery.set_variables"
environment = "c7e9d1a4-5b2f-4e8a-8c3d-1f2a3b4c0202"
variables = { DATABASE_URL = "postgres://db-dr/shop" }
"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("pg.toml");
    std::fs::write(&src, plan).expect("write");
    let out = drcockpit(&["reverse", src.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("kind = "))
        .collect();
    assert_eq!(
        kinds,
        [
            "\"approval\"",
            "\"postgres.rejoin\"",
            "\"wait\"",
            "\"postgres.fence\"",
            "\"postgres.promote\""
        ],
        "{text}"
    );
    assert!(
        text.contains("# TODO: `point` (qovery.set_variables)"),
        "{text}"
    );
    let back = dir.path().join("pg-back.toml");
    std::fs::write(&back, &text).expect("write");
    let check = drcockpit(&["check", back.to_str().expect("path")]);
    assert!(
        check.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn shipped_failback_plans_pass_check_and_switch_over_with_a_promotion() {
    for plan in ["plans/qovery-pilot-light-failback.toml"] {
        let check = drcockpit(&["check", plan]);
        assert!(
            check.status.success(),
            "check {plan}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        // `check` passed above (secrets unset); the kinds in order, from the file.
        let doc: toml::Table =
            toml::from_str(&std::fs::read_to_string(plan).expect("read")).expect("TOML");
        let kinds: Vec<&str> = doc["step"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s.get("kind").and_then(toml::Value::as_str))
            .collect();
        for k in [
            "postgres.rejoin",
            "wait",
            "postgres.fence",
            "postgres.promote",
        ] {
            assert!(kinds.contains(&k), "{plan} has no {k}: {kinds:?}");
        }
        // The promotion (the RPO evidence point) waits for the rejoined standby's lag 0.
        let rejoin = kinds.iter().position(|k| *k == "postgres.rejoin");
        let promote = kinds.iter().position(|k| *k == "postgres.promote");
        assert!(rejoin < promote, "{kinds:?}");
    }
}

/// A credential written into the failover plan (the demo's PowerDNS key) is not printed by
/// `reverse`: the skeleton names a reference in its place, and it still passes `check`.
#[test]
fn reverse_never_prints_a_credential_written_into_the_plan() {
    let out = drcockpit(&["reverse", "plans/demo.toml"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let plan = std::fs::read_to_string("plans/demo.toml").expect("demo plan");
    let literal = "demo-pdns-api-key";
    assert!(
        plan.contains(&format!("api_key = \"{literal}\"")),
        "the demo plan writes its PowerDNS key literally"
    );
    assert!(!text.contains(literal), "the key is printed:\n{text}");
    assert!(
        text.contains("${env:DRCOCKPIT_FAILBACK_SECRET_TODO}"),
        "{text}"
    );
}
