//! `scaleway.create_read_replica` (issue 16 §1, the managed failback): against the simulator
//! (errors included), against the recorded documented shapes (tests/fixtures/
//! scaleway-rdb-read-replicas.json), the crash/resume case (no second POST), monitor mode's
//! refusal and review mode's describe; and `scaleway.promote_replica` by `instance_id`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::routing::{get, post};
use drcockpit::clients::http::{HttpClient, RequestSpec};
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::sim::prometheus::DbWorld;
use drcockpit::sim::scaleway::{self as scw_sim, ScalewayState};
use drcockpit::steps;
use serde_json::Value;

mod common;
use common::serve;
use common::steps::context;

const PROMOTED: &str = scw_sim::DEMO_PROMOTED_INSTANCE_ID;

/// A plan with one step (`step` holds its kind-specific keys) against the API at `url`.
fn plan(url: &str, kind: &str, step: &str) -> Plan {
    let text = format!(
        r#"
[plan]
name = "scaleway replica test"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "replica"
title = "Make a read replica"
kind = "{kind}"
site = "prod"
region = "nl-ams"
token = "{key}"
api_url = "{url}"
timeout = "30s"
{step}
"#,
        key = scw_sim::DEMO_SECRET_KEY,
    );
    steps::load_str(&text, "replica.toml", &LoadOptions::default())
        .unwrap_or_else(|e| panic!("plan loads: {e}"))
}

fn create_plan(url: &str, extra: &str) -> Plan {
    plan(
        url,
        "scaleway.create_read_replica",
        &format!("instance_id = \"{PROMOTED}\"\n{extra}"),
    )
}

/// The simulator after the demo's failover: its replica promoted into the `shop-dr` instance.
async fn after_failover() -> (Arc<ScalewayState>, String) {
    let scw = Arc::new(ScalewayState::new(Arc::new(DbWorld::new(5))));
    scw.promote_demo_replica();
    let url = serve(scw_sim::routes(scw.clone())).await;
    // The promoted instance is `configuring` for a moment, as on Scaleway.
    tokio::time::sleep(scw_sim::PROMOTION_TIME).await;
    (scw, url)
}

