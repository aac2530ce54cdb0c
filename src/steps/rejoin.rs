//! `postgres.rejoin`: make the old primary a streaming standby of the new one (failback, issue 16).
//!
//! After a failover the old primary holds WAL the new primary never saw (past the fork point of
//! the new timeline). Rejoining rewinds that away, so the step:
//! - runs the plan's rewind command (an argv, no shell: `pg_rewind …` locally, or `ssh host
//!   pg_rewind …`), then an optional start command, through [`super::command::run`] (own process
//!   group, output streamed into the log and journal, the group stopped on timeout or abort);
//! - is mutating and refuses to load without a typed `confirm` word: it destroys divergent data;
//! - says in review mode what would be lost (preflight: the old primary's WAL position past the
//!   fork point, or UNKNOWN and what is missing), and whether `pg_rewind` can work at all
//!   (`wal_log_hints` / `data_checksums`; neither means `pg_basebackup`);
//! - succeeds only once verified from the new primary: the server shows in `pg_stat_replication`
//!   as `streaming` under its `application_name`, and its `replay_lsn` reaches the primary's
//!   `pg_current_wal_lsn()` within `wait_seconds`. A rewind that exited 0 proves nothing.
//!
//! Every read this module makes is on a read-only session; the only changes are the commands'.
//! There is no simulator counterpart: like `postgres.promote`, it acts on real servers only (the
//! demo's database is the simulated Scaleway API); describe and preflight work on any plan.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::StepContext;
use super::Stream;
use super::command;
use super::registry::TypedKind;
use crate::clients::postgres::{self, ConnectOptions, Lsn, PgSession, PgTarget};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, Seg, StepCx};
use crate::plan::units::fmt_bytes;
use crate::plan::{CommandSpec, KindAction, SiteId, StepAction};

/// The keys `postgres.rejoin` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejoinKeys {
    /// postgres.rejoin: the new primary the old one rejoins: `prod`, `dr` (that site's
    /// `database.postgres`) or a PostgreSQL connection URL.
    #[serde(default)]
    pub new_primary: Option<String>,
    /// postgres.rejoin: the rewind command as a list (program, then arguments; no shell), e.g.
    /// `["pg_rewind", "--target-pgdata", "/var/lib/postgresql/data", "--source-server",
    /// "host=db-dr user=postgres", "--write-recovery-conf"]`, or prefixed with `ssh host`.
    #[serde(default)]
    pub rewind_command: Option<Vec<String>>,
    /// postgres.rejoin: the command (a list) that starts the rewound server as a standby.
    #[serde(default)]
    pub start_command: Option<Vec<String>>,
    /// postgres.rejoin: the rejoined server's `application_name` in the new primary's
    /// `pg_stat_replication` (default `walreceiver`, PostgreSQL's own default).
    #[serde(default)]
    pub application_name: Option<String>,
    /// Secrets passed in the commands' environment, by reference:
    /// `secret_env = { PGPASSWORD = "${env:X}" }`.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// How long the rejoined server has to show up as a streaming standby (default 120).
    #[serde(default)]
    pub wait_seconds: Option<u32>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// What PostgreSQL's WAL receiver calls itself when neither `primary_conninfo` nor
/// `cluster_name` names it.
pub const DEFAULT_APPLICATION_NAME: &str = "walreceiver";

/// A built `postgres.rejoin` step.
#[derive(Debug, Clone)]
pub struct Rejoin {
    /// The site whose server is rejoined (the old primary).
    pub site: SiteId,
    /// That site's `database.postgres` (read-only reads in preflight), if the plan has one.
    pub old_url: Option<String>,
    /// How the plan named the new primary (`dr`, or `a URL`).
    pub new_primary_label: String,
    pub new_primary_url: String,
    pub rewind: CommandSpec,
    pub start: Option<CommandSpec>,
    /// The rejoined server's `application_name` in the new primary's `pg_stat_replication`.
    pub application_name: String,
    /// How long verification waits for `streaming` and lag 0.
    pub wait_seconds: u32,
}

