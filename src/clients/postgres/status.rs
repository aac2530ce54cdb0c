//! What a probe round reads from a server: the status statement (one round trip for role, LSNs,
//! replication rows, WAL receiver, slots, subscriptions and the backup age) and the typed
//! results it decodes into, plus the other read-only facts (position, recovery facts, timeline).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{PgError, PgSession};

impl PgSession {
    /// The whole replication status in one round trip (see the module doc).
    pub async fn status(&self, backup_age_query: Option<&str>) -> Result<ServerStatus, PgError> {
        let mut sql = STATUS_SQL.to_string();
        if let Some(q) = backup_age_query {
            let q = q.trim().trim_end_matches(';');
            sql.push_str(&format!(
                ";\nSELECT extract(epoch from now() - ({q}))::float8::text"
            ));
        }
        let (results, err) = self.simple_multi(&sql).await?;
        let json = results
            .first()
            .and_then(|rows| rows.first())
            .and_then(|r| r.first().cloned().flatten())
            .ok_or_else(|| PgError::Protocol {
                target: self.target.clone(),
                detail: "the status query returned no row".into(),
            })?;
        let raw: RawStatus = serde_json::from_str(&json).map_err(|e| PgError::Protocol {
            target: self.target.clone(),
            detail: format!("status JSON: {e}"),
        })?;
        let backup_age = backup_age_query.map(|_| match (&err, results.get(1)) {
            (Some(e), _) => Err(format!("backup-age query: {e}")),
            (None, Some(rows)) => match rows.first().and_then(|r| r.first().cloned().flatten()) {
                None => Ok(None),
                Some(t) => t
                    .parse::<f64>()
                    .map(|s| Some(secs(s)))
                    .map_err(|_| format!("backup-age query returned `{t}`, not a time")),
            },
            (None, None) => Err("backup-age query returned nothing".into()),
        });
        Ok(raw.into_status(backup_age))
    }

    /// Is the server in recovery, and its WAL position (`pg_current_wal_lsn()` on a primary,
    /// the last replayed LSN on a standby). One round trip.
    pub async fn position(&self) -> Result<(bool, Option<Lsn>), PgError> {
        let rows = self
            .simple(
                "SELECT pg_is_in_recovery()::text, (CASE WHEN pg_is_in_recovery() \
                 THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text",
            )
            .await?;
        let row = rows.into_iter().next().unwrap_or_default();
        let rec = row.first().cloned().flatten().as_deref() == Some("true");
        let lsn = row.get(1).cloned().flatten().and_then(|s| Lsn::parse(&s));
        Ok((rec, lsn))
    }

    /// Standby facts recorded as RPO evidence at promotion. One round trip.
    pub async fn recovery_facts(&self) -> Result<RecoveryFacts, PgError> {
        let rows = self
            .simple(
                "SELECT pg_is_in_recovery()::text, pg_last_wal_receive_lsn()::text, \
                 pg_last_wal_replay_lsn()::text, \
                 extract(epoch from pg_last_xact_replay_timestamp())::text, \
                 (SELECT latest_end_lsn::text FROM pg_stat_wal_receiver LIMIT 1), \
                 (SELECT status FROM pg_stat_wal_receiver LIMIT 1), \
                 (SELECT timeline_id::text FROM pg_control_checkpoint())",
            )
            .await?;
        let r = rows.into_iter().next().unwrap_or_default();
        let get = |i: usize| r.get(i).cloned().flatten();
        Ok(RecoveryFacts {
            in_recovery: get(0).as_deref() == Some("true"),
            receive_lsn: get(1).and_then(|s| Lsn::parse(&s)),
            replay_lsn: get(2).and_then(|s| Lsn::parse(&s)),
            last_replay_at: get(3)
                .and_then(|s| s.parse::<f64>().ok())
                .and_then(epoch_to_datetime),
            receiver_end_lsn: get(4).and_then(|s| Lsn::parse(&s)),
            receiver_status: get(5),
            timeline: get(6).and_then(|s| s.parse().ok()),
        })
    }

    /// The server's current timeline, readable by any role: on a primary the first 8 hex
    /// digits of `pg_walfile_name(pg_current_wal_lsn())` (the timeline WAL is written on now);
    /// on a standby the WAL receiver's `received_tli`. (`pg_control_checkpoint()` is only
    /// updated at the next checkpoint: right after a promotion it still says the old one.)
    pub async fn timeline(&self) -> Result<Option<u32>, PgError> {
        let v = self
            .scalar(
                "SELECT CASE WHEN pg_is_in_recovery() \
                 THEN (SELECT lpad(to_hex(received_tli), 8, '0') FROM pg_stat_wal_receiver LIMIT 1) \
                 ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END",
            )
            .await?;
        Ok(v.and_then(|h| u32::from_str_radix(h.trim(), 16).ok()))
    }
}

