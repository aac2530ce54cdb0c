//! Golden reports, and redaction in every format.

use super::*;

// ---------------------------------------------------------------- golden reports

#[test]
fn incident_report_matches_its_golden_and_measures_rto_to_the_dns_verification() {
    let m = model("incident.jsonl");
    assert_eq!(m.title, "Incident report");
    assert_eq!(m.kind, "incident");
    // Approved at +41 s (no Declared event), verify-dns passed at +587 s: 546 s.
    assert_eq!(m.rto.measured_secs, Some(546), "{:?}", m.rto);
    assert_eq!(m.rto.verdict, Verdict::Met);
    assert!(
        m.rto
            .from_event
            .as_deref()
            .is_some_and(|e| e.contains("`approve` was approved by alice")),
        "{:?}",
        m.rto
    );
    assert!(
        m.rto
            .to_event
            .as_deref()
            .is_some_and(|e| e.starts_with("`verify-dns` (dns.verify)")),
        "{:?}",
        m.rto
    );
    assert!(
        m.rto.note.contains("`switch-dns` (dns.switch)"),
        "{}",
        m.rto.note
    );
    assert_eq!(
        (m.rpo.measured_secs, m.rpo.lag_bytes, m.rpo.verdict),
        (Some(3), Some(4096), Verdict::Met)
    );
    assert_eq!(m.operators, vec!["alice", "bob"]);
    assert!(m.what_failed.is_empty(), "{:?}", m.what_failed);

    let text = report::render_markdown(&m);
    assert!(text.starts_with(
        "# Incident report — shop: Scaleway fr-par → Scaleway nl-ams\n\n**Incident**"
    ));
    assert!(
        text.contains("| RTO | target 30m 00s · measured 9m 06s · **MET** |"),
        "{text}"
    );
    assert!(
        text.contains("| RPO | target 5m 00s · measured 3s · **MET** |"),
        "{text}"
    );
    assert!(
        !text.contains("## What failed"),
        "an incident with no failure has no such section"
    );
    golden("incident.md", &text);
    golden(
        "incident.json",
        &(report::render_json(&m).expect("json") + "\n"),
    );
}

#[test]
fn drill_report_matches_its_golden_and_lists_what_failed() {
    let m = model("drill.jsonl");
    assert_eq!(m.title, "Drill report");
    assert_eq!(m.kind, "drill");
    // Approved at +35 s, switch-dns at +631.5 s, verify-dns passed at +671 s: 636 s.
    assert_eq!(m.rto.measured_secs, Some(636), "{:?}", m.rto);
    assert_eq!(m.rto.verdict, Verdict::Met);
    // Only bytes were recorded at promotion.
    assert_eq!(
        (m.rpo.measured_secs, m.rpo.lag_bytes, m.rpo.verdict),
        (None, Some(1_048_576), Verdict::NotMeasurable)
    );
    assert!(
        m.rpo.note.contains("time-based RPO could not be computed"),
        "{}",
        m.rpo.note
    );

    let whats: Vec<(&str, &str)> = m
        .what_failed
        .iter()
        .map(|f| (f.step.as_deref().unwrap_or(""), f.what.as_str()))
        .collect();
    assert_eq!(
        whats,
        vec![
            ("deploy-dr", "failed attempt 1"),
            ("dr-health", "failed attempt 1"),
            ("dr-stable", "skipped"),
            ("switch-dns", "override"),
            ("notify", "failed attempt 1"),
        ]
    );
    assert_eq!(m.what_failed[0].outcome, "retried: succeeded on attempt 2");
    assert!(m.what_failed[0].detail.contains("409 Conflict"));
    assert_eq!(
        m.what_failed[4].outcome,
        "not retried; the step ended failed"
    );

    let text = report::render_markdown(&m);
    assert!(text.contains("**Drill** — a rehearsal run with `--drill`, not an outage."));
    assert!(text.contains("| Kind | **drill** (`--drill`: a rehearsal, not an outage) |"));
    let failed = section(&text, "## What failed");
    assert!(
        failed.contains("503 Service Unavailable")
            && failed.contains("the latency probe is not wired")
            && failed.contains("health probe stale; checked by curl"),
        "{failed}"
    );
    assert!(
        text.contains(
            "| 7 | `deploy-dr` | Deploy the DR environment | qovery.deploy | succeeded | 2 |"
        ),
        "{text}"
    );
    golden("drill.md", &text);
    golden(
        "drill.json",
        &(report::render_json(&m).expect("json") + "\n"),
    );
    let json: serde_json::Value =
        serde_json::from_str(&report::render_json(&m).expect("json")).expect("parses");
    assert_eq!(json["kind"], "drill");
    assert_eq!(
        json["what_failed"][0]["outcome"],
        "retried: succeeded on attempt 2"
    );
    assert_eq!(json["rpo"]["lag_bytes"], 1_048_576);
    assert!(json["rpo"]["measured_secs"].is_null());
}

