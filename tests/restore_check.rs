//! `postgres.restore_check` (issue 16 §3, the monthly backup-restore test) against a real
//! PostgreSQL 15: a source database with data, a real `pg_dump -Fc`, then the step restores it
//! into a scratch database, validates, records the backup's age as RPO evidence and drops the
//! scratch database — whether the validations pass or fail.

use std::sync::Arc;

use tokio::sync::mpsc;

use drcockpit::app::Msg;
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::postgres::{self, ConnectOptions};
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::steps::{self, StepContext};

mod common;
use common::pg::{self, Pg};

fn plan_text(port: u16, dump: &str, validations: &str, scratch: &str) -> String {
    format!(
        r#"
[plan]
name = "restore drill"
strategy = "backup-restore"
rto = "4h"
rpo = "24h"

[sites.prod]
label = "Prod"
database = {{ postgres = "postgresql://postgres@127.0.0.1:{port}/shop" }}

[sites.dr]
label = "DR"

[[step]]
id = "restore-check"
title = "Monthly restore test"
kind = "postgres.restore_check"
admin_url = "postgresql://postgres@127.0.0.1:{port}/postgres"
dump = "{dump}"
scratch_database = "{scratch}"
{validations}
"#
    )
}

fn load(text: &str) -> Result<Plan, String> {
    steps::load_str(text, "restore.toml", &LoadOptions::default()).map_err(|e| e.to_string())
}

async fn sql(url: &str, q: &str) {
    let s = postgres::connect(
        url,
        &ConnectOptions::mutating(std::time::Duration::from_secs(30)),
    )
    .await
    .expect("connect");
    s.simple(q).await.unwrap_or_else(|e| panic!("{q}: {e}"));
}

async fn database_exists(pg: &Pg, name: &str) -> bool {
    let s = postgres::connect(&pg.url(), &ConnectOptions::probe())
        .await
        .expect("connect");
    s.scalar(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    ))
    .await
    .expect("query")
    .as_deref()
        == Some("1")
}

