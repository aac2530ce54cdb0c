//! `postgres.restore_check`: the DR guide's monthly backup-restore test (issue 16 §3).
//!
//! A backup nobody restored is a hope, not a backup. This kind restores the latest dump
//! (`pg_restore` of a custom-format file, optionally fetched first by a `command`) into an
//! isolated scratch database on a server the plan names, runs the plan's validations (row counts
//! over minimums, `max(column)` freshness, an order-independent checksum compared with an
//! expected value or with the source) and drops the scratch database afterwards — also when a
//! validation, the restore or the timeout ends the step (a guard drops it, best effort, logged).
//!
//! The backup's age (the archive's creation time from the `pg_restore --list` header, else the
//! file's mtime) is the RPO of a backup-restore strategy: a successful check records it as RPO
//! evidence (`data_loss_secs`), the figure `report::measure` reads.
//!
//! Safety: the scratch database is never a database the plan's sites name (refused at load and
//! again at run time), nor `postgres`/`template0`/`template1` or the admin URL's own database;
//! an existing database of that name is only dropped when it carries this kind's marker comment
//! (a leftover of an earlier run). It creates and drops a database, so it is mutating.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::postgres::{self, ConnectOptions, PgSession, PgTarget};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{CommandSpec, KindAction, Site, StepAction};

pub const KIND: &str = "postgres.restore_check";

/// The keys `postgres.restore_check` takes besides the common ones (`command`, `env`,
/// `secret_env` and `inherit_env` describe the optional fetch command, as for `command`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreCheckKeys {
    /// postgres.restore_check: libpq URL of the server to restore on, as a role that may
    /// CREATE/DROP DATABASE, by reference: `${env:RESTORE_PG_URL}`.
    #[serde(default)]
    pub admin_url: Option<String>,
    /// postgres.restore_check: path of the custom-format dump (`pg_dump -Fc`) to restore; may be
    /// a `${cmd:…}` printing it, or the file `command` fetches to.
    #[serde(default)]
    pub dump: Option<String>,
    /// postgres.restore_check: the scratch database restored into and dropped afterwards
    /// (default `drcockpit_restore_check`); never a database the plan's sites name.
    #[serde(default)]
    pub scratch_database: Option<String>,
    /// postgres.restore_check: least row count per table, `"public.orders" = 1000` (at least 1).
    #[serde(default)]
    pub min_rows: BTreeMap<String, u64>,
    /// postgres.restore_check: freshness, `"public.orders.updated_at" = "26h"`: max(column) must
    /// be at most that old.
    #[serde(default)]
    pub max_age: BTreeMap<String, String>,
    /// postgres.restore_check: tables whose content checksum (order-independent md5) is compared.
    #[serde(default)]
    pub checksum_tables: Vec<String>,
    /// postgres.restore_check: the expected checksum of `checksum_tables`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// postgres.restore_check: compare the checksum with this server's (read-only), by reference.
    #[serde(default)]
    pub checksum_source: Option<String>,
    /// The command that fetches the dump (no shell), as for `command`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Secrets passed in the fetch command's environment, by reference.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// Give the fetch command the cockpit's whole environment (default false).
    #[serde(default)]
    pub inherit_env: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The scratch database's name when the plan sets none.
pub const DEFAULT_SCRATCH: &str = "drcockpit_restore_check";
/// The comment that marks a scratch database this kind created.
pub const MARKER: &str = "drcockpit restore_check scratch database (dropped after the check)";
const RESERVED: &[&str] = &["postgres", "template0", "template1"];

/// What the plan asks for, resolved at load.
#[derive(Debug, Clone)]
pub struct RestoreCheck {
    pub admin_url: String,
    pub dump: String,
    pub fetch: Option<CommandSpec>,
    pub scratch: String,
    /// (table, least rows).
    pub min_rows: Vec<(String, u64)>,
    /// (table, column, largest age of max(column)).
    pub max_age: Vec<(String, String, Duration)>,
    pub checksum_tables: Vec<String>,
    pub checksum: Option<String>,
    pub checksum_source: Option<String>,
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && s.len() <= 63
}

