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
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::registry::StepKind;
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

/// What [`build`] needs from the rest of the plan.
pub struct BuildInput<'a> {
    pub sites: &'a [Site; 2],
    pub qovery: Option<&'a QoveryConfig>,
    /// Resolves `${env:…}` / `${file:…}` / `${cmd:…}` references (and registers secrets with the
    /// redactor). Called with the key (`"variables"`, `"secrets"`, `"tag"` or `"environment"`)
    /// and the value as written. Pass `&mut |_, v| Ok(v.to_string())` if values are resolved.
    pub resolve: &'a mut dyn FnMut(&'static str, &str) -> Result<String, String>,
}

/// Every kind this module builds.
pub const KINDS: &[&str] = &[
    "qovery.deploy",
    "qovery.redeploy",
    "qovery.stop",
    "qovery.deploy_services",
    "qovery.set_variables",
];

/// The keys of `qovery.deploy`, `qovery.redeploy` and `qovery.stop` besides the loader's common
/// ones (`id`, `title`, `kind`, `description`, `requires`, `confirm`, `site`). `timeout` is the
/// step's overall timeout.
pub const ACTION_KEYS: &[&str] = &["environment", "wait", "wait_if_busy", "interval", "timeout"];
/// The keys of `qovery.deploy_services`.
pub const SERVICES_KEYS: &[&str] = &[
    "environment",
    "services",
    "tag",
    "wait",
    "wait_if_busy",
    "interval",
    "timeout",
];
/// The keys of `qovery.set_variables`.
pub const VARIABLES_KEYS: &[&str] = &[
    "environment",
    "variables",
    "secrets",
    "create_missing",
    "timeout",
];

/// The keys each kind takes.
pub const KIND_KEYS: &[(&str, &[&str])] = &[
    ("qovery.deploy", ACTION_KEYS),
    ("qovery.redeploy", ACTION_KEYS),
    ("qovery.stop", ACTION_KEYS),
    ("qovery.deploy_services", SERVICES_KEYS),
    ("qovery.set_variables", VARIABLES_KEYS),
];

/// A step that cannot be built: the key to point at (`kind` when it is about the step as a
/// whole) and what is wrong, without the `step \`id\`:` prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn berr(key: &'static str, message: impl Into<String>) -> BuildError {
    BuildError {
        key,
        message: message.into(),
    }
}

/// Build the action of a `qovery.*` step; errors are `step \`id\`: …` strings.
pub fn build(kind: &str, raw: &RawStep, input: &mut BuildInput<'_>) -> Result<StepAction, String> {
    build_keyed(kind, raw, input).map_err(|e| format!("step `{}`: {}", raw.id, e.message))
}

