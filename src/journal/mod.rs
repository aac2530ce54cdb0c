//! The append-only journal: JSONL, fsync'd per event, redacted; the lock that keeps one live
//! cockpit per plan; reading a journal back for resume and reports.

pub mod event;
pub mod lock;
pub mod paths;
pub mod people;
pub mod read;
pub mod tail;
pub mod writer;

pub use event::{Event, PreflightCheck, RPO_UNKNOWN_NEEDED, Record, StepInfo};
