//! `drcockpit report JOURNAL`: an incident, drill or review report in Markdown or JSON.
//!
//! [`build`] folds the records into a [`ReportModel`] (what `--format json` prints);
//! [`render_markdown`] renders it. Every string taken from the journal passes through
//! [`crate::redact::redact`] when the model is built, and the rendered output passes through it
//! again.
//!
//! Measurements (the bounding events are named in the report; when one is missing the report
//! says which instead of giving a number):
//! * **RTO** starts at the declaration: the first `Declared` event, else the first `Approved`
//!   (the approval step), else the first `StepStarted`. It ends at the first passing
//!   verification (a successful step of kind `dns.verify`, `http.check`, `check` or `wait`)
//!   after traffic moved (the first successful `dns.switch` step). RTO is measured only then:
//!   a failover whose traffic never moved, or that nothing verified after it moved, is
//!   **NOT REACHED**, and the report names what is missing ("step `switch-dns` interrupted;
//!   `verify-dns` never ran") — never a number, never MET.
//! * **RPO** comes from the last `Evidence` whose `what` mentions "rpo" (or "promot…"): its
//!   detail's `data_loss_secs` / `replay_age_secs` / `rpo_secs` / `lag_secs` (time) and
//!   `lag_bytes` (volume; 0 bytes is 0 s). Bytes alone are reported as bytes, the time-based RPO
//!   not computed. Without such evidence, the lag a promotion step's `preconditions` evidence
//!   read (`….database.lag = 1.2 MiB`) is reported as bytes (never a verdict: it was read before
//!   the promotion), and what is missing is said. Evidence saying the primary was unreachable
//!   at promotion (`"rpo": "unknown"`) makes the RPO **UNKNOWN**: the report gives the last-seen
//!   primary position and its age, the standby's received and replayed LSN, and what would be
//!   needed to know — never MET.
//!
//! Drill and demo reports always have a "What failed" section (failed attempts and what came
//! of them, skips, overrides, interrupted steps, aborts) for the runbook; review sessions render
//! as a review record (every step, reviewed or not, by whom, notes, preflight ✓/✗/?).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Event, PreflightCheck, Record, StepInfo};

/// StepOutput lines shown per step attempt in the timeline before "… N more".
pub const OUTPUT_LINES_PER_ATTEMPT: usize = 20;

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

fn r(s: &str) -> String {
    crate::redact::redact(s).into_owned()
}

