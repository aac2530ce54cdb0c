//! `drcockpit report`: golden reports of recorded journals (an incident, a drill, a review, a
//! journal missing its evidence), RTO/RPO arithmetic, and redaction in every format.
//!
//! The goldens live in tests/fixtures/reports/; after an intended change to the report, rewrite
//! them with `UPDATE_GOLDEN=1 cargo nextest run --test report` and review the diff.

use std::path::{Path, PathBuf};

use drcockpit::journal::{Event, Record, StepInfo};
use drcockpit::report::{self, ReportModel, Verdict};

mod common;
use common::t0_journal as t0;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn journal(name: &str) -> PathBuf {
    fixtures().join("journals").join(name)
}

/// Compare `actual` with the golden file, or rewrite it under `UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &str) {
    let path = fixtures().join("reports").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let (n, (want, got)) = expected
            .lines()
            .chain(std::iter::repeat("<end of file>"))
            .zip(actual.lines().chain(std::iter::repeat("<end of file>")))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("?", "?")));
        panic!(
            "{} differs at line {}:\n  golden: {want}\n  actual: {got}\n(UPDATE_GOLDEN=1 rewrites it)\n\n{actual}",
            path.display(),
            n + 1
        );
    }
}

fn model(name: &str) -> ReportModel {
    report::build_from_file(&journal(name)).expect("the fixture journal builds a report")
}

fn md(name: &str) -> String {
    report::render_markdown(&model(name))
}

fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in\n{md}"));
    let rest = &md[start + heading.len()..];
    let end = rest.find("\n## ").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

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

// ---------------------------------------------------------------- arithmetic

struct B {
    recs: Vec<Record>,
}

impl B {
    fn new(steps: &[(&str, &str)], rto: Option<u64>, rpo: Option<u64>) -> B {
        let mut b = B { recs: Vec::new() };
        b.push_ms(
            -60_000,
            "ops",
            Event::SessionStarted {
                plan_name: "p".into(),
                plan_source: "p.toml".into(),
                plan_hash: "h".into(),
                mode: "live".into(),
                drill: false,
                host: "h1".into(),
                pid: 1,
                version: "0.1.0".into(),
                commit: None,
                resumed_from: None,
                rto_secs: rto,
                rpo_secs: rpo,
                steps: steps
                    .iter()
                    .map(|(id, kind)| StepInfo {
                        id: id.to_string(),
                        title: id.to_string(),
                        kind: kind.to_string(),
                        mutating: None,
                    })
                    .collect(),
            },
        );
        b
    }
    fn push_ms(&mut self, ms: i64, op: &str, event: Event) -> &mut B {
        self.recs.push(Record {
            seq: self.recs.len() as u64,
            at: t0() + chrono::Duration::milliseconds(ms),
            operator: op.into(),
            event,
        });
        self
    }
    fn at(&mut self, secs: i64, event: Event) -> &mut B {
        self.push_ms(secs * 1000, "ops", event)
    }
    fn ok(&mut self, secs: i64, step: &str) -> &mut B {
        self.run(secs, step, true)
    }
    fn run(&mut self, secs: i64, step: &str, ok: bool) -> &mut B {
        let attempt = 1 + self
            .recs
            .iter()
            .filter(|r| matches!(&r.event, Event::StepStarted { step: s, .. } if s == step))
            .count() as u32;
        self.at(
            secs,
            Event::StepStarted {
                step: step.into(),
                attempt,
                kind: None,
            },
        );
        self.at(
            secs,
            Event::StepFinished {
                step: step.into(),
                attempt,
                ok,
                detail: if ok { "ok".into() } else { "boom".into() },
            },
        )
    }
    fn approve(&mut self, secs: i64, step: &str) -> &mut B {
        self.at(
            secs,
            Event::Approved {
                step: step.into(),
                host: "h1".into(),
                word: "GO".into(),
            },
        )
    }
    fn evidence(&mut self, secs: i64, what: &str, detail: serde_json::Value) -> &mut B {
        self.at(
            secs,
            Event::Evidence {
                step: Some("promote".into()),
                what: what.into(),
                detail,
            },
        )
    }
    fn end(&mut self, secs: i64) -> &mut B {
        self.at(
            secs,
            Event::SessionEnded {
                reason: "completed".into(),
            },
        )
    }
    fn build(&self) -> ReportModel {
        report::build(&self.recs)
    }
}

const DEMO: &[(&str, &str)] = &[
    ("detect", "check"),
    ("approve", "approval"),
    ("promote", "postgres.promote"),
    ("deploy", "qovery.deploy"),
    ("health", "http.check"),
    ("switch", "dns.switch"),
    ("verify", "dns.verify"),
    ("notify", "http.request"),
];

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
