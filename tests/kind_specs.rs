//! Issue 17: a kind's keys are a typed spec in its module, read from the step's table after the
//! common keys. These pin what that path must keep from the days of one flat `RawStep`: a wrong
//! type inside a kind's key points at that key, a key no kind takes gets a suggestion, a key of
//! another kind names the kinds it is for, and such a shape error stops the load on its own.

use drcockpit::plan::LoadOptions;
use drcockpit::plan::load::PlanError;

const HEADER: &str = r#"[plan]
name = "inline"
strategy = "active-active"
rto = "5m"
rpo = "0"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"
"#;

/// The plan with one step whose body is `body` (on line 16 on: `kind`, then its keys).
fn load(body: &str) -> Result<drcockpit::plan::Plan, PlanError> {
    let text = format!("{HEADER}\n[[step]]\nid = \"s\"\ntitle = \"t\"\n{body}");
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:7400".into()),
        run_commands: false,
    };
    drcockpit::steps::load_str(&text, "inline.toml", &opts)
}

#[test]
fn a_wrong_type_in_a_kind_key_points_at_its_value() {
    let e = load("kind = \"check\"\nconditions = 3\n").expect_err("wrong type");
    assert_eq!((e.line, e.col), (Some(17), Some(14)), "{e}");
    assert_eq!(e.key.as_deref(), Some("conditions"), "{e}");
    assert_eq!(e.step.as_deref(), Some("s"), "{e}");
    assert!(
        e.message.contains("step `s`: `conditions`: invalid type"),
        "{e}"
    );
    assert!(e.message.contains("17 | conditions = 3"), "{e}");
}

#[test]
fn a_wrong_type_inside_a_kind_table_points_at_the_entry() {
    let e = load(
        "kind = \"http.request\"\nurl = \"https://h.example.com/x\"\nheaders = { Accept = 3 }\n",
    )
    .expect_err("wrong type");
    assert_eq!((e.line, e.col), (Some(18), Some(22)), "{e}");
    assert_eq!(e.key.as_deref(), Some("Accept"), "{e}");
    assert!(e.message.contains("`headers.Accept`: invalid type"), "{e}");
}

#[test]
fn a_wrong_type_in_a_family_kind_key_points_at_it() {
    // notify.* and postgres.* read their keys through one family module each.
    let e = load("kind = \"notify.slack\"\nurl = \"${env:X}\"\nrequired = \"yes\"\n")
        .expect_err("wrong type");
    assert_eq!((e.line, e.col), (Some(18), Some(12)), "{e}");
    assert_eq!(e.key.as_deref(), Some("required"), "{e}");
    let e = load("kind = \"postgres.promote\"\nsite = \"dr\"\nwait_seconds = \"30\"\n")
        .expect_err("wrong type");
    assert_eq!((e.line, e.col), (Some(18), Some(16)), "{e}");
    assert_eq!(e.key.as_deref(), Some("wait_seconds"), "{e}");
}

#[test]
fn a_key_no_kind_takes_is_refused_with_a_suggestion() {
    let e = load("kind = \"http.check\"\nurl = \"https://h.example.com\"\nintervall = \"5s\"\n")
        .expect_err("unknown key");
    assert_eq!((e.line, e.col), (Some(18), Some(1)), "{e}");
    assert_eq!(e.key.as_deref(), Some("intervall"), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("interval"), "{e}");
    assert!(
        e.message.contains("step `s`: unknown key `intervall`"),
        "{e}"
    );
    assert!(e.message.contains("did you mean `interval`?"), "{e}");
    // Every key some kind takes is expected, the common ones first.
    assert_eq!(e.expected.first().map(String::as_str), Some("id"), "{e}");
    assert!(e.expected.iter().any(|k| k == "rewind_command"), "{e}");
}

#[test]
fn a_key_of_other_kinds_names_them() {
    let e = load("kind = \"http.check\"\nurl = \"https://h.example.com\"\nttl = 60\n")
        .expect_err("not for http.check");
    assert_eq!((e.line, e.col), (Some(18), Some(1)), "{e}");
    assert_eq!(e.key.as_deref(), Some("ttl"), "{e}");
    assert!(
        e.message
            .contains("`ttl` does not apply to a http.check step (it is for dns.switch)"),
        "{e}"
    );
    assert_eq!(
        e.expected,
        [
            "url",
            "expect_status",
            "body_contains",
            "interval",
            "timeout"
        ]
    );
    let e = load("kind = \"approval\"\nconfirm = \"GO\"\nwait_seconds = 5\n")
        .expect_err("not for approval");
    assert!(
        e.message.contains(
            "(it is for postgres.promote, postgres.rejoin); approval steps take only the common keys"
        ),
        "{e}"
    );
}

#[test]
fn a_shape_error_in_a_kind_key_stops_the_load_alone() {
    // Like any shape error (a wrong type was one when every key was a field of `RawStep`): the
    // later problems of the plan are not reported with it.
    let e = load("kind = \"check\"\nconditions = 3\n\n[[step]]\nid = \"s\"\ntitle = \"t\"\nkind = \"nope\"\n")
        .expect_err("wrong type");
    assert!(e.others.is_empty(), "{e}");
    assert_eq!(e.key.as_deref(), Some("conditions"), "{e}");
}

#[test]
fn each_kind_takes_exactly_its_schema_branch_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&drcockpit::steps::schema_json()).expect("schema JSON");
    let branches = schema["$defs"]["RawStep"]["allOf"]
        .as_array()
        .expect("branches");
    for kind in drcockpit::steps::registry::KINDS {
        let branch = branches
            .iter()
            .find(|b| b["if"]["properties"]["kind"]["const"] == kind.name)
            .unwrap_or_else(|| panic!("{} has no branch", kind.name));
        let mut in_schema: Vec<&str> = branch["then"]["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .filter(|k| !drcockpit::plan::load::COMMON_KEYS.contains(k))
            .collect();
        let mut keys = kind.keys().to_vec();
        in_schema.sort_unstable();
        keys.sort_unstable();
        assert_eq!(in_schema, keys, "{}", kind.name);
        assert_eq!(
            branch["then"]["additionalProperties"], false,
            "{}",
            kind.name
        );
    }
}