/// One line of text: newlines folded, redacted.
fn one_line(s: &str) -> String {
    r(&s.replace("\r\n", " ⏎ ").replace(['\n', '\r'], " ⏎ "))
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

#[derive(Default)]
struct StepAcc {
    state: Option<&'static str>,
    attempts: u32,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
    detail: String,
    reviewed: bool,
    /// Who started the last attempt (and when).
    last_start: Option<(DateTime<Utc>, String)>,
}

/// Fold a journal's records into a report.
pub fn build(records: &[Record]) -> ReportModel {
    let first_start = records.iter().find_map(|r| match &r.event {
        Event::SessionStarted { mode, drill, .. } => Some((mode.as_str(), *drill)),
        _ => None,
    });
    let (title, kind) = match first_start {
        Some(("review", _)) => ("Review record", "review"),
        Some(("demo", _)) => ("Drill report (demo: simulated world)", "demo"),
        Some((_, true)) => ("Drill report", "drill"),
        _ if records
            .iter()
            .any(|r| matches!(r.event, Event::SessionStarted { drill: true, .. })) =>
        {
            ("Drill report", "drill")
        }
        _ => ("Incident report", "incident"),
    };
    let review = kind == "review";

    let mut m = ReportModel {
        people: super::people::markdown(records),
        title: title.into(),
        kind: kind.into(),
        plan: PlanInfo::default(),
        operators: Vec::new(),
        hosts: Vec::new(),
        started: records.first().map(|r| r.at),
        ended: None,
        end_reason: None,
        sessions: Vec::new(),
        declared: Vec::new(),
        rto: not_measured(None, ""),
        rpo: not_measured(None, ""),
        steps: Vec::new(),
        approvals: Vec::new(),
        overrides: Vec::new(),
        skips: Vec::new(),
        manual: Vec::new(),
        notes: Vec::new(),
        refusals: Vec::new(),
        preflight: Vec::new(),
        reviewed: Vec::new(),
        aborted: Vec::new(),
        timeline: Vec::new(),
        warnings: Vec::new(),
        summary: String::new(),
        what_failed: Vec::new(),
        review: Vec::new(),
    };

    let mut rto_target = None;
    let mut rpo_target = None;
    let mut step_list: Vec<StepInfo> = Vec::new();
    let mut accs: HashMap<String, StepAcc> = HashMap::new();
    let mut seen_order: Vec<String> = Vec::new();
    let mut first_started: Option<(DateTime<Utc>, String, String)> = None;
    let mut first_approval: Option<(DateTime<Utc>, String, String)> = None;
    let mut completions: Vec<Completion> = Vec::new();
    let mut kinds: HashMap<String, String> = HashMap::new();
    // Failed attempts: (index in m.what_failed, step, attempt).
    let mut failed_rows: Vec<(usize, String, u32)> = Vec::new();
    // The lag a promotion step's precondition check read: (at, step, evidence text).
    let mut precondition_lag: Vec<(DateTime<Utc>, String, String)> = Vec::new();
    let mut rpo_evidence: Option<(DateTime<Utc>, String, serde_json::Value)> = None;
    // Output lines per (step, attempt): shown, suppressed.
    let mut output: HashMap<(String, u32), (usize, usize)> = HashMap::new();

    for rec in records {
        let op = r(&rec.operator);
        push_unique(&mut m.operators, &op);
        if let Some(step) = rec.event.step()
            && !seen_order.iter().any(|s| s == step)
        {
            seen_order.push(step.to_string());
        }
        let mut text: Option<String> = None;
        match &rec.event {
            Event::SessionStarted {
                plan_name,
                plan_source,
                plan_hash,
                mode,
                drill,
                host,
                pid,
                version,
                commit,
                resumed_from,
                rto_secs,
                rpo_secs,
                steps,
            } => {
                m.plan = PlanInfo {
                    name: r(plan_name),
                    hash: r(plan_hash),
                    source: r(plan_source),
                };
                push_unique(&mut m.hosts, &r(host));
                rto_target = rto_secs.or(rto_target);
                rpo_target = rpo_secs.or(rpo_target);
                for s in steps {
                    if !step_list.iter().any(|x| x.id == s.id) {
                        step_list.push(s.clone());
                    }
                }
                // A new session: the previous one ended here if it never said so.
                m.end_reason = None;
                m.ended = None;
                m.sessions.push(SessionRow {
                    started: rec.at,
                    ended: None,
                    end_reason: None,
                    mode: r(mode),
                    drill: *drill,
                    operator: op.clone(),
                    host: r(host),
                    pid: *pid,
                    version: r(version),
                    commit: commit.as_deref().map(|c| r(c)),
                    resumed_from: resumed_from.as_deref().map(r),
                });
                text = Some(format!(
                    "session {} — {mode}{} by {op}@{} (pid {pid}, drcockpit {version}), plan {} {:.12}",
                    if resumed_from.is_some() {
                        "resumed"
                    } else {
                        "started"
                    },
                    if *drill { " (drill)" } else { "" },
                    r(host),
                    r(plan_name),
                    r(plan_hash),
                ));
            }
            Event::StepStarted {
                step,
                attempt,
                kind,
            } => {
                if first_started.is_none() {
                    first_started = Some((rec.at, r(step), op.clone()));
                }
                if let Some(k) = kind {
                    kinds.entry(step.clone()).or_insert_with(|| k.clone());
                }
                let a = accs.entry(step.clone()).or_default();
                a.state = Some("running");
                a.attempts = a.attempts.max(*attempt);
                a.started.get_or_insert(rec.at);
                a.last_start = Some((rec.at, op.clone()));
                text = Some(format!("{}: started (attempt {attempt})", r(step)));
            }
            Event::ProcessStarted { step, pid, .. } => {
                text = Some(format!("{}: runs as pid {pid} in its own session", r(step)));
            }
            Event::ProcessEnded { step, detail, .. } => {
                // The step stays "running" here: its outcome is unknown (the process was not
                // the cockpit's child).
                text = Some(format!("{}: {}", r(step), one_line(detail)));
            }
            Event::StepOutput {
                step,
                attempt,
                stream,
                line,
            } => {
                let c = output.entry((step.clone(), *attempt)).or_default();
                if c.0 < OUTPUT_LINES_PER_ATTEMPT {
                    c.0 += 1;
                    let tag = if stream == "stdout" || stream == "info" {
                        String::new()
                    } else {
                        format!("[{}] ", r(stream))
                    };
                    text = Some(format!("{} │ {tag}{}", r(step), one_line(line)));
                } else {
                    c.1 += 1;
                }
            }
            Event::StepFinished {
                step,
                attempt,
                ok,
                detail,
            } => {
                flush_output(&mut m.timeline, &mut output, step, Some(*attempt), rec);
                let a = accs.entry(step.clone()).or_default();
                a.state = Some(if *ok { "succeeded" } else { "failed" });
                a.attempts = a.attempts.max(*attempt);
                a.finished = Some(rec.at);
                a.detail = one_line(detail);
                if *ok {
                    completions.push(Completion {
                        at: rec.at,
                        step: step.clone(),
                        how: format!("succeeded (attempt {attempt})"),
                    });
                } else {
                    failed_rows.push((m.what_failed.len(), step.clone(), *attempt));
                    m.what_failed.push(FailureRow {
                        at: rec.at,
                        step: Some(r(step)),
                        operator: op.clone(),
                        what: format!("failed attempt {attempt}"),
                        detail: one_line(detail),
                        outcome: String::new(),
                    });
                }
                text = Some(if *ok {
                    format!(
                        "{}: succeeded (attempt {attempt}) — {}",
                        r(step),
                        one_line(detail)
                    )
                } else {
                    format!(
                        "{}: FAILED (attempt {attempt}) — {}",
                        r(step),
                        one_line(detail)
                    )
                });
            }
            Event::Approved { step, host, word } => {
                if first_approval.is_none() {
                    first_approval = Some((rec.at, r(step), op.clone()));
                }
                completions.push(Completion {
                    at: rec.at,
                    step: step.clone(),
                    how: format!("approved by {op}"),
                });
                push_unique(&mut m.hosts, &r(host));
                let a = accs.entry(step.clone()).or_default();
                a.state = Some("approved");
                a.finished = Some(rec.at);
                a.detail = format!("approved by {op}@{}", r(host));
                m.approvals.push(Approval {
                    step: r(step),
                    operator: op.clone(),
                    host: r(host),
                    at: rec.at,
                    word: r(word),
                });
                text = Some(format!(
                    "{}: approved by {op}@{} (typed \"{}\")",
                    r(step),
                    r(host),
                    r(word)
                ));
            }
            Event::ManualDone { step, note } | Event::MarkedDone { step, note } => {
                let marked = matches!(rec.event, Event::MarkedDone { .. });
                let how = if marked {
                    "marked done"
                } else {
                    "done by hand"
                };
                completions.push(Completion {
                    at: rec.at,
                    step: step.clone(),
                    how: format!("{how} by {op}"),
                });
                let a = accs.entry(step.clone()).or_default();
                a.state = Some(how);
                a.finished = Some(rec.at);
                a.detail = one_line(note);
                m.manual.push(ManualRow {
                    step: r(step),
                    operator: op.clone(),
                    at: rec.at,
                    how: how.into(),
                    note: one_line(note),
                });
                text = Some(if marked {
                    format!(
                        "{}: checked after an interruption and marked done — {}",
                        r(step),
                        one_line(note)
                    )
                } else {
                    format!("{}: done by hand — {}", r(step), one_line(note))
                });
            }
            Event::Override {
                step,
                reason,
                unmet,
            } => {
                let unmet: Vec<String> = unmet.iter().map(|u| one_line(u)).collect();
                text = Some(format!(
                    "{}: OVERRIDE of unmet precondition(s) [{}] — {}",
                    r(step),
                    unmet.join("; "),
                    one_line(reason)
                ));
                m.what_failed.push(FailureRow {
                    at: rec.at,
                    step: Some(r(step)),
                    operator: op.clone(),
                    what: "override".into(),
                    detail: format!("unmet: {}", unmet.join("; ")),
                    outcome: format!("run anyway — reason: {}", one_line(reason)),
                });
                m.overrides.push(OverrideRow {
                    step: r(step),
                    operator: op.clone(),
                    at: rec.at,
                    reason: one_line(reason),
                    unmet,
                });
            }
            Event::Skipped { step, reason } => {
                let a = accs.entry(step.clone()).or_default();
                a.state = Some("skipped");
                a.detail = one_line(reason);
                m.what_failed.push(FailureRow {
                    at: rec.at,
                    step: Some(r(step)),
                    operator: op.clone(),
                    what: "skipped".into(),
                    detail: one_line(reason),
                    outcome: "not run".into(),
                });
                m.skips.push(Skip {
                    step: r(step),
                    operator: op.clone(),
                    at: rec.at,
                    reason: one_line(reason),
                });
                text = Some(format!("{}: skipped — {}", r(step), one_line(reason)));
            }
            Event::Note { step, text: t } => {
                m.notes.push(NoteRow {
                    step: step.as_deref().map(r),
                    operator: op.clone(),
                    at: rec.at,
                    text: one_line(t),
                });
                text = Some(match step {
                    Some(s) => format!("note on {}: {}", r(s), one_line(t)),
                    None => format!("note: {}", one_line(t)),
                });
            }
            Event::Reviewed { step, note } => {
                accs.entry(step.clone()).or_default().reviewed = true;
                m.reviewed.push(ReviewedRow {
                    step: r(step),
                    operator: op.clone(),
                    at: rec.at,
                    note: one_line(note),
                });
                text = Some(format!("{}: reviewed — {}", r(step), one_line(note)));
            }
            Event::Preflight { step, checks } => {
                let ok = checks.iter().filter(|c| c.ok == Some(true)).count();
                let failed = checks.iter().filter(|c| c.ok == Some(false)).count();
                let unknown = checks.len() - ok - failed;
                m.preflight.push(PreflightRow {
                    step: r(step),
                    at: rec.at,
                    checks: checks
                        .iter()
                        .map(|c| PreflightCheck {
                            what: one_line(&c.what),
                            ok: c.ok,
                            detail: one_line(&c.detail),
                        })
                        .collect(),
                });
                text = Some(format!(
                    "{}: preflight — {ok} ok, {failed} failed, {unknown} not evaluated",
                    r(step)
                ));
            }
            Event::Evidence { step, what, detail } => {
                let lw = what.to_lowercase();
                if lw.contains("rpo") || lw.contains("promot") {
                    rpo_evidence = Some((rec.at, r(what), detail.clone()));
                }
                if lw == "preconditions"
                    && let Some(s) = step
                {
                    for c in detail.as_array().into_iter().flatten() {
                        let cond = c.get("condition").and_then(|x| x.as_str()).unwrap_or("");
                        let ev = c.get("evidence").and_then(|x| x.as_str()).unwrap_or("");
                        if cond.contains("database.lag") && !ev.is_empty() {
                            precondition_lag.push((rec.at, s.clone(), ev.to_string()));
                        }
                    }
                }
                let mut d = detail.clone();
                super::writer::redact_value(&mut d);
                let mut compact = d.to_string();
                if compact.chars().count() > 240 {
                    compact = compact.chars().take(240).collect::<String>() + "…";
                }
                text = Some(match step {
                    Some(s) => format!("{}: evidence {} {compact}", r(s), r(what)),
                    None => format!("evidence {} {compact}", r(what)),
                });
            }
            Event::Refused { what, mode } => {
                m.refusals.push(Refusal {
                    at: rec.at,
                    operator: op.clone(),
                    what: one_line(what),
                    mode: r(mode),
                });
                text = Some(format!("refused in {} mode: {}", r(mode), one_line(what)));
            }
            Event::Aborted { reason } => {
                m.aborted.push(AbortRow {
                    at: rec.at,
                    operator: op.clone(),
                    reason: one_line(reason),
                });
                m.what_failed.push(FailureRow {
                    at: rec.at,
                    step: None,
                    operator: op.clone(),
                    what: "aborted".into(),
                    detail: one_line(reason),
                    outcome: "the session was aborted".into(),
                });
                text = Some(format!("ABORTED — {}", one_line(reason)));
            }
            Event::Declared { note } => {
                m.declared.push(Declared {
                    at: rec.at,
                    operator: op.clone(),
                    note: one_line(note),
                });
                text = Some(format!("incident declared — {}", one_line(note)));
            }
            Event::SessionEnded { reason } => {
                m.ended = Some(rec.at);
                m.end_reason = Some(one_line(reason));
                if let Some(s) = m.sessions.last_mut() {
                    s.ended = Some(rec.at);
                    s.end_reason = Some(one_line(reason));
                }
                text = Some(format!("session ended — {}", one_line(reason)));
            }
        }
        if let Some(text) = text {
            m.timeline.push(TimelineEntry {
                at: rec.at,
                operator: op,
                step: rec.event.step().map(r),
                text,
            });
        }
    }
    // Output of attempts that never finished.
    if let Some(last) = records.last() {
        let mut pending: Vec<(String, u32)> = output
            .iter()
            .filter(|(_, c)| c.1 > 0)
            .map(|(k, _)| k.clone())
            .collect();
        pending.sort();
        for (step, attempt) in pending {
            flush_output(&mut m.timeline, &mut output, &step, Some(attempt), last);
        }
    }

    // Steps: the plan's list first, then any step only seen in events.
    let mut infos = step_list.clone();
    for id in &seen_order {
        if !infos.iter().any(|s| &s.id == id) {
            infos.push(StepInfo {
                id: id.clone(),
                title: String::new(),
                kind: String::new(),
                mutating: None,
            });
        }
    }
    for info in &mut infos {
        if info.kind.is_empty()
            && let Some(k) = kinds.get(&info.id)
        {
            info.kind = k.clone();
        }
    }
    let last_session_ended = m.end_reason.is_some();
    let mut final_states: HashMap<String, (String, u32)> = HashMap::new();
    for info in &infos {
        let a = accs.remove(&info.id).unwrap_or_default();
        let state = match a.state {
            Some("running") if last_session_ended => "unknown (interrupted)".to_string(),
            Some("running") => "unknown (running when the record ends)".to_string(),
            Some(s) => s.to_string(),
            None if review && a.reviewed => "reviewed".into(),
            None if review => "not reviewed".into(),
            None => "not started".into(),
        };
        if state.starts_with("unknown")
            && let Some((at, who)) = a.last_start.clone()
        {
            m.what_failed.push(FailureRow {
                at,
                step: Some(r(&info.id)),
                operator: who,
                what: "interrupted".into(),
                detail: format!("attempt {} never finished", a.attempts),
                outcome: state.clone(),
            });
        }
        final_states.insert(info.id.clone(), (state.clone(), a.attempts));
        let duration_ms = match (a.started, a.finished) {
            (Some(s), Some(f)) if f >= s => Some((f - s).num_milliseconds()),
            _ => None,
        };
        m.steps.push(StepRow {
            id: r(&info.id),
            title: one_line(&info.title),
            kind: r(&info.kind),
            state,
            attempts: a.attempts,
            started: a.started,
            finished: a.finished,
            duration_ms,
            detail: a.detail,
        });
    }
    // What became of each failed attempt.
    for (i, step, attempt) in &failed_rows {
        let (state, attempts) = final_states
            .get(step)
            .cloned()
            .unwrap_or_else(|| ("unknown".into(), *attempt));
        let later = attempts.saturating_sub(*attempt);
        let outcome = match state.as_str() {
            "succeeded" if later > 0 => format!("retried: succeeded on attempt {attempts}"),
            "succeeded" => "succeeded afterwards".to_string(),
            "failed" if later > 0 => format!(
                "retried {later} more time(s); attempt {attempts} failed too, the step ended failed"
            ),
            "failed" => "not retried; the step ended failed".to_string(),
            "skipped" => "then skipped".to_string(),
            "done by hand" => "then done by hand".to_string(),
            "marked done" => "then marked done".to_string(),
            other if later > 0 => format!("retried (attempt {attempts}): {other}"),
            other => other.to_string(),
        };
        if let Some(row) = m.what_failed.get_mut(*i) {
            row.outcome = outcome;
        }
    }
    m.what_failed.sort_by_key(|f| f.at);

    // The review record: every step, reviewed or not.
    if review {
        for info in &infos {
            let id = r(&info.id);
            let reviewed_by: Vec<String> = m
                .reviewed
                .iter()
                .filter(|x| x.step == id)
                .map(|x| format!("{} at {}", x.operator, ts(x.at)))
                .collect();
            let mut notes: Vec<String> = m
                .reviewed
                .iter()
                .filter(|x| x.step == id && !x.note.is_empty())
                .map(|x| x.note.clone())
                .collect();
            notes.extend(
                m.notes
                    .iter()
                    .filter(|n| n.step.as_deref() == Some(id.as_str()))
                    .map(|n| format!("{}: {}", n.operator, n.text)),
            );
            let pf = m.preflight.iter().rev().find(|p| p.step == id);
            m.review.push(ReviewStepRow {
                id,
                title: one_line(&info.title),
                kind: r(&info.kind),
                reviewed: !reviewed_by.is_empty(),
                reviewed_by,
                notes,
                preflight: pf.map(|p| p.checks.clone()).unwrap_or_default(),
                preflight_at: pf.map(|p| p.at),
            });
        }
    }

    // Objectives.
    let last_at = records.last().map(|r| r.at);
    let start = if let Some(d) = m.declared.first() {
        Some(Bound {
            at: d.at,
            what: format!(
                "the incident was declared by {} (`Declared`: {})",
                d.operator, d.note
            ),
        })
    } else if let Some((at, step, op)) = &first_approval {
        Some(Bound {
            at: *at,
            what: format!("`{step}` was approved by {op} (no `Declared` event recorded)"),
        })
    } else {
        first_started.as_ref().map(|(at, step, _)| Bound {
            at: *at,
            what: format!(
                "the first step, `{step}`, started (no `Declared` event or approval recorded)"
            ),
        })
    };
    m.rto = if review {
        not_measured(rto_target, "review session: nothing was executed")
    } else {
        measure_rto(&RtoInput {
            target: rto_target,
            start,
            plan: &infos,
            completions: &completions,
            states: &final_states,
            last_at,
        })
    };
    m.rpo = if review {
        not_measured(rpo_target, "review session: nothing was executed")
    } else {
        match rpo_evidence {
            Some(ev) => measure_rpo(rpo_target, Some(ev)),
            None => rpo_without_evidence(rpo_target, &infos, &completions, &precondition_lag),
        }
    };
    for x in [&mut m.rto, &mut m.rpo] {
        x.note = r(&x.note);
        x.from_event = x.from_event.as_deref().map(r);
        x.to_event = x.to_event.as_deref().map(r);
        x.missing = x.missing.iter().map(|s| r(s)).collect();
    }
    m.summary = summary_text(&m);
    m
}

/// A successful completion of a step (finished ok, approved, done by hand, marked done).
struct Completion {
    at: DateTime<Utc>,
    step: String,
    how: String,
}

/// One end of the RTO window: when, and which event.
struct Bound {
    at: DateTime<Utc>,
    what: String,
}

struct RtoInput<'a> {
    target: Option<u64>,
    start: Option<Bound>,
    /// The checklist in plan order, with kinds.
    plan: &'a [StepInfo],
    completions: &'a [Completion],
    /// Each step's final state (as in the steps table), to say what is missing.
    states: &'a HashMap<String, (String, u32)>,
    last_at: Option<DateTime<Utc>>,
}

