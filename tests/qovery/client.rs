//! The Qovery client against the simulator: reads, auth, actions, retries, errors, read-only.

use super::*;

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
    let posts = w.mutations().len();
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
    assert_eq!(w.mutations().len(), 0);
}
