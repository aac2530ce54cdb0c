//! Journal acknowledgements: an event is on disk, so now the state may show it ([`apply`], also
//! used to replay a journal on resume) and the engine reacts to it (`after_recorded`: log it, run
//! the step whose start was recorded, move the selection on). Also the journal's own health.

use super::safety::holds_lock;
use super::steps::{check_waits, finish};
use super::{Effect, Msg, flash, log};
use crate::app::state::{State, StepPhase};
use crate::journal::{Event, Record};
use crate::plan::StepAction;
use crate::plan::condition::CondResult;
use crate::plan::units::fmt_duration;

/// How many records the timeline view keeps in memory (the journal on disk keeps everything).
pub(super) const MAX_TIMELINE: usize = 10_000;

/// Output lines the timeline keeps (the newest): a 100,000-line step must not fill memory nor push
/// the session's other events out of the timeline. Every line stays in the journal and the report.
pub const OUTPUT_KEPT: usize = 200;

/// Fold one journal record into the state. Used live (after the journal write) and on resume.
pub fn apply(state: &mut State, rec: &Record) {
    if matches!(rec.event, Event::StepOutput { .. }) {
        state.output_records += 1;
        if state.output_records >= 2 * OUTPUT_KEPT {
            // Amortised: one pass per OUTPUT_KEPT lines drops the oldest OUTPUT_KEPT of them.
            let mut drop = state.output_records - OUTPUT_KEPT;
            state.records.retain(|r| {
                let old_output = drop > 0 && matches!(r.event, Event::StepOutput { .. });
                drop -= usize::from(old_output);
                !old_output
            });
            state.output_records = OUTPUT_KEPT;
        }
    }
    if state.records.len() >= MAX_TIMELINE {
        let dropped = state.records.drain(..MAX_TIMELINE / 10);
        let outputs = dropped
            .filter(|r| matches!(r.event, Event::StepOutput { .. }))
            .count();
        state.output_records -= outputs.min(state.output_records);
    }
    state.records.push(rec.clone());
    let idx = rec.event.step().and_then(|id| state.plan.step_index(id));
    match (&rec.event, idx) {
        (Event::SessionStarted { drill, .. }, _) => {
            if rec.at < state.started && state.declared.is_none() {
                state.started = rec.at;
            }
            state.drill |= *drill;
        }
        // The incident clock (and the report's RTO) runs from the declaration.
        (Event::Declared { .. }, _) if state.declared.is_none() => {
            state.declared = Some(rec.at);
            state.started = rec.at;
        }
        (Event::StepStarted { attempt, .. }, Some(i)) => {
            let s = &mut state.steps[i];
            s.phase = StepPhase::Running {
                attempt: *attempt,
                since: rec.at,
            };
            s.attempts = s.attempts.max(*attempt);
            s.finishing = false;
            s.last_output = None;
            state.output.started(i, *attempt);
        }
        (
            Event::StepOutput {
                attempt,
                stream,
                line,
                ..
            },
            Some(i),
        ) => state.output.record(
            i,
            *attempt,
            crate::steps::OutputLine {
                stream: stream.clone(),
                text: line.clone(),
            },
        ),
        (
            Event::StepFinished {
                ok,
                detail,
                attempt,
                ..
            },
            Some(i),
        ) => {
            let s = &mut state.steps[i];
            s.phase = if *ok {
                StepPhase::Succeeded {
                    at: rec.at,
                    detail: detail.clone(),
                }
            } else {
                StepPhase::Failed {
                    at: rec.at,
                    error: detail.clone(),
                    attempt: *attempt,
                }
            };
            s.finishing = false;
            s.override_reason = None;
        }
        (Event::Approved { host, .. }, Some(i)) => {
            let who = format!("{}@{host}", rec.operator);
            let s = &mut state.steps[i];
            s.phase = StepPhase::Succeeded {
                at: rec.at,
                detail: format!("approved by {who}"),
            };
            s.approved_by = Some(who);
        }
        (Event::ManualDone { note, .. } | Event::MarkedDone { note, .. }, Some(i)) => {
            state.steps[i].phase = StepPhase::Succeeded {
                at: rec.at,
                detail: note.clone(),
            };
            state.steps[i].notes.push(note.clone());
        }
        (Event::Override { reason, .. }, Some(i)) => {
            state.steps[i].override_reason = Some(reason.clone())
        }
        (Event::Skipped { reason, .. }, Some(i)) => {
            state.steps[i].phase = StepPhase::Skipped {
                reason: reason.clone(),
            };
            state.steps[i].override_reason = None;
        }
        (Event::Note { text, .. }, Some(i)) => state.steps[i].notes.push(text.clone()),
        (Event::Reviewed { note, .. }, Some(i)) => {
            state.steps[i].review.reviewed = Some((rec.operator.clone(), note.clone()));
        }
        (Event::Preflight { checks, .. }, Some(i)) => {
            state.steps[i].review.preflight = Some(checks.clone())
        }
        (Event::Aborted { reason }, _) => state.aborted = Some(reason.clone()),
        (Event::ProcessEnded { attempt, .. }, Some(i)) => {
            state.steps[i].phase = StepPhase::Unknown { attempt: *attempt };
            state.steps[i].finishing = false;
        }
        _ => {}
    }
}