/// `schema.table` or `table`, quoted; `None` if a part is not a plain identifier.
fn quote_table(t: &str) -> Option<String> {
    let parts: Vec<&str> = t.split('.').collect();
    (parts.len() <= 2 && parts.iter().all(|p| is_ident(p))).then(|| {
        parts
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(".")
    })
}

fn quote_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The database names the plan's sites connect to (and the admin URL's own): never scratch.
pub fn protected_names(sites: &[Site; 2], admin_url: &str) -> Vec<String> {
    let mut v: Vec<String> = RESERVED.iter().map(|s| s.to_string()).collect();
    let urls = sites
        .iter()
        .filter_map(|s| s.database.as_ref().and_then(|d| d.postgres.clone()))
        .chain(std::iter::once(admin_url.to_string()));
    for u in urls {
        if let Some(db) = PgTarget::parse(&u).ok().and_then(|t| t.dbname()) {
            v.push(db);
        }
    }
    v
}

/// Why `scratch` may not be the scratch database, if it may not.
pub fn refuse_scratch(scratch: &str, sites: &[Site; 2], admin_url: &str) -> Option<String> {
    if !is_ident(scratch) {
        return Some(format!(
            "`scratch_database` `{scratch}` must be a plain identifier (letters, digits, _)"
        ));
    }
    protected_names(sites, admin_url)
        .iter()
        .any(|p| p.eq_ignore_ascii_case(scratch))
        .then(|| format!(
            "refused: scratch database `{scratch}` is a database the plan names (a site's `database.postgres`, the admin URL's, or a system database) — the check creates and DROPS it; name another"
        ))
}

fn build(raw: RestoreCheckKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let Some(admin) = raw.admin_url.clone() else {
        return Err(s.missing("admin_url", "admin_url = \"${env:RESTORE_PG_URL}\""));
    };
    let admin_url = s.secret("admin_url", &admin)?;
    // `check` runs without secrets: an unset reference is a placeholder, parsed at run time.
    if !crate::plan::refs::is_placeholder(&admin_url)
        && let Err(e) = PgTarget::parse(&admin_url)
    {
        return Err(s.error("admin_url", &e.to_string(), vec![], None));
    }
    let Some(dump) = raw.dump.clone() else {
        return Err(s.missing("dump", "dump = \"/backups/shop/latest.dump\""));
    };
    let dump = s.secret("dump", &dump)?;
    let dump = crate::plan::refs::expand_path(&dump, s.base_dir())
        .display()
        .to_string();
    let fetch = match raw.command {
        Some(_) => match super::command::build(&fetch_keys(&raw), s)?.action {
            StepAction::Command(c) => Some(c),
            _ => None,
        },
        None => None,
    };
    let scratch = raw
        .scratch_database
        .clone()
        .unwrap_or_else(|| DEFAULT_SCRATCH.into());
    if let Some(why) = refuse_scratch(&scratch, s.sites(), &admin_url) {
        return Err(s.error("scratch_database", &why, vec![], None));
    }
    let mut min_rows = Vec::new();
    for (t, n) in &raw.min_rows {
        if quote_table(t).is_none() {
            let m = format!("`min_rows`: `{t}` is not a table name (`schema.table` or `table`)");
            return Err(s.error("min_rows", &m, vec![], None));
        }
        if *n == 0 {
            let m = format!("`min_rows`: `{t}` = 0 would pass on an empty table; use at least 1");
            return Err(s.error("min_rows", &m, vec![], None));
        }
        min_rows.push((t.clone(), *n));
    }
    let mut max_age = Vec::new();
    for (k, v) in &raw.max_age {
        let parsed = k
            .rsplit_once('.')
            .filter(|(t, c)| quote_table(t).is_some() && is_ident(c));
        let Some((t, c)) = parsed else {
            let m = format!("`max_age`: `{k}` must be `table.column` or `schema.table.column`");
            return Err(s.error("max_age", &m, vec![], None));
        };
        let d = crate::plan::units::parse_duration(v)
            .map_err(|e| s.error("max_age", &format!("`max_age`: `{k}`: {e}"), vec![], None))?;
        max_age.push((t.to_string(), c.to_string(), d));
    }
    for t in &raw.checksum_tables {
        if quote_table(t).is_none() {
            let m = format!("`checksum_tables`: `{t}` is not a table name");
            return Err(s.error("checksum_tables", &m, vec![], None));
        }
    }
    let checksum = raw.checksum.clone();
    let checksum_source = match raw.checksum_source.clone() {
        Some(u) => Some(s.secret("checksum_source", &u)?),
        None => None,
    };
    if raw.checksum_tables.is_empty() != (checksum.is_none() && checksum_source.is_none()) {
        let m = "`checksum_tables` needs `checksum` (the expected value) or `checksum_source` (a server to compare with), and they need `checksum_tables`";
        return Err(s.error("checksum_tables", m, vec![], None));
    }
    if min_rows.is_empty() && max_age.is_empty() && raw.checksum_tables.is_empty() {
        return Err(s.missing("min_rows", "min_rows = { \"public.orders\" = 1000 }"));
    }
    let timeout = s.duration("timeout", &raw.timeout)?;
    let spec = RestoreCheck {
        admin_url,
        dump,
        fetch,
        scratch,
        min_rows,
        max_age,
        checksum_tables: raw.checksum_tables.clone(),
        checksum,
        checksum_source,
    };
    Ok(Built {
        action: StepAction::Kind(KindAction::new(KIND, spec)),
        timeout,
    })
}

