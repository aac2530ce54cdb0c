//! `postgres.promote` and `postgres.fence`.
//!
//! Promotion is idempotent by construction: it checks `pg_is_in_recovery()` first (already
//! primary → success with a note), records the RPO evidence (a `StepOutput` line on stream
//! [`EVIDENCE_STREAM`] whose text is JSON), calls `pg_promote(true, N)`, re-checks a `false`
//! answer, and verifies the server accepts a write. Fencing makes a reachable old primary refuse
//! writes (`default_transaction_read_only` via `ALTER SYSTEM` + reload, optionally terminating
//! client sessions) and verifies it from a new session.
//!
//! A read-write session is only opened when the step's transport may mutate: in monitor and
//! review modes these steps refuse before connecting.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::postgres::{
    self, ConnectOptions, Lsn, PgTarget, READ_ONLY_SQL_TRANSACTION, RecoveryFacts, TERMINATE_SQL,
};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::raw::RawStep;
use crate::plan::units::fmt_bytes;
pub use crate::plan::{Fence, PostgresStep, Promote};
use crate::plan::{Plan, SiteId, StepAction};
use crate::probes::database::{Upstream, receiver_end, upstream_position};

/// The output stream carrying RPO evidence (JSON text) for the journal.
pub const EVIDENCE_STREAM: &str = Stream::RpoEvidence.as_str();
const EVIDENCE: Stream = Stream::RpoEvidence;