/// Does a step of this kind move traffic to the other site?
pub fn is_traffic_move(kind: &str) -> bool {
    kind == "dns.switch"
}

/// Is a passing step of this kind a verification (ends the RTO window once traffic moved)?
pub fn is_verification(kind: &str) -> bool {
    VERIFY_KINDS.contains(&kind)
}

/// Might a step of this kind change the world? Unknown kinds count as mutating; so does
/// `http.request` — used only for journals that do not record `mutating` per step.
pub fn is_mutating_kind(kind: &str) -> bool {
    !(kind.is_empty() || is_verification(kind) || matches!(kind, "approval" | "manual"))
}

/// Does a step of this kind promote a database (`postgres.promote`, `scaleway.promote_replica`)?
pub fn is_promotion(kind: &str) -> bool {
    kind.split_once('.')
        .is_some_and(|(_, op)| op.starts_with("promote"))
}

fn summary_text(m: &ReportModel) -> String {
    let kind = match m.kind.as_str() {
        "review" => "**Review** — a read-only walk through the plan; nothing was executed.",
        "demo" => {
            "**Drill (demo)** — a rehearsal against the embedded simulator; nothing real was touched."
        }
        "drill" => "**Drill** — a rehearsal run with `--drill`, not an outage.",
        _ => "**Incident** — a live failover.",
    };
    let plan = if m.plan.name.is_empty() {
        "(unknown plan)"
    } else {
        &m.plan.name
    };
    let mut out = format!(
        "{kind} Plan *{plan}*, run by {} on {}, from {} {}",
        if m.operators.is_empty() {
            "(unknown)".to_string()
        } else {
            m.operators.join(", ")
        },
        if m.hosts.is_empty() {
            "(unknown host)".to_string()
        } else {
            m.hosts.join(", ")
        },
        ts_opt(m.started),
        m.ended
            .map(|t| format!("to {}", ts(t)))
            .unwrap_or_else(|| "— the record never ends (interrupted, or still running)".into()),
    );
    if let Some(reason) = &m.end_reason {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('.');
    if m.kind == "review" {
        let reviewed = m.review.iter().filter(|x| x.reviewed).count();
        out.push_str(&format!(
            " {reviewed} of {} step(s) reviewed.",
            m.review.len()
        ));
        let checks = m.review.iter().flat_map(|x| x.preflight.iter());
        let (mut ok, mut failed, mut unknown) = (0, 0, 0);
        for c in checks {
            match c.ok {
                Some(true) => ok += 1,
                Some(false) => failed += 1,
                None => unknown += 1,
            }
        }
        if ok + failed + unknown > 0 {
            out.push_str(&format!(
                " Preflight checks: ✓ {ok} passed, ✗ {failed} failed, ? {unknown} not evaluated."
            ));
        }
        return out;
    }
    out.push_str(&format!(
        " RTO: {}. RPO: {}.",
        measure_phrase(&m.rto),
        measure_phrase(&m.rpo)
    ));
    let count =
        |pred: &dyn Fn(&FailureRow) -> bool| m.what_failed.iter().filter(|f| pred(f)).count();
    let parts: Vec<String> = [
        (
            count(&|f| f.what.starts_with("failed")),
            "failed attempt(s)",
        ),
        (count(&|f| f.what == "skipped"), "skip(s)"),
        (count(&|f| f.what == "override"), "override(s)"),
        (count(&|f| f.what == "interrupted"), "interrupted step(s)"),
        (count(&|f| f.what == "aborted"), "abort(s)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        out.push_str(" Nothing failed, was skipped or was overridden.");
    } else {
        out.push_str(&format!(" {} — see *What failed*.", parts.join(", ")));
    }
    out
}

fn measure_phrase(x: &Measure) -> String {
    let target = x
        .target_secs
        .map(|t| format!("the {} target", fmt_secs(t)))
        .unwrap_or_else(|| "no target set".into());
    match (x.measured_secs, x.lag_bytes, x.verdict) {
        (Some(s), _, Verdict::NotMeasurable) => format!("{} ({target})", fmt_secs(s)),
        (Some(s), _, v) => format!("{} against {target} — **{}**", fmt_secs(s), v.label()),
        (None, _, Verdict::Missed) => {
            format!("not measured, but already past {target} — **MISSED**")
        }
        (None, _, Verdict::NotReached) => format!(
            "**NOT REACHED** ({target}): {}",
            x.missing.first().map(String::as_str).unwrap_or("see below")
        ),
        (None, _, Verdict::Unknown) => format!(
            "**UNKNOWN** — the primary was unreachable at promotion, data loss cannot be measured ({target})"
        ),
        (None, Some(b), _) => format!(
            "{} behind at promotion, time window unknown — not measurable against {target}",
            fmt_lag(b)
        ),
        (None, None, _) if x.target_secs.is_some() => {
            format!("not measurable against {target} — see what is missing below")
        }
        (None, None, _) => "not measurable — see what is missing below".into(),
    }
}

/// `1048576 bytes (1.0 MiB)`.
fn fmt_lag(b: u64) -> String {
    if b < 1024 {
        format!("{b} bytes")
    } else {
        format!("{b} bytes ({})", crate::plan::units::fmt_bytes(b))
    }
}

fn flush_output(
    timeline: &mut Vec<TimelineEntry>,
    output: &mut HashMap<(String, u32), (usize, usize)>,
    step: &str,
    attempt: Option<u32>,
    rec: &Record,
) {
    let keys: Vec<(String, u32)> = output
        .keys()
        .filter(|(s, a)| s == step && attempt.is_none_or(|x| x == *a))
        .cloned()
        .collect();
    for k in keys {
        if let Some((_, more)) = output.remove(&k)
            && more > 0
        {
            timeline.push(TimelineEntry {
                at: rec.at,
                operator: r(&rec.operator),
                step: Some(r(step)),
                text: format!(
                    "{} │ … {more} more output line(s) of attempt {} not shown",
                    r(step),
                    k.1
                ),
            });
        }
    }
}

fn not_measured(target: Option<u64>, note: &str) -> Measure {
    Measure {
        target_secs: target,
        measured_secs: None,
        verdict: Verdict::NotMeasurable,
        from: None,
        to: None,
        lag_bytes: None,
        note: note.into(),
        from_event: None,
        to_event: None,
        missing: Vec::new(),
    }
}

fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    // Round to the nearest second.
    (((b - a).num_milliseconds().max(0) + 500) / 1000) as u64
}

/// The kinds [`is_verification`] accepts.
const VERIFY_KINDS: &[&str] = &["dns.verify", "http.check", "check", "wait"];

/// RTO: from the declaration to the first passing verification after traffic moved.
fn measure_rto(input: &RtoInput) -> Measure {
    let target = input.target;
    let Some(start) = &input.start else {
        let mut m = not_measured(
            target,
            "NOT REACHED: no `Declared` event, no approval and no started step were recorded",
        );
        m.verdict = Verdict::NotReached;
        m.missing
            .push("a start: a `Declared` event, an approval or a started step".into());
        return m;
    };
    let kind_of = |id: &str| {
        input
            .plan
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.kind.as_str())
            .unwrap_or("")
    };
    let after_start: Vec<(usize, &Completion)> = input
        .completions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.at >= start.at)
        .collect();
    let first_verification_after = |idx: usize| {
        after_start
            .iter()
            .find(|(i, c)| *i > idx && is_verification(kind_of(&c.step)))
            .map(|(_, c)| *c)
    };
    let switches: Vec<&StepInfo> = input
        .plan
        .iter()
        .filter(|s| is_traffic_move(&s.kind))
        .collect();
    // The verifications that come after the (first) traffic switch in the plan.
    let first_switch = input.plan.iter().position(|s| is_traffic_move(&s.kind));
    let later_verifications: Vec<&StepInfo> = first_switch
        .map(|i| {
            input.plan[i + 1..]
                .iter()
                .filter(|s| is_verification(&s.kind))
                .collect()
        })
        .unwrap_or_default();
    let state_phrase = |id: &str| -> String {
        let state = input
            .states
            .get(id)
            .map(|(s, _)| s.as_str())
            .unwrap_or("not started");
        match state {
            "not started" => format!("`{id}` never ran"),
            s if s.starts_with("unknown") => format!("step `{id}` interrupted"),
            "failed" => format!("step `{id}` failed"),
            "skipped" => format!("step `{id}` was skipped"),
            other => format!("step `{id}` {other}"),
        }
    };
    let verifications_missing = || -> String {
        if later_verifications.is_empty() {
            format!(
                "the plan has no verification ({}) after its traffic switch",
                VERIFY_KINDS.join(", ")
            )
        } else {
            later_verifications
                .iter()
                .map(|v| state_phrase(&v.id))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };

    // (end bound, description of what bounded it) or what is missing. RTO is measured only
    // when traffic moved (a traffic switch succeeded) and a verification passed after it:
    // anything else is NOT REACHED, never a number.
    let end: Result<(Bound, String), String> = if switches.is_empty() {
        Err(
            "the plan has no traffic-switch step (dns.switch), so when traffic moved was never recorded"
                .to_string(),
        )
    } else {
        match after_start
            .iter()
            .find(|(_, c)| is_traffic_move(kind_of(&c.step)))
        {
            None => Err(format!(
                "traffic never moved: {}; {}",
                switches
                    .iter()
                    .map(|s| state_phrase(&s.id))
                    .collect::<Vec<_>>()
                    .join("; "),
                verifications_missing()
            )),
            Some((i, moved)) => match first_verification_after(*i) {
                None => Err(format!(
                    "traffic moved at {} (`{}` {}) but no verification ({}) passed after it: {}",
                    ts(moved.at),
                    moved.step,
                    moved.how,
                    VERIFY_KINDS.join(", "),
                    verifications_missing()
                )),
                Some(v) => Ok((
                    Bound {
                        at: v.at,
                        what: format!(
                            "`{}` ({}) {}: the first verification after traffic moved",
                            v.step,
                            kind_of(&v.step),
                            v.how
                        ),
                    },
                    format!(
                        "traffic moved when `{}` (dns.switch) {} at {}",
                        moved.step,
                        moved.how,
                        ts(moved.at)
                    ),
                )),
            },
        }
    };

    match end {
        Ok((to, how)) => {
            let secs = secs_between(start.at, to.at);
            let (verdict, against) = match target {
                Some(t) if secs <= t => {
                    (Verdict::Met, format!("within the {} target", fmt_secs(t)))
                }
                Some(t) => (
                    Verdict::Missed,
                    format!("{} over the {} target", fmt_secs(secs - t), fmt_secs(t)),
                ),
                None => (Verdict::NotMeasurable, "the plan sets no RTO target".into()),
            };
            Measure {
                target_secs: target,
                measured_secs: Some(secs),
                verdict,
                from: Some(start.at),
                to: Some(to.at),
                lag_bytes: None,
                note: format!("from when {} to {}; {how}; {against}", start.what, to.what),
                from_event: Some(start.what.clone()),
                to_event: Some(to.what),
                missing: Vec::new(),
            }
        }
        Err(missing) => {
            // Not measurable: at most a lower bound, which may already miss the target.
            let elapsed = input
                .last_at
                .map(|t| secs_between(start.at, t))
                .unwrap_or(0);
            let tail = match target {
                Some(t) if elapsed > t => format!(
                    "; already {} after the start at the last record, over the {} target",
                    fmt_secs(elapsed),
                    fmt_secs(t)
                ),
                _ => format!(" ({} elapsed at the last record)", fmt_secs(elapsed)),
            };
            Measure {
                target_secs: target,
                measured_secs: None,
                verdict: Verdict::NotReached,
                from: Some(start.at),
                to: None,
                lag_bytes: None,
                note: format!("NOT REACHED: {missing}{tail}; started when {}", start.what),
                from_event: Some(start.what.clone()),
                to_event: None,
                missing: vec![missing],
            }
        }
    }
}

