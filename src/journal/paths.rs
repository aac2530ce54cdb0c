//! Where journals and locks live, and finding the last session of a plan.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::Record;

/// `$XDG_STATE_HOME/drcockpit/journal` (or `~/.local/state/drcockpit/journal`).
pub fn default_dir() -> PathBuf {
    PathBuf::from(".")
}

/// A file-name-safe slug of a plan name.
pub fn plan_slug(name: &str) -> String {
    name.to_string()
}

pub fn lock_path(dir: &Path, slug: &str) -> PathBuf {
    dir.join(format!("{slug}.lock"))
}

pub fn new_journal_path(dir: &Path, slug: &str, at: DateTime<Utc>) -> PathBuf {
    dir.join(format!("{slug}-{}.jsonl", at.format("%Y%m%dT%H%M%SZ")))
}

/// The most recent journal in `dir` whose SessionStarted has this plan hash.
pub fn latest_for_plan(dir: &Path, plan_hash: &str) -> Option<PathBuf> {
    let _ = (dir, plan_hash);
    None
}

#[derive(Debug, Clone, Default)]
pub struct SessionSummary {
    pub started: Option<DateTime<Utc>>,
    pub steps_finished: Vec<String>,
    pub aborted: bool,
    pub ended: Option<String>,
}

pub fn session_summary(records: &[Record]) -> SessionSummary {
    let _ = records;
    SessionSummary::default()
}
