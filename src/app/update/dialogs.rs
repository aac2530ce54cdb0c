//! An open dialog's keys and what submitting it records: a typed word checked exactly, a reason
//! that must say something, then one journal event (or the filter, or quit).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Effect;
use super::input::yes_no;
use super::safety::mode_allows_change;
use super::steps::start;
use crate::app::keys::{Action, Ctx};
use crate::app::state::{DialogKind, Overlay, State};
use crate::journal::Event;

pub(super) fn on_dialog_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(Overlay::Dialog(d)) = state.overlay.as_mut() else {
        return;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            if d.kind == DialogKind::Filter {
                state.log_filter.clear();
            }
            state.overlay = None;
        }
        KeyCode::Char('c') if ctrl => state.overlay = None,
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
                        state.overlay = None;
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

pub(super) fn submit_dialog(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(d) = state.dialog().cloned() else {
        return;
    };
    let input = d.input.trim().to_string();
    let step_id = d.step.map(|i| state.plan.steps[i].id.clone());
    if let Some(word) = &d.word
        && input != *word
    {
        if let Some(dd) = state.dialog_mut() {
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
        if let Some(dd) = state.dialog_mut() {
            dd.error = Some("write a few words: this goes into the record".into());
        }
        return;
    }
    // Issue 13: a watcher's note and take-over are handled by app::watch.
    if crate::app::watch::submit(state, &d, &input, fx) {
        return;
    }
    state.overlay = None;
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
