//! Issue 13: several people, one incident. The watcher state machine through `update()` (fast
//! and deterministic): a watcher follows the driver's journal, runs nothing, adds notes, asks
//! to take over; and who drove, handed over and wrote notes, as the journal tells it.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use drcockpit::app::update::{Effect, Msg, update};
use drcockpit::app::{Mode, Operator, State, StepPhase};
use drcockpit::journal::{Event, Record, people};

const PLAN: &str = r#"
[plan]
name = "Shop watchers"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"
health = { url = "http://127.0.0.1:1/healthz", timeout = "1s" }

[[step]]
id = "switch"
title = "A mutating command"
kind = "command"
command = ["sh", "-c", "echo switched"]

[[step]]
id = "stable"
title = "Wait for DR"
kind = "wait"
conditions = ["dr.health.ok"]
timeout = "1s"

[[step]]
id = "go"
title = "Go decision"
kind = "approval"
confirm = "FAILOVER"
"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 7, 11, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

fn rec(seq: u64, secs: i64, operator: &str, event: Event) -> Record {
    Record {
        seq,
        at: at(secs),
        operator: operator.into(),
        event,
    }
}

fn started(host: &str) -> Event {
    Event::SessionStarted {
        plan_name: "Shop watchers".into(),
        plan_source: "t.toml".into(),
        plan_hash: "h".into(),
        mode: "live".into(),
        drill: false,
        host: host.into(),
        pid: 1,
        version: "0".into(),
        commit: None,
        resumed_from: None,
        rto_secs: Some(3600),
        rpo_secs: Some(900),
        steps: vec![],
    }
}

fn plan() -> Arc<drcockpit::plan::Plan> {
    Arc::new(drcockpit::steps::load_str(PLAN, "t.toml", &Default::default()).expect("plan loads"))
}

/// Bob's cockpit, watching the plan alice drives.
fn watcher() -> State {
    let op = Operator {
        name: "bob".into(),
        host: "laptop".into(),
    };
    let mut s = State::new(plan(), Mode::Monitor, op, at(600));
    s.watch.journal = Some("/tmp/shared.jsonl".into());
    s
}

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(
        state,
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        at(600),
    )
}

fn typed(state: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(key(state, KeyCode::Char(c)));
    }
    fx
}

/// Effects that would change the world or the checklist's record (a note is neither).
fn mutations(fx: &[Effect]) -> Vec<&Effect> {
    fx.iter()
        .filter(|e| match e {
            Effect::RunStep { .. } | Effect::Follow { .. } | Effect::StopStep { .. } => true,
            Effect::Record(Event::Note { .. }) => false,
            Effect::Record(_) => true,
            _ => false,
        })
        .collect()
}

fn logs(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log { line, .. } => Some(line.clone()),
            _ => None,
        })
        .collect()
}

fn driving_so_far() -> Vec<Record> {
    vec![
        rec(0, 0, "alice", started("bastion-1")),
        rec(
            1,
            30,
            "alice",
            Event::Declared {
                note: "prod is down".into(),
            },
        ),
        rec(
            2,
            40,
            "alice",
            Event::StepStarted {
                step: "switch".into(),
                attempt: 1,
                kind: Some("command".into()),
            },
        ),
        rec(
            3,
            41,
            "alice",
            Event::StepOutput {
                step: "switch".into(),
                attempt: 1,
                stream: "stdout".into(),
                line: "switching…".into(),
            },
        ),
    ]
}

