//! Issue 14 (keys are data, mouse), words kept on narrow panels, and five hundred services.

use super::*;

// ---- issue 14: keys are data, mouse ----

/// docs/keys.md is generated from the key table; this fails when it is out of date
/// (`DRCOCKPIT_WRITE_DOCS=1 cargo test --test ui keys_md` rewrites it).
#[test]
fn keys_md_is_generated_from_the_key_table() {
    let want = drcockpit::app::keys::Keymap::default().markdown();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
    if std::env::var_os("DRCOCKPIT_WRITE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/keys.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/keys.md is out of date: run `DRCOCKPIT_WRITE_DOCS=1 cargo test --test ui keys_md`"
    );
    // Keys that worked but were not listed are listed now.
    for k in [
        "`↑/k`",
        "`pgup/up/k`",
        "`G/End`",
        "`g/Home`",
        "`f/End`",
        "`Ctrl-d`",
        "`Ctrl-u`",
        "`y`",
    ] {
        let k = k.replace("pgup", "PgUp").replace("up/", "↑/");
        assert!(want.contains(&k), "docs/keys.md lacks {k}");
    }
}

/// A click maps to the step drawn under it, through the geometry the checklist is drawn with.
#[test]
fn a_click_on_a_drawn_step_row_selects_that_step() {
    for (w, hh) in [(160u16, 48u16), (80, 24)] {
        let mut h = Harness::new(Mode::Live);
        h.outage(true);
        let term = render(&h.state, w, hh);
        let buf = term.backend().buffer().clone();
        let size = ratatui::layout::Rect::new(0, 0, w, hh);
        for i in 0..h.state.steps.len() {
            let title = h.state.plan.steps[i].title.clone();
            let want = format!("{} {}", i + 1, &title[..title.len().min(8)]);
            let Some((col, row)) = (0..hh).find_map(|y| {
                let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
                line.find(&want)
                    .map(|byte| (line[..byte].chars().count() as u16, y))
            }) else {
                continue; // scrolled out of view at this size
            };
            assert_eq!(
                ui::step_at(&h.state, size, col, row),
                Some(i),
                "{w}x{hh}: click on {want:?} at {col},{row}"
            );
            h.send(Msg::Click { step: i });
            assert_eq!(h.state.selected, i);
            h.send(Msg::Click { step: 0 });
        }
        // The header row is no step; the log pane is the log.
        assert_eq!(ui::step_at(&h.state, size, 1, 0), None);
        assert_eq!(
            ui::pane_at(&h.state, size, 0, 0),
            drcockpit::app::Pane::Other
        );
    }
}

#[test]
fn the_log_pane_draws_only_the_store_it_is_handed() {
    // A line in the process's installed logger is not on a screen drawn from another store:
    // drawing reads the state and the View, no process-wide log.
    let installed =
        drcockpit::ui::logstore::install(log::LevelFilter::Debug).expect("install the pane logger");
    log::warn!(target: "dns", "only in the installed store");
    assert!(!installed.matching("only in the installed", 1).is_empty());
    let mine = drcockpit::ui::logstore::LogStore::new();
    mine.push(log::Level::Info, "promote", "only in the handed store");
    let pane = drcockpit::ui::logstore::LogPane::new(mine);
    let h = Harness::new(Mode::Live);
    let theme = Theme::builtin("dark").unwrap_or_default();
    let mut term = Terminal::new(TestBackend::new(150, 40)).expect("backend");
    term.draw(|f| ui::draw(f, &h.state, &View::new(&theme, Some(&pane))))
        .expect("draw");
    let s = text(&term);
    assert!(s.contains("only in the handed store"), "{s}");
    assert!(!s.contains("only in the installed store"), "{s}");
}

impl Harness {
    fn with_plan(plan: Plan) -> Harness {
        let op = Operator {
            name: "alice".into(),
            host: "bastion-1".into(),
        };
        Harness {
            state: State::new(Arc::new(plan), Mode::Live, op, t0()),
            now: t0(),
            seq: 0,
        }
    }
}

/// The readings whose words were cut at 160×48 (issue: narrow terminals keep the facts that
/// matter): a replay age, images that differ or are missing, where DNS points.
fn verdict_words_state() -> Harness {
    let mut h = Harness::new(Mode::Live);
    h.health(SiteId::Prod, true);
    h.health(SiteId::Dr, true);
    h.obs(
        SiteId::Prod,
        Section::Database,
        Ok(Reading::new(
            "primary · accepting writes · backup 2h17m ago",
            Level::Good,
        )),
    );
    h.obs(
        SiteId::Dr,
        Section::Database,
        Ok(Reading::new(
            "137 KiB behind · replay 2.9s · standby",
            Level::Good,
        )),
    );
    h.obs(
        SiteId::Prod,
        Section::Images,
        Ok(Reading::new("3/3 present", Level::Good)),
    );
    let mut images = Reading::new("1/3 synced · missing: worker · differ: api", Level::Bad);
    images.details = vec![
        "web v1.4.2 · prod 5e6f7a8b · dr 5e6f7a8b · ✓ same".into(),
        "api v1.4.2 · prod 9f2c4e1a · dr 77d0b3aa · ≠ different".into(),
        "worker v1.4.2 · prod 1b2c3d4e · dr — · ✗ missing".into(),
    ];
    h.obs(SiteId::Dr, Section::Images, Ok(images));
    h.obs(
        SiteId::Prod,
        Section::Dns,
        Ok(Reading::new("shop.example.com → DR TTL 60", Level::Warn)),
    );
    h.advance(2);
    h
}

