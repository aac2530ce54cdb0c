//! Loading a plan: TOML parse with spans, validation, errors a person can act on.
//!
//! Two passes over the same text: `toml::from_str` into [`raw::PlanFile`] (the shape, with
//! `deny_unknown_fields`), and `toml::de::DeTable::parse` for the span of every key and value, so
//! each validation error points at `origin:line:col` of the exact key it is about.
//!
//! The loader knows no step kind: the layers above pass a [`Catalog`] (the step registry,
//! `crate::steps::registry`) that names the kinds, the keys each takes and builds their actions.
//! `crate::steps::load_file` / `load_str` are the entry points that pass it in.
//!
//! `errors`: [`PlanError`] and serde's errors turned into it; `spans`: paths and spans in the
//! text; `values`: references, URLs, durations; `sites`: every section but the steps; `kinds`:
//! the steps and [`StepCx`], what a kind's builder sees.

mod errors;
mod kinds;
mod metrics;
mod parity;
mod sites;
mod spans;
mod values;

use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::raw;
use super::refs::RefContext;
use super::*;

pub use errors::{MAX_ERRORS, PlanError, PlanErrorInfo, line_col};
pub use kinds::{Built, COMMON_KEYS, Catalog, StepCx};
pub use sites::{MAX_CONCURRENCY, MAX_STALE_AFTER, journal_dir, sha256_hex};
pub use spans::Seg;

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

/// Load a plan's text with the kinds of `catalog`.
///
/// `drcockpit check [--strict] PLAN`: when references are not resolved to drive the plan
/// (`run_commands: false`), an `${env:…}` that is not set or a `${file:…}` that cannot be read
/// is not an error but listed in [`Loaded::needed`]; with `strict` it is an error as when
/// driving. A `${cmd:…}` is never run while checking.
pub fn load_with(
    catalog: &dyn Catalog,
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
        toml::from_str(text).map_err(|e| errors::serde_error(&e, text, origin, doc.get_ref()))?;
    let base_dir = base_dir(origin);
    let mut refs = RefContext::new(opts.sim_url.clone(), opts.run_commands, base_dir);
    refs.allow_unresolved = !opts.run_commands && !strict;
    let mut cx = Cx {
        text,
        origin,
        doc: doc.get_ref(),
        catalog,
        refs,
        sites: Default::default(),
        qovery: None,
        dns: None,
        images: None,
        errors: Vec::new(),
        not_shown: 0,
        specs: Vec::new(),
    };
    cx.step_specs(&file.steps)?;
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

/// The state of one load: the text and its spans, the sections converted so far (kinds that act
/// on them read them), and every problem found.
struct Cx<'t, 'd> {
    text: &'t str,
    origin: &'t str,
    doc: &'d DeTable<'t>,
    /// The kinds this build knows (the step registry).
    catalog: &'d dyn Catalog,
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
    /// Each step's keys as its kind's spec (`None`: unknown kind), read before the steps are
    /// converted; [`Cx::step`] takes them.
    specs: Vec<Option<Box<dyn std::any::Any + Send>>>,
}

/// Keys that hold credentials: a literal value there is registered with the redactor too.
pub(crate) const LITERAL_SECRET_KEYS: &[&str] = &["token", "password", "api_key"];