/// A WAL location (`16/B374D848`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn parse(s: &str) -> Option<Lsn> {
        let (hi, lo) = s.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        Some(Lsn((hi << 32) | lo))
    }
    /// Bytes from `other` up to `self`, 0 when `other` is ahead.
    pub fn bytes_after(self, other: Lsn) -> u64 {
        self.0.saturating_sub(other.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// One `pg_stat_replication` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaRow {
    pub name: String,
    pub client: Option<String>,
    pub state: String,
    pub sync_state: String,
    pub sent_lsn: Option<Lsn>,
    pub replay_lsn: Option<Lsn>,
    /// `pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)`.
    pub bytes_behind: Option<u64>,
    pub write_lag: Option<Duration>,
    pub flush_lag: Option<Duration>,
    pub replay_lag: Option<Duration>,
    pub reply_age: Option<Duration>,
    /// A logical walsender (connected to a database: a subscription), not a standby.
    pub logical: bool,
}

/// `pg_stat_wal_receiver` on a standby.
#[derive(Debug, Clone, PartialEq)]
pub struct WalReceiver {
    pub status: String,
    pub sender: Option<String>,
    pub slot: Option<String>,
    pub flushed_lsn: Option<Lsn>,
    /// The primary's WAL end as last reported to this receiver.
    pub latest_end_lsn: Option<Lsn>,
    pub since_last_msg: Option<Duration>,
}

/// One `pg_replication_slots` row.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRow {
    pub name: String,
    pub slot_type: String,
    pub active: bool,
    /// reserved | extended | unreserved | lost
    pub wal_status: Option<String>,
    /// Bytes from `confirmed_flush_lsn` (logical) or `restart_lsn` (physical) to the current WAL position.
    pub lag_bytes: Option<u64>,
    pub safe_wal_size: Option<i64>,
}

/// One subscription's apply worker (`pg_stat_subscription` with `relid IS NULL`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRow {
    pub name: String,
    /// `None`: no worker running (the subscription is down or disabled).
    pub pid: Option<i64>,
    pub received_lsn: Option<Lsn>,
    pub latest_end_lsn: Option<Lsn>,
    pub since_last_msg: Option<Duration>,
    /// Age of `latest_end_time`: when the publisher's position was last confirmed.
    pub since_latest_end: Option<Duration>,
}

/// Everything one probe round reads from a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStatus {
    pub in_recovery: bool,
    pub server_version: u32,
    /// Server clock at the query.
    pub server_now: Option<DateTime<Utc>>,
    /// `pg_current_wal_lsn()` on a primary.
    pub current_lsn: Option<Lsn>,
    pub receive_lsn: Option<Lsn>,
    pub replay_lsn: Option<Lsn>,
    pub replay_backlog_bytes: Option<u64>,
    /// Commit time (on the primary) of the last replayed transaction.
    pub last_replay_at: Option<DateTime<Utc>>,
    /// `now() - pg_last_xact_replay_timestamp()` on the server's clock.
    pub since_last_replay: Option<Duration>,
    pub replicas: Vec<ReplicaRow>,
    pub wal_receiver: Option<WalReceiver>,
    pub slots: Vec<SlotRow>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// `None`: no backup query configured; `Some(Ok(None))`: it returned NULL (no backup).
    pub backup_age: Option<Result<Option<Duration>, String>>,
    /// The server's `default_transaction_read_only` (a fence), not the probe session's own;
    /// `None` when it cannot be told.
    pub server_read_only: Option<bool>,
}

impl ServerStatus {
    pub fn role(&self) -> &'static str {
        if self.in_recovery {
            "standby"
        } else {
            "primary"
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryFacts {
    pub in_recovery: bool,
    pub receive_lsn: Option<Lsn>,
    pub replay_lsn: Option<Lsn>,
    pub last_replay_at: Option<DateTime<Utc>>,
    pub receiver_end_lsn: Option<Lsn>,
    pub receiver_status: Option<String>,
    pub timeline: Option<u32>,
}

fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(1e10))
    } else {
        Duration::ZERO
    }
}

fn epoch_to_datetime(s: f64) -> Option<DateTime<Utc>> {
    if !s.is_finite() {
        return None;
    }
    DateTime::from_timestamp(s.trunc() as i64, ((s.fract().abs()) * 1e9) as u32)
}

fn bytes(v: Option<f64>) -> Option<u64> {
    v.map(|b| if b > 0.0 { b as u64 } else { 0 })
}