/// The fetch command's keys, as a `command` step would have them.
fn fetch_keys(raw: &RestoreCheckKeys) -> super::command::CommandKeys {
    super::command::CommandKeys {
        command: raw.command.clone(),
        cwd: None,
        env: raw.env.clone(),
        secret_env: raw.secret_env.clone(),
        inherit_env: raw.inherit_env,
        timeout: raw.timeout.clone(),
    }
}

fn display(url: &str) -> String {
    PgTarget::parse(url)
        .map(|t| t.display)
        .unwrap_or_else(|_| "‹invalid connection string›".into())
}

/// The checksum query over `tables` (each table's rows hashed, sorted, hashed again).
pub fn checksum_sql(tables: &[String]) -> String {
    let parts: Vec<String> = tables
        .iter()
        .filter_map(|t| quote_table(t))
        .map(|q| {
            format!("(SELECT coalesce(md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))), '') FROM {q} t)")
        })
        .collect();
    format!("SELECT md5(concat_ws('|', {}))", parts.join(", "))
}

fn restore_args(r: &RestoreCheck) -> Vec<String> {
    [
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--dbname",
        &r.scratch,
        &r.dump,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn describe(r: &RestoreCheck) -> Vec<String> {
    let admin = display(&r.admin_url);
    let q = format!("\"{}\"", r.scratch);
    let mut v = Vec::new();
    if let Some(f) = &r.fetch {
        v.push(format!(
            "fetch the dump: $ {}",
            super::command::command_line(f)
        ));
    }
    v.push(format!(
        "pg_restore --list {} (the archive's creation time: the backup's age, the RPO evidence)",
        r.dump
    ));
    v.push(format!(
        "connect to {admin} (admin_url) with a read-write session"
    ));
    v.push(format!("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = {} — a database of that name without the marker comment → refuse", quote_lit(&r.scratch)));
    v.push(format!(
        "CREATE DATABASE {q}; COMMENT ON DATABASE {q} IS {}",
        quote_lit(MARKER)
    ));
    v.push(format!(
        "$ pg_restore {} (PGHOST/PGPORT/PGUSER from admin_url, the password in PGPASSWORD)",
        restore_args(r).join(" ")
    ));
    for (t, n) in &r.min_rows {
        v.push(format!(
            "validate: SELECT count(*) FROM {} ≥ {n}",
            quote_table(t).unwrap_or_default()
        ));
    }
    for (t, c, d) in &r.max_age {
        v.push(format!(
            "validate: SELECT now() - max(\"{c}\") FROM {} ≤ {} (NULL fails)",
            quote_table(t).unwrap_or_default(),
            crate::plan::units::fmt_duration(*d)
        ));
    }
    if !r.checksum_tables.is_empty() {
        let sql = checksum_sql(&r.checksum_tables);
        match (&r.checksum, &r.checksum_source) {
            (Some(c), _) => v.push(format!("validate: {sql} = '{c}'")),
            (None, Some(src)) => v.push(format!(
                "validate: {sql} equals the same query on {} (read-only)",
                display(src)
            )),
            _ => {}
        }
    }
    v.push(format!(
        "afterwards, also on failure or timeout: DROP DATABASE IF EXISTS {q} WITH (FORCE)"
    ));
    v
}

/// The program `name` on `PATH`, if it is there.
fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn check(what: impl Into<String>, ok: Option<bool>, detail: impl Into<String>) -> PreflightCheck {
    PreflightCheck {
        what: what.into(),
        ok,
        detail: detail.into(),
    }
}

pub async fn preflight(r: &RestoreCheck) -> Vec<PreflightCheck> {
    let mut v = Vec::new();
    match &r.fetch {
        Some(f) => {
            v.push(super::command::preflight(f));
            v.push(check(
                format!("dump: {}", r.dump),
                None,
                "fetched at run time",
            ));
        }
        None => v.push(
            match std::fs::File::open(&r.dump).and_then(|f| f.metadata()) {
                Ok(m) if m.is_file() => check(
                    format!("dump: {}", r.dump),
                    Some(true),
                    format!("readable, {} bytes", m.len()),
                ),
                Ok(_) => check(format!("dump: {}", r.dump), Some(false), "not a file"),
                Err(e) => check(format!("dump: {}", r.dump), Some(false), e.to_string()),
            },
        ),
    }
    v.push(match on_path("pg_restore") {
        Some(p) => check("pg_restore on PATH", Some(true), p.display().to_string()),
        None => check("pg_restore on PATH", Some(false), "not found: install the PostgreSQL client (the same major version as the dump, or newer)"),
    });
    let admin = display(&r.admin_url);
    v.push(
        match postgres::connect(&r.admin_url, &ConnectOptions::probe()).await {
            Ok(s) => match scratch_marker(&s, &r.scratch).await {
                Ok(None) => check(
                    format!("admin connection: {admin}"),
                    Some(true),
                    format!("answered; `{}` does not exist", r.scratch),
                ),
                Ok(Some(Some(m))) if m == MARKER => check(
                    format!("admin connection: {admin}"),
                    Some(true),
                    format!(
                        "answered; `{}` is a leftover scratch database: it will be dropped first",
                        r.scratch
                    ),
                ),
                Ok(Some(_)) => check(
                    format!("scratch database `{}`", r.scratch),
                    Some(false),
                    "exists and is not a drcockpit scratch database: the check will refuse",
                ),
                Err(e) => check(
                    format!("admin connection: {admin}"),
                    Some(false),
                    e.to_string(),
                ),
            },
            Err(e) => check(
                format!("admin connection: {admin}"),
                Some(false),
                e.to_string(),
            ),
        },
    );
    v
}

/// `None`: no such database; `Some(comment)`: it exists (with its comment, if any).
async fn scratch_marker(
    s: &PgSession,
    scratch: &str,
) -> Result<Option<Option<String>>, postgres::PgError> {
    let rows = s
        .simple(&format!(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = {}",
            quote_lit(scratch)
        ))
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|r| r.into_iter().next().flatten()))
}

