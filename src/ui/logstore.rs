//! The log pane's store. Our logger is installed as the `log` backend (nothing goes to stderr
//! while the terminal is ours); it redacts each record and keeps the newest [`DEPTH`] lines in
//! one [`LogStore`]. That store is the only one: the pane (filtered or not), its paging and `y`
//! read it. The runtime owns it — [`install`] hands it back — and gives it to the painter inside
//! [`LogPane`] (through `ui::View`), so drawing reads what it is handed and no process-wide state.
//!
//! With `--log-file` / `DRCOCKPIT_LOG`, the same redacted records also go to a file for bug
//! reports ([`open_log_file`]). The cockpit never waits for that file: lines go through a bounded
//! channel to a writer thread, and when the thread falls behind (a full disk, a hung NFS mount)
//! lines are dropped and counted, never queued without limit.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How many lines the log pane keeps. Small on purpose: a step's full output is in the journal,
/// the pane only shows the recent past (bounded memory with a 100,000-line step).
pub const DEPTH: usize = 2000;

/// One redacted log line, as the pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Position in the session's log (1, 2, …): paging is anchored to it, so lines arriving
    /// while the operator reads back do not move what they read.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub level: log::Level,
    pub target: String,
    pub text: String,
}

/// The newest [`DEPTH`] redacted log lines. Cloning shares the store (the logger writes into the
/// same one the runtime hands to the painter).
#[derive(Clone, Default)]
pub struct LogStore {
    ring: Arc<Mutex<Ring>>,
}

#[derive(Default)]
struct Ring {
    lines: VecDeque<LogLine>,
    last_seq: u64,
}

impl LogStore {
    pub fn new() -> LogStore {
        LogStore::default()
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep a redacted copy of a line (tests call this; the logger, which has redacted already,
    /// calls `remember`).
    pub fn push(&self, level: log::Level, target: &str, text: &str) {
        self.remember(
            level,
            &crate::redact::redact(target),
            &crate::redact::redact(text),
        );
    }

    fn remember(&self, level: log::Level, target: &str, text: &str) {
        let mut r = self.ring();
        r.last_seq += 1;
        let line = LogLine {
            seq: r.last_seq,
            at: Utc::now(),
            level,
            target: target.to_string(),
            text: text.to_string(),
        };
        if r.lines.len() >= DEPTH {
            r.lines.pop_front();
        }
        r.lines.push_back(line);
    }

    /// The newest line's position (`None` before the first line).
    pub fn newest(&self) -> Option<u64> {
        self.ring().lines.back().map(|l| l.seq)
    }

    /// The newest `max` lines whose target or text contains `filter` (case-insensitive), oldest
    /// first.
    pub fn matching(&self, filter: &str, max: usize) -> Vec<LogLine> {
        self.window(filter, None, 0, max)
    }

    /// Up to `max` lines matching `filter` (see [`LogStore::matching`]), oldest first: the
    /// window that ends `skip` matching lines before `until` (the newest line when `None`). The
    /// window never runs past the oldest line: asking further back shows the oldest `max`.
    pub fn window(
        &self,
        filter: &str,
        until: Option<u64>,
        skip: usize,
        max: usize,
    ) -> Vec<LogLine> {
        let needle = filter.to_lowercase();
        let r = self.ring();
        let hits = || {
            r.lines.iter().rev().filter(|l| {
                until.is_none_or(|u| l.seq <= u)
                    && (needle.is_empty()
                        || l.text.to_lowercase().contains(&needle)
                        || l.target.to_lowercase().contains(&needle))
            })
        };
        let skip = if skip == 0 {
            0
        } else {
            skip.min(hits().count().saturating_sub(max))
        };
        let mut out: Vec<LogLine> = hits().skip(skip).take(max).cloned().collect();
        out.reverse();
        out
    }
}

/// What the log pane draws from: the store and where the operator has paged to. The runtime owns
/// it, pages it on `Effect::LogView`, and hands it to the painter.
#[derive(Default)]
pub struct LogPane {
    pub store: LogStore,
    scroll: Mutex<Scroll>,
}

/// Where the pane is paged to: following the newest line (`anchor: None`), or `pages` pages back
/// from the line that was newest when paging started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scroll {
    pub anchor: Option<u64>,
    pub pages: usize,
}

impl LogPane {
    pub fn new(store: LogStore) -> LogPane {
        LogPane {
            store,
            scroll: Mutex::default(),
        }
    }

