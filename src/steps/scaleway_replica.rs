//! `scaleway.create_read_replica`: the managed-database half of a failback (issue 16 §1). After a
//! failover promoted the DR read replica into a standalone instance, the way back starts by
//! giving that instance a read replica again; a later `scaleway.promote_replica` with the same
//! `instance_id` promotes it in a planned switchover.
//!
//! Calls (Scaleway RDB API v1, as scaleway/scaleway-sdk-python
//! `scaleway/scaleway/rdb/v1/api.py`, `types.py`, `marshalling.py` at commit
//! bc3a31eeb7ab49414c55f57f2cffe9e532b41da9 define them; recorded in
//! `tests/fixtures/scaleway-*.json`):
//! - `GET  {api}/rdb/v1/regions/{region}/instances/{instance_id}` → `Instance` (`status`,
//!   `read_replicas: [ReadReplica]`);
//! - `POST {api}/rdb/v1/regions/{region}/read-replicas` body `CreateReadReplicaRequest`
//!   `{"instance_id", "endpoint_spec": [ReadReplicaEndpointSpec], "same_zone"}` → `ReadReplica`
//!   (`create_read_replica`: "You can only create a maximum of 3 Read Replicas per Database
//!   Instance"). A `ReadReplicaEndpointSpec` is one of `{"direct_access": {}}` or
//!   `{"private_network": {"private_network_id", "service_ip" | "ipam_config": {}}}`;
//! - `GET  {api}/rdb/v1/regions/{region}/read-replicas/{id}` → `ReadReplica` `{id, endpoints,
//!   status, region, same_zone, instance_id}`; `status` is one of `unknown provisioning
//!   initializing ready deleting error locked configuring promoting`, the transient ones being
//!   `provisioning initializing deleting configuring promoting` (`content.py`, what
//!   `wait_for_read_replica` waits through);
//! - `POST {api}/rdb/v1/regions/{region}/read-replicas/{id}/endpoints` body `{"endpoint_spec":
//!   [ReadReplicaEndpointSpec]}` → `ReadReplica` (`create_read_replica_endpoint`: "at most one
//!   direct access and one Private Network endpoint").
//!
//! Errors carry `{"message", "type", …}` (scaleway/scaleway-sdk-go `scw/errors.go`:
//! `not_found` with `resource`/`resource_id`, `quotas_exceeded` with `details`,
//! `transient_state` with `current_state`). The HTTP status of a refused fourth replica is not
//! documented there; the step does not depend on it.
//!
//! The POST is never retried: it is sent at most once per run, and only when the instance has no
//! read replica. One that exists (a crash or a timeout after the POST, then `--resume`) is
//! followed instead of creating a second; two or more stop the step (it cannot tell which is
//! its own). The step succeeds only after reading the replica back `ready`, with the endpoint
//! the plan asks for.

use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::StepContext;
use super::registry::TypedKind;
use super::scaleway::{Poll, Rdb, api_error_for, check_id, check_location, json, poll_ready};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{KindAction, StepAction};

pub const KIND: &str = "scaleway.create_read_replica";

/// Plan keys this kind takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReadReplicaKeys {
    /// scaleway.create_read_replica: region, e.g. `fr-par`.
    #[serde(default)]
    pub region: Option<String>,
    /// scaleway.create_read_replica: the UUID of the Database Instance to make a read replica of.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// scaleway.create_read_replica: secret key, by reference: `${env:SCW_SECRET_KEY}`.
    #[serde(default)]
    pub token: Option<String>,
    /// scaleway.create_read_replica: API base URL (default `https://api.scaleway.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    /// scaleway.create_read_replica: create the replica in the same availability zone as the
    /// instance's nodes (default false, as the API).
    #[serde(default)]
    pub same_zone: Option<bool>,
    /// scaleway.create_read_replica: the endpoint the replica must have: `direct_access` or
    /// `private_network` (then `private_network_id`); none by default.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// scaleway.create_read_replica: the Private Network of a `private_network` endpoint (UUID).
    #[serde(default)]
    pub private_network_id: Option<String>,
}

/// How long to wait for the replica to be `ready` unless the step sets `timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(3600);

/// The at most 3 read replicas an instance may have.
pub const MAX_READ_REPLICAS: usize = 3;

/// Statuses that end the wait for `ready` as a failure.
const FAILED: &[&str] = &["error", "locked", "deleting", "promoting"];

/// The endpoint the replica must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    DirectAccess,
    PrivateNetwork(String),
}

