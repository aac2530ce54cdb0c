//! [`build`]: fold a journal's records, in order, into a [`ReportModel`]. One method per event
//! kind fills the model's rows and says what the timeline shows for it; what the whole session
//! adds up to (step states, what became of each failure, the review record, RTO and RPO) is
//! worked out after the last record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::markdown::summary_text;
use super::measure::{
    Completion, RtoInput, SwitchoverInput, is_planned_switchover, measure_rpo, measure_rto,
    measure_switchover_rpo, not_measured, rpo_without_evidence, rto_start,
};
use super::model::*;
use super::{OUTPUT_LINES_PER_ATTEMPT, one_line, redacted, ts};
use crate::journal::{Event, PreflightCheck, Record, StepInfo};

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

/// (when, step, operator) of the first approval or the first started step.
type FirstEvent = Option<(DateTime<Utc>, String, String)>;

/// Each step's final state and its number of attempts.
type FinalStates = HashMap<String, (String, u32)>;

/// The report being filled, and what the fold carries from one record to the next.
struct Fold {
    m: ReportModel,
    rto_target: Option<u64>,
    rpo_target: Option<u64>,
    step_list: Vec<StepInfo>,
    accs: HashMap<String, StepAcc>,
    seen_order: Vec<String>,
    first_started: FirstEvent,
    first_approval: FirstEvent,
    completions: Vec<Completion>,
    kinds: HashMap<String, String>,
    /// Failed attempts: (index in m.what_failed, step, attempt).
    failed_rows: Vec<(usize, String, u32)>,
    /// The lag a promotion step's precondition check read: (at, step, evidence text).
    precondition_lag: Vec<(DateTime<Utc>, String, String)>,
    rpo_evidence: Option<(DateTime<Utc>, String, serde_json::Value)>,
    /// The last fence's evidence (`fenced_lsn`): (at, step, detail), for a planned switchover.
    fence_evidence: Option<(DateTime<Utc>, String, serde_json::Value)>,
    /// Output lines per (step, attempt): shown, suppressed.
    output: HashMap<(String, u32), (usize, usize)>,
}

/// Fold a journal's records into a report.
pub fn build(records: &[Record]) -> ReportModel {
    let (title, kind) = report_kind(records);
    let review = kind == "review";
    let mut f = Fold::new(title, kind, records.first().map(|r| r.at));
    for rec in records {
        f.record(rec);
    }
    // Output of attempts that never finished.
    if let Some(last) = records.last() {
        f.flush_pending_output(last);
    }
    f.m.people = crate::journal::people::markdown(records);
    let infos = f.step_infos();
    let final_states = f.step_rows(&infos, review);
    f.failed_outcomes(&final_states);
    if review {
        f.review_rows(&infos);
    }
    f.objectives(review, &infos, &final_states, records.last().map(|r| r.at));
    let mut m = f.m;
    m.summary = summary_text(&m);
    m
}

/// The report's title and kind, from the first session (or any drill session).
fn report_kind(records: &[Record]) -> (&'static str, &'static str) {
    let first_start = records.iter().find_map(|r| match &r.event {
        Event::SessionStarted { mode, drill, .. } => Some((mode.as_str(), *drill)),
        _ => None,
    });
    match first_start {
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
                operator: redacted(&rec.operator),
                step: Some(redacted(step)),
                text: format!(
                    "{} │ … {more} more output line(s) of attempt {} not shown",
                    redacted(step),
                    k.1
                ),
            });
        }
    }
}

impl Fold {
    fn new(title: &str, kind: &str, started: Option<DateTime<Utc>>) -> Fold {
        Fold {
            m: ReportModel {
                people: Vec::new(),
                title: title.into(),
                kind: kind.into(),
                plan: PlanInfo::default(),
                operators: Vec::new(),
                hosts: Vec::new(),
                started,
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
            },
            rto_target: None,
            rpo_target: None,
            step_list: Vec::new(),
            accs: HashMap::new(),
            seen_order: Vec::new(),
            first_started: None,
            first_approval: None,
            completions: Vec::new(),
            kinds: HashMap::new(),
            failed_rows: Vec::new(),
            precondition_lag: Vec::new(),
            rpo_evidence: None,
            fence_evidence: None,
            output: HashMap::new(),
        }
    }