fn site_url(s: &StepCx<'_, '_, '_>, site: SiteId) -> Option<String> {
    s.sites()[site.index()]
        .database
        .as_ref()
        .and_then(|d| d.postgres.clone())
}

fn argv(
    s: &mut StepCx<'_, '_, '_>,
    key: &'static str,
    list: &[String],
) -> Result<(String, Vec<String>), PlanError> {
    if list.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(s.error(
            key,
            &format!("`{key}` must be a non-empty list: the program, then its arguments"),
            vec![],
            None,
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (n, a) in list.iter().enumerate() {
        out.push(s.secret_in(&[Seg::K(key), Seg::I(n)], a)?);
    }
    let program = out.remove(0);
    Ok((program, out))
}

fn build(keys: RejoinKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let raw = s.raw();
    if raw.confirm.as_deref().is_none_or(|w| w.trim().is_empty()) {
        return Err(s.missing(
            "confirm",
            "confirm = \"REJOIN\" — it rewinds away the old primary's divergent data, so the operator types a word",
        ));
    }
    let site = match raw.site.as_deref().map(str::trim) {
        None | Some("prod") => SiteId::Prod,
        Some(_) => SiteId::Dr,
    };
    let Some(np) = keys.new_primary.clone() else {
        return Err(s.missing("new_primary", "new_primary = \"dr\""));
    };
    let (new_primary_label, new_primary_url) = match np.trim() {
        w @ ("prod" | "dr") => {
            let other = if w == "prod" {
                SiteId::Prod
            } else {
                SiteId::Dr
            };
            if other == site {
                return Err(s.error(
                    "new_primary",
                    &format!(
                        "`new_primary` is `{w}`, the site being rejoined: name the other site"
                    ),
                    vec![site.other().as_str().into()],
                    Some(site.other().as_str().into()),
                ));
            }
            let Some(u) = site_url(s, other) else {
                return Err(s.error(
                    "new_primary",
                    &format!("`new_primary = \"{w}\"` but [sites.{w}] has no `database.postgres`"),
                    vec![],
                    None,
                ));
            };
            (format!("sites.{w}.database.postgres"), u)
        }
        _ => {
            let u = s.secret("new_primary", &np)?;
            if PgTarget::parse(&u).is_err() {
                return Err(s.error(
                    "new_primary",
                    "`new_primary` must be `prod`, `dr` or a PostgreSQL connection URL",
                    vec!["prod".into(), "dr".into()],
                    None,
                ));
            }
            ("new_primary".into(), u)
        }
    };
    let rewind_list = keys.rewind_command.clone().unwrap_or_default();
    if rewind_list.is_empty() {
        return Err(s.missing(
            "rewind_command",
            "rewind_command = [\"pg_rewind\", \"--target-pgdata\", \"/var/lib/postgresql/data\", \"--source-server\", \"host=db-dr user=postgres\", \"--write-recovery-conf\"]",
        ));
    }
    let (program, args) = argv(s, "rewind_command", &rewind_list)?;
    let start = match keys.start_command.clone() {
        None => None,
        Some(l) => Some(argv(s, "start_command", &l)?),
    };
    let mut secret_env = Vec::new();
    for (k, v) in &keys.secret_env {
        let v = s.secret_in(&[Seg::K("secret_env"), Seg::K(k.as_str())], v)?;
        crate::redact::register(&v, &format!("step {}: secret_env {k}", s.id()));
        secret_env.push((k.clone(), v));
    }
    let wait_seconds = keys.wait_seconds.unwrap_or(120);
    if wait_seconds == 0 || wait_seconds > 3600 {
        return Err(s.error(
            "wait_seconds",
            &format!("`wait_seconds` must be between 1 and 3600, not {wait_seconds}"),
            vec![],
            None,
        ));
    }
    let timeout = s.duration("timeout", &keys.timeout)?;
    let cmd = |program: String, args: Vec<String>| CommandSpec {
        program,
        args,
        cwd: None,
        env: Vec::new(),
        secret_env: secret_env.clone(),
        inherit_env: false,
        timeout: timeout.unwrap_or(Duration::from_secs(600)),
    };
    let application_name = keys
        .application_name
        .clone()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.into());
    let r = Rejoin {
        site,
        old_url: site_url(s, site),
        new_primary_label,
        new_primary_url,
        rewind: cmd(program, args),
        start: start.map(|(p, a)| cmd(p, a)),
        application_name,
        wait_seconds,
    };
    Ok(Built {
        action: StepAction::Kind(KindAction::new("postgres.rejoin", r)),
        timeout,
    })
}

fn display(url: &str) -> String {
    PgTarget::parse(url)
        .map(|t| t.display)
        .unwrap_or_else(|_| "‹invalid connection string›".into())
}

/// A string literal for SQL (the application name comes from the plan).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn describe(r: &Rejoin) -> Vec<String> {
    let mut v = vec![
        format!(
            "rejoin the {} server (the old primary) as a streaming standby of {} ({})",
            r.site.as_str(),
            display(&r.new_primary_url),
            r.new_primary_label
        ),
        "before: read-only check that the new primary is out of recovery (refuses to rejoin to a standby)".into(),
        "DESTROYS the old primary's WAL past the fork point (writes the new primary never received); what would be lost: see preflight (old primary's pg_current_wal_lsn() or last checkpoint − the switch point in the new primary's timeline history), UNKNOWN when either cannot be read".into(),
        "if the new primary's control file is still on the old timeline (pg_control_checkpoint().timeline_id < its current one): CHECKPOINT on it, or pg_rewind finds \"no rewind required\"".into(),
        format!("rewind $ {}", command::command_line(&r.rewind)),
    ];
    match &r.start {
        Some(s) => v.push(format!("start  $ {}", command::command_line(s))),
        None => v.push(
            "start: none (the rewind command must leave the server running as a standby)".into(),
        ),
    }
    for (k, val) in &r.rewind.secret_env {
        v.push(format!("  secret env {k}={}", crate::redact::redact(val)));
    }
    v.push(format!(
        "verify from the new primary (read-only), every second for {} s: SELECT state, replay_lsn, pg_current_wal_lsn() FROM pg_stat_replication WHERE application_name = {} → state = streaming and replay_lsn ≥ pg_current_wal_lsn()",
        r.wait_seconds,
        literal(&r.application_name)
    ));
    v
}