/// The first number found under any of `keys`, searching nested objects depth-first.
fn find_number(v: &serde_json::Value, keys: &[&str]) -> Option<f64> {
    match v {
        serde_json::Value::Object(o) => {
            for k in keys {
                if let Some(n) = o.get(*k).and_then(|x| {
                    x.as_f64()
                        .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
                }) {
                    return Some(n);
                }
            }
            o.values().find_map(|x| find_number(x, keys))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_number(x, keys)),
        _ => None,
    }
}

/// The time keys an RPO evidence detail may carry, in order of preference.
pub const RPO_TIME_KEYS: &[&str] = &["data_loss_secs", "replay_age_secs", "rpo_secs", "lag_secs"];

fn rpo_verdict(m: &mut Measure, secs: u64, target: Option<u64>) {
    m.measured_secs = Some(secs);
    m.verdict = match target {
        Some(t) if secs <= t => Verdict::Met,
        Some(_) => Verdict::Missed,
        None => Verdict::NotMeasurable,
    };
}

fn measure_rpo(
    target: Option<u64>,
    evidence: Option<(DateTime<Utc>, String, serde_json::Value)>,
) -> Measure {
    let Some((at, what, detail)) = evidence else {
        let mut m = not_measured(target, "not measured (no database promotion recorded)");
        m.missing
            .push("`rpo` evidence recorded at promotion".into());
        return m;
    };
    if rpo_unknown(&detail) {
        return rpo_unknown_measure(target, at, &what, &detail);
    }
    let secs = find_number(&detail, RPO_TIME_KEYS).map(|s| s.max(0.0).round() as u64);
    let bytes = find_number(&detail, &["lag_bytes"]).map(|b| b.max(0.0).round() as u64);
    let mut m = not_measured(target, "");
    m.from = Some(at);
    m.lag_bytes = bytes;
    m.from_event = Some(format!("evidence \"{what}\" recorded at {}", ts(at)));
    let bytes_txt = bytes
        .map(|b| format!(", {b} byte(s) not replicated"))
        .unwrap_or_default();
    let no_target = if target.is_none() {
        "; the plan sets no RPO target"
    } else {
        ""
    };
    match (secs, bytes) {
        (Some(s), _) => {
            rpo_verdict(&mut m, s, target);
            m.note = format!(
                "replication lag at promotion (evidence \"{what}\" at {}){bytes_txt}{no_target}",
                ts(at)
            );
        }
        (None, Some(0)) => {
            rpo_verdict(&mut m, 0, target);
            m.note = format!(
                "0 bytes not replicated at promotion (evidence \"{what}\" at {}): no data lost{no_target}",
                ts(at)
            );
        }
        (None, Some(b)) => {
            m.note = format!(
                "{b} byte(s) not replicated at promotion (evidence \"{what}\" at {}); the time-based RPO could not be computed: the evidence has no {}",
                ts(at),
                RPO_TIME_KEYS.join(" / ")
            );
            m.missing
                .push(format!("a time figure ({})", RPO_TIME_KEYS.join(" / ")));
        }
        (None, None) => {
            m.note = format!(
                "not measured: evidence \"{what}\" at {} recorded no lag figures (lag_bytes, {})",
                ts(at),
                RPO_TIME_KEYS.join(", ")
            );
            m.missing.push(format!(
                "lag figures in the evidence (lag_bytes, {})",
                RPO_TIME_KEYS.join(", ")
            ));
        }
    }
    m
}

