//! `scaleway.promote_replica`: managed-database promotion over REST (`X-Auth-Token`), confirmed
//! by reading the resulting instance back until it is `ready`.
//!
//! Calls (Scaleway RDB API v1):
//! - `GET  {api}/rdb/v1/regions/{region}/read-replicas/{id}` (state before)
//! - `POST {api}/rdb/v1/regions/{region}/read-replicas/{id}/promote` body `{}` → the new `Instance`
//! - `GET  {api}/rdb/v1/regions/{region}/instances/{instance_id}` until `status` is `ready`
//!
//! Promotion is irreversible and not idempotent on Scaleway's side (the replica disappears), so
//! the POST is sent exactly once per run; a replica already `promoting` is followed, not promoted
//! again.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::http::{RequestSpec, Response};
use crate::journal::PreflightCheck;
pub use crate::plan::PromoteReplica;
use crate::plan::StepAction;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::raw::RawStep;

pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";

/// Plan keys this kind uses (besides the common ones).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalewayKeys {
    /// scaleway.promote_replica: region, e.g. `fr-par`.
    #[serde(default)]
    pub region: Option<String>,
    /// scaleway.promote_replica: the read replica's UUID.
    #[serde(default)]
    pub read_replica_id: Option<String>,
    /// scaleway.promote_replica: secret key, by reference: `${env:SCW_SECRET_KEY}`.
    #[serde(default)]
    pub token: Option<String>,
    /// scaleway.promote_replica: API base URL (default `https://api.scaleway.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// Build a `scaleway.promote_replica` step. `resolve` expands `${env:…}`-style references (and
/// registers secrets with the redactor); its second argument names the plan key.
pub fn build(
    kind: &str,
    raw: &RawStep,
    resolve: &mut dyn FnMut(&str, &'static str) -> Result<String, String>,
) -> Result<StepAction, String> {
    if kind != "scaleway.promote_replica" {
        return Err(format!("`{kind}` is not a scaleway step kind"));
    }
    let raw: ScalewayKeys = raw.spec()?;
    let mut get = |key: &'static str, v: &Option<String>| -> Result<String, String> {
        let v = v.clone().ok_or_else(|| {
            format!(
                "scaleway.promote_replica needs `{key}` (e.g. {})",
                example(key)
            )
        })?;
        resolve(&v, key)
    };
    let region = get("region", &raw.region)?;
    let id = get("read_replica_id", &raw.read_replica_id)?;
    let token = get("token", &raw.token)?;
    let api_url = match &raw.api_url {
        Some(_) => get("api_url", &raw.api_url)?,
        None => DEFAULT_API_URL.into(),
    };
    let ready_timeout = match &raw.timeout {
        Some(t) => crate::plan::parse_duration(t)?,
        None => DEFAULT_READY_TIMEOUT,
    };
    assemble(api_url, region, id, token, ready_timeout)
        .map(StepAction::Scaleway)
        .map_err(|(_, m)| m)
}

/// How long to wait for the promoted instance to be `ready` unless the step sets `timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(900);

fn assemble(
    api_url: String,
    region: String,
    id: String,
    token: String,
    ready_timeout: Duration,
) -> Result<PromoteReplica, (&'static str, String)> {
    if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
        return Err((
            "api_url",
            format!("`api_url` must be an http(s) URL, not `{api_url}`"),
        ));
    }
    if region.trim().is_empty() || region.contains('/') {
        return Err((
            "region",
            format!("`region` `{region}` is not a Scaleway region such as `fr-par`"),
        ));
    }
    if id.trim().is_empty() || id.contains('/') {
        return Err((
            "read_replica_id",
            format!("`read_replica_id` `{id}` is not a read replica UUID"),
        ));
    }
    Ok(PromoteReplica {
        api_url: api_url.trim_end_matches('/').to_string(),
        region: region.trim().to_string(),
        read_replica_id: id.trim().to_string(),
        token,
        ready_timeout,
    })
}

