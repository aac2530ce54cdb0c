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
//! again. Instead of `read_replica_id` a step may name `instance_id`: the one read replica that
//! instance has when the step runs is promoted (`GET …/instances/{id}` lists `read_replicas`), which
//! is how a failback promotes the replica `scaleway.create_read_replica` made.
//!
//! The RDB client helpers ([`Rdb`], [`api_error`], [`poll_ready`]) are shared with
//! `scaleway_replica` (`scaleway.create_read_replica`).

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
    /// scaleway.promote_replica: instead of `read_replica_id`, promote the one read replica this
    /// instance (UUID) has when the step runs (a failback's replica is made during the run).
    #[serde(default)]
    pub instance_id: Option<String>,
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
    let (id, instance) = match &raw.instance_id {
        Some(i) if raw.read_replica_id.is_none() => {
            (String::new(), Some(get("instance_id", &Some(i.clone()))?))
        }
        _ => (get("read_replica_id", &raw.read_replica_id)?, None),
    };
    let token = get("token", &raw.token)?;
    let api_url = match &raw.api_url {
        Some(_) => get("api_url", &raw.api_url)?,
        None => DEFAULT_API_URL.into(),
    };
    let ready_timeout = match &raw.timeout {
        Some(t) => crate::plan::parse_duration(t)?,
        None => DEFAULT_READY_TIMEOUT,
    };
    assemble(api_url, region, (id, instance), token, ready_timeout)
        .map(StepAction::Scaleway)
        .map_err(|(_, m)| m)
}

/// How long to wait for the promoted instance to be `ready` unless the step sets `timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(900);

/// Check the API base URL and region every Scaleway kind takes.
pub(crate) fn check_location(api_url: &str, region: &str) -> Result<(), (&'static str, String)> {
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
    Ok(())
}

/// Check a UUID the plan gives for a path segment (`read_replica_id`, `instance_id`).
pub(crate) fn check_id(
    key: &'static str,
    id: &str,
    what: &str,
) -> Result<(), (&'static str, String)> {
    if id.trim().is_empty() || id.contains('/') {
        return Err((key, format!("`{key}` `{id}` is not a {what} UUID")));
    }
    Ok(())
}

/// `(read_replica_id, instance_id)`: one of them (the other empty / `None`).
type Target = (String, Option<String>);

fn assemble(
    api_url: String,
    region: String,
    (id, instance): Target,
    token: String,
    ready_timeout: Duration,
) -> Result<PromoteReplica, (&'static str, String)> {
    check_location(&api_url, &region)?;
    match &instance {
        Some(i) => check_id("instance_id", i, "Database Instance")?,
        None => check_id("read_replica_id", &id, "read replica")?,
    }
    Ok(PromoteReplica {
        api_url: api_url.trim_end_matches('/').to_string(),
        region: region.trim().to_string(),
        read_replica_id: id.trim().to_string(),
        instance_id: instance.map(|i| i.trim().to_string()),
        token,
        ready_timeout,
    })
}

fn build_spec(raw: ScalewayKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let (region, id, instance, token, api) = (
        raw.region.clone(),
        raw.read_replica_id.clone(),
        raw.instance_id.clone(),
        raw.token.clone(),
        raw.api_url.clone(),
    );
    let timeout_raw = raw.timeout.clone();
    let region = region.ok_or_else(|| s.missing("region", example("region")))?;
    let target = match (id, instance) {
        (Some(_), Some(_)) => {
            return Err(s.error(
                "instance_id",
                "give `read_replica_id` (that replica) or `instance_id` (its one read replica), not both",
                vec![],
                None,
            ));
        }
        (None, Some(i)) => (String::new(), Some(s.secret("instance_id", &i)?)),
        (id, None) => {
            let id = id.ok_or_else(|| s.missing("read_replica_id", example("read_replica_id")))?;
            (s.secret("read_replica_id", &id)?, None)
        }
    };
    let token = token.ok_or_else(|| s.missing("token", example("token")))?;
    let region = s.secret("region", &region)?;
    let token = s.secret("token", &token)?;
    let api_url = match api {
        Some(a) => s.secret("api_url", &a)?,
        None => DEFAULT_API_URL.into(),
    };
    let ready = s.duration("timeout", &timeout_raw)?;
    let p = assemble(
        api_url,
        region,
        target,
        token,
        ready.unwrap_or(DEFAULT_READY_TIMEOUT),
    )
    .map_err(|(key, m)| s.error(key, &m, vec![], None))?;
    Ok(Built {
        timeout: Some(default_timeout(&p)),
        action: StepAction::Scaleway(p),
    })
}

