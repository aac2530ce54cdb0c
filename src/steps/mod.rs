//! What a step does. Each kind family has a module; this file is the one place that maps a
//! [`StepAction`] to its behaviour: whether it mutates, what it would do (review mode), its
//! read-only preflight, and running it. Adding a kind means a case here and a module, not a
//! change to the engine.

pub mod command;
pub mod dns;
pub mod http;
pub mod images;
pub mod postgres;
pub mod qovery;
pub mod scaleway;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::{Msg, OutputLine};
use crate::clients::http::HttpClient;
use crate::journal::PreflightCheck;
use crate::plan::{Plan, StepAction};

/// What a running step may use. Built by the runtime from the session's mode: in review and
/// monitor modes `http` is read-only and `allow_spawn` is false, whatever the dispatcher did.
#[derive(Clone)]
pub struct StepContext {
    pub plan: Arc<Plan>,
    pub http: HttpClient,
    pub allow_spawn: bool,
    pub step: usize,
    pub attempt: u32,
    pub out: mpsc::UnboundedSender<Msg>,
    /// The run's probe memory (kept database sessions, last primary positions, last digests).
    pub probes: Arc<crate::probes::ProbeMemory>,
}

impl StepContext {
    /// A context for read-only work (preflight): a read-only transport and no spawning,
    /// whatever the session's mode.
    pub fn read_only(plan: Arc<Plan>, step: usize, out: mpsc::UnboundedSender<Msg>) -> StepContext {
        StepContext {
            plan,
            http: HttpClient::new(true),
            allow_spawn: false,
            step,
            attempt: 0,
            out,
            probes: Arc::default(),
        }
    }

    /// Share the run's probe memory rather than a fresh one.
    pub fn with_probes(mut self, probes: Arc<crate::probes::ProbeMemory>) -> StepContext {
        self.probes = probes;
        self
    }

    /// Stream one line of output into the log and the journal.
    pub fn emit(&self, stream: &str, text: impl Into<String>) {
        let line = OutputLine {
            stream: stream.into(),
            text: crate::redact::redact_string(text.into()),
        };
        let _ = self.out.send(Msg::StepOutput {
            step: self.step,
            attempt: self.attempt,
            line,
        });
    }
    pub fn info(&self, text: impl Into<String>) {
        self.emit("info", text)
    }
}

/// Does running this action change the world? Mutating steps need a confirmation and are never
/// retried automatically.
pub fn is_mutating(action: &StepAction) -> bool {
    match action {
        StepAction::Approval
        | StepAction::Manual { .. }
        | StepAction::Check { .. }
        | StepAction::Wait { .. } => false,
        StepAction::HttpCheck(_) => false,
        StepAction::HttpRequest(r) => {
            !matches!(r.method.to_ascii_uppercase().as_str(), "GET" | "HEAD")
        }
        StepAction::Command(_) => true,
        StepAction::Qovery(_) => true,
        StepAction::Postgres(_) | StepAction::Scaleway(_) => true,
        StepAction::Dns(d) => dns::is_mutating(d),
        StepAction::SetImage(_) => true,
    }
}

/// Exactly what the step would do, one line per call, for review mode and the detail pane.
/// Secrets are still in these strings: the UI redacts everything it draws.
pub fn describe(action: &StepAction) -> Vec<String> {
    match action {
        StepAction::Approval => vec!["a human gate: the operator types the confirmation word; operator, host and time are recorded".into()],
        StepAction::Manual { instructions } => {
            let mut v = vec!["a human task; the operator marks it done with a note:".to_string()];
            v.extend(instructions.lines().map(|l| format!("  {l}")));
            v
        }
        StepAction::Check { conditions } => conditions.iter().map(|c| format!("check {}", c.text)).collect(),
        StepAction::Wait { conditions, timeout } => {
            let mut v: Vec<String> = conditions.iter().map(|c| format!("wait until {}", c.text)).collect();
            v.push(format!("give up after {}", crate::plan::units::fmt_duration(*timeout)));
            v
        }
        StepAction::HttpCheck(c) => http::describe_check(c),
        StepAction::HttpRequest(r) => http::describe_request(r),
        StepAction::Command(c) => command::describe(c),
        StepAction::Qovery(q) => qovery::describe(q),
        StepAction::Postgres(p) => postgres::describe(p),
        StepAction::Scaleway(p) => scaleway::describe(p),
        StepAction::Dns(d) => dns::describe(d),
        StepAction::SetImage(a) => images::describe(a),
    }
}

pub fn has_preflight(action: &StepAction) -> bool {
    !matches!(action, StepAction::Approval | StepAction::Manual { .. })
}

/// Read-only checks that show, in review mode, whether the step could run now.
pub async fn preflight(
    action: &StepAction,
    ctx: &StepContext,
    state_checks: Vec<PreflightCheck>,
) -> Vec<PreflightCheck> {
    let mut checks = state_checks;
    match action {
        StepAction::HttpCheck(c) => checks.push(http::preflight_url(&ctx.http, &c.url).await),
        StepAction::HttpRequest(r) => checks.push(http::preflight_url(&ctx.http, &r.url).await),
        StepAction::Command(c) => checks.push(command::preflight(c)),
        StepAction::Qovery(q) => checks.extend(qovery::preflight(q, ctx).await),
        StepAction::Postgres(p) => checks.extend(postgres::preflight(p, ctx).await),
        StepAction::Scaleway(p) => checks.extend(scaleway::preflight(p, ctx).await),
        StepAction::Dns(d) => checks.extend(dns::preflight(d, ctx).await),
        StepAction::SetImage(a) => checks.extend(images::preflight(a, ctx).await),
        _ => {}
    }
    checks
}

/// Run a step's action to completion. `Ok` carries a one-line summary, `Err` the reason.
/// The overall timeout is applied by the caller.
pub async fn run(action: &StepAction, ctx: StepContext) -> Result<String, String> {
    match action {
        StepAction::HttpCheck(c) => http::run_check(c, &ctx).await,
        StepAction::HttpRequest(r) => http::run_request(r, &ctx).await,
        StepAction::Command(c) => command::run(c, &ctx).await,
        StepAction::Qovery(q) => qovery::run(q, &ctx).await,
        StepAction::Postgres(p) => postgres::run(p, &ctx).await,
        StepAction::Scaleway(p) => scaleway::run(p, &ctx).await,
        StepAction::Dns(d) => dns::run(d, &ctx).await,
        StepAction::SetImage(a) => images::run(a, &ctx).await,
        other => Err(format!(
            "{} steps are driven by the engine, not run as tasks",
            other.kind_name()
        )),
    }
}

/// The overall timeout for running a step, from the plan or the kind's default.
pub fn timeout_of(step: &crate::plan::Step) -> Duration {
    if let Some(t) = step.timeout {
        return t;
    }
    match &step.action {
        StepAction::HttpCheck(c) => c.timeout + Duration::from_secs(5),
        StepAction::HttpRequest(r) => r.timeout + Duration::from_secs(5),
        StepAction::Command(c) => c.timeout,
        StepAction::Qovery(q) => qovery::default_timeout(q),
        StepAction::Postgres(p) => postgres::timeout(p),
        StepAction::Scaleway(p) => scaleway::timeout(p),
        StepAction::Dns(d) => dns::default_timeout(d),
        StepAction::SetImage(a) => images::default_timeout(a),
        _ => Duration::from_secs(600),
    }
}
