//! The architecture's arrows, checked (issue 17). Modules are layered and may only use modules on
//! a lower floor: `redact` and `plan` at the bottom, the clients and the journal's record above
//! them, then the probes and the steps, then the engine (`app`), the screen (`ui`) and the
//! simulator, and the runtime on top. The check reads `src/**/*.rs` for `crate::MODULE`
//! references (and `super::` paths that climb to the crate root); every reference that points up
//! or sideways is printed as `file:line` and fails the test, unless it is in one of the two
//! exception lists below, each entry with its reason.
//!
//! Also here: the read-only HTTP transport has no way around its guard.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drcockpit::clients::http::{HttpClient, HttpError, RequestSpec};

/// Each top module's floor: a module may use modules on strictly lower floors only.
///
/// * `cli` is the command line's definition (clap types, `outln!`, the version text): it needs
///   only `plan`, and `runtime` (and `ui`'s debug-log header) read it, so it sits low.
/// * `journal` is the record (events, writer, lock, report): the steps produce its events and
///   every floor above reads it; it needs only `plan` and `redact`.
/// * `sim` is a test double: only `runtime` (demo, simulate) and the tests reach it; it plays the
///   world through the clients' protocols.
const FLOORS: &[(&str, u8)] = &[
    ("redact", 0),
    ("plan", 1),
    ("cli", 2),
    ("clients", 2),
    ("journal", 2),
    ("probes", 3),
    ("steps", 4),
    ("notify", 4),
    ("report", 5),
    ("app", 5),
    ("ui", 6),
    ("sim", 6),
    ("runtime", 7),
];

/// Edges someone is removing right now (issue 17 emptied it: steps report through their own
/// `steps::StepEvent`, no longer `app::Msg`). While a refactor is under way, its edge goes here
/// as `(file or folder, module it may still use, who removes it)`; an entry that no longer matches
/// anything fails the test, so it cannot be forgotten once the branch lands.
const KNOWN_BEING_FIXED: &[(&str, &str, &str)] = &[];

/// Edges that stay for now, with the reason. Each is a known debt with a named way out; an entry
/// that no longer matches anything fails the test.
const JUSTIFIED: &[(&str, &str, &str)] = &[(
    "src/probes/dns.rs",
    "steps",
    "the DNS panel shows until when resolvers may hold the old answer, from what dns.switch \
         saw (steps::dns::caches_until, an in-memory hand-over issue 17 moves into the journal)",
)];

fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/app/update/input.rs` → `["app", "update", "input"]`; `mod.rs` names its folder.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_start_matches("src/")
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The source with `//` comments blanked (same length, so offsets keep their line numbers).
fn without_comments(src: &str) -> String {
    src.lines()
        .map(|l| {
            let mut in_str = false;
            let b = l.as_bytes();
            let mut cut = l.len();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'\\' if in_str => i += 1,
                    b'"' => in_str = !in_str,
                    b'/' if !in_str && b.get(i + 1) == Some(&b'/') => {
                        cut = i;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            l[..cut].to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top modules named right after `crate::` at `rest`: one, or each item of a `{…}` group.
fn named_after(rest: &str) -> Vec<String> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident_at(rest).to_string()];
    };
    let mut depth = 0;
    let mut out = Vec::new();
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if c.is_whitespace() => {}
            _ if item_start => {
                out.push(ident_at(&group[i..]).to_string());
                item_start = false;
            }
            _ => {}
        }
    }
    out
}

/// Every `(file, line, from module, to module)` reference between two top modules.
fn references() -> Vec<(String, usize, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut refs = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let path = module_path(&rel);
        let Some(from) = path.first().filter(|m| floor(m).is_some()).cloned() else {
            continue; // lib.rs, main.rs
        };
        let src = without_comments(&std::fs::read_to_string(&f).unwrap_or_default());
        let line_of = |at: usize| src[..at].matches('\n').count() + 1;
        for (at, _) in src.match_indices("crate::") {
            // `$crate::` in a macro is the crate too.
            for to in named_after(&src[at + "crate::".len()..]) {
                refs.push((rel.clone(), line_of(at), from.clone(), to));
            }
        }
        // `super::super::x` that climbs out of the file's top module to the crate root.
        for (at, _) in src.match_indices("super::") {
            if at >= 7 && &src[at - 7..at] == "super::" {
                continue; // counted from the first `super::` of the chain
            }
            let mut rest = &src[at..];
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if ups == path.len() {
                for to in named_after(rest) {
                    refs.push((rel.clone(), line_of(at), from.clone(), to));
                }
            }
        }
    }
    refs.retain(|(_, _, from, to)| floor(to).is_some() && from != to);
    refs
}

fn excepted<'a>(
    list: &'a [(&'a str, &'a str, &'a str)],
    file: &str,
    to: &str,
) -> Option<&'a (&'a str, &'a str, &'a str)> {
    list.iter()
        .find(|(f, m, _)| file.starts_with(f) && *m == to)
}

