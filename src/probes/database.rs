//! Database: replication lag you can trust. Reads PostgreSQL directly (one round trip per server
//! per round on a kept read-only session, plus one to the other site's primary when this server
//! is a standby or subscriber) or a Prometheus instant query (managed databases), and turns it
//! into the panel's reading. Bytes behind is the primary signal; the replay age is only reported
//! as a lag when the primary has written since (the idle-primary caveat).
//!
//! Fields conditions can test (`dr.database.<field>`): `role`, `lag` (bytes this server is behind
//! its primary; 0 on a primary), `replay_age`, `replay_backlog`, `receiver`, `state`,
//! `primary_reachable`, `replicas`, `replicas_behind`, `slot_lag`, `slots_ok`, `subscriptions`,
//! `subscription_lag`, `subscription_age`, `backup_age`, `writable`, `fenced`, `ok`.
//!
//! Two writable primaries (one per site) are a split brain: the engine judges that across sites
//! (`State::split_brain`), since one site's reading cannot see the other.

use std::collections::BTreeMap;
use std::time::Duration;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::http::HttpClient;
use crate::clients::postgres::{self, Lsn, PgError, ServerStatus};
use crate::plan::units::{fmt_bytes, fmt_duration};
use crate::plan::{DatabaseConfig, Plan, PrometheusSource, SiteId, Value};

/// Every field a database reading may carry (for the loader's condition check).
pub const FIELDS: &[&str] = &[
    "role",
    "lag",
    "replay_age",
    "replay_backlog",
    "receiver",
    "state",
    "primary_reachable",
    "replicas",
    "replicas_behind",
    "replica_state",
    "slot_lag",
    "slots_ok",
    "subscriptions",
    "subscription_lag",
    "subscription_age",
    "backup_age",
    "writable",
    "fenced",
    "ok",
];

/// Where the primary's WAL position came from, for a standby's (or subscriber's) lag.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// `pg_current_wal_lsn()` on the other site's primary, read this round.
    Live(Lsn),
    /// The primary did not answer; the last position seen `ago` (at wall-clock time `at`).
    LastSeen {
        lsn: Lsn,
        ago: Duration,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The primary's WAL end as last reported to this standby's WAL receiver.
    Receiver(Lsn),
    Unknown,
}

impl Upstream {
    pub fn lsn(&self) -> Option<Lsn> {
        match self {
            Upstream::Live(l) | Upstream::LastSeen { lsn: l, .. } | Upstream::Receiver(l) => {
                Some(*l)
            }
            Upstream::Unknown => None,
        }
    }
    fn basis(&self) -> String {
        match self {
            Upstream::Live(l) => format!("vs primary pg_current_wal_lsn {l}"),
            Upstream::LastSeen { lsn, ago, .. } => format!(
                "primary unreachable: vs its last seen position {lsn} ({} ago)",
                fmt_duration(*ago)
            ),
            Upstream::Receiver(l) => format!("vs the primary WAL end reported to the receiver {l}"),
            Upstream::Unknown => "primary position unknown".into(),
        }
    }
}

fn pg_probe_error(e: &PgError) -> ProbeError {
    ProbeError::new(
        e.short(),
        crate::redact::redact(&e.to_string()).into_owned(),
    )
}

/// Probe one site's database.
pub async fn probe(plan: &Plan, http: &HttpClient, site: SiteId) -> Result<Reading, ProbeError> {
    let Some(cfg) = plan.site(site).database.as_ref() else {
        return Err(ProbeError::new("not configured", "no database in the plan"));
    };
    let upstream_url = plan
        .site(site.other())
        .database
        .as_ref()
        .and_then(|d| d.postgres.clone());
    match (&cfg.postgres, &cfg.prometheus) {
        (Some(url), prom) => {
            let status = read_status(url, cfg.backup_age_query.as_deref()).await?;
            let needs_upstream = status.in_recovery || !status.subscriptions.is_empty();
            let upstream = if needs_upstream {
                upstream_position(upstream_url.as_deref(), receiver_end(&status)).await
            } else {
                Upstream::Unknown
            };
            let mut reading = assess(&status, &upstream, upstream_url.is_some(), cfg);
            if let Some(p) = prom
                && status.backup_age.is_none()
                && p.backup_age_query.is_some()
            {
                add_prometheus_backup(http, p, cfg, &mut reading).await;
            }
            Ok(reading)
        }
        (None, Some(p)) => probe_prometheus(http, p, cfg).await,
        (None, None) => Err(ProbeError::new(
            "not configured",
            "the database has neither `postgres` nor `prometheus`",
        )),
    }
}

