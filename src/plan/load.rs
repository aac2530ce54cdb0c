//! Loading a plan: TOML parse with spans, validation, errors a person can act on.

use super::Plan;
use std::path::Path;

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
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
}

pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlanError {
        message: format!("{}: cannot read the plan: {e}", path.display()),
    })?;
    load_str(&text, &path.display().to_string(), opts)
}

pub fn load_str(_text: &str, origin: &str, _opts: &LoadOptions) -> Result<Plan, PlanError> {
    Err(PlanError {
        message: format!("{origin}: plan loading not implemented yet"),
    })
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
