//! A small client for the OCI distribution API (Docker Registry HTTP API v2): is this image in
//! that registry, and which digest does its tag point at.
//!
//! - `GET /v2/` ping; `HEAD /v2/<name>/manifests/<ref>` with all four manifest media types in
//!   `Accept` (without them distribution answers 404 for an OCI manifest that exists, which looks
//!   exactly like a missing tag);
//! - the digest from `Docker-Content-Digest`, or, where a registry omits it, the sha256 of the
//!   body of a `GET` of the same manifest;
//! - auth as the registry asks for it in `WWW-Authenticate`: `Bearer realm,service,scope` (token
//!   from the realm, Basic credentials on the token request when configured; tokens cached until
//!   they expire) or `Basic`. ECR is Basic `AWS` + `aws ecr get-login-password`; Scaleway is
//!   `nologin` + the secret key.
//!
//! Our own client on [`HttpClient`] rather than a crate: `oci-client` (the maintained one) pulls
//! its own reqwest/TLS stack, `jwt`, `olpc-cjson`, `tokio-util`… for pulling and pushing blobs,
//! while the cockpit needs two read calls and the challenge flow. On `HttpClient` these reads go
//! through the session's transport (read-only guard, retries with backoff, redaction).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clients::http::{HttpClient, HttpError, RequestSpec, Response};
use crate::redact::redact;

/// Every manifest type a tag may point at: OCI index, OCI manifest, Docker manifest list, Docker
/// v2 manifest.
pub const MANIFEST_ACCEPT: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Transport(HttpError),
    #[error(
        "{url}: the registry refused the credentials ({detail}); check the registry username and password in the plan"
    )]
    Unauthorized { url: String, detail: String },
    #[error(
        "{url}: the registry asks for credentials ({detail}); set `username` and `password` in the site's `registry`"
    )]
    NeedsCredentials { url: String, detail: String },
    #[error("{url}: access denied (403): {detail}")]
    Forbidden { url: String, detail: String },
    #[error("{url}: unexpected answer {status}: {detail}")]
    Api {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: not a registry: {detail}")]
    NotRegistry { url: String, detail: String },
    #[error("token endpoint {url}: {detail}")]
    Token { url: String, detail: String },
    #[error("registry configuration: {0}")]
    Config(String),
}

impl RegistryError {
    /// A short reason for a panel.
    pub fn short(&self) -> String {
        match self {
            RegistryError::Transport(e) => e.short(),
            RegistryError::Unauthorized { .. } => "credentials refused".into(),
            RegistryError::NeedsCredentials { .. } => "needs credentials".into(),
            RegistryError::Forbidden { .. } => "access denied".into(),
            RegistryError::Api { status, .. } => format!("HTTP {status}"),
            RegistryError::NotRegistry { .. } => "not a registry".into(),
            RegistryError::Token { .. } => "token refused".into(),
            RegistryError::Config(_) => "bad config".into(),
        }
    }
}

/// A manifest that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `sha256:…`
    pub digest: String,
    pub media_type: Option<String>,
    pub size: Option<u64>,
    /// The registry did not send `Docker-Content-Digest`; the digest is the sha256 of the body.
    pub digest_from_body: bool,
}

/// What `GET /v2/` said.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub status: u16,
    /// `Docker-Distribution-API-Version`.
    pub api_version: Option<String>,
    /// `Bearer`/`Basic` when the registry challenged (the ping then retried with credentials).
    pub auth: Option<String>,
}

