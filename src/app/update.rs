//! `update`: the only place state changes. Messages in, effects out.
//!
//! Everything that the record must hold (a step started or finished, an approval, an override,
//! a skip, a note) is first emitted as `Effect::Record`; the runtime journals it (fsync) and feeds
//! it back as `Msg::Recorded`, and only then does [`apply`] change the step's state. So the screen
//! never shows as done what the journal does not hold, and resuming is replaying the journal.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keys::{Action, Ctx};
use super::observe::{Level, Observation, age};
use super::state::{Dialog, DialogKind, Focus, Mode, State, StepPhase, StepStatus};
use crate::journal::{Event, PreflightCheck, Record};
use crate::plan::StepAction;
use crate::plan::condition::CondResult;
use crate::plan::units::fmt_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct OutputLine {
    /// `stdout`, `stderr` or `info` (what the step itself reports).
    pub stream: String,
    pub text: String,
}

impl OutputLine {
    pub fn info(text: impl Into<String>) -> OutputLine {
        OutputLine {
            stream: "info".into(),
            text: text.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The clock moved (once a second, or faster while a spinner shows).
    Tick,
    Observed(Observation),
    StepOutput {
        step: usize,
        attempt: u32,
        line: OutputLine,
    },
    StepDone {
        step: usize,
        attempt: u32,
        result: Result<String, String>,
    },
    PreflightDone {
        step: usize,
        checks: Vec<PreflightCheck>,
    },
    /// A `command` step's child started (its identity goes into the journal).
    ProcessStarted {
        step: usize,
        attempt: u32,
        pid: u32,
        start_ticks: Option<u64>,
        boot_id: Option<String>,
    },
    /// Resume: the process a crashed cockpit started for this step still runs (same pid and
    /// start time). The step is followed until it ends instead of being offered for retry.
    StillRunning {
        step: usize,
        attempt: u32,
        pid: u32,
        start_ticks: Option<u64>,
        boot_id: Option<String>,
        since: DateTime<Utc>,
    },
    /// A followed process (see `StillRunning`) is gone.
    FollowedEnded {
        step: usize,
        attempt: u32,
        pid: u32,
        detail: String,
    },
    /// An event is in the journal (fsync'd); now the state may show it.
    Recorded(Record),
    JournalFailed(String),
    /// The journal cannot write: `waiting` events are kept in memory and retried.
    JournalBlocked {
        waiting: usize,
        error: String,
    },
    /// Every waiting event is on disk again.
    JournalDurable,
    /// The dispatcher or the transport refused an effect in this mode.
    Refused {
        what: String,
    },
    Resize,
    /// The mouse wheel turned over a pane (`down`: towards the newest / the end).
    Wheel {
        pane: Pane,
        down: bool,
    },
    /// A click on a step's row in the checklist (the runtime maps the position through the same
    /// geometry the checklist is drawn with, `ui::step_at`). A click only selects.
    Click {
        step: usize,
    },
    /// Something the operator should see in the status line (and the log already has).
    Notice {
        text: String,
    },
}

/// What the mouse wheel turned over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Log,
    Detail,
    Checklist,
    /// Anything else (the panels, the header): the wheel does nothing there.
    Other,
}

/// What `y` / `Y` copy to the clipboard (OSC 52, written by the runtime).
#[derive(Debug, Clone, PartialEq)]
pub enum Yank {
    /// Text the engine has (a step's exact call), already redacted.
    Text { what: String, text: String },
    /// The newest log line the log pane shows (with the filter).
    LogLine { filter: String },
    /// The journal's path.
    JournalPath,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogView {
    PageUp,
    PageDown,
    Follow,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Journal this event (fsync), then send `Msg::Recorded`.
    Record(Event),
    /// Run a step's action on a task; results come back as `StepOutput`/`StepDone`.
    RunStep {
        step: usize,
        attempt: u32,
    },
    /// Review mode: run the step's read-only preflight.
    Preflight {
        step: usize,
    },
    /// Watch a process this cockpit did not start until it ends (`Msg::FollowedEnded`).
    Follow {
        step: usize,
        attempt: u32,
        pid: u32,
        start_ticks: Option<u64>,
        boot_id: Option<String>,
    },
    /// Stop a running step: its process group gets SIGTERM, then SIGKILL after a grace.
    StopStep {
        step: usize,
        reason: String,
    },
    /// A line for the log pane (the runtime redacts it).
    Log {
        level: log::Level,
        target: String,
        line: String,
    },
    LogView(LogView),
    /// Review mode: write the review record (every step, reviewed by whom, notes, preflight
    /// results) next to the journal.
    ExportReview,
    /// Copy to the operator's clipboard through the terminal (OSC 52; tmux passthrough).
    Yank(Yank),
    Quit,
}

fn log(level: log::Level, target: &str, line: impl Into<String>) -> Effect {
    Effect::Log {
        level,
        target: target.to_string(),
        line: line.into(),
    }
}

/// Handle one message. `now` is the wall clock at delivery (tests pass fixed times).
pub fn update(state: &mut State, msg: Msg, now: DateTime<Utc>) -> Vec<Effect> {
    state.now = now;
    let mut fx = Vec::new();
    match msg {
        Msg::Key(key) => {
            // Esc then a key, arriving together (a fast typist, a slow link), is read as Alt+key:
            // when nothing is bound to Alt+key, it is the Esc (closing an overlay, cancelling a
            // dialog) and then the key — what was typed.
            let keys = if key.modifiers.contains(KeyModifiers::ALT)
                && matches!(key.code, KeyCode::Char(_))
                && !state
                    .keys
                    .chords
                    .iter()
                    .flatten()
                    .any(|c| c.alt && c.code == key.code)
            {
                let mut plain = key;
                plain.modifiers.remove(KeyModifiers::ALT);
                let mut esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
                esc.kind = key.kind;
                vec![esc, plain]
            } else {
                vec![key]
            };
            for key in keys {
                if key.kind == KeyEventKind::Press
                    || key.kind == KeyEventKind::Repeat && repeat_allowed(state, &key)
                {
                    on_key(state, key, &mut fx);
                }
            }
        }
        Msg::Tick => {
            state.spinner = state.spinner.wrapping_add(1);
            if let Some((_, at)) = &state.flash
                && age(now, *at).as_secs() >= 8
            {
                state.flash = None;
            }
            check_waits(state, &mut fx);
            holds_lock(state, &mut fx);
        }
        Msg::Observed(obs) => on_observed(state, obs, &mut fx),
        Msg::StepOutput {
            step,
            attempt,
            line,
        } => {
            if is_current(state, step, attempt)
                && let Some(what) = line.stream.strip_prefix("evidence:")
            {
                // Structured evidence a step produced (e.g. RPO at promotion): journaled as such.
                let id = state.plan.steps[step].id.clone();
                let detail = serde_json::from_str(&line.text)
                    .unwrap_or_else(|_| serde_json::Value::String(line.text.clone()));
                fx.push(log(
                    log::Level::Info,
                    &id,
                    format!("evidence {what}: {}", line.text),
                ));
                fx.push(Effect::Record(Event::Evidence {
                    step: Some(id),
                    what: what.to_string(),
                    detail,
                }));
            } else if is_current(state, step, attempt) {
                let id = state.plan.steps[step].id.clone();
                let level = if line.stream == "stderr" {
                    log::Level::Warn
                } else {
                    log::Level::Info
                };
                fx.push(log(level, &id, line.text.clone()));
                state.steps[step].last_output = Some(line.text.clone());
                fx.push(Effect::Record(Event::StepOutput {
                    step: id,
                    attempt,
                    stream: line.stream,
                    line: line.text,
                }));
            }
        }
        Msg::StepDone {
            step,
            attempt,
            result,
        } => {
            if is_current(state, step, attempt) && !state.steps[step].finishing {
                finish(state, step, attempt, result, &mut fx);
            }
        }
        Msg::ProcessStarted {
            step,
            attempt,
            pid,
            start_ticks,
            boot_id,
        } => {
            if is_current(state, step, attempt) {
                fx.push(Effect::Record(Event::ProcessStarted {
                    step: state.plan.steps[step].id.clone(),
                    attempt,
                    pid,
                    start_ticks,
                    boot_id,
                    host: state.operator.host.clone(),
                }));
            }
        }
        Msg::StillRunning {
            step,
            attempt,
            pid,
            start_ticks,
            boot_id,
            since,
        } => still_running(
            state,
            step,
            attempt,
            pid,
            (start_ticks, boot_id),
            since,
            &mut fx,
        ),
        Msg::FollowedEnded {
            step,
            attempt,
            pid,
            detail,
        } => {
            if is_current(state, step, attempt) && !state.steps[step].finishing {
                state.steps[step].finishing = true;
                fx.push(Effect::Record(Event::ProcessEnded {
                    step: state.plan.steps[step].id.clone(),
                    attempt,
                    pid,
                    detail,
                }));
            }
        }
        Msg::PreflightDone { step, checks } => {
            let id = state.plan.steps[step].id.clone();
            state.steps[step].review.preflight_running = false;
            for c in &checks {
                let (lvl, mark) = match c.ok {
                    Some(true) => (log::Level::Info, "✓"),
                    Some(false) => (log::Level::Warn, "✗"),
                    None => (log::Level::Warn, "?"),
                };
                fx.push(log(
                    lvl,
                    &id,
                    format!("preflight {mark} {}: {}", c.what, c.detail),
                ));
            }
            fx.push(Effect::Record(Event::Preflight { step: id, checks }));
        }
        Msg::Recorded(rec) => {
            apply(state, &rec);
            after_recorded(state, &rec, &mut fx);
        }
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
        Msg::JournalDurable => {
            if state.journal_blocked.take().is_some() {
                fx.push(log(
                    log::Level::Info,
                    "journal",
                    "the journal is writing again: every waiting event is on disk",
                ));
                flash(state, "journal unblocked: every waiting event is on disk");
            }
        }
        Msg::Refused { what } => {
            fx.push(log(
                log::Level::Warn,
                "safety",
                format!("refused in {} mode: {what}", state.mode.as_str()),
            ));
            state.flash = Some((
                format!("refused ({} mode): {what}", state.mode.as_str()),
                now,
            ));
        }
        Msg::Resize => {}
        Msg::Wheel { pane, down } => on_wheel(state, pane, down, &mut fx),
        Msg::Click { step } => {
            if state.dialog.is_none()
                && state.timeline.is_none()
                && !state.help
                && step < state.steps.len()
            {
                if state.selected != step {
                    state.detail_scroll = 0;
                }
                state.selected = step;
                state.focus = Focus::Checklist;
            }
        }
        Msg::Notice { text } => state.flash = Some((text, now)),
    }
    fx
}

/// Resume found the step's process alive: show it running and follow it (nothing runs it again).
fn still_running(
    state: &mut State,
    step: usize,
    attempt: u32,
    pid: u32,
    (start_ticks, boot_id): (Option<u64>, Option<String>),
    since: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) {
    if step >= state.steps.len()
        || !matches!(state.steps[step].phase, StepPhase::Unknown { attempt: a } if a == attempt)
    {
        return;
    }
    let id = state.plan.steps[step].id.clone();
    let text = format!(
        "still running (pid {pid}, started {} UTC) — followed until it ends; its output is not available to this session",
        since.format("%Y-%m-%d %H:%M:%S")
    );
    let s = &mut state.steps[step];
    s.phase = StepPhase::Running { attempt, since };
    s.finishing = false;
    s.last_output = Some(text.clone());
    fx.push(log(log::Level::Warn, &id, text.clone()));
    flash(state, format!("step {id}: {text}"));
    fx.push(Effect::Record(Event::Note {
        step: Some(id),
        text,
    }));
    fx.push(Effect::Follow {
        step,
        attempt,
        pid,
        start_ticks,
        boot_id,
    });
}

/// May an auto-repeated key act? Only keys that move, scroll or edit text: a held key never
/// opens, confirms or runs anything (the engine refuses a second run anyway; this is the first
/// fence). In a y/n confirmation no repeated key counts.
fn repeat_allowed(state: &State, key: &KeyEvent) -> bool {
    let moves = matches!(
        key.code,
        KeyCode::Up
            | KeyCode::Down
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Left
            | KeyCode::Right
    );
    match &state.dialog {
        Some(d) if yes_no(d) => false,
        Some(_) => moves || matches!(key.code, KeyCode::Char(_) | KeyCode::Backspace),
        None => {
            let ctx = match state.focus {
                Focus::Checklist => Ctx::Checklist,
                Focus::Log => Ctx::Log,
            };
            moves
                || matches!(
                    state.keys.action(ctx, key),
                    Some(
                        Action::Up
                            | Action::Down
                            | Action::PageUp
                            | Action::PageDown
                            | Action::HalfPageUp
                            | Action::HalfPageDown
                    )
                )
        }
    }
}

/// A confirmation answered with `y` / `n` (no typed word).
fn yes_no(d: &Dialog) -> bool {
    d.kind == DialogKind::ConfirmRun && d.word.is_none() || d.kind == DialogKind::Quit
}

fn is_current(state: &State, step: usize, attempt: u32) -> bool {
    step < state.steps.len()
        && matches!(state.steps[step].phase, StepPhase::Running { attempt: a, .. } if a == attempt)
}

fn finish(
    state: &mut State,
    step: usize,
    attempt: u32,
    result: Result<String, String>,
    fx: &mut Vec<Effect>,
) {
    state.steps[step].finishing = true;
    let id = state.plan.steps[step].id.clone();
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(e) => (false, e),
    };
    fx.push(Effect::Record(Event::StepFinished {
        step: id,
        attempt,
        ok,
        detail,
    }));
}

fn on_observed(state: &mut State, obs: Observation, fx: &mut Vec<Effect>) {
    let sec = &mut state.sections[obs.site.index()][obs.section.index()];
    let target = format!("{}.{}", obs.site.as_str(), obs.section.as_str());
    let prev_err = sec.last_error.as_ref().map(|(e, _)| e.short.clone());
    let prev_level = sec.last_good.as_ref().map(|(r, _)| r.level);
    match &obs.outcome {
        Err(e) if prev_err.as_deref() != Some(e.short.as_str()) => {
            fx.push(log(
                log::Level::Warn,
                &target,
                format!("probe error: {}", e.full),
            ));
        }
        Ok(r) if prev_err.is_some() => {
            fx.push(log(
                log::Level::Info,
                &target,
                format!("recovered: {}", r.summary),
            ));
        }
        Ok(r) if prev_level.is_some_and(|l| l != r.level) && r.level != Level::Good => {
            fx.push(log(log::Level::Warn, &target, r.summary.clone()));
        }
        _ => {}
    }
    sec.observe(&obs);
    check_waits(state, fx);
}

/// Running `wait` steps finish when every condition holds, or fail at their timeout.
fn check_waits(state: &mut State, fx: &mut Vec<Effect>) {
    for i in 0..state.steps.len() {
        let StepPhase::Running { attempt, since } = state.steps[i].phase else {
            continue;
        };
        if state.steps[i].finishing {
            continue;
        }
        let StepAction::Wait {
            conditions,
            timeout,
        } = &state.plan.steps[i].action
        else {
            continue;
        };
        let results: Vec<CondResult> = conditions.iter().map(|c| state.evaluate(c)).collect();
        let evidence = results
            .iter()
            .map(|r| r.evidence().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        if results.iter().all(CondResult::passed) {
            finish(
                state,
                i,
                attempt,
                Ok(format!("conditions hold: {evidence}")),
                fx,
            );
        } else if age(state.now, since) >= *timeout {
            finish(
                state,
                i,
                attempt,
                Err(format!(
                    "timed out after {}: {evidence}",
                    fmt_duration(*timeout)
                )),
                fx,
            );
        }
    }
}

/// How many records the timeline view keeps in memory (the journal on disk keeps everything).
const MAX_TIMELINE: usize = 10_000;

/// Fold one journal record into the state. Used live (after the journal write) and on resume.
/// Output lines the timeline keeps (the newest): a 100,000-line step must not fill memory nor push
/// the session's other events out of the timeline. Every line stays in the journal and the report.
pub const OUTPUT_KEPT: usize = 200;

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
        }
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

fn after_recorded(state: &mut State, rec: &Record, fx: &mut Vec<Effect>) {
    let Some(i) = rec.event.step().and_then(|id| state.plan.step_index(id)) else {
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
        return;
    };
    let id = state.plan.steps[i].id.clone();
    match &rec.event {
        Event::StepStarted { attempt, .. } => {
            let extra = if *attempt > 1 {
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
                    let results: Vec<CondResult> =
                        conditions.iter().map(|c| state.evaluate(c)).collect();
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
                    finish(state, i, *attempt, r, fx);
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
                    finish(state, i, *attempt, Err(format!("not run: {why}")), fx);
                }
                _ => fx.push(Effect::RunStep {
                    step: i,
                    attempt: *attempt,
                }),
            }
        }
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

fn advance_selection(state: &mut State, done: usize) {
    if state.selected == done
        && let Some(n) = state.next_step()
    {
        state.selected = n;
    }
}

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if state.dialog.is_some() {
        on_dialog_key(state, key, fx);
        return;
    }
    let map = state.keys.clone();
    if let Some(off) = state.timeline {
        let n = state.records.len();
        let last = n.saturating_sub(1);
        state.timeline = match (key.code, map.action(Ctx::Checklist, &key)) {
            (KeyCode::Esc, _) | (_, Some(Action::Timeline | Action::Quit)) => None,
            (_, Some(Action::Up)) => Some((off + 1).min(last)),
            (_, Some(Action::Down)) => Some(off.saturating_sub(1)),
            (_, Some(Action::PageUp | Action::HalfPageUp)) => Some((off + 10).min(last)),
            (_, Some(Action::PageDown | Action::HalfPageDown)) => Some(off.saturating_sub(10)),
            (_, Some(Action::Top)) => Some(last),
            (_, Some(Action::Bottom)) => Some(0),
            _ => Some(off),
        };
        return;
    }
    if state.help {
        if matches!(key.code, KeyCode::Esc | KeyCode::Enter)
            || matches!(
                map.action(Ctx::Global, &key),
                Some(Action::Help | Action::Quit)
            )
        {
            state.help = false;
        }
        return;
    }
    let ctx = match state.focus {
        Focus::Checklist => Ctx::Checklist,
        Focus::Log => Ctx::Log,
    };
    let Some(action) = map.action(ctx, &key) else {
        return;
    };
    match action {
        Action::Quit => request_quit(state, fx),
        Action::Help => state.help = true,
        Action::ToggleFocus => {
            state.focus = if state.focus == Focus::Checklist {
                Focus::Log
            } else {
                Focus::Checklist
            };
        }
        Action::Filter => {
            let mut d = Dialog::new(DialogKind::Filter, None, None);
            d.input = state.log_filter.clone();
            state.dialog = Some(d);
        }
        Action::Expand => {
            state.expanded = !state.expanded;
            state.panel_scroll = 0;
        }
        // While the panels are expanded the page keys scroll them (the renderer clamps at the
        // end); collapsed, they scroll the step detail again.
        Action::PageUp | Action::HalfPageUp | Action::PageDown | Action::HalfPageDown
            if state.expanded && state.focus == Focus::Checklist =>
        {
            let by = if matches!(action, Action::PageUp | Action::PageDown) {
                10
            } else {
                HALF_PAGE
            };
            let cap = state.panel_scroll_max();
            state.panel_scroll = if matches!(action, Action::PageUp | Action::HalfPageUp) {
                state.panel_scroll.saturating_sub(by)
            } else {
                state.panel_scroll.saturating_add(by).min(cap)
            };
        }
        Action::Timeline => state.timeline = Some(0),
        Action::Export if state.mode == Mode::Review => {
            flash(state, "exporting the review record…");
            fx.push(Effect::ExportReview);
        }
        Action::YankJournal => {
            fx.push(Effect::Yank(Yank::JournalPath));
        }
        _ if state.focus == Focus::Log => on_log_key(state, action, fx),
        _ => on_checklist_key(state, action, fx),
    }
}

fn on_log_key(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::PageUp | Action::HalfPageUp => {
            state.log_follow = false;
            fx.push(Effect::LogView(LogView::PageUp));
        }
        Action::PageDown | Action::HalfPageDown => fx.push(Effect::LogView(LogView::PageDown)),
        Action::Follow => {
            state.log_follow = true;
            fx.push(Effect::LogView(LogView::Follow));
        }
        Action::ClearFilter => {
            state.log_filter.clear();
            state.log_follow = true;
            fx.push(Effect::LogView(LogView::Follow));
        }
        Action::Yank => fx.push(Effect::Yank(Yank::LogLine {
            filter: state.log_filter.clone(),
        })),
        _ => {}
    }
}

