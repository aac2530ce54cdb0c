//! Route 53: `ChangeResourceRecordSets` (`POST /2013-04-01/hostedzone/{Id}/rrset`, UPSERT), then
//! `GetChange` (`GET /2013-04-01/change/{Id}`) until `INSYNC` — propagated to every Route 53
//! authoritative server. Requests are signed with SigV4 (service `route53`, region `us-east-1`)
//! by AWS's own `aws-sigv4` crate.
//!
//! Credentials (a documented subset of the AWS chain, to keep the build lean — `aws-config` +
//! `aws-sdk-route53` add 49 crates including a C build of aws-lc): `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` from the environment; else the profile
//! `AWS_PROFILE` (default `default`) of `AWS_SHARED_CREDENTIALS_FILE` (default
//! `~/.aws/credentials`). Instance roles (IMDSv2) are read last, see `clients::aws`; SSO and web identity are not: export them first
//! with `eval "$(aws configure export-credentials --format env)"`.

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;

use super::provider::{REQUEST_TIMEOUT, RecordState};
use super::{DnsError, api_detail, fqdn, normalize_rdata};
use crate::clients::http::{HttpClient, RequestSpec, Response};

const NAME: &str = "Route 53";
pub const DEFAULT_ENDPOINT: &str = "https://route53.amazonaws.com";
const XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

#[derive(Debug, Clone)]
pub struct Route53 {
    pub endpoint: String,
    pub hosted_zone_id: String,
    pub record: String,
    pub record_type: String,
    /// SigV4 service and region (`route53`, `us-east-1`: Route 53 is global).
    pub service: String,
    pub region: String,
    /// Fixed credentials and signing time (tests); `None` reads the chain / the clock.
    pub credentials: Option<Credentials>,
    pub signing_time: Option<SystemTime>,
    /// How often `GetChange` is polled.
    pub poll_every: Duration,
    pub insync_timeout: Duration,
}

/// The environment, then the shared credentials file (the shared chain in `clients::aws`).
pub fn load_credentials() -> Result<Credentials, DnsError> {
    crate::clients::aws::static_credentials().map_err(|why| no_credentials(&why))
}

