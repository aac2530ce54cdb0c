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

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};

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

// ---------------------------------------------------------------------------------------------
// Connection strings and TLS
// ---------------------------------------------------------------------------------------------

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
    config: Config,
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

/// A query value of a libpq URL (`%XX` is a byte; a stray `%` stays as it is).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn rustls_config(
    ssl: SslMode,
    root_cert: Option<&PathBuf>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    if ssl == SslMode::Prefer || (ssl == SslMode::Require && root_cert.is_none()) {
        // libpq: `prefer`, and `require` without a root certificate, encrypt but do not verify.
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(p) if p.as_os_str() != "system" => {
            let certs = CertificateDer::pem_file_iter(p)
                .map_err(|e| format!("sslrootcert {}: {e}", p.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("sslrootcert {}: {e}", p.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("sslrootcert {}: {e}", p.display()))?;
            }
        }
        _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("TLS setup: {e}"))?;
    if ssl == SslMode::VerifyFull {
        Ok(builder.with_webpki_verifier(webpki).with_no_client_auth())
    } else {
        // verify-ca (and require with a root certificate): the chain, not the host name.
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
            .with_no_client_auth())
    }
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// tokio-postgres TLS over rustls (ring provider).
#[derive(Clone)]
pub struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        let name = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            config: self.config.clone(),
            name,
        })
    }
}

pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let s = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(s))
        })
    }
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM without channel binding: a wrong end-point hash would fail authentication.
        ChannelBinding::none()
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

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

/// Counters for measuring the cost of probing (process-wide).
#[derive(Debug, Default)]
pub struct PgStats {
    pub connects: AtomicU64,
    pub round_trips: AtomicU64,
}

pub static STATS: LazyLock<PgStats> = LazyLock::new(PgStats::default);

/// One open session.
pub struct PgSession {
    client: Client,
    pub target: String,
    read_only: bool,
    statement_timeout: Duration,
    round_trips: AtomicU64,
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
    STATS.connects.fetch_add(1, Ordering::Relaxed);
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
    })
}

impl PgSession {
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
    async fn simple_multi(
        &self,
        sql: &str,
    ) -> Result<(Vec<Vec<Vec<Option<String>>>>, Option<PgError>), PgError> {
        STATS.round_trips.fetch_add(1, Ordering::Relaxed);
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

// ---------------------------------------------------------------------------------------------
// Typed results
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Probe sessions: kept and reused across refreshes, reconnected after an error
// ---------------------------------------------------------------------------------------------

static PROBE_SESSIONS: LazyLock<Mutex<HashMap<String, Arc<PgSession>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Last WAL position seen on a primary, per connection string: lets a standby's probe measure
/// lag against the last known primary position when the primary is gone.
/// A position, when it was seen (monotonic), and when (wall clock).
type Seen = (Lsn, Instant, DateTime<Utc>);

static LAST_PRIMARY: LazyLock<Mutex<HashMap<String, Seen>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The kept read-only session for `conn`, connecting when there is none (or it closed).
pub async fn probe_session(conn: &str) -> Result<Arc<PgSession>, PgError> {
    if let Some(s) = lock(&PROBE_SESSIONS).get(conn).cloned()
        && !s.is_closed()
    {
        return Ok(s);
    }
    let s = Arc::new(connect(conn, &ConnectOptions::probe()).await?);
    lock(&PROBE_SESSIONS).insert(conn.to_string(), s.clone());
    Ok(s)
}

/// Drop the kept session for `conn` (after an error): the next round reconnects.
pub fn forget_session(conn: &str) {
    lock(&PROBE_SESSIONS).remove(conn);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `f` on the kept probe session; on a connection-level failure forget the session.
pub async fn with_probe_session<T, F, Fut>(conn: &str, f: F) -> Result<T, PgError>
where
    F: FnOnce(Arc<PgSession>) -> Fut,
    Fut: Future<Output = Result<T, PgError>>,
{
    let s = probe_session(conn).await?;
    let r = f(s.clone()).await;
    if let Err(e) = &r
        && (s.is_closed() || !matches!(e, PgError::Query { .. }))
    {
        forget_session(conn);
    }
    r
}

/// Record a primary's WAL position.
pub fn note_primary_position(conn: &str, lsn: Lsn) {
    lock(&LAST_PRIMARY).insert(conn.to_string(), (lsn, Instant::now(), Utc::now()));
}

/// The last primary WAL position seen for `conn`, with how long ago and when.
pub fn last_primary_position(conn: &str) -> Option<(Lsn, Duration, DateTime<Utc>)> {
    lock(&LAST_PRIMARY)
        .get(conn)
        .map(|(l, i, t)| (*l, i.elapsed(), *t))
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