#[test]
fn a_watcher_shows_the_drivers_steps_output_notes_clock_and_name() {
    let mut w = watcher();
    let fx = update(&mut w, Msg::Followed(driving_so_far()), at(600));
    assert!(mutations(&fx).is_empty(), "{fx:?}");
    assert!(matches!(
        w.steps[0].phase,
        StepPhase::Running { attempt: 1, .. }
    ));
    assert_eq!(w.steps[0].last_output.as_deref(), Some("switching…"));
    assert!(logs(&fx).iter().any(|l| l == "switching…"), "{fx:?}");
    // The incident clock runs from the driver's declaration, not from the watcher's start.
    assert_eq!(w.started, at(30));
    assert_eq!(w.incident_elapsed().as_secs(), 570);
    let note = w.mode_note.clone().expect("the header says who drives");
    assert!(
        note.contains("driven by alice@bastion-1 since 07:11 UTC"),
        "{note}"
    );

    let fx = update(
        &mut w,
        Msg::Followed(vec![
            rec(
                4,
                50,
                "alice",
                Event::StepFinished {
                    step: "switch".into(),
                    attempt: 1,
                    ok: true,
                    detail: "exit 0".into(),
                },
            ),
            rec(
                5,
                51,
                "carol",
                Event::Note {
                    step: Some("switch".into()),
                    text: "DNS TTL is 60s".into(),
                },
            ),
            rec(
                6,
                52,
                "alice",
                Event::Skipped {
                    step: "stable".into(),
                    reason: "checked by hand".into(),
                },
            ),
        ]),
        at(601),
    );
    assert!(mutations(&fx).is_empty(), "{fx:?}");
    assert!(matches!(w.steps[0].phase, StepPhase::Succeeded { .. }));
    assert!(matches!(w.steps[1].phase, StepPhase::Skipped { .. }));
    assert_eq!(w.steps[0].notes, vec!["DNS TTL is 60s".to_string()]);
    let lines = logs(&fx);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("note from carol: DNS TTL is 60s")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("skipped by alice")),
        "{lines:?}"
    );
}

#[test]
fn a_watchers_keys_run_nothing_and_record_nothing_but_notes() {
    let mut w = watcher();
    update(
        &mut w,
        Msg::Followed(driving_so_far()[..2].to_vec()),
        at(600),
    );
    let mut fx = Vec::new();
    // Every key of the default map, then the words that would confirm a dialog.
    for d in drcockpit::app::keys::DEFAULTS {
        for k in d.keys {
            if let Ok(c) = drcockpit::app::keys::Chord::parse(k) {
                let mut ev = KeyEvent::new(c.code, KeyModifiers::NONE);
                if c.ctrl {
                    ev.modifiers |= KeyModifiers::CONTROL;
                }
                if c.code == KeyCode::Char('q') || (c.ctrl && c.code == KeyCode::Char('c')) {
                    continue;
                }
                fx.extend(update(&mut w, Msg::Key(ev), at(600)));
                fx.extend(typed(&mut w, "FAILOVER"));
                fx.extend(key(&mut w, KeyCode::Enter));
                fx.extend(key(&mut w, KeyCode::Char('y')));
                fx.extend(key(&mut w, KeyCode::Esc));
            }
        }
    }
    for i in 0..3 {
        w.selected = i;
        fx.extend(key(&mut w, KeyCode::Enter));
        fx.extend(key(&mut w, KeyCode::Char('y')));
    }
    assert!(mutations(&fx).is_empty(), "{:?}", mutations(&fx));
    assert_eq!(w.mode, Mode::Monitor);
    assert!(!w.watch.take_over);
}

#[test]
fn n_in_a_watcher_journals_a_note_on_the_selected_step() {
    let mut w = watcher();
    update(&mut w, Msg::Followed(driving_so_far()), at(600));
    w.selected = 1;
    key(&mut w, KeyCode::Char('n'));
    assert!(w.dialog().is_some(), "n opens the note dialog in a watcher");
    typed(&mut w, "DB replica caught up");
    let fx = key(&mut w, KeyCode::Enter);
    assert_eq!(
        fx.iter()
            .filter_map(|e| match e {
                Effect::Record(ev) => Some(ev.clone()),
                _ => None,
            })
            .collect::<Vec<_>>(),
        vec![Event::Note {
            step: Some("stable".into()),
            text: "DB replica caught up".into()
        }]
    );
    // Once journaled it shows like any note.
    update(
        &mut w,
        Msg::Recorded(rec(
            9,
            70,
            "bob",
            Event::Note {
                step: Some("stable".into()),
                text: "DB replica caught up".into(),
            },
        )),
        at(601),
    );
    assert_eq!(w.steps[1].notes, vec!["DB replica caught up".to_string()]);
}

