//! Screens in every mode and size: badges, secrets, stale values, themes, dialogs, the log,
//! the timeline, the detail pane, and the keys a step offers.

use super::*;

const SIZES: [(u16, u16); 7] = [
    (150, 40),
    (120, 30),
    (100, 30),
    (80, 24),
    (60, 20),
    (50, 15),
    (30, 8),
];

#[test]
fn mode_badge_visible_in_every_mode_and_size() {
    for mode in [Mode::Demo, Mode::Live, Mode::Review, Mode::Monitor] {
        for drill in [false, true] {
            let mut h = Harness::new(mode);
            h.state.drill = drill;
            h.outage(true);
            for with_help in [false, true] {
                h.state.overlay = with_help.then_some(drcockpit::app::Overlay::Help);
                for (w, hh) in SIZES {
                    let s = text(&render(&h.state, w, hh));
                    assert!(
                        s.contains(mode.badge()),
                        "{mode:?} {w}x{hh} help={with_help}: no badge\n{s}"
                    );
                    if drill && w >= 50 {
                        assert!(s.contains("DRILL"), "{mode:?} {w}x{hh}: no DRILL\n{s}");
                    }
                }
            }
        }
    }
}

#[test]
fn registered_secret_never_appears() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.obs(
        SiteId::Dr,
        Section::Health,
        Err(ProbeError::new(
            format!("401 for token {SECRET}"),
            format!("GET https://dr/healthz?token={SECRET} → 401"),
        )),
    );
    h.state.flash = Some((format!("flash with {SECRET}"), h.now));
    let mut seen_label = false;
    for expanded in [false, true] {
        h.state.expanded = expanded;
        for sel in 0..h.state.steps.len() {
            h.state.selected = sel;
            for (w, hh) in SIZES {
                let s = text(&render(&h.state, w, hh));
                assert!(!s.contains(SECRET), "secret on screen at {w}x{hh}:\n{s}");
                assert!(!s.contains("s3cr3t"), "secret fragment at {w}x{hh}:\n{s}");
                seen_label |= s.contains("‹secret env:SLACK_TOKEN›");
            }
        }
    }
    assert!(
        seen_label,
        "the redaction label should be visible somewhere"
    );
    // A dialog echoing what was typed is redacted too.
    h.state.selected = 5;
    h.state.overlay = Some(drcockpit::app::Overlay::Dialog(
        drcockpit::app::Dialog::new(drcockpit::app::DialogKind::Note, Some(5), None),
    ));
    if let Some(d) = h.state.dialog_mut() {
        d.input = format!("pasted {SECRET}");
    }
    let s = text(&render(&h.state, 150, 40));
    assert!(!s.contains(SECRET), "{s}");
}

#[test]
fn stale_value_never_shows_healthy() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("✓ READY"), "{s}");
    // Three intervals pass without a new reading: DR is no longer READY and says stale.
    h.advance(20);
    for (w, hh) in [(150, 40), (80, 24), (60, 20)] {
        let s = text(&render(&h.state, w, hh));
        assert!(!s.contains("READY"), "{w}x{hh}: stale DR still READY\n{s}");
        assert!(s.contains("stale"), "{w}x{hh}:\n{s}");
        assert!(
            !s.contains("✓ 200 OK"),
            "{w}x{hh}: stale value drawn healthy\n{s}"
        );
    }
    // And the healthy style is not used for stale values.
    let theme = Theme::builtin("dark").unwrap_or_default();
    let term = render(&h.state, 150, 40);
    let buf = term.backend().buffer();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if row.contains("~ 200 OK") {
            let x = row.chars().position(|c| c == '~').unwrap_or(0) as u16;
            assert_ne!(buf[(x, y)].fg, theme.ok.fg.unwrap_or_default());
        }
    }
}

#[test]
fn no_color_theme_keeps_selection_visible() {
    let theme = Theme::builtin("dark").unwrap_or_default().without_color();
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    let mut term = Terminal::new(TestBackend::new(150, 40)).expect("backend");
    term.draw(|f| ui::draw(f, &h.state, &View::new(&theme, None)))
        .expect("draw");
    let buf = term.backend().buffer();
    let mut reversed = false;
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
        reversed |= cell.modifier.contains(ratatui::style::Modifier::REVERSED);
    }
    assert!(
        reversed,
        "selection and badge use reverse video without colour"
    );
}

