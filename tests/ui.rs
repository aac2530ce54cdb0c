//! The screen: states reached through the engine's message interface, drawn into a TestBackend.
//! Snapshots (insta) at 160×48 and 80×24, plus behaviour assertions: the mode badge is always
//! visible, a registered secret never reaches the screen, a stale value never shows healthy.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use drcockpit::app::{
    Effect, Level, Mode, Msg, Observation, Operator, OutputLine, ProbeError, Reading, Section,
    State, update,
};
use drcockpit::journal::{PreflightCheck, Record};
use drcockpit::plan::*;
use drcockpit::ui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod common;
use common::screen::{render, text};
use common::{cond, t0, titled_step as step};

const SECRET: &str = "s3cr3t-T0KEN-do-not-show";

fn test_plan() -> Plan {
    drcockpit::redact::register(SECRET, "env:SLACK_TOKEN");
    let site = |label: &str, url: &str, dns: bool| Site {
        label: label.into(),
        health: Some(HealthConfig {
            url: url.into(),
            expect_status: vec![200],
            timeout: Duration::from_secs(2),
        }),
        database: Some(DatabaseConfig::default()),
        registry: Some(RegistryConfig {
            url: "https://registry.example.com".into(),
            username: None,
            password: None,
            ca_bundle: None,
            namespace: None,
        }),
        dns_target: dns.then(|| "prod.lb.example.com".into()),
        ..Site::default()
    };
    let mut detect = step(
        "detect",
        "Detect failure",
        StepAction::Check {
            conditions: vec![cond("!prod.health.ok")],
        },
    );
    detect.description = Some("PROD answers no health checks".into());
    let mut approve = step("approve", "Approve failover", StepAction::Approval);
    approve.confirm = Some("FAILOVER".into());
    let fence = step(
        "fence",
        "Fence old primary",
        StepAction::Manual {
            instructions: "Stop writes to the old primary in the cloud console".into(),
        },
    );
    let mut promote = step(
        "promote",
        "Promote DR database",
        StepAction::Command(CommandSpec {
            program: "psql".into(),
            args: vec!["-c".into(), "SELECT pg_promote(true, 60)".into()],
            cwd: None,
            env: vec![],
            secret_env: vec![],
            inherit_env: false,
            timeout: Duration::from_secs(60),
        }),
    );
    promote.requires = vec![cond("dr.health.ok")];
    promote.confirm = Some("PROMOTE".into());
    promote.site = Some(SiteId::Dr);
    let settle = step(
        "settle",
        "Wait for DR health",
        StepAction::Wait {
            conditions: vec![cond("dr.health.ok")],
            timeout: Duration::from_secs(30),
        },
    );
    let notify = step(
        "notify",
        "Notify the team",
        StepAction::HttpRequest(HttpRequest {
            method: "POST".into(),
            url: format!("http://127.0.0.1:9/webhooks/slack?token={SECRET}"),
            headers: vec![],
            body: Some("{}".into()),
            expect_status: vec![200],
            timeout: Duration::from_secs(5),
        }),
    );
    Plan {
        name: "shop".into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<test>".into(),
        hash: "abc".into(),
        parity: None,
        sites: [
            site(
                "Scaleway fr-par",
                "http://127.0.0.1:9/sites/prod/healthz",
                true,
            ),
            site(
                "AWS eu-west-1",
                "http://127.0.0.1:9/sites/dr/healthz",
                false,
            ),
        ],
        qovery: None,
        images: Some(ImagesConfig::default()),
        dns: Some(DnsConfig {
            record: "shop.example.com".into(),
            record_type: "CNAME".into(),
            zone: None,
            nameservers: vec![],
            provider: None,
        }),
        probes: ProbeSettings {
            interval: Duration::from_secs(5),
            stale_after: 3,
            concurrency: 4,
        },
        steps: vec![detect, approve, fence, promote, settle, notify],
    }
}