#[test]
fn a_plain_monitor_without_a_driver_still_refuses_notes_and_take_over() {
    let op = Operator {
        name: "bob".into(),
        host: "laptop".into(),
    };
    let mut m = State::new(plan(), Mode::Monitor, op, t0());
    key(&mut m, KeyCode::Char('n'));
    assert!(m.dialog().is_none());
    key(&mut m, KeyCode::Char('T'));
    assert!(m.dialog().is_none());
    assert!(!m.watch.take_over);
}

#[test]
fn t_and_the_typed_word_ask_to_take_over_and_a_wrong_word_does_not() {
    let mut w = watcher();
    update(&mut w, Msg::Followed(driving_so_far()), at(600));
    key(&mut w, KeyCode::Char('T'));
    assert!(w.dialog().is_some());
    typed(&mut w, "takeover");
    let fx = key(&mut w, KeyCode::Enter);
    assert!(!w.watch.take_over, "the word must be typed exactly");
    assert!(!fx.contains(&Effect::Quit));
    for _ in 0.."takeover".len() {
        key(&mut w, KeyCode::Backspace);
    }
    typed(&mut w, "TAKEOVER");
    let fx = key(&mut w, KeyCode::Enter);
    assert!(w.watch.take_over);
    assert!(fx.contains(&Effect::Quit));
    assert!(mutations(&fx).is_empty(), "{fx:?}");
}

#[test]
fn a_watcher_never_ends_the_drivers_wait_step() {
    let mut w = watcher();
    let mut recs = driving_so_far();
    recs.push(rec(
        4,
        42,
        "alice",
        Event::StepStarted {
            step: "stable".into(),
            attempt: 1,
            kind: Some("wait".into()),
        },
    ));
    update(&mut w, Msg::Followed(recs), at(600));
    // Long past the wait's timeout: only the driver records its end.
    let fx = update(&mut w, Msg::Tick, at(900));
    assert!(mutations(&fx).is_empty(), "{fx:?}");
    assert!(matches!(w.steps[1].phase, StepPhase::Running { .. }));
}

#[test]
fn a_hand_over_is_shown_and_the_header_names_the_new_driver() {
    let mut w = watcher();
    update(&mut w, Msg::Followed(driving_so_far()), at(600));
    let fx = update(
        &mut w,
        Msg::Followed(vec![
            rec(10, 900, "dave", started("bastion-2")),
            rec(
                11,
                900,
                "dave",
                Event::Note {
                    step: None,
                    text: "took over the plan's lock from alice@bastion-1".into(),
                },
            ),
        ]),
        at(901),
    );
    let lines = logs(&fx);
    assert!(
        lines.iter().any(|l| l
            .contains("hand-over: dave@bastion-2 took over from alice@bastion-1 at 07:26:00 UTC")),
        "{lines:?}"
    );
    let note = w.mode_note.clone().expect("header");
    assert!(
        note.contains("driven by dave@bastion-2 since 07:26 UTC"),
        "{note}"
    );
}

#[test]
fn the_people_of_a_journal_are_every_driver_every_hand_over_and_every_note_author() {
    let mut recs = driving_so_far();
    recs.push(rec(
        4,
        60,
        "bob",
        Event::Note {
            step: None,
            text: "watching".into(),
        },
    ));
    recs.push(rec(5, 900, "dave", started("bastion-2")));
    recs.push(rec(
        6,
        901,
        "bob",
        Event::Note {
            step: None,
            text: "hello dave".into(),
        },
    ));
    let p = people::of(&recs);
    let drivers: Vec<String> = p.drivers.iter().map(|d| d.who()).collect();
    assert_eq!(drivers, vec!["alice@bastion-1", "dave@bastion-2"]);
    assert_eq!(p.hand_overs.len(), 1);
    assert_eq!(p.hand_overs[0].from, "alice@bastion-1");
    assert_eq!(p.hand_overs[0].to, "dave@bastion-2");
    assert_eq!(p.note_authors, vec![("bob".to_string(), 2)]);
    let md = people::markdown(&recs).join("\n");
    assert!(
        md.contains("hand-over: alice@bastion-1 → dave@bastion-2 at 2026-03-01 07:26:00 UTC"),
        "{md}"
    );
    assert!(md.contains("notes: bob (2 notes)"), "{md}");
}

