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
//! * Group commit: the writer thread drains everything queued (up to [`MAX_BATCH`] records),
//!   writes the batch with one `write_all`, calls `sync_data()` once, and only then hands every
//!   record of the batch back, in order. A burst of output lines costs one fsync, not one each;
//!   a lone event (an approval) is written alone, as soon as it arrives, with no waiting. A new file is created with mode `0600` (parent directories `0700`) and its
//!   directory is synced so the file itself survives a crash.
//! * Opening an existing journal continues `seq` after its last valid record. If the file ends in
//!   the middle of a line (a crash during a write), the next record starts on a fresh line; the
//!   torn fragment stays in the file as evidence and readers skip it (see [`super::read`]).
//! * Each append holds an exclusive `flock` on the journal file. If the file grew since our last
//!   write (a `--take-over` cockpit writing the same journal), `seq` continues after the last
//!   record in it: `seq` never repeats, whatever the number of writers.
//! * A failed or short write (ENOSPC) is cut back to the file's previous length, so no torn line
//!   is left in the middle of the journal, and the event can be written again.
//! * [`spawn_writer`] moves the writer onto its own OS thread fed by a channel, so a slow or hung
//!   disk never stalls the UI loop. Events it cannot write stay queued in memory, in order, and
//!   are retried with backoff ([`spawn_writer_with_status`] reports blocked / durable); what is
//!   still unwritten at close is reported and counted ([`JournalHandle::lost`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{Event, Record};

/// In-memory writers keep at most this many records (monitor mode can run for days).
const MEMORY_CAP: usize = 10_000;

/// Set to `N` to make the next `N` journal file writes fail with ENOSPC after writing half of
/// their line (a disk-full drill; see [`JournalWriter::inject_faults`]).
pub const FAULT_ENV: &str = "DRCOCKPIT_FAULT_JOURNAL_ENOSPC";

/// Most records written (and fsync'd) together: bounds the buffer of one write (a record is a
/// few hundred bytes) while a flood of output lines still costs one fsync per thousands.
pub const MAX_BATCH: usize = 4096;

/// How long [`JournalHandle::close`] waits for queued events to reach the disk.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

enum Sink {
    File {
        file: File,
        path: PathBuf,
        /// The file's length after our last write (or when opened): when the file is longer,
        /// another cockpit appended and `seq` is re-read from its last record.
        len: u64,
        /// The file does not end with a newline (torn tail on open, or a failed write that
        /// could not be cut back).
        needs_newline: bool,
    },
    Memory(Vec<Record>),
}

/// Appends records to a file (or keeps them in memory in monitor mode / tests).
pub struct JournalWriter {
    operator: String,
    next_seq: u64,
    sink: Sink,
    /// Test and drill hook: while positive, each write writes half its bytes and then fails
    /// with ENOSPC (see [`JournalWriter::inject_faults`]).
    faults: Option<Arc<AtomicUsize>>,
    /// Test and bench hook: counts successful `fsync`s (see [`JournalWriter::count_syncs`]).
    syncs: Option<Arc<AtomicUsize>>,
    /// Issue 13 (watchers): the seqs this writer put in the file, so a cockpit following the
    /// same journal (`super::tail`) skips its own records (see [`JournalWriter::share_own_seqs`]).
    own: Option<super::tail::OwnSeqs>,
}

impl JournalWriter {
    /// Open (create or append to) a journal file; `seq` continues after the last record present.
    /// A new file is `0600`.
    pub fn create(path: &Path, operator: &str) -> std::io::Result<JournalWriter> {
        Self::create_with(path, operator, 0o600)
    }

    /// [`create`](Self::create) in a state directory shared by a group: a new file is `0660`
    /// (so a colleague's cockpit can resume it) and an existing one is only tightened for others.
    pub fn create_shared(path: &Path, operator: &str) -> std::io::Result<JournalWriter> {
        Self::create_with(path, operator, 0o660)
    }

