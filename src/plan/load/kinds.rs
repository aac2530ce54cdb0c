//! Steps: the keys every step takes, the one a kind takes, and building a kind's action through
//! the [`Catalog`] the layers above pass in (the loader names no step module). [`StepCx`] is
//! what a kind's builder sees: its raw keys and helpers that point errors at them.

use std::any::Any;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::spans::{Seg, at, at_key};
use super::{Cx, PlanError, suggest};
use crate::plan::condition::Condition;
use crate::plan::raw;
use crate::plan::*;

impl Cx<'_, '_> {
    pub(super) fn step(&mut self, i: usize, s: &Spanned<raw::RawStep>) -> Result<Step, PlanError> {
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
        let kinds = self.catalog.kinds();
        let Some(&(_, keys)) = kinds.iter().find(|(name, _)| *name == kind) else {
            return Err(self.unknown_kind(i, &id, kind));
        };
        // Keys written in this step that its kind does not take.
        if let Some(table) = self.step_table(i) {
            let mut written: Vec<(&Spanned<std::borrow::Cow<'_, str>>, &str)> = table
                .iter()
                .map(|(k, _)| (k, k.get_ref().as_ref()))
                .collect();
            written.sort_by_key(|(k, _)| k.span().start);
            for (_, key) in written {
                if COMMON_KEYS.contains(&key) || keys.contains(&key) {
                    continue;
                }
                let takes: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                let which: Vec<&str> = kinds
                    .iter()
                    .filter(|(_, keys)| keys.contains(&key))
                    .map(|(name, _)| *name)
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
        let spec = match self.specs.get_mut(i).and_then(Option::take) {
            Some(spec) => spec,
            None => match self.parse_spec(i, kind) {
                Some(r) => r?,
                None => return Err(self.unknown_kind(i, &id, kind)),
            },
        };
        let mut sx = StepCx {
            cx: self,
            i,
            id: &id,
            raw,
        };
        let catalog = sx.cx.catalog;
        let built = catalog.build(kind, spec, &mut sx)?;
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

    /// Before any step is converted (as serde's shape errors were, when every kind's keys were
    /// fields of one struct): refuse a key no kind takes (serde's "unknown key" with a
    /// suggestion among every step key), and deserialize each step's keys into its kind's spec
    /// (a wrong type points at the key's value). The first problem stops the load, like a
    /// shape error of the rest of the file. The specs wait in `self.specs` for [`Cx::step`].
    pub(super) fn step_specs(&mut self, steps: &[Spanned<raw::RawStep>]) -> Result<(), PlanError> {
        let kinds = self.catalog.kinds();
        let mut every: Vec<&str> = COMMON_KEYS.to_vec();
        for key in kinds.iter().flat_map(|(_, keys)| keys.iter()) {
            if !every.contains(key) {
                every.push(key);
            }
        }
        for (i, s) in steps.iter().enumerate() {
            if let Some(table) = self.step_table(i) {
                for (k, _) in table.iter() {
                    let key: &str = k.get_ref().as_ref();
                    if !every.contains(&key) {
                        let expected: Vec<String> =
                            every.iter().map(|k| format!("`{k}`")).collect();
                        let msg = format!(
                            "unknown field `{key}`, expected one of {}",
                            expected.join(", ")
                        );
                        return Err(super::errors::shape_error(
                            &msg,
                            Some(k.span()),
                            self.text,
                            self.origin,
                            self.doc,
                        ));
                    }
                }
            }
            let spec = self.parse_spec(i, s.get_ref().kind.trim()).transpose()?;
            self.specs.push(spec);
        }
        Ok(())
    }

    /// Step `i`'s table as written.
    fn step_table(&self, i: usize) -> Option<&DeTable<'_>> {
        self.doc
            .get("step")?
            .get_ref()
            .as_array()?
            .get(i)?
            .get_ref()
            .as_table()
    }

    /// Step `i`'s keys that its kind takes, deserialized into the kind's spec (`None` for an
    /// unknown kind). Keys of other kinds are left out here: [`Cx::step`] names them.
    fn parse_spec(&self, i: usize, kind: &str) -> Option<Result<Box<dyn Any + Send>, PlanError>> {
        let (_, keys) = self.catalog.kinds().into_iter().find(|(n, _)| *n == kind)?;
        let v = self.doc.get("step")?.get_ref().as_array()?.get(i)?;
        let mut own = DeTable::new();
        for (k, value) in self.step_table(i)?.iter() {
            if keys.contains(&k.get_ref().as_ref()) {
                own.insert(k.clone(), value.clone());
            }
        }
        let de = ValueDeserializer::from(Spanned::new(v.span(), DeValue::Table(own)));
        let r = self.catalog.parse_spec(kind, de)?;
        Some(r.map_err(|e| super::errors::serde_error(&e, self.text, self.origin, self.doc)))
    }

    pub(super) fn unknown_kind(&self, i: usize, id: &str, kind: &str) -> PlanError {
        let a = at(&[Seg::K("step"), Seg::I(i), Seg::K("kind")]);
        let known = self.catalog.names();
        self.err_full(
            a,
            format!("step `{id}`: unknown kind `{kind}`"),
            known.iter().map(|k| k.to_string()).collect(),
            suggest(kind, known.iter().copied()).map(str::to_string),
            Some(id),
        )
    }
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

impl Built {
    /// An action with the kind's default timeout.
    pub fn action(action: StepAction) -> Built {
        Built {
            action,
            timeout: None,
        }
    }
}

/// What the loader needs from the layers above it. `plan` is the bottom floor: it names no
/// client, probe or step module, so the step registry (`crate::steps::registry::Registry`)
/// implements this and is passed in by `crate::steps::load_file` / `load_str`.
pub trait Catalog: Sync {
    /// Every kind this build implements, in documentation order: its plan-file name and the
    /// keys it takes besides [`COMMON_KEYS`].
    fn kinds(&self) -> Vec<(&'static str, &'static [&'static str])>;
    /// Deserialize a step's own keys (the ones `kind` takes) into `kind`'s spec; `None` for an
    /// unknown kind.
    fn parse_spec(
        &self,
        kind: &str,
        de: ValueDeserializer<'_>,
    ) -> Option<Result<Box<dyn Any + Send>, toml::de::Error>>;
    /// Build a step of `kind` (one of [`Catalog::kinds`]; its keys are already checked) from
    /// the spec [`Catalog::parse_spec`] made.
    fn build(
        &self,
        kind: &str,
        spec: Box<dyn Any + Send>,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError>;
    /// A problem only a kind can see in the plan as a whole: the step's index and what is wrong.
    fn check_plan(&self, plan: &Plan) -> Option<(usize, String)>;
    /// Fields of the sections whose probes are in this build (`down_for` and `healthy` are
    /// derived for every section). A section not listed is not checked field by field.
    fn section_fields(&self) -> &'static [(&'static str, &'static [&'static str])];
    /// Why `conn` is not a PostgreSQL connection string, if it is not.
    fn check_postgres(&self, conn: &str) -> Result<(), String>;
    /// Whether `QOVERY_*` environment variables replace the plan's `[qovery]` token and URL.
    fn qovery_env_overrides(&self) -> bool;
}

impl dyn Catalog + '_ {
    /// The names of the kinds, in documentation order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds().into_iter().map(|(n, _)| n).collect()
    }
}

/// A step being built: its common keys as written and where to point errors (its own keys come
/// typed, as its kind's spec).
pub struct StepCx<'a, 't, 'd> {
    cx: &'a mut Cx<'t, 'd>,
    i: usize,
    id: &'a str,
    raw: &'a raw::RawStep,
}

impl<'a> StepCx<'a, '_, '_> {
    /// The step's common keys as written.
    pub(crate) fn raw(&self) -> &'a raw::RawStep {
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

