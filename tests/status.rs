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
            time_scale: 1,
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
    // The parser refuses it and names the values (clap: `[possible values: …]`).
    assert!(err.contains("text, json, prometheus"), "{err}");
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

#[test]
fn dns_pointing_at_neither_site_or_nothing_is_not_ready_exit_2() {
    let (_rt, s) = sim("all-good");
    for (values, named) in [(&["203.0.113.9"][..], "203.0.113.9"), (&[][..], "NXDOMAIN")] {
        s.dns_world
            .set_record(drcockpit::sim::dns::DEMO_RECORD, "A", 5, values)
            .expect("set the record");
        s.dns_world.settle();
        let (code, out, err) = status(&["plans/demo.toml"], &s.url);
        assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
        assert!(out.contains("NOT-READY"), "{out}");
        let dns_lines: Vec<&str> = out.lines().filter(|l| l.contains(" dns ")).collect();
        assert_eq!(dns_lines.len(), 2, "{out}");
        for l in dns_lines {
            assert!(l.contains(" bad "), "{l}");
            assert!(l.contains(named), "{l}");
        }
    }
}

/// A copy of the demo plan with one text replaced (to break one DR component).
fn demo_plan_with(dir: &std::path::Path, from: &str, to: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/demo.toml"),
    )
    .expect("demo plan");
    assert!(text.contains(from), "the demo plan no longer has {from}");
    let path = dir.join("demo.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write plan");
    path
}

#[test]
fn a_dr_registry_refusing_our_credentials_is_not_ready_exit_2_not_3() {
    let (_rt, s) = sim("all-good");
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = demo_plan_with(
        dir.path(),
        r#"username = "AWS", password = "sim-registry-password""#,
        r#"username = "AWS", password = "wrong-password""#,
    );
    let (code, out, err) = status(&[plan.to_str().expect("utf-8")], &s.url);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("NOT-READY"), "{out}");
}

#[test]
fn a_dr_database_that_does_not_answer_is_not_ready_exit_2_not_3() {
    let (_rt, s) = sim("all-good");
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = demo_plan_with(
        dir.path(),
        r#"database = { prometheus = { url = "${sim}", lag_query = 'pg_replication_lag_bytes{site="dr"}'"#,
        &format!(
            r#"database = {{ prometheus = {{ url = "http://127.0.0.1:{dead}", lag_query = 'pg_replication_lag_bytes{{site="dr"}}'"#
        ),
    );
    let (code, out, err) = status(&[plan.to_str().expect("utf-8"), "--timeout", "5s"], &s.url);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
}

#[test]
fn textfile_publishes_not_ready_too_keeps_the_exit_code_and_leaves_no_temp_file() {
    let (_rt, s) = sim("image-missing");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("drcockpit.prom");
    std::fs::write(&file, "drcockpit_dr_ready{plan=\"x\"} 1\n").expect("seed an old file");
    let (code, out, err) = status(
        &[
            "plans/demo.toml",
            "--textfile",
            file.to_str().expect("utf-8"),
        ],
        &s.url,
    );
    assert_eq!(code, 2, "the exit code is the verdict's: {out}\n{err}");
    assert!(out.contains("NOT-READY"), "stdout keeps its format: {out}");
    let prom = std::fs::read_to_string(&file).expect("the textfile");
    assert!(
        prom.contains("drcockpit_dr_ready{plan=\"demo shop"),
        "{prom}"
    );
    assert!(prom.contains("\"} 0\n"), "{prom}");
    assert!(prom.contains("drcockpit_build_info{version=\""), "{prom}");
    assert!(prom.contains("state=\"not-ready\"} 1"), "{prom}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["drcockpit.prom".to_string()],
        "no temp file left"
    );

    // Ready again: the same file now says ready, exit 0.
    let (_rt2, good) = sim("all-good");
    let (code, _, _) = status(
        &[
            "plans/demo.toml",
            "--textfile",
            file.to_str().expect("utf-8"),
        ],
        &good.url,
    );
    assert_eq!(code, 0);
    let prom = std::fs::read_to_string(&file).expect("the textfile");
    assert!(prom.contains("state=\"ready\"} 1"), "{prom}");
}

#[test]
fn help_states_the_exit_codes_the_tests_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["status", "--help"])
        .output()
        .expect("run drcockpit status --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("2 not ready: a DR component down or refusing us"),
        "{help}"
    );
    assert!(
        help.contains("3 could not evaluate: the plan cannot be used or nothing answered"),
        "{help}"
    );
    assert!(help.contains("--textfile <PATH>"), "{help}");
}

/// A copy of the demo plan under another name (so its Prometheus `plan` label differs), with
/// `edit` (from, to) applied when given.
fn named_demo_plan(
    dir: &std::path::Path,
    file: &str,
    name: &str,
    edit: Option<(&str, &str)>,
) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/demo.toml"),
    )
    .expect("demo plan");
    let old_name = r#"name = "demo shop: Scaleway fr-par → Scaleway nl-ams""#;
    assert!(text.contains(old_name), "the demo plan's name changed");
    text = text.replacen(old_name, &format!("name = \"{name}\""), 1);
    if let Some((from, to)) = edit {
        assert!(text.contains(from), "the demo plan no longer has {from}");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write plan");
    path
}