/// Build the action of a `qovery.*` step; errors name the key to point at.
pub fn build_keyed(
    kind: &str,
    raw: &RawStep,
    input: &mut BuildInput<'_>,
) -> Result<StepAction, BuildError> {
    let Some(q) = input.qovery else {
        return Err(berr(
            "kind",
            format!("{kind} needs a [qovery] section (token, organization) in the plan"),
        ));
    };
    if let Some(a) = &q.auth_scheme
        && crate::clients::qovery::AuthScheme::parse(a).is_none()
    {
        return Err(berr(
            "kind",
            format!("[qovery] auth = {a:?}: expected \"token\" (API tokens) or \"bearer\" (JWTs)"),
        ));
    }
    let site = match raw.site.as_deref() {
        None => None,
        Some("prod") => Some(SiteId::Prod),
        Some("dr") => Some(SiteId::Dr),
        Some(other) => {
            return Err(berr(
                "site",
                format!("site = {other:?}: expected \"prod\" or \"dr\""),
            ));
        }
    };
    let explicit_env = match &raw.environment {
        Some(e) => Some((input.resolve)("environment", e).map_err(|m| berr("environment", m))?),
        None => None,
    };
    let environment = match (&explicit_env, site) {
        (Some(e), _) if !e.trim().is_empty() => e.trim().to_string(),
        (Some(_), _) => return Err(berr("environment", "`environment` is empty")),
        (None, Some(s)) => match &input.sites[s.index()].environment {
            Some(e) => e.clone(),
            None => {
                return Err(berr(
                    "site",
                    format!(
                        "{kind} acts on the {} environment, but [sites.{}] has no `environment` (a Qovery environment id)",
                        s.as_str(),
                        s.as_str()
                    ),
                ));
            }
        },
        (None, None) => {
            return Err(berr(
                "kind",
                format!(
                    "{kind} needs `site = \"dr\"` (or \"prod\") or `environment = \"<Qovery environment id>\"`"
                ),
            ));
        }
    };
    let cluster = site.and_then(|s| input.sites[s.index()].cluster.clone());
    let poll_interval = match &raw.interval {
        Some(s) => {
            let d = crate::plan::units::parse_duration(s)
                .map_err(|e| berr("interval", format!("interval = {s:?}: {e}")))?;
            if d.is_zero() {
                return Err(berr("interval", "`interval` must be longer than 0"));
            }
            d
        }
        None => DEFAULT_POLL,
    };
    let takes: &[&str] = KIND_KEYS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, keys)| *keys)
        .unwrap_or(&[]);
    let given: [(&'static str, bool); 9] = [
        ("services", !raw.services.is_empty()),
        ("tag", raw.tag.is_some()),
        ("variables", !raw.variables.is_empty()),
        ("secrets", !raw.secrets.is_empty()),
        ("create_missing", raw.create_missing.is_some()),
        ("wait", raw.wait.is_some()),
        ("wait_if_busy", raw.wait_if_busy.is_some()),
        ("interval", raw.interval.is_some()),
        ("environment", raw.environment.is_some()),
    ];
    if !takes.is_empty()
        && let Some((key, _)) = given.iter().find(|(k, set)| *set && !takes.contains(k))
    {
        let which: Vec<&str> = KIND_KEYS
            .iter()
            .filter(|(_, keys)| keys.contains(key))
            .map(|(k, _)| *k)
            .collect();
        return Err(berr(
            key,
            format!(
                "`{key}` does not apply to a {kind} step (it applies to {})",
                which.join(", ")
            ),
        ));
    }
    let op = match kind {
        "qovery.deploy" => QoveryOp::Deploy,
        "qovery.redeploy" => QoveryOp::Redeploy,
        "qovery.stop" => QoveryOp::Stop,
        "qovery.deploy_services" => {
            if raw.services.is_empty() {
                return Err(berr(
                    "services",
                    "qovery.deploy_services needs `services = [\"web\", …]` (service names or ids)",
                ));
            }
            if let Some(s) = raw.services.iter().find(|s| s.trim().is_empty()) {
                return Err(berr("services", format!("services: {s:?} is empty")));
            }
            let tag = match &raw.tag {
                Some(t) => Some((input.resolve)("tag", t).map_err(|m| berr("tag", m))?),
                None => None,
            };
            QoveryOp::DeployServices {
                services: raw.services.clone(),
                tag: tag.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
            }
        }
        "qovery.set_variables" => {
            let mut variables = Vec::new();
            for (map, secret) in [(&raw.variables, false), (&raw.secrets, true)] {
                let what: &'static str = if secret { "secrets" } else { "variables" };
                for (k, v) in map {
                    if k.trim().is_empty() {
                        return Err(berr(what, format!("{what}: empty key")));
                    }
                    let value = (input.resolve)(what, v)
                        .map_err(|e| berr(what, format!("{what}.{k}: {e}")))?;
                    variables.push(QoveryVariable {
                        key: k.clone(),
                        value,
                        secret,
                    });
                }
            }
            if variables.is_empty() {
                return Err(berr(
                    "variables",
                    "qovery.set_variables needs `variables = { KEY = \"value\" }` and/or `secrets = { KEY = \"${env:X}\" }`",
                ));
            }
            if let Some(k) = raw.variables.keys().find(|k| raw.secrets.contains_key(*k)) {
                return Err(berr(
                    "secrets",
                    format!("{k} is both in `variables` and `secrets`"),
                ));
            }
            QoveryOp::SetVariables {
                variables,
                create_missing: raw.create_missing.unwrap_or(false),
            }
        }
        other => {
            return Err(berr(
                "kind",
                format!(
                    "unknown kind {other:?}; Qovery kinds are {}",
                    KINDS.join(", ")
                ),
            ));
        }
    };
    // The plan's own URL and scheme (review mode shows the environment's overrides separately).
    let from_plan = QoverySettings::resolve(q, |_| None);
    Ok(StepAction::Qovery(QoveryStep {
        op,
        site,
        environment,
        cluster,
        api_url: from_plan.api_url,
        wait: raw.wait.unwrap_or(true),
        wait_if_busy: raw.wait_if_busy.unwrap_or(false),
        auth_scheme: from_plan.scheme.as_str(),
        poll_interval,
    }))
}

