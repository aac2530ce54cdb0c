//! `drcockpit report JOURNAL`: an incident, drill or review report in Markdown or JSON.
//!
//! [`build`] folds the records into a [`ReportModel`] (what `--format json` prints);
//! [`render_markdown`] renders it. Every string taken from the journal passes through
//! [`crate::redact::redact`] when the model is built, and the rendered output passes through it
//! again.
//!
//! Measurements:
//! * **RTO** runs from the first `Declared` event (else the first `StepStarted` or `Approved`) to
//!   the last successful completion (`StepFinished` ok, or a step done by hand, marked done or
//!   approved). It is only measured when the recovery completed (a `SessionEnded` "completed", or
//!   every listed step finished); an unfinished recovery already past its target is MISSED.
//! * **RPO** comes from `Evidence` events whose `what` mentions "rpo" or "promot…": the last one
//!   wins, and its detail's `replay_age_secs` / `data_loss_secs` / `rpo_secs` / `lag_secs` (time)
//!   and `lag_bytes` (volume) are read.

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
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "MET",
            Verdict::Missed => "MISSED",
            Verdict::NotMeasurable => "not measurable",
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
        _ => ("Incident report", "incident"),
    };
    let review = kind == "review";

    let mut m = ReportModel {
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
    };

    let mut rto_target = None;
    let mut rpo_target = None;
    let mut step_list: Vec<StepInfo> = Vec::new();
    let mut accs: HashMap<String, StepAcc> = HashMap::new();
    let mut seen_order: Vec<String> = Vec::new();
    let mut first_action: Option<DateTime<Utc>> = None;
    let mut last_completion: Option<DateTime<Utc>> = None;
    let mut rpo_evidence: Option<(DateTime<Utc>, String, serde_json::Value)> = None;
    // Output lines per (step, attempt): shown, suppressed.
    let mut output: HashMap<(String, u32), (usize, usize)> = HashMap::new();

    for rec in records {
        push_unique(&mut m.operators, &r(&rec.operator));
        let op = r(&rec.operator);
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
            Event::StepStarted { step, attempt, .. } => {
                first_action.get_or_insert(rec.at);
                let a = accs.entry(step.clone()).or_default();
                a.state = Some("running");
                a.attempts = a.attempts.max(*attempt);
                a.started.get_or_insert(rec.at);
                text = Some(format!("{}: started (attempt {attempt})", r(step)));
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
                    last_completion = Some(rec.at);
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
                first_action.get_or_insert(rec.at);
                last_completion = Some(rec.at);
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
                last_completion = Some(rec.at);
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
            });
        }
    }
    let last_session_ended = m.end_reason.is_some();
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

    // Objectives.
    let summary = super::paths::session_summary(records);
    let all_done = !step_list.is_empty()
        && step_list
            .iter()
            .all(|s| summary.steps_finished.contains(&s.id));
    let completed = summary.ended.as_deref() == Some("completed") || all_done;
    let last_at = records.last().map(|r| r.at);
    m.rto = if review {
        not_measured(rto_target, "review session: nothing was executed")
    } else {
        measure_rto(
            rto_target,
            m.declared.first().map(|d| d.at),
            first_action,
            last_completion,
            completed,
            last_at,
        )
    };
    m.rpo = if review {
        not_measured(rpo_target, "review session: nothing was executed")
    } else {
        measure_rpo(rpo_target, rpo_evidence)
    };
    if m.started.is_none() {
        m.started = m.sessions.first().map(|s| s.started);
    }
    m
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
    }
}

fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    // Round to the nearest second.
    (((b - a).num_milliseconds().max(0) + 500) / 1000) as u64
}

