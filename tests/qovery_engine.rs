//! Qovery steps through the checklist engine: keys → `Effect::RunStep` → the real step against
//! the simulated Qovery API → `StepOutput`/`StepDone` back into `update`, as the runtime does.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use drcockpit::app::{Effect, Mode, Msg, Operator, State, StepStatus, update};
use drcockpit::clients::http::HttpClient;
use drcockpit::journal::{Event, Record};
use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{Plan, Step};
use drcockpit::sim::qovery::{QoveryWorld, ids};
use drcockpit::steps::{StepContext, StepSink};

mod common;
use common::qovery::serve;

fn plan(url: &str) -> Plan {
    let mut p = common::qovery::plan("qovery engine test", url);
    let raw: RawStep = toml::from_str(
        r#"
id = "deploy-dr"
title = "Deploy the DR environment"
kind = "qovery.deploy"
site = "dr"
interval = "100ms"
"#,
    )
    .expect("step toml");
    let action = common::qovery::build_step(&p, &raw);
    p.steps.push(Step {
        id: raw.id.clone(),
        title: raw.title.clone(),
        description: None,
        action,
        requires: vec![],
        confirm: Some("DEPLOY".into()),
        timeout: None,
        site: None,
    });
    p
}

struct Harness {
    state: State,
    journal: Vec<Record>,
    effects: Vec<Effect>,
}

impl Harness {
    fn new(plan: Plan, mode: Mode) -> Harness {
        let op = Operator {
            name: "alice".into(),
            host: "bastion-1".into(),
        };
        Harness {
            state: State::new(Arc::new(plan), mode, op, Utc::now()),
            journal: vec![],
            effects: vec![],
        }
    }