fn no_credentials(why: &str) -> DnsError {
    DnsError::Config(format!(
        "Route 53: no AWS credentials ({why}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         or AWS_PROFILE with ~/.aws/credentials, or run `eval \"$(aws configure export-credentials --format env)\"`"
    ))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text of every `<tag>…</tag>` in `xml`, in order (Route 53 responses are simple and flat
/// enough for this; values are unescaped).
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(
            after[..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
        );
        rest = &after[j + close.len()..];
    }
    out
}

impl Route53 {
    pub fn new(hosted_zone_id: &str, record: &str, record_type: &str) -> Route53 {
        let id = hosted_zone_id.trim().trim_start_matches("/hostedzone/");
        Route53 {
            endpoint: DEFAULT_ENDPOINT.into(),
            hosted_zone_id: id.to_string(),
            record: fqdn(record),
            record_type: record_type.to_ascii_uppercase(),
            service: "route53".into(),
            region: "us-east-1".into(),
            credentials: None,
            signing_time: None,
            poll_every: Duration::from_secs(5),
            insync_timeout: Duration::from_secs(300),
        }
    }

    pub fn upsert_body(&self, values: &[String], ttl: u32) -> String {
        let recs: String = values
            .iter()
            .map(|v| {
                format!(
                    "<ResourceRecord><Value>{}</Value></ResourceRecord>",
                    xml_escape(v)
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest xmlns=\"{XMLNS}\"><ChangeBatch><Comment>drcockpit dns.switch</Comment><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>{}</Name><Type>{}</Type><TTL>{ttl}</TTL><ResourceRecords>{recs}</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
            xml_escape(&self.record),
            xml_escape(&self.record_type)
        )
    }

    /// The unsigned UPSERT request.
    pub fn upsert_request(&self, values: &[String], ttl: u32) -> RequestSpec {
        RequestSpec {
            method: "POST".into(),
            url: format!(
                "{}/2013-04-01/hostedzone/{}/rrset",
                self.endpoint, self.hosted_zone_id
            ),
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: Some(self.upsert_body(values, ttl)),
        }
    }

    pub fn list_request(&self) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            url: format!(
                "{}/2013-04-01/hostedzone/{}/rrset?maxitems=1&name={}&type={}",
                self.endpoint, self.hosted_zone_id, self.record, self.record_type
            ),
            headers: vec![],
            body: None,
        }
    }

    pub fn get_change_request(&self, change_id: &str) -> RequestSpec {
        let id = change_id.trim_start_matches("/change/");
        RequestSpec {
            method: "GET".into(),
            url: format!("{}/2013-04-01/change/{id}", self.endpoint),
            headers: vec![],
            body: None,
        }
    }

    /// Add the SigV4 headers (`x-amz-date`, `authorization`, `x-amz-security-token`).
    pub fn sign(&self, req: RequestSpec) -> Result<RequestSpec, DnsError> {
        let creds = match &self.credentials {
            Some(c) => c.clone(),
            None => load_credentials()?,
        };
        self.sign_with(req, &creds)
    }

    fn sign_with(&self, req: RequestSpec, creds: &Credentials) -> Result<RequestSpec, DnsError> {
        crate::clients::aws::sign_request(
            req,
            creds,
            &self.region,
            &self.service,
            self.signing_time.unwrap_or_else(SystemTime::now),
        )
        .map_err(|e| DnsError::Config(format!("Route 53 {e}")))
    }

    async fn send(&self, http: &HttpClient, req: RequestSpec) -> Result<Response, DnsError> {
        // The mode check happens before credentials are even read.
        http.guard(&req.method, &req.url)
            .map_err(|e| DnsError::transport(NAME, e))?;
        // The whole chain, instance role included (a bastion on EC2 has no keys to export).
        let creds = match &self.credentials {
            Some(c) => c.clone(),
            None => crate::clients::aws::credentials()
                .await
                .map_err(|why| DnsError::Config(format!("Route 53: {why}")))?,
        };
        let signed = self.sign_with(req, &creds)?;
        http.send(&signed, REQUEST_TIMEOUT)
            .await
            .map_err(|e| DnsError::transport(NAME, e))
    }

    fn check(resp: &Response, what: &str) -> Result<(), DnsError> {
        let detail = || {
            let m = xml_values(&resp.body, "Message");
            let c = xml_values(&resp.body, "Code");
            match (c.first(), m.first()) {
                (Some(c), Some(m)) => format!("{what}: {c}: {m}"),
                _ => format!("{what}: {}", api_detail(&resp.body)),
            }
        };
        match resp.status {
            200..=299 => Ok(()),
            401 | 403 => Err(DnsError::Unauthorized {
                provider: NAME,
                status: resp.status,
                detail: detail(),
            }),
            s => Err(DnsError::Api {
                provider: NAME,
                status: s,
                detail: detail(),
            }),
        }
    }

    pub async fn check_access(&self, http: &HttpClient) -> Result<String, DnsError> {
        let req = RequestSpec {
            method: "GET".into(),
            url: format!(
                "{}/2013-04-01/hostedzone/{}",
                self.endpoint, self.hosted_zone_id
            ),
            headers: vec![],
            body: None,
        };
        let resp = self.send(http, req).await?;
        Self::check(&resp, "GetHostedZone")?;
        let zone = xml_values(&resp.body, "Name")
            .first()
            .map(|z| fqdn(z))
            .unwrap_or_default();
        if !zone.is_empty() && self.record != zone && !self.record.ends_with(&format!(".{zone}")) {
            return Err(DnsError::Config(format!(
                "hosted zone {} is {zone}; {} is out of zone",
                self.hosted_zone_id, self.record
            )));
        }
        Ok(format!(
            "GetHostedZone {} ({zone}) answered {} in {} ms",
            self.hosted_zone_id,
            resp.status,
            resp.elapsed.as_millis()
        ))
    }

    pub async fn current(&self, http: &HttpClient) -> Result<Option<RecordState>, DnsError> {
        let resp = self.send(http, self.list_request()).await?;
        Self::check(&resp, "ListResourceRecordSets")?;
        let Some(start) = resp.body.find("<ResourceRecordSet>") else {
            return Ok(None);
        };
        let set = &resp.body[start..];
        let set = &set[..set.find("</ResourceRecordSet>").unwrap_or(set.len())];
        let name = xml_values(set, "Name").first().map(|n| fqdn(n));
        let typ = xml_values(set, "Type").first().cloned();
        if name.as_deref() != Some(self.record.as_str())
            || typ.as_deref() != Some(self.record_type.as_str())
        {
            return Ok(None);
        }
        let mut values: Vec<String> = xml_values(set, "Value")
            .iter()
            .map(|v| normalize_rdata(&self.record_type, v))
            .collect();
        values.sort();
        Ok(Some(RecordState {
            values,
            ttl: xml_values(set, "TTL").first().and_then(|t| t.parse().ok()),
            proxied: None,
        }))
    }

    pub async fn replace(
        &self,
        http: &HttpClient,
        values: &[String],
        ttl: u32,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<String, DnsError> {
        let resp = self.send(http, self.upsert_request(values, ttl)).await?;
        Self::check(&resp, "ChangeResourceRecordSets")?;
        let id = xml_values(&resp.body, "Id")
            .into_iter()
            .next()
            .ok_or_else(|| DnsError::Api {
                provider: NAME,
                status: resp.status,
                detail: "ChangeResourceRecordSets: no ChangeInfo Id in the answer".into(),
            })?;
        let mut status = xml_values(&resp.body, "Status")
            .into_iter()
            .next()
            .unwrap_or_default();
        progress(format!("Route 53 change {id}: {status}"));
        let started = Instant::now();
        while status != "INSYNC" {
            if started.elapsed() > self.insync_timeout {
                return Err(DnsError::Api {
                    provider: NAME,
                    status: 200,
                    detail: format!(
                        "change {id} still {status} after {}s (not yet on every Route 53 server)",
                        self.insync_timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(self.poll_every).await;
            let r = self.send(http, self.get_change_request(&id)).await?;
            Self::check(&r, "GetChange")?;
            let s = xml_values(&r.body, "Status")
                .into_iter()
                .next()
                .unwrap_or_default();
            if s != status {
                progress(format!("Route 53 change {id}: {s}"));
            }
            status = s;
        }
        Ok(format!("Route 53 change {id} INSYNC"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::aws::ini_section;

    #[test]
    fn ini_profiles() {
        let t = "[default]\naws_access_key_id = A\n[ops]\n# c\naws_access_key_id=B\nAWS_SECRET_ACCESS_KEY = s\n";
        let s = ini_section(t, "ops").unwrap_or_default();
        assert_eq!(
            s,
            vec![
                ("aws_access_key_id".into(), "B".into()),
                ("aws_secret_access_key".into(), "s".into())
            ]
        );
        assert!(ini_section(t, "nope").is_none());
    }

    #[test]
    fn xml_extraction() {
        let x = "<ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status></ChangeInfo>";
        assert_eq!(
            xml_values(x, "Id"),
            vec!["/change/C2682N5HXP0BZ4".to_string()]
        );
        assert_eq!(xml_values(x, "Status"), vec!["PENDING".to_string()]);
    }
}