#[test]
fn several_plans_are_listed_each_and_exit_with_the_worst_verdict() {
    let (_rt, s) = sim("all-good");
    let dir = tempfile::tempdir().expect("tempdir");
    let a = named_demo_plan(dir.path(), "a.toml", "shop A", None);
    let b = named_demo_plan(dir.path(), "b.toml", "shop B", None);
    // C's DR registry refuses our credentials: DR not ready (exit 2).
    let c = named_demo_plan(
        dir.path(),
        "c.toml",
        "shop C",
        Some((
            r#"username = "AWS", password = "sim-registry-password""#,
            r#"username = "AWS", password = "wrong-password""#,
        )),
    );
    let (a, b, c) = (
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
        c.to_str().expect("utf-8"),
    );
    let file = dir.path().join("all.prom");
    let textfile = file.to_str().expect("utf-8");

    // Text: a line per plan, the worst first, then each plan's report.
    let (code, out, err) = status(&[a, b, c, "--textfile", textfile], &s.url);
    assert_eq!(code, 2, "the worst plan's exit code: {out}\n{err}");
    assert!(
        out.starts_with("3 plans — worst: DR NOT-READY (exit 2)"),
        "{out}"
    );
    for (name, verdict) in [
        ("shop A", "READY"),
        ("shop B", "READY"),
        ("shop C", "NOT-READY"),
    ] {
        assert!(
            out.lines().any(|l| l.contains(name) && l.contains(verdict)),
            "{name} is listed {verdict}: {out}"
        );
        assert!(out.contains(&format!("{name} — DR {verdict}")), "{out}");
    }

    // ONE textfile for all plans: each series family once, every plan under its own label.
    let prom = std::fs::read_to_string(&file).expect("the textfile");
    assert_eq!(
        prom.matches("# TYPE drcockpit_dr_ready gauge").count(),
        1,
        "{prom}"
    );
    assert!(
        prom.contains("drcockpit_dr_ready{plan=\"shop A\"} 1"),
        "{prom}"
    );
    assert!(
        prom.contains("drcockpit_dr_ready{plan=\"shop B\"} 1"),
        "{prom}"
    );
    assert!(
        prom.contains("drcockpit_dr_ready{plan=\"shop C\"} 0"),
        "{prom}"
    );
    assert!(
        prom.contains(r#"drcockpit_dr_state{plan="shop C",state="not-ready"} 1"#),
        "{prom}"
    );
    let mut series: Vec<&str> = prom
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(m, _)| m))
        .collect();
    let n = series.len();
    series.sort_unstable();
    series.dedup();
    assert_eq!(series.len(), n, "no series written twice");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".prom") || n.ends_with(".tmp"))
        .collect();
    assert_eq!(
        names,
        vec!["all.prom".to_string()],
        "one file, no temp file"
    );

    // JSON: the worst verdict, then every plan with its file, each in the one-plan shape.
    let (code, out, err) = status(&[a, b, c, "--format", "json"], &s.url);
    assert_eq!(code, 2, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["overall"], "not-ready");
    assert_eq!(v["exit_code"], 2);
    let plans = v["plans"].as_array().expect("plans");
    assert_eq!(plans.len(), 3);
    assert_eq!(plans[0]["plan"], "shop A");
    assert_eq!(plans[0]["file"], a);
    assert_eq!(plans[0]["exit_code"], 0);
    assert_eq!(plans[2]["overall"], "not-ready");
    assert_eq!(plans[2]["sites"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_plan_that_cannot_be_used_among_several_makes_the_worst_exit_3_and_the_others_still_report() {
    let (_rt, s) = sim("all-good");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = named_demo_plan(dir.path(), "good.toml", "shop good", None);
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[plan]\nname = 1\n").expect("write");
    let (good, bad) = (good.to_str().expect("utf-8"), bad.to_str().expect("utf-8"));
    let (code, out, err) = status(&[good, bad, "--format", "json"], &s.url);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("bad.toml"), "the reason goes to stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["overall"], "unknown");
    let plans = v["plans"].as_array().expect("plans");
    assert_eq!(plans[0]["overall"], "ready", "{out}");
    assert_eq!(plans[1]["exit_code"], 3);
    assert!(
        plans[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("bad.toml")),
        "{out}"
    );
    // Prometheus publishes the unusable plan as unknown too.
    let (code, out, _) = status(&[good, bad, "--format", "prometheus"], &s.url);
    assert_eq!(code, 3);
    assert!(
        out.contains("drcockpit_dr_ready{plan=\"shop good\"} 1"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "drcockpit_dr_state{{plan=\"{bad}\",state=\"unknown\"}} 1"
        )),
        "{out}"
    );
}

#[test]
fn one_plan_keeps_the_one_plan_json_shape() {
    let (_rt, s) = sim("all-good");
    let (code, out, _) = status(&["plans/demo.toml", "--format", "json"], &s.url);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert!(v.get("plans").is_none() && v.get("file").is_none(), "{out}");
    assert!(v["sites"].is_array(), "{out}");
}
