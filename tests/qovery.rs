//! The Qovery client, steps and probes against the simulated Qovery API (served on an ephemeral
//! loopback port), plus a contract test against the bundled OpenAPI spec.

use std::sync::Arc;
use std::time::Duration;

use drcockpit::app::Level;
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::qovery::{
    ActionAccepted, AuthScheme, ClusterState, QoveryClient, QoveryError, QoverySettings, State,
    VariableScope,
};
use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{Plan, Site, SiteId, StepAction};
use drcockpit::sim::qovery::{QoveryWorld, ids};
use drcockpit::steps::qovery::{BuildInput, build, build_keyed};
use drcockpit::steps::{StepContext, StepSink};

mod common;
use common::qovery::serve;

fn settings(url: &str, token: &str, scheme: AuthScheme) -> QoverySettings {
    QoverySettings {
        api_url: url.into(),
        token: token.into(),
        scheme,
        organization: ids::ORG.into(),
        api_url_source: "test".into(),
        token_source: "test".into(),
    }
}

fn client(url: &str) -> QoveryClient {
    QoveryClient::new(
        settings(url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(false),
    )
}

async fn world(phase_ms: u64) -> (Arc<QoveryWorld>, String) {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(QoveryWorld::new("all-good", 7).with_phase(Duration::from_millis(phase_ms)));
    let url = serve(w.clone()).await;
    (w, url)
}

fn plan(url: &str) -> Plan {
    common::qovery::plan("qovery test", url)
}

fn raw(toml_text: &str) -> RawStep {
    toml::from_str(toml_text).expect("valid step TOML")
}

fn build_step(p: &Plan, toml_text: &str) -> StepAction {
    common::qovery::build_step(p, &raw(toml_text))
}

struct Run {
    result: Result<String, String>,
    lines: Vec<String>,
}

async fn run_step(p: &Plan, action: &StepAction, read_only: bool) -> Run {
    let (ctx, mut heard) = common::steps::context(Arc::new(p.clone()), HttpClient::new(read_only));
    let result = drcockpit::steps::run(action, ctx).await;
    let lines = heard
        .lines()
        .into_iter()
        .map(|line| format!("[{}] {}", line.stream, line.text))
        .collect();
    Run { result, lines }
}

async fn preflight(p: &Plan, action: &StepAction) -> Vec<drcockpit::journal::PreflightCheck> {
    let ctx = StepContext::read_only(Arc::new(p.clone()), 0, StepSink::discard());
    drcockpit::steps::preflight(action, &ctx, vec![]).await
}

#[tokio::test]
async fn every_read_call_answers_typed_values() {
    let (w, url) = world(100).await;
    let c = client(&url);
    let orgs = c.list_organizations().await.expect("list orgs");
    assert_eq!(orgs[0].id, ids::ORG);
    assert_eq!(
        c.organization(ids::ORG).await.expect("org").name,
        "Shop Inc."
    );
    let all = c
        .cluster_statuses(ids::ORG)
        .await
        .expect("cluster statuses");
    assert_eq!(all.len(), 2);
    let cs = c
        .cluster_status(ids::ORG, ids::DR_CLUSTER)
        .await
        .expect("cluster status");
    assert_eq!(cs.status, ClusterState::Deployed);
    assert!(cs.is_deployed);
    assert!(
        c.cluster_is_ready(ids::ORG, ids::DR_CLUSTER)
            .await
            .expect("isReady")
    );
    let env = c.environment(ids::DR_ENV).await.expect("environment");
    assert_eq!(env.name, "shop-dr");
    assert_eq!(env.cluster_id.as_deref(), Some(ids::DR_CLUSTER));
    let st = c.environment_status(ids::DR_ENV).await.expect("status");
    assert_eq!(st.state, State::Stopped);
    let sts = c.environment_statuses(ids::DR_ENV).await.expect("statuses");
    assert_eq!(sts.containers.len(), 3);
    assert_eq!(sts.databases.len(), 1);
    assert_eq!(sts.services().count(), 4);
    let cts = c.list_containers(ids::DR_ENV).await.expect("containers");
    let worker = cts.iter().find(|c| c.name == "worker").expect("worker");
    assert_eq!(worker.tag, "1.4.1");
    assert_eq!(worker.image_name, "shop/worker");
    assert_eq!(
        worker.registry.kind,
        drcockpit::clients::qovery::RegistryKind::Ecr
    );
    assert!(
        worker
            .image_ref()
            .contains("dkr.ecr.eu-west-1.amazonaws.com/shop/worker:1.4.1")
    );
    assert!(
        c.list_applications(ids::DR_ENV)
            .await
            .expect("apps")
            .is_empty()
    );
    assert_eq!(
        c.list_databases(ids::DR_ENV).await.expect("dbs")[0].name,
        "cache"
    );
    let vars = c
        .list_environment_variables(ids::DR_ENV)
        .await
        .expect("vars");
    let db = vars
        .iter()
        .find(|v| v.key == "DATABASE_URL")
        .expect("DATABASE_URL");
    assert_eq!(db.scope, VariableScope::Environment);
    assert!(vars.iter().any(|v| v.scope == VariableScope::BuiltIn));
    let secrets = c
        .list_environment_secrets(ids::DR_ENV)
        .await
        .expect("secrets");
    assert_eq!(secrets[0].key, "STRIPE_SECRET_KEY");
    let unified = c
        .list_variables(ids::DR_ENV, &VariableScope::Environment, Some(true))
        .await
        .expect("unified variables");
    assert!(unified.iter().all(|v| v.is_secret && v.value.is_none()));
    let hist = c
        .deployment_history(ids::DR_ENV, None)
        .await
        .expect("history");
    assert_eq!(hist.page_size, 20.0);
    let last = &hist.results[0];
    assert_eq!(last.status, Some(State::Stopped));
    assert!(
        last.containers
            .iter()
            .any(|c| c.tag.as_deref() == Some("1.4.1"))
    );
    let ds = c
        .deployment_status(&last.id)
        .await
        .expect("deployment status");
    assert_eq!(ds.environment_id.as_deref(), Some(ids::DR_ENV));
    // Every call was a read and carried the API-token header.
    let reqs = w.requests();
    assert!(reqs.iter().all(|r| !r.is_mutating()));
    assert!(
        reqs.iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Token {}", ids::DEMO_TOKEN)))
    );
}

#[tokio::test]
async fn both_auth_schemes_and_a_plain_text_401() {
    let (w, url) = world(100).await;
    assert_eq!(AuthScheme::detect(ids::DEMO_TOKEN), AuthScheme::Token);
    assert_eq!(AuthScheme::detect(ids::DEMO_JWT), AuthScheme::Bearer);
    let bearer = QoveryClient::new(
        settings(&url, ids::DEMO_JWT, AuthScheme::Bearer),
        HttpClient::new(false),
    );
    bearer.list_organizations().await.expect("bearer accepted");
    let last = w.requests().pop().expect("a request");
    assert_eq!(
        last.authorization.as_deref(),
        Some(format!("Bearer {}", ids::DEMO_JWT).as_str())
    );
    // The plan's auth scheme choice, and the CLI's detection when it is absent.
    let mut cfg = plan(&url).qovery.expect("qovery config");
    cfg.token = ids::DEMO_JWT.into();
    let s = QoverySettings::resolve(&cfg, |_| None);
    assert_eq!(s.scheme, AuthScheme::Bearer);
    cfg.auth_scheme = Some("token".into());
    let wrong = QoveryClient::new(
        QoverySettings::resolve(&cfg, |_| None),
        HttpClient::new(false),
    );
    let e = wrong
        .list_organizations()
        .await
        .expect_err("wrong scheme refused");
    assert!(matches!(e, QoveryError::Unauthorized { .. }), "{e:?}");
    let bad = QoveryClient::new(
        settings(&url, "qov_not_the_token", AuthScheme::Token),
        HttpClient::new(false),
    );
    let e = bad.environment(ids::DR_ENV).await.expect_err("401");
    assert_eq!(e.status(), Some(401));
    let text = e.to_string();
    assert!(
        text.contains("Access token is missing or invalid"),
        "{text}"
    );
    assert!(
        text.contains("QOVERY_CLI_ACCESS_TOKEN"),
        "actionable: {text}"
    );
}

#[tokio::test]
async fn actions_answer_their_spec_shapes_and_409_while_running() {
    let (w, url) = world(300).await;
    let c = client(&url);
    // deploy answers a service-shaped Status (spec quirk).
    let a = c.deploy_environment(ids::DR_ENV).await.expect("deploy");
    assert!(matches!(a, ActionAccepted::Service(_)));
    assert_eq!(a.state(), &State::DeploymentQueued);
    let rid = a.deployment_request_id().expect("request id").to_string();
    // While it runs: 409, reported as "operation in progress".
    let e = c.redeploy_environment(ids::DR_ENV).await.expect_err("409");
    assert!(e.is_conflict(), "{e:?}");
    assert!(e.to_string().contains("operation in progress"));
    assert!(
        e.to_string().contains("Operation is in progress"),
        "body kept: {e}"
    );
    let ds = c.deployment_status(&rid).await.expect("deployment status");
    assert!(!ds.status.expect("status").is_terminal());
    // Wait for the end, then redeploy and stop answer EnvironmentStatus.
    tokio::time::sleep(Duration::from_millis(300 * 6 + 200)).await;
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0),
        Some("DEPLOYED".to_string())
    );
    let ds = c.deployment_status(&rid).await.expect("deployment status");
    assert_eq!(ds.status, Some(State::Deployed));
    let a = c.stop_environment(ids::PROD_ENV).await.expect("stop");
    assert!(matches!(a, ActionAccepted::Environment(_)));
    let a = c.redeploy_environment(ids::DR_ENV).await.expect("redeploy");
    assert!(matches!(a, ActionAccepted::Environment(_)));
    // History shows the deployment newest first.
    let h = c
        .deployment_history(ids::DR_ENV, None)
        .await
        .expect("history");
    assert_eq!(h.results[1].id, rid);
    assert_eq!(h.results[1].status, Some(State::Deployed));
}

