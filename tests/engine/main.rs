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

#[path = "../common/mod.rs"]
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

mod evidence;
mod flow;
mod keymap;
mod keys;
mod session;