/// Does the evidence say data loss could not be measured (the primary was unreachable)?
pub fn rpo_unknown(detail: &serde_json::Value) -> bool {
    detail.get("rpo").and_then(|v| v.as_str()) == Some("unknown")
        || detail.get("primary_reachable").and_then(|v| v.as_bool()) == Some(false)
}

/// What a PostgreSQL promotion needs to know the data loss when the primary is gone.
pub const RPO_UNKNOWN_NEEDED: &str = "the old primary's final WAL position (`pg_controldata` on its data directory, or the last segment in its WAL archive), compared with the standby's replayed LSN";

/// RPO UNKNOWN: the primary was unreachable at promotion. Says what was seen and what is needed.
fn rpo_unknown_measure(
    target: Option<u64>,
    at: DateTime<Utc>,
    what: &str,
    detail: &serde_json::Value,
) -> Measure {
    let text = |k: &str| -> Option<String> {
        match detail.get(k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let nr = || "not recorded".to_string();
    let seen = match (
        text("primary_last_seen_lsn"),
        find_number(detail, &["primary_last_seen_age_secs"]),
    ) {
        (Some(lsn), Some(age)) => format!(
            "the primary was last seen at {lsn}, {} before the promotion{}",
            fmt_secs(age.max(0.0).round() as u64),
            text("primary_last_seen_at")
                .map(|t| format!(" (at {t})"))
                .unwrap_or_default()
        ),
        (Some(lsn), None) => format!("the primary was last seen at {lsn} (age not recorded)"),
        _ => match text("primary") {
            Some(p) => format!("{p}; its last WAL position was not recorded"),
            None => "the primary's position was never seen".to_string(),
        },
    };
    let standby = match (text("receive_lsn"), text("replay_lsn")) {
        (None, None) => format!(
            "the standby's received and replayed LSN were not recorded{}",
            find_number(detail, &["lag_bytes"])
                .map(|b| format!(
                    " (the panels showed {} behind the primary's last seen position)",
                    fmt_lag(b.max(0.0) as u64)
                ))
                .unwrap_or_default()
        ),
        (rx, rp) => format!(
            "the standby had received {} and replayed {}{}{}",
            rx.unwrap_or_else(nr),
            rp.unwrap_or_else(nr),
            text("receiver_end_lsn")
                .map(|l| format!(" (its WAL receiver was last told the primary was at {l})"))
                .unwrap_or_default(),
            find_number(detail, &["lag_bytes"])
                .filter(|b| *b > 0.0)
                .map(|b| format!(
                    "; at least {} were not replayed (against the last seen position)",
                    fmt_lag(b as u64)
                ))
                .unwrap_or_default()
        ),
    };
    let needed = text("needed").unwrap_or_else(|| RPO_UNKNOWN_NEEDED.to_string());
    let mut m = not_measured(target, "");
    m.verdict = Verdict::Unknown;
    m.from = Some(at);
    m.from_event = Some(format!("evidence \"{what}\" recorded at {}", ts(at)));
    m.note = format!(
        "UNKNOWN: the primary was unreachable at promotion, so data loss cannot be measured; {seen}; {standby}; to know: {needed}"
    );
    m.missing.push(needed);
    m
}

/// No `rpo` evidence: say what is missing, and use the lag a promotion step's precondition
/// check read just before it started, if there is one.
fn rpo_without_evidence(
    target: Option<u64>,
    plan: &[StepInfo],
    completions: &[Completion],
    precondition_lag: &[(DateTime<Utc>, String, String)],
) -> Measure {
    let promotions: Vec<&StepInfo> = plan.iter().filter(|s| is_promotion(&s.kind)).collect();
    if promotions.is_empty() {
        let mut m = measure_rpo(target, None);
        m.note = "not measured (no database promotion recorded): the plan has no promotion step (postgres.promote, scaleway.promote_replica) and no `rpo` evidence was recorded".into();
        return m;
    }
    let done = completions
        .iter()
        .rev()
        .find(|c| promotions.iter().any(|p| p.id == c.step));
    let mut m = not_measured(target, "");
    let Some(done) = done else {
        m.note = format!(
            "not measured: the promotion step {} never completed, and no `rpo` evidence was recorded",
            promotions
                .iter()
                .map(|p| format!("`{}` ({})", p.id, p.kind))
                .collect::<Vec<_>>()
                .join(", ")
        );
        m.missing.push("a completed database promotion".into());
        m.missing
            .push("`rpo` evidence recorded at promotion".into());
        return m;
    };
    let kind = promotions
        .iter()
        .find(|p| p.id == done.step)
        .map(|p| p.kind.as_str())
        .unwrap_or("");
    m.missing.push(format!(
        "`rpo` evidence from `{}` ({kind}): lag_bytes and {}",
        done.step,
        RPO_TIME_KEYS.join(" / ")
    ));
    let lag = precondition_lag
        .iter()
        .rev()
        .find(|(at, step, _)| *step == done.step && *at <= done.at);
    match lag.and_then(|(at, step, ev)| parse_lag(ev).map(|b| (at, step, ev, b))) {
        Some((at, step, ev, bytes)) => {
            m.from = Some(*at);
            m.lag_bytes = Some(bytes);
            m.from_event = Some(format!(
                "the precondition check of `{step}` at {}: {}",
                ts(*at),
                r(ev)
            ));
            // Read before the promotion, possibly against a primary already gone: a figure
            // for the record, never a verdict.
            if bytes == 0 {
                m.note = format!(
                    "`{}` ({kind}) recorded no `rpo` evidence; its precondition check at {} read a replication lag of 0 bytes before the promotion — not a measurement at promotion (the primary may have written since)",
                    done.step,
                    ts(*at)
                );
            } else {
                m.note = format!(
                    "`{}` ({kind}) completed at {} without `rpo` evidence; its precondition check at {} read `{}` (≈{bytes} bytes, rounded); the time-based RPO could not be computed",
                    done.step,
                    ts(done.at),
                    ts(*at),
                    r(ev)
                );
            }
        }
        None => {
            m.note = format!(
                "not measured: `{}` ({kind}) completed at {} but recorded no `rpo` evidence (lag_bytes, {}), and no replication lag was read before it",
                done.step,
                ts(done.at),
                RPO_TIME_KEYS.join(", ")
            );
        }
    }
    m
}

/// `dr.database.lag = 1.2 MiB (0.9s ago)` → bytes.
fn parse_lag(evidence: &str) -> Option<u64> {
    let (_, rest) = evidence.split_once(" = ")?;
    let value = rest.split(" (").next()?.trim();
    crate::plan::units::parse_bytes(value).ok()
}

/// `1h 02m 03s`, `12m 05s`, `45s`.
pub fn fmt_secs(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn fmt_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        fmt_secs(((ms + 500) / 1000) as u64)
    }
}

fn check_mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓ ok —",
        Some(false) => "✗ FAILED —",
        None => "? not evaluated —",
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn ts_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(ts).unwrap_or_else(|| "—".into())
}

