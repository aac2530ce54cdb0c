//! Writing the journal: one JSON line per event, redacted, `fsync`'d before the engine hears
//! that it happened.
//!
//! * Every line is a [`Record`] (`seq`, `at`, `operator` and the flattened [`Event`]).
//! * Redaction happens twice, and each pass catches what the other cannot: every string (keys
//!   included) inside the record is passed through [`crate::redact::redact`] before
//!   serialisation, so a secret containing characters that JSON escapes (`"`, `\`) is still
//!   caught; the serialised line is passed through it again, so a secret outside any string
//!   (a number in an `Evidence` detail) is caught too. If that second pass breaks the JSON, the
//!   event is replaced by a note saying it was withheld.
//! * Each line is written with one `write_all` and followed by `sync_data()`; only then is the
//!   record handed back. A new file is created with mode `0600` (parent directories `0700`) and its
//!   directory is synced so the file itself survives a crash.
//! * Opening an existing journal continues `seq` after its last valid record. If the file ends in
//!   the middle of a line (a crash during a write), the next record starts on a fresh line; the
//!   torn fragment stays in the file as evidence and readers skip it (see [`super::read`]).
//! * [`spawn_writer`] moves the writer onto its own OS thread fed by a channel, so a slow or hung
//!   disk never stalls the UI loop.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::{Event, Record};

/// In-memory writers keep at most this many records (monitor mode can run for days).
const MEMORY_CAP: usize = 10_000;

/// How long [`JournalHandle::close`] waits for queued events to reach the disk.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

enum Sink {
    File {
        file: File,
        path: PathBuf,
        /// The file does not end with a newline (torn tail on open, or a failed write).
        needs_newline: bool,
    },
    Memory(Vec<Record>),
}

/// Appends records to a file (or keeps them in memory in monitor mode / tests).
pub struct JournalWriter {
    operator: String,
    next_seq: u64,
    sink: Sink,
}

impl JournalWriter {
    /// Open (create or append to) a journal file; `seq` continues after the last record present.
    pub fn create(path: &Path, operator: &str) -> std::io::Result<JournalWriter> {
        let ctx = |what: &str, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {what}: {e}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| ctx("cannot create the journal directory", e))?;
        }
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| ctx("cannot open the journal", e))?;
        if existed {
            // Tighten a journal created by something else; failing to is not fatal.
            // Regular files only: never chmod a device such as /dev/null.
            if let Ok(meta) = file.metadata()
                && meta.is_file()
                && meta.permissions().mode() & 0o077 != 0
                && let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(0o600))
            {
                log::warn!(target: "journal", "{}: cannot restrict the journal to mode 0600: {e}", path.display());
            }
        } else if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the new directory entry durable, not only the data.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        // Only a regular file has a history to continue (a device such as /dev/null has none).
        let mut text = Vec::new();
        if file.metadata().map(|m| m.is_file()).unwrap_or(false) {
            file.seek(SeekFrom::Start(0))
                .map_err(|e| ctx("cannot read the journal", e))?;
            file.read_to_end(&mut text)
                .map_err(|e| ctx("cannot read the journal", e))?;
        }
        let needs_newline = !text.is_empty() && !text.ends_with(b"\n");
        let next_seq = last_seq(&text).map(|s| s + 1).unwrap_or(0);
        Ok(JournalWriter {
            operator: operator.to_string(),
            next_seq,
            sink: Sink::File {
                file,
                path: path.to_path_buf(),
                needs_newline,
            },
        })
    }

    /// A writer that keeps nothing on disk.
    pub fn in_memory(operator: &str) -> JournalWriter {
        JournalWriter {
            operator: operator.to_string(),
            next_seq: 0,
            sink: Sink::Memory(Vec::new()),
        }
    }

    /// Redact, serialise, write, fsync; returns the record as written.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let record = Record {
            seq: self.next_seq,
            at: Utc::now(),
            operator: self.operator.clone(),
            event,
        };
        let (line, written) = redacted_line(&record)?;
        match &mut self.sink {
            Sink::Memory(records) => {
                self.next_seq += 1;
                if records.len() >= MEMORY_CAP {
                    records.drain(..MEMORY_CAP / 10);
                }
                records.push(written.clone());
                Ok(written)
            }
            Sink::File {
                file,
                path,
                needs_newline,
            } => {
                let mut buf = Vec::with_capacity(line.len() + 2);
                if *needs_newline {
                    buf.push(b'\n');
                }
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                // From here on the seq may be on disk: never reuse it.
                self.next_seq += 1;
                let ctx = |what: &str, e: std::io::Error| {
                    std::io::Error::new(
                        e.kind(),
                        format!("{}: {what} (seq {}): {e}", path.display(), record.seq),
                    )
                };
                if let Err(e) = file.write_all(&buf) {
                    *needs_newline = true;
                    return Err(ctx("journal write failed", e));
                }
                *needs_newline = false;
                file.sync_data()
                    .map_err(|e| ctx("journal fsync failed", e))?;
                Ok(written)
            }
        }
    }

    /// The records kept by an in-memory writer (empty for a file writer).
    pub fn records(&self) -> &[Record] {
        match &self.sink {
            Sink::Memory(r) => r,
            Sink::File { .. } => &[],
        }
    }

    /// The file being written (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        match &self.sink {
            Sink::File { path, .. } => Some(path),
            Sink::Memory(_) => None,
        }
    }

    /// The `seq` the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn describe(&self) -> String {
        match self.path() {
            Some(p) => format!("journal {}", p.display()),
            None => "in-memory journal".into(),
        }
    }
}

