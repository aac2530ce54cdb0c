//! `qovery.set_image`: point the DR containers at the DR registry and the prod tag.
//!
//! Qovery deploys exactly the image reference a container has; it does not remap registries.
//! This step refuses unless every selected image is in the DR registry with the prod digest
//! (checked when it runs and in the preflight; a plan can also `requires = ["dr.images.synced"]`).
//! Then, per container, it follows the full-replacement rules of `PUT /container/{id}`: `GET` the
//! container, copy every `ContainerRequest` field (ports and storage keep their `id`s, or Qovery
//! deletes and recreates them), change `image_name`, `tag` and `registry_id`, `PUT` it, and read it
//! back. A container already on the target is left alone. The PUT is never retried.

use std::time::Duration;

use serde_json::{Value, json};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::qovery::{QoveryClient, QoverySettings, encode};
use crate::journal::PreflightCheck;
pub use crate::plan::SetImage;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{SiteId, StepAction};
use crate::probes::images::{ImageRow, check, short_digest, verify_synced};

/// The keys `qovery.set_image` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetImageKeys {
    /// The services whose containers are pointed at the DR registry (default: every service of
    /// `[images]`).
    #[serde(default)]
    pub services: Vec<String>,
    /// qovery.set_image: the Qovery container registry id of the DR registry (default: the
    /// organization's registry whose URL has the host of `[sites.dr] registry.url`).
    #[serde(default)]
    pub registry_id: Option<String>,
    /// The Qovery environment id to act on (default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

fn build_spec(keys: SetImageKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let timeout = s.duration("timeout", &keys.timeout)?;
    let Some(q) = s.qovery().cloned() else {
        return Err(s.error(
            "kind",
            "qovery.set_image needs a [qovery] section (token, organization)",
            vec![],
            None,
        ));
    };
    let Some(images) = s.images().cloned() else {
        return Err(s.error(
            "kind",
            "qovery.set_image needs an [images] section naming the services whose images it moves",
            vec![],
            None,
        ));
    };
    let site = match s.raw().site.as_deref().map(str::trim) {
        None | Some("dr") => SiteId::Dr,
        Some(_) => SiteId::Prod,
    };
    let sites = s.sites().clone();
    let Some(reg) = sites[site.index()].registry.clone() else {
        return Err(s.error(
            "site",
            &format!(
                "qovery.set_image points the {} containers at the {} registry, but [sites.{}] has no `registry`",
                site.upper(),
                site.upper(),
                site.as_str()
            ),
            vec![],
            None,
        ));
    };
    if sites[SiteId::Prod.index()].registry.is_none() {
        return Err(s.error(
            "kind",
            "qovery.set_image compares digests with the prod registry, but [sites.prod] has no `registry`",
            vec![],
            None,
        ));
    }
    let environment = match keys.environment.clone() {
        Some(e) => s.secret("environment", &e)?,
        None => match &sites[site.index()].environment {
            Some(e) => e.clone(),
            None => {
                return Err(s.error(
                    "site",
                    &format!(
                        "qovery.set_image acts on the {} environment, but [sites.{}] has no `environment`",
                        site.upper(),
                        site.as_str()
                    ),
                    vec![],
                    None,
                ));
            }
        },
    };
    let known: Vec<String> = images.services.iter().map(|p| p.service.clone()).collect();
    let services = if keys.services.is_empty() {
        known.clone()
    } else {
        for svc in &keys.services {
            if !known.contains(svc) {
                return Err(s.error(
                    "services",
                    &format!("`{svc}` is not a service of [images]"),
                    known.clone(),
                    crate::plan::load::suggest(svc, known.iter().map(String::as_str))
                        .map(str::to_string),
                ));
            }
        }
        keys.services.clone()
    };
    if services.is_empty() {
        return Err(s.error(
            "services",
            "[images] lists no services to move",
            vec![],
            None,
        ));
    }
    let registry_id = match keys.registry_id.clone() {
        Some(r) if r.trim().is_empty() => {
            return Err(s.error("registry_id", "`registry_id` is empty", vec![], None));
        }
        Some(r) => Some(s.secret("registry_id", &r)?.trim().to_string()),
        None => None,
    };
    let ns = |site: SiteId| {
        sites[site.index()]
            .registry
            .as_ref()
            .and_then(|r| r.namespace.clone())
    };
    Ok(Built {
        action: StepAction::SetImage(SetImage {
            site,
            environment,
            services,
            registry_id,
            api_url: q.api_url.trim_end_matches('/').to_string(),
            registry_url: reg.url.clone(),
            namespaces: (ns(SiteId::Prod), ns(SiteId::Dr)),
        }),
        timeout,
    })
}

