//! Key bindings as data: the help overlay and the footer are built from this table, so a key
//! that works is a key that is listed.

use super::state::{Focus, Mode};

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
            b("⏎", Action::Run, "run / act on the step (confirm)", true),
            b("s", Action::Skip, "skip with a reason", true),
            b("r", Action::Retry, "retry a failed or unknown step", true),
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