/// Is the action one that follows a deployment?
fn target_states(op: &QoveryOp) -> &'static [State] {
    match op {
        QoveryOp::Stop => &[State::Stopped],
        _ => &[State::Deployed, State::Restarted],
    }
}

fn where_(q: &QoveryStep) -> String {
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
    let env = encode(&q.environment);
    let mut v = vec![
        format!("on {}", where_(q)),
        format!("every request: Authorization: {}", shown_auth(q)),
    ];
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

/// Read-only checks: the token works, the environment exists and is idle, its cluster is
/// deployed, the services and the variables to edit exist (old → new, secrets hidden).
pub async fn preflight(q: &QoveryStep, ctx: &StepContext) -> Vec<PreflightCheck> {
    let c = match client(ctx) {
        Ok(c) => c,
        Err(e) => return vec![check("Qovery configured", Some(false), e)],
    };
    let mut out = Vec::new();
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

/// What `set_variables` will do with one variable.
enum Plan<'a> {
    EditVar(&'a QoveryVariable, EnvironmentVariable),
    EditSecret(&'a QoveryVariable, Secret),
    Create(&'a QoveryVariable),
}

async fn plan_variables<'a>(
    q: &'a QoveryStep,
    c: &QoveryClient,
) -> Result<(Vec<Plan<'a>>, Vec<String>), QoveryError> {
    let QoveryOp::SetVariables {
        variables,
        create_missing,
    } = &q.op
    else {
        return Ok((vec![], vec![]));
    };
    let vars = c.list_environment_variables(&q.environment).await?;
    let secrets = if variables.iter().any(|v| v.secret) {
        c.list_environment_secrets(&q.environment).await?
    } else {
        vec![]
    };
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for v in variables {
        let env_scope = |s: &VariableScope| *s == VariableScope::Environment;
        if v.secret {
            if let Some(s) = secrets
                .iter()
                .find(|s| s.key == v.key && env_scope(&s.scope))
            {
                plans.push(Plan::EditSecret(v, s.clone()));
                continue;
            }
        } else if let Some(e) = vars.iter().find(|e| e.key == v.key && env_scope(&e.scope)) {
            plans.push(Plan::EditVar(v, e.clone()));
            continue;
        }
        let elsewhere = vars
            .iter()
            .find(|e| e.key == v.key)
            .map(|e| e.scope.to_string())
            .or_else(|| {
                secrets
                    .iter()
                    .find(|s| s.key == v.key)
                    .map(|s| format!("{} (as a secret)", s.scope))
            })
            .or_else(|| {
                // A variable asked as a secret that exists as a plain variable, or vice versa.
                if v.secret {
                    vars.iter()
                        .find(|e| e.key == v.key)
                        .map(|_| "ENVIRONMENT (as a plain variable)".to_string())
                } else {
                    None
                }
            });
        match elsewhere {
            Some(scope) => problems.push(format!(
                "{} exists at the {scope} scope, not as an environment {}; edit it there or change the plan",
                v.key,
                if v.secret { "secret" } else { "variable" }
            )),
            None if *create_missing => plans.push(Plan::Create(v)),
            None => problems.push(format!(
                "{} does not exist in the environment (set `create_missing = true` to create it)",
                v.key
            )),
        }
    }
    Ok((plans, problems))
}

fn shown_value(v: &QoveryVariable) -> String {
    if v.secret {
        "‹secret value hidden›".into()
    } else {
        shown_plain(&v.key, &v.value, None)
    }
}

/// Does a plain variable's value need masking? Its name says it is secret (`*PASSWORD*`,
/// `*SECRET*`, `*TOKEN*`, `*KEY*`, any case), or the value holds a URL with a password
/// (`postgres://user:pass@host/…`).
pub fn is_sensitive(key: &str, value: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"]
        .iter()
        .any(|w| k.contains(w))
        || url_has_password(value)
}

/// A `scheme://user:password@host` anywhere in the value.
fn url_has_password(value: &str) -> bool {
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after
            .split(['/', '?', '#', ' ', '"', '\''])
            .next()
            .unwrap_or("");
        if let Some(at) = authority.rfind('@')
            && authority[..at].contains(':')
        {
            return true;
        }
        rest = after;
    }
    false
}

/// A masked value: never a fragment of it, only a short sha256 prefix that proves a change.
pub fn masked(value: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(value.as_bytes()));
    format!("‹masked sha256:{}›", &h[..8])
}

/// A plain variable's value as shown on screen, in the journal and in the report: quoted, or
/// masked when it (or `other`, the value on the other side of a diff) is sensitive, so both sides
/// of `old → new` are masked together.
pub fn shown_plain(key: &str, value: &str, other: Option<&str>) -> String {
    if is_sensitive(key, value) || other.is_some_and(|o| is_sensitive(key, o)) {
        masked(value)
    } else {
        format!("{value:?}")
    }
}

/// `old → new` for a plain variable (`(no value)` when it has none).
fn shown_change(key: &str, old: Option<&str>, new: &str) -> String {
    let old_shown = match old {
        Some(o) => shown_plain(key, o, Some(new)),
        None => "(no value)".into(),
    };
    format!("{old_shown} → {}", shown_plain(key, new, old))
}

async fn preflight_variables(q: &QoveryStep, c: &QoveryClient) -> Vec<PreflightCheck> {
    let mut out = Vec::new();
    match plan_variables(q, c).await {
        Err(e) => out.push(check("variables readable", Some(false), e.to_string())),
        Ok((plans, problems)) => {
            for p in plans {
                match p {
                    Plan::EditVar(v, cur) => out.push(check(
                        format!("variable {} exists", v.key),
                        Some(true),
                        format!(
                            "{}{}",
                            shown_change(&v.key, cur.value.as_deref(), &v.value),
                            if cur.value.as_deref() == Some(v.value.as_str()) {
                                " (already set)"
                            } else {
                                ""
                            }
                        ),
                    )),
                    Plan::EditSecret(v, _) => out.push(check(
                        format!("secret {} exists", v.key),
                        Some(true),
                        "‹secret value hidden› → ‹secret value hidden›",
                    )),
                    Plan::Create(v) => out.push(check(
                        format!(
                            "{} {} exists",
                            if v.secret { "secret" } else { "variable" },
                            v.key
                        ),
                        Some(true),
                        format!("missing; will be created = {}", shown_value(v)),
                    )),
                }
            }
            for p in problems {
                let key = p.split(' ').next().unwrap_or("").to_string();
                out.push(check(format!("variable {key} exists"), Some(false), p));
            }
        }
    }
    out
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
    match &q.op {
        QoveryOp::SetVariables { .. } => run_set_variables(q, ctx, &c).await,
        _ => run_action(q, ctx, &c).await,
    }
}

/// Service names by id, for readable state lines (best effort).
async fn service_names(c: &QoveryClient, env: &str) -> BTreeMap<String, String> {
    let (cs, aps, dbs) = futures::join!(
        c.list_containers(env),
        c.list_applications(env),
        c.list_databases(env)
    );
    let mut m = BTreeMap::new();
    for ct in cs.unwrap_or_default() {
        m.insert(ct.id, ct.name);
    }
    for a in aps.unwrap_or_default() {
        m.insert(a.id, a.name);
    }
    for d in dbs.unwrap_or_default() {
        m.insert(d.id, d.name);
    }
    m
}

async fn run_action(q: &QoveryStep, ctx: &StepContext, c: &QoveryClient) -> Result<String, String> {
    let env = &q.environment;
    let mut names = service_names(c, env).await;
    let env_name = c
        .environment(env)
        .await
        .map(|e| e.name)
        .unwrap_or_else(|_| env.clone());
    let mut previous_rid: Option<String> = None;
    if let Ok(s) = c.environment_statuses(env).await {
        ctx.info(format!(
            "environment {env_name} before: {} (last deployment {})",
            s.environment.state, s.environment.last_deployment_state
        ));
        previous_rid = s.environment.deployment_request_id.clone();
    }
    let mut watched: Option<Vec<String>> = None;
    let mut deploy_req = None;
    if let QoveryOp::DeployServices { services, tag } = &q.op {
        let list = c
            .list_containers(env)
            .await
            .map_err(|e| format!("cannot list the containers of {env_name}: {e}"))?;
        for ct in &list {
            names.insert(ct.id.clone(), ct.name.clone());
        }
        let mut req = DeployAllRequest::default();
        let mut missing = Vec::new();
        for s in services {
            match find_container(&list, s) {
                Some(ct) => {
                    ctx.info(format!(
                        "  {}: {}:{} → {}",
                        ct.name,
                        ct.image_name,
                        ct.tag,
                        tag.as_deref().unwrap_or("(current tag)")
                    ));
                    req.containers.push(DeployContainer {
                        id: ct.id.clone(),
                        image_tag: tag.clone(),
                    })
                }
                None => missing.push(s.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "no container named {} in {env_name}; it has: {}",
                missing.join(", "),
                list.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        watched = Some(req.containers.iter().map(|c| c.id.clone()).collect());
        deploy_req = Some(req);
    }
    let method_path = match &q.op {
        QoveryOp::Deploy => QoveryClient::deploy_path(env),
        QoveryOp::Redeploy => QoveryClient::redeploy_path(env),
        QoveryOp::Stop => QoveryClient::stop_path(env),
        QoveryOp::DeployServices { .. } => QoveryClient::deploy_services_path(env),
        QoveryOp::SetVariables { .. } => {
            return Err("internal: set_variables is not an environment action".into());
        }
    };
    let result = loop {
        match &deploy_req {
            Some(req) => ctx.info(format!(
                "POST {}  {}",
                c.url(&method_path),
                serde_json::to_string(req).unwrap_or_default()
            )),
            None => ctx.info(format!("POST {}", c.url(&method_path))),
        }
        let r = match (&q.op, &deploy_req) {
            (QoveryOp::Deploy, _) => c.deploy_environment(env).await,
            (QoveryOp::Redeploy, _) => c.redeploy_environment(env).await,
            (QoveryOp::Stop, _) => c.stop_environment(env).await,
            (_, Some(req)) => c.deploy_services(env, req).await,
            _ => return Err("internal: no request for this action".into()),
        };
        match r {
            // A 409 means nothing was started, so sending again once the environment is idle is
            // safe; only done when the plan asks for it.
            Err(e) if e.is_conflict() && q.wait_if_busy => {
                ctx.emit(Stream::Stderr, e.to_string());
                ctx.info(format!(
                    "{env_name} is busy: waiting for the running operation to end, then sending again (wait_if_busy = true)"
                ));
                previous_rid = wait_until_idle(q, ctx, c, &env_name).await?;
            }
            other => break other,
        }
    };
    let rid: Option<String> = match result {
        Ok(accepted) => {
            let rid = accepted.deployment_request_id().map(str::to_string);
            ctx.info(format!(
                "→ 202 accepted: {} {}{}",
                env_name,
                accepted.state(),
                rid.as_deref()
                    .map(|r| format!(", deployment request {r}"))
                    .unwrap_or_default()
            ));
            rid
        }
        // A 2xx whose body could not be read: Qovery accepted the action all the same.
        Err(e @ QoveryError::Decode { .. }) => {
            ctx.emit(
                Stream::Stderr,
                format!("accepted, but the answer could not be read ({e}); following the environment anyway"),
            );
            None
        }
        Err(e) if e.is_conflict() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "operation in progress on {env_name}: Qovery answered 409 to POST {method_path}; nothing was started. Wait for the running operation to finish (see the Env panel), then retry the step"
            ));
        }
        Err(e) if e.may_have_been_applied() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "{} on {env_name}: {}; Qovery may or may not have started it. Check the environment's deployment status and history (Env panel, or GET {}) before retrying",
                q.op.kind_name(),
                match e.status() {
                    Some(st) => format!("HTTP {st} to POST {method_path}"),
                    None => format!("no answer to POST {method_path} ({})", e.short()),
                },
                c.url(&format!(
                    "/environment/{}/deploymentHistory",
                    encode(&q.environment)
                ))
            ));
        }
        Err(e) => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "{} on {env_name} was refused, nothing was started: {}",
                q.op.kind_name(),
                e
            ));
        }
    };
    if !q.wait {
        return Ok(format!(
            "{} requested on {env_name}{} (not followed: wait = false)",
            q.op.kind_name(),
            rid.map(|r| format!(", deployment request {r}"))
                .unwrap_or_default()
        ));
    }
    follow(
        q,
        ctx,
        c,
        &env_name,
        rid.as_deref(),
        previous_rid,
        &names,
        watched.as_deref(),
    )
    .await
}

