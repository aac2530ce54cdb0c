//! Plan errors: what went wrong, where (`origin:line:col` and the offending line with a caret),
//! what would have been accepted and the near miss that was probably meant; and the translation
//! of serde's shape errors (unknown key, missing key, wrong type) into those.

use std::ops::Range;

use toml::de::DeTable;

use super::spans::{path_at, path_value, step_id_of};
use super::suggest;

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
    pub(crate) fn new(
        origin: &str,
        text: Option<&str>,
        span: Option<Range<usize>>,
        detail: String,
    ) -> Self {
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

    pub(crate) fn render(&mut self, text: Option<&str>) {
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

// ---------------------------------------------------------------------------------------------
// serde errors → PlanError

pub(super) fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, p)| p.to_string())
        .collect()
}

/// How a serde path reads in a message: `sites.prod.health`, or `step `id`` + the rest.
pub(super) fn pretty(doc: &DeTable<'_>, path: &[String]) -> (String, String) {
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

pub(super) fn serde_error(
    e: &toml::de::Error,
    text: &str,
    origin: &str,
    doc: &DeTable<'_>,
) -> PlanError {
    shape_error(e.message(), e.span(), text, origin, doc)
}

/// A shape error (serde's wording: `unknown field …`, `missing field …`, `invalid type …`) at
/// `span`, as a [`PlanError`] naming the key, the step and the near miss.
pub(super) fn shape_error(
    msg: &str,
    mut span: Option<Range<usize>>,
    text: &str,
    origin: &str,
    doc: &DeTable<'_>,
) -> PlanError {
    let msg = msg.trim().to_string();
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