fn lsn(v: &Option<String>) -> Option<Lsn> {
    v.as_deref().and_then(Lsn::parse)
}

#[derive(Deserialize)]
struct RawStatus {
    in_recovery: bool,
    version: Option<u32>,
    now: Option<f64>,
    current_lsn: Option<String>,
    receive_lsn: Option<String>,
    replay_lsn: Option<String>,
    replay_backlog: Option<f64>,
    last_replay: Option<f64>,
    since_last_replay: Option<f64>,
    #[serde(default)]
    replicas: Vec<RawReplica>,
    receiver: Option<RawReceiver>,
    #[serde(default)]
    slots: Vec<RawSlot>,
    #[serde(default)]
    subscriptions: Vec<RawSub>,
    read_only: Option<RawSetting>,
}

/// A `pg_settings` row.
#[derive(Deserialize)]
struct RawSetting {
    setting: Option<String>,
    source: Option<String>,
    reset_val: Option<String>,
}

impl RawSetting {
    /// The server's own `default_transaction_read_only` (what every new session gets), apart
    /// from the probe session's own `SET`: with source `session` the server's value is
    /// `reset_val`; with source `client` a startup option hides it (unknown).
    fn server_value(&self) -> Option<bool> {
        let v = match self.source.as_deref() {
            Some("session") => self.reset_val.as_deref(),
            Some("client") | None => None,
            Some(_) => self.setting.as_deref(),
        }?;
        Some(v == "on")
    }
}

#[derive(Deserialize)]
struct RawReplica {
    name: Option<String>,
    client: Option<String>,
    state: Option<String>,
    sync_state: Option<String>,
    sent_lsn: Option<String>,
    replay_lsn: Option<String>,
    bytes_behind: Option<f64>,
    write_lag: Option<f64>,
    flush_lag: Option<f64>,
    replay_lag: Option<f64>,
    reply_age: Option<f64>,
    #[serde(default)]
    logical: Option<bool>,
}

#[derive(Deserialize)]
struct RawReceiver {
    status: Option<String>,
    sender_host: Option<String>,
    sender_port: Option<i64>,
    slot: Option<String>,
    flushed_lsn: Option<String>,
    latest_end_lsn: Option<String>,
    msg_age: Option<f64>,
}

#[derive(Deserialize)]
struct RawSlot {
    name: Option<String>,
    #[serde(rename = "type")]
    slot_type: Option<String>,
    active: Option<bool>,
    wal_status: Option<String>,
    lag: Option<f64>,
    safe_wal_size: Option<f64>,
}

#[derive(Deserialize)]
struct RawSub {
    name: Option<String>,
    pid: Option<i64>,
    received_lsn: Option<String>,
    latest_end_lsn: Option<String>,
    msg_age: Option<f64>,
    end_age: Option<f64>,
}

impl RawStatus {
    fn into_status(self, backup_age: Option<Result<Option<Duration>, String>>) -> ServerStatus {
        ServerStatus {
            in_recovery: self.in_recovery,
            server_version: self.version.unwrap_or(0),
            server_now: self.now.and_then(epoch_to_datetime),
            current_lsn: lsn(&self.current_lsn),
            receive_lsn: lsn(&self.receive_lsn),
            replay_lsn: lsn(&self.replay_lsn),
            replay_backlog_bytes: bytes(self.replay_backlog),
            last_replay_at: self.last_replay.and_then(epoch_to_datetime),
            since_last_replay: self.since_last_replay.map(secs),
            server_read_only: self.read_only.as_ref().and_then(RawSetting::server_value),
            replicas: self
                .replicas
                .into_iter()
                .map(|r| ReplicaRow {
                    name: r.name.unwrap_or_default(),
                    client: r.client,
                    state: r.state.unwrap_or_else(|| "?".into()),
                    sync_state: r.sync_state.unwrap_or_else(|| "?".into()),
                    sent_lsn: lsn(&r.sent_lsn),
                    replay_lsn: lsn(&r.replay_lsn),
                    bytes_behind: bytes(r.bytes_behind),
                    write_lag: r.write_lag.map(secs),
                    flush_lag: r.flush_lag.map(secs),
                    replay_lag: r.replay_lag.map(secs),
                    reply_age: r.reply_age.map(secs),
                    logical: r.logical.unwrap_or(false),
                })
                .collect(),
            wal_receiver: self.receiver.map(|w| WalReceiver {
                status: w.status.unwrap_or_else(|| "?".into()),
                sender: w.sender_host.map(|h| match w.sender_port {
                    Some(p) => format!("{h}:{p}"),
                    None => h,
                }),
                slot: w.slot,
                flushed_lsn: lsn(&w.flushed_lsn),
                latest_end_lsn: lsn(&w.latest_end_lsn),
                since_last_msg: w.msg_age.map(secs),
            }),
            slots: self
                .slots
                .into_iter()
                .map(|s| SlotRow {
                    name: s.name.unwrap_or_default(),
                    slot_type: s.slot_type.unwrap_or_default(),
                    active: s.active.unwrap_or(false),
                    wal_status: s.wal_status,
                    lag_bytes: bytes(s.lag),
                    safe_wal_size: s.safe_wal_size.map(|v| v as i64),
                })
                .collect(),
            subscriptions: self
                .subscriptions
                .into_iter()
                .map(|s| SubscriptionRow {
                    name: s.name.unwrap_or_default(),
                    pid: s.pid,
                    received_lsn: lsn(&s.received_lsn),
                    latest_end_lsn: lsn(&s.latest_end_lsn),
                    since_last_msg: s.msg_age.map(secs),
                    since_latest_end: s.end_age.map(secs),
                })
                .collect(),
            backup_age,
        }
    }
}

