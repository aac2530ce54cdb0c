//! Loading a plan: TOML parse with spans, validation, errors a person can act on.
//!
//! Two passes over the same text: `toml::from_str` into [`raw::PlanFile`] (the shape, with
//! `deny_unknown_fields`), and `toml::de::DeTable::parse` for the span of every key and value, so
//! each validation error points at `origin:line:col` of the exact key it is about.
//!
//! Step kinds are dispatched through [`FAMILIES`]: a family is a slice of [`KindSpec`] (name,
//! the keys the kind takes, a builder). Adding a family is one entry there.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::condition::Condition;
use super::raw;
use super::refs::{self, RefContext};
use super::units::{parse_bytes, parse_duration};
use super::*;

/// How references resolve while loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// What `${sim}` expands to; `None` makes `${sim}` an error unless `DRCOCKPIT_SIM_URL` is set.
    pub sim_url: Option<String>,
    /// Whether `${cmd:…}` references are run (`check` does not run them).
    pub run_commands: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            sim_url: None,
            run_commands: true,
        }
    }
}

/// A plan that could not be loaded: where, which key, what was expected, and a suggestion.
/// Dereferences to [`PlanErrorInfo`] (`e.line`, `e.key`, …) of the first problem; displays as
/// every problem found in one pass (up to [`MAX_ERRORS`]), so a plan with three mistakes is
/// fixed in one round, not three.
#[derive(Debug, Clone)]
pub struct PlanError(Box<PlanErrorInfo>);

impl std::error::Error for PlanError {}

/// The most problems one load reports (the rest are counted).
pub const MAX_ERRORS: usize = 20;

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for e in &self.others {
            write!(f, "\n\n{}", e.message)?;
        }
        let shown = 1 + self.others.len();
        if shown > 1 || self.not_shown > 0 {
            write!(f, "\n\n{shown} problems in {}", self.origin)?;
            if self.not_shown > 0 {
                write!(f, " shown, {} more not shown", self.not_shown)?;
            }
        }
        Ok(())
    }
}

impl PlanError {
    /// Every problem, the first one first.
    pub fn all(&self) -> impl Iterator<Item = &PlanError> {
        std::iter::once(self).chain(self.others.iter())
    }
}

impl std::ops::Deref for PlanError {
    type Target = PlanErrorInfo;
    fn deref(&self) -> &PlanErrorInfo {
        &self.0
    }
}

impl std::ops::DerefMut for PlanError {
    fn deref_mut(&mut self) -> &mut PlanErrorInfo {
        &mut self.0
    }
}

/// The structured fields of a [`PlanError`]. `message` is the whole text to show
/// (`origin:line:col: …` and the offending line with a caret).
#[derive(Debug, Clone)]
pub struct PlanErrorInfo {
    pub message: String,
    /// The plan's path (or `<embedded …>`).
    pub origin: String,
    /// 1-based position of the problem, when it has one.
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// The key the problem is about, as written (e.g. `enviroment`, `timeout`).
    pub key: Option<String>,
    /// The id of the step the problem is in, if any.
    pub step: Option<String>,
    /// What would have been accepted there (key names, kind names, values).
    pub expected: Vec<String>,
    /// The near miss of `key` (or of a value) that was probably meant.
    pub suggestion: Option<String>,
    /// What is wrong, without location, expectations or suggestion.
    pub detail: String,
    /// Byte range in the plan text.
    span: Option<Range<usize>>,
    /// The other problems found in the same load, in plan order (at most [`MAX_ERRORS`] in all).
    pub others: Vec<PlanError>,
    /// Problems found beyond [`MAX_ERRORS`].
    pub not_shown: usize,
}

impl PlanError {
    fn new(origin: &str, text: Option<&str>, span: Option<Range<usize>>, detail: String) -> Self {
        let (line, col) = match (text, &span) {
            (Some(t), Some(s)) => {
                let (l, c) = line_col(t, s.start);
                (Some(l), Some(c))
            }
            _ => (None, None),
        };
        let mut e = PlanError(Box::new(PlanErrorInfo {
            message: String::new(),
            origin: origin.to_string(),
            line,
            col,
            key: None,
            step: None,
            expected: Vec::new(),
            suggestion: None,
            detail,
            span,
            others: Vec::new(),
            not_shown: 0,
        }));
        e.render(text);
        e
    }

    /// The byte range of the problem in the plan text.
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    fn render(&mut self, text: Option<&str>) {
        let span = self.span.clone();
        let mut m = match (self.line, self.col) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: ", self.origin),
            _ => format!("{}: ", self.origin),
        };
        m.push_str(&self.detail);
        if !self.expected.is_empty() {
            m.push_str("; expected ");
            if self.expected.len() > 1 {
                m.push_str("one of ");
            }
            let list: Vec<String> = self.expected.iter().map(|e| format!("`{e}`")).collect();
            m.push_str(&list.join(", "));
        }
        if let Some(s) = &self.suggestion {
            m.push_str(&format!(" — did you mean `{s}`?"));
        }
        if let (Some(t), Some(s), Some(l)) = (text, span, self.line) {
            m.push_str(&snippet(t, s, l));
        }
        self.message = crate::redact::redact_string(m);
    }
}

/// The offending line with a caret under the span.
fn snippet(text: &str, span: Range<usize>, line: usize) -> String {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let content = &text[line_start..line_end];
    let lead = text[line_start..start].chars().count();
    let end = span.end.clamp(start, line_end);
    let width = text[start..end].chars().count().max(1);
    let gutter = " ".repeat(line.to_string().len());
    format!(
        "\n{gutter} |\n{line} | {content}\n{gutter} | {}{}",
        " ".repeat(lead),
        "^".repeat(width)
    )
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The plan's text. A file that is not UTF-8 is refused at the line and column of its first
/// invalid byte (a plan saved as Latin-1, or a binary file given by mistake), with that line
/// shown and the byte marked.
pub fn read_plan_file(path: &Path) -> Result<String, PlanError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| PlanError::new(&origin, None, None, format!("cannot read the plan: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bad = e.as_bytes()[at];
        // Everything before `at` is valid, so offsets up to it are the same in the lossy copy,
        // where the bad byte became U+FFFD (3 bytes) for the snippet.
        let shown = String::from_utf8_lossy(e.as_bytes());
        PlanError::new(
            &origin,
            Some(&shown),
            Some(at..at + 3),
            format!(
                "the plan is not valid UTF-8: byte 0x{bad:02X} at offset {at}; save the file as UTF-8"
            ),
        )
    })
}

pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Plan, PlanError> {
    let text = read_plan_file(path)?;
    load_str(&text, &path.display().to_string(), opts)
}

pub fn load_str(text: &str, origin: &str, opts: &LoadOptions) -> Result<Plan, PlanError> {
    load_str_with_notes(text, origin, opts).map(|l| l.plan)
}

/// A loaded plan and what the operator should know about how it was loaded (e.g. `${cmd:…}`
/// references not run by `drcockpit check`).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub plan: Plan,
    pub notes: Vec<String>,
    /// References not resolved now that the plan needs at run time (`env QOVERY_API_TOKEN`,
    /// `file /etc/x`, `cmd vault …`): only when checking (`run_commands: false`).
    pub needed: Vec<String>,
}

pub fn load_file_with_notes(path: &Path, opts: &LoadOptions) -> Result<Loaded, PlanError> {
    let text = read_plan_file(path)?;
    load_str_with_notes(&text, &path.display().to_string(), opts)
}

pub fn load_str_with_notes(
    text: &str,
    origin: &str,
    opts: &LoadOptions,
) -> Result<Loaded, PlanError> {
    load_checking(text, origin, opts, false)
}

