//! `notify.slack`, `notify.teams`, `notify.pagerduty` and `notify.opsgenie` (issue 16, item 4):
//! notifications that on-call tools understand, instead of a hand-written `http.request`.
//!
//! * One template language (`crate::plan::template`, the one `[notify]` uses) over the plan and
//!   the journal: `{plan}`, `{step}`, `{title}`, `{prod}`, `{dr}` (site labels), `{operator}`,
//!   `{elapsed}` (the RTO clock, from the declaration), `{rto}`, `{rpo}`, `{done}` / `{total}`
//!   (steps finished), `{failed}` (the steps whose last attempt failed, or `none`), `{link}`.
//! * Each body follows the service's documented format: Slack incoming webhook `{text, blocks}`,
//!   Teams workflow webhook (an Adaptive Card message), PagerDuty Events API v2, Opsgenie Alerts
//!   API. The simulator's sinks (`sim::notify`) check the same formats.
//! * PagerDuty's `dedup_key` and Opsgenie's `alias` are journaled (`evidence:notify`), so a later
//!   `resolve` / `close` step finds the same incident, `--resume` included ([`hand_off`]).
//! * Secrets (webhook URLs, routing keys, GenieKeys) are references only, registered with the
//!   redactor by the loader; a literal is refused.
//! * A failed notification is logged (stderr stream, journaled) and, unless `required = true`,
//!   the step ends succeeded with a summary that starts `NOT SENT`: the checklist goes on and
//!   nobody reads "sent" for a message that was not. It posts, so it is mutating (keypress +
//!   confirmation, never retried by itself); monitor mode cannot run it.
//!
//! [`hand_off`]: super::registry::TypedKind::hand_off_records

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::http::RequestSpec;
use crate::journal::{Event, PreflightCheck, Record};
use crate::plan::load::{Built, PlanError, StepCx, suggest};
use crate::plan::template::fill;
use crate::plan::units::{fmt_duration, fmt_target};
use crate::plan::{KindAction, Plan, StepAction};

