//! AWS plumbing shared by every AWS client (Route 53, CloudWatch): the SigV4 signer (AWS's own
//! `aws-sigv4` crate) and the credential chain. It exists so that a second AWS service signs and
//! finds its keys exactly as Route 53 does, instead of a second copy drifting away.
//!
//! Credential chain (a documented subset of the SDKs' default chain, in their order):
//! 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` from the environment;
//! 2. profile `AWS_PROFILE` (default `default`) of `AWS_SHARED_CREDENTIALS_FILE` (default
//!    `~/.aws/credentials`);
//! 3. IMDSv2 instance-role credentials (a bastion on EC2 has no keys in its environment):
//!    `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`, then
//!    `GET /latest/meta-data/iam/security-credentials/` (the role name) and `…/<role>` (JSON with
//!    `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`), both with the
//!    `X-aws-ec2-metadata-token` header. Shapes from the EC2 user guide ("Use IMDSv2", "Retrieve
//!    security credentials from instance metadata"), confirmed with the `search` tool; the
//!    reference folder is silent on IMDS. The base URL is `AWS_EC2_METADATA_SERVICE_ENDPOINT`
//!    (the SDKs' documented override, used by the tests) or `http://169.254.169.254`;
//!    `AWS_EC2_METADATA_DISABLED=true` skips it. Each IMDS call has a 1 s timeout (off EC2 the
//!    address does not answer), and the credentials are cached until 5 minutes before
//!    `Expiration`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::clients::http::{HttpClient, RequestSpec};