/// A Markdown table cell: no newlines, pipes escaped.
fn cell(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if s.is_empty() { "—".into() } else { s }
}

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
}

/// A `## heading` and its table, or nothing when there are no items.
fn section<T>(
    out: &mut String,
    heading: &str,
    header: &[&str],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("## {heading}\n\n"));
    table(out, header, items.iter().map(row).collect());
}

/// `**MET**`, `**MISSED**`, `not measurable`.
fn verdict_md(v: Verdict) -> String {
    match v {
        Verdict::NotMeasurable => v.label().to_string(),
        v => format!("**{}**", v.label()),
    }
}

fn measure_row(name: &str, m: &Measure) -> Vec<String> {
    let measured = match (m.measured_secs, m.lag_bytes) {
        (Some(s), _) => fmt_secs(s),
        (None, Some(b)) => fmt_lag(b),
        (None, None) => "—".into(),
    };
    let verdict = verdict_md(m.verdict);
    vec![
        name.into(),
        m.target_secs
            .map(fmt_secs)
            .unwrap_or_else(|| "none set".into()),
        measured,
        verdict,
        m.note.clone(),
    ]
}

fn kind_label(m: &ReportModel) -> String {
    match m.kind.as_str() {
        "review" => "review (read-only; nothing executed)".into(),
        "demo" => "drill — demo against the embedded simulator".into(),
        "drill" => "**drill** (`--drill`: a rehearsal, not an outage)".into(),
        _ => "**incident** (live failover)".into(),
    }
}

