//! `[notify]` (issue 13, item 5): milestones for people who are not on the bastion — the
//! incident declared, each step finished or failed, a hand-over, the checklist done — posted to
//! a webhook (Slack or Teams incoming webhook, or generic JSON) with the RTO clock.
//!
//! * The notifier follows the journal (`journal::tail`), so every milestone it posts is one the
//!   journal holds, whoever wrote it; it posts only while this cockpit drives (holds the lock),
//!   so after a hand-over the new driver's cockpit posts and the old one stops.
//! * It runs on its own task and is fed by nothing in the engine: a slow or dead webhook can
//!   never hold up the checklist. Each message is posted once; a failure is logged once (and a
//!   recovery once), never retried.
//! * Messages come from templates with the plan's values (`{plan}`, `{step}`, `{title}`,
//!   `{detail}`, `{operator}`, `{from}`, `{to}`, `{elapsed}`, `{rto}`, `{rpo}`, `{reason}`) and
//!   are redacted; the URL is a secret reference (`${env:SLACK_WEBHOOK_URL}`) and never shown.
//! * Live mode only (the runtime does not start it in demo, review, monitor or follow).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::journal::lock::Lock;
use crate::journal::people;
use crate::journal::tail::Tail;
use crate::journal::{Event, Record};
use crate::plan::Plan;

pub use crate::plan::raw::NotifySection;

pub const DEFAULT_DECLARED: &str =
    ":rotating_light: {plan}: incident declared by {operator} — {detail} (RTO {rto})";
pub const DEFAULT_STEP_FINISHED: &str =
    ":white_check_mark: {plan}: {title} done ({operator}) — {elapsed} of RTO {rto}";
pub const DEFAULT_STEP_FAILED: &str =
    ":x: {plan}: {title} FAILED ({operator}): {detail} — {elapsed} of RTO {rto}";
pub const DEFAULT_HAND_OVER: &str =
    ":arrows_counterclockwise: {plan}: {to} took over from {from} — {elapsed} of RTO {rto}";
pub const DEFAULT_DONE: &str =
    ":checkered_flag: {plan}: checklist {reason} — {elapsed} of RTO {rto}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Slack,
    Teams,
    Json,
}

/// A resolved `[notify]`: ready to post.
#[derive(Debug, Clone)]
pub struct Notify {
    pub url: String,
    pub format: Format,
    pub timeout: Duration,
    pub section: NotifySection,
}

/// One message to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// `declared`, `step_finished`, `step_failed`, `hand_over` or `done`.
    pub kind: &'static str,
    pub text: String,
    pub step: Option<String>,
    pub elapsed_secs: u64,
}

/// Read `[notify]` from the plan file and resolve its URL (a secret, registered for redaction).
/// `Ok(None)`: the plan has no `[notify]`.
pub fn load(plan_file: &Path, sim_url: Option<String>) -> Result<Option<Notify>, String> {
    let text = std::fs::read_to_string(plan_file).map_err(|e| {
        format!(
            "{}: cannot read the plan for [notify]: {e}",
            plan_file.display()
        )
    })?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| format!("[notify]: {e}"))?;
    let Some(section) = value.get("notify") else {
        return Ok(None);
    };
    let section: NotifySection = section
        .clone()
        .try_into()
        .map_err(|e| format!("[notify]: {e}"))?;
    let base = plan_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut refs = crate::plan::refs::RefContext::new(sim_url, true, base);
    let url = crate::plan::refs::resolve_for(&section.url, "notify.url", &mut refs)
        .map_err(|e| format!("[notify] url: {e}"))?;
    let format = match section.format.as_deref().unwrap_or("slack") {
        "slack" => Format::Slack,
        "teams" => Format::Teams,
        "json" => Format::Json,
        other => {
            return Err(format!(
                "[notify] format = \"{other}\": expected slack, teams or json"
            ));
        }
    };
    let timeout = match &section.timeout {
        Some(t) => {
            crate::plan::units::parse_duration(t).map_err(|e| format!("[notify] timeout: {e}"))?
        }
        None => Duration::from_secs(5),
    };
    Ok(Some(Notify {
        url,
        format,
        timeout,
        section,
    }))
}

/// `{name}` placeholders filled from `values` (the template language the `notify.*` step kinds
/// share: `crate::plan::template`).
pub use crate::plan::template::fill;

