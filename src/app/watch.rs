//! Watchers (issue 13): a cockpit that does not drive the plan follows the driver's journal and
//! shows what the driver's screen shows — every step's state, the running step's output,
//! approvals, overrides, skips, notes, the incident clock from the driver's declaration — and
//! who drives. A watcher runs nothing (monitor mode's rules stand); it may add notes to the
//! shared journal and ask to take over (`T` and a typed word).
//!
//! The driver follows its own journal too, so notes from watchers (and the outcome a taken-over
//! cockpit still records for the step it was running) reach its screen. Records come in through
//! [`Msg::Followed`](super::Msg::Followed) from `runtime::follow`; a cockpit's own records never
//! do (the follower skips the seqs its writers appended), so nothing is applied twice.

use std::path::PathBuf;

use super::state::{Dialog, DialogKind, Mode, State};
use super::update::{Effect, apply};
use crate::journal::people::{self, People};
use crate::journal::{Event, Record};

/// What this cockpit knows about the shared journal and who drives it.
#[derive(Debug, Default)]
pub struct Watch {
    /// The journal followed: the driver's (a watcher) or our own (a driver).
    pub journal: Option<PathBuf>,
    pub people: People,
    /// The watcher typed the take-over word: when the loop ends, the runtime starts this
    /// cockpit again as the driver (`live --take-over` on the same journal).
    pub take_over: bool,
    /// The driver's session ended (`session_ended`), with its reason.
    pub ended: Option<String>,
    /// When it ended: the incident clock of a finished journal stops there.
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `drcockpit follow JOURNAL`: a read-only copy — no notes, no take-over, no plan.
    pub follow_only: bool,
}

/// The word a watcher types to take over.
pub const TAKE_OVER_WORD: &str = "TAKEOVER";

/// Is this cockpit a watcher of a driven plan (read-only, following a journal)?
pub fn is_watcher(state: &State) -> bool {
    state.mode == Mode::Monitor && state.watch.journal.is_some()
}

fn log(level: log::Level, target: &str, line: String) -> Effect {
    Effect::Log {
        level,
        target: target.to_string(),
        line,
    }
}

/// The status line of a watcher: who drives, and what the watcher may do.
pub fn watcher_note(state: &State) -> Option<String> {
    let driven = state.watch.people.driven_by()?;
    Some(match &state.watch.ended {
        Some(why) if state.watch.follow_only => {
            format!("{driven} — the session ended ({why}); q quits and prints the summary")
        }
        Some(why) => format!("{driven} — the driver's session ended ({why})"),
        None if state.watch.follow_only => {
            format!("{driven} — following the journal: read-only, nothing runs here")
        }
        None => {
            format!("{driven} — you are watching: nothing runs here; n adds a note, T takes over")
        }
    })
}

/// Records another cockpit wrote to the journal: folded into the state like our own, with a
/// log line each, and nothing else — no effect that runs or records anything.
pub fn on_followed(state: &mut State, records: Vec<Record>, fx: &mut Vec<Effect>) {
    use log::Level::{Error, Info, Warn};
    // A first read of a long journal logs only the newest output lines (all are in the journal).
    let outputs = records
        .iter()
        .filter(|r| matches!(r.event, Event::StepOutput { .. }))
        .count();
    let mut skip_output = outputs.saturating_sub(200);
    for r in &records {
        let before = state.watch.people.current().map(|d| d.who());
        apply(state, r);
        people::fold(&mut state.watch.people, r);
        let who = &r.operator;
        let idx = r.event.step().and_then(|id| state.plan.step_index(id));
        match &r.event {
            Event::SessionStarted { .. } => {
                let now = state.watch.people.current().map(|d| d.who());
                if now != before
                    && let (Some(from), Some(to)) = (before, now)
                {
                    let text = format!(
                        "hand-over: {to} took over from {from} at {} UTC",
                        r.at.format("%H:%M:%S")
                    );
                    fx.push(log(Warn, "safety", text.clone()));
                    state.flash = Some((text, state.now));
                }
                state.watch.ended = None;
                state.watch.ended_at = None;
            }
            Event::SessionEnded { reason } => {
                state.watch.ended = Some(reason.clone());
                state.watch.ended_at = Some(r.at);
                fx.push(log(
                    Info,
                    "journal",
                    format!("{who}'s session ended: {reason}"),
                ));
            }
            Event::StepStarted { step, attempt, .. } => fx.push(log(
                Info,
                step,
                format!("▶ started by {who} (attempt {attempt})"),
            )),
            Event::StepOutput {
                step, stream, line, ..
            } => {
                if let Some(i) = idx {
                    state.steps[i].last_output = Some(line.clone());
                }
                if skip_output > 0 {
                    skip_output -= 1;
                } else {
                    let level = if stream == "stderr" { Warn } else { Info };
                    fx.push(log(level, step, line.clone()));
                }
            }
            Event::StepFinished {
                step,
                ok: true,
                detail,
                ..
            } => fx.push(log(Info, step, format!("✓ succeeded ({who}): {detail}"))),
            Event::StepFinished { step, detail, .. } => {
                fx.push(log(Error, step, format!("✗ failed ({who}): {detail}")))
            }
            Event::Approved { step, host, .. } => {
                fx.push(log(Info, step, format!("approved by {who}@{host}")))
            }
            Event::Override { step, reason, .. } => {
                fx.push(log(Warn, step, format!("override by {who}: {reason}")))
            }
            Event::Skipped { step, reason } => {
                fx.push(log(Warn, step, format!("skipped by {who}: {reason}")))
            }
            Event::ManualDone { step, note } | Event::MarkedDone { step, note } => {
                fx.push(log(Info, step, format!("done by {who}: {note}")))
            }
            Event::Note { step, text } => {
                let target = step.as_deref().unwrap_or("note");
                fx.push(log(Info, target, format!("note from {who}: {text}")));
                state.flash = Some((format!("note from {who}: {text}"), state.now));
            }
            Event::Declared { note } => fx.push(log(
                Warn,
                "incident",
                format!("incident declared by {who}: {note}"),
            )),
            Event::Aborted { reason } => fx.push(log(
                Error,
                "checklist",
                format!("ABORTED by {who}: {reason}"),
            )),
            _ => {}
        }
    }
    if is_watcher(state) {
        state.mode_note = watcher_note(state);
    }
    state.spinner = state.spinner.wrapping_add(1);
}