#[tokio::test]
async fn stop_of_a_stopped_environment_is_409() {
    let (_w, url) = world(100).await;
    let e = client(&url)
        .stop_environment(ids::DR_ENV)
        .await
        .expect_err("already stopped");
    assert!(e.is_conflict());
    assert!(e.to_string().contains("already stopped"));
}

#[tokio::test]
async fn unknown_enum_values_decode_to_the_catch_all() {
    let (w, url) = world(100).await;
    w.set_cluster_state(ids::DR_CLUSTER, "HIBERNATING");
    w.set_env_state(ids::DR_ENV, "WARMING_UP");
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    let cs = c
        .cluster_status(ids::ORG, ids::DR_CLUSTER)
        .await
        .expect("unknown cluster state decodes");
    assert_eq!(cs.status, ClusterState::Other("HIBERNATING".into()));
    let s = c.environment_statuses(ids::DR_ENV).await.expect("decodes");
    assert_eq!(s.environment.state, State::Other("WARMING_UP".into()));
    assert!(!s.environment.state.is_terminal());
    // The probe shows it as it is, never as healthy.
    let r = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
        .await
        .expect("reading");
    assert!(r.summary.contains("HIBERNATING"));
    assert_ne!(r.level, Level::Good);
}

#[tokio::test]
async fn reads_retry_5xx_then_succeed() {
    let (w, url) = world(100).await;
    w.inject_status("GET", "/statuses", 503, "upstream connect error", 2);
    let s = client(&url)
        .environment_statuses(ids::DR_ENV)
        .await
        .expect("succeeds on the third try");
    assert_eq!(s.environment.state, State::Stopped);
    let n = w
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/statuses"))
        .count();
    assert_eq!(n, 3, "two 503s then success");
}

#[tokio::test]
async fn mutations_are_never_retried() {
    let (w, url) = world(100).await;
    w.inject_status("POST", "/deploy", 503, "Service Unavailable", 1);
    let e = client(&url)
        .deploy_environment(ids::DR_ENV)
        .await
        .expect_err("503");
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().contains("Service Unavailable"));
    let posts = w.requests().iter().filter(|r| r.is_mutating()).count();
    assert_eq!(posts, 1, "sent exactly once");
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0),
        Some("STOPPED".to_string())
    );
}

