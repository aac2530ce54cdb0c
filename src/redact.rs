//! The one redactor every output path goes through: screen, log, journal, error text.
//!
//! Every resolved secret value is registered here by the plan loader (and by clients that obtain
//! tokens at run time), labelled by where it is used (`qovery.token`, `step notify: header
//! Authorization`), never by the text of its reference: a `${cmd:…}` reference may itself hold a
//! credential. `redact` replaces each registered value with its label, never a fragment of it.
//!
//! A secret does not travel only as itself: the HTTP stack percent-encodes it differently in a
//! path, a query, a user name or password and a form; the journal JSON-escapes it; Basic auth
//! base64-encodes `user:secret`. [`register`] records every form the process can produce.
//!
//! URLs are the other way credentials leak: a password written in clear in a URL, or a
//! `?token=…`, is not always a registered secret. [`url`] is the one way a URL is rendered, and
//! [`redact`] applies the same masking to every URL found in a text.
//!
//! Redaction is idempotent: labels (and [`MASK`]) already in a text are left as they are, so
//! redacting twice changes nothing and labels never nest.

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

use base64::Engine;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Secrets shorter than this are refused by the plan loader: redacting them would garble output.
pub const MIN_SECRET_LEN: usize = 4;

/// What a URL password or a secret query value is shown as when it is not a registered secret.
pub const MASK: &str = "‹secret›";

/// Base64 fragments shorter than this are not registered: they would match ordinary text.
const MIN_BASE64_FRAGMENT: usize = 6;

struct Entry {
    value: String,
    label: String,
}

#[derive(Default)]
struct Registry {
    /// Every form of every secret, longest first (a secret containing another is replaced whole).
    entries: Vec<Entry>,
    /// Every distinct label, [`MASK`] included: text that already holds one is left alone.
    labels: Vec<String>,
    /// The first two bytes of every form, as a 65,536-bit set: one pass over a text tells that
    /// no form can start in it (most texts, every frame), whatever the number of forms.
    starts: Vec<u64>,
    /// Bumped by every [`register`] that adds a form: tells [`FINDER`] it is stale.
    generation: u64,
}

fn pair_index(a: u8, b: u8) -> usize {
    (usize::from(a) << 8) | usize::from(b)
}

impl Registry {
    fn may_hold_a_secret(&self, text: &str) -> bool {
        let starts = &self.starts;
        !starts.is_empty()
            && text.as_bytes().windows(2).any(|w| {
                let i = pair_index(w[0], w[1]);
                starts[i / 64] & (1 << (i % 64)) != 0
            })
    }
}

static SECRETS: LazyLock<RwLock<Registry>> = LazyLock::new(|| {
    RwLock::new(Registry {
        entries: Vec::new(),
        labels: vec![MASK.to_string()],
        starts: Vec::new(),
        generation: 0,
    })
});

/// One automaton over every registered form (`entries` order), so finding which forms a text
/// holds is one pass over the text, not one `contains` per form: with a big environment the
/// registries' tokens alone are thousands of forms, and every drawn string is redacted. Built
/// lazily for the registry's `generation`; while registrations arrive in a burst it is rebuilt
/// at most once per [`REBUILD_EVERY`] and the plain scan answers meanwhile (same result).
/// The `aho-corasick` crate is already in the lock file (through `regex`).
struct Finder {
    generation: u64,
    built_at: std::time::Instant,
    automaton: Option<std::sync::Arc<aho_corasick::AhoCorasick>>,
}

static FINDER: LazyLock<std::sync::Mutex<Finder>> = LazyLock::new(|| {
    std::sync::Mutex::new(Finder {
        generation: u64::MAX,
        built_at: std::time::Instant::now(),
        automaton: None,
    })
});

const REBUILD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Below this many forms the plain scan is as fast as the automaton.
const AUTOMATON_FROM: usize = 64;

/// The automaton for `reg`'s current forms, if one is built (or may be built now).
fn finder(reg: &Registry) -> Option<std::sync::Arc<aho_corasick::AhoCorasick>> {
    if reg.entries.len() < AUTOMATON_FROM {
        return None;
    }
    let mut f = FINDER.lock().unwrap_or_else(|e| e.into_inner());
    if f.generation == reg.generation {
        return f.automaton.clone();
    }
    if f.automaton.is_some() && f.built_at.elapsed() < REBUILD_EVERY {
        return None;
    }
    let built = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(reg.entries.iter().map(|e| e.value.as_bytes()))
        .ok()
        .map(std::sync::Arc::new);
    f.generation = reg.generation;
    f.built_at = std::time::Instant::now();
    f.automaton = built.clone();
    built
}