    /// One record: its rows, and its timeline line if it has one.
    fn record(&mut self, rec: &Record) {
        let op = redacted(&rec.operator);
        push_unique(&mut self.m.operators, &op);
        if let Some(step) = rec.event.step()
            && !self.seen_order.iter().any(|s| s == step)
        {
            self.seen_order.push(step.to_string());
        }
        if let Some(text) = self.event(rec, &op) {
            self.m.timeline.push(TimelineEntry {
                at: rec.at,
                operator: op,
                step: rec.event.step().map(redacted),
                text,
            });
        }
    }

    /// Fold one event into the model; the timeline's text for it (`None`: not shown).
    fn event(&mut self, rec: &Record, op: &str) -> Option<String> {
        let at = rec.at;
        match &rec.event {
            Event::SessionStarted { .. } => self.session_started(rec, op),
            Event::StepStarted {
                step,
                attempt,
                kind,
            } => self.step_started(at, op, step, *attempt, kind.as_deref()),
            Event::ProcessStarted { step, pid, .. } => Some(format!(
                "{}: runs as pid {pid} in its own session",
                redacted(step)
            )),
            // The step stays "running" here: its outcome is unknown (the process was not the
            // cockpit's child).
            Event::ProcessEnded { step, detail, .. } => {
                Some(format!("{}: {}", redacted(step), one_line(detail)))
            }
            Event::StepOutput {
                step,
                attempt,
                stream,
                line,
            } => self.step_output(step, *attempt, stream, line),
            Event::StepFinished {
                step,
                attempt,
                ok,
                detail,
            } => self.step_finished(rec, op, step, *attempt, *ok, detail),
            Event::Approved { step, host, word } => self.approved(at, op, step, host, word),
            Event::ManualDone { step, note } => self.done_by_hand(at, op, step, note, false),
            Event::MarkedDone { step, note } => self.done_by_hand(at, op, step, note, true),
            Event::Override {
                step,
                reason,
                unmet,
            } => self.overridden(at, op, step, reason, unmet),
            Event::Skipped { step, reason } => self.skipped(at, op, step, reason),
            Event::Note { step, text } => self.note(at, op, step.as_deref(), text),
            Event::Reviewed { step, note } => self.reviewed(at, op, step, note),
            Event::Preflight { step, checks } => self.preflight(at, step, checks),
            Event::Evidence { step, what, detail } => {
                self.evidence(at, step.as_deref(), what, detail)
            }
            Event::Refused { what, mode } => self.refused(at, op, what, mode),
            Event::Aborted { reason } => self.aborted(at, op, reason),
            Event::Declared { note } => self.declared(at, op, note),
            Event::SessionEnded { reason } => self.session_ended(at, reason),
        }
    }

    fn session_started(&mut self, rec: &Record, op: &str) -> Option<String> {
        let Event::SessionStarted {
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
        } = &rec.event
        else {
            return None;
        };
        self.m.plan = PlanInfo {
            name: redacted(plan_name),
            hash: redacted(plan_hash),
            source: redacted(plan_source),
        };
        push_unique(&mut self.m.hosts, &redacted(host));
        self.rto_target = rto_secs.or(self.rto_target);
        self.rpo_target = rpo_secs.or(self.rpo_target);
        for s in steps {
            if !self.step_list.iter().any(|x| x.id == s.id) {
                self.step_list.push(s.clone());
            }
        }
        // A new session: the previous one ended here if it never said so.
        self.m.end_reason = None;
        self.m.ended = None;
        self.m.sessions.push(SessionRow {
            started: rec.at,
            ended: None,
            end_reason: None,
            mode: redacted(mode),
            drill: *drill,
            operator: op.to_string(),
            host: redacted(host),
            pid: *pid,
            version: redacted(version),
            commit: commit.as_deref().map(|c| redacted(c)),
            resumed_from: resumed_from.as_deref().map(redacted),
        });
        Some(format!(
            "session {} — {mode}{} by {op}@{} (pid {pid}, drcockpit {version}), plan {} {:.12}",
            if resumed_from.is_some() {
                "resumed"
            } else {
                "started"
            },
            if *drill { " (drill)" } else { "" },
            redacted(host),
            redacted(plan_name),
            redacted(plan_hash),
        ))
    }