/// Folds journal records into milestones (pure: tested without a network).
pub struct Milestones {
    plan: Arc<Plan>,
    section: NotifySection,
    people: people::People,
    clock_from: Option<DateTime<Utc>>,
    declared: bool,
    /// Steps finished (done, approved, skipped…), for "done".
    finished: std::collections::BTreeSet<String>,
    all_done: bool,
    done: bool,
}

impl Milestones {
    pub fn new(plan: Arc<Plan>, section: NotifySection) -> Milestones {
        Milestones {
            plan,
            section,
            people: Default::default(),
            clock_from: None,
            declared: false,
            finished: Default::default(),
            all_done: false,
            done: false,
        }
    }

    /// Records already in the journal (a resume): they set the clock and the driver, and post
    /// nothing.
    pub fn seen(&mut self, records: &[Record]) {
        for r in records {
            let _ = self.next(r);
        }
        // A resumed journal whose checklist was already done posts no second "done".
        if self.all_done {
            self.done = true;
        }
    }

    /// The milestones `r` makes: its own, then "done" when it finished the last step.
    pub fn next(&mut self, r: &Record) -> Vec<Milestone> {
        let mut out: Vec<Milestone> = self.one(r).into_iter().collect();
        if self.all_done && !self.done {
            self.done = true;
            let elapsed = self.elapsed(r);
            let values = [
                ("plan", self.plan.name.clone()),
                ("reason", "completed".to_string()),
                ("operator", r.operator.clone()),
                (
                    "elapsed",
                    crate::plan::units::fmt_duration(Duration::from_secs(elapsed)),
                ),
                ("rto", crate::plan::units::fmt_target(self.plan.rto)),
                ("rpo", crate::plan::units::fmt_target(self.plan.rpo)),
            ];
            let template = self.section.done.as_deref().unwrap_or(DEFAULT_DONE);
            out.push(Milestone {
                kind: "done",
                text: crate::redact::redact_string(fill(template, &values)),
                step: None,
                elapsed_secs: elapsed,
            });
        }
        out
    }

    fn elapsed(&self, r: &Record) -> u64 {
        self.clock_from
            .map(|t| (r.at - t).num_seconds().max(0) as u64)
            .unwrap_or(0)
    }