/// The keys `notify.slack` and `notify.teams` take.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookKeys {
    /// The incoming webhook URL, by reference: `${env:SLACK_WEBHOOK_URL}`.
    #[serde(default)]
    pub url: Option<String>,
    /// notify.*: the message, a template over the plan and journal (`{plan}`, `{prod}`, `{dr}`,
    /// `{elapsed}`, `{rto}`, `{done}`, `{failed}`, `{operator}`, `{link}`…).
    #[serde(default)]
    pub message: Option<String>,
    /// notify.*: a link for the people notified (runbook, incident channel, dashboard): a template.
    #[serde(default)]
    pub link: Option<String>,
    /// notify.*: a failed notification stops the checklist (default false: it is logged, the
    /// step ends "NOT SENT" and the checklist goes on).
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `notify.pagerduty` takes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyKeys {
    /// notify.pagerduty: the Events API v2 integration key, by reference: `${env:PD_ROUTING_KEY}`.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// notify.pagerduty: `trigger` (default), `acknowledge` or `resolve`.
    #[serde(default)]
    pub action: Option<String>,
    /// notify.*: the message, a template over the plan and journal (`{plan}`, `{prod}`, `{dr}`,
    /// `{elapsed}`, `{rto}`, `{done}`, `{failed}`, `{operator}`, `{link}`…).
    #[serde(default)]
    pub message: Option<String>,
    /// notify.*: a link for the people notified (runbook, incident channel, dashboard): a template.
    #[serde(default)]
    pub link: Option<String>,
    /// notify.pagerduty: `critical` (default), `error`, `warning` or `info`.
    #[serde(default)]
    #[schemars(extend("enum" = SEVERITIES))]
    pub severity: Option<String>,
    /// notify.pagerduty: the incident's dedup key (a template; default: PagerDuty's, kept in the
    /// journal for a later acknowledge/resolve).
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// The Events API URL (default PagerDuty's).
    #[serde(default)]
    pub api_url: Option<String>,
    /// notify.*: a failed notification stops the checklist (default false: it is logged, the
    /// step ends "NOT SENT" and the checklist goes on).
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `notify.opsgenie` takes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieKeys {
    /// notify.opsgenie: the API integration key (sent as `GenieKey …`), by reference:
    /// `${env:OPSGENIE_API_KEY}`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// notify.opsgenie: `create` (default) or `close`.
    #[serde(default)]
    pub action: Option<String>,
    /// notify.*: the message, a template over the plan and journal (`{plan}`, `{prod}`, `{dr}`,
    /// `{elapsed}`, `{rto}`, `{done}`, `{failed}`, `{operator}`, `{link}`…).
    #[serde(default)]
    pub message: Option<String>,
    /// notify.*: a link for the people notified (runbook, incident channel, dashboard): a template.
    #[serde(default)]
    pub link: Option<String>,
    /// notify.opsgenie: `P1` (default) to `P5`.
    #[serde(default)]
    #[schemars(extend("enum" = PRIORITIES))]
    pub priority: Option<String>,
    /// notify.opsgenie: the alert's alias, its dedup key (a template; default `drcockpit-{plan}`
    /// slugged; a close without one uses the alias the journal kept).
    #[serde(default)]
    pub alias: Option<String>,
    /// The Alert API base URL (default Opsgenie's; EU accounts: `https://api.eu.opsgenie.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// notify.*: a failed notification stops the checklist (default false: it is logged, the
    /// step ends "NOT SENT" and the checklist goes on).
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// Every notify key, what the builder reads (each kind's keys convert into it).
#[derive(Debug, Default)]
pub struct NotifyKeys {
    pub url: Option<String>,
    pub routing_key: Option<String>,
    pub api_key: Option<String>,
    pub action: Option<String>,
    pub message: Option<String>,
    pub link: Option<String>,
    pub severity: Option<String>,
    pub priority: Option<String>,
    pub dedup_key: Option<String>,
    pub alias: Option<String>,
    pub api_url: Option<String>,
    pub required: Option<bool>,
    pub timeout: Option<String>,
}

impl From<WebhookKeys> for NotifyKeys {
    fn from(k: WebhookKeys) -> Self {
        let WebhookKeys {
            url,
            message,
            link,
            required,
            timeout,
        } = k;
        NotifyKeys {
            url,
            message,
            link,
            required,
            timeout,
            ..Default::default()
        }
    }
}

impl From<PagerDutyKeys> for NotifyKeys {
    fn from(k: PagerDutyKeys) -> Self {
        let PagerDutyKeys {
            routing_key,
            action,
            message,
            link,
            severity,
            dedup_key,
            api_url,
            required,
            timeout,
        } = k;
        NotifyKeys {
            routing_key,
            action,
            message,
            link,
            severity,
            dedup_key,
            api_url,
            required,
            timeout,
            ..Default::default()
        }
    }
}

impl From<OpsgenieKeys> for NotifyKeys {
    fn from(k: OpsgenieKeys) -> Self {
        let OpsgenieKeys {
            api_key,
            action,
            message,
            link,
            priority,
            alias,
            api_url,
            required,
            timeout,
        } = k;
        NotifyKeys {
            api_key,
            action,
            message,
            link,
            priority,
            alias,
            api_url,
            required,
            timeout,
            ..Default::default()
        }
    }
}

/// PagerDuty Events API v2 endpoint (public docs: developer.pagerduty.com, "Send an Alert Event").
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Opsgenie API base (public docs: docs.opsgenie.com "Alert API"; EU accounts use
/// `https://api.eu.opsgenie.com`, set through `api_url`).
pub const OPSGENIE_URL: &str = "https://api.opsgenie.com";

pub const PAGERDUTY_ACTIONS: &[&str] = &["trigger", "acknowledge", "resolve"];
pub const OPSGENIE_ACTIONS: &[&str] = &["create", "close"];
pub const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];
pub const PRIORITIES: &[&str] = &["P1", "P2", "P3", "P4", "P5"];

/// The journal stream the dedup keys travel on.
pub const EVIDENCE_STREAM: &str = Stream::NotifyEvidence.as_str();

pub const DEFAULT_MESSAGE: &str = "{plan}: {title} — {elapsed} of RTO {rto}, {done}/{total} steps done, failed: {failed} ({operator})";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Slack,
    Teams,
    PagerDuty,
    Opsgenie,
}

impl Service {
    fn of(kind: &str) -> Option<Service> {
        Some(match kind {
            "notify.slack" => Service::Slack,
            "notify.teams" => Service::Teams,
            "notify.pagerduty" => Service::PagerDuty,
            "notify.opsgenie" => Service::Opsgenie,
            _ => return None,
        })
    }
    pub fn kind(self) -> &'static str {
        match self {
            Service::Slack => "notify.slack",
            Service::Teams => "notify.teams",
            Service::PagerDuty => "notify.pagerduty",
            Service::Opsgenie => "notify.opsgenie",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Service::Slack => "slack",
            Service::Teams => "teams",
            Service::PagerDuty => "pagerduty",
            Service::Opsgenie => "opsgenie",
        }
    }
}