/// The mouse wheel: the timeline when it is open, else the pane under the pointer. It only
/// scrolls — like a held key, it never opens, confirms or runs anything.
fn on_wheel(state: &mut State, pane: Pane, down: bool, fx: &mut Vec<Effect>) {
    if state.dialog.is_some() || state.help {
        return;
    }
    if let Some(off) = state.timeline {
        let last = state.records.len().saturating_sub(1);
        state.timeline = Some(if down {
            off.saturating_sub(3)
        } else {
            (off + 3).min(last)
        });
        return;
    }
    match (pane, down) {
        (Pane::Log, false) => {
            state.log_follow = false;
            fx.push(Effect::LogView(LogView::PageUp));
        }
        (Pane::Log, true) => fx.push(Effect::LogView(LogView::PageDown)),
        (Pane::Detail, true) => state.detail_scroll = state.detail_scroll.saturating_add(3),
        (Pane::Detail, false) => state.detail_scroll = state.detail_scroll.saturating_sub(3),
        (Pane::Checklist, _) => {
            let n = state.steps.len();
            let before = state.selected;
            state.selected = if down {
                (state.selected + 1).min(n.saturating_sub(1))
            } else {
                state.selected.saturating_sub(1)
            };
            if state.selected != before {
                state.detail_scroll = 0;
            }
        }
        (Pane::Other, _) => {}
    }
}