#[tokio::test]
async fn error_bodies_are_text_and_redacted() {
    let (w, url) = world(100).await;
    drcockpit::redact::register("sk_live_leaked_in_an_error", "env:TEST_QOVERY_LEAK");
    w.inject_status(
        "GET",
        "/environment/",
        500,
        "<html>internal error near sk_live_leaked_in_an_error</html>",
        3,
    );
    let e = client(&url)
        .environment(ids::DR_ENV)
        .await
        .expect_err("500 after retries");
    let text = e.to_string();
    assert_eq!(e.status(), Some(500));
    assert!(text.contains("<html>internal error"), "{text}");
    assert!(!text.contains("sk_live_leaked"), "{text}");
    assert!(text.contains("‹secret env:TEST_QOVERY_LEAK›"), "{text}");
    let e = client(&url)
        .environment("00000000-0000-4000-8000-000000000000")
        .await
        .expect_err("404");
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("not found"));
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let (w, url) = world(100).await;
    w.inject_delay("GET", "/statuses", Duration::from_secs(3), 3);
    let c = QoveryClient::new(
        settings(&url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(false).with_read_retries(1),
    )
    .with_timeout(Duration::from_millis(300));
    let e = c
        .environment_statuses(ids::DR_ENV)
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            e,
            QoveryError::Transport(drcockpit::clients::http::HttpError::Timeout { .. })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_read_only_client_refuses_every_mutation() {
    let (w, url) = world(100).await;
    let c = QoveryClient::new(
        settings(&url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(true),
    );
    assert!(c.is_read_only());
    c.environment(ids::DR_ENV).await.expect("reads still work");
    for e in [
        c.deploy_environment(ids::DR_ENV)
            .await
            .expect_err("refused"),
        c.redeploy_environment(ids::DR_ENV)
            .await
            .expect_err("refused"),
        c.stop_environment(ids::PROD_ENV)
            .await
            .expect_err("refused"),
    ] {
        assert!(e.is_refused(), "{e:?}");
    }
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 0);
}

const DEPLOY_DR: &str = r#"
id = "deploy-dr"
title = "Deploy the DR environment"
kind = "qovery.deploy"
site = "dr"
interval = "100ms"
"#;

#[tokio::test]
async fn deploy_step_streams_every_state_until_deployed() {
    let (w, url) = world(150).await;
    let p = plan(&url);
    let action = build_step(&p, DEPLOY_DR);
    assert_eq!(action.kind_name(), "qovery.deploy");
    let d = drcockpit::steps::describe(&action).join("\n");
    assert!(
        d.contains(&format!("POST {url}/environment/{}/deploy", ids::DR_ENV)),
        "{d}"
    );
    assert!(
        d.contains("Authorization: Token ‹token from the plan›"),
        "{d}"
    );
    assert!(!d.contains(ids::DEMO_TOKEN), "{d}");
    let run = run_step(&p, &action, false).await;
    let all = run.lines.join("\n");
    assert!(all.contains("Token auth"), "{all}");
    let summary = run.result.expect("deployed");
    assert!(summary.contains("DEPLOYED"), "{summary}");
    assert!(summary.contains("4/4"), "{summary}");
    for want in [
        "DEPLOYMENT_QUEUED",
        "→ DEPLOYING",
        "→ DEPLOYED",
        "web: ",
        "worker: ",
        "cache: ",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // Services go one after the other: worker reaches DEPLOYING after web is DEPLOYED.
    let pos = |s: &str| all.find(s).unwrap_or(usize::MAX);
    assert!(
        pos("web: DEPLOYING → DEPLOYED") < pos("worker: QUEUED → DEPLOYING")
            || pos("web: DEPLOYING → DEPLOYED") < pos("worker: DEPLOYING"),
        "{all}"
    );
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0),
        Some("DEPLOYED".to_string())
    );
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 1);
}

#[tokio::test]
async fn a_failed_deployment_is_reported_then_retried() {
    let (w, url) = world(120).await;
    let p = plan(&url);
    let action = build_step(&p, DEPLOY_DR);
    w.fail_next_deployment_of("worker");
    let run = run_step(&p, &action, false).await;
    let err = run.result.expect_err("DEPLOYMENT_ERROR");
    assert!(err.contains("DEPLOYMENT_ERROR"), "{err}");
    assert!(err.contains("worker"), "failing service named: {err}");
    assert!(
        run.lines.iter().any(|l| l.starts_with("[stderr]")
            && l.contains("worker")
            && l.contains("DEPLOYMENT_ERROR")),
        "{:#?}",
        run.lines
    );
    // The operator retries: a new deployment that succeeds.
    let run = run_step(&p, &action, false).await;
    run.result.expect("second attempt deploys");
}

#[tokio::test]
async fn deploy_step_reports_409_as_operation_in_progress() {
    let (w, url) = world(500).await;
    let p = plan(&url);
    client(&url)
        .deploy_environment(ids::DR_ENV)
        .await
        .expect("first deploy");
    let run = run_step(&p, &build_step(&p, DEPLOY_DR), false).await;
    let err = run.result.expect_err("409");
    assert!(err.contains("operation in progress"), "{err}");
    assert!(err.contains("nothing was started"), "{err}");
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 2);
}

#[tokio::test]
async fn monitor_mode_transport_refuses_the_step_and_nothing_reaches_the_api() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let run = run_step(&p, &build_step(&p, DEPLOY_DR), true).await;
    let err = run.result.expect_err("refused");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 0);
}

#[tokio::test]
async fn deploy_services_with_a_tag() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(
        &p,
        r#"
id = "roll-worker"
title = "Deploy worker 1.4.2 on DR"
kind = "qovery.deploy_services"
site = "dr"
services = ["worker"]
tag = "1.4.2"
interval = "100ms"
"#,
    );
    let checks = preflight(&p, &action).await;
    let svc = checks
        .iter()
        .find(|c| c.what == "service worker exists")
        .expect("service check");
    assert_eq!(svc.ok, Some(true));
    assert!(svc.detail.contains("1.4.1 → 1.4.2"), "{}", svc.detail);
    let run = run_step(&p, &action, false).await;
    let summary = run.result.expect("deployed");
    assert!(summary.contains("1/1"), "{summary}");
    assert_eq!(w.service_tag(ids::DR_WORKER).as_deref(), Some("1.4.2"));
    let post = w
        .requests()
        .into_iter()
        .find(|r| r.is_mutating())
        .expect("the POST");
    assert!(post.path.ends_with("/service/deploy"));
    let body: serde_json::Value = serde_json::from_str(&post.body).expect("json body");
    assert_eq!(body["containers"][0]["id"], ids::DR_WORKER);
    assert_eq!(body["containers"][0]["image_tag"], "1.4.2");
}

