//! Keys, the mouse wheel and clicks: which overlay or pane an input goes to, and what it asks
//! for. Anything that would change the world or the record is handed to `steps` (and its checks).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::dialogs::on_dialog_key;
use super::steps::{Act, act, activate, declare};
use super::{Effect, LogView, Pane, Yank, flash};
use crate::app::keys::{Action, Ctx};
use crate::app::state::{Dialog, DialogKind, Focus, Mode, Overlay, State};

/// A key press (or an allowed auto-repeat). Esc-then-key read as Alt+key is split again here.
pub(super) fn on_key_msg(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
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
            on_key(state, key, fx);
        }
    }
}

/// May an auto-repeated key act? Only keys that move, scroll or edit text: a held key never
/// opens, confirms or runs anything (the engine refuses a second run anyway; this is the first
/// fence). In a y/n confirmation no repeated key counts.
pub(super) fn repeat_allowed(state: &State, key: &KeyEvent) -> bool {
    let moves = matches!(
        key.code,
        KeyCode::Up
            | KeyCode::Down
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Left
            | KeyCode::Right
    );
    match state.dialog() {
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
pub(super) fn yes_no(d: &Dialog) -> bool {
    d.kind == DialogKind::ConfirmRun && d.word.is_none() || d.kind == DialogKind::Quit
}

pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let map = state.keys.clone();
    // The open overlay takes every key (one at a time: see `Overlay`).
    match state.overlay {
        Some(Overlay::Dialog(_)) => return on_dialog_key(state, key, fx),
        Some(Overlay::Timeline(off)) => {
            let last = state.records.len().saturating_sub(1);
            state.overlay = match (key.code, map.action(Ctx::Checklist, &key)) {
                (KeyCode::Esc, _) | (_, Some(Action::Timeline | Action::Quit)) => None,
                (_, Some(Action::Up)) => Some((off + 1).min(last)),
                (_, Some(Action::Down)) => Some(off.saturating_sub(1)),
                (_, Some(Action::PageUp | Action::HalfPageUp)) => Some((off + 10).min(last)),
                (_, Some(Action::PageDown | Action::HalfPageDown)) => Some(off.saturating_sub(10)),
                (_, Some(Action::Top)) => Some(last),
                (_, Some(Action::Bottom)) => Some(0),
                _ => Some(off),
            }
            .map(Overlay::Timeline);
            return;
        }
        Some(Overlay::Help) => {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter)
                || matches!(
                    map.action(Ctx::Global, &key),
                    Some(Action::Help | Action::Quit)
                )
            {
                state.overlay = None;
            }
            return;
        }
        None => {}
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
        Action::Help => state.open(Overlay::Help),
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
            state.open(Overlay::Dialog(d));
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
        Action::Timeline => state.open(Overlay::Timeline(0)),
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

pub(super) fn on_log_key(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
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
pub(super) fn on_wheel(state: &mut State, pane: Pane, down: bool, fx: &mut Vec<Effect>) {
    match state.overlay {
        Some(Overlay::Dialog(_) | Overlay::Help) => return,
        Some(Overlay::Timeline(off)) => {
            let last = state.records.len().saturating_sub(1);
            state.overlay = Some(Overlay::Timeline(if down {
                off.saturating_sub(3)
            } else {
                (off + 3).min(last)
            }));
            return;
        }
        None => {}
    }
    match (pane, down) {
        (Pane::Log, false) => {
            state.log_follow = false;
            fx.push(Effect::LogView(LogView::PageUp));
        }
        (Pane::Log, true) => fx.push(Effect::LogView(LogView::PageDown)),
        (Pane::Detail, _) if has_output(state) => scroll_output(state, !down, 3, fx),
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

/// Lines PgUp/PgDn move through a step's output.
const OUTPUT_PAGE: usize = 10;

/// Does the selected step have output to page through?
fn has_output(state: &State) -> bool {
    state.output.tail(state.selected).is_some()
}

/// Scroll the selected step's output (`up`: older); ask the runtime for older lines from the
/// journal when they are not in memory.
fn scroll_output(state: &mut State, up: bool, by: usize, fx: &mut Vec<Effect>) {
    let i = state.selected;
    let Some(step) = state.plan.steps.get(i) else {
        return;
    };
    let id = step.id.clone();
    fx.extend(state.output.scroll(i, up, by, &id));
}

pub(super) fn request_quit(state: &mut State, fx: &mut Vec<Effect>) {
    if state.mode.may_mutate() && state.running_step().is_some() {
        state.open(Overlay::Dialog(Dialog::new(
            DialogKind::Quit,
            state.running_step(),
            None,
        )));
    } else {
        state.quit = true;
        fx.push(Effect::Quit);
    }
}

/// Half of the step detail's page, in lines (the detail is at least 8 rows high at the
/// smallest supported size; PgUp/PgDn move 5).
pub(super) const HALF_PAGE: u16 = 5;

pub(super) fn on_checklist_key(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    let n = state.steps.len();
    let before = state.selected;
    match action {
        // Issue 15: a step with output pages through it (older lines come from the journal).
        Action::PageDown | Action::PageUp if has_output(state) => {
            scroll_output(state, action == Action::PageUp, OUTPUT_PAGE, fx)
        }
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

pub(super) fn on_checklist_action(
    state: &mut State,
    action: Action,
    n: usize,
    fx: &mut Vec<Effect>,
) {
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
        // Issue 13: a watcher notes (and takes over) through app::watch.
        Action::Note if crate::app::watch::open_note(state) => {}
        Action::TakeOver => crate::app::watch::ask_take_over(state, fx),
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
pub(super) fn yank_step(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(spec) = state.plan.steps.get(state.selected) else {
        return;
    };
    let text = crate::steps::describe(&spec.action).join("\n");
    fx.push(Effect::Yank(Yank::Text {
        what: format!("step {}'s exact call", spec.id),
        text: crate::redact::redact_string(text),
    }));
}

/// A click on a step's row only selects it, and only with no overlay open.
pub(super) fn on_click(state: &mut State, step: usize) {
    if state.overlay.is_none() && step < state.steps.len() {
        if state.selected != step {
            state.detail_scroll = 0;
        }
        state.selected = step;
        state.focus = Focus::Checklist;
    }
}