// The encode sets of the WHATWG URL standard, which `reqwest` (through the `url` crate) applies
// when it parses a URL: `%` itself is left as it is.
const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
const QUERY: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
const SPECIAL_QUERY: &AsciiSet = &QUERY.add(b'\'');
const PATH: &AsciiSet = &QUERY.add(b'?').add(b'`').add(b'{').add(b'}');
const USERINFO: &AsciiSet = &PATH
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');
/// `application/x-www-form-urlencoded` (a space becomes `+`).
const FORM: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Register a secret value; `used_at` names where it is used (`qovery.token`, `step notify:
/// header Authorization`, `postgres password`) and must never be the text of a reference.
/// Values shorter than [`MIN_SECRET_LEN`] are ignored here (the loader rejects them first).
/// A value already registered keeps its first label.
pub fn register(value: &str, used_at: &str) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let text = label_text(used_at);
    let mut forms = forms(value);
    // A secret with surrounding whitespace is shown without it more often than not (a line
    // reader, a trimmed field): the trimmed value is as secret as the value.
    let trimmed = value.trim();
    if trimmed != value && trimmed.len() >= MIN_SECRET_LEN {
        for f in self::forms(trimmed) {
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
    }
    // A label must never show the value, whatever it is named after.
    let label = if forms.iter().any(|f| text.contains(f.as_str())) {
        MASK.to_string()
    } else {
        format!("‹secret {text}›")
    };
    let mut guard = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if guard.starts.is_empty() {
        guard.starts = vec![0; 65536 / 64];
    }
    for v in forms {
        if let [a, b, ..] = *v.as_bytes() {
            let i = pair_index(a, b);
            guard.starts[i / 64] |= 1 << (i % 64);
        }
        if !guard.entries.iter().any(|e| e.value == v) {
            guard.generation += 1;
            guard.entries.push(Entry {
                value: v,
                label: label.clone(),
            });
        }
    }
    if !guard.labels.contains(&label) {
        guard.labels.push(label);
    }
    guard
        .entries
        .sort_by_key(|s| std::cmp::Reverse(s.value.len()));
}

