//! `qovery.deploy`, `qovery.redeploy`, `qovery.stop`, `qovery.deploy_services` and
//! `qovery.set_variables`.
//!
//! A deployment step triggers the action once (mutations are never retried automatically; a 409
//! is reported as "operation in progress") and then follows the deployment like the official
//! CLI: first poll after 3 s, then every 3 s, reading `environment.last_deployment_state` from
//! `GET /environment/{id}/statuses`; success on the action's target state, failure on any
//! `*ERROR`. Every environment and service state change is streamed into the log. The overall
//! timeout is the step's (`timeout_of`).
//!
//! The client is always built from `ctx.http`, so the session's read-only transport applies to
//! every Qovery call (review and monitor modes refuse every mutation before it leaves).

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::qovery::{
    Container, DeployAllRequest, DeployContainer, EnvironmentStatuses, EnvironmentVariable,
    QoveryClient, QoveryError, QoverySettings, Secret, State, VariableRequest, VariableScope,
    encode, follow,
};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::raw::RawStep;
use crate::plan::{QoveryConfig, QoveryOp, QoveryStep, QoveryVariable, Site, SiteId, StepAction};

/// The official CLI's poll cadence.
pub const DEFAULT_POLL: Duration = Duration::from_secs(3);

mod build;
mod deploy;
pub mod drills;
mod variables;

pub use build::*;
use deploy::run_action;
pub use variables::{is_sensitive, masked, shown_plain};
use variables::{preflight_variables, run_set_variables};

/// Is the action one that follows a deployment?
fn target_states(op: &QoveryOp) -> &'static [State] {
    match op {
        QoveryOp::Stop => &[State::Stopped],
        _ => &[State::Deployed, State::Restarted],
    }
}

fn where_(q: &QoveryStep) -> String {
    if let Some(n) = &q.environment_name {
        return format!(
            "the environment named {n:?}, looked up in the plan's project when the step runs (its id is not known before: an earlier step may create it)"
        );
    }
    match q.site {
        Some(s) => format!("the {} environment {}", s.upper(), q.environment),
        None => format!("environment {}", q.environment),
    }
}

/// The `Authorization` header review mode shows (the token itself is never shown).
fn shown_auth(q: &QoveryStep) -> String {
    use crate::clients::qovery::AuthScheme;
    if crate::clients::qovery::env_overrides_enabled() {
        for var in ["QOVERY_CLI_ACCESS_TOKEN", "Q_CLI_ACCESS_TOKEN"] {
            if let Ok(t) = std::env::var(var)
                && !t.trim().is_empty()
            {
                return format!("{} ‹token from {var}›", AuthScheme::detect(&t).as_str());
            }
        }
    }
    format!("{} ‹token from the plan›", q.auth_scheme)
}

/// The base URL review mode shows: the plan's, unless `QOVERY_API_URL` overrides it (then
/// `true`).
fn shown_api_url(q: &QoveryStep) -> (String, bool) {
    if crate::clients::qovery::env_overrides_enabled()
        && let Ok(u) = std::env::var("QOVERY_API_URL")
        && !u.trim().is_empty()
    {
        return (u.trim().trim_end_matches('/').to_string(), true);
    }
    (q.api_url.clone(), false)
}

