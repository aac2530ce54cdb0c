//! A step's context for a test and what the step said through it. Steps report through their own
//! `StepSink` (not the engine's `Msg`); here the sink feeds a channel of `StepEvent`s the test
//! reads back. Harnesses that drive the engine instead hand steps `StepSink::channel` onto their
//! `Msg` channel, as the runtime does.

use std::sync::Arc;

use drcockpit::clients::http::HttpClient;
use drcockpit::plan::Plan;
use drcockpit::steps::{OutputLine, StepContext, StepEvent, StepSink};
use tokio::sync::mpsc;

/// What a step sent through a [`context`]'s sink, in order.
pub struct Heard(mpsc::UnboundedReceiver<StepEvent>);

impl Heard {
    /// Every output line sent so far, oldest first (other events are passed over).
    pub fn lines(&mut self) -> Vec<OutputLine> {
        let mut v = Vec::new();
        while let Ok(e) = self.0.try_recv() {
            if let StepEvent::Output { line, .. } = e {
                v.push(line);
            }
        }
        v
    }

    /// The next event, waiting for it (`None` once every sender is gone).
    pub async fn recv(&mut self) -> Option<StepEvent> {
        self.0.recv().await
    }
}

/// A context as the executor builds one for step 0, attempt 1 of `plan` over `http`: no spawning
/// and a fresh probe memory. Set other fields on the result (`allow_spawn`, `probes`, …).
pub fn context(plan: Arc<Plan>, http: HttpClient) -> (StepContext, Heard) {
    let (tx, rx) = mpsc::unbounded_channel();
    let ctx = StepContext {
        plan,
        http,
        allow_spawn: false,
        step: 0,
        attempt: 1,
        out: StepSink::channel(tx),
        probes: Default::default(),
    };
    (ctx, Heard(rx))
}

/// The `session_started` event a cockpit journals first for `plan`, as `runtime::cockpit` writes
/// it: host `bastion-1`, this process's pid, no commit, every step with its kind and whether it
/// mutates.
pub fn session_started(plan: &Plan, mode: &str, drill: bool) -> drcockpit::journal::Event {
    drcockpit::journal::Event::SessionStarted {
        plan_name: plan.name.clone(),
        plan_source: plan.source.clone(),
        plan_hash: plan.hash.clone(),
        mode: mode.into(),
        drill,
        host: "bastion-1".into(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        commit: None,
        resumed_from: None,
        rto_secs: Some(plan.rto.as_secs()),
        rpo_secs: Some(plan.rpo.as_secs()),
        steps: plan
            .steps
            .iter()
            .map(|s| drcockpit::journal::StepInfo {
                id: s.id.clone(),
                title: s.title.clone(),
                kind: s.action.kind_name().into(),
                mutating: Some(drcockpit::steps::is_mutating(&s.action)),
            })
            .collect(),
    }
}
