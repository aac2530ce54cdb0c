//! `qovery.clone_environment` and `qovery.delete_environment`: the DR guide's quarterly partial
//! drill (issue 16 §3) clones prod to a drill environment on the DR cluster, exercises it, and
//! deletes it again.
//!
//! Both mutate, so both are sent once and never retried. The clone refuses when an environment
//! of that name already exists in the project (a second drill environment would be created
//! blindly otherwise), and is verified by reading the new environment back: it must exist with
//! the requested name on the requested cluster; its id is journaled (`evidence:environment`) for
//! the report and for a later delete. The delete needs a typed word and refuses the environments
//! the plan names as prod or DR, at load time (by id) and again at run time (after a `name` is
//! resolved to its id); it is verified by the environment being gone (404) or reported deleting.

use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::super::registry::TypedKind;
use super::super::{StepContext, Stream};
use super::{check, client};
use crate::clients::qovery::{
    CloneEnvironmentRequest, ENVIRONMENT_MODES, QoveryClient, QoveryError, State, encode,
};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{KindAction, Plan, SiteId, StepAction};

/// The keys `qovery.clone_environment` takes besides the common ones (`site`: the environment
/// cloned is that site's).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneKeys {
    /// The environment to clone (an id; default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.clone_environment: the new environment's name (e.g. `drill-2026-q4`).
    #[serde(default)]
    pub name: Option<String>,
    /// qovery.clone_environment: the cluster id the clone goes on (default: `[sites.dr] cluster`).
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    /// qovery.clone_environment: the clone's `EnvironmentModeEnum`: `DEVELOPMENT` (default),
    /// `PREVIEW`, `STAGING` or `PRODUCTION`.
    #[serde(default)]
    pub mode: Option<String>,
    /// qovery.clone_environment: apply the project's deployment rules to the clone (default
    /// `false`, the spec's default).
    #[serde(default)]
    pub apply_deployment_rule: Option<bool>,
}

/// The keys `qovery.delete_environment` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteKeys {
    /// The environment to delete, by id (or give `name`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.delete_environment: the environment to delete, looked up by name in the plan's
    /// project when the step runs (or give `environment`, its id).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// How often the read-back polls (the official CLI's cadence).
const POLL: Duration = Duration::from_secs(3);

/// What `qovery.clone_environment` does.
#[derive(Debug, Clone)]
pub struct CloneSpec {
    /// The environment cloned (an id), and the site it belongs to when it is a site's.
    pub source: String,
    pub source_site: Option<SiteId>,
    /// The new environment's name.
    pub name: String,
    /// The cluster the clone goes on (an id).
    pub cluster: String,
    /// The clone's `EnvironmentModeEnum` (default `DEVELOPMENT`: a drill environment).
    pub mode: String,
    /// The request's `apply_deployment_rule` (default `false`, as in the spec).
    pub apply_deployment_rule: bool,
    pub api_url: String,
}

/// Which environment `qovery.delete_environment` deletes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Id(String),
    /// Resolved in the plan's project when the step runs.
    Name(String),
}

/// What `qovery.delete_environment` does.
#[derive(Debug, Clone)]
pub struct DeleteSpec {
    pub target: Target,
    /// An environment of the plan whose project a `name` is looked up in.
    pub anchor: Option<String>,
    pub api_url: String,
}

fn api_url(s: &StepCx<'_, '_, '_>) -> Result<String, PlanError> {
    match s.qovery() {
        Some(q) => Ok(q.api_url.trim_end_matches('/').to_string()),
        None => Err(s.error(
            "kind",
            &format!(
                "{} needs a [qovery] section (token, organization)",
                s.kind()
            ),
            vec![],
            None,
        )),
    }
}

fn nonempty(s: &mut StepCx<'_, '_, '_>, key: &'static str, v: &str) -> Result<String, PlanError> {
    if v.trim().is_empty() {
        return Err(s.error(key, &format!("`{key}` is empty"), vec![], None));
    }
    Ok(s.secret(key, v)?.trim().to_string())
}