    fn scroll_mut(&self) -> MutexGuard<'_, Scroll> {
        self.scroll.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn scroll(&self) -> Scroll {
        *self.scroll_mut()
    }

    /// One page back (from following: the page before the newest).
    pub fn page_up(&self) {
        let newest = self.store.newest();
        let mut s = self.scroll_mut();
        match s.anchor {
            None => {
                s.anchor = newest;
                s.pages = usize::from(newest.is_some());
            }
            // Never further back than there are lines (each page holds at least one).
            Some(_) => s.pages = (s.pages + 1).min(DEPTH),
        }
    }

    /// One page towards the newest; it stays paused at the anchor (f follows again).
    pub fn page_down(&self) {
        let mut s = self.scroll_mut();
        s.pages = s.pages.saturating_sub(1);
    }

    /// Follow the newest lines again.
    pub fn follow(&self) {
        *self.scroll_mut() = Scroll::default();
    }

    /// The lines a pane `rows` high shows for `filter`, oldest first.
    pub fn visible(&self, filter: &str, rows: usize) -> Vec<LogLine> {
        let s = self.scroll();
        self.store
            .window(filter, s.anchor, s.pages.saturating_mul(rows), rows)
    }
}

/// The store the installed logger writes into (set once, read only by [`install`]).
static INSTALLED: OnceLock<LogStore> = OnceLock::new();
/// The debug log file, when asked for (set before the logger is installed).
static FILE: OnceLock<Arc<FileSink>> = OnceLock::new();

/// Lines the writer thread may be behind before new ones are dropped.
pub const FILE_QUEUE_DEPTH: usize = 4096;

struct PaneLogger {
    level: log::LevelFilter,
    file: Option<Arc<FileSink>>,
    store: LogStore,
}

impl log::Log for PaneLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        // Libraries (reqwest, hyper, rustls, …) only speak up when something is wrong: their
        // debug chatter would bury the operator's step output.
        let library =
            metadata.target().contains("::") && !metadata.target().starts_with("drcockpit");
        let limit = if library {
            self.level.min(log::LevelFilter::Warn)
        } else {
            self.level
        };
        metadata.level() <= limit
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = crate::redact::redact_string(record.args().to_string());
        let target = crate::redact::redact(record.target());
        self.store.remember(record.level(), &target, &text);
        if let Some(file) = &self.file {
            file.write(record.level(), &target, &text);
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file {
            file.flush(Duration::from_secs(1));
        }
    }
}

/// Which records the debug log keeps: `RUST_LOG`-style, a default level and `target=level`
/// entries separated by commas (`info,deploy-dr=debug`); the longest matching target prefix
/// wins. Levels: off, error, warn, info, debug, trace.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelSpec {
    default: log::LevelFilter,
    targets: Vec<(String, log::LevelFilter)>,
}

impl LevelSpec {
    pub fn parse(spec: &str) -> Result<LevelSpec, String> {
        let level = |s: &str| {
            s.trim().parse::<log::LevelFilter>().map_err(|_| {
                format!(
                    "log level `{}`: expected off, error, warn, info, debug or trace",
                    s.trim()
                )
            })
        };
        let mut out = LevelSpec {
            default: log::LevelFilter::Debug,
            targets: Vec::new(),
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((target, l)) => out.targets.push((target.trim().to_string(), level(l)?)),
                None => out.default = level(part)?,
            }
        }
        Ok(out)
    }

    pub fn allows(&self, level: log::Level, target: &str) -> bool {
        let limit = self
            .targets
            .iter()
            .filter(|(t, _)| target.starts_with(t.as_str()))
            .max_by_key(|(t, _)| t.len())
            .map_or(self.default, |(_, l)| *l);
        level <= limit
    }
}

