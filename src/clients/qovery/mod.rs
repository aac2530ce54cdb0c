//! Qovery API client on top of [`crate::clients::http::HttpClient`]: the transport's read-only
//! guard applies to every call, reads (GET) are retried on 429/5xx/network errors with jittered
//! backoff, mutating calls are sent exactly once. Error bodies are kept as text (they are not
//! guaranteed JSON) and redacted.
//!
//! Paths and fields come from `../shared/reference/qovery-openapi.yaml`; [`ENDPOINTS`] lists every
//! method and path this client calls (a test checks them against the spec).

pub mod changes;
pub mod follow;
pub mod types;

/// Path segments are percent-encoded by the one shared encoder.
pub use crate::clients::http::percent_encode as encode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clients::http::{HttpClient, HttpError, RequestSpec};
use crate::redact::redact;
pub use types::*;

/// The public API, as in the spec's `servers` entry.
pub const DEFAULT_API_URL: &str = "https://api.qovery.com";

/// Default per-call timeout (the official CLI uses 60 s for its whole client).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Every (method, path template) this client calls. Each exists in the spec.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/organization"),
    ("GET", "/organization/{organizationId}"),
    ("GET", "/organization/{organizationId}/cluster"),
    ("GET", "/organization/{organizationId}/cluster/status"),
    (
        "GET",
        "/organization/{organizationId}/cluster/{clusterId}/status",
    ),
    (
        "GET",
        "/organization/{organizationId}/cluster/{clusterId}/isReady",
    ),
    ("GET", "/environment/{environmentId}"),
    ("GET", "/environment/{environmentId}/status"),
    ("GET", "/environment/{environmentId}/statuses"),
    ("GET", "/environment/{environmentId}/container"),
    ("GET", "/environment/{environmentId}/application"),
    ("GET", "/environment/{environmentId}/database"),
    ("POST", "/environment/{environmentId}/deploy"),
    ("POST", "/environment/{environmentId}/redeploy"),
    ("POST", "/environment/{environmentId}/stop"),
    ("POST", "/environment/{environmentId}/service/deploy"),
    ("GET", "/environment/{environmentId}/environmentVariable"),
    ("POST", "/environment/{environmentId}/environmentVariable"),
    (
        "PUT",
        "/environment/{environmentId}/environmentVariable/{environmentVariableId}",
    ),
    ("GET", "/environment/{environmentId}/secret"),
    ("POST", "/environment/{environmentId}/secret"),
    ("PUT", "/environment/{environmentId}/secret/{secretId}"),
    ("GET", "/variable"),
    ("GET", "/environment/deploymentStatus"),
    ("GET", "/environment/{environmentId}/deploymentHistory"),
    ("GET", "/container/{containerId}"),
    ("PUT", "/container/{containerId}"),
    ("GET", "/organization/{organizationId}/containerRegistry"),
    ("GET", "/organization/{organizationId}/project"),
    ("GET", "/project/{projectId}/environment"),
    ("POST", "/environment/{environmentId}/clone"),
    ("DELETE", "/environment/{environmentId}"),
];

static ENV_OVERRIDES: AtomicBool = AtomicBool::new(true);

/// Whether `QOVERY_API_URL` / `QOVERY_CLI_ACCESS_TOKEN` override the plan (on by default, like
/// the official CLI). The demo turns this off so a user's shell cannot point the simulator's
/// plan at the real API.
pub fn set_env_overrides(enabled: bool) {
    ENV_OVERRIDES.store(enabled, Ordering::Relaxed);
}

pub fn env_overrides_enabled() -> bool {
    ENV_OVERRIDES.load(Ordering::Relaxed)
}

/// The two authentication schemes the spec accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Token <api-token>` (machine tokens, no TTL).
    Token,
    /// `Authorization: Bearer <jwt>` (OIDC, has a TTL).
    Bearer,
}

impl AuthScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Token => "Token",
            AuthScheme::Bearer => "Bearer",
        }
    }

    /// `token` or `bearer` (case-insensitive), as written in a plan.
    pub fn parse(s: &str) -> Option<AuthScheme> {
        match s.trim().to_ascii_lowercase().as_str() {
            "token" => Some(AuthScheme::Token),
            "bearer" | "jwt" => Some(AuthScheme::Bearer),
            _ => None,
        }
    }

    /// Choose as the official CLI does: if the part of the token before the first `.` decodes
    /// as standard base64 (Go's `base64.StdEncoding`), it is a JWT → `Bearer`; otherwise `Token`.
    pub fn detect(token: &str) -> AuthScheme {
        let head = token.split('.').next().unwrap_or("");
        if is_std_base64(head) {
            AuthScheme::Bearer
        } else {
            AuthScheme::Token
        }
    }
}

