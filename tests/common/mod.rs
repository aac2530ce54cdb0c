//! Helpers shared by the integration-test binaries (issue 17, "Tests share helpers"): fixed
//! clocks, plan and step builders, the simulator served on an ephemeral loopback port, and a
//! TestBackend screen as text. They were copied from binary to binary; one copy here means a
//! change to `Step` or `Plan` is fixed once.
//!
//! Each test binary includes this with `mod common;` and uses only part of it. Cargo compiles the
//! module once per binary, so whatever one binary does not call is dead code *there* and
//! `clippy -D warnings` would fail it; hence the crate-wide allow below (it covers only tests/).
#![allow(dead_code)]

pub mod drill;
pub mod pg;
pub mod qovery;
pub mod screen;
pub mod steps;

use chrono::{DateTime, TimeZone, Utc};
use drcockpit::plan::{self, Condition, LoadOptions, Plan, Step, StepAction};

/// A fixed instant, so journals, clocks and snapshots are the same on every run.
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("a valid test instant")
}

/// The engine and screen tests' start of the session (snapshots show clocks relative to it).
pub fn t0() -> DateTime<Utc> {
    utc(2026, 11, 24, 9, 0, 0)
}

/// The "never a false green" tests' evening outage.
pub fn t0_outage() -> DateTime<Utc> {
    utc(2026, 11, 25, 21, 0, 0)
}

/// The journal and report tests' session start (their golden reports carry it).
pub fn t0_journal() -> DateTime<Utc> {
    utc(2026, 3, 1, 10, 0, 0)
}

/// A condition written as in a plan; a typo in a test is a panic naming it.
pub fn cond(s: &str) -> Condition {
    Condition::parse(s).unwrap_or_else(|e| panic!("test condition {s}: {e}"))
}

/// A step with only what every step has: no requirement, no confirmation, no timeout override.
pub fn titled_step(id: &str, title: &str, action: StepAction) -> Step {
    Step {
        id: id.into(),
        title: title.into(),
        description: None,
        action,
        requires: vec![],
        confirm: None,
        timeout: None,
        site: None,
    }
}

/// `titled_step` titled "Step ID".
pub fn step(id: &str, action: StepAction) -> Step {
    titled_step(id, &format!("Step {id}"), action)
}

/// The shipped demo plan pointed at a simulator at `sim_url`, loaded as `check` does (no command
/// references run).
pub fn demo_plan_at(sim_url: &str) -> Plan {
    drcockpit::steps::load_str(
        plan::DEMO_PLAN,
        "demo.toml",
        &LoadOptions {
            sim_url: Some(sim_url.into()),
            run_commands: false,
        },
    )
    .expect("demo plan")
}

/// An axum router served on an ephemeral loopback port for the rest of the test's runtime; the
/// base URL it answers on.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A loopback port nothing listens on any more (bound, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}
