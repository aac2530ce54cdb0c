//! What a step does. Each kind has a module (or shares one with its family) and one line in
//! [`registry::KINDS`]; the functions here ask the registry for the kind of an action: whether
//! it mutates, what it would do (review mode), its read-only preflight, and running it. Adding
//! a kind is a module and a registry line, not a change to the engine or the loader.

pub mod command;
pub mod dns;
pub mod engine;
pub mod http;
pub mod images;
pub mod notify;
pub mod postgres;
pub mod qovery;
pub mod registry;
pub mod rejoin;
pub mod restore_check;
pub mod reverse;
pub mod scaleway;
pub mod scaleway_replica;
pub mod schema;
#[cfg(test)]
mod test_noop;

pub use registry::{
    Role, kind_of, known_kinds, load_checking, load_file, load_file_with_notes, load_str,
    load_str_with_notes, role_of,
};
pub use schema::schema_json;

mod event;
pub use event::{OutputGate, OutputLine, StepEvent, StepSink};

use std::sync::Arc;
use std::time::Duration;

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
    /// Where its output goes: the runtime turns each event into the engine's message.
    pub out: StepSink,
    /// The run's probe memory (kept database sessions, last primary positions, last digests).
    pub probes: Arc<crate::probes::ProbeMemory>,
}

impl StepContext {
    /// A context for read-only work (preflight): a read-only transport and no spawning,
    /// whatever the session's mode.
    pub fn read_only(plan: Arc<Plan>, step: usize, out: StepSink) -> StepContext {
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
    pub fn emit(&self, stream: Stream, text: impl Into<String>) {
        let line = OutputLine {
            stream: stream.as_str().into(),
            text: crate::redact::redact_string(text.into()),
        };
        self.out.send(StepEvent::Output {
            step: self.step,
            attempt: self.attempt,
            line,
        });
    }
    pub fn info(&self, text: impl Into<String>) {
        self.emit(Stream::Info, text)
    }

    /// [`emit`](Self::emit), waiting first while too many lines are between the steps and the
    /// journal (a command's bulk output; see [`OutputGate`]).
    pub async fn emit_paced(&self, stream: Stream, text: impl Into<String>) {
        let line = OutputLine {
            stream: stream.as_str().into(),
            text: crate::redact::redact_string(text.into()),
        };
        self.out
            .send_paced(StepEvent::Output {
                step: self.step,
                attempt: self.attempt,
                line,
            })
            .await;
    }
}

/// Which stream a line of a step's output is on. The journal stores [`Stream::as_str`], the
/// form old journals and report snapshots have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// What the step says it is doing.
    Info,
    /// A command's standard output.
    Stdout,
    /// A command's standard error, and a step's warnings and failures.
    Stderr,
    /// RPO evidence (JSON) from `postgres.promote`, read by the report.
    RpoEvidence,
    /// What `dns.switch` set (JSON), read back by `dns.verify` from the journal.
    DnsEvidence,
    /// Whether a `notify.*` step sent, and the dedup key / alias a later step reuses (JSON).
    NotifyEvidence,
    /// The environment a `qovery.clone_environment` created or a `qovery.delete_environment`
    /// deleted (JSON with its id).
    EnvironmentEvidence,
}

