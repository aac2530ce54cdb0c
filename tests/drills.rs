//! The quarterly partial drill's kinds (issue 16 §3): `qovery.clone_environment` and
//! `qovery.delete_environment` against the simulated Qovery API, checked on the simulator's
//! ground truth and on the requests it recorded.

mod common;

use std::sync::Arc;

use drcockpit::clients::http::HttpClient;
use drcockpit::sim::qovery::{QoveryWorld, ids};
use drcockpit::steps;

use common::drill::{CLONE, DELETE, load, plan_text, run};

async fn world() -> (Arc<QoveryWorld>, String) {
    let w = Arc::new(QoveryWorld::new("all-good", 7));
    let url = common::qovery::serve(w.clone()).await;
    (w, url)
}

/// Which of prod's and DR's environments the world no longer has.
fn missing_sites(w: &QoveryWorld) -> Vec<String> {
    [ids::PROD_ENV, ids::DR_ENV]
        .iter()
        .filter(|id| w.ground_truth(id).is_none())
        .map(|s| s.to_string())
        .collect()
}

async fn find_env(url: &str, name: &str) -> Option<drcockpit::clients::qovery::Environment> {
    let c = drcockpit::clients::qovery::QoveryClient::from_plan(
        &drcockpit::plan::QoveryConfig {
            api_url: url.into(),
            token: ids::DEMO_TOKEN.into(),
            auth_scheme: None,
            organization: ids::ORG.into(),
        },
        HttpClient::new(true),
    );
    c.list_environments(ids::PROJECT)
        .await
        .expect("environments")
        .into_iter()
        .find(|e| e.name == name)
}

#[tokio::test]
async fn clone_then_delete_round_trip_on_the_dr_cluster() {
    let (w, url) = world().await;
    let plan = load(&plan_text(&url, &format!("{CLONE}{DELETE}"))).expect("loads");
    assert!(steps::is_mutating(&plan.steps[0].action));
    assert!(steps::is_mutating(&plan.steps[1].action));

    let (r, lines) = run(&plan, 0).await;
    let summary = r.expect("the clone succeeds");
    let clone = find_env(&url, "drill-2026-q4")
        .await
        .expect("the clone is listed");
    assert_eq!(clone.cluster_id.as_deref(), Some(ids::DR_CLUSTER));
    assert!(summary.contains(&clone.id), "{summary}");
    assert!(
        w.ground_truth(&clone.id).is_some(),
        "the world has the clone"
    );
    // The source's services were copied (new ids, same count).
    assert_eq!(
        w.ground_truth(&clone.id).expect("clone").services.len(),
        w.ground_truth(ids::PROD_ENV).expect("prod").services.len()
    );
    // Its id is evidence for the journal.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"cloned\"") && l.contains(&clone.id)),
        "{lines:?}"
    );
    let posts = w.mutations();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0].path,
        format!("/environment/{}/clone", ids::PROD_ENV)
    );
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).expect("json body");
    assert_eq!(body["name"], "drill-2026-q4");
    assert_eq!(body["cluster_id"], ids::DR_CLUSTER);

    let (r, _) = run(&plan, 1).await;
    let summary = r.expect("the delete succeeds");
    assert!(summary.contains("gone"), "{summary}");
    assert!(w.ground_truth(&clone.id).is_none(), "the clone is gone");
    assert!(find_env(&url, "drill-2026-q4").await.is_none());
    // Prod and DR are untouched.
    assert!(missing_sites(&w).is_empty());
}

#[tokio::test]
async fn a_clone_whose_name_exists_fails_without_a_post() {
    let (w, url) = world().await;
    let plan = load(&plan_text(&url, CLONE)).expect("loads");
    run(&plan, 0).await.0.expect("the first clone succeeds");
    w.clear_requests();
    let (r, _) = run(&plan, 0).await;
    let e = r.expect_err("a second clone of the same name is refused");
    assert!(e.contains("already exists"), "{e}");
    assert!(e.contains("nothing was sent"), "{e}");
    assert!(
        w.requests().iter().all(|r| !r.is_mutating()),
        "{:?}",
        w.requests()
    );
}

#[test]
fn deleting_prod_or_dr_by_id_is_refused_at_load() {
    for id in [ids::PROD_ENV, ids::DR_ENV] {
        let step = format!(
            "[[step]]\nid = \"delete\"\ntitle = \"Delete\"\nkind = \"qovery.delete_environment\"\nenvironment = \"{id}\"\nconfirm = \"DELETE\"\n"
        );
        let e = load(&plan_text("http://127.0.0.1:9", &step)).expect_err("refused");
        assert!(e.message.contains("refused"), "{e}");
        assert!(e.message.contains("never deletes prod or DR"), "{e}");
    }
}

