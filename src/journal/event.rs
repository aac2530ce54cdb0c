//! Journal events: one JSON object per line. The engine's step states are a fold of these
//! events (`app::apply`), so resuming a session is replaying its journal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub operator: String,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        plan_name: String,
        plan_source: String,
        plan_hash: String,
        mode: String,
        drill: bool,
        host: String,
        pid: u32,
        version: String,
        /// The git commit the binary was built from (journals before it: absent). Boxed: one
        /// pointer, so every other event (and the engine's `Msg`) does not grow for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<Box<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resumed_from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rto_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rpo_secs: Option<u64>,
        /// The checklist as it was when the session started (for reports).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<StepInfo>,
    },
    StepStarted {
        step: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
    /// The child process of a `command` step started (in its own session). A resumed cockpit
    /// uses pid + start time (+ boot id) to tell whether this very process still runs.
    ProcessStarted {
        step: String,
        attempt: u32,
        pid: u32,
        /// Linux: `/proc/PID/stat` starttime (clock ticks after boot).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_ticks: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boot_id: Option<String>,
        host: String,
    },
    /// A step's process that a resumed cockpit followed (not its child) ended. Its exit status
    /// cannot be known, so the step becomes unknown until the operator checks its effect.
    ProcessEnded {
        step: String,
        attempt: u32,
        pid: u32,
        detail: String,
    },
    StepOutput {
        step: String,
        attempt: u32,
        stream: String,
        line: String,
    },
    StepFinished {
        step: String,
        attempt: u32,
        ok: bool,
        detail: String,
    },
    Approved {
        step: String,
        host: String,
        word: String,
    },
    ManualDone {
        step: String,
        note: String,
    },
    /// A step whose state was unknown after a crash, checked by the operator and marked done.
    MarkedDone {
        step: String,
        note: String,
    },
    Override {
        step: String,
        reason: String,
        unmet: Vec<String>,
    },
    Skipped {
        step: String,
        reason: String,
    },
    Note {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        text: String,
    },
    Reviewed {
        step: String,
        note: String,
    },
    Preflight {
        step: String,
        checks: Vec<PreflightCheck>,
    },
    /// Probe evidence at a key moment (e.g. conditions when a step started).
    Evidence {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        what: String,
        detail: serde_json::Value,
    },
    Refused {
        what: String,
        mode: String,
    },
    Aborted {
        reason: String,
    },
    /// The incident was declared (starts the incident clock in reports).
    Declared {
        note: String,
    },
    SessionEnded {
        reason: String,
    },
}

/// A checklist step as recorded in `SessionStarted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    pub id: String,
    pub title: String,
    pub kind: String,
    /// Whether running it changes the world (an `http.request` depends on its method); absent
    /// in journals written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutating: Option<bool>,
}

/// One read-only preflight check of a step in review mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightCheck {
    pub what: String,
    /// `None` when it could not be evaluated.
    pub ok: Option<bool>,
    pub detail: String,
}

impl Event {
    /// The step this event concerns, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::StepStarted { step, .. }
            | Event::ProcessStarted { step, .. }
            | Event::ProcessEnded { step, .. }
            | Event::StepOutput { step, .. }
            | Event::StepFinished { step, .. }
            | Event::Approved { step, .. }
            | Event::ManualDone { step, .. }
            | Event::MarkedDone { step, .. }
            | Event::Override { step, .. }
            | Event::Skipped { step, .. }
            | Event::Reviewed { step, .. }
            | Event::Preflight { step, .. } => Some(step),
            Event::Note { step, .. } | Event::Evidence { step, .. } => step.as_deref(),
            _ => None,
        }
    }
}

/// What a PostgreSQL promotion needs to know the data loss when the primary is gone.
pub const RPO_UNKNOWN_NEEDED: &str = "the old primary's final WAL position (`pg_controldata` on its data directory, or the last segment in its WAL archive), compared with the standby's replayed LSN";
