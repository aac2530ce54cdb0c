//! Cloud metric sources for replication lag and backup age (issue 16 §5): CloudWatch
//! `GetMetricData` (SigV4, credential chain with IMDSv2 instance roles) and Datadog
//! `/api/v1/query`, against the simulator's endpoints and against recorded documented responses
//! in tests/fixtures/metrics/ (see its README for where each came from). The rule under test
//! throughout: a wrong, empty, null or stale series is an ERROR, never a zero.

mod common;

use std::time::{Duration, SystemTime};

use drcockpit::clients::aws::{Imds, sign_request};
use drcockpit::clients::cloudwatch::{self, CloudWatch, MetricStat};
use drcockpit::clients::datadog::{self, Datadog};
use drcockpit::clients::http::{HttpClient, RequestSpec};
use drcockpit::clients::series::latest_value;
use drcockpit::plan::{self, LoadOptions, Plan, SiteId, Value};
use drcockpit::probes::database::metrics::{probe_cloudwatch, probe_datadog};

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/metrics/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("timestamp")
        .timestamp()
}

fn example_credentials() -> aws_credential_types::Credentials {
    // AWS's documented example key pair (SigV4 test suite).
    aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    )
}

fn rds(metric: &str, db: &str) -> MetricStat {
    MetricStat {
        namespace: "AWS/RDS".into(),
        metric: metric.into(),
        dimensions: vec![("DBInstanceIdentifier".into(), db.into())],
        stat: "Maximum".into(),
        period: 60,
    }
}

async fn sim() -> String {
    common::serve(
        drcockpit::sim::cloudwatch::routes()
            .merge(drcockpit::sim::datadog::routes())
            .merge(drcockpit::sim::imds::routes()),
    )
    .await
}

const FIVE_MIN: Duration = Duration::from_secs(300);

// --- recorded documented responses -----------------------------------------------------------

#[test]
fn cloudwatch_documented_response_parses_and_its_empty_result_is_an_error() {
    let results =
        cloudwatch::parse_response(&fixture("getmetricdata_response.xml")).expect("parse");
    assert_eq!(results.len(), 2);
    let (id, status, lag) = &results[0];
    assert_eq!((id.as_str(), status.as_str()), ("m0", "Complete"));
    assert_eq!(lag.points.len(), 3);
    let now = ts("2026-12-06T12:00:30Z");
    let v = latest_value(
        "CloudWatch",
        "ReplicaLag",
        std::slice::from_ref(lag),
        now,
        FIVE_MIN,
    );
    assert_eq!(v, Ok(3.0), "the LATEST datapoint (11:59), not the largest");
    // m1 answered with no datapoints: an error naming the query, never 0.
    let e = latest_value(
        "CloudWatch",
        "AWS/RDS OldestReplicationSlotLagg",
        std::slice::from_ref(&results[1].2),
        now,
        FIVE_MIN,
    )
    .expect_err("an empty series is an error");
    assert!(
        e.contains("no datapoints") && e.contains("OldestReplicationSlotLagg"),
        "{e}"
    );
}

#[test]
fn cloudwatch_stale_latest_datapoint_is_an_error() {
    let results =
        cloudwatch::parse_response(&fixture("getmetricdata_response.xml")).expect("parse");
    let e = latest_value(
        "CloudWatch",
        "ReplicaLag",
        std::slice::from_ref(&results[0].2),
        ts("2026-12-06T13:00:00Z"),
        FIVE_MIN,
    )
    .expect_err("an hour-old datapoint is stale");
    assert!(
        e.contains("stopped reporting") && e.contains("max_age"),
        "{e}"
    );
}

#[test]
fn cloudwatch_documented_error_names_code_and_message() {
    let d = cloudwatch::error_detail(&fixture("cloudwatch_error_response.xml"));
    assert!(
        d.starts_with("InvalidParameterValue: The value Maximal"),
        "{d}"
    );
    // The JSON protocol's shape is understood too.
    let j = cloudwatch::error_detail(
        r#"{"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"bad stat"}"#,
    );
    assert_eq!(j, "InvalidParameterValueException: bad stat");
}

