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
