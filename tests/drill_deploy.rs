//! `qovery.deploy` with `environment_name` (issue 16 §3): the partial drill deploys the
//! environment its clone step made, whose id is only known at run time. Checked against the
//! simulated Qovery API: its ground truth and the requests it recorded.

mod common;

use std::sync::Arc;
use std::time::Duration;

use drcockpit::clients::http::HttpClient;
use drcockpit::clients::qovery::{CloneEnvironmentRequest, QoveryClient};
use drcockpit::plan::QoveryConfig;
use drcockpit::sim::qovery::{QoveryWorld, ids};
use drcockpit::steps;

const DEPLOY: &str = r#"
[[step]]
id = "deploy"
title = "Deploy the drill environment"
kind = "qovery.deploy"
environment_name = "drill-2026-q4"
interval = "50ms"
"#;

use common::drill::{CLONE, DELETE, load, plan_text, run};

async fn world() -> (Arc<QoveryWorld>, String) {
    let w = Arc::new(QoveryWorld::new("all-good", 7).with_phase(Duration::from_millis(100)));
    let url = common::qovery::serve(w.clone()).await;
    (w, url)
}

fn client(url: &str) -> QoveryClient {
    QoveryClient::from_plan(
        &QoveryConfig {
            api_url: url.into(),
            token: ids::DEMO_TOKEN.into(),
            auth_scheme: None,
            organization: ids::ORG.into(),
        },
        HttpClient::new(false),
    )
}

/// The id of the environment named `name` (the first listed).
async fn env_id(url: &str, name: &str) -> Option<String> {
    client(url)
        .list_environments(ids::PROJECT)
        .await
        .expect("environments")
        .into_iter()
        .find(|e| e.name == name)
        .map(|e| e.id)
}

#[tokio::test]
async fn clone_then_deploy_by_name_then_delete() {
    let (w, url) = world().await;
    let plan = load(&plan_text(&url, &format!("{CLONE}{DEPLOY}{DELETE}"))).expect("loads");
    assert!(steps::is_mutating(&plan.steps[1].action));
    let prod_before = w.env_state(ids::PROD_ENV);
    let dr_before = w.env_state(ids::DR_ENV);

    run(&plan, 0).await.0.expect("the clone succeeds");
    let drill = env_id(&url, "drill-2026-q4")
        .await
        .expect("the clone is listed");
    w.clear_requests();

    let (r, lines) = run(&plan, 1).await;
    let summary = r.expect("the deploy succeeds");
    assert!(summary.contains("DEPLOYED"), "{summary}");
    // Followed to its end: the cloned environment really is deployed.
    assert_eq!(
        w.env_state(&drill),
        Some(("DEPLOYED".to_string(), "DEPLOYED".to_string()))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("drill-2026-q4") && l.contains(&drill)),
        "the log says which environment the name resolved to: {lines:?}"
    );
    // One POST, to the clone; prod and DR untouched.
    let posts = w.mutations();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, format!("/environment/{drill}/deploy"));
    assert_eq!(w.env_state(ids::PROD_ENV), prod_before);
    assert_eq!(w.env_state(ids::DR_ENV), dr_before);

    let (r, _) = run(&plan, 2).await;
    assert!(r.expect("the delete succeeds").contains("gone"));
    assert!(w.ground_truth(&drill).is_none(), "the clone is gone");
}

#[tokio::test]
async fn a_name_matching_no_environment_fails_without_a_post() {
    let (w, url) = world().await;
    let plan = load(&plan_text(&url, DEPLOY)).expect("loads");
    let (r, _) = run(&plan, 0).await;
    let e = r.expect_err("no such environment");
    assert!(e.contains("no environment named \"drill-2026-q4\""), "{e}");
    assert!(e.contains("nothing was sent"), "{e}");
    assert!(e.contains("qovery.clone_environment"), "{e}");
    assert!(
        w.requests().iter().all(|r| !r.is_mutating()),
        "{:?}",
        w.requests()
    );
}