/// Exactly what the step would send (review mode and the detail pane). Secret values are hidden.
pub fn describe(q: &QoveryStep) -> Vec<String> {
    let (base, from_env) = shown_api_url(q);
    let mut env = encode(&q.environment);
    let mut v = vec![
        format!("on {}", where_(q)),
        format!("every request: Authorization: {}", shown_auth(q)),
    ];
    if let Some(n) = &q.environment_name {
        v.push(format!(
            "GET {base}/environment/{env} (the plan's project), then GET {base}/project/‹project›/environment (resolve {n:?} to its id; refuses, sending nothing, if no environment or several have that name)"
        ));
        env = format!("‹id of {n}›");
    }
    if from_env {
        v.push(format!(
            "API {base} (from QOVERY_API_URL, overriding the plan's {})",
            q.api_url
        ));
    }
    if q.wait_if_busy {
        v.push("if Qovery answers 409 (operation in progress): wait until the environment is idle, then send again".into());
    }
    let follow = |v: &mut Vec<String>, target: &str| {
        if q.wait {
            let every = crate::plan::units::fmt_duration(q.poll_interval);
            v.push(format!(
                "then GET {base}/environment/{env}/statuses after {every}, then every {every}, until {target} (fails on *_ERROR), streaming every environment and service state; over only when state, last_deployment_state and every service agree for this deployment request"
            ));
        } else {
            v.push("not followed (wait = false)".into());
        }
    };
    match &q.op {
        QoveryOp::Deploy => {
            v.push(format!("POST {base}/environment/{env}/deploy"));
            follow(&mut v, "DEPLOYED");
        }
        QoveryOp::Redeploy => {
            v.push(format!("POST {base}/environment/{env}/redeploy"));
            follow(&mut v, "DEPLOYED");
        }
        QoveryOp::Stop => {
            v.push(format!("POST {base}/environment/{env}/stop"));
            follow(&mut v, "STOPPED");
        }
        QoveryOp::DeployServices { services, tag } => {
            v.push(format!(
                "GET {base}/environment/{env}/container (resolve {} to container ids)",
                services.join(", ")
            ));
            let containers: Vec<String> = services
                .iter()
                .map(|s| match tag {
                    Some(t) => format!("{{\"id\":\"‹id of {s}›\",\"image_tag\":{t:?}}}"),
                    None => format!("{{\"id\":\"‹id of {s}›\"}}"),
                })
                .collect();
            v.push(format!("POST {base}/environment/{env}/service/deploy"));
            v.push(format!(
                "  body: {{\"containers\":[{}]}}",
                containers.join(",")
            ));
            follow(&mut v, "DEPLOYED");
        }
        QoveryOp::SetVariables {
            variables,
            create_missing,
        } => {
            v.push(format!(
                "GET {base}/environment/{env}/environmentVariable and …/secret (current values)"
            ));
            for var in variables {
                let (path, shown) = if var.secret {
                    ("secret", "‹secret value hidden›".to_string())
                } else {
                    (
                        "environmentVariable",
                        shown_plain(&var.key, &var.value, None),
                    )
                };
                v.push(format!(
                    "PUT {base}/environment/{env}/{path}/‹id of {}›  {{\"key\":{:?},\"value\":{shown}}}{}",
                    var.key,
                    var.key,
                    if *create_missing {
                        format!("  (POST {base}/environment/{env}/{path} if it does not exist)")
                    } else {
                        "  (it must exist)".into()
                    }
                ));
            }
            v.push("then read every value back (secrets: presence only; their values are never returned)".into());
            v.push("variables take effect at the next deployment of the services".into());
        }
    }
    v
}

/// The overall default timeout of a Qovery step.
pub fn default_timeout(q: &QoveryStep) -> Duration {
    match q.op {
        QoveryOp::SetVariables { .. } => Duration::from_secs(120),
        _ if !q.wait => Duration::from_secs(60),
        _ => Duration::from_secs(30 * 60),
    }
}

fn client(ctx: &StepContext) -> Result<QoveryClient, String> {
    match &ctx.plan.qovery {
        Some(cfg) => Ok(QoveryClient::from_plan(cfg, ctx.http.clone())),
        None => Err("the plan has no [qovery] section".into()),
    }
}

fn check(what: impl Into<String>, ok: Option<bool>, detail: impl Into<String>) -> PreflightCheck {
    PreflightCheck {
        what: what.into(),
        ok,
        detail: detail.into(),
    }
}

/// Preflight's look-up of `environment_name` (read-only): the step acting on the environment
/// found (`None` without `environment_name`), or `Err` (its check said why) when there is
/// nothing more to check.
async fn preflight_name(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    out: &mut Vec<PreflightCheck>,
) -> Result<Option<QoveryStep>, ()> {
    let Some(name) = &q.environment_name else {
        return Ok(None);
    };
    let what = format!("one environment is named {name}");
    match drills::find_by_name(c, &q.environment, name).await {
        Ok(Some(e)) => {
            out.push(check(what, Some(true), e.id.clone()));
            Ok(Some(acting_on(q, ctx, &e)))
        }
        // Not a failure before the run: an earlier step of the plan may create it.
        Ok(None) => {
            out.push(check(
                what,
                None,
                "none yet in the plan's project: the step fails unless an earlier step (qovery.clone_environment) creates it",
            ));
            Err(())
        }
        Err(e) => {
            out.push(check(what, Some(false), e));
            Err(())
        }
    }
}