fn request_quit(state: &mut State, fx: &mut Vec<Effect>) {
    if state.mode.may_mutate() && state.running_step().is_some() {
        state.dialog = Some(Dialog::new(DialogKind::Quit, state.running_step(), None));
    } else {
        state.quit = true;
        fx.push(Effect::Quit);
    }
}

/// Half of the step detail's page, in lines (the detail is at least 8 rows high at the
/// smallest supported size; PgUp/PgDn move 5).
const HALF_PAGE: u16 = 5;

fn on_checklist_key(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    let n = state.steps.len();
    let before = state.selected;
    match action {
        Action::PageDown => state.detail_scroll = state.detail_scroll.saturating_add(5),
        Action::PageUp => state.detail_scroll = state.detail_scroll.saturating_sub(5),
        Action::HalfPageDown => state.detail_scroll = state.detail_scroll.saturating_add(HALF_PAGE),
        Action::HalfPageUp => state.detail_scroll = state.detail_scroll.saturating_sub(HALF_PAGE),
        _ => on_checklist_action(state, action, n, fx),
    }
    if state.selected != before {
        state.detail_scroll = 0;
    }
}

fn on_checklist_action(state: &mut State, action: Action, n: usize, fx: &mut Vec<Effect>) {
    match action {
        Action::Up => state.selected = state.selected.saturating_sub(1),
        Action::Down => state.selected = (state.selected + 1).min(n.saturating_sub(1)),
        Action::Top => state.selected = 0,
        Action::Bottom => state.selected = n.saturating_sub(1),
        Action::Run => activate(state, state.selected, fx),
        Action::Skip => act(state, Act::Skip, fx),
        Action::Retry => act(state, Act::Retry, fx),
        Action::Override => act(state, Act::Override, fx),
        Action::MarkDone => act(state, Act::MarkDone, fx),
        Action::Note => act(state, Act::Note, fx),
        Action::MarkReviewed => act(state, Act::Reviewed, fx),
        Action::Abort => act(state, Act::Abort, fx),
        Action::Declare => declare(state, fx),
        Action::Yank => yank_step(state, fx),
        _ => {}
    }
}

