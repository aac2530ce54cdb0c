//! RTO and RPO arithmetic: where the clock starts and stops, targets, evidence, kinds.

use super::*;

// ---------------------------------------------------------------- arithmetic

#[test]
fn rto_starts_at_the_declaration_else_the_approval_else_the_first_step() {
    let mut b = B::new(DEMO, Some(1800), None);
    b.ok(0, "detect")
        .approve(100, "approve")
        .ok(200, "promote")
        .ok(300, "switch")
        .ok(400, "verify");
    assert_eq!(b.build().rto.measured_secs, Some(300), "from the approval");
    assert_eq!(
        b.build().rto.from,
        Some(t0() + chrono::Duration::seconds(100))
    );

    b.at(
        50,
        Event::Declared {
            note: "prod down".into(),
        },
    );
    let m = b.build();
    assert_eq!(m.rto.measured_secs, Some(350), "from the declaration");
    assert!(
        m.rto
            .from_event
            .as_deref()
            .is_some_and(|e| e.contains("declared")),
        "{:?}",
        m.rto
    );

    let mut b = B::new(DEMO, Some(1800), None);
    b.ok(10, "detect").ok(20, "switch").ok(70, "verify");
    let m = b.build();
    assert_eq!(m.rto.measured_secs, Some(60), "from the first step started");
    assert!(
        m.rto.note.contains("the first step, `detect`, started"),
        "{}",
        m.rto.note
    );
}

#[test]
fn rto_ends_at_the_first_verification_after_traffic_moved_not_before() {
    let mut b = B::new(DEMO, Some(600), None);
    b.approve(0, "approve")
        .ok(100, "health") // before traffic moved: does not count
        .run(200, "switch", false) // a failed switch does not move traffic
        .ok(250, "switch")
        .run(300, "verify", false) // a failing verification does not count
        .ok(420, "verify")
        .ok(500, "health")
        .ok(900, "notify");
    let m = b.build();
    assert_eq!(m.rto.measured_secs, Some(420));
    assert_eq!(m.rto.verdict, Verdict::Met);
    assert_eq!(m.rto.to, Some(t0() + chrono::Duration::seconds(420)));
    assert!(
        m.rto
            .to_event
            .as_deref()
            .is_some_and(|e| e.starts_with("`verify` (dns.verify) succeeded (attempt 2)")),
        "{:?}",
        m.rto
    );
}

#[test]
fn rto_target_boundaries_and_rounding() {
    let at = |ms: i64, target: u64| {
        let mut b = B::new(DEMO, Some(target), None);
        b.approve(0, "approve").ok(1, "switch");
        b.push_ms(
            ms,
            "ops",
            Event::StepFinished {
                step: "verify".into(),
                attempt: 1,
                ok: true,
                detail: "ok".into(),
            },
        );
        b.build().rto
    };
    let m = at(600_000, 600);
    assert_eq!((m.measured_secs, m.verdict), (Some(600), Verdict::Met));
    let m = at(601_000, 600);
    assert_eq!((m.measured_secs, m.verdict), (Some(601), Verdict::Missed));
    assert!(m.note.contains("1s over the 10m 00s target"), "{}", m.note);
    // Rounded to the nearest second.
    assert_eq!(at(600_499, 600).measured_secs, Some(600));
    assert_eq!(at(600_500, 600).verdict, Verdict::Missed);

    let mut b = B::new(DEMO, None, None);
    b.approve(0, "approve").ok(10, "switch").ok(75, "verify");
    let m = b.build().rto;
    assert_eq!(
        (m.measured_secs, m.verdict),
        (Some(75), Verdict::NotMeasurable)
    );
    assert!(m.note.contains("the plan sets no RTO target"), "{}", m.note);
}

#[test]
fn rto_not_measured_when_traffic_moved_but_nothing_verified() {
    let mut b = B::new(DEMO, Some(600), None);
    b.approve(0, "approve")
        .ok(100, "switch")
        .run(200, "verify", false);
    let m = b.build().rto;
    assert_eq!(m.measured_secs, None);
    assert_eq!(m.verdict, Verdict::NotReached);
    assert_eq!(m.missing.len(), 1);
    assert!(
        m.missing[0].ends_with("passed after it: step `verify` failed"),
        "{:?}",
        m.missing
    );
    assert!(
        m.missing[0].starts_with("traffic moved at 2026-03-01 10:01:40 UTC (`switch` succeeded (attempt 1)) but no verification"),
        "{:?}",
        m.missing
    );
    // Still going past the target: already missed, without a number.
    b.at(
        700,
        Event::Note {
            step: None,
            text: "waiting".into(),
        },
    );
    let m = b.build().rto;
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::NotReached));
    assert!(
        m.note.contains("already 11m 40s after the start"),
        "{}",
        m.note
    );
}