/// One round on the kept session for `url`.
pub async fn read_status(url: &str, backup_q: Option<&str>) -> Result<ServerStatus, ProbeError> {
    let status = postgres::with_probe_session(url, |s| async move { s.status(backup_q).await })
        .await
        .map_err(|e| pg_probe_error(&e))?;
    if let Some(l) = status.current_lsn {
        postgres::note_primary_position(url, l);
    }
    Ok(status)
}

/// The primary's WAL end as last reported to this server's WAL receiver.
pub fn receiver_end(st: &ServerStatus) -> Option<Lsn> {
    st.wal_receiver.as_ref().and_then(|w| w.latest_end_lsn)
}

/// The primary's WAL position for a standby's lag: live from the other site when it answers
/// within 2 s, else the last position seen, else `receiver_end` (what the WAL receiver was told).
pub async fn upstream_position(primary_url: Option<&str>, receiver_end: Option<Lsn>) -> Upstream {
    if let Some(url) = primary_url {
        let live = tokio::time::timeout(
            Duration::from_secs(2),
            postgres::with_probe_session(url, |s| async move { s.position().await }),
        )
        .await;
        match live {
            Ok(Ok((false, Some(lsn)))) => {
                postgres::note_primary_position(url, lsn);
                return Upstream::Live(lsn);
            }
            Ok(Ok(_)) => {} // the other site is not a primary (after a failover)
            Ok(Err(_)) | Err(_) => {
                if let Some((lsn, ago, at)) = postgres::last_primary_position(url) {
                    return Upstream::LastSeen { lsn, ago, at };
                }
            }
        }
    }
    match receiver_end {
        Some(l) => Upstream::Receiver(l),
        None => Upstream::Unknown,
    }
}

fn worse(a: Level, b: Level) -> Level {
    a.max(b)
}