/// What goes between `‹secret ` and `›`: no `‹`/`›` (labels must not nest or overlap), nothing
/// that needs escaping in JSON, no control characters, one line.
fn label_text(used_at: &str) -> String {
    let t: String = used_at
        .chars()
        .map(|c| match c {
            '‹' | '›' | '"' | '\\' | '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() { "value".into() } else { t }
}

/// Every form of `value` the process can produce, `value` first, each at least
/// [`MIN_SECRET_LEN`] bytes long, without duplicates.
pub fn forms(value: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![value.to_string()];
    let mut add = |s: String| {
        if s.len() >= MIN_SECRET_LEN && !out.contains(&s) {
            out.push(s);
        }
    };
    // JSON strings (the journal, report.json, status --json) and Rust's `{:?}`.
    if let Ok(j) = serde_json::to_string(value) {
        add(j[1..j.len() - 1].to_string());
    }
    add(value.escape_debug().to_string());
    // Percent-encoded: the cockpit's own encoder (every byte but the unreserved ones, `%` too),
    // each URL component as the HTTP stack re-encodes it, and forms. Lower-case hex as well:
    // other tools (curl, a server echoing the request) write it so.
    let strict = percent_encode(value);
    let mut pct = vec![strict];
    for set in [FRAGMENT, QUERY, SPECIAL_QUERY, PATH, USERINFO] {
        pct.push(utf8_percent_encode(value, set).to_string());
    }
    // In the path of an http(s) URL a backslash is a slash.
    pct.push(utf8_percent_encode(&value.replace('\\', "/"), PATH).to_string());
    pct.push(
        utf8_percent_encode(value, FORM)
            .to_string()
            .replace("%20", "+"),
    );
    for p in pct {
        let lower = lower_hex(&p);
        add(p);
        add(lower);
    }
    // Base64 (Basic auth sends base64 of `user:secret`): the characters that depend on the
    // secret's bytes alone, for each of the three alignments it can start at.
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for align in 0..3usize {
            let mut bytes = vec![0u8; align];
            bytes.extend_from_slice(value.as_bytes());
            let enc = engine.encode(&bytes);
            let start = (8 * align).div_ceil(6);
            let end = (8 * bytes.len()) / 6;
            if end >= start + MIN_BASE64_FRAGMENT
                && let Some(frag) = enc.get(start..end)
            {
                add(frag.to_string());
            }
        }
    }
    out
}

/// `%2f` for `%2F`: only the two hex digits after each `%` change.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_pct = 0;
    for c in s.chars() {
        if c == '%' {
            after_pct = 2;
            out.push(c);
        } else if after_pct > 0 {
            after_pct -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replace every registered secret in `text` with its label, and mask URL passwords and secret
/// query values ([`url`]).
pub fn redact(text: &str) -> Cow<'_, str> {
    let replaced = replace_secrets(text);
    match mask_urls(&replaced) {
        Some(masked) => Cow::Owned(masked),
        None => replaced,
    }
}

fn replace_secrets(text: &str) -> Cow<'_, str> {
    let guard = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !guard.may_hold_a_secret(text) {
        return Cow::Borrowed(text);
    }
    let candidates: Vec<&Entry> = match finder(&guard) {
        Some(ac) => {
            let mut hit = vec![false; guard.entries.len()];
            for m in ac.find_overlapping_iter(text) {
                if let Some(h) = hit.get_mut(m.pattern().as_usize()) {
                    *h = true;
                }
            }
            guard
                .entries
                .iter()
                .zip(hit)
                .filter_map(|(e, h)| h.then_some(e))
                .collect()
        }
        None => guard
            .entries
            .iter()
            .filter(|e| text.contains(e.value.as_str()))
            .collect(),
    };
    if candidates.is_empty() {
        return Cow::Borrowed(text);
    }
    // Where labels already sit: they are copied as they are, and no match may reach into one
    // (that is what makes a second pass change nothing). Labels hold no `‹` or `›` but their
    // first and last characters, so two never overlap.
    let mut labels: Vec<(usize, usize)> = guard
        .labels
        .iter()
        .filter(|l| text.contains(l.as_str()))
        .flat_map(|l| text.match_indices(l.as_str()).map(|(i, m)| (i, m.len())))
        .collect();
    labels.sort_unstable();
    let mut next_label = 0;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'scan: while i < text.len() {
        while next_label < labels.len() && labels[next_label].0 < i {
            next_label += 1;
        }
        if let Some(&(at, len)) = labels.get(next_label)
            && at == i
        {
            out.push_str(&text[i..i + len]);
            i += len;
            continue;
        }
        let rest = &text[i..];
        let label_inside = |n: usize| {
            labels
                .get(next_label)
                .is_some_and(|&(at, _)| at > i && at < i + n)
        };
        for e in &candidates {
            if rest.starts_with(e.value.as_str()) && !label_inside(e.value.len()) {
                out.push_str(&e.label);
                i += e.value.len();
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// Convenience for owned strings.
pub fn redact_string(text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => s,
    }
}

/// How many secret forms are registered (for diagnostics and tests).
pub fn registered_count() -> usize {
    SECRETS.read().map(|g| g.entries.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// URLs

/// The one way a URL is rendered (screen, `check --online`, review, reports, errors): the
/// password in its userinfo and the values of secret query keys ([`is_secret_query_key`]) become
/// [`MASK`] unless already a label, then registered secrets are replaced.
pub fn url(u: &str) -> String {
    redact(u).into_owned()
}

/// Query keys whose value is a credential, compared without case, `-`, `_` and `.`.
const SECRET_QUERY_KEYS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "sig",
    "signature",
    "accesstoken",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "session",
    "sessionid",
];
/// Endings that make a query key secret too (`x-amz-security-token`, `client_secret`, `sslkey`…).
const SECRET_QUERY_SUFFIXES: &[&str] = &[
    "token",
    "secret",
    "password",
    "signature",
    "apikey",
    "key",
    "credential",
];

/// Does a query parameter named `key` (as written, maybe percent-encoded) carry a credential?
pub fn is_secret_query_key(key: &str) -> bool {
    let k: String = percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_QUERY_KEYS.contains(&k.as_str()) || SECRET_QUERY_SUFFIXES.iter().any(|s| k.ends_with(s))
}

/// Characters that end a URL inside a text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Mask every URL in `text`; `None` when nothing changed.
fn mask_urls(text: &str) -> Option<String> {
    if !text.contains("://") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    let mut changed = false;
    while let Some(rel) = text[search..].find("://") {
        let sep = search + rel;
        let scheme_len = text[..sep]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .count();
        let start = sep - scheme_len;
        let body = sep + 3;
        let end = text[body..]
            .find(ends_url)
            .map(|j| body + j)
            .unwrap_or(text.len());
        search = end.max(body);
        if scheme_len == 0 || !text[start..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if let Cow::Owned(m) = mask_url(&text[start..end]) {
            out.push_str(&text[copied..start]);
            out.push_str(&m);
            copied = end;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// A password or query value that is already a label (or starts one) is left as it is, and so
/// is a reference as written in a plan (`${env:PW}`, shown in a plan error's excerpt).
fn already_hidden(v: &str) -> bool {
    v.is_empty() || v.starts_with('‹') || v.starts_with("${")
}

/// Mask one URL (`scheme://…`, no whitespace).
fn mask_url(u: &str) -> Cow<'_, str> {
    let Some(sep) = u.find("://") else {
        return Cow::Borrowed(u);
    };
    let body = sep + 3;
    let auth_end = u[body..]
        .find(['/', '?', '#'])
        .map(|j| body + j)
        .unwrap_or(u.len());
    let mut out = String::new();
    let mut copied = 0;
    // userinfo: up to the last `@` of the authority; the password after its first `:`.
    if let Some(at) = u[body..auth_end].rfind('@').map(|j| body + j)
        && let Some(colon) = u[body..at].find(':').map(|j| body + j)
        && !already_hidden(&u[colon + 1..at])
    {
        out.push_str(&u[..colon + 1]);
        out.push_str(MASK);
        copied = at;
    }
    if let Some(q) = u[auth_end..].find('?').map(|j| auth_end + j) {
        let q_end = u[q..].find('#').map(|j| q + j).unwrap_or(u.len());
        let mut pos = q + 1;
        for pair in u[q + 1..q_end].split(['&', ';']) {
            if let Some((k, v)) = pair.split_once('=')
                && !already_hidden(v)
                && is_secret_query_key(k)
            {
                let v_start = pos + k.len() + 1;
                out.push_str(&u[copied..v_start]);
                out.push_str(MASK);
                copied = v_start + v.len();
            }
            pos += pair.len() + 1;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(u);
    }
    out.push_str(&u[copied..]);
    Cow::Owned(out)
}

/// The cockpit's one percent-encoder (every byte but RFC 3986's unreserved `A-Z a-z 0-9 - . _ ~`
/// is encoded). It lives here, at the bottom, because the redactor must know exactly what the
/// clients put in a URL; `clients::http::percent_encode` is this function.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
}

const UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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

    #[test]
    fn url_passwords_and_secret_query_values_are_masked() {
        assert_eq!(
            url("http://ops:plainTokenABC123@db.example.com:8080/x?a=1&Access_Token=zz#f"),
            "http://ops:‹secret›@db.example.com:8080/x?a=1&Access_Token=‹secret›#f"
        );
        assert_eq!(url("https://h/p?sig=abc"), "https://h/p?sig=‹secret›");
        assert_eq!(url("https://user@h/p?page=2"), "https://user@h/p?page=2");
        assert_eq!(
            url("https://u:${env:PW}@h/?key=${env:K}"),
            "https://u:${env:PW}@h/?key=${env:K}"
        );
        let t = "GET http://a:b@h/x failed; see \"https://h/?X-Amz-Signature=f00\"";
        let once = redact(t).into_owned();
        assert_eq!(
            once,
            "GET http://a:‹secret›@h/x failed; see \"https://h/?X-Amz-Signature=‹secret›\""
        );
        assert_eq!(redact(&once), once);
    }

    #[test]
    fn labels_are_not_redacted_again() {
        register("ecret st", "step x: url");
        let once = redact("a ecret st b").into_owned();
        assert_eq!(once, "a ‹secret step x: url› b");
        assert_eq!(redact(&once), once);
    }
}