/// What a `WWW-Authenticate` header asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
    pub fn parse(h: &str) -> Option<Challenge> {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k="v", k2=v2` (quoted values may hold commas).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n)
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_string(), val.trim().to_string()));
    }
    out
}

struct Token {
    value: String,
    until: Instant,
}

/// Bearer tokens and the challenge each registry answered last.
///
/// Why: a probe builds its registry clients anew every refresh; sharing one cache (through
/// [`RegistryClient::with_auth_cache`]) lets them reuse a token until it expires and authenticate
/// up front instead of collecting a 401 first. Owned by whoever shares it (the probes' memory of
/// one run), never process-wide, so another run (or another set of credentials in a test) starts
/// clean.
///
/// Bound: tokens are keyed by (registry, user, password hash, scope) and a renewed token replaces
/// the old one under the same key, so there is at most one per registry and repository the plan
/// names; challenges are one per registry.
#[derive(Default)]
pub struct AuthCache {
    tokens: Mutex<HashMap<String, Token>>,
    challenges: Mutex<HashMap<String, Challenge>>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens themselves.
        let (t, c) = self.entries();
        write!(f, "AuthCache({t} tokens, {c} challenges)")
    }
}

impl AuthCache {
    /// How many entries are held: (tokens, challenges).
    pub fn entries(&self) -> (usize, usize) {
        (lock(&self.tokens).len(), lock(&self.challenges).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client for one registry. Cheap to clone.
#[derive(Clone)]
pub struct RegistryClient {
    http: HttpClient,
    base: String,
    username: Option<String>,
    password: Option<String>,
    timeout: Duration,
    /// Shared by clones; see [`AuthCache`].
    auth: Arc<AuthCache>,
}

impl RegistryClient {
    /// `base_url` is what precedes `/v2/` (e.g. `https://rg.fr-par.scw.cloud`; a path prefix is
    /// kept). Without a scheme, `https://` is assumed.
    pub fn new(base_url: &str, http: HttpClient) -> RegistryClient {
        let b = base_url.trim().trim_end_matches('/');
        let base = if b.contains("://") {
            b.to_string()
        } else {
            format!("https://{b}")
        };
        RegistryClient {
            http,
            base,
            username: None,
            password: None,
            timeout: DEFAULT_TIMEOUT,
            auth: Arc::default(),
        }
    }

    /// The client a plan's `registry` describes (credentials, CA bundle).
    pub fn from_config(
        cfg: &crate::plan::RegistryConfig,
        http: &HttpClient,
    ) -> Result<RegistryClient, RegistryError> {
        let http = match &cfg.ca_bundle {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    RegistryError::Config(format!("cannot read ca_bundle {path}: {e}"))
                })?;
                http.with_ca_bundle(&pem)
                    .map_err(|e| RegistryError::Config(format!("{path}: {e}")))?
            }
            None => http.clone(),
        };
        let mut c = RegistryClient::new(&cfg.url, http);
        if let Some(u) = &cfg.username {
            c = c.with_credentials(u, cfg.password.as_deref().unwrap_or(""));
        }
        Ok(c)
    }

    pub fn with_credentials(mut self, username: &str, password: &str) -> RegistryClient {
        self.username = Some(username.to_string());
        self.password = Some(password.to_string());
        self
    }

    /// Keep tokens and challenges in `auth` (shared with other clients) rather than this
    /// client's own cache.
    pub fn with_auth_cache(mut self, auth: Arc<AuthCache>) -> RegistryClient {
        self.auth = auth;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> RegistryClient {
        self.timeout = timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `https://host/v2/<name>/manifests/<reference>`
    pub fn manifest_url(&self, name: &str, reference: &str) -> String {
        format!(
            "{}/v2/{}/manifests/{}",
            self.base,
            name.trim_matches('/'),
            reference
        )
    }

    fn basic(&self) -> Option<String> {
        let u = self.username.as_deref()?;
        let p = self.password.as_deref().unwrap_or("");
        Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes())))
    }

    /// Tokens are cached per registry, credentials and scope (the password only as a hash, so
    /// a client with other credentials never reuses another's token).
    fn token_key(&self, scope: &str) -> String {
        use sha2::Digest;
        let pw = sha2::Sha256::digest(self.password.as_deref().unwrap_or("").as_bytes());
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{scope}",
            self.base,
            self.username.as_deref().unwrap_or(""),
            hex::encode(&pw[..8])
        )
    }

    /// `GET /v2/`: does this speak the distribution API, and do the credentials work?
    pub async fn ping(&self) -> Result<Ping, RegistryError> {
        let url = format!("{}/v2/", self.base);
        let (r, auth) = self.send("GET", &url, None, &[]).await?;
        let api_version = r
            .header("Docker-Distribution-API-Version")
            .map(str::to_string);
        match r.status {
            200..=299 => Ok(Ping {
                status: r.status,
                api_version,
                auth,
            }),
            _ => Err(self.status_error(&url, &r)),
        }
    }

    /// The manifest `name:reference` (a tag or a digest) points at, or `None` when the registry
    /// says it does not exist (404: no such tag or no such repository).
    pub async fn manifest(
        &self,
        name: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let url = self.manifest_url(name, reference);
        let scope = format!("repository:{}:pull", name.trim_matches('/'));
        let accept = MANIFEST_ACCEPT.join(", ");
        let headers = [("Accept".to_string(), accept)];
        let (r, _) = self.send("HEAD", &url, Some(&scope), &headers).await?;
        match r.status {
            200..=299 => {}
            404 => return Ok(None),
            _ => return Err(self.status_error(&url, &r)),
        }
        let media_type = r.header("Content-Type").map(str::to_string);
        let size = r.header("Content-Length").and_then(|v| v.parse().ok());
        if let Some(d) = r.header("Docker-Content-Digest").filter(|d| !d.is_empty()) {
            return Ok(Some(Manifest {
                digest: d.trim().to_string(),
                media_type,
                size,
                digest_from_body: false,
            }));
        }
        // Older registries may omit the header: the digest is the sha256 of the manifest bytes.
        let (g, _) = self.send("GET", &url, Some(&scope), &headers).await?;
        match g.status {
            200..=299 => {}
            404 => return Ok(None),
            _ => return Err(self.status_error(&url, &g)),
        }
        use sha2::Digest;
        let digest = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(g.body.as_bytes()))
        );
        Ok(Some(Manifest {
            digest,
            media_type: g.header("Content-Type").map(str::to_string).or(media_type),
            size: Some(g.body.len() as u64),
            digest_from_body: true,
        }))
    }

    fn status_error(&self, url: &str, r: &Response) -> RegistryError {
        let url = redact(url).into_owned();
        let detail = error_detail(r);
        match r.status {
            401 => RegistryError::Unauthorized { url, detail },
            403 => RegistryError::Forbidden { url, detail },
            status => RegistryError::Api {
                url,
                status,
                detail,
            },
        }
    }

    /// Send a read, answering the registry's challenge once. Returns the response and the auth
    /// scheme used (if any).
    async fn send(
        &self,
        method: &str,
        url: &str,
        scope: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<(Response, Option<String>), RegistryError> {
        let known = lock(&self.auth.challenges).get(&self.base).cloned();
        let mut auth = match &known {
            Some(c) => self.authorization(c, scope, false).await?,
            None => None,
        };
        for attempt in 0..2 {
            let mut hs = headers.to_vec();
            if let Some(a) = &auth {
                hs.push(("Authorization".into(), a.clone()));
            }
            let spec = RequestSpec {
                method: method.into(),
                url: url.into(),
                headers: hs,
                body: None,
            };
            let r = self
                .http
                .send(&spec, self.timeout)
                .await
                .map_err(RegistryError::Transport)?;
            if r.status != 401 {
                if r.status == 200 && method == "GET" && url.ends_with("/v2/") {
                    // A 200 ping without the version header is a web server, not a registry.
                    if r.header("Docker-Distribution-API-Version").is_none() && auth.is_none() {
                        return Err(RegistryError::NotRegistry {
                            url: redact(url).into_owned(),
                            detail: "GET /v2/ answered 200 without Docker-Distribution-API-Version"
                                .into(),
                        });
                    }
                }
                let scheme = auth
                    .as_deref()
                    .and_then(|a| a.split(' ').next())
                    .map(str::to_string);
                return Ok((r, scheme));
            }
            let header = r.header("WWW-Authenticate").unwrap_or("").to_string();
            let Some(ch) = Challenge::parse(&header) else {
                return Err(RegistryError::NeedsCredentials {
                    url: redact(url).into_owned(),
                    detail: if header.is_empty() {
                        "401 without WWW-Authenticate".into()
                    } else {
                        format!("unsupported challenge `{header}`")
                    },
                });
            };
            if attempt == 1
                || (auth.is_some()
                    && known.as_ref() == Some(&ch)
                    && !matches!(ch, Challenge::Bearer { .. }))
            {
                return Err(if auth.is_some() {
                    RegistryError::Unauthorized {
                        url: redact(url).into_owned(),
                        detail: error_detail(&r),
                    }
                } else {
                    RegistryError::NeedsCredentials {
                        url: redact(url).into_owned(),
                        detail: header,
                    }
                });
            }
            lock(&self.auth.challenges).insert(self.base.clone(), ch.clone());
            // A token that was refused is dropped before asking for a new one.
            let scope_for = match &ch {
                Challenge::Bearer { scope: Some(s), .. } => Some(s.clone()),
                _ => scope.map(str::to_string),
            };
            lock(&self.auth.tokens).remove(&self.token_key(scope_for.as_deref().unwrap_or("")));
            auth = self.authorization(&ch, scope_for.as_deref(), true).await?;
            if auth.is_none() {
                return Err(RegistryError::NeedsCredentials {
                    url: redact(url).into_owned(),
                    detail: header,
                });
            }
        }
        Err(RegistryError::Unauthorized {
            url: redact(url).into_owned(),
            detail: "challenge not satisfied".into(),
        })
    }

    /// The `Authorization` value for a challenge (a cached token unless `fresh`).
    async fn authorization(
        &self,
        ch: &Challenge,
        scope: Option<&str>,
        fresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        match ch {
            Challenge::Basic => Ok(self.basic()),
            Challenge::Bearer {
                realm,
                service,
                scope: ch_scope,
            } => {
                let scope = scope.or(ch_scope.as_deref()).unwrap_or("");
                let key = self.token_key(scope);
                if !fresh
                    && let Some(t) = lock(&self.auth.tokens).get(&key)
                    && t.until > Instant::now()
                {
                    return Ok(Some(format!("Bearer {}", t.value)));
                }
                let token = self.fetch_token(realm, service.as_deref(), scope).await?;
                let value = format!("Bearer {}", token.value);
                lock(&self.auth.tokens).insert(key, token);
                Ok(Some(value))
            }
        }
    }

    /// `GET <realm>?service=…&scope=…` (Basic credentials when configured).
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Token, RegistryError> {
        let mut q: Vec<String> = Vec::new();
        if let Some(s) = service {
            q.push(format!(
                "service={}",
                crate::clients::http::percent_encode(s)
            ));
        }
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            q.push(format!("scope={}", crate::clients::http::percent_encode(s)));
        }
        let url = if q.is_empty() {
            realm.to_string()
        } else if realm.contains('?') {
            format!("{realm}&{}", q.join("&"))
        } else {
            format!("{realm}?{}", q.join("&"))
        };
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        if let Some(b) = self.basic() {
            headers.push(("Authorization".into(), b));
        }
        let spec = RequestSpec {
            method: "GET".into(),
            url: url.clone(),
            headers,
            body: None,
        };
        let started = Instant::now();
        let r = self
            .http
            .send(&spec, self.timeout)
            .await
            .map_err(RegistryError::Transport)?;
        let shown = redact(realm).into_owned();
        match r.status {
            200..=299 => {}
            401 | 403 => {
                return Err(RegistryError::Unauthorized {
                    url: shown,
                    detail: format!(
                        "the token endpoint answered {}: {}",
                        r.status,
                        error_detail(&r)
                    ),
                });
            }
            s => {
                return Err(RegistryError::Token {
                    url: shown,
                    detail: format!("answered {s}: {}", error_detail(&r)),
                });
            }
        }
        #[derive(serde::Deserialize)]
        struct T {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let t: T = serde_json::from_str(&r.body).map_err(|e| RegistryError::Token {
            url: shown.clone(),
            detail: format!("not a token answer: {e}"),
        })?;
        let Some(value) = t.token.or(t.access_token).filter(|v| !v.is_empty()) else {
            return Err(RegistryError::Token {
                url: shown,
                detail: "the answer has neither `token` nor `access_token`".into(),
            });
        };
        crate::redact::register(&value, "registry token");
        // The spec: default 60 s, never less than 60 s. Renew a little early.
        let secs = t.expires_in.unwrap_or(60).max(60);
        let life = Duration::from_secs(secs)
            .saturating_sub(Duration::from_secs(secs / 10).min(Duration::from_secs(30)));
        Ok(Token {
            value,
            until: started + life,
        })
    }
}