    fn step_started(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        step: &str,
        attempt: u32,
        kind: Option<&str>,
    ) -> Option<String> {
        if self.first_started.is_none() {
            self.first_started = Some((at, redacted(step), op.to_string()));
        }
        if let Some(k) = kind {
            self.kinds
                .entry(step.to_string())
                .or_insert_with(|| k.to_string());
        }
        let a = self.accs.entry(step.to_string()).or_default();
        a.state = Some("running");
        a.attempts = a.attempts.max(attempt);
        a.started.get_or_insert(at);
        a.last_start = Some((at, op.to_string()));
        Some(format!("{}: started (attempt {attempt})", redacted(step)))
    }

    /// The first [`OUTPUT_LINES_PER_ATTEMPT`] lines of an attempt are shown; the rest counted.
    fn step_output(
        &mut self,
        step: &str,
        attempt: u32,
        stream: &str,
        line: &str,
    ) -> Option<String> {
        let c = self.output.entry((step.to_string(), attempt)).or_default();
        if c.0 < OUTPUT_LINES_PER_ATTEMPT {
            c.0 += 1;
            let tag = if stream == "stdout" || stream == "info" {
                String::new()
            } else {
                format!("[{}] ", redacted(stream))
            };
            Some(format!("{} │ {tag}{}", redacted(step), one_line(line)))
        } else {
            c.1 += 1;
            None
        }
    }

    fn step_finished(
        &mut self,
        rec: &Record,
        op: &str,
        step: &str,
        attempt: u32,
        ok: bool,
        detail: &str,
    ) -> Option<String> {
        flush_output(
            &mut self.m.timeline,
            &mut self.output,
            step,
            Some(attempt),
            rec,
        );
        let a = self.accs.entry(step.to_string()).or_default();
        a.state = Some(if ok { "succeeded" } else { "failed" });
        a.attempts = a.attempts.max(attempt);
        a.finished = Some(rec.at);
        a.detail = one_line(detail);
        if ok {
            self.completions.push(Completion {
                at: rec.at,
                step: step.to_string(),
                how: format!("succeeded (attempt {attempt})"),
            });
        } else {
            self.failed_rows
                .push((self.m.what_failed.len(), step.to_string(), attempt));
            self.m.what_failed.push(FailureRow {
                at: rec.at,
                step: Some(redacted(step)),
                operator: op.to_string(),
                what: format!("failed attempt {attempt}"),
                detail: one_line(detail),
                outcome: String::new(),
            });
        }
        Some(if ok {
            format!(
                "{}: succeeded (attempt {attempt}) — {}",
                redacted(step),
                one_line(detail)
            )
        } else {
            format!(
                "{}: FAILED (attempt {attempt}) — {}",
                redacted(step),
                one_line(detail)
            )
        })
    }

    fn approved(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        step: &str,
        host: &str,
        word: &str,
    ) -> Option<String> {
        if self.first_approval.is_none() {
            self.first_approval = Some((at, redacted(step), op.to_string()));
        }
        self.completions.push(Completion {
            at,
            step: step.to_string(),
            how: format!("approved by {op}"),
        });
        push_unique(&mut self.m.hosts, &redacted(host));
        let a = self.accs.entry(step.to_string()).or_default();
        a.state = Some("approved");
        a.finished = Some(at);
        a.detail = format!("approved by {op}@{}", redacted(host));
        self.m.approvals.push(Approval {
            step: redacted(step),
            operator: op.to_string(),
            host: redacted(host),
            at,
            word: redacted(word),
        });
        Some(format!(
            "{}: approved by {op}@{} (typed \"{}\")",
            redacted(step),
            redacted(host),
            redacted(word)
        ))
    }

