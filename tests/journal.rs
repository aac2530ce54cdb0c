//! The journal: writing (fsync, seq, torn tail, redaction, writer thread), reading, paths,
//! the plan lock and reports.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drcockpit::journal::lock::{Lock, LockError};
use drcockpit::journal::paths::{self, SessionSummary};
use drcockpit::journal::read;
use drcockpit::journal::writer::{JournalWriter, spawn_writer};
use drcockpit::journal::{Event, PreflightCheck, Record, StepInfo};
use drcockpit::report::{self, Verdict};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::t0_journal as t0;

fn rec(seq: u64, secs: i64, operator: &str, event: Event) -> Record {
    Record {
        seq,
        at: t0() + chrono::Duration::seconds(secs),
        operator: operator.into(),
        event,
    }
}

fn started(mode: &str, drill: bool, hash: &str) -> Event {
    Event::SessionStarted {
        plan_name: "Prod EU failover".into(),
        plan_source: "plans/prod.toml".into(),
        plan_hash: hash.into(),
        mode: mode.into(),
        drill,
        host: "ops-1".into(),
        pid: 4242,
        version: "0.1.0".into(),
        commit: None,
        resumed_from: None,
        rto_secs: Some(1800),
        rpo_secs: Some(300),
        steps: vec![
            StepInfo {
                id: "freeze".into(),
                title: "Freeze writes".into(),
                kind: "http".into(),
                mutating: None,
            },
            StepInfo {
                id: "go".into(),
                title: "Approve failover".into(),
                kind: "approval".into(),
                mutating: None,
            },
            StepInfo {
                id: "promote".into(),
                title: "Promote DR database".into(),
                kind: "db-promote".into(),
                mutating: None,
            },
        ],
    }
}

fn note(text: &str) -> Event {
    Event::Note {
        step: None,
        text: text.into(),
    }
}

fn write_lines(path: &Path, records: &[Record]) {
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("serialise") + "\n")
        .collect();
    std::fs::write(path, text).expect("write journal");
}

// ---------------------------------------------------------------- writer and reader

#[test]
fn appended_events_are_lines_that_parse_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("deep/er/session.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let a = w.append(started("live", false, "h1")).expect("append");
    let b = w.append(note("first note")).expect("append");
    let c = w
        .append(Event::StepStarted {
            step: "freeze".into(),
            attempt: 1,
            kind: Some("http".into()),
        })
        .expect("append");
    assert_eq!((a.seq, b.seq, c.seq), (0, 1, 2));
    assert_eq!(a.operator, "alice");

    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "journal mode {mode:o}");

    let back = read::read(&path).expect("read back");
    assert_eq!(back.records, vec![a, b, c]);
    assert!(back.torn_tail.is_none());
}

#[test]
fn seq_continues_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    {
        let mut w = JournalWriter::create(&path, "alice").expect("create");
        w.append(note("one")).expect("append");
        w.append(note("two")).expect("append");
    }
    let mut w = JournalWriter::create(&path, "bob").expect("reopen");
    assert_eq!(w.next_seq(), 2);
    let r = w.append(note("three")).expect("append");
    assert_eq!(r.seq, 2);
    assert_eq!(r.operator, "bob");
    let back = read::read(&path).expect("read");
    assert_eq!(
        back.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[test]
fn torn_tail_is_tolerated_and_the_next_append_starts_on_a_new_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    {
        let mut w = JournalWriter::create(&path, "alice").expect("create");
        w.append(note("one")).expect("append");
        w.append(note("two")).expect("append");
    }
    // A crash in the middle of the third write.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(br#"{"seq":2,"at":"2026-03-01T10:00:0"#);
    std::fs::write(&path, &bytes).expect("write");

    let torn = read::read(&path).expect("a torn tail is not an error");
    assert_eq!(torn.records.len(), 2);
    assert!(
        torn.torn_tail
            .as_deref()
            .is_some_and(|t| t.starts_with(r#"{"seq":2"#))
    );

    let mut w = JournalWriter::create(&path, "alice").expect("reopen");
    let r = w.append(note("after the crash")).expect("append");
    assert_eq!(r.seq, 2, "seq continues after the last valid record");

    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[2].starts_with(r#"{"seq":2,"at":"2026"#) && !lines[2].contains("after the crash")
    );
    assert!(lines[3].contains("after the crash"));

    let back = read::read(&path).expect("the torn line in the middle is skipped");
    assert_eq!(back.records.len(), 3);
    assert_eq!(back.torn_lines, vec![3]);
    assert!(back.torn_tail.is_none());
    assert_eq!(back.records[2], r);
}

#[test]
fn malformed_middle_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.jsonl");
    let mut text = serde_json::to_string(&rec(0, 0, "a", note("x"))).expect("ser");
    text.push_str("\nthis is not json\n");
    text.push_str(&serde_json::to_string(&rec(1, 1, "a", note("y"))).expect("ser"));
    text.push('\n');
    std::fs::write(&path, text).expect("write");
    let err = read::read(&path).expect_err("error");
    assert!(err.contains("bad.jsonl:2:"), "{err}");
}

#[test]
fn missing_journal_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.jsonl");
    let err = read::read(&path).expect_err("error");
    assert!(
        err.contains("nope.jsonl") && err.contains("no such journal"),
        "{err}"
    );
}

#[test]
fn registered_secrets_never_reach_the_file() {
    let plain = "hunter2-journal-secret-7f3a";
    let escaped = r#"pa"ss\word-journal-91"#;
    drcockpit::redact::register(plain, "env:TEST_JOURNAL_PLAIN");
    drcockpit::redact::register(escaped, "env:TEST_JOURNAL_ESCAPED");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let r = w
        .append(Event::Note {
            step: None,
            text: format!("token is {plain}"),
        })
        .expect("append");
    w.append(Event::StepOutput {
        step: "freeze".into(),
        attempt: 1,
        stream: "stderr".into(),
        line: format!("curl -H 'Bearer {plain}'"),
    })
    .expect("append");
    w.append(Event::Evidence {
        step: None,
        what: "probe".into(),
        detail: serde_json::json!({ "password": escaped, "nested": [plain] }),
    })
    .expect("append");

    let bytes = std::fs::read(&path).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(plain), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        !text.contains(r#"pa\"ss\\word"#) && !text.contains("word-journal-91"),
        "{text}"
    );
    assert!(text.contains("env:TEST_JOURNAL_PLAIN") && text.contains("env:TEST_JOURNAL_ESCAPED"));
    // What the caller learns is what was written.
    assert!(matches!(&r.event, Event::Note { text, .. } if !text.contains(plain)));
    assert_eq!(read::read(&path).expect("parses").records.len(), 3);
}

