//! The report built from a journal: RTO and RPO against the targets, titles, the CLI.

use super::*;

// ---------------------------------------------------------------- report

fn incident(secret: &str, promote_secs: i64) -> Vec<Record> {
    let mut v = vec![
        rec(0, -60, "alice", started("live", false, "abcdef0123456789")),
        rec(
            1,
            0,
            "alice",
            Event::Declared {
                note: "eu-west-1 down".into(),
            },
        ),
        rec(
            2,
            30,
            "alice",
            Event::StepStarted {
                step: "freeze".into(),
                attempt: 1,
                kind: Some("http".into()),
            },
        ),
    ];
    for i in 0..25 {
        v.push(rec(
            3 + i,
            31,
            "alice",
            Event::StepOutput {
                step: "freeze".into(),
                attempt: 1,
                stream: "stdout".into(),
                line: format!("line {i}"),
            },
        ));
    }
    v.extend([
        rec(
            30,
            90,
            "alice",
            Event::StepFinished {
                step: "freeze".into(),
                attempt: 1,
                ok: true,
                detail: "writes frozen".into(),
            },
        ),
        rec(
            31,
            120,
            "bob",
            Event::Approved {
                step: "go".into(),
                host: "ops-2".into(),
                word: "FAILOVER".into(),
            },
        ),
        rec(
            32,
            130,
            "alice",
            Event::Override {
                step: "promote".into(),
                reason: "lag probe broken, checked by hand".into(),
                unmet: vec!["dr.lag < 30s".into()],
            },
        ),
        rec(
            33,
            131,
            "alice",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: None,
            },
        ),
        rec(
            34,
            140,
            "alice",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: false,
                detail: "timeout".into(),
            },
        ),
        rec(
            35,
            150,
            "alice",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 2,
                kind: None,
            },
        ),
        rec(
            36,
            promote_secs - 1,
            "alice",
            Event::Evidence {
                step: Some("promote".into()),
                what: "rpo at promotion".into(),
                detail: serde_json::json!({ "lag_bytes": 0, "replay_age_secs": 12 }),
            },
        ),
        rec(
            37,
            promote_secs,
            "alice",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 2,
                ok: true,
                detail: "promoted".into(),
            },
        ),
        rec(
            38,
            promote_secs + 5,
            "alice",
            Event::Note {
                step: Some("promote".into()),
                text: format!("used token {secret}"),
            },
        ),
        rec(
            39,
            promote_secs + 10,
            "alice",
            Event::SessionEnded {
                reason: "completed".into(),
            },
        ),
    ]);
    v
}

#[test]
fn report_measures_rto_and_rpo_against_targets_and_lists_decisions() {
    let secret = "s3cr3t-report-token-55aa";
    drcockpit::redact::register(secret, "env:TEST_REPORT_TOKEN");
    let model = report::build(&incident(secret, 720));
    assert_eq!(model.title, "Incident report");
    // No traffic switch in this plan: the RTO is never reached (issue 11), never a number.
    assert_eq!(model.rto.measured_secs, None);
    assert_eq!(model.rto.verdict, Verdict::NotReached);
    assert_eq!(model.rpo.measured_secs, Some(12));
    assert_eq!(model.rpo.verdict, Verdict::Met);
    let promote = model
        .steps
        .iter()
        .find(|s| s.id == "promote")
        .expect("promote row");
    assert_eq!(
        (
            promote.attempts,
            promote.state.as_str(),
            promote.kind.as_str()
        ),
        (2, "succeeded", "db-promote")
    );
    assert_eq!(promote.duration_ms, Some((720 - 131) * 1000));

    let md = report::render_markdown(&model);
    assert!(
        md.starts_with("# Incident report — Prod EU failover"),
        "{md}"
    );
    assert!(
        md.contains("| RTO | 30m 00s | — | **NOT REACHED** |"),
        "{md}"
    );
    assert!(md.contains("| RPO | 5m 00s | 12s | **MET** |"), "{md}");
    assert!(
        md.contains("## Approvals")
            && md.contains("| `go` | bob | ops-2 |")
            && md.contains("`FAILOVER`"),
        "{md}"
    );
    assert!(
        md.contains("## Overrides")
            && md.contains("lag probe broken, checked by hand")
            && md.contains("dr.lag < 30s"),
        "{md}"
    );
    assert!(
        md.contains("used token ‹secret env:TEST_REPORT_TOKEN›"),
        "{md}"
    );
    assert!(!md.contains(secret));
    // StepOutput is condensed.
    assert!(md.contains("line 19") && !md.contains("line 20"), "{md}");
    assert!(md.contains("… 5 more output line(s)"), "{md}");
    assert!(md.contains("alice, bob"));

    let json = report::render_json(&model).expect("json");
    assert!(!json.contains(secret));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json parses");
    assert_eq!(v["rto"]["verdict"], "not_reached");
    assert_eq!(v["rto"]["target_secs"], 1800);
    assert_eq!(v["approvals"][0]["operator"], "bob");
    assert_eq!(v["overrides"][0]["unmet"][0], "dr.lag < 30s");
}