#[test]
fn log_filter_shows_matching_lines_and_the_filter() {
    let store = drcockpit::ui::logstore::LogStore::new();
    store.push(log::Level::Info, "promote", "SELECT pg_promote(true, 60)");
    store.push(log::Level::Info, "dns", "record switched");
    let mut h = Harness::new(Mode::Live);
    h.state.log_filter = "pg_promote".into();
    let theme = Theme::builtin("dark").unwrap_or_default();
    let ls = drcockpit::ui::logstore::LogPane::new(store);
    let mut term = Terminal::new(TestBackend::new(150, 40)).expect("backend");
    term.draw(|f| ui::draw(f, &h.state, &View::new(&theme, Some(&ls))))
        .expect("draw");
    let s = text(&term);
    assert!(s.contains("filter: /pg_promote/"), "{s}");
    assert!(s.contains("SELECT pg_promote(true, 60)"), "{s}");
    assert!(!s.contains("record switched"), "{s}");
    h.state.log_follow = false;
    h.state.log_filter.clear();
    let mut term = Terminal::new(TestBackend::new(150, 40)).expect("backend");
    term.draw(|f| ui::draw(f, &h.state, &View::new(&theme, Some(&ls))))
        .expect("draw");
    assert!(text(&term).contains("PAUSED"));
}

#[test]
fn theme_load_by_name_path_and_errors() {
    assert_eq!(
        Theme::load(Some("light")).map(|t| t.name).ok(),
        Some("light".into())
    );
    let e = Theme::load(Some("nope")).expect_err("unknown theme");
    assert!(e.contains("dark, light, high-contrast"), "{e}");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "name = \"mine\"\n[roles]\nok = \"#00ff00\"\n").expect("write");
    let t = Theme::load(Some(good.to_str().unwrap_or_default())).expect("path theme");
    assert_eq!(t.name, "mine");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[roles\nok=").expect("write");
    let e = Theme::load(Some(bad.to_str().unwrap_or_default())).expect_err("bad toml");
    assert!(e.contains("bad.toml"), "{e}");
}

#[test]
fn expanded_panels_show_the_full_error() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.key(KeyCode::Char('x'));
    assert!(h.state.expanded);
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("connect to 10.0.0.5:5432"), "{s}");
    // Compact: every section row stays visible even when details do not fit.
    let s = text(&render(&h.state, 60, 20));
    assert!(s.contains("Hlth"), "{s}");
}

#[test]
fn every_dialog_is_titled_and_says_what_happens() {
    use drcockpit::app::{Dialog, DialogKind};
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    let cases: Vec<(DialogKind, Option<&str>, &str)> = vec![
        (DialogKind::ConfirmRun, None, "Confirm run"),
        (DialogKind::ConfirmRun, Some("PROMOTE"), "type PROMOTE"),
        (
            DialogKind::Approve,
            Some("FAILOVER"),
            "Approval: type FAILOVER",
        ),
        (
            DialogKind::Override {
                unmet: vec!["dr.health.ok — stale".into()],
            },
            None,
            "Override preconditions",
        ),
        (DialogKind::SkipReason, None, "Skip step"),
        (DialogKind::ManualDone, None, "Manual step done"),
        (DialogKind::MarkDone, None, "Mark unknown step done"),
        (DialogKind::Note, None, "Note"),
        (DialogKind::Reviewed, None, "Mark reviewed"),
        (DialogKind::Abort, Some("ABORT"), "ABORT the checklist"),
        (DialogKind::Filter, None, "Filter the log"),
        (DialogKind::Quit, None, "Quit while a step runs?"),
    ];
    for (kind, word, title) in cases {
        let mut d = Dialog::new(kind.clone(), Some(3), word.map(String::from));
        d.input = "abc".into();
        d.error = Some("write a few words: this goes into the record".into());
        h.state.overlay = Some(drcockpit::app::Overlay::Dialog(d));
        for (w, hh) in [(150, 40), (80, 24), (60, 20)] {
            let s = text(&render(&h.state, w, hh));
            assert!(
                s.contains(title),
                "{kind:?} {w}x{hh}: no title {title:?}\n{s}"
            );
            assert!(s.contains("[LIVE]"), "{kind:?} {w}x{hh}: badge hidden\n{s}");
            assert!(
                s.contains("Esc"),
                "{kind:?} {w}x{hh}: no way out shown\n{s}"
            );
        }
    }
}

