//! One session to a server: connect (TLS, timeouts, read-only made with a `SET` after the
//! startup), send statements (each counted as one round trip), and the mutating helpers that a
//! read-only session refuses (promotion, fencing).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::tls::{MakeRustls, rustls_config};
use super::{PgError, PgTarget, SslMode};
use crate::redact::redact;

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Open the session with `default_transaction_read_only=on`; mutating helpers refuse.
    pub read_only: bool,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

impl ConnectOptions {
    /// What probes use: read-only, 5 s to connect, 5 s per statement.
    pub fn probe() -> ConnectOptions {
        ConnectOptions {
            read_only: true,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
    /// A session that may change the server (steps in live/demo mode only).
    pub fn mutating(statement_timeout: Duration) -> ConnectOptions {
        ConnectOptions {
            read_only: false,
            connect_timeout: Duration::from_secs(10),
            statement_timeout,
        }
    }
}

/// Counters for measuring the cost of probing: one set per [`super::ProbeSessions`] (so per
/// run), counting the sessions it opened and the statements they sent.
#[derive(Debug, Default)]
pub struct PgStats {
    pub connects: AtomicU64,
    pub round_trips: AtomicU64,
}

/// One open session.
pub struct PgSession {
    client: Client,
    pub target: String,
    read_only: bool,
    statement_timeout: Duration,
    round_trips: AtomicU64,
    /// The owner's counters, for a kept probe session.
    counted: Option<Arc<PgStats>>,
}

impl fmt::Debug for PgSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PgSession({}, read_only={})",
            self.target, self.read_only
        )
    }
}

/// Open a session.
pub async fn connect(conn: &str, opts: &ConnectOptions) -> Result<PgSession, PgError> {
    let target = PgTarget::parse(conn)?;
    connect_target(&target, opts).await
}

