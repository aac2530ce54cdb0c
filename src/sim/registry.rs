//! The simulated OCI registries: two logical registries under one server, `/registry/prod` and
//! `/registry/dr` (each answers the distribution API below its prefix: `GET …/v2/`,
//! `HEAD|GET …/v2/<name>/manifests/<ref>`), and one token service, `/registry/token`.
//!
//! Faithful where the cockpit depends on it:
//! - every `/v2/` call without a valid token answers 401 with
//!   `WWW-Authenticate: Bearer realm="http://<host>/registry/token",service="drcockpit-sim",scope="repository:<name>:pull"`;
//! - the token service wants Basic credentials (`nologin` for prod like Scaleway, `AWS` for DR
//!   like ECR; password [`PASSWORD`]) and answers `{token, access_token, expires_in, issued_at}`;
//!   tokens expire ([`RegistryWorld::set_token_ttl`]) and an expired one is refused;
//! - manifests are OCI image manifests; without the OCI type in `Accept` an existing manifest
//!   answers 404 `MANIFEST_UNKNOWN` as distribution does; `Docker-Content-Digest` is the sha256 of
//!   the body (or omitted, [`RegistryWorld::set_omit_digest`]);
//! - error bodies are distribution's `{"errors":[{code,message,detail}]}`.
//!
//! Content: prod holds `shop/{web,api,worker}` and DR `shop-dr/{web,api,worker}` (the demo maps
//! the Scaleway namespace `shop` to `shop-dr`), tags `1.4.1` and `1.4.2`, the same bytes on both
//! sides; any `bench/<name>:v1` exists on both (benchmarks). Scenario `image-missing`: DR has no
//! `shop-dr/worker:1.4.2`. In `region-outage` the prod registry answers 503 once prod is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::{Scenario, SimState};

/// The password the simulated token service accepts (for `nologin` and `AWS`).
pub const PASSWORD: &str = "sim-registry-password";
/// Services the demo runs, and the tags each registry holds.
pub const SERVICES: [&str; 3] = ["web", "api", "worker"];
pub const TAGS: [&str; 2] = ["1.4.1", "1.4.2"];
pub const PROD_NAMESPACE: &str = "shop";
pub const DR_NAMESPACE: &str = "shop-dr";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

struct Inner {
    token_ttl: Duration,
    tokens: HashMap<String, Instant>,
    token_requests: u64,
    requests: u64,
    latency: Duration,
    omit_digest: bool,
    /// (site, repository, tag) removed by a test.
    removed: Vec<(String, String, String)>,
    seq: u64,
}

/// The registries' world.
pub struct RegistryWorld {
    state: Option<SimState>,
    inner: Mutex<Inner>,
}

impl RegistryWorld {
    /// A world following the simulator's scenario (`None`: always `all-good`).
    pub fn new(state: Option<SimState>) -> RegistryWorld {
        RegistryWorld {
            state,
            inner: Mutex::new(Inner {
                token_ttl: Duration::from_secs(300),
                tokens: HashMap::new(),
                token_requests: 0,
                requests: 0,
                latency: Duration::ZERO,
                omit_digest: false,
                removed: Vec::new(),
                seq: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long new tokens live (`expires_in`).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().token_ttl = ttl;
    }
    /// Delay every answer (benchmarks).
    pub fn set_latency(&self, d: Duration) {
        self.lock().latency = d;
    }
    /// Leave `Docker-Content-Digest` out (an older registry).
    pub fn set_omit_digest(&self, omit: bool) {
        self.lock().omit_digest = omit;
    }
    /// Remove an image from one registry (`prod` or `dr`).
    pub fn remove(&self, site: &str, repository: &str, tag: &str) {
        self.lock()
            .removed
            .push((site.into(), repository.into(), tag.into()));
    }
    /// Tokens issued so far.
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }
    /// Registry API requests so far (token requests not included).
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn scenario(&self) -> Scenario {
        self.state
            .as_ref()
            .map(|s| s.scenario())
            .unwrap_or(Scenario::AllGood)
    }

    /// The manifest body of `repository:tag` in `site`'s registry, if it holds it.
    fn manifest(&self, site: &str, repository: &str, tag: &str) -> Option<String> {
        if self
            .lock()
            .removed
            .iter()
            .any(|(s, r, t)| s == site && r == repository && t == tag)
        {
            return None;
        }
        if let Some(name) = repository.strip_prefix("bench/") {
            return (tag == "v1").then(|| manifest_body(name, tag));
        }
        let ns = match site {
            "prod" => PROD_NAMESPACE,
            "dr" => DR_NAMESPACE,
            _ => return None,
        };
        let svc = repository.strip_prefix(ns)?.strip_prefix('/')?;
        let big = self.scenario() == Scenario::Big && super::big::is_big_service(svc);
        if !(SERVICES.contains(&svc) || big) || !TAGS.contains(&tag) {
            return None;
        }
        if site == "dr"
            && svc == "worker"
            && tag == "1.4.2"
            && self.scenario() == Scenario::ImageMissing
        {
            return None;
        }
        // Hostile: 200 for the tag, with another image behind it (another digest).
        if site == "dr"
            && self.state.as_ref().and_then(|s| s.hostile_lie())
                == Some(super::hostile::Lie::WrongDigest)
        {
            return Some(manifest_body(svc, &format!("{tag}-rebuilt")));
        }
        Some(manifest_body(svc, tag))
    }
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// A deterministic OCI image manifest for one service and tag (the same bytes in both
/// registries, so the same digest).
pub fn manifest_body(service: &str, tag: &str) -> String {
    let config = format!("{{\"service\":\"{service}\",\"tag\":\"{tag}\"}}");
    let layer = format!("layer of {service} {tag}");
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config.as_bytes()),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": sha256(layer.as_bytes()),
            "size": layer.len(),
        }],
    })
    .to_string()
}