fn build_spec(raw: ScalewayKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let (region, id, token, api) = (
        raw.region.clone(),
        raw.read_replica_id.clone(),
        raw.token.clone(),
        raw.api_url.clone(),
    );
    let timeout_raw = raw.timeout.clone();
    let region = region.ok_or_else(|| s.missing("region", example("region")))?;
    let id = id.ok_or_else(|| s.missing("read_replica_id", example("read_replica_id")))?;
    let token = token.ok_or_else(|| s.missing("token", example("token")))?;
    let region = s.secret("region", &region)?;
    let id = s.secret("read_replica_id", &id)?;
    let token = s.secret("token", &token)?;
    let api_url = match api {
        Some(a) => s.secret("api_url", &a)?,
        None => DEFAULT_API_URL.into(),
    };
    let ready = s.duration("timeout", &timeout_raw)?;
    let p = assemble(
        api_url,
        region,
        id,
        token,
        ready.unwrap_or(DEFAULT_READY_TIMEOUT),
    )
    .map_err(|(key, m)| s.error(key, &m, vec![], None))?;
    Ok(Built {
        timeout: Some(default_timeout(&p)),
        action: StepAction::Scaleway(p),
    })
}

fn example(key: &str) -> &'static str {
    match key {
        "region" => "region = \"fr-par\"",
        "read_replica_id" => "read_replica_id = \"11111111-2222-…\"",
        "token" => "token = \"${env:SCW_SECRET_KEY}\"",
        _ => "…",
    }
}

impl PromoteReplica {
    fn replica_url(&self) -> String {
        format!(
            "{}/rdb/v1/regions/{}/read-replicas/{}",
            self.api_url, self.region, self.read_replica_id
        )
    }
    fn instance_url(&self, id: &str) -> String {
        format!(
            "{}/rdb/v1/regions/{}/instances/{id}",
            self.api_url, self.region
        )
    }
    fn spec(&self, method: &str, url: String, body: Option<&str>) -> RequestSpec {
        let mut headers = vec![("X-Auth-Token".to_string(), self.token.clone())];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        RequestSpec {
            method: method.into(),
            url,
            headers,
            body: body.map(str::to_string),
        }
    }
}

pub fn describe(p: &PromoteReplica) -> Vec<String> {
    vec![
        format!("GET {} (X-Auth-Token: ‹secret key›)", p.replica_url()),
        "  not found → stop: nothing is sent (a promoted replica no longer exists)".into(),
        "  status promoting → follow it, do not promote again".into(),
        format!(
            "POST {}/promote  body {{}}  (X-Auth-Token; irreversible: the replica becomes a standalone instance)",
            p.replica_url()
        ),
        format!(
            "GET {} every 3 s until status is ready (at most {})",
            p.instance_url("{instance_id from the answer}"),
            crate::plan::units::fmt_duration(p.ready_timeout)
        ),
    ]
}

pub fn default_timeout(p: &PromoteReplica) -> Duration {
    p.ready_timeout + Duration::from_secs(60)
}

fn json(r: &Response) -> Option<serde_json::Value> {
    serde_json::from_str(&r.body).ok()
}

fn api_error(what: &str, r: &Response) -> String {
    let msg = json(r)
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| r.body.chars().take(200).collect());
    let hint = match r.status {
        401 | 403 => " (check the secret key in `token` and its IAM permissions on RDB)",
        404 => " (check `region` and `read_replica_id`)",
        _ => "",
    };
    format!("{what}: HTTP {}: {}{hint}", r.status, msg.trim())
}

pub async fn preflight(p: &PromoteReplica, ctx: &StepContext) -> Vec<PreflightCheck> {
    let what = format!("read replica {} in {}", p.read_replica_id, p.region);
    match ctx
        .http
        .send(
            &p.spec("GET", p.replica_url(), None),
            Duration::from_secs(10),
        )
        .await
    {
        Ok(r) if r.status == 200 => {
            let status = json(&r)
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            vec![PreflightCheck {
                what,
                ok: Some(status == "ready"),
                detail: format!("status {status}"),
            }]
        }
        Ok(r) => vec![PreflightCheck {
            what,
            ok: Some(false),
            detail: api_error("GET read replica", &r),
        }],
        Err(e) => vec![PreflightCheck {
            what,
            ok: Some(false),
            detail: e.to_string(),
        }],
    }
}