/// `y` with no dialog open: the selected step's exact call, as review mode describes it, redacted.
/// (Inside a y/n confirmation `y` confirms — that path never reaches here.)
fn yank_step(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(spec) = state.plan.steps.get(state.selected) else {
        return;
    };
    let text = crate::steps::describe(&spec.action).join("\n");
    fx.push(Effect::Yank(Yank::Text {
        what: format!("step {}'s exact call", spec.id),
        text: crate::redact::redact_string(text),
    }));
}

#[derive(Clone, Copy)]
enum Act {
    Skip,
    Retry,
    Override,
    MarkDone,
    Note,
    Reviewed,
    Abort,
}

fn flash(state: &mut State, text: impl Into<String>) {
    state.flash = Some((text.into(), state.now));
}

/// Refuse an action: the reason goes to the status line and the log.
fn refuse(state: &mut State, fx: &mut Vec<Effect>, text: String) {
    fx.push(log(log::Level::Warn, "checklist", text.clone()));
    flash(state, text);
}

/// The dispatcher's mode check for anything that would change the world or the record.
fn mode_allows_change(state: &mut State, what: &str, fx: &mut Vec<Effect>) -> bool {
    if state.mode == Mode::Monitor {
        let text = format!("monitor mode is read-only: cannot {what}");
        fx.push(log(log::Level::Warn, "safety", text.clone()));
        flash(state, text);
        return false;
    }
    if !holds_lock(state, fx) {
        let text = format!("read-only watcher: cannot {what}");
        refuse(state, fx, text);
        return false;
    }
    if let Some(e) = &state.journal_error {
        let text = format!("cannot {what}: the journal is failing ({e})");
        refuse(state, fx, text);
        return false;
    }
    if let Some((n, e)) = &state.journal_blocked {
        let text = format!(
            "cannot {what}: JOURNAL BLOCKED, {n} event(s) waiting ({e}); retrying — free space and it resumes"
        );
        refuse(state, fx, text);
        return false;
    }
    true
}