pub async fn connect_target(
    target: &PgTarget,
    opts: &ConnectOptions,
) -> Result<PgSession, PgError> {
    let mut config = target.config.clone();
    config.connect_timeout(opts.connect_timeout);
    let mut options = config.get_options().unwrap_or("").to_string();
    options.push_str(&format!(
        " -c statement_timeout={}",
        opts.statement_timeout.as_millis().max(1)
    ));
    // A read-only session is made read-only with a `SET` after connecting, not a startup
    // option: a startup option hides the server's own setting (pg_settings then shows
    // source `client` and that value as `reset_val`), and the probe must tell a fenced server
    // from its own read-only session (see `STATUS_SQL`'s `read_only`).
    config.options(options.trim());
    if config.get_application_name().is_none() {
        config.application_name(if opts.read_only {
            "drcockpit-probe"
        } else {
            "drcockpit"
        });
    }
    let name = target.display.clone();
    let limit = opts.connect_timeout + Duration::from_secs(1);
    let tls =
        match target.ssl {
            SslMode::Disable => None,
            mode => Some(MakeRustls {
                config: Arc::new(rustls_config(mode, target.root_cert.as_ref()).map_err(
                    |detail| PgError::Connect {
                        target: name.clone(),
                        detail,
                    },
                )?),
            }),
        };
    config.ssl_mode(match target.ssl {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let connecting = async {
        match tls {
            None => {
                let (client, conn) = config.connect(NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok::<Client, tokio_postgres::Error>(client)
            }
            Some(tls) => {
                let (client, conn) = config.connect(tls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok(client)
            }
        }
    };
    let client = match tokio::time::timeout(limit, connecting).await {
        Err(_) => {
            return Err(PgError::Timeout {
                target: name,
                what: "connecting".into(),
                secs: limit.as_secs(),
            });
        }
        Ok(Err(e)) => {
            let detail = match e.as_db_error() {
                Some(db) => format!("{}: {}", db.severity(), db.message()),
                None => crate::clients::http::error_chain(&e),
            };
            return Err(PgError::Connect {
                target: name,
                detail: redact(&detail).into_owned(),
            });
        }
        Ok(Ok(c)) => c,
    };
    if opts.read_only
        && let Err(e) = client
            .batch_execute("SET default_transaction_read_only = on")
            .await
    {
        return Err(PgError::Connect {
            target: name,
            detail: redact(&format!("making the session read-only: {e}")).into_owned(),
        });
    }
    Ok(PgSession {
        client,
        target: name,
        read_only: opts.read_only,
        statement_timeout: opts.statement_timeout,
        round_trips: AtomicU64::new(0),
        counted: None,
    })
}

impl PgSession {
    /// Count this session's statements in `stats` as well.
    pub(super) fn counted_by(mut self, stats: Arc<PgStats>) -> PgSession {
        self.counted = Some(stats);
        self
    }
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
    /// Queries sent on this session (each is one network round trip).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// One simple-protocol `Query` (one round trip), every statement's rows as text; a statement
    /// error after the first statement is returned alongside the rows that came before it.
    pub(super) async fn simple_multi(
        &self,
        sql: &str,
    ) -> Result<(Vec<Vec<Vec<Option<String>>>>, Option<PgError>), PgError> {
        if let Some(c) = &self.counted {
            c.round_trips.fetch_add(1, Ordering::Relaxed);
        }
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let limit = self.statement_timeout + Duration::from_secs(2);
        let run = async {
            let mut results: Vec<Vec<Vec<Option<String>>>> = vec![Vec::new()];
            let stream = self
                .client
                .simple_query_raw(sql)
                .await
                .map_err(|e| PgError::query(&self.target, &e))?;
            futures::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(SimpleQueryMessage::Row(row)) => {
                        let vals = (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect();
                        if let Some(last) = results.last_mut() {
                            last.push(vals);
                        }
                    }
                    Ok(SimpleQueryMessage::CommandComplete(_)) => results.push(Vec::new()),
                    Ok(_) => {}
                    Err(e) => {
                        let err = PgError::query(&self.target, &e);
                        if results.len() > 1 && !e.is_closed() {
                            results.pop();
                            return Ok((results, Some(err)));
                        }
                        return Err(err);
                    }
                }
            }
            results.pop();
            Ok((results, None))
        };
        match tokio::time::timeout(limit, run).await {
            Ok(r) => r,
            Err(_) => Err(PgError::Timeout {
                target: self.target.clone(),
                what: "waiting for a query".into(),
                secs: limit.as_secs(),
            }),
        }
    }

    /// Run SQL (one round trip) and return the rows of its last statement as text.
    pub async fn simple(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        let (mut results, err) = self.simple_multi(sql).await?;
        if let Some(e) = err {
            return Err(e);
        }
        Ok(results.pop().unwrap_or_default())
    }

    /// The first column of the first row of a query.
    pub async fn scalar(&self, sql: &str) -> Result<Option<String>, PgError> {
        let rows = self.simple(sql).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .flatten())
    }

    fn refuse_if_read_only(&self, what: &str) -> Result<(), PgError> {
        if self.read_only {
            log::warn!(target: "safety", "read-only PostgreSQL session refused: {what} on {}", self.target);
            return Err(PgError::ReadOnly(format!("{what} on {}", self.target)));
        }
        Ok(())
    }

    /// `SELECT pg_promote(true, wait_seconds)`. `Ok(true)` promoted, `Ok(false)` not (yet)
    /// promoted within the wait (re-check), `Err` with SQLSTATE 55000 when not in recovery.
    pub async fn promote(&self, wait_seconds: u32) -> Result<bool, PgError> {
        self.refuse_if_read_only("pg_promote()")?;
        let v = self
            .scalar(&format!("SELECT pg_promote(true, {wait_seconds})::text"))
            .await?;
        Ok(v.as_deref() == Some("true"))
    }

    /// Does the server accept a write from a session with its default settings? Creates a
    /// temporary table inside a transaction that is rolled back: nothing persists.
    /// `Ok(Err(reason))` when the write is refused (read-only, in recovery).
    pub async fn write_check(&self) -> Result<Result<(), String>, PgError> {
        match self
            .simple(
                "BEGIN; CREATE TEMP TABLE drcockpit_write_check(x int); \
                 INSERT INTO drcockpit_write_check VALUES (1); ROLLBACK",
            )
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e @ PgError::Query { .. }) => {
                // Leave the session usable whatever happened.
                let _ = self.simple("ROLLBACK").await;
                Ok(Err(match e.sqlstate() {
                    Some(c) => format!("{e} [SQLSTATE {c}]"),
                    None => e.to_string(),
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Fence: `ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf()`,
    /// and optionally terminate every other client session. Returns how many were terminated.
    pub async fn fence(&self, terminate_sessions: bool) -> Result<u64, PgError> {
        self.refuse_if_read_only("ALTER SYSTEM SET default_transaction_read_only")?;
        self.simple("ALTER SYSTEM SET default_transaction_read_only = on")
            .await?;
        self.simple("SELECT pg_reload_conf()").await?;
        if !terminate_sessions {
            return Ok(0);
        }
        let n = self
            .scalar(TERMINATE_SQL)
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok(n)
    }
}

/// Terminates every client session but this one (replication senders are kept).
pub const TERMINATE_SQL: &str = "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity \
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
