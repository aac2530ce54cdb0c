//! Keys that must never run a step twice: double Enter, auto-repeat, and which keys a step offers.

use super::*;

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