    fn create_with(path: &Path, operator: &str, mode: u32) -> std::io::Result<JournalWriter> {
        let ctx = |what: &str, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {what}: {e}", path.display()))
        };
        let not_regular = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{}: not a regular file; a journal must be a regular file",
                    path.display()
                ),
            )
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            super::lock::create_state_dir(parent, mode & 0o070 != 0)
                .map_err(|e| ctx("cannot create the journal directory", e))?;
        }
        // Never open a device or a FIFO (a FIFO would block, /dev/zero would be read forever).
        let existed = match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => return Err(not_regular()),
            Ok(_) => true,
            Err(_) => false,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(mode)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| ctx("cannot open the journal", e))?;
        let meta = file
            .metadata()
            .map_err(|e| ctx("cannot check the journal", e))?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        let tighten = if mode & 0o070 != 0 { 0o007 } else { 0o077 };
        if meta.permissions().mode() & tighten != 0
            && let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o777 & !tighten,
            ))
        {
            // Tighten a journal created by something else; failing to is not fatal.
            log::warn!(target: "journal", "{}: cannot restrict the journal's permissions: {e}", path.display());
        } else if (!existed || meta.len() == 0)
            && mode & 0o070 != 0
            && meta.permissions().mode() & 0o777 != mode
        {
            // Group read-write whatever the umask: a colleague must be able to resume it.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
        }
        if !existed && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the new directory entry durable, not only the data.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        let mut text = Vec::new();
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ctx("cannot read the journal", e))?;
        file.read_to_end(&mut text)
            .map_err(|e| ctx("cannot read the journal", e))?;
        let needs_newline = !text.is_empty() && !text.ends_with(b"\n");
        let next_seq = last_seq(&text).map(|s| s + 1).unwrap_or(0);
        // Drills and end-to-end tests: a disk that fills up (`N` failing writes).
        let faults = std::env::var(FAULT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .map(|n| {
                log::warn!(target: "journal", "{FAULT_ENV}={n}: the next {n} journal write(s) will fail with ENOSPC (drill)");
                Arc::new(AtomicUsize::new(n))
            });
        Ok(JournalWriter {
            operator: operator.to_string(),
            next_seq,
            sink: Sink::File {
                file,
                path: path.to_path_buf(),
                len: text.len() as u64,
                needs_newline,
            },
            faults,
            syncs: None,
            own: None,
        })
    }

    /// A writer that keeps nothing on disk.
    pub fn in_memory(operator: &str) -> JournalWriter {
        JournalWriter {
            operator: operator.to_string(),
            next_seq: 0,
            sink: Sink::Memory(Vec::new()),
            faults: None,
            syncs: None,
            own: None,
        }
    }

    /// Issue 13: note every seq this writer appends in `own` before its bytes reach the file,
    /// so a follower of the same journal never mistakes them for another cockpit's.
    pub fn share_own_seqs(&mut self, own: super::tail::OwnSeqs) {
        self.own = Some(own);
    }

    /// Fault injection for tests and drills: while `faults` is positive, each file write writes
    /// half of its line, then fails with ENOSPC (and decrements it) — a disk filling up mid-line.
    pub fn inject_faults(&mut self, faults: Arc<AtomicUsize>) {
        self.faults = Some(faults);
    }

    /// Test and bench hook: `syncs` is incremented after each successful `fsync` of the journal
    /// file, before any record of that write is handed back.
    pub fn count_syncs(&mut self, syncs: Arc<AtomicUsize>) {
        self.syncs = Some(syncs);
    }

    /// Redact, serialise, write, fsync one event; returns the record as written.
    pub fn append(&mut self, event: Event) -> std::io::Result<Record> {
        let mut written = self.append_batch(vec![event]).map_err(|(_, e)| e)?;
        written
            .pop()
            .ok_or_else(|| std::io::Error::other("journal: a write returned no record"))
    }

    /// Group commit: redact and serialise every event, write them all with one `write_all`,
    /// `fsync` once; returns the records as written, in order. All or nothing: on error no
    /// record of the batch is in the journal and the events are handed back (to retry).
    ///
    /// A file append happens under an exclusive `flock` on the journal: if another cockpit (a
    /// take-over) appended since our last write, `seq` continues after its last record, so `seq`
    /// never repeats however many processes write. A failed or short write is cut back to the
    /// file's length before it, so no torn line is left in the middle of the journal; the event
    /// can be appended again later (the writer thread retries).
    pub fn append_batch(&mut self, events: Vec<Event>) -> Result<Vec<Record>, BatchError> {
        let Sink::File {
            file,
            path,
            len,
            needs_newline,
        } = &mut self.sink
        else {
            let mut out = Vec::with_capacity(events.len());
            let mut events = events.into_iter();
            while let Some(event) = events.next() {
                let record = Record {
                    seq: self.next_seq,
                    at: Utc::now(),
                    operator: self.operator.clone(),
                    event,
                };
                let written = match redacted_line(&record) {
                    Ok((_, changed)) => changed.unwrap_or(record),
                    Err(e) => {
                        let mut back = vec![record.event];
                        back.extend(events);
                        return Err((back, e));
                    }
                };
                self.next_seq += 1;
                if let Sink::Memory(records) = &mut self.sink {
                    if records.len() >= MEMORY_CAP {
                        records.drain(..MEMORY_CAP / 10);
                    }
                    records.push(written.clone());
                }
                out.push(written);
            }
            return Ok(out);
        };
        let shown = path.display().to_string();
        let ctx = |what: &str, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{shown}: {what}: {e}"))
        };
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let _guard = match FileLock::exclusive(file) {
            Ok(g) => g,
            Err(e) => return Err((events, ctx("cannot lock the journal", e))),
        };
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return Err((events, ctx("cannot check the journal", e))),
        };
        if size != *len {
            // Someone else appended (or the file was cut): continue after what is there now.
            let (last, ends_with_newline) = match tail_state(file, size) {
                Ok(t) => t,
                Err(e) => return Err((events, ctx("cannot read the journal", e))),
            };
            if let Some(last) = last {
                self.next_seq = self.next_seq.max(last + 1);
            }
            *needs_newline = size > 0 && !ends_with_newline;
            *len = size;
        }
        let n = events.len() as u64;
        let first = self.next_seq;
        let mut buf = Vec::with_capacity(events.len() * 256 + 1);
        if *needs_newline {
            buf.push(b'\n');
        }
        let mut records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: first + i as u64,
                at: Utc::now(),
                operator: self.operator.clone(),
                event,
            })
            .collect();
        // Records whose redacted form differs from the original (rare: a secret in them).
        let mut changed = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match redacted_line(record) {
                Ok((line, rec)) => {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                    if let Some(rec) = rec {
                        changed.push((i, rec));
                    }
                }
                // Nothing written yet: every event goes back, in order.
                Err(e) => return Err((records.into_iter().map(|r| r.event).collect(), e)),
            }
        }
        let seqs = if n == 1 {
            format!("seq {first}")
        } else {
            format!("seq {first}..={}", first + n - 1)
        };
        let ctx = |what: &str, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{shown}: {what} ({seqs}): {e}"))
        };
        if let Some(own) = &self.own {
            own.insert_range(first, n);
        }
        let result = match self.faults.as_ref().filter(|f| {
            f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        }) {
            Some(_) => file
                .write_all(&buf[..buf.len() / 2])
                .and_then(|()| Err(std::io::Error::from_raw_os_error(libc::ENOSPC)))
                .map_err(|e| ctx("journal write failed", e)),
            None => file
                .write_all(&buf)
                .map_err(|e| ctx("journal write failed", e))
                .and_then(|()| file.sync_data().map_err(|e| ctx("journal fsync failed", e))),
        };
        if let Err(e) = result {
            // Cut the partial batch back off; the events stay unwritten and may be retried.
            match file.set_len(size).and_then(|()| file.sync_data()) {
                Ok(()) => *len = size,
                Err(cut) => {
                    // The fragment stays (readers skip a torn line); never reuse a seq that may be
                    // on disk, and start the next record on a fresh line.
                    log::error!(target: "journal", "{shown}: cannot cut back a failed write: {cut}");
                    *needs_newline = true;
                    *len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
                    self.next_seq += n;
                }
            }
            return Err((records.into_iter().map(|r| r.event).collect(), e));
        }
        if let Some(syncs) = &self.syncs {
            syncs.fetch_add(1, Ordering::SeqCst);
        }
        *needs_newline = false;
        *len = size + buf.len() as u64;
        self.next_seq += n;
        for (i, rec) in changed {
            records[i] = rec;
        }
        Ok(records)
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

