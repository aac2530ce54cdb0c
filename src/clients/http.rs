//! The HTTP transport every integration uses. It enforces the session's mode a second time:
//! a read-only client refuses every method but GET and HEAD before anything leaves the process.
//! Reads are retried with jittered backoff; mutating calls never are.
//!
//! A 5xx answer to a mutating call is an error here ([`HttpError::MaybeApplied`]), never a plain
//! status: a gateway 5xx can come after the server started the work, so it means "may or may not
//! have been applied", exactly like a timeout, and must never be reported as "not accepted".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;

use crate::redact::redact;

#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error(
        "refused by the read-only transport: {method} {url} (this session may not change anything)"
    )]
    ReadOnly { method: String, url: String },
    #[error("{method} {url}: timed out after {secs}s")]
    Timeout {
        method: String,
        url: String,
        secs: u64,
    },
    #[error("{method} {url}: cannot connect: {detail}")]
    Connect {
        method: String,
        url: String,
        detail: String,
    },
    #[error("{method} {url}: {detail}")]
    Other {
        method: String,
        url: String,
        detail: String,
    },
    /// A 5xx answer to a mutating call (anything but GET/HEAD). The server (or a gateway in front
    /// of it) may have started the change before failing: the caller must check before retrying.
    #[error(
        "{method} {url}: HTTP {status}{}: the change may or may not have been applied; check the current state of what it changes before retrying (mutations are never retried automatically)",
        maybe_body(body)
    )]
    MaybeApplied {
        method: String,
        url: String,
        status: u16,
        /// The answer's body, redacted and clipped.
        body: String,
    },
    #[error("invalid request: {0}")]
    Invalid(String),
}

fn maybe_body(body: &str) -> String {
    if body.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", body.trim())
    }
}

impl HttpError {
    /// A short reason for a panel.
    pub fn short(&self) -> String {
        match self {
            HttpError::ReadOnly { .. } => "refused: read-only".into(),
            HttpError::Timeout { secs, .. } => format!("timeout {secs}s"),
            HttpError::Connect { .. } => "unreachable".into(),
            HttpError::Other { .. } => "request failed".into(),
            HttpError::MaybeApplied { status, .. } => format!("HTTP {status}: may be applied"),
            HttpError::Invalid(_) => "invalid request".into(),
        }
    }

    /// The request may have reached the server and changed something: a timeout, a broken
    /// connection after sending, or a 5xx to a mutation. Only a connect failure, the read-only
    /// refusal and an invalid request prove nothing was sent.
    pub fn may_have_been_applied(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. } | HttpError::Other { .. } | HttpError::MaybeApplied { .. }
        )
    }
}

/// A response with the body kept as text (error bodies are not guaranteed JSON).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed: Duration,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request the cockpit would make, for review mode and the journal (redact before showing).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Most idle connections kept per host between requests: at least the image probe's fan-out
/// (`probes::images::DEFAULT_FANOUT` asks a registry at most that many at a time, and checks it
/// fits), so a round's connections are reused by the next. Without a bound the pool kept every
/// connection a burst ever opened (60-90 against the 500-service simulator, each with its read
/// and write buffers: ~8 MB of a 30 MB budget, BENCHMARKS.md "The shipped binary").
pub const POOL_IDLE_PER_HOST: usize = 16;

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    read_only: bool,
    /// Requests refused by the read-only guard (tests and diagnostics).
    refused: Arc<AtomicU64>,
    read_retries: u32,
}

