//! Back-pressure on step output (issue 15): where a line's journey ends, so the [`OutputGate`]
//! can let the step's reader go on. A line is in flight from the moment a step emits it until
//! the engine has handled its `Msg::Recorded` (it is on disk and on screen) — or has dropped it
//! (a line from a step that is no longer current is not journaled). The event loop runs every
//! message through [`update`] here instead of `app::update` directly.

use chrono::{DateTime, Utc};

use crate::app::{Effect, Msg, State};
use crate::journal::Event;
use crate::steps::OutputGate;

/// `app::update`, then release from `gate` the output line this message ended the journey of.
pub fn update(state: &mut State, msg: Msg, now: DateTime<Utc>, gate: &OutputGate) -> Vec<Effect> {
    // (bytes, whether the line ends here whatever the effects)
    let line = match &msg {
        Msg::StepOutput { line, .. } => Some((line.text.len(), false)),
        Msg::Recorded(rec) => match &rec.event {
            Event::StepOutput { line, .. } => Some((line.len(), true)),
            _ => None,
        },
        _ => None,
    };
    let fx = crate::app::update(state, msg, now);
    if let Some((bytes, ends)) = line {
        // A `StepOutput` the engine sent to the journal travels on until its `Recorded`.
        let journaled = !ends
            && fx
                .iter()
                .any(|f| matches!(f, Effect::Record(Event::StepOutput { .. })));
        if !journaled {
            gate.release(1, bytes);
        }
    }
    fx
}
