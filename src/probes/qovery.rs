//! Cluster and Env sections from the Qovery API.
//!
//! Cluster: `GET /organization/{org}/cluster/{id}/status` (+ `isReady`) → state, `is_deployed`.
//! Env: `GET /environment/{id}/statuses` with the environment and its containers, applications
//! and databases → environment state, last deployment state and time, services counted by
//! state with the failing ones named, and one detail line per service (name, state, image).
//!
//! Fields conditions can test — cluster: `state`, `is_deployed`, `ready`, `ok`;
//! env: `state`, `last_deployment_state`, `deployed`, `stopped`, `services`,
//! `services_deployed`, `services_failing`, `ok`, `last_deployment_age`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::Utc;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::qovery::{QoveryClient, QoveryError, State};
use crate::plan::{SiteId, Value};

/// The fields of a Cluster reading (for the loader's condition check). `ready` is absent when
/// `isReady` could not be read.
pub const CLUSTER_FIELDS: &[&str] = &["state", "is_deployed", "ready", "ok"];

/// The fields of an Env reading. `last_deployment_age` is absent before a first deployment.
pub const ENV_FIELDS: &[&str] = &[
    "state",
    "last_deployment_state",
    "deployed",
    "stopped",
    "services",
    "services_deployed",
    "services_failing",
    "ok",
    "last_deployment_age",
];

fn err(e: QoveryError) -> ProbeError {
    ProbeError::new(e.short(), crate::redact::redact_string(e.to_string()))
}

/// A cluster's name, provider and region, and an environment's name: they do not change while
/// the cockpit runs, so each is read once per (API, id) instead of on every probe round.
#[derive(Debug, Clone)]
struct ClusterInfo {
    name: String,
    cloud_provider: String,
    region: String,
}

/// Cluster infos and environment names already read, for one run (inside
/// `probes::ProbeMemory`).
///
/// Why: they do not change while the cockpit runs, so each is read once rather than every round.
/// Bound: one entry per (API, organization, id) the plan configures, i.e. at most one cluster
/// and one environment per site; a failed read stores nothing.
#[derive(Debug, Default)]
pub struct QoveryMemory {
    clusters: Mutex<HashMap<String, ClusterInfo>>,
    env_names: Mutex<HashMap<String, String>>,
}