/// `drcockpit check [--strict] PLAN`. When references are not resolved to drive the plan
/// (`run_commands: false`), an `${env:…}` that is not set or a `${file:…}` that cannot be read
/// is not an error but listed in [`Loaded::needed`]; with `strict` it is an error as when
/// driving. A `${cmd:…}` is never run while checking.
pub fn load_checking(
    text: &str,
    origin: &str,
    opts: &LoadOptions,
    strict: bool,
) -> Result<Loaded, PlanError> {
    // Syntax first: DeTable gives spans for everything, and its errors are syntax errors.
    let doc = DeTable::parse(text).map_err(|e| {
        let msg = e.message().trim().replace('\n', "; ");
        PlanError::new(origin, Some(text), e.span(), format!("invalid TOML: {msg}"))
    })?;
    let file: raw::PlanFile =
        toml::from_str(text).map_err(|e| serde_error(&e, text, origin, doc.get_ref()))?;
    let base_dir = base_dir(origin);
    let mut refs = RefContext::new(opts.sim_url.clone(), opts.run_commands, base_dir);
    refs.allow_unresolved = !opts.run_commands && !strict;
    let mut cx = Cx {
        text,
        origin,
        doc: doc.get_ref(),
        refs,
        sites: Default::default(),
        qovery: None,
        dns: None,
        images: None,
        errors: Vec::new(),
        not_shown: 0,
    };
    let plan = cx.convert(file);
    let mut errors = std::mem::take(&mut cx.errors).into_iter();
    if let Some(mut first) = errors.next() {
        first.others = errors.collect();
        first.not_shown = cx.not_shown;
        return Err(first);
    }
    let plan = plan?;
    Ok(Loaded {
        plan,
        notes: cx.refs.notes,
        needed: cx.refs.needed,
    })
}

/// The directory relative `${file:…}` paths start from: the plan's, else the working directory.
fn base_dir(origin: &str) -> PathBuf {
    if origin.starts_with('<') {
        return PathBuf::from(".");
    }
    match Path::new(origin).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The closest of `candidates` to `word`, if close enough to be a plausible typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// ---------------------------------------------------------------------------------------------
// serde errors → PlanError

fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, p)| p.to_string())
        .collect()
}

/// How a serde path reads in a message: `sites.prod.health`, or `step `id`` + the rest.
fn pretty(doc: &DeTable<'_>, path: &[String]) -> (String, String) {
    if path.first().map(String::as_str) == Some("step") && path.len() >= 2 {
        let step = match step_id_of(doc, path) {
            Some(id) => format!("step `{id}`"),
            None => format!(
                "step {}",
                path[1]
                    .parse::<usize>()
                    .map_or(path[1].clone(), |i| (i + 1).to_string())
            ),
        };
        return (step, path[2..].join("."));
    }
    (String::new(), path.join("."))
}

fn serde_error(e: &toml::de::Error, text: &str, origin: &str, doc: &DeTable<'_>) -> PlanError {
    let msg = e.message().trim().to_string();
    let mut span = e.span();
    let place = span.as_ref().and_then(|s| path_at(doc, s.clone()));
    let (path, is_key) = place.clone().unwrap_or_default();
    let step = step_id_of(doc, &path);
    // "step `a`: " / "" and the key path within it.
    let (step_part, key_path) = pretty(doc, &path);
    let lead = if step_part.is_empty() {
        String::new()
    } else {
        format!("{step_part}: ")
    };
    let table_of = |p: &[String]| -> String {
        let (st, rest) = pretty(doc, p);
        match (st.is_empty(), rest.is_empty()) {
            (true, true) => " at the top level".into(),
            (true, false) => format!(" in `[{rest}]`"),
            (false, true) => String::new(),
            (false, false) => format!(" in `{rest}`"),
        }
    };
    let finish = |detail: String,
                  span: Option<Range<usize>>,
                  key: Option<String>,
                  expected: Vec<String>,
                  suggestion: Option<String>| {
        let mut err = PlanError::new(origin, Some(text), span, detail);
        err.key = key;
        err.expected = expected;
        err.suggestion = suggestion;
        err.step = step.clone();
        err.render(Some(text));
        err
    };
    if msg.starts_with("unknown field") || msg.starts_with("unknown variant") {
        let mut words = backticked(&msg);
        if !words.is_empty() {
            let word = words.remove(0);
            let suggestion = suggest(&word, words.iter().map(String::as_str)).map(str::to_string);
            let detail = if msg.starts_with("unknown field") || is_key {
                let parent = &path[..path.len().saturating_sub(1)];
                format!("{lead}unknown key `{word}`{}", table_of(parent))
            } else {
                format!("{lead}`{key_path}`: unknown value `{word}`")
            };
            return finish(detail, span, Some(word), words, suggestion);
        }
    }
    if msg.contains("untagged enum Health") {
        // Say which key of a health table is wrong, rather than "no variant matched".
        const KEYS: [&str; 3] = ["url", "expect_status", "timeout"];
        let value = path_value(doc, &path);
        if let Some(t) = value.and_then(|v| v.get_ref().as_table()) {
            if let Some((k, _)) = t
                .iter()
                .find(|(k, _)| !KEYS.contains(&k.get_ref().as_ref()))
            {
                let word = k.get_ref().to_string();
                return finish(
                    format!("unknown key `{word}` in `{key_path}`"),
                    Some(k.span()),
                    Some(word.clone()),
                    KEYS.iter().map(|k| k.to_string()).collect(),
                    suggest(&word, KEYS).map(str::to_string),
                );
            }
            if !t.contains_key("url") {
                return finish(
                    format!("`{key_path}` needs `url`"),
                    span,
                    Some("url".into()),
                    vec![],
                    None,
                );
            }
        }
        return finish(
            format!(
                "`{key_path}`: expected a health URL string, or a table with `url`, `expect_status` (list of numbers) and `timeout` (e.g. \"3s\")"
            ),
            span,
            path.last().cloned(),
            vec![],
            None,
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let key = backticked(rest).into_iter().next().unwrap_or_default();
        // Point at the table's header (or its first line), not the whole table.
        if let Some(s) = &span {
            let end = text[s.start..]
                .find('\n')
                .map_or(s.end, |i| s.start + i)
                .min(s.end);
            span = Some(s.start..end);
        }
        return finish(
            format!("{lead}missing required key `{key}`{}", table_of(&path)),
            span,
            Some(key),
            vec![],
            None,
        );
    }
    let detail = if key_path.is_empty() {
        format!("{lead}{msg}")
    } else {
        format!("{lead}`{key_path}`: {msg}")
    };
    finish(detail, span, path.last().cloned(), vec![], None)
}

/// The value at a serde path (`["sites", "prod", "health"]`, array indices as numbers).
fn path_value<'a, 'i>(doc: &'a DeTable<'i>, path: &[String]) -> Option<&'a Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let mut v = doc.get(first.as_str())?;
    for seg in rest {
        v = match v.get_ref() {
            DeValue::Table(t) => t.get(seg.as_str())?,
            DeValue::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The dotted path of the key (`true`) or value (`false`) at exactly `span`.
fn path_at(doc: &DeTable<'_>, span: Range<usize>) -> Option<(Vec<String>, bool)> {
    fn walk_value(
        v: &Spanned<DeValue<'_>>,
        span: &Range<usize>,
        path: &mut Vec<String>,
    ) -> Option<bool> {
        if let Some(t) = v.get_ref().as_table() {
            if let Some(found) = walk_table(t, span, path) {
                return Some(found);
            }
        } else if let Some(a) = v.get_ref().as_array() {
            for (i, item) in a.iter().enumerate() {
                path.push(i.to_string());
                if let Some(found) = walk_value(item, span, path) {
                    return Some(found);
                }
                path.pop();
            }
        }
        (v.span() == *span).then_some(false)
    }
    fn walk_table(t: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> Option<bool> {
        for (k, v) in t.iter() {
            path.push(k.get_ref().to_string());
            if k.span() == *span {
                return Some(true);
            }
            if let Some(found) = walk_value(v, span, path) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
    let mut path = Vec::new();
    walk_table(doc, &span, &mut path).map(|is_key| (path, is_key))
}

/// `["step", "3", …]` → the id of step 3, if it has one.
fn step_id_of(doc: &DeTable<'_>, path: &[String]) -> Option<String> {
    if path.first().map(String::as_str) != Some("step") {
        return None;
    }
    let i: usize = path.get(1)?.parse().ok()?;
    let step = doc.get("step")?.get_ref().as_array()?.get(i)?;
    step.get_ref()
        .as_table()?
        .get("id")?
        .get_ref()
        .as_str()
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// Validation and conversion

/// A path segment into the document.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    K(&'a str),
    I(usize),
}

struct Cx<'t, 'd> {
    text: &'t str,
    origin: &'t str,
    doc: &'d DeTable<'t>,
    refs: RefContext,
    /// The sites and `[qovery]` as converted, for kinds that act on them (`qovery.*`).
    sites: [Site; 2],
    qovery: Option<QoveryConfig>,
    /// `[dns]`, converted before the steps (DNS steps copy it in).
    dns: Option<DnsConfig>,
    /// `[images]`, converted before the steps (`qovery.set_image` reads its services).
    images: Option<ImagesConfig>,
    /// Problems found so far; loading goes on past one so that all are reported at once.
    errors: Vec<PlanError>,
    /// Problems beyond [`MAX_ERRORS`].
    not_shown: usize,
}

/// What a validation error is about.
struct At<'a> {
    path: Vec<Seg<'a>>,
    /// Point at the key (true) or at its value (false).
    key: bool,
}

fn at<'a>(path: &[Seg<'a>]) -> At<'a> {
    At {
        path: path.to_vec(),
        key: false,
    }
}
fn at_key<'a>(path: &[Seg<'a>]) -> At<'a> {
    At {
        path: path.to_vec(),
        key: true,
    }
}