/// Go's `base64.StdEncoding.DecodeString` succeeds: padded, standard alphabet, length % 4 == 0.
fn is_std_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// Where and how to talk to Qovery, after the plan and the environment were combined. Its
/// `Debug` leaves the token out.
#[derive(Clone, PartialEq)]
pub struct QoverySettings {
    pub api_url: String,
    pub token: String,
    pub scheme: AuthScheme,
    pub organization: String,
    /// Where the URL and token came from, for the log (`plan` or `env:QOVERY_API_URL`).
    pub api_url_source: String,
    pub token_source: String,
}

impl std::fmt::Debug for QoverySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QoverySettings")
            .field("api_url", &self.api_url)
            .field("token", &format_args!("‹from {}›", self.token_source))
            .field("scheme", &self.scheme)
            .field("organization", &self.organization)
            .field("api_url_source", &self.api_url_source)
            .field("token_source", &self.token_source)
            .finish()
    }
}

impl QoverySettings {
    /// Combine the plan with the environment like the official CLI: `QOVERY_API_URL` overrides
    /// the base URL, `QOVERY_CLI_ACCESS_TOKEN` (then `Q_CLI_ACCESS_TOKEN`) the token. The plan's
    /// `auth` applies to the plan's token; a token from the environment is classified as the CLI
    /// does.
    pub fn resolve(
        cfg: &crate::plan::QoveryConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> QoverySettings {
        let nonempty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let (api_url, api_url_source) = match nonempty("QOVERY_API_URL") {
            Some(u) => (u, "env:QOVERY_API_URL".to_string()),
            None if cfg.api_url.trim().is_empty() => {
                (DEFAULT_API_URL.to_string(), "default".into())
            }
            None => (cfg.api_url.clone(), "plan".into()),
        };
        let env_token = nonempty("QOVERY_CLI_ACCESS_TOKEN")
            .map(|t| (t, "env:QOVERY_CLI_ACCESS_TOKEN"))
            .or_else(|| nonempty("Q_CLI_ACCESS_TOKEN").map(|t| (t, "env:Q_CLI_ACCESS_TOKEN")));
        let (token, token_source, scheme) = match env_token {
            Some((t, src)) => {
                // Labelled by use, like every secret (never by where it was read from).
                crate::redact::register(t.trim(), "qovery.token");
                let s = AuthScheme::detect(&t);
                (t.trim().to_string(), src.to_string(), s)
            }
            None => {
                let s = cfg
                    .auth_scheme
                    .as_deref()
                    .and_then(AuthScheme::parse)
                    .unwrap_or_else(|| AuthScheme::detect(&cfg.token));
                (cfg.token.trim().to_string(), "plan".to_string(), s)
            }
        };
        QoverySettings {
            api_url: api_url.trim().trim_end_matches('/').to_string(),
            token,
            scheme,
            organization: cfg.organization.clone(),
            api_url_source,
            token_source,
        }
    }

    /// From the plan, with the process environment applied unless [`set_env_overrides`] turned
    /// it off.
    pub fn from_plan(cfg: &crate::plan::QoveryConfig) -> QoverySettings {
        if env_overrides_enabled() {
            QoverySettings::resolve(cfg, |k| std::env::var(k).ok())
        } else {
            QoverySettings::resolve(cfg, |_| None)
        }
    }
}

/// A failed Qovery call. `call` is `METHOD /path` (ids included, no token).
#[derive(Debug, Clone, thiserror::Error)]
pub enum QoveryError {
    #[error("{0}")]
    Transport(HttpError),
    #[error(
        "{call}: 401 unauthorized: the Qovery token is missing, invalid or expired (check the plan's [qovery] token, its `auth` scheme, or QOVERY_CLI_ACCESS_TOKEN){}",
        fmt_body(body)
    )]
    Unauthorized { call: String, body: String },
    #[error(
        "{call}: 403 forbidden: the token has no access to this resource{}",
        fmt_body(body)
    )]
    Forbidden { call: String, body: String },
    #[error("{call}: 404 not found: check the id in the plan{}", fmt_body(body))]
    NotFound { call: String, body: String },
    #[error(
        "{call}: 409 operation in progress: Qovery refused because another operation is running on this environment (or it is already in the requested state); wait for it to finish, then retry{}",
        fmt_body(body)
    )]
    Conflict { call: String, body: String },
    #[error("{call}: HTTP {status}{}", fmt_body(body))]
    Api {
        call: String,
        status: u16,
        body: String,
    },
    #[error("{call}: unexpected answer ({detail}){}", fmt_body(body))]
    Decode {
        call: String,
        detail: String,
        body: String,
    },
}

