//! The checklist engine through its message interface: feed `Msg`s, assert state and effects.
//! `Harness` plays the runtime's part for `Effect::Record` (journal, then `Msg::Recorded`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use drcockpit::app::state::StepPhase;
use drcockpit::app::update::replay;
use drcockpit::app::{
    DialogKind, Effect, Level, Mode, Msg, Observation, Operator, OutputLine, ProbeError, Reading,
    Section, State, StepStatus, update,
};
use drcockpit::journal::{Event, Record};
use drcockpit::plan::*;

mod common;
use common::{cond, step, t0};

fn test_plan() -> Plan {
    let site = |label: &str, url: &str| Site {
        label: label.into(),
        health: Some(HealthConfig {
            url: url.into(),
            expect_status: vec![200],
            timeout: Duration::from_secs(2),
        }),
        ..Site::default()
    };
    let mut approve = step("approve", StepAction::Approval);
    approve.confirm = Some("FAILOVER".into());
    let mut promote = step(
        "promote",
        StepAction::Command(CommandSpec {
            program: "true".into(),
            args: vec![],
            cwd: None,
            env: vec![],
            secret_env: vec![],
            inherit_env: false,
            timeout: Duration::from_secs(10),
        }),
    );
    promote.requires = vec![cond("dr.health.ok")];
    promote.confirm = Some("PROMOTE".into());
    let notify = step(
        "notify",
        StepAction::HttpRequest(HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:9/webhooks/slack".into(),
            headers: vec![],
            body: Some("{}".into()),
            expect_status: vec![200],
            timeout: Duration::from_secs(5),
        }),
    );
    Plan {
        name: "test plan".into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<test>".into(),
        hash: "abc".into(),
        parity: None,
        sites: [
            site("Prod", "http://127.0.0.1:9/sites/prod/healthz"),
            site("DR", "http://127.0.0.1:9/sites/dr/healthz"),
        ],
        qovery: None,
        images: None,
        dns: None,
        probes: ProbeSettings {
            interval: Duration::from_secs(5),
            stale_after: 3,
            concurrency: 4,
        },
        steps: vec![
            step(
                "detect",
                StepAction::Check {
                    conditions: vec![cond("!prod.health.ok")],
                },
            ),
            approve,
            step(
                "fence",
                StepAction::Manual {
                    instructions: "Fence the old primary".into(),
                },
            ),
            promote,
            step(
                "settle",
                StepAction::Wait {
                    conditions: vec![cond("dr.health.ok")],
                    timeout: Duration::from_secs(30),
                },
            ),
            notify,
        ],
    }
}

struct Harness {
    state: State,
    now: DateTime<Utc>,
    journal: Vec<Record>,
    effects: Vec<Effect>,
}

impl Harness {
    fn new(mode: Mode) -> Harness {
        let op = Operator {
            name: "alice".into(),
            host: "bastion-1".into(),
        };
        Harness {
            state: State::new(Arc::new(test_plan()), mode, op, t0()),
            now: t0(),
            journal: vec![],
            effects: vec![],
        }
    }

    fn advance(&mut self, secs: i64) {
        self.now += chrono::Duration::seconds(secs);
    }

    /// Deliver a message; journal every Record effect and feed it back, as the runtime does.
    fn send(&mut self, msg: Msg) {
        let mut queue = vec![msg];
        while let Some(m) = queue.pop() {
            for fx in update(&mut self.state, m, self.now) {
                if let Effect::Record(event) = &fx {
                    let rec = Record {
                        seq: self.journal.len() as u64 + 1,
                        at: self.now,
                        operator: "alice".into(),
                        event: event.clone(),
                    };
                    self.journal.push(rec.clone());
                    queue.insert(0, Msg::Recorded(rec));
                }
                self.effects.push(fx);
            }
        }
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn observe(&mut self, site: SiteId, ok: bool) {
        let reading = Reading::new(
            if ok { "200 OK" } else { "✗ 503" },
            if ok { Level::Good } else { Level::Bad },
        )
        .field("ok", Value::Bool(ok));
        self.send(Msg::Observed(Observation {
            site,
            section: Section::Health,
            at: self.now,
            outcome: Ok(reading),
        }));
    }

    fn select(&mut self, id: &str) {
        self.state.selected = self
            .state
            .plan
            .step_index(id)
            .unwrap_or_else(|| panic!("no step {id}"));
    }

    fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    fn events(&self) -> Vec<&Event> {
        self.journal.iter().map(|r| &r.event).collect()
    }

    fn run_steps(&self) -> Vec<(usize, u32)> {
        self.effects
            .iter()
            .filter_map(|e| {
                if let Effect::RunStep { step, attempt } = e {
                    Some((*step, *attempt))
                } else {
                    None
                }
            })
            .collect()
    }

    fn status(&self, id: &str) -> StepStatus {
        self.state
            .status(self.state.plan.step_index(id).unwrap_or(usize::MAX))
    }

    /// Walk detect → approve → fence with prod down and DR up.
    fn walk_to_promote(&mut self) {
        self.observe(SiteId::Prod, false);
        self.observe(SiteId::Dr, true);
        self.key(KeyCode::Enter); // detect: a check, not mutating: runs at once
        assert_eq!(self.status("detect"), StepStatus::Succeeded);
        self.key(KeyCode::Enter);
        self.type_str("FAILOVER");
        self.key(KeyCode::Enter);
        assert_eq!(self.status("approve"), StepStatus::Succeeded);
        self.key(KeyCode::Enter);
        self.type_str("fenced via cloud console");
        self.key(KeyCode::Enter);
        assert_eq!(self.status("fence"), StepStatus::Succeeded);
        assert_eq!(self.state.selected, 3);
    }
}

#[test]
fn precondition_blocks_until_observed_and_blocks_again_when_stale() {
    let mut h = Harness::new(Mode::Live);
    match h.status("promote") {
        StepStatus::Blocked { reason } => assert!(
            reason.contains("dr.health.ok") && reason.contains("no value"),
            "{reason}"
        ),
        other => panic!("expected blocked, got {other:?}"),
    }
    h.observe(SiteId::Dr, true);
    assert_eq!(h.status("promote"), StepStatus::Pending);
    h.advance(16); // 3 intervals of 5 s: stale
    h.send(Msg::Tick);
    match h.status("promote") {
        StepStatus::Blocked { reason } => assert!(reason.contains("stale"), "{reason}"),
        other => panic!("expected blocked by a stale value, got {other:?}"),
    }
}

#[test]
fn probe_error_is_unknown_never_healthy_and_is_logged_once() {
    let mut h = Harness::new(Mode::Live);
    let err = ProbeError::new(
        "unreachable",
        "GET http://x/healthz: cannot connect: connection refused",
    );
    for _ in 0..3 {
        h.send(Msg::Observed(Observation {
            site: SiteId::Dr,
            section: Section::Health,
            at: h.now,
            outcome: Err(err.clone()),
        }));
    }
    assert!(matches!(h.status("promote"), StepStatus::Blocked { .. }));
    assert_eq!(
        h.state.verdict(SiteId::Dr),
        drcockpit::app::Verdict::Unknown
    );
    let logged = h
        .take_effects()
        .iter()
        .filter(|e| matches!(e, Effect::Log { line, .. } if line.contains("connection refused")))
        .count();
    assert_eq!(
        logged, 1,
        "the full error goes to the log once, not on every refresh"
    );
}

#[test]
fn approval_needs_the_exact_word_and_records_who() {
    let mut h = Harness::new(Mode::Live);
    h.observe(SiteId::Prod, false);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::Approve)
    );
    h.type_str("failover");
    h.key(KeyCode::Enter);
    let d = h
        .state
        .dialog()
        .expect("a wrong word keeps the dialog open");
    assert!(d.error.as_deref().unwrap_or("").contains("FAILOVER"));
    assert_eq!(h.status("approve"), StepStatus::Pending);
    for _ in 0..8 {
        h.key(KeyCode::Backspace);
    }
    h.type_str("FAILOVER");
    h.key(KeyCode::Enter);
    assert_eq!(h.status("approve"), StepStatus::Succeeded);
    assert!(h.state.dialog().is_none());
    let approved = h
        .journal
        .iter()
        .find(|r| matches!(r.event, Event::Approved { .. }))
        .expect("approval journaled");
    assert_eq!(approved.operator, "alice");
    assert!(
        matches!(&approved.event, Event::Approved { host, word, .. } if host == "bastion-1" && word == "FAILOVER")
    );
}