/// Turn one server's status into the panel's reading. Pure: unit-tested without a server.
pub fn assess(
    st: &ServerStatus,
    upstream: &Upstream,
    primary_configured: bool,
    cfg: &DatabaseConfig,
) -> Reading {
    let mut level = Level::Good;
    let mut details: Vec<String> = Vec::new();
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    let role = if st.in_recovery {
        "standby"
    } else if !st.subscriptions.is_empty() {
        "subscriber"
    } else {
        "primary"
    };
    fields.insert("role".into(), Value::Text(role.into()));
    let mut summary_parts: Vec<String> = vec![role.to_string()];
    // Can this server take writes? A standby cannot; a primary can unless it is fenced
    // (`default_transaction_read_only` on the server itself, not the probe's own session).
    if st.in_recovery {
        fields.insert("writable".into(), Value::Bool(false));
    } else {
        match st.server_read_only {
            Some(true) => {
                summary_parts[0] = format!("{role} · fenced (read-only)");
                fields.insert("fenced".into(), Value::Bool(true));
                fields.insert("writable".into(), Value::Bool(false));
                details.push(
                    "fenced: default_transaction_read_only = on on the server, new sessions cannot write"
                        .into(),
                );
            }
            Some(false) => {
                fields.insert("fenced".into(), Value::Bool(false));
                fields.insert("writable".into(), Value::Bool(true));
            }
            None => details.push(
                "fence unknown: the server's default_transaction_read_only could not be told apart from this session's".into(),
            ),
        }
    }
    let mut state: String;
    let mut lag: Option<u64> = None;
    let mut replay_age: Option<Duration> = None;

    if primary_configured && (st.in_recovery || !st.subscriptions.is_empty()) {
        let reachable = matches!(upstream, Upstream::Live(_));
        fields.insert("primary_reachable".into(), Value::Bool(reachable));
    }

    if st.in_recovery {
        // ---- standby
        let receiver = st.wal_receiver.as_ref();
        state = receiver
            .map(|w| w.status.clone())
            .unwrap_or_else(|| "disconnected".into());
        fields.insert("receiver".into(), Value::Text(state.clone()));
        if state != "streaming" {
            level = worse(level, Level::Warn);
            details.push(format!(
                "WAL receiver: {state} (not streaming from the primary)"
            ));
        }
        if let Some(w) = receiver {
            details.push(format!(
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
            fields.insert("replay_backlog".into(), Value::Bytes(b));
        }
        details.push(format!(
            "received {} · replayed {} · replay backlog {}",
            opt_lsn(st.receive_lsn),
            opt_lsn(st.replay_lsn),
            st.replay_backlog_bytes
                .map(fmt_bytes)
                .unwrap_or_else(|| "?".into())
        ));
        if matches!(upstream, Upstream::LastSeen { .. }) {
            level = worse(level, Level::Warn);
        }
        match (upstream.lsn(), st.replay_lsn) {
            (Some(p), Some(r)) => {
                let behind = p.bytes_after(r);
                lag = Some(behind);
                details.push(format!("{} behind {}", fmt_bytes(behind), upstream.basis()));
                if behind == 0 {
                    // Idle-primary caveat: nothing to replay, whatever the commit timestamp's age.
                    replay_age = Some(Duration::ZERO);
                    if let Some(a) = st.since_last_replay {
                        details.push(format!(
                            "caught up: last replayed commit {} ago (primary idle since), replay age counted as 0",
                            fmt_duration(a)
                        ));
                    }
                } else {
                    replay_age = st.since_last_replay;
                }
            }
            (None, Some(_)) => {
                // No primary position at all: the backlog is what we can measure.
                lag = st.replay_backlog_bytes;
                replay_age = st.since_last_replay;
                level = worse(level, Level::Warn);
                details.push(
                    "primary position unknown: lag shown is the local replay backlog only".into(),
                );
            }
            (_, None) => {
                level = worse(level, Level::Warn);
                details.push("nothing replayed yet: lag unknown".into());
            }
        }
    } else {
        // ---- primary (or a writable subscriber)
        lag = Some(0);
        replay_age = Some(Duration::ZERO);
        if let Some(l) = st.current_lsn {
            details.push(format!("current WAL position {l}"));
        }
        let standbys: Vec<&crate::clients::postgres::ReplicaRow> =
            st.replicas.iter().filter(|r| !r.logical).collect();
        let n = standbys.len();
        fields.insert("replicas".into(), Value::Num(n as f64));
        if n == 0 {
            state = "no standby".into();
            details
                .push("no standby connected (no physical walsender in pg_stat_replication)".into());
        } else {
            let max_behind = standbys.iter().filter_map(|r| r.bytes_behind).max();
            if let Some(b) = max_behind {
                fields.insert("replicas_behind".into(), Value::Bytes(b));
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
                level = worse(level, Level::Warn);
            }
            summary_parts.push(format!(
                "{n} standby{} {state}{}",
                if n == 1 { "" } else { "s" },
                max_behind
                    .map(|b| format!(", max {} behind", fmt_bytes(b)))
                    .unwrap_or_default()
            ));
        }
        for r in &st.replicas {
            details.push(format!(
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
        fields.insert("replica_state".into(), Value::Text(state.clone()));
    }

    // ---- logical replication, subscriber side
    if !st.subscriptions.is_empty() {
        fields.insert(
            "subscriptions".into(),
            Value::Num(st.subscriptions.len() as f64),
        );
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
                level = worse(level, Level::Warn);
            }
            details.push(format!(
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
            fields.insert("subscription_lag".into(), Value::Bytes(l));
            if !st.in_recovery {
                lag = Some(l);
                details.push(upstream.basis());
            }
        }
        if let Some(a) = max_age {
            fields.insert("subscription_age".into(), Value::Duration(a));
        }
        if state.is_empty() || state == "no standby" {
            state = if st.subscriptions.iter().all(|s| s.pid.is_some()) {
                "subscribed".into()
            } else {
                "subscription down".into()
            };
        }
    }

    // ---- slots
    if !st.slots.is_empty() {
        let max_slot = st.slots.iter().filter_map(|s| s.lag_bytes).max();
        if let Some(m) = max_slot {
            fields.insert("slot_lag".into(), Value::Bytes(m));
        }
        let mut ok = true;
        for s in &st.slots {
            let ws = s.wal_status.as_deref().unwrap_or("?");
            match ws {
                "lost" => {
                    level = Level::Bad;
                    ok = false;
                }
                "unreserved" => {
                    level = worse(level, Level::Warn);
                    ok = false;
                }
                _ => {}
            }
            details.push(format!(
                "slot {} ({}) {} wal {}: {} behind",
                s.name,
                s.slot_type,
                if s.active { "active" } else { "inactive" },
                ws,
                s.lag_bytes.map(fmt_bytes).unwrap_or_else(|| "?".into())
            ));
        }
        fields.insert("slots_ok".into(), Value::Bool(ok));
        if !ok {
            summary_parts.push("slot at risk".into());
        }
    }

    // ---- thresholds
    if let Some(l) = lag {
        fields.insert("lag".into(), Value::Bytes(l));
        let mut s = format!("{} behind", fmt_bytes(l));
        if let Some(max) = cfg.max_lag_bytes
            && l > max
        {
            level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_bytes(max)));
        }
        if st.in_recovery || !st.subscriptions.is_empty() {
            summary_parts.push(s);
        }
    }
    if let Some(a) = replay_age {
        fields.insert("replay_age".into(), Value::Duration(a));
        if st.in_recovery {
            let mut s = format!("replay {}", fmt_duration(a));
            if let Some(max) = cfg.max_replay_age
                && a > max
            {
                level = Level::Bad;
                s.push_str(&format!(" (> {})", fmt_duration(max)));
            }
            summary_parts.push(s);
        }
    }
    if st.in_recovery {
        summary_parts.push(state.clone());
    }
    match &st.backup_age {
        None => {}
        Some(Ok(Some(age))) => {
            apply_backup(*age, cfg, &mut level, &mut fields, &mut summary_parts);
        }
        Some(Ok(None)) => {
            level = worse(
                level,
                if cfg.max_backup_age.is_some() {
                    Level::Bad
                } else {
                    Level::Warn
                },
            );
            summary_parts.push("no backup".into());
            details.push("the backup-age query returned NULL: no backup found".into());
        }
        Some(Err(e)) => {
            level = worse(level, Level::Warn);
            summary_parts.push("backup ?".into());
            details.push(e.clone());
        }
    }
    fields.insert("state".into(), Value::Text(state));
    fields.insert("ok".into(), Value::Bool(level != Level::Bad));
    Reading {
        summary: summary_parts.join(" · "),
        level,
        fields,
        details,
    }
}

fn apply_backup(
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

// ---------------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------------

/// One series of an instant-query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// `GET {base}/api/v1/query?query=…` → the samples of a `vector` or `scalar` result.
pub async fn instant_query(
    http: &HttpClient,
    base: &str,
    query: &str,
) -> Result<Vec<Sample>, String> {
    let url = format!(
        "{}/api/v1/query?query={}",
        base.trim_end_matches('/'),
        crate::clients::http::percent_encode(query)
    );
    let resp = http
        .get(&url, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&resp.body).map_err(|_| {
        format!(
            "Prometheus answered {} with a body that is not JSON: {}",
            resp.status,
            resp.body.chars().take(120).collect::<String>()
        )
    })?;
    if v["status"] != "success" {
        return Err(format!(
            "Prometheus answered {}: {} {}",
            resp.status,
            v["errorType"].as_str().unwrap_or("error"),
            v["error"].as_str().unwrap_or("")
        ));
    }
    let data = &v["data"];
    let parse_val =
        |p: &serde_json::Value| -> Option<f64> { p.get(1)?.as_str()?.parse::<f64>().ok() };
    match data["resultType"].as_str() {
        Some("vector") => Ok(data["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| {
                        let value = parse_val(&s["value"])?;
                        let labels = s["metric"]
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        Some(Sample { labels, value })
                    })
                    .collect()
            })
            .unwrap_or_default()),
        Some("scalar") => Ok(parse_val(&data["result"])
            .map(|value| {
                vec![Sample {
                    labels: BTreeMap::new(),
                    value,
                }]
            })
            .unwrap_or_default()),
        other => Err(format!(
            "Prometheus result type {} is not supported (use an instant vector or scalar)",
            other.unwrap_or("?")
        )),
    }
}

/// Interpret a backup query's value: seconds of age, or a Unix timestamp (> 10⁹) of the backup.
fn backup_value_to_age(v: f64) -> Duration {
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let secs = if v > 1e9 { now - v } else { v };
    Duration::from_secs_f64(secs.clamp(0.0, 1e10))
}

/// A backup stamped in the future (a skewed clock on either side) says nothing about its age:
/// the reason, or `None` when every series is plausible. It must never read as a fresh backup.
fn backup_from_the_future(samples: &[Sample]) -> Option<String> {
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    samples.iter().find_map(|x| {
        let secs = if x.value > 1e9 {
            now - x.value
        } else {
            x.value
        };
        (secs < -super::reading::FUTURE_TOLERANCE.as_secs_f64()).then(|| {
            format!(
                "the last backup is stamped {} in the future (a skewed clock?): its age is unknown",
                fmt_duration(Duration::from_secs_f64((-secs).min(1e10)))
            )
        })
    })
}

/// The oldest backup among the series of a backup query's answer.
fn oldest_backup(samples: &[Sample]) -> Duration {
    samples
        .iter()
        .map(|x| backup_value_to_age(x.value))
        .max()
        .unwrap_or_default()
}

/// The samples of a query that is not the reading's main signal (replay age, backup age), or
/// `None` after marking `{what} ?` as a warning with the reason: the rest of the reading stands.
fn samples_or_warn(
    answer: Result<Vec<Sample>, String>,
    q: &str,
    what: &str,
    level: &mut Level,
    summary: &mut Vec<String>,
    details: &mut Vec<String>,
) -> Option<Vec<Sample>> {
    let why = match answer {
        Ok(s) if !s.is_empty() => return Some(s),
        Ok(_) => format!("Prometheus: no series for `{q}`"),
        Err(e) => format!(
            "Prometheus {what} query: {}",
            crate::redact::redact_string(e)
        ),
    };
    *level = worse(*level, Level::Warn);
    summary.push(format!("{what} ?"));
    details.push(why);
    None
}

async fn add_prometheus_backup(
    http: &HttpClient,
    p: &PrometheusSource,
    cfg: &DatabaseConfig,
    r: &mut Reading,
) {
    let Some(q) = &p.backup_age_query else { return };
    let mut summary = vec![std::mem::take(&mut r.summary)];
    let answer = instant_query(http, &p.url, q).await;
    if let Some(s) = samples_or_warn(
        answer,
        q,
        "backup",
        &mut r.level,
        &mut summary,
        &mut r.details,
    ) {
        if let Some(why) = backup_from_the_future(&s) {
            r.level = worse(r.level, Level::Warn);
            summary.push("backup ?".into());
            r.details.push(why);
        } else {
            apply_backup(
                oldest_backup(&s),
                cfg,
                &mut r.level,
                &mut r.fields,
                &mut summary,
            );
        }
    }
    r.fields
        .insert("ok".into(), Value::Bool(r.level != Level::Bad));
    r.summary = summary.join(" · ");
}

/// A database watched only through Prometheus (managed databases): `lag_query` answers bytes
/// behind (the largest series wins); `backup_age_query` answers seconds of age or a Unix
/// timestamp. An empty answer is an error: an exporter that stopped reporting is not healthy.
pub async fn probe_prometheus(
    http: &HttpClient,
    p: &PrometheusSource,
    cfg: &DatabaseConfig,
) -> Result<Reading, ProbeError> {
    let mut fields = BTreeMap::new();
    let mut level = Level::Good;
    let mut summary = Vec::new();
    let mut details = Vec::new();
    if let Some(q) = &p.lag_query {
        let samples = instant_query(http, &p.url, q)
            .await
            .map_err(|e| ProbeError::new("Prometheus error", crate::redact::redact_string(e)))?;
        let Some(max) = samples.iter().map(|s| s.value).reduce(f64::max) else {
            return Err(ProbeError::new(
                "no data",
                format!(
                    "Prometheus has no series for `{q}`: the exporter or the database is not reporting"
                ),
            ));
        };
        let lag = if max > 0.0 { max as u64 } else { 0 };
        fields.insert("lag".into(), Value::Bytes(lag));
        let mut s = format!("{} behind", fmt_bytes(lag));
        if let Some(m) = cfg.max_lag_bytes
            && lag > m
        {
            level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_bytes(m)));
        }
        summary.push(s);
        for smp in &samples {
            let labels: Vec<String> = smp
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            details.push(format!(
                "{{{}}} {}",
                labels.join(", "),
                fmt_bytes(smp.value.max(0.0) as u64)
            ));
        }
    }
    if let Some(q) = &p.replay_age_query {
        let answer = instant_query(http, &p.url, q).await;
        if let Some(s) =
            samples_or_warn(answer, q, "replay", &mut level, &mut summary, &mut details)
        {
            let secs = s.iter().map(|x| x.value).reduce(f64::max).unwrap_or(0.0);
            let age = Duration::from_secs_f64(secs.max(0.0));
            fields.insert("replay_age".into(), Value::Duration(age));
            let mut text = format!("replay {}", fmt_duration(age));
            if let Some(m) = cfg.max_replay_age
                && age > m
            {
                level = Level::Bad;
                text.push_str(&format!(" (> {})", fmt_duration(m)));
            }
            summary.push(text);
        }
    }
    if let Some(q) = &p.backup_age_query {
        let answer = match instant_query(http, &p.url, q).await {
            // Without a lag query, a Prometheus that does not answer fails the probe.
            Err(e) if p.lag_query.is_none() => {
                return Err(ProbeError::new(
                    "Prometheus error",
                    crate::redact::redact_string(e),
                ));
            }
            answer => answer,
        };
        if let Some(s) =
            samples_or_warn(answer, q, "backup", &mut level, &mut summary, &mut details)
        {
            if let Some(why) = backup_from_the_future(&s) {
                level = worse(level, Level::Warn);
                summary.push("backup ?".into());
                details.push(why);
            } else {
                apply_backup(
                    oldest_backup(&s),
                    cfg,
                    &mut level,
                    &mut fields,
                    &mut summary,
                );
            }
        }
    }
    if summary.is_empty() {
        return Err(ProbeError::new(
            "not configured",
            "the Prometheus source has none of lag_query, replay_age_query, backup_age_query",
        ));
    }
    summary.push("via Prometheus".into());
    fields.insert("ok".into(), Value::Bool(level != Level::Bad));
    Ok(Reading {
        summary: summary.join(" · "),
        level,
        fields,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::postgres::{ReplicaRow, WalReceiver};

    fn standby(replay: &str, since_last: u64) -> ServerStatus {
        ServerStatus {
            in_recovery: true,
            server_version: 150000,
            server_now: None,
            current_lsn: None,
            receive_lsn: Lsn::parse(replay),
            replay_lsn: Lsn::parse(replay),
            replay_backlog_bytes: Some(0),
            last_replay_at: None,
            since_last_replay: Some(Duration::from_secs(since_last)),
            replicas: vec![],
            wal_receiver: Some(WalReceiver {
                status: "streaming".into(),
                sender: Some("127.0.0.1:5432".into()),
                slot: Some("standby1".into()),
                flushed_lsn: Lsn::parse(replay),
                latest_end_lsn: Lsn::parse(replay),
                since_last_msg: Some(Duration::from_secs(1)),
            }),
            slots: vec![],
            subscriptions: vec![],
            backup_age: None,
            server_read_only: None,
        }
    }

    fn cfg() -> DatabaseConfig {
        DatabaseConfig {
            max_lag_bytes: Some(16 << 20),
            max_replay_age: Some(Duration::from_secs(300)),
            ..Default::default()
        }
    }

    #[test]
    fn idle_primary_is_not_a_lag_alarm() {
        // Last commit an hour ago, but the standby replayed everything the primary has.
        let st = standby("0/3000060", 3600);
        let r = assess(
            &st,
            &Upstream::Live(Lsn::parse("0/3000060").unwrap()),
            true,
            &cfg(),
        );
        assert_eq!(r.level, Level::Good, "{r:?}");
        assert_eq!(r.fields["lag"], Value::Bytes(0));
        assert_eq!(r.fields["replay_age"], Value::Duration(Duration::ZERO));
        assert!(r.details.iter().any(|d| d.contains("primary idle")));
        assert_fields_known(&r);
    }

    #[test]
    fn lag_beyond_the_plan_is_bad_and_age_counts_when_behind() {
        let st = standby("0/3000000", 600);
        let r = assess(
            &st,
            &Upstream::Live(Lsn::parse("0/5000000").unwrap()),
            true,
            &cfg(),
        );
        assert_eq!(r.fields["lag"], Value::Bytes(0x2000000));
        assert_eq!(
            r.fields["replay_age"],
            Value::Duration(Duration::from_secs(600))
        );
        assert_eq!(r.level, Level::Bad);
        assert_eq!(r.fields["ok"], Value::Bool(false));
    }

    #[test]
    fn unreachable_primary_warns_and_keeps_last_known_lag() {
        let st = standby("0/3000000", 10);
        let up = Upstream::LastSeen {
            lsn: Lsn::parse("0/3000100").unwrap(),
            ago: Duration::from_secs(12),
            at: chrono::Utc::now(),
        };
        let r = assess(&st, &up, true, &cfg());
        assert_eq!(r.fields["lag"], Value::Bytes(0x100));
        assert_eq!(r.fields["primary_reachable"], Value::Bool(false));
        assert_eq!(r.level, Level::Warn);
    }

    #[test]
    fn primary_lists_replicas() {
        let mut st = standby("0/3000000", 0);
        st.in_recovery = false;
        st.wal_receiver = None;
        st.current_lsn = Lsn::parse("0/3000100");
        st.replicas = vec![ReplicaRow {
            name: "standby1".into(),
            client: Some("127.0.0.1".into()),
            state: "catchup".into(),
            sync_state: "async".into(),
            sent_lsn: None,
            replay_lsn: None,
            bytes_behind: Some(4096),
            write_lag: None,
            flush_lag: None,
            replay_lag: None,
            reply_age: None,
            logical: false,
        }];
        let r = assess(&st, &Upstream::Unknown, true, &cfg());
        assert_eq!(r.fields["role"], Value::Text("primary".into()));
        assert_eq!(r.fields["lag"], Value::Bytes(0));
        assert_eq!(r.fields["replicas_behind"], Value::Bytes(4096));
        assert_eq!(r.level, Level::Warn, "a replica not streaming");
        assert_fields_known(&r);
    }

    fn assert_fields_known(r: &Reading) {
        for k in r.fields.keys() {
            assert!(
                FIELDS.contains(&k.as_str()),
                "field {k} missing from FIELDS"
            );
        }
    }

    #[test]
    fn backup_values() {
        assert_eq!(backup_value_to_age(90.0), Duration::from_secs(90));
        let ts = chrono::Utc::now().timestamp() as f64 - 3600.0;
        let a = backup_value_to_age(ts).as_secs();
        assert!((3598..=3602).contains(&a), "{a}");
    }
}