impl HttpClient {
    pub fn new(read_only: bool) -> HttpClient {
        let inner = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .user_agent(concat!("drcockpit/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        HttpClient {
            inner,
            read_only,
            refused: Arc::new(AtomicU64::new(0)),
            read_retries: 2,
        }
    }

    /// The same transport (mode, refusal counter, retries) trusting the CA certificates of a PEM
    /// bundle as well as the built-in roots (a registry behind a private CA).
    pub fn with_ca_bundle(&self, pem: &[u8]) -> Result<HttpClient, HttpError> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| HttpError::Invalid(format!("CA bundle: {}", error_chain(&e))))?;
        if certs.is_empty() {
            return Err(HttpError::Invalid(
                "CA bundle: no PEM certificate in it".into(),
            ));
        }
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .user_agent(concat!("drcockpit/", env!("CARGO_PKG_VERSION")));
        for c in certs {
            b = b.add_root_certificate(c);
        }
        let inner = b
            .build()
            .map_err(|e| HttpError::Invalid(format!("CA bundle: {}", error_chain(&e))))?;
        Ok(HttpClient {
            inner,
            read_only: self.read_only,
            refused: self.refused.clone(),
            read_retries: self.read_retries,
        })
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn refused_count(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn with_read_retries(mut self, n: u32) -> HttpClient {
        self.read_retries = n;
        self
    }

    /// The transport's mode check: refuse anything but GET/HEAD on a read-only client.
    pub fn guard(&self, method: &str, url: &str) -> Result<(), HttpError> {
        let m = method.to_ascii_uppercase();
        if self.read_only && m != "GET" && m != "HEAD" {
            self.refused.fetch_add(1, Ordering::Relaxed);
            let url = redact(url).into_owned();
            log::warn!(target: "safety", "read-only transport refused {m} {url}");
            return Err(HttpError::ReadOnly { method: m, url });
        }
        Ok(())
    }

    /// Send a request. GET/HEAD are retried on connect errors, timeouts, 429 and 5xx (jittered
    /// backoff); every other method is sent exactly once, and a 5xx answer to it is
    /// [`HttpError::MaybeApplied`].
    pub async fn send(&self, spec: &RequestSpec, timeout: Duration) -> Result<Response, HttpError> {
        self.guard(&spec.method, &spec.url)?;
        let method = Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::Invalid(format!("`{}` is not an HTTP method", spec.method)))?;
        let idempotent_read = method == Method::GET || method == Method::HEAD;
        let tries = if idempotent_read {
            1 + self.read_retries
        } else {
            1
        };
        let mut last = None;
        for attempt in 0..tries {
            if attempt > 0 {
                let base = 200u64 << (attempt - 1).min(5);
                tokio::time::sleep(Duration::from_millis(base + fastrand::u64(0..base))).await;
            }
            match self.send_once(&method, spec, timeout).await {
                Ok(r)
                    if idempotent_read
                        && (r.status == 429 || r.status >= 500)
                        && attempt + 1 < tries =>
                {
                    last = Some(Ok(r))
                }
                Ok(r) if !idempotent_read && r.status >= 500 => {
                    let body: String = redact(r.body.trim()).chars().take(300).collect();
                    return Err(HttpError::MaybeApplied {
                        method: method.to_string(),
                        url: redact(&spec.url).into_owned(),
                        status: r.status,
                        body,
                    });
                }
                Ok(r) => return Ok(r),
                Err(e @ (HttpError::Timeout { .. } | HttpError::Connect { .. }))
                    if attempt + 1 < tries =>
                {
                    last = Some(Err(e))
                }
                Err(e) => return Err(e),
            }
        }
        last.unwrap_or_else(|| Err(HttpError::Invalid("no attempt was made".into())))
    }

    async fn send_once(
        &self,
        method: &Method,
        spec: &RequestSpec,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        let mut req = self
            .inner
            .request(method.clone(), &spec.url)
            .timeout(timeout);
        for (k, v) in &spec.headers {
            req = req.header(k, v);
        }
        if let Some(b) = &spec.body {
            req = req.body(b.clone());
        }
        let started = std::time::Instant::now();
        let m = method.to_string();
        let url = redact(&spec.url).into_owned();
        let resp = req
            .send()
            .await
            .map_err(|e| classify(&m, &url, &e, timeout))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp
            .text()
            .await
            .map_err(|e| classify(&m, &url, &e, timeout))?;
        Ok(Response {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        })
    }

    pub async fn get(&self, url: &str, timeout: Duration) -> Result<Response, HttpError> {
        self.send(
            &RequestSpec {
                method: "GET".into(),
                url: url.into(),
                headers: vec![],
                body: None,
            },
            timeout,
        )
        .await
    }
}

fn classify(method: &str, url: &str, e: &reqwest::Error, timeout: Duration) -> HttpError {
    let detail = redact(&error_chain(e)).into_owned();
    if e.is_timeout() {
        HttpError::Timeout {
            method: method.into(),
            url: url.into(),
            secs: timeout.as_secs().max(1),
        }
    } else if e.is_connect() {
        HttpError::Connect {
            method: method.into(),
            url: url.into(),
            detail,
        }
    } else {
        HttpError::Other {
            method: method.into(),
            url: url.into(),
            detail,
        }
    }
}

/// The full error chain: reqwest's top-level message alone ("error sending request") does not
/// tell an operator anything.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Percent-encode a URL component (see [`crate::redact::percent_encode`], which the redactor
/// shares so that it always recognises what the clients send).
pub use crate::redact::percent_encode;
