//! Journal paths and the session summary.

use super::*;

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