fn measure_cell(x: &Measure) -> String {
    let target = x
        .target_secs
        .map(fmt_secs)
        .unwrap_or_else(|| "none set".into());
    let measured = match (x.measured_secs, x.lag_bytes) {
        (Some(s), _) => format!("measured {}", fmt_secs(s)),
        (None, Some(b)) => format!("{} behind, time unknown", fmt_lag(b)),
        (None, None) => "not measured".into(),
    };
    let verdict = verdict_md(x.verdict);
    format!("target {target} · {measured} · {verdict}")
}

pub fn render_markdown(m: &ReportModel) -> String {
    let mut out = String::new();
    let name = if m.plan.name.is_empty() {
        "(unknown plan)"
    } else {
        m.plan.name.as_str()
    };
    out.push_str(&format!("# {} — {}\n\n", m.title, name));
    if !m.summary.is_empty() {
        out.push_str(&m.summary);
        out.push_str("\n\n");
    }

    let mut facts = vec![
        vec![
            "Plan".to_string(),
            format!(
                "{name} — source `{}`, hash `{:.12}`",
                if m.plan.source.is_empty() {
                    "?"
                } else {
                    &m.plan.source
                },
                if m.plan.hash.is_empty() {
                    "?"
                } else {
                    &m.plan.hash
                }
            ),
        ],
        vec!["Kind".into(), kind_label(m)],
        vec!["Operator(s)".into(), m.operators.join(", ")],
        vec!["Host(s)".into(), m.hosts.join(", ")],
        vec!["Started (UTC)".into(), ts_opt(m.started)],
        vec!["Ended (UTC)".into(), ts_opt(m.ended)],
        vec![
            "End reason".into(),
            m.end_reason
                .clone()
                .unwrap_or_else(|| "never ended (interrupted, or still running)".into()),
        ],
    ];
    if m.kind != "review" {
        facts.push(vec!["RTO".into(), measure_cell(&m.rto)]);
        facts.push(vec!["RPO".into(), measure_cell(&m.rpo)]);
    }
    let builds: Vec<String> = m
        .sessions
        .iter()
        .filter_map(|s| {
            let c = s.commit.as_deref()?;
            Some(format!("drcockpit {} (commit {c})", s.version))
        })
        .fold(Vec::new(), |mut v, b| {
            if !v.contains(&b) {
                v.push(b);
            }
            v
        });
    if !builds.is_empty() {
        facts.push(vec!["Build".into(), builds.join(", ")]);
    }
    if m.sessions.len() > 1 {
        facts.push(vec![
            "Sessions".into(),
            format!(
                "{} (resumed {} time(s))",
                m.sessions.len(),
                m.sessions.len() - 1
            ),
        ]);
    }
    if let Some(a) = m.aborted.last() {
        facts.push(vec![
            "Aborted".into(),
            format!("{} by {} — {}", ts(a.at), a.operator, a.reason),
        ]);
    }
    table(&mut out, &["", ""], facts);

    if !m.warnings.is_empty() {
        for w in &m.warnings {
            out.push_str(&format!("> ⚠ {w}\n"));
        }
        out.push('\n');
    }

    if m.kind != "review" {
        out.push_str("## Recovery objectives\n\n");
        table(
            &mut out,
            &["objective", "target", "measured", "result", "how"],
            vec![measure_row("RTO", &m.rto), measure_row("RPO", &m.rpo)],
        );
        match (m.rto.from, m.rto.to) {
            (Some(from), Some(to)) => {
                out.push_str(&format!("- **RTO window**: {} → {}.\n", ts(from), ts(to)))
            }
            (Some(from), None) => {
                out.push_str(&format!("- **RTO window**: from {} — no end.\n", ts(from)))
            }
            _ => {}
        }
        if let Some(e) = &m.rto.from_event {
            out.push_str(&format!("- **RTO starts** when {e}.\n"));
        }
        if let Some(e) = &m.rto.to_event {
            out.push_str(&format!("- **RTO ends** when {e}.\n"));
        }
        if let Some(e) = &m.rpo.from_event {
            out.push_str(&format!("- **RPO read from** {e}.\n"));
        }
        for x in m
            .rto
            .missing
            .iter()
            .map(|x| ("RTO", x))
            .chain(m.rpo.missing.iter().map(|x| ("RPO", x)))
        {
            out.push_str(&format!("- **{} — missing**: {}.\n", x.0, x.1));
        }
        out.push('\n');

        if !m.declared.is_empty() {
            out.push_str("## Declaration\n\n");
            for d in &m.declared {
                out.push_str(&format!(
                    "- {} — declared by {}: {}\n",
                    ts(d.at),
                    d.operator,
                    d.note
                ));
            }
            out.push('\n');
        }

        if m.sessions.len() > 1 {
            out.push_str("## Sessions\n\n");
            let rows = m
                .sessions
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    vec![
                        (i + 1).to_string(),
                        ts(s.started),
                        ts_opt(s.ended),
                        s.end_reason.clone().unwrap_or_else(|| "never ended".into()),
                        format!("{}{}", s.mode, if s.drill { " (drill)" } else { "" }),
                        format!("{}@{} (pid {})", s.operator, s.host, s.pid),
                    ]
                })
                .collect();
            table(
                &mut out,
                &["#", "started", "ended", "end reason", "mode", "by"],
                rows,
            );
        }
    }

    if m.kind == "review" {
        render_review(&mut out, m);
    } else {
        out.push_str("## Steps\n\n");
        if m.steps.is_empty() {
            out.push_str("No step recorded.\n\n");
        } else {
            let rows = m
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    vec![
                        (i + 1).to_string(),
                        format!("`{}`", s.id),
                        s.title.clone(),
                        s.kind.clone(),
                        s.state.clone(),
                        if s.attempts > 0 {
                            s.attempts.to_string()
                        } else {
                            String::new()
                        },
                        s.duration_ms.map(fmt_ms).unwrap_or_default(),
                        s.detail.clone(),
                    ]
                })
                .collect();
            table(
                &mut out,
                &[
                    "#", "id", "title", "kind", "state", "attempts", "duration", "detail",
                ],
                rows,
            );
        }
    }

    section(
        &mut out,
        "Approvals",
        &["step", "operator", "host", "time", "word typed"],
        &m.approvals,
        |a| {
            vec![
                format!("`{}`", a.step),
                a.operator.clone(),
                a.host.clone(),
                ts(a.at),
                format!("`{}`", a.word),
            ]
        },
    );
    section(
        &mut out,
        "Overrides (break glass)",
        &["step", "operator", "time", "unmet preconditions", "reason"],
        &m.overrides,
        |o| {
            vec![
                format!("`{}`", o.step),
                o.operator.clone(),
                ts(o.at),
                o.unmet.join("; "),
                o.reason.clone(),
            ]
        },
    );
    section(
        &mut out,
        "Skipped steps",
        &["step", "operator", "time", "reason"],
        &m.skips,
        |s| {
            vec![
                format!("`{}`", s.step),
                s.operator.clone(),
                ts(s.at),
                s.reason.clone(),
            ]
        },
    );
    section(
        &mut out,
        "Done by hand",
        &["step", "how", "operator", "time", "note"],
        &m.manual,
        |x| {
            vec![
                format!("`{}`", x.step),
                x.how.clone(),
                x.operator.clone(),
                ts(x.at),
                x.note.clone(),
            ]
        },
    );
    if !m.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in &m.notes {
            let on = n
                .step
                .as_ref()
                .map(|s| format!(" on `{s}`"))
                .unwrap_or_default();
            out.push_str(&format!(
                "- {} — {}{on}: {}\n",
                ts(n.at),
                n.operator,
                n.text
            ));
        }
        out.push('\n');
    }
    // Issue 13 hook: who drove, who handed over to whom, who wrote notes.
    for line in &m.people {
        out.push_str(line);
        out.push('\n');
    }
    section(
        &mut out,
        "Refused actions",
        &["time", "operator", "mode", "what"],
        &m.refusals,
        |x| vec![ts(x.at), x.operator.clone(), x.mode.clone(), x.what.clone()],
    );
    if m.kind != "review" && (!m.preflight.is_empty() || !m.reviewed.is_empty()) {
        out.push_str("## Review\n\n");
        if !m.reviewed.is_empty() {
            let rows = m
                .reviewed
                .iter()
                .map(|x| {
                    vec![
                        format!("`{}`", x.step),
                        x.operator.clone(),
                        ts(x.at),
                        x.note.clone(),
                    ]
                })
                .collect();
            table(&mut out, &["step", "reviewed by", "time", "note"], rows);
        }
        for p in &m.preflight {
            out.push_str(&format!("Preflight of `{}` at {}:\n\n", p.step, ts(p.at)));
            for c in &p.checks {
                out.push_str(&format!(
                    "- {} {}: {}\n",
                    check_mark(c.ok),
                    c.what,
                    c.detail
                ));
            }
            out.push('\n');
        }
    }

    if m.kind != "review" && (!m.what_failed.is_empty() || m.kind != "incident") {
        out.push_str("## What failed\n\n");
        if m.what_failed.is_empty() {
            out.push_str("Nothing failed, was skipped or was overridden.\n\n");
        } else {
            out.push_str(
                "Each row is something to fix or to write into the runbook before the next test.\n\n",
            );
            let rows = m
                .what_failed
                .iter()
                .map(|f| {
                    vec![
                        ts(f.at),
                        f.step
                            .as_ref()
                            .map(|s| format!("`{s}`"))
                            .unwrap_or_default(),
                        f.what.clone(),
                        f.operator.clone(),
                        f.detail.clone(),
                        f.outcome.clone(),
                    ]
                })
                .collect();
            table(
                &mut out,
                &["time", "step", "what", "operator", "detail", "then"],
                rows,
            );
        }
    }

    out.push_str("## Timeline\n\n```text\n");
    for e in &m.timeline {
        let line = format!(
            "{}  {:<12} {}\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.operator,
            e.text
        );
        out.push_str(&line.replace("```", "ˋˋˋ"));
    }
    out.push_str("```\n");
    crate::redact::redact_string(out)
}

