//! The simulator's responder and API, and a resumed verify.

use super::*;

// ---------------------------------------------------------------------------------------------
// The simulator's responder and API

#[tokio::test]
async fn sim_responder_and_api_round_trip() {
    let world = Arc::new(DnsWorld::new(ZONE, KEY));
    world
        .set_record(SIM_RECORD, "A", 1, &[PROD_IP])
        .expect("seed");
    let ns = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("responder");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", l.local_addr().expect("addr"));
    let app = routes(world.clone());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    // Its own record: switch marks (old TTL for the countdown) are per record and per process.
    let mut dns = pdns_dns(&[ns], &api, KEY);
    dns.record = SIM_RECORD.into();
    let plan = plan_with(dns);
    let before = answer_for(ns, SIM_RECORD).await;
    assert_eq!(before.values, vec![PROD_IP.to_string()]);

    let c = Ctx::new(&plan, false);
    let out = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    assert!(out.ends_with("→ 198.51.100.20 TTL 1 (DR)"), "{out}");
    assert_eq!(
        world.record(SIM_RECORD, "A"),
        Some((1, vec![DR_IP.to_string()]))
    );
    let after = answer_for(ns, SIM_RECORD).await;
    assert_eq!(after.values, vec![DR_IP.to_string()]);
    assert_eq!(after.serial, before.serial.map(|s| s + 1));

    // Verify with the countdown of the old TTL (1 s).
    let mut c = Ctx::new(&plan, false);
    let started = Instant::now();
    let out = run(&action(&plan, "dns.verify", "interval = \"100ms\""), &c)
        .await
        .expect("verify");
    assert!(out.contains("cached old answers expired at"), "{out}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "counted down the old TTL"
    );
    assert!(
        c.lines()
            .iter()
            .any(|l| l.contains("resolvers may hold the old answer until"))
    );

    // TCP fallback when UDP answers are truncated.
    world.set_truncate_udp(true);
    assert_eq!(
        answer_for(ns, SIM_RECORD).await.values,
        vec![DR_IP.to_string()]
    );
    world.set_truncate_udp(false);

    // The API's errors match PowerDNS's.
    let http = reqwest::Client::new();
    let r = http
        .patch(format!("{api}/api/v1/servers/localhost/zones/{ZONE}"))
        .header("X-API-Key", "wrong")
        .body("{}")
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .patch(format!("{api}/api/v1/servers/localhost/zones/{ZONE}"))
        .header("X-API-Key", KEY)
        .body(r#"{"rrsets":[{"name":"x.elsewhere.","type":"A","ttl":5,"changetype":"REPLACE","records":[]}]}"#)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 422);
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("is out of zone")
    );

    // Out-of-zone queries are refused, not answered.
    let n = Nameserver {
        label: "sim".into(),
        addr: ns,
    };
    let e = query::ask(&n, "www.elsewhere.", "A", None, Duration::from_secs(1))
        .await
        .expect_err("refused");
    assert!(
        matches!(e, DnsError::Rcode { ref rcode, .. } if rcode == "REFUSED"),
        "{e}"
    );

    // A silent responder is a timeout, named.
    world.set_silent(true);
    let e = query::ask(&n, SIM_RECORD, "A", None, Duration::from_millis(300))
        .await
        .expect_err("silent");
    assert!(matches!(e, DnsError::NoAnswer { .. }), "{e}");
}

#[tokio::test]
async fn cloudflare_proxied_record_is_verified_through_the_api() {
    let proxied = fixture("cloudflare_record_dr_response.json")
        .replace("\"proxied\":false", "\"proxied\":true");
    let (url, seen) = scripted(vec![(200, proxied.clone()), (200, proxied)]).await;
    // The plan's provider has no endpoint key: the documented override is the environment.
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var("DRCOCKPIT_CLOUDFLARE_API_URL", &url) };
    let mut plan = plan_with(DnsConfig {
        record: "shop.example.com.".into(),
        record_type: "CNAME".into(),
        zone: None,
        nameservers: vec![],
        provider: Some(DnsProvider::Cloudflare {
            zone_id: CF_ZONE.into(),
            record_id: CF_RECORD.into(),
            token: CF_TOKEN.into(),
        }),
    });
    plan.sites = [
        site("P", "lb.fr-par.example.net."),
        site("D", "lb.eu-west-1.example.net."),
    ];
    let out = run(&action(&plan, "dns.verify", ""), &Ctx::new(&plan, true))
        .await
        .expect("verified through the API");
    assert_eq!(
        out,
        "shop.example.com. is proxied by Cloudflare (public answers are edge addresses); the API holds lb.eu-west-1.example.net. TTL 60 (proxied) (DR)"
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    // Switching a proxied record to where it already points sends nothing.
    let out = run(
        &action(&plan, "dns.switch", "ttl = 120"),
        &Ctx::new(&plan, true),
    )
    .await
    .expect("no-op");
    assert!(out.ends_with("nothing sent"), "{out}");
    unsafe { std::env::remove_var("DRCOCKPIT_CLOUDFLARE_API_URL") };
}

