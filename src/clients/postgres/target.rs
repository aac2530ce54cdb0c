//! Connection strings: a libpq URL or `key=value` string parsed into what tokio-postgres needs,
//! plus the two keys it does not know (`sslmode`, `sslrootcert`), and a display name that never
//! carries the password.

use std::fmt;
use std::path::PathBuf;

use tokio_postgres::Config;

use super::PgError;
use crate::redact::redact;

/// libpq `sslmode`. `allow` is treated like `prefer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed connection string.
#[derive(Clone)]
pub struct PgTarget {
    pub(super) config: Config,
    pub ssl: SslMode,
    /// `sslrootcert`: a PEM file, or `system` (the Mozilla roots built in); default: built-in roots.
    pub root_cert: Option<PathBuf>,
    /// `user@host:port/db`, never the password.
    pub display: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PgTarget({} sslmode={})",
            self.display,
            self.ssl.as_str()
        )
    }
}

/// Keys tokio-postgres does not know that we handle (or accept and ignore) ourselves.
const OWN_KEYS: &[&str] = &["sslmode", "sslrootcert"];

impl PgTarget {
    /// Parse a libpq URL (`postgresql://user:pw@host:port/db?sslmode=verify-full`) or key/value
    /// string (`host=… port=… sslmode=require`).
    pub fn parse(conn: &str) -> Result<PgTarget, PgError> {
        let conn = conn.trim();
        let mut ssl = SslMode::Prefer;
        let mut root_cert = None;
        let mut take = |k: &str, v: &str| -> Result<(), PgError> {
            match k {
                "sslmode" => ssl = SslMode::parse(v).map_err(PgError::Config)?,
                "sslrootcert" => root_cert = Some(PathBuf::from(v)),
                _ => {}
            }
            Ok(())
        };
        let cleaned = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
            match conn.split_once('?') {
                None => conn.to_string(),
                Some((base, query)) => {
                    let mut keep = Vec::new();
                    for pair in query.split('&').filter(|p| !p.is_empty()) {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        if OWN_KEYS.contains(&k) {
                            take(k, &percent_decode(v))?;
                        } else {
                            keep.push(pair);
                        }
                    }
                    if keep.is_empty() {
                        base.to_string()
                    } else {
                        format!("{base}?{}", keep.join("&"))
                    }
                }
            }
        } else {
            let mut keep = Vec::new();
            for tok in conn.split_whitespace() {
                match tok.split_once('=') {
                    Some((k, v)) if OWN_KEYS.contains(&k.trim()) => {
                        take(k.trim(), v.trim_matches('\''))?
                    }
                    _ => keep.push(tok),
                }
            }
            keep.join(" ")
        };
        let config: Config = cleaned.parse().map_err(|e: tokio_postgres::Error| {
            PgError::Config(redact(&e.to_string()).into_owned())
        })?;
        if let Some(pw) = config.get_password()
            && let Ok(pw) = std::str::from_utf8(pw)
        {
            // `register` also covers the percent-encoded form a URL carries.
            crate::redact::register(pw, "postgres password");
        }
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("?");
        let db = config.get_dbname().unwrap_or(user);
        let display = format!("{user}@{host}:{port}/{db}");
        Ok(PgTarget {
            config,
            ssl,
            root_cert,
            display,
        })
    }
}

/// `(NAME, value)` pairs for a child's environment.
pub type EnvVars = Vec<(String, String)>;

impl PgTarget {
    /// The database this connection string names (libpq's default: the user's name).
    pub fn dbname(&self) -> Option<String> {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .map(str::to_string)
    }

    /// The same server and credentials, connected to database `db` (`postgres.restore_check`
    /// opens its scratch database this way).
    pub fn with_dbname(&self, db: &str) -> PgTarget {
        let mut config = self.config.clone();
        config.dbname(db);
        let display = match self.display.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{db}"),
            None => self.display.clone(),
        };
        PgTarget {
            config,
            ssl: self.ssl,
            root_cert: self.root_cert.clone(),
            display,
        }
    }

    /// libpq environment variables for a client program (`pg_restore`) to reach this server:
    /// `(public, secret)`. The password goes in the child's environment, never on its command
    /// line (where `ps` shows it).
    pub fn libpq_env(&self) -> (EnvVars, EnvVars) {
        let mut public = Vec::new();
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => public.push(("PGHOST".into(), h.clone())),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => {
                public.push(("PGHOST".into(), p.display().to_string()))
            }
            None => {}
        }
        if let Some(p) = self.config.get_ports().first() {
            public.push(("PGPORT".into(), p.to_string()));
        }
        if let Some(u) = self.config.get_user() {
            public.push(("PGUSER".into(), u.to_string()));
        }
        public.push(("PGSSLMODE".into(), self.ssl.as_str().to_string()));
        if let Some(c) = &self.root_cert {
            public.push(("PGSSLROOTCERT".into(), c.display().to_string()));
        }
        let mut secret = Vec::new();
        if let Some(pw) = self.config.get_password() {
            secret.push((
                "PGPASSWORD".into(),
                String::from_utf8_lossy(pw).into_owned(),
            ));
        }
        (public, secret)
    }
}

/// A query value of a libpq URL (`%XX` is a byte; a stray `%` stays as it is).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