/// The archive's creation time from `pg_restore --list`'s header, if it says one in UTC or with
/// a numeric offset.
pub fn parse_created(list: &str) -> Option<DateTime<Utc>> {
    let line = list.lines().find_map(|l| {
        l.trim_start_matches(';')
            .trim()
            .strip_prefix("Archive created at ")
    })?;
    let line = line.trim();
    if let Some(t) = line
        .strip_suffix(" UTC")
        .or_else(|| line.strip_suffix(" GMT"))
    {
        return chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|n| n.and_utc());
    }
    DateTime::parse_from_str(line, "%Y-%m-%d %H:%M:%S %z")
        .or_else(|_| DateTime::parse_from_str(&format!("{line}00"), "%Y-%m-%d %H:%M:%S %z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// When the backup was taken, and how that is known.
async fn backup_time(dump: &str) -> Result<(DateTime<Utc>, String), String> {
    let meta = std::fs::metadata(dump).map_err(|e| format!("dump {dump}: {e}"))?;
    let out = tokio::process::Command::new("pg_restore")
        .arg("--list")
        .arg(dump)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            format!("cannot run `pg_restore --list`: {e} (is the PostgreSQL client installed?)")
        })?;
    if !out.status.success() {
        return Err(format!(
            "`pg_restore --list {dump}` failed: {} — is it a custom-format dump (`pg_dump -Fc`)?",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if let Some(t) = parse_created(&String::from_utf8_lossy(&out.stdout)) {
        return Ok((
            t,
            "the archive's creation time (pg_restore --list header)".into(),
        ));
    }
    let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    Ok((
        DateTime::<Utc>::from(mtime),
        "the dump file's modification time (the archive header has no UTC time)".into(),
    ))
}

/// Drops the scratch database when the step ends any other way than through [`drop_scratch`]
/// (an error returned early, or the timeout dropping the future): best effort, logged.
struct ScratchGuard {
    admin_url: String,
    scratch: String,
    ctx: StepContext,
    armed: bool,
}

impl Drop for ScratchGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (url, name, ctx) = (
            self.admin_url.clone(),
            self.scratch.clone(),
            self.ctx.clone(),
        );
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                let r = drop_scratch(&url, &name).await;
                match &r {
                    Ok(()) => log::info!("restore_check: scratch database `{name}` dropped after the step ended early"),
                    Err(e) => log::warn!("restore_check: could not drop scratch database `{name}`: {e} — drop it by hand"),
                }
                ctx.emit(
                    if r.is_ok() { Stream::Info } else { Stream::Stderr },
                    match r {
                        Ok(()) => format!("DROP DATABASE \"{name}\" WITH (FORCE) ✓ (after the step ended early)"),
                        Err(e) => format!("could not drop scratch database `{name}`: {e} — drop it by hand"),
                    },
                );
            });
        } else {
            log::warn!(
                "restore_check: no runtime to drop scratch database `{name}`: drop it by hand"
            );
        }
    }
}