impl QoveryMemory {
    /// How many entries are held: (clusters, environment names).
    pub fn entries(&self) -> (usize, usize) {
        (lock(&self.clusters).len(), lock(&self.env_names).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn cache_key(c: &QoveryClient, id: &str) -> String {
    format!("{} {} {id}", c.base_url(), c.organization_id())
}

/// The cluster's name, provider and region from the organization's cluster list, read once
/// (a failed read is retried next round).
async fn cluster_info(
    c: &QoveryClient,
    mem: &QoveryMemory,
    cluster_id: &str,
) -> Option<ClusterInfo> {
    let key = cache_key(c, cluster_id);
    if let Some(i) = lock(&mem.clusters).get(&key) {
        return Some(i.clone());
    }
    let found = c
        .list_clusters(c.organization_id())
        .await
        .ok()?
        .into_iter()
        .find(|cl| cl.id == cluster_id)?;
    let info = ClusterInfo {
        name: found.name,
        cloud_provider: found.cloud_provider,
        region: found.region,
    };
    lock(&mem.clusters).insert(key, info.clone());
    Some(info)
}

/// The environment's name, read once (the id stands in until a read succeeds).
async fn environment_name(c: &QoveryClient, mem: &QoveryMemory, env_id: &str) -> String {
    let key = cache_key(c, env_id);
    if let Some(n) = lock(&mem.env_names).get(&key) {
        return n.clone();
    }
    match c.environment(env_id).await {
        Ok(e) => {
            lock(&mem.env_names).insert(key, e.name.clone());
            e.name
        }
        Err(_) => env_id.to_string(),
    }
}

/// The Cluster section of a site.
pub async fn cluster(
    c: &QoveryClient,
    mem: &QoveryMemory,
    cluster_id: &str,
) -> Result<Reading, ProbeError> {
    let org = c.organization_id();
    let (status, ready, info) = futures::join!(
        c.cluster_status(org, cluster_id),
        c.cluster_is_ready(org, cluster_id),
        cluster_info(c, mem, cluster_id)
    );
    let s = status.map_err(err)?;
    let ok = s.is_deployed && s.status.is_running();
    let level = if ok {
        Level::Good
    } else if s.status.is_error() || !s.is_deployed {
        Level::Bad
    } else {
        Level::Warn
    };
    let mut summary = match &info {
        Some(i) => format!("{} {}", i.name, s.status),
        None => s.status.to_string(),
    };
    if !s.is_deployed {
        summary.push_str(" · not deployed");
    }
    let mut r = Reading::new(summary, level)
        .field("state", Value::Text(s.status.to_string()))
        .field("is_deployed", Value::Bool(s.is_deployed))
        .field("ok", Value::Bool(ok));
    if let Ok(ready) = ready {
        r = r.field("ready", Value::Bool(ready));
        r.details.push(format!("ready to deploy: {ready}"));
    }
    match &info {
        Some(i) => r.details.push(format!(
            "cluster {} ({}) · {} {}",
            i.name, s.cluster_id, i.cloud_provider, i.region
        )),
        None => r.details.push(format!("cluster {}", s.cluster_id)),
    }
    if let Some(d) = s.last_deployment_date {
        r.details
            .push(format!("last deployed {}", d.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(v) = s.next_k8s_available_version {
        r.details.push(format!("Kubernetes {v} available"));
    }
    Ok(r)
}

/// The Env section of a site.
pub async fn environment(
    c: &QoveryClient,
    mem: &QoveryMemory,
    site: SiteId,
    env_id: &str,
) -> Result<Reading, ProbeError> {
    let (statuses, name, containers, apps, dbs) = futures::join!(
        c.environment_statuses(env_id),
        environment_name(c, mem, env_id),
        c.list_containers(env_id),
        c.list_applications(env_id),
        c.list_databases(env_id)
    );
    let s = statuses.map_err(err)?;
    // id → (name, image)
    let mut info: BTreeMap<String, (String, String)> = BTreeMap::new();
    for ct in containers.unwrap_or_default() {
        let img = ct.image_ref();
        info.insert(ct.id, (ct.name, img));
    }
    for a in apps.unwrap_or_default() {
        info.insert(a.id, (a.name, "application (git)".into()));
    }
    for d in dbs.unwrap_or_default() {
        info.insert(
            d.id,
            (d.name, format!("{} {} ({})", d.db_type, d.version, d.mode)),
        );
    }
    let e = &s.environment;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failing = Vec::new();
    let mut details = Vec::new();
    let mut total = 0usize;
    let mut deployed = 0usize;
    for (kind, sv) in s.services() {
        total += 1;
        *counts.entry(sv.state.to_string()).or_default() += 1;
        if sv.state == State::Deployed {
            deployed += 1;
        }
        let (n, img) = info
            .get(&sv.id)
            .cloned()
            .unwrap_or_else(|| (sv.id.clone(), kind.as_str().to_lowercase()));
        if sv.state.is_failing() {
            failing.push(n.clone());
        }
        details.push(format!("{n}  {}  {img}", sv.state));
    }
    let state = &e.state;
    let env_failing = state.is_failing() || e.last_deployment_state.is_error();
    let level = if env_failing || !failing.is_empty() {
        Level::Bad
    } else if *state == State::Deployed || *state == State::Ready || *state == State::Restarted {
        Level::Good
    } else if *state == State::Stopped {
        // A stopped DR environment is the normal standby; a stopped production is not.
        match site {
            SiteId::Dr => Level::Good,
            SiteId::Prod => Level::Bad,
        }
    } else {
        Level::Warn
    };
    // Short enough for a narrow panel: the most important part first.
    let by: Vec<String> = counts
        .iter()
        .map(|(st, n)| format!("{n} {}", st.to_lowercase()))
        .collect();
    let mut summary = format!("{name} {state}");
    if !failing.is_empty() {
        summary.push_str(&format!(" · ✗ {}", failing.join(", ")));
    } else if total > 0 && (deployed == total || state.as_str().ends_with("ING")) {
        summary.push_str(&format!(" · {deployed}/{total}"));
    } else if total > 0 {
        summary.push_str(&format!(" · {}", by.join(", ")));
    }
    if total > 0 {
        details.insert(0, format!("services: {}", by.join(", ")));
    }
    let mut r = Reading::new(summary, level)
        .field("state", Value::Text(state.to_string()))
        .field(
            "last_deployment_state",
            Value::Text(e.last_deployment_state.to_string()),
        )
        .field("deployed", Value::Bool(*state == State::Deployed))
        .field("stopped", Value::Bool(*state == State::Stopped))
        .field("services", Value::Num(total as f64))
        .field("services_deployed", Value::Num(deployed as f64))
        .field("services_failing", Value::Num(failing.len() as f64))
        .field(
            "ok",
            Value::Bool(!env_failing && failing.is_empty() && *state == State::Deployed),
        );
    if let Some(d) = e.last_deployment_date {
        let age = (Utc::now() - d).to_std().unwrap_or_default();
        r = r.field("last_deployment_age", Value::Duration(age));
        r.details.push(format!(
            "last deployment {} at {} ({} ago)",
            e.last_deployment_state,
            d.format("%Y-%m-%d %H:%M:%S UTC"),
            crate::plan::units::fmt_duration(age)
        ));
    } else {
        r.details
            .push(format!("last deployment {}", e.last_deployment_state));
    }
    r.details.extend(details);
    Ok(r)
}