/// What the journal says so far, for the template (filled in by the hand-off before a run).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub operator: Option<String>,
    pub clock_from: Option<DateTime<Utc>>,
    pub done: BTreeSet<String>,
    pub failed: BTreeSet<String>,
    /// The last dedup key / alias an earlier step of the same service journaled.
    pub handed_key: Option<String>,
}

/// What a `notify.*` step was built into.
#[derive(Debug, Clone)]
pub struct NotifySpec {
    pub service: Service,
    /// `post` (Slack, Teams), a PagerDuty event action, or an Opsgenie `create` / `close`.
    pub action: String,
    /// The webhook URL (Slack, Teams) or the API endpoint / base (PagerDuty, Opsgenie).
    pub url: String,
    /// The routing key or GenieKey.
    pub key: Option<String>,
    pub message: String,
    pub link: Option<String>,
    pub severity: String,
    pub priority: String,
    /// The dedup key (PagerDuty) or alias (Opsgenie) template the plan sets.
    pub dedup: Option<String>,
    pub required: bool,
    pub timeout: Duration,
    pub step_id: String,
    pub title: String,
    /// The sites' labels (for review mode, which has no plan at hand).
    pub sites: [String; 2],
    pub facts: Facts,
}

/// A reference-only secret key: a literal credential in the plan is refused.
fn secret_ref(s: &mut StepCx<'_, '_, '_>, key: &'static str, v: &str) -> Result<String, PlanError> {
    if !crate::plan::refs::has_reference(v) {
        return Err(s.error(
            key,
            &format!("`{key}` is a credential: give it by reference, e.g. `${{env:NAME}}`, never written in the plan"),
            vec![],
            None,
        ));
    }
    s.secret(key, v)
}

fn one_of(
    s: &StepCx<'_, '_, '_>,
    key: &'static str,
    v: Option<&str>,
    allowed: &[&str],
) -> Result<String, PlanError> {
    let v = v.unwrap_or(allowed[0]).trim();
    if allowed.contains(&v) {
        return Ok(v.to_string());
    }
    Err(s.error(
        key,
        &format!("unknown {key} `{v}`"),
        allowed.iter().map(|a| a.to_string()).collect(),
        suggest(v, allowed.iter().copied()).map(str::to_string),
    ))
}

/// A template key: references are not resolved (the template is shown in review mode).
fn template(
    s: &StepCx<'_, '_, '_>,
    key: &'static str,
    v: Option<&String>,
) -> Result<Option<String>, PlanError> {
    v.map(|t| s.lit(key, t)).transpose()
}

/// `notify.*`, with the keys `K` of its service (`notify::WEBHOOK`, `PAGERDUTY`, `OPSGENIE`).
pub struct Notify<K>(PhantomData<fn() -> K>);

/// `notify.slack` and `notify.teams`.
pub const WEBHOOK: Notify<WebhookKeys> = Notify(PhantomData);
/// `notify.pagerduty`.
pub const PAGERDUTY: Notify<PagerDutyKeys> = Notify(PhantomData);
/// `notify.opsgenie`.
pub const OPSGENIE: Notify<OpsgenieKeys> = Notify(PhantomData);

