//! Where journals and locks live, and finding the last session of a plan.
//!
//! Layout (flat): `DIR/<key>-<YYYYMMDDTHHMMSSZ>[-N].jsonl` per session and `DIR/<key>.lock`
//! next to them, where `<key>` is [`plan_key`] (the plan's name: slug + short hash, so every
//! checkout of the plan, by every user, finds the same lock) and DIR is [`state_dir`]'s choice
//! unless `--journal` says otherwise.
//!
//! The lock belongs to the plan, not to whoever opened it: a lock in one user's home does not
//! stop a colleague (or `sudo`) from driving the same plan. So the state directory is, in order:
//! the plan's `[journal] dir`, `DRCOCKPIT_STATE_DIR`, [`SYSTEM_DIR`] when it exists and is
//! writable, and only then the per-user [`default_dir`] — with a warning that the lock is not
//! shared.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Event, Record};

/// Longest slug [`plan_slug`] returns.
pub const SLUG_MAX: usize = 48;

/// The shared state directory every operator of the host can use (see the README, Install).
pub const SYSTEM_DIR: &str = "/var/lib/drcockpit";

/// Where the state directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSource {
    /// `[journal] dir` in the plan.
    Plan,
    /// `DRCOCKPIT_STATE_DIR`.
    Env,
    /// [`SYSTEM_DIR`].
    System,
    /// The per-user directory: the lock is not shared with other accounts.
    User,
}

/// The directory holding a plan's lock and journals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    pub dir: PathBuf,
    pub source: StateSource,
}

impl StateDir {
    /// Shared with other accounts (files are created group read-write).
    pub fn shared(&self) -> bool {
        self.source != StateSource::User
    }

    /// Where it came from, in words (for `check` and the log).
    pub fn describe(&self) -> String {
        let why = match self.source {
            StateSource::Plan => "the plan's [journal] dir",
            StateSource::Env => "DRCOCKPIT_STATE_DIR",
            StateSource::System => "the shared system directory",
            StateSource::User => "per-user directory",
        };
        format!("{} ({why})", self.dir.display())
    }

    /// The warning to show when the lock is not shared with other accounts.
    pub fn warning(&self) -> Option<String> {
        (self.source == StateSource::User).then(|| {
            format!(
                "the plan's lock is per user ({}): another account can drive this plan at the same time — create {SYSTEM_DIR} (README, Install), set DRCOCKPIT_STATE_DIR or [journal] dir",
                self.dir.display()
            )
        })
    }
}

/// The state directory for a plan whose `[journal] dir` is `plan_dir` (see the module doc).
pub fn state_dir(plan_dir: Option<&Path>) -> StateDir {
    state_dir_from(
        plan_dir,
        std::env::var_os("DRCOCKPIT_STATE_DIR"),
        Path::new(SYSTEM_DIR),
        default_dir(),
    )
}

/// [`state_dir`] with everything passed in (testable without touching the process env or /var).
pub fn state_dir_from(
    plan_dir: Option<&Path>,
    env_dir: Option<OsString>,
    system: &Path,
    user: PathBuf,
) -> StateDir {
    if let Some(d) = plan_dir.filter(|d| !d.as_os_str().is_empty()) {
        return StateDir {
            dir: d.to_path_buf(),
            source: StateSource::Plan,
        };
    }
    if let Some(d) = env_dir.filter(|d| !d.is_empty()) {
        return StateDir {
            dir: PathBuf::from(d),
            source: StateSource::Env,
        };
    }
    if system.is_dir() && writable(system) {
        return StateDir {
            dir: system.to_path_buf(),
            source: StateSource::System,
        };
    }
    StateDir {
        dir: user,
        source: StateSource::User,
    }
}

/// May this process create files in `dir`?
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// The plan's identity in file names: its slug and a short hash of its exact name, so two plans
/// whose names slug alike (`Shop/EU`, `shop eu`) never share a lock.
pub fn plan_key(name: &str) -> String {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    format!("{}-{}", plan_slug(name), &hash[..8])
}

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
