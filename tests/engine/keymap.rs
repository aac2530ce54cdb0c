//! Issue 14: keys are data, yank, mouse, and one overlay at a time.

use super::*;

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