#[test]
fn steps_run_in_order() {
    let mut h = Harness::new(Mode::Live);
    h.observe(SiteId::Dr, true);
    h.select("promote");
    h.key(KeyCode::Enter);
    assert!(h.state.dialog().is_none());
    assert!(h.run_steps().is_empty());
    let flash = h
        .state
        .flash
        .as_ref()
        .map(|f| f.0.clone())
        .unwrap_or_default();
    assert!(flash.contains("first"), "{flash}");
}

#[test]
fn mutating_step_confirms_with_typed_word_runs_streams_and_succeeds() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::ConfirmRun)
    );
    h.key(KeyCode::Char('y')); // a typed word is required: y is just a letter
    h.key(KeyCode::Enter);
    assert!(h.run_steps().is_empty(), "no run without the word");
    h.key(KeyCode::Backspace);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps(), vec![(3, 1)]);
    assert_eq!(h.status("promote"), StepStatus::Running);
    // Preconditions were recorded as evidence before the start.
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::Evidence { what, .. } if what == "preconditions"))
    );

    h.send(Msg::StepOutput {
        step: 3,
        attempt: 1,
        line: OutputLine::info("promoting…"),
    });
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::StepOutput { line, .. } if line == "promoting…"))
    );
    assert!(h.effects.iter().any(|e| matches!(e, Effect::Log { target, line, .. } if target == "promote" && line == "promoting…")));

    // A result for another attempt is stale and ignored.
    h.send(Msg::StepDone {
        step: 3,
        attempt: 7,
        result: Ok("stale".into()),
    });
    assert_eq!(h.status("promote"), StepStatus::Running);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("exited 0".into()),
    });
    assert_eq!(h.status("promote"), StepStatus::Succeeded);
    assert_eq!(h.state.selected, 4, "selection moves to the next step");
}

#[test]
fn enter_twice_before_the_journal_answers_starts_once() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    // Deliver the Enter without the harness feeding Recorded back.
    let fx = update(
        &mut h.state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        h.now,
    );
    let starts = fx
        .iter()
        .filter(|e| matches!(e, Effect::Record(Event::StepStarted { .. })))
        .count();
    assert_eq!(starts, 1);
    let fx2 = update(
        &mut h.state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        h.now,
    );
    assert!(
        !fx2.iter()
            .any(|e| matches!(e, Effect::Record(Event::StepStarted { .. })))
    );
    assert!(h.state.dialog().is_none());
}

#[test]
fn failure_pauses_then_retry_skip_and_abort() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Err("`pg_ctl` exited 1".into()),
    });
    assert_eq!(h.status("promote"), StepStatus::Failed);

    // The checklist is paused: the next step refuses.
    h.select("settle");
    h.key(KeyCode::Enter);
    assert!(
        h.state
            .flash
            .as_ref()
            .is_some_and(|f| f.0.contains("failed"))
    );
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::StepStarted { step, .. } if step == "settle"))
    );

    // Retry asks for the word again and runs attempt 2.
    h.select("promote");
    h.key(KeyCode::Char('r'));
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps().last(), Some(&(3, 2)));
    h.send(Msg::StepDone {
        step: 3,
        attempt: 2,
        result: Err("still failing".into()),
    });

    // Skip needs a reason of a few words.
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Enter);
    assert!(h.state.dialog().and_then(|d| d.error.clone()).is_some());
    h.type_str("promoted by hand via pg_ctl");
    h.key(KeyCode::Enter);
    assert_eq!(h.status("promote"), StepStatus::Skipped);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::Skipped { reason, .. } if reason.contains("by hand")))
    );

    // Abort needs ABORT typed; afterwards nothing runs.
    h.key(KeyCode::Char('A'));
    h.type_str("ABORT");
    h.key(KeyCode::Enter);
    assert!(h.state.aborted.is_some());
    h.key(KeyCode::Enter);
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::StepStarted { step, .. } if step == "settle"))
    );
}