#[test]
fn narrow_panels_keep_the_verdict_explaining_words() {
    let mut h = verdict_words_state();
    let s = text(&render(&h.state, 160, 48));
    for words in [
        "replay 2.9s",
        "differ: api",
        "missing: worker",
        "→ DR TTL 60",
    ] {
        assert!(s.contains(words), "`{words}` is cut at 160×48:\n{s}");
    }
    // The verdict-explaining words come first in the row.
    assert!(s.contains("DNS      ! → DR TTL 60"), "{s}");
    snap("verdict_words", &h.state);

    // Expanded: every image's own verdict label, first in its line, nothing cut.
    h.key(KeyCode::Char('x'));
    let s = text(&render(&h.state, 160, 48));
    for words in [
        "≠ different · api v1.4.2",
        "✗ missing · worker v1.4.2",
        "✓ same · web v1.4.2",
    ] {
        assert!(s.contains(words), "`{words}` in the expanded view:\n{s}");
    }
    snap("verdict_words_expanded", &h.state);
}

#[test]
fn expanded_panels_wrap_instead_of_cutting() {
    let mut h = verdict_words_state();
    let long = "the DR registry answered 401 Unauthorized for worker: check the robot account \
                named in the plan's [dr.registry] and that it may pull from shop/worker";
    h.obs(
        SiteId::Dr,
        Section::Health,
        Err(ProbeError::new("401", long)),
    );
    h.key(KeyCode::Char('x'));
    let s = text(&render(&h.state, 160, 48));
    // Every word of the long error is on the screen, over several rows.
    let screen: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for word in long.split_whitespace() {
        assert!(screen.contains(word), "`{word}` missing:\n{s}");
    }
    assert!(s.contains("may pull from shop/worker"), "{s}");
}

/// 500 services and 500 images on the DR side, three of each failing.
fn five_hundred_state() -> Harness {
    let mut plan = test_plan();
    plan.qovery = Some(QoveryConfig {
        api_url: "http://127.0.0.1:9".into(),
        token: "t".into(),
        auth_scheme: None,
        organization: "org".into(),
    });
    plan.sites[1].environment = Some("env-dr".into());
    let mut h = Harness::with_plan(plan);
    let failing = [42, 43, 44];
    let mut env = Reading::new("shop-dr DEPLOYED · ✗ svc-042, svc-043, svc-044", Level::Bad)
        .field("services", Value::Num(500.0))
        .field("services_failing", Value::Num(3.0));
    env.details
        .push("services: 497 deployed, 3 deployment_error".into());
    for i in 0..500 {
        let st = if failing.contains(&i) {
            "DEPLOYMENT_ERROR"
        } else {
            "DEPLOYED"
        };
        env.details.push(format!(
            "svc-{i:03}  {st}  registry.example.com/shop/svc-{i:03}:v1"
        ));
    }
    h.obs(SiteId::Dr, Section::Env, Ok(env));
    let mut images = Reading::new(
        "497/500 synced · missing: svc-007, svc-123 · differ: svc-400",
        Level::Bad,
    );
    for i in 0..500 {
        let mark = match i {
            7 | 123 => "✗ missing",
            400 => "≠ different",
            _ => "✓ same",
        };
        images.details.push(format!(
            "svc-{i:03} v1 · prod 5e6f7a8b · dr {} · {mark}",
            if mark == "✗ missing" {
                "—"
            } else {
                "5e6f7a8b"
            }
        ));
    }
    h.obs(SiteId::Dr, Section::Images, Ok(images));
    h.advance(2);
    h
}

#[test]
fn five_hundred_services_read_counts_first_worst_first_and_the_expanded_view_scrolls() {
    let mut h = five_hundred_state();
    let s = text(&render(&h.state, 160, 48));
    // Counts first; the names follow where the width allows (the expanded view names them all).
    assert!(s.contains("✗ 500 services: 497 ok, 3 failing"), "{s}");
    assert!(s.contains("✗ missing ×2 · differ: svc-400 …"), "{s}");
    let wide = text(&render(&h.state, 240, 48));
    assert!(
        wide.contains("✗ 500 services: 497 ok, 3 failing · failing: svc-042, svc-043, svc-044"),
        "{wide}"
    );
    assert!(
        wide.contains("✗ 497/500 synced · missing: svc-007, svc-123 · differ: svc-400"),
        "{wide}"
    );

    h.key(KeyCode::Char('x'));
    let s = text(&render(&h.state, 160, 48));
    // The worst first: the failing services and the images that are not synced open the list.
    let rows: Vec<&str> = s.lines().collect();
    let pos = |needle: &str| rows.iter().position(|l| l.contains(needle));
    for bad in ["svc-042  DEPLOYMENT_ERROR", "svc-044  DEPLOYMENT_ERROR"] {
        assert!(pos(bad).is_some(), "`{bad}` near the top:\n{s}");
    }
    assert!(s.contains("✗ missing · svc-007 v1"), "{s}");
    assert!(s.contains("≠ different · svc-400 v1"), "{s}");
    assert!(!s.contains("svc-499"), "{s}");
    // Where the window is, and how far it goes.
    assert!(s.contains(" 1–") && s.contains(" · PgUp/PgDn "), "{s}");

    // The page keys scroll the expanded panels (the step detail once collapsed).
    h.key(KeyCode::PageDown);
    let after = text(&render(&h.state, 160, 48));
    assert!(after.contains(" 11–"), "{after}");
    assert_ne!(after, s);
    for _ in 0..200 {
        h.key(KeyCode::PageDown);
    }
    let end = text(&render(&h.state, 160, 48));
    assert!(end.contains("svc-499"), "the end is reachable:\n{end}");
    assert!(end.contains(" · PgUp/PgDn "), "{end}");
    h.key(KeyCode::Char('x'));
    assert_eq!(h.state.panel_scroll, 0);
    snap("five_hundred", &h.state);
}
