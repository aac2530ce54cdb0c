//! The dispatcher's checks before anything changes the world or the record: the mode, the plan's
//! lock (a cockpit taken over becomes a watcher here), and the journal's health.

use super::{Effect, flash, log, refuse};
use crate::app::state::{Mode, State};
use crate::journal::Event;

/// The dispatcher's mode check for anything that would change the world or the record.
pub(super) fn mode_allows_change(state: &mut State, what: &str, fx: &mut Vec<Effect>) -> bool {
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
pub(super) fn holds_lock(state: &mut State, fx: &mut Vec<Effect>) -> bool {
    let Some(lock) = &state.lock else {
        return true;
    };
    let Err(why) = lock.check() else {
        return true;
    };
    state.lock = None;
    state.mode = Mode::Monitor;
    state.close_dialog();
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