/// What a rejoin would rewind away, or why that is unknown.
pub struct Loss {
    pub fork: Option<(u32, Lsn)>,
    pub old_position: Option<Lsn>,
    /// Why a part is unknown.
    pub missing: Vec<String>,
}

impl Loss {
    pub fn bytes(&self) -> Option<u64> {
        match (self.fork, self.old_position) {
            (Some((_, f)), Some(o)) => Some(o.bytes_after(f)),
            _ => None,
        }
    }
    pub fn line(&self) -> String {
        match (self.fork, self.old_position, self.bytes()) {
            (Some((tl, f)), Some(o), Some(b)) => format!(
                "{} past the fork point {f} (timeline {tl} began there; the old primary is at {o}): rewound away",
                fmt_bytes(b)
            ),
            _ => format!("UNKNOWN: {}", self.missing.join("; ")),
        }
    }
}

async fn read_only(url: &str) -> Result<PgSession, String> {
    postgres::connect(url, &ConnectOptions::probe())
        .await
        .map_err(|e| e.to_string())
}

/// The switch point of the new primary's current timeline, from its timeline history file
/// (`pg_wal/0000000N.history`, last line `parentTLI<TAB>switchpoint<TAB>reason`).
async fn fork_point(s: &PgSession) -> Result<(u32, Lsn), String> {
    let tl = s
        .timeline()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("its timeline is not readable")?;
    if tl <= 1 {
        return Err("it is on timeline 1: it was never promoted, so there is no fork point".into());
    }
    let q = format!("SELECT pg_read_file('pg_wal/{tl:08X}.history')");
    let text = s
        .scalar(&q)
        .await
        .map_err(|e| {
            format!(
                "{q}: {e} (needs superuser or the pg_read_server_files role on the new primary)"
            )
        })?
        .unwrap_or_default();
    let last = text
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .ok_or("its timeline history file is empty")?;
    let lsn = last
        .split_whitespace()
        .nth(1)
        .and_then(Lsn::parse)
        .ok_or_else(|| format!("cannot read the switch point in `{last}`"))?;
    Ok((tl, lsn))
}

