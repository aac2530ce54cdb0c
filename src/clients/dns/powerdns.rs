//! PowerDNS Authoritative HTTP API (`docs/http-api/zone.rst`): `PATCH
//! /api/v1/servers/{server}/zones/{zone.}` with `changetype: REPLACE` and `X-API-Key`; 204 on
//! success, 401 on a wrong key, 422 `Name is out of zone`. The zone id is the zone name.

use super::provider::{REQUEST_TIMEOUT, RecordState};
use super::{DnsError, api_detail, fqdn, normalize_rdata};
use crate::clients::http::{HttpClient, RequestSpec, Response};

const NAME: &str = "PowerDNS";

#[derive(Debug, Clone)]
pub struct PowerDns {
    pub api_url: String,
    api_key: String,
    pub server: String,
    pub zone: Option<String>,
    pub record: String,
    pub record_type: String,
}

impl PowerDns {
    pub fn new(
        api_url: &str,
        api_key: &str,
        server: &str,
        zone: Option<&str>,
        record: &str,
        record_type: &str,
    ) -> PowerDns {
        PowerDns {
            api_url: api_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            server: if server.is_empty() {
                "localhost".into()
            } else {
                server.to_string()
            },
            zone: zone.map(fqdn),
            record: fqdn(record),
            record_type: record_type.to_ascii_uppercase(),
        }
    }

    fn base(&self) -> String {
        format!("{}/api/v1/servers/{}", self.api_url, self.server)
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("X-API-Key".into(), self.api_key.clone()),
            ("Accept".into(), "application/json".into()),
        ]
    }

    pub(crate) fn zone_display(&self) -> String {
        self.zone
            .clone()
            .unwrap_or_else(|| "{zone of the record, found with GET …/zones}".into())
    }

    fn get(&self, path: &str) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            url: format!("{}{path}", self.base()),
            headers: self.headers(),
            body: None,
        }
    }

    /// The REPLACE request for `values` in `zone`.
    pub fn replace_request(&self, zone: &str, values: &[String], ttl: u32) -> RequestSpec {
        let records: Vec<serde_json::Value> = values
            .iter()
            .map(|v| serde_json::json!({"content": v, "disabled": false}))
            .collect();
        let body = serde_json::json!({"rrsets": [{
            "name": self.record,
            "type": self.record_type,
            "ttl": ttl,
            "changetype": "REPLACE",
            "records": records,
        }]});
        let mut headers = self.headers();
        headers.push(("Content-Type".into(), "application/json".into()));
        RequestSpec {
            method: "PATCH".into(),
            url: format!("{}/zones/{zone}", self.base()),
            headers,
            body: Some(body.to_string()),
        }
    }

    fn check(resp: &Response, what: &str) -> Result<(), DnsError> {
        match resp.status {
            200..=299 => Ok(()),
            401 | 403 => Err(DnsError::Unauthorized {
                provider: NAME,
                status: resp.status,
                detail: format!("{what}: check the api_key ({})", api_detail(&resp.body)),
            }),
            s => Err(DnsError::Api {
                provider: NAME,
                status: s,
                detail: format!("{what}: {}", api_detail(&resp.body)),
            }),
        }
    }

    /// The zone holding the record: configured, or the longest zone name the server has that
    /// the record is in.
    pub async fn zone(&self, http: &HttpClient) -> Result<String, DnsError> {
        if let Some(z) = &self.zone {
            return Ok(z.clone());
        }
        let resp = http
            .send(&self.get("/zones"), REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        Self::check(&resp, "list zones")?;
        let zones: Vec<serde_json::Value> =
            serde_json::from_str(&resp.body).map_err(|e| DnsError::Api {
                provider: NAME,
                status: resp.status,
                detail: format!("list zones: not the expected JSON: {e}"),
            })?;
        zones
            .iter()
            .filter_map(|z| z.get("name").and_then(|n| n.as_str()).map(fqdn))
            .filter(|z| self.record == *z || self.record.ends_with(&format!(".{z}")))
            .max_by_key(String::len)
            .ok_or_else(|| DnsError::Api {
                provider: NAME,
                status: 422,
                detail: format!(
                    "no zone on server `{}` contains {} (Name is out of zone)",
                    self.server, self.record
                ),
            })
    }

    pub async fn check_access(&self, http: &HttpClient) -> Result<String, DnsError> {
        let zone = self.zone(http).await?;
        let resp = http
            .send(&self.get(&format!("/zones/{zone}")), REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        Self::check(&resp, &format!("read zone {zone}"))?;
        Ok(format!(
            "GET {}/zones/{zone} answered {} in {} ms",
            self.base(),
            resp.status,
            resp.elapsed.as_millis()
        ))
    }

    pub async fn current(&self, http: &HttpClient) -> Result<Option<RecordState>, DnsError> {
        let zone = self.zone(http).await?;
        let resp = http
            .send(&self.get(&format!("/zones/{zone}")), REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        Self::check(&resp, &format!("read zone {zone}"))?;
        let v: serde_json::Value = serde_json::from_str(&resp.body).map_err(|e| DnsError::Api {
            provider: NAME,
            status: resp.status,
            detail: format!("read zone {zone}: not the expected JSON: {e}"),
        })?;
        let rrsets = v.get("rrsets").and_then(|r| r.as_array());
        let found = rrsets.into_iter().flatten().find(|r| {
            r.get("name").and_then(|n| n.as_str()).map(fqdn).as_deref() == Some(&self.record)
                && r.get("type").and_then(|t| t.as_str()) == Some(self.record_type.as_str())
        });
        Ok(found.map(|r| {
            let mut values: Vec<String> = r
                .get("records")
                .and_then(|x| x.as_array())
                .into_iter()
                .flatten()
                .filter(|rec| rec.get("disabled").and_then(|d| d.as_bool()) != Some(true))
                .filter_map(|rec| rec.get("content").and_then(|c| c.as_str()))
                .map(|c| normalize_rdata(&self.record_type, c))
                .collect();
            values.sort();
            RecordState {
                values,
                ttl: r
                    .get("ttl")
                    .and_then(|t| t.as_u64())
                    .and_then(|t| u32::try_from(t).ok()),
                proxied: None,
            }
        }))
    }

    pub async fn replace(
        &self,
        http: &HttpClient,
        values: &[String],
        ttl: u32,
    ) -> Result<String, DnsError> {
        let zone = self.zone(http).await?;
        let req = self.replace_request(&zone, values, ttl);
        let resp = http
            .send(&req, REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))?;
        Self::check(&resp, &format!("PATCH zone {zone}"))?;
        Ok(format!("PATCH zones/{zone} → {}", resp.status))
    }
}
