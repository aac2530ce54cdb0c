//! DNS: an authoritative querier (each nameserver asked directly, recursion off, `aa` required)
//! and the providers that change a record (PowerDNS, Cloudflare, Route 53). Every provider call
//! goes through [`crate::clients::http::HttpClient`], so a read-only session refuses a change
//! before it leaves the process. No UI types here.

pub mod cloudflare;
pub mod powerdns;
pub mod provider;
pub mod query;
pub mod route53;

pub use provider::{Provider, RecordState, SwitchOutcome};
pub use query::{Nameserver, NsAnswer, NsResult, ZoneView};

use crate::clients::http::HttpError;
use crate::redact::redact;

/// What went wrong talking DNS or to a DNS provider. Every text is redacted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DnsError {
    #[error("{ns}: no answer within {ms} ms (UDP{tcp})", tcp = if *.tcp { " and TCP" } else { "" })]
    NoAnswer { ns: String, ms: u64, tcp: bool },
    #[error("{ns}: {detail}")]
    Network { ns: String, detail: String },
    #[error(
        "{ns}: the answer is not authoritative (no `aa` flag): it is not a nameserver of this zone"
    )]
    NotAuthoritative { ns: String },
    #[error("{ns}: answered {rcode} for {name}")]
    Rcode {
        ns: String,
        rcode: String,
        name: String,
    },
    #[error("{ns}: malformed answer: {detail}")]
    Malformed { ns: String, detail: String },
    #[error("nameserver `{0}`: {1}")]
    BadNameserver(String, String),
    #[error("{provider}: the credentials were refused ({status}): {detail}")]
    Unauthorized {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{provider}: {status}: {detail}")]
    Api {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{provider}: {source}")]
    Transport {
        provider: &'static str,
        source: HttpError,
    },
    #[error("{0}")]
    Config(String),
}

impl DnsError {
    /// A short reason for a panel.
    pub fn short(&self) -> String {
        match self {
            DnsError::NoAnswer { .. } => "no answer".into(),
            DnsError::Network { .. } => "unreachable".into(),
            DnsError::NotAuthoritative { .. } => "not authoritative".into(),
            DnsError::Rcode { rcode, .. } => rcode.clone(),
            DnsError::Malformed { .. } => "malformed answer".into(),
            DnsError::BadNameserver(..) => "bad nameserver".into(),
            DnsError::Unauthorized { .. } => "unauthorized".into(),
            DnsError::Api { status, .. } => format!("API {status}"),
            DnsError::Transport { source, .. } => source.short(),
            DnsError::Config(_) => "config".into(),
        }
    }

    /// Name the nameserver as the plan does (`ns1.example.net`) rather than by address.
    pub fn relabel(self, addr: &str, label: &str) -> DnsError {
        let fix = |ns: String| if ns == addr { label.to_string() } else { ns };
        match self {
            DnsError::NoAnswer { ns, ms, tcp } => DnsError::NoAnswer {
                ns: fix(ns),
                ms,
                tcp,
            },
            DnsError::Network { ns, detail } => DnsError::Network {
                ns: fix(ns),
                detail,
            },
            DnsError::Malformed { ns, detail } => DnsError::Malformed {
                ns: fix(ns),
                detail,
            },
            other => other,
        }
    }

    /// The reason without the leading `nameserver: ` (for lines that already name it).
    pub fn reason(&self, ns: &str) -> String {
        let t = self.redacted();
        match t.strip_prefix(&format!("{ns}: ")) {
            Some(r) => r.to_string(),
            None => t,
        }
    }

    /// The full text, redacted.
    pub fn redacted(&self) -> String {
        redact(&self.to_string()).into_owned()
    }

    pub(crate) fn transport(provider: &'static str, e: HttpError) -> DnsError {
        DnsError::Transport {
            provider,
            source: e,
        }
    }
}

/// Make a name absolute and lower-case: `Shop.Example.com` → `shop.example.com.`.
pub fn fqdn(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

/// Normalise one RDATA value for comparison: names absolute and lower-case, addresses parsed.
pub fn normalize_rdata(record_type: &str, value: &str) -> String {
    let v = value.trim();
    match record_type.to_ascii_uppercase().as_str() {
        "A" | "AAAA" => v
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| v.to_string()),
        "CNAME" | "NS" | "PTR" | "ALIAS" => fqdn(v),
        _ => v.to_string(),
    }
}

/// The values a site target stands for (a target may list several, comma-separated).
pub fn target_values(record_type: &str, target: &str) -> Vec<String> {
    let mut v: Vec<String> = target
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| normalize_rdata(record_type, s))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Do these answered values equal the target's values (as sets)?
pub fn matches_target(record_type: &str, values: &[String], target: &str) -> bool {
    let mut got: Vec<String> = values
        .iter()
        .map(|s| normalize_rdata(record_type, s))
        .collect();
    got.sort();
    got.dedup();
    !got.is_empty() && got == target_values(record_type, target)
}

/// Body text for an error message: a JSON `error`/`message` field when there is one, else the
/// start of the body.
pub(crate) fn api_detail(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["error", "message"] {
            if let Some(s) = v.get(key).and_then(|x| x.as_str()) {
                return redact(s).into_owned();
            }
        }
        if let Some(errs) = v.get("errors").and_then(|x| x.as_array()) {
            let msgs: Vec<String> = errs
                .iter()
                .map(|e| {
                    let code = e.get("code").map(|c| format!(" ({c})")).unwrap_or_default();
                    let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("error");
                    format!("{msg}{code}")
                })
                .collect();
            if !msgs.is_empty() {
                return redact(&msgs.join("; ")).into_owned();
            }
        }
    }
    let t: String = body.trim().chars().take(300).collect();
    if t.is_empty() {
        "(empty body)".into()
    } else {
        redact(&t).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names_and_addresses() {
        assert_eq!(
            normalize_rdata("CNAME", "LB.Example.NET"),
            "lb.example.net."
        );
        assert_eq!(normalize_rdata("A", " 192.0.2.5 "), "192.0.2.5");
        assert_eq!(normalize_rdata("AAAA", "2001:DB8::1"), "2001:db8::1");
        assert!(matches_target(
            "A",
            &["192.0.2.6".into(), "192.0.2.5".into()],
            "192.0.2.5, 192.0.2.6"
        ));
        assert!(!matches_target("A", &[], "192.0.2.5"));
        assert!(!matches_target("A", &["192.0.2.5".into()], "192.0.2.6"));
    }

    #[test]
    fn api_detail_reads_json_and_cloudflare_errors() {
        assert_eq!(
            api_detail(r#"{"error":"Name is out of zone"}"#),
            "Name is out of zone"
        );
        assert_eq!(
            api_detail(
                r#"{"success":false,"errors":[{"code":9021,"message":"TTL must be between 30 and 86400 seconds, or 1 for Automatic."}]}"#
            ),
            "TTL must be between 30 and 86400 seconds, or 1 for Automatic. (9021)"
        );
        assert_eq!(api_detail(""), "(empty body)");
    }
}
