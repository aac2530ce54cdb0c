//! Issue 13 leftovers around the hand-over between cockpits: the driver a watcher becomes by a
//! take-over keeps the display options it was started with, and a monitor or watcher asking
//! who drives (a shared `flock` for an instant) never turns a starting driver away.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drcockpit::journal::lock::{self, Lock};
use drcockpit::runtime::follow::{Relaunch, take_over_command};

fn args(cmd: &std::process::Command) -> Vec<String> {
    cmd.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// `T` + TAKEOVER re-runs the cockpit as `live PLAN --take-over --journal …`: the theme, the
/// mouse setting and the debug log the operator started with come along (the operator's name and
/// the state directory come from the environment, which `exec` keeps).
#[test]
fn take_over_restarts_with_the_operators_display_options() {
    let opts = Relaunch {
        theme: Some("high-contrast".into()),
        no_mouse: true,
        log_file: Some(PathBuf::from("/tmp/bob-debug.log")),
        log_level: "info".into(),
    };
    let cmd = take_over_command(
        Path::new("/usr/bin/drcockpit"),
        &opts,
        Path::new("plans/shop.toml"),
        Path::new("/var/lib/drcockpit/shop.jsonl"),
        true,
    );
    assert_eq!(cmd.get_program(), "/usr/bin/drcockpit");
    assert_eq!(
        args(&cmd),
        [
            "--theme",
            "high-contrast",
            "--no-mouse",
            "--log-file",
            "/tmp/bob-debug.log",
            "--log-level",
            "info",
            "--journal",
            "/var/lib/drcockpit/shop.jsonl",
            "live",
            "plans/shop.toml",
            "--drill",
            "--take-over",
        ]
    );
    assert_eq!(
        cmd.get_envs().count(),
        0,
        "the environment (operator, state directory) is inherited unchanged"
    );
    // Started with nothing special: nothing added.
    let plain = take_over_command(
        Path::new("drcockpit"),
        &Relaunch::default(),
        Path::new("p.toml"),
        Path::new("j.jsonl"),
        false,
    );
    assert_eq!(
        args(&plain),
        ["--journal", "j.jsonl", "live", "p.toml", "--take-over"]
    );
}

/// The argument list parses as the command line it means: `live` with `--take-over`, and the
/// global options in place.
#[test]
fn take_over_command_line_parses_back_to_the_same_options() {
    use clap::Parser;
    let opts = Relaunch {
        theme: Some("light".into()),
        no_mouse: false,
        log_file: None,
        log_level: "debug".into(),
    };
    let cmd = take_over_command(
        Path::new("drcockpit"),
        &opts,
        Path::new("p.toml"),
        Path::new("j.jsonl"),
        false,
    );
    let cli = drcockpit::cli::Cli::try_parse_from(
        std::iter::once("drcockpit".to_string()).chain(args(&cmd)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cli.theme.as_deref(), Some("light"));
    assert_eq!(cli.journal, Some(PathBuf::from("j.jsonl")));
    assert!(
        matches!(
            cli.command,
            Some(drcockpit::cli::Command::Live {
                take_over: true,
                drill: false,
                ..
            })
        ),
        "{:?}",
        cli.command
    );
}

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