/// The digest the simulated registries give `service:tag`.
pub fn digest_of(service: &str, tag: &str) -> String {
    sha256(manifest_body(service, tag).as_bytes())
}

fn oci_error(status: StatusCode, code: &str, message: &str, detail: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        serde_json::json!({ "errors": [{ "code": code, "message": message, "detail": detail }] })
            .to_string(),
    )
        .into_response()
}

/// The registry routes, ready to merge into the simulator's router.
pub fn routes(world: Arc<RegistryWorld>) -> Router {
    Router::new()
        .route("/registry/token", any(token))
        .route("/registry/{site}/v2/", any(api))
        .route("/registry/{site}/v2/{*rest}", any(api))
        .with_state(world)
}

/// This family for [`super::families`].
pub fn family(world: Arc<RegistryWorld>) -> super::Family {
    super::Family::new("registry", routes(world))
        .endpoint("GET /registry/{prod|dr}/v2/")
        .endpoint("HEAD|GET /registry/{prod|dr}/v2/{name}/manifests/{reference}")
        .endpoint("GET /registry/token?service=…&scope=… (Basic nologin|AWS)")
}

fn basic_ok(headers: &HeaderMap) -> Option<bool> {
    let a = headers.get("authorization")?.to_str().ok()?;
    let enc = a.strip_prefix("Basic ")?;
    let ok = ["nologin", "AWS"].iter().any(|u| {
        crate::clients::registry::base64(format!("{u}:{PASSWORD}").as_bytes()) == enc.trim()
    });
    Some(ok)
}

async fn token(AxState(w): AxState<Arc<RegistryWorld>>, headers: HeaderMap, uri: Uri) -> Response {
    let latency = w.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match basic_ok(&headers) {
        Some(true) => {}
        Some(false) => {
            return oci_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required: invalid username or password",
                serde_json::Value::Null,
            );
        }
        None => {
            let mut r = oci_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required",
                serde_json::Value::Null,
            );
            if let Ok(v) = "Basic realm=\"drcockpit-sim\"".parse() {
                r.headers_mut().insert("www-authenticate", v);
            }
            return r;
        }
    }
    let scope = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("scope="))
        .unwrap_or("")
        .to_string();
    let mut g = w.lock();
    g.token_requests += 1;
    g.seq += 1;
    let ttl = g.token_ttl;
    let t = format!("simtok-{}-{}", g.seq, scope.len());
    g.tokens.insert(t.clone(), Instant::now() + ttl);
    drop(g);
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        serde_json::json!({
            "token": t, "access_token": t, "expires_in": ttl.as_secs().max(1),
            "issued_at": chrono::Utc::now().to_rfc3339(),
        })
        .to_string(),
    )
        .into_response()
}