#[test]
fn datadog_documented_response_parses_and_a_null_latest_point_is_an_error() {
    let body = fixture("datadog_query_response.json");
    let series = datadog::parse_response(&body, "max:aws.rds.replica_lag{*}").expect("parse");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].label, "dbinstanceidentifier:app-dr");
    assert_eq!(
        series[0].points,
        vec![(1_710_000_000, Some(12.3)), (1_710_000_060, Some(11.8))]
    );
    let now = 1_710_000_100;
    let one = latest_value("Datadog", "q", &series[..1], now, FIVE_MIN);
    assert_eq!(one, Ok(11.8));
    let e = latest_value(
        "Datadog",
        "max:aws.rds.replica_lag{*}",
        &series,
        now,
        FIVE_MIN,
    )
    .expect_err("a null latest point is an error");
    assert!(e.contains("not a number") && e.contains("app-dr-2"), "{e}");
    assert_eq!(
        datadog::error_detail(&fixture("datadog_forbidden.json")),
        "Forbidden"
    );
}

#[test]
fn datadog_error_status_in_a_200_is_an_error() {
    let e = datadog::parse_response(r#"{"status":"error","error":"Rule parse error"}"#, "x{")
        .expect_err("status error");
    assert!(e.contains("Rule parse error"), "{e}");
}

// --- SigV4 -----------------------------------------------------------------------------------

#[test]
fn shared_signer_matches_the_sigv4_test_suite_vector() {
    // AWS SigV4 test suite `get-vanilla` (the vector route53's test uses): GET
    // https://example.amazonaws.com/ by AKIDEXAMPLE at 20150830T123600Z, service `service`.
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let req = RequestSpec {
        method: "GET".into(),
        url: "https://example.amazonaws.com/".into(),
        headers: vec![],
        body: None,
    };
    let signed =
        sign_request(req, &example_credentials(), "us-east-1", "service", at).expect("sign");
    let auth = signed
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone());
    assert_eq!(
        auth.as_deref(),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
}

#[test]
fn cloudwatch_request_is_a_signed_query_api_get() {
    let mut cw = CloudWatch::new("eu-west-3", None);
    cw.credentials = Some(example_credentials());
    cw.signing_time = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_440_938_160));
    let req = cw.request(&[rds("ReplicaLag", "app-dr")], 1_440_937_800, 1_440_938_100);
    assert_eq!(req.method, "GET", "a GET passes the read-only transport");
    assert!(req.url.starts_with("https://monitoring.eu-west-3.amazonaws.com/?Action=GetMetricData&Version=2010-08-01&StartTime=2015-08-30T12%3A30%3A00Z"), "{}", req.url);
    assert!(
        req.url
            .contains("MetricDataQueries.member.1.MetricStat.Metric.Namespace=AWS%2FRDS")
    );
    assert!(
        req.url.contains(
            "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=app-dr"
        )
    );
    let signed = cw.sign(req, &example_credentials()).expect("sign");
    let auth = signed
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-3/monitoring/aws4_request"
        ),
        "{auth}"
    );
}

// --- simulator -------------------------------------------------------------------------------

#[tokio::test]
async fn cloudwatch_sim_answers_rds_metrics_and_an_unknown_metric_is_an_error() {
    let base = sim().await;
    let http = HttpClient::new(true);
    let mut cw = CloudWatch::new("eu-west-3", Some(&format!("{base}/cloudwatch")));
    cw.credentials = Some(example_credentials());
    let now = chrono::Utc::now().timestamp();
    let qs = [
        rds("ReplicaLag", "app-dr"),
        rds("OldestReplicationSlotLag", "app-dr"),
        rds("TransactionLogsDiskUsage", "app-dr"),
        rds("ReplicaLagg", "app-dr"),
    ];
    let series = cw
        .get_metric_data(&http, &qs, now - 600, now)
        .await
        .expect("answer through a READ-ONLY transport");
    assert_eq!(series.len(), 4);
    let v = |i: usize| {
        latest_value(
            "CloudWatch",
            &qs[i].describe(),
            &series[i..=i],
            now,
            FIVE_MIN,
        )
    };
    assert_eq!(v(0), Ok(2.0));
    assert_eq!(v(1), Ok(1_048_576.0));
    assert_eq!(v(2), Ok(268_435_456.0));
    let e = v(3).expect_err("a wrong metric answers nothing: an error, not 0");
    assert!(e.contains("ReplicaLagg"), "{e}");
}

