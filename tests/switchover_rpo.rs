//! A planned switchover (a failback) must measure RPO 0 and say so (issue 16 §1): the report
//! reads 0 only with its proof — the old primary fenced at LSN X, the promoted standby at LSN X,
//! 0 bytes lost — and UNKNOWN, naming what is missing, when the journal cannot show it. Before,
//! a lag-0 promotion read "MET" whether or not the old primary had been fenced (it could go on
//! taking writes the promoted side never sees).

use drcockpit::journal::{Event, Record, StepInfo};
use drcockpit::report::{self, Measure, Verdict};

mod common;

/// The failback plan's checklist (plans/qovery-pilot-light-failback.toml), kinds only.
const FAILBACK: &[(&str, &str)] = &[
    ("approve", "approval"),
    ("rejoin-prod", "postgres.rejoin"),
    ("prod-caught-up", "wait"),
    ("fence-dr", "postgres.fence"),
    ("promote-prod", "postgres.promote"),
    ("switch-dns", "manual"),
    ("verify", "http.check"),
];

struct Journal(Vec<Record>);

impl Journal {
    fn new(steps: &[(&str, &str)], rpo: Option<u64>) -> Journal {
        let mut j = Journal(Vec::new());
        j.at(
            0,
            None,
            Event::SessionStarted {
                plan_name: "shop failback".into(),
                plan_source: "plans/qovery-pilot-light-failback.toml".into(),
                plan_hash: "h".into(),
                mode: "live".into(),
                drill: true,
                host: "bastion".into(),
                pid: 1,
                version: "0.1.0".into(),
                commit: None,
                resumed_from: None,
                rto_secs: Some(3600),
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
        j
    }

    fn at(&mut self, secs: i64, _step: Option<&str>, event: Event) -> &mut Journal {
        self.0.push(Record {
            seq: self.0.len() as u64 + 1,
            at: common::t0_journal() + chrono::Duration::seconds(secs),
            operator: "ops".into(),
            event,
        });
        self
    }

    fn step(&mut self, secs: i64, step: &str, ok: bool) -> &mut Journal {
        self.at(
            secs,
            None,
            Event::StepStarted {
                step: step.into(),
                attempt: 1,
                kind: None,
            },
        );
        self.at(
            secs,
            None,
            Event::StepFinished {
                step: step.into(),
                attempt: 1,
                ok,
                detail: if ok { "ok".into() } else { "failed".into() },
            },
        )
    }

    /// Evidence on the `evidence:rpo` stream, as `postgres.fence` / `postgres.promote` record it.
    fn evidence(&mut self, secs: i64, step: &str, detail: serde_json::Value) -> &mut Journal {
        self.at(
            secs,
            None,
            Event::Evidence {
                step: Some(step.into()),
                what: "rpo".into(),
                detail,
            },
        )
    }

    fn rpo(&self) -> Measure {
        report::build(&self.0).rpo
    }
}

fn fenced(lsn: &str) -> serde_json::Value {
    serde_json::json!({"what": "fenced", "site": "dr", "fenced_lsn": lsn})
}

/// `postgres.promote`'s evidence with the old primary answering.
fn promoted(replay: &str, primary: &str, lag: u64, age: f64) -> serde_json::Value {
    serde_json::json!({
        "what": "rpo at promotion", "site": "prod", "replay_lsn": replay, "receive_lsn": replay,
        "primary_lsn": primary, "lag_bytes": lag, "replay_age_secs": age,
        "lag_basis": "primary pg_current_wal_lsn() read at promotion",
    })
}

/// Up to the rejoined standby's catch-up; the fence and promotion follow per case.
fn caught_up() -> Journal {
    let mut j = Journal::new(FAILBACK, Some(0));
    j.at(
        1,
        None,
        Event::Approved {
            step: "approve".into(),
            host: "bastion".into(),
            word: "FAILBACK".into(),
        },
    );
    j.step(60, "rejoin-prod", true)
        .step(90, "prod-caught-up", true);
    j
}

#[test]
fn fenced_then_promoted_at_lag_0_reads_rpo_0_with_its_proof() {
    let mut j = caught_up();
    j.evidence(100, "fence-dr", fenced("0/3000148"))
        .step(100, "fence-dr", true)
        .evidence(
            110,
            "promote-prod",
            promoted("0/3000148", "0/3000148", 0, 0.0),
        )
        .step(110, "promote-prod", true);
    let m = j.rpo();
    assert_eq!(
        (m.measured_secs, m.lag_bytes, m.verdict),
        (Some(0), Some(0), Verdict::Met),
        "{m:?}"
    );
    assert!(
        m.note
            .contains("planned switchover: fenced at LSN 0/3000148")
            && m.note.contains("promoted at LSN 0/3000148, 0 bytes lost"),
        "{}",
        m.note
    );
    assert!(m.note.contains("`fence-dr`"), "{}", m.note);
    assert!(m.missing.is_empty(), "{:?}", m.missing);
    // The Markdown report says it too.
    let md = report::render_markdown(&report::build(&j.0));
    assert!(md.contains("0 bytes lost"), "{md}");
}

#[test]
fn a_lag_0_promotion_without_a_fence_is_unknown_never_0() {
    let mut j = caught_up();
    j.at(
        100,
        None,
        Event::Skipped {
            step: "fence-dr".into(),
            reason: "in a hurry".into(),
        },
    )
    .evidence(
        110,
        "promote-prod",
        promoted("0/3000148", "0/3000148", 0, 0.0),
    )
    .step(110, "promote-prod", true);
    let m = j.rpo();
    assert_eq!(
        (m.measured_secs, m.verdict),
        (None, Verdict::Unknown),
        "{m:?}"
    );
    assert!(
        m.missing
            .iter()
            .any(|s| s.contains("old primary fenced") && s.contains("`fence-dr`")),
        "{:?}",
        m.missing
    );
    assert!(m.note.starts_with("UNKNOWN"), "{}", m.note);
}

#[test]
fn a_switchover_promoted_behind_or_blind_is_unknown_naming_what_is_missing() {
    // Promoted 4 KiB behind the fenced primary.
    let mut j = caught_up();
    j.evidence(100, "fence-dr", fenced("0/3001148"))
        .step(100, "fence-dr", true)
        .evidence(
            110,
            "promote-prod",
            promoted("0/3000148", "0/3001148", 4096, 2.0),
        )
        .step(110, "promote-prod", true);
    let m = j.rpo();
    assert_eq!(m.verdict, Verdict::Unknown, "{m:?}");
    assert!(
        m.missing.iter().any(|s| s.contains("4096 bytes")),
        "{:?}",
        m.missing
    );
    assert!(
        m.missing
            .iter()
            .any(|s| s.contains("replayed only 0/3000148") && s.contains("0/3001148")),
        "{:?}",
        m.missing
    );

    // The old primary did not answer at promotion: its position is unknown.
    let mut j = caught_up();
    let mut blind = promoted("0/3000148", "0/3000148", 0, 0.0);
    blind["rpo"] = "unknown".into();
    blind["primary_reachable"] = false.into();
    j.evidence(100, "fence-dr", fenced("0/3000148"))
        .step(100, "fence-dr", true)
        .evidence(110, "promote-prod", blind)
        .step(110, "promote-prod", true);
    let m = j.rpo();
    assert_eq!(m.verdict, Verdict::Unknown, "{m:?}");
    assert!(
        m.missing.iter().any(|s| s.contains("did not answer")),
        "{:?}",
        m.missing
    );

    // The promotion never ran: no number, and it says so.
    let mut j = caught_up();
    j.evidence(100, "fence-dr", fenced("0/3000148"))
        .step(100, "fence-dr", true)
        .step(110, "promote-prod", false);
    let m = j.rpo();
    assert_eq!(
        (m.measured_secs, m.verdict),
        (None, Verdict::Unknown),
        "{m:?}"
    );
    assert!(
        m.missing
            .iter()
            .any(|s| s.contains("`rpo` evidence") && s.contains("`promote-prod`")),
        "{:?}",
        m.missing
    );
}

/// A failover plan (no rejoin, an RPO target above 0) keeps its reading: lag at promotion.
#[test]
fn a_failover_keeps_its_lag_at_promotion_reading() {
    let steps = &[("fence", "postgres.fence"), ("promote", "postgres.promote")];
    let mut j = Journal::new(steps, Some(300));
    j.evidence(10, "promote", promoted("0/3000148", "0/3001148", 4096, 2.0))
        .step(10, "promote", true);
    let m = j.rpo();
    assert_eq!(
        (m.measured_secs, m.verdict),
        (Some(2), Verdict::Met),
        "{m:?}"
    );
    assert!(
        m.note.contains("replication lag at promotion"),
        "{}",
        m.note
    );
}