pub(crate) fn example(key: &str) -> &'static str {
    match key {
        "region" => "region = \"fr-par\"",
        "instance_id" => "instance_id = \"0f9e8d7c-6b5a-…\"",
        "read_replica_id" => "read_replica_id = \"11111111-2222-…\"",
        "token" => "token = \"${env:SCW_SECRET_KEY}\"",
        _ => "…",
    }
}

/// The RDB v1 API of one region with one secret key: what both Scaleway kinds call.
pub(crate) struct Rdb<'a> {
    pub api_url: &'a str,
    pub region: &'a str,
    pub token: &'a str,
}

impl Rdb<'_> {
    /// `{api}/rdb/v1/regions/{region}/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/rdb/v1/regions/{}/{path}", self.api_url, self.region)
    }
    pub fn spec(&self, method: &str, path: &str, body: Option<&str>) -> RequestSpec {
        let mut headers = vec![("X-Auth-Token".to_string(), self.token.to_string())];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        RequestSpec {
            method: method.into(),
            url: self.url(path),
            headers,
            body: body.map(str::to_string),
        }
    }
    /// Send one request (the transport refuses a mutating one in a read-only session).
    pub async fn send(
        &self,
        ctx: &StepContext,
        method: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<Response, String> {
        ctx.http
            .send(&self.spec(method, path, body), timeout)
            .await
            .map_err(|e| e.to_string())
    }
}

impl PromoteReplica {
    fn rdb(&self) -> Rdb<'_> {
        Rdb {
            api_url: &self.api_url,
            region: &self.region,
            token: &self.token,
        }
    }
    fn replica_path(&self, id: &str) -> String {
        format!("read-replicas/{id}")
    }
    fn replica_url(&self) -> String {
        self.rdb().url(&self.replica_path(&self.read_replica_id))
    }
    fn instance_url(&self, id: &str) -> String {
        self.rdb().url(&format!("instances/{id}"))
    }
}

pub fn describe(p: &PromoteReplica) -> Vec<String> {
    let mut v = Vec::new();
    let replica = match &p.instance_id {
        Some(iid) => {
            v.push(format!(
                "GET {} (X-Auth-Token: ‹secret key›): its read_replicas",
                p.instance_url(iid)
            ));
            v.push("  none → stop: nothing is sent; two or more → stop: name one with `read_replica_id`".into());
            p.rdb().url("read-replicas/{the one read replica}")
        }
        None => p.replica_url(),
    };
    v.extend([
        format!("GET {replica} (X-Auth-Token: ‹secret key›)"),
        "  not found → stop: nothing is sent (a promoted replica no longer exists)".into(),
        "  status promoting → follow it, do not promote again".into(),
        format!(
            "POST {replica}/promote  body {{}}  (X-Auth-Token; irreversible: the replica becomes a standalone instance)"
        ),
        format!(
            "GET {} every 3 s until status is ready (at most {})",
            p.instance_url("{instance_id from the answer}"),
            crate::plan::units::fmt_duration(p.ready_timeout)
        ),
    ]);
    v
}

pub fn default_timeout(p: &PromoteReplica) -> Duration {
    p.ready_timeout + Duration::from_secs(60)
}

pub(crate) fn json(r: &Response) -> Option<serde_json::Value> {
    serde_json::from_str(&r.body).ok()
}

fn api_error(what: &str, r: &Response) -> String {
    api_error_for(what, r, "(check `region` and `read_replica_id`)")
}

/// A Scaleway API error an operator can act on: status, Scaleway's `message` (and `type`, e.g.
/// `quotas_exceeded`, `transient_state`), and a hint; `not_found` gets `hint_404`.
pub(crate) fn api_error_for(what: &str, r: &Response, hint_404: &str) -> String {
    let v = json(r);
    let msg = v
        .as_ref()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| r.body.chars().take(200).collect());
    let kind = v
        .as_ref()
        .and_then(|v| v["type"].as_str().map(str::to_string));
    let hint = match (r.status, kind.as_deref()) {
        (401 | 403, _) => {
            " (check the secret key in `token` and its IAM permissions on RDB)".to_string()
        }
        (404, _) => format!(" {hint_404}"),
        (_, Some("quotas_exceeded")) => {
            " (quotas_exceeded: an instance has at most 3 read replicas)".to_string()
        }
        (_, Some("transient_state")) => format!(
            " (transient_state: the {} is {}; wait for it to be ready)",
            v.as_ref()
                .and_then(|v| v["resource"].as_str())
                .unwrap_or("resource"),
            v.as_ref()
                .and_then(|v| v["current_state"].as_str())
                .unwrap_or("busy")
        ),
        _ => String::new(),
    };
    format!("{what}: HTTP {}: {}{hint}", r.status, msg.trim())
}

