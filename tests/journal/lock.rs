//! The journal lock: the holder, taking over, stale locks.

use super::*;

// ---------------------------------------------------------------- lock

#[test]
fn lock_held_by_another_open_lock_reports_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("locks/prod.lock");
    let first = Lock::acquire(&path, "alice", &host(), false).expect("first lock");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(info["operator"], "alice");
    assert_eq!(info["pid"], std::process::id());
    assert!(info["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(info["since"].as_str().is_some_and(|s| s.ends_with('Z')));

    match Lock::acquire(&path, "bob", &host(), false) {
        Err(LockError::Held {
            pid,
            host,
            operator,
            since,
            path: p,
        }) => {
            assert_eq!(pid, std::process::id());
            assert_eq!(operator, "alice");
            assert_eq!(host, drcockpit::app::state::hostname());
            assert_eq!(since, first.info().since);
            assert!(p.ends_with("prod.lock"));
        }
        Err(e) => panic!("expected Held, got {e}"),
        Ok(_) => panic!("a second lock was granted"),
    }
    drop(first);
    assert!(!path.exists(), "the lock file is removed on drop");
    let again = Lock::acquire(&path, "bob", &host(), false).expect("released on drop");
    assert_eq!(again.info().operator, "bob");
}

#[test]
fn take_over_replaces_the_holder_and_the_old_holder_leaves_the_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prod.lock");
    let alice = Lock::acquire(&path, "alice", &host(), false).expect("alice");
    let bob = Lock::acquire(&path, "bob", &host(), true).expect("bob takes over");
    assert_eq!(
        bob.taken_over_from().map(|h| h.operator.as_str()),
        Some("alice")
    );
    match Lock::acquire(&path, "carol", &host(), false) {
        Err(LockError::Held { operator, .. }) => assert_eq!(operator, "bob"),
        other => panic!(
            "expected Held by bob, got {:?}",
            other.map(|l| l.info().clone())
        ),
    }
    drop(alice);
    assert!(
        path.exists(),
        "the previous holder must not remove the new holder's file"
    );
    match Lock::acquire(&path, "carol", &host(), false) {
        Err(LockError::Held { operator, .. }) => assert_eq!(operator, "bob"),
        other => panic!(
            "expected Held by bob, got {:?}",
            other.map(|l| l.info().clone())
        ),
    }
    drop(bob);
    assert!(!path.exists());
    Lock::acquire(&path, "carol", &host(), false).expect("free again");
}

#[test]
fn stale_lock_file_without_a_holder_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prod.lock");
    // A kill -9 leaves the file but no flock.
    std::fs::write(
        &path,
        r#"{"pid":1,"host":"gone","operator":"zed","since":"2020-01-01T00:00:00Z"}"#,
    )
    .expect("write");
    let l = Lock::acquire(&path, "alice", &host(), false).expect("stale file is not a lock");
    assert!(l.taken_over_from().is_none());
    assert_eq!(paths_holder(&path), "alice");
}

fn paths_holder(path: &Path) -> String {
    drcockpit::journal::lock::read_holder(path)
        .map(|h| h.operator)
        .unwrap_or_default()
}