/// An exclusive `flock` on the journal, released on drop (it serialises appends between
/// cockpits; the plan's lock says who drives, this says who writes right now).
struct FileLock(std::os::unix::io::RawFd);

impl FileLock {
    /// The descriptor must outlive the guard (it is the writer's own file, dropped after it).
    fn exclusive(file: &File) -> std::io::Result<FileLock> {
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        loop {
            // SAFETY: flock on a descriptor we own; no memory is passed.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
                return Ok(FileLock(fd));
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; the descriptor is still open (see `exclusive`).
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

/// The last `seq` in a journal of `size` bytes and whether it ends with a newline. Reads the
/// tail only (a record is far smaller than 1 MiB); the whole file if the tail holds no record.
fn tail_state(file: &mut File, size: u64) -> std::io::Result<(Option<u64>, bool)> {
    let mut from = size.saturating_sub(1 << 20);
    loop {
        file.seek(SeekFrom::Start(from))?;
        let mut text = Vec::new();
        Read::by_ref(file)
            .take(size - from)
            .read_to_end(&mut text)?;
        let ends = text.ends_with(b"\n");
        let last = last_seq(&text);
        if last.is_some() || from == 0 {
            return Ok((last, ends || size == 0));
        }
        from = 0;
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
    redact_value_changed(v);
}

/// [`redact_value`]; returns whether anything was replaced.
fn redact_value_changed(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = crate::redact::redact(s) {
                *s = r;
                return true;
            }
            false
        }
        Value::Array(a) => a.iter_mut().fold(false, |c, v| redact_value_changed(v) | c),
        Value::Object(o) => {
            let mut changed = false;
            if o.keys()
                .any(|k| matches!(crate::redact::redact(k), std::borrow::Cow::Owned(_)))
            {
                let taken = std::mem::take(o);
                for (k, val) in taken {
                    o.insert(crate::redact::redact_string(k), val);
                }
                changed = true;
            }
            for val in o.values_mut() {
                changed |= redact_value_changed(val);
            }
            changed
        }
        _ => false,
    }
}

/// The line to write (no newline) and, when redaction changed anything, the record it holds
/// (`None`: the line holds `record` exactly, so the caller keeps it instead of parsing it back).
fn redacted_line(record: &Record) -> std::io::Result<(String, Option<Record>)> {
    let mut value = serde_json::to_value(record)
        .map_err(|e| std::io::Error::other(format!("cannot serialise a journal record: {e}")))?;
    let changed = redact_value_changed(&mut value);
    let line = serde_json::to_string(&value)
        .map_err(|e| std::io::Error::other(format!("cannot serialise a journal record: {e}")))?;
    let line = match crate::redact::redact(&line) {
        std::borrow::Cow::Borrowed(_) if !changed => return Ok((line, None)),
        std::borrow::Cow::Borrowed(_) => line,
        std::borrow::Cow::Owned(l) => l,
    };
    match serde_json::from_str::<Record>(&line) {
        Ok(written) => Ok((line, Some(written))),
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
            Ok((line, Some(withheld)))
        }
    }
}

fn event_name(ev: &Event) -> String {
    serde_json::to_value(ev)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "event".into())
}

