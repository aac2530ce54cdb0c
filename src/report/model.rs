//! The report's data: what `drcockpit report --format json` prints and what the Markdown
//! renderer reads. Plain serialisable rows, no logic beyond [`Verdict::label`]; the fold that
//! fills them is in `fold.rs`, the measurements in `measure.rs`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::journal::PreflightCheck;

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    /// "Incident report", "Drill report" or "Review record".
    pub title: String,
    /// `incident`, `drill`, `demo` or `review`.
    pub kind: String,
    pub plan: PlanInfo,
    pub operators: Vec<String>,
    pub hosts: Vec<String>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// The last session's end reason (`None`: it never ended — a crash, or still running).
    pub end_reason: Option<String>,
    /// One per `SessionStarted`: more than one means the session was resumed.
    pub sessions: Vec<SessionRow>,
    pub declared: Vec<Declared>,
    pub rto: Measure,
    pub rpo: Measure,
    pub steps: Vec<StepRow>,
    pub approvals: Vec<Approval>,
    pub overrides: Vec<OverrideRow>,
    pub skips: Vec<Skip>,
    pub manual: Vec<ManualRow>,
    pub notes: Vec<NoteRow>,
    pub refusals: Vec<Refusal>,
    pub preflight: Vec<PreflightRow>,
    pub reviewed: Vec<ReviewedRow>,
    pub aborted: Vec<AbortRow>,
    pub timeline: Vec<TimelineEntry>,
    /// Problems with the journal itself (torn lines).
    pub warnings: Vec<String>,
    /// One paragraph: drill or incident, who, when, RTO and RPO verdicts (Markdown).
    pub summary: String,
    /// Failed attempts, skips, overrides, interrupted steps and aborts, in journal order: what
    /// the runbook needs to learn from (the guide: update the runbook after every test).
    pub what_failed: Vec<FailureRow>,
    /// The review record: every step of the checklist, reviewed or not (review sessions only).
    pub review: Vec<ReviewStepRow>,
    /// Issue 13 hook: drivers, hand-overs and note authors when several people took part
    /// (Markdown lines from `journal::people`; Markdown only).
    #[serde(skip)]
    pub people: Vec<String>,
}

/// Something that went wrong (or was forced) during the session.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRow {
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub operator: String,
    /// `failed attempt N`, `skipped`, `override`, `interrupted`, `aborted`.
    pub what: String,
    /// The error, reason or unmet preconditions.
    pub detail: String,
    /// What happened next (retried and succeeded, skipped, not retried…).
    pub outcome: String,
}

/// One checklist step in a review record.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewStepRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub reviewed: bool,
    /// `operator at time` for each `Reviewed` mark.
    pub reviewed_by: Vec<String>,
    /// The review notes and the notes taken on this step.
    pub notes: Vec<String>,
    /// The last preflight of this step (empty: none was run).
    pub preflight: Vec<PreflightCheck>,
    pub preflight_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanInfo {
    pub name: String,
    pub hash: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub mode: String,
    pub drill: bool,
    pub operator: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    /// The build's git commit (journals that predate it: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub resumed_from: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Declared {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Missed,
    NotMeasurable,
    /// RTO: the recovery did not get there (traffic never moved, or no verification passed
    /// after it). Never a number.
    NotReached,
    /// RPO: data loss could not be known (the primary was unreachable at promotion).
    Unknown,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "MET",
            Verdict::Missed => "MISSED",
            Verdict::NotMeasurable => "not measurable",
            Verdict::NotReached => "NOT REACHED",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// A measured objective (RTO or RPO) against its target.
#[derive(Debug, Clone, Serialize)]
pub struct Measure {
    pub target_secs: Option<u64>,
    pub measured_secs: Option<u64>,
    pub verdict: Verdict,
    /// Where the measurement starts (RTO) or what it was taken from (RPO).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// RPO: bytes not yet replicated at promotion, if recorded.
    pub lag_bytes: Option<u64>,
    /// How it was measured, or why it could not be.
    pub note: String,
    /// The event that starts the measurement (RTO) or the evidence it was read from (RPO).
    pub from_event: Option<String>,
    /// The event that ends the measurement (RTO).
    pub to_event: Option<String>,
    /// The evidence that is missing for a measurement (empty when measured).
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    /// `not started`, `succeeded`, `failed`, `skipped`, `done by hand`, `marked done`, `approved`,
    /// `unknown (interrupted)`, `reviewed`, `not reviewed`.
    pub state: String,
    pub attempts: u32,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// From the first `StepStarted` to the last `StepFinished`.
    pub duration_ms: Option<i64>,
    /// The last result detail, reason or note.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub step: String,
    pub operator: String,
    pub host: String,
    pub at: DateTime<Utc>,
    pub word: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrideRow {
    pub step: String,
    pub operator: String,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub unmet: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    pub step: String,
    pub operator: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualRow {
    pub step: String,
    pub operator: String,
    pub at: DateTime<Utc>,
    /// `done by hand` or `marked done` (checked after a crash).
    pub how: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteRow {
    pub step: Option<String>,
    pub operator: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub what: String,
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreflightRow {
    pub step: String,
    pub at: DateTime<Utc>,
    pub checks: Vec<PreflightCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewedRow {
    pub step: String,
    pub operator: String,
    pub at: DateTime<Utc>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AbortRow {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub text: String,
}
