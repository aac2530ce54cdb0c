//! A managed database (RDS, Scaleway) watched through BOTH a PostgreSQL connection and a cloud
//! metric source (issue 16 loose ends): PostgreSQL cannot see the provider's backups, so the
//! backup age comes from CloudWatch/Datadog; when both give a lag, the worse is believed and both
//! are shown. A real PostgreSQL server and the simulator's CloudWatch endpoint.

mod common;

use std::time::Duration;

use drcockpit::app::Level;
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::postgres::ProbeSessions;
use drcockpit::plan::{CloudWatchMetric, CloudWatchSource, DatabaseConfig, Plan, SiteId, Value};
use drcockpit::probes::database::probe;

fn metric(namespace: &str, name: &str) -> Option<CloudWatchMetric> {
    Some(CloudWatchMetric {
        namespace: namespace.into(),
        metric: name.into(),
        dimensions: vec![("DBInstanceIdentifier".into(), "app-dr".into())],
        stat: "Maximum".into(),
    })
}

/// DR's database: PostgreSQL at `pg_url`, and CloudWatch at `cw` with the simulator's RDS lag
/// (1 MiB), replica lag (2 s) and a team's backup-age metric (3600 s).
fn plan(pg_url: &str, cw: &str, max_backup_age: Duration) -> Plan {
    // SAFETY: nextest runs each test in its own process; nothing else here reads these.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
        std::env::set_var(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        );
    }
    let mut p = common::qovery::plan("cloud beside postgres", "http://127.0.0.1:9");
    p.sites[SiteId::Dr.index()].database = Some(DatabaseConfig {
        postgres: Some(pg_url.into()),
        max_lag_bytes: Some(16 << 20),
        max_backup_age: Some(max_backup_age),
        cloudwatch: Some(CloudWatchSource {
            region: "eu-west-3".into(),
            endpoint: Some(format!("{cw}/cloudwatch")),
            period: 60,
            max_age: Duration::from_secs(300),
            lag: metric("AWS/RDS", "OldestReplicationSlotLag"),
            replay_age: metric("AWS/RDS", "ReplicaLag"),
            wal_disk: None,
            backup_age: metric("Custom/Backups", "BackupAgeSeconds"),
        }),
        ..Default::default()
    });
    p
}

async fn sim() -> String {
    common::serve(drcockpit::sim::cloudwatch::routes()).await
}

#[tokio::test]
async fn backup_age_comes_from_cloudwatch_and_the_worse_lag_is_believed() {
    let pg = common::pg::primary(false);
    let cw = sim().await;
    let p = plan(&pg.url(), &cw, Duration::from_secs(26 * 3600));
    let sessions = ProbeSessions::new();
    let r = probe(&p, &HttpClient::new(true), &sessions, SiteId::Dr)
        .await
        .expect("a reading");
    // PostgreSQL reads the role; CloudWatch the backup it cannot see.
    assert_eq!(r.fields["role"], Value::Text("primary".into()), "{r:?}");
    assert_eq!(
        r.fields["backup_age"],
        Value::Duration(Duration::from_secs(3600)),
        "{r:?}"
    );
    // PostgreSQL says 0 B behind (a primary), CloudWatch 1 MiB: the worse is believed, both shown.
    assert_eq!(r.fields["lag"], Value::Bytes(1 << 20), "{r:?}");
    assert!(
        r.summary.contains("PostgreSQL 0 B") && r.summary.contains("CloudWatch 1.0 MiB"),
        "{}",
        r.summary
    );
    assert!(
        r.details
            .iter()
            .any(|d| d.contains("the worse is believed")),
        "{:?}",
        r.details
    );
    assert_eq!(
        r.fields["replay_age"],
        Value::Duration(Duration::from_secs(2))
    );
    assert_eq!(r.level, Level::Good, "{r:?}");

    // The cloud's backup age is judged against the plan like any other.
    let strict = plan(&pg.url(), &cw, Duration::from_secs(1800));
    let r = probe(&strict, &HttpClient::new(true), &sessions, SiteId::Dr)
        .await
        .expect("a reading");
    assert_eq!(r.level, Level::Bad, "{r:?}");
    assert_eq!(r.fields["ok"], Value::Bool(false));
}

#[tokio::test]
async fn a_cloud_source_that_does_not_answer_leaves_the_postgres_reading_with_a_warning() {
    let pg = common::pg::primary(false);
    let p = plan(
        &pg.url(),
        "http://127.0.0.1:9",
        Duration::from_secs(26 * 3600),
    );
    let r = probe(
        &p,
        &HttpClient::new(true),
        &ProbeSessions::new(),
        SiteId::Dr,
    )
    .await
    .expect("PostgreSQL still answers");
    assert_eq!(r.fields["role"], Value::Text("primary".into()));
    // Never a zero or a fresh backup: the backup age is unknown, and said so.
    assert!(!r.fields.contains_key("backup_age"), "{r:?}");
    assert_eq!(r.level, Level::Warn, "{r:?}");
    assert!(r.summary.contains("CloudWatch ?"), "{}", r.summary);
}

#[test]
fn the_shipped_warm_standby_plan_reads_its_rds_replica_through_postgres_and_cloudwatch() {
    // SAFETY: nextest runs each test in its own process; nothing else here reads these.
    unsafe {
        std::env::set_var("QOVERY_API_TOKEN", "qov-test-token-0123456789");
        std::env::set_var(
            "DR_DATABASE_URL",
            "postgresql://app@shop-dr.example.net:5432/shop?sslmode=require",
        );
        std::env::set_var(
            "SLACK_WEBHOOK_URL",
            "https://hooks.example.com/services/T0/B0/x",
        );
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/qovery-warm-standby.toml");
    let p = drcockpit::steps::load_file(&path, &drcockpit::plan::LoadOptions::default())
        .expect("the shipped plan loads");
    let db = p.sites[SiteId::Dr.index()]
        .database
        .as_ref()
        .expect("DR has a database");
    assert!(db.postgres.is_some(), "the replica's connection");
    let cw = db.cloudwatch.as_ref().expect("a CloudWatch source");
    assert_eq!(cw.region, "eu-west-1");
    assert!(
        cw.endpoint.is_none(),
        "the real endpoint, signed by the credential chain"
    );
    assert_eq!(
        cw.replay_age.as_ref().map(|m| m.metric.as_str()),
        Some("ReplicaLag")
    );
    assert!(cw.backup_age.is_some() && db.max_backup_age.is_some());
    // The connection is a reference, never written into the plan.
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(r#"postgres = "${env:DR_DATABASE_URL}""#));
}
