//! `http.check` (poll until status/body match or timeout) and `http.request` (a webhook).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::http::{HttpClient, RequestSpec};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, Seg, StepCx, suggest};
use crate::plan::{HttpCheck, HttpRequest, StepAction};

pub fn describe_check(c: &HttpCheck) -> Vec<String> {
    let mut v = vec![format!("GET {}", crate::redact::url(&c.url))];
    let status = c
        .expect_status
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("/");
    v.push(format!(
        "until status {status}{}",
        c.body_contains
            .as_ref()
            .map(|b| format!(" and body contains {b:?}"))
            .unwrap_or_default()
    ));
    v.push(format!(
        "every {}, for at most {}",
        crate::plan::units::fmt_duration(c.interval),
        crate::plan::units::fmt_duration(c.timeout)
    ));
    v
}

pub fn describe_request(r: &HttpRequest) -> Vec<String> {
    let mut v = vec![format!(
        "{} {}",
        r.method.to_ascii_uppercase(),
        crate::redact::url(&r.url)
    )];
    for (k, val) in &r.headers {
        v.push(format!("  {k}: {val}"));
    }
    if let Some(b) = &r.body {
        v.push("  body:".into());
        v.extend(b.lines().map(|l| format!("    {l}")));
    }
    let status = r
        .expect_status
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("/");
    v.push(format!("expect status {status}"));
    v
}

pub async fn preflight_url(http: &HttpClient, url: &str) -> PreflightCheck {
    let what = format!("host answers: {}", crate::redact::url(origin(url)));
    match http
        .send(
            &RequestSpec {
                method: "HEAD".into(),
                url: url.into(),
                headers: vec![],
                body: None,
            },
            Duration::from_secs(5),
        )
        .await
    {
        Ok(r) => PreflightCheck {
            what,
            ok: Some(true),
            detail: format!("HEAD answered {} in {} ms", r.status, r.elapsed.as_millis()),
        },
        Err(e) => PreflightCheck {
            what,
            ok: Some(false),
            detail: e.to_string(),
        },
    }
}

fn origin(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find('/') {
        Some(j) => &url[..after + j],
        None => url,
    }
}

pub async fn run_check(c: &HttpCheck, ctx: &StepContext) -> Result<String, String> {
    let deadline = Instant::now() + c.timeout;
    let mut tries = 0u32;
    loop {
        tries += 1;
        let per_try = c
            .interval
            .max(Duration::from_secs(2))
            .min(Duration::from_secs(10));
        let verdict = match ctx.http.get(&c.url, per_try).await {
            Ok(r) => {
                let status_ok = c.expect_status.contains(&r.status);
                let body_ok = c
                    .body_contains
                    .as_ref()
                    .is_none_or(|b| r.body.contains(b.as_str()));
                let line = format!(
                    "GET {} → {} in {} ms",
                    c.url,
                    r.status,
                    r.elapsed.as_millis()
                );
                if status_ok && body_ok {
                    ctx.info(format!("{line} ✓"));
                    return Ok(format!(
                        "{} answered {} after {tries} tr{}",
                        c.url,
                        r.status,
                        if tries == 1 { "y" } else { "ies" }
                    ));
                }
                let why = if !status_ok {
                    "unexpected status".to_string()
                } else {
                    "body does not contain the expected text".into()
                };
                format!("{line} ✗ {why}")
            }
            Err(e) => format!("GET {} ✗ {e}", c.url),
        };
        ctx.emit(Stream::Stderr, verdict.clone());
        if Instant::now() + c.interval >= deadline {
            return Err(format!("not healthy after {tries} tries: {verdict}"));
        }
        tokio::time::sleep(c.interval).await;
    }
}