pub const IMDS_DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// Each IMDS request's timeout: the link-local address answers in milliseconds on EC2.
pub const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
/// Cached instance-role credentials are refreshed this long before their `Expiration`.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Add the SigV4 headers (`x-amz-date`, `authorization`, `x-amz-security-token`) to `req`.
pub fn sign_request(
    mut req: RequestSpec,
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<RequestSpec, String> {
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into();
    let body = req.body.clone().unwrap_or_default();
    let signable = SignableRequest::new(
        &req.method,
        req.url.as_str(),
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| format!("SigV4 signing: {e}"))?;
    let (instructions, _sig) = sign(signable, &params)
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    for h in headers {
        req.headers
            .push((h.name().to_string(), h.value().to_string()));
    }
    Ok(req)
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The environment, then the shared credentials file (no network: usable from sync code).
pub fn static_credentials() -> Result<Credentials, String> {
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let token = env("AWS_SESSION_TOKEN");
        crate::redact::register(&secret, "env:AWS_SECRET_ACCESS_KEY");
        if let Some(t) = &token {
            crate::redact::register(t, "env:AWS_SESSION_TOKEN");
        }
        return Ok(Credentials::new(id, secret, token, None, "environment"));
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .or_else(|| env("HOME").map(|h| format!("{h}/.aws/credentials")));
    let Some(path) = path else {
        return Err("HOME is not set".into());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let section =
        ini_section(&text, &profile).ok_or_else(|| format!("{path} has no [{profile}] profile"))?;
    let get = |k: &str| {
        section
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => {
            let token = get("aws_session_token");
            crate::redact::register(&secret, &format!("aws profile {profile}"));
            if let Some(t) = &token {
                crate::redact::register(t, &format!("aws profile {profile}"));
            }
            Ok(Credentials::new(id, secret, token, None, "profile"))
        }
        _ => Err(format!(
            "[{profile}] in {path} lacks aws_access_key_id/aws_secret_access_key"
        )),
    }
}

/// The whole chain: environment, shared file, then IMDSv2 (see the module comment). The error
/// names why each link failed, for the operator to pick the one they meant.
pub async fn credentials() -> Result<Credentials, String> {
    let first = match static_credentials() {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(format!(
            "no AWS credentials ({first}; instance metadata disabled by AWS_EC2_METADATA_DISABLED)"
        ));
    }
    let base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or(IMDS_DEFAULT_ENDPOINT.into());
    Imds::new(&base).cached_credentials().await.map_err(|e| {
        format!(
            "no AWS credentials ({first}; instance role: {e}); set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials, or run on an EC2 \
             instance with an instance profile"
        )
    })
}

/// `key = value` pairs of `[name]` in an INI file.
pub(crate) fn ini_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut cur: Option<String> = None;
    let mut out: Option<Vec<(String, String)>> = None;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(h) = l.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            cur = Some(h.trim().to_string());
            if h.trim() == name {
                out.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if cur.as_deref() == Some(name)
            && let Some((k, v)) = l.split_once('=')
        {
            out.get_or_insert_with(Vec::new)
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

/// Instance-role credentials cached per IMDS base URL, with their expiry.
static CACHE: Mutex<Option<HashMap<String, (Credentials, SystemTime)>>> = Mutex::new(None);

/// The EC2 instance metadata service (IMDSv2 only: the token PUT is what keeps an SSRF from
/// reading the role's keys).
#[derive(Debug, Clone)]
pub struct Imds {
    pub base: String,
}

impl Imds {
    pub fn new(base: &str) -> Imds {
        Imds {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// From the cache while they are more than [`REFRESH_BEFORE_EXPIRY`] from expiring.
    pub async fn cached_credentials(&self) -> Result<Credentials, String> {
        let now = SystemTime::now();
        if let Ok(g) = CACHE.lock()
            && let Some((c, exp)) = g.as_ref().and_then(|m| m.get(&self.base))
            && now + REFRESH_BEFORE_EXPIRY < *exp
        {
            return Ok(c.clone());
        }
        let (c, exp) = self.fetch().await?;
        if let Ok(mut g) = CACHE.lock() {
            g.get_or_insert_with(HashMap::new)
                .insert(self.base.clone(), (c.clone(), exp));
        }
        Ok(c)
    }

    /// One token, the role name, the role's credentials.
    pub async fn fetch(&self) -> Result<(Credentials, SystemTime), String> {
        // Its own transport: the token PUT changes nothing, and must pass even when the
        // cockpit's transport is read-only (monitor and review modes probe too).
        let http = HttpClient::new(false);
        let put = RequestSpec {
            method: "PUT".into(),
            url: format!("{}/latest/api/token", self.base),
            headers: vec![(
                "X-aws-ec2-metadata-token-ttl-seconds".into(),
                "21600".into(),
            )],
            body: None,
        };
        let r = http
            .send(&put, IMDS_TIMEOUT)
            .await
            .map_err(|e| format!("{}: {}", put.url, e.short()))?;
        if r.status != 200 {
            return Err(format!("{} answered {}", put.url, r.status));
        }
        let token = r.body.trim().to_string();
        crate::redact::register(&token, "IMDS token");
        let get = |url: String| RequestSpec {
            method: "GET".into(),
            url,
            headers: vec![("X-aws-ec2-metadata-token".into(), token.clone())],
            body: None,
        };
        let list = get(format!(
            "{}/latest/meta-data/iam/security-credentials/",
            self.base
        ));
        let r = http
            .send(&list, IMDS_TIMEOUT)
            .await
            .map_err(|e| format!("{}: {}", list.url, e.short()))?;
        if r.status != 200 {
            return Err(format!(
                "{} answered {} (no instance profile attached?)",
                list.url, r.status
            ));
        }
        let Some(role) = r.body.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err("no instance profile attached (the role list is empty)".into());
        };
        let one = get(format!("{}{role}", list.url));
        let r = http
            .send(&one, IMDS_TIMEOUT)
            .await
            .map_err(|e| format!("{}: {}", one.url, e.short()))?;
        if r.status != 200 {
            return Err(format!("{} answered {}", one.url, r.status));
        }
        parse_role_credentials(&r.body, role)
    }
}

/// The JSON of `…/security-credentials/<role>`.
pub fn parse_role_credentials(body: &str, role: &str) -> Result<(Credentials, SystemTime), String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| format!("instance role {role}: the credentials are not JSON"))?;
    if let Some(code) = v["Code"].as_str()
        && code != "Success"
    {
        return Err(format!(
            "instance role {role}: {code} {}",
            v["Message"].as_str().unwrap_or("")
        ));
    }
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let (Some(id), Some(secret), Some(token), Some(exp)) = (
        s("AccessKeyId"),
        s("SecretAccessKey"),
        s("Token"),
        s("Expiration"),
    ) else {
        return Err(format!(
            "instance role {role}: AccessKeyId, SecretAccessKey, Token or Expiration missing"
        ));
    };
    let exp = chrono::DateTime::parse_from_rfc3339(&exp)
        .map_err(|_| format!("instance role {role}: Expiration `{exp}` is not a date"))?;
    let exp: SystemTime = exp.with_timezone(&chrono::Utc).into();
    crate::redact::register(&secret, &format!("instance role {role}"));
    crate::redact::register(&token, &format!("instance role {role}"));
    Ok((
        Credentials::new(id, secret, Some(token), Some(exp), "imds"),
        exp,
    ))
}