/// The old primary's last WAL position: `pg_current_wal_lsn()` if it runs as a primary, else
/// its last checkpoint.
async fn old_position(url: &str) -> Result<Lsn, String> {
    let s = read_only(url).await?;
    let v = s
        .scalar(
            "SELECT COALESCE(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, (pg_control_checkpoint()).checkpoint_lsn)::text",
        )
        .await
        .map_err(|e| e.to_string())?;
    v.as_deref()
        .and_then(Lsn::parse)
        .ok_or_else(|| "it answered no WAL position".into())
}

pub async fn loss(r: &Rejoin) -> Loss {
    let mut missing = Vec::new();
    let fork = match read_only(&r.new_primary_url).await {
        Ok(s) => fork_point(&s)
            .await
            .map_err(|e| missing.push(format!("fork point: new primary: {e}")))
            .ok(),
        Err(e) => {
            missing.push(format!("fork point: new primary unreachable: {e}"));
            None
        }
    };
    let old_position = match &r.old_url {
        Some(u) => old_position(u)
            .await
            .map_err(|e| {
                missing.push(format!(
                    "old primary position: {e} (when it is down: `pg_controldata` on its data directory, \"Latest checkpoint location\"; pg_rewind prints where the servers diverged)"
                ))
            })
            .ok(),
        None => {
            missing.push(format!(
                "old primary position: [sites.{}] has no `database.postgres` to read it from",
                r.site.as_str()
            ));
            None
        }
    };
    Loss {
        fork,
        old_position,
        missing,
    }
}

/// `SHOW wal_log_hints`, `SHOW data_checksums` on a server.
async fn rewind_settings(url: &str) -> Result<(bool, bool), String> {
    let s = read_only(url).await?;
    let on = |v: Option<String>| v.as_deref().map(str::trim) == Some("on");
    let hints = s
        .scalar("SHOW wal_log_hints")
        .await
        .map_err(|e| e.to_string())?;
    let sums = s
        .scalar("SHOW data_checksums")
        .await
        .map_err(|e| e.to_string())?;
    Ok((on(hints), on(sums)))
}

