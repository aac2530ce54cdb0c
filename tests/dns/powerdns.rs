//! dns.switch and dns.verify against a real PowerDNS.

use super::*;

// ---------------------------------------------------------------------------------------------
// PowerDNS

#[tokio::test]
async fn switch_to_dr_then_verify_on_real_powerdns() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, KEY));
    let before = answer_on(p.dns).await;
    assert_eq!(before.values, vec![PROD_IP.to_string()]);
    assert_eq!(before.ttl, Some(60));

    // The panels before: PROD serves, DR's target is ready.
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("prod probe");
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("dr probe");
    assert_eq!(text(prod.fields.get("points_to")), "prod");
    assert_eq!(prod.summary, "shop.example.test → PROD TTL 60");
    assert_eq!(dr.summary, "standby target ready");
    assert_eq!(text(dr.fields.get("points_to")), "prod");
    assert!(!described_has_key(&plan), "credentials are never described");
    assert_eq!(text(dr.fields.get("serving")), "false");
    assert_eq!(text(dr.fields.get("serial_agree")), "true");

    // Review shows the exact call and the before → after.
    let switch = action(&plan, "dns.switch", "");
    let described = steps::describe(&StepAction::Dns(switch.clone())).join("\n");
    assert!(
        described.contains(&format!("PATCH {}/api/v1/servers/localhost/zones/", p.api)),
        "{described}"
    );
    assert!(
        described.contains("before → after: PROD 192.0.2.10 → DR 198.51.100.20 (read first;"),
        "{described}"
    );
    assert!(
        described.contains("\"changetype\":\"REPLACE\""),
        "{described}"
    );
    assert!(steps::is_mutating(&StepAction::Dns(switch.clone())));
    let mut c = Ctx::new(&plan, true);
    let pre = steps::preflight(&StepAction::Dns(switch.clone()), &c.ctx, vec![]).await;
    assert!(pre.iter().all(|x| x.ok == Some(true)), "{pre:?}");
    assert!(
        pre.iter().any(|x| x
            .detail
            .contains("192.0.2.10 TTL 60 (PROD) → after the switch: 198.51.100.20 (DR)")),
        "{pre:?}"
    );

    // Switch.
    let mut c2 = Ctx::new(&plan, false);
    let out = run(&switch, &c2).await.expect("switch");
    assert_eq!(
        out,
        "shop.example.test.: 192.0.2.10 TTL 60 (PROD) → 198.51.100.20 TTL 60 (DR)"
    );
    let after = answer_on(p.dns).await;
    assert_eq!(after.values, vec![DR_IP.to_string()]);
    assert_eq!(
        after.serial,
        Some(before.serial.unwrap_or(0) + 1),
        "PowerDNS bumps the serial"
    );
    assert!(
        c2.lines()
            .iter()
            .any(|l| l.contains("PATCH zones/example.test. → 204"))
    );

    // Verify: every nameserver answers DR with one serial.
    let verify = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"",
    );
    assert!(!steps::is_mutating(&StepAction::Dns(verify.clone())));
    let out = run(&verify, &c2).await.expect("verify");
    assert!(
        out.starts_with(&format!(
            "the nameserver answers 198.51.100.20 (DR) with serial {}",
            after.serial.unwrap_or(0)
        )),
        "{out}"
    );
    assert!(
        out.contains("caches may hold the old answer until"),
        "{out}"
    );
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("dr probe");
    assert_eq!(text(dr.fields.get("points_to")), "dr");
    assert_eq!(dr.summary, "shop.example.test → DR TTL 60");
    assert!(dr.fields.contains_key("caches_left"), "{dr:?}");
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("prod probe");
    assert_eq!(prod.summary, "shop.example.test → DR TTL 60");
    assert_eq!(text(prod.fields.get("serving")), "false");

    // Pressing switch again: success, nothing sent, serial unchanged.
    let again = run(&switch, &c2).await.expect("second switch");
    assert_eq!(
        again,
        "shop.example.test. already points at DR (198.51.100.20 TTL 60); nothing sent"
    );
    assert_eq!(answer_on(p.dns).await.serial, after.serial);
    let _ = c.lines();
}

#[tokio::test]
async fn wrong_api_key_and_out_of_zone_are_clear_errors() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, "not-the-key"));
    let c = Ctx::new(&plan, false);
    let err = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect_err("wrong key");
    assert!(
        err.starts_with("PowerDNS: the credentials were refused (401)"),
        "{err}"
    );
    assert!(err.contains("check the api_key"), "{err}");
    let pre = steps::preflight(
        &StepAction::Dns(action(&plan, "dns.switch", "")),
        &c.ctx,
        vec![],
    )
    .await;
    assert_eq!(pre[0].ok, Some(false), "{pre:?}");
    assert!(pre[0].detail.contains("401"), "{pre:?}");

    // A record outside the zone the plan names: PowerDNS's own 422.
    let mut dns = pdns_dns(&[p.dns], &p.api, KEY);
    dns.record = "shop.elsewhere.test.".into();
    dns.zone = Some(ZONE.into());
    let plan = plan_with(dns);
    let err = run(&action(&plan, "dns.switch", ""), &Ctx::new(&plan, false))
        .await
        .expect_err("out of zone");
    assert!(err.starts_with("PowerDNS: 422:"), "{err}");
    assert!(err.contains("out of zone"), "{err}");

    // Without a zone in the plan, the zone is looked up and the name found outside every zone.
    let mut dns = pdns_dns(&[p.dns], &p.api, KEY);
    dns.record = "shop.elsewhere.test.".into();
    let plan = plan_with(dns);
    let err = run(&action(&plan, "dns.switch", ""), &Ctx::new(&plan, false))
        .await
        .expect_err("out of zone");
    assert!(
        err.contains("no zone on server `localhost` contains shop.elsewhere.test."),
        "{err}"
    );
    // PowerDNS was not changed.
    assert_eq!(answer_on(p.dns).await.values, vec![PROD_IP.to_string()]);
}