/// The `ContainerRequest` fields, in the spec's order.
const REQUEST_FIELDS: &[&str] = &[
    "name",
    "description",
    "registry_id",
    "image_name",
    "tag",
    "arguments",
    "entrypoint",
    "cpu",
    "memory",
    "gpu",
    "ephemeral_storage_in_gib",
    "cpu_architecture",
    "min_running_instances",
    "max_running_instances",
    "healthchecks",
    "auto_preview",
    "ports",
    "storage",
    "annotations_groups",
    "labels_groups",
    "auto_deploy",
    "icon_uri",
    "autoscaling",
];
const PORT_FIELDS: &[&str] = &[
    "id",
    "name",
    "internal_port",
    "external_port",
    "publicly_accessible",
    "is_default",
    "protocol",
    "public_path",
    "public_path_rewrite",
];
const STORAGE_FIELDS: &[&str] = &["id", "type", "size", "mount_point"];

fn pick(v: &Value, keys: &[&str]) -> Value {
    let mut o = serde_json::Map::new();
    for k in keys {
        if let Some(x) = v.get(*k)
            && !x.is_null()
        {
            o.insert((*k).to_string(), x.clone());
        }
    }
    Value::Object(o)
}

/// The `ContainerRequest` for `PUT /container/{id}` from a `GET /container/{id}` answer: every
/// field kept (ports and storage with their ids, annotation and label groups by id), with
/// `registry_id`, `image_name` and `tag` changed.
pub fn container_request(current: &Value, registry_id: &str, image_name: &str, tag: &str) -> Value {
    let mut body = pick(current, REQUEST_FIELDS);
    let list = |k: &str, keys: &[&str]| -> Value {
        Value::Array(
            current[k]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| pick(x, keys))
                .collect(),
        )
    };
    if let Some(o) = body.as_object_mut() {
        if current.get("ports").is_some() {
            o.insert("ports".into(), list("ports", PORT_FIELDS));
        }
        if current.get("storage").is_some() {
            o.insert("storage".into(), list("storage", STORAGE_FIELDS));
        }
        for g in ["annotations_groups", "labels_groups"] {
            if current.get(g).is_some() {
                o.insert(g.into(), list(g, &["id"]));
            }
        }
        // `healthchecks` is required; an answer without it gets the empty object Qovery shows.
        o.entry("healthchecks").or_insert(json!({}));
        o.insert("registry_id".into(), json!(registry_id));
        o.insert("image_name".into(), json!(image_name));
        o.insert("tag".into(), json!(tag));
    }
    body
}