#[test]
fn in_memory_writer_keeps_records() {
    let mut w = JournalWriter::in_memory("mon");
    w.append(note("a")).expect("append");
    w.append(note("b")).expect("append");
    assert_eq!(w.records().len(), 2);
    assert_eq!(w.records()[1].seq, 1);
    assert!(w.path().is_none());
}

#[test]
fn writer_thread_reports_each_record_after_it_is_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let w = JournalWriter::create(&path, "alice").expect("create");
    let seen: Arc<Mutex<Vec<Result<Record, String>>>> = Arc::default();
    let on_disk_when_told: Arc<Mutex<Vec<bool>>> = Arc::default();
    let (s, d, p) = (seen.clone(), on_disk_when_told.clone(), path.clone());
    let handle = spawn_writer(w, move |r| {
        if let Ok(rec) = &r {
            // Group commit: the record's whole batch is on disk (it may hold later records too).
            let lines = std::fs::read_to_string(&p).unwrap_or_default();
            d.lock()
                .expect("lock")
                .push(lines.lines().count() as u64 > rec.seq);
        }
        s.lock().expect("lock").push(r);
    });
    let clone = handle.clone();
    for i in 0..5 {
        clone.send(note(&format!("n{i}")));
    }
    handle.close();
    clone.send(note("too late"));

    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 6);
    for (i, r) in seen.iter().take(5).enumerate() {
        assert_eq!(r.as_ref().expect("ok").seq, i as u64);
    }
    let err = seen[5].as_ref().expect_err("send after close fails");
    assert!(err.contains("closed") && err.contains("note"), "{err}");
    assert!(on_disk_when_told.lock().expect("lock").iter().all(|b| *b));
    assert_eq!(read::read(&path).expect("read").records.len(), 5);
}

#[test]
fn a_device_is_never_opened_as_a_journal() {
    // /dev/full used to be accepted (and read to EOF on resume); now any non-regular file is
    // refused before anything is written.
    let full = Path::new("/dev/full");
    let Ok(before) = std::fs::metadata(full) else {
        return;
    };
    let err = JournalWriter::create(full, "alice")
        .err()
        .expect("a device is refused");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // A device is never chmod'ed like a journal file.
    let after = std::fs::metadata(full).expect("meta");
    assert_eq!(before.permissions().mode(), after.permissions().mode());
}

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

// ---------------------------------------------------------------- paths

#[test]
fn plan_slug_cases() {
    assert_eq!(paths::plan_slug("Prod EU → DR (West)"), "prod-eu-dr-west");
    assert_eq!(paths::plan_slug("  a__b--c  "), "a-b-c");
    assert_eq!(paths::plan_slug(""), "plan");
    assert_eq!(paths::plan_slug("—→…"), "plan");
    assert_eq!(paths::plan_slug("Été 2026"), "t-2026");
    let long = paths::plan_slug(&"Very Long Plan Name ".repeat(10));
    assert!(long.len() <= 48, "{long}");
    assert!(!long.ends_with('-') && !long.starts_with('-'));
    assert!(
        long.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    assert!(!long.contains("--"));
}

#[test]
fn default_dir_follows_xdg_then_home() {
    assert_eq!(
        paths::dir_from(Some("/state".into()), Some("/home/a".into())),
        Path::new("/state/drcockpit/journal")
    );
    assert_eq!(
        paths::dir_from(Some("relative".into()), Some("/home/a".into())),
        Path::new("/home/a/.local/state/drcockpit/journal")
    );
    assert_eq!(
        paths::dir_from(None, Some("/home/a".into())),
        Path::new("/home/a/.local/state/drcockpit/journal")
    );
    assert!(paths::dir_from(None, None).ends_with("drcockpit/journal"));
}

#[test]
fn new_journal_paths_are_unique_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("j");
    let a = paths::new_journal_path(&d, "prod", t0());
    let b = paths::new_journal_path(&d, "prod", t0());
    let c = paths::new_journal_path(&d, "prod", t0());
    assert_eq!(
        a.file_name().and_then(|n| n.to_str()),
        Some("prod-20260301T100000Z.jsonl")
    );
    assert_eq!(
        b.file_name().and_then(|n| n.to_str()),
        Some("prod-20260301T100000Z-2.jsonl")
    );
    assert_eq!(
        c.file_name().and_then(|n| n.to_str()),
        Some("prod-20260301T100000Z-3.jsonl")
    );
    // The reserved (empty) file opens as a fresh journal.
    let mut w = JournalWriter::create(&a, "alice").expect("create");
    assert_eq!(w.append(note("x")).expect("append").seq, 0);
}

#[test]
fn latest_for_plan_picks_the_newest_live_journal_of_that_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_lines(
        &d.join("old.jsonl"),
        &[
            rec(0, 0, "a", started("live", false, "H")),
            rec(1, 10, "a", note("x")),
        ],
    );
    write_lines(
        &d.join("new.jsonl"),
        &[
            rec(0, 100, "a", started("live", true, "H")),
            rec(1, 110, "a", note("x")),
        ],
    );
    // Newer, but not what we want.
    write_lines(
        &d.join("review.jsonl"),
        &[rec(0, 200, "a", started("review", false, "H"))],
    );
    write_lines(
        &d.join("other.jsonl"),
        &[rec(0, 300, "a", started("live", false, "OTHER"))],
    );
    std::fs::write(d.join("empty.jsonl"), "").expect("write");
    std::fs::write(d.join("damaged.jsonl"), "garbage\nmore garbage\n").expect("write");
    std::fs::write(d.join("notes.txt"), "x").expect("write");
    assert_eq!(paths::latest_for_plan(d, "H"), Some(d.join("new.jsonl")));
    assert_eq!(
        paths::latest_for_plan(d, "OTHER"),
        Some(d.join("other.jsonl"))
    );
    assert_eq!(paths::latest_for_plan(d, "NONE"), None);
    assert_eq!(paths::latest_for_plan(&d.join("missing"), "H"), None);
}

