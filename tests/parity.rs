//! Issue 16, environment parity: the prod and DR Qovery environments compared against the
//! simulator (the `drift` scenario and the default world), the `[parity]` plan section, and the
//! Parity row in `status` (JSON and Prometheus) and `check --online`.

mod common;

use std::process::Command;
use std::sync::Arc;

use drcockpit::app::Level;
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::qovery::QoveryClient;
use drcockpit::plan::{LoadOptions, ParityConfig, ParityItem, Plan};
use drcockpit::probes::parity;
use drcockpit::sim::qovery::QoveryWorld;
use drcockpit::sim::{SimOptions, start};

fn cfg(scale_down: f64, ignore: &[(ParityItem, &str)]) -> ParityConfig {
    ParityConfig {
        scale_down,
        ignore: ignore.iter().map(|(i, n)| (*i, n.to_string())).collect(),
    }
}

/// The Qovery world of `scenario` served on loopback, and a plan on it with `parity`.
async fn world(scenario: &str, parity: ParityConfig) -> (Arc<QoveryWorld>, Plan) {
    let w = Arc::new(QoveryWorld::new(scenario, 7));
    let url = common::qovery::serve(w.clone()).await;
    let mut plan = common::qovery::plan("parity", &url);
    plan.parity = Some(parity);
    (w, plan)
}

async fn probe(plan: &Plan) -> Result<drcockpit::app::Reading, drcockpit::app::ProbeError> {
    let q = plan.qovery.as_ref().expect("qovery");
    let client = QoveryClient::from_plan(q, HttpClient::new(true));
    parity::probe(plan, &client).await
}

/// The demo plan's `[parity]`: a quarter of prod's resources, the worker's lagging tag accepted.
fn demo_cfg() -> ParityConfig {
    cfg(0.25, &[(ParityItem::Image, "worker")])
}

#[tokio::test]
async fn drift_scenario_is_found_and_named_worst_first() {
    let (_w, plan) = world("drift", demo_cfg()).await;
    let r = probe(&plan).await.expect("a reading");
    assert_eq!(r.level, Level::Bad);
    assert_eq!(
        r.summary,
        "4 drifts · worker missing in DR · FEATURE_X set in prod only · \
         api 1.4.2 in prod, 1.4.1 in DR · web cpu 500m in prod, 100m in DR (< 25% of prod)"
    );
    assert_eq!(r.fields["drifts"], drcockpit::plan::Value::Num(4.0));
    // Provider and region are information, never drift.
    assert!(
        r.details
            .iter()
            .any(|d| d.starts_with("DR cluster: dr-eu1")),
        "{:?}",
        r.details
    );
}

#[tokio::test]
async fn default_world_is_in_parity_with_the_demo_settings() {
    let (_w, plan) = world("all-good", demo_cfg()).await;
    let r = probe(&plan).await.expect("a reading");
    assert_eq!(r.level, Level::Good, "{}", r.summary);
    assert_eq!(r.summary, "in parity: 4 services, 3 variables, 1 secrets");
    // Without the accepted difference, DR's older worker tag is drift.
    let (_w, plan) = world("all-good", ParityConfig::default()).await;
    let r = probe(&plan).await.expect("a reading");
    assert_eq!(r.summary, "1 drift · worker 1.4.2 in prod, 1.4.1 in DR");
    assert_eq!(r.level, Level::Warn);
}

#[tokio::test]
async fn ignore_list_accepts_named_differences() {
    let ignore = [
        (ParityItem::Service, "worker"),
        (ParityItem::Variable, "FEATURE_X"),
        (ParityItem::Image, "api"),
        (ParityItem::Resources, "web"),
    ];
    let (_w, plan) = world("drift", cfg(1.0, &ignore)).await;
    let r = probe(&plan).await.expect("a reading");
    assert_eq!(r.level, Level::Good, "{}", r.summary);
    // One entry fewer: that difference is back.
    let (_w, plan) = world("drift", cfg(1.0, &ignore[..3])).await;
    let r = probe(&plan).await.expect("a reading");
    assert_eq!(r.summary, "1 drift · web cpu 500m in prod, 100m in DR");
}

