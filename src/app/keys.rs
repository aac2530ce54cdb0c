//! Key bindings as data: the help overlay, the footer and the step detail's hints are built from
//! this table, so a key that works is a key that is listed — and the footer and hints list only
//! the keys that act on the selected step now ([`for_step`]).

use super::state::{Focus, Mode, State, StepPhase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    Run,
    Skip,
    Retry,
    Override,
    Note,
    MarkReviewed,
    MarkDone,
    Abort,
    ToggleFocus,
    Filter,
    ClearFilter,
    Follow,
    PageUp,
    PageDown,
    Expand,
    Timeline,
    Export,
    Declare,
    Help,
    Quit,
}

pub struct Binding {
    pub keys: &'static str,
    pub action: Action,
    pub what: &'static str,
    /// Shown in the footer (the short list).
    pub footer: bool,
}

const fn b(keys: &'static str, action: Action, what: &'static str, footer: bool) -> Binding {
    Binding {
        keys,
        action,
        what,
        footer,
    }
}

/// Bindings for the checklist focus in a mode. Keys that cannot act in a mode are not listed
/// (k9s: read-only hides mutating keys) — and the dispatcher refuses them anyway.
pub fn checklist(mode: Mode) -> Vec<Binding> {
    let mut v = vec![
        b("↑/k ↓/j", Action::Up, "select step", false),
        b("g / G", Action::Top, "first / last step", false),
        b(
            "PgUp/PgDn",
            Action::PageDown,
            "scroll the step detail",
            false,
        ),
    ];
    match mode {
        Mode::Live | Mode::Demo => v.extend([
            b(
                "⏎",
                Action::Run,
                "run a pending step (confirm with y or its typed word)",
                true,
            ),
            b("s", Action::Skip, "skip with a reason", true),
            b(
                "r",
                Action::Retry,
                "retry a failed or unknown step (asks again)",
                true,
            ),
            b(
                "o",
                Action::Override,
                "override unmet preconditions (typed reason)",
                false,
            ),
            b(
                "d",
                Action::MarkDone,
                "mark an unknown step done (after checking)",
                false,
            ),
            b("n", Action::Note, "add a note to the journal", true),
            b(
                "D",
                Action::Declare,
                "declare the incident (journaled; the RTO clock runs from it)",
                false,
            ),
            b(
                "A",
                Action::Abort,
                "abort the checklist (type ABORT)",
                false,
            ),
        ]),
        Mode::Review => v.extend([
            b(
                "⏎",
                Action::Run,
                "show exact calls + run read-only preflight",
                true,
            ),
            b("m", Action::MarkReviewed, "mark reviewed with a note", true),
            b("n", Action::Note, "add a note", true),
            b(
                "e",
                Action::Export,
                "export the review record (Markdown, next to the journal)",
                true,
            ),
        ]),
        Mode::Monitor => {}
    }
    v.extend(common());
    v
}

pub fn log() -> Vec<Binding> {
    let mut v = vec![
        b(
            "PgUp/PgDn",
            Action::PageUp,
            "scroll the log (pauses follow)",
            false,
        ),
        b("f / End", Action::Follow, "follow the newest lines", true),
        b(
            "Esc",
            Action::ClearFilter,
            "clear the filter, follow again",
            false,
        ),
    ];
    v.extend(common());
    v
}

fn common() -> Vec<Binding> {
    vec![
        b(
            "tab",
            Action::ToggleFocus,
            "switch focus checklist ↔ log",
            true,
        ),
        b("/", Action::Filter, "filter the log", true),
        b("x", Action::Expand, "expand the site panels", false),
        b("t", Action::Timeline, "timeline: the journal so far", false),
        b("?", Action::Help, "this help", true),
        b("q", Action::Quit, "quit (asks while a step runs)", true),
    ]
}

pub fn for_focus(focus: Focus, mode: Mode) -> Vec<Binding> {
    match focus {
        Focus::Checklist => checklist(mode),
        Focus::Log => log(),
    }
}