/// Read-only checks: the token works, the environment exists and is idle, its cluster is
/// deployed, the services and the variables to edit exist (old → new, secrets hidden).
pub async fn preflight(q: &QoveryStep, ctx: &StepContext) -> Vec<PreflightCheck> {
    let c = match client(ctx) {
        Ok(c) => c,
        Err(e) => return vec![check("Qovery configured", Some(false), e)],
    };
    let mut out = Vec::new();
    let Ok(by_name) = preflight_name(q, ctx, &c, &mut out).await else {
        return out;
    };
    let q = by_name.as_ref().unwrap_or(q);
    let org = c.organization_id().to_string();
    match c.organization(&org).await {
        Ok(o) => out.push(check(
            "Qovery token accepted",
            Some(true),
            format!(
                "organization {} ({}) via {} auth at {}",
                o.name,
                o.id,
                c.scheme().as_str(),
                c.base_url()
            ),
        )),
        Err(e) => out.push(check("Qovery token accepted", Some(false), e.to_string())),
    }
    let env = match c.environment(&q.environment).await {
        Ok(e) => {
            out.push(check(
                format!("environment {} exists", q.environment),
                Some(true),
                format!(
                    "{} on cluster {}",
                    e.name,
                    e.cluster_name
                        .clone()
                        .unwrap_or_else(|| e.cluster_id.clone().unwrap_or_default())
                ),
            ));
            Some(e)
        }
        Err(e) => {
            out.push(check(
                format!("environment {} exists", q.environment),
                Some(false),
                e.to_string(),
            ));
            None
        }
    };
    if matches!(q.op, QoveryOp::SetVariables { .. }) {
        if env.is_some() {
            out.extend(preflight_variables(q, &c).await);
        }
        return out;
    }
    if env.is_some() {
        match c.environment_statuses(&q.environment).await {
            Ok(s) => {
                let st = &s.environment.state;
                let idle = st.is_terminal();
                out.push(check(
                    "environment is idle (terminal state)",
                    Some(idle),
                    if idle {
                        format!(
                            "state {st}, last deployment {}",
                            s.environment.last_deployment_state
                        )
                    } else {
                        format!("state {st}: an operation is running; Qovery would answer 409")
                    },
                ));
                if matches!(q.op, QoveryOp::Stop) && *st == State::Stopped {
                    out.push(check(
                        "environment is not already stopped",
                        Some(false),
                        "it is STOPPED; Qovery answers 409 to a stop",
                    ));
                }
            }
            Err(e) => out.push(check(
                "environment is idle (terminal state)",
                None,
                e.to_string(),
            )),
        }
    }
    let cluster = q
        .cluster
        .clone()
        .or_else(|| env.as_ref().and_then(|e| e.cluster_id.clone()));
    if let Some(cl) = cluster {
        match c.cluster_status(&org, &cl).await {
            Ok(s) => {
                let ok = s.is_deployed && s.status.is_running();
                out.push(check(
                    format!("cluster {cl} is deployed"),
                    Some(ok),
                    format!("status {}, is_deployed {}", s.status, s.is_deployed),
                ));
            }
            Err(e) => out.push(check(
                format!("cluster {cl} is deployed"),
                Some(false),
                e.to_string(),
            )),
        }
    }
    if let QoveryOp::DeployServices { services, tag } = &q.op
        && env.is_some()
    {
        match c.list_containers(&q.environment).await {
            Ok(list) => {
                for s in services {
                    match find_container(&list, s) {
                        Some(ct) => out.push(check(
                            format!("service {s} exists"),
                            Some(true),
                            format!(
                                "container {} {}:{}{}",
                                ct.id,
                                ct.image_name,
                                ct.tag,
                                tag.as_ref().map(|t| format!(" → {t}")).unwrap_or_default()
                            ),
                        )),
                        None => out.push(check(
                            format!("service {s} exists"),
                            Some(false),
                            format!(
                                "no container named {s}; the environment has: {}",
                                list.iter()
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )),
                    }
                }
            }
            Err(e) => out.push(check("services exist", None, e.to_string())),
        }
    }
    out
}

fn find_container<'a>(list: &'a [Container], s: &str) -> Option<&'a Container> {
    list.iter()
        .find(|c| c.name == s)
        .or_else(|| list.iter().find(|c| c.id == s))
}

