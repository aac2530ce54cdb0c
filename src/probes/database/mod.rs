//! Database: replication lag you can trust. Reads PostgreSQL directly (one round trip per server
//! per round on a kept read-only session, plus one to the other site's primary when this server
//! is a standby or subscriber) or a Prometheus instant query (managed databases), and turns it
//! into the panel's reading. Bytes behind is the primary signal; the replay age is only reported
//! as a lag when the primary has written since (the idle-primary caveat).
//!
//! A managed database with a PostgreSQL connection AND a cloud source (CloudWatch, Datadog) gets
//! both (`metrics::add_cloud`): the backup age from the cloud (PostgreSQL cannot see the
//! provider's backups), and, when both give a lag, the worse of the two with both shown.
//!
//! Fields conditions can test (`dr.database.<field>`): `role`, `lag` (bytes this server is behind
//! its primary; 0 on a primary), `replay_age`, `replay_backlog`, `receiver`, `state`,
//! `primary_reachable`, `replicas`, `replicas_behind`, `slot_lag`, `slots_ok`, `subscriptions`,
//! `subscription_lag`, `subscription_age`, `backup_age`, `wal_disk` (CloudWatch/Datadog), `writable`, `fenced`, `ok`.
//!
//! Two writable primaries (one per site) are a split brain: the engine judges that across sites
//! (`State::split_brain`), since one site's reading cannot see the other.

use std::collections::BTreeMap;
use std::time::Duration;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::http::HttpClient;
use crate::clients::postgres::{Lsn, PgError, ProbeSessions, ServerStatus};
use crate::plan::units::{fmt_bytes, fmt_duration};
use crate::plan::{DatabaseConfig, Plan, PrometheusSource, SiteId, Value};

mod assess;
pub mod metrics;

pub use assess::assess;
use assess::{apply_backup, worse};

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
    "wal_disk",
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

/// Probe one site's database, on the run's kept sessions.
pub async fn probe(
    plan: &Plan,
    http: &HttpClient,
    pg: &ProbeSessions,
    site: SiteId,
) -> Result<Reading, ProbeError> {
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
            let status = read_status(pg, url, cfg.backup_age_query.as_deref()).await?;
            let needs_upstream = status.in_recovery || !status.subscriptions.is_empty();
            let upstream = if needs_upstream {
                upstream_position(pg, upstream_url.as_deref(), receiver_end(&status)).await
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
            metrics::add_cloud(http, cfg, &mut reading).await;
            Ok(reading)
        }
        (None, Some(p)) => probe_prometheus(http, p, cfg).await,
        (None, None) => match (&cfg.cloudwatch, &cfg.datadog) {
            (Some(c), _) => metrics::probe_cloudwatch(http, c, cfg).await,
            (None, Some(d)) => metrics::probe_datadog(http, d, cfg).await,
            (None, None) => Err(ProbeError::new(
                "not configured",
                "the database has none of `postgres`, `prometheus`, `cloudwatch`, `datadog`",
            )),
        },
    }
}

/// One round on the kept session for `url`.
pub async fn read_status(
    pg: &ProbeSessions,
    url: &str,
    backup_q: Option<&str>,
) -> Result<ServerStatus, ProbeError> {
    let status = pg
        .with_session(url, |s| async move { s.status(backup_q).await })
        .await
        .map_err(|e| pg_probe_error(&e))?;
    if let Some(l) = status.current_lsn {
        pg.note_primary_position(url, l);
    }
    Ok(status)
}

/// The primary's WAL end as last reported to this server's WAL receiver.
pub fn receiver_end(st: &ServerStatus) -> Option<Lsn> {
    st.wal_receiver.as_ref().and_then(|w| w.latest_end_lsn)
}

/// The primary's WAL position for a standby's lag: live from the other site when it answers
/// within 2 s, else the last position seen, else `receiver_end` (what the WAL receiver was told).
pub async fn upstream_position(
    pg: &ProbeSessions,
    primary_url: Option<&str>,
    receiver_end: Option<Lsn>,
) -> Upstream {
    if let Some(url) = primary_url {
        let live = tokio::time::timeout(
            Duration::from_secs(2),
            pg.with_session(url, |s| async move { s.position().await }),
        )
        .await;
        match live {
            Ok(Ok((false, Some(lsn)))) => {
                pg.note_primary_position(url, lsn);
                return Upstream::Live(lsn);
            }
            Ok(Ok(_)) => {} // the other site is not a primary (after a failover)
            Ok(Err(_)) | Err(_) => {
                if let Some((lsn, ago, at)) = pg.last_primary_position(url) {
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