/// What to poll and how [`poll_ready`] reports it.
pub(crate) struct Poll<'a> {
    /// The API path to GET (`instances/{id}`, `read-replicas/{id}`).
    pub path: String,
    /// How the log and errors name it (`instance 7c6b…`).
    pub label: String,
    /// For a non-200 answer: `GET instance`.
    pub get_what: &'a str,
    /// Statuses that end the wait as a failure.
    pub failed: &'a [&'a str],
    /// Said after `is in status X` when it fails (` after promotion`).
    pub after: &'a str,
    pub timeout: Duration,
    pub every: Duration,
}

/// GET `poll.path` until its `status` is `ready` (each change is logged) and return the last
/// answer; a status in `poll.failed` or the timeout ends it with an error.
pub(crate) async fn poll_ready(
    rdb: &Rdb<'_>,
    ctx: &StepContext,
    poll: &Poll<'_>,
) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + poll.timeout;
    let mut last = String::new();
    loop {
        match rdb
            .send(ctx, "GET", &poll.path, None, Duration::from_secs(30))
            .await
        {
            Ok(r) if r.status == 200 => {
                let v = json(&r).unwrap_or_default();
                let st = v["status"].as_str().unwrap_or("?").to_string();
                if st != last {
                    ctx.info(format!("{}: {st}", poll.label));
                    last = st.clone();
                }
                if st == "ready" {
                    return Ok(v);
                }
                if poll.failed.contains(&st.as_str()) {
                    return Err(format!("{} is in status {st}{}", poll.label, poll.after));
                }
            }
            Ok(r) => ctx.emit(Stream::Stderr, api_error(poll.get_what, &r)),
            Err(e) => ctx.emit(Stream::Stderr, e),
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{} not ready after {} (last status {last})",
                poll.label,
                crate::plan::units::fmt_duration(poll.timeout)
            ));
        }
        tokio::time::sleep(poll.every.min(poll.timeout / 4 + Duration::from_millis(50))).await;
    }
}