#[tokio::test]
async fn sim_secondary_lags_then_catches_up() {
    let world = Arc::new(DnsWorld::demo());
    let rec = drcockpit::sim::dns::DEMO_RECORD;
    let ns1 = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("ns1");
    let ns2 = start_secondary(
        world.clone(),
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_millis(1500),
    )
    .await
    .expect("ns2");
    // Seeded records are served by the secondary at once.
    assert_eq!(answer_for(ns2, rec).await.values, vec![PROD_IP.to_string()]);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}/pdns", l.local_addr().expect("addr"));
    let app = axum::Router::new().nest("/pdns", routes(world.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let mut dns = pdns_dns(&[ns1, ns2], &api, drcockpit::sim::dns::DEMO_API_KEY);
    dns.record = rec.into();
    let plan = plan_with(dns);
    let mut c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    let out = run(
        &action(
            &plan,
            "dns.verify",
            "countdown = false\ninterval = \"200ms\"",
        ),
        &c,
    )
    .await
    .expect("verify");
    assert!(
        out.starts_with("all 2 nameservers answer 198.51.100.20 (DR) with serial"),
        "{out}"
    );
    let lines = c.lines();
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "waiting for 1 of 2 nameservers: {ns2} still answers 192.0.2.10 (PROD)"
        ))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn sim_nameservers_derive_from_the_sim_url() {
    let [a, b] = drcockpit::sim::dns::nameservers_for_sim("http://127.0.0.1:7400").expect("derive");
    assert_eq!(
        (a.to_string().as_str(), b.to_string().as_str()),
        ("127.0.0.2:7400", "127.0.0.3:7400")
    );
    assert!(drcockpit::sim::dns::nameservers_for_sim("127.0.0.1").is_err());
    // Started next to an HTTP server holding the same port on 127.0.0.1.
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = http.local_addr().expect("addr");
    let (world, [ns1, ns2]) = drcockpit::sim::dns::start_for_sim(addr)
        .await
        .expect("start");
    assert_eq!(ns1.port(), addr.port());
    let rec = drcockpit::sim::dns::DEMO_RECORD;
    assert_eq!(answer_for(ns1, rec).await.values, vec![PROD_IP.to_string()]);
    assert_eq!(answer_for(ns2, rec).await.values, vec![PROD_IP.to_string()]);
    world.set_record(rec, "A", 5, &[DR_IP]).expect("set");
    assert_eq!(answer_for(ns1, rec).await.values, vec![DR_IP.to_string()]);
    assert_eq!(
        answer_for(ns2, rec).await.values,
        vec![PROD_IP.to_string()],
        "the secondary lags"
    );
}

/// `--resume` between `dns.switch` and `dns.verify`: the resumed process never saw the switch,
/// so what the switch set (the old TTL resolvers may hold) must come from the journal, where the
/// switch recorded it on its evidence stream.
#[tokio::test]
async fn a_resumed_verify_counts_from_what_the_switch_recorded() {
    const RESUME_RECORD: &str = "resume.example.test.";
    let world = Arc::new(DnsWorld::new(ZONE, KEY));
    // The old answer was cached for 7 s; the switch lowers the TTL to 1 s.
    world
        .set_record(RESUME_RECORD, "A", 7, &[PROD_IP])
        .expect("seed");
    let ns = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("responder");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", l.local_addr().expect("addr"));
    let app = routes(world.clone());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let mut dns = pdns_dns(&[ns], &api, KEY);
    dns.record = RESUME_RECORD.into();
    let plan = plan_with(dns);

    let mut c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", "ttl = 1"), &c)
        .await
        .expect("switch");
    // What the journal holds of the switch's output.
    let journal: Vec<(String, String)> = c
        .lines()
        .into_iter()
        .filter_map(|l| {
            let (stream, text) = l.split_once(": ")?;
            Some((stream.to_string(), text.to_string()))
        })
        .collect();
    assert!(
        journal
            .iter()
            .any(|(s, _)| s == steps::dns::EVIDENCE_STREAM),
        "{journal:?}"
    );

    // A new process: nothing in memory, only the journal.
    steps::dns::forget_switch_marks();
    let mut verify = StepAction::Dns(action(
        &plan,
        "dns.verify",
        "interval = \"100ms\"\ncountdown = false",
    ));
    let outputs: Vec<(&str, &str)> = journal
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect();
    steps::hand_off(&mut verify, &outputs);
    let mut c = Ctx::new(&plan, false);
    steps::run(&verify, c.ctx.clone()).await.expect("verify");
    let lines = c.lines();
    assert!(
        lines.iter().any(|l| l.contains("(old TTL 7s)")),
        "verify must count from the old TTL the switch recorded: {lines:?}"
    );
}