impl Endpoint {
    /// Its `ReadReplicaEndpointSpec`.
    fn spec(&self) -> Value {
        match self {
            Endpoint::DirectAccess => json!({"direct_access": {}}),
            Endpoint::PrivateNetwork(id) => {
                json!({"private_network": {"private_network_id": id, "ipam_config": {}}})
            }
        }
    }
    /// Does this `Endpoint` of an answer match?
    fn present_in(&self, endpoints: &Value) -> bool {
        endpoints
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| match self {
                Endpoint::DirectAccess => e.get("direct_access").is_some_and(|d| !d.is_null()),
                Endpoint::PrivateNetwork(id) => {
                    e["private_network"]["private_network_id"].as_str() == Some(id)
                }
            })
    }
    fn name(&self) -> String {
        match self {
            Endpoint::DirectAccess => "direct_access".into(),
            Endpoint::PrivateNetwork(id) => format!("private_network {id}"),
        }
    }
}

/// What a `scaleway.create_read_replica` step does, as built from the plan.
#[derive(Debug, Clone)]
pub struct CreateReadReplica {
    pub api_url: String,
    pub region: String,
    pub instance_id: String,
    /// Secret key (resolved; registered with the redactor by the loader).
    pub token: String,
    pub same_zone: bool,
    pub endpoint: Option<Endpoint>,
    pub ready_timeout: Duration,
}

