//! Writing the journal: one JSON line per event, redacted, `fsync`'d before the engine hears
//! that it happened. CONTRACT (implementation pending): see the helper brief.

use std::path::Path;

use super::{Event, Record};

/// Appends records to a file (or keeps them in memory in monitor mode / tests).
pub struct JournalWriter {
    _private: (),
}

impl JournalWriter {
    /// Open (create or append to) a journal file; `seq` continues after the last record present.
    pub fn create(path: &Path, operator: &str) -> std::io::Result<JournalWriter> {
        let _ = (path, operator);
        Err(std::io::Error::other("journal writer not implemented"))
    }
    /// A writer that keeps nothing on disk.
    pub fn in_memory(operator: &str) -> JournalWriter {
        let _ = operator;
        JournalWriter { _private: () }
    }
    /// Redact, serialise, write, fsync; returns the record as written.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let _ = event;
        Err(std::io::Error::other("journal writer not implemented"))
    }
}

/// A cheap, cloneable handle to the writer task.
#[derive(Clone)]
pub struct JournalHandle {
    _private: (),
}

impl JournalHandle {
    /// Queue an event; the outcome arrives through `on_done` once it is on disk.
    pub fn send(&self, event: Event) {
        let _ = event;
    }
    /// Flush what is queued and stop the writer (bounded wait: 5 s).
    pub fn close(&self) {}
}

/// Run the writer on its own thread; every appended record (or error) is handed to `on_done`.
pub fn spawn_writer(
    writer: JournalWriter,
    on_done: impl Fn(Result<Record, String>) + Send + 'static,
) -> JournalHandle {
    let _ = (writer, on_done);
    JournalHandle { _private: () }
}