/// `sites.prod.label`; inside a step (whose id the message already names) just `timeout`.
fn dotted(path: &[Seg<'_>]) -> String {
    let path = match path {
        [Seg::K("step"), Seg::I(_), rest @ ..] if !rest.is_empty() => rest,
        _ => path,
    };
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::K(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::I(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

impl<'t> Cx<'t, '_> {
    /// The span of the key (or value) at `path`, or of the closest existing ancestor.
    fn span(&self, a: &At<'_>) -> Option<Range<usize>> {
        let mut table: Option<&DeTable<'t>> = Some(self.doc);
        let mut current: Option<&Spanned<DeValue<'t>>> = None;
        let mut best: Option<Range<usize>> = None;
        let last = a.path.len().saturating_sub(1);
        for (n, seg) in a.path.iter().enumerate() {
            match seg {
                Seg::K(k) => {
                    let t = table?;
                    let Some((key, value)) = t.get_key_value(*k) else {
                        return best;
                    };
                    best = Some(if a.key && n == last {
                        key.span()
                    } else {
                        value.span()
                    });
                    current = Some(value);
                }
                Seg::I(i) => {
                    let arr = current.and_then(|v| v.get_ref().as_array());
                    let Some(item) = arr.and_then(|arr| arr.get(*i)) else {
                        return best;
                    };
                    best = Some(item.span());
                    current = Some(item);
                }
            }
            table = current.and_then(|v| v.get_ref().as_table());
        }
        best
    }

    fn err(&self, a: At<'_>, detail: String) -> PlanError {
        let span = self.span(&a);
        let mut e = PlanError::new(self.origin, Some(self.text), span, detail);
        e.key = a.path.iter().rev().find_map(|s| match s {
            Seg::K(k) => Some(k.to_string()),
            Seg::I(_) => None,
        });
        e
    }

    fn err_full(
        &self,
        a: At<'_>,
        detail: String,
        expected: Vec<String>,
        suggestion: Option<String>,
        step: Option<&str>,
    ) -> PlanError {
        let mut e = self.err(a, detail);
        e.expected = expected;
        e.suggestion = suggestion;
        e.step = step.map(str::to_string);
        e.render(Some(self.text));
        e
    }

    /// Resolve references in a key that may hold a secret.
    fn secret(&mut self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
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
    fn used_at(&self, path: &[Seg<'_>]) -> String {
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
    fn check_url(&mut self, path: &[Seg<'_>], value: &str, url: &str) -> Result<(), PlanError> {
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
    fn lit(&self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
        refs::literal(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    fn duration(&self, path: &[Seg<'_>], value: &str) -> Result<Duration, PlanError> {
        parse_duration(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    fn bytes(&self, path: &[Seg<'_>], value: &str) -> Result<u64, PlanError> {
        parse_bytes(value).map_err(|m| self.err(at(path), format!("`{}`: {m}", dotted(path))))
    }

    fn url(&mut self, path: &[Seg<'_>], value: &str) -> Result<String, PlanError> {
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

    fn opt_secret(
        &mut self,
        path: &[Seg<'_>],
        value: &Option<String>,
    ) -> Result<Option<String>, PlanError> {
        value.as_deref().map(|v| self.secret(path, v)).transpose()
    }

    /// Record a problem and go on, so that one load reports every problem it can find.
    fn push(&mut self, e: PlanError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.not_shown += 1;
        }
    }

    /// The value, or `None` with the problem recorded.
    fn keep<T>(&mut self, r: Result<T, PlanError>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }

    /// The value, or `fallback` with the problem recorded.
    fn soft<T>(&mut self, r: Result<T, PlanError>, fallback: T) -> T {
        self.keep(r).unwrap_or(fallback)
    }

    /// The plan, going on past problems (recorded in `errors`): the caller reports them all
    /// and never uses a plan converted with any.
    fn convert(&mut self, f: raw::PlanFile) -> Result<Plan, PlanError> {
        if let Some(v) = f.version
            && v != 1
        {
            let e = self.err(
                at(&[Seg::K("version")]),
                format!(
                    "plan format version {v} is not supported by this build; it reads version 1"
                ),
            );
            self.push(e);
        }
        let meta = &f.plan;
        let r = self.strategy(&meta.strategy);
        let strategy = self.soft(r, Strategy::WarmStandby);
        let r = self.duration(&[Seg::K("plan"), Seg::K("rto")], &meta.rto);
        let rto = self.soft(r, Duration::ZERO);
        let r = self.duration(&[Seg::K("plan"), Seg::K("rpo")], &meta.rpo);
        let rpo = self.soft(r, Duration::ZERO);
        let r = self.lit(&[Seg::K("plan"), Seg::K("name")], &meta.name);
        let name = self.keep(r).unwrap_or_else(|| "?".into());
        if name.trim().is_empty() {
            let e = self.err(
                at(&[Seg::K("plan"), Seg::K("name")]),
                "`plan.name` is empty; it is shown in the header".into(),
            );
            self.push(e);
        }
        let r = meta
            .description
            .as_deref()
            .map(|d| self.lit(&[Seg::K("plan"), Seg::K("description")], d))
            .transpose();
        let description = self.soft(r, None);
        let r = f.qovery.as_ref().map(|q| self.qovery(q)).transpose();
        let qovery = self.soft(r, None);
        let r = self.site("prod", &f.sites.prod);
        let prod = self.soft(r, Site::default());
        let r = self.site("dr", &f.sites.dr);
        let dr = self.soft(r, Site::default());
        let images = f.images.as_ref().map(images);
        let r = f.dns.as_ref().map(|d| self.dns(d)).transpose();
        let dns = self.soft(r, None);
        let r = self.probes(f.probes.as_ref());
        let probes = self.soft(r, ProbeSettings::default());
        if let Some(dir) = f.journal.as_ref().and_then(|j| j.dir.as_deref())
            && !std::path::Path::new(dir).is_absolute()
        {
            let e = self.err(
                at(&[Seg::K("journal"), Seg::K("dir")]),
                format!("`journal.dir` = \"{dir}\" must be an absolute path: the plan's lock must be the same directory for everyone who opens the plan, from any checkout"),
            );
            self.push(e);
        }
        self.sites = [prod.clone(), dr.clone()];
        self.qovery = qovery.clone();
        self.dns = dns.clone();
        self.images = images.clone();
        let mut steps: Vec<Step> = Vec::with_capacity(f.steps.len());
        // Index of the first step with each id: a scan of `steps` per step made `check`
        // quadratic in the plan's length.
        let mut first_with_id: std::collections::HashMap<String, usize> =
            std::collections::HashMap::with_capacity(f.steps.len());
        for (i, s) in f.steps.iter().enumerate() {
            let r = self.step(i, s);
            let Some(step) = self.keep(r) else {
                continue;
            };
            if let Some(&first) = first_with_id.get(&step.id) {
                let first_line = self
                    .span(&at(&[Seg::K("step"), Seg::I(first), Seg::K("id")]))
                    .map(|s| line_col(self.text, s.start).0);
                let also = first_line
                    .map(|l| format!(" (first used on line {l})"))
                    .unwrap_or_default();
                let e = self.err_full(
                    at(&[Seg::K("step"), Seg::I(i), Seg::K("id")]),
                    format!(
                        "duplicate step id `{}`{also}; step ids must be unique (the journal and --resume use them)",
                        step.id
                    ),
                    vec![],
                    None,
                    Some(&step.id),
                );
                self.push(e);
                continue;
            }
            first_with_id.insert(step.id.clone(), i);
            steps.push(step);
        }
        let plan = Plan {
            name,
            strategy,
            rto,
            rpo,
            description,
            source: self.origin.to_string(),
            hash: sha256_hex(self.text),
            sites: [prod, dr],
            qovery,
            images,
            dns,
            probes,
            steps,
        };
        // These read the plan as a whole: after a problem, they would only repeat it.
        if !self.errors.is_empty() {
            return Ok(plan);
        }
        let r = self.condition_targets(&plan);
        self.keep(r);
        if let Some((i, msg)) = crate::steps::postgres::check_sites(&plan) {
            let id = plan.steps[i].id.clone();
            let e = self.err_full(
                at(&[Seg::K("step"), Seg::I(i)]),
                msg,
                vec![],
                None,
                Some(&id),
            );
            self.push(e);
        }
        Ok(plan)
    }

    /// Every condition must be able to become known: its section configured for its site (as
    /// the panels decide it), and, where this build knows a section's fields, a real field.
    fn condition_targets(&self, plan: &Plan) -> Result<(), PlanError> {
        for (i, step) in plan.steps.iter().enumerate() {
            let conds: &[Condition] = match &step.action {
                StepAction::Check { conditions } | StepAction::Wait { conditions, .. } => {
                    conditions
                }
                _ => &[],
            };
            for (key, list) in [("requires", &step.requires[..]), ("conditions", conds)] {
                for (n, c) in list.iter().enumerate() {
                    let a = || at(&[Seg::K("step"), Seg::I(i), Seg::K(key), Seg::I(n)]);
                    let mut parts = c.path.splitn(3, '.');
                    let (Some(site), Some(section), Some(field)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        continue;
                    };
                    let site_id = if site == "prod" {
                        SiteId::Prod
                    } else {
                        SiteId::Dr
                    };
                    if let Some(needs) = unconfigured(plan, site_id, section) {
                        return Err(self.err_full(
                            a(),
                            format!(
                                "step `{}`: `{}` could never be known: {needs}",
                                step.id, c.text
                            ),
                            vec![],
                            None,
                            Some(&step.id),
                        ));
                    }
                    let Some((_, fields)) = SECTION_FIELDS.iter().find(|(s, _)| *s == section)
                    else {
                        continue;
                    };
                    if !matches!(field, "down_for" | "healthy") && !fields.contains(&field) {
                        let all = fields.iter().copied().chain(["down_for", "healthy"]);
                        let mut e = self.err_full(
                            a(),
                            format!(
                                "step `{}`: `{}`: the {section} section has no field `{field}`",
                                step.id, c.text
                            ),
                            all.clone().map(str::to_string).collect(),
                            suggest(field, all).map(|f| format!("{site}.{section}.{f}")),
                            Some(&step.id),
                        );
                        e.key = Some(key.to_string());
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    fn strategy(&self, s: &str) -> Result<Strategy, PlanError> {
        const NAMES: &[&str] = &[
            "backup-restore",
            "pilot-light",
            "warm-standby",
            "active-active",
        ];
        Ok(match s.trim() {
            "backup-restore" => Strategy::BackupRestore,
            "pilot-light" => Strategy::PilotLight,
            "warm-standby" => Strategy::WarmStandby,
            "active-active" => Strategy::ActiveActive,
            other => {
                return Err(self.err_full(
                    at(&[Seg::K("plan"), Seg::K("strategy")]),
                    format!("`plan.strategy`: unknown strategy `{other}`"),
                    NAMES.iter().map(|s| s.to_string()).collect(),
                    suggest(other, NAMES.iter().copied()).map(str::to_string),
                    None,
                ));
            }
        })
    }

    fn qovery(&mut self, q: &raw::Qovery) -> Result<QoveryConfig, PlanError> {
        let p = |k| [Seg::K("qovery"), Seg::K(k)];
        // Like the official CLI, `QOVERY_CLI_ACCESS_TOKEN` (then `Q_CLI_ACCESS_TOKEN`) replaces
        // the plan's token: the plan's reference is then not needed, so it is not resolved
        // (nor its command run). The client takes (and registers) the variable itself.
        let env_token = crate::clients::qovery::env_overrides_enabled()
            .then(|| {
                ["QOVERY_CLI_ACCESS_TOKEN", "Q_CLI_ACCESS_TOKEN"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            })
            .flatten();
        let token = match env_token {
            Some(t) if refs::has_reference(&q.token) => {
                let t = t.trim().to_string();
                crate::redact::register(&t, "qovery.token");
                t
            }
            _ => {
                let r = self.secret(&p("token"), &q.token);
                self.soft(r, refs::UNRESOLVED_PLACEHOLDER.to_string())
            }
        };
        let r = self.secret(&p("organization"), &q.organization);
        let organization = self.soft(r, refs::UNRESOLVED_PLACEHOLDER.to_string());
        let env_url = std::env::var("QOVERY_API_URL")
            .ok()
            .filter(|_| crate::clients::qovery::env_overrides_enabled());
        let api_url = match env_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
            _ => match &q.api_url {
                Some(u) => {
                    let r = self.url(&p("api_url"), u);
                    self.soft(r, String::new())
                        .trim_end_matches('/')
                        .to_string()
                }
                None => "https://api.qovery.com".into(),
            },
        };
        // HTTP authentication schemes are case-insensitive (RFC 9110 §11.1): `Bearer` is
        // `bearer`. The spec's `bearerAuth` has `bearerFormat: JWT`, so `jwt` means `bearer`.
        let auth = q.auth.as_deref().map(|a| a.trim().to_ascii_lowercase());
        let auth_scheme = match auth.as_deref() {
            None => None,
            Some(a @ ("token" | "bearer")) => Some(a.to_string()),
            Some("jwt") => Some("bearer".to_string()),
            Some(other) => {
                let e = self.err_full(
                    at(&p("auth")),
                    format!("`qovery.auth`: unknown scheme `{other}`"),
                    vec!["token".into(), "bearer".into()],
                    suggest(other, ["token", "bearer"]).map(str::to_string),
                    None,
                );
                self.push(e);
                None
            }
        };
        Ok(QoveryConfig {
            api_url,
            token,
            auth_scheme,
            organization,
        })
    }

    fn site(&mut self, id: &'static str, s: &raw::Site) -> Result<Site, PlanError> {
        let base = [Seg::K("sites"), Seg::K(id)];
        let p = |k: &'static str| [base[0], base[1], Seg::K(k)];
        let r = self.lit(&p("label"), &s.label);
        let label = self.keep(r).unwrap_or_else(|| id.to_string());
        if label.trim().is_empty() {
            let e = self.err(
                at(&p("label")),
                format!("`sites.{id}.label` is empty; it titles the site's panel"),
            );
            self.push(e);
        }
        let r = self.opt_secret(&p("cluster"), &s.cluster);
        let cluster = self.soft(r, None);
        let r = self.opt_secret(&p("environment"), &s.environment);
        let environment = self.soft(r, None);
        let r = self.opt_secret(&p("dns_target"), &s.dns_target);
        let dns_target = self.soft(r, None);
        let r = s
            .database
            .as_ref()
            .map(|d| self.database(id, d))
            .transpose();
        let database = self.soft(r, None);
        let r = match &s.registry {
            None => Ok(None),
            Some(r) => (|| {
                let q = |k: &'static str| [base[0], base[1], Seg::K("registry"), Seg::K(k)];
                // Validated as a URL at load: `registry.example.com:5000` would otherwise fail
                // at the first probe with a TLS error that says nothing about the scheme.
                let url = self.url(&q("url"), &r.url)?;
                Ok(Some(RegistryConfig {
                    url,
                    username: self.opt_secret(&q("username"), &r.username)?,
                    password: self.opt_secret(&q("password"), &r.password)?,
                    ca_bundle: self.opt_secret(&q("ca_bundle"), &r.ca_bundle)?,
                    namespace: self.opt_secret(&q("namespace"), &r.namespace)?,
                }))
            })(),
        };
        let registry = self.soft(r, None);
        let r = (|| {
            Ok(match &s.health {
                None => None,
                Some(raw::Health::Url(u)) => Some(HealthConfig {
                    url: self.url(&p("health"), u)?,
                    expect_status: vec![200],
                    timeout: Duration::from_secs(5),
                }),
                Some(raw::Health::Full(h)) => {
                    let q = |k: &'static str| [base[0], base[1], Seg::K("health"), Seg::K(k)];
                    let timeout = match &h.timeout {
                        Some(t) => self.duration(&q("timeout"), t)?,
                        None => Duration::from_secs(5),
                    };
                    let expect_status =
                        self.statuses(&q("expect_status"), &h.expect_status, &[200])?;
                    Some(HealthConfig {
                        url: self.url(&q("url"), &h.url)?,
                        expect_status,
                        timeout,
                    })
                }
            })
        })();
        let health = self.soft(r, None);
        Ok(Site {
            label,
            cluster,
            environment,
            database,
            registry,
            dns_target,
            health,
        })
    }

    fn database(
        &mut self,
        id: &'static str,
        d: &raw::Database,
    ) -> Result<DatabaseConfig, PlanError> {
        let p = |k: &'static str| [Seg::K("sites"), Seg::K(id), Seg::K("database"), Seg::K(k)];
        let prometheus = match &d.prometheus {
            None => None,
            Some(pr) => {
                let q = |k: &'static str| {
                    [
                        Seg::K("sites"),
                        Seg::K(id),
                        Seg::K("database"),
                        Seg::K("prometheus"),
                        Seg::K(k),
                    ]
                };
                Some(PrometheusSource {
                    url: self.url(&q("url"), &pr.url)?,
                    lag_query: pr.lag_query.clone(),
                    replay_age_query: pr.replay_age_query.clone(),
                    backup_age_query: pr.backup_age_query.clone(),
                })
            }
        };
        let postgres = self.opt_secret(&p("postgres"), &d.postgres)?;
        if let (Some(v), Some(conn)) = (&d.postgres, &postgres) {
            self.check_url(&p("postgres"), v, conn)?;
        }
        if let Some(conn) = &postgres
            && !refs::is_placeholder(conn)
            && let Err(e) = crate::clients::postgres::PgTarget::parse(conn)
        {
            // Caught here rather than at the first probe: a typo in a connection string should
            // fail `drcockpit check`, not the 3 a.m. promotion.
            let detail = format!(
                "not a PostgreSQL connection string ({})",
                crate::redact::redact(&e.to_string())
            );
            return Err(self.err_full(
                at(&p("postgres")),
                detail,
                vec![
                    "postgresql://user:password@host:5432/db?sslmode=verify-full".into(),
                    "host=… port=… user=… dbname=… sslmode=require".into(),
                ],
                None,
                None,
            ));
        }
        Ok(DatabaseConfig {
            postgres,
            prometheus,
            max_lag_bytes: d
                .max_lag
                .as_deref()
                .map(|v| self.bytes(&p("max_lag"), v))
                .transpose()?,
            max_replay_age: d
                .max_replay_age
                .as_deref()
                .map(|v| self.duration(&p("max_replay_age"), v))
                .transpose()?,
            backup_age_query: d.backup_age_query.clone(),
            max_backup_age: d
                .max_backup_age
                .as_deref()
                .map(|v| self.duration(&p("max_backup_age"), v))
                .transpose()?,
        })
    }

    fn dns(&mut self, d: &raw::Dns) -> Result<DnsConfig, PlanError> {
        let p = |k: &'static str| [Seg::K("dns"), Seg::K(k)];
        let record_type = d.record_type.trim().to_ascii_uppercase();
        if !["A", "AAAA", "CNAME"].contains(&record_type.as_str()) {
            return Err(self.err_full(
                at(&p("type")),
                format!("`dns.type`: unsupported record type `{}`", d.record_type),
                vec!["A".into(), "AAAA".into(), "CNAME".into()],
                None,
                None,
            ));
        }
        // `dns.provider.<name>.<key>`.
        let q = |name: &'static str, k: &'static str| {
            [Seg::K("dns"), Seg::K("provider"), Seg::K(name), Seg::K(k)]
        };
        let provider = match &d.provider {
            None => None,
            Some(raw::DnsProvider::Powerdns {
                api_url,
                api_key,
                server,
            }) => {
                let r = |k| q("powerdns", k);
                Some(DnsProvider::PowerDns {
                    api_url: self.url(&r("api_url"), api_url)?,
                    api_key: self.secret(&r("api_key"), api_key)?,
                    server: match server {
                        Some(v) => self.secret(&r("server"), v)?,
                        None => "localhost".into(),
                    },
                })
            }
            Some(raw::DnsProvider::Cloudflare {
                zone_id,
                record_id,
                token,
            }) => {
                let r = |k| q("cloudflare", k);
                Some(DnsProvider::Cloudflare {
                    zone_id: self.secret(&r("zone_id"), zone_id)?,
                    record_id: self.secret(&r("record_id"), record_id)?,
                    token: self.secret(&r("token"), token)?,
                })
            }
            Some(raw::DnsProvider::Route53 { hosted_zone_id }) => Some(DnsProvider::Route53 {
                hosted_zone_id: self.secret(&q("route53", "hosted_zone_id"), hosted_zone_id)?,
            }),
        };
        Ok(DnsConfig {
            record: self.secret(&p("record"), &d.record)?,
            record_type,
            zone: self.opt_secret(&p("zone"), &d.zone)?,
            nameservers: d
                .nameservers
                .iter()
                .map(|n| self.secret(&p("nameservers"), n))
                .collect::<Result<_, _>>()?,
            provider,
        })
    }

    fn probes(&self, p: Option<&raw::Probes>) -> Result<ProbeSettings, PlanError> {
        let mut out = ProbeSettings::default();
        let Some(p) = p else { return Ok(out) };
        let k = |k: &'static str| [Seg::K("probes"), Seg::K(k)];
        if let Some(i) = &p.interval {
            out.interval = self.duration(&k("interval"), i)?;
            if out.interval < Duration::from_millis(100) {
                return Err(self.err(
                    at(&k("interval")),
                    format!(
                        "`probes.interval` = `{i}` is too short; use at least 100ms (e.g. `5s`)"
                    ),
                ));
            }
        }
        if let Some(s) = p.stale_after {
            if !(1..=MAX_STALE_AFTER).contains(&s) {
                return Err(self.err(
                    at(&k("stale_after")),
                    format!("`probes.stale_after` = {s}: use 1 to {MAX_STALE_AFTER} (a number of intervals)"),
                ));
            }
            out.stale_after = s;
        }
        if let Some(c) = p.concurrency {
            if !(1..=MAX_CONCURRENCY).contains(&c) {
                return Err(self.err(
                    at(&k("concurrency")),
                    format!(
                        "`probes.concurrency` = {c}: use 1 to {MAX_CONCURRENCY} probes at a time"
                    ),
                ));
            }
            out.concurrency = c;
        }
        Ok(out)
    }

    fn statuses(
        &self,
        path: &[Seg<'_>],
        v: &Option<Vec<u16>>,
        default: &[u16],
    ) -> Result<Vec<u16>, PlanError> {
        match v {
            None => Ok(default.to_vec()),
            Some(list) if list.is_empty() => Err(self.err(
                at(path),
                format!(
                    "`{}` is empty; list the acceptable statuses, e.g. [200]",
                    dotted(path)
                ),
            )),
            Some(list) => {
                if let Some(bad) = list.iter().find(|s| !(100..=599).contains(*s)) {
                    return Err(self.err(
                        at(path),
                        format!("`{}`: {bad} is not an HTTP status (100–599)", dotted(path)),
                    ));
                }
                Ok(list.clone())
            }
        }
    }

    fn conditions(
        &self,
        i: usize,
        key: &'static str,
        id: &str,
        list: &[String],
    ) -> Result<Vec<Condition>, PlanError> {
        list.iter()
            .enumerate()
            .map(|(n, c)| {
                Condition::parse(c).map_err(|m| {
                    self.err_full(
                        at(&[Seg::K("step"), Seg::I(i), Seg::K(key), Seg::I(n)]),
                        format!("step `{id}`: bad condition in `{key}`: {m}"),
                        vec![],
                        None,
                        Some(id),
                    )
                })
            })
            .collect()
    }

    fn step(&mut self, i: usize, s: &Spanned<raw::RawStep>) -> Result<Step, PlanError> {
        let raw = s.get_ref();
        let sp = |k: &'static str| [Seg::K("step"), Seg::I(i), Seg::K(k)];
        let id = raw.id.trim().to_string();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(self.err_full(
                at(&sp("id")),
                format!(
                    "step id `{}` must be non-empty letters, digits, `-`, `_` or `.` (e.g. `promote-db`)",
                    raw.id
                ),
                vec![],
                None,
                None,
            ));
        }
        let title = self.lit(&sp("title"), &raw.title)?;
        let description = raw
            .description
            .as_deref()
            .map(|d| self.lit(&sp("description"), d))
            .transpose()?;
        let site = match raw.site.as_deref().map(str::trim) {
            None => None,
            Some("prod") => Some(SiteId::Prod),
            Some("dr") => Some(SiteId::Dr),
            Some(other) => {
                return Err(self.err_full(
                    at(&sp("site")),
                    format!("step `{id}`: unknown site `{other}`"),
                    vec!["prod".into(), "dr".into()],
                    suggest(other, ["prod", "dr"]).map(str::to_string),
                    Some(&id),
                ));
            }
        };
        let requires = self.conditions(i, "requires", &id, &raw.requires)?;
        let confirm = match raw.confirm.as_deref().map(str::trim) {
            None => None,
            Some("") => {
                return Err(self.err_full(
                    at(&sp("confirm")),
                    format!("step `{id}`: `confirm` is empty; give the word the operator must type, e.g. \"FAILOVER\""),
                    vec![],
                    None,
                    Some(&id),
                ));
            }
            Some(w) => Some(self.lit(&sp("confirm"), w)?),
        };

        let kind = raw.kind.trim();
        let Some(spec) = FAMILIES
            .iter()
            .flat_map(|f| f.iter())
            .find(|k| k.name == kind)
        else {
            return Err(self.unknown_kind(i, &id, kind));
        };
        // Keys written in this step that its kind does not take.
        if let Some(table) = self
            .doc
            .get("step")
            .and_then(|v| v.get_ref().as_array())
            .and_then(|a| a.get(i))
            .and_then(|v| v.get_ref().as_table())
        {
            let mut written: Vec<(&Spanned<std::borrow::Cow<'_, str>>, &str)> = table
                .iter()
                .map(|(k, _)| (k, k.get_ref().as_ref()))
                .collect();
            written.sort_by_key(|(k, _)| k.span().start);
            for (_, key) in written {
                if COMMON_KEYS.contains(&key) || spec.keys.contains(&key) {
                    continue;
                }
                let takes: Vec<String> = spec.keys.iter().map(|k| k.to_string()).collect();
                let which: Vec<&str> = FAMILIES
                    .iter()
                    .flat_map(|f| f.iter())
                    .filter(|k| k.keys.contains(&key))
                    .map(|k| k.name)
                    .collect();
                let for_kinds = if which.is_empty() {
                    String::new()
                } else {
                    format!(" (it is for {})", which.join(", "))
                };
                let takes_note = if takes.is_empty() {
                    format!("; {kind} steps take only the common keys")
                } else {
                    String::new()
                };
                let mut e = self.err_full(
                    at_key(&[Seg::K("step"), Seg::I(i), Seg::K(key)]),
                    format!(
                        "step `{id}`: `{key}` does not apply to a {kind} step{for_kinds}{takes_note}"
                    ),
                    takes,
                    None,
                    Some(&id),
                );
                e.key = Some(key.to_string());
                return Err(e);
            }
        }
        let mut sx = StepCx {
            cx: self,
            i,
            id: &id,
            raw,
        };
        let built = (spec.build)(&mut sx)?;
        if kind == "approval" && confirm.is_none() {
            let mut e = self.err_full(
                at(&[Seg::K("step"), Seg::I(i), Seg::K("kind")]),
                format!("step `{id}`: an approval step needs `confirm`, the word the operator types (e.g. confirm = \"FAILOVER\")"),
                vec!["confirm".into()],
                None,
                Some(&id),
            );
            e.key = Some("confirm".into());
            return Err(e);
        }
        Ok(Step {
            id,
            title,
            description,
            action: built.action,
            requires,
            confirm,
            timeout: built.timeout,
            site,
        })
    }

    fn unknown_kind(&self, i: usize, id: &str, kind: &str) -> PlanError {
        let a = at(&[Seg::K("step"), Seg::I(i), Seg::K("kind")]);
        if PLANNED_KINDS.contains(&kind) {
            return self.err_full(
                a,
                format!(
                    "step `{id}`: kind `{kind}` is not available in this build; kinds available: {}",
                    known_kinds().join(", ")
                ),
                vec![],
                None,
                Some(id),
            );
        }
        let all: Vec<&str> = known_kinds()
            .into_iter()
            .chain(PLANNED_KINDS.iter().copied())
            .collect();
        self.err_full(
            a,
            format!("step `{id}`: unknown kind `{kind}`"),
            known_kinds().into_iter().map(str::to_string).collect(),
            suggest(kind, all).map(str::to_string),
            Some(id),
        )
    }
}

/// The most intervals `probes.stale_after` may give (a value goes stale after at most this
/// many probe intervals; with the 30-day ceiling on `interval` the product stays far from
/// overflowing where it meets the clock).
pub const MAX_STALE_AFTER: u32 = 1000;

/// The most probes that may run at once (`probes.concurrency`): beyond a few dozen it only
/// hammers the APIs, and tokio's semaphore panics past `usize::MAX >> 3`.
pub const MAX_CONCURRENCY: usize = 256;

/// Keys that hold credentials: a literal value there is registered with the redactor too.
const LITERAL_SECRET_KEYS: &[&str] = &["token", "password", "api_key"];

/// Fields of the sections whose probes are in this build (`down_for` is derived for every
/// section). A section not listed here is not checked field by field.
pub const SECTION_FIELDS: &[(&str, &[&str])] = &[
    ("health", &["ok", "status", "latency"]),
    ("cluster", crate::probes::qovery::CLUSTER_FIELDS),
    ("env", crate::probes::qovery::ENV_FIELDS),
    ("database", crate::probes::database::FIELDS),
    ("images", crate::probes::images::FIELDS),
    (
        "dns",
        &[
            "points_to",
            "serving",
            "ttl",
            "serial_agree",
            "serial",
            "answering",
            "nameservers",
            "target_ready",
            "caches_left",
            "proxied",
        ],
    ),
];

/// Why `section` of `site` is not watched by the panels, mirroring `app::State::new`.
fn unconfigured(plan: &Plan, site: SiteId, section: &str) -> Option<String> {
    let s = plan.site(site);
    let id = site.as_str();
    let q = plan.qovery.is_some();
    match section {
        "cluster" if s.cluster.is_none() || !q => Some(format!(
            "it needs `cluster` in `[sites.{id}]` and a `[qovery]` section"
        )),
        "env" if s.environment.is_none() || !q => Some(format!(
            "it needs `environment` in `[sites.{id}]` and a `[qovery]` section"
        )),
        "database" if s.database.is_none() => Some(format!("`[sites.{id}]` has no `database`")),
        "images" if s.registry.is_none() || plan.images.is_none() => Some(format!(
            "it needs `registry` in `[sites.{id}]` and an `[images]` section"
        )),
        "dns" if s.dns_target.is_none() || plan.dns.is_none() => Some(format!(
            "it needs `dns_target` in `[sites.{id}]` and a `[dns]` section"
        )),
        "health" if s.health.is_none() => Some(format!("`[sites.{id}]` has no `health`")),
        _ => None,
    }
}

fn images(i: &raw::Images) -> ImagesConfig {
    let mut services: Vec<ImagePin> = i
        .services
        .iter()
        .map(|s| ImagePin {
            service: s.clone(),
            repository: None,
            dr_repository: None,
            tag: None,
        })
        .collect();
    for p in &i.pin {
        let pin = ImagePin {
            service: p.service.clone(),
            repository: p.repository.clone(),
            dr_repository: p.dr_repository.clone(),
            tag: p.tag.clone(),
        };
        match services.iter_mut().find(|s| s.service == p.service) {
            Some(s) => *s = pin,
            None => services.push(pin),
        }
    }
    ImagesConfig { services }
}

/// The plan's `[journal] dir`, if it sets one (read separately so the loaded [`Plan`] keeps its
/// shape; `load_str` has already validated it).
pub fn journal_dir(text: &str) -> Option<std::path::PathBuf> {
    let value: toml::Value = toml::from_str(text).ok()?;
    let dir = value.get("journal")?.get("dir")?.as_str()?;
    let path = std::path::PathBuf::from(dir);
    path.is_absolute().then_some(path)
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Step kinds

/// Keys every step takes, whatever its kind.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "title",
    "kind",
    "description",
    "requires",
    "confirm",
    "site",
];

/// What building a step's action produced.
#[derive(Debug)]
pub struct Built {
    pub action: StepAction,
    /// The step's overall timeout, if the kind sets one (else the kind's default applies).
    pub timeout: Option<Duration>,
}

/// One step kind: its plan-file name, the keys it takes besides [`COMMON_KEYS`], its builder.
pub struct KindSpec {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub build: fn(&mut StepCx<'_, '_, '_>) -> Result<Built, PlanError>,
}

/// Every kind family this build implements. Adding a family (qovery, postgres, …) is one entry
/// here plus its `KindSpec` slice (the keys each kind takes, appended to `raw::RawStep` if new,
/// and a builder using the [`StepCx`] helpers: `raw()`, `secret()`, `url()`, `duration()`,
/// `missing()`, `error()`…), a `StepAction` variant, and removing its names from
/// [`PLANNED_KINDS`].
pub const FAMILIES: &[&[KindSpec]] = &[
    CORE_KINDS,
    HTTP_KINDS,
    QOVERY_KINDS,
    crate::steps::postgres::KINDS,
    crate::steps::scaleway::KINDS,
    DNS_KINDS,
    crate::steps::images::KINDS,
];

const QOVERY_KINDS: &[KindSpec] = {
    use crate::steps::qovery::KIND_KEYS as K;
    &[
        KindSpec {
            name: K[0].0,
            keys: K[0].1,
            build: build_qovery,
        },
        KindSpec {
            name: K[1].0,
            keys: K[1].1,
            build: build_qovery,
        },
        KindSpec {
            name: K[2].0,
            keys: K[2].1,
            build: build_qovery,
        },
        KindSpec {
            name: K[3].0,
            keys: K[3].1,
            build: build_qovery,
        },
        KindSpec {
            name: K[4].0,
            keys: K[4].1,
            build: build_qovery,
        },
    ]
};

fn build_qovery(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let timeout = s.duration("timeout", &s.raw.timeout)?;
    let sites = s.cx.sites.clone();
    let qovery = s.cx.qovery.clone();
    let raw = s.raw;
    let kind = s.kind().to_string();
    let i = s.i;
    // Messages without the step's id: the error built from them below names the step once.
    let mut resolve = |key: &'static str, v: &str| {
        let path = [Seg::K("step"), Seg::I(i), Seg::K(key)];
        if matches!(key, "variables" | "secrets") {
            // The builder says which variable (`variables.DATABASE_URL: …`).
            let used_at = s.cx.used_at(&path);
            refs::resolve_for(v, &used_at, &mut s.cx.refs)
        } else {
            s.cx.secret(&path, v).map_err(|e| e.detail.clone())
        }
    };
    let r = crate::steps::qovery::build_keyed(
        &kind,
        raw,
        &mut crate::steps::qovery::BuildInput {
            sites: &sites,
            qovery: qovery.as_ref(),
            resolve: &mut resolve,
        },
    );
    match r {
        Ok(action) => Ok(Built { action, timeout }),
        Err(e) => Err(s.error(e.key, &e.message, vec![], None)),
    }
}

/// Kinds the format defines that this build does not implement yet.
pub const PLANNED_KINDS: &[&str] = &[];

/// The kinds this build implements, in documentation order.
pub fn known_kinds() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .map(|k| k.name)
        .collect()
}

/// A step being built: its raw keys and where to point errors.
pub struct StepCx<'a, 't, 'd> {
    cx: &'a mut Cx<'t, 'd>,
    i: usize,
    id: &'a str,
    raw: &'a raw::RawStep,
}

impl StepCx<'_, '_, '_> {
    /// The step as written.
    pub(crate) fn raw(&self) -> &raw::RawStep {
        self.raw
    }

    /// The sites, `[qovery]` and `[images]` as converted (for kinds that act on them).
    pub(crate) fn sites(&self) -> &[Site; 2] {
        &self.cx.sites
    }
    pub(crate) fn qovery(&self) -> Option<&QoveryConfig> {
        self.cx.qovery.as_ref()
    }
    pub(crate) fn images(&self) -> Option<&ImagesConfig> {
        self.cx.images.as_ref()
    }

    /// The step's id (already validated).
    pub(crate) fn id(&self) -> &str {
        self.id
    }

    /// An error about `key` of this step (pointing at its value, or at the step if absent).
    pub(crate) fn error(
        &self,
        key: &'static str,
        detail: &str,
        expected: Vec<String>,
        suggestion: Option<String>,
    ) -> PlanError {
        self.cx.err_full(
            at(&self.path(key)),
            format!("step `{}`: {detail}", self.id),
            expected,
            suggestion,
            Some(self.id),
        )
    }

    fn path(&self, key: &'static str) -> [Seg<'static>; 3] {
        [Seg::K("step"), Seg::I(self.i), Seg::K(key)]
    }

    pub(crate) fn kind(&self) -> &str {
        self.raw.kind.trim()
    }

    /// A key this kind requires is missing.
    pub(crate) fn missing(&self, key: &str, example: &str) -> PlanError {
        let mut e = self.cx.err_full(
            at(&[Seg::K("step"), Seg::I(self.i), Seg::K("kind")]),
            format!(
                "step `{}`: a {} step needs `{key}` (e.g. {example})",
                self.id,
                self.kind()
            ),
            vec![key.to_string()],
            None,
            Some(self.id),
        );
        e.key = Some(key.to_string());
        e
    }

    fn prefix(&self, mut e: PlanError) -> PlanError {
        e.step = Some(self.id().to_string());
        e.detail = format!("step `{}`: {}", self.id, e.detail);
        e.render(Some(self.cx.text));
        e
    }

    pub(crate) fn duration(
        &self,
        key: &'static str,
        v: &Option<String>,
    ) -> Result<Option<Duration>, PlanError> {
        v.as_deref()
            .map(|t| self.cx.duration(&self.path(key), t))
            .transpose()
            .map_err(|e| self.prefix(e))
    }

    pub(crate) fn secret(&mut self, key: &'static str, v: &str) -> Result<String, PlanError> {
        let p = self.path(key);
        self.cx.secret(&p, v).map_err(|e| self.prefix(e))
    }

    pub(crate) fn url(&mut self) -> Result<String, PlanError> {
        let Some(u) = self.raw.url.as_deref() else {
            return Err(self.missing("url", "url = \"https://example.com/healthz\""));
        };
        let p = self.path("url");
        self.cx.url(&p, u).map_err(|e| self.prefix(e))
    }

    pub(crate) fn statuses(&self, default: &[u16]) -> Result<Vec<u16>, PlanError> {
        self.cx
            .statuses(
                &self.path("expect_status"),
                &self.raw.expect_status,
                default,
            )
            .map_err(|e| self.prefix(e))
    }

    pub(crate) fn positive(&self, key: &'static str, d: Duration) -> Result<Duration, PlanError> {
        if d.is_zero() {
            return Err(self.cx.err_full(
                at(&self.path(key)),
                format!("step `{}`: `{key}` must be longer than 0", self.id),
                vec![],
                None,
                Some(self.id),
            ));
        }
        Ok(d)
    }
}

const CORE_KINDS: &[KindSpec] = &[
    KindSpec {
        name: "approval",
        keys: &[],
        build: |_| {
            Ok(Built {
                action: StepAction::Approval,
                timeout: None,
            })
        },
    },
    KindSpec {
        name: "manual",
        keys: &["instructions"],
        build: build_manual,
    },
    KindSpec {
        name: "check",
        keys: &["conditions"],
        build: build_check,
    },
    KindSpec {
        name: "wait",
        keys: &["conditions", "timeout"],
        build: build_wait,
    },
    KindSpec {
        name: "command",
        keys: &[
            "command",
            "cwd",
            "env",
            "secret_env",
            "inherit_env",
            "timeout",
        ],
        build: build_command,
    },
];

const HTTP_KINDS: &[KindSpec] = &[
    KindSpec {
        name: "http.check",
        keys: &[
            "url",
            "expect_status",
            "body_contains",
            "interval",
            "timeout",
        ],
        build: build_http_check,
    },
    KindSpec {
        name: "http.request",
        keys: &[
            "url",
            "method",
            "headers",
            "body",
            "expect_status",
            "timeout",
        ],
        build: build_http_request,
    },
];

fn build_manual(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let instructions = match s.raw().instructions.as_deref() {
        Some(t) if !t.trim().is_empty() => t,
        _ => {
            return Err(s.missing(
                "instructions",
                "instructions = \"Fence the old primary in the provider console\"",
            ));
        }
    };
    let instructions =
        s.cx.lit(&s.path("instructions"), instructions)
            .map_err(|e| s.prefix(e))?;
    Ok(Built {
        action: StepAction::Manual { instructions },
        timeout: None,
    })
}

fn conditions_of(s: &StepCx<'_, '_, '_>) -> Result<Vec<Condition>, PlanError> {
    if s.raw.conditions.is_empty() {
        return Err(s.missing("conditions", "conditions = [\"dr.health.ok\"]"));
    }
    s.cx.conditions(s.i, "conditions", s.id, &s.raw.conditions)
}

fn build_check(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    Ok(Built {
        action: StepAction::Check {
            conditions: conditions_of(s)?,
        },
        timeout: None,
    })
}

fn build_wait(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let conditions = conditions_of(s)?;
    let timeout = s
        .duration("timeout", &s.raw.timeout)?
        .unwrap_or(Duration::from_secs(600));
    let timeout = s.positive("timeout", timeout)?;
    Ok(Built {
        action: StepAction::Wait {
            conditions,
            timeout,
        },
        timeout: None,
    })
}

fn build_command(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let argv = match s.raw.command.as_deref() {
        Some(a) if a.first().is_some_and(|p| !p.trim().is_empty()) => a,
        _ => {
            return Err(s.missing(
                "command",
                "command = [\"aws\", \"rds\", \"promote-read-replica\", \"--db-instance-identifier\", \"shop-dr\"]",
            ));
        }
    };
    let mut resolved = Vec::with_capacity(argv.len());
    for (n, a) in argv.iter().enumerate() {
        let p = [Seg::K("step"), Seg::I(s.i), Seg::K("command"), Seg::I(n)];
        if crate::steps::command::has_secret_reference(a) {
            // Every local user sees a process's arguments (`ps`, /proc/PID/cmdline).
            let note = format!(
                "warning: step `{}`: command argument {n} uses a reference (`${{…}}`): its resolved value is visible to every local user in `ps`; pass secrets with `secret_env = {{ NAME = \"${{env:X}}\" }}` and read $NAME in the command",
                s.id()
            );
            s.cx.refs.notes.push(note);
        }
        resolved.push(s.cx.secret(&p, a).map_err(|e| s.prefix(e))?);
    }
    let program = resolved.remove(0);
    let cwd = match s.raw.cwd.as_deref() {
        None => None,
        Some(c) => {
            let c = s.secret("cwd", c)?;
            Some(
                refs::expand_path(&c, &s.cx.refs.base_dir)
                    .display()
                    .to_string(),
            )
        }
    };
    let mut env = Vec::with_capacity(s.raw.env.len());
    for (k, v) in &s.raw.env {
        let p = [
            Seg::K("step"),
            Seg::I(s.i),
            Seg::K("env"),
            Seg::K(k.as_str()),
        ];
        let v = s.cx.secret(&p, v).map_err(|e| s.prefix(e))?;
        env.push((k.clone(), v));
    }
    let mut secret_env = Vec::with_capacity(s.raw.secret_env.len());
    for (k, v) in &s.raw.secret_env {
        if s.raw.env.contains_key(k) {
            return Err(s.prefix(s.cx.err(
                at(&[Seg::K("step"), Seg::I(s.i), Seg::K("secret_env")]),
                format!("`{k}` is both in `env` and `secret_env`: keep it in `secret_env` only"),
            )));
        }
        let p = [
            Seg::K("step"),
            Seg::I(s.i),
            Seg::K("secret_env"),
            Seg::K(k.as_str()),
        ];
        let v = s.cx.secret(&p, v).map_err(|e| s.prefix(e))?;
        // Labelled by where it is used, whatever its reference (a literal value included).
        crate::redact::register(&v, &format!("step {}: secret_env {k}", s.id()));
        secret_env.push((k.clone(), v));
    }
    let timeout = s
        .duration("timeout", &s.raw.timeout)?
        .unwrap_or(Duration::from_secs(300));
    let timeout = s.positive("timeout", timeout)?;
    Ok(Built {
        action: StepAction::Command(CommandSpec {
            program,
            args: resolved,
            cwd,
            env,
            secret_env,
            inherit_env: s.raw.inherit_env.unwrap_or(false),
            timeout,
        }),
        timeout: None,
    })
}

fn build_http_check(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let url = s.url()?;
    let expect_status = s.statuses(&[200])?;
    let interval = s
        .duration("interval", &s.raw.interval)?
        .unwrap_or(Duration::from_secs(5));
    let interval = s.positive("interval", interval)?;
    let timeout = s
        .duration("timeout", &s.raw.timeout)?
        .unwrap_or(Duration::from_secs(60));
    let timeout = s.positive("timeout", timeout)?;
    let body_contains = match s.raw.body_contains.as_deref() {
        None => None,
        Some(b) => Some(s.secret("body_contains", b)?),
    };
    Ok(Built {
        action: StepAction::HttpCheck(HttpCheck {
            url,
            expect_status,
            body_contains,
            interval,
            timeout,
        }),
        timeout: None,
    })
}

const DNS_KINDS: &[KindSpec] = &[
    KindSpec {
        name: "dns.switch",
        keys: &["ttl", "timeout"],
        build: build_dns,
    },
    KindSpec {
        name: "dns.verify",
        keys: &["interval", "timeout", "countdown"],
        build: build_dns,
    },
];

fn build_dns(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    // Durations first, so a bad one points at its own value.
    let interval = s.duration("interval", &s.raw().interval)?;
    let timeout = s.duration("timeout", &s.raw().timeout)?;
    if let Some(d) = interval {
        s.positive("interval", d)?;
    }
    if let Some(d) = timeout {
        s.positive("timeout", d)?;
    }
    let kind = s.kind().to_string();
    let action = crate::steps::dns::build(&kind, s.raw(), s.cx.dns.as_ref(), &s.cx.sites)
        .map_err(|e| s.error("site", &e, vec![], None))?;
    Ok(Built {
        action,
        // dns.verify's `timeout` is how long it waits (inside the action).
        timeout: if kind == "dns.switch" { timeout } else { None },
    })
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

fn build_http_request(s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let url = s.url()?;
    let method = match s.raw.method.as_deref() {
        None => "POST".to_string(),
        Some(m) => {
            let up = m.trim().to_ascii_uppercase();
            if !METHODS.contains(&up.as_str()) {
                return Err(s.error(
                    "method",
                    &format!("unknown HTTP method `{m}`"),
                    METHODS.iter().map(|m| m.to_string()).collect(),
                    suggest(&up, METHODS.iter().copied()).map(str::to_string),
                ));
            }
            up
        }
    };
    let mut headers = Vec::with_capacity(s.raw.headers.len());
    for (k, v) in &s.raw.headers {
        let p = [
            Seg::K("step"),
            Seg::I(s.i),
            Seg::K("headers"),
            Seg::K(k.as_str()),
        ];
        let v = s.cx.secret(&p, v).map_err(|e| s.prefix(e))?;
        headers.push((k.clone(), v));
    }
    let body = match s.raw.body.as_deref() {
        None => None,
        Some(b) => Some(s.secret("body", b)?),
    };
    let expect_status = s.statuses(&[200, 201, 202, 204])?;
    let timeout = s
        .duration("timeout", &s.raw.timeout)?
        .unwrap_or(Duration::from_secs(30));
    let timeout = s.positive("timeout", timeout)?;
    Ok(Built {
        action: StepAction::HttpRequest(HttpRequest {
            method,
            url,
            headers,
            body,
            expect_status,
            timeout,
        }),
        timeout: None,
    })
}