#[test]
fn theme_from_config_file_and_no_color() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg_dir = dir.path().join("drcockpit");
    std::fs::create_dir_all(&cfg_dir).expect("mkdir");
    std::fs::write(cfg_dir.join("config.toml"), "theme = \"high-contrast\"\n").expect("write");
    // SAFETY: nextest runs every test in its own process; nothing else here reads the
    // environment concurrently.
    unsafe {
        std::env::set_var("XDG_CONFIG_HOME", dir.path());
        std::env::remove_var("NO_COLOR");
    }
    let t = Theme::load(None).expect("config theme");
    assert_eq!(t.name, "high-contrast");
    assert!(!t.no_color);
    unsafe { std::env::set_var("NO_COLOR", "1") };
    let t = Theme::load(None).expect("config theme");
    assert!(t.no_color && t.ok.fg.is_none() && t.badge_live.bg.is_none());
    unsafe { std::env::remove_var("NO_COLOR") };
    std::fs::write(cfg_dir.join("config.toml"), "theme = \"nope\"\n").expect("write");
    let e = Theme::load(None).expect_err("unknown theme in config");
    assert!(
        e.contains("config.toml") && e.contains("dark, light"),
        "{e}"
    );
    std::fs::write(cfg_dir.join("config.toml"), "theme = [").expect("write");
    let e = Theme::load(None).expect_err("bad config");
    assert!(e.contains("config.toml"), "{e}");
}

#[test]
fn log_pane_shows_logged_lines_redacted() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    let store =
        drcockpit::ui::logstore::install(log::LevelFilter::Debug).expect("install the pane logger");
    log::info!(target: "promote", "SELECT pg_promote(true, 60) with {SECRET}");
    log::warn!(target: "dns", "record switch refused");
    let theme = Theme::builtin("dark").unwrap_or_default();
    let ls = drcockpit::ui::logstore::LogPane::new(store);
    for (w, hh) in [(150, 40), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, hh)).expect("backend");
        term.draw(|f| ui::draw(f, &h.state, &View::new(&theme, Some(&ls))))
            .expect("draw");
        let s = text(&term);
        assert!(s.contains("record switch refused"), "{w}x{hh}\n{s}");
        assert!(s.contains("WRN dns"), "{w}x{hh}\n{s}");
        assert!(!s.contains(SECRET), "{w}x{hh}\n{s}");
        if w == 150 {
            assert!(s.contains("‹secret env:SLACK_TOKEN›"), "{s}");
        }
    }
}

#[test]
fn skipped_and_unknown_steps() {
    use drcockpit::app::state::StepPhase;
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.key(KeyCode::Enter); // detect
    h.key(KeyCode::Enter); // approve
    h.type_str("FAILOVER");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('s')); // skip fence with a reason
    h.type_str("old primary is already powered off");
    h.key(KeyCode::Enter);
    // As after a crash and --resume: promote was running, now unknown.
    h.state.steps[3].phase = StepPhase::Unknown { attempt: 1 };
    h.state.steps[3].attempts = 1;
    h.state.selected = 3;
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("↷ old primary is already powered off"), "{s}");
    assert!(s.contains("? 4 Promote DR database"), "{s}");
    assert!(s.contains("was running when the cockpit stopped"), "{s}");
    assert!(s.contains("d mark done"), "{s}");
    snap("unknown_skipped", &h.state);
}

#[test]
fn log_focus_changes_footer_and_help() {
    let mut h = Harness::new(Mode::Live);
    h.key(KeyCode::Tab);
    let s = text(&render(&h.state, 80, 24));
    assert!(s.contains("» Log"), "{s}");
    assert!(s.contains("f follow"), "{s}");
    h.key(KeyCode::Char('?'));
    let s = text(&render(&h.state, 150, 40));
    for b in drcockpit::app::keys::log(&h.state.keys, h.state.mode) {
        assert!(s.contains(b.what), "help lacks {:?}\n{s}", b.what);
    }
}