#[test]
fn report_marks_a_missed_rto_and_an_unmeasured_rpo() {
    let mut records = incident("unused-secret-xyz", 2400);
    records.retain(|r| !matches!(r.event, Event::Evidence { .. }));
    let model = report::build(&records);
    assert_eq!(model.rto.verdict, Verdict::NotReached);
    assert_eq!(model.rto.measured_secs, None);
    assert_eq!(model.rpo.verdict, Verdict::NotMeasurable);
    let md = report::render_markdown(&model);
    assert!(
        md.contains("| RTO | 30m 00s | — | **NOT REACHED** |")
            && md.contains("over the 30m 00s target"),
        "{md}"
    );
    assert!(
        md.contains("not measured (no database promotion recorded)"),
        "{md}"
    );
}

#[test]
fn unfinished_recovery_is_not_reported_as_met() {
    let records: Vec<Record> = incident("unused-secret-xyz", 720)
        .into_iter()
        .filter(|r| !matches!(r.event, Event::SessionEnded { .. }))
        .take(34)
        .collect();
    let model = report::build(&records);
    assert_eq!(model.rto.verdict, Verdict::NotReached, "{:?}", model.rto);
    assert_eq!(model.end_reason, None);
    let promote = model
        .steps
        .iter()
        .find(|s| s.id == "promote")
        .expect("promote row");
    assert!(promote.state.starts_with("unknown"), "{}", promote.state);
}

#[test]
fn report_titles_and_resumed_sessions() {
    let drill = report::build(&[rec(0, 0, "a", started("live", true, "H"))]);
    assert_eq!(drill.title, "Drill report");
    let resumed = report::build(&[
        rec(0, 0, "a", started("live", true, "H")),
        rec(
            1,
            10,
            "a",
            Event::SessionEnded {
                reason: "signal SIGHUP (terminal hung up)".into(),
            },
        ),
        rec(2, 20, "b", started("live", true, "H")),
    ]);
    assert_eq!(resumed.sessions.len(), 2);
    assert_eq!(
        resumed.sessions[0].end_reason.as_deref(),
        Some("signal SIGHUP (terminal hung up)")
    );
    let md = report::render_markdown(&resumed);
    assert!(
        md.contains("## Sessions") && md.contains("resumed 1 time(s)"),
        "{md}"
    );

    let review = report::build(&[
        rec(0, 0, "rev", started("review", false, "H")),
        rec(
            1,
            5,
            "rev",
            Event::Preflight {
                step: "promote".into(),
                checks: vec![PreflightCheck {
                    what: "DR replica reachable".into(),
                    ok: Some(true),
                    detail: "pg 16".into(),
                }],
            },
        ),
        rec(
            2,
            9,
            "rev",
            Event::Reviewed {
                step: "promote".into(),
                note: "looks right".into(),
            },
        ),
        rec(
            3,
            10,
            "rev",
            Event::SessionEnded {
                reason: "quit".into(),
            },
        ),
    ]);
    assert_eq!(review.title, "Review record");
    let md = report::render_markdown(&review);
    assert!(
        md.contains("## Review")
            && md.contains("looks right")
            && md.contains("DR replica reachable"),
        "{md}"
    );
    assert!(
        md.contains("| 3 | `promote` | Promote DR database | db-promote | reviewed |"),
        "{md}"
    );
    assert!(
        md.contains("| 1 | `freeze` | Freeze writes | http | not reviewed |"),
        "{md}"
    );
}

#[test]
fn report_cli_formats_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    write_lines(&path, &incident("unused-secret-xyz", 720));
    assert_eq!(report::run_report_cli(&path, "json"), drcockpit::exit::OK);
    assert_eq!(report::run_report_cli(&path, "md"), drcockpit::exit::OK);
    assert_eq!(report::run_report_cli(&path, "pdf"), drcockpit::exit::USAGE);
    assert_eq!(
        report::run_report_cli(&dir.path().join("missing.jsonl"), "md"),
        drcockpit::exit::FAILURE
    );
    let model = report::build_from_file(&path).expect("build");
    assert!(model.warnings.is_empty());
}