/// The replica a step promotes: its own `read_replica_id`, or the one read replica of its
/// `instance_id` now.
async fn target_replica(p: &PromoteReplica, ctx: &StepContext) -> Result<String, String> {
    let Some(iid) = &p.instance_id else {
        return Ok(p.read_replica_id.clone());
    };
    let path = format!("instances/{iid}");
    ctx.info(format!("GET {}", p.rdb().url(&path)));
    let r = p
        .rdb()
        .send(ctx, "GET", &path, None, Duration::from_secs(30))
        .await?;
    if r.status != 200 {
        return Err(api_error_for(
            "GET instance",
            &r,
            "(check `region` and `instance_id`)",
        ));
    }
    let v = json(&r).unwrap_or_default();
    let ids: Vec<&str> = v["read_replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["id"].as_str())
        .collect();
    match ids.as_slice() {
        [one] => {
            ctx.info(format!("instance {iid} has one read replica: {one}"));
            Ok(one.to_string())
        }
        [] => Err(format!(
            "instance {iid} has no read replica: nothing was sent. If it was already promoted, the new instance is listed under instances."
        )),
        many => Err(format!(
            "instance {iid} has {} read replicas ({}): nothing was sent; name the one to promote with `read_replica_id`",
            many.len(),
            many.join(", ")
        )),
    }
}

pub async fn preflight(p: &PromoteReplica, ctx: &StepContext) -> Vec<PreflightCheck> {
    let what = match &p.instance_id {
        Some(iid) => format!("the read replica of instance {iid} in {}", p.region),
        None => format!("read replica {} in {}", p.read_replica_id, p.region),
    };
    let fail = |detail: String| {
        vec![PreflightCheck {
            what: what.clone(),
            ok: Some(false),
            detail,
        }]
    };
    let id = match target_replica(p, ctx).await {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    match p
        .rdb()
        .send(
            ctx,
            "GET",
            &p.replica_path(&id),
            None,
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
        Ok(r) => fail(api_error("GET read replica", &r)),
        Err(e) => fail(e),
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
    let rdb = p.rdb();
    let id = target_replica(p, ctx).await?;
    let path = p.replica_path(&id);
    ctx.info(format!("GET {}", rdb.url(&path)));
    let before = rdb.send(ctx, "GET", &path, None, t).await?;
    if before.status == 404 {
        return Err(format!(
            "read replica {id} not found in {}: nothing was sent. If it was already promoted, the new instance is listed under instances.",
            p.region
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
        ctx.info(format!("POST {}/promote {{}}", rdb.url(&path)));
        let promote = format!("{path}/promote");
        let r = rdb.send(ctx, "POST", &promote, Some("{}"), t).await?;
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
    let v = poll_ready(
        &rdb,
        ctx,
        &Poll {
            path: format!("instances/{iid}"),
            label: format!("instance {iid}"),
            get_what: "GET instance",
            failed: &["error"],
            after: " after promotion",
            timeout: p.ready_timeout,
            every: Duration::from_secs(3),
        },
    )
    .await?;
    Ok(format!(
        "read replica {id} promoted: instance {} ({iid}) is ready",
        v["name"].as_str().unwrap_or("?")
    ))
}

/// `scaleway.promote_replica`.
pub struct Scaleway;

impl TypedKind for Scaleway {
    type Spec = ScalewayKeys;
    type Action = PromoteReplica;
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        reverse_promote(step)
    }
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

// ---------------------------------------------------------------------------------------------
// `drcockpit reverse`: promote_replica ↔ create_read_replica

fn other_site(site: &str) -> Option<&'static str> {
    match site.trim() {
        "prod" => Some("dr"),
        "dr" => Some("prod"),
        _ => None,
    }
}

/// A step table from `pairs`, with the API keys (`region`, `token`, `api_url`) of `from`.
fn scw_step(from: &toml::Table, pairs: &[(&str, &str)]) -> toml::Table {
    let mut t: toml::Table = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
        .collect();
    for key in ["region", "token", "api_url"] {
        if let Some(v) = from.get(key) {
            t.insert(key.into(), v.clone());
        }
    }
    t
}

/// The reverse of a promotion on `site`: give the instance it made a read replica on the other
/// side, wait for it to catch up, fence the promoted instance, promote the replica back.
pub(crate) fn reverse_promote(step: &toml::Table) -> Option<Vec<toml::Table>> {
    let new = step
        .get("site")
        .and_then(toml::Value::as_str)
        .unwrap_or("dr");
    let old = other_site(new)?;
    let id = step
        .get("id")
        .and_then(toml::Value::as_str)
        .unwrap_or("promote");
    let instance = format!("TODO-the-instance-{id}-made");
    Some(vec![
        scw_step(
            step,
            &[
                ("id", &format!("replica-for-{old}")),
                (
                    "title",
                    &format!("Give the {new} instance a read replica for {old}"),
                ),
                ("kind", super::scaleway_replica::KIND),
                ("site", old),
                ("instance_id", &instance),
                ("confirm", "REPLICATE"),
            ],
        ),
        scw_step(
            &toml::Table::new(),
            &[
                ("id", &format!("{old}-caught-up")),
                ("title", &format!("The {old} replica has caught up")),
                ("kind", "wait"),
                ("timeout", "30m"),
            ],
        )
        .into_iter()
        .chain([(
            "conditions".to_string(),
            toml::Value::Array(vec![toml::Value::String(format!(
                "{old}.database.lag == 0"
            ))]),
        )])
        .collect(),
        scw_step(
            &toml::Table::new(),
            &[
                ("id", &format!("fence-{new}")),
                ("title", &format!("Fence the {new} instance")),
                ("kind", "manual"),
                (
                    "instructions",
                    &format!(
                        "Stop the writes to the {new} instance (detach its load balancer backends, or revoke the application user's write grants) and note how."
                    ),
                ),
            ],
        ),
        scw_step(
            step,
            &[
                ("id", &format!("promote-{old}")),
                ("title", &format!("Promote the {old} replica back")),
                ("kind", "scaleway.promote_replica"),
                ("site", old),
                ("instance_id", &instance),
                ("confirm", "PROMOTE"),
            ],
        ),
    ])
}

/// The reverse of creating a read replica of an instance: promote that replica.
pub(crate) fn reverse_create(step: &toml::Table) -> Option<Vec<toml::Table>> {
    let site = step
        .get("site")
        .and_then(toml::Value::as_str)
        .unwrap_or("prod");
    let instance = step.get("instance_id").and_then(toml::Value::as_str)?;
    let id = step
        .get("id")
        .and_then(toml::Value::as_str)
        .unwrap_or("replica");
    Some(vec![scw_step(
        step,
        &[
            ("id", &format!("{id}-promote")),
            ("title", "Promote the read replica"),
            ("kind", "scaleway.promote_replica"),
            ("site", site),
            ("instance_id", instance),
            ("confirm", "PROMOTE"),
        ],
    )])
}
