//! The real binary with a stdout whose reader has gone (`drcockpit schema | true`,
//! `check --online … | grep -m1`): every command that prints exits quietly — no panic, no
//! "Broken pipe", never exit 101 — and one whose stdout cannot be written (`> /dev/full`) says
//! so once and exits 1. Also: plans past the ceilings are refused, not crashed on, by the
//! commands that used to crash.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A pipe whose read end is already closed: the first write to the other end fails with EPIPE
/// (Rust ignores SIGPIPE), exactly what `| true` does once `true` has exited.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills two fds we then own; each is wrapped (and so closed) exactly once.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", std::io::Error::last_os_error());
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

fn drcockpit(args: &[&str], stdout: Stdio) -> Output {
    let state = tempfile::tempdir().expect("tempdir");
    Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(args)
        .current_dir(root())
        .env_remove("DRCOCKPIT_SIM_URL")
        .env("XDG_STATE_HOME", state.path())
        .env("DRCOCKPIT_STATE_DIR", state.path())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run drcockpit")
}

fn assert_quiet(args: &[&str], out: &Output, expected: &[i32]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{args:?} with a closed stdout:\n{stderr}"
    );
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| expected.contains(&c)),
        "{args:?} with a closed stdout exited {code:?} (expected one of {expected:?}):\n{stderr}"
    );
}

#[test]
fn every_printing_command_exits_quietly_when_the_reader_of_stdout_has_gone() {
    let journal = root().join("tests/fixtures/journals/incident.jsonl");
    let journal = journal.to_str().expect("utf-8 path");
    let cases: &[(&[&str], &[i32])] = &[
        (&["schema"], &[0]),
        (&["completions", "zsh"], &[0]),
        (&["man"], &[0]),
        (&["info", "plans/demo.toml"], &[0]),
        (&["--help"], &[0]),
        (&["--version"], &[0]),
        (&["check", "--help"], &[0]),
        (&["check", "plans/demo.toml"], &[0]),
        (&["check", "plans/qovery-warm-standby.toml"], &[0, 2]),
        (&["report", journal], &[0]),
        (&["report", "--format", "json", journal], &[0]),
        // Against the embedded simulator (the demo plan uses `${sim}`): its own exit code,
        // whatever the simulated world says, but never a panic.
        (
            &["status", "plans/demo.toml", "--timeout", "3s"],
            &[0, 1, 2, 3],
        ),
        (
            &[
                "status",
                "plans/demo.toml",
                "--format",
                "prometheus",
                "--timeout",
                "3s",
            ],
            &[0, 1, 2, 3],
        ),
        (
            &["check", "--online", "plans/demo.toml", "--timeout", "3s"],
            &[0, 1],
        ),
    ];
    for (args, expected) in cases {
        let out = drcockpit(args, closed_pipe());
        assert_quiet(args, &out, expected);
    }
}

#[test]
fn a_reader_that_leaves_after_the_first_line_of_check_online_stops_it_quietly() {
    // `check --online … | head -1`: the reader takes one line and leaves while the preflights
    // are still printing.
    let mut child = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["check", "--online", "plans/demo.toml", "--timeout", "3s"])
        .current_dir(root())
        .env_remove("DRCOCKPIT_SIM_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_quiet(&["check", "--online"], &out, &[0, 1]);
}

#[test]
fn a_stdout_that_cannot_be_written_is_said_once_and_exits_1() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = drcockpit(&["schema"], Stdio::from(full));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.matches("cannot write to standard output").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_probe_interval_past_the_ceiling_is_refused_by_status_not_crashed_on() {
    let plan = "tests/fixtures/plans/limits_probe_interval_giant.toml";
    let out = drcockpit(&["status", plan, "--timeout", "1s"], Stdio::piped());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(":16:12:"), "{stderr}");
    assert!(stderr.contains("durations go up to 30 days"), "{stderr}");
}

#[test]
fn giant_durations_on_the_command_line_are_a_usage_error() {
    for args in [
        &[
            "check",
            "--online",
            "plans/demo.toml",
            "--timeout",
            "99999999999999999999d",
        ][..],
        &[
            "status",
            "plans/demo.toml",
            "--timeout",
            "18446744073709551615s",
        ][..],
    ] {
        let out = drcockpit(args, Stdio::piped());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains("too long"), "{args:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(2 | 3)),
            "{args:?}: {stderr}"
        );
    }
}

fn run_ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let state = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drcockpit"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("DRCOCKPIT_SIM_URL")
        .env_remove("DRCOCKPIT_LOG")
        .env_remove("NO_COLOR")
        .env("XDG_STATE_HOME", state.path())
        .env("XDG_CONFIG_HOME", state.path())
        .env("DRCOCKPIT_STATE_DIR", state.path())
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run drcockpit");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn completions_are_printed_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _drcockpit"),
        ("zsh", "#compdef drcockpit"),
        ("fish", "complete -c drcockpit"),
        ("elvish", "drcockpit"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let text = run_ok(&["completions", shell], &[]);
        assert!(text.contains(marker), "{shell}: {text:.400}");
        // Subcommands, including the new ones, are completed.
        assert!(text.contains("review") && text.contains("info"), "{shell}");
    }
}

#[test]
fn man_prints_a_roff_page_naming_the_build() {
    let text = run_ok(&["man"], &[]);
    assert!(text.contains(".TH drcockpit 1"), "{text:.400}");
    assert!(text.contains("completions") && text.contains("\\-\\-log\\-file"));
    assert!(text.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn version_names_the_commit_and_build_date() {
    let text = run_ok(&["--version"], &[]);
    assert!(
        text.starts_with(&format!("drcockpit {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(", built "), "{text}");
}

#[test]
fn info_names_the_build_and_the_paths_a_plan_would_use() {
    let log = tempfile::tempdir().expect("tempdir");
    let log_path = log.path().join("debug.log");
    let text = run_ok(
        &[
            "info",
            "plans/demo.toml",
            "--theme",
            "light",
            "--log-file",
            log_path.to_str().expect("utf-8"),
        ],
        &[("NO_COLOR", "1")],
    );
    for key in [
        "version",
        "commit",
        "build date",
        "config",
        "theme",
        "state dir",
        "lock",
        "journals",
        "debug log",
        "terminal",
        "colours",
        "NO_COLOR",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(key)),
            "no `{key}` in:\n{text}"
        );
    }
    assert!(text.contains("light (from --theme)"), "{text}");
    assert!(text.contains("(DRCOCKPIT_STATE_DIR)"), "{text}");
    assert!(
        text.contains("demo-shop-scaleway-fr-par-scaleway-nl-ams-") && text.contains(".lock"),
        "{text}"
    );
    assert!(text.contains("NO_COLOR      set"), "{text}");
    assert!(text.contains("(level debug)"), "{text}");
}

#[test]
fn a_debug_log_that_cannot_be_opened_is_a_usage_error_before_anything_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["schema"])
        .env("DRCOCKPIT_LOG", "/nonexistent-dir/drcockpit.log")
        .stdin(Stdio::null())
        .output()
        .expect("run drcockpit");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the debug log /nonexistent-dir/drcockpit.log"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["info", "--log-level", "loud"])
        .env("DRCOCKPIT_LOG", "/tmp/drcockpit-cli-test-unused.log")
        .stdin(Stdio::null())
        .output()
        .expect("run drcockpit");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log level `loud`"));
}