/// The step keys that act on step `i` now — in the mode and the step's state — taken from the
/// [`checklist`] table. The one list the footer and the step detail's hints are both built from:
/// a key offered is a key that acts (⏎ on a finished step is not offered, and does nothing).
pub fn for_step(state: &State, i: usize) -> Vec<Binding> {
    if i >= state.steps.len() || state.dialog.is_some() {
        return Vec::new();
    }
    let mut v: Vec<Binding> = checklist(state.mode)
        .into_iter()
        .filter(|b| applies(state, i, b.action))
        .collect();
    // The way forward first (run, retry, override…), the way around (skip, abort) next.
    v.sort_by_key(|b| {
        [
            Action::Run,
            Action::MarkReviewed,
            Action::Retry,
            Action::Override,
            Action::MarkDone,
            Action::Skip,
            Action::Abort,
            Action::Note,
        ]
        .iter()
        .position(|a| *a == b.action)
        .unwrap_or(usize::MAX)
    });
    v
}

fn applies(state: &State, i: usize, action: Action) -> bool {
    let run = &state.steps[i];
    let journal_ok = state.journal_error.is_none();
    if state.mode == Mode::Review {
        return match action {
            Action::Run | Action::Export => true,
            Action::MarkReviewed | Action::Note => journal_ok,
            _ => false,
        };
    }
    if !state.mode.may_mutate() || !journal_ok {
        return false;
    }
    if action == Action::Note {
        return true;
    }
    if state.aborted.is_some() {
        return false;
    }
    let can_start = || state.why_not_run(i).is_none();
    let overridable = || run.override_reason.is_none() && !state.unmet(i).is_empty();
    match (&run.phase, action) {
        (StepPhase::Pending, Action::Run) => can_start(),
        (StepPhase::Failed { .. } | StepPhase::Unknown { .. }, Action::Retry) => can_start(),
        (
            StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. },
            Action::Skip,
        ) => true,
        (
            StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. },
            Action::Override,
        ) => overridable(),
        (StepPhase::Unknown { .. }, Action::MarkDone) => true,
        // Abort always works (A), but is offered where it is the way out: a failed step.
        (StepPhase::Failed { .. }, Action::Abort) => true,
        _ => false,
    }
}

/// The short word for an action in the footer and the step detail's hints.
pub fn short(action: Action, mode: Mode) -> &'static str {
    match action {
        Action::Run if mode == Mode::Review => "calls + preflight",
        Action::Run => "run",
        Action::Skip => "skip",
        Action::Retry => "retry",
        Action::Override => "override",
        Action::Note => "note",
        Action::MarkReviewed => "reviewed",
        Action::MarkDone => "mark done",
        Action::Abort => "abort",
        Action::ToggleFocus => "focus",
        Action::Filter => "filter log",
        Action::ClearFilter => "clear filter",
        Action::Follow => "follow",
        Action::PageUp | Action::PageDown => "scroll",
        Action::Expand => "expand",
        Action::Timeline => "timeline",
        Action::Export => "export review",
        Action::Declare => "declare",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::Up | Action::Down => "select",
        Action::Top | Action::Bottom => "first/last",
    }
}

/// The footer when no dialog or overlay is open: the selected step's keys (checklist focus),
/// then the keys that always work in this focus.
pub fn footer(state: &State) -> Vec<(String, String)> {
    let pair = |b: &Binding| (b.keys.to_string(), short(b.action, state.mode).to_string());
    let mut v: Vec<(String, String)> = match state.focus {
        Focus::Checklist => for_step(state, state.selected).iter().map(pair).collect(),
        Focus::Log => log()
            .iter()
            .filter(|b| b.footer && !common().iter().any(|c| c.action == b.action))
            .map(pair)
            .collect(),
    };
    v.extend(common().iter().filter(|b| b.footer).map(pair));
    v
}