#[test]
fn session_summary_tells_finished_steps_and_whether_to_resume() {
    let records = vec![
        rec(0, 0, "a", started("live", false, "H")),
        rec(
            1,
            1,
            "a",
            Event::StepStarted {
                step: "freeze".into(),
                attempt: 1,
                kind: None,
            },
        ),
        rec(
            2,
            2,
            "a",
            Event::StepFinished {
                step: "freeze".into(),
                attempt: 1,
                ok: true,
                detail: "ok".into(),
            },
        ),
        rec(
            3,
            3,
            "a",
            Event::Approved {
                step: "go".into(),
                host: "ops-1".into(),
                word: "GO".into(),
            },
        ),
        rec(
            4,
            4,
            "a",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: None,
            },
        ),
        rec(
            5,
            5,
            "a",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: false,
                detail: "boom".into(),
            },
        ),
    ];
    let s = paths::session_summary(&records);
    assert_eq!(s.started, Some(t0()));
    assert_eq!(
        s.steps_finished,
        vec!["freeze".to_string(), "go".to_string()]
    );
    assert!(s.unfinished() && !s.aborted && s.ended.is_none());

    let mut done = records.clone();
    done.push(rec(
        6,
        6,
        "a",
        Event::Skipped {
            step: "promote".into(),
            reason: "done by DBA".into(),
        },
    ));
    done.push(rec(
        7,
        7,
        "a",
        Event::SessionEnded {
            reason: "completed".into(),
        },
    ));
    let s = paths::session_summary(&done);
    assert_eq!(s.steps_finished.len(), 3);
    assert!(!s.unfinished());

    let mut aborted = records.clone();
    aborted.push(rec(
        6,
        6,
        "a",
        Event::Aborted {
            reason: "wrong region".into(),
        },
    ));
    aborted.push(rec(
        7,
        7,
        "a",
        Event::SessionEnded {
            reason: "quit".into(),
        },
    ));
    assert!(!paths::session_summary(&aborted).unfinished());

    let quit = [
        records,
        vec![rec(
            6,
            6,
            "a",
            Event::SessionEnded {
                reason: "quit".into(),
            },
        )],
    ]
    .concat();
    assert_eq!(
        paths::session_summary(&quit),
        SessionSummary {
            ended: Some("quit".into()),
            ..paths::session_summary(&quit)
        }
    );
    assert!(paths::session_summary(&quit).unfinished());
}

// ---------------------------------------------------------------- report

fn incident(secret: &str, promote_secs: i64) -> Vec<Record> {
    let mut v = vec![
        rec(0, -60, "alice", started("live", false, "abcdef0123456789")),
        rec(
            1,
            0,
            "alice",
            Event::Declared {
                note: "eu-west-1 down".into(),
            },
        ),
        rec(
            2,
            30,
            "alice",
            Event::StepStarted {
                step: "freeze".into(),
                attempt: 1,
                kind: Some("http".into()),
            },
        ),
    ];
    for i in 0..25 {
        v.push(rec(
            3 + i,
            31,
            "alice",
            Event::StepOutput {
                step: "freeze".into(),
                attempt: 1,
                stream: "stdout".into(),
                line: format!("line {i}"),
            },
        ));
    }
    v.extend([
        rec(
            30,
            90,
            "alice",
            Event::StepFinished {
                step: "freeze".into(),
                attempt: 1,
                ok: true,
                detail: "writes frozen".into(),
            },
        ),
        rec(
            31,
            120,
            "bob",
            Event::Approved {
                step: "go".into(),
                host: "ops-2".into(),
                word: "FAILOVER".into(),
            },
        ),
        rec(
            32,
            130,
            "alice",
            Event::Override {
                step: "promote".into(),
                reason: "lag probe broken, checked by hand".into(),
                unmet: vec!["dr.lag < 30s".into()],
            },
        ),
        rec(
            33,
            131,
            "alice",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: None,
            },
        ),
        rec(
            34,
            140,
            "alice",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: false,
                detail: "timeout".into(),
            },
        ),
        rec(
            35,
            150,
            "alice",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 2,
                kind: None,
            },
        ),
        rec(
            36,
            promote_secs - 1,
            "alice",
            Event::Evidence {
                step: Some("promote".into()),
                what: "rpo at promotion".into(),
                detail: serde_json::json!({ "lag_bytes": 0, "replay_age_secs": 12 }),
            },
        ),
        rec(
            37,
            promote_secs,
            "alice",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 2,
                ok: true,
                detail: "promoted".into(),
            },
        ),
        rec(
            38,
            promote_secs + 5,
            "alice",
            Event::Note {
                step: Some("promote".into()),
                text: format!("used token {secret}"),
            },
        ),
        rec(
            39,
            promote_secs + 10,
            "alice",
            Event::SessionEnded {
                reason: "completed".into(),
            },
        ),
    ]);
    v
}