impl<K> TypedKind for Notify<K>
where
    K: Into<NotifyKeys> + DeserializeOwned + JsonSchema + Send + 'static,
{
    type Spec = K;
    type Action = NotifySpec;
    fn build(&self, keys: K, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let Some(service) = Service::of(s.kind()) else {
            return Err(s.error("kind", "not a notify.* kind", vec![], None));
        };
        let raw: NotifyKeys = keys.into();
        let title = s.raw().title.clone();
        let (action, url, key) = match service {
            Service::Slack | Service::Teams => {
                let Some(u) = raw.url.as_deref() else {
                    return Err(s.missing("url", "url = \"${env:SLACK_WEBHOOK_URL}\""));
                };
                if !crate::plan::refs::has_reference(u) {
                    return Err(s.error(
                        "url",
                        "a webhook URL is a credential (whoever has it can post): give it by reference, e.g. `${env:SLACK_WEBHOOK_URL}`",
                        vec![],
                        None,
                    ));
                }
                ("post".to_string(), s.url(Some(u))?, None)
            }
            Service::PagerDuty => {
                let action = one_of(s, "action", raw.action.as_deref(), PAGERDUTY_ACTIONS)?;
                let Some(k) = raw.routing_key.as_deref() else {
                    return Err(s.missing("routing_key", "routing_key = \"${env:PD_ROUTING_KEY}\""));
                };
                let key = secret_ref(s, "routing_key", k)?;
                let url = match raw.api_url.as_deref() {
                    Some(u) => s.secret("api_url", u)?,
                    None => PAGERDUTY_URL.to_string(),
                };
                (action, url, Some(key))
            }
            Service::Opsgenie => {
                let action = one_of(s, "action", raw.action.as_deref(), OPSGENIE_ACTIONS)?;
                let Some(k) = raw.api_key.as_deref() else {
                    return Err(s.missing("api_key", "api_key = \"${env:OPSGENIE_API_KEY}\""));
                };
                let key = secret_ref(s, "api_key", k)?;
                let url = match raw.api_url.as_deref() {
                    Some(u) => s.secret("api_url", u)?,
                    None => OPSGENIE_URL.to_string(),
                };
                (action, url.trim_end_matches('/').to_string(), Some(key))
            }
        };
        let severity = one_of(s, "severity", raw.severity.as_deref(), SEVERITIES)?;
        let priority = one_of(s, "priority", raw.priority.as_deref(), PRIORITIES)?;
        let message = template(s, "message", raw.message.as_ref())?
            .unwrap_or_else(|| DEFAULT_MESSAGE.to_string());
        let link = template(s, "link", raw.link.as_ref())?;
        let dedup = match service {
            Service::PagerDuty => template(s, "dedup_key", raw.dedup_key.as_ref())?,
            Service::Opsgenie => template(s, "alias", raw.alias.as_ref())?,
            _ => None,
        };
        let timeout = s
            .duration("timeout", &raw.timeout)?
            .unwrap_or(Duration::from_secs(10));
        let timeout = s.positive("timeout", timeout)?;
        let spec = NotifySpec {
            service,
            action,
            url,
            key,
            message,
            link,
            severity,
            priority,
            dedup,
            required: raw.required.unwrap_or(false),
            timeout,
            step_id: s.id().to_string(),
            title,
            sites: [s.sites()[0].label.clone(), s.sites()[1].label.clone()],
            facts: Facts::default(),
        };
        Ok(Built {
            action: StepAction::Kind(KindAction::new(service.kind(), spec)),
            // The step's overall timeout: the request's plus a margin.
            timeout: Some(timeout + Duration::from_secs(5)),
        })
    }

    fn describe(&self, n: &NotifySpec) -> Vec<String> {
        // Review mode has no journal facts yet: the template shows what the plan knows, and a
        // follow-up names where its key will come from.
        let plan_less = describe_values(n);
        let mut n = n.clone();
        if n.facts.handed_key.is_none() {
            n.facts.handed_key = Some(format!(
                "{{the key the last sent {} journaled}}",
                if n.service == Service::Opsgenie {
                    "create"
                } else {
                    "trigger"
                }
            ));
        }
        let n = &n;
        let mut v = Vec::new();
        match request(n, &plan_less) {
            Ok(r) => {
                v.push(format!("{} {}", r.method, crate::redact::url(&r.url)));
                for (k, val) in &r.headers {
                    v.push(format!("  {k}: {val}"));
                }
                if let Some(b) = &r.body {
                    v.push("  body:".into());
                    let pretty = serde_json::from_str::<Value>(b)
                        .and_then(|j| serde_json::to_string_pretty(&j))
                        .unwrap_or_else(|_| b.clone());
                    v.extend(pretty.lines().map(|l| format!("    {l}")));
                }
            }
            Err(e) => v.push(format!("{} {}: {e}", n.service.kind(), n.action)),
        }
        v.push("{placeholders} are filled from the plan and the journal when it runs".into());
        v.push(if n.required {
            "required: a failure stops the checklist".into()
        } else {
            "not required: a failure is logged and the checklist goes on (NOT SENT)".into()
        });
        v
    }

    fn default_timeout(&self, n: &NotifySpec) -> Duration {
        n.timeout + Duration::from_secs(5)
    }

    fn preflight<'a>(
        &'a self,
        n: &'a NotifySpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async move { vec![super::http::preflight_url(&ctx.http, &n.url).await] })
    }

    fn run<'a>(
        &'a self,
        n: &'a NotifySpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(n, ctx))
    }

    fn hand_off_records(&self, action: &mut StepAction, records: &[Record]) {
        let Some(n) = spec_of(action) else {
            return;
        };
        let mut n = n.clone();
        n.facts = facts(&n, records);
        *action = StepAction::Kind(KindAction::new(n.service.kind(), n));
    }
}