    /// `ManualDone` (done by hand) or `MarkedDone` (checked after a crash and marked done).
    fn done_by_hand(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        step: &str,
        note: &str,
        marked: bool,
    ) -> Option<String> {
        let how = if marked {
            "marked done"
        } else {
            "done by hand"
        };
        self.completions.push(Completion {
            at,
            step: step.to_string(),
            how: format!("{how} by {op}"),
        });
        let a = self.accs.entry(step.to_string()).or_default();
        a.state = Some(how);
        a.finished = Some(at);
        a.detail = one_line(note);
        self.m.manual.push(ManualRow {
            step: redacted(step),
            operator: op.to_string(),
            at,
            how: how.into(),
            note: one_line(note),
        });
        Some(if marked {
            format!(
                "{}: checked after an interruption and marked done — {}",
                redacted(step),
                one_line(note)
            )
        } else {
            format!("{}: done by hand — {}", redacted(step), one_line(note))
        })
    }

    fn overridden(
        &mut self,
        at: DateTime<Utc>,
        op: &str,
        step: &str,
        reason: &str,
        unmet: &[String],
    ) -> Option<String> {
        let unmet: Vec<String> = unmet.iter().map(|u| one_line(u)).collect();
        let text = format!(
            "{}: OVERRIDE of unmet precondition(s) [{}] — {}",
            redacted(step),
            unmet.join("; "),
            one_line(reason)
        );
        self.m.what_failed.push(FailureRow {
            at,
            step: Some(redacted(step)),
            operator: op.to_string(),
            what: "override".into(),
            detail: format!("unmet: {}", unmet.join("; ")),
            outcome: format!("run anyway — reason: {}", one_line(reason)),
        });
        self.m.overrides.push(OverrideRow {
            step: redacted(step),
            operator: op.to_string(),
            at,
            reason: one_line(reason),
            unmet,
        });
        Some(text)
    }

    fn skipped(&mut self, at: DateTime<Utc>, op: &str, step: &str, reason: &str) -> Option<String> {
        let a = self.accs.entry(step.to_string()).or_default();
        a.state = Some("skipped");
        a.detail = one_line(reason);
        self.m.what_failed.push(FailureRow {
            at,
            step: Some(redacted(step)),
            operator: op.to_string(),
            what: "skipped".into(),
            detail: one_line(reason),
            outcome: "not run".into(),
        });
        self.m.skips.push(Skip {
            step: redacted(step),
            operator: op.to_string(),
            at,
            reason: one_line(reason),
        });
        Some(format!(
            "{}: skipped — {}",
            redacted(step),
            one_line(reason)
        ))
    }

    fn note(&mut self, at: DateTime<Utc>, op: &str, step: Option<&str>, t: &str) -> Option<String> {
        self.m.notes.push(NoteRow {
            step: step.map(redacted),
            operator: op.to_string(),
            at,
            text: one_line(t),
        });
        Some(match step {
            Some(s) => format!("note on {}: {}", redacted(s), one_line(t)),
            None => format!("note: {}", one_line(t)),
        })
    }

    fn reviewed(&mut self, at: DateTime<Utc>, op: &str, step: &str, note: &str) -> Option<String> {
        self.accs.entry(step.to_string()).or_default().reviewed = true;
        self.m.reviewed.push(ReviewedRow {
            step: redacted(step),
            operator: op.to_string(),
            at,
            note: one_line(note),
        });
        Some(format!("{}: reviewed — {}", redacted(step), one_line(note)))
    }