impl Stream {
    pub const ALL: [Stream; 7] = [
        Stream::Info,
        Stream::Stdout,
        Stream::Stderr,
        Stream::RpoEvidence,
        Stream::DnsEvidence,
        Stream::NotifyEvidence,
        Stream::EnvironmentEvidence,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            Stream::Info => "info",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::RpoEvidence => "evidence:rpo",
            Stream::DnsEvidence => "evidence:dns",
            Stream::NotifyEvidence => "evidence:notify",
            Stream::EnvironmentEvidence => "evidence:environment",
        }
    }
    /// The stream a journal names, if this build knows it.
    pub fn parse(s: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Does running this action change the world? Mutating steps need a confirmation and are never
/// retried automatically.
pub fn is_mutating(action: &StepAction) -> bool {
    kind_of(action).is_none_or(|k| k.imp.is_mutating(action))
}

/// Exactly what the step would do, one line per call, for review mode and the detail pane.
/// Secrets are still in these strings: the UI redacts everything it draws.
pub fn describe(action: &StepAction) -> Vec<String> {
    kind_of(action).map_or_else(Vec::new, |k| k.imp.describe(action))
}

pub fn has_preflight(action: &StepAction) -> bool {
    kind_of(action).is_some_and(|k| k.imp.has_preflight())
}

/// Read-only checks that show, in review mode, whether the step could run now.
pub async fn preflight(
    action: &StepAction,
    ctx: &StepContext,
    state_checks: Vec<PreflightCheck>,
) -> Vec<PreflightCheck> {
    let mut checks = state_checks;
    if let Some(k) = kind_of(action) {
        checks.extend(k.imp.preflight(action, ctx).await);
    }
    checks
}

/// Run a step's action to completion. `Ok` carries a one-line summary, `Err` the reason.
/// The overall timeout is applied by the caller.
pub async fn run(action: &StepAction, ctx: StepContext) -> Result<String, String> {
    match kind_of(action) {
        Some(k) => k.imp.run(action, &ctx).await,
        None => Err(format!(
            "kind `{}` is not in this build's registry",
            action.kind_name()
        )),
    }
}

/// Give a step what earlier steps handed over through the journal (`(stream, text)` of their
/// output lines, oldest first) before it runs. The runtime calls this with the journal-derived
/// state, so what one step hands to another survives `--resume`.
pub fn hand_off(action: &mut StepAction, outputs: &[(&str, &str)]) {
    if let Some(k) = kind_of(action) {
        k.imp.hand_off(action, outputs);
    }
}

/// [`hand_off`] from journal records (the journal-derived state the runtime holds, replayed on
/// `--resume`).
pub fn hand_off_journal(action: &mut StepAction, records: &[crate::journal::Record]) {
    let owned = journal_outputs(records);
    let outputs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect();
    hand_off(action, &outputs);
    if let Some(k) = kind_of(action) {
        k.imp.hand_off_records(action, records);
    }
}

/// The overall timeout for running a step, from the plan or the kind's default.
pub fn timeout_of(step: &crate::plan::Step) -> Duration {
    if let Some(t) = step.timeout {
        return t;
    }
    kind_of(&step.action).map_or(Duration::from_secs(600), |k| {
        k.imp.default_timeout(&step.action)
    })
}

/// A step's output lines as the journal holds them, `(stream, text)`. The engine journals an
/// `evidence:<what>` line as `Event::Evidence { what, detail }`, not as output, so those come
/// back here under their stream name with the detail's JSON text (what `dns.switch` wrote for
/// `dns.verify`); without it a hand-off through the engine saw nothing.
fn journal_outputs(records: &[crate::journal::Record]) -> Vec<(String, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            crate::journal::Event::StepOutput { stream, line, .. } => {
                Some((stream.clone(), line.clone()))
            }
            crate::journal::Event::Evidence { what, detail, .. } => {
                let text = match detail {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((format!("evidence:{what}"), text))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod journal_tests {
    use super::*;
    use crate::journal::{Event, Record};

    /// `dns.switch`'s mark is journaled as evidence by the engine; `dns.verify`'s hand-off must
    /// find it there (before, only `step_output` records were handed over, so a verify run
    /// through the engine never saw what the switch set).
    #[test]
    fn evidence_the_engine_journaled_reaches_the_hand_off() {
        let at = chrono::Utc::now();
        let detail = serde_json::json!({
            "record": "shop.example.com.",
            "target": "198.51.100.20",
            "old_ttl": 7,
            "switched_at": at,
            "converged_at": null,
        });
        let rec = Record {
            seq: 1,
            at,
            operator: "alice".into(),
            event: Event::Evidence {
                step: Some("switch".into()),
                what: "dns".into(),
                detail,
            },
        };
        let owned = journal_outputs(std::slice::from_ref(&rec));
        let mark = dns::mark_from_journal(
            "shop.example.com",
            owned.iter().map(|(s, t)| (s.as_str(), t.as_str())),
        )
        .expect("the switch's mark, from the engine's evidence record");
        assert_eq!(mark.old_ttl, Some(7));
        assert_eq!(mark.target, "198.51.100.20");
    }
}
