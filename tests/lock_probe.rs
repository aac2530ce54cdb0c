//! Issue 13 leftover: a monitor or a watcher asking who drives a plan (`lock::held_by`, a shared
//! `flock` for an instant) never turns a driver starting at that instant away.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::Duration;

use drcockpit::journal::lock::{self, Lock};

/// Hold the lock file shared, exactly as `lock::held_by` does while it asks who drives.
fn probe(path: &Path) -> File {
    let f = File::open(path).expect("open the lock file");
    // SAFETY: flock on a descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    assert_eq!(rc, 0, "the probe takes its shared lock");
    f
}

/// A `live` starting at the instant a monitor probes the lock is not refused (it was: the
/// probe's shared lock read as a holder, and the new cockpit became a read-only watcher of a
/// stale lock file's "driver").
#[test]
fn a_probe_of_who_drives_never_turns_a_starting_driver_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shop.lock");
    // What a driver killed with -9 leaves: details, nobody holding it.
    std::fs::write(
        &path,
        r#"{"pid":1,"host":"old-bastion","operator":"gone","since":"2026-01-01T00:00:00Z"}"#,
    )
    .expect("write a stale lock file");
    assert!(lock::held_by(&path).is_none(), "a stale file is not held");
    let held = probe(&path);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
    });
    let got = Lock::acquire(&path, "alice", "bastion-1", false);
    release.join().expect("probe thread");
    let got = got.unwrap_or_else(|e| panic!("a starting driver was refused by a probe: {e}"));
    assert!(got.taken_over_from().is_none(), "nobody was taken over");
    assert_eq!(
        lock::held_by(&path).map(|h| h.operator),
        Some("alice".to_string())
    );
}

/// A monitor probing over and over while drivers come and go: every driver gets the lock.
#[test]
fn drivers_start_while_a_monitor_keeps_probing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shop.lock");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = lock::held_by(&path);
            }
        })
    };
    let mut refused = Vec::new();
    for i in 0..200 {
        match Lock::acquire(&path, "alice", "bastion-1", false) {
            Ok(l) => drop(l),
            Err(e) => refused.push(format!("{i}: {e}")),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    prober.join().expect("prober");
    assert!(refused.is_empty(), "refused by a probe: {refused:?}");
}

/// A real driver still refuses a second one at once, probe or not.
#[test]
fn a_real_driver_is_still_reported_as_the_holder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shop.lock");
    let _alice = Lock::acquire(&path, "alice", "bastion-1", false).expect("alice drives");
    match Lock::acquire(&path, "bob", "bastion-2", false) {
        Err(lock::LockError::Held { operator, .. }) => assert_eq!(operator, "alice"),
        other => panic!("bob must be refused: {other:?}"),
    }
}