#[test]
fn override_needs_a_reason_and_is_journaled() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    // DR health goes stale: promote is blocked.
    h.advance(20);
    h.send(Msg::Tick);
    assert!(matches!(h.status("promote"), StepStatus::Blocked { .. }));
    h.key(KeyCode::Enter);
    assert!(
        h.state.dialog().is_none(),
        "a blocked step does not open its confirmation"
    );
    h.key(KeyCode::Char('o'));
    assert!(matches!(
        h.state.dialog().map(|d| &d.kind),
        Some(DialogKind::Override { .. })
    ));
    h.type_str("ok");
    h.key(KeyCode::Enter);
    assert!(h.state.dialog().is_some(), "two letters are not a reason");
    h.type_str(" — DR verified by phone with the on-call DBA");
    h.key(KeyCode::Enter);
    assert!(h.events().iter().any(|e| matches!(e, Event::Override { unmet, .. } if unmet.iter().any(|u| u.contains("dr.health.ok")))));
    assert_eq!(h.status("promote"), StepStatus::Pending);
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps(), vec![(3, 1)]);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("ok".into()),
    });
    assert_eq!(
        h.state.steps[3].override_reason, None,
        "an override is used once"
    );
}

#[test]
fn wait_finishes_when_conditions_hold_or_times_out() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("ok".into()),
    });
    // DR goes unhealthy; the wait starts and keeps waiting.
    h.observe(SiteId::Dr, false);
    h.key(KeyCode::Enter);
    assert_eq!(h.status("settle"), StepStatus::Running);
    h.advance(10);
    h.send(Msg::Tick);
    assert_eq!(h.status("settle"), StepStatus::Running);
    h.observe(SiteId::Dr, true);
    assert_eq!(h.status("settle"), StepStatus::Succeeded);

    // A second session: the same wait times out.
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("ok".into()),
    });
    h.observe(SiteId::Dr, false);
    h.key(KeyCode::Enter);
    h.advance(31);
    h.observe(SiteId::Dr, false);
    assert_eq!(h.status("settle"), StepStatus::Failed);
    assert!(
        matches!(&h.state.steps[4].phase, StepPhase::Failed { error, .. } if error.contains("timed out"))
    );
}

#[test]
fn failing_check_shows_its_evidence() {
    let mut h = Harness::new(Mode::Live);
    h.observe(SiteId::Prod, true);
    h.key(KeyCode::Enter);
    assert_eq!(h.status("detect"), StepStatus::Failed);
    assert!(
        matches!(&h.state.steps[0].phase, StepPhase::Failed { error, .. } if error.contains("prod.health.ok = true"))
    );
}

#[test]
fn monitor_mode_cannot_change_anything_whatever_keys_are_pressed() {
    let mut h = Harness::new(Mode::Monitor);
    h.observe(SiteId::Prod, false);
    h.observe(SiteId::Dr, true);
    let mut keys: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
    keys.extend([
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::Esc,
        KeyCode::Down,
        KeyCode::Up,
        KeyCode::Backspace,
    ]);
    for round in 0..3 {
        for (n, k) in keys.iter().enumerate() {
            if *k == KeyCode::Char('q') {
                continue;
            }
            h.state.selected = (n + round) % h.state.steps.len();
            h.key(*k);
            h.type_str("FAILOVER");
            h.key(KeyCode::Enter);
            h.key(KeyCode::Char('y'));
        }
    }
    assert!(h.journal.is_empty(), "monitor mode wrote {:?}", h.journal);
    assert!(h.run_steps().is_empty());
    assert!(
        !h.effects
            .iter()
            .any(|e| matches!(e, Effect::Preflight { .. }))
    );
    for i in 0..h.state.steps.len() {
        assert!(matches!(h.state.steps[i].phase, StepPhase::Pending));
    }
    assert!(h.effects.iter().any(|e| matches!(e, Effect::Log { target, line, .. } if target == "safety" && line.contains("read-only"))));
}

#[test]
fn review_mode_shows_calls_runs_preflight_and_marks_reviewed() {
    let mut h = Harness::new(Mode::Review);
    h.select("notify");
    h.key(KeyCode::Enter);
    assert_eq!(h.state.showing_calls, Some(5));
    assert!(
        h.effects
            .iter()
            .any(|e| matches!(e, Effect::Preflight { step: 5 }))
    );
    assert!(h.effects.iter().any(|e| matches!(e, Effect::Log { line, .. } if line.contains("would: POST http://127.0.0.1:9/webhooks/slack"))));
    assert!(h.run_steps().is_empty());
    for k in ['s', 'r', 'o', 'A', 'd'] {
        h.key(KeyCode::Char(k));
        assert!(
            h.state.dialog().is_none(),
            "`{k}` must not open a dialog in review mode"
        );
    }
    h.key(KeyCode::Char('m'));
    h.type_str("webhook URL checked with the comms team");
    h.key(KeyCode::Enter);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::Reviewed { step, .. } if step == "notify"))
    );
    assert!(h.state.steps[5].review.reviewed.is_some());
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::StepStarted { .. }))
    );
}

#[test]
fn resume_marks_the_interrupted_step_unknown_and_keeps_finished_ones() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    // The cockpit dies here. A new one replays the journal.
    let records = h.journal.clone();
    let mut r = Harness::new(Mode::Live);
    replay(&mut r.state, &records);
    assert_eq!(r.status("detect"), StepStatus::Succeeded);
    assert_eq!(r.status("approve"), StepStatus::Succeeded);
    assert_eq!(r.status("promote"), StepStatus::Unknown);
    assert_eq!(
        r.state.started,
        t0(),
        "the incident clock keeps the first session's start"
    );
    r.select("promote");
    r.key(KeyCode::Enter);
    assert!(
        r.run_steps().is_empty(),
        "an unknown step is not blindly re-run"
    );
    r.key(KeyCode::Char('d'));
    r.type_str("checked: DR is primary (pg_is_in_recovery = f)");
    r.key(KeyCode::Enter);
    assert_eq!(r.status("promote"), StepStatus::Succeeded);
}

#[test]
fn resume_then_retry_uses_the_next_attempt_number() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    let mut r = Harness::new(Mode::Live);
    replay(&mut r.state, &h.journal);
    r.observe(SiteId::Dr, true);
    r.select("promote");
    r.key(KeyCode::Char('r'));
    r.type_str("PROMOTE");
    r.key(KeyCode::Enter);
    assert_eq!(r.run_steps(), vec![(3, 2)]);
}