/// `n` in a watcher: a note for the selected step (journaled under the watcher's name).
pub fn open_note(state: &mut State) -> bool {
    if !is_watcher(state) || state.journal_error.is_some() || state.watch.follow_only {
        return false;
    }
    let i = state.selected.min(state.steps.len().saturating_sub(1));
    let step = (!state.steps.is_empty()).then_some(i);
    state.overlay = Some(crate::app::state::Overlay::Dialog(Dialog::new(
        DialogKind::Note,
        step,
        None,
    )));
    true
}

/// `T` in a watcher: ask to take over (type the word). Elsewhere: said why not.
pub fn ask_take_over(state: &mut State, fx: &mut Vec<Effect>) {
    if !is_watcher(state) || state.watch.follow_only {
        let text = if state.watch.follow_only {
            "follow shows a journal: to drive, open the plan with `drcockpit live --take-over PLAN`"
                .to_string()
        } else if state.mode.may_mutate() {
            "this cockpit already drives the plan".to_string()
        } else {
            "nobody drives this plan: open it with `drcockpit live PLAN` to drive".to_string()
        };
        fx.push(log(log::Level::Warn, "safety", text.clone()));
        state.flash = Some((text, state.now));
        return;
    }
    state.overlay = Some(crate::app::state::Overlay::Dialog(Dialog::new(
        DialogKind::TakeOver,
        None,
        Some(TAKE_OVER_WORD.into()),
    )));
}

/// A watcher's dialog was submitted (the word already checked). `true` when handled here.
pub fn submit(state: &mut State, d: &Dialog, input: &str, fx: &mut Vec<Effect>) -> bool {
    match d.kind {
        DialogKind::TakeOver => {
            state.close_dialog();
            if is_watcher(state) {
                let text = format!(
                    "taking over from {}: this cockpit restarts as the driver",
                    state
                        .watch
                        .people
                        .current()
                        .map(|d| d.who())
                        .unwrap_or_else(|| "the driver".into())
                );
                fx.push(log(log::Level::Warn, "safety", text));
                state.watch.take_over = true;
                state.quit = true;
                fx.push(Effect::Quit);
            }
            true
        }
        DialogKind::Note if is_watcher(state) => {
            state.close_dialog();
            let step = d
                .step
                .and_then(|i| state.plan.steps.get(i))
                .map(|s| s.id.clone());
            fx.push(Effect::Record(Event::Note {
                step,
                text: input.to_string(),
            }));
            true
        }
        _ => false,
    }
}

/// A take-over while the old driver ran a step: that cockpit keeps running it and journals its
/// outcome (the follower brings it here), so the step is running, not unknown — offering a retry
/// now could run the change twice. `records` are the journal as the take-over read it. Returns
/// the ids of the steps concerned.
pub fn still_with_the_old_driver(state: &mut State, records: &[Record]) -> Vec<String> {
    use super::state::StepPhase;
    let mut out = Vec::new();
    for i in 0..state.steps.len() {
        let StepPhase::Unknown { attempt } = state.steps[i].phase else {
            continue;
        };
        let id = state.plan.steps[i].id.clone();
        let last = records.iter().rev().find(|r| {
            r.event.step() == Some(id.as_str()) && !matches!(r.event, Event::Note { .. })
        });
        let since = records.iter().rev().find_map(|r| match &r.event {
            Event::StepStarted {
                step, attempt: a, ..
            } if *step == id && *a == attempt => Some(r.at),
            _ => None,
        });
        let running = matches!(
            last.map(|r| &r.event),
            Some(
                Event::StepStarted { .. }
                    | Event::StepOutput { .. }
                    | Event::ProcessStarted { .. }
                    | Event::Evidence { .. }
                    | Event::Preflight { .. }
            )
        );
        if let (true, Some(since)) = (running, since) {
            state.steps[i].phase = StepPhase::Running { attempt, since };
            out.push(id);
        }
    }
    out
}