#[test]
fn report_measures_rto_and_rpo_against_targets_and_lists_decisions() {
    let secret = "s3cr3t-report-token-55aa";
    drcockpit::redact::register(secret, "env:TEST_REPORT_TOKEN");
    let model = report::build(&incident(secret, 720));
    assert_eq!(model.title, "Incident report");
    // No traffic switch in this plan: the RTO is never reached (issue 11), never a number.
    assert_eq!(model.rto.measured_secs, None);
    assert_eq!(model.rto.verdict, Verdict::NotReached);
    assert_eq!(model.rpo.measured_secs, Some(12));
    assert_eq!(model.rpo.verdict, Verdict::Met);
    let promote = model
        .steps
        .iter()
        .find(|s| s.id == "promote")
        .expect("promote row");
    assert_eq!(
        (
            promote.attempts,
            promote.state.as_str(),
            promote.kind.as_str()
        ),
        (2, "succeeded", "db-promote")
    );
    assert_eq!(promote.duration_ms, Some((720 - 131) * 1000));

    let md = report::render_markdown(&model);
    assert!(
        md.starts_with("# Incident report — Prod EU failover"),
        "{md}"
    );
    assert!(
        md.contains("| RTO | 30m 00s | — | **NOT REACHED** |"),
        "{md}"
    );
    assert!(md.contains("| RPO | 5m 00s | 12s | **MET** |"), "{md}");
    assert!(
        md.contains("## Approvals")
            && md.contains("| `go` | bob | ops-2 |")
            && md.contains("`FAILOVER`"),
        "{md}"
    );
    assert!(
        md.contains("## Overrides")
            && md.contains("lag probe broken, checked by hand")
            && md.contains("dr.lag < 30s"),
        "{md}"
    );
    assert!(
        md.contains("used token ‹secret env:TEST_REPORT_TOKEN›"),
        "{md}"
    );
    assert!(!md.contains(secret));
    // StepOutput is condensed.
    assert!(md.contains("line 19") && !md.contains("line 20"), "{md}");
    assert!(md.contains("… 5 more output line(s)"), "{md}");
    assert!(md.contains("alice, bob"));

    let json = report::render_json(&model).expect("json");
    assert!(!json.contains(secret));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json parses");
    assert_eq!(v["rto"]["verdict"], "not_reached");
    assert_eq!(v["rto"]["target_secs"], 1800);
    assert_eq!(v["approvals"][0]["operator"], "bob");
    assert_eq!(v["overrides"][0]["unmet"][0], "dr.lag < 30s");
}

#[test]
fn report_marks_a_missed_rto_and_an_unmeasured_rpo() {
    let mut records = incident("unused-secret-xyz", 2400);
    records.retain(|r| !matches!(r.event, Event::Evidence { .. }));
    let model = report::build(&records);
    assert_eq!(model.rto.verdict, Verdict::NotReached);
    assert_eq!(model.rto.measured_secs, None);
    assert_eq!(model.rpo.verdict, Verdict::NotMeasurable);
    let md = report::render_markdown(&model);
    assert!(
        md.contains("| RTO | 30m 00s | — | **NOT REACHED** |")
            && md.contains("over the 30m 00s target"),
        "{md}"
    );
    assert!(
        md.contains("not measured (no database promotion recorded)"),
        "{md}"
    );
}

#[test]
fn unfinished_recovery_is_not_reported_as_met() {
    let records: Vec<Record> = incident("unused-secret-xyz", 720)
        .into_iter()
        .filter(|r| !matches!(r.event, Event::SessionEnded { .. }))
        .take(34)
        .collect();
    let model = report::build(&records);
    assert_eq!(model.rto.verdict, Verdict::NotReached, "{:?}", model.rto);
    assert_eq!(model.end_reason, None);
    let promote = model
        .steps
        .iter()
        .find(|s| s.id == "promote")
        .expect("promote row");
    assert!(promote.state.starts_with("unknown"), "{}", promote.state);
}

#[test]
fn report_titles_and_resumed_sessions() {
    let drill = report::build(&[rec(0, 0, "a", started("live", true, "H"))]);
    assert_eq!(drill.title, "Drill report");
    let resumed = report::build(&[
        rec(0, 0, "a", started("live", true, "H")),
        rec(
            1,
            10,
            "a",
            Event::SessionEnded {
                reason: "signal SIGHUP (terminal hung up)".into(),
            },
        ),
        rec(2, 20, "b", started("live", true, "H")),
    ]);
    assert_eq!(resumed.sessions.len(), 2);
    assert_eq!(
        resumed.sessions[0].end_reason.as_deref(),
        Some("signal SIGHUP (terminal hung up)")
    );
    let md = report::render_markdown(&resumed);
    assert!(
        md.contains("## Sessions") && md.contains("resumed 1 time(s)"),
        "{md}"
    );

    let review = report::build(&[
        rec(0, 0, "rev", started("review", false, "H")),
        rec(
            1,
            5,
            "rev",
            Event::Preflight {
                step: "promote".into(),
                checks: vec![PreflightCheck {
                    what: "DR replica reachable".into(),
                    ok: Some(true),
                    detail: "pg 16".into(),
                }],
            },
        ),
        rec(
            2,
            9,
            "rev",
            Event::Reviewed {
                step: "promote".into(),
                note: "looks right".into(),
            },
        ),
        rec(
            3,
            10,
            "rev",
            Event::SessionEnded {
                reason: "quit".into(),
            },
        ),
    ]);
    assert_eq!(review.title, "Review record");
    let md = report::render_markdown(&review);
    assert!(
        md.contains("## Review")
            && md.contains("looks right")
            && md.contains("DR replica reachable"),
        "{md}"
    );
    assert!(
        md.contains("| 3 | `promote` | Promote DR database | db-promote | reviewed |"),
        "{md}"
    );
    assert!(
        md.contains("| 1 | `freeze` | Freeze writes | http | not reviewed |"),
        "{md}"
    );
}

#[test]
fn report_cli_formats_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    write_lines(&path, &incident("unused-secret-xyz", 720));
    assert_eq!(report::run_report_cli(&path, "json"), drcockpit::exit::OK);
    assert_eq!(report::run_report_cli(&path, "md"), drcockpit::exit::OK);
    assert_eq!(report::run_report_cli(&path, "pdf"), drcockpit::exit::USAGE);
    assert_eq!(
        report::run_report_cli(&dir.path().join("missing.jsonl"), "md"),
        drcockpit::exit::FAILURE
    );
    let model = report::build_from_file(&path).expect("build");
    assert!(model.warnings.is_empty());
}

// ---------------------------------------------------------------- issue 12: lock and journal

mod lock_and_journal {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use drcockpit::app::update::{Effect, Msg, update};
    use drcockpit::app::{Mode, Operator, State};
    use drcockpit::journal::paths::{StateSource, plan_key, state_dir_from};
    use drcockpit::journal::read::{Target, check_target};
    use drcockpit::journal::writer::{JournalStatus, spawn_writer_with_status};

    const PLAN: &str = r#"
[plan]
name = "Shop: fr-par → eu-west-1"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "switch"
title = "A mutating command"
kind = "command"
command = ["sh", "-c", "echo switched"]
"#;

