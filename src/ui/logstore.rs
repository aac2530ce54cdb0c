//! The log pane's store: tui-logger installed as the `log` backend (nothing goes to stderr while
//! the terminal is ours). Everything logged passes through the redactor first.
//!
//! A thin logger sits in front of tui-logger: it redacts each message, keeps a bounded copy of
//! the newest lines (so the pane can show only the lines matching the operator's filter, which
//! tui-logger itself cannot do), and forwards the redacted record to tui-logger's buffer.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex, OnceLock};

use chrono::{DateTime, Utc};

/// How many lines the filter copy keeps.
pub const MIRROR_DEPTH: usize = 2000;

/// How many lines tui-logger's buffer keeps (its default is 10,000). Both stores stay small: a
/// step's full output is in the journal, the pane only shows the recent past (bounded memory
/// with a 100,000-line step).
pub const PANE_DEPTH: usize = 2000;

/// One redacted log line, as the filtered view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: log::Level,
    pub target: String,
    pub text: String,
}

static MIRROR: LazyLock<Mutex<VecDeque<LogLine>>> =
    LazyLock::new(|| Mutex::new(VecDeque::with_capacity(256)));
static INSTALLED: OnceLock<()> = OnceLock::new();

struct PaneLogger {
    level: log::LevelFilter,
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
        remember(record.level(), &target, &text);
        tui_logger::Drain::new().log(
            &log::Record::builder()
                .args(format_args!("{text}"))
                .level(record.level())
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {}
}

/// Keep a redacted copy of a line for the filtered view (tests call this; the logger, which has
/// redacted already, calls `remember`).
pub fn push(level: log::Level, target: &str, text: &str) {
    remember(
        level,
        &crate::redact::redact(target),
        &crate::redact::redact(text),
    );
}

fn remember(level: log::Level, target: &str, text: &str) {
    let line = LogLine {
        at: Utc::now(),
        level,
        target: target.to_string(),
        text: text.to_string(),
    };
    let mut m = MIRROR.lock().unwrap_or_else(|e| e.into_inner());
    if m.len() >= MIRROR_DEPTH {
        m.pop_front();
    }
    m.push_back(line);
}

/// The newest `max` lines whose target or text contains `filter` (case-insensitive), oldest first.
pub fn matching(filter: &str, max: usize) -> Vec<LogLine> {
    let needle = filter.to_lowercase();
    let m = MIRROR.lock().unwrap_or_else(|e| e.into_inner());
    let mut out: Vec<LogLine> = m
        .iter()
        .rev()
        .filter(|l| {
            needle.is_empty()
                || l.text.to_lowercase().contains(&needle)
                || l.target.to_lowercase().contains(&needle)
        })
        .take(max)
        .cloned()
        .collect();
    out.reverse();
    out
}

/// Install the pane logger as the global logger at `level`. Nothing is written to stderr: every
/// record goes to the log pane (and, through the runtime, step output also to the journal).
/// Calling it twice is harmless.
pub fn install(level: log::LevelFilter) -> Result<(), String> {
    if INSTALLED.get().is_some() {
        log::set_max_level(level);
        tui_logger::set_default_level(level);
        return Ok(());
    }
    log::set_boxed_logger(Box::new(PaneLogger { level }))
        .map_err(|e| format!("cannot install the log pane as the logger: {e}"))?;
    let _ = INSTALLED.set(());
    tui_logger::set_buffer_depth(PANE_DEPTH);
    log::set_max_level(level);
    tui_logger::set_default_level(level);
    // No mover thread: the draw loop calls tui_logger::move_events() before every frame (at
    // least once a second, and after every batch of messages, each batch far smaller than
    // tui-logger's 1,000-line hot buffer), so an idle cockpit has no 50 Hz wake-up.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_filters_case_insensitively_and_redacts() {
        crate::redact::register("hunter2-logstore-secret", "env:LOGSTORE_TEST");
        push(log::Level::Info, "promote", "SELECT pg_promote() ok");
        push(
            log::Level::Warn,
            "dns",
            "token hunter2-logstore-secret refused",
        );
        let hits = matching("PG_PROMOTE", 10);
        assert!(hits.iter().any(|l| l.target == "promote"));
        let dns = matching("refused", 10);
        assert!(
            dns.iter()
                .all(|l| !l.text.contains("hunter2-logstore-secret"))
        );
        assert!(!dns.is_empty());
    }
}