/// Replay a previous session's records (resume): finished steps stay finished; a step that was
/// running when the cockpit died becomes `Unknown` until the operator checks it.
pub fn replay(state: &mut State, records: &[Record]) {
    for r in records {
        apply(state, r);
    }
    for s in &mut state.steps {
        if let StepPhase::Running { attempt, .. } = s.phase {
            s.phase = StepPhase::Unknown { attempt };
            s.finishing = false;
        }
    }
}

pub(super) fn after_recorded(state: &mut State, rec: &Record, fx: &mut Vec<Effect>) {
    let Some(i) = rec.event.step().and_then(|id| state.plan.step_index(id)) else {
        return after_session_event(state, rec, fx);
    };
    let id = state.plan.steps[i].id.clone();
    match &rec.event {
        Event::StepStarted { attempt, .. } => after_step_started(state, rec, i, *attempt, fx),
        Event::StepFinished { ok, detail, .. } => {
            if *ok {
                fx.push(log(log::Level::Info, &id, format!("✓ succeeded: {detail}")));
                advance_selection(state, i);
            } else {
                fx.push(log(
                    log::Level::Error,
                    &id,
                    format!("✗ failed: {detail} — r retry · s skip · A abort"),
                ));
            }
            if state.all_done() {
                fx.push(log(log::Level::Info, "checklist", "every step is done"));
            }
        }
        Event::Approved { word, .. } => {
            fx.push(log(
                log::Level::Info,
                &id,
                format!(
                    "approved by {} (typed {word})",
                    state.steps[i].approved_by.clone().unwrap_or_default()
                ),
            ));
            advance_selection(state, i);
        }
        Event::ManualDone { note, .. } => {
            fx.push(log(
                log::Level::Info,
                &id,
                format!("✓ done by {}: {note}", rec.operator),
            ));
            advance_selection(state, i);
        }
        Event::MarkedDone { note, .. } => {
            fx.push(log(
                log::Level::Warn,
                &id,
                format!("marked done after checking, by {}: {note}", rec.operator),
            ));
            advance_selection(state, i);
        }
        Event::Override { reason, unmet, .. } => {
            fx.push(log(
                log::Level::Warn,
                &id,
                format!(
                    "preconditions OVERRIDDEN by {}: {reason} (unmet: {})",
                    rec.operator,
                    unmet.join("; ")
                ),
            ));
        }
        Event::Skipped { reason, .. } => {
            fx.push(log(
                log::Level::Warn,
                &id,
                format!("↷ skipped by {}: {reason}", rec.operator),
            ));
            advance_selection(state, i);
        }
        Event::ProcessStarted { pid, .. } => fx.push(log(
            log::Level::Info,
            &id,
            format!("runs as pid {pid} in its own session: a dropped connection does not stop it"),
        )),
        Event::ProcessEnded { detail, .. } => fx.push(log(
            log::Level::Warn,
            &id,
            format!("{detail} — check its effect, then r retry · d mark done · s skip"),
        )),
        Event::Note { text, .. } => fx.push(log(
            log::Level::Info,
            &id,
            format!("note by {}: {text}", rec.operator),
        )),
        Event::Reviewed { note, .. } => fx.push(log(
            log::Level::Info,
            &id,
            format!("reviewed by {}: {note}", rec.operator),
        )),
        _ => {}
    }
}