/// Standard base64 with padding (for Basic credentials).
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        o.push(A[(n >> 18) as usize & 63] as char);
        o.push(A[(n >> 12) as usize & 63] as char);
        o.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        o.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    o
}

/// The registry's error message (`{"errors":[{"code","message","detail"}]}`) or the body.
fn error_detail(r: &Response) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.body)
        && let Some(errs) = v["errors"].as_array()
        && !errs.is_empty()
    {
        return errs
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let b = r.body.trim();
    if b.is_empty() {
        format!("HTTP {}", r.status)
    } else {
        redact(&b.chars().take(200).collect::<String>()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"AWS:pw"), "QVdTOnB3");
    }

    #[test]
    fn parses_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:samalba/my-app:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn base_urls_get_a_scheme_and_keep_their_path() {
        let h = HttpClient::new(true);
        assert_eq!(
            RegistryClient::new("rg.fr-par.scw.cloud/", h.clone()).manifest_url("ns/web", "1.0"),
            "https://rg.fr-par.scw.cloud/v2/ns/web/manifests/1.0"
        );
        assert_eq!(
            RegistryClient::new("http://127.0.0.1:9/registry/dr", h).manifest_url("web", "1.0"),
            "http://127.0.0.1:9/registry/dr/v2/web/manifests/1.0"
        );
    }
}
