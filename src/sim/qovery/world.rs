//! The simulated world's state (clusters, environments, services, variables, running
//! operations) and the clock: [`start_op`] queues a deployment, [`tick`] moves every running one
//! to where the clock says it is, and [`answered`] is what the API shows of it (the truth, or
//! the truth as it was a while ago for the fields a [`FieldOrder`] makes lag).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::faults::{Fault, FieldOrder};
use super::{RecordedRequest, ids};

/// The status fields as they really are at one instant.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Snap {
    pub(super) state: String,
    pub(super) last_deployment_state: String,
    pub(super) deployment_request_id: Option<String>,
    /// `(state, deployment_request_id)` of every service, in the environment's order.
    pub(super) services: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Container,
    Application,
    Database,
}

#[derive(Debug, Clone)]
pub(super) struct Service {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) image_name: String,
    pub(super) tag: String,
    pub(super) registry: (String, String, String, String),
    /// Containers: the editable `ContainerRequest` fields besides name, image, tag and registry
    /// (resources, healthchecks, ports and storage with their ids, …), as last written.
    pub(super) settings: Value,
    pub(super) state: String,
    pub(super) last_deployment_date: DateTime<Utc>,
    pub(super) deployment_request_id: Option<String>,
    pub(super) requests_count: i64,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(super) struct Var {
    pub(super) id: String,
    pub(super) key: String,
    pub(super) value: String,
    pub(super) scope: String,
    pub(super) variable_type: String,
    pub(super) secret: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum OpKind {
    Deploy,
    Redeploy,
    Stop,
    DeployServices,
}

#[derive(Debug, Clone)]
pub(super) struct Op {
    pub(super) kind: OpKind,
    pub(super) request_id: String,
    pub(super) started: Instant,
    pub(super) started_wall: DateTime<Utc>,
    /// Indexes into the environment's services, in deployment order.
    pub(super) targets: Vec<usize>,
    pub(super) fail_at: Option<usize>,
    /// Ops on an environment hit by the outage fail.
    pub(super) doomed: bool,
    /// The targets' states before the operation (restored on the ones that never ran).
    pub(super) prev: Vec<String>,
    /// The truth stops progressing at this phase for this many phases (`usize::MAX`: for good).
    pub(super) stall: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub(super) struct Hist {
    pub(super) id: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) status: String,
    pub(super) services: Vec<(usize, String)>,
}

#[derive(Debug, Clone)]
pub(super) struct Env {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) cluster_id: String,
    pub(super) cluster_name: String,
    pub(super) provider: String,
    pub(super) region: String,
    /// `EnvironmentModeEnum`: the seeds are PRODUCTION; a clone takes the request's `mode`.
    pub(super) mode: String,
    pub(super) state: String,
    pub(super) last_deployment_state: String,
    pub(super) last_deployment_date: DateTime<Utc>,
    pub(super) last_deployment_id: Option<String>,
    pub(super) deployment_request_id: Option<String>,
    pub(super) services: Vec<Service>,
    pub(super) vars: Vec<Var>,
    pub(super) history: Vec<Hist>,
    pub(super) op: Option<Op>,
    pub(super) created_at: DateTime<Utc>,
    /// How this environment's answers catch up with its truth (drawn per deployment in `hostile`).
    pub(super) order: FieldOrder,
    /// The truth of the status fields over time (oldest first), for the lagging answers.
    pub(super) truth_log: Vec<(Instant, Snap)>,
}

#[derive(Debug, Clone)]
pub(super) struct Cluster {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) region: String,
    pub(super) provider: String,
    pub(super) production: bool,
    pub(super) status: String,
    pub(super) is_deployed: bool,
    pub(super) last_deployment_date: DateTime<Utc>,
}

pub(super) struct Inner {
    pub(super) scenario: String,
    /// When the current scenario started (the outage timer counts from here).
    pub(super) scenario_started: Instant,
    pub(super) rng: fastrand::Rng,
    pub(super) clusters: Vec<Cluster>,
    pub(super) envs: Vec<Env>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) faults: Vec<Fault>,
    pub(super) phase: Duration,
    pub(super) outage_after: Option<Duration>,
    pub(super) outage_applied: bool,
    pub(super) flaky: bool,
    /// Injected delays last `1/time_scale` as long (`simulate --time-scale`; 1 by default).
    pub(super) time_scale: u32,
    pub(super) fail_next: Vec<String>,
    pub(super) seq: u64,
    /// `hostile`: seeded field orders, stalls and late reads.
    pub(super) hostile: bool,
    /// An order chosen by a test (any scenario); otherwise `hostile` draws one per deployment.
    pub(super) forced_order: Option<FieldOrder>,
    /// How far behind the truth the lagging fields answer.
    pub(super) lag: Duration,
    /// `hostile`: some status reads answer after the client's timeout.
    pub(super) late_reads: bool,
    /// The next deployment stalls for good on its first service.
    pub(super) stall_next: bool,
}