#[tokio::test]
async fn two_environments_with_the_name_are_refused() {
    let (w, url) = world().await;
    let c = client(&url);
    let req = CloneEnvironmentRequest {
        name: "drill-2026-q4".into(),
        cluster_id: Some(ids::DR_CLUSTER.into()),
        mode: Some("DEVELOPMENT".into()),
        apply_deployment_rule: Some(false),
        project_id: None,
    };
    let a = c.clone_environment(ids::PROD_ENV, &req).await.expect("a");
    let b = c.clone_environment(ids::PROD_ENV, &req).await.expect("b");
    w.clear_requests();
    let plan = load(&plan_text(&url, DEPLOY)).expect("loads");
    let (r, _) = run(&plan, 0).await;
    let e = r.expect_err("ambiguous");
    assert!(e.contains("2 environments are named"), "{e}");
    assert!(e.contains(&a.id) && e.contains(&b.id), "{e}");
    assert!(e.contains("nothing was sent"), "{e}");
    assert!(w.requests().iter().all(|r| !r.is_mutating()));
}

#[test]
fn review_mode_shows_the_name_resolved_at_run_time() {
    let url = "https://api.example.com";
    let plan = load(&plan_text(url, DEPLOY)).expect("loads");
    let d = steps::describe(&plan.steps[0].action).join("\n");
    assert!(
        d.contains("the environment named \"drill-2026-q4\", looked up in the plan's project when the step runs"),
        "{d}"
    );
    assert!(
        d.contains(&format!(
            "GET {url}/environment/{} (the plan's project)",
            ids::PROD_ENV
        )),
        "{d}"
    );
    assert!(
        d.contains(&format!(
            "POST {url}/environment/‹id of drill-2026-q4›/deploy"
        )),
        "{d}"
    );
    assert!(d.contains("until DEPLOYED"), "{d}");
}

#[test]
fn environment_name_is_not_given_with_site_or_environment() {
    for extra in [
        "site = \"dr\"\n",
        &format!("environment = \"{}\"\n", ids::DR_ENV),
    ] {
        let e = load(&plan_text(
            "http://127.0.0.1:9",
            &format!("{DEPLOY}{extra}"),
        ))
        .expect_err("refused");
        assert!(e.message.contains("not several"), "{e}");
    }
    let e = load(&plan_text(
        "http://127.0.0.1:9",
        "[[step]]\nid = \"x\"\ntitle = \"x\"\nkind = \"qovery.deploy_services\"\nenvironment_name = \"drill\"\nservices = [\"web\"]\n",
    ))
    .expect_err("deploy_services takes no environment_name");
    assert!(e.message.contains("environment_name"), "{e}");
}

#[tokio::test]
async fn preflight_looks_the_name_up_read_only() {
    use drcockpit::steps::{StepContext, StepSink};
    let (w, url) = world().await;
    let plan = load(&plan_text(&url, &format!("{CLONE}{DEPLOY}"))).expect("loads");
    let ctx = StepContext::read_only(Arc::new(plan.clone()), 1, StepSink::discard());
    // Before the clone: unknown (an earlier step creates it), not a failure.
    let before = steps::preflight(&plan.steps[1].action, &ctx, vec![]).await;
    let named = |checks: &[drcockpit::journal::PreflightCheck]| {
        checks
            .iter()
            .find(|c| c.what.contains("named drill-2026-q4"))
            .map(|c| (c.ok, c.detail.clone()))
    };
    assert_eq!(named(&before).map(|c| c.0), Some(None), "{before:?}");
    run(&plan, 0).await.0.expect("the clone succeeds");
    let drill = env_id(&url, "drill-2026-q4").await.expect("listed");
    w.clear_requests();
    let after = steps::preflight(&plan.steps[1].action, &ctx, vec![]).await;
    assert_eq!(
        named(&after),
        Some((Some(true), drill.clone())),
        "{after:?}"
    );
    // The environment checked is the clone, not the plan's prod environment.
    assert!(
        after
            .iter()
            .any(|c| c.what.contains(&drill) && c.ok == Some(true)),
        "{after:?}"
    );
    assert!(w.requests().iter().all(|r| !r.is_mutating()));
}