#[test]
fn journal_failure_stops_everything_from_running() {
    let mut h = Harness::new(Mode::Live);
    h.observe(SiteId::Prod, false);
    h.send(Msg::JournalFailed("No space left on device".into()));
    h.key(KeyCode::Enter);
    assert!(h.journal.is_empty());
    assert!(
        h.state
            .flash
            .as_ref()
            .is_some_and(|f| f.0.contains("journal"))
    );
}

#[test]
fn quitting_while_a_step_runs_asks_first() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('q'));
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::Quit)
    );
    assert!(!h.state.quit);
    h.key(KeyCode::Char('n'));
    assert!(h.state.dialog().is_none());
    h.send(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    h.key(KeyCode::Char('y'));
    assert!(h.state.quit);
    assert!(h.effects.contains(&Effect::Quit));
}

#[test]
fn help_and_filter_and_focus() {
    let mut h = Harness::new(Mode::Live);
    h.key(KeyCode::Char('?'));
    assert!(h.state.help());
    h.key(KeyCode::Enter);
    assert!(!h.state.help());
    assert!(
        h.run_steps().is_empty() && h.journal.is_empty(),
        "a key that closes help does nothing else"
    );
    h.key(KeyCode::Char('/'));
    h.type_str("promote");
    assert_eq!(
        h.state.log_filter, "promote",
        "the filter applies as it is typed"
    );
    h.key(KeyCode::Enter);
    assert!(h.state.dialog().is_none());
    h.key(KeyCode::Tab);
    h.key(KeyCode::PageUp);
    assert!(!h.state.log_follow);
    h.key(KeyCode::Esc);
    assert!(h.state.log_follow && h.state.log_filter.is_empty());
}

#[test]
fn structured_evidence_from_a_step_is_journaled_as_evidence() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    h.send(Msg::StepOutput {
        step: 3,
        attempt: 1,
        line: OutputLine {
            stream: "evidence:rpo".into(),
            text: r#"{"lag_bytes": 0, "last_replay": "2026-11-25T09:05:40Z"}"#.into(),
        },
    });
    let found = h.events().into_iter().find_map(|e| match e {
        Event::Evidence { step, what, detail } if what == "rpo" => {
            Some((step.clone(), detail.clone()))
        }
        _ => None,
    });
    let (step, detail) = found.expect("an rpo evidence event");
    assert_eq!(step.as_deref(), Some("promote"));
    assert_eq!(detail["lag_bytes"], 0);
    assert!(
        !h.events().iter().any(
            |e| matches!(e, Event::StepOutput { stream, .. } if stream.starts_with("evidence"))
        ),
        "evidence is not duplicated as plain output"
    );
}

#[test]
fn timeline_shows_the_journal_and_scrolls() {
    let mut h = Harness::new(Mode::Live);
    h.walk_to_promote();
    let n = h.state.records.len();
    assert!(n >= 4, "records so far are kept for the timeline: {n}");
    h.key(KeyCode::Char('t'));
    assert_eq!(h.state.timeline(), Some(0));
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(h.state.timeline(), Some(2));
    // Keys do not leak to the checklist while the timeline is open.
    h.key(KeyCode::Enter);
    assert!(h.run_steps().is_empty());
    assert!(h.state.dialog().is_none());
    h.key(KeyCode::Esc);
    assert_eq!(h.state.timeline(), None);
}

#[test]
fn review_export_is_an_effect_only_in_review_mode() {
    let mut h = Harness::new(Mode::Review);
    h.key(KeyCode::Char('e'));
    assert!(h.effects.iter().any(|e| matches!(e, Effect::ExportReview)));
    for mode in [Mode::Live, Mode::Monitor] {
        let mut h = Harness::new(mode);
        h.key(KeyCode::Char('e'));
        assert!(!h.effects.iter().any(|e| matches!(e, Effect::ExportReview)));
    }
}

#[test]
fn declaring_the_incident_is_journaled_once_and_starts_the_clock() {
    let mut h = Harness::new(Mode::Live);
    h.advance(90);
    h.key(KeyCode::Char('D'));
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::Declare)
    );
    h.type_str("fr-par unreachable since 09:01, provider status page red");
    h.key(KeyCode::Enter);
    assert!(
        h.events().iter().any(
            |e| matches!(e, Event::Declared { note } if note.starts_with("fr-par unreachable"))
        )
    );
    assert_eq!(h.state.declared, Some(h.now));
    assert_eq!(
        h.state.incident_elapsed(),
        Duration::ZERO,
        "the clock runs from the declaration"
    );
    h.key(KeyCode::Char('D'));
    assert!(h.state.dialog().is_none(), "declared once per session");
    for mode in [Mode::Review, Mode::Monitor] {
        let mut h = Harness::new(mode);
        h.key(KeyCode::Char('D'));
        assert!(h.state.dialog().is_none(), "{mode:?} cannot declare");
        assert!(h.journal.is_empty());
    }
}

/// Start `promote` (a command step) and let its child report its identity.
fn start_promote_with_child(h: &mut Harness) {
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps(), vec![(3, 1)]);
    h.send(Msg::ProcessStarted {
        step: 3,
        attempt: 1,
        pid: 4242,
        start_ticks: Some(777),
        boot_id: Some("boot-a".into()),
    });
}

#[test]
fn a_started_child_is_journaled_with_its_pid_and_start_time() {
    let mut h = Harness::new(Mode::Live);
    start_promote_with_child(&mut h);
    assert!(
        h.events().iter().any(|e| matches!(e,
            Event::ProcessStarted { step, attempt: 1, pid: 4242, start_ticks: Some(777), boot_id: Some(b), host }
                if step == "promote" && b == "boot-a" && host == "bastion-1")),
        "{:?}",
        h.events()
    );
    // A late report from an earlier attempt is not journaled.
    let before = h.journal.len();
    h.send(Msg::ProcessStarted {
        step: 3,
        attempt: 7,
        pid: 1,
        start_ticks: None,
        boot_id: None,
    });
    assert_eq!(h.journal.len(), before);
}