#[tokio::test]
async fn set_variables_shows_old_to_new_writes_and_reads_back() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let new_url = "postgres://shop@db.eu-west-1.internal:5432/shop";
    let secret = "sk_live_new_dr_value_123";
    let action = build_step(
        &p,
        &format!(
            r#"
id = "point-db"
title = "Point DATABASE_URL at DR"
kind = "qovery.set_variables"
site = "dr"
variables = {{ DATABASE_URL = "{new_url}" }}
secrets = {{ STRIPE_SECRET_KEY = "{secret}" }}
"#
        ),
    );
    let described = drcockpit::steps::describe(&action).join("\n");
    assert!(!described.contains(secret), "{described}");
    assert!(described.contains("‹secret value hidden›"));
    // Review: preflight reads only, shows old → new with the secret hidden.
    let checks = preflight(&p, &action).await;
    let db = checks
        .iter()
        .find(|c| c.what == "variable DATABASE_URL exists")
        .expect("variable check");
    assert_eq!(db.ok, Some(true));
    assert!(db.detail.contains("db.fr-par.internal"), "{}", db.detail);
    assert!(db.detail.contains("→"), "{}", db.detail);
    assert!(db.detail.contains("db.eu-west-1.internal"), "{}", db.detail);
    let sec = checks
        .iter()
        .find(|c| c.what == "secret STRIPE_SECRET_KEY exists")
        .expect("secret check");
    assert_eq!(sec.ok, Some(true));
    assert!(!sec.detail.contains("sk_live"), "{}", sec.detail);
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 0);
    // Live: written, read back.
    let run = run_step(&p, &action, false).await;
    let summary = run.result.expect("set");
    assert!(summary.contains("DATABASE_URL"), "{summary}");
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some(new_url)
    );
    assert_eq!(
        w.variable(ids::DR_ENV, "STRIPE_SECRET_KEY").as_deref(),
        Some(secret)
    );
    let all = run.lines.join("\n");
    assert!(
        all.contains(&format!("read back DATABASE_URL = \"{new_url}\"")),
        "{all}"
    );
    assert!(
        !all.contains(secret),
        "secret value leaked into the log:\n{all}"
    );
    let puts: Vec<_> = w
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
}

#[tokio::test]
async fn set_variables_refuses_a_missing_variable_before_writing_anything() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(
        &p,
        r#"
id = "vars"
title = "Set variables"
kind = "qovery.set_variables"
site = "dr"
variables = { LOG_LEVEL = "warn", NOT_THERE = "x", REGION = "eu-west-1b" }
"#,
    );
    let checks = preflight(&p, &action).await;
    let missing = checks
        .iter()
        .find(|c| c.what == "variable NOT_THERE exists")
        .expect("missing check");
    assert_eq!(missing.ok, Some(false));
    let region = checks
        .iter()
        .find(|c| c.what == "variable REGION exists")
        .expect("project-scope check");
    assert_eq!(region.ok, Some(false));
    assert!(region.detail.contains("PROJECT"), "{}", region.detail);
    let run = run_step(&p, &action, false).await;
    let err = run.result.expect_err("refused");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(w.requests().iter().filter(|r| r.is_mutating()).count(), 0);
    assert_eq!(
        w.variable(ids::DR_ENV, "LOG_LEVEL").as_deref(),
        Some("info")
    );
}

#[tokio::test]
async fn preflight_checks_environment_idle_and_cluster_deployed() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let checks = preflight(&p, &build_step(&p, DEPLOY_DR)).await;
    let by = |what: &str| {
        checks
            .iter()
            .find(|c| c.what.starts_with(what))
            .unwrap_or_else(|| panic!("no check {what:?} in {checks:#?}"))
            .clone()
    };
    assert_eq!(by("Qovery token accepted").ok, Some(true));
    assert_eq!(by("environment ").ok, Some(true));
    assert_eq!(by("environment is idle").ok, Some(true));
    assert_eq!(by("cluster ").ok, Some(true));
    w.set_cluster_state(ids::DR_CLUSTER, "DEPLOYMENT_ERROR");
    client(&url)
        .deploy_environment(ids::DR_ENV)
        .await
        .expect("busy now");
    let checks = preflight(&p, &build_step(&p, DEPLOY_DR)).await;
    let idle = checks
        .iter()
        .find(|c| c.what.starts_with("environment is idle"))
        .expect("idle");
    assert_eq!(idle.ok, Some(false));
    let cl = checks
        .iter()
        .find(|c| c.what.starts_with("cluster "))
        .expect("cluster");
    assert_eq!(cl.ok, Some(false));
    assert!(cl.detail.contains("DEPLOYMENT_ERROR"));
}

#[tokio::test]
async fn probes_show_cluster_env_and_every_service() {
    let (_w, url) = world(100).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.level, Level::Good);
    assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
    assert!(
        cl.details.iter().any(|d| d.contains("AWS eu-west-1")),
        "{:#?}",
        cl.details
    );
    assert_eq!(
        cl.fields.get("is_deployed"),
        Some(&drcockpit::plan::Value::Bool(true))
    );
    let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Dr, ids::DR_ENV)
        .await
        .expect("env");
    assert_eq!(env.level, Level::Good, "a stopped DR standby is fine");
    assert!(
        env.summary.starts_with("shop-dr STOPPED"),
        "{}",
        env.summary
    );
    assert!(env.summary.contains("4 stopped"), "{}", env.summary);
    assert!(
        env.details
            .iter()
            .any(|d| d.starts_with("worker  STOPPED") && d.ends_with("shop/worker:1.4.1")),
        "{:#?}",
        env.details
    );
    assert!(env.fields.contains_key("last_deployment_age"));
    let prod = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Prod, ids::PROD_ENV)
        .await
        .expect("prod env");
    assert_eq!(prod.level, Level::Good);
    assert!(prod.summary.ends_with("DEPLOYED · 4/4"), "{}", prod.summary);
    for f in cl.fields.keys() {
        assert!(
            drcockpit::probes::qovery::CLUSTER_FIELDS.contains(&f.as_str()),
            "{f}"
        );
    }
    for f in env.fields.keys() {
        assert!(
            drcockpit::probes::qovery::ENV_FIELDS.contains(&f.as_str()),
            "{f}"
        );
    }
    // Wired through probes::run for a plan with [qovery].
    let p = Arc::new(plan(&url));
    let keys = drcockpit::probes::configured(&p);
    assert_eq!(keys.len(), 4);
    for k in keys {
        let obs = drcockpit::probes::run(&p, &HttpClient::new(true), &Default::default(), k).await;
        assert!(obs.outcome.is_ok(), "{k:?}: {:?}", obs.outcome);
    }
}