#[tokio::test]
async fn cloudwatch_sim_errors_come_back_as_code_and_message() {
    let base = sim().await;
    let http = HttpClient::new(true);
    // Unsigned: 403 MissingAuthenticationToken in the Query API's XML ErrorResponse.
    let r = http
        .get(
            &format!("{base}/cloudwatch/?Action=GetMetricData&Version=2010-08-01"),
            Duration::from_secs(5),
        )
        .await
        .expect("answer");
    assert_eq!(r.status, 403);
    assert!(cloudwatch::error_detail(&r.body).starts_with("MissingAuthenticationToken"));
    // A statistic CloudWatch does not know: 400 InvalidParameterValue, surfaced.
    let mut cw = CloudWatch::new("eu-west-3", Some(&format!("{base}/cloudwatch")));
    cw.credentials = Some(example_credentials());
    let mut q = rds("ReplicaLag", "app-dr");
    q.stat = "Maximal".into();
    let e = cw
        .get_metric_data(&http, &[q], 0, 60)
        .await
        .expect_err("400");
    assert!(
        e.contains("400") && e.contains("InvalidParameterValue"),
        "{e}"
    );
    // A stale series (dimension `stale`: points an hour old) is refused.
    let now = chrono::Utc::now().timestamp();
    let s = cw
        .get_metric_data(&http, &[rds("ReplicaLag", "stale")], now - 7200, now)
        .await
        .expect("answer");
    assert!(latest_value("CloudWatch", "ReplicaLag", &s, now, FIVE_MIN).is_err());
}

#[tokio::test]
async fn imds_v2_gives_role_credentials_only_with_a_token() {
    let base = sim().await;
    let (c, exp) = Imds::new(&base).fetch().await.expect("instance role");
    assert_eq!(c.access_key_id(), drcockpit::sim::imds::ACCESS_KEY_ID);
    assert!(c.session_token().is_some());
    let left = exp.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(left > Duration::from_secs(5 * 3600), "{left:?}");
    // Without the token: 401, as IMDSv2 answers.
    let http = HttpClient::new(true);
    let r = http
        .get(
            &format!("{base}/latest/meta-data/iam/security-credentials/"),
            Duration::from_secs(5),
        )
        .await
        .expect("answer");
    assert_eq!(r.status, 401);
    // Nothing listening: a short, named failure (the chain moves on).
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let e = Imds::new(&dead).fetch().await.expect_err("no IMDS");
    assert!(e.contains("/latest/api/token"), "{e}");
}

#[tokio::test]
async fn datadog_sim_forbidden_and_wrong_query_are_errors() {
    let base = sim().await;
    let http = HttpClient::new(true);
    let dd = |k: &str| Datadog {
        api_url: format!("{base}/datadog"),
        api_key: k.into(),
        app_key: "sim-app".into(),
    };
    let now = chrono::Utc::now().timestamp();
    let e = dd("bad")
        .query(&http, "max:aws.rds.replica_lag{*}", now - 600, now)
        .await
        .expect_err("403");
    assert!(e.contains("403") && e.contains("Forbidden"), "{e}");
    let ok = dd("sim-api")
        .query(
            &http,
            "max:aws.rds.replica_lag{dbinstanceidentifier:app-dr}",
            now - 600,
            now,
        )
        .await
        .expect("200");
    assert_eq!(latest_value("Datadog", "q", &ok, now, FIVE_MIN), Ok(2.0));
    let empty = dd("sim-api")
        .query(&http, "max:aws.rds.replika_lag{*}", now - 600, now)
        .await
        .expect("200 with no series");
    assert!(empty.is_empty());
    let e = latest_value(
        "Datadog",
        "max:aws.rds.replika_lag{*}",
        &empty,
        now,
        FIVE_MIN,
    )
    .expect_err("an empty answer is an error, not 0");
    assert!(e.contains("replika_lag"), "{e}");
}

