//! Crashes, locks, secrets, take-overs, an unwritable journal, hang-ups, and resuming a command
//! that outlived its cockpit.

use super::*;

const CRASH_PLAN: &str = r#"
[plan]
name = "crash test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "long"
title = "A long command"
kind = "command"
command = ["sh", "-c", "echo started; sleep 60"]

[[step]]
id = "after"
title = "After the long one"
kind = "manual"
instructions = "nothing"
"#;

#[test]
fn kill_9_mid_step_then_resume_marks_it_unknown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("crash.toml");
    std::fs::write(&plan, CRASH_PLAN).expect("write plan");
    let journal = tmp.path().join("j.jsonl");
    let plan_s = plan.to_string_lossy().to_string();
    let journal_s = journal.to_string_lossy().to_string();

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.send("y");
    wait_event(
        &journal,
        "the step's process",
        Duration::from_secs(10),
        |v| is(v, "process_started", "long"),
    );
    unsafe { libc::kill(c.pid(), libc::SIGKILL) };
    // The child survives the cockpit (its own session); here it is stopped before the resume, so
    // the step is left unknown (`resume_follows_a_command_that_outlived_a_kill_9` covers the
    // still-running case).
    stop_recorded_child(&journal, "long");
    c.wait_exit(Duration::from_secs(5));
    let ev = events(&journal);
    assert!(ev.iter().any(|v| is(v, "step_started", "long")));
    assert!(!ev.iter().any(|v| is(v, "step_finished", "long")));

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "a resumed session", Duration::from_secs(5), |v| {
        v["type"] == "session_started" && v["resumed_from"].is_string()
    });
    // `d` only acts on a step left unknown by a crash.
    c.send("d");
    c.send("checked by hand: it finished\r");
    wait_event(
        &journal,
        "the step marked done",
        Duration::from_secs(5),
        |v| is(v, "marked_done", "long"),
    );
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn second_live_cockpit_opens_read_only_and_signals_end_cleanly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("lock.toml");
    std::fs::write(&plan, CRASH_PLAN).expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let j1 = tmp.path().join("one.jsonl").to_string_lossy().to_string();
    let mut first = Cockpit::spawn(&["live", &plan_s, "--journal", &j1], tmp.path(), &[]);
    first.wait_screen("LIVE", Duration::from_secs(10));
    let mut second = Cockpit::spawn(&["live", &plan_s], tmp.path(), &[]);
    second.wait_screen("MONITOR", Duration::from_secs(10));
    second.wait_screen("locked by", Duration::from_secs(5));
    second.send("q");
    assert_eq!(second.wait_exit(Duration::from_secs(10)), Some(0));

    unsafe { libc::kill(first.pid(), libc::SIGHUP) };
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(130));
    assert!(has_event(Path::new(&j1), |v| v["type"] == "session_ended"
        && v["reason"].as_str().is_some_and(|r| r.contains("SIGHUP"))));
    // The lock is released: a new live cockpit drives the plan.
    let mut third = Cockpit::spawn(&["live", &plan_s, "--journal", &j1], tmp.path(), &[]);
    third.wait_screen("LIVE", Duration::from_secs(10));
    unsafe { libc::kill(third.pid(), libc::SIGTERM) };
    assert_eq!(third.wait_exit(Duration::from_secs(10)), Some(130));
}

const SECRET_PLAN: &str = r#"
[plan]
name = "redaction"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "leaky"
title = "A command that prints its token"
kind = "command"
command = ["sh", "-c", "echo token=$TOKEN; echo rejected $TOKEN >&2; exit 3"]
env = { TOKEN = "${env:E2E_SECRET_TOKEN}" }
"#;

#[test]
fn a_secret_from_the_environment_never_reaches_screen_journal_or_report() {
    let secret = "s3cr3t-e2e-value-9f8a7b";
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("secret.toml");
    std::fs::write(&plan, SECRET_PLAN).expect("write plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &journal_s],
        tmp.path(),
        &[("E2E_SECRET_TOKEN", secret)],
    );
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the failed step", Duration::from_secs(10), |v| {
        is(v, "step_finished", "leaky")
    });
    c.wait_screen("FAILED", Duration::from_secs(5));
    c.send("t"); // the timeline shows every journaled line
    std::thread::sleep(Duration::from_millis(300));
    let screen = c.screen();
    assert!(
        !screen.contains(secret),
        "the secret is on screen:\n{screen}"
    );
    c.send("\x1b");
    // A lone ESC followed at once by `x` reads as Alt-x: let the ESC arrive on its own.
    std::thread::sleep(Duration::from_millis(300));
    c.send("x"); // expanded panels and full errors
    std::thread::sleep(Duration::from_millis(300));
    assert!(!c.screen().contains(secret));
    c.send("q");
    let code = c.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "screen:\n{}", c.screen());

    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(text.contains("token="), "the output was journaled");
    assert!(
        text.contains("‹secret step leaky: env TOKEN›"),
        "redacted in place: {text}"
    );
    assert!(!text.contains(secret), "the secret is in the journal");
    for format in ["md", "json"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
            .args(["report", &journal_s, "--format", format])
            .output()
            .expect("report");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        assert!(
            !all.contains(secret),
            "the secret is in the {format} report"
        );
    }
}

