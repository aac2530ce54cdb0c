//! One live cockpit per plan: an exclusive lock file holding pid, host, operator and time.
//!
//! # Semantics
//!
//! * The lock is a `flock(LOCK_EX | LOCK_NB)` on `<slug>.lock` next to the journals. The kernel
//!   releases it when the process dies, however it dies (`kill -9` included), so a stale lock
//!   file never blocks anyone: the JSON inside (`{pid, host, operator, since}`) is information
//!   about the holder, not the lock itself.
//! * If another process (or another open [`Lock`] in this process — `flock` locks belong to the
//!   open file description) holds it, [`Lock::acquire`] returns [`LockError::Held`] with the
//!   holder's details.
//! * `take_over = true` proceeds anyway: a warning naming the previous holder goes to the log, and
//!   a fresh lock file carrying our details — locked by us — is renamed over the old one. From then
//!   on, newcomers see us as the holder; the previous holder keeps running (nothing is sent to it)
//!   but no longer owns the file: when it exits it leaves our file alone. The previous holder is
//!   available from [`Lock::taken_over_from`] so it can be journaled.
//! * Dropping the [`Lock`] removes the file only if it is still ours (same inode and our pid),
//!   then releases the `flock`.
//! * A driver that was taken over finds out with [`Lock::check`]: the path no longer names the
//!   inode it locked. The cockpit checks before every mutating dispatch and on its 1 s clock tick,
//!   and turns into a read-only watcher when the lock is gone.
//! * In a shared state directory (`/var/lib/drcockpit`, `DRCOCKPIT_STATE_DIR`, `[journal] dir`)
//!   the lock file is group read-write ([`Lock::acquire_shared`]) so a colleague's cockpit can see
//!   who holds it; in the per-user directory it stays `0600`.
//! * `flock` is advisory and local: it does not protect a journal directory shared over NFS
//!   between hosts.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("plan locked by {operator}@{host} (pid {pid}, since {since}): {path}")]
    Held {
        pid: u32,
        host: String,
        operator: String,
        since: String,
        path: String,
    },
    #[error("{0}")]
    Io(String),
}

/// What the lock file says about its holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub operator: String,
    /// RFC 3339, UTC.
    pub since: String,
    /// Issue 13: the journal the holder writes, so a watcher can follow it (absent in lock
    /// files written before it, and until the driver has chosen its journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
}

/// Held while the session lives; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    info: LockInfo,
    taken_over_from: Option<LockInfo>,
}

impl Lock {
    /// Lock `path` for `operator` on `host`. The host name comes from the caller (the runtime
    /// reads it once, with the operator's name): this module does not look the machine up.
    pub fn acquire(
        path: &Path,
        operator: &str,
        host: &str,
        take_over: bool,
    ) -> Result<Lock, LockError> {
        Self::acquire_with(path, (operator, host), take_over, 0o600)
    }

    /// [`acquire`](Self::acquire) in a directory shared by a group: the lock file is `0660`.
    pub fn acquire_shared(
        path: &Path,
        operator: &str,
        host: &str,
        take_over: bool,
    ) -> Result<Lock, LockError> {
        Self::acquire_with(path, (operator, host), take_over, 0o660)
    }