struct Harness {
    state: State,
    now: DateTime<Utc>,
    seq: u64,
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
            seq: 0,
        }
    }

    fn advance(&mut self, secs: i64) {
        self.now += chrono::Duration::seconds(secs);
        self.send(Msg::Tick);
    }

    /// Deliver a message; journal every Record effect and feed it back, as the runtime does.
    fn send(&mut self, msg: Msg) {
        let mut queue = vec![msg];
        while let Some(m) = queue.pop() {
            for fx in update(&mut self.state, m, self.now) {
                if let Effect::Record(event) = fx {
                    self.seq += 1;
                    queue.insert(
                        0,
                        Msg::Recorded(Record {
                            seq: self.seq,
                            at: self.now,
                            operator: "alice".into(),
                            event,
                        }),
                    );
                }
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

    fn obs(&mut self, site: SiteId, section: Section, outcome: Result<Reading, ProbeError>) {
        self.send(Msg::Observed(Observation {
            site,
            section,
            at: self.now,
            outcome,
        }));
    }

    fn health(&mut self, site: SiteId, ok: bool) {
        let r = Reading::new(
            if ok {
                "200 OK · 42 ms"
            } else {
                "503 Service Unavailable"
            },
            if ok { Level::Good } else { Level::Bad },
        )
        .field("ok", Value::Bool(ok));
        self.obs(site, Section::Health, Ok(r));
    }

    /// A probe round: every probed section answers again (PROD images no longer answers).
    fn refresh(&mut self, dr_ok: bool) {
        self.health(SiteId::Prod, false);
        self.obs(
            SiteId::Prod,
            Section::Database,
            Err(ProbeError::new(
                "unreachable",
                "connect to 10.0.0.5:5432: connection refused",
            )),
        );
        self.health(SiteId::Dr, dr_ok);
        self.obs(
            SiteId::Dr,
            Section::Database,
            Ok(Reading::new("standby · 0 B behind · 1.2s", Level::Good)
                .field("lag", Value::Duration(Duration::from_millis(1200)))),
        );
        self.obs(
            SiteId::Dr,
            Section::Images,
            Ok(Reading::new("12/12 synced", Level::Good)),
        );
    }

    /// Let `secs` pass with a probe round just before the end (values stay fresh).
    fn pass(&mut self, secs: i64) {
        self.now += chrono::Duration::seconds(secs - 2);
        self.refresh(true);
        self.advance(2);
    }

    /// PROD down (health 503 fresh, database unreachable, images stale), DR ready.
    fn outage(&mut self, dr_ok: bool) {
        self.obs(
            SiteId::Prod,
            Section::Database,
            Ok(Reading::new("primary · accepting writes", Level::Good)),
        );
        self.obs(
            SiteId::Prod,
            Section::Images,
            Ok(Reading::new("12/12 present", Level::Good)),
        );
        self.now += chrono::Duration::seconds(40);
        self.refresh(dr_ok);
        self.advance(2);
    }

    /// From the outage: detect, approve (typed FAILOVER), fence (note); promote selected.
    fn walk_to_promote(&mut self) {
        self.key(KeyCode::Enter);
        self.pass(30);
        self.key(KeyCode::Enter);
        self.type_str("FAILOVER");
        self.key(KeyCode::Enter);
        self.pass(45);
        self.key(KeyCode::Enter);
        self.type_str("fenced via console");
        self.key(KeyCode::Enter);
        self.pass(5);
        assert_eq!(self.state.selected, 3, "promote should be selected");
    }

    fn run_promote(&mut self) {
        self.walk_to_promote();
        self.key(KeyCode::Enter);
        self.type_str("PROMOTE");
        self.key(KeyCode::Enter);
        self.send(Msg::StepOutput {
            step: 3,
            attempt: 1,
            line: OutputLine::info("SELECT pg_is_in_recovery() → true"),
        });
        self.pass(4);
    }
}

fn snap(name: &str, state: &State) {
    for (w, h) in [(160, 48), (80, 24)] {
        let term = render(state, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&term));
    }
}

#[test]
fn fresh_session_is_waiting() {
    let h = Harness::new(Mode::Live);
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("waiting…"), "{s}");
    assert!(s.contains("not configured"), "{s}");
    // Every section has a probe in this build (Images was the last).
    assert!(!s.contains("no probe"), "{s}");
    assert!(s.contains("? UNKNOWN"), "{s}");
    snap("fresh", &h.state);
}

