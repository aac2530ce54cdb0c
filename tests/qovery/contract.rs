//! The contract: every endpoint the client calls, and every simulator answer, is in the spec.

use super::*;

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

const SCHEMAS: &str = include_str!("../fixtures/qovery/schemas.json");

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
    // A 204 has no body and the spec no schema for it.
    if op["schema"].is_null() && r.body.trim().is_empty() {
        covered.insert(format!("{method} {template}"));
        return;
    }
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

pub(crate) fn validate(
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

/// One call: `(method, path template, path, body)`.
type Call = (&'static str, String, String, Option<String>);

/// A GET without a body.
fn get(template: &str, path: String) -> Call {
    ("GET", template.into(), path, None)
}

/// The ids the writes need, read from the simulator, and the container body the client sends.
struct WorldIds {
    first_history: String,
    var_id: String,
    secret_id: String,
    container_body: String,
}

async fn world_ids(c: &QoveryClient) -> WorldIds {
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
    WorldIds {
        first_history,
        var_id,
        secret_id,
        container_body,
    }
}

/// The reads of an idle world: organization, clusters, the DR environment and its history.
fn idle_reads(first_history: &str) -> Vec<Call> {
    let (org, cl, env) = (ids::ORG, ids::DR_CLUSTER, ids::DR_ENV);
    vec![
        get("/organization", "/organization".into()),
        get(
            "/organization/{organizationId}",
            format!("/organization/{org}"),
        ),
        get(
            "/organization/{organizationId}/cluster",
            format!("/organization/{org}/cluster"),
        ),
        get(
            "/organization/{organizationId}/cluster/status",
            format!("/organization/{org}/cluster/status"),
        ),
        get(
            "/organization/{organizationId}/cluster/{clusterId}/status",
            format!("/organization/{org}/cluster/{cl}/status"),
        ),
        get(
            "/organization/{organizationId}/cluster/{clusterId}/isReady",
            format!("/organization/{org}/cluster/{cl}/isReady"),
        ),
        get(
            "/environment/{environmentId}",
            format!("/environment/{env}"),
        ),
        get(
            "/environment/{environmentId}/status",
            format!("/environment/{env}/status"),
        ),
        get(
            "/environment/{environmentId}/statuses",
            format!("/environment/{env}/statuses"),
        ),
        get(
            "/environment/{environmentId}/container",
            format!("/environment/{env}/container"),
        ),
        get(
            "/environment/{environmentId}/application",
            format!("/environment/{env}/application"),
        ),
        get(
            "/environment/{environmentId}/database",
            format!("/environment/{env}/database"),
        ),
        get(
            "/environment/{environmentId}/environmentVariable",
            format!("/environment/{env}/environmentVariable"),
        ),
        get(
            "/environment/{environmentId}/secret",
            format!("/environment/{env}/secret"),
        ),
        get(
            "/variable",
            format!("/variable?parent_id={env}&scope=ENVIRONMENT"),
        ),
        get(
            "/environment/{environmentId}/deploymentHistory",
            format!("/environment/{env}/deploymentHistory"),
        ),
        get(
            "/environment/deploymentStatus",
            format!("/environment/deploymentStatus?deploymentRequestId={first_history}"),
        ),
    ]
}

/// Then the writes (variables, secrets, deploy, redeploy), the registry and project reads, and
/// the container read and update.
fn writes_then_reads(w: &WorldIds) -> Vec<Call> {
    let (org, env) = (ids::ORG, ids::DR_ENV);
    let (var_id, secret_id) = (&w.var_id, &w.secret_id);
    let var_body = r#"{"key":"LOG_LEVEL","value":"debug"}"#;
    vec![
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
        get(
            "/organization/{organizationId}/containerRegistry",
            format!("/organization/{org}/containerRegistry"),
        ),
        get(
            "/organization/{organizationId}/project",
            format!("/organization/{org}/project"),
        ),
        get(
            "/project/{projectId}/environment",
            format!("/project/{}/environment", ids::PROJECT),
        ),
        get(
            "/container/{containerId}",
            format!("/container/{}", ids::DR_WEB),
        ),
        (
            "PUT",
            "/container/{containerId}".into(),
            format!("/container/{}", ids::DR_WORKER),
            Some(w.container_body.clone()),
        ),
    ]
}

/// Once the deploys are over: stop the DR environment and deploy services of prod.
async fn stop_and_deploy_services(
    c: &QoveryClient,
    spec: &serde_json::Value,
    errs: &mut Vec<String>,
    covered: &mut std::collections::BTreeSet<String>,
) {
    let env = ids::DR_ENV;
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
        call_matches_spec(c, spec, call, errs, covered).await;
    }
}

async fn statuses_mid_deployment(
    c: &QoveryClient,
    spec: &serde_json::Value,
    errs: &mut Vec<String>,
) {
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
        errs,
    );
}

async fn clone_then_delete(
    c: &QoveryClient,
    spec: &serde_json::Value,
    errs: &mut Vec<String>,
    covered: &mut std::collections::BTreeSet<String>,
) {
    // Once the operations are over: clone DR, then delete the clone.
    tokio::time::sleep(Duration::from_millis(50 * 7 + 100)).await;
    let clone = (
        "POST",
        "/environment/{environmentId}/clone".into(),
        format!("/environment/{}/clone", ids::DR_ENV),
        Some(format!(
            r#"{{"name":"contract-clone","cluster_id":"{}"}}"#,
            ids::DR_CLUSTER
        )),
    );
    call_matches_spec(c, spec, &clone, errs, covered).await;
    let new_id = c
        .list_environments(ids::PROJECT)
        .await
        .expect("environments")
        .into_iter()
        .find(|e| e.name == "contract-clone")
        .expect("the clone is listed")
        .id;
    let delete = (
        "DELETE",
        "/environment/{environmentId}".into(),
        format!("/environment/{new_id}"),
        None,
    );
    call_matches_spec(c, spec, &delete, errs, covered).await;
}

fn validator_catches_a_wrong_answer(spec: &serde_json::Value) {
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
}

#[tokio::test]
async fn simulator_answers_validate_against_the_spec_schemas() {
    let spec: serde_json::Value = serde_json::from_str(SCHEMAS).expect("schemas fixture");
    let (w, url) = world(50).await;
    let c = client(&url);
    let world_ids = world_ids(&c).await;
    let calls: Vec<Call> = [
        idle_reads(&world_ids.first_history),
        writes_then_reads(&world_ids),
    ]
    .concat();
    let mut errs = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for call in &calls {
        call_matches_spec(&c, &spec, call, &mut errs, &mut covered).await;
    }
    stop_and_deploy_services(&c, &spec, &mut errs, &mut covered).await;
    statuses_mid_deployment(&c, &spec, &mut errs).await;
    clone_then_delete(&c, &spec, &mut errs, &mut covered).await;
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    validator_catches_a_wrong_answer(&spec);
    for (m, p) in drcockpit::clients::qovery::ENDPOINTS {
        assert!(
            covered.contains(&format!("{m} {p}")),
            "{m} {p} not exercised"
        );
    }
    drop(w);
}