pub fn spec_of(action: &StepAction) -> Option<&NotifySpec> {
    match action {
        StepAction::Kind(k) => k.spec::<NotifySpec>(),
        _ => None,
    }
}

/// What the journal says: who drives, the clock, steps done and failed, and the last dedup key
/// or alias an earlier step of the same service journaled (`evidence:notify`).
pub fn facts(n: &NotifySpec, records: &[Record]) -> Facts {
    let mut f = Facts::default();
    let mut people = crate::journal::people::People::default();
    for r in records {
        crate::journal::people::fold(&mut people, r);
        match &r.event {
            Event::SessionStarted { .. } => {
                f.clock_from.get_or_insert(r.at);
            }
            Event::Declared { .. } => f.clock_from = Some(r.at),
            Event::StepFinished { step, ok: true, .. }
            | Event::Approved { step, .. }
            | Event::ManualDone { step, .. }
            | Event::MarkedDone { step, .. }
            | Event::Skipped { step, .. } => {
                f.failed.remove(step);
                f.done.insert(step.clone());
            }
            Event::StepFinished { step, .. } => {
                f.done.remove(step);
                f.failed.insert(step.clone());
            }
            Event::Evidence { what, detail, .. } if what == "notify" => {
                if detail.get("service").and_then(Value::as_str) == Some(n.service.name())
                    && detail.get("sent").and_then(Value::as_bool) == Some(true)
                    && let Some(k) = detail.get("key").and_then(Value::as_str)
                {
                    f.handed_key = Some(k.to_string());
                }
            }
            _ => {}
        }
        f.operator = people
            .current()
            .map(|d| d.who())
            .or_else(|| Some(r.operator.clone()));
    }
    f
}