    fn one(&mut self, r: &Record) -> Option<Milestone> {
        let before = self.people.current().map(|d| d.who());
        people::fold(&mut self.people, r);
        match &r.event {
            Event::StepFinished { step, ok: true, .. }
            | Event::Approved { step, .. }
            | Event::ManualDone { step, .. }
            | Event::MarkedDone { step, .. }
            | Event::Skipped { step, .. } => {
                self.finished.insert(step.clone());
            }
            Event::StepStarted { step, .. } | Event::StepFinished { step, .. } => {
                self.finished.remove(step);
            }
            _ => {}
        }
        self.all_done = !self.plan.steps.is_empty()
            && self
                .plan
                .steps
                .iter()
                .all(|s| self.finished.contains(&s.id));
        match &r.event {
            Event::SessionStarted { .. } => {
                self.clock_from.get_or_insert(r.at);
            }
            Event::Declared { .. } if !self.declared => {
                self.declared = true;
                self.clock_from = Some(r.at);
            }
            _ => {}
        }
        let elapsed = self.elapsed(r);
        let title = |id: &str| {
            self.plan
                .step_index(id)
                .map(|i| self.plan.steps[i].title.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let s = &self.section;
        let (kind, template, step, detail, extra): (
            _,
            _,
            Option<&str>,
            String,
            Vec<(&str, String)>,
        ) = match &r.event {
            Event::Declared { note } => (
                "declared",
                s.declared.as_deref().unwrap_or(DEFAULT_DECLARED),
                None,
                note.clone(),
                vec![],
            ),
            Event::Approved { step, host, .. } => (
                "step_finished",
                s.step_finished.as_deref().unwrap_or(DEFAULT_STEP_FINISHED),
                Some(step.as_str()),
                format!("approved by {}@{host}", r.operator),
                vec![],
            ),
            Event::ManualDone { step, note, .. } => (
                "step_finished",
                s.step_finished.as_deref().unwrap_or(DEFAULT_STEP_FINISHED),
                Some(step.as_str()),
                note.clone(),
                vec![],
            ),
            Event::StepFinished {
                step,
                ok: true,
                detail,
                ..
            } => (
                "step_finished",
                s.step_finished.as_deref().unwrap_or(DEFAULT_STEP_FINISHED),
                Some(step.as_str()),
                detail.clone(),
                vec![],
            ),
            Event::StepFinished { step, detail, .. } => (
                "step_failed",
                s.step_failed.as_deref().unwrap_or(DEFAULT_STEP_FAILED),
                Some(step.as_str()),
                detail.clone(),
                vec![],
            ),
            Event::SessionStarted { .. } => {
                let now = self.people.current().map(|d| d.who());
                let (Some(from), Some(to)) = (before, now.clone()) else {
                    return None;
                };
                if Some(&from) == now.as_ref() {
                    return None;
                }
                (
                    "hand_over",
                    s.hand_over.as_deref().unwrap_or(DEFAULT_HAND_OVER),
                    None,
                    String::new(),
                    vec![("from", from), ("to", to)],
                )
            }
            _ => return None,
        };
        let mut values = vec![
            ("plan", self.plan.name.clone()),
            ("step", step.unwrap_or_default().to_string()),
            ("title", step.map(title).unwrap_or_default()),
            ("detail", detail),
            ("operator", r.operator.clone()),
            (
                "elapsed",
                crate::plan::units::fmt_duration(Duration::from_secs(elapsed)),
            ),
            ("rto", crate::plan::units::fmt_target(self.plan.rto)),
            ("rpo", crate::plan::units::fmt_target(self.plan.rpo)),
        ];
        values.extend(extra);
        Some(Milestone {
            kind,
            text: crate::redact::redact_string(fill(template, &values)),
            step: step.map(str::to_string),
            elapsed_secs: elapsed,
        })
    }
}

/// The body posted for a milestone.
pub fn payload(format: Format, plan: &Plan, m: &Milestone) -> String {
    let v = match format {
        Format::Slack | Format::Teams => serde_json::json!({ "text": m.text }),
        Format::Json => serde_json::json!({
            "milestone": m.kind,
            "plan": plan.name,
            "text": m.text,
            "step": m.step,
            "elapsed_secs": m.elapsed_secs,
            "rto_secs": plan.rto.as_secs(),
        }),
    };
    crate::redact::redact_string(v.to_string())
}

/// Post every milestone the journal gains from now on, while `lock` is ours. Runs until the
/// process ends; the checklist never waits for it.
pub fn spawn(notify: Notify, plan: Arc<Plan>, journal: PathBuf, seen: &[Record], lock: Arc<Lock>) {
    let mut ms = Milestones::new(plan.clone(), notify.section.clone());
    ms.seen(seen);
    let after = seen.iter().map(|r| r.seq).max();
    let mut tail = Tail::new(&journal).after_seq(after);
    let http = crate::clients::http::HttpClient::new(false);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut failing: Option<usize> = None;
        loop {
            every.tick().await;
            let Ok(records) = tail.poll() else { continue };
            for m in records.iter().flat_map(|r| ms.next(r)) {
                if lock.check().is_err() {
                    continue;
                }
                let spec = crate::clients::http::RequestSpec {
                    method: "POST".into(),
                    url: notify.url.clone(),
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: Some(payload(notify.format, &plan, &m)),
                };
                let result = match http.send(&spec, notify.timeout).await {
                    Ok(resp) if (200..300).contains(&resp.status) => Ok(()),
                    Ok(resp) => Err(format!("HTTP {}", resp.status)),
                    Err(e) => Err(e.to_string()),
                };
                match (result, &mut failing) {
                    (Ok(()), Some(n)) => {
                        log::info!(target: "notify", "the webhook works again ({n} message(s) were not delivered)");
                        failing = None;
                    }
                    (Ok(()), None) => log::debug!(target: "notify", "posted: {}", m.kind),
                    (Err(e), None) => {
                        log::warn!(target: "notify", "{}", crate::redact::redact_string(format!(
                            "the {} message could not be posted ({e}); not retried — further failures are counted, not logged",
                            m.kind
                        )));
                        failing = Some(1);
                    }
                    (Err(_), Some(n)) => *n += 1,
                }
            }
        }
    });
}