/// Does this cockpit still drive the plan? A live cockpit whose lock was taken over (or whose
/// lock file vanished) becomes a read-only watcher here, says why on screen and in the log, and
/// journals it (the append is serialised with the new driver's, so `seq` stays unique).
fn holds_lock(state: &mut State, fx: &mut Vec<Effect>) -> bool {
    let Some(lock) = &state.lock else {
        return true;
    };
    let Err(why) = lock.check() else {
        return true;
    };
    state.lock = None;
    state.mode = Mode::Monitor;
    state.dialog = None;
    let text = format!("{why} — this cockpit is now a read-only watcher; nothing more runs here");
    fx.push(log(log::Level::Error, "safety", text.clone()));
    fx.push(Effect::Record(Event::Note {
        step: None,
        text: text.clone(),
    }));
    state.mode_note = Some(text.clone());
    flash(state, text);
    false
}

/// `D`: declare the incident (once per session): a typed note, journaled; the incident clock and
/// the report's RTO run from it.
fn declare(state: &mut State, fx: &mut Vec<Effect>) {
    if !matches!(state.mode, Mode::Live | Mode::Demo) {
        refuse(
            state,
            fx,
            "an incident is declared in live (or demo) mode only".into(),
        );
        return;
    }
    if let Some(at) = state.declared {
        let text = format!(
            "the incident was already declared at {} UTC",
            at.format("%H:%M:%S")
        );
        refuse(state, fx, text);
        return;
    }
    if mode_allows_change(state, "declare the incident", fx) {
        state.dialog = Some(Dialog::new(DialogKind::Declare, None, None));
    }
}