fn ids_of(v: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = v[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn where_(a: &SetImage) -> String {
    format!("the {} environment {}", a.site.upper(), a.environment)
}

fn repo_rule(a: &SetImage) -> String {
    match &a.namespaces {
        (Some(p), Some(d)) => format!(
            "the prod repository with `{}/` → `{}/`",
            p.trim_matches('/'),
            d.trim_matches('/')
        ),
        (None, Some(d)) => format!("`{}/` + the prod repository", d.trim_matches('/')),
        (Some(p), None) => format!("the prod repository without `{}/`", p.trim_matches('/')),
        (None, None) => "the prod repository name".into(),
    }
}

/// Exactly what the step would do (review mode). The preflight shows each PUT body in full.
pub fn describe(a: &SetImage) -> Vec<String> {
    let base = &a.api_url;
    let env = encode(&a.environment);
    let reg = match &a.registry_id {
        Some(r) => r.clone(),
        None => format!(
            "‹the organization's registry with the host of {}› (GET {base}/organization/‹org›/containerRegistry)",
            a.registry_url
        ),
    };
    let mut v = vec![
        format!("on {}: services {}", where_(a), a.services.join(", ")),
        format!(
            "refused unless each image is in the {} registry {} with the prod digest: HEAD <registry>/v2/<repository>/manifests/<tag> on both registries (all four manifest types in Accept)",
            a.site.upper(),
            a.registry_url
        ),
        format!("GET {base}/environment/{env}/container (container ids by name)"),
    ];
    for s in &a.services {
        v.push(format!("{s}: GET {base}/container/‹id of {s}›"));
        v.push(format!(
            "  PUT {base}/container/‹id of {s}›  body: every ContainerRequest field of that answer (ports and storage with their ids) with registry_id = {reg}, image_name = {}, tag = the prod tag",
            repo_rule(a)
        ));
        v.push(format!("  then GET {base}/container/‹id of {s}› again: image, tag, registry, port and storage ids must read back"));
    }
    v.push("a container already on that image, tag and registry is left alone; the PUT is never retried".into());
    v.push("the containers run the new image at the next deployment (deploy after this step); the preflight shows each exact body".into());
    v
}

pub fn default_timeout(_a: &SetImage) -> Duration {
    Duration::from_secs(300)
}

fn client(ctx: &StepContext) -> Result<QoveryClient, String> {
    match &ctx.plan.qovery {
        Some(cfg) => Ok(QoveryClient::new(
            QoverySettings::from_plan(cfg),
            ctx.http.clone(),
        )),
        None => Err("the plan has no [qovery] section".into()),
    }
}

fn check_line(
    what: impl Into<String>,
    ok: Option<bool>,
    detail: impl Into<String>,
) -> PreflightCheck {
    PreflightCheck {
        what: what.into(),
        ok,
        detail: detail.into(),
    }
}

fn row_line(r: &ImageRow) -> String {
    let d = |l: &crate::probes::images::Lookup| match l {
        crate::probes::images::Lookup::Present(m) => short_digest(&m.digest),
        crate::probes::images::Lookup::Missing => "missing".into(),
        crate::probes::images::Lookup::Error(e) => format!("? {e}"),
        crate::probes::images::Lookup::NotAsked => "?".into(),
    };
    format!(
        "{}:{} prod {} · {}:{} dr {} · {}",
        r.target.prod_repository,
        r.target.tag.as_deref().unwrap_or("?"),
        d(&r.prod),
        r.target.dr_repository,
        r.target.tag.as_deref().unwrap_or("?"),
        d(&r.dr),
        r.sync().mark()
    )
}

fn host_of(url: &str) -> String {
    let u = url.trim();
    let u = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
    u.split('/').next().unwrap_or("").to_ascii_lowercase()
}

/// The Qovery registry id to point the containers at.
async fn registry_id(a: &SetImage, c: &QoveryClient) -> Result<(String, String), String> {
    let org = c.organization_id().to_string();
    let list = c.list_container_registries(&org).await;
    match (&a.registry_id, list) {
        (Some(id), Ok(l)) => match l.iter().find(|r| &r.id == id) {
            Some(r) => Ok((id.clone(), r.name.clone().unwrap_or_default())),
            None => Err(format!(
                "registry_id {id} is not a container registry of the organization; it has: {}",
                l.iter()
                    .map(|r| format!("{} ({})", r.id, r.url.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        // The list could not be read: trust the plan's id (the PUT will say if it is wrong).
        (Some(id), Err(_)) => Ok((id.clone(), String::new())),
        (None, Ok(l)) => {
            let want = host_of(&a.registry_url);
            l.iter()
                .find(|r| r.url.as_deref().map(host_of).as_deref() == Some(want.as_str()))
                .map(|r| (r.id.clone(), r.name.clone().unwrap_or_default()))
                .ok_or_else(|| {
                    format!(
                        "no container registry of the organization has the host {want}; set `registry_id` on the step (registries: {})",
                        l.iter()
                            .map(|r| format!("{} {}", r.id, r.url.as_deref().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        }
        (None, Err(e)) => Err(format!(
            "cannot list the organization's container registries: {e}"
        )),
    }
}

/// Read-only: the images are in the DR registry with the prod digest, the registry id resolves,
/// each container exists, and the exact body each PUT would send.
pub async fn preflight(a: &SetImage, ctx: &StepContext) -> Vec<PreflightCheck> {
    let mut out = Vec::new();
    let rows = match check(&ctx.plan, &ctx.http, &ctx.probes.images, Some(&a.services)).await {
        Ok(r) => r,
        Err(e) => {
            out.push(check_line("images readable", Some(false), e.full));
            return out;
        }
    };
    for r in &rows {
        out.push(check_line(
            format!(
                "{} image in the {} registry with the prod digest",
                r.target.service,
                a.site.upper()
            ),
            Some(r.sync() == crate::probes::images::Sync::Same),
            row_line(r),
        ));
    }
    let c = match client(ctx) {
        Ok(c) => c,
        Err(e) => {
            out.push(check_line("Qovery configured", Some(false), e));
            return out;
        }
    };
    let reg = registry_id(a, &c).await;
    match &reg {
        Ok((id, name)) => out.push(check_line(
            "Qovery registry",
            Some(true),
            format!("{id} {name}"),
        )),
        Err(e) => out.push(check_line("Qovery registry", Some(false), e.clone())),
    }
    let list = match c.list_containers(&a.environment).await {
        Ok(l) => l,
        Err(e) => {
            out.push(check_line(
                "containers readable",
                Some(false),
                e.to_string(),
            ));
            return out;
        }
    };
    for r in &rows {
        let svc = &r.target.service;
        let Some(ct) = list.iter().find(|c| &c.name == svc) else {
            out.push(check_line(
                format!("container {svc} exists"),
                Some(false),
                format!(
                    "no container named {svc} in {}; it has {}",
                    where_(a),
                    list.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        };
        let (Ok((rid, _)), Some(tag)) = (&reg, &r.target.tag) else {
            continue;
        };
        match c.get_container_json(&ct.id).await {
            Ok(cur) => {
                let body = container_request(&cur, rid, &r.target.dr_repository, tag);
                out.push(check_line(
                    format!(
                        "container {svc}: {}:{} → {}:{}",
                        ct.image_name, ct.tag, r.target.dr_repository, tag
                    ),
                    Some(true),
                    format!(
                        "PUT {}  {}",
                        c.url(&QoveryClient::container_path(&ct.id)),
                        body
                    ),
                ));
            }
            Err(e) => out.push(check_line(
                format!("container {svc} readable"),
                Some(false),
                e.to_string(),
            )),
        }
    }
    out
}

/// Run the step.
pub async fn run(a: &SetImage, ctx: &StepContext) -> Result<String, String> {
    let c = client(ctx)?;
    ctx.info(format!(
        "checking {} image(s) in the prod and {} registries",
        a.services.len(),
        a.site.upper()
    ));
    let rows = check(&ctx.plan, &ctx.http, &ctx.probes.images, Some(&a.services))
        .await
        .map_err(|e| format!("cannot check the images: {}", e.full))?;
    for r in &rows {
        ctx.info(format!("  {}: {}", r.target.service, row_line(r)));
    }
    if let Err(why) = verify_synced(&rows) {
        return Err(format!(
            "refused, nothing was changed: not every image is in the {} registry with the prod digest: {why}. Copy the images (e.g. `skopeo copy --all docker://<prod>/<repo>:<tag> docker://<dr>/<repo>:<tag>`), then retry",
            a.site.upper()
        ));
    }
    let (rid, rname) = registry_id(a, &c).await?;
    ctx.info(format!("Qovery registry {rid} {rname}"));
    let list = c
        .list_containers(&a.environment)
        .await
        .map_err(|e| format!("cannot list the containers of {}: {e}", where_(a)))?;
    // Resolve every container before writing anything.
    let mut work = Vec::new();
    let mut missing = Vec::new();
    for r in &rows {
        match list.iter().find(|c| c.name == r.target.service) {
            Some(ct) => work.push((ct.clone(), r)),
            None => missing.push(r.target.service.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "nothing was changed: no container named {} in {}; it has {}",
            missing.join(", "),
            where_(a),
            list.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut done: Vec<String> = Vec::new();
    let mut unchanged: Vec<String> = Vec::new();
    for (ct, r) in work {
        let svc = &r.target.service;
        let tag = r.target.tag.clone().unwrap_or_default();
        let repo = &r.target.dr_repository;
        let so_far = || {
            if done.is_empty() {
                " (no container was changed)".to_string()
            } else {
                format!(" (already changed: {})", done.join(", "))
            }
        };
        let cur = c
            .get_container_json(&ct.id)
            .await
            .map_err(|e| format!("cannot read container {svc}: {e}{}", so_far()))?;
        if cur["image_name"].as_str() == Some(repo.as_str())
            && cur["tag"].as_str() == Some(tag.as_str())
            && cur["registry"]["id"].as_str() == Some(rid.as_str())
        {
            ctx.info(format!("  {svc}: already {repo}:{tag} on {rid}"));
            unchanged.push(svc.clone());
            continue;
        }
        let body = container_request(&cur, &rid, repo, &tag);
        let url = c.url(&QoveryClient::container_path(&ct.id));
        ctx.info(format!(
            "  {svc}: {}:{} → {repo}:{tag}",
            cur["image_name"].as_str().unwrap_or("?"),
            cur["tag"].as_str().unwrap_or("?")
        ));
        ctx.info(format!("PUT {url}  {body}"));
        if let Err(e) = c.edit_container_json(&ct.id, &body).await {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!("PUT container {svc} failed: {e}{}", so_far()));
        }
        let back = c
            .get_container_json(&ct.id)
            .await
            .map_err(|e| format!("{svc} written, but the read-back failed: {e}"))?;
        let mut bad = Vec::new();
        if back["image_name"].as_str() != Some(repo.as_str()) {
            bad.push(format!("image_name reads {}", back["image_name"]));
        }
        if back["tag"].as_str() != Some(tag.as_str()) {
            bad.push(format!("tag reads {}", back["tag"]));
        }
        if back["registry"]["id"].as_str() != Some(rid.as_str()) {
            bad.push(format!("registry reads {}", back["registry"]["id"]));
        }
        for k in ["ports", "storage"] {
            if ids_of(&back, k) != ids_of(&cur, k) {
                bad.push(format!(
                    "{k} ids changed: {:?} → {:?}",
                    ids_of(&cur, k),
                    ids_of(&back, k)
                ));
            }
        }
        if !bad.is_empty() {
            return Err(format!("read-back of {svc} failed: {}", bad.join("; ")));
        }
        ctx.info(format!("  {svc}: read back {repo}:{tag} on {rid} ✓"));
        done.push(svc.clone());
    }
    ctx.info("the containers run the new image at the next deployment");
    Ok(format!(
        "{} of {} on the {} registry with the prod digest{}",
        if done.is_empty() {
            "no container changed".to_string()
        } else {
            format!("{} repointed", done.join(", "))
        },
        where_(a),
        a.site.upper(),
        if unchanged.is_empty() {
            String::new()
        } else {
            format!(" ({} already there)", unchanged.join(", "))
        }
    ))
}

/// `qovery.set_image`.
pub struct SetImageKind;

impl TypedKind for SetImageKind {
    type Spec = SetImageKeys;
    type Action = SetImage;
    fn action(a: &StepAction) -> Option<&SetImage> {
        match a {
            StepAction::SetImage(a) => Some(a),
            _ => None,
        }
    }
    fn build(&self, keys: SetImageKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build_spec(keys, s)
    }
    fn describe(&self, a: &SetImage) -> Vec<String> {
        describe(a)
    }
    fn default_timeout(&self, a: &SetImage) -> Duration {
        default_timeout(a)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a SetImage,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a SetImage,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(a, ctx))
    }
}