#[test]
fn resume_follows_a_step_whose_process_still_runs_instead_of_offering_retry() {
    let mut h = Harness::new(Mode::Live);
    start_promote_with_child(&mut h);
    // The cockpit is killed here; its child goes on. A new cockpit replays the journal, and the
    // runtime finds pid 4242 alive with the same start time.
    let mut r = Harness::new(Mode::Live);
    replay(&mut r.state, &h.journal);
    assert_eq!(r.status("promote"), StepStatus::Unknown);
    r.send(Msg::StillRunning {
        step: 3,
        attempt: 1,
        pid: 4242,
        start_ticks: Some(777),
        boot_id: Some("boot-a".into()),
        since: t0(),
    });
    assert_eq!(r.status("promote"), StepStatus::Running);
    let shown = r.state.steps[3].last_output.clone().unwrap_or_default();
    assert!(
        shown.contains("still running (pid 4242, started 2026-11-24 09:00:00 UTC)")
            && shown.contains("output is not available"),
        "{shown}"
    );
    assert!(r.take_effects().iter().any(|e| matches!(
        e,
        Effect::Follow {
            step: 3,
            attempt: 1,
            pid: 4242,
            start_ticks: Some(777),
            ..
        }
    )));
    // Neither retry nor Enter runs it a second time.
    r.observe(SiteId::Dr, true);
    r.select("promote");
    r.key(KeyCode::Char('r'));
    r.key(KeyCode::Enter);
    r.key(KeyCode::Char('d'));
    assert!(r.state.dialog().is_none(), "no confirmation, no mark-done");
    assert!(
        r.run_steps().is_empty(),
        "a running process is not run twice"
    );

    // It ends: the exit status of a process that is not our child cannot be known.
    r.send(Msg::FollowedEnded {
        step: 3,
        attempt: 1,
        pid: 4242,
        detail: "process 4242 ended while the cockpit was away — its exit status cannot be known"
            .into(),
    });
    assert_eq!(r.status("promote"), StepStatus::Unknown);
    assert!(
        r.events()
            .iter()
            .any(|e| matches!(e, Event::ProcessEnded { step, pid: 4242, .. } if step == "promote"))
    );
    assert!(r.take_effects().iter().any(|e| matches!(
        e,
        Effect::Log { line, .. } if line.contains("ended while the cockpit was away") && line.contains("check its effect")
    )));
    // A third cockpit replaying this journal sees it unknown too, and can retry it now.
    let mut again = Harness::new(Mode::Live);
    let all: Vec<Record> = h.journal.iter().chain(r.journal.iter()).cloned().collect();
    replay(&mut again.state, &all);
    assert_eq!(again.status("promote"), StepStatus::Unknown);
}

#[test]
fn still_running_for_a_step_that_is_not_unknown_changes_nothing() {
    let mut h = Harness::new(Mode::Live);
    start_promote_with_child(&mut h);
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("exited 0".into()),
    });
    assert_eq!(h.status("promote"), StepStatus::Succeeded);
    h.send(Msg::StillRunning {
        step: 3,
        attempt: 1,
        pid: 4242,
        start_ticks: Some(777),
        boot_id: None,
        since: t0(),
    });
    assert_eq!(h.status("promote"), StepStatus::Succeeded);
    assert!(!h.effects.iter().any(|e| matches!(e, Effect::Follow { .. })));
}

#[test]
fn aborting_the_checklist_stops_the_running_step() {
    let mut h = Harness::new(Mode::Live);
    start_promote_with_child(&mut h);
    h.take_effects();
    h.key(KeyCode::Char('A'));
    h.type_str("ABORT");
    h.key(KeyCode::Enter);
    assert!(h.state.aborted.is_some());
    assert!(
        h.take_effects().iter().any(
            |e| matches!(e, Effect::StopStep { step: 3, reason } if reason.contains("aborted"))
        ),
        "the running step's process group is stopped"
    );
    // Its result still lands in the journal.
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Err("stopped: the checklist was aborted by alice".into()),
    });
    assert_eq!(h.status("promote"), StepStatus::Failed);
}

/// A plan whose first step changes the world and has no typed word (like `qovery.set_variables`).
fn one_mutating_step_plan() -> Plan {
    let mut p = test_plan();
    p.steps = vec![
        step(
            "set-vars",
            StepAction::HttpRequest(HttpRequest {
                method: "PUT".into(),
                url: "http://127.0.0.1:9/api/environment/variables".into(),
                headers: vec![],
                body: Some("{}".into()),
                expect_status: vec![200],
                timeout: Duration::from_secs(5),
            }),
        ),
        step(
            "verify",
            StepAction::Check {
                conditions: vec![cond("dr.health.ok")],
            },
        ),
    ];
    p
}

fn starts(h: &Harness, id: &str) -> usize {
    h.events()
        .iter()
        .filter(|e| matches!(e, Event::StepStarted { step, .. } if step == id))
        .count()
}

fn key_kind(code: KeyCode, kind: crossterm::event::KeyEventKind) -> Msg {
    Msg::Key(KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind,
        state: crossterm::event::KeyEventState::NONE,
    })
}

/// Issue 11 defect 9: two ⏎ presses on a mutating step sent two PUTs. The key that opens the
/// confirmation never confirms it; `y` does, once; a finished step is never re-dispatched by ⏎.
#[test]
fn double_enter_on_a_mutating_step_never_confirms_it() {
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(
        Arc::new(one_mutating_step_plan()),
        Mode::Live,
        h.state.operator.clone(),
        t0(),
    );
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    let d = h
        .state
        .dialog()
        .cloned()
        .expect("the confirmation stays open");
    assert_eq!(d.kind, DialogKind::ConfirmRun);
    assert!(
        d.error.as_deref().is_some_and(|e| e.contains("press y")),
        "{d:?}"
    );
    assert_eq!(starts(&h, "set-vars"), 0, "⏎ must not confirm");
    h.key(KeyCode::Char('y'));
    assert_eq!(starts(&h, "set-vars"), 1);
    assert_eq!(h.run_steps(), vec![(0, 1)]);
    // More keys while it runs: nothing is dispatched again.
    for k in [
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Char('y'),
        KeyCode::Char('r'),
    ] {
        h.key(k);
    }
    assert!(h.state.dialog().is_none());
    assert_eq!(starts(&h, "set-vars"), 1);
    // It fails: ⏎ does not re-run it (retry is `r`, with its own confirmation).
    h.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Err("502 from the gateway".into()),
    });
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('y'));
    assert_eq!(starts(&h, "set-vars"), 1, "⏎ on a failed step re-ran it");
    assert!(
        h.state
            .flash
            .as_ref()
            .is_some_and(|f| f.0.contains("r retries")),
        "{:?}",
        h.state.flash
    );
    h.key(KeyCode::Char('r'));
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::ConfirmRun)
    );
    h.key(KeyCode::Char('r'));
    h.key(KeyCode::Enter);
    assert_eq!(starts(&h, "set-vars"), 1, "r or ⏎ confirmed the retry");
    h.key(KeyCode::Char('y'));
    assert_eq!(h.run_steps(), vec![(0, 1), (0, 2)]);
    h.send(Msg::StepDone {
        step: 0,
        attempt: 2,
        result: Ok("2 variables set".into()),
    });
    // Finished: ⏎ (and y, r) on it do nothing.
    h.select("set-vars");
    for k in [
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Char('y'),
        KeyCode::Char('r'),
        KeyCode::Char('y'),
    ] {
        h.key(k);
    }
    assert_eq!(starts(&h, "set-vars"), 2);
    assert!(h.state.dialog().is_none());
}

