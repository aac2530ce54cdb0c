//! Loading a plan: TOML parse with spans, validation, errors a person can act on.
//! (Being completed in issue #2: see the plan-loading work.)

use super::Plan;
use std::path::Path;

/// A plan that could not be loaded: where, which key, what was expected, and a suggestion.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
}

pub fn load_file(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlanError {
        message: format!("{}: cannot read the plan: {e}", path.display()),
    })?;
    load_str(&text, &path.display().to_string())
}

pub fn load_str(_text: &str, origin: &str) -> Result<Plan, PlanError> {
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