pub(super) const IN_PROGRESS: &str =
    "Operation is in progress: wait until the current deployment is finished";

/// Start an operation; `None` while one runs (answer 409 with [`IN_PROGRESS`]).
pub(super) fn start_op(
    g: &mut Inner,
    ei: usize,
    kind: OpKind,
    targets: Option<Vec<usize>>,
) -> Option<String> {
    if g.envs[ei].op.is_some() {
        return None;
    }
    g.seq += 1;
    let rid = format!("d0e1f2a3-0000-4000-8000-{:012}", g.seq);
    let outage = g.outage_applied && g.envs[ei].id == ids::PROD_ENV;
    let e = &mut g.envs[ei];
    let targets = targets.unwrap_or_else(|| (0..e.services.len()).collect());
    let fail_at = targets
        .iter()
        .position(|&i| g.fail_next.iter().any(|n| n == &e.services[i].name));
    if let Some(p) = fail_at {
        let name = e.services[targets[p]].name.clone();
        g.fail_next.retain(|n| *n != name);
    }
    let queued = if kind == OpKind::Stop {
        "STOP_QUEUED"
    } else {
        "DEPLOYMENT_QUEUED"
    };
    let now = Utc::now();
    let prev = targets
        .iter()
        .map(|&i| e.services[i].state.clone())
        .collect();
    e.order = match g.forced_order {
        Some(o) => o,
        None if g.hostile => FieldOrder::HOSTILE[g.rng.usize(0..FieldOrder::HOSTILE.len())],
        None => FieldOrder::Truthful,
    };
    let stall = if std::mem::take(&mut g.stall_next) {
        Some((1, usize::MAX))
    } else if g.hostile && g.rng.bool() {
        // A deployment that stalls for two phases on one of its services, then goes on.
        Some((1 + g.rng.usize(0..targets.len().max(1)), 2))
    } else {
        None
    };
    e.state = queued.into();
    e.last_deployment_state = queued.into();
    e.deployment_request_id = Some(rid.clone());
    e.last_deployment_id = Some(rid.clone());
    e.last_deployment_date = now;
    for &i in &targets {
        let s = &mut e.services[i];
        s.state = if kind == OpKind::Stop {
            "STOP_QUEUED".into()
        } else {
            "QUEUED".into()
        };
        s.deployment_request_id = Some(rid.clone());
        s.requests_count += 1;
    }
    e.history.push(Hist {
        id: rid.clone(),
        created_at: now,
        updated_at: now,
        status: queued.into(),
        services: targets.iter().map(|&i| (i, "QUEUED".to_string())).collect(),
    });
    e.op = Some(Op {
        kind,
        request_id: rid.clone(),
        started: Instant::now(),
        started_wall: now,
        targets,
        fail_at,
        doomed: outage,
        prev,
        stall,
    });
    record_truth(e, Instant::now());
    Some(rid)
}