impl CreateReadReplica {
    fn rdb(&self) -> Rdb<'_> {
        Rdb {
            api_url: &self.api_url,
            region: &self.region,
            token: &self.token,
        }
    }
    fn instance_path(&self) -> String {
        format!("instances/{}", self.instance_id)
    }
    /// The `CreateReadReplicaRequest` body.
    pub fn body(&self) -> String {
        let specs: Vec<Value> = self.endpoint.iter().map(Endpoint::spec).collect();
        json!({
            "instance_id": self.instance_id,
            "endpoint_spec": specs,
            "same_zone": self.same_zone,
        })
        .to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Building from the plan (kept apart from running: the loader's keys may change shape)

fn build_spec(raw: CreateReadReplicaKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let (region, instance, token, api) = (
        raw.region.clone(),
        raw.instance_id.clone(),
        raw.token.clone(),
        raw.api_url.clone(),
    );
    let (same_zone, endpoint, network) = (
        raw.same_zone.unwrap_or(false),
        raw.endpoint.clone(),
        raw.private_network_id.clone(),
    );
    let timeout_raw = raw.timeout.clone();
    let ex = super::scaleway::example;
    let region = region.ok_or_else(|| s.missing("region", ex("region")))?;
    let instance = instance.ok_or_else(|| s.missing("instance_id", ex("instance_id")))?;
    let token = token.ok_or_else(|| s.missing("token", ex("token")))?;
    let region = s.secret("region", &region)?;
    let instance = s.secret("instance_id", &instance)?;
    let token = s.secret("token", &token)?;
    let api_url = match api {
        Some(a) => s.secret("api_url", &a)?,
        None => super::scaleway::DEFAULT_API_URL.into(),
    };
    let endpoint = match (endpoint.as_deref().map(str::trim), network) {
        (None, None) => None,
        (Some("direct_access"), None) => Some(Endpoint::DirectAccess),
        (Some("private_network") | None, Some(n)) => Some(Endpoint::PrivateNetwork(
            s.secret("private_network_id", &n)?,
        )),
        (Some("private_network"), None) => {
            return Err(s.missing("private_network_id", "private_network_id = \"9a8b7c6d-…\""));
        }
        (Some(other), _) => {
            let m = format!(
                "`endpoint` `{other}` is not `direct_access` or `private_network` (with `private_network_id`)"
            );
            return Err(s.error("endpoint", &m, vec![], None));
        }
    };
    let ready = s.duration("timeout", &timeout_raw)?;
    let spec = assemble(CreateReadReplica {
        api_url,
        region,
        instance_id: instance,
        token,
        same_zone,
        endpoint,
        ready_timeout: ready.unwrap_or(DEFAULT_READY_TIMEOUT),
    })
    .map_err(|(key, m)| s.error(key, &m, vec![], None))?;
    Ok(Built {
        timeout: Some(default_timeout(&spec)),
        action: StepAction::Kind(KindAction::new(KIND, spec)),
    })
}

/// Validate and normalise what the builder read.
pub fn assemble(mut c: CreateReadReplica) -> Result<CreateReadReplica, (&'static str, String)> {
    check_location(&c.api_url, &c.region)?;
    check_id("instance_id", &c.instance_id, "Database Instance")?;
    if let Some(Endpoint::PrivateNetwork(n)) = &c.endpoint {
        check_id("private_network_id", n, "Private Network")?;
    }
    c.api_url = c.api_url.trim_end_matches('/').to_string();
    c.region = c.region.trim().to_string();
    c.instance_id = c.instance_id.trim().to_string();
    Ok(c)
}

pub fn default_timeout(c: &CreateReadReplica) -> Duration {
    c.ready_timeout + Duration::from_secs(60)
}

// ---------------------------------------------------------------------------------------------
// Review, preflight, run

pub fn describe(c: &CreateReadReplica) -> Vec<String> {
    let rdb = c.rdb();
    let mut v = vec![
        format!(
            "GET {} (X-Auth-Token: ‹secret key›): must exist and be ready; its read_replicas are read",
            rdb.url(&c.instance_path())
        ),
        "  one read replica already → follow it (e.g. after a crash): nothing is created".into(),
        "  two or more → stop: nothing is sent".into(),
        format!(
            "POST {}  body {}  (sent once, never retried; at most {MAX_READ_REPLICAS} read replicas per instance)",
            rdb.url("read-replicas"),
            c.body()
        ),
        format!(
            "GET {} every 1 s until status is ready (provisioning → initializing → ready; at most {})",
            rdb.url("read-replicas/{id from the answer}"),
            crate::plan::units::fmt_duration(c.ready_timeout)
        ),
    ];
    if let Some(e) = &c.endpoint {
        v.push(format!(
            "  a followed replica without the {} endpoint → POST {}  body {} once, then GET until ready",
            e.name(),
            rdb.url("read-replicas/{id}/endpoints"),
            json!({"endpoint_spec": [e.spec()]})
        ));
    }
    v
}

/// The instance's `status` and its replicas' `(id, status)`, or an error to show.
async fn read_instance(
    c: &CreateReadReplica,
    ctx: &StepContext,
    timeout: Duration,
) -> Result<(String, Vec<(String, String)>), String> {
    let r = c
        .rdb()
        .send(ctx, "GET", &c.instance_path(), None, timeout)
        .await?;
    if r.status == 404 {
        return Err(format!(
            "instance {} not found in {}: nothing was sent (check `region` and `instance_id`)",
            c.instance_id, c.region
        ));
    }
    if r.status != 200 {
        return Err(api_error_for(
            "GET instance",
            &r,
            "(check `region` and `instance_id`)",
        ));
    }
    let v = json(&r).unwrap_or_default();
    let replicas = v["read_replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            let id = x["id"].as_str()?.to_string();
            Some((id, x["status"].as_str().unwrap_or("?").to_string()))
        })
        .collect();
    Ok((v["status"].as_str().unwrap_or("?").to_string(), replicas))
}

fn list(replicas: &[(String, String)]) -> String {
    replicas
        .iter()
        .map(|(id, st)| format!("{id} ({st})"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn preflight(c: &CreateReadReplica, ctx: &StepContext) -> Vec<PreflightCheck> {
    let what = format!("instance {} in {}", c.instance_id, c.region);
    let (status, replicas) = match read_instance(c, ctx, Duration::from_secs(10)).await {
        Ok(x) => x,
        Err(e) => {
            return vec![PreflightCheck {
                what,
                ok: Some(false),
                detail: e,
            }];
        }
    };
    let (ok, detail) = match replicas.len() {
        0 => (true, "none: the step creates one".to_string()),
        1 => (
            true,
            format!("{}: the step follows it, creates none", list(&replicas)),
        ),
        n => (
            false,
            format!(
                "{n} of at most {MAX_READ_REPLICAS}: {}; the step cannot tell which is its own",
                list(&replicas)
            ),
        ),
    };
    vec![
        PreflightCheck {
            what,
            ok: Some(status == "ready" || !replicas.is_empty()),
            detail: format!("status {status}"),
        },
        PreflightCheck {
            what: format!("read replicas of {}", c.instance_id),
            ok: Some(ok),
            detail,
        },
    ]
}

/// Send the one POST; the new replica's id.
async fn create(c: &CreateReadReplica, ctx: &StepContext) -> Result<String, String> {
    let body = c.body();
    ctx.info(format!("POST {} {body}", c.rdb().url("read-replicas")));
    let r = c
        .rdb()
        .send(ctx, "POST", "read-replicas", Some(&body), Duration::from_secs(60))
        .await
        .map_err(|e| {
            format!(
                "POST read-replicas got no answer ({e}): a replica may have been created. Run the step again: it reads the instance's replicas first and follows one rather than create a second."
            )
        })?;
    if !(200..300).contains(&r.status) {
        return Err(api_error_for(
            "POST read-replicas",
            &r,
            "(check `region` and `instance_id`)",
        ));
    }
    let v = json(&r).unwrap_or_default();
    let Some(id) = v["id"].as_str() else {
        return Err(format!(
            "the POST answered {} without a replica id: look in the console before running it again",
            r.status
        ));
    };
    ctx.info(format!(
        "→ {}: read replica {id} of instance {}, status {}",
        r.status,
        c.instance_id,
        v["status"].as_str().unwrap_or("?")
    ));
    Ok(id.to_string())
}

fn poll(c: &CreateReadReplica, id: &str) -> Poll<'static> {
    Poll {
        path: format!("read-replicas/{id}"),
        label: format!("read replica {id}"),
        get_what: "GET read replica",
        failed: FAILED,
        after: "",
        timeout: c.ready_timeout,
        every: Duration::from_secs(1),
    }
}

pub async fn run(c: &CreateReadReplica, ctx: &StepContext) -> Result<String, String> {
    if ctx.http.is_read_only() {
        log::warn!(target: "safety", "read-only session refused {KIND}");
        return Err(format!(
            "refused: this session is read-only (monitor/review mode); {KIND} may not run"
        ));
    }
    let rdb = c.rdb();
    ctx.info(format!("GET {}", rdb.url(&c.instance_path())));
    let (status, replicas) = read_instance(c, ctx, Duration::from_secs(30)).await?;
    ctx.info(format!(
        "instance {}: {status}, {} read replica(s)",
        c.instance_id,
        replicas.len()
    ));
    let id = match replicas.as_slice() {
        [] if status != "ready" => {
            return Err(format!(
                "instance {} is {status}: a read replica is made of a ready instance; nothing was sent",
                c.instance_id
            ));
        }
        [] => create(c, ctx).await?,
        [(id, st)] => {
            ctx.info(format!(
                "read replica {id} ({st}) already exists: following it, not creating a second"
            ));
            id.clone()
        }
        many => {
            return Err(format!(
                "instance {} already has {} read replicas ({}): nothing was sent; this step cannot tell which is its own",
                c.instance_id,
                many.len(),
                list(many)
            ));
        }
    };
    let mut v = poll_ready(&rdb, ctx, &poll(c, &id)).await?;
    if let Some(e) = &c.endpoint
        && !e.present_in(&v["endpoints"])
    {
        let body = json!({"endpoint_spec": [e.spec()]}).to_string();
        let path = format!("read-replicas/{id}/endpoints");
        ctx.info(format!("POST {} {body}", rdb.url(&path)));
        let r = rdb
            .send(ctx, "POST", &path, Some(&body), Duration::from_secs(60))
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(api_error_for("POST endpoints", &r, "(check `region`)"));
        }
        v = poll_ready(&rdb, ctx, &poll(c, &id)).await?;
        if !e.present_in(&v["endpoints"]) {
            return Err(format!(
                "read replica {id} is ready but has no {} endpoint after adding it: check the console",
                e.name()
            ));
        }
    }
    let at = v["endpoints"]
        .as_array()
        .and_then(|a| a.first())
        .map(|e| {
            format!(
                ", endpoint {}:{}",
                e["ip"].as_str().or(e["hostname"].as_str()).unwrap_or("?"),
                e["port"]
            )
        })
        .unwrap_or_default();
    Ok(format!(
        "read replica {id} of instance {} is ready{at}",
        c.instance_id
    ))
}

/// `scaleway.create_read_replica`.
pub struct CreateReadReplicaKind;

impl TypedKind for CreateReadReplicaKind {
    type Spec = CreateReadReplicaKeys;
    type Action = CreateReadReplica;
    fn build(
        &self,
        keys: CreateReadReplicaKeys,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError> {
        build_spec(keys, s)
    }
    fn schema(&self) -> serde_json::Value {
        json!({
            "required": ["region", "instance_id", "token"],
            "properties": {"endpoint": {"enum": ["direct_access", "private_network"]}}
        })
    }
    fn describe(&self, c: &CreateReadReplica) -> Vec<String> {
        describe(c)
    }
    fn default_timeout(&self, c: &CreateReadReplica) -> Duration {
        default_timeout(c)
    }
    fn preflight<'a>(
        &'a self,
        c: &'a CreateReadReplica,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(c, ctx))
    }
    fn run<'a>(
        &'a self,
        c: &'a CreateReadReplica,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(c, ctx))
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        super::scaleway::reverse_create(step)
    }
}