#[test]
fn timeline_overlay_shows_the_journal_so_far() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.walk_to_promote();
    h.key(KeyCode::Char('t'));
    let s = text(&render(&h.state, 160, 48));
    assert!(s.contains("Timeline ·"), "{s}");
    assert!(
        s.contains("approve: approved by alice@bastion-1 (typed FAILOVER)"),
        "{s}"
    );
    assert!(s.contains("[LIVE]"), "the badge stays visible: {s}");
    snap("timeline", &h.state);
}

#[test]
fn header_counts_down_the_old_dns_ttl_after_a_switch() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.obs(
        SiteId::Prod,
        Section::Dns,
        Ok(Reading::new("→ DR on 2/2 · TTL 60", Level::Good)
            .field("points_to", Value::Text("dr".into()))
            .field("caches_left", Value::Duration(Duration::from_secs(45)))),
    );
    let s = text(&render(&h.state, 160, 48));
    let until = (h.now + chrono::Duration::seconds(45))
        .format("%H:%M:%S")
        .to_string();
    assert!(
        s.contains(&format!("DNS caches until {until} (45s)")),
        "{s}"
    );
    // Once the old TTL has run out, the countdown goes away.
    h.now += chrono::Duration::seconds(46);
    h.send(Msg::Tick);
    let s = text(&render(&h.state, 160, 48));
    assert!(!s.contains("DNS caches until"), "{s}");
}

#[test]
fn the_step_detail_scrolls_on_a_small_terminal() {
    let mut h = Harness::new(Mode::Review);
    h.outage(true);
    h.state.selected = 5; // notify: an http.request with a body, many detail lines
    let s = text(&render(&h.state, 80, 24));
    assert!(s.contains("PgDn more ↓"), "{s}");
    for _ in 0..4 {
        h.key(KeyCode::PageDown);
    }
    let scrolled = text(&render(&h.state, 80, 24));
    assert_ne!(s, scrolled, "PgDn scrolls the detail pane");
    assert!(scrolled.contains("PgUp back ↑"), "{scrolled}");
    // Moving the selection starts the next step's detail at the top.
    h.key(KeyCode::Up);
    assert_eq!(h.state.detail_scroll, 0);
}

/// The last screen row (the footer).
fn footer_row(s: &str) -> String {
    s.lines().last().unwrap_or_default().to_string()
}

/// Issue 11 defect 12: on a finished step the footer said `⏎ run · r retry` and ⏎ silently did
/// nothing. The footer and the step detail's hints offer only the keys that act on the selection.
#[test]
fn finished_step_offers_no_run_or_retry() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.run_promote();
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Ok("DR database promoted (timeline 2)".into()),
    });
    h.state.selected = 3;
    for (w, ht) in [(160, 48), (80, 24)] {
        let s = text(&render(&h.state, w, ht));
        let footer = footer_row(&s);
        assert!(!footer.contains("⏎ run"), "{w}x{ht}: {footer}");
        assert!(!footer.contains("r retry"), "{w}x{ht}: {footer}");
        assert!(!footer.contains("s skip"), "{w}x{ht}: {footer}");
        assert!(footer.contains("n note"), "{w}x{ht}: {footer}");
    }
    let s = text(&render(&h.state, 160, 48));
    assert!(s.contains("n note   finished"), "{s}");
    snap("finished", &h.state);
    // ⏎ there does nothing but say so; nothing is journaled.
    let before = h.state.records.len();
    h.key(KeyCode::Enter);
    assert_eq!(h.state.records.len(), before);
    assert!(h.state.dialog().is_none());
}

/// A step that must wait for an earlier one: ⏎ is not offered, and the detail says why.
#[test]
fn a_step_that_cannot_start_yet_offers_no_run() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.state.selected = 2;
    let s = text(&render(&h.state, 160, 48));
    assert!(!footer_row(&s).contains("⏎ run"), "{}", footer_row(&s));
    assert!(s.contains("finish or skip step 1"), "{s}");
    h.state.selected = 0;
    let s = text(&render(&h.state, 160, 48));
    assert!(footer_row(&s).contains("⏎ run"), "{}", footer_row(&s));
}