/// Poll until the environment is idle (for `wait_if_busy`): its `state` and
/// `last_deployment_state` and every service terminal ([`follow::Goal::Idle`]). Returns the
/// environment's `deployment_request_id` as last read.
async fn wait_until_idle(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    env_name: &str,
) -> Result<Option<String>, String> {
    let expect = follow::Expectation {
        goal: follow::Goal::Idle,
        request_id: None,
        previous_request_id: None,
        services: None,
    };
    let mut last: Option<(State, State)> = None;
    let mut logged: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::time::sleep(q.poll_interval).await;
        match c.environment_statuses(&q.environment).await {
            Ok(s) => {
                let now = (
                    s.environment.state.clone(),
                    s.environment.last_deployment_state.clone(),
                );
                if last.as_ref() != Some(&now) {
                    ctx.info(format!(
                        "environment {env_name}: {} (last deployment {}) (waiting until idle)",
                        now.0, now.1
                    ));
                }
                last = Some(now);
                let obs = follow::Observation::from_statuses(&s, None, |id| id.to_string());
                match follow::verdict(&expect, std::slice::from_ref(&obs)) {
                    follow::Verdict::Succeeded => return Ok(obs.deployment_request_id),
                    follow::Verdict::Running(Some(why)) if logged.insert(why.clone()) => {
                        ctx.emit(Stream::Stderr, why);
                    }
                    _ => {}
                }
            }
            Err(e @ (QoveryError::Unauthorized { .. } | QoveryError::NotFound { .. })) => {
                return Err(format!("cannot wait for {env_name} to be idle: {e}"));
            }
            Err(e) => ctx.emit(
                Stream::Stderr,
                format!("poll failed (will keep waiting): {e}"),
            ),
        }
    }
}

