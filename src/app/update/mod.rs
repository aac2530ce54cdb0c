//! `update`: the only place state changes. Messages in, effects out.
//!
//! Everything that the record must hold (a step started or finished, an approval, an override,
//! a skip, a note) is first emitted as `Effect::Record`; the runtime journals it (fsync) and feeds
//! it back as `Msg::Recorded`, and only then does [`apply`] change the step's state. So the screen
//! never shows as done what the journal does not hold, and resuming is replaying the journal.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::observe::{Observation, age};
use super::state::{State, StepPhase};
use crate::journal::{Event, PreflightCheck, Record};

mod dialogs;
mod input;
mod probes;
mod recorded;
mod safety;
mod steps;

use input::{on_click, on_key_msg, on_wheel};
use probes::on_observed;
pub use recorded::{OUTPUT_KEPT, apply, replay};
use recorded::{after_recorded, on_journal_health};
use safety::holds_lock;
use steps::{check_waits, finish, on_preflight_done, on_step_output, still_running};

/// A line of a step's output: the steps' own type (they sit below the engine).
pub use crate::steps::OutputLine;

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
    /// Issue 13: records other cockpits appended to the shared journal (see `app::watch`).
    Followed(Vec<Record>),
    /// Issue 15: older output lines of a step read back from the journal (`Effect::ReadOutput`).
    OutputPage {
        step: usize,
        attempt: u32,
        start: usize,
        lines: Result<Vec<OutputLine>, String>,
    },
}

/// A step's report, as the engine hears it: the runtime hands steps a `StepSink` onto its
/// `Msg` channel, which converts with this.
impl From<crate::steps::StepEvent> for Msg {
    fn from(e: crate::steps::StepEvent) -> Msg {
        use crate::steps::StepEvent as E;
        match e {
            E::Output {
                step,
                attempt,
                line,
            } => Msg::StepOutput {
                step,
                attempt,
                line,
            },
            E::ProcessStarted {
                step,
                attempt,
                pid,
                start_ticks,
                boot_id,
            } => Msg::ProcessStarted {
                step,
                attempt,
                pid,
                start_ticks,
                boot_id,
            },
        }
    }
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
    /// Issue 15: read `count` output lines of a step's attempt from the journal, from its
    /// `start`-th line (0 = its first), off the event loop; the answer is `Msg::OutputPage`.
    ReadOutput {
        step: usize,
        step_id: String,
        attempt: u32,
        start: usize,
        count: usize,
    },
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
        Msg::Key(key) => on_key_msg(state, key, &mut fx),
        Msg::Tick => {
            state.spinner = state.spinner.wrapping_add(1);
            if let Some((_, at)) = &state.flash
                && age(now, *at).as_secs() >= 8
            {
                state.flash = None;
            }
            // Issue 13: a watcher follows the driver's waits; only the driver ends them.
            if state.mode != crate::app::Mode::Monitor {
                check_waits(state, &mut fx);
            }
            holds_lock(state, &mut fx);
        }
        Msg::Observed(obs) => on_observed(state, obs, &mut fx),
        Msg::Followed(records) => crate::app::watch::on_followed(state, records, &mut fx),
        Msg::StepOutput {
            step,
            attempt,
            line,
        } => on_step_output(state, step, attempt, line, &mut fx),
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
        Msg::PreflightDone { step, checks } => on_preflight_done(state, step, checks, &mut fx),
        Msg::Recorded(rec) => {
            apply(state, &rec);
            after_recorded(state, &rec, &mut fx);
        }
        Msg::JournalFailed(_) | Msg::JournalBlocked { .. } | Msg::JournalDurable => {
            on_journal_health(state, msg, &mut fx)
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
        Msg::Click { step } => on_click(state, step),
        Msg::Notice { text } => state.flash = Some((text, now)),
        Msg::OutputPage {
            step,
            attempt,
            start,
            lines,
        } => state.output.on_page(step, attempt, start, lines),
    }
    fx
}

pub(super) fn is_current(state: &State, step: usize, attempt: u32) -> bool {
    step < state.steps.len()
        && matches!(state.steps[step].phase, StepPhase::Running { attempt: a, .. } if a == attempt)
}

pub(super) fn flash(state: &mut State, text: impl Into<String>) {
    state.flash = Some((text.into(), state.now));
}

/// Refuse an action: the reason goes to the status line and the log.
pub(super) fn refuse(state: &mut State, fx: &mut Vec<Effect>, text: String) {
    fx.push(log(log::Level::Warn, "checklist", text.clone()));
    flash(state, text);
}
