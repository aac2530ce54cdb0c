//! The `notify.*` bodies against each service's DOCUMENTED request format (issue 16 loose ends):
//! tests/fixtures/notify/ holds one example body per service in the documented shape (its
//! README cites the page). Our bodies must carry every documented required field with the
//! documented JSON type, and no field the documentation does not name; the simulator's sinks
//! must accept the documented examples and refuse what the documentation says is invalid.

use chrono::Utc;
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::sim::notify::{opsgenie_problems, pagerduty_problems, teams_problem};
use drcockpit::steps::{self, notify};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let p = format!(
        "{}/tests/fixtures/notify/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A plan with one notify step (`step` is its TOML), credentials by reference.
fn plan(step: &str) -> Plan {
    // SAFETY: nextest runs each test in its own process; nothing else here reads these.
    unsafe {
        std::env::set_var("DRC_NF_URL", "https://hooks.example.com/services/T0/B0/x");
        std::env::set_var("DRC_NF_KEY", "0123456789abcdef0123456789abcdef");
    }
    let text = format!(
        r#"
[plan]
name = "Shop failover"
strategy = "pilot-light"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "Paris"

[sites.dr]
label = "Amsterdam"

[[step]]
id = "tell"
title = "Tell them"
message = "{{plan}}: failing over from {{prod}} to {{dr}}"
link = "https://runbooks.example.com/shop"
{step}
"#
    );
    steps::load_str(&text, "notify.toml", &LoadOptions::default()).expect("the plan loads")
}

/// The body and headers the step would send now.
fn body(p: &Plan) -> (Value, Vec<(String, String)>) {
    let spec = notify::spec_of(&p.steps[0].action).expect("a notify step");
    let values = notify::values(spec, p, Utc::now());
    let req = notify::request(spec, &values).expect("a request");
    let b = serde_json::from_str(req.body.as_deref().expect("a body")).expect("JSON");
    (b, req.headers)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Problems of `ours` against the documented example `doc`: each `required` pointer present
/// with the example's JSON type, and every key of every object we send (recursively, through
/// arrays by their first element) named by the example at the same place.
fn against(doc: &Value, ours: &Value, required: &[&str]) -> Vec<String> {
    let mut errs = Vec::new();
    for r in required {
        match (doc.pointer(r), ours.pointer(r)) {
            (Some(d), Some(o)) if kind(d) == kind(o) => {}
            (Some(d), Some(o)) => {
                errs.push(format!("{r}: {} where the docs have {}", kind(o), kind(d)))
            }
            (Some(_), None) => errs.push(format!("{r}: missing")),
            (None, _) => errs.push(format!("{r}: not in the documented example (test bug)")),
        }
    }
    fn walk(doc: &Value, ours: &Value, at: &str, errs: &mut Vec<String>) {
        match (doc, ours) {
            (Value::Object(d), Value::Object(o)) => {
                for (k, v) in o {
                    match d.get(k) {
                        None => errs.push(format!("{at}/{k}: not a documented field")),
                        Some(dv) if kind(dv) != kind(v) && !dv.is_null() => errs.push(format!(
                            "{at}/{k}: {} where the docs have {}",
                            kind(v),
                            kind(dv)
                        )),
                        // Free-form maps (PagerDuty `custom_details`, Opsgenie `details`):
                        // their keys are ours to choose.
                        Some(_) if k == "custom_details" || k == "details" => {}
                        Some(dv) => walk(dv, v, &format!("{at}/{k}"), errs),
                    }
                }
            }
            (Value::Array(d), Value::Array(o)) => {
                if let Some(d0) = d.first() {
                    for (i, x) in o.iter().enumerate() {
                        walk(d0, x, &format!("{at}/{i}"), errs);
                    }
                }
            }
            _ => {}
        }
    }
    walk(doc, ours, "", &mut errs);
    errs
}

#[test]
fn slack_body_has_the_documented_fields() {
    let (b, _) = body(&plan(
        "kind = \"notify.slack\"\nurl = \"${env:DRC_NF_URL}\"",
    ));
    let doc = fixture("slack_incoming_webhook.json");
    let errs = against(
        &doc,
        &b,
        &["/text", "/blocks/0/type", "/blocks/0/text/type"],
    );
    // Our second block is a `context` block (Block Kit): its `elements` are not in the one
    // documented section block, so only the first block is walked.
    let first = serde_json::json!({ "text": b["text"], "blocks": [b["blocks"][0]] });
    let errs: Vec<_> = errs
        .into_iter()
        .filter(|e| !e.starts_with("/blocks/1"))
        .chain(against(&doc, &first, &[]))
        .collect();
    assert!(errs.is_empty(), "{}\n{b}", errs.join("\n"));
}

#[test]
fn teams_body_is_the_documented_adaptive_card_message() {
    let (b, _) = body(&plan(
        "kind = \"notify.teams\"\nurl = \"${env:DRC_NF_URL}\"",
    ));
    let doc = fixture("teams_workflow_adaptive_card.json");
    let mut errs = against(
        &doc,
        &b,
        &[
            "/type",
            "/attachments/0/contentType",
            "/attachments/0/content/type",
            "/attachments/0/content/version",
            "/attachments/0/content/body",
        ],
    );
    // `actions` (Action.OpenUrl, which the Teams page lists as supported) and the TextBlock
    // properties below (Adaptive Cards schema, adaptivecards.io/explorer/TextBlock.html, all
    // version 1.0) are documented card parts the example does not show.
    const TEXT_BLOCK: &[&str] = &["size", "weight", "wrap", "color", "isSubtle", "maxLines"];
    errs.retain(|e| {
        let documented_text_block = e
            .strip_prefix("/attachments/0/content/body/")
            .and_then(|r| r.split_once('/'))
            .and_then(|(_, rest)| rest.split(':').next())
            .is_some_and(|prop| TEXT_BLOCK.contains(&prop));
        !e.starts_with("/attachments/0/content/actions") && !documented_text_block
    });
    for el in b["attachments"][0]["content"]["body"]
        .as_array()
        .expect("a card body")
    {
        assert!(el["type"] == "TextBlock" && el["text"].is_string(), "{el}");
    }
    assert!(errs.is_empty(), "{}\n{b}", errs.join("\n"));
    assert_eq!(b["type"], "message");
    assert_eq!(
        b["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        b["attachments"][0]["content"]["version"],
        doc["attachments"][0]["content"]["version"]
    );
    assert_eq!(teams_problem(&b.to_string()), None);
}

#[test]
fn pagerduty_bodies_have_the_documented_fields_and_enums() {
    let (b, _) = body(&plan(
        "kind = \"notify.pagerduty\"\nrouting_key = \"${env:DRC_NF_KEY}\"\nseverity = \"critical\"",
    ));
    let doc = fixture("pagerduty_trigger.json");
    let errs = against(
        &doc,
        &b,
        &[
            "/routing_key",
            "/event_action",
            "/payload/summary",
            "/payload/source",
            "/payload/severity",
        ],
    );
    assert!(errs.is_empty(), "{}\n{b}", errs.join("\n"));
    assert!(pagerduty_problems(&b).is_empty(), "{b}");
    let (r, _) = body(&plan(
        "kind = \"notify.pagerduty\"\naction = \"resolve\"\nrouting_key = \"${env:DRC_NF_KEY}\"\ndedup_key = \"shop-failover\"",
    ));
    let doc = fixture("pagerduty_resolve.json");
    let errs = against(&doc, &r, &["/routing_key", "/dedup_key", "/event_action"]);
    assert!(errs.is_empty(), "{}\n{r}", errs.join("\n"));
    assert_eq!(r["event_action"], "resolve");
}

#[test]
fn opsgenie_bodies_have_the_documented_fields_and_geniekey_auth() {
    let (b, headers) = body(&plan(
        "kind = \"notify.opsgenie\"\napi_key = \"${env:DRC_NF_KEY}\"\npriority = \"P2\"",
    ));
    let doc = fixture("opsgenie_create_alert.json");
    let errs = against(&doc, &b, &["/message", "/alias", "/priority"]);
    assert!(errs.is_empty(), "{}\n{b}", errs.join("\n"));
    let Value::Object(o) = &b else { panic!("{b}") };
    assert!(opsgenie_problems(o).is_empty(), "{b}");
    // Opsgenie's `details` is a map of strings.
    assert!(
        b["details"]
            .as_object()
            .is_some_and(|d| d.values().all(Value::is_string)),
        "{b}"
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "Authorization" && v.starts_with("GenieKey ")),
        "{headers:?}"
    );
    let (c, _) = body(&plan(
        "kind = \"notify.opsgenie\"\naction = \"close\"\napi_key = \"${env:DRC_NF_KEY}\"\nalias = \"drcockpit-shop\"",
    ));
    let errs = against(&fixture("opsgenie_close_alert.json"), &c, &[]);
    assert!(errs.is_empty(), "{}\n{c}", errs.join("\n"));
}

#[test]
fn the_sinks_accept_the_documented_examples() {
    assert_eq!(
        teams_problem(&fixture("teams_workflow_adaptive_card.json").to_string()),
        None
    );
    assert!(pagerduty_problems(&fixture("pagerduty_trigger.json")).is_empty());
    assert!(pagerduty_problems(&fixture("pagerduty_resolve.json")).is_empty());
    let Value::Object(og) = fixture("opsgenie_create_alert.json") else {
        panic!()
    };
    assert!(opsgenie_problems(&og).is_empty());
}

#[test]
fn the_pagerduty_sink_refuses_what_the_documentation_says_is_invalid() {
    let doc = fixture("pagerduty_trigger.json");
    let cases: [(&str, Value, &str); 5] = [
        ("/payload/severity", Value::from("loud"), "severity"),
        (
            "/payload/custom_details",
            Value::from("text"),
            "custom_details",
        ),
        ("/links/0/href", Value::Null, "links"),
        ("/images/0/src", Value::from(""), "images"),
        ("/dedup_key", Value::from("k".repeat(256)), "dedup_key"),
    ];
    for (at, v, want) in cases {
        let mut e = doc.clone();
        *e.pointer_mut(at).expect("pointer") = v;
        let p = pagerduty_problems(&e);
        assert!(p.iter().any(|x| x.contains(want)), "{at}: {p:?}");
    }
    let mut e = doc.clone();
    if let Some(p) = e["payload"].as_object_mut() {
        p.remove("source");
    }
    assert!(pagerduty_problems(&e).iter().any(|x| x.contains("source")));
}