const TAKEOVER_PLAN: &str = r#"
[plan]
name = "take-over test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "mutate"
title = "Append to the marker file"
kind = "command"
command = ["sh", "-c", "echo ran >> MARKER"]
"#;

#[test]
fn after_a_take_over_the_old_cockpit_runs_nothing_and_seq_never_repeats() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("takeover.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();

    let mut old = Cockpit::spawn(&["live", &plan_s, "--journal", &j], tmp.path(), &[]);
    old.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "the first session", Duration::from_secs(5), |v| {
        v["type"] == "session_started"
    });
    let mut new = Cockpit::spawn(
        &["live", &plan_s, "--take-over", "--journal", &j],
        tmp.path(),
        &[],
    );
    new.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "the take-over", Duration::from_secs(5), |v| {
        v["type"] == "note" && v["text"].as_str().is_some_and(|t| t.contains("took over"))
    });
    // The old cockpit notices within a second (clock tick) or at the latest on the keypress.
    old.send("\r");
    old.send("y");
    old.wait_screen("lost the plan's lock", Duration::from_secs(5));
    old.wait_screen("MONITOR", Duration::from_secs(5));
    old.send("\r");
    old.send("y");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !marker.exists(),
        "the old cockpit ran the step after the take-over"
    );
    assert!(!has_event(&journal, |v| v["type"] == "step_started"));

    old.send("q");
    assert_eq!(old.wait_exit(Duration::from_secs(10)), Some(0));
    unsafe { libc::kill(new.pid(), libc::SIGTERM) };
    new.wait_exit(Duration::from_secs(10));
    let seqs: Vec<u64> = events(&journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(seqs.len() >= 5, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq must be strictly increasing: {seqs:?}"
    );
    assert!(has_event(&journal, |v| v["type"] == "note"
        && v["text"]
            .as_str()
            .is_some_and(|t| t.contains("lost the plan's lock"))));
}

#[test]
fn a_journal_that_can_never_write_blocks_steps_and_exits_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("full.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &j],
        tmp.path(),
        &[("DRCOCKPIT_FAULT_JOURNAL_ENOSPC", "1000000")],
    );
    c.wait_screen("JOURNAL BLOCKED: 1 events waiting", Duration::from_secs(10));
    c.send("\r");
    c.send("y");
    c.wait_screen("cannot run step mutate", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "a step ran while the journal was blocked");
    c.send("q");
    assert_eq!(
        c.wait_exit(Duration::from_secs(15)),
        Some(1),
        "events that could never be written must not exit 0"
    );
    // Every failed write was cut back: no torn line is left.
    assert_eq!(std::fs::read(&journal).expect("read").len(), 0);
}

#[test]
fn a_journal_that_recovers_writes_every_waiting_event_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("recover.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &j],
        tmp.path(),
        &[("DRCOCKPIT_FAULT_JOURNAL_ENOSPC", "4")],
    );
    wait_event(
        &journal,
        "the session start",
        Duration::from_secs(15),
        |v| v["type"] == "session_started",
    );
    c.send("\r");
    c.send("y");
    wait_event(
        &journal,
        "the step's result",
        Duration::from_secs(10),
        finished_ok("mutate"),
    );
    assert!(marker.exists());
    // The journal holds the result before the cockpit has applied its acknowledgement: `q` in
    // between finds a running step and asks first. Quit once the screen says it succeeded.
    c.wait_screen("✓ succeeded", Duration::from_secs(10));
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
    let seqs: Vec<u64> = events(&journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let read = drcockpit::journal::read::read(&journal).expect("parses");
    assert!(read.torn_lines.is_empty() && read.torn_tail.is_none());
}