/// Every key the postgres.* kinds use (besides the common ones): what [`from_raw`] reads
/// (each kind's keys convert into it; a step built outside the loader reads into it whole,
/// other keys ignored).
#[derive(Debug, Default, Deserialize)]
pub struct PostgresKeys {
    #[serde(default)]
    pub wait_seconds: Option<u32>,
    #[serde(default)]
    pub terminate_sessions: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `postgres.promote` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteKeys {
    /// postgres.promote: seconds `pg_promote(true, N)` waits (default 60).
    #[serde(default)]
    pub wait_seconds: Option<u32>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `postgres.fence` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FenceKeys {
    /// postgres.fence: also terminate every client session (default false).
    #[serde(default)]
    pub terminate_sessions: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl From<PromoteKeys> for PostgresKeys {
    fn from(k: PromoteKeys) -> Self {
        PostgresKeys {
            wait_seconds: k.wait_seconds,
            terminate_sessions: None,
            timeout: k.timeout,
        }
    }
}

impl From<FenceKeys> for PostgresKeys {
    fn from(k: FenceKeys) -> Self {
        PostgresKeys {
            wait_seconds: None,
            terminate_sessions: k.terminate_sessions,
            timeout: k.timeout,
        }
    }
}

fn parse_site(raw: &RawStep, default: SiteId) -> Result<SiteId, (&'static str, String)> {
    match raw.site.as_deref().map(str::trim) {
        None => Ok(default),
        Some("prod") => Ok(SiteId::Prod),
        Some("dr") => Ok(SiteId::Dr),
        Some(other) => Err((
            "site",
            format!("`site` must be `prod` or `dr`, not `{other}`"),
        )),
    }
}

/// Build a `postgres.*` action from its plan keys; the error names the key at fault. The site
/// defaults to `dr` for promote and `prod` for fence.
pub fn from_raw(
    kind: &str,
    raw: &RawStep,
    keys: &PostgresKeys,
) -> Result<PostgresStep, (&'static str, String)> {
    match kind {
        "postgres.promote" => {
            if keys.terminate_sessions.is_some() {
                return Err((
                    "terminate_sessions",
                    "`terminate_sessions` applies to postgres.fence only".into(),
                ));
            }
            let wait_seconds = keys.wait_seconds.unwrap_or(60);
            if wait_seconds == 0 || wait_seconds > 3600 {
                return Err((
                    "wait_seconds",
                    format!("`wait_seconds` must be between 1 and 3600, not {wait_seconds}"),
                ));
            }
            Ok(PostgresStep::Promote(Promote {
                site: parse_site(raw, SiteId::Dr)?,
                wait_seconds,
            }))
        }
        "postgres.fence" => {
            if keys.wait_seconds.is_some() {
                return Err((
                    "wait_seconds",
                    "`wait_seconds` applies to postgres.promote only".into(),
                ));
            }
            Ok(PostgresStep::Fence(Fence {
                site: parse_site(raw, SiteId::Prod)?,
                terminate_sessions: keys.terminate_sessions.unwrap_or(false),
            }))
        }
        other => Err(("kind", format!("`{other}` is not a postgres step kind"))),
    }
}

/// [`from_raw`] as a [`StepAction`] (tests and callers outside the loader).
pub fn build(kind: &str, raw: &RawStep) -> Result<StepAction, String> {
    let keys: PostgresKeys = raw.spec()?;
    from_raw(kind, raw, &keys)
        .map(StepAction::Postgres)
        .map_err(|(_, m)| m)
}

fn build_spec(keys: PostgresKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let kind = s.kind().to_string();
    let step =
        from_raw(&kind, s.raw(), &keys).map_err(|(key, m)| s.error(key, &m, vec![], None))?;
    let timeout = s.duration("timeout", &keys.timeout)?;
    Ok(Built {
        action: StepAction::Postgres(step),
        timeout,
    })
}

/// Load-time check the loader runs once the sites are known: every postgres step's site has a
/// `database.postgres`. Returns (step index, message) of the first that does not.
pub fn check_sites(plan: &Plan) -> Option<(usize, String)> {
    plan.steps.iter().enumerate().find_map(|(i, st)| {
        let StepAction::Postgres(p) = &st.action else {
            return None;
        };
        let site = p.site();
        let has = plan
            .site(site)
            .database
            .as_ref()
            .is_some_and(|d| d.postgres.is_some());
        (!has).then(|| {
            (
                i,
                format!(
                    "step `{}`: {} acts on site `{}` but [sites.{}] has no `database.postgres`",
                    st.id,
                    p.kind_name(),
                    site.as_str(),
                    site.as_str()
                ),
            )
        })
    })
}

/// The server a step acts on and the other site's server, from the plan.
fn servers(plan: &Plan, site: SiteId) -> Result<(String, Option<String>, Option<u64>), String> {
    let db = plan.site(site).database.as_ref();
    let Some(url) = db.and_then(|d| d.postgres.clone()) else {
        return Err(format!(
            "[sites.{}] has no `database.postgres` to act on",
            site.as_str()
        ));
    };
    let other_url = plan
        .site(site.other())
        .database
        .as_ref()
        .and_then(|d| d.postgres.clone());
    Ok((url, other_url, db.and_then(|d| d.max_lag_bytes)))
}

fn display(url: &str) -> String {
    PgTarget::parse(url)
        .map(|t| format!("{} (sslmode={})", t.display, t.ssl.as_str()))
        .unwrap_or_else(|_| "‹invalid connection string›".into())
}

/// The exact SQL each step sends, for review mode.
pub fn describe(step: &PostgresStep) -> Vec<String> {
    match step {
        PostgresStep::Promote(p) => vec![
            format!(
                "connect to the {} standby (sites.{}.database.postgres) with a read-write session",
                p.site.as_str(),
                p.site.as_str()
            ),
            "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(), (pg_stat_wal_receiver.latest_end_lsn, status), timeline_id".into(),
            "  already primary (false) → nothing to do: succeeds with a note (idempotent; no RPO evidence)".into(),
            format!(
                "RPO evidence, journaled: lag = the {} primary's pg_current_wal_lsn() − replayed LSN (read-only, 2 s); if it does not answer, RPO UNKNOWN with its last position seen and the received/replayed LSN",
                p.site.other().as_str()
            ),
            format!("SELECT pg_promote(true, {})", p.wait_seconds),
            "  false → re-check pg_is_in_recovery() every second for 15 s".into(),
            "verify: pg_is_in_recovery() = false, then BEGIN; CREATE TEMP TABLE drcockpit_write_check(x int); INSERT INTO drcockpit_write_check VALUES (1); ROLLBACK; the new timeline from pg_walfile_name(pg_current_wal_lsn())".into(),
        ],
        PostgresStep::Fence(f) => {
            let mut v = vec![
                format!(
                    "connect to the {} old primary (sites.{}.database.postgres) with a read-write session",
                    f.site.as_str(),
                    f.site.as_str()
                ),
                "SELECT pg_is_in_recovery() (a standby already refuses writes: nothing to do)".into(),
                "ALTER SYSTEM SET default_transaction_read_only = on".into(),
                "SELECT pg_reload_conf()".into(),
            ];
            if f.terminate_sessions {
                v.push(TERMINATE_SQL.into());
            }
            v.push("verify from a new session: BEGIN; CREATE TEMP TABLE drcockpit_write_check(x int); … must fail with SQLSTATE 25006 (read-only transaction)".into());
            v.push("note: a client can still SET default_transaction_read_only = off; stop the server or cut its network for a hard fence".into());
            v
        }
    }
}

pub fn default_timeout(step: &PostgresStep) -> Duration {
    match step {
        PostgresStep::Promote(p) => Duration::from_secs(u64::from(p.wait_seconds) + 60),
        PostgresStep::Fence(_) => Duration::from_secs(60),
    }
}

fn refuse(ctx: &StepContext, what: &str) -> Result<(), String> {
    if ctx.http.is_read_only() {
        log::warn!(target: "safety", "read-only session refused {what}");
        return Err(format!(
            "refused: this session is read-only (monitor/review mode); {what} may not run"
        ));
    }
    Ok(())
}

/// Read-only checks for review mode: reachable, role, lag.
pub async fn preflight(step: &PostgresStep, ctx: &StepContext) -> Vec<PreflightCheck> {
    let (url, other_url, max_lag) = match servers(&ctx.plan, step.site()) {
        Ok(v) => v,
        Err(e) => {
            return vec![PreflightCheck {
                what: "database configured".into(),
                ok: Some(false),
                detail: e,
            }];
        }
    };
    let want_standby = matches!(step, PostgresStep::Promote(_));
    let primary_url = if want_standby {
        other_url.as_deref()
    } else {
        None
    };
    let max_lag = if want_standby { max_lag } else { None };
    let url = &url;
    let name = display(url);
    let mut checks = Vec::new();
    let status = match crate::probes::database::read_status(&ctx.probes.pg, url, None).await {
        Ok(s) => {
            checks.push(PreflightCheck {
                what: format!("reachable: {name}"),
                ok: Some(true),
                detail: "read-only session answered".into(),
            });
            s
        }
        Err(e) => {
            checks.push(PreflightCheck {
                what: format!("reachable: {name}"),
                ok: Some(false),
                detail: if want_standby {
                    e.full
                } else {
                    format!(
                        "{} — cannot fence it from here: stop it or cut its network",
                        e.full
                    )
                },
            });
            return checks;
        }
    };
    let role = status.role();
    checks.push(PreflightCheck {
        what: format!("role: {role}"),
        ok: Some(true),
        detail: match (want_standby, status.in_recovery) {
            (true, true) => "a standby: can be promoted".into(),
            (true, false) => "already primary: promotion will be a no-op".into(),
            (false, false) => "a primary: fencing will make it refuse writes".into(),
            (false, true) => "in recovery: already refuses writes".into(),
        },
    });
    if want_standby && status.in_recovery {
        let up = upstream_position(&ctx.probes.pg, primary_url, receiver_end(&status)).await;
        let lag = match (up.lsn(), status.replay_lsn) {
            (Some(p), Some(r)) => Some(p.bytes_after(r)),
            _ => None,
        };
        checks.push(PreflightCheck {
            what: "lag".into(),
            ok: match (lag, max_lag) {
                (Some(l), Some(m)) => Some(l <= m),
                (Some(_), None) => Some(true),
                (None, _) => None,
            },
            detail: match lag {
                Some(l) => format!(
                    "{} behind{}",
                    fmt_bytes(l),
                    max_lag
                        .map(|m| format!(" (plan allows {})", fmt_bytes(m)))
                        .unwrap_or_default()
                ),
                None => "unknown: no primary position".into(),
            },
        });
    }
    checks
}

pub async fn run(step: &PostgresStep, ctx: &StepContext) -> Result<String, String> {
    match step {
        PostgresStep::Promote(p) => promote(p, ctx).await,
        PostgresStep::Fence(f) => fence(f, ctx).await,
    }
}

/// The lag at promotion and how it was measured.
async fn lag_at_promotion(
    pg: &crate::clients::postgres::ProbeSessions,
    primary_url: Option<&str>,
    facts: &RecoveryFacts,
) -> LagAtPromotion {
    let now = chrono::Utc::now();
    let up = upstream_position(pg, primary_url, facts.receiver_end_lsn).await;
    let (basis, primary_alive_at) = match &up {
        Upstream::Live(_) => (
            "primary pg_current_wal_lsn() read at promotion".into(),
            Some(now),
        ),
        Upstream::LastSeen { ago, at, .. } => (
            format!(
                "primary unreachable at promotion: its last position seen at {} ({} s before); writes after that are not counted",
                at.to_rfc3339(),
                ago.as_secs()
            ),
            Some(*at),
        ),
        Upstream::Receiver(_) => (
            "the primary WAL end last reported to this standby's WAL receiver (primary not readable)".into(),
            None,
        ),
        Upstream::Unknown => (
            "unknown: the primary is unreachable and never seen; the standby has no WAL receiver position".into(),
            None,
        ),
    };
    let primary_lsn = up.lsn();
    LagAtPromotion {
        bytes: primary_lsn.and_then(|p| facts.replay_lsn.map(|r| p.bytes_after(r))),
        primary_lsn,
        primary_live: matches!(up, Upstream::Live(_)),
        last_seen_lsn: match &up {
            Upstream::LastSeen { lsn, .. } => Some(*lsn),
            _ => None,
        },
        basis,
        primary_alive_at,
    }
}

struct LagAtPromotion {
    bytes: Option<u64>,
    primary_lsn: Option<Lsn>,
    /// The primary answered at promotion: only then is the lag a measurement.
    primary_live: bool,
    /// The primary's last position seen before it stopped answering.
    last_seen_lsn: Option<Lsn>,
    basis: String,
    /// When the primary was last known to be at `primary_lsn`.
    primary_alive_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl LagAtPromotion {
    /// The data-loss window in seconds: 0 when nothing is behind; otherwise from the last
    /// replayed commit to when the primary was last seen at its position (an upper bound).
    fn window_secs(&self, last_replay: Option<chrono::DateTime<chrono::Utc>>) -> Option<f64> {
        match (self.bytes, last_replay, self.primary_alive_at) {
            (Some(0), _, _) => Some(0.0),
            (Some(_), Some(r), Some(alive)) => {
                Some(((alive - r).num_milliseconds() as f64 / 1000.0).max(0.0))
            }
            _ => None,
        }
    }
}

async fn promote(p: &Promote, ctx: &StepContext) -> Result<String, String> {
    refuse(ctx, "postgres.promote")?;
    let (url, primary_url, _) = servers(&ctx.plan, p.site)?;
    let name = display(&url);
    ctx.info(format!("connecting to {name} (read-write session)"));
    let s = postgres::connect(
        &url,
        &ConnectOptions::mutating(Duration::from_secs(u64::from(p.wait_seconds) + 15)),
    )
    .await
    .map_err(|e| format!("cannot promote: {e}"))?;
    let facts = s.recovery_facts().await.map_err(|e| e.to_string())?;
    if !facts.in_recovery {
        // Nothing is promoted, so no RPO evidence is recorded: there is no promotion to measure.
        ctx.info("pg_is_in_recovery() = false: already primary, nothing to promote");
        let timeline = s.timeline().await.ok().flatten().or(facts.timeline);
        return match s.write_check().await.map_err(|e| e.to_string())? {
            Ok(()) => Ok(format!(
                "{name} is already primary (nothing done; no RPO evidence recorded); it accepts writes{}",
                timeline
                    .map(|t| format!(", timeline {t}"))
                    .unwrap_or_default()
            )),
            Err(why) => Err(format!(
                "{name} is already primary but refuses writes (fenced or read-only?): {why}"
            )),
        };
    }
    ctx.info(format!(
        "standby: received {} · replayed {} · last replayed commit {} · WAL receiver {}",
        opt(facts.receive_lsn),
        opt(facts.replay_lsn),
        facts
            .last_replay_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "none".into()),
        facts.receiver_status.as_deref().unwrap_or("not running")
    ));
    let measured = lag_at_promotion(&ctx.probes.pg, primary_url.as_deref(), &facts).await;
    let timeline_before = s.timeline().await.ok().flatten().or(facts.timeline);
    let lag = measured.bytes;
    let basis = measured.basis.clone();
    let evidence = rpo_evidence(p, &url, &facts, &measured, timeline_before);
    ctx.emit(EVIDENCE, evidence.to_string());
    if measured.primary_live {
        ctx.info(format!(
            "RPO evidence: {} behind at promotion ({basis})",
            lag.map(fmt_bytes).unwrap_or_else(|| "unknown".into())
        ));
    } else {
        ctx.emit(
            Stream::Stderr,
            format!(
                "RPO UNKNOWN: {basis}; standby received {} · replayed {}. To know the data loss: {}",
                opt(facts.receive_lsn),
                opt(facts.replay_lsn),
                crate::journal::RPO_UNKNOWN_NEEDED
            ),
        );
    }

    ctx.info(format!("SELECT pg_promote(true, {})", p.wait_seconds));
    let t0 = Instant::now();
    match s.promote(p.wait_seconds).await {
        Ok(true) => ctx.info(format!(
            "pg_promote returned true after {} ms",
            t0.elapsed().as_millis()
        )),
        Ok(false) => {
            ctx.emit(
                Stream::Stderr,
                "pg_promote returned false: re-checking pg_is_in_recovery()",
            );
            recheck(&s, ctx).await?;
        }
        Err(e) if e.sqlstate() == Some("55000") => {
            ctx.info(format!("{e}: promoted meanwhile? re-checking"));
            recheck(&s, ctx).await?;
        }
        Err(e) if e.sqlstate() == Some("42501") => {
            return Err(format!(
                "pg_promote refused: {e} — the role needs superuser or `GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO <role>`"
            ));
        }
        Err(e) => {
            ctx.emit(
                Stream::Stderr,
                format!("pg_promote failed: {e}; re-checking"),
            );
            if recheck(&s, ctx).await.is_err() {
                return Err(format!("pg_promote failed: {e}"));
            }
        }
    }
    let elapsed = t0.elapsed();
    // Verify.
    let (rec, pos) = s.position().await.map_err(|e| e.to_string())?;
    if rec {
        return Err(format!("{name} is still in recovery after pg_promote"));
    }
    match s.write_check().await.map_err(|e| e.to_string())? {
        Ok(()) => ctx.info("write check: temporary table created and rolled back ✓"),
        Err(why) => {
            return Err(format!(
                "{name} left recovery but refuses writes: {why} (is default_transaction_read_only on?)"
            ));
        }
    }
    // The timeline it now writes on (not pg_control_checkpoint(): stale until a checkpoint).
    let timeline = s.timeline().await.ok().flatten();
    Ok(format!(
        "{name} promoted in {} ms; writable at {}{}; {}",
        elapsed.as_millis(),
        opt(pos),
        timeline
            .map(|t| format!(", timeline {t}"))
            .unwrap_or_default(),
        match lag {
            _ if !measured.primary_live => {
                "RPO UNKNOWN: the primary did not answer at promotion".to_string()
            }
            Some(b) => format!("{} behind the primary at promotion", fmt_bytes(b)),
            None => "lag behind the primary unknown".into(),
        }
    ))
}

/// The RPO evidence `postgres.promote` records (JSON on the `evidence:rpo` stream) before it
/// promotes: what the standby had, how far behind the primary it was, or why that is unknown.
fn rpo_evidence(
    p: &Promote,
    url: &str,
    facts: &RecoveryFacts,
    measured: &LagAtPromotion,
    timeline_before: impl serde::Serialize,
) -> serde_json::Value {
    let mut evidence = serde_json::json!({
        "what": "rpo at promotion",
        "site": p.site.as_str(),
        "server": PgTarget::parse(url).map(|t| t.display).unwrap_or_default(),
        "measured_at": chrono::Utc::now().to_rfc3339(),
        "replay_lsn": facts.replay_lsn,
        "receive_lsn": facts.receive_lsn,
        "last_replayed_commit": facts.last_replay_at.map(|t| t.to_rfc3339()),
        "primary_lsn": measured.primary_lsn,
        "lag_bytes": measured.bytes,
        "replay_age_secs": measured.window_secs(facts.last_replay_at),
        "lag_basis": measured.basis,
        "wal_receiver": facts.receiver_status,
        "timeline_before": timeline_before,
    });
    if !measured.primary_live
        && let Some(o) = evidence.as_object_mut()
    {
        // The primary did not answer: whatever it wrote after it was last seen is not counted,
        // so the data loss cannot be measured (the lag above is only a lower bound). The report
        // says RPO UNKNOWN, with what was seen and what would tell.
        let seen_age = measured
            .primary_alive_at
            .map(|at| (chrono::Utc::now() - at).num_milliseconds() as f64 / 1000.0);
        o.insert("rpo".into(), "unknown".into());
        o.insert("primary_reachable".into(), false.into());
        o.insert("lag_is_lower_bound".into(), true.into());
        o.insert(
            "primary_last_seen_lsn".into(),
            serde_json::json!(measured.last_seen_lsn),
        );
        o.insert(
            "primary_last_seen_at".into(),
            serde_json::json!(measured.primary_alive_at.map(|t| t.to_rfc3339())),
        );
        o.insert(
            "primary_last_seen_age_secs".into(),
            serde_json::json!(seen_age),
        );
        o.insert(
            "receiver_end_lsn".into(),
            serde_json::json!(facts.receiver_end_lsn),
        );
        o.insert("needed".into(), crate::journal::RPO_UNKNOWN_NEEDED.into());
    }
    evidence
}

/// After a `false` (or an error) from pg_promote: is it out of recovery within 15 s?
async fn recheck(s: &postgres::PgSession, ctx: &StepContext) -> Result<(), String> {
    for i in 0..15 {
        match s.position().await {
            Ok((false, _)) => {
                ctx.info(format!(
                    "re-check {}: pg_is_in_recovery() = false — promoted",
                    i + 1
                ));
                return Ok(());
            }
            Ok((true, _)) => {}
            Err(e) => ctx.emit(Stream::Stderr, format!("re-check {}: {e}", i + 1)),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err("still in recovery 15 s after pg_promote: check the server log (promote signal, trigger file, disk)".into())
}

async fn fence(f: &Fence, ctx: &StepContext) -> Result<String, String> {
    refuse(ctx, "postgres.fence")?;
    let (url, _, _) = servers(&ctx.plan, f.site)?;
    let name = display(&url);
    ctx.info(format!("connecting to {name} (read-write session)"));
    let s = postgres::connect(&url, &ConnectOptions::mutating(Duration::from_secs(15)))
        .await
        .map_err(|e| {
            format!(
                "cannot fence: {e}. If it can come back, fence it by other means (stop it, cut its network) before promoting."
            )
        })?;
    let (rec, _) = s.position().await.map_err(|e| e.to_string())?;
    if rec {
        ctx.info("pg_is_in_recovery() = true: a standby already refuses writes");
        return Ok(format!(
            "{name} is in recovery: it already refuses writes (nothing done)"
        ));
    }
    ctx.info("ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf()");
    let terminated = s
        .fence(f.terminate_sessions)
        .await
        .map_err(|e| {
            let hint = if e.sqlstate() == Some("42501") {
                " — the role needs superuser or `GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO <role>` (and EXECUTE on pg_reload_conf)"
            } else {
                ""
            };
            format!("fencing {name} failed: {e}{hint}")
        })?;
    if f.terminate_sessions {
        ctx.info(format!("terminated {terminated} client session(s)"));
    }
    drop(s);
    // The reload is asynchronous: give backends a moment, then verify from a new session.
    let mut last = String::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let v = postgres::connect(&url, &ConnectOptions::mutating(Duration::from_secs(10)))
            .await
            .map_err(|e| format!("verifying the fence: {e}"))?;
        match v.write_check().await.map_err(|e| e.to_string())? {
            Err(why) if why.contains(READ_ONLY_SQL_TRANSACTION) || why.contains("read-only") => {
                ctx.info(format!("write from a new session refused ✓ ({why})"));
                // Where the fenced primary stopped: a planned switchover's RPO 0 is shown by
                // the promoted standby having replayed up to here (read by the report).
                if let Ok((false, Some(lsn))) = v.position().await {
                    ctx.info(format!("fenced at LSN {lsn}"));
                    let ev = serde_json::json!({"what": "fenced", "site": f.site.as_str(), "fenced_lsn": lsn});
                    ctx.emit(EVIDENCE, ev.to_string());
                }
                return Ok(format!(
                    "{name} fenced: new sessions are read-only{}",
                    if f.terminate_sessions {
                        format!(", {terminated} client session(s) terminated")
                    } else {
                        String::new()
                    }
                ));
            }
            Err(why) => last = why,
            Ok(()) => last = "a write was accepted".into(),
        }
    }
    Err(format!(
        "{name} still accepts writes after the fence: {last}"
    ))
}

fn opt(l: Option<Lsn>) -> String {
    l.map(|l| l.to_string()).unwrap_or_else(|| "-".into())
}

/// `postgres.promote` / `postgres.fence`, with the keys `K` of each (`PROMOTE`, `FENCE`).
pub struct Postgres<K>(PhantomData<fn() -> K>);

/// `postgres.promote`.
pub const PROMOTE: Postgres<PromoteKeys> = Postgres(PhantomData);
/// `postgres.fence`.
pub const FENCE: Postgres<FenceKeys> = Postgres(PhantomData);

impl<K> TypedKind for Postgres<K>
where
    K: Into<PostgresKeys> + DeserializeOwned + JsonSchema + Send + 'static,
{
    type Spec = K;
    type Action = PostgresStep;
    fn action(a: &StepAction) -> Option<&PostgresStep> {
        match a {
            StepAction::Postgres(x) => Some(x),
            _ => None,
        }
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        match step.get("kind").and_then(toml::Value::as_str) {
            Some("postgres.promote") => super::reverse::promote(step),
            _ => super::reverse::swap_site(step).map(|t| vec![t]),
        }
    }
    fn build(&self, keys: K, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build_spec(keys.into(), s)
    }
    fn describe(&self, a: &PostgresStep) -> Vec<String> {
        describe(a)
    }
    fn default_timeout(&self, a: &PostgresStep) -> Duration {
        default_timeout(a)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a PostgresStep,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a PostgresStep,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(a, ctx))
    }
}
