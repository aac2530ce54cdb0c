//! `http.check` (poll until status/body match or timeout) and `http.request` (a webhook).

use std::time::{Duration, Instant};

use super::StepContext;
use crate::clients::http::{HttpClient, RequestSpec};
use crate::journal::PreflightCheck;
use crate::plan::{HttpCheck, HttpRequest};

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
        ctx.emit("stderr", verdict.clone());
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
        ctx.emit("stderr", line);
        Err(format!(
            "{} {} answered {} (expected {:?})",
            spec.method, spec.url, resp.status, r.expect_status
        ))
    }
}