#[test]
fn a_cockpit_that_cannot_take_the_plans_lock_refuses_to_drive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The plan's [journal] dir cannot exist (its parent is a file): no lock can be taken there.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("write");
    let plan = tmp.path().join("nolock.toml");
    let text = format!(
        "{}\n[journal]\ndir = \"{}\"\n",
        TAKEOVER_PLAN.replace("MARKER", &tmp.path().join("m").to_string_lossy()),
        blocker.join("state").to_string_lossy()
    );
    std::fs::write(&plan, text).expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(&["live", &plan_s], tmp.path(), &[]);
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(1));
    c.wait_screen(
        "cannot take or read the plan's lock",
        Duration::from_secs(2),
    );
}

/// The pid a step's child was journaled with.
fn recorded_pid(journal: &Path, step: &str) -> i32 {
    events(journal)
        .iter()
        .rev()
        .find(|v| is(v, "process_started", step))
        .and_then(|v| v["pid"].as_i64())
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or_else(|| panic!("no process_started for {step} in {}", journal.display()))
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            let rest = t[t.rfind(')')? + 1..].to_string();
            rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

/// Kill a step's child process group (it leads its own session) and wait until it is gone.
fn stop_recorded_child(journal: &Path, step: &str) {
    let pid = recorded_pid(journal, step);
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let start = Instant::now();
    while alive(pid) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one_command_plan(name: &str, script: &str) -> String {
    format!(
        r#"
[plan]
name = "{name}"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "mutate"
title = "A half-done mutation must not be cut"
kind = "command"
command = ["sh", "-c", "{script}"]
timeout = "1m"
"#
    )
}

#[test]
fn sighup_while_a_command_runs_waits_for_it_then_journals_and_exits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("hup.toml");
    std::fs::write(&plan, one_command_plan("hangup", "sleep 2; echo done")).expect("plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the child's pid", Duration::from_secs(10), |v| {
        is(v, "process_started", "mutate") && v["start_ticks"].is_u64()
    });
    // The SSH session drops: the cockpit gets SIGHUP (its child, in its own session, does not).
    unsafe { libc::kill(c.pid(), libc::SIGHUP) };
    assert_eq!(
        c.wait_exit(Duration::from_secs(30)),
        Some(130),
        "the cockpit exits once the step has ended"
    );
    let ev = events(&journal);
    let pos = |f: &dyn Fn(&serde_json::Value) -> bool| ev.iter().position(f);
    let finished = pos(&|v| finished_ok("mutate")(v)).expect("the step succeeded");
    let ended = pos(&|v| {
        v["type"] == "session_ended" && v["reason"].as_str().is_some_and(|r| r.contains("SIGHUP"))
    })
    .expect("the session ended on SIGHUP");
    assert!(finished < ended, "the outcome is journaled before the end");
    assert!(
        ev.iter()
            .any(|v| is(v, "step_output", "mutate") && v["line"] == "done")
    );
    assert!(ev.iter().any(|v| {
        is(v, "note", "mutate")
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("stays without a terminal"))
    }));
}

#[test]
fn resume_follows_a_command_that_outlived_a_kill_9() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("follow.toml");
    let marker = tmp.path().join("finished");
    // It prints after the cockpit is gone: that write must not kill it (no SIGPIPE).
    let script = format!("sleep 4; echo done; touch {}", marker.display());
    std::fs::write(&plan, one_command_plan("follow", &script)).expect("plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the child's pid", Duration::from_secs(10), |v| {
        is(v, "process_started", "mutate")
    });
    unsafe { libc::kill(c.pid(), libc::SIGKILL) };
    c.wait_exit(Duration::from_secs(5));
    let pid = recorded_pid(&journal, "mutate");
    assert!(alive(pid), "the child outlives a kill -9 of the cockpit");

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen(
        &format!("still running (pid {pid}"),
        Duration::from_secs(10),
    );
    // Not offered for retry while it runs.
    c.send("r");
    assert!(
        !events(&journal)
            .iter()
            .any(|v| is(v, "step_started", "mutate") && v["attempt"] == 2)
    );
    wait_event(
        &journal,
        "the followed process's end",
        Duration::from_secs(20),
        |v| {
            is(v, "process_ended", "mutate")
                && v["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("ended while the cockpit was away"))
        },
    );
    c.wait_screen("ended while the cockpit was away", Duration::from_secs(5));
    assert!(
        marker.exists(),
        "the child ran to its end although it printed with no cockpit reading"
    );
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
}