fn fmt_body(body: &str) -> String {
    let b = body.trim();
    if b.is_empty() {
        String::new()
    } else {
        format!(": {b}")
    }
}

impl QoveryError {
    /// A short reason for a panel.
    pub fn short(&self) -> String {
        match self {
            QoveryError::Transport(e) => e.short(),
            QoveryError::Unauthorized { .. } => "401 unauthorized".into(),
            QoveryError::Forbidden { .. } => "403 forbidden".into(),
            QoveryError::NotFound { .. } => "404 not found".into(),
            QoveryError::Conflict { .. } => "operation in progress".into(),
            QoveryError::Api { status, .. } => format!("HTTP {status}"),
            QoveryError::Decode { .. } => "bad answer".into(),
        }
    }
    /// A 409: the environment is busy (or already in the asked state).
    pub fn is_conflict(&self) -> bool {
        matches!(self, QoveryError::Conflict { .. })
    }
    /// The read-only transport refused the call before it left the process.
    pub fn is_refused(&self) -> bool {
        matches!(self, QoveryError::Transport(HttpError::ReadOnly { .. }))
    }
    /// The call may have reached Qovery and started something although it failed: a timeout, a
    /// broken connection after sending, or a 5xx (a gateway 5xx can come after the work started).
    /// Never report these as "not accepted".
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            QoveryError::Transport(e) => e.may_have_been_applied(),
            QoveryError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            QoveryError::Transport(HttpError::MaybeApplied { status, .. }) => Some(*status),
            QoveryError::Unauthorized { .. } => Some(401),
            QoveryError::Forbidden { .. } => Some(403),
            QoveryError::NotFound { .. } => Some(404),
            QoveryError::Conflict { .. } => Some(409),
            QoveryError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Error bodies: kept as text, redacted, bounded.
fn clip_body(body: &str) -> String {
    let b = redact(body.trim());
    let mut s: String = b.chars().take(400).collect();
    if b.chars().count() > 400 {
        s.push('…');
    }
    s
}

/// The Qovery client. Cheap to clone (the transport's connection pool is shared).
#[derive(Clone)]
pub struct QoveryClient {
    http: HttpClient,
    settings: QoverySettings,
    timeout: Duration,
}

impl QoveryClient {
    pub fn new(settings: QoverySettings, http: HttpClient) -> QoveryClient {
        QoveryClient {
            http,
            settings,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The client a plan describes, with `QOVERY_API_URL` / `QOVERY_CLI_ACCESS_TOKEN` applied.
    /// The transport decides the mode: pass the session's (read-only in review and monitor).
    pub fn from_plan(cfg: &crate::plan::QoveryConfig, http: HttpClient) -> QoveryClient {
        QoveryClient::new(QoverySettings::from_plan(cfg), http)
    }

    /// Per-call timeout (each attempt of a read).
    pub fn with_timeout(mut self, timeout: Duration) -> QoveryClient {
        self.timeout = timeout;
        self
    }

    pub fn settings(&self) -> &QoverySettings {
        &self.settings
    }
    pub fn base_url(&self) -> &str {
        &self.settings.api_url
    }
    pub fn scheme(&self) -> AuthScheme {
        self.settings.scheme
    }
    pub fn organization_id(&self) -> &str {
        &self.settings.organization
    }
    pub fn is_read_only(&self) -> bool {
        self.http.is_read_only()
    }
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.api_url, path)
    }