/// The status query: one statement, one row, one JSON document. `pg_current_wal_lsn()` is only
/// evaluated on a primary (it errors during recovery).
pub const STATUS_SQL: &str = r#"WITH s AS (SELECT pg_is_in_recovery() AS rec),
c AS (SELECT CASE WHEN s.rec THEN NULL ELSE pg_current_wal_lsn() END AS cur,
             CASE WHEN s.rec THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS pos
      FROM s)
SELECT json_build_object(
  'in_recovery', s.rec,
  'version', current_setting('server_version_num')::int,
  'read_only', (SELECT json_build_object('setting', setting, 'source', source,
      'reset_val', reset_val) FROM pg_settings WHERE name = 'default_transaction_read_only'),
  'now', extract(epoch from now()),
  'current_lsn', c.cur::text,
  'receive_lsn', pg_last_wal_receive_lsn()::text,
  'replay_lsn', pg_last_wal_replay_lsn()::text,
  'replay_backlog', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
  'last_replay', extract(epoch from pg_last_xact_replay_timestamp()),
  'since_last_replay', extract(epoch from now() - pg_last_xact_replay_timestamp()),
  'replicas', (SELECT coalesce(json_agg(json_build_object(
      'name', r.application_name, 'client', host(r.client_addr), 'state', r.state,
      'sync_state', r.sync_state, 'sent_lsn', r.sent_lsn::text, 'replay_lsn', r.replay_lsn::text,
      'bytes_behind', pg_wal_lsn_diff(c.pos, r.replay_lsn),
      'logical', EXISTS (SELECT 1 FROM pg_stat_activity a
                         WHERE a.pid = r.pid AND a.datid IS NOT NULL),
      'write_lag', extract(epoch from r.write_lag), 'flush_lag', extract(epoch from r.flush_lag),
      'replay_lag', extract(epoch from r.replay_lag),
      'reply_age', extract(epoch from now() - r.reply_time)) ORDER BY r.application_name), '[]'::json)
    FROM pg_stat_replication r),
  'receiver', (SELECT json_build_object('status', w.status, 'sender_host', w.sender_host,
      'sender_port', w.sender_port, 'slot', w.slot_name, 'flushed_lsn', w.flushed_lsn::text,
      'latest_end_lsn', w.latest_end_lsn::text,
      'msg_age', extract(epoch from now() - w.last_msg_receipt_time))
    FROM pg_stat_wal_receiver w LIMIT 1),
  'slots', (SELECT coalesce(json_agg(json_build_object('name', sl.slot_name, 'type', sl.slot_type,
      'active', sl.active, 'wal_status', sl.wal_status,
      'lag', pg_wal_lsn_diff(c.pos, coalesce(sl.confirmed_flush_lsn, sl.restart_lsn)),
      'safe_wal_size', sl.safe_wal_size) ORDER BY sl.slot_name), '[]'::json)
    FROM pg_replication_slots sl),
  'subscriptions', (SELECT coalesce(json_agg(json_build_object('name', su.subname, 'pid', su.pid,
      'received_lsn', su.received_lsn::text, 'latest_end_lsn', su.latest_end_lsn::text,
      'msg_age', extract(epoch from now() - su.last_msg_receipt_time),
      'end_age', extract(epoch from now() - su.latest_end_time)) ORDER BY su.subname), '[]'::json)
    FROM pg_stat_subscription su WHERE su.relid IS NULL)
)::text FROM s, c"#;