/// The report as pretty JSON (redacted).
pub fn render_json(m: &ReportModel) -> Result<String, String> {
    let mut v = serde_json::to_value(m).map_err(|e| format!("cannot serialise the report: {e}"))?;
    super::writer::redact_value(&mut v);
    serde_json::to_string_pretty(&v)
        .map(crate::redact::redact_string)
        .map_err(|e| format!("cannot serialise the report: {e}"))
}

/// Read a journal and build its report, with the reader's warnings attached.
pub fn build_from_file(journal: &Path) -> Result<ReportModel, String> {
    let read = super::read::read(journal)?;
    if read.records.is_empty() {
        return Err(format!(
            "{}: the journal holds no records",
            journal.display()
        ));
    }
    let mut model = build(&read.records);
    if !read.torn_lines.is_empty() {
        model.warnings.push(format!(
            "line(s) {} of the journal were cut by a crash and are ignored",
            read.torn_lines
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if read.torn_tail.is_some() {
        model
            .warnings
            .push("the journal's last line was cut by a crash and is ignored".into());
    }
    Ok(model)
}

pub fn run_report_cli(journal: &Path, format: &str) -> i32 {
    let md = match format.to_ascii_lowercase().as_str() {
        "md" | "markdown" => true,
        "json" => false,
        other => {
            eprintln!(
                "--format {}: unknown report format; expected md or json",
                crate::redact::redact(other)
            );
            return crate::exit::USAGE;
        }
    };
    let model = match build_from_file(journal) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot build the report: {}", crate::redact::redact(&e));
            return crate::exit::FAILURE;
        }
    };
    for w in &model.warnings {
        eprintln!("warning: {}: {w}", journal.display());
    }
    let text = if md {
        render_markdown(&model)
    } else {
        match render_json(&model) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                return crate::exit::FAILURE;
            }
        }
    };
    // A reader that went away (`| head`) is a quiet exit; see `crate::cli::out`.
    crate::outln!("{}", text.trim_end());
    crate::exit::OK
}

fn render_review(out: &mut String, m: &ReportModel) {
    out.push_str("## Review record\n\n");
    let rows = m
        .review
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let count = |v: Option<bool>| x.preflight.iter().filter(|c| c.ok == v).count();
            vec![
                (i + 1).to_string(),
                format!("`{}`", x.id),
                x.title.clone(),
                x.kind.clone(),
                if x.reviewed {
                    "reviewed".into()
                } else {
                    "not reviewed".into()
                },
                x.reviewed_by.join("; "),
                x.notes.join("; "),
                if x.preflight.is_empty() {
                    "not run".into()
                } else {
                    format!(
                        "✓ {} · ✗ {} · ? {}",
                        count(Some(true)),
                        count(Some(false)),
                        count(None)
                    )
                },
            ]
        })
        .collect();
    table(
        out,
        &[
            "#",
            "id",
            "title",
            "kind",
            "state",
            "reviewed by",
            "notes",
            "preflight",
        ],
        rows,
    );
    let with_pf: Vec<&ReviewStepRow> = m
        .review
        .iter()
        .filter(|x| !x.preflight.is_empty())
        .collect();
    if !with_pf.is_empty() {
        out.push_str("### Preflight results\n\n");
        for x in with_pf {
            out.push_str(&format!(
                "`{}` — {}:\n\n",
                x.id,
                x.preflight_at.map(ts).unwrap_or_default()
            ));
            for c in &x.preflight {
                out.push_str(&format!(
                    "- {} {}: {}\n",
                    check_mark(c.ok),
                    c.what,
                    c.detail
                ));
            }
            out.push('\n');
        }
    }
}