    fn plan() -> Arc<drcockpit::plan::Plan> {
        Arc::new(
            drcockpit::steps::load_str(PLAN, "t.toml", &Default::default()).expect("plan loads"),
        )
    }

    fn live(lock: Option<Lock>) -> State {
        let op = Operator {
            name: "alice".into(),
            host: "h1".into(),
        };
        let mut s = State::new(plan(), Mode::Live, op, t0());
        s.lock = lock.map(Arc::new);
        s
    }

    fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
        update(
            state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            t0(),
        )
    }

    /// Effects that would change the world or start a step.
    fn mutations(fx: &[Effect]) -> usize {
        fx.iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::RunStep { .. }
                        | Effect::Record(Event::StepStarted { .. })
                        | Effect::Record(Event::Approved { .. })
                        | Effect::Record(Event::ManualDone { .. })
                )
            })
            .count()
    }

    fn started_rec(seq: u64) -> Record {
        rec(
            seq,
            1,
            "alice",
            Event::StepStarted {
                step: "switch".into(),
                attempt: 1,
                kind: Some("command".into()),
            },
        )
    }

    #[test]
    fn the_driver_confirms_and_runs_while_it_holds_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock =
            Lock::acquire(&dir.path().join("p.lock"), "alice", &host(), false).expect("lock");
        let mut a = live(Some(lock));
        assert_eq!(mutations(&key(&mut a, KeyCode::Enter)), 0);
        assert_eq!(mutations(&key(&mut a, KeyCode::Char('y'))), 1);
        let fx = update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert!(fx.iter().any(|e| matches!(e, Effect::RunStep { .. })));
    }

    #[test]
    fn after_a_take_over_the_old_driver_runs_nothing_and_becomes_a_watcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        let b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        assert!(b.check().is_ok());
        assert!(a.lock.as_ref().expect("lock").check().is_err());

        // Enter / y on the step: the check at dispatch catches it before anything is recorded.
        let mut fx = key(&mut a, KeyCode::Enter);
        fx.extend(key(&mut a, KeyCode::Char('y')));
        fx.extend(key(&mut a, KeyCode::Enter));
        fx.extend(key(&mut a, KeyCode::Char('y')));
        assert_eq!(mutations(&fx), 0, "{fx:?}");
        assert_eq!(a.mode, Mode::Monitor);
        let note = a.mode_note.clone().expect("says why");
        assert!(
            note.contains("lost the plan's lock") && note.contains("bob"),
            "{note}"
        );
        // Said on screen (flash), in the log and in the journal.
        assert!(fx.iter().any(|e| matches!(e, Effect::Log { target, line, .. } if target == "safety" && line.contains("watcher"))));
        assert!(fx.iter().any(
            |e| matches!(e, Effect::Record(Event::Note { text, .. }) if text.contains("bob"))
        ));
        drop(b);
    }

    #[test]
    fn the_clock_tick_turns_a_taken_over_driver_into_a_watcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        assert!(update(&mut a, Msg::Tick, t0()).is_empty() || a.mode == Mode::Live);
        assert_eq!(a.mode, Mode::Live);
        let _b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        let fx = update(&mut a, Msg::Tick, t0());
        assert_eq!(a.mode, Mode::Monitor);
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Record(Event::Note { .. })))
        );
        // Only once.
        assert!(update(&mut a, Msg::Tick, t0()).is_empty());
    }

    #[test]
    fn a_take_over_between_confirm_and_dispatch_records_the_step_as_not_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        key(&mut a, KeyCode::Enter);
        assert_eq!(mutations(&key(&mut a, KeyCode::Char('y'))), 1);
        // The StepStarted is on disk when the newcomer takes over: the run itself never starts.
        let _b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        let fx = update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::RunStep { .. })),
            "{fx:?}"
        );
        assert!(fx.iter().any(|e| matches!(e, Effect::Record(Event::StepFinished { ok: false, detail, .. }) if detail.starts_with("not run"))), "{fx:?}");
    }

    #[test]
    fn a_removed_lock_file_is_a_lost_lock_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let a = Lock::acquire(&path, "alice", &host(), false).expect("lock");
        std::fs::remove_file(&path).expect("rm");
        let err = a.check().expect_err("lost");
        assert!(err.contains("removed"), "{err}");
    }

    #[test]
    fn two_writers_on_one_journal_never_repeat_a_seq() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut a = JournalWriter::create(&path, "alice").expect("a");
        let mut b = JournalWriter::create(&path, "bob").expect("b (take-over resumes it)");
        for i in 0..5 {
            a.append(note(&format!("a{i}"))).expect("a append");
            b.append(note(&format!("b{i}"))).expect("b append");
            b.append(note(&format!("b{i}'"))).expect("b append");
        }
        let read = read::read(&path).expect("read");
        let seqs: Vec<u64> = read.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs.len(), 15);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert!(read.torn_lines.is_empty() && read.torn_tail.is_none());
    }

    #[test]
    fn writers_in_several_threads_keep_seq_strictly_increasing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Arc::new(dir.path().join("j.jsonl"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut w = JournalWriter::create(&path, &format!("op{t}")).expect("open");
                    for i in 0..25 {
                        w.append(note(&format!("{t}-{i}"))).expect("append");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("join");
        }
        let seqs: Vec<u64> = read::read(&path)
            .expect("read")
            .records
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs.len(), 100);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }

    // ------------------------------------------------------------ item 9: where the lock lives

    #[test]
    fn the_state_directory_is_chosen_plan_then_env_then_system_then_user() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let system = tmp.path().join("var-lib-drcockpit");
        let user = tmp.path().join("home/.local/state/drcockpit/journal");
        let plan_dir = tmp.path().join("plan-dir");
        let env = Some(tmp.path().join("env-dir").into_os_string());

        let d = state_dir_from(Some(&plan_dir), env.clone(), &system, user.clone());
        assert_eq!(
            (d.dir.clone(), d.source),
            (plan_dir.clone(), StateSource::Plan)
        );
        assert!(d.shared() && d.warning().is_none());
        let d = state_dir_from(None, env.clone(), &system, user.clone());
        assert_eq!(d.source, StateSource::Env);
        // No system directory: the per-user one, with a warning that the lock is not shared.
        let d = state_dir_from(None, None, &system, user.clone());
        assert_eq!((d.dir.clone(), d.source), (user.clone(), StateSource::User));
        let w = d.warning().expect("warned");
        assert!(
            w.contains("per user") && w.contains("/var/lib/drcockpit"),
            "{w}"
        );
        std::fs::create_dir_all(&system).expect("mkdir");
        let d = state_dir_from(None, None, &system, user.clone());
        assert_eq!((d.dir, d.source), (system, StateSource::System));
    }

    #[test]
    fn the_lock_is_keyed_by_the_plan_name_not_the_checkout() {
        let k = plan_key("Shop: fr-par → eu-west-1");
        assert!(k.starts_with("shop-fr-par-eu-west-1-"), "{k}");
        assert_eq!(k.len(), "shop-fr-par-eu-west-1-".len() + 8);
        assert_eq!(k, plan_key("Shop: fr-par → eu-west-1"));
        // Names that slug alike are still two plans.
        assert_ne!(plan_key("shop eu"), plan_key("Shop/EU"));
    }

    #[test]
    fn a_shared_lock_file_is_group_writable_whatever_the_umask() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shared/p.lock");
        let _l = Lock::acquire_shared(&path, "alice", &host(), false).expect("lock");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let dmode = std::fs::metadata(dir.path().join("shared"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(dmode, 0o2770);
        let j = dir.path().join("shared/j.jsonl");
        JournalWriter::create_shared(&j, "alice").expect("journal");
        let mode = std::fs::metadata(&j).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
    }

    #[test]
    fn journal_dir_in_the_plan_must_be_absolute() {
        let with = |dir: &str| format!("{PLAN}\n[journal]\ndir = \"{dir}\"\n");
        let ok = with("/srv/drcockpit");
        drcockpit::steps::load_str(&ok, "t.toml", &Default::default()).expect("absolute is fine");
        assert_eq!(
            drcockpit::plan::load::journal_dir(&ok),
            Some(std::path::PathBuf::from("/srv/drcockpit"))
        );
        let err = drcockpit::steps::load_str(&with("state"), "t.toml", &Default::default())
            .expect_err("relative is refused")
            .to_string();
        assert!(
            err.contains("journal.dir") && err.contains("absolute"),
            "{err}"
        );
        assert_eq!(drcockpit::plan::load::journal_dir(PLAN), None);
    }

    // ------------------------------------------------------------ item 10: what --journal may be

    #[test]
    fn journal_targets_other_than_a_new_file_or_this_plans_journal_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = "Shop: fr-par → eu-west-1";
        assert_eq!(
            check_target(&dir.path().join("new.jsonl"), name),
            Ok(Target::New)
        );
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, "").expect("write");
        assert_eq!(check_target(&empty, name), Ok(Target::New));

        // A device: refused without reading it (it used to be read to EOF).
        if Path::new("/dev/full").exists() {
            let e = check_target(Path::new("/dev/full"), name).expect_err("device");
            assert!(e.contains("device"), "{e}");
            let e = read::read(Path::new("/dev/zero")).expect_err("device");
            assert!(e.contains("device"), "{e}");
        }
        // A FIFO: refused, and never blocks (it used to hang forever).
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstr");
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = check_target(&fifo, name).expect_err("fifo");
        assert!(e.contains("FIFO"), "{e}");
        assert!(JournalWriter::create(&fifo, "alice").is_err());
        assert!(read::read(&fifo).is_err());
        // A directory.
        assert!(check_target(dir.path(), name).is_err());

        // A one-line text file that is not a journal: refused, and left as it was.
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "remember the milk\n").expect("write");
        let e = check_target(&text, name).expect_err("text");
        assert!(e.contains("not a drcockpit journal"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&text).expect("read"),
            "remember the milk\n"
        );
        // A journal record that is not session_started first.
        let odd = dir.path().join("odd.jsonl");
        write_lines(&odd, &[rec(0, 0, "alice", note("x"))]);
        assert!(check_target(&odd, name).is_err());
        // A huge first line is not read whole.
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 1 << 20]).expect("write");
        assert!(
            check_target(&big, name)
                .expect_err("big")
                .contains("longer")
        );

        // Another plan's journal is refused; this plan's journal is continued.
        let mut other = started("live", false, "hash");
        if let Event::SessionStarted { plan_name, .. } = &mut other {
            *plan_name = "another plan".into();
        }
        let theirs = dir.path().join("theirs.jsonl");
        write_lines(&theirs, &[rec(0, 0, "bob", other)]);
        let e = check_target(&theirs, name).expect_err("other plan");
        assert!(e.contains("another plan"), "{e}");
        let mut mine = started("live", false, "hash");
        if let Event::SessionStarted { plan_name, .. } = &mut mine {
            *plan_name = name.into();
        }
        let ours = dir.path().join("ours.jsonl");
        write_lines(&ours, &[rec(0, 0, "bob", mine)]);
        assert_eq!(check_target(&ours, name), Ok(Target::Journal));
    }

    // ------------------------------------------------------------ item 11: a full disk

    fn assert_clean_journal(path: &Path) -> Vec<u64> {
        let bytes = std::fs::read(path).expect("read");
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"));
        let read = read::read(path).expect("parses");
        assert!(
            read.torn_lines.is_empty(),
            "torn lines {:?}",
            read.torn_lines
        );
        assert!(read.torn_tail.is_none(), "{:?}", read.torn_tail);
        read.records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_short_write_is_cut_back_and_the_event_can_be_written_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        w.append(note("before")).expect("first");
        let len = std::fs::metadata(&path).expect("meta").len();
        let faults = Arc::new(AtomicUsize::new(2));
        w.inject_faults(faults.clone());
        let e = w.append(note("during")).expect_err("ENOSPC");
        assert_eq!(e.raw_os_error(), None);
        assert!(e.to_string().contains("No space left"), "{e}");
        assert!(w.append(note("during")).is_err());
        // No torn line: the half-written lines were cut back.
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), len);
        assert_eq!(faults.load(Ordering::SeqCst), 0);
        // Space is back: the same writer works again, seq continues without a gap or repeat.
        w.append(note("during")).expect("after");
        w.append(note("after")).expect("after");
        assert_eq!(assert_clean_journal(&path), vec![0, 1, 2]);
    }

    #[test]
    fn the_writer_thread_keeps_events_retries_and_reports_blocked_then_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        let faults = Arc::new(AtomicUsize::new(3));
        w.inject_faults(faults);
        let done: Arc<Mutex<Vec<Result<Record, String>>>> = Arc::default();
        let status: Arc<Mutex<Vec<JournalStatus>>> = Arc::default();
        let (d, s) = (done.clone(), status.clone());
        let h = spawn_writer_with_status(
            w,
            move |r| d.lock().expect("lock").push(r),
            move |st| s.lock().expect("lock").push(st),
        );
        for i in 0..4 {
            h.send(note(&format!("n{i}")));
        }
        assert!(h.close_within(Duration::from_secs(30)));
        let done = done.lock().expect("lock");
        assert_eq!(done.len(), 4, "{done:?}");
        let texts: Vec<String> = done
            .iter()
            .map(|r| match &r.as_ref().expect("written").event {
                Event::Note { text, .. } => text.clone(),
                e => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(texts, ["n0", "n1", "n2", "n3"]);
        let status = status.lock().expect("lock");
        assert!(
            matches!(status.first(), Some(JournalStatus::Blocked { waiting, .. }) if *waiting >= 1),
            "{status:?}"
        );
        assert_eq!(status.last(), Some(&JournalStatus::Durable));
        assert_eq!(h.lost(), 0);
        assert_eq!(assert_clean_journal(&path), vec![0, 1, 2, 3]);
    }

    #[test]
    fn events_that_can_never_be_written_are_counted_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        w.inject_faults(Arc::new(AtomicUsize::new(usize::MAX)));
        let done: Arc<Mutex<Vec<Result<Record, String>>>> = Arc::default();
        let d = done.clone();
        let h = spawn_writer_with_status(w, move |r| d.lock().expect("lock").push(r), |_| {});
        h.send(note("a"));
        h.send(note("b"));
        assert!(h.close_within(Duration::from_secs(30)));
        assert_eq!(h.lost(), 2);
        let done = done.lock().expect("lock");
        assert!(
            done.iter()
                .all(|r| r.as_ref().is_err_and(|e| e.contains("never be written")))
        );
        assert_clean_journal(&path);
    }

    #[test]
    fn a_blocked_journal_refuses_new_steps_and_the_running_step_finishes_once_written() {
        let mut a = live(None);
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Char('y'));
        update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert_eq!(a.status(0), drcockpit::app::state::StepStatus::Running);
        // The step finishes while the disk is full: its StepFinished waits in memory.
        let fx = update(
            &mut a,
            Msg::StepDone {
                step: 0,
                attempt: 1,
                result: Ok("switched".into()),
            },
            t0(),
        );
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Record(Event::StepFinished { .. })))
        );
        update(
            &mut a,
            Msg::JournalBlocked {
                waiting: 2,
                error: "No space left on device".into(),
            },
            t0(),
        );
        // Nothing new may start.
        let mut fx = key(&mut a, KeyCode::Char('s'));
        fx.extend(key(&mut a, KeyCode::Char('D')));
        for c in "an incident".chars() {
            fx.extend(key(&mut a, KeyCode::Char(c)));
        }
        fx.extend(key(&mut a, KeyCode::Enter));
        assert!(
            !fx.iter()
                .any(|e| matches!(e, Effect::Record(_) | Effect::RunStep { .. })),
            "{fx:?}"
        );
        // The header says so.
        let theme = drcockpit::ui::Theme::builtin("dark").unwrap_or_default();
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("term");
        term.draw(|f| drcockpit::ui::draw(f, &a, &drcockpit::ui::View::new(&theme, None)))
            .expect("draw");
        let buf = term.backend().buffer();
        let screen: String = buf.content().iter().map(|c| c.symbol()).collect();
        assert!(
            screen.contains("JOURNAL BLOCKED: 2 events waiting"),
            "{screen}"
        );
        // Space is back: the finish is written and applied; the step is not running forever.
        let fin = rec(
            1,
            2,
            "alice",
            Event::StepFinished {
                step: "switch".into(),
                attempt: 1,
                ok: true,
                detail: "switched".into(),
            },
        );
        update(&mut a, Msg::Recorded(fin), t0());
        update(&mut a, Msg::JournalDurable, t0());
        assert!(a.journal_blocked.is_none());
        assert_eq!(a.status(0), drcockpit::app::state::StepStatus::Succeeded);
    }
}