/// A failed [`JournalWriter::append_batch`]: the events (none of them written, in order) and why.
pub type BatchError = (Vec<Event>, std::io::Error);

type OnDone = Box<dyn Fn(Result<Record, String>) + Send>;
type OnStatus = Box<dyn Fn(JournalStatus) + Send>;

/// The writer thread's state, for the header: events it could not write yet are kept in memory
/// and retried with backoff (a full disk, a hung NFS server…), never dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalStatus {
    /// `waiting` events are not on disk yet; the last attempt failed with `error`.
    Blocked { waiting: usize, error: String },
    /// Everything queued so far is on disk again.
    Durable,
}

/// First retry delay after a failed write; it doubles up to [`RETRY_MAX`].
pub const RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest delay between two retries.
pub const RETRY_MAX: Duration = Duration::from_secs(5);

enum Cmd {
    Event(Box<Event>),
}

struct Shared {
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    on_done: Arc<Mutex<OnDone>>,
    finished: Mutex<Option<mpsc::Receiver<()>>>,
    name: String,
    /// Events that could never be written (given up at close, or sent after it).
    lost: Arc<AtomicUsize>,
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
            self.shared.lost.fetch_add(1, Ordering::SeqCst);
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

    /// How many events could never be written (the session must not exit 0 then).
    pub fn lost(&self) -> usize {
        self.shared.lost.load(Ordering::SeqCst)
    }

