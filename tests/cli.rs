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

// ---------------------------------------------------------------------------------------------
// Issue 14: `check` without secrets, CLI polish, docs that match the binary.

/// The binary in an environment holding only PATH, HOME (a scratch one) and `env`.
fn clean(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run drcockpit");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_of_the_shipped_plan_needs_no_secret_and_says_what_it_needs_in_one_warning() {
    let (code, out, err) = clean(&["check", "plans/qovery-warm-standby.toml"], &[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let needs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("needs at run time"))
        .collect();
    assert_eq!(
        needs,
        vec![
            "warning: needs at run time: env QOVERY_API_TOKEN, env DR_DATABASE_URL, env SLACK_WEBHOOK_URL"
        ],
        "{out}"
    );
}

#[test]
fn strict_check_reports_every_unset_reference_in_one_run() {
    let (code, out, err) = clean(
        &["check", "--strict", "plans/qovery-warm-standby.toml"],
        &[],
    );
    assert_eq!(code, Some(2), "{out}\n{err}");
    for (name, line) in [
        ("QOVERY_API_TOKEN", ":20:"),
        ("DR_DATABASE_URL", ":43:"),
        ("DR_DATABASE_URL", ":92:"),
        ("SLACK_WEBHOOK_URL", ":135:"),
    ] {
        assert!(err.contains(name) && err.contains(line), "{name}: {err}");
    }
    assert!(err.contains("4 problems in"), "{err}");
}

#[test]
fn the_cli_token_satisfies_a_plan_whose_token_reference_is_unset() {
    for var in ["QOVERY_CLI_ACCESS_TOKEN", "Q_CLI_ACCESS_TOKEN"] {
        let (code, out, err) = clean(
            &["check", "plans/qovery-warm-standby.toml"],
            &[(var, "qov-cli-token-t14-0123456789")],
        );
        assert_eq!(code, Some(0), "{var}: {out}\n{err}");
        assert!(
            out.contains(
                "warning: needs at run time: env DR_DATABASE_URL, env SLACK_WEBHOOK_URL\n"
            ),
            "{var}: {out}"
        );
        assert!(!out.contains("qov-cli-token-t14"), "{out}");
        // Strict too, once the others are set.
        let (code, out, err) = clean(
            &["check", "--strict", "plans/qovery-warm-standby.toml"],
            &[
                (var, "qov-cli-token-t14-0123456789"),
                ("DR_DATABASE_URL", "postgresql://app:pw-t14-0123@db/shop"),
                ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/t14"),
            ],
        );
        assert_eq!(code, Some(0), "{var}: {out}\n{err}");
        assert!(!out.contains("needs at run time"), "{out}");
    }
}

#[test]
fn a_plan_with_three_mistakes_reports_all_three_in_one_run() {
    let text = std::fs::read_to_string(root().join("plans/qovery-warm-standby.toml"))
        .expect("plan")
        .replace("rto = \"30m\"", "rto = \"30 parsecs\"")
        .replace(
            "health = \"https://eu-west-1.shop.example.com/healthz\"",
            "health = \"eu-west-1.shop.example.com/healthz\"",
        )
        .replace("kind = \"qovery.redeploy\"", "kind = \"qovery.redeploi\"");
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("three.toml");
    std::fs::write(&plan, text).expect("write");
    let (code, out, err) = clean(&["check", plan.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    for what in [
        "three.toml:15:7: `plan.rto`",
        "three.toml:34:10: `sites.dr.health`",
        "write `https://eu-west-1.shop.example.com/healthz`",
        "unknown kind `qovery.redeploi`",
        "did you mean `qovery.redeploy`?",
        "3 problems in",
    ] {
        assert!(err.contains(what), "{what}: {err}");
    }
}

#[test]
fn the_check_summary_names_the_strategy_once() {
    let (code, out, err) = clean(&["check", "plans/qovery-pilot-light.toml"], &[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(out.matches("(pilot light)").count(), 1, "{out}");
}

#[test]
fn help_lists_the_environment_and_every_subcommand_has_an_example() {
    let (code, out, _) = clean(&["--help"], &[]);
    assert_eq!(code, Some(0));
    for var in [
        "DRCOCKPIT_OPERATOR",
        "DRCOCKPIT_SIM_URL",
        "DRCOCKPIT_STATE_DIR",
        "QOVERY_API_URL",
        "QOVERY_CLI_ACCESS_TOKEN",
    ] {
        assert!(out.contains(var), "{var} missing from --help:\n{out}");
    }
    for sub in [
        "demo", "live", "review", "monitor", "check", "simulate", "report", "status", "schema",
    ] {
        let (code, out, err) = clean(&[sub, "--help"], &[]);
        assert_eq!(code, Some(0), "{sub}: {err}");
        assert!(
            out.contains("Example") && out.contains(&format!("drcockpit {sub}")),
            "{sub} --help has no example:\n{out}"
        );
    }
    let (_, out, _) = clean(&["status", "--help"], &[]);
    assert!(
        out.contains("[possible values: text, json, prometheus]"),
        "{out}"
    );
    let (_, out, _) = clean(&["report", "--help"], &[]);
    assert!(out.contains("[possible values: md, json]"), "{out}");
}

#[test]
fn formats_and_timeouts_are_refused_by_the_parser() {
    let (code, _, err) = clean(&["report", "--format", "pdf", "x.jsonl"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("[possible values: md, json]"), "{err}");
    let (code, _, err) = clean(
        &["check", "--online", "plans/demo.toml", "--timeout", "soon"],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--timeout"), "{err}");
    // `status` keeps its contract for monitors: 3 is "could not evaluate", never 2.
    let (code, _, err) = clean(&["status", "plans/demo.toml", "--timeout", "0s"], &[]);
    assert_eq!(code, Some(3), "{err}");
}

#[test]
fn report_takes_the_journal_positionally_or_with_journal_but_not_two() {
    let journal = root().join("tests/fixtures/journals/incident.jsonl");
    let journal = journal.to_str().expect("utf-8 path");
    let (code, positional, err) = clean(&["report", journal], &[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, flag, err) = clean(&["report", "--journal", journal], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(positional, flag);
    let (code, _, err) = clean(&["report", "--format", "json", "--journal", journal], &[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = clean(&["report", journal, "--journal", "other.jsonl"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("two journals given"), "{err}");
    let (code, _, err) = clean(&["report"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("which journal?"), "{err}");
}

#[test]
fn the_readme_gives_the_journal_paths_the_binary_uses() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let per_user = drcockpit::journal::paths::dir_from(Some("/XDG".into()), None);
    assert_eq!(per_user, PathBuf::from("/XDG/drcockpit/journal"));
    assert!(
        readme.contains("`$XDG_STATE_HOME/drcockpit/journal`"),
        "README: per-user directory"
    );
    // Flat and plan-keyed: `<key>.lock` and `<key>-<time>.jsonl`, key = slug + hash.
    let key = drcockpit::journal::paths::plan_key("shop");
    let lock = drcockpit::journal::paths::lock_path(Path::new("/s"), &key);
    assert_eq!(lock, PathBuf::from(format!("/s/{key}.lock")));
    assert!(
        key.starts_with("shop-") && key.len() == "shop-".len() + 8,
        "{key}"
    );
    assert!(readme.contains("`<plan>-<hash>.lock`"), "README: lock name");
    assert!(
        readme.contains("`<plan>-<hash>-<time>.jsonl`"),
        "README: journal name"
    );
    assert!(
        readme.contains("`[journal] dir` (absolute), `DRCOCKPIT_STATE_DIR`, `/var/lib/drcockpit`"),
        "README: state directory order"
    );
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
