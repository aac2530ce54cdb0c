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

#[path = "../common/mod.rs"]
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

mod issue14;
mod screens;