#[test]
fn delete_needs_a_typed_word() {
    let step = DELETE.replace("confirm = \"DELETE\"\n", "");
    let e = load(&plan_text("http://127.0.0.1:9", &step)).expect_err("no confirm");
    assert!(e.message.contains("confirm"), "{e}");
}

#[tokio::test]
async fn a_name_that_resolves_to_dr_is_refused_at_run_time() {
    let (w, url) = world().await;
    // The simulator's DR environment's name, as the API lists it.
    let dr_name = {
        let client = drcockpit::clients::qovery::QoveryClient::from_plan(
            &drcockpit::plan::QoveryConfig {
                api_url: url.clone(),
                token: ids::DEMO_TOKEN.into(),
                auth_scheme: None,
                organization: ids::ORG.into(),
            },
            HttpClient::new(true),
        );
        client.environment(ids::DR_ENV).await.expect("dr").name
    };
    let step = DELETE.replace("drill-2026-q4", &dr_name);
    let plan = load(&plan_text(&url, &step)).expect("a name loads (it resolves at run time)");
    let (r, _) = run(&plan, 0).await;
    let e = r.expect_err("refused");
    assert!(e.contains("refused"), "{e}");
    assert!(e.contains("DR"), "{e}");
    assert!(w.ground_truth(ids::DR_ENV).is_some(), "DR is still there");
    assert!(w.requests().iter().all(|r| !r.is_mutating()));
}

#[test]
fn review_mode_describes_the_exact_calls() {
    let url = "https://api.example.com";
    let plan = load(&plan_text(url, &format!("{CLONE}{DELETE}"))).expect("loads");
    let clone = steps::describe(&plan.steps[0].action).join("\n");
    assert!(
        clone.contains(&format!(
            "POST {url}/environment/{}/clone  {{\"name\":\"drill-2026-q4\",\"cluster_id\":\"{}\",\"mode\":\"DEVELOPMENT\",\"apply_deployment_rule\":false}}",
            ids::PROD_ENV,
            ids::DR_CLUSTER
        )),
        "{clone}"
    );
    assert!(
        clone.contains(&format!("GET {url}/environment/{}", ids::PROD_ENV)),
        "{clone}"
    );
    assert!(clone.contains("refuses, sending nothing"), "{clone}");
    let delete = steps::describe(&plan.steps[1].action).join("\n");
    assert!(
        delete.contains(&format!("DELETE {url}/environment/‹id of drill-2026-q4›")),
        "{delete}"
    );
    assert!(
        delete.contains("refuses if it is the plan's prod or DR environment"),
        "{delete}"
    );
}

#[tokio::test]
async fn a_clone_of_a_deploying_environment_answers_409_and_the_step_says_so() {
    let (w, url) = world().await;
    let c = drcockpit::clients::qovery::QoveryClient::from_plan(
        &drcockpit::plan::QoveryConfig {
            api_url: url.clone(),
            token: ids::DEMO_TOKEN.into(),
            auth_scheme: None,
            organization: ids::ORG.into(),
        },
        HttpClient::new(false),
    );
    c.redeploy_environment(ids::PROD_ENV)
        .await
        .expect("redeploy starts");
    let plan = load(&plan_text(&url, CLONE)).expect("loads");
    let (r, _) = run(&plan, 0).await;
    let e = r.expect_err("409");
    assert!(e.contains("409"), "{e}");
    assert!(find_env(&url, "drill-2026-q4").await.is_none());
    drop(w);
}

#[tokio::test]
async fn the_simulator_refuses_a_clone_without_a_name() {
    let (_w, url) = world().await;
    let c = drcockpit::clients::qovery::QoveryClient::from_plan(
        &drcockpit::plan::QoveryConfig {
            api_url: url,
            token: ids::DEMO_TOKEN.into(),
            auth_scheme: None,
            organization: ids::ORG.into(),
        },
        HttpClient::new(false),
    );
    let r = c
        .call_raw(
            "POST",
            &format!("/environment/{}/clone", ids::PROD_ENV),
            Some("{}".into()),
        )
        .await
        .expect("answer");
    assert_eq!(r.status, 400, "{}", r.body);
}
