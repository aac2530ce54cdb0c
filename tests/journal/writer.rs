//! The journal writer and reader: lines that parse back, torn tails, secrets, the writer thread.

use super::*;

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