#[test]
fn region_outage() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("✗ DOWN"), "{s}");
    assert!(s.contains("✓ READY"), "{s}");
    assert!(s.contains("unreachable"), "{s}");
    assert!(s.contains("stale 42s"), "{s}");
    // The standby's lag is no RPO while the primary is down: the data it never shipped is unknown.
    assert!(s.contains("RPO UNKNOWN (prod db down) / 5m"), "{s}");
    assert!(!s.contains("RPO 1.2s"), "{s}");
    snap("outage", &h.state);
}

#[test]
fn running_step() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.run_promote();
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("running 4s"), "{s}");
    assert!(s.contains("pg_is_in_recovery"), "{s}");
    snap("running", &h.state);
}

#[test]
fn failed_step_shows_the_error() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.run_promote();
    h.send(Msg::StepDone {
        step: 3,
        attempt: 1,
        result: Err("psql exited 2: could not connect to server".into()),
    });
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("FAILED"), "{s}");
    assert!(s.contains("could not connect to server"), "{s}");
    assert!(s.contains("r retry"), "{s}");
    snap("failed", &h.state);
}

#[test]
fn blocked_step_shows_the_reason() {
    let mut h = Harness::new(Mode::Live);
    h.outage(false);
    h.state.selected = 3;
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("⊘ dr.health.ok"), "{s}");
    assert!(s.contains("o override"), "{s}");
    snap("blocked", &h.state);
}

#[test]
fn typed_word_confirmation_dialog() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.walk_to_promote();
    h.key(KeyCode::Enter);
    h.type_str("PROM");
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("Type PROMOTE to run it"), "{s}");
    assert!(s.contains("> PROM"), "{s}");
    snap("confirm_dialog", &h.state);
}

#[test]
fn help_overlay_lists_every_key_of_the_focus() {
    let mut h = Harness::new(Mode::Live);
    h.outage(true);
    h.key(KeyCode::Char('?'));
    assert!(h.state.help());
    let s = text(&render(&h.state, 150, 40));
    for b in drcockpit::app::keys::for_focus(&h.state) {
        assert!(s.contains(b.what), "help lacks {:?}:\n{s}", b.what);
    }
    snap("help", &h.state);
}

#[test]
fn review_mode_with_preflight() {
    let mut h = Harness::new(Mode::Review);
    h.outage(true);
    h.key(KeyCode::Char('m'));
    h.type_str("checked with DBA");
    h.key(KeyCode::Enter);
    h.state.selected = 3;
    h.key(KeyCode::Enter);
    h.send(Msg::PreflightDone {
        step: 3,
        checks: vec![
            PreflightCheck {
                what: "preconditions".into(),
                ok: Some(true),
                detail: "dr.health.ok = true".into(),
            },
            PreflightCheck {
                what: "program psql".into(),
                ok: Some(false),
                detail: "not found on PATH".into(),
            },
        ],
    });
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("REVIEW"), "{s}");
    assert!(s.contains("[x]"), "{s}");
    assert!(s.contains("not found on PATH"), "{s}");
    assert!(s.contains("exact calls:"), "{s}");
    snap("review", &h.state);
}

#[test]
fn monitor_badge() {
    let mut h = Harness::new(Mode::Monitor);
    h.state.mode_note = Some("plan locked by bob@bastion-2 (pid 4242): opened read-only".into());
    h.outage(true);
    let s = text(&render(&h.state, 150, 40));
    assert!(s.contains("[MONITOR · read-only]"), "{s}");
    assert!(s.contains("plan locked by bob"), "{s}");
    snap("monitor", &h.state);
}

#[test]
fn too_small_terminal() {
    let h = Harness::new(Mode::Live);
    let term = render(&h.state, 50, 15);
    let s = text(&term);
    assert!(
        s.contains("terminal too small (need 60×20, have 50×15)"),
        "{s}"
    );
    insta::assert_snapshot!("too_small_50x15", s);
}

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