// --- plan wiring -----------------------------------------------------------------------------

const DR_DB_PREFIX: &str = "database = { prometheus = { url = \"${sim}\", lag_query = 'pg_replication_lag_bytes{site=\"dr\"}'";

/// The demo plan with DR's database line replaced by `db`.
fn plan_with_dr_db(sim_url: &str, db: &str) -> Result<Plan, String> {
    let text: String = plan::DEMO_PLAN
        .lines()
        .map(|l| {
            if l.starts_with(DR_DB_PREFIX) {
                db.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains(db), "the demo plan's DR database line moved");
    drcockpit::steps::load_str(
        &text,
        "metrics.toml",
        &LoadOptions {
            sim_url: Some(sim_url.into()),
            run_commands: false,
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn plan_rejects_cloud_metric_mistakes_at_load() {
    let bad = [
        (
            r#"database = { cloudwatch = { region = "eu-west-3", db_instance = "a", replay_age = { metric = "ReplicaLag", stat = "Maximal" } } }"#,
            "unknown statistic `Maximal`",
        ),
        (
            r#"database = { cloudwatch = { region = "eu-west-3", db_instance = "a", lag = { metric = "ReplicaLag" } } }"#,
            "not an RDS metric in bytes",
        ),
        (
            r#"database = { cloudwatch = { region = "Paris", db_instance = "a", lag = { metric = "OldestReplicationSlotLag" } } }"#,
            "not an AWS region",
        ),
        (
            r#"database = { cloudwatch = { region = "eu-west-3", lag = { metric = "OldestReplicationSlotLag" } } }"#,
            "no `db_instance`",
        ),
        (
            r#"database = { cloudwatch = { region = "eu-west-3", db_instance = "a" } }"#,
            "reads nothing",
        ),
        (
            r#"database = { datadog = { api_key = "0123abcd", app_key = "${env:DD_APP_KEY}", lag_query = "x" } }"#,
            "give it by reference",
        ),
        (
            r#"database = { datadog = { site = "datadog", api_key = "${env:DD_API_KEY}", app_key = "${env:DD_APP_KEY}", lag_query = "x" } }"#,
            "not a Datadog site",
        ),
        (
            r#"database = { prometheus = { url = "${sim}", lag_query = "x" }, datadog = { api_key = "${env:DD_API_KEY}", app_key = "${env:DD_APP_KEY}", lag_query = "x" } }"#,
            "one source",
        ),
    ];
    for (db, want) in bad {
        let e = plan_with_dr_db("http://127.0.0.1:9", db).expect_err(db);
        assert!(e.contains(want), "{db}\n→ {e}");
    }
}

#[tokio::test]
async fn cloudwatch_probe_from_the_plan_signs_with_instance_role_credentials() {
    let base = sim().await;
    // No keys in the environment or a credentials file: the chain must reach IMDSv2.
    // SAFETY: nextest runs each test in its own process; no other test here reads these.
    unsafe {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/drcockpit-test");
        std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &base);
    }
    let p = plan_with_dr_db(
        &base,
        r#"database = { cloudwatch = { region = "eu-west-3", endpoint = "${sim}/cloudwatch", db_instance = "app-dr", lag = { metric = "OldestReplicationSlotLag" }, replay_age = { metric = "ReplicaLag" }, wal_disk = { metric = "TransactionLogsDiskUsage" }, backup_age = { namespace = "Custom/Backups", metric = "BackupAgeSeconds", dimensions = { DBInstanceIdentifier = "app-dr" } } }, max_lag = "16MiB", max_replay_age = "1m", max_backup_age = "26h" }"#,
    )
    .expect("plan");
    let cfg = p.site(SiteId::Dr).database.clone().expect("dr database");
    let cw = cfg.cloudwatch.clone().expect("cloudwatch source");
    let r = probe_cloudwatch(&HttpClient::new(true), &cw, &cfg)
        .await
        .expect("reading");
    assert_eq!(r.fields["lag"], Value::Bytes(1 << 20));
    assert_eq!(
        r.fields["replay_age"],
        Value::Duration(Duration::from_secs(2))
    );
    assert_eq!(r.fields["wal_disk"], Value::Bytes(256 << 20));
    assert_eq!(
        r.fields["backup_age"],
        Value::Duration(Duration::from_secs(3600))
    );
    assert_eq!(r.fields["ok"], Value::Bool(true));
    assert!(r.summary.ends_with("via CloudWatch"), "{}", r.summary);

    // A wrong metric name fails the probe, naming it; it never reads as 0 lag.
    let mut wrong = cw.clone();
    if let Some(m) = wrong.lag.as_mut() {
        m.metric = "OldestReplicationSlotLagg".into();
    }
    let e = probe_cloudwatch(&HttpClient::new(true), &wrong, &cfg)
        .await
        .expect_err("no data");
    assert!(
        e.full.contains("OldestReplicationSlotLagg") && e.full.contains("no datapoints"),
        "{}",
        e.full
    );
}

#[tokio::test]
async fn datadog_probe_from_the_plan_and_its_empty_series_is_an_error() {
    let base = sim().await;
    // SAFETY: nextest runs each test in its own process; no other test here reads these.
    unsafe {
        std::env::set_var("DRC_TEST_DD_API_KEY", "sim-dd-api-key-0001");
        std::env::set_var("DRC_TEST_DD_APP_KEY", "sim-dd-app-key-0001");
    }
    let p = plan_with_dr_db(
        &base,
        r#"database = { datadog = { api_url = "${sim}/datadog", api_key = "${env:DRC_TEST_DD_API_KEY}", app_key = "${env:DRC_TEST_DD_APP_KEY}", replay_age_query = "max:aws.rds.replica_lag{dbinstanceidentifier:app-dr}", lag_query = "max:aws.rds.oldest_replication_slot_lag{dbinstanceidentifier:app-dr}" }, max_replay_age = "1m" }"#,
    )
    .expect("plan");
    let cfg = p.site(SiteId::Dr).database.clone().expect("dr database");
    let dd = cfg.datadog.clone().expect("datadog source");
    let r = probe_datadog(&HttpClient::new(true), &dd, &cfg)
        .await
        .expect("reading");
    assert_eq!(
        r.fields["replay_age"],
        Value::Duration(Duration::from_secs(2))
    );
    assert_eq!(r.fields["lag"], Value::Bytes(1 << 20));
    // The keys are secrets: redacted wherever they could be shown.
    let shown = drcockpit::redact::redact("key sim-dd-api-key-0001").into_owned();
    assert!(!shown.contains("sim-dd-api-key-0001"), "{shown}");

    let mut empty = dd.clone();
    empty.replay_age_query = Some("max:aws.rds.replika_lag{dbinstanceidentifier:app-dr}".into());
    let e = probe_datadog(&HttpClient::new(true), &empty, &cfg)
        .await
        .expect_err("no series");
    assert!(
        e.full.contains("replika_lag") && e.full.contains("no datapoints"),
        "{}",
        e.full
    );

    let mut nulls = dd.clone();
    nulls.replay_age_query = Some("max:aws.rds.replica_lag{nulls}".into());
    let e = probe_datadog(&HttpClient::new(true), &nulls, &cfg)
        .await
        .expect_err("null");
    assert!(e.full.contains("not a number"), "{}", e.full);
}
