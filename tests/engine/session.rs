//! Resume, journal failure, quitting, help and timeline, the incident declaration, and the
//! processes a step starts (followed across a resume, stopped on abort).

use super::*;

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