fn build_clone(keys: CloneKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let timeout = s.duration("timeout", &keys.timeout)?;
    let api_url = api_url(s)?;
    let raw_name = keys.name.clone();
    let Some(name) = raw_name else {
        return Err(s.missing("name", "name = \"drill-2026-q4\""));
    };
    let name = nonempty(s, "name", &name)?;
    let sites = s.sites().clone();
    let site = match s.raw().site.as_deref().map(str::trim) {
        None | Some("prod") => SiteId::Prod,
        Some("dr") => SiteId::Dr,
        Some(other) => {
            return Err(s.error(
                "site",
                &format!("`site` is `{other}`; a clone's source site is `prod` or `dr`"),
                vec!["prod".into(), "dr".into()],
                None,
            ));
        }
    };
    let raw_env = keys.environment.clone();
    let (source, source_site) = match raw_env {
        Some(e) => {
            let id = nonempty(s, "environment", &e)?;
            let site = SiteId::ALL
                .into_iter()
                .find(|x| sites[x.index()].environment.as_deref() == Some(id.as_str()));
            (id, site)
        }
        None => match &sites[site.index()].environment {
            Some(e) => (e.clone(), Some(site)),
            None => {
                return Err(s.error(
                    "environment",
                    &format!(
                        "qovery.clone_environment clones the {} environment, but [sites.{}] has no `environment`; set `environment` on the step",
                        site.upper(),
                        site.as_str()
                    ),
                    vec![],
                    None,
                ));
            }
        },
    };
    let raw_cluster = keys.cluster.clone();
    let cluster = match raw_cluster {
        Some(c) => nonempty(s, "cluster", &c)?,
        None => match &sites[SiteId::Dr.index()].cluster {
            Some(c) => c.clone(),
            None => {
                return Err(s.error(
                    "cluster",
                    "qovery.clone_environment puts the clone on the DR cluster, but [sites.dr] has no `cluster`; set `cluster` on the step",
                    vec![],
                    None,
                ));
            }
        },
    };
    let (mode, apply_deployment_rule) = clone_mode(&keys, s)?;
    let spec = CloneSpec {
        source,
        source_site,
        name,
        cluster,
        mode,
        apply_deployment_rule,
        api_url,
    };
    Ok(Built {
        action: StepAction::Kind(KindAction::new("qovery.clone_environment", spec)),
        timeout,
    })
}

/// The request's `mode` and `apply_deployment_rule` from the plan. A drill's clone defaults to a
/// `DEVELOPMENT` environment, a mode an environment can also be edited to and from
/// (`CreateEnvironmentModeEnum` has no `PREVIEW`), without the project's deployment rules (the
/// spec's default).
fn clone_mode(keys: &CloneKeys, s: &mut StepCx<'_, '_, '_>) -> Result<(String, bool), PlanError> {
    let mode = match keys.mode.as_deref().map(str::trim) {
        None => "DEVELOPMENT".to_string(),
        Some(m) if ENVIRONMENT_MODES.contains(&m) => m.to_string(),
        Some(m) => {
            return Err(s.error(
                "mode",
                &format!(
                    "`mode` is `{m}`; Qovery's EnvironmentModeEnum is one of {}",
                    ENVIRONMENT_MODES.join(", ")
                ),
                ENVIRONMENT_MODES.iter().map(|m| m.to_string()).collect(),
                None,
            ));
        }
    };
    Ok((mode, keys.apply_deployment_rule.unwrap_or(false)))
}

/// The sites whose environment is `id`.
pub(super) fn protected_by(plan_sites: &[crate::plan::Site; 2], id: &str) -> Option<SiteId> {
    SiteId::ALL
        .into_iter()
        .find(|s| plan_sites[s.index()].environment.as_deref() == Some(id))
}

fn build_delete(keys: DeleteKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let timeout = s.duration("timeout", &keys.timeout)?;
    let api_url = api_url(s)?;
    if s.raw()
        .confirm
        .as_deref()
        .is_none_or(|w| w.trim().is_empty())
    {
        return Err(s.missing(
            "confirm",
            "confirm = \"DELETE\" — it destroys an environment, so the operator types a word",
        ));
    }
    let sites = s.sites().clone();
    let (raw_env, raw_name) = (keys.environment.clone(), keys.name.clone());
    let target = match (raw_env, raw_name) {
        (Some(_), Some(_)) => {
            return Err(s.error(
                "name",
                "give either `environment` (an id) or `name`, not both",
                vec![],
                None,
            ));
        }
        (None, None) => {
            return Err(s.missing("name", "name = \"drill-2026-q4\""));
        }
        (Some(e), None) => {
            let id = nonempty(s, "environment", &e)?;
            if let Some(site) = protected_by(&sites, &id) {
                return Err(s.error(
                    "environment",
                    &format!(
                        "refused: {id} is the {} environment ([sites.{}]); qovery.delete_environment never deletes prod or DR",
                        site.upper(),
                        site.as_str()
                    ),
                    vec![],
                    None,
                ));
            }
            Target::Id(id)
        }
        (None, Some(n)) => Target::Name(nonempty(s, "name", &n)?),
    };
    let anchor = SiteId::ALL
        .into_iter()
        .find_map(|x| sites[x.index()].environment.clone());
    if matches!(target, Target::Name(_)) && anchor.is_none() {
        return Err(s.error(
            "name",
            "a `name` is looked up in the project of the plan's environments, but neither [sites.prod] nor [sites.dr] has an `environment`; give `environment` (an id)",
            vec![],
            None,
        ));
    }
    let spec = DeleteSpec {
        target,
        anchor,
        api_url,
    };
    Ok(Built {
        action: StepAction::Kind(KindAction::new("qovery.delete_environment", spec)),
        timeout,
    })
}