/// The template's values for this step now.
pub fn values(n: &NotifySpec, plan: &Plan, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
    let f = &n.facts;
    let elapsed = f
        .clock_from
        .map(|t| fmt_duration(Duration::from_secs((now - t).num_seconds().max(0) as u64)))
        .unwrap_or_else(|| "—".into());
    let failed = if f.failed.is_empty() {
        "none".to_string()
    } else {
        f.failed
            .iter()
            .map(|id| {
                plan.step_index(id)
                    .map_or(id.clone(), |i| plan.steps[i].title.clone())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut v = vec![
        ("plan", plan.name.clone()),
        ("step", n.step_id.clone()),
        ("title", n.title.clone()),
        ("prod", plan.sites[0].label.clone()),
        ("dr", plan.sites[1].label.clone()),
        (
            "operator",
            f.operator.clone().unwrap_or_else(|| "(operator)".into()),
        ),
        ("elapsed", elapsed),
        ("rto", fmt_target(plan.rto)),
        ("rpo", fmt_target(plan.rpo)),
        ("done", f.done.len().to_string()),
        ("total", plan.steps.len().to_string()),
        ("failed", failed),
    ];
    // The link is itself a template (it may name the plan); filled first, then offered.
    let link = n.link.as_deref().map(|l| fill(l, &v)).unwrap_or_default();
    v.push(("link", link));
    v
}

/// Review mode: the values known before the run (`describe` has no plan or journal at hand:
/// the placeholders filled at run time stay visible as written, which is what the operator
/// reviews).
fn describe_values(n: &NotifySpec) -> Vec<(&'static str, String)> {
    vec![
        ("step", n.step_id.clone()),
        ("title", n.title.clone()),
        ("prod", n.sites[0].clone()),
        ("dr", n.sites[1].clone()),
        ("plan", "{plan}".into()),
        ("operator", "{operator}".into()),
    ]
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The dedup key (PagerDuty) or alias (Opsgenie) this step uses: the plan's, else (for a
/// follow-up action) the one the journal kept, else (Opsgenie create) `drcockpit-<plan>`.
fn dedup_key(n: &NotifySpec, values: &[(&str, String)]) -> Option<String> {
    if let Some(t) = &n.dedup {
        return Some(fill(t, values));
    }
    let follow_up = matches!(n.action.as_str(), "acknowledge" | "resolve" | "close");
    if follow_up {
        return n.facts.handed_key.clone();
    }
    match n.service {
        Service::Opsgenie => {
            let plan = values
                .iter()
                .find(|(k, _)| *k == "plan")
                .map_or("", |(_, v)| v.as_str());
            // Review mode shows the placeholder rather than slugging it.
            if plan.starts_with('{') {
                Some(format!("drcockpit-{plan}"))
            } else {
                Some(format!("drcockpit-{}", slug(plan)))
            }
        }
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The exact request a step sends (secrets included: redact before showing it).
pub fn request(n: &NotifySpec, values: &[(&str, String)]) -> Result<RequestSpec, String> {
    let text = fill(&n.message, values);
    let link = values
        .iter()
        .find(|(k, _)| *k == "link")
        .map(|(_, v)| v.clone())
        .filter(|l| !l.is_empty());
    let plan = values
        .iter()
        .find(|(k, _)| *k == "plan")
        .map_or(String::new(), |(_, v)| v.clone());
    let details: serde_json::Map<String, Value> = values
        .iter()
        .filter(|(k, _)| {
            matches!(
                *k,
                "plan"
                    | "prod"
                    | "dr"
                    | "elapsed"
                    | "rto"
                    | "done"
                    | "total"
                    | "failed"
                    | "operator"
            )
        })
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    let m = Parts {
        text,
        link,
        plan,
        details,
    };
    Ok(match n.service {
        // Slack incoming webhook: `text` (the fallback and notification text) plus Block Kit
        // `blocks` (public docs: api.slack.com/messaging/webhooks).
        Service::Slack => {
            let mut blocks = vec![json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": truncate(&m.text, 3000) },
            })];
            if let Some(l) = &m.link {
                blocks.push(json!({
                    "type": "context",
                    "elements": [{ "type": "mrkdwn", "text": format!("<{l}|{}>", if m.plan.is_empty() { "link" } else { m.plan.as_str() }) }],
                }));
            }
            json_post(
                n.url.clone(),
                json!({ "text": m.text, "blocks": blocks }),
                vec![],
            )
        }
        // Teams workflow webhook ("When a Teams webhook request is received"): `type` must be
        // "message" and `attachments` hold Adaptive Cards (`contentType`
        // application/vnd.microsoft.card.adaptive, the card in `content`), as in Microsoft's
        // "Send Adaptive Cards using an Incoming Webhook" example, whose card version (1.2) this
        // card keeps: it uses only TextBlock and Action.OpenUrl (verified:
        // tests/fixtures/notify/teams_workflow_adaptive_card.json).
        Service::Teams => {
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.2",
                "body": [
                    { "type": "TextBlock", "text": m.plan, "weight": "Bolder", "size": "Medium", "wrap": true },
                    { "type": "TextBlock", "text": m.text, "wrap": true },
                ],
            });
            if let Some(l) = &m.link {
                card["actions"] = json!([{ "type": "Action.OpenUrl", "title": "Open", "url": l }]);
            }
            json_post(
                n.url.clone(),
                json!({
                    "type": "message",
                    "attachments": [{
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "contentUrl": null,
                        "content": card,
                    }],
                }),
                vec![],
            )
        }
        Service::PagerDuty => pagerduty_request(n, values, &m)?,
        Service::Opsgenie => opsgenie_request(n, values, &m)?,
    })
}

/// What every service's body is made of.
struct Parts {
    text: String,
    link: Option<String>,
    plan: String,
    details: serde_json::Map<String, Value>,
}

fn json_post(url: String, body: Value, extra: Vec<(String, String)>) -> RequestSpec {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    headers.extend(extra);
    RequestSpec {
        method: "POST".into(),
        url,
        headers,
        body: Some(body.to_string()),
    }
}

/// PagerDuty Events API v2 (public docs: developer.pagerduty.com "Events API v2 Overview" and
/// "Send an Alert Event"): trigger needs payload.summary (≤ 1024 chars), source and severity;
/// acknowledge / resolve need the dedup_key only.
fn pagerduty_request(
    n: &NotifySpec,
    values: &[(&str, String)],
    m: &Parts,
) -> Result<RequestSpec, String> {
    let key = n.key.clone().unwrap_or_default();
    let dedup = dedup_key(n, values);
    let mut body = json!({ "routing_key": key, "event_action": n.action });
    if n.action == "trigger" {
        body["payload"] = json!({
            "summary": truncate(&m.text, 1024),
            "source": "drcockpit",
            "severity": n.severity,
            "component": m.plan,
            "custom_details": m.details,
        });
        body["client"] = json!("drcockpit");
        if let Some(l) = &m.link {
            body["client_url"] = json!(l);
            body["links"] = json!([{ "href": l, "text": m.plan }]);
        }
        if let Some(d) = dedup {
            body["dedup_key"] = json!(d);
        }
    } else {
        let Some(d) = dedup else {
            return Err(format!(
                "no dedup_key to {}: no earlier notify.pagerduty trigger in the journal, and the step sets none",
                n.action
            ));
        };
        body["dedup_key"] = json!(d);
    }
    Ok(json_post(n.url.clone(), body, vec![]))
}

/// Opsgenie Alert API (public docs: docs.opsgenie.com "Alert API"): create is `POST /v2/alerts`
/// (message ≤ 130 chars, alias ≤ 512, description ≤ 15000, priority P1–P5); close is
/// `POST /v2/alerts/{alias}/close?identifierType=alias`; both with `Authorization: GenieKey`.
fn opsgenie_request(
    n: &NotifySpec,
    values: &[(&str, String)],
    m: &Parts,
) -> Result<RequestSpec, String> {
    let auth = vec![(
        "Authorization".to_string(),
        format!("GenieKey {}", n.key.clone().unwrap_or_default()),
    )];
    let Some(alias) = dedup_key(n, values) else {
        return Err(
            "no alias to close: no earlier notify.opsgenie create in the journal, and the step sets none".into(),
        );
    };
    let operator = values
        .iter()
        .find(|(k, _)| *k == "operator")
        .map_or(String::new(), |(_, v)| v.clone());
    Ok(if n.action == "close" {
        json_post(
            format!(
                "{}/v2/alerts/{}/close?identifierType=alias",
                n.url,
                crate::redact::percent_encode(&alias)
            ),
            json!({ "source": "drcockpit", "user": operator, "note": truncate(&m.text, 25000) }),
            auth,
        )
    } else {
        let mut description = m.text.clone();
        if let Some(l) = &m.link {
            description.push_str(&format!("\n{l}"));
        }
        json_post(
            format!("{}/v2/alerts", n.url),
            json!({
                "message": truncate(&m.text, 130),
                "alias": truncate(&alias, 512),
                "description": truncate(&description, 15000),
                "priority": n.priority,
                "source": "drcockpit",
                "user": operator,
                "details": m.details,
            }),
            auth,
        )
    })
}

/// Did the service take it? `Ok(key)`: the dedup key / alias to journal (if any).
fn accepted(
    n: &NotifySpec,
    sent_key: Option<String>,
    status: u16,
    body: &str,
) -> Result<Option<String>, String> {
    let excerpt: String = body.trim().chars().take(300).collect();
    let refused = || format!("{} answered {status}: {excerpt}", n.service.name());
    match n.service {
        // Slack answers 200 with the plain text `ok`; anything else is an error string.
        Service::Slack if status == 200 && body.trim() == "ok" => Ok(None),
        // Teams workflows answer 202 Accepted (200 from older connectors).
        Service::Teams if status == 202 || status == 200 => Ok(None),
        Service::PagerDuty if status == 202 => {
            let v: Value = serde_json::from_str(body).map_err(|_| refused())?;
            if v.get("status").and_then(Value::as_str) != Some("success") {
                return Err(refused());
            }
            Ok(v.get("dedup_key")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(sent_key))
        }
        Service::Opsgenie if status == 202 => Ok(sent_key),
        _ => Err(refused()),
    }
}

async fn run(n: &NotifySpec, ctx: &StepContext) -> Result<String, String> {
    let values = values(n, &ctx.plan, Utc::now());
    let outcome = send(n, ctx, &values).await;
    let what = format!("{} {}", n.service.name(), n.action);
    match outcome {
        Ok(key) => {
            let mut ev = json!({ "service": n.service.name(), "action": n.action, "sent": true });
            if let Some(k) = &key {
                ev["key"] = json!(k);
            }
            ctx.emit(Stream::NotifyEvidence, ev.to_string());
            Ok(match key {
                Some(k) => format!("sent: {what} (key {k})"),
                None => format!("sent: {what}"),
            })
        }
        Err(why) => {
            ctx.emit(Stream::Stderr, format!("{what} NOT SENT: {why}"));
            ctx.emit(
                Stream::NotifyEvidence,
                json!({ "service": n.service.name(), "action": n.action, "sent": false, "reason": why })
                    .to_string(),
            );
            if n.required {
                Err(format!("{what} NOT SENT (required): {why}"))
            } else {
                log::warn!(target: "notify", "{}", crate::redact::redact_string(format!(
                    "step {}: {what} NOT SENT ({why}); not required, the checklist goes on",
                    n.step_id
                )));
                Ok(format!(
                    "NOT SENT (not required, the checklist goes on): {what}: {why}"
                ))
            }
        }
    }
}

/// Post once (never retried: a second post is a second page) and read the answer.
async fn send(
    n: &NotifySpec,
    ctx: &StepContext,
    values: &[(&str, String)],
) -> Result<Option<String>, String> {
    let spec = request(n, values)?;
    let sent_key = dedup_key(n, values);
    ctx.info(format!("{} {}", spec.method, crate::redact::url(&spec.url)));
    let resp = ctx
        .http
        .send(&spec, n.timeout)
        .await
        .map_err(|e| e.to_string())?;
    let key = accepted(n, sent_key, resp.status, &resp.body)?;
    ctx.info(format!(
        "→ {} in {} ms: {}",
        resp.status,
        resp.elapsed.as_millis(),
        resp.body.trim().chars().take(200).collect::<String>()
    ));
    Ok(key)
}
