//! `drcockpit reverse` for the partial drill's kinds (issue 16): a `qovery.clone_environment`
//! is undone by a `qovery.delete_environment` of the same name (with a typed word), a delete by
//! name by a clone of that name; a delete by environment id has no known reverse (`# TODO:`).
//! The skeleton passes `check`. Also: the shipped warm-standby failback plan loads and has the
//! planned switchover's shape.

fn drcockpit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(args)
        .env(
            "DRCOCKPIT_STATE_DIR",
            std::env::temp_dir().join("drcockpit-reverse-drills-test-state"),
        )
        .output()
        .expect("run drcockpit")
}

/// `reverse PATH`'s text, and `check` of it passed.
fn reverse_and_check(plan: &std::path::Path) -> String {
    let out = drcockpit(&["reverse", plan.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "reverse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let dir = tempfile::tempdir().expect("temp dir");
    let back = dir.path().join("back.toml");
    std::fs::write(&back, &text).expect("write");
    let check = drcockpit(&["check", back.to_str().expect("path")]);
    assert!(
        check.status.success(),
        "check of the skeleton failed: {}\n{text}",
        String::from_utf8_lossy(&check.stderr)
    );
    text
}

/// The skeleton's steps (commented-out TODO steps are not steps).
fn steps(text: &str) -> Vec<toml::Table> {
    let doc: toml::Table = toml::from_str(text).expect("the skeleton is TOML");
    doc.get("step")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_table().cloned()).collect())
        .unwrap_or_default()
}

fn get<'a>(t: &'a toml::Table, k: &str) -> &'a str {
    t.get(k).and_then(toml::Value::as_str).unwrap_or("")
}

#[test]
fn reverse_of_the_partial_drill_deletes_what_it_cloned_and_clones_what_it_deleted() {
    let text = reverse_and_check(std::path::Path::new("plans/partial-drill.toml"));
    let st = steps(&text);
    let clone_back = st
        .iter()
        .find(|s| get(s, "id") == "clone-back")
        .unwrap_or_else(|| panic!("no reverse of `clone`:\n{text}"));
    assert_eq!(
        get(clone_back, "kind"),
        "qovery.delete_environment",
        "{text}"
    );
    assert_eq!(get(clone_back, "name"), "drill-2026-q4", "{text}");
    assert!(
        !get(clone_back, "confirm").is_empty(),
        "a typed word: {text}"
    );
    let delete_back = st
        .iter()
        .find(|s| get(s, "id") == "delete-back")
        .unwrap_or_else(|| panic!("no reverse of `delete`:\n{text}"));
    assert_eq!(
        get(delete_back, "kind"),
        "qovery.clone_environment",
        "{text}"
    );
    assert_eq!(get(delete_back, "name"), "drill-2026-q4", "{text}");
    // The manual step has no reverse.
    assert!(text.contains("# TODO: `exercise` (manual)"), "{text}");
}

#[test]
fn a_delete_by_environment_id_has_no_reverse() {
    let plan = r#"
[plan]
name = "d"
strategy = "warm-standby"
rto = "1h"
rpo = "5m"

[qovery]
token = "${env:QOVERY_API_TOKEN}"
organization = "1b6e2f6c-8c4c-4a59-9a39-5f0f6a3c1001"

[sites.prod]
label = "P"
cluster = "4e9b5c9f-bf7f-4d8c-8d6c-8c3c9d6f4001"
environment = "4e9b5c9f-bf7f-4d8c-8d6c-8c3c9d6f4002"

[sites.dr]
label = "D"
cluster = "5fac6daf-c08f-4e9d-9e7d-9d4dae7f5001"
environment = "5fac6daf-c08f-4e9d-9e7d-9d4dae7f5002"

[[step]]
id = "drop"
title = "Delete the drill environment"
kind = "qovery.delete_environment"
environment = "6aab7eb0-c08f-4e9d-9e7d-9d4dae7f6002"
confirm = "DELETE"
"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("d.toml");
    std::fs::write(&src, plan).expect("write");
    let text = reverse_and_check(&src);
    assert!(
        text.contains("# TODO: `drop` (qovery.delete_environment)"),
        "{text}"
    );
    assert!(steps(&text).is_empty(), "{text}");
}

#[test]
fn the_warm_standby_failback_plan_loads_and_switches_over_after_a_rejoin() {
    let plan = "plans/qovery-warm-standby-failback.toml";
    let check = drcockpit(&["check", plan]);
    assert!(
        check.status.success(),
        "check {plan}: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let text = std::fs::read_to_string(plan).expect("read");
    let kinds: Vec<String> = steps(&text)
        .iter()
        .map(|s| get(s, "kind").to_string())
        .collect();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{plan} has no {k}: {kinds:?}"))
    };
    // rejoin, wait for lag 0, fence DR, promote prod, point variables back, redeploy prod,
    // switch DNS back, verify, notify — in that order.
    let order = [
        at("postgres.rejoin"),
        at("wait"),
        at("postgres.fence"),
        at("postgres.promote"),
        at("qovery.set_variables"),
        at("qovery.redeploy"),
        at("http.check"),
        at("http.request"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");
    let doc: toml::Table = toml::from_str(&text).expect("TOML");
    assert_eq!(
        doc["plan"]["rpo"].as_str(),
        Some("0"),
        "a planned switchover claims RPO 0"
    );
}