#[tokio::test]
async fn probes_read_names_once_not_every_round() {
    let (w, url) = world(100).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    for _ in 0..3 {
        let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
            .await
            .expect("cluster");
        assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
        let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Dr, ids::DR_ENV)
            .await
            .expect("env");
        assert!(env.summary.starts_with("shop-dr "), "{}", env.summary);
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(gets(format!("/organization/{}/cluster", ids::ORG)), 1);
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 1);
    assert_eq!(
        gets(format!(
            "/organization/{}/cluster/{}/status",
            ids::ORG,
            ids::DR_CLUSTER
        )),
        3,
        "states are read every round"
    );
    assert_eq!(gets(format!("/environment/{}/statuses", ids::DR_ENV)), 3);
}

#[tokio::test]
async fn region_outage_sends_prod_into_error_states() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(
        QoveryWorld::new("region-outage", 1)
            .with_phase(Duration::from_millis(100))
            .with_outage_after(Duration::from_millis(200)),
    );
    let url = serve(w.clone()).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    let before = drcockpit::probes::qovery::cluster(&c, &mem, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(before.level, Level::Good);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.level, Level::Bad);
    assert!(cl.summary.contains("DEPLOYMENT_ERROR"));
    let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Prod, ids::PROD_ENV)
        .await
        .expect("env");
    assert_eq!(env.level, Level::Bad);
    assert!(env.summary.contains("UNAVAILABLE"), "{}", env.summary);
    assert!(
        env.summary.contains("✗ web, api, worker, cache"),
        "{}",
        env.summary
    );
    // DR is untouched.
    let dr = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
        .await
        .expect("dr cluster");
    assert_eq!(dr.level, Level::Good);
}

#[tokio::test]
async fn flaky_api_reads_get_through_with_retries() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(QoveryWorld::new("flaky-api", 42));
    let url = serve(w.clone()).await;
    let c = QoveryClient::new(
        settings(&url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(false).with_read_retries(3),
    )
    .with_timeout(Duration::from_millis(3000));
    let mut ok = 0;
    for _ in 0..12 {
        match c.environment_status(ids::DR_ENV).await {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e, QoveryError::Transport(_) | QoveryError::Api { .. }),
                "only transport/5xx failures: {e:?}"
            ),
        }
    }
    let sent = w.requests().len();
    assert!(ok >= 10, "{ok}/12 reads got through");
    assert!(
        sent > 12,
        "faults were injected and retried ({sent} requests)"
    );
}

#[tokio::test]
async fn build_rejects_what_does_not_apply() {
    let p = plan("http://127.0.0.1:9");
    let try_build = |t: &str| {
        let r = raw(t);
        let mut resolve = |key: &'static str, v: &str| {
            if v.starts_with("${env:MISSING") {
                Err(format!("environment variable MISSING is not set ({key})"))
            } else {
                Ok(v.replace("${env:DR_PG_URL}", "postgres://resolved"))
            }
        };
        build_keyed(
            &r.kind,
            &r,
            &mut BuildInput {
                sites: &p.sites,
                qovery: p.qovery.as_ref(),
                resolve: &mut resolve,
            },
        )
    };
    let head = "id = \"a\"\ntitle = \"t\"\n";
    let e = try_build(&format!("{head}kind = \"qovery.deploy\"\n")).expect_err("no site");
    assert_eq!(e.key, "kind");
    assert!(e.message.contains("site = \"dr\""), "{e}");
    let e = try_build(&format!(
        "{head}kind = \"qovery.deploy\"\nsite = \"dr\"\ntag = \"1\"\n"
    ))
    .expect_err("tag on deploy");
    assert_eq!(e.key, "tag");
    assert!(e.message.contains("qovery.deploy_services"), "{e}");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\n"
    ))
    .expect_err("no variables");
    assert_eq!(e.key, "variables");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nwait = true\nvariables = {{ A = \"1\" }}\n"
    ))
    .expect_err("wait on set_variables");
    assert_eq!(e.key, "wait");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nsecrets = {{ K = \"${{env:MISSING_X}}\" }}\n"
    ))
    .expect_err("unresolvable secret");
    assert_eq!(e.key, "secrets");
    assert!(e.message.contains("MISSING"), "{e}");
    let ok = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nvariables = {{ DATABASE_URL = \"${{env:DR_PG_URL}}\" }}\n"
    ))
    .expect("resolved");
    match ok {
        StepAction::Qovery(q) => match q.op {
            drcockpit::plan::QoveryOp::SetVariables { variables, .. } => {
                assert_eq!(variables[0].value, "postgres://resolved")
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let ok = try_build(&format!(
        "{head}kind = \"qovery.stop\"\nenvironment = \"e-1\"\nwait = false\n"
    ))
    .expect("explicit environment");
    match ok {
        StepAction::Qovery(q) => {
            assert_eq!(q.environment, "e-1");
            assert!(!q.wait);
            assert_eq!(q.poll_interval, Duration::from_secs(3));
            assert_eq!(q.auth_scheme, "Token");
        }
        other => panic!("{other:?}"),
    }
    let r = raw(DEPLOY_DR);
    let mut identity = |_: &'static str, v: &str| Ok::<String, String>(v.to_string());
    let e = build(
        &r.kind,
        &r,
        &mut BuildInput {
            sites: &p.sites,
            qovery: None,
            resolve: &mut identity,
        },
    )
    .expect_err("no [qovery]");
    assert!(e.starts_with("step `deploy-dr`: "), "{e}");
    assert!(e.contains("[qovery]"), "{e}");
    for (kind, keys) in drcockpit::steps::qovery::KIND_KEYS {
        assert!(drcockpit::steps::qovery::KINDS.contains(kind));
        assert!(keys.contains(&"timeout"));
    }
}

/// Every method and path the client calls exists in the vendored spec subset
/// (`tests/fixtures/qovery-openapi-subset.json`, cut from the full spec by
/// `scripts/qovery-openapi-subset.py`). A missing fixture fails the test: it never passes silently.
#[test]
fn every_endpoint_the_client_calls_is_in_the_spec() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/qovery-openapi-subset.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{path}: {e}; regenerate it with scripts/qovery-openapi-subset.py FULL_SPEC.yaml \
             (see the script's header)"
        )
    });
    let spec: serde_json::Value = serde_json::from_str(&text).expect("the spec subset is JSON");
    let paths = spec["paths"].as_object().expect("the subset has paths");
    for (method, path) in drcockpit::clients::qovery::ENDPOINTS {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not a path of the spec"));
        let found = item.get(method.to_ascii_lowercase()).is_some();
        assert!(found, "{method} {path} is not in the spec");
    }
    // Every `$ref` in the subset resolves inside it, so the cut lost nothing the client uses.
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x.as_str()) {
                        ("$ref", Some(r)) => out.push(r),
                        _ => refs(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .trim_start_matches('#')
            .replace("%7B", "{")
            .replace("%7D", "}");
        assert!(
            spec.pointer(&pointer).is_some(),
            "{r} does not resolve in the subset"
        );
    }
}