fn act(state: &mut State, act: Act, fx: &mut Vec<Effect>) {
    let i = state.selected;
    if i >= state.steps.len() {
        return;
    }
    let id = state.plan.steps[i].id.clone();
    let review = state.mode == Mode::Review;
    match act {
        Act::Note => {
            if mode_allows_change(state, "add a note", fx) {
                state.dialog = Some(Dialog::new(DialogKind::Note, Some(i), None));
            }
        }
        Act::Reviewed => {
            if !review {
                refuse(
                    state,
                    fx,
                    "m marks a step reviewed in review mode only".into(),
                );
            } else if mode_allows_change(state, "mark reviewed", fx) {
                state.dialog = Some(Dialog::new(DialogKind::Reviewed, Some(i), None));
            }
        }
        _ if review => refuse(
            state,
            fx,
            "review mode: nothing runs or changes — ⏎ shows the calls, m marks reviewed".into(),
        ),
        _ if !mode_allows_change(state, "change the checklist", fx) => {}
        Act::Abort => {
            if state.aborted.is_none() {
                state.dialog = Some(Dialog::new(DialogKind::Abort, None, Some("ABORT".into())));
            }
        }
        _ if state.aborted.is_some() => refuse(
            state,
            fx,
            "the checklist was aborted; nothing more runs in this session".into(),
        ),
        Act::Skip => match state.status(i) {
            StepStatus::Succeeded | StepStatus::Skipped => {
                refuse(state, fx, format!("step {id} is already finished"))
            }
            StepStatus::Running => refuse(
                state,
                fx,
                format!("step {id} is running; wait for it to finish"),
            ),
            _ => state.dialog = Some(Dialog::new(DialogKind::SkipReason, Some(i), None)),
        },
        Act::Retry => match state.steps[i].phase {
            StepPhase::Failed { .. } | StepPhase::Unknown { .. } => request_run(state, i, fx),
            _ => refuse(
                state,
                fx,
                format!(
                    "r retries a failed or unknown step; step {id} is {}",
                    state.status(i).word()
                ),
            ),
        },
        Act::MarkDone => match state.steps[i].phase {
            StepPhase::Unknown { .. } => {
                state.dialog = Some(Dialog::new(DialogKind::MarkDone, Some(i), None))
            }
            _ => refuse(
                state,
                fx,
                "d marks done only a step left unknown by a crash (check the world first)".into(),
            ),
        },
        Act::Override => {
            let unmet = state.unmet(i);
            if unmet.is_empty() || state.steps[i].override_reason.is_some() {
                refuse(
                    state,
                    fx,
                    format!("step {id} has no unmet preconditions to override"),
                );
            } else if !matches!(
                state.steps[i].phase,
                StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. }
            ) {
                refuse(
                    state,
                    fx,
                    format!("step {id} is {}", state.status(i).word()),
                );
            } else {
                state.dialog = Some(Dialog::new(DialogKind::Override { unmet }, Some(i), None));
            }
        }
    }
}

/// Enter on a step.
fn activate(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    if i >= state.steps.len() {
        return;
    }
    match state.mode {
        Mode::Review => {
            state.showing_calls = Some(i);
            if crate::steps::has_preflight(&state.plan.steps[i].action) {
                state.steps[i].review.preflight_running = true;
                fx.push(Effect::Preflight { step: i });
            }
            let id = state.plan.steps[i].id.clone();
            for line in crate::steps::describe(&state.plan.steps[i].action) {
                fx.push(log(log::Level::Info, &id, format!("would: {line}")));
            }
        }
        Mode::Monitor => {
            let id = state.plan.steps[i].id.clone();
            let text = format!("monitor mode is read-only: step {id} cannot run");
            fx.push(log(log::Level::Warn, "safety", text.clone()));
            flash(state, text);
        }
        Mode::Live | Mode::Demo => match state.steps[i].phase {
            StepPhase::Succeeded { .. } | StepPhase::Skipped { .. } => {
                let id = state.plan.steps[i].id.clone();
                flash(state, format!("step {id} is already finished"));
            }
            StepPhase::Running { .. } => flash(state, "the step is running; its output streams into the log"),
            StepPhase::Unknown { .. } => refuse(
                state,
                fx,
                "this step was running when the cockpit stopped: check the world, then r retry · d mark done · s skip".into(),
            ),
            // ⏎ never re-runs a step that already ran: a retry is the explicit `r`, with its own
            // confirmation (a held or doubled ⏎ must not send the same change twice).
            StepPhase::Failed { .. } => {
                let id = state.plan.steps[i].id.clone();
                refuse(
                    state,
                    fx,
                    format!("step {id} failed: r retries it (asks again) · s skip · A abort"),
                );
            }
            StepPhase::Pending => request_run(state, i, fx),
        },
    }
}