/// Send a webhook once. It is never retried automatically: the operator retries.
pub async fn run_request(r: &HttpRequest, ctx: &StepContext) -> Result<String, String> {
    let spec = RequestSpec {
        method: r.method.to_ascii_uppercase(),
        url: r.url.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
    };
    ctx.info(format!("{} {}", spec.method, spec.url));
    let resp = ctx
        .http
        .send(&spec, r.timeout)
        .await
        .map_err(|e| e.to_string())?;
    let body: String = resp.body.chars().take(300).collect();
    let line = format!(
        "→ {} in {} ms{}",
        resp.status,
        resp.elapsed.as_millis(),
        if body.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", body.trim())
        }
    );
    if r.expect_status.contains(&resp.status) {
        ctx.info(line);
        Ok(format!(
            "{} {} answered {}",
            spec.method, spec.url, resp.status
        ))
    } else {
        ctx.emit(Stream::Stderr, line);
        Err(format!(
            "{} {} answered {} (expected {:?})",
            spec.method, spec.url, resp.status, r.expect_status
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The `http.check` and `http.request` kinds

/// The keys `http.check` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckKeys {
    /// The URL to poll.
    #[serde(default)]
    pub url: Option<String>,
    /// The statuses that pass (default 200).
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
    /// Text the body must contain.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// How often to poll (default 5s).
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `http.request` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestKeys {
    /// The URL to send the request to.
    #[serde(default)]
    pub url: Option<String>,
    /// The HTTP method (default POST).
    #[serde(default)]
    #[schemars(extend("enum" = METHODS))]
    pub method: Option<String>,
    /// Request headers; values may be references (`${env:X}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The statuses that pass (default 200, 201, 202, 204).
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The methods `http.request` sends.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// `http.check`: poll a URL until it answers as expected.
pub struct Check;

impl TypedKind for Check {
    type Spec = CheckKeys;
    type Action = HttpCheck;
    fn action(a: &StepAction) -> Option<&HttpCheck> {
        match a {
            StepAction::HttpCheck(c) => Some(c),
            _ => None,
        }
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["url"] })
    }
    fn build(&self, keys: CheckKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let url = s.url(keys.url.as_deref())?;
        let expect_status = s.statuses(&keys.expect_status, &[200])?;
        let interval = s
            .duration("interval", &keys.interval)?
            .unwrap_or(Duration::from_secs(5));
        let interval = s.positive("interval", interval)?;
        let timeout = s
            .duration("timeout", &keys.timeout)?
            .unwrap_or(Duration::from_secs(60));
        let timeout = s.positive("timeout", timeout)?;
        let body_contains = match keys.body_contains {
            None => None,
            Some(b) => Some(s.secret("body_contains", &b)?),
        };
        Ok(Built::action(StepAction::HttpCheck(HttpCheck {
            url,
            expect_status,
            body_contains,
            interval,
            timeout,
        })))
    }
    fn describe(&self, c: &HttpCheck) -> Vec<String> {
        describe_check(c)
    }
    fn is_mutating(&self, _: &HttpCheck) -> bool {
        false
    }
    fn default_timeout(&self, c: &HttpCheck) -> Duration {
        c.timeout + Duration::from_secs(5)
    }
    fn preflight<'a>(
        &'a self,
        c: &'a HttpCheck,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async move { vec![preflight_url(&ctx.http, &c.url).await] })
    }
    fn run<'a>(
        &'a self,
        c: &'a HttpCheck,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run_check(c, ctx))
    }
}

/// `http.request`: send one request (a webhook).
pub struct Request;

impl TypedKind for Request {
    type Spec = RequestKeys;
    type Action = HttpRequest;
    fn action(a: &StepAction) -> Option<&HttpRequest> {
        match a {
            StepAction::HttpRequest(r) => Some(r),
            _ => None,
        }
    }
    fn build(&self, keys: RequestKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let url = s.url(keys.url.as_deref())?;
        let method = match keys.method.as_deref() {
            None => "POST".to_string(),
            Some(m) => {
                let up = m.trim().to_ascii_uppercase();
                if !METHODS.contains(&up.as_str()) {
                    return Err(s.error(
                        "method",
                        &format!("unknown HTTP method `{m}`"),
                        METHODS.iter().map(|m| m.to_string()).collect(),
                        suggest(&up, METHODS.iter().copied()).map(str::to_string),
                    ));
                }
                up
            }
        };
        let mut headers = Vec::with_capacity(keys.headers.len());
        for (k, v) in &keys.headers {
            let v = s.secret_in(&[Seg::K("headers"), Seg::K(k.as_str())], v)?;
            headers.push((k.clone(), v));
        }
        let body = match keys.body {
            None => None,
            Some(b) => Some(s.secret("body", &b)?),
        };
        let expect_status = s.statuses(&keys.expect_status, &[200, 201, 202, 204])?;
        let timeout = s
            .duration("timeout", &keys.timeout)?
            .unwrap_or(Duration::from_secs(30));
        let timeout = s.positive("timeout", timeout)?;
        Ok(Built::action(StepAction::HttpRequest(HttpRequest {
            method,
            url,
            headers,
            body,
            expect_status,
            timeout,
        })))
    }
    fn describe(&self, r: &HttpRequest) -> Vec<String> {
        describe_request(r)
    }
    fn is_mutating(&self, r: &HttpRequest) -> bool {
        !matches!(r.method.to_ascii_uppercase().as_str(), "GET" | "HEAD")
    }
    fn default_timeout(&self, r: &HttpRequest) -> Duration {
        r.timeout + Duration::from_secs(5)
    }
    fn preflight<'a>(
        &'a self,
        r: &'a HttpRequest,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async move { vec![preflight_url(&ctx.http, &r.url).await] })
    }
    fn run<'a>(
        &'a self,
        r: &'a HttpRequest,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run_request(r, ctx))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["url"] })
    }
}
