//! How one server's status becomes the Database panel's reading: one judgement per concern
//! (fence, standby or primary replication, subscriptions, slots, thresholds, backup), each adding
//! its fields, details and summary parts to the reading being built. Pure: no I/O, so the
//! verdicts are unit-tested without a server.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Upstream;
use crate::clients::postgres::{Lsn, ServerStatus};
use crate::plan::units::{fmt_bytes, fmt_duration};
use crate::plan::{DatabaseConfig, Value};
use crate::probes::reading::{Level, Reading};

pub(super) fn worse(a: Level, b: Level) -> Level {
    a.max(b)
}

/// A reading being built: each judgement below adds its fields, details and summary parts, and
/// may raise the level (never lower it).
struct Judged {
    level: Level,
    details: Vec<String>,
    fields: BTreeMap<String, Value>,
    summary: Vec<String>,
}

impl Judged {
    fn field(&mut self, name: &str, v: Value) {
        self.fields.insert(name.into(), v);
    }
    fn warn(&mut self) {
        self.level = worse(self.level, Level::Warn);
    }
}

/// What the replication judgements found, for the thresholds and the `state` field.
struct Replication {
    state: String,
    /// Bytes this server is behind its primary (0 on a primary).
    lag: Option<u64>,
    replay_age: Option<Duration>,
}

/// Turn one server's status into the panel's reading. Pure: unit-tested without a server.
/// One judgement per concern, in the order their details are shown: the fence, the server's
/// replication (standby or primary side), logical subscriptions, slots, thresholds, backup.
pub fn assess(
    st: &ServerStatus,
    upstream: &Upstream,
    primary_configured: bool,
    cfg: &DatabaseConfig,
) -> Reading {
    let role = if st.in_recovery {
        "standby"
    } else if !st.subscriptions.is_empty() {
        "subscriber"
    } else {
        "primary"
    };
    let mut j = Judged {
        level: Level::Good,
        details: Vec::new(),
        fields: BTreeMap::new(),
        summary: vec![role.to_string()],
    };
    j.field("role", Value::Text(role.into()));
    judge_fence(st, role, &mut j);
    if primary_configured && (st.in_recovery || !st.subscriptions.is_empty()) {
        let reachable = matches!(upstream, Upstream::Live(_));
        j.field("primary_reachable", Value::Bool(reachable));
    }
    let mut rep = if st.in_recovery {
        judge_standby(st, upstream, &mut j)
    } else {
        judge_primary(st, &mut j)
    };
    judge_subscriptions(st, upstream, &mut rep, &mut j);
    judge_slots(st, &mut j);
    judge_thresholds(st, cfg, &rep, &mut j);
    if st.in_recovery {
        j.summary.push(rep.state.clone());
    }
    judge_backup(st, cfg, &mut j);
    j.field("state", Value::Text(rep.state));
    j.field("ok", Value::Bool(j.level != Level::Bad));
    Reading {
        summary: j.summary.join(" · "),
        level: j.level,
        fields: j.fields,
        details: j.details,
    }
}

/// Can this server take writes? A standby cannot; a primary can unless it is fenced
/// (`default_transaction_read_only` on the server itself, not the probe's own session).
fn judge_fence(st: &ServerStatus, role: &str, j: &mut Judged) {
    if st.in_recovery {
        j.field("writable", Value::Bool(false));
        return;
    }
    match st.server_read_only {
        Some(true) => {
            j.summary[0] = format!("{role} · fenced (read-only)");
            j.field("fenced", Value::Bool(true));
            j.field("writable", Value::Bool(false));
            j.details.push(
                "fenced: default_transaction_read_only = on on the server, new sessions cannot write"
                    .into(),
            );
        }
        Some(false) => {
            j.field("fenced", Value::Bool(false));
            j.field("writable", Value::Bool(true));
        }
        None => j.details.push(
            "fence unknown: the server's default_transaction_read_only could not be told apart from this session's".into(),
        ),
    }
}

/// A standby: its WAL receiver, and how far its replay is behind the primary's position.
fn judge_standby(st: &ServerStatus, upstream: &Upstream, j: &mut Judged) -> Replication {
    let receiver = st.wal_receiver.as_ref();
    let state = receiver
        .map(|w| w.status.clone())
        .unwrap_or_else(|| "disconnected".into());
    j.field("receiver", Value::Text(state.clone()));
    if state != "streaming" {
        j.warn();
        j.details.push(format!(
            "WAL receiver: {state} (not streaming from the primary)"
        ));
    }
    if let Some(w) = receiver {
        j.details.push(format!(
            "receiver {} from {}{}{}",
            w.status,
            w.sender.as_deref().unwrap_or("?"),
            w.slot
                .as_deref()
                .map(|s| format!(" slot {s}"))
                .unwrap_or_default(),
            w.since_last_msg
                .map(|d| format!(", last message {} ago", fmt_duration(d)))
                .unwrap_or_default()
        ));
    }
    if let Some(b) = st.replay_backlog_bytes {
        j.field("replay_backlog", Value::Bytes(b));
    }
    j.details.push(format!(
        "received {} · replayed {} · replay backlog {}",
        opt_lsn(st.receive_lsn),
        opt_lsn(st.replay_lsn),
        st.replay_backlog_bytes
            .map(fmt_bytes)
            .unwrap_or_else(|| "?".into())
    ));
    if matches!(upstream, Upstream::LastSeen { .. }) {
        j.warn();
    }
    let (lag, replay_age) = standby_lag(st, upstream, j);
    Replication {
        state,
        lag,
        replay_age,
    }
}