    fn preflight(
        &mut self,
        at: DateTime<Utc>,
        step: &str,
        checks: &[PreflightCheck],
    ) -> Option<String> {
        let ok = checks.iter().filter(|c| c.ok == Some(true)).count();
        let failed = checks.iter().filter(|c| c.ok == Some(false)).count();
        let unknown = checks.len() - ok - failed;
        self.m.preflight.push(PreflightRow {
            step: redacted(step),
            at,
            checks: checks
                .iter()
                .map(|c| PreflightCheck {
                    what: one_line(&c.what),
                    ok: c.ok,
                    detail: one_line(&c.detail),
                })
                .collect(),
        });
        Some(format!(
            "{}: preflight — {ok} ok, {failed} failed, {unknown} not evaluated",
            redacted(step)
        ))
    }

    /// Evidence: kept for the RPO (the last `rpo`/promotion evidence, a promotion step's
    /// precondition lag) and shown compact in the timeline.
    fn evidence(
        &mut self,
        at: DateTime<Utc>,
        step: Option<&str>,
        what: &str,
        detail: &serde_json::Value,
    ) -> Option<String> {
        let lw = what.to_lowercase();
        if detail.get("fenced_lsn").is_some() {
            // A fence's position (on the rpo stream): proof for a planned switchover, not a
            // measurement at promotion.
            self.fence_evidence = Some((at, step.unwrap_or("").to_string(), detail.clone()));
        } else if lw.contains("rpo") || lw.contains("promot") {
            self.rpo_evidence = Some((at, redacted(what), detail.clone()));
        }
        if lw == "preconditions"
            && let Some(s) = step
        {
            for c in detail.as_array().into_iter().flatten() {
                let cond = c.get("condition").and_then(|x| x.as_str()).unwrap_or("");
                let ev = c.get("evidence").and_then(|x| x.as_str()).unwrap_or("");
                if cond.contains("database.lag") && !ev.is_empty() {
                    self.precondition_lag
                        .push((at, s.to_string(), ev.to_string()));
                }
            }
        }
        let mut d = detail.clone();
        crate::journal::writer::redact_value(&mut d);
        let mut compact = d.to_string();
        if compact.chars().count() > 240 {
            compact = compact.chars().take(240).collect::<String>() + "…";
        }
        Some(match step {
            Some(s) => format!("{}: evidence {} {compact}", redacted(s), redacted(what)),
            None => format!("evidence {} {compact}", redacted(what)),
        })
    }

    fn refused(&mut self, at: DateTime<Utc>, op: &str, what: &str, mode: &str) -> Option<String> {
        self.m.refusals.push(Refusal {
            at,
            operator: op.to_string(),
            what: one_line(what),
            mode: redacted(mode),
        });
        Some(format!(
            "refused in {} mode: {}",
            redacted(mode),
            one_line(what)
        ))
    }

    fn aborted(&mut self, at: DateTime<Utc>, op: &str, reason: &str) -> Option<String> {
        self.m.aborted.push(AbortRow {
            at,
            operator: op.to_string(),
            reason: one_line(reason),
        });
        self.m.what_failed.push(FailureRow {
            at,
            step: None,
            operator: op.to_string(),
            what: "aborted".into(),
            detail: one_line(reason),
            outcome: "the session was aborted".into(),
        });
        Some(format!("ABORTED — {}", one_line(reason)))
    }

    fn declared(&mut self, at: DateTime<Utc>, op: &str, note: &str) -> Option<String> {
        self.m.declared.push(Declared {
            at,
            operator: op.to_string(),
            note: one_line(note),
        });
        Some(format!("incident declared — {}", one_line(note)))
    }

    fn session_ended(&mut self, at: DateTime<Utc>, reason: &str) -> Option<String> {
        self.m.ended = Some(at);
        self.m.end_reason = Some(one_line(reason));
        if let Some(s) = self.m.sessions.last_mut() {
            s.ended = Some(at);
            s.end_reason = Some(one_line(reason));
        }
        Some(format!("session ended — {}", one_line(reason)))
    }

    /// "… N more output lines" for attempts whose output was cut and that never finished.
    fn flush_pending_output(&mut self, last: &Record) {
        let mut pending: Vec<(String, u32)> = self
            .output
            .iter()
            .filter(|(_, c)| c.1 > 0)
            .map(|(k, _)| k.clone())
            .collect();
        pending.sort();
        for (step, attempt) in pending {
            flush_output(
                &mut self.m.timeline,
                &mut self.output,
                &step,
                Some(attempt),
                last,
            );
        }
    }

