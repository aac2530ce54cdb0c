//! PostgreSQL client: connections from a libpq URL, TLS per `sslmode`, connect and statement
//! timeouts, read-only sessions for probes (kept and reused across refreshes), and typed results
//! for replication status, promotion and fencing.
//!
//! Cost of one probe round: the whole status of a server (role, LSNs, every `pg_stat_replication`
//! row, WAL receiver, slots, subscriptions, and the backup-age query when configured) is read by
//! ONE simple-protocol `Query` message, i.e. one network round trip on a kept connection. A
//! standby's probe adds one round trip to its primary (`pg_current_wal_lsn()`) to compute the
//! byte lag. Read-only mode and the statement timeout travel in the startup packet (`options`),
//! so they cost no round trip.
//!
//! Every error text goes through [`crate::redact`]: the URL's password is registered with the
//! redactor when the URL is parsed, and messages name the server as `user@host:port/db` only.
//!
//! The pieces: `target` parses a connection string, `tls` makes its TLS per `sslmode`, `session`
//! opens a session and runs statements on it, `status` reads a server's whole replication status
//! into typed results, and `probe` keeps the probes' read-only sessions ([`ProbeSessions`], owned
//! by the runtime and passed in).

mod probe;
mod session;
mod status;
mod target;
mod tls;

pub use probe::ProbeSessions;
pub use session::{ConnectOptions, PgSession, PgStats, TERMINATE_SQL, connect, connect_target};
pub use status::{
    Lsn, RecoveryFacts, ReplicaRow, STATUS_SQL, ServerStatus, SlotRow, SubscriptionRow, WalReceiver,
};
pub use target::{PgTarget, SslMode};
pub use tls::{MakeRustls, RustlsConnect, RustlsStream};

use crate::redact::redact;

/// SQLSTATE of "cannot execute … in a read-only transaction".
pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PgError {
    #[error("invalid PostgreSQL connection string: {0}")]
    Config(String),
    #[error("{target}: cannot connect: {detail}")]
    Connect { target: String, detail: String },
    #[error("{target}: timed out after {secs}s while {what}")]
    Timeout {
        target: String,
        what: String,
        secs: u64,
    },
    #[error("{target}: {detail}")]
    Query {
        target: String,
        detail: String,
        /// SQLSTATE, when the server answered with an error.
        code: Option<String>,
    },
    #[error("refused by the read-only session: {0} (this session may not change anything)")]
    ReadOnly(String),
    #[error("{target}: unexpected answer: {detail}")]
    Protocol { target: String, detail: String },
}

impl PgError {
    /// A short reason for a panel.
    pub fn short(&self) -> String {
        match self {
            PgError::Config(_) => "bad connection string".into(),
            PgError::Connect { .. } => "unreachable".into(),
            PgError::Timeout { secs, .. } => format!("timeout {secs}s"),
            PgError::Query { code: Some(c), .. } => format!("SQL error {c}"),
            PgError::Query { .. } => "query failed".into(),
            PgError::ReadOnly(_) => "refused: read-only".into(),
            PgError::Protocol { .. } => "unexpected answer".into(),
        }
    }
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Query { code, .. } => code.as_deref(),
            _ => None,
        }
    }
    fn query(target: &str, e: &tokio_postgres::Error) -> PgError {
        let code = e.code().map(|c| c.code().to_string());
        let detail = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            None => crate::clients::http::error_chain(e),
        };
        PgError::Query {
            target: target.into(),
            detail: redact(&detail).into_owned(),
            code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_parse_and_diff() {
        let a = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(a.0, (0x16 << 32) | 0xB374D848);
        assert_eq!(a.to_string(), "16/B374D848");
        let b = Lsn::parse("16/B374D800").unwrap();
        assert_eq!(a.bytes_after(b), 0x48);
        assert_eq!(b.bytes_after(a), 0);
        assert!(Lsn::parse("nope").is_none());
    }

    #[test]
    fn url_ssl_params_are_ours_and_password_is_hidden() {
        let t = PgTarget::parse(
            "postgresql://app:Sup3rS3cret@db.example.net:6432/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(t.ssl, SslMode::VerifyFull);
        assert_eq!(
            t.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(t.display, "app@db.example.net:6432/shop");
        assert!(!format!("{t:?}").contains("Sup3rS3cret"));
        assert!(!redact("postgresql://app:Sup3rS3cret@x").contains("Sup3rS3cret"));
        let kv = PgTarget::parse("host=127.0.0.1 port=5433 user=postgres sslmode=disable").unwrap();
        assert_eq!(kv.ssl, SslMode::Disable);
        assert_eq!(kv.display, "postgres@127.0.0.1:5433/postgres");
        let e = PgTarget::parse("postgresql://x@h/db?sslmode=maybe").unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }
}