/// Gatekeeping before a step may start: mode, journal, abort, ordering, one at a time,
/// preconditions. Then the step's own confirmation.
fn request_run(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    let id = state.plan.steps[i].id.clone();
    if !mode_allows_change(state, &format!("run step {id}"), fx) {
        return;
    }
    if let Some(why) = state.why_not_run(i) {
        refuse(state, fx, why);
        return;
    }
    let step = &state.plan.steps[i];
    match &step.action {
        StepAction::Approval => {
            let word = step.confirm.clone().unwrap_or_else(|| "APPROVE".into());
            state.dialog = Some(Dialog::new(DialogKind::Approve, Some(i), Some(word)));
        }
        StepAction::Manual { .. } => {
            state.dialog = Some(Dialog::new(DialogKind::ManualDone, Some(i), None))
        }
        _ if state.is_mutating(i) || step.confirm.is_some() => {
            state.dialog = Some(Dialog::new(
                DialogKind::ConfirmRun,
                Some(i),
                step.confirm.clone(),
            ));
        }
        _ => start(state, i, fx),
    }
}

fn start(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    let what = format!("run step {}", state.plan.steps[i].id);
    if !mode_allows_change(state, &what, fx) {
        return;
    }
    let step = &state.plan.steps[i];
    let id = step.id.clone();
    let kind = step.action.kind_name().to_string();
    if !step.requires.is_empty() {
        let detail: Vec<serde_json::Value> = step
            .requires
            .iter()
            .map(|c| {
                let r = state.evaluate(c);
                serde_json::json!({ "condition": c.text, "passed": r.passed(), "evidence": r.evidence() })
            })
            .collect();
        fx.push(Effect::Record(Event::Evidence {
            step: Some(id.clone()),
            what: "preconditions".into(),
            detail: detail.into(),
        }));
    }
    if kind == "scaleway.promote_replica" {
        // What the panels knew of the DR database's lag at the moment of promotion: the RPO
        // evidence for a managed promotion. (A postgres.promote step records its own, read at
        // promotion — and none when the server was already primary and nothing was done.)
        let standby = step.site.unwrap_or(crate::plan::SiteId::Dr);
        fx.push(Effect::Record(Event::Evidence {
            step: Some(id.clone()),
            what: "rpo at promotion (panels)".into(),
            detail: panel_rpo_evidence(state, standby),
        }));
    }
    state.steps[i].finishing = true; // until StepStarted is recorded, nothing else may start it
    let attempt = state.steps[i].attempts + 1;
    fx.push(Effect::Record(Event::StepStarted {
        step: id,
        attempt,
        kind: Some(kind),
    }));
}

fn panel_rpo_evidence(state: &State, standby: crate::plan::SiteId) -> serde_json::Value {
    use crate::plan::condition::Lookup;
    let mut detail = serde_json::Map::new();
    let (sb, primary) = (standby.as_str(), standby.other());
    detail.insert(
        "source".into(),
        format!("{} database section of the panels", standby.upper()).into(),
    );
    // The lag is only a measurement while the primary answers: against a position last seen
    // before it died, "0 bytes behind" says nothing about what it wrote since.
    let primary_view = state.view(primary, super::observe::Section::Database);
    if !matches!(primary_view, super::observe::SectionView::Fresh { .. }) {
        let why = match primary_view {
            super::observe::SectionView::NotConfigured => "not watched by the plan".to_string(),
            super::observe::SectionView::Waiting => "never read".to_string(),
            super::observe::SectionView::Stale { age, .. } => {
                format!("stale (last read {} ago)", fmt_duration(age))
            }
            super::observe::SectionView::Error {
                error,
                last_good_age,
                ..
            } => {
                if let Some(a) = last_good_age {
                    detail.insert(
                        "primary_last_seen_age_secs".into(),
                        serde_json::json!(a.as_secs_f64()),
                    );
                }
                format!("unreachable: {}", error.short)
            }
            super::observe::SectionView::Fresh { .. } => String::new(),
        };
        detail.insert("rpo".into(), "unknown".into());
        detail.insert("primary_reachable".into(), false.into());
        detail.insert(
            "primary".into(),
            format!("{} database {why}", primary.upper()).into(),
        );
        detail.insert(
            "needed".into(),
            format!(
                "the {} primary's final WAL position (from its provider or its data directory), compared with the replica's replayed position",
                primary.upper()
            )
            .into(),
        );
    }
    for (field, key) in [("lag", "lag_bytes"), ("replay_age", "replay_age_secs")] {
        match state.lookup(&format!("{sb}.database.{field}")) {
            Lookup::Value { value, age, stale } => {
                let v = match value {
                    crate::plan::Value::Bytes(b) => serde_json::json!(b),
                    crate::plan::Value::Duration(d) => serde_json::json!(d.as_secs_f64()),
                    other => serde_json::json!(other.to_string()),
                };
                detail.insert(key.into(), v);
                detail.insert(
                    format!("{key}_observed_secs_ago"),
                    serde_json::json!(age.as_secs_f64()),
                );
                if stale {
                    detail.insert(format!("{key}_stale"), true.into());
                }
            }
            Lookup::Missing(why) | Lookup::Error(why) => {
                detail.insert(format!("{key}_unknown"), why.into());
            }
        }
    }
    serde_json::Value::Object(detail)
}