/// A server with database `shop` (50 orders, updated now) and its `pg_dump -Fc` in a file.
async fn source_with_dump() -> (Pg, tempfile::TempDir, String) {
    let pg = pg::primary(false);
    sql(&pg.url(), "CREATE DATABASE shop").await;
    let shop = format!("postgresql://postgres@127.0.0.1:{}/shop", pg.port);
    sql(
        &shop,
        "CREATE TABLE orders (id int PRIMARY KEY, total numeric, updated_at timestamptz NOT NULL); \
         INSERT INTO orders SELECT g, g * 1.5, now() FROM generate_series(1, 50) g; \
         CREATE TABLE empty_one (id int)",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = dir.path().join("shop.dump");
    let mut c = std::process::Command::new(pg::bin_dir().join("pg_dump"));
    c.args(["-Fc", "-h", "127.0.0.1", "-p", &pg.port.to_string()])
        .args(["-U", "postgres", "-d", "shop", "-f"])
        .arg(&dump);
    pg::run(c, "pg_dump -Fc");
    (pg, dir, dump.display().to_string())
}

/// Run the plan's only step in live mode; the result and every (stream, text) it emitted.
async fn run_step(plan: Plan) -> (Result<String, String>, Vec<(String, String)>) {
    let plan = Arc::new(plan);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = StepContext {
        plan: plan.clone(),
        http: HttpClient::new(false),
        allow_spawn: true,
        step: 0,
        attempt: 1,
        out: drcockpit::steps::StepSink::channel(tx),
        probes: Arc::default(),
    };
    let r = steps::run(&plan.steps[0].action, ctx).await;
    let mut lines = Vec::new();
    while let Ok(m) = rx.try_recv() {
        if let Msg::StepOutput { line, .. } = m {
            lines.push((line.stream, line.text));
        }
    }
    (r, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_dump_restores_validates_records_the_backup_age_and_drops_the_scratch_database() {
    let (pg, _dir, dump) = source_with_dump().await;
    let shop = format!("postgresql://postgres@127.0.0.1:{}/shop", pg.port);
    let validations = format!(
        "min_rows = {{ \"public.orders\" = 50 }}\nmax_age = {{ \"public.orders.updated_at\" = \"1h\" }}\n\
         checksum_tables = [\"public.orders\"]\nchecksum_source = \"{shop}\"\n"
    );
    let plan = load(&plan_text(pg.port, &dump, &validations, "restore_scratch")).expect("loads");
    let step = &plan.steps[0];
    assert!(steps::is_mutating(&step.action));
    let review = steps::describe(&step.action).join("\n");
    assert!(
        review.contains("CREATE DATABASE \"restore_scratch\"")
            && review.contains("--exit-on-error")
            && review.contains("DROP DATABASE IF EXISTS \"restore_scratch\" WITH (FORCE)"),
        "{review}"
    );

    let (r, lines) = run_step(plan).await;
    let summary = r.unwrap_or_else(|e| panic!("the check failed: {e}\n{lines:#?}"));
    assert!(summary.contains("3 validation(s) passed"), "{summary}");
    let evidence: Vec<serde_json::Value> = lines
        .iter()
        .filter(|(s, _)| s == "evidence:rpo")
        .map(|(_, t)| serde_json::from_str(t).expect("evidence is JSON"))
        .collect();
    assert_eq!(evidence.len(), 1, "{lines:#?}");
    let ev = &evidence[0];
    assert!(ev["what"].as_str().is_some_and(|w| w.contains("rpo")));
    assert_eq!(ev["strategy"], "backup-restore");
    assert!(
        ev["basis"]
            .as_str()
            .is_some_and(|b| b.contains("pg_restore --list")),
        "{ev}"
    );
    let age = ev["data_loss_secs"].as_f64().expect("an age");
    assert!(age >= 0.0, "{ev}");
    assert!(!database_exists(&pg, "restore_scratch").await);
    // The source is untouched.
    assert!(database_exists(&pg, "shop").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_validation_fails_the_check_and_still_drops_the_scratch_database() {
    let (pg, _dir, dump) = source_with_dump().await;
    let validations = "min_rows = { \"public.orders\" = 1000, \"public.empty_one\" = 1 }\n\
                       checksum_tables = [\"public.orders\"]\nchecksum = \"0123\"\n";
    let plan = load(&plan_text(pg.port, &dump, validations, "restore_scratch")).expect("loads");
    let (r, lines) = run_step(plan).await;
    let e = r.expect_err("too few rows must fail");
    assert!(e.contains("3 of 3 validation(s) failed"), "{e}");
    assert!(e.contains("public.orders: 50 rows (at least 1000)"), "{e}");
    assert!(e.contains("public.empty_one: 0 rows"), "{e}");
    assert!(
        !lines.iter().any(|(s, _)| s == "evidence:rpo"),
        "{lines:#?}"
    );
    assert!(!database_exists(&pg, "restore_scratch").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_that_name_without_the_marker_is_refused_and_kept() {
    let (pg, _dir, dump) = source_with_dump().await;
    sql(&pg.url(), "CREATE DATABASE someone_elses").await;
    let plan = load(&plan_text(
        pg.port,
        &dump,
        "min_rows = { \"public.orders\" = 1 }",
        "someone_elses",
    ))
    .expect("loads");
    let (r, _) = run_step(plan).await;
    assert!(
        r.expect_err("refused")
            .contains("not a drcockpit scratch database")
    );
    assert!(database_exists(&pg, "someone_elses").await);
}

#[test]
fn the_scratch_database_may_not_be_one_the_plan_names() {
    let pg_less = |scratch: &str, validations: &str| {
        let text = plan_text(5432, "/tmp/x.dump", validations, scratch);
        load(&text)
    };
    let e = pg_less("shop", "min_rows = { \"public.orders\" = 1 }").expect_err("prod's db");
    assert!(e.contains("is a database the plan names"), "{e}");
    let e = pg_less("postgres", "min_rows = { \"public.orders\" = 1 }").expect_err("admin db");
    assert!(e.contains("is a database the plan names"), "{e}");
    let e = pg_less("scratch", "min_rows = { \"public.orders\" = 0 }").expect_err("0 rows");
    assert!(e.contains("would pass on an empty table"), "{e}");
    let e = pg_less("scratch", "").expect_err("no validation");
    assert!(e.contains("needs `min_rows`"), "{e}");
    let e = pg_less("scratch", "min_rows = { \"orders; drop table x\" = 1 }").expect_err("sql");
    assert!(e.contains("not a table name"), "{e}");
    assert!(pg_less("scratch", "min_rows = { \"public.orders\" = 1 }").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_mid_check_still_drops_the_scratch_database() {
    let (pg, _dir, dump) = source_with_dump().await;
    // A "source" that accepts connections and never answers: the checksum comparison waits on
    // it after the scratch database was created and restored, and the step's timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let validations = format!(
        "min_rows = {{ \"public.orders\" = 1 }}\nchecksum_tables = [\"public.orders\"]\n\
         checksum_source = \"postgresql://postgres@127.0.0.1:{silent_port}/shop?sslmode=disable\"\n"
    );
    let plan =
        Arc::new(load(&plan_text(pg.port, &dump, &validations, "restore_scratch")).expect("loads"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = StepContext {
        plan: plan.clone(),
        http: HttpClient::new(false),
        allow_spawn: true,
        step: 0,
        attempt: 1,
        out: drcockpit::steps::StepSink::channel(tx),
        probes: Arc::default(),
    };
    let action = plan.steps[0].action.clone();
    let mut run = Box::pin(steps::run(&action, ctx));
    // Wait until the restore is done (the validations started), then give up on the step as
    // the engine's timeout does: by dropping its future.
    let mut seen = Vec::new();
    loop {
        tokio::select! {
            r = &mut run => panic!("the step ended before the checksum: {r:?}\n{seen:#?}"),
            m = rx.recv() => match m {
                Some(Msg::StepOutput { line, .. }) => {
                    let restored = line.text.contains("public.orders: 50 rows");
                    seen.push(line.text);
                    if restored {
                        break;
                    }
                }
                Some(_) => {}
                None => panic!("channel closed"),
            },
        }
    }
    assert!(database_exists(&pg, "restore_scratch").await);
    drop(run);
    let mut gone = false;
    for _ in 0..150 {
        if !database_exists(&pg, "restore_scratch").await {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(gone, "the guard did not drop the scratch database");
    drop(silent);
}