async fn api(
    AxState(w): AxState<Arc<RegistryWorld>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let latency = {
        let mut g = w.lock();
        g.requests += 1;
        g.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_string();
    // A prod region outage takes the prod registry down with it.
    if path.starts_with("/registry/prod/")
        && w.state
            .as_ref()
            .is_some_and(|s| !s.site_up(super::Site::Prod))
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain")],
            super::UPSTREAM_DOWN_BODY,
        )
            .into_response();
    }
    let Some(rest) = path.strip_prefix("/registry/") else {
        return oci_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "not found",
            serde_json::Value::Null,
        );
    };
    let (site, rest) = rest.split_once("/v2/").unwrap_or((rest, ""));
    if site != "prod" && site != "dr" {
        return oci_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("no simulated registry `{site}` (prod or dr)"),
            serde_json::Value::Null,
        );
    }
    // The name and the reference: `<name…>/manifests/<ref>`.
    let target = rest.rsplit_once("/manifests/");
    let scope = target
        .map(|(n, _)| format!("repository:{n}:pull"))
        .unwrap_or_default();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = bearer.is_some_and(|t| {
        w.lock()
            .tokens
            .get(t)
            .is_some_and(|until| *until > Instant::now())
    });
    if !valid {
        return unauthorized(&headers, &scope);
    }
    let version = [("docker-distribution-api-version", "registry/2.0")];
    if rest.is_empty() {
        return (StatusCode::OK, version, "{}").into_response();
    }
    let Some((name, reference)) = target else {
        return oci_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "not found",
            serde_json::Value::Null,
        );
    };
    if method != Method::GET && method != Method::HEAD {
        return oci_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "the simulated registry is read-only",
            serde_json::Value::Null,
        );
    }
    manifest_answer(&w, site, name, reference, &method, &headers)
}

/// 401 with the challenge that sends the client to the token service (as distribution does).
fn unauthorized(headers: &HeaderMap, scope: &str) -> Response {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let mut challenge =
        format!("Bearer realm=\"http://{host}/registry/token\",service=\"drcockpit-sim\"");
    if !scope.is_empty() {
        challenge.push_str(&format!(",scope=\"{scope}\""));
    }
    let mut r = oci_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
        serde_json::Value::Null,
    );
    if let Ok(v) = challenge.parse() {
        r.headers_mut().insert("www-authenticate", v);
    }
    r.headers_mut().insert(
        "docker-distribution-api-version",
        axum::http::HeaderValue::from_static("registry/2.0"),
    );
    r
}

/// `HEAD|GET …/v2/<name>/manifests/<reference>` once authorized: the manifest by tag or by
/// digest, 404 when it is unknown or when `Accept` does not allow OCI manifests.
fn manifest_answer(
    w: &RegistryWorld,
    site: &str,
    name: &str,
    reference: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let version = [("docker-distribution-api-version", "registry/2.0")];
    // By tag, or by digest (any tag whose manifest has that digest).
    let body = if reference.starts_with("sha256:") {
        TAGS.iter()
            .chain(["v1"].iter())
            .filter_map(|t| w.manifest(site, name, t))
            .find(|b| sha256(b.as_bytes()) == reference)
    } else {
        w.manifest(site, name, reference)
    };
    let Some(body) = body else {
        let known_repo = TAGS
            .iter()
            .chain(["v1"].iter())
            .any(|t| w.manifest(site, name, t).is_some());
        return if known_repo {
            oci_error(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
                serde_json::json!({ "Tag": reference }),
            )
        } else {
            oci_error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "repository name not known to registry",
                serde_json::json!({ "name": name }),
            )
        };
    };
    let accept = headers
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if !accept.contains(OCI_MANIFEST) {
        return oci_error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "OCI manifest found, but accept header does not support OCI manifests",
            serde_json::Value::Null,
        );
    }
    let digest = sha256(body.as_bytes());
    let omit = w.lock().omit_digest;
    let mut r = if *method == Method::HEAD {
        (StatusCode::OK, version, "").into_response()
    } else {
        (StatusCode::OK, version, body.clone()).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = OCI_MANIFEST.parse() {
        h.insert("content-type", v);
    }
    if let Ok(v) = body.len().to_string().parse() {
        h.insert("content-length", v);
    }
    if !omit && let Ok(v) = digest.parse() {
        h.insert("docker-content-digest", v);
    }
    r
}
