//! Cloudflare DNS records API: `PATCH /client/v4/zones/{zone_id}/dns_records/{record_id}`
//! (partial update) with `Authorization: Bearer <token>`. TTL 1 means automatic; otherwise
//! 60–86400 (30 for Enterprise zones). Responses wrap `{success, errors, messages, result}`.
//! Proxied records answer with Cloudflare edge addresses, so they are verified by reading the
//! record back through the API.

use super::provider::{REQUEST_TIMEOUT, RecordState};
use super::{DnsError, api_detail, fqdn, normalize_rdata};
use crate::clients::http::{HttpClient, RequestSpec, Response};

const NAME: &str = "Cloudflare";
pub const DEFAULT_API: &str = "https://api.cloudflare.com/client/v4";

#[derive(Debug, Clone)]
pub struct Cloudflare {
    pub api_url: String,
    pub zone_id: String,
    pub record_id: String,
    token: String,
    pub record: String,
    pub record_type: String,
}

/// Cloudflare's TTL rule: 1 (automatic) or 30..=86400 (below 60 only on Enterprise zones).
pub fn check_ttl(ttl: u32) -> Result<Option<String>, DnsError> {
    match ttl {
        1 | 60..=86400 => Ok(None),
        30..=59 => Ok(Some(format!(
            "TTL {ttl} is accepted only on Enterprise zones (others: 60..86400 or 1 for automatic)"
        ))),
        _ => Err(DnsError::Config(format!(
            "Cloudflare TTL {ttl}: must be between 60 and 86400 seconds (30 on Enterprise), or 1 for automatic"
        ))),
    }
}

impl Cloudflare {
    pub fn new(
        zone_id: &str,
        record_id: &str,
        token: &str,
        record: &str,
        record_type: &str,
    ) -> Cloudflare {
        Cloudflare {
            api_url: std::env::var("DRCOCKPIT_CLOUDFLARE_API_URL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_API.into()),
            zone_id: zone_id.into(),
            record_id: record_id.into(),
            token: token.into(),
            record: fqdn(record),
            record_type: record_type.to_ascii_uppercase(),
        }
    }

    /// Talk to another endpoint (tests, a proxy).
    pub fn with_api_url(mut self, url: &str) -> Cloudflare {
        self.api_url = url.trim_end_matches('/').to_string();
        self
    }

    fn url(&self) -> String {
        format!(
            "{}/zones/{}/dns_records/{}",
            self.api_url, self.zone_id, self.record_id
        )
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![("Authorization".into(), format!("Bearer {}", self.token))]
    }

    pub fn get_request(&self) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            url: self.url(),
            headers: self.headers(),
            body: None,
        }
    }

    /// The PATCH for `values` (Cloudflare holds one value per record id; names without the
    /// trailing dot). `ttl` `None` leaves the TTL as it is.
    pub fn patch_request(&self, values: &[String], ttl: Option<u32>) -> RequestSpec {
        let content = values
            .first()
            .map(|v| v.trim_end_matches('.').to_string())
            .unwrap_or_default();
        let mut body = serde_json::json!({
            "type": self.record_type,
            "name": self.record.trim_end_matches('.'),
            "content": content,
        });
        if let Some(t) = ttl {
            body["ttl"] = serde_json::json!(t);
        }
        let mut headers = self.headers();
        headers.push(("Content-Type".into(), "application/json".into()));
        RequestSpec {
            method: "PATCH".into(),
            url: self.url(),
            headers,
            body: Some(body.to_string()),
        }
    }

    fn parse(resp: &Response, what: &str) -> Result<serde_json::Value, DnsError> {
        let v: Option<serde_json::Value> = serde_json::from_str(&resp.body).ok();
        let success = v
            .as_ref()
            .and_then(|v| v.get("success"))
            .and_then(|s| s.as_bool());
        match resp.status {
            401 | 403 => Err(DnsError::Unauthorized {
                provider: NAME,
                status: resp.status,
                detail: format!(
                    "{what}: the token needs Zone DNS Edit on this zone ({})",
                    api_detail(&resp.body)
                ),
            }),
            200..=299 if success == Some(true) => Ok(v
                .and_then(|mut v| v.get_mut("result").map(serde_json::Value::take))
                .unwrap_or_default()),
            s => Err(DnsError::Api {
                provider: NAME,
                status: s,
                detail: format!("{what}: {}", api_detail(&resp.body)),
            }),
        }
    }

    fn state(&self, result: &serde_json::Value) -> Result<RecordState, DnsError> {
        let name = result.get("name").and_then(|n| n.as_str()).map(fqdn);
        if let Some(n) = &name
            && *n != self.record
        {
            return Err(DnsError::Config(format!(
                "Cloudflare record {} is {n}, not {} — check record_id",
                self.record_id, self.record
            )));
        }
        let content = result
            .get("content")
            .and_then(|c| c.as_str())
            .map(|c| normalize_rdata(&self.record_type, c));
        Ok(RecordState {
            values: content.into_iter().collect(),
            ttl: result
                .get("ttl")
                .and_then(|t| t.as_u64())
                .and_then(|t| u32::try_from(t).ok()),
            proxied: result.get("proxied").and_then(|p| p.as_bool()),
        })
    }

    pub async fn check_access(&self, http: &HttpClient) -> Result<String, DnsError> {
        let resp = http
            .send(&self.get_request(), REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        let r = Self::parse(&resp, "read the record")?;
        let st = self.state(&r)?;
        Ok(format!(
            "GET dns_records/{} answered {} in {} ms: {}",
            self.record_id,
            resp.status,
            resp.elapsed.as_millis(),
            st.show()
        ))
    }

    pub async fn current(&self, http: &HttpClient) -> Result<Option<RecordState>, DnsError> {
        let resp = http
            .send(&self.get_request(), REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        if resp.status == 404 {
            return Ok(None);
        }
        let r = Self::parse(&resp, "read the record")?;
        self.state(&r).map(Some)
    }

    pub async fn replace(
        &self,
        http: &HttpClient,
        values: &[String],
        ttl: Option<u32>,
    ) -> Result<String, DnsError> {
        if values.len() != 1 {
            return Err(DnsError::Config(format!(
                "a Cloudflare record id holds one value; the target has {}",
                values.len()
            )));
        }
        let current = self.current(http).await?;
        // Proxied records always have an automatic TTL.
        let ttl = if current.as_ref().and_then(|c| c.proxied) == Some(true) {
            None
        } else {
            ttl
        };
        if let Some(t) = ttl {
            check_ttl(t)?;
        }
        let req = self.patch_request(values, ttl);
        let resp = http
            .send(&req, REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        let r = Self::parse(&resp, "PATCH the record")?;
        let st = self.state(&r)?;
        Ok(format!(
            "PATCH dns_records/{} → {}: {}",
            self.record_id,
            resp.status,
            st.show()
        ))
    }
}