    /// Flush what is queued and stop the writer (bounded wait: 5 s). Idempotent; affects every
    /// clone of the handle.
    pub fn close(&self) {
        self.close_within(CLOSE_TIMEOUT);
    }

    /// [`close`](Self::close) with another bound; returns whether the writer finished in time.
    /// Events still unwritten when the writer gives up are counted in [`lost`](Self::lost).
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
                // The thread may still write them, but nobody will wait for it: count them lost.
                self.shared.lost.fetch_add(1, Ordering::SeqCst);
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
    spawn_writer_with_status(writer, on_done, |_| {})
}

/// [`spawn_writer`], also reporting when the journal is blocked and when it is durable again.
///
/// A failed append is not an error for the event: it stays queued (in order, with everything
/// sent after it) and is retried with backoff ([`RETRY_MIN`] doubling to [`RETRY_MAX`]); each
/// failure reports [`JournalStatus::Blocked`] and the first success after it
/// [`JournalStatus::Durable`]. On close, the writer keeps retrying for up to `CLOSE_TIMEOUT`
/// less a second; what is still unwritten then goes to `on_done` as an error and is counted in
/// [`JournalHandle::lost`].
pub fn spawn_writer_with_status(
    writer: JournalWriter,
    on_done: impl Fn(Result<Record, String>) + Send + 'static,
    on_status: impl Fn(JournalStatus) + Send + 'static,
) -> JournalHandle {
    let (tx, rx) = mpsc::channel::<Cmd>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let on_done: Arc<Mutex<OnDone>> = Arc::new(Mutex::new(Box::new(on_done)));
    let on_status: OnStatus = Box::new(on_status);
    let name = writer.describe();
    let lost = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Shared {
        tx: Mutex::new(Some(tx)),
        on_done: on_done.clone(),
        finished: Mutex::new(Some(done_rx)),
        name: name.clone(),
        lost: lost.clone(),
    });
    let mut writer = writer;
    let spawned = std::thread::Builder::new()
        .name("journal-writer".into())
        .spawn(move || {
            let report = |r: Result<Record, String>| {
                let cb = on_done.lock().unwrap_or_else(|e| e.into_inner());
                cb(r);
            };
            let mut pending: VecDeque<Event> = VecDeque::new();
            let mut backoff = RETRY_MIN;
            // Set while blocked: when to try again.
            let mut retry_at: Option<Instant> = None;
            // Set once the handle is closed: when to give up on what is still pending.
            let mut give_up_at: Option<Instant> = None;
            loop {
                // 1. Wait for work: a new event, or the time of the next retry.
                if give_up_at.is_none() {
                    let got = match retry_at {
                        None => rx.recv().map_err(|_| true),
                        Some(at) => rx
                            .recv_timeout(at.saturating_duration_since(Instant::now()))
                            .map_err(|e| e == mpsc::RecvTimeoutError::Disconnected),
                    };
                    match got {
                        Ok(Cmd::Event(ev)) => pending.push_back(*ev),
                        Err(true) => {
                            give_up_at = Some(
                                Instant::now() + CLOSE_TIMEOUT.saturating_sub(Duration::from_secs(1)),
                            )
                        }
                        Err(false) => {}
                    }
                    while let Ok(Cmd::Event(ev)) = rx.try_recv() {
                        pending.push_back(*ev);
                    }
                } else if let Some(at) = retry_at {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                }
                if pending.is_empty() {
                    if give_up_at.is_some() {
                        break;
                    }
                    continue;
                }
                // 2. While blocked, new events only queue up until the retry is due.
                if retry_at.is_some_and(|at| Instant::now() < at) {
                    continue;
                }
                // 3. Group commit, in order: everything queued (up to MAX_BATCH) in one write and
                //    one fsync, then every record of the batch acknowledged; stop at a failure.
                let was_blocked = retry_at.is_some();
                let mut failed = None;
                while !pending.is_empty() {
                    // Whatever arrived meanwhile joins this batch.
                    while let Ok(Cmd::Event(ev)) = rx.try_recv() {
                        pending.push_back(*ev);
                    }
                    let take = pending.len().min(MAX_BATCH);
                    let batch: Vec<Event> = pending.drain(..take).collect();
                    match writer.append_batch(batch) {
                        Ok(recs) => recs.into_iter().for_each(|rec| report(Ok(rec))),
                        Err((back, e)) => {
                            // Not written: back to the front of the queue, in order.
                            for ev in back.into_iter().rev() {
                                pending.push_front(ev);
                            }
                            failed = Some(crate::redact::redact_string(e.to_string()));
                            break;
                        }
                    }
                }
                match failed {
                    None => {
                        retry_at = None;
                        backoff = RETRY_MIN;
                        if was_blocked {
                            log::info!(target: "journal", "{name}: writing again; every waiting event is on disk");
                            on_status(JournalStatus::Durable);
                        }
                    }
                    Some(error) => {
                        if !was_blocked {
                            log::error!(target: "journal", "{name}: {error}; keeping {} event(s) in memory and retrying", pending.len());
                        }
                        on_status(JournalStatus::Blocked {
                            waiting: pending.len(),
                            error,
                        });
                        retry_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(RETRY_MAX);
                    }
                }
                // 4. Closing and still failing: give up on what is left, loudly.
                if let Some(deadline) = give_up_at
                    && !pending.is_empty()
                    && Instant::now() + backoff.min(RETRY_MAX) > deadline
                {
                    lost.fetch_add(pending.len(), Ordering::SeqCst);
                    for ev in pending.drain(..) {
                        let msg = format!(
                            "{name}: event {} could never be written; it is NOT in the journal",
                            event_name(&ev)
                        );
                        log::error!(target: "journal", "{msg}");
                        report(Err(crate::redact::redact_string(msg)));
                    }
                    break;
                }
            }
            let _ = done_tx.send(());
        });
    if let Err(e) = spawned {
        // No thread: every send will report the failure through on_done.
        log::error!(target: "journal", "{}: cannot start the writer thread: {e}", shared.name);
        shared.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        shared
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
    JournalHandle { shared }
}
