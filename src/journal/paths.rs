//! Where journals and locks live, and finding the last session of a plan.
//!
//! Layout (flat): `DIR/<slug>-<YYYYMMDDTHHMMSSZ>[-N].jsonl` per session and `DIR/<slug>.lock`
//! next to them, where DIR is [`default_dir`] unless `--journal` says otherwise.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Event, Record};

/// Longest slug [`plan_slug`] returns.
pub const SLUG_MAX: usize = 48;

/// `$XDG_STATE_HOME/drcockpit/journal` (or `~/.local/state/drcockpit/journal`).
///
/// A relative or empty `XDG_STATE_HOME` is ignored, as the XDG spec asks. Without `HOME`, the
/// home directory comes from the password database; failing that, `./.drcockpit/journal`.
pub fn default_dir() -> PathBuf {
    dir_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// [`default_dir`] with the environment passed in (testable without touching the process env).
pub fn dir_from(xdg_state_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    let abs = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(state) = abs(xdg_state_home) {
        return state.join("drcockpit").join("journal");
    }
    match abs(home).or_else(home_from_passwd) {
        Some(home) => home
            .join(".local")
            .join("state")
            .join("drcockpit")
            .join("journal"),
        None => PathBuf::from(".drcockpit").join("journal"),
    }
}

fn home_from_passwd() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: `pwd` and `buf` outlive the call; getpwuid_r writes only within `buf.len()` bytes
    // and sets `result` to null or to `&mut pwd`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        let dir = CStr::from_ptr(pwd.pw_dir);
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes()));
        path.is_absolute().then_some(path)
    }
}

/// A file-name-safe slug of a plan name: lowercase ASCII letters, digits and single `-`, no
/// leading or trailing `-`, at most [`SLUG_MAX`] characters, never empty (`plan`).
pub fn plan_slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len().min(SLUG_MAX));
    for c in name.chars() {
        if slug.len() >= SLUG_MAX {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "plan".to_string()
    } else {
        slug.to_string()
    }
}

pub fn lock_path(dir: &Path, slug: &str) -> PathBuf {
    dir.join(format!("{slug}.lock"))
}

/// A journal path for a new session, unique even when two sessions start in the same second
/// (`…Z.jsonl`, `…Z-2.jsonl`, `…Z-3.jsonl`…). The name is reserved by creating the empty file
/// (mode 0600, directory created 0700) with `O_EXCL`, so two processes can never get the same one;
/// if the directory cannot be created, the first free-looking name is returned and opening it
/// reports the error.
pub fn new_journal_path(dir: &Path, slug: &str, at: DateTime<Utc>) -> PathBuf {
    let stamp = at.format("%Y%m%dT%H%M%SZ");
    let name = |n: u32| {
        if n <= 1 {
            dir.join(format!("{slug}-{stamp}.jsonl"))
        } else {
            dir.join(format!("{slug}-{stamp}-{n}.jsonl"))
        }
    };
    let can_reserve = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .is_ok();
    for n in 1..10_000 {
        let path = name(n);
        if !can_reserve {
            if !path.exists() {
                return path;
            }
            continue;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => return path,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return path,
        }
    }
    name(10_000)
}

/// The most recent live journal in `dir` whose SessionStarted has this plan hash ("most recent" =
/// latest record written; ties broken by file name). Unreadable or damaged journals are skipped
/// with a warning in the log.
pub fn latest_for_plan(dir: &Path, plan_hash: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut best: Option<(DateTime<Utc>, PathBuf)> = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let journal = match super::read::read(&path) {
            Ok(j) => j,
            Err(e) => {
                log::warn!(target: "journal", "skipping {}: {e}", path.display());
                continue;
            }
        };
        let matches = journal.records.iter().any(|r| {
            matches!(&r.event, Event::SessionStarted { plan_hash: h, mode, .. } if h == plan_hash && mode == "live")
        });
        let Some(last) = journal.records.iter().map(|r| r.at).max() else {
            continue;
        };
        if !matches {
            continue;
        }
        let newer = match &best {
            None => true,
            Some((t, p)) => last > *t || (last == *t && path > *p),
        };
        if newer {
            best = Some((last, path));
        }
    }
    best.map(|(_, p)| p)
}

/// What a journal says about its session(s), for the resume question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionSummary {
    /// When the first session in the journal started.
    pub started: Option<DateTime<Utc>>,
    /// Steps whose latest state is finished: the last `StepFinished` was ok, or the step was
    /// skipped, done by hand, approved or marked done (and not started again since).
    pub steps_finished: Vec<String>,
    /// The latest session was aborted.
    pub aborted: bool,
    /// The latest session's `SessionEnded` reason (`None` if it never ended: a crash).
    pub ended: Option<String>,
}

impl SessionSummary {
    /// The checklist was neither completed nor aborted: worth offering a resume.
    pub fn unfinished(&self) -> bool {
        !self.aborted && self.ended.as_deref() != Some("completed")
    }
}

pub fn session_summary(records: &[Record]) -> SessionSummary {
    let mut s = SessionSummary::default();
    let mut finished: HashMap<&str, bool> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for r in records {
        let step_done = match &r.event {
            Event::SessionStarted { .. } => {
                s.started.get_or_insert(r.at);
                // A resumed session: its own end and abort are what count.
                s.aborted = false;
                s.ended = None;
                None
            }
            Event::Aborted { .. } => {
                s.aborted = true;
                None
            }
            Event::SessionEnded { reason } => {
                s.ended = Some(reason.clone());
                None
            }
            Event::StepStarted { step, .. } => Some((step, false)),
            Event::StepFinished { step, ok, .. } => Some((step, *ok)),
            Event::Skipped { step, .. }
            | Event::ManualDone { step, .. }
            | Event::Approved { step, .. }
            | Event::MarkedDone { step, .. } => Some((step, true)),
            _ => None,
        };
        if let Some((step, done)) = step_done {
            if !finished.contains_key(step.as_str()) {
                order.push(step);
            }
            finished.insert(step, done);
        }
    }
    s.steps_finished = order
        .into_iter()
        .filter(|id| finished.get(id) == Some(&true))
        .map(str::to_string)
        .collect();
    s
}