fn describe_clone(c: &CloneSpec) -> Vec<String> {
    let base = &c.api_url;
    let src = encode(&c.source);
    let body = serde_json::to_string(&request(c)).unwrap_or_default();
    vec![
        format!(
            "clone {} to a new environment named {:?} on cluster {}",
            match c.source_site {
                Some(s) => format!("the {} environment {}", s.upper(), c.source),
                None => format!("environment {}", c.source),
            },
            c.name,
            c.cluster
        ),
        format!("GET {base}/environment/{src} (its project)"),
        format!(
            "GET {base}/project/‹project of {}›/environment (refuses, sending nothing, if an environment named {:?} exists)",
            c.source, c.name
        ),
        format!("POST {base}/environment/{src}/clone  {body}"),
        format!(
            "then GET {base}/environment/‹new id› every 3s until it exists named {:?} on cluster {}; the new id is journaled",
            c.name, c.cluster
        ),
        "the clone is not deployed (a qovery.deploy step on it does that); database data is not cloned".into(),
    ]
}

fn request(c: &CloneSpec) -> CloneEnvironmentRequest {
    CloneEnvironmentRequest {
        name: c.name.clone(),
        cluster_id: Some(c.cluster.clone()),
        mode: Some(c.mode.clone()),
        apply_deployment_rule: Some(c.apply_deployment_rule),
        project_id: None,
    }
}

fn describe_delete(d: &DeleteSpec) -> Vec<String> {
    let base = &d.api_url;
    let mut v = Vec::new();
    let id = match &d.target {
        Target::Id(id) => encode(id),
        Target::Name(n) => {
            let anchor = d.anchor.clone().unwrap_or_default();
            v.push(format!(
                "GET {base}/environment/{} (the plan's project), then GET {base}/project/‹project›/environment (resolve {n:?} to its id)",
                encode(&anchor)
            ));
            format!("‹id of {n}›")
        }
    };
    v.push("refuses if it is the plan's prod or DR environment".into());
    v.push(format!("DELETE {base}/environment/{id}"));
    v.push(format!(
        "then GET {base}/environment/{id} (and …/status) every 3s until 404 (gone) or DELETE_QUEUED/DELETING/DELETED"
    ));
    v
}