#[test]
fn session_started_records_the_build_commit_and_the_report_names_the_build() {
    let mut ev = started("live", true, "abc123");
    if let Event::SessionStarted { commit, .. } = &mut ev {
        *commit = Some(Box::new("0123456789ab".into()));
    }
    let line = serde_json::to_string(&rec(1, 0, "ana", ev)).expect("serialise");
    assert!(line.contains(r#""commit":"0123456789ab""#), "{line}");
    // Journals written before the field existed still read, without a commit.
    let old = line.replace(r#","commit":"0123456789ab""#, "");
    let back: Record = serde_json::from_str(&old).expect("old journal line");
    assert!(matches!(
        back.event,
        Event::SessionStarted { commit: None, .. }
    ));

    let records = vec![
        serde_json::from_str::<Record>(&line).expect("parse"),
        rec(2, 10, "ana", note("drill begins")),
    ];
    let md = report::render_markdown(&report::build(&records));
    assert!(
        md.contains("| Build | drcockpit 0.1.0 (commit 0123456789ab) |"),
        "{md}"
    );
    let json = report::render_json(&report::build(&records)).expect("json");
    assert!(json.contains("0123456789ab"), "{json}");
}

// ---- Group commit (issue 15, item 1) ----

fn output(n: usize) -> Event {
    Event::StepOutput {
        step: "restore".into(),
        attempt: 1,
        stream: "stdout".into(),
        line: format!("line {n}"),
    }
}

/// Holds an exclusive `flock` on the journal (as another cockpit appending would) until dropped.
// The file is only held: closing it releases the lock.
struct HeldLock(#[allow(dead_code)] std::fs::File);

impl HeldLock {
    fn take(path: &Path) -> HeldLock {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::File::open(path).expect("open journal");
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        HeldLock(f)
    }
}

#[test]
fn a_batch_is_written_with_one_fsync_and_consecutive_seqs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let syncs = Arc::new(AtomicUsize::new(0));
    w.count_syncs(syncs.clone());
    let recs = w
        .append_batch((0..500).map(output).collect())
        .expect("batch");
    assert_eq!(syncs.load(Ordering::SeqCst), 1, "one fsync for 500 records");
    assert_eq!(
        recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..500).collect::<Vec<u64>>()
    );
    let on_disk = read::read(&path).expect("read").records;
    assert_eq!(on_disk, recs);
    // A single append still works and continues the sequence.
    assert_eq!(w.append(note("after")).expect("append").seq, 500);
    assert_eq!(syncs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_burst_sent_to_the_writer_thread_costs_far_fewer_fsyncs_than_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let syncs = Arc::new(AtomicUsize::new(0));
    w.count_syncs(syncs.clone());
    // Each acknowledgement notes the fsyncs done so far and the journal's length at that moment.
    let acks: Arc<Mutex<Vec<(u64, usize, u64)>>> = Arc::default();
    let (a, s, p) = (acks.clone(), syncs.clone(), path.clone());
    let handle = spawn_writer(w, move |r| {
        let Ok(rec) = r else { return };
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        if let Ok(mut a) = a.lock() {
            a.push((rec.seq, s.load(Ordering::SeqCst), len));
        }
    });
    const N: usize = 2000;
    {
        // Another writer holds the journal: the burst queues up behind it.
        let _held = HeldLock::take(&path);
        for i in 0..N {
            handle.send(output(i));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            acks.lock().expect("lock").is_empty(),
            "nothing is acknowledged before it is written"
        );
    }
    handle.close();
    let acks = acks.lock().expect("lock");
    assert_eq!(acks.len(), N);
    assert_eq!(
        acks.iter().map(|a| a.0).collect::<Vec<_>>(),
        (0..N as u64).collect::<Vec<_>>(),
        "acknowledged in order"
    );
    // Where each record's line ends in the file: its acknowledgement saw at least that much.
    let text = std::fs::read_to_string(&path).expect("read");
    let mut ends = Vec::new();
    let mut offset = 0u64;
    for line in text.split_inclusive('\n') {
        offset += line.len() as u64;
        ends.push(offset);
    }
    assert!(
        acks.iter()
            .all(|&(seq, syncs, len)| syncs >= 1 && len >= ends[seq as usize]),
        "every acknowledgement comes after the write and fsync of its line"
    );
    let total = syncs.load(Ordering::SeqCst);
    // The first record may be written alone; everything queued behind the lock goes together.
    assert!(total <= 2, "{total} fsyncs for {N} records");
    assert_eq!(read::read(&path).expect("read").records.len(), N);
}

#[test]
fn a_failed_batch_hands_every_event_back_and_leaves_the_journal_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    w.append(note("before")).expect("append");
    let len = std::fs::metadata(&path).expect("meta").len();
    let faults = Arc::new(AtomicUsize::new(1));
    w.inject_faults(faults.clone());
    let events: Vec<Event> = (0..50).map(output).collect();
    let (back, e) = w.append_batch(events.clone()).expect_err("ENOSPC");
    assert!(e.to_string().contains("No space left"), "{e}");
    assert_eq!(back, events, "every event back, in order");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").len(),
        len,
        "cut back"
    );
    let recs = w.append_batch(back).expect("retry");
    assert_eq!(recs.first().map(|r| r.seq), Some(1));
    let on_disk = read::read(&path).expect("read");
    assert_eq!(on_disk.records.len(), 51);
    assert_eq!(on_disk.records.last().map(|r| r.seq), Some(50));
}

#[test]
fn a_flood_of_output_keeps_only_the_newest_lines_in_state_and_every_other_event() {
    use drcockpit::app::update::{OUTPUT_KEPT, apply};
    use drcockpit::app::{Mode, Operator, State};
    let opts = drcockpit::plan::LoadOptions {
        sim_url: Some("http://127.0.0.1:0".into()),
        run_commands: false,
    };
    let loaded = drcockpit::steps::load_str_with_notes(drcockpit::plan::DEMO_PLAN, "<demo>", &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let op = Operator {
        name: "alice".into(),
        host: "h1".into(),
    };
    let mut state = State::new(Arc::new(loaded.plan), Mode::Live, op, t0());
    apply(
        &mut state,
        &rec(0, 0, "alice", started("live", false, "h1")),
    );
    const N: u64 = 30_000;
    for i in 0..N {
        apply(&mut state, &rec(i + 1, 1, "alice", output(i as usize)));
    }
    apply(&mut state, &rec(N + 1, 2, "alice", note("after the flood")));
    let outputs: Vec<&Record> = state
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::StepOutput { .. }))
        .collect();
    assert!(
        outputs.len() <= 2 * OUTPUT_KEPT && outputs.len() >= OUTPUT_KEPT,
        "{} output lines kept",
        outputs.len()
    );
    assert_eq!(
        outputs.last().map(|r| r.seq),
        Some(N),
        "the newest lines are kept"
    );
    assert_eq!(
        state.records.first().map(|r| r.seq),
        Some(0),
        "the session start stays"
    );
    assert_eq!(state.records.last().map(|r| r.seq), Some(N + 1));
}

/// The host name the runtime passes to the lock (`Operator::from_env` reads it the same way).
fn host() -> String {
    drcockpit::app::state::hostname()
}

#[test]
fn the_lock_records_the_host_the_runtime_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prod.lock");
    let l = Lock::acquire(&path, "alice", "bastion-7", false).expect("lock");
    assert_eq!(l.info().host, "bastion-7");
    match Lock::acquire(&path, "bob", "laptop", false) {
        Err(LockError::Held { host, operator, .. }) => {
            assert_eq!((host.as_str(), operator.as_str()), ("bastion-7", "alice"));
        }
        Err(e) => panic!("expected Held, got {e}"),
        Ok(_) => panic!("a second lock was granted"),
    }
}