/// Issue 11 defect 5: without a traffic switch the recovery's end is unknowable: RTO is NOT
/// REACHED, never measured to "the last mutating step".
#[test]
fn without_a_traffic_switch_step_rto_is_not_reached() {
    let plan = &[
        ("approve", "approval"),
        ("promote", "postgres.promote"),
        ("health", "http.check"),
        ("deploy", "qovery.deploy"),
        ("stable", "wait"),
        ("notify", "http.request"),
    ];
    let mut b = B::new(plan, Some(900), None);
    b.approve(0, "approve")
        .ok(60, "promote")
        .ok(70, "health")
        .ok(300, "deploy")
        .ok(360, "stable")
        .ok(400, "notify");
    let m = b.build().rto;
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::NotReached));
    assert_eq!(
        m.missing,
        vec![
            "the plan has no traffic-switch step (dns.switch), so when traffic moved was never recorded"
        ]
    );
    let mut b = B::new(
        &[("approve", "approval"), ("promote", "postgres.promote")],
        Some(60),
        None,
    );
    b.approve(0, "approve").ok(90, "promote").end(95);
    let m = b.build().rto;
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::NotReached));
}

#[test]
fn rto_without_any_start_says_so() {
    let b = B::new(DEMO, Some(600), Some(60));
    let m = b.build();
    assert_eq!(m.rto.verdict, Verdict::NotReached);
    assert_eq!(
        m.rto.missing,
        vec!["a start: a `Declared` event, an approval or a started step"]
    );
    assert!(
        m.rpo
            .note
            .contains("`promote` (postgres.promote) never completed"),
        "{}",
        m.rpo.note
    );
}

#[test]
fn rpo_from_evidence_at_promotion() {
    let rpo = |detail: serde_json::Value, target: Option<u64>| {
        let mut b = B::new(DEMO, None, target);
        b.evidence(10, "rpo", detail).ok(11, "promote");
        b.build().rpo
    };
    let m = rpo(
        serde_json::json!({"lag_bytes": 8192, "replay_age_secs": 42.4}),
        Some(60),
    );
    assert_eq!(
        (m.measured_secs, m.lag_bytes, m.verdict),
        (Some(42), Some(8192), Verdict::Met)
    );
    let m = rpo(serde_json::json!({"data_loss_secs": 61}), Some(60));
    assert_eq!((m.measured_secs, m.verdict), (Some(61), Verdict::Missed));
    // Only bytes: reported as bytes, the time window is not invented.
    let m = rpo(
        serde_json::json!({"lag_bytes": 1024, "replay_age_secs": null}),
        Some(60),
    );
    assert_eq!(
        (m.measured_secs, m.lag_bytes, m.verdict),
        (None, Some(1024), Verdict::NotMeasurable)
    );
    assert!(m.note.contains("1024 byte(s) not replicated"), "{}", m.note);
    assert!(
        m.note.contains("the time-based RPO could not be computed"),
        "{}",
        m.note
    );
    // 0 bytes behind: nothing lost.
    let m = rpo(serde_json::json!({"lag_bytes": 0}), Some(60));
    assert_eq!((m.measured_secs, m.verdict), (Some(0), Verdict::Met));
    // No figures at all.
    let m = rpo(serde_json::json!({"server": "db"}), Some(60));
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::NotMeasurable));
    assert!(!m.missing.is_empty());
    // No target: measured, but no verdict.
    let m = rpo(serde_json::json!({"replay_age_secs": 5}), None);
    assert_eq!(
        (m.measured_secs, m.verdict),
        (Some(5), Verdict::NotMeasurable)
    );
    // The last evidence wins (a retried promotion).
    let mut b = B::new(DEMO, None, Some(60));
    b.evidence(10, "rpo", serde_json::json!({"replay_age_secs": 500}))
        .run(11, "promote", false)
        .evidence(20, "rpo", serde_json::json!({"replay_age_secs": 7}))
        .ok(21, "promote");
    assert_eq!(b.build().rpo.measured_secs, Some(7));
}

