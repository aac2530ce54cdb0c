//! Where things are in the plan text: paths into the parsed document (`Seg`), the span of a key
//! or value at a path, and the step a serde path points into. Every error message's
//! `line:col` and caret come from here.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Cx, PlanError};

/// The value at a serde path (`["sites", "prod", "health"]`, array indices as numbers).
pub(super) fn path_value<'a, 'i>(
    doc: &'a DeTable<'i>,
    path: &[String],
) -> Option<&'a Spanned<DeValue<'i>>> {
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
pub(super) fn path_at(doc: &DeTable<'_>, span: Range<usize>) -> Option<(Vec<String>, bool)> {
    pub(super) fn walk_value(
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
    pub(super) fn walk_table(
        t: &DeTable<'_>,
        span: &Range<usize>,
        path: &mut Vec<String>,
    ) -> Option<bool> {
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
pub(super) fn step_id_of(doc: &DeTable<'_>, path: &[String]) -> Option<String> {
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

/// A path segment into the document.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    K(&'a str),
    I(usize),
}

/// What a validation error is about.
pub(super) struct At<'a> {
    path: Vec<Seg<'a>>,
    /// Point at the key (true) or at its value (false).
    key: bool,
}

pub(super) fn at<'a>(path: &[Seg<'a>]) -> At<'a> {
    At {
        path: path.to_vec(),
        key: false,
    }
}
pub(super) fn at_key<'a>(path: &[Seg<'a>]) -> At<'a> {
    At {
        path: path.to_vec(),
        key: true,
    }
}

/// `sites.prod.label`; inside a step (whose id the message already names) just `timeout`.
pub(super) fn dotted(path: &[Seg<'_>]) -> String {
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
    pub(super) fn span(&self, a: &At<'_>) -> Option<Range<usize>> {
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

    pub(super) fn err(&self, a: At<'_>, detail: String) -> PlanError {
        let span = self.span(&a);
        let mut e = PlanError::new(self.origin, Some(self.text), span, detail);
        e.key = a.path.iter().rev().find_map(|s| match s {
            Seg::K(k) => Some(k.to_string()),
            Seg::I(_) => None,
        });
        e
    }

    pub(super) fn err_full(
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
}