#[test]
fn a_driver_sees_a_watchers_note_and_runs_nothing_because_of_it() {
    let op = Operator {
        name: "alice".into(),
        host: "bastion-1".into(),
    };
    let mut d = State::new(plan(), Mode::Live, op, t0());
    d.watch.journal = Some("/tmp/shared.jsonl".into());
    let fx = update(
        &mut d,
        Msg::Followed(vec![rec(
            3,
            10,
            "bob",
            Event::Note {
                step: Some("switch".into()),
                text: "go ahead".into(),
            },
        )]),
        at(10),
    );
    assert!(mutations(&fx).is_empty(), "{fx:?}");
    assert_eq!(d.steps[0].notes, vec!["go ahead".to_string()]);
    assert!(
        d.flash
            .as_ref()
            .is_some_and(|(f, _)| f.contains("note from bob: go ahead"))
    );
    assert_eq!(d.mode, Mode::Live);
}

#[test]
fn the_report_lists_both_drivers_the_hand_over_and_the_watchers_notes() {
    let mut recs = driving_so_far();
    recs.push(rec(
        4,
        60,
        "bob",
        Event::Note {
            step: Some("switch".into()),
            text: "watching from the office".into(),
        },
    ));
    recs.push(rec(5, 900, "dave", started("bastion-2")));
    let model = drcockpit::report::build(&recs);
    let md = drcockpit::report::render_markdown(&model);
    assert!(md.contains("## People"), "{md}");
    assert!(
        md.contains("- driver: alice@bastion-1 from 2026-03-01 07:11:00 UTC"),
        "{md}"
    );
    assert!(
        md.contains("- driver: dave@bastion-2 from 2026-03-01 07:26:00 UTC"),
        "{md}"
    );
    assert!(
        md.contains("- hand-over: alice@bastion-1 → dave@bastion-2"),
        "{md}"
    );
    assert!(md.contains("- notes: bob (1 note)"), "{md}");
    // One driver alone: no new section (the existing report stays as it was).
    let alone = drcockpit::report::render_markdown(&drcockpit::report::build(&driving_so_far()));
    assert!(!alone.contains("## People"), "{alone}");
}

#[test]
fn a_step_the_old_driver_still_runs_is_running_for_the_new_driver_not_unknown() {
    let op = Operator {
        name: "dave".into(),
        host: "bastion-2".into(),
    };
    let mut d = State::new(plan(), Mode::Live, op, at(900));
    let records = driving_so_far();
    drcockpit::app::update::replay(&mut d, &records);
    assert!(matches!(d.steps[0].phase, StepPhase::Unknown { .. }));
    let ids = drcockpit::app::watch::still_with_the_old_driver(&mut d, &records);
    assert_eq!(ids, vec!["switch".to_string()]);
    assert!(matches!(
        d.steps[0].phase,
        StepPhase::Running { attempt: 1, .. }
    ));
    // Retry is not offered for it; its outcome, written by the old driver, arrives followed.
    let fx = key(&mut d, KeyCode::Char('r'));
    assert!(mutations(&fx).is_empty(), "{fx:?}");
    update(
        &mut d,
        Msg::Followed(vec![rec(
            4,
            950,
            "alice",
            Event::StepFinished {
                step: "switch".into(),
                attempt: 1,
                ok: true,
                detail: "exit 0".into(),
            },
        )]),
        at(951),
    );
    assert!(matches!(d.steps[0].phase, StepPhase::Succeeded { .. }));
}

/// A followed journal whose session has ended stops the incident clock at its end: a finished
/// record read the next morning does not say the incident has lasted all night.
#[test]
fn the_incident_clock_of_an_ended_session_stops_at_its_end() {
    let mut w = watcher();
    let mut records = driving_so_far();
    let next = records.last().map(|r| r.seq + 1).unwrap_or(1);
    records.push(rec(
        next,
        900,
        "alice",
        Event::SessionEnded {
            reason: "checklist finished".into(),
        },
    ));
    update(&mut w, Msg::Followed(records), at(1000));
    assert_eq!(
        w.incident_elapsed().as_secs(),
        870,
        "declared at 30 s, ended at 900 s"
    );
    update(&mut w, Msg::Tick, at(40_000));
    assert_eq!(w.incident_elapsed().as_secs(), 870);
}
