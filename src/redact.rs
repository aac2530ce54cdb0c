//! The one redactor every output path goes through: screen, log, journal, error text.
//!
//! Every resolved secret value is registered here by the plan loader (and by clients that obtain
//! tokens at run time). `redact` replaces each registered value with a label naming its reference,
//! never a fragment of the value.

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

/// Secrets shorter than this are refused by the plan loader: redacting them would garble output.
pub const MIN_SECRET_LEN: usize = 4;

struct Entry {
    value: String,
    label: String,
}

static SECRETS: LazyLock<RwLock<Vec<Entry>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Register a secret value; `reference` names where it came from (e.g. `env:QOVERY_API_TOKEN`).
/// Values shorter than [`MIN_SECRET_LEN`] are ignored here (the loader rejects them first).
pub fn register(value: &str, reference: &str) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let label = format!("‹secret {reference}›");
    let mut variants = vec![value.to_string()];
    // The same secret travels URL-encoded in query strings and form bodies.
    let encoded = crate::clients::http::percent_encode(value);
    if encoded != value {
        variants.push(encoded);
    }
    let mut guard = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for v in variants {
        if !guard.iter().any(|e| e.value == v) {
            guard.push(Entry {
                value: v,
                label: label.clone(),
            });
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    guard.sort_by_key(|s| std::cmp::Reverse(s.value.len()));
}

/// Replace every registered secret in `text` with its label.
pub fn redact(text: &str) -> Cow<'_, str> {
    let guard = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if guard.is_empty() || !guard.iter().any(|e| text.contains(e.value.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for e in guard.iter() {
        if out.contains(e.value.as_str()) {
            out = out.replace(e.value.as_str(), &e.label);
        }
    }
    Cow::Owned(out)
}

/// Convenience for owned strings.
pub fn redact_string(text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => s,
    }
}

/// How many secrets are registered (for diagnostics and tests).
pub fn registered_count() -> usize {
    SECRETS.read().map(|g| g.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_value_and_its_url_encoding() {
        register("s3cr3t/value+x", "env:TEST_REDACT_A");
        let out = redact("token=s3cr3t/value+x&q=s3cr3t%2Fvalue%2Bx");
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("‹secret env:TEST_REDACT_A›"));
    }

    #[test]
    fn untouched_text_is_borrowed() {
        assert!(matches!(redact("nothing secret here"), Cow::Borrowed(_)));
    }
}