enum FileMsg {
    Line(String),
    /// Write out what is buffered, then answer.
    Flush(SyncSender<()>),
}

/// The debug log file: a bounded queue to a writer thread that owns the file.
pub struct FileSink {
    path: PathBuf,
    spec: LevelSpec,
    tx: SyncSender<FileMsg>,
    dropped: AtomicU64,
}

impl FileSink {
    /// Open (append, created 0600: the records are redacted but still operational detail) and
    /// start the writer thread.
    pub fn open(path: &Path, spec: LevelSpec) -> Result<Arc<FileSink>, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open the debug log {}: {e}", path.display()))?;
        let (tx, rx) = sync_channel(FILE_QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("drcockpit-log-file".into())
            .spawn(move || write_loop(file, rx))
            .map_err(|e| format!("cannot start the debug log writer: {e}"))?;
        let sink = Arc::new(FileSink {
            path: path.to_path_buf(),
            spec,
            tx,
            dropped: AtomicU64::new(0),
        });
        let _ = sink.tx.try_send(FileMsg::Line(format!(
            "{} ---- drcockpit {} log opened (pid {})\n",
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            crate::cli::LONG_VERSION,
            std::process::id()
        )));
        Ok(sink)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queue one redacted line; never waits. A full queue drops it (counted, said later).
    pub fn write(&self, level: log::Level, target: &str, text: &str) {
        if !self.spec.allows(level, target) {
            return;
        }
        let mut line = String::new();
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            line.push_str(&format!(
                "{} WARN  drcockpit: {dropped} line(s) dropped: the log file writer fell behind\n",
                Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
            ));
        }
        line.push_str(&format!(
            "{} {:<5} {target}: {text}\n",
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            level
        ));
        match self.tx.try_send(FileMsg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1 + dropped, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Wait up to `wait` for the writer to write out what was queued (at exit).
    pub fn flush(&self, wait: Duration) {
        let (ack, done) = sync_channel(1);
        if send_within(&self.tx, FileMsg::Flush(ack), wait) {
            let _ = done.recv_timeout(wait);
        }
    }
}

/// `SyncSender` has no `send_timeout` on stable: retry `try_send` until `wait` has passed.
fn send_within(tx: &SyncSender<FileMsg>, mut msg: FileMsg, wait: Duration) -> bool {
    let until = std::time::Instant::now() + wait;
    loop {
        match tx.try_send(msg) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(m)) => {
                if std::time::Instant::now() >= until {
                    return false;
                }
                msg = m;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// The writer thread: buffered, flushed whenever the queue runs dry. A failed write (a full
/// disk) is retried on the next line; nothing here can reach the UI.
fn write_loop(file: std::fs::File, rx: Receiver<FileMsg>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                FileMsg::Line(l) => {
                    let _ = out.write_all(l.as_bytes());
                }
                FileMsg::Flush(ack) => {
                    let _ = out.flush();
                    let _ = ack.try_send(());
                }
            }
            next = rx.try_recv().ok();
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

/// `--log-file` / `DRCOCKPIT_LOG`: send the log pane's records (redacted) to `path` as well,
/// at the levels `spec` allows. Call before the logger is installed; the first call wins.
pub fn open_log_file(path: &Path, spec: &str) -> Result<(), String> {
    let spec = LevelSpec::parse(spec)?;
    let sink = FileSink::open(path, spec)?;
    let _ = FILE.set(sink);
    Ok(())
}

/// Write out the debug log before the process exits (waits at most a second).
pub fn flush_log_file() {
    if let Some(f) = FILE.get() {
        f.flush(Duration::from_secs(1));
    }
}

/// Install the pane logger as the global logger at `level`. Nothing is written to stderr: every
/// record goes to the log pane (and, through the runtime, step output also to the journal).
/// Returns the store the logger writes into, for the runtime to hand to the painter. Calling it
/// twice is harmless (the same store comes back).
pub fn install(level: log::LevelFilter) -> Result<LogStore, String> {
    if let Some(store) = INSTALLED.get() {
        log::set_max_level(level);
        return Ok(store.clone());
    }
    let store = LogStore::new();
    log::set_boxed_logger(Box::new(PaneLogger {
        level,
        file: FILE.get().cloned(),
        store: store.clone(),
    }))
    .map_err(|e| format!("cannot install the log pane as the logger: {e}"))?;
    let store = INSTALLED.get_or_init(|| store).clone();
    log::set_max_level(level);
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_filters_case_insensitively_and_redacts() {
        crate::redact::register("hunter2-logstore-secret", "env:LOGSTORE_TEST");
        let store = LogStore::new();
        store.push(log::Level::Info, "promote", "SELECT pg_promote() ok");
        store.push(
            log::Level::Warn,
            "dns",
            "token hunter2-logstore-secret refused",
        );
        let hits = store.matching("PG_PROMOTE", 10);
        assert!(hits.iter().any(|l| l.target == "promote"));
        let dns = store.matching("refused", 10);
        assert!(
            dns.iter()
                .all(|l| !l.text.contains("hunter2-logstore-secret"))
        );
        assert!(!dns.is_empty());
    }

    #[test]
    fn level_spec_reads_rust_log_style_directives() {
        let s = LevelSpec::parse("info,deploy-dr=debug,drcockpit::clients=warn").expect("spec");
        assert!(s.allows(log::Level::Info, "promote"));
        assert!(!s.allows(log::Level::Debug, "promote"));
        assert!(s.allows(log::Level::Debug, "deploy-dr"));
        assert!(!s.allows(log::Level::Info, "drcockpit::clients::http"));
        assert!(LevelSpec::parse("loud").is_err());
    }

    #[test]
    fn the_debug_log_file_receives_redacted_records_and_never_the_secret() {
        crate::redact::register("hunter2-logfile-secret", "env:LOGFILE_TEST");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("debug.log");
        let sink = FileSink::open(&path, LevelSpec::parse("info").expect("spec")).expect("open");
        let logger = PaneLogger {
            level: log::LevelFilter::Debug,
            file: Some(sink.clone()),
            store: LogStore::new(),
        };
        let log = |level, text: &str| {
            log::Log::log(
                &logger,
                &log::Record::builder()
                    .args(format_args!("{text}"))
                    .level(level)
                    .target("point-db-at-dr")
                    .build(),
            )
        };
        log(
            log::Level::Warn,
            "login with hunter2-logfile-secret refused",
        );
        log(log::Level::Debug, "below the file's level");
        log::Log::flush(&logger);
        let text = std::fs::read_to_string(&path).expect("read log");
        assert!(text.contains("drcockpit"), "{text}");
        assert!(text.contains("WARN  point-db-at-dr: login with"), "{text}");
        assert!(!text.contains("hunter2-logfile-secret"), "{text}");
        assert!(!text.contains("below the file's level"), "{text}");
    }

    #[test]
    fn one_store_keeps_depth_lines_and_pages_anchored_to_the_newest_seen() {
        let store = LogStore::new();
        for n in 0..DEPTH + 10 {
            store.push(log::Level::Info, "step", &format!("line {n}"));
        }
        assert_eq!(store.matching("", usize::MAX).len(), DEPTH);
        let pane = LogPane::new(store.clone());
        let last = |v: Vec<LogLine>| v.last().map(|l| l.text.clone()).unwrap_or_default();
        assert_eq!(last(pane.visible("", 5)), format!("line {}", DEPTH + 9));
        pane.page_up();
        assert_eq!(last(pane.visible("", 5)), format!("line {}", DEPTH + 4));
        // New lines do not move a paused view.
        store.push(log::Level::Info, "step", "newer");
        assert_eq!(last(pane.visible("", 5)), format!("line {}", DEPTH + 4));
        pane.page_down();
        assert_eq!(last(pane.visible("", 5)), format!("line {}", DEPTH + 9));
        for _ in 0..10 * DEPTH {
            pane.page_up();
        }
        assert_eq!(
            pane.visible("", 5)[0].text,
            "line 11",
            "never past the oldest"
        );
        pane.follow();
        assert_eq!(last(pane.visible("", 5)), "newer");
    }
}
