//! What a running step tells the engine, and the sink it tells it through. Steps sit below the
//! engine (`app`), so they name none of its types: they send a [`StepEvent`] into a [`StepSink`],
//! and the runtime, which builds the sink, turns each event into the engine's message
//! (`app::Msg` has a `From<StepEvent>`). The sink calls straight through (no forwarding task), so
//! a step's last line still reaches the engine before the runtime reports the step done.

use std::sync::Arc;

use tokio::sync::mpsc;

/// One line of a step's output, as the log and the journal keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLine {
    /// `stdout`, `stderr` or `info` (what the step itself reports): a [`super::Stream`]'s name.
    pub stream: String,
    pub text: String,
}

impl OutputLine {
    pub fn info(text: impl Into<String>) -> OutputLine {
        OutputLine {
            stream: "info".into(),
            text: text.into(),
        }
    }
}

/// What a step reports while it runs (its result is what `steps::run` returns).
#[derive(Debug, Clone, PartialEq)]
pub enum StepEvent {
    /// A line for the log and the journal.
    Output {
        step: usize,
        attempt: u32,
        line: OutputLine,
    },
    /// A `command` step's child started (its identity goes into the journal, so a resumed
    /// cockpit can tell whether it still runs).
    ProcessStarted {
        step: usize,
        attempt: u32,
        pid: u32,
        start_ticks: Option<u64>,
        boot_id: Option<String>,
    },
}

/// Where a step's events go. Cheap to clone; sending never blocks and never fails (a closed
/// receiver means no one is listening any more, and the step carries on).
#[derive(Clone)]
pub struct StepSink(Arc<dyn Fn(StepEvent) + Send + Sync>);

impl StepSink {
    pub fn new(f: impl Fn(StepEvent) + Send + Sync + 'static) -> StepSink {
        StepSink(Arc::new(f))
    }

    /// A sink onto a channel of anything a step event converts into: the runtime's `app::Msg`
    /// channel, or a channel of `StepEvent` itself (tests).
    pub fn channel<M: From<StepEvent> + Send + 'static>(tx: mpsc::UnboundedSender<M>) -> StepSink {
        StepSink::new(move |e| {
            let _ = tx.send(M::from(e));
        })
    }

    /// A sink no one reads (read-only preflights whose output nobody shows).
    pub fn discard() -> StepSink {
        StepSink::new(|_| {})
    }

    pub fn send(&self, event: StepEvent) {
        (self.0)(event)
    }
}

impl Default for StepSink {
    fn default() -> StepSink {
        StepSink::discard()
    }
}

impl std::fmt::Debug for StepSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepSink")
    }
}