/// Key auto-repeat (a held key) never opens or answers a confirmation.
#[test]
fn key_auto_repeat_never_runs_a_step() {
    use crossterm::event::KeyEventKind::{Press, Repeat};
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(
        Arc::new(one_mutating_step_plan()),
        Mode::Live,
        h.state.operator.clone(),
        t0(),
    );
    h.send(key_kind(KeyCode::Enter, Repeat));
    assert!(h.state.dialog().is_none(), "a repeated ⏎ opened a dialog");
    h.send(key_kind(KeyCode::Enter, Press));
    h.send(key_kind(KeyCode::Char('y'), Repeat));
    assert_eq!(starts(&h, "set-vars"), 0, "a repeated y confirmed");
    h.send(key_kind(KeyCode::Char('y'), Press));
    assert_eq!(starts(&h, "set-vars"), 1);
    for _ in 0..5 {
        h.send(key_kind(KeyCode::Char('y'), Repeat));
        h.send(key_kind(KeyCode::Enter, Repeat));
    }
    assert_eq!(starts(&h, "set-vars"), 1);
    // Navigation still repeats.
    h.send(key_kind(KeyCode::Down, Repeat));
    assert_eq!(h.state.selected, 1);
}

/// Issue 11 defect 12: every key the footer and the step detail offer acts, and a key that
/// would do nothing (⏎ on a finished step, `r` on a pending one) is not offered.
#[test]
fn offered_step_keys_are_exactly_the_ones_that_act() {
    use drcockpit::app::keys::{Action, for_step};
    let offered = |h: &Harness| -> Vec<Action> {
        for_step(&h.state, h.state.selected)
            .iter()
            .map(|b| b.action)
            .collect()
    };
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(
        Arc::new(one_mutating_step_plan()),
        Mode::Live,
        h.state.operator.clone(),
        t0(),
    );
    assert_eq!(offered(&h), vec![Action::Run, Action::Skip, Action::Note]);
    // The second step cannot start before the first: ⏎ is not offered there.
    h.select("verify");
    assert!(!offered(&h).contains(&Action::Run), "{:?}", offered(&h));
    h.key(KeyCode::Enter);
    assert_eq!(starts(&h, "verify"), 0);
    h.select("set-vars");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('y'));
    assert_eq!(offered(&h), vec![Action::Note], "running");
    h.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Err("boom".into()),
    });
    assert_eq!(
        offered(&h),
        vec![Action::Retry, Action::Skip, Action::Abort, Action::Note]
    );
    assert!(!offered(&h).contains(&Action::Run));
    h.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Ok("late".into()),
    });
    h.key(KeyCode::Char('r'));
    h.key(KeyCode::Char('y'));
    h.send(Msg::StepDone {
        step: 0,
        attempt: 2,
        result: Ok("2 variables set".into()),
    });
    h.select("set-vars");
    assert_eq!(offered(&h), vec![Action::Note], "finished: only a note");
    // Monitor and review modes offer no run.
    let mon = Harness::new(Mode::Monitor);
    assert!(offered(&mon).is_empty());
    let rev = Harness::new(Mode::Review);
    assert!(offered(&rev).contains(&Action::MarkReviewed));
    assert!(!offered(&rev).contains(&Action::Retry));
}

/// A managed promotion step (`scaleway.promote_replica`), built as the plan loader does.
fn scw_promote_step() -> Step {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(
        "id = \"promote-db\"\ntitle = \"Promote\"\nkind = \"scaleway.promote_replica\"\nsite = \"dr\"\nregion = \"nl-ams\"\nread_replica_id = \"5e1d2c3b-4a59-4f6e-8d7c-0b1a2f3e4d5c\"\ntoken = \"tok\"\napi_url = \"http://127.0.0.1:9\"\n",
    )
    .expect("raw step");
    let mut resolve = |v: &str, _key: &str| -> Result<String, String> { Ok(v.to_string()) };
    let action = drcockpit::steps::scaleway::build("scaleway.promote_replica", &raw, &mut resolve)
        .expect("build");
    let mut s = step("promote-db", action);
    s.site = Some(SiteId::Dr);
    s.confirm = Some("PROMOTE".into());
    s
}