pub async fn run(p: &PromoteReplica, ctx: &StepContext) -> Result<String, String> {
    if ctx.http.is_read_only() {
        log::warn!(target: "safety", "read-only session refused scaleway.promote_replica");
        return Err(
            "refused: this session is read-only (monitor/review mode); scaleway.promote_replica may not run"
                .into(),
        );
    }
    let t = Duration::from_secs(30);
    ctx.info(format!("GET {}", p.replica_url()));
    let before = ctx
        .http
        .send(&p.spec("GET", p.replica_url(), None), t)
        .await
        .map_err(|e| e.to_string())?;
    if before.status == 404 {
        return Err(format!(
            "read replica {} not found in {}: nothing was sent. If it was already promoted, the new instance is listed under instances.",
            p.read_replica_id, p.region
        ));
    }
    if before.status != 200 {
        return Err(api_error("GET read replica", &before));
    }
    let replica = json(&before).unwrap_or_default();
    let rstatus = replica["status"].as_str().unwrap_or("?").to_string();
    ctx.info(format!("read replica status: {rstatus}"));
    let mut instance_id = replica["instance_id"].as_str().map(str::to_string);
    if rstatus != "promoting" {
        ctx.info(format!("POST {}/promote {{}}", p.replica_url()));
        let r = ctx
            .http
            .send(
                &p.spec("POST", format!("{}/promote", p.replica_url()), Some("{}")),
                t,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !(200..300).contains(&r.status) {
            return Err(api_error("POST promote", &r));
        }
        let inst = json(&r).unwrap_or_default();
        instance_id = inst["id"].as_str().map(str::to_string).or(instance_id);
        ctx.info(format!(
            "→ {}: instance {} {} status {}",
            r.status,
            inst["name"].as_str().unwrap_or("?"),
            instance_id.as_deref().unwrap_or("?"),
            inst["status"].as_str().unwrap_or("?")
        ));
    } else {
        ctx.info("already promoting: following it, not promoting again");
    }
    let Some(iid) = instance_id else {
        return Err("the promote answer names no instance id: check the console".into());
    };
    // Read back until ready.
    let deadline = Instant::now() + p.ready_timeout;
    let mut last = String::new();
    loop {
        match ctx
            .http
            .send(&p.spec("GET", p.instance_url(&iid), None), t)
            .await
        {
            Ok(r) if r.status == 200 => {
                let v = json(&r).unwrap_or_default();
                let st = v["status"].as_str().unwrap_or("?").to_string();
                if st != last {
                    ctx.info(format!("instance {iid}: {st}"));
                    last = st.clone();
                }
                if st == "ready" {
                    return Ok(format!(
                        "read replica {} promoted: instance {} ({iid}) is ready",
                        p.read_replica_id,
                        v["name"].as_str().unwrap_or("?")
                    ));
                }
                if st == "error" {
                    return Err(format!("instance {iid} is in status error after promotion"));
                }
            }
            Ok(r) => ctx.emit(Stream::Stderr, api_error("GET instance", &r)),
            Err(e) => ctx.emit(Stream::Stderr, e.to_string()),
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "instance {iid} not ready after {} (last status {last})",
                crate::plan::units::fmt_duration(p.ready_timeout)
            ));
        }
        tokio::time::sleep(
            Duration::from_secs(3).min(p.ready_timeout / 4 + Duration::from_millis(50)),
        )
        .await;
    }
}

/// `scaleway.promote_replica`.
pub struct Scaleway;

impl TypedKind for Scaleway {
    type Spec = ScalewayKeys;
    type Action = PromoteReplica;
    fn action(a: &StepAction) -> Option<&PromoteReplica> {
        match a {
            StepAction::Scaleway(x) => Some(x),
            _ => None,
        }
    }
    fn build(&self, keys: ScalewayKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build_spec(keys, s)
    }
    fn describe(&self, a: &PromoteReplica) -> Vec<String> {
        describe(a)
    }
    fn default_timeout(&self, a: &PromoteReplica) -> Duration {
        default_timeout(a)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a PromoteReplica,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a PromoteReplica,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(a, ctx))
    }
}
