//! The provider a plan names, behind one interface: read the record through the API, replace it
//! (idempotent REPLACE/UPSERT), and say exactly which requests a change would send.

use std::time::Duration;

use super::cloudflare::Cloudflare;
use super::powerdns::PowerDns;
use super::route53::Route53;
use super::{DnsError, matches_target, target_values};
use crate::clients::http::{HttpClient, RequestSpec};
use crate::plan::{DnsConfig, DnsProvider};

/// The record as the provider's API holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordState {
    /// Normalised RDATA values.
    pub values: Vec<String>,
    pub ttl: Option<u32>,
    /// Cloudflare: answers are Cloudflare edge addresses when proxied.
    pub proxied: Option<bool>,
}

impl RecordState {
    pub fn show(&self) -> String {
        let mut s = if self.values.is_empty() {
            "(no record)".to_string()
        } else {
            self.values.join(", ")
        };
        if let Some(t) = self.ttl {
            s.push_str(&format!(" TTL {t}"));
        }
        if self.proxied == Some(true) {
            s.push_str(" (proxied)");
        }
        s
    }
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchOutcome {
    /// The record already pointed at the target (with the asked TTL): nothing was sent.
    AlreadyThere(RecordState),
    Changed {
        before: Option<RecordState>,
        after: RecordState,
        /// The provider's own confirmation (e.g. `INSYNC`).
        note: String,
    },
}

/// Provider timeouts: one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub enum Provider {
    PowerDns(PowerDns),
    Cloudflare(Cloudflare),
    Route53(Route53),
}

impl Provider {
    pub fn from_config(cfg: &DnsConfig) -> Result<Provider, DnsError> {
        let p = cfg.provider.as_ref().ok_or_else(|| {
            DnsError::Config(
                "[dns] has no provider: add provider = { powerdns = {…} } (or cloudflare, route53)"
                    .into(),
            )
        })?;
        Ok(match p {
            DnsProvider::PowerDns {
                api_url,
                api_key,
                server,
            } => Provider::PowerDns(PowerDns::new(
                api_url,
                api_key,
                server,
                cfg.zone.as_deref(),
                &cfg.record,
                &cfg.record_type,
            )),
            DnsProvider::Cloudflare {
                zone_id,
                record_id,
                token,
            } => Provider::Cloudflare(Cloudflare::new(
                zone_id,
                record_id,
                token,
                &cfg.record,
                &cfg.record_type,
            )),
            DnsProvider::Route53 { hosted_zone_id } => {
                Provider::Route53(Route53::new(hosted_zone_id, &cfg.record, &cfg.record_type))
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::PowerDns(_) => "PowerDNS",
            Provider::Cloudflare(_) => "Cloudflare",
            Provider::Route53(_) => "Route 53",
        }
    }

    /// A read-only call proving the API answers and the credentials are accepted.
    pub async fn check_access(&self, http: &HttpClient) -> Result<String, DnsError> {
        match self {
            Provider::PowerDns(p) => p.check_access(http).await,
            Provider::Cloudflare(p) => p.check_access(http).await,
            Provider::Route53(p) => p.check_access(http).await,
        }
    }

    /// The record as the API holds it; `None` when it does not exist.
    pub async fn current(&self, http: &HttpClient) -> Result<Option<RecordState>, DnsError> {
        match self {
            Provider::PowerDns(p) => p.current(http).await,
            Provider::Cloudflare(p) => p.current(http).await,
            Provider::Route53(p) => p.current(http).await,
        }
    }

    /// The requests a change would send (unsigned; for review mode and the detail pane).
    pub fn change_requests(&self, values: &[String], ttl: Option<u32>) -> Vec<RequestSpec> {
        match self {
            Provider::PowerDns(p) => {
                vec![p.replace_request(p.zone_display().as_str(), values, ttl.unwrap_or(300))]
            }
            Provider::Cloudflare(p) => vec![p.patch_request(values, ttl)],
            Provider::Route53(p) => vec![p.upsert_request(values, ttl.unwrap_or(300))],
        }
    }

    /// Replace the record's values. Sent once, never retried automatically.
    pub async fn replace(
        &self,
        http: &HttpClient,
        values: &[String],
        ttl: u32,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<String, DnsError> {
        match self {
            Provider::PowerDns(p) => p.replace(http, values, ttl).await,
            Provider::Cloudflare(p) => p.replace(http, values, Some(ttl)).await,
            Provider::Route53(p) => p.replace(http, values, ttl, progress).await,
        }
    }

    /// Point the record at `target` (idempotent): read it, change it only if it differs, read it
    /// back. `ttl` `None` keeps the current TTL.
    pub async fn switch(
        &self,
        http: &HttpClient,
        target: &str,
        ttl: Option<u32>,
        record_type: &str,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<SwitchOutcome, DnsError> {
        let before = self.current(http).await?;
        if let Some(b) = &before
            && matches_target(record_type, &b.values, target)
            && ttl.is_none_or(|t| b.ttl == Some(t) || b.proxied == Some(true))
        {
            return Ok(SwitchOutcome::AlreadyThere(b.clone()));
        }
        let values = target_values(record_type, target);
        let ttl = ttl
            .or(before.as_ref().and_then(|b| b.ttl))
            .unwrap_or(match self {
                Provider::Cloudflare(_) => 1,
                _ => 300,
            });
        progress(format!(
            "{}: {} → {} TTL {ttl}",
            self.name(),
            before
                .as_ref()
                .map(RecordState::show)
                .unwrap_or_else(|| "(no record)".into()),
            values.join(", ")
        ));
        let note = self.replace(http, &values, ttl, progress).await?;
        let after = self.current(http).await?.ok_or_else(|| DnsError::Api {
            provider: self.name(),
            status: 200,
            detail: "the record is missing when read back after the change".into(),
        })?;
        if !matches_target(record_type, &after.values, target) {
            return Err(DnsError::Api {
                provider: self.name(),
                status: 200,
                detail: format!(
                    "read back after the change: {} (expected {})",
                    after.show(),
                    values.join(", ")
                ),
            });
        }
        Ok(SwitchOutcome::Changed {
            before,
            after,
            note,
        })
    }
}