fn on_dialog_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(d) = state.dialog.as_mut() else {
        return;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            if d.kind == DialogKind::Filter {
                state.log_filter.clear();
            }
            state.dialog = None;
        }
        KeyCode::Char('c') if ctrl => state.dialog = None,
        KeyCode::Backspace => {
            d.input.pop();
            d.error = None;
            if d.kind == DialogKind::Filter {
                state.log_filter = d.input.clone();
            }
        }
        // ⏎ opened this confirmation: it never confirms it (a double ⏎ ran a step twice).
        // A step that changes the world is confirmed with `y` or its typed word.
        KeyCode::Enter if d.kind == DialogKind::ConfirmRun && d.word.is_none() => {
            d.error = Some(format!(
                "press {} to run it (⏎ does not confirm) · n or Esc cancels",
                state.keys.confirm_label()
            ));
        }
        KeyCode::Enter => submit_dialog(state, fx),
        KeyCode::Char(c) => {
            // A plain confirmation (no typed word) answers to y (or config's `confirm`) / n.
            if yes_no(d) {
                let confirm = state.keys.action(Ctx::Dialog, &key) == Some(Action::Confirm)
                    || !ctrl
                        && c == 'Y'
                        && state
                            .keys
                            .keys_of(Ctx::Dialog, Action::Confirm)
                            .iter()
                            .any(|k| k.code == KeyCode::Char('y') && !k.ctrl && !k.alt);
                if confirm {
                    return submit_dialog(state, fx);
                }
                match c {
                    'n' | 'N' => {
                        state.dialog = None;
                        return;
                    }
                    _ => return,
                }
            }
            if d.input.chars().count() < 200 {
                d.input.push(c);
                d.error = None;
            }
            if d.kind == DialogKind::Filter {
                state.log_filter = d.input.clone();
            }
        }
        _ => {}
    }
}

fn submit_dialog(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(d) = state.dialog.clone() else {
        return;
    };
    let input = d.input.trim().to_string();
    let step_id = d.step.map(|i| state.plan.steps[i].id.clone());
    if let Some(word) = &d.word
        && input != *word
    {
        if let Some(dd) = state.dialog.as_mut() {
            dd.error = Some(format!("type {word} exactly to confirm (Esc cancels)"));
        }
        return;
    }
    let needs_text = matches!(
        d.kind,
        DialogKind::Override { .. }
            | DialogKind::SkipReason
            | DialogKind::ManualDone
            | DialogKind::MarkDone
            | DialogKind::Note
            | DialogKind::Declare
    );
    if needs_text && input.chars().count() < 3 {
        if let Some(dd) = state.dialog.as_mut() {
            dd.error = Some("write a few words: this goes into the record".into());
        }
        return;
    }
    state.dialog = None;
    if !matches!(d.kind, DialogKind::Filter | DialogKind::Quit)
        && !mode_allows_change(state, "record this", fx)
    {
        return;
    }
    let host = state.operator.host.clone();
    match (d.kind, d.step, step_id) {
        (DialogKind::Filter, _, _) => state.log_filter = input,
        (DialogKind::Quit, _, _) => {
            state.quit = true;
            fx.push(Effect::Quit);
        }
        (DialogKind::Abort, _, _) => fx.push(Effect::Record(Event::Aborted {
            reason: "aborted by the operator (typed ABORT)".into(),
        })),
        (DialogKind::ConfirmRun, Some(i), Some(_)) => start(state, i, fx),
        (DialogKind::Approve, Some(_), Some(id)) => {
            fx.push(Effect::Record(Event::Approved {
                step: id,
                host,
                word: d.word.unwrap_or_default(),
            }));
        }
        (DialogKind::Override { unmet }, Some(_), Some(id)) => {
            fx.push(Effect::Record(Event::Override {
                step: id,
                reason: input,
                unmet,
            }))
        }
        (DialogKind::SkipReason, Some(_), Some(id)) => fx.push(Effect::Record(Event::Skipped {
            step: id,
            reason: input,
        })),
        (DialogKind::ManualDone, Some(_), Some(id)) => fx.push(Effect::Record(Event::ManualDone {
            step: id,
            note: input,
        })),
        (DialogKind::MarkDone, Some(_), Some(id)) => fx.push(Effect::Record(Event::MarkedDone {
            step: id,
            note: input,
        })),
        (DialogKind::Declare, _, _) => fx.push(Effect::Record(Event::Declared { note: input })),
        (DialogKind::Note, _, id) => fx.push(Effect::Record(Event::Note {
            step: id,
            text: input,
        })),
        (DialogKind::Reviewed, Some(_), Some(id)) => fx.push(Effect::Record(Event::Reviewed {
            step: id,
            note: input,
        })),
        _ => {}
    }
}
