//! The embedded simulator over real loopback HTTP: lifecycle, scenarios, webhook sinks, control
//! endpoints and the plain-text quirks.

use std::time::{Duration, Instant};

use drcockpit::sim::{self, Scenario, SimHandle, SimOptions};

async fn start(scenario: &str, seed: u64) -> SimHandle {
    sim::start(SimOptions {
        scenario: scenario.into(),
        seed,
        listen: None,
        time_scale: 1,
    })
    .await
    .unwrap_or_else(|e| panic!("start the {scenario} simulator: {e}"))
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("an HTTP client")
}

/// Status, content type and body of a GET.
async fn get(c: &reqwest::Client, url: &str) -> (u16, String, String) {
    let r = c
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ctype, r.text().await.expect("a body"))
}

#[tokio::test]
async fn two_simulators_run_at_once_on_ephemeral_ports_and_shut_down() {
    let a = start("all-good", 1).await;
    let b = start("region-outage", 2).await;
    assert_ne!(a.addr.port(), b.addr.port());
    assert!(a.addr.ip().is_loopback() && b.addr.ip().is_loopback());
    assert_eq!(a.url, format!("http://{}", a.addr));
    let c = client(Duration::from_secs(5));
    for h in [&a, &b] {
        let (status, _, body) = get(&c, &format!("{}/sites/dr/healthz", h.url)).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    let (a_url, b_url) = (a.url.clone(), b.url.clone());
    a.shutdown().await;
    // b still serves after a stopped.
    let (status, _, _) = get(&c, &format!("{b_url}/sites/dr/healthz")).await;
    assert_eq!(status, 200);
    b.shutdown().await;
    let fresh = client(Duration::from_secs(2));
    for url in [a_url, b_url] {
        let r = fresh.get(format!("{url}/sites/dr/healthz")).send().await;
        assert!(r.is_err(), "{url} still answers after shutdown: {r:?}");
    }
}

#[tokio::test]
async fn all_good_sites_are_healthy_and_unknown_sites_are_plain_404s() {
    let s = start("all-good", 42).await;
    let c = client(Duration::from_secs(5));
    for site in ["prod", "dr"] {
        let (status, ctype, body) = get(&c, &format!("{}/sites/{site}/healthz", s.url)).await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{site}");
        assert!(ctype.starts_with("text/plain"), "{site}: {ctype}");
    }
    let (status, ctype, body) = get(&c, &format!("{}/sites/staging/healthz", s.url)).await;
    assert_eq!(status, 404);
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert!(
        body.contains("staging") && body.contains("prod") && body.contains("dr"),
        "{body}"
    );
    // HEAD works on health URLs (monitor mode only sends GET/HEAD).
    let r = c
        .head(format!("{}/sites/prod/healthz", s.url))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(r.status().as_u16(), 200);
    s.shutdown().await;
}

#[tokio::test]
async fn region_outage_takes_prod_down_after_a_delay_while_dr_stays_up() {
    let s = start("region-outage", 42).await;
    let c = client(Duration::from_secs(5));
    let started = Instant::now();
    let (status, _, _) = get(&c, &format!("{}/sites/prod/healthz", s.url)).await;
    if started.elapsed() < Duration::from_secs(4) {
        assert_eq!(status, 200, "prod is up at the start of the scenario");
    }
    let deadline = started + Duration::from_secs(30);
    let (ctype, body) = loop {
        let (status, ctype, body) = get(&c, &format!("{}/sites/prod/healthz", s.url)).await;
        let (dr, _, _) = get(&c, &format!("{}/sites/dr/healthz", s.url)).await;
        assert_eq!(dr, 200, "DR stays up during the region outage");
        if status == 503 {
            break (ctype, body);
        }
        assert_eq!(status, 200);
        assert!(Instant::now() < deadline, "prod never went down");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "prod went down too early: {:?}",
        started.elapsed()
    );
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert!(body.contains("upstream connect error"), "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    // And it stays down.
    for _ in 0..3 {
        let (status, _, _) = get(&c, &format!("{}/sites/prod/healthz", s.url)).await;
        assert_eq!(status, 503);
        let (dr, _, _) = get(&c, &format!("{}/sites/dr/healthz", s.url)).await;
        assert_eq!(dr, 200);
    }
    s.shutdown().await;
}

/// POST `body` with `ctype` to the sink `name`: status and answer.
async fn post(
    c: &reqwest::Client,
    s: &SimHandle,
    name: &str,
    body: &str,
    ctype: &str,
) -> (u16, String) {
    let r = c
        .post(format!("{}/webhooks/{name}", s.url))
        .header("content-type", ctype)
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /webhooks/{name}: {e}"));
    (r.status().as_u16(), r.text().await.expect("a body"))
}

#[tokio::test]
async fn webhooks_record_bodies_and_list_them() {
    let s = start("all-good", 42).await;
    let c = client(Duration::from_secs(5));
    let url = format!("{}/webhooks/slack", s.url);
    let (status, ctype, body) = get(&c, &url).await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let first = r#"{"text":"failover started"}"#;
    let second = r#"{"blocks":[{"type":"section"}]}"#;
    for body in [first, second] {
        assert_eq!(
            post(&c, &s, "slack", body, "application/json").await,
            (200, "ok".into())
        );
    }
    let (_, _, listed) = get(&c, &url).await;
    let listed: Vec<String> = serde_json::from_str(&listed).expect("a JSON array of strings");
    assert_eq!(listed, vec![first.to_owned(), second.to_owned()]);
    assert_eq!(s.webhooks("slack"), listed);
    let received = s.state().webhook_requests("slack");
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(received[0].status, 200);
    // Sinks are separate; an ordinary sink takes anything.
    assert!(s.webhooks("ops").is_empty());
    let (_, _, other) = get(&c, &format!("{}/webhooks/ops", s.url)).await;
    assert_eq!(other, "[]");
    assert_eq!(
        post(&c, &s, "ops", "plain words", "text/plain").await,
        (200, "ok".into())
    );
    assert_eq!(s.webhooks("ops"), vec!["plain words".to_owned()]);
    assert_eq!(
        s.state().webhook_requests("ops")[0].content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(s.webhooks("slack").len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn slack_and_pagerduty_sinks_answer_like_the_real_services() {
    let s = start("all-good", 42).await;
    let c = client(Duration::from_secs(5));
    // Slack: plain-text refusals, the form encoding accepted.
    assert_eq!(
        post(&c, &s, "slack", "not json", "text/plain").await,
        (400, "invalid_payload".into())
    );
    assert_eq!(
        post(
            &c,
            &s,
            "slack",
            r##"{"channel":"#ops"}"##,
            "application/json"
        )
        .await,
        (400, "no_text".into())
    );
    let form = "payload=%7B%22text%22%3A%22DR+drill%22%7D";
    assert_eq!(
        post(
            &c,
            &s,
            "slack-ops",
            form,
            "application/x-www-form-urlencoded"
        )
        .await,
        (200, "ok".into())
    );
    // Refused bodies are recorded too, with the answer given.
    let statuses: Vec<u16> = s
        .state()
        .webhook_requests("slack")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![400, 400]);

    // PagerDuty Events v2: 202 with a JSON receipt; 400 with a JSON error.
    let event = r#"{"routing_key":"R0UT1NGKEY","event_action":"trigger","payload":{"summary":"prod down","source":"drcockpit","severity":"critical"}}"#;
    let (status, answer) = post(&c, &s, "pagerduty", event, "application/json").await;
    assert_eq!(status, 202, "{answer}");
    let receipt: serde_json::Value = serde_json::from_str(&answer).expect("a JSON receipt");
    assert_eq!(receipt["status"], "success");
    assert!(
        receipt["dedup_key"].as_str().is_some_and(|k| !k.is_empty()),
        "{receipt}"
    );
    let (status, answer) = post(
        &c,
        &s,
        "pagerduty",
        r#"{"event_action":"trigger"}"#,
        "application/json",
    )
    .await;
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_str(&answer).expect("a JSON error");
    assert_eq!(error["status"], "invalid event");
    assert_eq!(s.webhooks("pagerduty").len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn an_unknown_scenario_is_refused_with_the_known_names() {
    let err = sim::start(SimOptions {
        scenario: "meteor-strike".into(),
        seed: 1,
        listen: None,
        time_scale: 1,
    })
    .await
    .err()
    .expect("an unknown scenario is an error");
    assert!(err.contains("meteor-strike"), "{err}");
    for name in sim::scenario_names() {
        assert!(err.contains(name), "{err} does not list {name}");
    }
    for scenario in Scenario::ALL {
        assert_eq!(
            Scenario::from_name(scenario.name()),
            Ok(scenario),
            "{scenario}"
        );
        assert!(sim::scenario_names().contains(&scenario.name()));
    }
}

/// The first `n` outcomes of GET prod healthz, one at a time: the status, or "slow" when the
/// client gave up (the slow and stalled answers take at least a second).
async fn outcomes(s: &SimHandle, n: usize) -> Vec<String> {
    let c = client(Duration::from_millis(800));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match c.get(format!("{}/sites/prod/healthz", s.url)).send().await {
            Ok(r) => out.push(r.status().as_u16().to_string()),
            Err(e) if e.is_timeout() => out.push("slow".into()),
            Err(e) => panic!("GET healthz: {e}"),
        }
    }
    out
}

#[tokio::test]
async fn flaky_api_is_deterministic_for_a_seed_and_injects_failures() {
    let (a, b, other) = tokio::join!(
        start("flaky-api", 7),
        start("flaky-api", 7),
        start("flaky-api", 8)
    );
    let n = 40;
    let (seq_a, seq_b, seq_other) =
        tokio::join!(outcomes(&a, n), outcomes(&b, n), outcomes(&other, n));
    assert_eq!(seq_a, seq_b, "same seed, same faults");
    assert_ne!(seq_a, seq_other, "another seed, other faults");
    let count = |s: &str| seq_a.iter().filter(|o| *o == s).count();
    let failures = count("502") + count("503");
    assert!(failures >= 2, "too few injected failures: {seq_a:?}");
    assert!(count("slow") >= 1, "no slow answers: {seq_a:?}");
    assert!(count("200") >= n / 2, "mostly healthy: {seq_a:?}");
    // The fault bodies are plain text too.
    let c = client(Duration::from_millis(800));
    for _ in 0..50 {
        if let Ok(r) = c.get(format!("{}/sites/dr/healthz", a.url)).send().await
            && r.status().as_u16() == 503
        {
            let body = r.text().await.expect("a body");
            assert!(body.starts_with("upstream connect error"), "{body}");
            break;
        }
    }
    for s in [a, b, other] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_paths_are_plain_text_404s() {
    let s = start("all-good", 42).await;
    let c = client(Duration::from_secs(5));
    let (status, ctype, body) = get(&c, &format!("{}/api/organization", s.url)).await;
    assert_eq!(status, 404);
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    assert_eq!(body, "no such simulated endpoint: GET /api/organization");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let r = c
        .delete(format!("{}/sites/prod/healthz", s.url))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status().as_u16(), 405);
    assert!(r.text().await.expect("a body").contains("DELETE"));
    s.shutdown().await;
}

#[tokio::test]
async fn the_scenario_switches_live() {
    let s = start("all-good", 9).await;
    let c = client(Duration::from_secs(5));
    let (status, ctype, body) = get(&c, &format!("{}/_sim", s.url)).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let info: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(info["scenario"], "all-good");
    assert_eq!(info["seed"], 9);
    assert!(info["uptime_secs"].as_f64().is_some());
    let endpoints = info["endpoints"].as_array().expect("endpoints");
    assert!(
        endpoints
            .iter()
            .any(|e| e == "GET /sites/{prod|dr}/healthz"),
        "{info}"
    );
    assert!(
        endpoints.iter().any(|e| e == "POST /webhooks/{name}"),
        "{info}"
    );

    let r = c
        .post(format!("{}/_sim/scenario/region-outage", s.url))
        .send()
        .await
        .expect("switch");
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.expect("a body");
    assert!(
        text.contains("region-outage") && text.contains("all-good"),
        "{text}"
    );
    assert_eq!(s.state().scenario(), Scenario::RegionOutage);
    let (_, _, body) = get(&c, &format!("{}/_sim", s.url)).await;
    let info: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(info["scenario"], "region-outage");

    // The outage counts from the switch, then prod goes down.
    let switched = Instant::now();
    let deadline = switched + Duration::from_secs(30);
    loop {
        let (status, _, _) = get(&c, &format!("{}/sites/prod/healthz", s.url)).await;
        if status == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prod never went down after the switch"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        switched.elapsed() >= Duration::from_secs(4),
        "{:?}",
        switched.elapsed()
    );

    let r = c
        .post(format!("{}/_sim/scenario/meteor-strike", s.url))
        .send()
        .await
        .expect("switch");
    assert_eq!(r.status().as_u16(), 404);
    let text = r.text().await.expect("a body");
    assert!(text.contains("flaky-api"), "{text}");
    assert_eq!(s.state().scenario(), Scenario::RegionOutage);

    // Back to all-good from the handle: prod is up again at once.
    s.set_scenario(Scenario::AllGood);
    let (status, _, _) = get(&c, &format!("{}/sites/prod/healthz", s.url)).await;
    assert_eq!(status, 200);
    s.shutdown().await;
}

#[test]
fn fault_draws_are_reproducible_per_stream_and_only_in_flaky_api() {
    let draws = |state: &sim::SimState, stream: &str| {
        (0..200)
            .map(|_| state.draw_fault(stream))
            .collect::<Vec<_>>()
    };
    let a = sim::SimState::new(Scenario::FlakyApi, 5);
    let b = sim::SimState::new(Scenario::FlakyApi, 5);
    // Another family drawing from its own stream does not shift this one.
    let _ = draws(&b, "qovery");
    let seq = draws(&a, "sites");
    assert_eq!(seq, draws(&b, "sites"));
    let share = |f: fn(&sim::Fault) -> bool| seq.iter().filter(|d| f(d)).count();
    let errors = share(|d| matches!(d, sim::Fault::Status(502 | 503, _)));
    let slow = share(|d| matches!(d, sim::Fault::Slow(t) if (1..=3).contains(&t.as_secs())));
    let stalls = share(|d| matches!(d, sim::Fault::Stall(t) if t.as_secs() == 15));
    assert!((20..=60).contains(&errors), "≈20% errors, got {errors}/200");
    assert!((8..=35).contains(&slow), "≈10% slow, got {slow}/200");
    assert!(stalls >= 1, "an occasional stall");
    let calm = sim::SimState::new(Scenario::AllGood, 5);
    assert!(draws(&calm, "sites").iter().all(|d| *d == sim::Fault::None));
}

/// `drcockpit simulate`: the banner names the address and scenario, it serves, and Ctrl-C stops it
/// cleanly (exit 0).
#[tokio::test]
async fn the_simulate_command_serves_until_ctrl_c() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--scenario",
            "region-outage",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start drcockpit simulate");
    let stdout = child.stdout.take().expect("stdout");
    let banner = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    });
    let banner = tokio::time::timeout(Duration::from_secs(30), banner)
        .await
        .expect("a banner within 30 s")
        .expect("the banner reader")
        .expect("read the banner");
    let rest = banner
        .trim()
        .strip_prefix("simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected banner: {banner:?}"));
    let (url, scenario) = rest
        .split_once(", scenario ")
        .unwrap_or_else(|| panic!("unexpected banner: {banner:?}"));
    assert_eq!(scenario, "region-outage");
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let c = client(Duration::from_secs(5));
    let (status, _, body) = get(&c, &format!("{url}/sites/dr/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    let pid = i32::try_from(child.id()).expect("a pid");
    // SAFETY: signalling a child process this test started and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the simulator") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the simulator did not stop on Ctrl-C");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}