#[tokio::test]
async fn verify_waits_for_a_lagging_nameserver_and_names_it() {
    let (p1, p2) = tokio::join!(start_pdns(), start_pdns());
    let plan = plan_with(pdns_dns(&[p1.dns, p2.dns], &p1.api, KEY));
    let c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch on ns1");

    // ns2 has not been updated: verify gives up naming it.
    let mut c = Ctx::new(&plan, false);
    let short = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"\ntimeout = \"1s\"",
    );
    let err = run(&short, &c).await.expect_err("ns2 lags");
    let ns2 = p2.dns.to_string();
    assert!(
        err.contains(&format!(
            "1 of 2 nameservers lag: {ns2} still answers 192.0.2.10 (PROD), serial"
        )),
        "{err}"
    );
    assert!(!err.contains(&p1.dns.to_string()), "{err}");
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("probe");
    assert_eq!(text(dr.fields.get("points_to")), "split");
    assert_eq!(dr.level, Level::Warn);
    assert!(dr.summary.contains("split: 1/2 → DR"), "{}", dr.summary);
    let _ = c.lines();

    // ns2 catches up while verify waits.
    let api2 = p2.api.clone();
    let updater = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let r = reqwest::Client::new()
            .patch(format!("{api2}/api/v1/servers/localhost/zones/{ZONE}"))
            .header("X-API-Key", KEY)
            .json(&serde_json::json!({"rrsets": [{
                "name": RECORD, "type": "A", "ttl": 60, "changetype": "REPLACE",
                "records": [{"content": DR_IP, "disabled": false}],
            }]}))
            .send()
            .await;
        r.map(|r| r.status().as_u16())
    });
    let long = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"\ntimeout = \"20s\"",
    );
    let out = run(&long, &c).await.expect("verify after ns2 caught up");
    assert_eq!(updater.await.ok().and_then(|r| r.ok()), Some(204));
    assert!(
        out.starts_with("all 2 nameservers answer 198.51.100.20 (DR) with serial"),
        "{out}"
    );
    let lines = c.lines();
    assert!(
        lines.iter().any(
            |l| l.starts_with("stderr: waiting for 1 of 2 nameservers: ")
                && l.contains(&ns2)
                && l.contains("still answers 192.0.2.10 (PROD)")
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{ns2}: {RECORD} → 198.51.100.20 (DR)"))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_nameserver_that_does_not_answer_is_named() {
    let p = start_pdns().await;
    // Bound but silent: queries go nowhere.
    let silent = StdUdp::bind("127.0.0.1:0").expect("bind");
    let dead = silent.local_addr().expect("addr");
    let plan = plan_with(pdns_dns(&[p.dns, dead], &p.api, KEY));
    let c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    let verify = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"100ms\"\ntimeout = \"1s\"",
    );
    let started = Instant::now();
    let err = run(&verify, &c).await.expect_err("one NS is dead");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "timeouts are bounded"
    );
    assert!(
        err.contains(&format!(
            "1 of 2 nameservers lag: {dead} no answer within 2000 ms (UDP)"
        )),
        "{err}"
    );
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("probe");
    assert_eq!(prod.level, Level::Warn);
    assert!(prod.summary.contains("1/2 NS"), "{}", prod.summary);
    assert!(
        prod.details
            .iter()
            .any(|d| d.contains(&format!("{dead}: ✗ no answer within 2000 ms (UDP)"))),
        "{:?}",
        prod.details
    );

    // Every nameserver silent: the DNS section errors (never shown as healthy).
    let plan = plan_with(pdns_dns(&[dead], &p.api, KEY));
    let e = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect_err("all silent");
    assert_eq!(e.short, "no answer");
    drop(silent);
}

#[tokio::test]
async fn a_read_only_client_refuses_the_switch() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, KEY));
    let c = Ctx::new(&plan, true);
    let err = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect_err("read-only");
    assert!(
        err.contains("refused by the read-only transport: PATCH"),
        "{err}"
    );
    assert_eq!(c.ctx.http.refused_count(), 1);
    assert_eq!(answer_on(p.dns).await.values, vec![PROD_IP.to_string()]);
}

#[tokio::test]
async fn querier_requires_authority_and_names_the_rcode() {
    let p = start_pdns().await;
    let n = Nameserver {
        label: "pdns".into(),
        addr: p.dns,
    };
    // PowerDNS refuses names outside its zones.
    let e = query::ask(
        &n,
        "www.not-served.test.",
        "A",
        None,
        Duration::from_secs(2),
    )
    .await
    .expect_err("not authoritative");
    assert!(
        matches!(e, DnsError::Rcode { ref rcode, .. } if rcode == "REFUSED"),
        "{e}"
    );
    // NXDOMAIN in the zone is an authoritative answer with no values and the zone's serial.
    let r = query::ask(&n, "nope.example.test.", "A", None, Duration::from_secs(2))
        .await
        .expect("nxdomain");
    assert_eq!(r.rcode, "NXDOMAIN");
    assert!(r.values.is_empty() && r.serial.is_some());
}
