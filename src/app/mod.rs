//! The application core: [`State`], [`Msg`], [`Effect`] and [`update`] — the checklist engine,
//! its step state machine, the modes and the safety rules. No I/O happens here: feed messages,
//! assert state and effects.

pub mod keys;
pub mod observe;
pub mod output;
pub mod state;
pub mod update;
pub mod watch;

pub use observe::{
    Level, Observation, ProbeError, Reading, Section, SectionState, SectionView, Verdict,
};
pub use state::{
    Dialog, DialogKind, Focus, Mode, Operator, Overlay, State, StepPhase, StepRun, StepStatus,
};
pub use update::{Effect, Msg, OutputLine, Pane, Yank, apply, update};
