//! `drcockpit status`: the real binary against the simulator — exit codes a cron job or a
//! monitoring system can act on, and output formats that parse.

use std::process::Command;

use drcockpit::sim::{SimOptions, start};

fn status(args: &[&str], sim_url: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .arg("status")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DRCOCKPIT_SIM_URL", sim_url)
        .output()
        .expect("run drcockpit status");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sim(scenario: &str) -> (tokio::runtime::Runtime, drcockpit::sim::SimHandle) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let handle = rt
        .block_on(start(SimOptions {
            scenario: scenario.into(),
            seed: 7,
            listen: None,
        }))
        .expect("simulator");
    (rt, handle)
}

#[test]
fn all_good_is_ready_with_exit_0_and_json_documents_every_section() {
    let (_rt, s) = sim("all-good");
    let (code, out, err) = status(&["plans/demo.toml", "--format", "json"], &s.url);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["overall"], "ready");
    assert_eq!(v["exit_code"], 0);
    let sites = v["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 2);
    for site in sites {
        assert_eq!(site["verdict"], "ready", "{site}");
        let health = site["sections"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["section"] == "health"))
            .expect("a health section");
        assert_eq!(health["state"], "good");
        assert!(health["age_secs"].as_f64().is_some());
        assert_eq!(health["values"]["ok"], 1.0);
    }
}

#[test]
fn an_unreachable_world_could_not_be_evaluated_exit_3() {
    // A port nobody listens on: every probe fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let (code, out, err) = status(
        &["plans/demo.toml", "--timeout", "5s"],
        &format!("http://127.0.0.1:{port}"),
    );
    assert_eq!(code, 3, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("UNKNOWN"), "{out}");
    assert!(out.contains("error"), "the reason is shown: {out}");
}

#[test]
fn prometheus_format_is_the_text_exposition_format() {
    let (_rt, s) = sim("all-good");
    let (code, out, _) = status(&["plans/demo.toml", "--format", "prometheus"], &s.url);
    assert_eq!(code, 0);
    assert!(out.contains("# TYPE drcockpit_dr_ready gauge"), "{out}");
    assert!(out.contains("drcockpit_dr_ready{plan=\"demo shop"), "{out}");
    assert!(out.contains("drcockpit_section_age_seconds{"), "{out}");
    // Where DNS points is a label: alert on `drcockpit_text{section="dns",field="points_to",value!="prod"}`.
    assert!(
        out.contains(r#"section="dns",field="points_to",value="prod"} 1"#),
        "{out}"
    );
    for line in out.lines().filter(|l| !l.starts_with('#')) {
        let (metric, value) = line.rsplit_once(' ').expect("`metric value`");
        assert!(metric.starts_with("drcockpit_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "value of {line}");
    }
}

#[test]
fn a_broken_plan_or_format_is_exit_3_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[plan]\nname = 1\n").expect("write");
    let (code, _, err) = status(&[bad.to_str().expect("utf-8 path")], "http://127.0.0.1:9");
    assert_eq!(code, 3);
    assert!(err.contains("bad.toml"), "{err}");
    let (code, _, err) = status(
        &["plans/demo.toml", "--format", "xml"],
        "http://127.0.0.1:9",
    );
    assert_eq!(code, 3);
    assert!(err.contains("text, json or prometheus"), "{err}");
}

#[test]
fn an_image_missing_from_the_dr_registry_is_not_ready_exit_2() {
    let (_rt, s) = sim("image-missing");
    let (code, out, err) = status(&["plans/demo.toml", "--format", "json"], &s.url);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["overall"], "not-ready");
    let dr = v["sites"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["site"] == "dr"))
        .expect("the DR site");
    let images = dr["sections"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["section"] == "images"))
        .expect("an images section");
    assert_eq!(images["state"], "bad", "{images}");
    assert!(
        images["values"]["missing"].as_f64().unwrap_or(0.0) >= 1.0,
        "{images}"
    );
    assert!(
        images["summary"].as_str().unwrap_or("").contains("worker"),
        "{images}"
    );
}

fn check_online(sim_url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["check", "--online", "plans/demo.toml", "--timeout", "5s"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DRCOCKPIT_SIM_URL", sim_url)
        .output()
        .expect("run drcockpit check --online");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_online_resolves_the_plan_against_the_world_read_only() {
    let (_rt, s) = sim("all-good");
    let (code, out) = check_online(&s.url);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every step's read-only preflight"), "{out}");
    assert!(out.contains("✓ variable DATABASE_URL exists"), "{out}");
    assert!(
        out.contains("everything answered and every preflight passed"),
        "{out}"
    );
    // Read-only: nothing in the world changed (no webhook was posted).
    assert!(s.webhooks("slack").is_empty());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let (code, out) = check_online(&format!("http://127.0.0.1:{port}"));
    assert_eq!(code, 1, "a dead world fails --online: {out}");
    assert!(out.contains('✗'), "{out}");
}

#[test]
fn the_cockpit_without_a_terminal_says_what_to_use_instead() {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .stdin(std::process::Stdio::null())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run drcockpit");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("drcockpit status PLAN"), "{err}");
}
