//! Building a `qovery.*` step from its `[[step]]` table: the keys each kind takes, the
//! environment it acts on (from `site` or `environment`), and its references resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use super::*;

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
pub const ACTION_KEYS: &[&str] = &[
    "environment",
    "environment_name",
    "wait",
    "wait_if_busy",
    "interval",
    "timeout",
];
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

/// Every key the `qovery.*` kinds take: what the builder reads (each kind's typed keys
/// convert into it; a step built outside the loader reads into it whole, other keys ignored).
#[derive(Debug, Default, Deserialize)]
pub struct QoveryKeys {
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub environment_name: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub create_missing: Option<bool>,
    #[serde(default)]
    pub wait: Option<bool>,
    #[serde(default)]
    pub wait_if_busy: Option<bool>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys of `qovery.deploy`, `qovery.redeploy` and `qovery.stop`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionKeys {
    /// qovery.*: the Qovery environment id to act on (default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.deploy/redeploy/stop: the environment to act on, by name (instead of `site` or
    /// `environment`), looked up in the plan's project when the step runs, e.g. a drill
    /// environment a qovery.clone_environment step made (`drill-2026-q4`).
    #[serde(default)]
    pub environment_name: Option<String>,
    /// Follow the deployment to its end (default true; `interval` sets the poll interval,
    /// default 3s like the official CLI).
    #[serde(default)]
    pub wait: Option<bool>,
    /// On a 409 "operation in progress", wait until the environment is idle and send the action
    /// again (default false).
    #[serde(default)]
    pub wait_if_busy: Option<bool>,
    /// How often to poll the deployment (default 3s).
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys of `qovery.deploy_services`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicesKeys {
    /// qovery.*: the Qovery environment id to act on (default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.deploy_services: the services to deploy, by name (or id).
    #[serde(default)]
    pub services: Vec<String>,
    /// qovery.deploy_services: the image tag to deploy the containers with.
    #[serde(default)]
    pub tag: Option<String>,
    /// Follow the deployment to its end (default true).
    #[serde(default)]
    pub wait: Option<bool>,
    /// On a 409 "operation in progress", wait until the environment is idle and send the action
    /// again (default false).
    #[serde(default)]
    pub wait_if_busy: Option<bool>,
    /// How often to poll the deployment (default 3s).
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys of `qovery.set_variables`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesKeys {
    /// qovery.*: the Qovery environment id to act on (default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.set_variables: environment variables to edit, `KEY = "value"`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// qovery.set_variables: secrets to edit, by reference: `KEY = "${env:X}"`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// qovery.set_variables: create variables that do not exist yet (default false: they must exist).
    #[serde(default)]
    pub create_missing: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl From<ActionKeys> for QoveryKeys {
    fn from(k: ActionKeys) -> Self {
        let ActionKeys {
            environment,
            environment_name,
            wait,
            wait_if_busy,
            interval,
            timeout,
        } = k;
        QoveryKeys {
            environment,
            environment_name,
            wait,
            wait_if_busy,
            interval,
            timeout,
            ..Default::default()
        }
    }
}

impl From<ServicesKeys> for QoveryKeys {
    fn from(k: ServicesKeys) -> Self {
        let ServicesKeys {
            environment,
            services,
            tag,
            wait,
            wait_if_busy,
            interval,
            timeout,
        } = k;
        QoveryKeys {
            environment,
            services,
            tag,
            wait,
            wait_if_busy,
            interval,
            timeout,
            ..Default::default()
        }
    }
}

impl From<VariablesKeys> for QoveryKeys {
    fn from(k: VariablesKeys) -> Self {
        let VariablesKeys {
            environment,
            variables,
            secrets,
            create_missing,
            timeout,
        } = k;
        QoveryKeys {
            environment,
            variables,
            secrets,
            create_missing,
            timeout,
            ..Default::default()
        }
    }
}

/// The keys each kind takes (for steps built outside the loader, which checks the keys itself;
/// a unit test keeps these lists the same as the kinds' typed keys).
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
    let keys: QoveryKeys = raw.spec().map_err(|m| berr("kind", m))?;
    build_typed(kind, raw, &keys, input)
}

/// [`build_keyed`] with the kind's keys already read.
pub fn build_typed(
    kind: &str,
    raw: &RawStep,
    keys: &QoveryKeys,
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
    let (environment, environment_name) = match &keys.environment_name {
        Some(n) => by_name(kind, keys, site, n, input)?,
        None => (environment_of(kind, keys, site, input)?, None),
    };
    let cluster = site.and_then(|s| input.sites[s.index()].cluster.clone());
    let poll_interval = match &keys.interval {
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
    check_keys(kind, keys)?;
    let op = op_of(kind, keys, input)?;
    // The plan's own URL and scheme (review mode shows the environment's overrides separately).
    let from_plan = QoverySettings::resolve(q, |_| None);
    Ok(StepAction::Qovery(QoveryStep {
        op,
        site,
        environment,
        environment_name,
        cluster,
        api_url: from_plan.api_url,
        wait: keys.wait.unwrap_or(true),
        wait_if_busy: keys.wait_if_busy.unwrap_or(false),
        auth_scheme: from_plan.scheme.as_str(),
        poll_interval,
    }))
}

/// The Qovery environment a step acts on: its `environment`, else its site's.
fn environment_of(
    kind: &str,
    keys: &QoveryKeys,
    site: Option<SiteId>,
    input: &mut BuildInput<'_>,
) -> Result<String, BuildError> {
    let explicit_env = match &keys.environment {
        Some(e) => Some((input.resolve)("environment", e).map_err(|m| berr("environment", m))?),
        None => None,
    };
    Ok(match (&explicit_env, site) {
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
    })
}

/// `environment_name`: the name, and the plan's environment whose project it is looked up in
/// when the step runs (as `qovery.delete_environment`'s `name`). It replaces `site` and
/// `environment`, so giving either with it is refused rather than one silently winning.
fn by_name(
    kind: &str,
    keys: &QoveryKeys,
    site: Option<SiteId>,
    name: &str,
    input: &mut BuildInput<'_>,
) -> Result<(String, Option<String>), BuildError> {
    if keys.environment.is_some() || site.is_some() {
        return Err(berr(
            "environment_name",
            format!(
                "give one of `site`, `environment` (an id) or `environment_name`, not several: {kind} acts on one environment"
            ),
        ));
    }
    let name =
        (input.resolve)("environment_name", name).map_err(|m| berr("environment_name", m))?;
    if name.trim().is_empty() {
        return Err(berr("environment_name", "`environment_name` is empty"));
    }
    let Some(anchor) = SiteId::ALL
        .into_iter()
        .find_map(|s| input.sites[s.index()].environment.clone())
    else {
        return Err(berr(
            "environment_name",
            "`environment_name` is looked up in the project of the plan's environments, but neither [sites.prod] nor [sites.dr] has an `environment`; give `environment` (an id)",
        ));
    };
    Ok((anchor, Some(name.trim().to_string())))
}

/// A key given that this kind does not take (when built outside the loader, which checks it
/// first with its own message).
fn check_keys(kind: &str, keys: &QoveryKeys) -> Result<(), BuildError> {
    let takes: &[&str] = KIND_KEYS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, keys)| *keys)
        .unwrap_or(&[]);
    let given: [(&'static str, bool); 10] = [
        ("services", !keys.services.is_empty()),
        ("tag", keys.tag.is_some()),
        ("variables", !keys.variables.is_empty()),
        ("secrets", !keys.secrets.is_empty()),
        ("create_missing", keys.create_missing.is_some()),
        ("wait", keys.wait.is_some()),
        ("wait_if_busy", keys.wait_if_busy.is_some()),
        ("interval", keys.interval.is_some()),
        ("environment", keys.environment.is_some()),
        ("environment_name", keys.environment_name.is_some()),
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
    Ok(())
}

/// What the step does, from its kind and keys.
fn op_of(
    kind: &str,
    keys: &QoveryKeys,
    input: &mut BuildInput<'_>,
) -> Result<QoveryOp, BuildError> {
    Ok(match kind {
        "qovery.deploy" => QoveryOp::Deploy,
        "qovery.redeploy" => QoveryOp::Redeploy,
        "qovery.stop" => QoveryOp::Stop,
        "qovery.deploy_services" => {
            if keys.services.is_empty() {
                return Err(berr(
                    "services",
                    "qovery.deploy_services needs `services = [\"web\", …]` (service names or ids)",
                ));
            }
            if let Some(s) = keys.services.iter().find(|s| s.trim().is_empty()) {
                return Err(berr("services", format!("services: {s:?} is empty")));
            }
            let tag = match &keys.tag {
                Some(t) => Some((input.resolve)("tag", t).map_err(|m| berr("tag", m))?),
                None => None,
            };
            QoveryOp::DeployServices {
                services: keys.services.clone(),
                tag: tag.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
            }
        }
        "qovery.set_variables" => {
            let mut variables = Vec::new();
            for (map, secret) in [(&keys.variables, false), (&keys.secrets, true)] {
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
            if let Some(k) = keys
                .variables
                .keys()
                .find(|k| keys.secrets.contains_key(*k))
            {
                return Err(berr(
                    "secrets",
                    format!("{k} is both in `variables` and `secrets`"),
                ));
            }
            QoveryOp::SetVariables {
                variables,
                create_missing: keys.create_missing.unwrap_or(false),
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
    })
}