/// A standby's lag and replay age. Bytes behind the primary come first; the replay age counts
/// only when there is something to replay (the idle-primary caveat).
fn standby_lag(
    st: &ServerStatus,
    upstream: &Upstream,
    j: &mut Judged,
) -> (Option<u64>, Option<Duration>) {
    match (upstream.lsn(), st.replay_lsn) {
        (Some(p), Some(r)) => {
            let behind = p.bytes_after(r);
            j.details
                .push(format!("{} behind {}", fmt_bytes(behind), upstream.basis()));
            if behind != 0 {
                return (Some(behind), st.since_last_replay);
            }
            // Idle-primary caveat: nothing to replay, whatever the commit timestamp's age.
            if let Some(a) = st.since_last_replay {
                j.details.push(format!(
                    "caught up: last replayed commit {} ago (primary idle since), replay age counted as 0",
                    fmt_duration(a)
                ));
            }
            (Some(behind), Some(Duration::ZERO))
        }
        (None, Some(_)) => {
            // No primary position at all: the backlog is what we can measure.
            j.warn();
            j.details.push(
                "primary position unknown: lag shown is the local replay backlog only".into(),
            );
            (st.replay_backlog_bytes, st.since_last_replay)
        }
        (_, None) => {
            j.warn();
            j.details.push("nothing replayed yet: lag unknown".into());
            (None, None)
        }
    }
}

/// A primary (or a writable subscriber): its standbys as `pg_stat_replication` shows them.
fn judge_primary(st: &ServerStatus, j: &mut Judged) -> Replication {
    if let Some(l) = st.current_lsn {
        j.details.push(format!("current WAL position {l}"));
    }
    let standbys: Vec<&crate::clients::postgres::ReplicaRow> =
        st.replicas.iter().filter(|r| !r.logical).collect();
    let n = standbys.len();
    j.field("replicas", Value::Num(n as f64));
    let state: String;
    if n == 0 {
        state = "no standby".into();
        j.details
            .push("no standby connected (no physical walsender in pg_stat_replication)".into());
    } else {
        let max_behind = standbys.iter().filter_map(|r| r.bytes_behind).max();
        if let Some(b) = max_behind {
            j.field("replicas_behind", Value::Bytes(b));
        }
        let not_streaming: Vec<&str> = standbys
            .iter()
            .filter(|r| r.state != "streaming")
            .map(|r| r.state.as_str())
            .collect();
        state = not_streaming
            .first()
            .copied()
            .unwrap_or("streaming")
            .to_string();
        if !not_streaming.is_empty() {
            j.warn();
        }
        j.summary.push(format!(
            "{n} standby{} {state}{}",
            if n == 1 { "" } else { "s" },
            max_behind
                .map(|b| format!(", max {} behind", fmt_bytes(b)))
                .unwrap_or_default()
        ));
    }
    for r in &st.replicas {
        j.details.push(format!(
            "→ {}{} {} {} {}: {} behind · lag write {} flush {} replay {}",
            if r.name.is_empty() { "?" } else { &r.name },
            if r.logical { " (logical)" } else { "" },
            r.client.as_deref().unwrap_or(""),
            r.state,
            r.sync_state,
            r.bytes_behind.map(fmt_bytes).unwrap_or_else(|| "?".into()),
            opt_dur(r.write_lag),
            opt_dur(r.flush_lag),
            opt_dur(r.replay_lag),
        ));
    }
    j.field("replica_state", Value::Text(state.clone()));
    Replication {
        state,
        lag: Some(0),
        replay_age: Some(Duration::ZERO),
    }
}

