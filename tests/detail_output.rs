//! Issue 15 item 2: a step's output lives in the journal. The detail pane keeps the newest
//! `DETAIL_LINES` of it in memory and, when the operator pages back past them, asks for older
//! lines (`Effect::ReadOutput`, read off the event loop by the runtime) and shows the journal's.

use std::sync::Arc;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use drcockpit::app::output::DETAIL_LINES;
use drcockpit::app::state::{Operator, State};
use drcockpit::app::{Effect, Mode, Msg, OutputLine, apply, update};
use drcockpit::journal::Event;
use drcockpit::journal::writer::JournalWriter;
use drcockpit::plan::LoadOptions;
use drcockpit::steps;

mod common;
use common::screen::{render, text};

const PLAN: &str = r#"
[plan]
name = "chatty"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"
[sites.prod]
label = "Prod"
[sites.dr]
label = "DR"
[[step]]
id = "restore"
title = "Restore the database"
kind = "command"
command = ["pg_restore", "--verbose", "dump"]
"#;

const LINES: usize = 300;

/// A journal where step `restore` printed `LINES` lines, replayed into a state as a resumed
/// cockpit (or the live engine, record by record) would.
fn chatty() -> (tempfile::TempDir, std::path::PathBuf, State) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "test").unwrap();
    w.append(Event::StepStarted {
        step: "restore".into(),
        attempt: 1,
        kind: Some("command".into()),
    })
    .unwrap();
    let events = (1..=LINES)
        .map(|n| Event::StepOutput {
            step: "restore".into(),
            attempt: 1,
            stream: if n % 50 == 0 { "stderr" } else { "stdout" }.into(),
            line: format!("pg_restore: processing item {n}"),
        })
        .collect();
    w.append_batch(events).unwrap();
    let plan = Arc::new(steps::load_str(PLAN, "chatty.toml", &LoadOptions::default()).unwrap());
    let op = Operator {
        name: "test".into(),
        host: "host".into(),
    };
    let mut state = State::new(plan, Mode::Live, op, Utc::now());
    for rec in drcockpit::journal::read::read(&path).unwrap().records {
        apply(&mut state, &rec);
    }
    (dir, path, state)
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The detail pane's output (its heading and lines, from the pane's column on), for the snapshot.
fn output_rows(screen: &str) -> String {
    let rows: Vec<Vec<char>> = screen.lines().map(|r| r.chars().collect()).collect();
    let (start, col) = rows
        .iter()
        .enumerate()
        .find_map(|(i, r)| {
            let s: String = r.iter().collect();
            let byte = s.find("output ")?;
            Some((i, s[..byte].chars().count()))
        })
        .expect("the detail pane shows the output");
    rows[start..]
        .iter()
        .map(|r| r[col..].iter().collect::<String>())
        .take_while(|r| {
            r.starts_with("output ") || r.starts_with("pg_restore") || r.starts_with('…')
        })
        .map(|r| r.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn paging_back_past_the_kept_lines_shows_the_journals_older_ones() {
    let (_dir, path, mut state) = chatty();
    let tail = state.output.tail(0).expect("the step has output");
    assert_eq!(tail.total, LINES);
    assert_eq!(
        tail.lines.len(),
        DETAIL_LINES,
        "memory keeps the newest lines only"
    );

    let newest = text(&render(&state, 120, 40));
    insta::assert_snapshot!("detail_output_newest", output_rows(&newest));

    // Page back (10 lines a page) until the view is past the kept lines: the engine asks for
    // older ones, and meanwhile says they are being read.
    let mut reads = Vec::new();
    for _ in 0..15 {
        for fx in update(&mut state, key(KeyCode::PageUp), Utc::now()) {
            if let Effect::ReadOutput { .. } = fx {
                reads.push(fx);
            }
        }
    }
    assert!(
        !reads.is_empty(),
        "paging past the kept lines reads the journal"
    );
    let loading = text(&render(&state, 120, 40));
    assert!(
        loading.contains("reading older lines from the journal"),
        "{loading}"
    );

    // The runtime's read (here in the test's thread), answered as a message.
    let Some(Effect::ReadOutput {
        step,
        step_id,
        attempt,
        start,
        count,
    }) = reads.pop()
    else {
        unreachable!()
    };
    let lines =
        drcockpit::journal::read::output_page(&path, &step_id, attempt, start, count).map(|v| {
            v.into_iter()
                .map(|(stream, text)| OutputLine { stream, text })
                .collect()
        });
    assert!(count <= drcockpit::app::output::OLDER_PAGE);
    update(
        &mut state,
        Msg::OutputPage {
            step,
            attempt,
            start,
            lines,
        },
        Utc::now(),
    );
    let older = text(&render(&state, 120, 40));
    assert!(!older.contains("reading older lines"), "{older}");
    insta::assert_snapshot!("detail_output_paged_back", output_rows(&older));

    // Back to the newest: no further read needed.
    for _ in 0..15 {
        let fx = update(&mut state, key(KeyCode::PageDown), Utc::now());
        assert!(
            !fx.iter().any(|f| matches!(f, Effect::ReadOutput { .. })),
            "{fx:?}"
        );
    }
    let back = text(&render(&state, 120, 40));
    assert_eq!(output_rows(&back), output_rows(&newest));
}

#[test]
fn a_new_attempt_starts_the_output_afresh() {
    let (_dir, _path, mut state) = chatty();
    apply(
        &mut state,
        &drcockpit::journal::Record {
            seq: 999,
            at: Utc::now(),
            operator: "test".into(),
            event: Event::StepStarted {
                step: "restore".into(),
                attempt: 2,
                kind: None,
            },
        },
    );
    assert!(state.output.tail(0).is_none());
}