async fn drop_scratch(admin_url: &str, scratch: &str) -> Result<(), String> {
    let s = postgres::connect(
        admin_url,
        &ConnectOptions::mutating(Duration::from_secs(60)),
    )
    .await
    .map_err(|e| e.to_string())?;
    s.simple(&format!(
        "DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"
    ))
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

pub async fn run(r: &RestoreCheck, ctx: &StepContext) -> Result<String, String> {
    if ctx.http.is_read_only() || !ctx.allow_spawn {
        log::warn!(target: "safety", "read-only session refused {KIND}");
        return Err(format!(
            "refused: this session is read-only (monitor/review mode); {KIND} may not run"
        ));
    }
    if let Some(why) = refuse_scratch(&r.scratch, &ctx.plan.sites, &r.admin_url) {
        return Err(why);
    }
    if let Some(f) = &r.fetch {
        super::command::run(f, ctx)
            .await
            .map_err(|e| format!("fetching the dump failed: {e}"))?;
    }
    ctx.info(format!("pg_restore --list {}", r.dump));
    let (created, basis) = backup_time(&r.dump).await?;
    let age = (Utc::now() - created).num_milliseconds().max(0) as f64 / 1000.0;
    ctx.info(format!(
        "backup taken at {} ({basis}): {} old",
        created.to_rfc3339(),
        crate::plan::units::fmt_duration(Duration::from_secs(age.round() as u64))
    ));
    let admin = display(&r.admin_url);
    ctx.info(format!("connecting to {admin} (read-write session)"));
    let s = postgres::connect(
        &r.admin_url,
        &ConnectOptions::mutating(Duration::from_secs(60)),
    )
    .await
    .map_err(|e| format!("cannot connect to the restore server: {e}"))?;
    let q = format!("\"{}\"", r.scratch);
    match scratch_marker(&s, &r.scratch)
        .await
        .map_err(|e| e.to_string())?
    {
        None => {}
        Some(Some(m)) if m == MARKER => {
            ctx.info(format!("{q} is a leftover scratch database of an earlier check: DROP DATABASE {q} WITH (FORCE)"));
            s.simple(&format!("DROP DATABASE {q} WITH (FORCE)"))
                .await
                .map_err(|e| e.to_string())?;
        }
        Some(_) => {
            return Err(format!(
                "refused: database {q} exists on {admin} and is not a drcockpit scratch database (no marker comment); name another `scratch_database`"
            ));
        }
    }
    ctx.info(format!("CREATE DATABASE {q}"));
    s.simple(&format!("CREATE DATABASE {q}"))
        .await
        .map_err(|e| {
            format!(
                "CREATE DATABASE {q} on {admin} failed: {e} (the admin_url role needs CREATEDB)"
            )
        })?;
    let mut guard = ScratchGuard {
        admin_url: r.admin_url.clone(),
        scratch: r.scratch.clone(),
        ctx: ctx.clone(),
        armed: true,
    };
    let outcome = restore_and_validate(r, ctx, &s).await;
    ctx.info(format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)"));
    let dropped = s
        .simple(&format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)"))
        .await;
    match &dropped {
        Ok(_) => {
            guard.armed = false;
            ctx.info(format!("scratch database {q} dropped ✓"));
        }
        Err(e) => ctx.emit(
            Stream::Stderr,
            format!("dropping {q} failed: {e}; retrying from a new session"),
        ),
    }
    drop(guard);
    let summary = outcome?;
    let evidence = serde_json::json!({
        "what": "rpo: backup age at a restore check (backup-restore)",
        "strategy": "backup-restore",
        "dump": r.dump,
        "backup_created_at": created.to_rfc3339(),
        "basis": basis,
        "backup_age_secs": age,
        "data_loss_secs": age,
        "measured_at": Utc::now().to_rfc3339(),
    });
    ctx.emit(Stream::RpoEvidence, evidence.to_string());
    Ok(format!(
        "{summary}; backup {} old",
        crate::plan::units::fmt_duration(Duration::from_secs(age.round() as u64))
    ))
}

async fn restore_and_validate(
    r: &RestoreCheck,
    ctx: &StepContext,
    admin: &PgSession,
) -> Result<String, String> {
    let _ = admin
        .simple(&format!(
            "COMMENT ON DATABASE \"{}\" IS {}",
            r.scratch,
            quote_lit(MARKER)
        ))
        .await
        .map_err(|e| format!("marking the scratch database: {e}"))?;
    let target = PgTarget::parse(&r.admin_url).map_err(|e| e.to_string())?;
    let (env, secret_env) = target.libpq_env();
    let restore = CommandSpec {
        program: "pg_restore".into(),
        args: restore_args(r),
        cwd: None,
        env,
        secret_env,
        inherit_env: false,
        timeout: Duration::from_secs(3600),
    };
    super::command::run(&restore, ctx)
        .await
        .map_err(|e| format!("pg_restore failed: {e}"))?;
    let scratch = target.with_dbname(&r.scratch);
    let opts = ConnectOptions {
        read_only: true,
        connect_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(600),
    };
    let s = postgres::connect_target(&scratch, &opts)
        .await
        .map_err(|e| format!("cannot connect to the restored database: {e}"))?;
    let mut failed = Vec::new();
    let mut passed = 0;
    let mut verdict = |ok: bool, line: String| {
        if ok {
            passed += 1;
            ctx.info(format!("✓ {line}"));
        } else {
            ctx.emit(Stream::Stderr, format!("✗ {line}"));
            failed.push(line);
        }
    };
    for (t, min) in &r.min_rows {
        let sql = format!(
            "SELECT count(*) FROM {}",
            quote_table(t).unwrap_or_default()
        );
        match s
            .scalar(&sql)
            .await
            .map(|v| v.and_then(|n| n.parse::<u64>().ok()))
        {
            Ok(Some(n)) => verdict(
                n >= *min && n > 0,
                format!("{t}: {n} rows (at least {min})"),
            ),
            Ok(None) => verdict(false, format!("{t}: no count")),
            Err(e) => verdict(false, format!("{t}: {e}")),
        }
    }
    for (t, c, max) in &r.max_age {
        let sql = format!(
            "SELECT extract(epoch FROM now() - max(\"{c}\"))::float8 FROM {}",
            quote_table(t).unwrap_or_default()
        );
        let limit = crate::plan::units::fmt_duration(*max);
        match s
            .scalar(&sql)
            .await
            .map(|v| v.and_then(|n| n.parse::<f64>().ok()))
        {
            Ok(Some(a)) => verdict(
                a <= max.as_secs_f64(),
                format!(
                    "{t}.{c}: newest row {} old (at most {limit})",
                    crate::plan::units::fmt_duration(
                        Duration::from_secs(a.max(0.0).round() as u64)
                    )
                ),
            ),
            Ok(None) => verdict(false, format!("{t}.{c}: max() is NULL (an empty table?)")),
            Err(e) => verdict(false, format!("{t}.{c}: {e}")),
        }
    }
    if !r.checksum_tables.is_empty() {
        let sql = checksum_sql(&r.checksum_tables);
        let got = s.scalar(&sql).await.map_err(|e| e.to_string());
        let want = match (&r.checksum, &r.checksum_source) {
            (Some(c), _) => Ok(c.trim().to_string()),
            (None, Some(src)) => source_checksum(src, &sql).await,
            _ => Err("no expected checksum".into()),
        };
        let what = format!("checksum of {}", r.checksum_tables.join(", "));
        match (got, want) {
            (Ok(Some(g)), Ok(w)) => verdict(g == w, format!("{what}: {g} (expected {w})")),
            (Ok(None), _) => verdict(false, format!("{what}: no value")),
            (Err(e), _) | (_, Err(e)) => verdict(false, format!("{what}: {e}")),
        }
    }
    drop(s);
    if failed.is_empty() && passed > 0 {
        Ok(format!(
            "restored into `{}`: {passed} validation(s) passed",
            r.scratch
        ))
    } else {
        Err(format!(
            "{} of {} validation(s) failed: {}",
            failed.len(),
            failed.len() + passed,
            failed.join("; ")
        ))
    }
}

async fn source_checksum(src: &str, sql: &str) -> Result<String, String> {
    let opts = ConnectOptions {
        read_only: true,
        connect_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(600),
    };
    let s = postgres::connect(src, &opts)
        .await
        .map_err(|e| format!("the checksum source: {e}"))?;
    s.scalar(sql)
        .await
        .map_err(|e| format!("the checksum source: {e}"))?
        .ok_or_else(|| "the checksum source answered no value".into())
}

/// `postgres.restore_check`.
pub struct RestoreCheckKind;

impl TypedKind for RestoreCheckKind {
    type Spec = RestoreCheckKeys;
    type Action = RestoreCheck;
    fn build(
        &self,
        keys: RestoreCheckKeys,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError> {
        build(keys, s)
    }
    fn describe(&self, r: &RestoreCheck) -> Vec<String> {
        describe(r)
    }
    fn default_timeout(&self, _: &RestoreCheck) -> Duration {
        Duration::from_secs(3600)
    }
    fn preflight<'a>(
        &'a self,
        r: &'a RestoreCheck,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(r))
    }
    fn run<'a>(
        &'a self,
        r: &'a RestoreCheck,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(r, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_header_time_is_read() {
        let list = ";\n; Archive created at 2026-12-06 11:58:02 UTC\n;     dbname: shop\n";
        assert_eq!(
            parse_created(list).map(|t| t.to_rfc3339()),
            Some("2026-12-06T11:58:02+00:00".into())
        );
        let list = "; Archive created at 2026-12-06 12:58:02 +01\n";
        assert_eq!(
            parse_created(list).map(|t| t.to_rfc3339()),
            Some("2026-12-06T11:58:02+00:00".into())
        );
        assert_eq!(
            parse_created("; Archive created at 2026-12-06 12:58:02 CET\n"),
            None
        );
    }

    #[test]
    fn only_plain_identifiers_are_tables() {
        assert_eq!(
            quote_table("public.orders").as_deref(),
            Some("\"public\".\"orders\"")
        );
        assert_eq!(quote_table("orders; drop table x"), None);
        assert_eq!(quote_table("a.b.c"), None);
    }
}