#[test]
fn layers_point_one_way() {
    let refs = references();
    assert!(
        refs.len() > 100,
        "the scan found only {} cross-module references: is it reading src/?",
        refs.len()
    );
    let mut bad = Vec::new();
    let mut used: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (file, line, from, to) in &refs {
        let (Some(a), Some(b)) = (floor(from), floor(to)) else {
            continue;
        };
        if a > b {
            continue;
        }
        if let Some((f, m, _)) =
            excepted(KNOWN_BEING_FIXED, file, to).or_else(|| excepted(JUSTIFIED, file, to))
        {
            used.insert((f, m));
            continue;
        }
        bad.push(format!(
            "{file}:{line}: {from} (floor {a}) uses crate::{to} (floor {b}): the arrow points up"
        ));
    }
    let stale: Vec<String> = KNOWN_BEING_FIXED
        .iter()
        .chain(JUSTIFIED)
        .filter(|(f, m, _)| !used.contains(&(*f, *m)))
        .map(|(f, m, why)| format!("{f} -> {m} ({why}): no longer used; remove the entry"))
        .collect();
    for l in &bad {
        eprintln!("{l}");
    }
    for l in &stale {
        eprintln!("{l}");
    }
    assert!(
        bad.is_empty() && stale.is_empty(),
        "{} reference(s) against the layers, {} stale exception(s):\n{}\n{}",
        bad.len(),
        stale.len(),
        bad.join("\n"),
        stale.join("\n")
    );
}

#[test]
fn every_top_module_has_a_floor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    for l in lib.lines() {
        if let Some(m) = l.trim().strip_prefix("pub mod ") {
            let m = m.trim_end_matches(';').trim();
            if m.contains('{') {
                continue; // an inline module (`exit`)
            }
            assert!(
                floor(m).is_some(),
                "module `{m}` has no floor in tests/layers.rs FLOORS: decide where it sits"
            );
        }
    }
}

#[test]
fn the_scanner_sees_groups_and_super_paths() {
    assert_eq!(
        named_after("{app::{Level, Reading}, plan::Plan};"),
        vec!["app", "plan"]
    );
    assert_eq!(named_after("journal::Event"), vec!["journal"]);
    assert_eq!(module_path("src/app/update/mod.rs"), vec!["app", "update"]);
    assert_eq!(
        without_comments("let u = \"http://x\"; // crate::app"),
        "let u = \"http://x\"; "
    );
}

// ------------------------------------------------------------ the read-only transport

/// Every public method of `HttpClient`. One that sends a request must be covered by
/// `a_read_only_client_refuses_every_mutation_before_anything_leaves` below; none may hand out
/// the unguarded `reqwest::Client` (the removed `raw()` did).
const HTTP_CLIENT_PUBLIC: &[&str] = &[
    "new",
    "with_ca_bundle",
    "is_read_only",
    "refused_count",
    "with_read_retries",
    "guard",
    "send",
    "get",
];

#[test]
fn http_client_hands_out_no_unguarded_transport() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("src/clients/http.rs")).expect("http.rs");
    let start = src.find("impl HttpClient {").expect("impl HttpClient");
    let body = &src[start..];
    let end = body.find("\n}\n").expect("end of impl HttpClient");
    let body = &body[..end];
    let mut public = Vec::new();
    for l in body.lines().map(str::trim) {
        let sig = l
            .strip_prefix("pub fn ")
            .or_else(|| l.strip_prefix("pub async fn "));
        if let Some(sig) = sig {
            public.push(ident_at(sig).to_string());
            assert!(
                !l.contains("reqwest::"),
                "HttpClient::{} exposes a reqwest type: that bypasses the read-only guard\n{l}",
                ident_at(sig)
            );
        }
    }
    assert_eq!(
        public, HTTP_CLIENT_PUBLIC,
        "HttpClient's public methods changed: a method that sends must refuse mutations on a \
         read-only client (add it to the read-only test), and none may return the inner client"
    );
    let def = src
        .find("pub struct HttpClient {")
        .expect("struct HttpClient");
    let fields = &src[def..def + src[def..].find('}').unwrap_or(0)];
    assert!(
        !fields.contains("pub inner") && !fields.contains("pub(crate) inner"),
        "the inner reqwest client must stay private"
    );
}

#[tokio::test]
async fn a_read_only_client_refuses_every_mutation_before_anything_leaves() {
    // A listener that must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/v1/thing", listener.local_addr().expect("addr"));
    let client = HttpClient::new(true);
    let methods = [
        "POST", "PUT", "PATCH", "DELETE", "post", "Delete", "OPTIONS", "PROPFIND",
    ];
    for (n, m) in methods.iter().enumerate() {
        let spec = RequestSpec {
            method: (*m).into(),
            url: url.clone(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some("{}".into()),
        };
        match client.send(&spec, Duration::from_secs(2)).await {
            Err(HttpError::ReadOnly { method, .. }) => {
                assert_eq!(method, m.to_ascii_uppercase())
            }
            other => panic!("{m} on a read-only client: {other:?}"),
        }
        assert!(client.guard(m, &url).is_err(), "guard lets {m} through");
        assert_eq!(client.refused_count(), 2 * (n as u64 + 1));
    }
    assert!(
        matches!(
            listener.accept(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        ),
        "a refused request reached the network"
    );
    // Reads go through (and do reach the server).
    assert!(client.guard("GET", &url).is_ok() && client.guard("head", &url).is_ok());
}