#[test]
fn rpo_without_evidence_says_what_is_missing() {
    let precondition = |evidence: &str| Event::Evidence {
        step: Some("promote".into()),
        what: "preconditions".into(),
        detail: serde_json::json!([{
            "condition": "dr.database.lag < 16MiB",
            "evidence": evidence,
            "passed": true,
        }]),
    };
    // Promoted, no `rpo` evidence, but the precondition check read the lag just before.
    let mut b = B::new(DEMO, None, Some(60));
    b.at(9, precondition("dr.database.lag = 1.5 MiB (0.5s ago)"))
        .ok(10, "promote");
    let m = b.build().rpo;
    assert_eq!(
        (m.measured_secs, m.lag_bytes, m.verdict),
        (None, Some(1_572_864), Verdict::NotMeasurable)
    );
    assert!(
        m.note.contains("the time-based RPO could not be computed"),
        "{}",
        m.note
    );
    assert!(
        m.missing[0].contains("`rpo` evidence from `promote`"),
        "{:?}",
        m.missing
    );

    let mut b = B::new(DEMO, None, Some(60));
    b.at(9, precondition("dr.database.lag = 0 B (0.5s ago)"))
        .ok(10, "promote");
    let m = b.build().rpo;
    // Read before the promotion (maybe against a primary already gone): never MET.
    assert_eq!(
        (m.measured_secs, m.lag_bytes, m.verdict),
        (None, Some(0), Verdict::NotMeasurable)
    );
    assert!(
        m.note.contains("not a measurement at promotion"),
        "{}",
        m.note
    );

    // Promoted, nothing read at all.
    let mut b = B::new(DEMO, None, Some(60));
    b.ok(10, "promote");
    let m = b.build().rpo;
    assert_eq!(m.verdict, Verdict::NotMeasurable);
    assert!(
        m.note
            .contains("completed at 2026-03-01 10:00:10 UTC but recorded no `rpo` evidence"),
        "{}",
        m.note
    );

    // The plan promotes nothing.
    let mut b = B::new(
        &[("approve", "approval"), ("switch", "dns.switch")],
        None,
        Some(60),
    );
    b.approve(0, "approve");
    let m = b.build().rpo;
    assert!(
        m.note.contains("the plan has no promotion step"),
        "{}",
        m.note
    );
}

#[test]
fn drill_flag_on_a_resumed_session_still_makes_a_drill_report() {
    let mut b = B::new(DEMO, None, None);
    b.at(
        5,
        Event::SessionStarted {
            plan_name: "p".into(),
            plan_source: "p.toml".into(),
            plan_hash: "h".into(),
            mode: "live".into(),
            drill: true,
            host: "h2".into(),
            pid: 2,
            version: "0.1.0".into(),
            commit: None,
            resumed_from: Some("j.jsonl".into()),
            rto_secs: None,
            rpo_secs: None,
            steps: vec![],
        },
    );
    let m = b.build();
    assert_eq!(
        (m.title.as_str(), m.kind.as_str()),
        ("Drill report", "drill")
    );
    let text = report::render_markdown(&m);
    assert!(text.contains("## What failed\n\nNothing failed"), "{text}");
}

#[test]
fn fmt_secs_cases() {
    assert_eq!(report::fmt_secs(0), "0s");
    assert_eq!(report::fmt_secs(59), "59s");
    assert_eq!(report::fmt_secs(60), "1m 00s");
    assert_eq!(report::fmt_secs(3723), "1h 02m 03s");
}

#[test]
fn kinds_are_classified() {
    assert!(report::is_traffic_move("dns.switch"));
    assert!(!report::is_traffic_move("dns.verify"));
    for k in ["dns.verify", "http.check", "check", "wait"] {
        assert!(
            report::is_verification(k) && !report::is_mutating_kind(k),
            "{k}"
        );
    }
    for k in [
        "qovery.deploy",
        "postgres.promote",
        "command",
        "http.request",
    ] {
        assert!(report::is_mutating_kind(k), "{k}");
    }
    assert!(
        report::is_promotion("scaleway.promote_replica")
            && report::is_promotion("postgres.promote")
    );
    assert!(!report::is_promotion("postgres.fence"));
}

#[test]
fn rto_spans_resumed_sessions_and_counts_a_switch_done_by_hand() {
    let mut b = B::new(DEMO, Some(1800), None);
    b.approve(0, "approve").ok(100, "promote").at(
        200,
        Event::SessionEnded {
            reason: "signal SIGHUP (terminal hung up)".into(),
        },
    );
    b.at(
        300,
        Event::SessionStarted {
            plan_name: "p".into(),
            plan_source: "p.toml".into(),
            plan_hash: "h".into(),
            mode: "live".into(),
            drill: false,
            host: "h2".into(),
            pid: 2,
            version: "0.1.0".into(),
            commit: None,
            resumed_from: Some("j.jsonl".into()),
            rto_secs: Some(1800),
            rpo_secs: None,
            steps: vec![],
        },
    )
    .at(
        400,
        Event::ManualDone {
            step: "switch".into(),
            note: "provider API down; switched in the registrar's console".into(),
        },
    )
    .ok(460, "verify")
    .end(470);
    let m = b.build();
    assert_eq!(
        (m.rto.measured_secs, m.rto.verdict),
        (Some(460), Verdict::Met)
    );
    assert!(
        m.rto
            .note
            .contains("traffic moved when `switch` (dns.switch) done by hand by ops"),
        "{}",
        m.rto.note
    );
    assert_eq!(m.sessions.len(), 2);
}