/// Logical replication, subscriber side: each subscription's worker and how far it is behind
/// the publisher. On a writable subscriber the subscription lag is the server's lag.
fn judge_subscriptions(
    st: &ServerStatus,
    upstream: &Upstream,
    rep: &mut Replication,
    j: &mut Judged,
) {
    if st.subscriptions.is_empty() {
        return;
    }
    j.field("subscriptions", Value::Num(st.subscriptions.len() as f64));
    let mut max_lag: Option<u64> = None;
    let mut max_age: Option<Duration> = None;
    for s in &st.subscriptions {
        let sub_lag = match (upstream.lsn(), s.latest_end_lsn.or(s.received_lsn)) {
            (Some(p), Some(e)) => Some(p.bytes_after(e)),
            _ => None,
        };
        if let Some(l) = sub_lag {
            max_lag = Some(max_lag.map_or(l, |m: u64| m.max(l)));
        }
        if let Some(a) = s.since_latest_end {
            max_age = Some(max_age.map_or(a, |m: Duration| m.max(a)));
        }
        if s.pid.is_none() {
            j.warn();
        }
        j.details.push(format!(
            "subscription {}: {} · received {} · confirmed {}{}{}",
            s.name,
            if s.pid.is_some() {
                "worker running"
            } else {
                "NO WORKER"
            },
            opt_lsn(s.received_lsn),
            opt_lsn(s.latest_end_lsn),
            sub_lag
                .map(|l| format!(" · {} behind", fmt_bytes(l)))
                .unwrap_or_default(),
            s.since_latest_end
                .map(|a| format!(" · confirmed {} ago", fmt_duration(a)))
                .unwrap_or_default()
        ));
    }
    if let Some(l) = max_lag {
        j.field("subscription_lag", Value::Bytes(l));
        if !st.in_recovery {
            rep.lag = Some(l);
            j.details.push(upstream.basis());
        }
    }
    if let Some(a) = max_age {
        j.field("subscription_age", Value::Duration(a));
    }
    if rep.state.is_empty() || rep.state == "no standby" {
        rep.state = if st.subscriptions.iter().all(|s| s.pid.is_some()) {
            "subscribed".into()
        } else {
            "subscription down".into()
        };
    }
}

/// Replication slots: a lost slot is bad, an unreserved one a warning.
fn judge_slots(st: &ServerStatus, j: &mut Judged) {
    if st.slots.is_empty() {
        return;
    }
    let max_slot = st.slots.iter().filter_map(|s| s.lag_bytes).max();
    if let Some(m) = max_slot {
        j.field("slot_lag", Value::Bytes(m));
    }
    let mut ok = true;
    for s in &st.slots {
        let ws = s.wal_status.as_deref().unwrap_or("?");
        match ws {
            "lost" => {
                j.level = Level::Bad;
                ok = false;
            }
            "unreserved" => {
                j.warn();
                ok = false;
            }
            _ => {}
        }
        j.details.push(format!(
            "slot {} ({}) {} wal {}: {} behind",
            s.name,
            s.slot_type,
            if s.active { "active" } else { "inactive" },
            ws,
            s.lag_bytes.map(fmt_bytes).unwrap_or_else(|| "?".into())
        ));
    }
    j.field("slots_ok", Value::Bool(ok));
    if !ok {
        j.summary.push("slot at risk".into());
    }
}

/// The plan's limits: `max_lag_bytes` and `max_replay_age`.
fn judge_thresholds(st: &ServerStatus, cfg: &DatabaseConfig, rep: &Replication, j: &mut Judged) {
    if let Some(l) = rep.lag {
        j.field("lag", Value::Bytes(l));
        let mut s = format!("{} behind", fmt_bytes(l));
        if let Some(max) = cfg.max_lag_bytes
            && l > max
        {
            j.level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_bytes(max)));
        }
        if st.in_recovery || !st.subscriptions.is_empty() {
            j.summary.push(s);
        }
    }
    if let Some(a) = rep.replay_age {
        j.field("replay_age", Value::Duration(a));
        if st.in_recovery {
            let mut s = format!("replay {}", fmt_duration(a));
            if let Some(max) = cfg.max_replay_age
                && a > max
            {
                j.level = Level::Bad;
                s.push_str(&format!(" (> {})", fmt_duration(max)));
            }
            j.summary.push(s);
        }
    }
}

/// The backup-age query's answer, against `max_backup_age`.
fn judge_backup(st: &ServerStatus, cfg: &DatabaseConfig, j: &mut Judged) {
    match &st.backup_age {
        None => {}
        Some(Ok(Some(age))) => {
            apply_backup(*age, cfg, &mut j.level, &mut j.fields, &mut j.summary);
        }
        Some(Ok(None)) => {
            j.level = worse(
                j.level,
                if cfg.max_backup_age.is_some() {
                    Level::Bad
                } else {
                    Level::Warn
                },
            );
            j.summary.push("no backup".into());
            j.details
                .push("the backup-age query returned NULL: no backup found".into());
        }
        Some(Err(e)) => {
            j.warn();
            j.summary.push("backup ?".into());
            j.details.push(e.clone());
        }
    }
}

pub(super) fn apply_backup(
    age: Duration,
    cfg: &DatabaseConfig,
    level: &mut Level,
    fields: &mut BTreeMap<String, Value>,
    summary: &mut Vec<String>,
) {
    fields.insert("backup_age".into(), Value::Duration(age));
    let mut s = format!("backup {} ago", fmt_duration(age));
    if let Some(max) = cfg.max_backup_age
        && age > max
    {
        *level = Level::Bad;
        s.push_str(&format!(" (> {})", fmt_duration(max)));
    }
    summary.push(s);
}

fn opt_lsn(l: Option<Lsn>) -> String {
    l.map(|l| l.to_string()).unwrap_or_else(|| "-".into())
}

fn opt_dur(d: Option<Duration>) -> String {
    d.map(fmt_duration).unwrap_or_else(|| "-".into())
}
