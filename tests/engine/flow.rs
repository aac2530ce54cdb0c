//! Running a plan through `update()`: preconditions, approvals, confirmations, failures and
//! retries, overrides, waits, checks, and the monitor and review modes.

use super::*;

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
