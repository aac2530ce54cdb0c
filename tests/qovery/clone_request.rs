//! `qovery.clone_environment`'s request body against the spec's `CloneEnvironmentRequest`
//! (issue 16 loose ends): the body the step sends validates against the request schema of the
//! vendored spec subset (tests/fixtures/qovery-openapi-subset.json), carries the plan's `mode`
//! and `apply_deployment_rule`, and the simulator refuses a body outside the schema with a 400.

use super::*;
use crate::contract::validate;

const SUBSET: &str = include_str!("../fixtures/qovery-openapi-subset.json");

/// The spec's request-body schema of `POST /environment/{environmentId}/clone`, and the
/// subset's component schemas its `$ref`s resolve in.
fn clone_request_schema() -> (serde_json::Value, serde_json::Value) {
    let spec: serde_json::Value = serde_json::from_str(SUBSET).expect("the spec subset is JSON");
    let schema = spec["paths"]["/environment/{environmentId}/clone"]["post"]["requestBody"]
        ["content"]["application/json"]["schema"]
        .clone();
    assert!(
        schema.is_object(),
        "the subset has the clone's request body"
    );
    (schema, spec["components"]["schemas"].clone())
}

/// Validate `body` against `CloneEnvironmentRequest`, and refuse any key the schema does not
/// define (the spec allows none we could mean).
fn request_errors(body: &serde_json::Value) -> Vec<String> {
    let (schema, schemas) = clone_request_schema();
    let mut errs = Vec::new();
    validate(&schemas, &schema, body, "clone body", &mut errs);
    let props = &schemas["CloneEnvironmentRequest"]["properties"];
    for k in body.as_object().into_iter().flat_map(|o| o.keys()) {
        if props.get(k).is_none() {
            errs.push(format!(
                "clone body: `{k}` is not in CloneEnvironmentRequest"
            ));
        }
    }
    errs
}

/// The partial drill's plan (tests/common/drill.rs) with its clone step, `step` adding keys to it.
fn plan_text(url: &str, step: &str) -> String {
    common::drill::plan_text(url, &format!("{}{step}", common::drill::CLONE))
}

fn load(text: &str) -> Result<Plan, drcockpit::plan::PlanError> {
    drcockpit::steps::load_str(text, "drill.toml", &drcockpit::plan::LoadOptions::default())
}

/// Run the clone step; the body it POSTed and the new environment as Qovery reads it back.
async fn clone_with(step: &str) -> (serde_json::Value, serde_json::Value) {
    let (w, url) = world(50).await;
    let p = load(&plan_text(&url, step)).expect("the plan loads");
    let r = run_step(&p, &p.steps[0].action, false).await;
    r.result.expect("the clone succeeds");
    let posts = w.mutations();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).expect("a JSON body");
    let id = client(&url)
        .list_environments(ids::PROJECT)
        .await
        .expect("environments")
        .into_iter()
        .find(|e| e.name == "drill-2026-q4")
        .expect("the clone is listed")
        .id;
    let env = client(&url)
        .call_raw("GET", &format!("/environment/{id}"), None)
        .await
        .expect("the clone reads back");
    (body, serde_json::from_str(&env.body).expect("json"))
}

#[tokio::test]
async fn clone_body_follows_the_spec_request_schema_with_a_drill_mode_by_default() {
    let (body, env) = clone_with("").await;
    let errs = request_errors(&body);
    assert!(errs.is_empty(), "{}\n{body}", errs.join("\n"));
    assert_eq!(body["name"], "drill-2026-q4");
    assert_eq!(body["cluster_id"], ids::DR_CLUSTER);
    // A drill environment, not a second PRODUCTION one, and no deployment rule applied.
    assert_eq!(body["mode"], "DEVELOPMENT", "{body}");
    assert_eq!(body["apply_deployment_rule"], false, "{body}");
    assert_eq!(env["mode"], "DEVELOPMENT", "{env}");
}

#[tokio::test]
async fn the_plan_sets_the_clone_mode_and_deployment_rule() {
    let (body, env) = clone_with("mode = \"PREVIEW\"\napply_deployment_rule = true\n").await;
    let errs = request_errors(&body);
    assert!(errs.is_empty(), "{}\n{body}", errs.join("\n"));
    assert_eq!(body["mode"], "PREVIEW");
    assert_eq!(body["apply_deployment_rule"], true);
    assert_eq!(env["mode"], "PREVIEW", "{env}");
    // Review mode shows the exact body.
    let (_, url) = world(50).await;
    let p = load(&plan_text(
        &url,
        "mode = \"PREVIEW\"\napply_deployment_rule = true\n",
    ))
    .expect("loads");
    let shown = drcockpit::steps::describe(&p.steps[0].action).join("\n");
    assert!(
        shown.contains(r#""mode":"PREVIEW""#) && shown.contains(r#""apply_deployment_rule":true"#),
        "{shown}"
    );
}

#[test]
fn a_mode_outside_the_spec_enum_is_refused_at_load() {
    let e = load(&plan_text("http://127.0.0.1:9", "mode = \"drill\"\n"))
        .expect_err("not an EnvironmentModeEnum")
        .to_string();
    assert!(
        e.contains("EnvironmentModeEnum") && e.contains("PREVIEW"),
        "{e}"
    );
}

#[tokio::test]
async fn the_simulator_refuses_a_clone_body_outside_the_schema() {
    let (w, url) = world(50).await;
    let c = client(&url);
    let path = format!("/environment/{}/clone", ids::PROD_ENV);
    let bad = [
        (r#"{"cluster_id":"x"}"#.to_string(), "name is required"),
        (r#"{"name":7}"#.to_string(), "name must be a string"),
        (
            r#"{"name":"d","cluster_id":"dr-cluster"}"#.to_string(),
            "cluster_id must be a uuid",
        ),
        (
            r#"{"name":"d","mode":"drill"}"#.to_string(),
            "mode must be one of",
        ),
        (
            r#"{"name":"d","apply_deployment_rule":"yes"}"#.to_string(),
            "apply_deployment_rule must be a boolean",
        ),
        (
            format!(r#"{{"name":"d","project_id":"{}"}}"#, ids::DR_ENV),
            "not found",
        ),
    ];
    for (body, want) in bad {
        let r = c
            .call_raw("POST", &path, Some(body.clone()))
            .await
            .expect("an answer");
        assert!(
            (400..500).contains(&r.status) && r.body.contains(want),
            "{body} → {} {}",
            r.status,
            r.body
        );
    }
    // Nothing was cloned.
    assert_eq!(
        c.list_environments(ids::PROJECT).await.expect("envs").len(),
        2
    );
    drop(w);
}