    /// The request exactly as it would be sent (the token is in the header: redact before
    /// showing it).
    pub fn request_spec(&self, method: &str, path: &str, body: Option<String>) -> RequestSpec {
        let mut headers = vec![
            (
                "Authorization".to_string(),
                format!("{} {}", self.settings.scheme.as_str(), self.settings.token),
            ),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        RequestSpec {
            method: method.to_string(),
            url: self.url(path),
            headers,
            body,
        }
    }

    /// Send one call and return the raw status and body (non-2xx is not an error here).
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<crate::clients::http::Response, QoveryError> {
        let spec = self.request_spec(method, path, body);
        self.http
            .send(&spec, self.timeout)
            .await
            .map_err(QoveryError::Transport)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, QoveryError> {
        let call = format!("{method} {path}");
        let resp = self.call_raw(method, path, body).await?;
        let text = resp.body;
        match resp.status {
            200..=299 => {
                let src = if text.trim().is_empty() { "{}" } else { &text };
                // serde's message can quote a value from the answer: redacted like the body.
                serde_json::from_str(src).map_err(|e| QoveryError::Decode {
                    call,
                    detail: redact(&e.to_string()).into_owned(),
                    body: clip_body(&text),
                })
            }
            401 => Err(QoveryError::Unauthorized {
                call,
                body: clip_body(&text),
            }),
            403 => Err(QoveryError::Forbidden {
                call,
                body: clip_body(&text),
            }),
            404 => Err(QoveryError::NotFound {
                call,
                body: clip_body(&text),
            }),
            409 => Err(QoveryError::Conflict {
                call,
                body: clip_body(&text),
            }),
            status => Err(QoveryError::Api {
                call,
                status,
                body: clip_body(&text),
            }),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, QoveryError> {
        self.call("GET", path, None).await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, QoveryError> {
        let body = match body {
            Some(b) => Some(serde_json::to_string(b).map_err(|e| QoveryError::Decode {
                call: format!("{method} {path}"),
                detail: format!("cannot encode the request: {e}"),
                body: String::new(),
            })?),
            None => None,
        };
        self.call(method, path, body).await
    }

    // ---- organization ----------------------------------------------------------------------

    /// `GET /organization` (listOrganization): the CLI's token check.
    pub async fn list_organizations(&self) -> Result<Vec<Organization>, QoveryError> {
        let l: ResultList<Organization> = self.get("/organization").await?;
        Ok(l.results)
    }

    /// `GET /organization/{organizationId}` (getOrganization).
    pub async fn organization(&self, org: &str) -> Result<Organization, QoveryError> {
        self.get(&format!("/organization/{}", encode(org))).await
    }

    /// `GET /organization/{organizationId}/project` (listProject): `drcockpit init`.
    pub async fn list_projects(&self, org: &str) -> Result<Vec<Project>, QoveryError> {
        let l: ResultList<Project> = self
            .get(&format!("/organization/{}/project", encode(org)))
            .await?;
        Ok(l.results)
    }

    /// `GET /project/{projectId}/environment` (listEnvironment): `drcockpit init`.
    pub async fn list_environments(&self, project: &str) -> Result<Vec<Environment>, QoveryError> {
        let l: ResultList<Environment> = self
            .get(&format!("/project/{}/environment", encode(project)))
            .await?;
        Ok(l.results)
    }

    // ---- clusters ---------------------------------------------------------------------------

    /// `GET /organization/{organizationId}/cluster` (listOrganizationCluster): names, regions.
    pub async fn list_clusters(&self, org: &str) -> Result<Vec<Cluster>, QoveryError> {
        let l: ResultList<Cluster> = self
            .get(&format!("/organization/{}/cluster", encode(org)))
            .await?;
        Ok(l.results)
    }

    /// `GET /organization/{organizationId}/cluster/status` (getOrganizationClusterStatus).
    pub async fn cluster_statuses(&self, org: &str) -> Result<Vec<ClusterStatus>, QoveryError> {
        let l: ResultList<ClusterStatus> = self
            .get(&format!("/organization/{}/cluster/status", encode(org)))
            .await?;
        Ok(l.results)
    }

    /// `GET /organization/{organizationId}/cluster/{clusterId}/status` (getClusterStatus).
    pub async fn cluster_status(
        &self,
        org: &str,
        cluster: &str,
    ) -> Result<ClusterStatus, QoveryError> {
        self.get(&format!(
            "/organization/{}/cluster/{}/status",
            encode(org),
            encode(cluster)
        ))
        .await
    }

    /// `GET /organization/{organizationId}/cluster/{clusterId}/isReady`.
    pub async fn cluster_is_ready(&self, org: &str, cluster: &str) -> Result<bool, QoveryError> {
        let r: ClusterReadiness = self
            .get(&format!(
                "/organization/{}/cluster/{}/isReady",
                encode(org),
                encode(cluster)
            ))
            .await?;
        Ok(r.is_ready)
    }

    // ---- environments -----------------------------------------------------------------------

    /// `GET /environment/{environmentId}` (getEnvironment).
    pub async fn environment(&self, env: &str) -> Result<Environment, QoveryError> {
        self.get(&format!("/environment/{}", encode(env))).await
    }

    /// `GET /environment/{environmentId}/status` (getEnvironmentStatus).
    pub async fn environment_status(&self, env: &str) -> Result<EnvironmentStatus, QoveryError> {
        self.get(&format!("/environment/{}/status", encode(env)))
            .await
    }

    /// `GET /environment/{environmentId}/statuses` (getEnvironmentStatuses): the environment
    /// and every service.
    pub async fn environment_statuses(
        &self,
        env: &str,
    ) -> Result<EnvironmentStatuses, QoveryError> {
        self.get(&format!("/environment/{}/statuses", encode(env)))
            .await
    }

    /// `GET /environment/{environmentId}/container` (listContainer).
    pub async fn list_containers(&self, env: &str) -> Result<Vec<Container>, QoveryError> {
        let l: ResultList<Container> = self
            .get(&format!("/environment/{}/container", encode(env)))
            .await?;
        Ok(l.results)
    }

    /// `GET /environment/{environmentId}/application` (listApplication).
    pub async fn list_applications(&self, env: &str) -> Result<Vec<Application>, QoveryError> {
        let l: ResultList<Application> = self
            .get(&format!("/environment/{}/application", encode(env)))
            .await?;
        Ok(l.results)
    }

    /// `GET /environment/{environmentId}/database` (listDatabase).
    pub async fn list_databases(&self, env: &str) -> Result<Vec<Database>, QoveryError> {
        let l: ResultList<Database> = self
            .get(&format!("/environment/{}/database", encode(env)))
            .await?;
        Ok(l.results)
    }

    // ---- environment actions (never retried) -------------------------------------------------

    /// `POST /environment/{environmentId}/deploy` (deployEnvironment): answers a `Status`.
    pub async fn deploy_environment(&self, env: &str) -> Result<ActionAccepted, QoveryError> {
        let s: Status = self
            .send_json::<_, ()>("POST", &Self::deploy_path(env), None)
            .await?;
        Ok(ActionAccepted::Service(s))
    }

    /// `POST /environment/{environmentId}/redeploy` (redeployEnvironment): answers an
    /// `EnvironmentStatus`.
    pub async fn redeploy_environment(&self, env: &str) -> Result<ActionAccepted, QoveryError> {
        let s: EnvironmentStatus = self
            .send_json::<_, ()>("POST", &Self::redeploy_path(env), None)
            .await?;
        Ok(ActionAccepted::Environment(s))
    }

    /// `POST /environment/{environmentId}/stop` (stopEnvironment): answers an
    /// `EnvironmentStatus`; 409 "already stopped or an operation is in progress".
    pub async fn stop_environment(&self, env: &str) -> Result<ActionAccepted, QoveryError> {
        let s: EnvironmentStatus = self
            .send_json::<_, ()>("POST", &Self::stop_path(env), None)
            .await?;
        Ok(ActionAccepted::Environment(s))
    }

    /// `POST /environment/{environmentId}/service/deploy` (deployAllServices).
    pub async fn deploy_services(
        &self,
        env: &str,
        req: &DeployAllRequest,
    ) -> Result<ActionAccepted, QoveryError> {
        let s: EnvironmentStatus = self
            .send_json("POST", &Self::deploy_services_path(env), Some(req))
            .await?;
        Ok(ActionAccepted::Environment(s))
    }

    /// `POST /environment/{environmentId}/clone` (cloneEnvironment): 202 with the new
    /// `Environment` (not deployed); 409 while an operation is in progress. Never retried.
    pub async fn clone_environment(
        &self,
        env: &str,
        req: &CloneEnvironmentRequest,
    ) -> Result<Environment, QoveryError> {
        self.send_json("POST", &Self::clone_path(env), Some(req))
            .await
    }

    /// `DELETE /environment/{environmentId}` (deleteEnvironment): 204; 404 when it is not there.
    pub async fn delete_environment(&self, env: &str) -> Result<(), QoveryError> {
        let _: serde::de::IgnoredAny = self
            .send_json::<_, ()>("DELETE", &Self::environment_path(env), None)
            .await?;
        Ok(())
    }

    pub fn clone_path(env: &str) -> String {
        format!("/environment/{}/clone", encode(env))
    }
    pub fn environment_path(env: &str) -> String {
        format!("/environment/{}", encode(env))
    }
    pub fn deploy_path(env: &str) -> String {
        format!("/environment/{}/deploy", encode(env))
    }
    pub fn redeploy_path(env: &str) -> String {
        format!("/environment/{}/redeploy", encode(env))
    }
    pub fn stop_path(env: &str) -> String {
        format!("/environment/{}/stop", encode(env))
    }
    pub fn deploy_services_path(env: &str) -> String {
        format!("/environment/{}/service/deploy", encode(env))
    }

    // ---- containers (qovery.set_image) -------------------------------------------------------

    pub fn container_path(id: &str) -> String {
        format!("/container/{}", encode(id))
    }

    /// `GET /container/{containerId}` (getContainer), every field kept: `PUT` is a full
    /// replacement, so what is not sent back is reset (ports and storage are deleted).
    pub async fn get_container_json(&self, id: &str) -> Result<serde_json::Value, QoveryError> {
        self.get(&Self::container_path(id)).await
    }

    /// `PUT /container/{containerId}` (editContainer) with a `ContainerRequest`. Never retried.
    pub async fn edit_container_json(
        &self,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, QoveryError> {
        self.send_json("PUT", &Self::container_path(id), Some(body))
            .await
    }

    /// `GET /organization/{organizationId}/containerRegistry` (listContainerRegistry).
    pub async fn list_container_registries(
        &self,
        org: &str,
    ) -> Result<Vec<ContainerRegistry>, QoveryError> {
        let l: ResultList<ContainerRegistry> = self
            .get(&format!("/organization/{}/containerRegistry", encode(org)))
            .await?;
        Ok(l.results)
    }

    // ---- variables and secrets --------------------------------------------------------------

    pub fn variables_path(env: &str) -> String {
        format!("/environment/{}/environmentVariable", encode(env))
    }
    pub fn variable_path(env: &str, id: &str) -> String {
        format!(
            "/environment/{}/environmentVariable/{}",
            encode(env),
            encode(id)
        )
    }
    pub fn secrets_path(env: &str) -> String {
        format!("/environment/{}/secret", encode(env))
    }
    pub fn secret_path(env: &str, id: &str) -> String {
        format!("/environment/{}/secret/{}", encode(env), encode(id))
    }

    /// `GET /environment/{environmentId}/environmentVariable`.
    pub async fn list_environment_variables(
        &self,
        env: &str,
    ) -> Result<Vec<EnvironmentVariable>, QoveryError> {
        let l: ResultList<EnvironmentVariable> = self.get(&Self::variables_path(env)).await?;
        Ok(l.results)
    }

    /// `GET /environment/{environmentId}/environmentVariable`, keeping names and scopes only
    /// (values are not deserialized).
    pub async fn list_environment_variable_names(
        &self,
        env: &str,
    ) -> Result<Vec<VariableName>, QoveryError> {
        let l: ResultList<VariableName> = self.get(&Self::variables_path(env)).await?;
        Ok(l.results)
    }

    /// `GET /environment/{environmentId}/secret`, keeping names and scopes only.
    pub async fn list_environment_secret_names(
        &self,
        env: &str,
    ) -> Result<Vec<VariableName>, QoveryError> {
        let l: ResultList<VariableName> = self.get(&Self::secrets_path(env)).await?;
        Ok(l.results)
    }

    /// `POST /environment/{environmentId}/environmentVariable` (201).
    pub async fn create_environment_variable(
        &self,
        env: &str,
        req: &VariableRequest,
    ) -> Result<EnvironmentVariable, QoveryError> {
        self.send_json("POST", &Self::variables_path(env), Some(req))
            .await
    }

    /// `PUT /environment/{environmentId}/environmentVariable/{environmentVariableId}`.
    pub async fn edit_environment_variable(
        &self,
        env: &str,
        id: &str,
        req: &VariableRequest,
    ) -> Result<EnvironmentVariable, QoveryError> {
        self.send_json("PUT", &Self::variable_path(env, id), Some(req))
            .await
    }

    /// `GET /environment/{environmentId}/secret` (values are never returned).
    pub async fn list_environment_secrets(&self, env: &str) -> Result<Vec<Secret>, QoveryError> {
        let l: ResultList<Secret> = self.get(&Self::secrets_path(env)).await?;
        Ok(l.results)
    }

    /// `POST /environment/{environmentId}/secret` (201).
    pub async fn create_environment_secret(
        &self,
        env: &str,
        req: &VariableRequest,
    ) -> Result<Secret, QoveryError> {
        self.send_json("POST", &Self::secrets_path(env), Some(req))
            .await
    }

    /// `PUT /environment/{environmentId}/secret/{secretId}`.
    pub async fn edit_environment_secret(
        &self,
        env: &str,
        id: &str,
        req: &VariableRequest,
    ) -> Result<Secret, QoveryError> {
        self.send_json("PUT", &Self::secret_path(env, id), Some(req))
            .await
    }

    /// `GET /variable?parent_id=…&scope=…[&is_secret=…]` (unified API; includes variables
    /// inherited from higher scopes).
    pub async fn list_variables(
        &self,
        parent_id: &str,
        scope: &VariableScope,
        is_secret: Option<bool>,
    ) -> Result<Vec<VariableResponse>, QoveryError> {
        let mut path = format!(
            "/variable?parent_id={}&scope={}",
            encode(parent_id),
            encode(scope.as_str())
        );
        if let Some(s) = is_secret {
            path.push_str(&format!("&is_secret={s}"));
        }
        let l: ResultList<VariableResponse> = self.get(&path).await?;
        Ok(l.results)
    }

    // ---- following deployments ---------------------------------------------------------------

    /// `GET /environment/deploymentStatus?deploymentRequestId=…`.
    pub async fn deployment_status(
        &self,
        deployment_request_id: &str,
    ) -> Result<EnvDeploymentStatus, QoveryError> {
        self.get(&format!(
            "/environment/deploymentStatus?deploymentRequestId={}",
            encode(deployment_request_id)
        ))
        .await
    }

    /// `GET /environment/{environmentId}/deploymentHistory` (v1, newest first, 20 per page).
    pub async fn deployment_history(
        &self,
        env: &str,
        start_id: Option<&str>,
    ) -> Result<DeploymentHistoryPage, QoveryError> {
        let mut path = format!("/environment/{}/deploymentHistory", encode(env));
        if let Some(s) = start_id {
            path.push_str(&format!("?startId={}", encode(s)));
        }
        self.get(&path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::QoveryConfig;

    fn cfg(token: &str, auth: Option<&str>) -> QoveryConfig {
        QoveryConfig {
            api_url: "https://api.example.test/".into(),
            token: token.into(),
            auth_scheme: auth.map(str::to_string),
            organization: "org".into(),
        }
    }

    #[test]
    fn scheme_is_chosen_like_the_cli() {
        assert_eq!(
            AuthScheme::detect("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.sig"),
            AuthScheme::Bearer
        );
        assert_eq!(AuthScheme::detect("qov_abc_123"), AuthScheme::Token);
        assert_eq!(AuthScheme::detect("abc"), AuthScheme::Token);
    }

    #[test]
    fn env_overrides_plan_like_the_cli() {
        let c = cfg("qov_plan_token", None);
        let s = QoverySettings::resolve(&c, |_| None);
        assert_eq!(s.api_url, "https://api.example.test");
        assert_eq!(s.scheme, AuthScheme::Token);
        let s = QoverySettings::resolve(&c, |k| match k {
            "QOVERY_API_URL" => Some("http://127.0.0.1:9".into()),
            "QOVERY_CLI_ACCESS_TOKEN" => Some("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e.s".into()),
            _ => None,
        });
        assert_eq!(s.api_url, "http://127.0.0.1:9");
        assert_eq!(s.scheme, AuthScheme::Bearer);
        assert_eq!(s.token_source, "env:QOVERY_CLI_ACCESS_TOKEN");
        let s = QoverySettings::resolve(&cfg("qov_plan_token", Some("bearer")), |_| None);
        assert_eq!(s.scheme, AuthScheme::Bearer);
    }
}