/// The highest `seq` among the parseable lines of a journal.
fn last_seq(text: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    text.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<SeqOnly>(l).ok())
        .map(|s| s.seq)
        .max()
}

/// Replace every registered secret in every string (keys included) of a JSON value.
pub fn redact_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = crate::redact::redact(s) {
                *s = r;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_value),
        Value::Object(o) => {
            let taken = std::mem::take(o);
            for (k, mut val) in taken {
                redact_value(&mut val);
                o.insert(crate::redact::redact_string(k), val);
            }
        }
        _ => {}
    }
}

/// The line to write (no newline) and the record it holds after redaction.
fn redacted_line(record: &Record) -> std::io::Result<(String, Record)> {
    let mut value = serde_json::to_value(record)
        .map_err(|e| std::io::Error::other(format!("cannot serialise a journal record: {e}")))?;
    redact_value(&mut value);
    let line = serde_json::to_string(&value)
        .map_err(|e| std::io::Error::other(format!("cannot serialise a journal record: {e}")))?;
    let line = crate::redact::redact_string(line);
    match serde_json::from_str::<Record>(&line) {
        Ok(written) => Ok((line, written)),
        Err(_) => {
            // Line-level redaction cut through JSON syntax (a secret spanning a quote): keep the
            // record, drop its content, never the secret.
            let withheld = Record {
                event: Event::Note {
                    step: record
                        .event
                        .step()
                        .map(|s| crate::redact::redact_string(s.to_string())),
                    text: "event withheld: its redacted form was not valid JSON".into(),
                },
                operator: crate::redact::redact_string(record.operator.clone()),
                ..record.clone()
            };
            let line = serde_json::to_string(&withheld).map_err(|e| {
                std::io::Error::other(format!("cannot serialise a journal record: {e}"))
            })?;
            Ok((line, withheld))
        }
    }
}

fn event_name(ev: &Event) -> String {
    serde_json::to_value(ev)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "event".into())
}

type OnDone = Box<dyn Fn(Result<Record, String>) + Send>;

enum Cmd {
    Event(Box<Event>),
}

struct Shared {
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    on_done: Arc<Mutex<OnDone>>,
    finished: Mutex<Option<mpsc::Receiver<()>>>,
    name: String,
}

/// A cheap, cloneable handle to the writer task.
#[derive(Clone)]
pub struct JournalHandle {
    shared: Arc<Shared>,
}

impl JournalHandle {
    /// Queue an event; the outcome arrives through `on_done` once it is on disk.
    /// After [`close`](Self::close), `on_done` receives an error instead.
    pub fn send(&self, event: Event) {
        let guard = self.shared.tx.lock().unwrap_or_else(|e| e.into_inner());
        let failed = match guard.as_ref() {
            Some(tx) => match tx.send(Cmd::Event(Box::new(event))) {
                Ok(()) => None,
                Err(mpsc::SendError(Cmd::Event(ev))) => Some(*ev),
            },
            None => Some(event),
        };
        drop(guard);
        if let Some(ev) = failed {
            let msg = format!(
                "{}: closed; event {} was not recorded",
                self.shared.name,
                event_name(&ev)
            );
            let cb = self
                .shared
                .on_done
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            cb(Err(crate::redact::redact_string(msg)));
        }
    }

    /// Flush what is queued and stop the writer (bounded wait: 5 s). Idempotent; affects every
    /// clone of the handle.
    pub fn close(&self) {
        self.close_within(CLOSE_TIMEOUT);
    }

    /// [`close`](Self::close) with another bound; returns whether the writer finished in time.
    pub fn close_within(&self, timeout: Duration) -> bool {
        // Dropping the sender lets the thread drain the queue and exit.
        drop(
            self.shared
                .tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let Some(done) = self
            .shared
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return true;
        };
        match done.recv_timeout(timeout) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                log::error!(target: "journal", "{}: still writing after {timeout:?}; giving up waiting (events may be lost)", self.shared.name);
                false
            }
        }
    }
}

/// Run the writer on its own thread; every appended record (or error) is handed to `on_done`.
pub fn spawn_writer(
    writer: JournalWriter,
    on_done: impl Fn(Result<Record, String>) + Send + 'static,
) -> JournalHandle {
    let (tx, rx) = mpsc::channel::<Cmd>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let on_done: Arc<Mutex<OnDone>> = Arc::new(Mutex::new(Box::new(on_done)));
    let name = writer.describe();
    let shared = Arc::new(Shared {
        tx: Mutex::new(Some(tx)),
        on_done: on_done.clone(),
        finished: Mutex::new(Some(done_rx)),
        name: name.clone(),
    });
    let mut writer = writer;
    let spawned = std::thread::Builder::new()
        .name("journal-writer".into())
        .spawn(move || {
            while let Ok(Cmd::Event(ev)) = rx.recv() {
                let result = writer
                    .append(*ev)
                    .map_err(|e| crate::redact::redact_string(e.to_string()));
                let cb = on_done.lock().unwrap_or_else(|e| e.into_inner());
                cb(result);
            }
            let _ = done_tx.send(());
        });
    if let Err(e) = spawned {
        // No thread: every send will report the failure through on_done.
        log::error!(target: "journal", "{name}: cannot start the writer thread: {e}");
        shared.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        shared
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
    JournalHandle { shared }
}
