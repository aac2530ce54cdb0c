//! `simulate --time-scale N`: the accelerated soak (scripts/soak.py) plays the flaky world N times
//! faster. A stall must still end in the 504 the real world gives, only sooner — so a soak at
//! scale 20 sees the same faults, in the same order, as 20 times as many real hours would.

use std::time::Duration;

use drcockpit::sim::{self, SimOptions};

async fn start(time_scale: u32) -> sim::SimHandle {
    sim::start(SimOptions {
        scenario: "flaky-api".into(),
        seed: 7,
        listen: None,
        time_scale,
    })
    .await
    .unwrap_or_else(|e| panic!("start the flaky-api simulator: {e}"))
}

/// Ask the prod health URL `n` times with a client that gives up after `patience`; the statuses,
/// `None` where the client gave up.
async fn health_answers(url: &str, n: usize, patience: Duration) -> Vec<Option<u16>> {
    let c = reqwest::Client::builder()
        .timeout(patience)
        .build()
        .expect("an HTTP client");
    let mut out = Vec::new();
    for _ in 0..n {
        let r = c.get(format!("{url}/sites/prod/healthz")).send().await;
        out.push(r.ok().map(|r| r.status().as_u16()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaled_stall_still_answers_504_only_sooner() {
    let sim = start(1000).await;
    // 15 s stalls at 1/1000 last 15 ms: every request answers well inside a 5 s patience, and the
    // stalls among them answer the 504 a real stall ends with.
    let answers = health_answers(&sim.url, 200, Duration::from_secs(5)).await;
    assert!(
        answers.iter().all(Option::is_some),
        "a request outlasted the client's patience at time scale 1000: {answers:?}"
    );
    assert!(
        answers.contains(&Some(504)),
        "seed 7 draws at least one stall in 200 requests: {answers:?}"
    );
    assert!(answers.contains(&Some(200)));
    let world: serde_json::Value = reqwest::get(format!("{}/_sim", sim.url))
        .await
        .expect("GET /_sim")
        .json()
        .await
        .expect("/_sim is JSON");
    assert_eq!(world["time_scale"], 1000, "{world}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_draws_the_same_faults_at_any_time_scale() {
    // Only durations change with the scale: the faults drawn (which request fails, how) do not.
    let fast = start(1000).await;
    let faster = start(500).await;
    let a = health_answers(&fast.url, 60, Duration::from_secs(5)).await;
    let b = health_answers(&faster.url, 60, Duration::from_secs(5)).await;
    assert_eq!(a, b);
    fast.shutdown().await;
    faster.shutdown().await;
}

#[test]
fn the_state_scales_every_injected_delay_and_never_divides_by_zero() {
    let state = sim::SimState::new(sim::Scenario::FlakyApi, 1);
    assert_eq!(
        state.scaled(Duration::from_secs(15)),
        Duration::from_secs(15)
    );
    state.set_time_scale(20);
    assert_eq!(
        state.scaled(Duration::from_secs(15)),
        Duration::from_millis(750)
    );
    state.set_time_scale(0);
    assert_eq!(state.time_scale(), 1);
}