// ---- contract: simulator answers validate against the spec's schemas ------------------------

const SCHEMAS: &str = include_str!("fixtures/qovery/schemas.json");

/// Send one `(method, path template, path, body)` call, check its status against the fixture and
/// validate its answer against the spec's schema; records the template as exercised.
async fn call_matches_spec(
    c: &QoveryClient,
    spec: &serde_json::Value,
    (method, template, path, body): &(&str, String, String, Option<String>),
    errs: &mut Vec<String>,
    covered: &mut std::collections::BTreeSet<String>,
) {
    let op = &spec["operations"][format!("{method} {template}")];
    assert!(op.is_object(), "{method} {template} not in the fixture");
    let r = c
        .call_raw(method, path, body.clone())
        .await
        .expect("answer");
    assert_eq!(
        u64::from(r.status),
        op["status"].as_u64().unwrap_or(0),
        "{method} {path}: {}",
        r.body
    );
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json answer");
    validate(
        &spec["schemas"],
        &op["schema"],
        &v,
        &format!("{method} {path}"),
        errs,
    );
    covered.insert(format!("{method} {template}"));
}

fn validate(
    schemas: &serde_json::Value,
    schema: &serde_json::Value,
    v: &serde_json::Value,
    at: &str,
    errs: &mut Vec<String>,
) {
    use serde_json::Value;
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        match schemas.get(name) {
            Some(s) => validate(schemas, s, v, at, errs),
            None => errs.push(format!("{at}: unknown schema {name}")),
        }
        return;
    }
    if v.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errs.push(format!("{at}: null, but the schema is not nullable"));
        }
        return;
    }
    for s in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(schemas, s, v, at, errs);
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let any = one.iter().any(|s| {
            let mut e = Vec::new();
            validate(schemas, s, v, at, &mut e);
            e.is_empty()
        });
        if !any {
            errs.push(format!("{at}: matches none of oneOf"));
        }
    }
    if let Some(en) = schema.get("enum").and_then(Value::as_array)
        && !en.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {en:?}"));
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let ok = match ty {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        _ => true,
    };
    if !ok {
        errs.push(format!("{at}: {v} is not of type {}", ty.unwrap_or("?")));
        return;
    }
    if let Some(s) = v.as_str() {
        match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => {
                let b = s.as_bytes();
                let shaped = b.len() == 36
                    && b.iter().enumerate().all(|(i, c)| {
                        if [8, 13, 18, 23].contains(&i) {
                            *c == b'-'
                        } else {
                            c.is_ascii_hexdigit()
                        }
                    });
                if !shaped {
                    errs.push(format!("{at}: {s:?} is not a uuid"));
                }
            }
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                errs.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
            }
            _ => {}
        }
    }
    if let Some(items) = schema.get("items")
        && let Some(a) = v.as_array()
    {
        for (i, x) in a.iter().enumerate() {
            validate(schemas, items, x, &format!("{at}[{i}]"), errs);
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(r) {
                errs.push(format!("{at}: required field `{r}` is missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, ps) in props {
                if let Some(x) = obj.get(k) {
                    validate(schemas, ps, x, &format!("{at}.{k}"), errs);
                }
            }
        }
    }
}

#[tokio::test]
async fn simulator_answers_validate_against_the_spec_schemas() {
    let spec: serde_json::Value = serde_json::from_str(SCHEMAS).expect("schemas fixture");
    let (w, url) = world(50).await;
    let c = client(&url);
    let first_history = c
        .deployment_history(ids::DR_ENV, None)
        .await
        .expect("history")
        .results[0]
        .id
        .clone();
    let var_id = c
        .list_environment_variables(ids::DR_ENV)
        .await
        .expect("vars")
        .into_iter()
        .find(|v| v.key == "LOG_LEVEL")
        .expect("LOG_LEVEL")
        .id;
    let secret_id = c
        .list_environment_secrets(ids::DR_ENV)
        .await
        .expect("secrets")[0]
        .id
        .clone();
    let (org, cl, env) = (ids::ORG, ids::DR_CLUSTER, ids::DR_ENV);
    let var_body = r#"{"key":"LOG_LEVEL","value":"debug"}"#;
    let container_body = {
        let cur = c
            .get_container_json(ids::DR_WORKER)
            .await
            .expect("container");
        drcockpit::steps::images::container_request(
            &cur,
            ids::DR_REGISTRY,
            "shop-dr/worker",
            "1.4.2",
        )
        .to_string()
    };
    let calls: Vec<(&str, String, String, Option<String>)> = vec![
        ("GET", "/organization".into(), "/organization".into(), None),
        (
            "GET",
            "/organization/{organizationId}".into(),
            format!("/organization/{org}"),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/cluster".into(),
            format!("/organization/{org}/cluster"),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/cluster/status".into(),
            format!("/organization/{org}/cluster/status"),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/cluster/{clusterId}/status".into(),
            format!("/organization/{org}/cluster/{cl}/status"),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/cluster/{clusterId}/isReady".into(),
            format!("/organization/{org}/cluster/{cl}/isReady"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}".into(),
            format!("/environment/{env}"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/status".into(),
            format!("/environment/{env}/status"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/statuses".into(),
            format!("/environment/{env}/statuses"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/container".into(),
            format!("/environment/{env}/container"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/application".into(),
            format!("/environment/{env}/application"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/database".into(),
            format!("/environment/{env}/database"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/environmentVariable".into(),
            format!("/environment/{env}/environmentVariable"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/secret".into(),
            format!("/environment/{env}/secret"),
            None,
        ),
        (
            "GET",
            "/variable".into(),
            format!("/variable?parent_id={env}&scope=ENVIRONMENT"),
            None,
        ),
        (
            "GET",
            "/environment/{environmentId}/deploymentHistory".into(),
            format!("/environment/{env}/deploymentHistory"),
            None,
        ),
        (
            "GET",
            "/environment/deploymentStatus".into(),
            format!("/environment/deploymentStatus?deploymentRequestId={first_history}"),
            None,
        ),
        (
            "PUT",
            "/environment/{environmentId}/environmentVariable/{environmentVariableId}".into(),
            format!("/environment/{env}/environmentVariable/{var_id}"),
            Some(var_body.into()),
        ),
        (
            "POST",
            "/environment/{environmentId}/environmentVariable".into(),
            format!("/environment/{env}/environmentVariable"),
            Some(r#"{"key":"NEW_ONE","value":"1"}"#.into()),
        ),
        (
            "PUT",
            "/environment/{environmentId}/secret/{secretId}".into(),
            format!("/environment/{env}/secret/{secret_id}"),
            Some(r#"{"key":"STRIPE_SECRET_KEY","value":"x-secret"}"#.into()),
        ),
        (
            "POST",
            "/environment/{environmentId}/secret".into(),
            format!("/environment/{env}/secret"),
            Some(r#"{"key":"NEW_SECRET","value":"y-secret"}"#.into()),
        ),
        (
            "POST",
            "/environment/{environmentId}/deploy".into(),
            format!("/environment/{env}/deploy"),
            None,
        ),
        (
            "POST",
            "/environment/{environmentId}/redeploy".into(),
            format!("/environment/{}/redeploy", ids::PROD_ENV),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/containerRegistry".into(),
            format!("/organization/{org}/containerRegistry"),
            None,
        ),
        (
            "GET",
            "/organization/{organizationId}/project".into(),
            format!("/organization/{org}/project"),
            None,
        ),
        (
            "GET",
            "/project/{projectId}/environment".into(),
            format!("/project/{}/environment", ids::PROJECT),
            None,
        ),
        (
            "GET",
            "/container/{containerId}".into(),
            format!("/container/{}", ids::DR_WEB),
            None,
        ),
        (
            "PUT",
            "/container/{containerId}".into(),
            format!("/container/{}", ids::DR_WORKER),
            Some(container_body.clone()),
        ),
    ];
    let mut errs = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for call in &calls {
        call_matches_spec(&c, &spec, call, &mut errs, &mut covered).await;
    }
    // Wait for the deploys to finish, then stop and deploy services.
    tokio::time::sleep(Duration::from_millis(50 * 7 + 100)).await;
    let after: Vec<(&str, String, String, Option<String>)> = vec![
        (
            "POST",
            "/environment/{environmentId}/stop".into(),
            format!("/environment/{env}/stop"),
            None,
        ),
        (
            "POST",
            "/environment/{environmentId}/service/deploy".into(),
            format!("/environment/{}/service/deploy", ids::PROD_ENV),
            Some(format!(
                r#"{{"containers":[{{"id":"{}","image_tag":"1.4.3"}}]}}"#,
                ids::PROD_WEB
            )),
        ),
    ];
    for call in &after {
        call_matches_spec(&c, &spec, call, &mut errs, &mut covered).await;
    }
    // Statuses during a deployment validate too.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let r = c
        .call_raw(
            "GET",
            &format!("/environment/{}/statuses", ids::PROD_ENV),
            None,
        )
        .await
        .expect("statuses");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    validate(
        &spec["schemas"],
        &spec["operations"]["GET /environment/{environmentId}/statuses"]["schema"],
        &v,
        "statuses mid-deployment",
        &mut errs,
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // The validator itself catches a wrong answer.
    let mut e = Vec::new();
    validate(
        &spec["schemas"],
        &spec["operations"]["POST /environment/{environmentId}/deploy"]["schema"],
        &serde_json::json!({ "id": "not-a-uuid", "state": "NOPE", "is_part_last_deployment": "yes" }),
        "bad",
        &mut e,
    );
    assert!(e.iter().any(|x| x.contains("not a uuid")), "{e:?}");
    assert!(e.iter().any(|x| x.contains("NOPE")), "{e:?}");
    assert!(
        e.iter().any(|x| x.contains("`status_details` is missing")),
        "{e:?}"
    );
    assert!(e.iter().any(|x| x.contains("not of type boolean")), "{e:?}");
    for (m, p) in drcockpit::clients::qovery::ENDPOINTS {
        assert!(
            covered.contains(&format!("{m} {p}")),
            "{m} {p} not exercised"
        );
    }
    drop(w);
}

/// Recorded error bodies (tests/fixtures/qovery/errors): served by the simulator, the client keeps
/// each one as text, classified by status, whatever its shape.
#[tokio::test]
async fn recorded_error_bodies_are_kept_as_text() {
    let (w, url) = world(50).await;
    let c = client(&url);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/qovery/errors");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        let status: u16 = name[..3].parse().expect("status prefix");
        let body = std::fs::read_to_string(&path).expect("fixture");
        // A mutation, so the 5xx is not retried away.
        w.inject_status("POST", "/redeploy", status, &body, 1);
        let e = c
            .redeploy_environment(ids::PROD_ENV)
            .await
            .expect_err("injected error");
        assert_eq!(e.status(), Some(status), "{name}: {e:?}");
        let text = e.to_string();
        let first_line = body.trim().lines().next().unwrap_or("").trim();
        assert!(text.contains(first_line), "{name}: body kept: {text}");
        if status == 409 {
            assert!(e.is_conflict());
            assert!(text.contains("operation in progress"));
        }
        n += 1;
    }
    assert!(n >= 5, "{n} fixtures");
}

#[tokio::test]
async fn wait_if_busy_waits_for_the_running_operation_then_sends_again() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(&p, &format!("{DEPLOY_DR}wait_if_busy = true\n"));
    assert!(
        drcockpit::steps::describe(&action)
            .iter()
            .any(|l| l.contains("409"))
    );
    client(&url)
        .redeploy_environment(ids::DR_ENV)
        .await
        .expect("someone else's redeploy");
    let run = run_step(&p, &action, false).await;
    run.result.expect("deployed after waiting");
    let all = run.lines.join("\n");
    assert!(all.contains("is busy"), "{all}");
    // Two POSTs from the step (one 409, one accepted) plus the first redeploy.
    let posts: Vec<_> = w
        .requests()
        .into_iter()
        .filter(|r| r.is_mutating())
        .map(|r| r.path)
        .collect();
    assert_eq!(posts.len(), 3, "{posts:?}");
}

#[tokio::test]
async fn switching_scenario_live_recovers_prod() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w =
        Arc::new(QoveryWorld::new("region-outage", 3).with_outage_after(Duration::from_millis(50)));
    let url = serve(w.clone()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        w.env_state(ids::PROD_ENV).map(|s| s.0).as_deref(),
        Some("UNAVAILABLE")
    );
    w.set_scenario("all-good");
    assert_eq!(w.scenario(), "all-good");
    let c = client(&url);
    let cl = c
        .cluster_status(ids::ORG, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.status, ClusterState::Deployed);
    let s = c
        .environment_statuses(ids::PROD_ENV)
        .await
        .expect("statuses");
    assert_eq!(s.environment.state, State::Deployed);
    assert!(s.containers.iter().all(|c| c.state == State::Deployed));
    assert!(!QoveryWorld::endpoints().is_empty());
}

/// The demo plan's Qovery steps, built from TOML and run in order against the simulator through
/// the real client: set a variable, roll one service, deploy DR (waiting for the roll), stop prod.
#[tokio::test]
async fn demo_qovery_steps_run_end_to_end() {
    #[derive(serde::Deserialize)]
    struct Steps {
        step: Vec<RawStep>,
    }
    let text = include_str!("fixtures/qovery/demo-steps.toml");
    let steps: Steps = toml::from_str(text).expect("demo steps parse");
    let (w, url) = world(60).await;
    let p = plan(&url);
    let mut log = Vec::new();
    for r in steps.step.iter().filter(|r| r.kind.starts_with("qovery.")) {
        let mut identity = |_: &'static str, v: &str| Ok::<String, String>(v.to_string());
        let mut action = build(
            &r.kind,
            r,
            &mut BuildInput {
                sites: &p.sites,
                qovery: p.qovery.as_ref(),
                resolve: &mut identity,
            },
        )
        .expect("demo step builds");
        if let StepAction::Qovery(q) = &mut action {
            q.poll_interval = Duration::from_millis(50);
        }
        let run = run_step(&p, &action, false).await;
        let summary = run
            .result
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", r.id, run.lines.join("\n")));
        log.push(format!("{}: {summary}", r.id));
    }
    assert_eq!(log.len(), 4, "{log:#?}");
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0).as_deref(),
        Some("DEPLOYED")
    );
    assert_eq!(
        w.env_state(ids::PROD_ENV).map(|s| s.0).as_deref(),
        Some("STOPPED")
    );
    assert_eq!(w.service_tag(ids::DR_WORKER).as_deref(), Some("1.4.2"));
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some("postgres://shop@db.eu-west-1.internal:5432/shop")
    );
}

/// The example plans (plans/) build every Qovery step with this module's
/// builder, references resolved from a fixed map.
#[test]
fn example_plans_build_their_qovery_steps() {
    #[derive(serde::Deserialize)]
    struct File {
        step: Vec<RawStep>,
        sites: toml::Table,
    }
    for (name, text) in [
        (
            "warm standby",
            include_str!("../plans/qovery-warm-standby.toml"),
        ),
        (
            "pilot light",
            include_str!("../plans/qovery-pilot-light.toml"),
        ),
    ] {
        let f: File = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let site = |k: &str| {
            let t = f.sites.get(k).and_then(|v| v.as_table()).expect("site");
            Site {
                label: k.into(),
                cluster: t
                    .get("cluster")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                environment: t
                    .get("environment")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                ..Site::default()
            }
        };
        let sites = [site("prod"), site("dr")];
        let q = plan("https://api.qovery.com").qovery;
        let mut n = 0;
        for r in f.step.iter().filter(|r| r.kind.starts_with("qovery.")) {
            let mut resolve = |_: &'static str, v: &str| {
                Ok::<String, String>(
                    v.replace("${env:DR_DATABASE_URL}", "postgres://dr")
                        .replace("${env:RELEASE_TAG}", "1.4.2"),
                )
            };
            let a = build(
                &r.kind,
                r,
                &mut BuildInput {
                    sites: &sites,
                    qovery: q.as_ref(),
                    resolve: &mut resolve,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!drcockpit::steps::describe(&a).is_empty());
            n += 1;
        }
        assert!(n >= 2, "{name}: {n} Qovery steps");
    }
}

/// Issue 17: the names the Qovery probes remember belong to one probe memory. A second memory
/// (another run in the same process) reads them again instead of inheriting the first one's.
#[tokio::test]
async fn each_probe_memory_reads_names_for_itself() {
    let (w, url) = world(100).await;
    let c = client(&url);
    let first = drcockpit::probes::qovery::QoveryMemory::default();
    let second = drcockpit::probes::qovery::QoveryMemory::default();
    for mem in [&first, &first, &second, &second] {
        let cl = drcockpit::probes::qovery::cluster(&c, mem, ids::DR_CLUSTER)
            .await
            .expect("cluster");
        assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
        drcockpit::probes::qovery::environment(&c, mem, SiteId::Dr, ids::DR_ENV)
            .await
            .expect("env");
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(gets(format!("/organization/{}/cluster", ids::ORG)), 2);
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 2);
    // Bounded by what is configured: one cluster and one environment, however many rounds.
    assert_eq!(first.entries(), (1, 1));
    assert_eq!(second.entries(), (1, 1));
}

/// Issue 17: a second `status` run in the same process starts with an empty probe memory: it
/// reads the cluster and environment names again rather than reusing the first run's.
#[tokio::test]
async fn a_second_status_run_in_one_process_starts_with_an_empty_memory() {
    let (w, url) = world(100).await;
    let p = Arc::new(plan(&url));
    for _ in 0..2 {
        let (_, answered) =
            drcockpit::runtime::status::observe_once(p.clone(), Duration::from_secs(10)).await;
        assert_eq!(answered, 4);
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(
        gets(format!("/organization/{}/cluster", ids::ORG)),
        4,
        "each run reads both clusters' names once"
    );
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 2);
    assert_eq!(gets(format!("/environment/{}", ids::PROD_ENV)), 2);
}
