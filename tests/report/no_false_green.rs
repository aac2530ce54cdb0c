//! Issue 11: never a false green.

use super::*;

// ---------------------------------------------------------------- issue 11: no false green

/// Issue 11 defect 5: one mutating step interrupted and another never started. The old report
/// said RTO MET, "measured" to the verification after the last mutating step before it.
#[test]
fn an_unfinished_failover_is_not_reached_never_met() {
    let plan = &[
        ("approve", "approval"),
        ("promote", "postgres.promote"),
        ("check-db", "check"),
        ("point-db", "qovery.set_variables"),
        ("deploy", "qovery.deploy"),
    ];
    let mut b = B::new(plan, Some(1800), None);
    b.approve(0, "approve").ok(60, "promote").ok(70, "check-db");
    b.at(
        80,
        Event::StepStarted {
            step: "point-db".into(),
            attempt: 1,
            kind: None,
        },
    );
    let m = b.build();
    assert_eq!(
        (m.rto.measured_secs, m.rto.verdict),
        (None, Verdict::NotReached)
    );
    assert_ne!(m.rto.verdict, Verdict::Met);
    let md = report::render_markdown(&m);
    assert!(md.contains("**NOT REACHED**"), "{md}");
    assert!(!md.contains("| RTO | target 30m 00s · measured"), "{md}");

    // With a traffic switch: it was interrupted and the verification never ran — named.
    let mut b = B::new(DEMO, Some(1800), None);
    b.approve(0, "approve").ok(60, "promote").ok(100, "health");
    b.at(
        200,
        Event::StepStarted {
            step: "switch".into(),
            attempt: 1,
            kind: None,
        },
    )
    .at(
        210,
        Event::SessionEnded {
            reason: "signal SIGHUP (terminal hung up)".into(),
        },
    );
    let m = b.build();
    assert_eq!(m.rto.verdict, Verdict::NotReached);
    assert_eq!(
        m.rto.missing,
        vec!["traffic never moved: step `switch` interrupted; `verify` never ran"]
    );
    let md = report::render_markdown(&m);
    assert!(
        md.contains("RTO: **NOT REACHED** (the 30m 00s target): traffic never moved: step `switch` interrupted; `verify` never ran"),
        "{md}"
    );
    // The switch failed; then it is retried and succeeds, but the verification fails.
    let mut b = B::new(DEMO, Some(1800), None);
    b.approve(0, "approve")
        .run(200, "switch", false)
        .ok(220, "switch")
        .run(230, "verify", false);
    let m = b.build().rto;
    assert_eq!(m.verdict, Verdict::NotReached);
    assert!(
        m.missing[0].ends_with("step `verify` failed"),
        "{:?}",
        m.missing
    );
    // Only traffic moved + a verification after it gives a number.
    b.ok(260, "verify");
    let m = b.build().rto;
    assert_eq!((m.measured_secs, m.verdict), (Some(260), Verdict::Met));
}

/// Issue 11 defect 4: the primary was killed mid-write and the standby promoted. The report
/// said `RPO 0s MET … 0 byte(s) not replicated`, against a position seen 33 s earlier.
#[test]
fn rpo_is_unknown_when_the_primary_was_unreachable_at_promotion() {
    let m = model("primary-killed.jsonl");
    assert_eq!(m.rpo.verdict, Verdict::Unknown, "{:?}", m.rpo);
    assert_eq!(m.rpo.measured_secs, None);
    for want in [
        "UNKNOWN",
        "last seen at 0/3000148, 33s before the promotion",
        "received 0/3000148",
        "replayed 0/3000148",
        "pg_controldata",
    ] {
        assert!(m.rpo.note.contains(want), "{want}: {}", m.rpo.note);
    }
    assert!(
        m.rpo.missing[0].contains("final WAL position"),
        "{:?}",
        m.rpo.missing
    );
    let md = report::render_markdown(&m);
    assert!(md.contains("**UNKNOWN**"), "{md}");
    assert!(!md.contains("RPO 0s") && !md.contains("· **MET**"), "{md}");
    let json = report::render_json(&m).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("parses");
    assert_eq!(v["rpo"]["verdict"], "unknown");
}

/// The panels' RPO evidence for a managed promotion says unknown when the primary's database
/// did not answer; a promote that did nothing records no RPO evidence (not measured, not MET).
#[test]
fn panel_rpo_evidence_with_the_primary_gone_is_unknown_and_a_no_op_promote_measures_nothing() {
    let mut b = B::new(DEMO, None, Some(300));
    b.evidence(
        9,
        "rpo at promotion (panels)",
        serde_json::json!({
            "source": "DR database section of the panels",
            "rpo": "unknown",
            "primary_reachable": false,
            "primary": "PROD database unreachable: connection refused",
            "lag_bytes": 0,
            "replay_age_secs": 0.0,
        }),
    )
    .ok(10, "promote");
    let m = b.build().rpo;
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::Unknown));
    assert!(m.note.contains("PROD database unreachable"), "{}", m.note);

    let mut b = B::new(DEMO, None, Some(300));
    b.ok(10, "promote");
    let m = b.build().rpo;
    assert_eq!((m.measured_secs, m.verdict), (None, Verdict::NotMeasurable));
}