pub async fn preflight(r: &Rejoin) -> Vec<PreflightCheck> {
    let mut checks = Vec::new();
    let name = display(&r.new_primary_url);
    match read_only(&r.new_primary_url).await {
        Ok(s) => {
            let rec = s.position().await.map(|p| p.0);
            checks.push(PreflightCheck {
                what: format!("new primary reachable: {name}"),
                ok: Some(matches!(rec, Ok(false))),
                detail: match rec {
                    Ok(false) => "out of recovery: a primary to rejoin to".into(),
                    Ok(true) => "still in recovery (a standby): promote it before rejoining".into(),
                    Err(e) => e.to_string(),
                },
            });
        }
        Err(e) => checks.push(PreflightCheck {
            what: format!("new primary reachable: {name}"),
            ok: Some(false),
            detail: e,
        }),
    }
    // pg_rewind needs wal_log_hints or data checksums on the rewound cluster. Checksums are fixed
    // at initdb and copied by a base backup, so the new primary's answer covers them when the old
    // primary is down.
    let settings = match &r.old_url {
        Some(u) => rewind_settings(u).await.map(|s| (s, "old primary")),
        None => Err("no database.postgres for its site".into()),
    };
    let check = match settings {
        Ok(((hints, sums), from)) => (hints || sums, from, hints, sums),
        Err(e) => match rewind_settings(&r.new_primary_url).await {
            Ok((hints, sums)) if sums => (
                true,
                "new primary (checksums come from initdb)",
                hints,
                sums,
            ),
            _ => {
                checks.push(PreflightCheck {
                    what: "pg_rewind possible (wal_log_hints or data_checksums)".into(),
                    ok: None,
                    detail: format!(
                        "unknown: old primary not readable ({e}); pg_rewind itself refuses without wal_log_hints=on or data checksums — then rebuild it with pg_basebackup"
                    ),
                });
                (false, "", false, false)
            }
        },
    };
    if !check.1.is_empty() {
        checks.push(PreflightCheck {
            what: "pg_rewind possible (wal_log_hints or data_checksums)".into(),
            ok: Some(check.0),
            detail: format!(
                "{}: wal_log_hints={} data_checksums={}{}",
                check.1,
                if check.2 { "on" } else { "off" },
                if check.3 { "on" } else { "off" },
                if check.0 {
                    ""
                } else {
                    " — pg_rewind will refuse: rebuild the old primary with pg_basebackup instead"
                }
            ),
        });
    }
    let lost = loss(r).await;
    checks.push(PreflightCheck {
        what: "would be lost".into(),
        ok: lost.bytes().map(|_| true),
        detail: lost.line(),
    });
    checks.push(command::preflight(&r.rewind));
    if let Some(s) = &r.start {
        checks.push(command::preflight(s));
    }
    checks
}

/// One look at the rejoined server from the new primary: (state, replay_lsn, primary's LSN).
async fn replication_row(
    s: &PgSession,
    app: &str,
) -> Result<(Option<String>, Option<Lsn>, Option<Lsn>), String> {
    let q = format!(
        "SELECT (SELECT state FROM pg_stat_replication WHERE application_name = {a} ORDER BY replay_lsn DESC NULLS LAST LIMIT 1), \
         (SELECT replay_lsn::text FROM pg_stat_replication WHERE application_name = {a} ORDER BY replay_lsn DESC NULLS LAST LIMIT 1), \
         pg_current_wal_lsn()::text",
        a = literal(app)
    );
    let rows = s.simple(&q).await.map_err(|e| e.to_string())?;
    let row = rows.into_iter().next().unwrap_or_default();
    let get = |i: usize| row.get(i).cloned().flatten();
    Ok((
        get(0),
        get(1).as_deref().and_then(Lsn::parse),
        get(2).as_deref().and_then(Lsn::parse),
    ))
}