#[test]
fn review_record_matches_its_golden_with_every_step_and_each_preflight() {
    let m = model("review.jsonl");
    assert_eq!(m.title, "Review record");
    assert_eq!(
        m.review.len(),
        12,
        "every step of the checklist, reviewed or not"
    );
    let promote = m
        .review
        .iter()
        .find(|x| x.id == "promote-db")
        .expect("promote-db");
    assert!(promote.reviewed && promote.reviewed_by[0].starts_with("dave at "));
    assert_eq!(
        promote.preflight.iter().map(|c| c.ok).collect::<Vec<_>>(),
        vec![Some(true), Some(true), None]
    );
    let deploy = m
        .review
        .iter()
        .find(|x| x.id == "deploy-dr")
        .expect("deploy-dr");
    assert!(!deploy.reviewed);
    assert_eq!(
        deploy.notes,
        vec!["dave: push api v2.14.1 to the nl-ams registry before the drill"]
    );
    assert_eq!(m.review.iter().filter(|x| x.reviewed).count(), 5);
    assert_eq!(m.operators, vec!["dave", "erin"]);
    assert_eq!(m.rto.verdict, Verdict::NotMeasurable);

    let text = report::render_markdown(&m);
    let review = section(&text, "## Review record");
    assert!(review.contains("| 1 | `detect` | Detect failure | check | reviewed | dave at 2026-11-20 16:00:30 UTC | 4 s of downtime is too twitchy for prod; raise to 2m | not run |"), "{review}");
    assert!(
        review.contains(
            "| 3 | `fence-old-primary` | Fence the old primary | manual | not reviewed |"
        ),
        "{review}"
    );
    assert!(review.contains("| ✓ 2 · ✗ 1 · ? 0 |"), "{review}");
    assert!(
        review.contains("- ✗ FAILED — images present in the DR registry: api: v2.14.1 missing"),
        "{review}"
    );
    assert!(
        review.contains("- ? not evaluated — token can write (IAM policy)"),
        "{review}"
    );
    assert!(
        !text.contains("## What failed"),
        "a review executes nothing"
    );
    assert!(!text.contains("## Recovery objectives") && !text.contains("## Steps"));
    golden("review.md", &text);
    golden(
        "review.json",
        &(report::render_json(&m).expect("json") + "\n"),
    );
    // `e` in review mode exports the same Markdown next to the journal.
    assert_eq!(text, md("review.jsonl"));
}

#[test]
fn missing_evidence_report_matches_its_golden_and_says_what_is_missing() {
    let m = model("missing-evidence.jsonl");
    assert_eq!(m.end_reason, None);
    assert_eq!(m.rto.measured_secs, None);
    // Approved at +95 s, last record at +2110.2 s: 2015 s > 30 m, and traffic never moved.
    assert_eq!(m.rto.verdict, Verdict::NotReached, "{:?}", m.rto);
    assert_eq!(
        m.rto.missing,
        vec![
            "the plan has no traffic-switch step (dns.switch), so when traffic moved was never recorded"
        ]
    );
    assert!(
        m.rto.note.contains("over the 30m 00s target"),
        "{}",
        m.rto.note
    );
    assert_eq!(m.rpo.verdict, Verdict::NotMeasurable);
    assert_eq!(m.rpo.measured_secs, None);
    assert!(
        m.rpo
            .note
            .contains("the promotion step `promote-db` (scaleway.promote_replica) never completed"),
        "{}",
        m.rpo.note
    );
    let point = m
        .steps
        .iter()
        .find(|s| s.id == "point-db-at-dr")
        .expect("row");
    assert_eq!(point.state, "unknown (running when the record ends)");
    assert!(
        m.what_failed
            .iter()
            .any(|f| f.what == "interrupted" && f.step.as_deref() == Some("point-db-at-dr"))
    );

    let text = report::render_markdown(&m);
    assert!(
        text.contains("- **RTO — missing**: the plan has no traffic-switch step (dns.switch), so when traffic moved was never recorded."),
        "{text}"
    );
    assert!(
        text.contains("- **RPO — missing**: a completed database promotion."),
        "{text}"
    );
    assert!(text.contains("| End reason | never ended (interrupted, or still running) |"));
    golden("missing-evidence.md", &text);
    golden(
        "missing-evidence.json",
        &(report::render_json(&m).expect("json") + "\n"),
    );
}

// ---------------------------------------------------------------- redaction

#[test]
fn secrets_are_redacted_in_every_format() {
    let secret = "rpt-fixture-secret-Zq81mPq4vX";
    let raw = std::fs::read_to_string(journal("secret.jsonl")).expect("fixture");
    assert!(
        raw.matches(secret).count() >= 6,
        "the fixture carries the secret"
    );
    drcockpit::redact::register(secret, "env:REPORT_FIXTURE_TOKEN");
    let m = model("secret.jsonl");
    let text = report::render_markdown(&m);
    let json = report::render_json(&m).expect("json");
    for out in [&text, &json] {
        assert!(!out.contains(secret), "{out}");
        assert!(out.contains("‹secret env:REPORT_FIXTURE_TOKEN›"), "{out}");
    }
    // Also in every field of the model itself.
    let debug = format!("{m:?}");
    assert!(!debug.contains(secret), "{debug}");
    // The URL-encoded form too (it travels in query strings).
    assert!(!json.contains("rpt-fixture-secret-Zq81mPq4vX".replace('-', "%2D").as_str()));
}