async fn run(plan: &Plan, read_only: bool) -> (Result<String, String>, Vec<String>) {
    let (ctx, mut heard) = context(Arc::new(plan.clone()), HttpClient::new(read_only));
    let r = steps::run(&plan.steps[0].action, ctx).await;
    (r, heard.lines().into_iter().map(|l| l.text).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_one_replica_and_passes_only_once_it_reads_back_ready() {
    let (scw, url) = after_failover().await;
    let p = create_plan(&url, "endpoint = \"direct_access\"");
    assert!(steps::is_mutating(&p.steps[0].action));
    let (r, lines) = run(&p, false).await;
    let done = r.unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
    assert!(
        done.contains("is ready") && done.contains(PROMOTED),
        "{done}"
    );
    assert!(done.contains(":5432"), "the endpoint is named: {done}");
    for st in ["provisioning", "initializing", "ready"] {
        assert!(
            lines.iter().any(|l| l.ends_with(&format!(": {st}"))),
            "{st} not seen: {lines:#?}"
        );
    }
    assert_eq!(scw.truth().create_posts, 1);
    assert_eq!(scw.replicas_of(PROMOTED).len(), 1);
    // Pressing again follows the replica it made: still one POST, still one replica.
    let (r, lines) = run(&p, false).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(
        lines.iter().any(|l| l.contains("following it")),
        "{lines:#?}"
    );
    assert_eq!(scw.truth().create_posts, 1);
    assert_eq!(scw.replicas_of(PROMOTED).len(), 1);
}

/// A crash after the POST reached Scaleway: on resume the step finds the replica and follows it
/// to ready; no second POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_the_step_follows_the_replica_and_sends_no_second_post() {
    let (scw, url) = after_failover().await;
    let existing = scw.add_replica(PROMOTED, Instant::now());
    let (r, lines) = run(&create_plan(&url, ""), false).await;
    let done = r.unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
    assert!(done.contains(&existing), "{done}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&existing) && l.contains("not creating a second")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with(": provisioning")),
        "{lines:#?}"
    );
    assert_eq!(scw.truth().create_posts, 0, "a second POST was sent");
}

/// A followed replica that lacks the endpoint the plan asks for gets it (one POST …/endpoints).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_replica_without_the_endpoint_asked_for_gets_it_once() {
    let (scw, url) = after_failover().await;
    let existing = scw.add_replica(PROMOTED, Instant::now());
    let net = "9a8b7c6d-0000-4000-8000-000000000001";
    let p = create_plan(&url, &format!("private_network_id = \"{net}\""));
    let (r, lines) = run(&p, false).await;
    r.unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("POST ") && l.contains(&format!("{existing}/endpoints"))),
        "{lines:#?}"
    );
    assert_eq!(scw.truth().create_posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_refuses_it_and_the_read_only_transport_refuses_the_post() {
    let (scw, url) = after_failover().await;
    let p = create_plan(&url, "");
    let (r, _) = run(&p, true).await;
    let e = r.expect_err("read-only");
    assert!(e.contains("read-only"), "{e}");
    // The transport itself refuses the POST, whoever asks.
    let post = RequestSpec {
        method: "POST".into(),
        url: format!("{url}/rdb/v1/regions/nl-ams/read-replicas"),
        headers: vec![("X-Auth-Token".into(), scw_sim::DEMO_SECRET_KEY.into())],
        body: Some(format!("{{\"instance_id\":\"{PROMOTED}\"}}")),
    };
    let refused = HttpClient::new(true)
        .send(&post, std::time::Duration::from_secs(5))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(scw.truth().create_posts, 0);
    assert!(scw.replicas_of(PROMOTED).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_mode_shows_the_exact_calls_and_a_read_only_preflight() {
    let (scw, url) = after_failover().await;
    let p = create_plan(&url, "endpoint = \"direct_access\"\nsame_zone = true");
    let lines = steps::describe(&p.steps[0].action);
    assert_eq!(
        lines[0],
        format!(
            "GET {url}/rdb/v1/regions/nl-ams/instances/{PROMOTED} (X-Auth-Token: ‹secret key›): must exist and be ready; its read_replicas are read"
        )
    );
    let post = lines
        .iter()
        .find(|l| l.starts_with("POST "))
        .expect("the POST");
    assert!(
        post.starts_with(&format!(
            "POST {url}/rdb/v1/regions/nl-ams/read-replicas  body {{\"endpoint_spec\":[{{\"direct_access\":{{}}}}],\"instance_id\":\"{PROMOTED}\",\"same_zone\":true}}"
        )),
        "{post}"
    );
    assert!(post.contains("sent once, never retried"), "{post}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("provisioning → initializing → ready"))
    );
    assert!(!lines.iter().any(|l| l.contains(scw_sim::DEMO_SECRET_KEY)));

    let (ctx, _) = context(Arc::new(p.clone()), HttpClient::new(true));
    let checks = steps::preflight(&p.steps[0].action, &ctx, vec![]).await;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(checks[0].ok, Some(true), "{checks:?}");
    assert_eq!(checks[1].detail, "none: the step creates one", "{checks:?}");
    assert_eq!(scw.truth().create_posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_instance_is_404_and_three_replicas_are_the_limit() {
    let (scw, url) = after_failover().await;
    // Unknown instance: the step stops before any POST.
    let p = plan(
        &url,
        "scaleway.create_read_replica",
        "instance_id = \"00000000-0000-4000-8000-000000000404\"",
    );
    let (r, _) = run(&p, false).await;
    let e = r.expect_err("unknown");
    assert!(
        e.contains("not found") && e.contains("nothing was sent"),
        "{e}"
    );
    assert_eq!(scw.truth().create_posts, 0);

    // Three replicas: preflight says so, the step refuses, the simulator refuses a fourth.
    for _ in 0..3 {
        scw.add_replica(PROMOTED, Instant::now());
    }
    let p = create_plan(&url, "");
    let (ctx, _) = context(Arc::new(p.clone()), HttpClient::new(true));
    let checks = steps::preflight(&p.steps[0].action, &ctx, vec![]).await;
    assert_eq!(checks[1].ok, Some(false), "{checks:?}");
    assert!(checks[1].detail.starts_with("3 of at most 3"), "{checks:?}");
    let (r, _) = run(&p, false).await;
    let e = r.expect_err("three");
    assert!(e.contains("already has 3 read replicas"), "{e}");
    assert_eq!(scw.truth().create_posts, 0);

    let http = HttpClient::new(false);
    let post = |id: &str| RequestSpec {
        method: "POST".into(),
        url: format!("{url}/rdb/v1/regions/nl-ams/read-replicas"),
        headers: vec![
            ("X-Auth-Token".into(), scw_sim::DEMO_SECRET_KEY.into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: Some(format!("{{\"instance_id\":\"{id}\"}}")),
    };
    let limit = http
        .send(&post(PROMOTED), std::time::Duration::from_secs(5))
        .await
        .expect("answer");
    let body: Value = serde_json::from_str(&limit.body).expect("json");
    let fx = fixture();
    assert_eq!(limit.status, 409);
    assert_eq!(body, fx["errors"]["quotas_exceeded"]["body"]);
    let missing = http
        .send(
            &post("00000000-0000-4000-8000-000000000404"),
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("answer");
    let body: Value = serde_json::from_str(&missing.body).expect("json");
    assert_eq!(missing.status, 404);
    assert_eq!(body, fx["errors"]["not_found"]["body"]);
    assert_eq!(scw.replicas_of(PROMOTED).len(), 3);
}

fn fixture() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/scaleway-rdb-read-replicas.json")
            .expect("fixture"),
    )
    .expect("fixture JSON")
}

/// The documented shapes, replayed: the step sends exactly the recorded request and reads the
/// recorded answers (`provisioning` → `initializing` → `ready`); the simulator answers the
/// same keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_step_speaks_the_recorded_documented_shapes() {
    let fx = Arc::new(fixture());
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let polls = Arc::new(Mutex::new(0usize));
    let (f1, f2, f3) = (fx.clone(), fx.clone(), fx.clone());
    let s2 = sent.clone();
    let router = axum::Router::new()
        .route(
            "/rdb/v1/regions/nl-ams/instances/{id}",
            get(move || async move { Json(f1["get_instance"]["response"].clone()) }),
        )
        .route(
            "/rdb/v1/regions/nl-ams/read-replicas",
            post(move |body: String| async move {
                s2.lock()
                    .expect("lock")
                    .push(serde_json::from_str(&body).unwrap_or_default());
                Json(f2["create_read_replica"]["response"].clone())
            }),
        )
        .route(
            "/rdb/v1/regions/nl-ams/read-replicas/{id}",
            get(move || async move {
                let answers = f3["get_read_replica"]["responses"].clone();
                let mut n = polls.lock().expect("lock");
                let i = (*n).min(2);
                *n += 1;
                Json(answers[i].clone())
            }),
        );
    let url = serve(router).await;
    let p = create_plan(&url, "endpoint = \"direct_access\"");
    let (r, lines) = run(&p, false).await;
    let done = r.unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
    assert!(done.contains("51.15.0.20:5432"), "{done}");
    assert_eq!(
        *sent.lock().expect("lock"),
        vec![fx["create_read_replica"]["request"].clone()]
    );

    // The simulator answers the documented keys of ReadReplica and Instance.
    let (_scw, sim) = after_failover().await;
    let p = create_plan(&sim, "endpoint = \"direct_access\"");
    run(&p, false).await.0.expect("sim run");
    let get = |path: String| {
        let spec = RequestSpec {
            method: "GET".into(),
            url: format!("{sim}/rdb/v1/regions/nl-ams/{path}"),
            headers: vec![("X-Auth-Token".into(), scw_sim::DEMO_SECRET_KEY.into())],
            body: None,
        };
        async move {
            let r = HttpClient::new(true)
                .send(&spec, std::time::Duration::from_secs(5))
                .await
                .expect("GET");
            serde_json::from_str::<Value>(&r.body).expect("json")
        }
    };
    let inst = get(format!("instances/{PROMOTED}")).await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&inst), keys(&fx["get_instance"]["response"]));
    let replica = &inst["read_replicas"][0];
    assert_eq!(keys(replica), keys(&fx["create_read_replica"]["response"]));
    let statuses: Vec<Value> = fx["read_replica_status"].as_array().expect("enum").clone();
    assert!(statuses.contains(&replica["status"]), "{replica}");
    let id = replica["id"].as_str().expect("id");
    let again = get(format!("read-replicas/{id}")).await;
    assert_eq!(keys(&again), keys(&fx["create_read_replica"]["response"]));
    assert_eq!(
        again["endpoints"][0]["direct_access"],
        serde_json::json!({})
    );
}

/// `scaleway.promote_replica` by `instance_id`: the one replica of that instance is promoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_by_instance_promotes_its_one_read_replica() {
    let (scw, url) = after_failover().await;
    let created = create_plan(&url, "");
    run(&created, false).await.0.expect("create");
    let p = plan(
        &url,
        "scaleway.promote_replica",
        &format!("instance_id = \"{PROMOTED}\""),
    );
    let lines = steps::describe(&p.steps[0].action);
    assert!(
        lines[0].contains(&format!("instances/{PROMOTED}")),
        "{lines:?}"
    );
    let (r, lines) = run(&p, false).await;
    let done = r.unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
    assert!(
        done.contains("promoted") && done.contains("is ready"),
        "{done}"
    );
    assert!(scw.replicas_of(PROMOTED).is_empty());
    assert_eq!(scw.truth().promote_posts, 1);
    // Nothing left to promote: it says so and sends nothing.
    let (r, _) = run(&p, false).await;
    let e = r.expect_err("none left");
    assert!(
        e.contains("has no read replica") && e.contains("nothing was sent"),
        "{e}"
    );
    assert_eq!(scw.truth().promote_posts, 1);
}

#[test]
fn plan_errors_name_the_key() {
    let url = "http://127.0.0.1:9";
    let both = format!("instance_id = \"{PROMOTED}\"\nread_replica_id = \"x\"");
    let text = |kind: &str, extra: &str| {
        format!(
            "[plan]\nname = \"t\"\nstrategy = \"warm-standby\"\nrto = \"30m\"\nrpo = \"5m\"\n[sites.prod]\nlabel = \"P\"\n[sites.dr]\nlabel = \"D\"\n[[step]]\nid = \"s\"\ntitle = \"S\"\nkind = \"{kind}\"\nregion = \"nl-ams\"\ntoken = \"tok\"\napi_url = \"{url}\"\n{extra}\n"
        )
    };
    let load = |t: String| steps::load_str(&t, "p.toml", &LoadOptions::default());
    let e = load(text("scaleway.promote_replica", &both)).expect_err("both");
    assert!(e.message.contains("not both"), "{e}");
    let e = load(text(
        "scaleway.create_read_replica",
        &format!("instance_id = \"{PROMOTED}\"\nendpoint = \"public\""),
    ))
    .expect_err("endpoint");
    assert!(e.message.contains("`endpoint` `public`"), "{e}");
    let e = load(text("scaleway.create_read_replica", "")).expect_err("instance");
    assert!(e.message.contains("instance_id"), "{e}");
    assert!(steps::schema_json().contains("\"scaleway.create_read_replica\""));
}