/// Follow a deployment, streaming every state change, until [`follow::verdict`] says it is over.
#[allow(clippy::too_many_arguments)]
async fn follow(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    env_name: &str,
    rid: Option<&str>,
    previous_rid: Option<String>,
    names: &BTreeMap<String, String>,
    watched: Option<&[String]>,
) -> Result<String, String> {
    let started = Instant::now();
    let targets = target_states(&q.op);
    let expect = follow::Expectation {
        goal: follow::Goal::Reach(targets.to_vec()),
        request_id: rid.map(str::to_string),
        previous_request_id: previous_rid,
        services: watched.map(<[String]>::to_vec),
    };
    let mut history: Vec<follow::Observation> = Vec::new();
    let mut logged: BTreeSet<String> = BTreeSet::new();
    let mut last_env: Option<(State, State)> = None;
    let mut last_svc: BTreeMap<String, State> = BTreeMap::new();
    let mut failures = 0u32;
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    loop {
        tokio::time::sleep(q.poll_interval).await;
        let s: EnvironmentStatuses = match c.environment_statuses(&q.environment).await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(e @ (QoveryError::Unauthorized { .. } | QoveryError::NotFound { .. })) => {
                return Err(format!("lost track of the deployment on {env_name}: {e}"));
            }
            Err(e) => {
                failures += 1;
                ctx.emit(
                    Stream::Stderr,
                    format!("poll {failures} failed (will keep following): {e}"),
                );
                continue;
            }
        };
        let env_now = (
            s.environment.state.clone(),
            s.environment.last_deployment_state.clone(),
        );
        if last_env.as_ref() != Some(&env_now) {
            let line = match &last_env {
                Some((st, _)) => format!(
                    "environment {env_name}: {st} → {} (last deployment {})",
                    env_now.0, env_now.1
                ),
                None => format!(
                    "environment {env_name}: {} (last deployment {})",
                    env_now.0, env_now.1
                ),
            };
            ctx.emit(
                if env_now.1.is_error() {
                    Stream::Stderr
                } else {
                    Stream::Info
                },
                line,
            );
            last_env = Some(env_now.clone());
        }
        let in_scope: Vec<_> = s
            .services()
            .filter(|(_, sv)| watched.is_none_or(|w| w.contains(&sv.id)))
            .map(|(_, sv)| sv)
            .collect();
        let reached = in_scope
            .iter()
            .filter(|sv| targets.contains(&sv.state))
            .count();
        let progress = format!(
            "({reached}/{} {})",
            in_scope.len(),
            targets[0].as_str().to_lowercase()
        );
        for (_, svc) in s.services() {
            let prev = last_svc.get(&svc.id);
            if prev != Some(&svc.state) {
                let name = name_of(&svc.id);
                let line = match prev {
                    Some(p) => format!("  {name}: {p} → {} {progress}", svc.state),
                    None => format!("  {name}: {} {progress}", svc.state),
                };
                ctx.emit(
                    if svc.state.is_failing() {
                        Stream::Stderr
                    } else {
                        Stream::Info
                    },
                    line,
                );
                last_svc.insert(svc.id.clone(), svc.state.clone());
            }
        }
        // The request's own status: a value that cannot be the previous deployment's. Read once
        // the environment looks finished (it is what confirms the end).
        let request_status = match rid {
            Some(r) if env_now.0.is_terminal() && env_now.1.is_terminal() => {
                match c.deployment_status(r).await {
                    Ok(d) => d.status,
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let obs = follow::Observation::from_statuses(&s, request_status, name_of);
        // Only changes matter to the verdict; keeps the history short on long deployments.
        if history.last() != Some(&obs) {
            history.push(obs);
        }
        let took = crate::plan::units::fmt_duration(started.elapsed());
        match follow::verdict(&expect, &history) {
            follow::Verdict::Running(None) => {}
            follow::Verdict::Running(Some(why)) => {
                if logged.insert(why.clone()) {
                    ctx.emit(Stream::Stderr, format!("{env_name}: {why}"));
                }
            }
            follow::Verdict::Succeeded => {
                return Ok(format!(
                    "{env_name} {} after {took}; {reached}/{} services {}",
                    env_now.1,
                    in_scope.len(),
                    targets[0].as_str().to_lowercase()
                ));
            }
            follow::Verdict::Failed(why) => {
                return Err(format!("{env_name} {why} after {took}"));
            }
        }
    }
}

async fn run_set_variables(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
) -> Result<String, String> {
    let env = &q.environment;
    ctx.info(format!(
        "GET {} (current values)",
        c.url(&QoveryClient::variables_path(env))
    ));
    let (plans, problems) = plan_variables(q, c)
        .await
        .map_err(|e| format!("cannot read the variables of {}: {e}", where_(q)))?;
    if !problems.is_empty() {
        return Err(format!("nothing was changed: {}", problems.join("; ")));
    }
    let mut done: Vec<String> = Vec::new();
    for p in &plans {
        let (v, result) = match p {
            Plan::EditVar(v, cur) => {
                ctx.info(format!(
                    "PUT {}  {}: {}",
                    c.url(&QoveryClient::variable_path(env, &cur.id)),
                    v.key,
                    shown_change(&v.key, cur.value.as_deref(), &v.value)
                ));
                let r = c
                    .edit_environment_variable(env, &cur.id, &request(v))
                    .await
                    .map(|_| ());
                (v, r)
            }
            Plan::EditSecret(v, cur) => {
                ctx.info(format!(
                    "PUT {}  {}: ‹secret value hidden› → ‹secret value hidden›",
                    c.url(&QoveryClient::secret_path(env, &cur.id)),
                    v.key
                ));
                let r = c
                    .edit_environment_secret(env, &cur.id, &request(v))
                    .await
                    .map(|_| ());
                (v, r)
            }
            Plan::Create(v) => {
                let path = if v.secret {
                    QoveryClient::secrets_path(env)
                } else {
                    QoveryClient::variables_path(env)
                };
                ctx.info(format!(
                    "POST {}  {} = {} (new)",
                    c.url(&path),
                    v.key,
                    shown_value(v)
                ));
                let r = if v.secret {
                    c.create_environment_secret(env, &request(v))
                        .await
                        .map(|_| ())
                } else {
                    c.create_environment_variable(env, &request(v))
                        .await
                        .map(|_| ())
                };
                (v, r)
            }
        };
        if let Err(e) = result {
            ctx.emit(Stream::Stderr, e.to_string());
            if e.may_have_been_applied() {
                return Err(format!(
                    "{}: {}; the write may or may not have been applied. Check {}'s value in the environment (GET {}) before retrying{}",
                    v.key,
                    match e.status() {
                        Some(st) => format!("HTTP {st}"),
                        None => format!("no answer ({})", e.short()),
                    },
                    v.key,
                    c.url(&if v.secret {
                        QoveryClient::secrets_path(env)
                    } else {
                        QoveryClient::variables_path(env)
                    }),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (already set: {})", done.join(", "))
                    }
                ));
            }
            return Err(format!(
                "{} was not set: {e}{}",
                v.key,
                if done.is_empty() {
                    " (nothing was changed)".to_string()
                } else {
                    format!(" (already set: {})", done.join(", "))
                }
            ));
        }
        ctx.info(format!("  {} ✓", v.key));
        done.push(v.key.clone());
    }
    // Read back.
    let vars = c
        .list_environment_variables(env)
        .await
        .map_err(|e| format!("written, but the read-back failed: {e}"))?;
    let needs_secrets = plans.iter().any(|p| match p {
        Plan::EditSecret(..) => true,
        Plan::Create(v) => v.secret,
        _ => false,
    });
    let secrets = if needs_secrets {
        c.list_environment_secrets(env)
            .await
            .map_err(|e| format!("written, but the secret read-back failed: {e}"))?
    } else {
        vec![]
    };
    let mut mismatches = Vec::new();
    let QoveryOp::SetVariables { variables, .. } = &q.op else {
        return Err("not a set_variables step".into());
    };
    for v in variables {
        if v.secret {
            if secrets
                .iter()
                .any(|s| s.key == v.key && s.scope == VariableScope::Environment)
            {
                ctx.info(format!(
                    "read back {}: present (secret values are never returned)",
                    v.key
                ));
            } else {
                mismatches.push(format!("secret {} is missing", v.key));
            }
        } else {
            match vars
                .iter()
                .find(|e| e.key == v.key && e.scope == VariableScope::Environment)
            {
                Some(e) if e.value.as_deref() == Some(v.value.as_str()) => ctx.info(format!(
                    "read back {} = {} ✓",
                    v.key,
                    shown_plain(&v.key, &v.value, None)
                )),
                Some(e) => {
                    let got = e.value.as_deref().unwrap_or("");
                    mismatches.push(format!(
                        "{} reads back {}, expected {}",
                        v.key,
                        shown_plain(&v.key, got, Some(&v.value)),
                        shown_plain(&v.key, &v.value, Some(got))
                    ))
                }
                None => mismatches.push(format!("{} is missing after the write", v.key)),
            }
        }
    }
    if !mismatches.is_empty() {
        return Err(format!("read-back failed: {}", mismatches.join("; ")));
    }
    ctx.info("variables take effect at the next deployment of the services");
    Ok(format!(
        "{} set and read back on {}: {}",
        if done.len() == 1 {
            "1 variable".to_string()
        } else {
            format!("{} variables", done.len())
        },
        where_(q),
        done.join(", ")
    ))
}

fn request(v: &QoveryVariable) -> VariableRequest {
    VariableRequest {
        key: v.key.clone(),
        value: v.value.clone(),
        description: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The `qovery.*` kinds

/// `qovery.deploy`, `redeploy`, `stop`, `deploy_services`, `set_variables`.
pub struct Qovery;

impl StepKind for Qovery {
    fn build(&self, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let timeout = s.duration("timeout", &s.raw().timeout)?;
        let sites = s.sites().clone();
        let qovery = s.qovery().cloned();
        let raw = s.raw();
        let kind = s.kind().to_string();
        // Messages without the step's id: the error built from them below names the step once.
        let mut resolve = |key: &'static str, v: &str| s.resolve_quiet(key, v);
        let r = build_keyed(
            &kind,
            raw,
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
    fn describe(&self, action: &StepAction) -> Vec<String> {
        match action {
            StepAction::Qovery(a) => describe(a),
            _ => Vec::new(),
        }
    }
    fn is_mutating(&self, action: &StepAction) -> bool {
        match action {
            StepAction::Qovery(_) => true,
            _ => true,
        }
    }
    fn default_timeout(&self, action: &StepAction) -> Duration {
        match action {
            StepAction::Qovery(a) => default_timeout(a),
            _ => Duration::from_secs(600),
        }
    }
    fn preflight<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async move {
            match action {
                StepAction::Qovery(a) => preflight(a, ctx).await,
                _ => Vec::new(),
            }
        })
    }
    fn run<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            match action {
                StepAction::Qovery(a) => run(a, ctx).await,
                _ => Err(format!("not a {} step", action.kind_name())),
            }
        })
    }
}