/// A recorded event that belongs to no step: the declaration, the abort.
pub(super) fn after_session_event(state: &mut State, rec: &Record, fx: &mut Vec<Effect>) {
    if let Event::Declared { note } = &rec.event {
        fx.push(log(
            log::Level::Warn,
            "incident",
            format!(
                "incident declared by {} — the RTO clock runs from now: {note}",
                rec.operator
            ),
        ));
    }
    if let Event::Aborted { reason } = &rec.event {
        fx.push(log(
            log::Level::Error,
            "checklist",
            format!("ABORTED by {}: {reason}", rec.operator),
        ));
        // Aborting stops a running command, grandchildren included. (Other kinds finish and
        // record their real outcome: a request cut mid-flight would leave it unknowable.)
        if let Some(step) = state.running_step()
            && matches!(state.plan.steps[step].action, StepAction::Command(_))
        {
            fx.push(Effect::StopStep {
                step,
                reason: format!("stopped: the checklist was aborted by {}", rec.operator),
            });
        }
    }
}

/// A step's start is on disk: log it, then run it — natively (check, wait), by the operator
/// (approval, manual) or as an effect — unless this cockpit no longer drives the plan.
pub(super) fn after_step_started(
    state: &mut State,
    rec: &Record,
    i: usize,
    attempt: u32,
    fx: &mut Vec<Effect>,
) {
    let id = state.plan.steps[i].id.clone();
    let extra = if attempt > 1 {
        format!(" (attempt {attempt})")
    } else {
        String::new()
    };
    fx.push(log(
        log::Level::Info,
        &id,
        format!("▶ started by {}{extra}", rec.operator),
    ));
    let plan = state.plan.clone();
    match &plan.steps[i].action {
        StepAction::Check { conditions } => {
            let results: Vec<CondResult> = conditions.iter().map(|c| state.evaluate(c)).collect();
            let evidence = results
                .iter()
                .map(|r| r.evidence().to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let ok = results.iter().all(CondResult::passed);
            let r = if ok {
                Ok(format!("holds: {evidence}"))
            } else {
                Err(format!("does not hold: {evidence}"))
            };
            finish(state, i, attempt, r, fx);
        }
        StepAction::Wait { timeout, .. } => {
            fx.push(log(
                log::Level::Info,
                &id,
                format!(
                    "waiting up to {} for the conditions",
                    fmt_duration(*timeout)
                ),
            ));
            check_waits(state, fx);
        }
        StepAction::Approval | StepAction::Manual { .. } => {}
        // The last check before the world changes: a cockpit taken over since the
        // operator confirmed runs nothing, and the record says so.
        _ if !holds_lock(state, fx) || !state.mode.may_mutate() => {
            let why = state
                .mode_note
                .clone()
                .unwrap_or_else(|| "this cockpit no longer drives the plan".into());
            finish(state, i, attempt, Err(format!("not run: {why}")), fx);
        }
        _ => fx.push(Effect::RunStep { step: i, attempt }),
    }
}

pub(super) fn advance_selection(state: &mut State, done: usize) {
    if state.selected == done
        && let Some(n) = state.next_step()
    {
        state.selected = n;
    }
}

/// The journal's health: failed (nothing more runs), blocked (events wait in memory), durable again.
pub(super) fn on_journal_health(state: &mut State, msg: Msg, fx: &mut Vec<Effect>) {
    let now = state.now;
    match msg {
        Msg::JournalFailed(e) => {
            fx.push(log(
                log::Level::Error,
                "journal",
                format!("journal write failed: {e} — no step can run until this is fixed"),
            ));
            state.flash = Some((format!("JOURNAL FAILED: {e}"), now));
            state.journal_error = Some(e);
        }
        Msg::JournalBlocked { waiting, error } => {
            if state.journal_blocked.is_none() {
                fx.push(log(
                    log::Level::Error,
                    "journal",
                    format!("JOURNAL BLOCKED: {error} — {waiting} event(s) kept in memory and retried; nothing new runs until they are written"),
                ));
            }
            state.journal_blocked = Some((waiting, error));
        }
        Msg::JournalDurable => journal_durable(state, fx),
        _ => {}
    }
}

/// Every waiting event is on disk again: say so once.
fn journal_durable(state: &mut State, fx: &mut Vec<Effect>) {
    if state.journal_blocked.take().is_some() {
        fx.push(log(
            log::Level::Info,
            "journal",
            "the journal is writing again: every waiting event is on disk",
        ));
        flash(state, "journal unblocked: every waiting event is on disk");
    }
}