/// The step acting on environment `e` (found by its `environment_name`). A name that is the
/// plan's prod or DR environment is not refused: deploying, redeploying or stopping prod or DR
/// is what these kinds do with `site`; `site` is set so every line says which it is.
fn acting_on(
    q: &QoveryStep,
    ctx: &StepContext,
    e: &crate::clients::qovery::Environment,
) -> QoveryStep {
    let mut r = q.clone();
    r.site = drills::protected_by(&ctx.plan.sites, &e.id);
    r.cluster = r
        .site
        .and_then(|s| ctx.plan.sites[s.index()].cluster.clone());
    r.environment = e.id.clone();
    r.environment_name = None;
    r
}

/// Run the step to completion.
pub async fn run(q: &QoveryStep, ctx: &StepContext) -> Result<String, String> {
    let c = client(ctx)?;
    ctx.info(format!(
        "Qovery at {} ({} auth, token from {})",
        c.base_url(),
        c.scheme().as_str(),
        c.settings().token_source
    ));
    let by_name;
    let q = match &q.environment_name {
        None => q,
        Some(name) => {
            let e = drills::named(&c, &q.environment, name, "nothing was sent").await?;
            by_name = acting_on(q, ctx, &e);
            ctx.info(format!(
                "environment_name {name:?} is {} on cluster {}{}",
                e.id,
                e.cluster_name.or(e.cluster_id).unwrap_or_default(),
                by_name
                    .site
                    .map(|s| format!(" (the plan's {} environment)", s.upper()))
                    .unwrap_or_default()
            ));
            &by_name
        }
    };
    match &q.op {
        QoveryOp::SetVariables { .. } => run_set_variables(q, ctx, &c).await,
        _ => run_action(q, ctx, &c).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The `qovery.*` kinds

/// `qovery.deploy`, `redeploy`, `stop`, `deploy_services`, `set_variables`, with the keys `K`
/// each takes (`ACTION`, `DEPLOY_SERVICES`, `SET_VARIABLES`).
pub struct Qovery<K>(PhantomData<fn() -> K>);

/// `qovery.deploy`, `qovery.redeploy`, `qovery.stop`.
pub const ACTION: Qovery<ActionKeys> = Qovery(PhantomData);
/// `qovery.deploy_services`.
pub const DEPLOY_SERVICES: Qovery<ServicesKeys> = Qovery(PhantomData);
/// `qovery.set_variables`.
pub const SET_VARIABLES: Qovery<VariablesKeys> = Qovery(PhantomData);

impl<K> TypedKind for Qovery<K>
where
    K: Into<QoveryKeys> + DeserializeOwned + JsonSchema + Send + 'static,
{
    type Spec = K;
    type Action = QoveryStep;
    fn action(a: &StepAction) -> Option<&QoveryStep> {
        match a {
            StepAction::Qovery(x) => Some(x),
            _ => None,
        }
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        // Variables: the reverse needs the other site's values, which the failover plan does
        // not hold (the skeleton says TODO).
        match step.get("kind").and_then(toml::Value::as_str) {
            Some("qovery.set_variables") => None,
            _ => super::reverse::swap_site(step).map(|t| vec![t]),
        }
    }
    fn build(&self, keys: K, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let keys: QoveryKeys = keys.into();
        let timeout = s.duration("timeout", &keys.timeout)?;
        let sites = s.sites().clone();
        let qovery = s.qovery().cloned();
        let raw = s.raw();
        let kind = s.kind().to_string();
        // Messages without the step's id: the error built from them below names the step once.
        let mut resolve = |key: &'static str, v: &str| s.resolve_quiet(key, v);
        let r = build_typed(
            &kind,
            raw,
            &keys,
            &mut BuildInput {
                sites: &sites,
                qovery: qovery.as_ref(),
                resolve: &mut resolve,
            },
        );
        match r {
            Ok(action) => Ok(Built { action, timeout }),
            Err(e) => Err(s.error(e.key, &e.message, vec![], None)),
        }
    }
    fn describe(&self, a: &QoveryStep) -> Vec<String> {
        describe(a)
    }
    fn default_timeout(&self, a: &QoveryStep) -> Duration {
        default_timeout(a)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a QoveryStep,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a QoveryStep,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(a, ctx))
    }
}