async fn verify(r: &Rejoin, ctx: &StepContext) -> Result<String, String> {
    let name = display(&r.new_primary_url);
    let app = &r.application_name;
    let t0 = Instant::now();
    let within = Duration::from_secs(u64::from(r.wait_seconds));
    let mut last = String::from("never looked");
    let mut said_streaming = false;
    while t0.elapsed() < within {
        let seen = match read_only(&r.new_primary_url).await {
            Ok(s) => replication_row(&s, app).await,
            Err(e) => Err(e),
        };
        match seen {
            Ok((Some(state), replay, Some(current))) if state == "streaming" => {
                if !said_streaming {
                    ctx.info(format!(
                        "pg_stat_replication on {name}: `{app}` is streaming"
                    ));
                    said_streaming = true;
                }
                match replay {
                    Some(rp) if rp >= current => {
                        ctx.info(format!("replay_lsn {rp} ≥ primary {current}: lag 0 ✓"));
                        return Ok(format!(
                            "rejoined: `{app}` streams from {name} with lag 0 (replayed {rp}) after {} s",
                            t0.elapsed().as_secs()
                        ));
                    }
                    _ => {
                        last = format!(
                            "`{app}` streaming, replayed {} of {current} ({} behind)",
                            replay.map(|l| l.to_string()).unwrap_or("-".into()),
                            replay
                                .map(|rp| fmt_bytes(current.bytes_after(rp)))
                                .unwrap_or("unknown".into())
                        );
                    }
                }
            }
            Ok((Some(state), _, _)) => {
                last = format!("`{app}` is in state `{state}`, not streaming")
            }
            Ok((None, _, _)) => last = format!("`{app}` is not in pg_stat_replication"),
            Err(e) => last = format!("cannot read pg_stat_replication on {name}: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "NOT verified after {} s: {last}. The rewind ran, but the server is not a streaming standby of {name}: check its log, its primary_conninfo (application_name = {app}) and standby.signal",
        r.wait_seconds
    ))
}

pub async fn run(r: &Rejoin, ctx: &StepContext) -> Result<String, String> {
    if ctx.http.is_read_only() || !ctx.allow_spawn {
        log::warn!(target: "safety", "read-only session refused postgres.rejoin");
        return Err(
            "refused: this session is read-only (monitor/review mode); postgres.rejoin may not run"
                .into(),
        );
    }
    let name = display(&r.new_primary_url);
    // Never rewind onto a standby: the "new primary" must be out of recovery.
    let s = read_only(&r.new_primary_url)
        .await
        .map_err(|e| format!("cannot reach the new primary {name}: {e}; nothing was run"))?;
    match s.position().await {
        Ok((false, _)) => ctx.info(format!("{name} is out of recovery: a primary to rejoin to")),
        Ok((true, _)) => {
            return Err(format!(
                "{name} is still in recovery (a standby): promote it first; nothing was run"
            ));
        }
        Err(e) => return Err(format!("{name}: {e}; nothing was run")),
    }
    // pg_rewind reads the source's timeline from its control file, which a promotion only
    // updates at the next checkpoint: before it, pg_rewind says "no rewind required" and the
    // old primary cannot follow the new timeline.
    let control_tl = s
        .scalar("SELECT timeline_id FROM pg_control_checkpoint()")
        .await
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u32>().ok());
    let current_tl = s.timeline().await.ok().flatten();
    drop(s);
    if let (Some(c), Some(n)) = (control_tl, current_tl)
        && c < n
    {
        ctx.info(format!(
            "{name}: control file still on timeline {c} (now {n}): CHECKPOINT so pg_rewind sees the new timeline"
        ));
        let w = postgres::connect(
            &r.new_primary_url,
            &ConnectOptions::mutating(Duration::from_secs(300)),
        )
        .await
        .map_err(|e| {
            format!("cannot open a session on {name} to CHECKPOINT: {e}; nothing was run")
        })?;
        w.simple("CHECKPOINT").await.map_err(|e| {
            format!(
                "CHECKPOINT on {name} failed: {e} — the role needs superuser or pg_checkpoint; run it by hand, then retry (nothing was run)"
            )
        })?;
    }
    let lost = loss(r).await;
    ctx.emit(Stream::Stderr, format!("would be lost: {}", lost.line()));
    command::run(&r.rewind, ctx).await.map_err(|e| {
        format!("rewind failed: {e}; the old primary is NOT rejoined (see its output above)")
    })?;
    if let Some(start) = &r.start {
        command::run(start, ctx).await.map_err(|e| {
            format!("start failed: {e}; the rewind ran, the server is not started as a standby")
        })?;
    }
    verify(r, ctx).await
}

/// `postgres.rejoin`.
pub struct RejoinKind;

impl TypedKind for RejoinKind {
    type Spec = RejoinKeys;
    type Action = Rejoin;
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["new_primary", "rewind_command", "confirm"] })
    }
    fn build(&self, keys: RejoinKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build(keys, s)
    }
    fn describe(&self, r: &Rejoin) -> Vec<String> {
        describe(r)
    }
    fn default_timeout(&self, r: &Rejoin) -> Duration {
        // The rewind, a start and the verification window.
        Duration::from_secs(900 + u64::from(r.wait_seconds))
    }
    fn preflight<'a>(
        &'a self,
        r: &'a Rejoin,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(r))
    }
    fn run<'a>(
        &'a self,
        r: &'a Rejoin,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(r, ctx))
    }
}