    /// Steps: the plan's list first, then any step only seen in events.
    fn step_infos(&self) -> Vec<StepInfo> {
        let mut infos = self.step_list.clone();
        for id in &self.seen_order {
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
                && let Some(k) = self.kinds.get(&info.id)
            {
                info.kind = k.clone();
            }
        }
        infos
    }

    /// The steps table, and a "what failed" row for each step interrupted mid-attempt.
    fn step_rows(&mut self, infos: &[StepInfo], review: bool) -> FinalStates {
        let last_session_ended = self.m.end_reason.is_some();
        let mut final_states = FinalStates::new();
        for info in infos {
            let a = self.accs.remove(&info.id).unwrap_or_default();
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
                self.m.what_failed.push(FailureRow {
                    at,
                    step: Some(redacted(&info.id)),
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
            self.m.steps.push(StepRow {
                id: redacted(&info.id),
                title: one_line(&info.title),
                kind: redacted(&info.kind),
                state,
                attempts: a.attempts,
                started: a.started,
                finished: a.finished,
                duration_ms,
                detail: a.detail,
            });
        }
        final_states
    }

    /// What became of each failed attempt; then "what failed" in time order.
    fn failed_outcomes(&mut self, final_states: &FinalStates) {
        for (i, step, attempt) in &self.failed_rows {
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
            if let Some(row) = self.m.what_failed.get_mut(*i) {
                row.outcome = outcome;
            }
        }
        self.m.what_failed.sort_by_key(|f| f.at);
    }

    /// The review record: every step, reviewed or not.
    fn review_rows(&mut self, infos: &[StepInfo]) {
        let m = &mut self.m;
        for info in infos {
            let id = redacted(&info.id);
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
            let row = ReviewStepRow {
                id,
                title: one_line(&info.title),
                kind: redacted(&info.kind),
                reviewed: !reviewed_by.is_empty(),
                reviewed_by,
                notes,
                preflight: pf.map(|p| p.checks.clone()).unwrap_or_default(),
                preflight_at: pf.map(|p| p.at),
            };
            m.review.push(row);
        }
    }

    /// RTO and RPO (not measured in a review session: nothing was executed).
    fn objectives(
        &mut self,
        review: bool,
        infos: &[StepInfo],
        final_states: &FinalStates,
        last_at: Option<DateTime<Utc>>,
    ) {
        let start = rto_start(
            self.m.declared.first(),
            self.first_approval.as_ref(),
            self.first_started.as_ref(),
        );
        self.m.rto = if review {
            not_measured(self.rto_target, "review session: nothing was executed")
        } else {
            measure_rto(&RtoInput {
                target: self.rto_target,
                start,
                plan: infos,
                completions: &self.completions,
                states: final_states,
                last_at,
            })
        };
        self.m.rpo = if review {
            not_measured(self.rpo_target, "review session: nothing was executed")
        } else if is_planned_switchover(self.rpo_target, infos) {
            measure_switchover_rpo(&SwitchoverInput {
                target: self.rpo_target,
                plan: infos,
                completions: &self.completions,
                states: final_states,
                fence: self.fence_evidence.as_ref(),
                promotion: self.rpo_evidence.take(),
            })
        } else {
            match self.rpo_evidence.take() {
                Some(ev) => measure_rpo(self.rpo_target, Some(ev)),
                None => rpo_without_evidence(
                    self.rpo_target,
                    infos,
                    &self.completions,
                    &self.precondition_lag,
                ),
            }
        };
        for x in [&mut self.m.rto, &mut self.m.rpo] {
            x.note = redacted(&x.note);
            x.from_event = x.from_event.as_deref().map(redacted);
            x.to_event = x.to_event.as_deref().map(redacted);
            x.missing = x.missing.iter().map(|s| redacted(s)).collect();
        }
    }
}