    fn send(&mut self, msg: Msg) {
        let mut queue = vec![msg];
        while let Some(m) = queue.pop() {
            for fx in update(&mut self.state, m, Utc::now()) {
                if let Effect::Record(event) = &fx {
                    let rec = Record {
                        seq: self.journal.len() as u64 + 1,
                        at: Utc::now(),
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

    fn last_run(&self) -> Option<(usize, u32)> {
        self.effects.iter().rev().find_map(|e| match e {
            Effect::RunStep { step, attempt } => Some((*step, *attempt)),
            _ => None,
        })
    }

    /// Perform `RunStep` as the executor does (transport read-only unless the mode may
    /// mutate) and feed every message back.
    async fn perform(&mut self, step: usize, attempt: u32) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = StepContext {
            plan: self.state.plan.clone(),
            http: HttpClient::new(!self.state.mode.may_mutate()),
            allow_spawn: false,
            step,
            attempt,
            out: StepSink::channel(tx.clone()),
            probes: Default::default(),
        };
        let action = self.state.plan.steps[step].action.clone();
        let task = tokio::spawn(async move {
            let result = drcockpit::steps::run(&action, ctx).await;
            let _ = tx.send(Msg::StepDone {
                step,
                attempt,
                result,
            });
        });
        while let Some(m) = rx.recv().await {
            let done = matches!(m, Msg::StepDone { .. });
            self.send(m);
            if done {
                break;
            }
        }
        let _ = task.await;
    }

    fn outputs(&self) -> Vec<String> {
        self.journal
            .iter()
            .filter_map(|r| match &r.event {
                Event::StepOutput { line, .. } => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    fn status(&self) -> StepStatus {
        self.state.status(0)
    }
}

async fn world() -> (Arc<QoveryWorld>, String) {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(QoveryWorld::new("all-good", 11).with_phase(Duration::from_millis(120)));
    let url = serve(w.clone()).await;
    (w, url)
}

#[tokio::test]
async fn a_deploy_step_streams_states_into_the_journal_and_succeeds() {
    let (w, url) = world().await;
    let mut h = Harness::new(plan(&url), Mode::Live);
    h.key(KeyCode::Enter);
    h.type_str("DEPLOY");
    h.key(KeyCode::Enter);
    let (step, attempt) = h.last_run().expect("RunStep after the typed word");
    assert_eq!(h.status(), StepStatus::Running);
    h.perform(step, attempt).await;
    assert_eq!(h.status(), StepStatus::Succeeded);
    let out = h.outputs().join("\n");
    for want in [
        "environment shop-dr before: STOPPED",
        "DEPLOYMENT_QUEUED → DEPLOYING",
        "DEPLOYING → DEPLOYED",
        "web: QUEUED → DEPLOYING",
        "worker: DEPLOYING → DEPLOYED",
        "(4/4 deployed)",
    ] {
        assert!(
            out.contains(want),
            "missing {want:?} in the journal:\n{out}"
        );
    }
    assert_eq!(w.mutations().len(), 1);
}

#[tokio::test]
async fn a_deploy_that_fails_pauses_and_the_retry_succeeds() {
    let (w, url) = world().await;
    w.fail_next_deployment_of("api");
    let mut h = Harness::new(plan(&url), Mode::Live);
    h.key(KeyCode::Enter);
    h.type_str("DEPLOY");
    h.key(KeyCode::Enter);
    let (step, attempt) = h.last_run().expect("run");
    h.perform(step, attempt).await;
    assert_eq!(h.status(), StepStatus::Failed);
    assert!(
        h.journal.iter().any(|r| matches!(&r.event,
            Event::StepFinished { ok: false, detail, .. }
                if detail.contains("DEPLOYMENT_ERROR") && detail.contains("api"))),
        "{:#?}",
        h.journal
    );
    // Never retried automatically: one POST so far.
    assert_eq!(w.mutations().len(), 1);
    h.key(KeyCode::Char('r'));
    h.type_str("DEPLOY");
    h.key(KeyCode::Enter);
    let (step, attempt) = h.last_run().expect("retry");
    assert_eq!(attempt, 2);
    h.perform(step, attempt).await;
    assert_eq!(h.status(), StepStatus::Succeeded);
    assert_eq!(w.mutations().len(), 2);
}

#[tokio::test]
async fn monitor_mode_refuses_and_no_mutating_request_reaches_the_api() {
    let (w, url) = world().await;
    let mut h = Harness::new(plan(&url), Mode::Monitor);
    h.key(KeyCode::Enter);
    h.type_str("DEPLOY");
    h.key(KeyCode::Enter);
    assert!(h.last_run().is_none(), "the engine refuses first");
    // Even if a RunStep got through, the transport handed to steps in monitor mode refuses.
    h.perform(0, 1).await;
    assert_eq!(w.mutations().len(), 0);
    assert!(h.journal.is_empty() || h.status() != StepStatus::Succeeded);
}

/// Issue "Never a false green", defect 1: the API reports the new `deployment_request_id` first,
/// while `state`, `last_deployment_state` and the services still show the previous result. The
/// journal records success only once the ground truth got there, with every service deployed.
#[tokio::test]
async fn a_deploy_against_out_of_order_status_fields_succeeds_only_when_the_truth_does() {
    use drcockpit::sim::qovery::FieldOrder;
    drcockpit::clients::qovery::set_env_overrides(false);
    for order in FieldOrder::HOSTILE {
        let w = Arc::new(
            QoveryWorld::new("hostile", 3)
                .with_phase(Duration::from_millis(120))
                .with_lag(Duration::from_millis(300))
                .with_late_reads(false)
                .with_field_order(order),
        );
        let url = serve(w.clone()).await;
        let mut h = Harness::new(plan(&url), Mode::Live);
        h.key(KeyCode::Enter);
        h.type_str("DEPLOY");
        h.key(KeyCode::Enter);
        let (step, attempt) = h.last_run().expect("RunStep after the typed word");
        h.perform(step, attempt).await;
        let truth = w.ground_truth(ids::DR_ENV).expect("DR");
        assert_eq!(h.status(), StepStatus::Succeeded, "{order:?}");
        assert!(!truth.running, "{order:?}: succeeded while running");
        assert!(
            truth.services.iter().all(|(_, s)| s == "DEPLOYED"),
            "{order:?}: {truth:?}"
        );
        assert!(
            h.journal.iter().any(|r| matches!(&r.event,
                Event::StepFinished { ok: true, detail, .. } if detail.contains("4/4 services deployed"))),
            "{order:?}: {:#?}",
            h.journal
        );
    }
}
