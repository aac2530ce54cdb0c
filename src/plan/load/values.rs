//! Values of the plan as the loader reads them: references resolved (and secrets registered
//! with the redactor), URLs checked once resolved, durations, sizes; and the error list that
//! lets one load report every problem it finds.

use std::time::Duration;

use super::spans::{Seg, at, dotted, step_id_of};
use super::{Cx, LITERAL_SECRET_KEYS, MAX_ERRORS, PlanError};
use crate::plan::refs;
use crate::plan::units::{parse_bytes, parse_duration};

impl Cx<'_, '_> {
    /// Resolve references in a key that may hold a secret.
    pub(super) fn secret(&mut self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
        let used_at = self.used_at(path);
        let resolved = refs::resolve_for(value, &used_at, &mut self.refs)
            .map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))?;
        // A credential written into the plan itself (not as a reference) is still a credential:
        // registered like resolved references, so it never reaches a screen, log or journal.
        if let Some(Seg::K(key)) = path.last()
            && LITERAL_SECRET_KEYS.contains(key)
            && !refs::has_reference(value)
        {
            crate::redact::register(&resolved, &used_at);
        }
        Ok(resolved)
    }

    /// Where a value is used, which labels it in redacted output (`‹secret qovery.token›`,
    /// `‹secret step notify: header Authorization›`); never the text of its reference.
    pub(super) fn used_at(&self, path: &[Seg<'_>]) -> String {
        let [Seg::K("step"), Seg::I(i), rest @ ..] = path else {
            return dotted(path);
        };
        let id = step_id_of(self.doc, &["step".into(), i.to_string()])
            .unwrap_or_else(|| (i + 1).to_string());
        let what = match rest {
            [Seg::K("headers"), Seg::K(k)] => format!("header {k}"),
            [Seg::K("env"), Seg::K(k)] => format!("env {k}"),
            [Seg::K("command"), Seg::I(0)] => "program".into(),
            [Seg::K("command"), Seg::I(n)] => format!("argument {n}"),
            _ => dotted(rest),
        };
        format!("step {id}: {what}")
    }

    /// A URL is checked after its references are resolved: a `/`, `?`, `#` or `@` inside a
    /// secret moves the host, port or path (`https://ops:ab/cd@host` is host `ops`, port `ab`),
    /// and pieces of the secret would then be shown as a host or path. The error names the key
    /// and its references, never the value.
    pub(super) fn check_url(
        &mut self,
        path: &[Seg<'_>],
        value: &str,
        url: &str,
    ) -> Result<(), PlanError> {
        if !url.contains("://") || refs::is_placeholder(url) {
            return Ok(());
        }
        let names = refs::names(value);
        if names.is_empty() && !url.starts_with("http") {
            // A connection string written out in full is the driver's to judge.
            return Ok(());
        }
        let resolved = if names.is_empty() {
            String::new()
        } else {
            format!(" once {} is resolved", names.join(", "))
        };
        const HINT: &str = "a `/`, `?`, `#` or `@` inside a user name, password, path segment or query value must be percent-encoded (%2F, %3F, %23, %40)";
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                return Err(self.err(
                    at(path),
                    format!(
                        "`{}`{resolved}: not a valid URL ({e}); {HINT}",
                        dotted(path)
                    ),
                ));
            }
        };
        if names.is_empty() {
            return Ok(());
        }
        // The same URL with every secret replaced by a plain word: each part that holds no
        // reference must come out the same.
        let Some(expected) = refs::shape(value, &mut self.refs)
            .ok()
            .and_then(|s| reqwest::Url::parse(&s).ok())
        else {
            return Ok(());
        };
        let parts = |u: &reqwest::Url| {
            [
                ("scheme", Some(u.scheme().to_string())),
                ("host", u.host_str().map(str::to_string)),
                ("port", u.port().map(|p| p.to_string())),
                ("user name", Some(u.username().to_string())),
                ("password", u.password().map(str::to_string)),
                ("path", Some(u.path().to_string())),
                ("query", u.query().map(str::to_string)),
                ("fragment", u.fragment().map(str::to_string)),
            ]
        };
        for ((what, want), (_, got)) in parts(&expected).into_iter().zip(parts(&parsed)) {
            let holds_ref = want.as_deref().is_some_and(|w| w.contains("drcockpitref"));
            if want.is_some() != got.is_some() || (!holds_ref && want != got) {
                return Err(self.err(
                    at(path),
                    format!(
                        "`{}`{resolved}: the URL's {what} is not the one written; {HINT}",
                        dotted(path)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A key that takes no references (labels, ids, titles): `$${` unescapes.
    pub(super) fn lit(&self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
        refs::literal(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    pub(super) fn duration(&self, path: &[Seg<'_>], value: &str) -> Result<Duration, PlanError> {
        parse_duration(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    pub(super) fn bytes(&self, path: &[Seg<'_>], value: &str) -> Result<u64, PlanError> {
        parse_bytes(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    pub(super) fn url(&mut self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
        let url = self.secret(path, value)?;
        // Checking offline, a reference may not be resolved: the URL's shape is checked with a
        // plain word in its place (nothing to check when the reference is the whole URL).
        let unresolved = refs::is_placeholder(&url);
        let checked = if unresolved {
            match refs::shape(value, &mut self.refs) {
                Ok(s) if !s.starts_with("drcockpitref") => s,
                _ => return Ok(url),
            }
        } else {
            url.clone()
        };
        let scheme_ok = |u: &str| {
            let l = u.get(..8).unwrap_or(u).to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://")
        };
        if !scheme_ok(&checked) {
            let shown = if refs::has_reference(value) {
                format!("{} does not resolve to", refs::names(value).join(", "))
            } else {
                format!("`{value}` is not")
            };
            // `registry.example.com:5000/v2` (no scheme) is the usual slip: say what to write.
            let hint = if !value.contains("://") && !value.trim_start().starts_with("${") {
                format!(
                    "; write `https://{0}` (or `http://{0}` for a server without TLS)",
                    value.trim()
                )
            } else {
                String::new()
            };
            return Err(self.err(
                at(path),
                format!(
                    "`{}`: {shown} an http:// or https:// URL{hint}",
                    dotted(path)
                ),
            ));
        }
        if unresolved {
            if let Err(e) = reqwest::Url::parse(&checked) {
                return Err(self.err(
                    at(path),
                    format!("`{}`: not a valid URL ({e})", dotted(path)),
                ));
            }
        } else {
            self.check_url(path, value, &url)?;
        }
        Ok(url)
    }

    pub(super) fn opt_secret(
        &mut self,
        path: &[Seg<'_>],
        value: &Option<String>,
    ) -> Result<Option<String>, PlanError> {
        value.as_deref().map(|v| self.secret(path, v)).transpose()
    }

    /// Record a problem and go on, so that one load reports every problem it can find.
    pub(super) fn push(&mut self, e: PlanError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.not_shown += 1;
        }
    }

    /// The value, or `None` with the problem recorded.
    pub(super) fn keep<T>(&mut self, r: Result<T, PlanError>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }

    /// The value, or `fallback` with the problem recorded.
    pub(super) fn soft<T>(&mut self, r: Result<T, PlanError>, fallback: T) -> T {
        self.keep(r).unwrap_or(fallback)
    }
}
