//! What a running step tells the engine, and the sink it tells it through. Steps sit below the
//! engine (`app`), so they name none of its types: they send a [`StepEvent`] into a [`StepSink`],
//! and the runtime, which builds the sink, turns each event into the engine's message
//! (`app::Msg` has a `From<StepEvent>`). The sink calls straight through (no forwarding task), so
//! a step's last line still reaches the engine before the runtime reports the step done.
//!
//! Output is paced by an [`OutputGate`] (issue 15): a step that prints faster than the journal
//! writes (a `command` printing 100,000 lines) waits for room instead of queueing every line in
//! memory. The gate counts lines from the moment a step emits them until the engine has seen
//! them journaled (or dropped them); the runtime releases them, the step's reader waits.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};

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

/// Most output lines in flight (emitted by steps, not yet seen journaled by the engine).
pub const GATE_LINES: usize = 4096;
/// Most bytes of output text in flight (a line longer than this still passes alone).
pub const GATE_BYTES: usize = 2 * 1024 * 1024;

/// Where a waiting reader goes on: below seven eighths of the bound (at least 1).
fn resume_at(max: usize) -> usize {
    (max - max / 8).max(1)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    lines: usize,
    bytes: usize,
    /// The most lines ever in flight at once (tests and measurements).
    peak: usize,
}

/// Back-pressure on step output: how many lines (and bytes) are between a step and the journal.
/// [`admit`](Self::admit) waits (asynchronously: only the step's reader task waits, never the
/// event loop) while the gate is full; [`release`](Self::release) is called by whoever sees a
/// line's journey end (the runtime, after the engine handled its `Recorded`).
#[derive(Debug)]
pub struct OutputGate {
    max_lines: usize,
    max_bytes: usize,
    counts: Mutex<Counts>,
    room: Notify,
}

impl Default for OutputGate {
    fn default() -> OutputGate {
        OutputGate::new(GATE_LINES, GATE_BYTES)
    }
}

impl OutputGate {
    pub fn new(max_lines: usize, max_bytes: usize) -> OutputGate {
        OutputGate {
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
            counts: Mutex::new(Counts::default()),
            room: Notify::new(),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take room for a line of `bytes`, waiting while the gate is full. A waiting line goes on
    /// only once an eighth of the gate has drained ([`resume_at`]): the reader then wakes once per
    /// hundreds of lines, not once per line released, while the gate stays nearly full (the
    /// writer and the engine always have work). An empty gate admits any line, however long.
    pub async fn admit(&self, bytes: usize) {
        let mut waited = false;
        loop {
            // Registered before the check: a release between the check and the wait wakes it.
            let room = self.room.notified();
            if self.try_admit(bytes, waited) {
                return;
            }
            waited = true;
            room.await;
        }
    }

    fn try_admit(&self, bytes: usize, waited: bool) -> bool {
        let (lines, most) = if waited {
            (resume_at(self.max_lines), resume_at(self.max_bytes))
        } else {
            (self.max_lines, self.max_bytes)
        };
        let mut c = self.counts();
        let fits = c.lines == 0 || (c.lines < lines.max(1) && c.bytes < most.max(1));
        if fits {
            c.lines += 1;
            c.bytes += bytes;
            c.peak = c.peak.max(c.lines);
        }
        fits
    }

    /// Take room without waiting (a step's occasional report line: only bulk output waits).
    pub fn admit_now(&self, bytes: usize) {
        let mut c = self.counts();
        c.lines += 1;
        c.bytes += bytes;
        c.peak = c.peak.max(c.lines);
    }

    /// `lines` lines of `bytes` in all left the path (journaled and seen, or dropped).
    pub fn release(&self, lines: usize, bytes: usize) {
        if lines == 0 {
            return;
        }
        let drained = {
            let mut c = self.counts();
            c.lines = c.lines.saturating_sub(lines);
            // Redaction may change a line's length on its way: never let the drift stay.
            c.bytes = if c.lines == 0 {
                0
            } else {
                c.bytes.saturating_sub(bytes)
            };
            c.lines == 0
                || (c.lines < resume_at(self.max_lines) && c.bytes < resume_at(self.max_bytes))
        };
        // A waiting reader goes on only below the resume mark: waking it sooner is for nothing.
        if drained {
            self.room.notify_waiters();
        }
    }

    /// Lines in flight now.
    pub fn in_flight(&self) -> usize {
        self.counts().lines
    }

    /// The most lines that were ever in flight at once.
    pub fn peak(&self) -> usize {
        self.counts().peak
    }

    /// The bound on lines in flight.
    pub fn max_lines(&self) -> usize {
        self.max_lines
    }
}

/// Where a step's events go. Cheap to clone; sending never blocks and never fails (a closed
/// receiver means no one is listening any more, and the step carries on). With a gate
/// ([`with_gate`](Self::with_gate)), output counts against it; [`send_paced`](Self::send_paced)
/// waits for room first.
#[derive(Clone)]
pub struct StepSink {
    f: Arc<dyn Fn(StepEvent) + Send + Sync>,
    gate: Option<Arc<OutputGate>>,
}

impl StepSink {
    pub fn new(f: impl Fn(StepEvent) + Send + Sync + 'static) -> StepSink {
        StepSink {
            f: Arc::new(f),
            gate: None,
        }
    }

    /// Count this sink's output lines against `gate` (the runtime releases them).
    pub fn with_gate(mut self, gate: Arc<OutputGate>) -> StepSink {
        self.gate = Some(gate);
        self
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

    /// Send now; an output line counts against the gate without waiting for room.
    pub fn send(&self, event: StepEvent) {
        if let (Some(gate), StepEvent::Output { line, .. }) = (&self.gate, &event) {
            gate.admit_now(line.text.len());
        }
        (self.f)(event)
    }

    /// Send once the gate has room (bulk output: a command's lines). Without a gate, at once.
    pub async fn send_paced(&self, event: StepEvent) {
        match (&self.gate, &event) {
            (Some(gate), StepEvent::Output { line, .. }) => gate.admit(line.text.len()).await,
            _ => return self.send(event),
        }
        (self.f)(event)
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