/// Issue 11 defect 4: the panels' RPO evidence at a managed promotion, taken while the PROD
/// database does not answer, says the RPO is unknown (its "0 B behind" is against a position
/// seen before PROD died) — and the report built from the journal says UNKNOWN, never MET.
#[test]
fn panel_rpo_evidence_with_the_primary_unreachable_is_unknown() {
    use drcockpit::report::{self, Verdict as RV};
    let mut p = test_plan();
    p.sites[0].database = Some(DatabaseConfig::default());
    p.sites[1].database = Some(DatabaseConfig::default());
    p.steps = vec![scw_promote_step()];
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(Arc::new(p), Mode::Live, h.state.operator.clone(), t0());
    let db = |h: &mut Harness, site: SiteId, outcome: Result<Reading, ProbeError>| {
        let at = h.now;
        h.send(Msg::Observed(Observation {
            site,
            section: Section::Database,
            at,
            outcome,
        }));
    };
    db(
        &mut h,
        SiteId::Prod,
        Ok(Reading::new("primary", Level::Good)),
    );
    h.advance(33);
    db(
        &mut h,
        SiteId::Prod,
        Err(ProbeError::new("unreachable", "connection refused")),
    );
    db(
        &mut h,
        SiteId::Dr,
        Ok(Reading::new("standby · 0 B behind", Level::Good)
            .field("lag", Value::Bytes(0))
            .field("replay_age", Value::Duration(Duration::ZERO))),
    );
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps(), vec![(0, 1)]);
    let detail = h
        .events()
        .iter()
        .find_map(|e| match e {
            Event::Evidence { what, detail, .. } if what.contains("rpo") => Some(detail.clone()),
            _ => None,
        })
        .expect("panel rpo evidence");
    assert_eq!(detail["rpo"], "unknown", "{detail}");
    assert_eq!(detail["primary_reachable"], false, "{detail}");
    assert!(
        detail["primary"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{detail}"
    );
    h.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Ok("read replica promoted".into()),
    });
    let m = report::build(&h.journal);
    assert_eq!(m.rpo.verdict, RV::Unknown, "{:?}", m.rpo);

    // With PROD answering at the moment of promotion, the panels' lag is evidence.
    let mut p = test_plan();
    p.sites[0].database = Some(DatabaseConfig::default());
    p.sites[1].database = Some(DatabaseConfig::default());
    p.steps = vec![scw_promote_step()];
    let mut h2 = Harness::new(Mode::Live);
    h2.state = State::new(Arc::new(p), Mode::Live, h2.state.operator.clone(), t0());
    db(
        &mut h2,
        SiteId::Prod,
        Ok(Reading::new("primary", Level::Good)),
    );
    db(
        &mut h2,
        SiteId::Dr,
        Ok(Reading::new("standby · 0 B behind", Level::Good)
            .field("lag", Value::Bytes(0))
            .field("replay_age", Value::Duration(Duration::ZERO))),
    );
    h2.key(KeyCode::Enter);
    h2.type_str("PROMOTE");
    h2.key(KeyCode::Enter);
    h2.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Ok("read replica promoted".into()),
    });
    let m = report::build(&h2.journal);
    // Measured (this journal has no session record, so no target to be MET against).
    assert_eq!(
        (m.rpo.measured_secs, m.rpo.verdict),
        (Some(0), RV::NotMeasurable),
        "{:?}",
        m.rpo
    );
}

// ---- issue 14: keys are data, yank, mouse ----

fn press(h: &mut Harness, code: KeyCode, mods: KeyModifiers) {
    h.send(Msg::Key(KeyEvent::new(code, mods)));
}

fn yanks(h: &Harness) -> Vec<drcockpit::app::Yank> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Yank(y) => Some(y.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn y_yanks_the_redacted_call_outside_a_dialog_and_confirms_inside_one() {
    use base64::Engine as _;
    let secret = "s3cr3t-yank-token-7f1c9a";
    drcockpit::redact::register(secret, "env:TEST_YANK_TOKEN");
    let mut plan = one_mutating_step_plan();
    if let StepAction::HttpRequest(r) = &mut plan.steps[0].action {
        r.headers = vec![("Authorization".into(), format!("Bearer {secret}"))];
    }
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(Arc::new(plan), Mode::Live, h.state.operator.clone(), t0());
    // No dialog: `y` copies the step's exact call, and runs nothing.
    h.key(KeyCode::Char('y'));
    assert!(h.state.dialog().is_none());
    assert_eq!(
        starts(&h, "set-vars"),
        0,
        "y outside a dialog must never run"
    );
    let y = yanks(&h);
    let [drcockpit::app::Yank::Text { what, text }] = y.as_slice() else {
        panic!("one yank of the step's call: {y:?}")
    };
    assert!(what.contains("set-vars"), "{what}");
    assert!(
        text.contains("PUT http://127.0.0.1:9/api/environment/variables"),
        "{text}"
    );
    assert!(text.contains("Authorization: Bearer"), "{text}");
    // The payload on the wire, plain and through tmux: the secret is in it in no form.
    for tmux in [false, true] {
        let seq = drcockpit::runtime::terminal::osc52(text, tmux);
        let b64 = seq
            .split("52;c;")
            .nth(1)
            .and_then(|r| r.split('\x07').next())
            .expect("an OSC 52 payload");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        let decoded = String::from_utf8(decoded).expect("utf-8");
        assert_eq!(&decoded, text);
        for form in drcockpit::redact::forms(secret) {
            assert!(
                !decoded.contains(&form),
                "secret form {form:?} in {decoded}"
            );
            assert!(!seq.contains(&form), "secret form {form:?} in the escape");
            let enc = base64::engine::general_purpose::STANDARD.encode(form.as_bytes());
            assert!(
                !seq.contains(&enc[..enc.len() - 4]),
                "base64 of the secret in {seq:?}"
            );
        }
    }
    // With the confirmation open, `y` confirms (and yanks nothing).
    h.key(KeyCode::Enter);
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::ConfirmRun)
    );
    h.key(KeyCode::Char('y'));
    assert_eq!(starts(&h, "set-vars"), 1);
    assert_eq!(yanks(&h).len(), 1, "y in a dialog must not also yank");
    // Log focus: the newest log line; Y anywhere: the journal path.
    h.key(KeyCode::Tab);
    h.key(KeyCode::Char('y'));
    h.key(KeyCode::Char('Y'));
    let y = yanks(&h);
    assert!(
        matches!(y[1], drcockpit::app::Yank::LogLine { .. }),
        "{y:?}"
    );
    assert_eq!(y[2], drcockpit::app::Yank::JournalPath);
}