#[tokio::test]
async fn scale_down_ratio_bounds_dr_resources() {
    let others = [
        (ParityItem::Service, "worker"),
        (ParityItem::Variable, "FEATURE_X"),
        (ParityItem::Image, "api"),
    ];
    // web runs 100m in DR against prod's 500m: exactly 20%.
    let (_w, plan) = world("drift", cfg(0.2, &others)).await;
    assert_eq!(probe(&plan).await.expect("reading").level, Level::Good);
    let (_w, plan) = world("drift", cfg(0.21, &others)).await;
    let r = probe(&plan).await.expect("reading");
    // Too small is degraded, not down: DR still runs everything prod runs.
    assert_eq!(r.level, Level::Warn);
    assert!(
        r.summary.contains("web cpu 500m in prod, 100m in DR"),
        "{}",
        r.summary
    );
}

#[tokio::test]
async fn a_failed_variable_read_is_not_green() {
    let (w, plan) = world("all-good", demo_cfg()).await;
    // Every try (the client retries reads) of both environments' variable lists fails.
    w.inject_status("GET", "/environmentVariable", 503, "unavailable", 100);
    let e = probe(&plan)
        .await
        .expect_err("an unread list is never a reading");
    assert!(e.short.contains("variables"), "{}", e.short);
    assert!(
        e.full.starts_with("parity unknown: cannot read"),
        "{}",
        e.full
    );
}

#[test]
fn an_unknown_ignore_prefix_is_an_error_with_a_suggestion() {
    let text = drcockpit::plan::DEMO_PLAN.replace(
        r#"ignore = ["image:worker"]"#,
        r#"ignore = ["varible:PROD_ONLY_FLAG"]"#,
    );
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:9".into()),
        run_commands: false,
    };
    let e = drcockpit::steps::load_str(&text, "demo.toml", &opts).expect_err("unknown prefix");
    let msg = e.to_string();
    assert!(msg.contains("unknown kind `varible`"), "{msg}");
    assert!(msg.contains("variable:PROD_ONLY_FLAG"), "{msg}");
    let ok = drcockpit::steps::load_str(drcockpit::plan::DEMO_PLAN, "demo.toml", &opts)
        .expect("demo plan");
    assert_eq!(ok.parity, Some(demo_cfg()));
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

fn run(args: &[&str], sim_url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DRCOCKPIT_SIM_URL", sim_url)
        .output()
        .expect("run drcockpit");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn parity_of(json: &serde_json::Value, site: &str) -> serde_json::Value {
    json["sites"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["site"] == site))
        .and_then(|s| s["sections"].as_array())
        .and_then(|a| a.iter().find(|x| x["section"] == "parity"))
        .cloned()
        .unwrap_or_else(|| panic!("a parity section for {site} in {json}"))
}

#[test]
fn status_json_and_prometheus_carry_parity() {
    let (_rt, s) = sim("drift");
    let (_, out) = run(&["status", "plans/demo.toml", "--format", "json"], &s.url);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    let dr = parity_of(&v, "dr");
    assert_eq!(dr["state"], "bad", "{dr}");
    assert_eq!(dr["values"]["drifts"], 4.0, "{dr}");
    assert!(
        dr["summary"]
            .as_str()
            .is_some_and(|t| t.starts_with("4 drifts · worker missing in DR")),
        "{dr}"
    );
    let (_, prom) = run(
        &["status", "plans/demo.toml", "--format", "prometheus"],
        &s.url,
    );
    assert!(
        prom.contains("# TYPE drcockpit_parity_drifts gauge"),
        "{prom}"
    );
    assert!(
        prom.lines().any(
            |l| l.starts_with("drcockpit_parity_drifts{plan=\"demo shop") && l.ends_with(" 4")
        ),
        "{prom}"
    );
    assert!(
        prom.contains(r#"site="dr",section="parity",state="bad"} 1"#),
        "{prom}"
    );

    let (_rt2, good) = sim("all-good");
    let (code, out) = run(
        &["status", "plans/demo.toml", "--format", "json"],
        &good.url,
    );
    assert_eq!(code, 0, "the default demo stays in parity: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(parity_of(&v, "dr")["state"], "good");
    let (_, text) = run(&["status", "plans/demo.toml"], &good.url);
    assert!(text.contains("parity"), "{text}");
}

#[test]
fn check_online_shows_the_parity_row() {
    let (_rt, s) = sim("drift");
    let (_, out) = run(
        &["check", "--online", "plans/demo.toml", "--timeout", "5s"],
        &s.url,
    );
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("DR") && l.contains("Parity"))
        .unwrap_or_else(|| panic!("a DR Parity line in {out}"));
    assert!(line.contains("4 drifts"), "{line}");
}