    /// `[dns]` as converted.
    pub(crate) fn dns(&self) -> Option<&DnsConfig> {
        self.cx.dns.as_ref()
    }

    /// The directory relative paths start from (the plan's).
    pub(crate) fn base_dir(&self) -> &std::path::Path {
        &self.cx.refs.base_dir
    }

    /// Something the operator should know about how the plan was loaded (a warning).
    pub(crate) fn note(&mut self, text: String) {
        self.cx.refs.notes.push(text);
    }

    /// A key that takes no references (`$${` unescapes).
    pub(crate) fn lit(&self, key: &'static str, v: &str) -> Result<String, PlanError> {
        self.cx.lit(&self.path(key), v).map_err(|e| self.prefix(e))
    }

    /// The conditions of `key`, parsed.
    pub(crate) fn conditions(
        &self,
        key: &'static str,
        list: &[String],
    ) -> Result<Vec<Condition>, PlanError> {
        self.cx.conditions(self.i, key, self.id, list)
    }

    /// Resolve a value inside `key` (`rel` = `[Seg::K("env"), Seg::K(name)]`,
    /// `[Seg::K("command"), Seg::I(n)]`…): an error points at that value.
    pub(crate) fn secret_in(&mut self, rel: &[Seg<'_>], v: &str) -> Result<String, PlanError> {
        let mut p = vec![Seg::K("step"), Seg::I(self.i)];
        p.extend_from_slice(rel);
        self.cx.secret(&p, v).map_err(|e| self.prefix(e))
    }

    /// Resolve `key`'s value, the problem as a message without the step's id (for builders
    /// that name the step once in the error they make of it). For `variables` / `secrets` the
    /// message does not name the key either (the builder names the variable).
    pub(crate) fn resolve_quiet(&mut self, key: &'static str, v: &str) -> Result<String, String> {
        let path = self.path(key);
        if matches!(key, "variables" | "secrets") {
            let used_at = self.cx.used_at(&path);
            crate::plan::refs::resolve_for(v, &used_at, &mut self.cx.refs)
        } else {
            self.cx.secret(&path, v).map_err(|e| e.detail.clone())
        }
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

    pub(crate) fn url(&mut self, url: Option<&str>) -> Result<String, PlanError> {
        let Some(u) = url else {
            return Err(self.missing("url", "url = \"https://example.com/healthz\""));
        };
        let p = self.path("url");
        self.cx.url(&p, u).map_err(|e| self.prefix(e))
    }

    pub(crate) fn statuses(
        &self,
        written: &Option<Vec<u16>>,
        default: &[u16],
    ) -> Result<Vec<u16>, PlanError> {
        self.cx
            .statuses(&self.path("expect_status"), written, default)
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