#[test]
fn ctrl_d_and_ctrl_u_scroll_the_detail_and_the_log_even_held() {
    let mut h = Harness::new(Mode::Live);
    press(&mut h, KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert_eq!(h.state.detail_scroll, 5);
    h.send(Msg::Key(KeyEvent::new_with_kind(
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
        crossterm::event::KeyEventKind::Repeat,
    )));
    assert_eq!(h.state.detail_scroll, 10, "a held Ctrl-d scrolls");
    press(&mut h, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(h.state.detail_scroll, 5);
    assert!(h.state.dialog().is_none(), "Ctrl-d is not d (mark done)");
    h.key(KeyCode::Tab);
    press(&mut h, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert!(!h.state.log_follow);
    assert!(
        h.effects
            .contains(&Effect::LogView(drcockpit::app::update::LogView::PageUp))
    );
}

#[test]
fn config_keys_rebind_dispatch_and_bad_maps_are_refused() {
    use drcockpit::ui::theme::input_from;
    let (keys, mouse) =
        input_from("mouse = false\n[keys]\nquit = \"Q\"\ndown = [\"down\", \"ctrl-n\"]\n")
            .expect("a good config");
    assert!(!mouse);
    let mut h = Harness::new(Mode::Live);
    h.state.keys = Arc::new(keys);
    h.key(KeyCode::Char('j'));
    assert_eq!(h.state.selected, 0, "j is no longer down");
    press(&mut h, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(h.state.selected, 1);
    h.key(KeyCode::Char('q'));
    assert!(!h.state.quit, "q was rebound");
    h.key(KeyCode::Char('Q'));
    assert!(h.state.quit);
    let help = drcockpit::app::keys::for_focus(&h.state);
    assert!(
        help.iter().any(|b| b.keys == "Q"),
        "the help shows the rebound key"
    );

    for (bad, says) in [
        ("[keys]\nskip = \"n\"\n", "bound to both"),
        ("[keys]\nfilter = \"q\"\n", "bound to both"),
        ("[keys]\nconfirm = \"enter\"\n", "⏎ never confirms"),
        (
            "[keys]\nconfirm = \"r\"\n",
            "must not be the key that confirms",
        ),
        (
            "[keys]\nrun = \"y\"\nyank = \"c\"\n",
            "must not be the key that confirms",
        ),
        (
            "[keys]\nretry = \"c\"\nconfirm = \"c\"\n",
            "must not be the key that confirms",
        ),
        ("[keys]\nlaunch = \"l\"\n", "not an action"),
        ("[keys]\nquit = \"ctrl-\"\n", "unknown key"),
        ("[keys]\nquit = []\n", "no key"),
    ] {
        let e = input_from(bad).expect_err(bad);
        assert!(e.contains(says), "{bad}: {e}");
    }
    // Different focuses may share a key (y yanks the call in the checklist, the line in the log).
    assert!(input_from("[keys]\nfollow = \"s\"\n").is_ok());
}

#[test]
fn a_rebound_confirm_key_confirms_and_y_then_yanks() {
    let (keys, _) = drcockpit::ui::theme::input_from("[keys]\nconfirm = \"c\"\n").expect("ok");
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(
        Arc::new(one_mutating_step_plan()),
        Mode::Live,
        h.state.operator.clone(),
        t0(),
    );
    h.state.keys = Arc::new(keys);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('y'));
    assert_eq!(
        starts(&h, "set-vars"),
        0,
        "y is no longer the confirming key"
    );
    h.key(KeyCode::Char('c'));
    assert_eq!(starts(&h, "set-vars"), 1);
}

#[test]
fn mouse_wheel_scrolls_and_a_click_only_selects() {
    use drcockpit::app::Pane;
    let mut h = Harness::new(Mode::Live);
    h.send(Msg::Wheel {
        pane: Pane::Detail,
        down: true,
    });
    assert_eq!(h.state.detail_scroll, 3);
    h.send(Msg::Wheel {
        pane: Pane::Log,
        down: false,
    });
    assert!(!h.state.log_follow);
    h.send(Msg::Wheel {
        pane: Pane::Checklist,
        down: true,
    });
    assert_eq!(h.state.selected, 1);
    let before = h.effects.len();
    h.send(Msg::Click { step: 3 });
    h.send(Msg::Click { step: 3 });
    assert_eq!(h.state.selected, 3);
    assert_eq!(h.effects.len(), before, "a click (or two) runs nothing");
    h.send(Msg::Click { step: 99 });
    assert_eq!(h.state.selected, 3);
    // With a dialog open the mouse does nothing.
    h.key(KeyCode::Char('n'));
    assert!(h.state.dialog().is_some());
    h.send(Msg::Click { step: 0 });
    assert_eq!(h.state.selected, 3);
    h.key(KeyCode::Esc);
    // The timeline scrolls with the wheel.
    h.key(KeyCode::Char('t'));
    h.send(Msg::Wheel {
        pane: Pane::Other,
        down: false,
    });
    assert!(h.state.timeline().is_some());
}

#[test]
fn esc_then_q_read_as_alt_q_still_quits_but_ctrl_d_is_not_mark_done() {
    let mut h = Harness::new(Mode::Monitor);
    press(&mut h, KeyCode::Char('q'), KeyModifiers::ALT);
    assert!(h.state.quit, "Esc+q over a slow link arrives as Alt-q");
}

#[test]
fn esc_then_x_read_as_alt_x_closes_the_timeline_then_expands() {
    let mut h = Harness::new(Mode::Live);
    h.key(KeyCode::Char('t'));
    assert!(h.state.timeline().is_some());
    press(&mut h, KeyCode::Char('x'), KeyModifiers::ALT);
    assert!(h.state.timeline().is_none(), "the Esc closed the timeline");
    assert!(h.state.expanded, "then x expanded the panels");
}

#[test]
fn one_overlay_at_a_time_with_the_precedence_written_once() {
    use drcockpit::app::{Dialog, DialogKind, Overlay};
    let mut h = Harness::new(Mode::Live);
    // The help is open; a dialog outranks it and replaces it.
    h.key(KeyCode::Char('?'));
    h.state.open(Overlay::Dialog(Dialog::new(
        DialogKind::Note,
        Some(0),
        None,
    )));
    assert!(!h.state.help());
    assert_eq!(
        h.state.dialog().map(|d| d.kind.clone()),
        Some(DialogKind::Note)
    );
    // While the dialog is open, the timeline and the help do not take its place.
    h.state.open(Overlay::Timeline(0));
    h.state.open(Overlay::Help);
    assert!(h.state.dialog().is_some());
    assert_eq!(h.state.timeline(), None);
    // Keys go to the open overlay: `t` is typed into the note, it does not open the timeline.
    h.key(KeyCode::Char('t'));
    assert_eq!(h.state.dialog().map(|d| d.input.as_str()), Some("t"));
    h.key(KeyCode::Esc);
    assert!(h.state.overlay.is_none());
    // The timeline outranks the help: `?` inside the timeline does not open the help.
    h.key(KeyCode::Char('t'));
    h.key(KeyCode::Char('?'));
    assert_eq!(h.state.timeline(), Some(0));
    assert!(!h.state.help());
}