    fn acquire_with(
        path: &Path,
        (operator, host): (&str, &str),
        take_over: bool,
        mode: u32,
    ) -> Result<Lock, LockError> {
        let io = |what: &str, e: std::io::Error| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (the state directory and the lock file must be writable by everyone who drives this plan: see the README, Install)"
            } else {
                ""
            };
            LockError::Io(format!("{}: {what}: {e}{hint}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_state_dir(parent, mode & 0o070 != 0)
                .map_err(|e| io("cannot create the lock directory", e))?;
        }
        let info = LockInfo {
            pid: std::process::id(),
            host: host.to_string(),
            operator: operator.to_string(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            journal: None,
        };
        // A holder that is releasing may unlink the file between our open and our flock; then we
        // hold a lock on a file nobody else can see. Retry until the inode we lock is the path's.
        for _ in 0..20 {
            let mut file =
                open_lock_file(path, mode).map_err(|e| io("cannot open the lock file", e))?;
            match try_flock_past_probes(&file) {
                Ok(true) => {
                    if !same_inode(&file, path) {
                        continue;
                    }
                    write_info(&mut file, &info)
                        .map_err(|e| io("cannot write the lock file", e))?;
                    return Ok(Lock {
                        file,
                        path: path.to_path_buf(),
                        info,
                        taken_over_from: None,
                    });
                }
                Ok(false) => {
                    let holder = read_holder_retrying(&mut file);
                    if !take_over {
                        return Err(LockError::Held {
                            pid: holder.pid,
                            host: holder.host,
                            operator: holder.operator,
                            since: holder.since,
                            path: path.display().to_string(),
                        });
                    }
                    log::warn!(
                        target: "safety",
                        "taking over the plan lock {} from {}@{} (pid {}, since {}); that cockpit keeps running but no longer owns the plan",
                        path.display(),
                        holder.operator,
                        holder.host,
                        holder.pid,
                        holder.since
                    );
                    let file = replace_lock_file(path, &info, mode)
                        .map_err(|e| io("cannot take over the lock file", e))?;
                    return Ok(Lock {
                        file,
                        path: path.to_path_buf(),
                        info,
                        taken_over_from: Some(holder),
                    });
                }
                Err(e) => return Err(io("cannot lock", e)),
            }
        }
        Err(LockError::Io(format!(
            "{}: the lock file keeps changing under us; try again",
            path.display()
        )))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Our details as written into the lock file.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Issue 13: name our journal in the lock file, for watchers to follow.
    pub fn publish_journal(&mut self, journal: &Path) -> Result<(), String> {
        self.info.journal = Some(journal.display().to_string());
        write_info(&mut self.file, &self.info)
            .map_err(|e| format!("{}: cannot write the lock file: {e}", self.path.display()))
    }

    /// The holder we took the lock from (`take_over = true` while it was held).
    pub fn taken_over_from(&self) -> Option<&LockInfo> {
        self.taken_over_from.as_ref()
    }

    /// Do we still hold the plan's lock? Two `stat`s: cheap enough for every clock tick and every
    /// mutating dispatch. `Err` says who holds it now, for the screen and the log.
    ///
    /// The lock is lost when the path no longer names the file we locked: a `--take-over` renamed
    /// its own file over ours, or someone removed it (then nobody can see us as the holder and a
    /// newcomer would drive too, so we must stop as well).
    pub fn check(&self) -> Result<(), String> {
        if same_inode(&self.file, &self.path) {
            return Ok(());
        }
        let who = match read_holder(&self.path) {
            Some(h) => format!(
                "taken over by {}@{} (pid {}, since {})",
                h.operator, h.host, h.pid, h.since
            ),
            None => "the lock file was removed".into(),
        };
        Err(format!(
            "this cockpit lost the plan's lock ({who}; {})",
            self.path.display()
        ))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove the file only if it is still ours: after a take-over it belongs to the newcomer.
        let ours = same_inode(&self.file, &self.path)
            && read_holder(&self.path).is_some_and(|h| h.pid == self.info.pid);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            log::warn!(target: "journal", "{}: cannot remove the lock file: {e}", self.path.display());
        }
        // Closing the descriptor (when `file` drops) releases the flock.
    }
}

/// Create the state directory (and its parents) if missing: `0700`, or for a shared one `2770`
/// whatever the umask (setgid, so files stay in the group; group-writable, so a colleague can
/// create the lock after ours is released). An existing directory is left as it is.
pub fn create_state_dir(dir: &Path, shared: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if dir.is_dir() {
        return Ok(());
    }
    let mode = if shared { 0o2770 } else { 0o700 };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)?;
    if shared {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Issue 13: is the plan driven right now? The holder's details when some process holds the
/// lock (a stale file left by a `kill -9` is not held: `None`). The probe is a shared, non-blocking
/// `flock` released at once; a driver starting at that instant waits it out
/// ([`try_flock_past_probes`]) rather than reading it as a holder.
pub fn held_by(path: &Path) -> Option<LockInfo> {
    let file = File::open(path).ok()?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        // SAFETY: as above.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        return None;
    }
    read_holder(path)
}

/// Read a lock file's holder details without locking (for display).
pub fn read_holder(path: &Path) -> Option<LockInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn open_lock_file(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)?;
    share_mode(&file, mode);
    Ok(file)
}

/// A group-shared file gets its group bits whatever the umask (a `0022` umask would make the
/// lock unwritable for the colleague who must be able to see and take it).
fn share_mode(file: &File, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if mode & 0o070 != 0
        && let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o777 != mode
        && meta.uid() == euid
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
    }
}

/// How long a starting driver waits out [`held_by`] probes (shared locks held for an instant)
/// before it reads the lock as held: 400 × 5 ms.
const PROBE_WAITS: u32 = 400;
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// [`try_flock`], except that a lock held only *shared* is not a holder: a driver always holds
/// it exclusively, and a shared one is a monitor or a watcher asking who drives ([`held_by`]),
/// which lets go at once. Without this a `live` starting at the instant of a probe was turned
/// into a watcher of nobody (issue 13).
fn try_flock_past_probes(file: &File) -> std::io::Result<bool> {
    let mut waited = 0;
    loop {
        let locked = try_flock(file)?;
        if locked || waited >= PROBE_WAITS || !only_shared(file) {
            return Ok(locked);
        }
        waited += 1;
        std::thread::sleep(PROBE_WAIT);
    }
}

/// Can we take a shared lock too (so nobody holds it exclusively)? Released at once.
fn only_shared(file: &File) -> bool {
    // SAFETY: flock on a descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        // SAFETY: as above.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
    }
    rc == 0
}

/// `Ok(true)` locked, `Ok(false)` held elsewhere.
fn try_flock(file: &File) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

fn same_inode(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn write_info(file: &mut File, info: &LockInfo) -> std::io::Result<()> {
    let text = serde_json::to_string(info).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(crate::redact::redact(&text).as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_data()
}

/// The holder has the flock but may not have written its details yet: give it a moment.
fn read_holder_retrying(file: &mut File) -> LockInfo {
    for attempt in 0..10 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok()
            && file.read_to_string(&mut text).is_ok()
            && let Ok(info) = serde_json::from_str::<LockInfo>(&text)
        {
            return info;
        }
        if attempt < 9 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    LockInfo {
        pid: 0,
        host: "unknown host".into(),
        operator: "unknown operator".into(),
        since: "unknown time".into(),
        journal: None,
    }
}

/// Take-over: a new, locked file with our details renamed over the old one.
fn replace_lock_file(path: &Path, info: &LockInfo, mode: u32) -> std::io::Result<File> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan.lock".into());
    let nanos = chrono::Utc::now().timestamp_subsec_nanos();
    let tmp = path.with_file_name(format!(".{file_name}.takeover-{}-{nanos}", info.pid));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    share_mode(&file, mode);
    let result = (|| {
        if !try_flock(&file)? {
            return Err(std::io::Error::other(
                "a fresh lock file is locked by someone else",
            ));
        }
        write_info(&mut file, info)?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(file)
}