/// Advance every running operation to where the clock says it is.
pub(super) fn tick(g: &mut Inner) {
    let started = g.scenario_started;
    let now = Instant::now();
    if let Some(after) = g.outage_after
        && !g.outage_applied
        && now.duration_since(started) >= after
    {
        g.outage_applied = true;
        if let Some(c) = g.clusters.iter_mut().find(|c| c.id == ids::PROD_CLUSTER) {
            c.status = "DEPLOYMENT_ERROR".into();
        }
        if let Some(e) = g.envs.iter_mut().find(|e| e.id == ids::PROD_ENV) {
            e.state = "UNAVAILABLE".into();
            for s in &mut e.services {
                s.state = "UNAVAILABLE".into();
            }
        }
    }
    let phase = g.phase.max(Duration::from_millis(1));
    for e in &mut g.envs {
        let Some(op) = e.op.clone() else { continue };
        let el = now.duration_since(op.started);
        let raw = (el.as_nanos() / phase.as_nanos()) as usize;
        // A stalled deployment: the truth stays where it was for `extra` phases.
        let step = match op.stall {
            Some((at, extra)) if raw > at => raw.saturating_sub(extra).max(at),
            _ => raw,
        };
        let stop = op.kind == OpKind::Stop;
        let (running, done, failed) = if stop {
            ("STOPPING", "STOPPED", "STOP_ERROR")
        } else {
            ("DEPLOYING", "DEPLOYED", "DEPLOYMENT_ERROR")
        };
        let fail_at = if op.doomed { Some(0) } else { op.fail_at };
        let wall = |k: usize| {
            op.started_wall + chrono::Duration::from_std(phase * k as u32).unwrap_or_default()
        };
        // Phase 0: queued. Phase k (k ≥ 1): target k-1 runs; it is done at the start of k+1.
        let mut finished = None;
        for (pos, &i) in op.targets.iter().enumerate() {
            let s = &mut e.services[i];
            if step > pos + 1 {
                if fail_at == Some(pos) {
                    s.state = failed.into();
                    finished = Some(failed);
                    break;
                }
                if s.state != done {
                    s.state = done.into();
                    s.last_deployment_date = wall(pos + 2);
                }
            } else if step == pos + 1 {
                s.state = running.into();
            }
        }
        if step >= 1 && finished.is_none() {
            e.state = running.into();
            e.last_deployment_state = running.into();
        }
        if finished.is_none() && step > op.targets.len() {
            finished = Some(done);
        }
        if let Some(end) = finished {
            e.state = end.into();
            e.last_deployment_state = end.into();
            e.last_deployment_date = wall(step.min(op.targets.len() + 1));
            if end == failed {
                // Services that never started go back to what they were doing.
                for (pos, &i) in op.targets.iter().enumerate() {
                    let s = &mut e.services[i];
                    if s.state == "QUEUED" || s.state == "STOP_QUEUED" {
                        s.state = op.prev.get(pos).cloned().unwrap_or_default();
                    }
                }
            }
            if let Some(h) = e.history.iter_mut().find(|h| h.id == op.request_id) {
                h.status = end.into();
                h.updated_at = Utc::now();
                for (i, st) in &mut h.services {
                    *st = e.services[*i].state.clone();
                }
            }
            e.op = None;
        }
    }
    for e in &mut g.envs {
        record_truth(e, now);
    }
}

pub(super) fn snap(e: &Env) -> Snap {
    Snap {
        state: e.state.clone(),
        last_deployment_state: e.last_deployment_state.clone(),
        deployment_request_id: e.deployment_request_id.clone(),
        services: e
            .services
            .iter()
            .map(|s| (s.state.clone(), s.deployment_request_id.clone()))
            .collect(),
    }
}

/// Remember the truth of the status fields when it changes (a week of history is not needed:
/// entries older than a minute are dropped, keeping the newest of them).
pub(super) fn record_truth(e: &mut Env, now: Instant) {
    let s = snap(e);
    if e.truth_log.last().map(|(_, l)| l) != Some(&s) {
        e.truth_log.push((now, s));
    }
    let horizon = Duration::from_secs(60);
    while e.truth_log.len() > 1 && now.duration_since(e.truth_log[1].0) > horizon {
        e.truth_log.remove(0);
    }
}

/// What the API answers for an environment: the truth, except the fields the environment's
/// [`FieldOrder`] makes lag, which answer the truth as it was `lag` ago.
pub(super) fn answered(e: &Env, lag: Duration) -> Env {
    let mut v = e.clone();
    if e.order == FieldOrder::Truthful {
        return v;
    }
    let now = Instant::now();
    let old = match now.checked_sub(lag) {
        Some(cutoff) => e
            .truth_log
            .iter()
            .rev()
            .find(|(t, _)| *t <= cutoff)
            .or(e.truth_log.first()),
        None => e.truth_log.first(),
    };
    let Some((_, old)) = old else { return v };
    let (rid, state, last, services) = match e.order {
        FieldOrder::Truthful => (false, false, false, false),
        FieldOrder::RequestIdFirst => (false, true, true, true),
        FieldOrder::StateFirst => (true, false, true, true),
        FieldOrder::LastStateFirst => (true, true, false, true),
        FieldOrder::ServicesLagging => (false, false, false, true),
    };
    if rid {
        v.deployment_request_id = old.deployment_request_id.clone();
    }
    if state {
        v.state = old.state.clone();
    }
    if last {
        v.last_deployment_state = old.last_deployment_state.clone();
    }
    if services {
        for (s, (st, r)) in v.services.iter_mut().zip(&old.services) {
            s.state = st.clone();
            s.deployment_request_id = r.clone();
        }
    }
    v
}