fn measure_rto(
    target: Option<u64>,
    declared: Option<DateTime<Utc>>,
    first_action: Option<DateTime<Utc>>,
    last_completion: Option<DateTime<Utc>>,
    completed: bool,
    last_at: Option<DateTime<Utc>>,
) -> Measure {
    let (from, from_what) = match (declared, first_action) {
        (Some(d), _) => (d, "the incident was declared"),
        (None, Some(a)) => (
            a,
            "the first step started (no incident declaration recorded)",
        ),
        (None, None) => return not_measured(target, "no step was run"),
    };
    let target_txt = |t: u64| fmt_secs(t);
    if completed && let Some(to) = last_completion.filter(|t| *t >= from) {
        let secs = secs_between(from, to);
        let (verdict, note) = match target {
            Some(t) if secs <= t => (
                Verdict::Met,
                format!(
                    "from when {from_what} to the last completed step; within the {} target",
                    target_txt(t)
                ),
            ),
            Some(t) => (
                Verdict::Missed,
                format!(
                    "from when {from_what} to the last completed step; {} over the {} target",
                    fmt_secs(secs - t),
                    target_txt(t)
                ),
            ),
            None => (
                Verdict::NotMeasurable,
                format!(
                    "from when {from_what} to the last completed step; the plan sets no RTO target"
                ),
            ),
        };
        return Measure {
            target_secs: target,
            measured_secs: Some(secs),
            verdict,
            from: Some(from),
            to: Some(to),
            lag_bytes: None,
            note,
        };
    }
    // Not completed: a lower bound only.
    let elapsed = last_at.map(|t| secs_between(from, t)).unwrap_or(0);
    match target {
        Some(t) if elapsed > t => Measure {
            target_secs: target,
            measured_secs: None,
            verdict: Verdict::Missed,
            from: Some(from),
            to: last_at,
            lag_bytes: None,
            note: format!(
                "recovery not completed; already {} after {from_what} at the last record, over the {} target",
                fmt_secs(elapsed),
                fmt_secs(t)
            ),
        },
        _ => Measure {
            target_secs: target,
            measured_secs: None,
            verdict: Verdict::NotMeasurable,
            from: Some(from),
            to: None,
            lag_bytes: None,
            note: format!(
                "recovery not completed ({} elapsed after {from_what} at the last record)",
                fmt_secs(elapsed)
            ),
        },
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

fn measure_rpo(
    target: Option<u64>,
    evidence: Option<(DateTime<Utc>, String, serde_json::Value)>,
) -> Measure {
    let Some((at, what, detail)) = evidence else {
        return not_measured(target, "not measured (no database promotion recorded)");
    };
    let secs = find_number(
        &detail,
        &["replay_age_secs", "data_loss_secs", "rpo_secs", "lag_secs"],
    )
    .map(|s| s.max(0.0).round() as u64);
    let bytes = find_number(&detail, &["lag_bytes"]).map(|b| b.max(0.0).round() as u64);
    let secs = secs.or(if bytes == Some(0) { Some(0) } else { None });
    let mut m = Measure {
        target_secs: target,
        measured_secs: secs,
        verdict: Verdict::NotMeasurable,
        from: Some(at),
        to: None,
        lag_bytes: bytes,
        note: String::new(),
    };
    let bytes_txt = bytes
        .map(|b| format!(", {b} byte(s) not replicated"))
        .unwrap_or_default();
    match (secs, target) {
        (Some(s), Some(t)) => {
            m.verdict = if s <= t {
                Verdict::Met
            } else {
                Verdict::Missed
            };
            m.note = format!("replication lag at promotion (evidence \"{what}\"){bytes_txt}");
        }
        (Some(_), None) => {
            m.note = format!(
                "replication lag at promotion (evidence \"{what}\"){bytes_txt}; the plan sets no RPO target"
            )
        }
        (None, _) => {
            m.note = match bytes {
                Some(b) => format!(
                    "{b} byte(s) not replicated at promotion (evidence \"{what}\"); the time window was not recorded"
                ),
                None => format!("evidence \"{what}\" recorded no lag figures"),
            }
        }
    }
    m
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
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        fmt_secs(((ms + 500) / 1000) as u64)
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

fn measure_row(name: &str, m: &Measure) -> Vec<String> {
    let measured = match (m.measured_secs, m.lag_bytes) {
        (Some(s), _) => fmt_secs(s),
        (None, Some(b)) => format!("{b} bytes"),
        (None, None) => "—".into(),
    };
    let verdict = match m.verdict {
        Verdict::NotMeasurable => m.verdict.label().to_string(),
        v => format!("**{}**", v.label()),
    };
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

pub fn render_markdown(m: &ReportModel) -> String {
    let mut out = String::new();
    let name = if m.plan.name.is_empty() {
        "(unknown plan)"
    } else {
        m.plan.name.as_str()
    };
    out.push_str(&format!("# {} — {}\n\n", m.title, name));

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
        vec!["Operator(s)".into(), m.operators.join(", ")],
        vec!["Host(s)".into(), m.hosts.join(", ")],
        vec!["Started".into(), ts_opt(m.started)],
        vec!["Ended".into(), ts_opt(m.ended)],
        vec![
            "End reason".into(),
            m.end_reason
                .clone()
                .unwrap_or_else(|| "never ended (interrupted, or still running)".into()),
        ],
    ];
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

    out.push_str("## Objectives\n\n");
    table(
        &mut out,
        &["objective", "target", "measured", "result", "how"],
        vec![measure_row("RTO", &m.rto), measure_row("RPO", &m.rpo)],
    );
    if let (Some(from), Some(to)) = (m.rto.from, m.rto.to) {
        out.push_str(&format!(
            "RTO measured from {} to {}.\n\n",
            ts(from),
            ts(to)
        ));
    }

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

    if !m.approvals.is_empty() {
        out.push_str("## Approvals\n\n");
        let rows = m
            .approvals
            .iter()
            .map(|a| {
                vec![
                    format!("`{}`", a.step),
                    a.operator.clone(),
                    a.host.clone(),
                    ts(a.at),
                    format!("`{}`", a.word),
                ]
            })
            .collect();
        table(
            &mut out,
            &["step", "operator", "host", "time", "word typed"],
            rows,
        );
    }
    if !m.overrides.is_empty() {
        out.push_str("## Overrides (break glass)\n\n");
        let rows = m
            .overrides
            .iter()
            .map(|o| {
                vec![
                    format!("`{}`", o.step),
                    o.operator.clone(),
                    ts(o.at),
                    o.unmet.join("; "),
                    o.reason.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["step", "operator", "time", "unmet preconditions", "reason"],
            rows,
        );
    }
    if !m.skips.is_empty() {
        out.push_str("## Skipped steps\n\n");
        let rows = m
            .skips
            .iter()
            .map(|s| {
                vec![
                    format!("`{}`", s.step),
                    s.operator.clone(),
                    ts(s.at),
                    s.reason.clone(),
                ]
            })
            .collect();
        table(&mut out, &["step", "operator", "time", "reason"], rows);
    }
    if !m.manual.is_empty() {
        out.push_str("## Done by hand\n\n");
        let rows = m
            .manual
            .iter()
            .map(|x| {
                vec![
                    format!("`{}`", x.step),
                    x.how.clone(),
                    x.operator.clone(),
                    ts(x.at),
                    x.note.clone(),
                ]
            })
            .collect();
        table(&mut out, &["step", "how", "operator", "time", "note"], rows);
    }
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
    if !m.refusals.is_empty() {
        out.push_str("## Refused actions\n\n");
        let rows = m
            .refusals
            .iter()
            .map(|x| vec![ts(x.at), x.operator.clone(), x.mode.clone(), x.what.clone()])
            .collect();
        table(&mut out, &["time", "operator", "mode", "what"], rows);
    }
    if !m.preflight.is_empty() || !m.reviewed.is_empty() {
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
                let mark = match c.ok {
                    Some(true) => "✓ ok",
                    Some(false) => "✗ FAILED",
                    None => "? not evaluated",
                };
                out.push_str(&format!("- {mark} — {}: {}\n", c.what, c.detail));
            }
            out.push('\n');
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
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{}", text.trim_end()).and_then(|_| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return crate::exit::OK;
        }
        eprintln!("cannot write the report: {e}");
        return crate::exit::FAILURE;
    }
    crate::exit::OK
}