/// The environment named `name` (case insensitive, as Qovery compares them) in `anchor`'s project.
pub(super) async fn find_by_name(
    c: &QoveryClient,
    anchor: &str,
    name: &str,
) -> Result<Option<crate::clients::qovery::Environment>, String> {
    let env = c
        .environment(anchor)
        .await
        .map_err(|e| format!("cannot read environment {anchor} to find its project: {e}"))?;
    let Some(project) = env.project.map(|p| p.id) else {
        return Err(format!(
            "environment {anchor} names no project; cannot look up {name:?}"
        ));
    };
    let list = c
        .list_environments(&project)
        .await
        .map_err(|e| format!("cannot list the environments of project {project}: {e}"))?;
    let mut hits: Vec<_> = list
        .into_iter()
        .filter(|e| e.name.eq_ignore_ascii_case(name))
        .collect();
    match hits.len() {
        0 | 1 => Ok(hits.pop()),
        n => Err(format!(
            "{n} environments are named {name:?} in project {project} ({}); give `environment` (an id) instead",
            hits.iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The one environment named `name` in `anchor`'s project (`qovery.delete_environment`'s `name`,
/// `qovery.deploy`'s `environment_name`); refused when none or several match, the message
/// ending with `nothing` (what was not done).
pub(super) async fn named(
    c: &QoveryClient,
    anchor: &str,
    name: &str,
    nothing: &str,
) -> Result<crate::clients::qovery::Environment, String> {
    find_by_name(c, anchor, name)
        .await
        .map_err(|e| format!("{e}; {nothing}"))?
        .ok_or_else(|| {
            format!(
                "no environment named {name:?} in the plan's project (the project of {anchor}); {nothing}. Check the name, and that the step creating it (qovery.clone_environment) ran"
            )
        })
}

async fn run_clone(c: &CloneSpec, ctx: &StepContext) -> Result<String, String> {
    let q = client(ctx)?;
    if let Some(e) = find_by_name(&q, &c.source, &c.name).await? {
        return Err(format!(
            "an environment named {:?} already exists ({} on cluster {}); nothing was sent. Delete it (qovery.delete_environment) or choose another `name`",
            e.name,
            e.id,
            e.cluster_id.unwrap_or_default()
        ));
    }
    let req = request(c);
    let path = QoveryClient::clone_path(&c.source);
    ctx.info(format!(
        "POST {}  {}",
        q.url(&path),
        serde_json::to_string(&req).unwrap_or_default()
    ));
    let new = match q.clone_environment(&c.source, &req).await {
        Ok(e) => e,
        Err(e) if e.is_conflict() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "operation in progress on {}: Qovery answered 409 to POST {path}; nothing was cloned. Wait for it to finish, then retry the step",
                c.source
            ));
        }
        Err(e) if e.may_have_been_applied() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "the clone may or may not have been created ({}); look for an environment named {:?} in the project before retrying",
                e.short(),
                c.name
            ));
        }
        Err(e) => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!("the clone was refused, nothing was created: {e}"));
        }
    };
    ctx.info(format!(
        "→ 202 accepted: new environment {} ({})",
        new.name, new.id
    ));
    ctx.emit(
        Stream::EnvironmentEvidence,
        serde_json::json!({ "cloned": new.id, "name": c.name, "cluster": c.cluster, "source": c.source })
            .to_string(),
    );
    loop {
        match q.environment(&new.id).await {
            Ok(e) => {
                let on = e.cluster_id.clone().unwrap_or_default();
                if !e.name.eq_ignore_ascii_case(&c.name) || on != c.cluster {
                    return Err(format!(
                        "the clone {} reads back as {:?} on cluster {on}, not {:?} on cluster {}",
                        e.id, e.name, c.name, c.cluster
                    ));
                }
                return Ok(format!(
                    "cloned {} to {} ({}) on cluster {}",
                    c.source,
                    e.name,
                    e.id,
                    e.cluster_name.unwrap_or(on)
                ));
            }
            Err(e @ (QoveryError::Unauthorized { .. } | QoveryError::Forbidden { .. })) => {
                return Err(format!("cannot read the clone {} back: {e}", new.id));
            }
            Err(e) => ctx.emit(
                Stream::Stderr,
                format!("the clone {} is not readable yet (will retry): {e}", new.id),
            ),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Refuse `id` when the plan names it as prod's or DR's environment.
fn refuse_protected(plan: &Plan, id: &str) -> Result<(), String> {
    match protected_by(&plan.sites, id) {
        Some(s) => Err(format!(
            "refused: {id} is the {} environment ([sites.{}]); nothing was deleted",
            s.upper(),
            s.as_str()
        )),
        None => Ok(()),
    }
}

async fn resolve(d: &DeleteSpec, q: &QoveryClient) -> Result<(String, String), String> {
    match &d.target {
        Target::Id(id) => {
            let name = q
                .environment(id)
                .await
                .map_err(|e| format!("cannot read environment {id}: {e}"))?
                .name;
            Ok((id.clone(), name))
        }
        Target::Name(n) => {
            let anchor = d.anchor.as_deref().unwrap_or_default();
            let e = named(q, anchor, n, "nothing was deleted").await?;
            Ok((e.id, e.name))
        }
    }
}

async fn run_delete(d: &DeleteSpec, ctx: &StepContext) -> Result<String, String> {
    let q = client(ctx)?;
    let (id, name) = resolve(d, &q).await?;
    refuse_protected(&ctx.plan, &id)?;
    let path = QoveryClient::environment_path(&id);
    ctx.info(format!("DELETE {}  ({name})", q.url(&path)));
    match q.delete_environment(&id).await {
        Ok(()) => ctx.info("→ 204 deletion requested"),
        Err(e @ QoveryError::NotFound { .. }) => {
            return Err(format!("{name} ({id}) was not found when deleting it: {e}"));
        }
        Err(e) => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "deleting {name} ({id}) failed: {}; check the environment in Qovery before retrying",
                e.short()
            ));
        }
    }
    ctx.emit(
        Stream::EnvironmentEvidence,
        serde_json::json!({ "deleted": id, "name": name }).to_string(),
    );
    loop {
        match q.environment(&id).await {
            Err(QoveryError::NotFound { .. }) => {
                return Ok(format!("deleted {name} ({id}): it is gone (404)"));
            }
            Ok(_) => match q.environment_status(&id).await {
                Ok(s)
                    if matches!(
                        s.state,
                        State::DeleteQueued
                            | State::Deleting
                            | State::Deleted
                            | State::WaitingDeleting
                    ) =>
                {
                    return Ok(format!(
                        "deleting {name} ({id}): Qovery reports {}",
                        s.state
                    ));
                }
                Ok(s) => ctx.info(format!("{name} is {} (waiting for the deletion)", s.state)),
                Err(QoveryError::NotFound { .. }) => {
                    return Ok(format!("deleted {name} ({id}): it is gone (404)"));
                }
                Err(e) => ctx.emit(Stream::Stderr, format!("poll failed (will retry): {e}")),
            },
            Err(e) => ctx.emit(Stream::Stderr, format!("poll failed (will retry): {e}")),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn preflight_clone(c: &CloneSpec, ctx: &StepContext) -> Vec<PreflightCheck> {
    let q = match client(ctx) {
        Ok(q) => q,
        Err(e) => return vec![check("Qovery configured", Some(false), e)],
    };
    let mut out = Vec::new();
    match find_by_name(&q, &c.source, &c.name).await {
        Ok(None) => out.push(check(
            format!("no environment named {} yet", c.name),
            Some(true),
            format!("source {} readable, name free in its project", c.source),
        )),
        Ok(Some(e)) => out.push(check(
            format!("no environment named {} yet", c.name),
            Some(false),
            format!("{} exists already ({})", e.name, e.id),
        )),
        Err(e) => out.push(check(
            format!("environment {} readable", c.source),
            Some(false),
            e,
        )),
    }
    let org = q.organization_id().to_string();
    match q.cluster_status(&org, &c.cluster).await {
        Ok(s) => out.push(check(
            format!("cluster {} is deployed", c.cluster),
            Some(s.is_deployed && s.status.is_running()),
            format!("status {}, is_deployed {}", s.status, s.is_deployed),
        )),
        Err(e) => out.push(check(
            format!("cluster {} is deployed", c.cluster),
            Some(false),
            e.to_string(),
        )),
    }
    out
}

async fn preflight_delete(d: &DeleteSpec, ctx: &StepContext) -> Vec<PreflightCheck> {
    let q = match client(ctx) {
        Ok(q) => q,
        Err(e) => return vec![check("Qovery configured", Some(false), e)],
    };
    match resolve(d, &q).await {
        Ok((id, name)) => match refuse_protected(&ctx.plan, &id) {
            Ok(()) => vec![check(
                "environment to delete exists and is not prod or DR",
                Some(true),
                format!("{name} ({id})"),
            )],
            Err(e) => vec![check(
                "environment to delete exists and is not prod or DR",
                Some(false),
                e,
            )],
        },
        Err(e) => vec![check("environment to delete exists", Some(false), e)],
    }
}

// ---------------------------------------------------------------------------------------------
// The kinds

/// `qovery.clone_environment`.
pub struct CloneEnvironment;

impl TypedKind for CloneEnvironment {
    type Spec = CloneKeys;
    type Action = CloneSpec;
    fn build(&self, keys: CloneKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build_clone(keys, s)
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        crate::steps::reverse::clone_or_delete(step)
    }
    fn describe(&self, a: &CloneSpec) -> Vec<String> {
        describe_clone(a)
    }
    fn default_timeout(&self, _: &CloneSpec) -> Duration {
        Duration::from_secs(120)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a CloneSpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight_clone(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a CloneSpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run_clone(a, ctx))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({
            "required": ["name"],
            "properties": {"mode": {"enum": ENVIRONMENT_MODES}}
        })
    }
}

/// `qovery.delete_environment`.
pub struct DeleteEnvironment;

impl TypedKind for DeleteEnvironment {
    type Spec = DeleteKeys;
    type Action = DeleteSpec;
    fn build(&self, keys: DeleteKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build_delete(keys, s)
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        crate::steps::reverse::clone_or_delete(step)
    }
    fn describe(&self, a: &DeleteSpec) -> Vec<String> {
        describe_delete(a)
    }
    fn default_timeout(&self, _: &DeleteSpec) -> Duration {
        Duration::from_secs(600)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a DeleteSpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight_delete(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a DeleteSpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run_delete(a, ctx))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["confirm"] })
    }
}
