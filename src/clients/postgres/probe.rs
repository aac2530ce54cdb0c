//! The probes' kept read-only sessions, and the last WAL position each primary was seen at.
//!
//! Owned state, not a process-wide cache: the runtime makes one [`ProbeSessions`] when a
//! session, monitor or `status` run starts and passes it to every probe round and step (inside
//! `probes::ProbeMemory`). Two runs in one process therefore never share a connection or a
//! remembered position, and dropping the owner closes its sessions.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{ConnectOptions, Lsn, PgError, PgSession, PgStats, connect};

/// A position, when it was seen (monotonic), and when (wall clock).
type Seen = (Lsn, Instant, DateTime<Utc>);

/// Kept probe sessions (reused across refreshes, reconnected after an error) and the last primary
/// positions seen, per connection string.
///
/// Why: a probe round must cost one round trip per server, not a new connection, and a
/// standby's lag (and the RPO evidence at promotion) needs the primary's last position once the
/// primary stops answering.
///
/// Bound: one entry per connection string the probes are given, i.e. at most the plan's two
/// `postgres` URLs (prod and DR) for the run that owns it; nothing is keyed by time or round.
#[derive(Debug, Default)]
pub struct ProbeSessions {
    sessions: Mutex<HashMap<String, Arc<PgSession>>>,
    last_primary: Mutex<HashMap<String, Seen>>,
    stats: Arc<PgStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProbeSessions {
    pub fn new() -> ProbeSessions {
        ProbeSessions::default()
    }

    /// The kept read-only session for `conn`, connecting when there is none (or it closed).
    pub async fn session(&self, conn: &str) -> Result<Arc<PgSession>, PgError> {
        if let Some(s) = lock(&self.sessions).get(conn).cloned()
            && !s.is_closed()
        {
            return Ok(s);
        }
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        let s = connect(conn, &ConnectOptions::probe())
            .await?
            .counted_by(self.stats.clone());
        let s = Arc::new(s);
        lock(&self.sessions).insert(conn.to_string(), s.clone());
        Ok(s)
    }

    /// Drop the kept session for `conn` (after an error): the next round reconnects.
    pub fn forget(&self, conn: &str) {
        lock(&self.sessions).remove(conn);
    }

    /// Run `f` on the kept session; on a connection-level failure forget the session.
    pub async fn with_session<T, F, Fut>(&self, conn: &str, f: F) -> Result<T, PgError>
    where
        F: FnOnce(Arc<PgSession>) -> Fut,
        Fut: Future<Output = Result<T, PgError>>,
    {
        let s = self.session(conn).await?;
        let r = f(s.clone()).await;
        if let Err(e) = &r
            && (s.is_closed() || !matches!(e, PgError::Query { .. }))
        {
            self.forget(conn);
        }
        r
    }

    /// Record a primary's WAL position.
    pub fn note_primary_position(&self, conn: &str, lsn: Lsn) {
        lock(&self.last_primary).insert(conn.to_string(), (lsn, Instant::now(), Utc::now()));
    }

    /// The last primary WAL position seen for `conn`, with how long ago and when.
    pub fn last_primary_position(&self, conn: &str) -> Option<(Lsn, Duration, DateTime<Utc>)> {
        lock(&self.last_primary)
            .get(conn)
            .map(|(l, i, t)| (*l, i.elapsed(), *t))
    }

    /// What probing through this owner has cost so far: connections opened and statements sent.
    pub fn stats(&self) -> &PgStats {
        &self.stats
    }

    /// How many entries are held: (kept sessions, remembered primary positions).
    pub fn entries(&self) -> (usize, usize) {
        (lock(&self.sessions).len(), lock(&self.last_primary).len())
    }
}
