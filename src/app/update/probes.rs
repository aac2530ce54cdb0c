//! Probe observations: fold a reading into the panels' state, log what changed (an error, a
//! recovery, a worse level), and re-check running `wait` steps against it.

use super::steps::check_waits;
use super::{Effect, log};
use crate::app::observe::{Level, Observation};
use crate::app::state::State;

pub(super) fn on_observed(state: &mut State, obs: Observation, fx: &mut Vec<Effect>) {
    let sec = &mut state.sections[obs.site.index()][obs.section.index()];
    let target = format!("{}.{}", obs.site.as_str(), obs.section.as_str());
    let prev_err = sec.last_error.as_ref().map(|(e, _)| e.short.clone());
    let prev_level = sec.last_good.as_ref().map(|(r, _)| r.level);
    match &obs.outcome {
        Err(e) if prev_err.as_deref() != Some(e.short.as_str()) => {
            fx.push(log(
                log::Level::Warn,
                &target,
                format!("probe error: {}", e.full),
            ));
        }
        Ok(r) if prev_err.is_some() => {
            fx.push(log(
                log::Level::Info,
                &target,
                format!("recovered: {}", r.summary),
            ));
        }
        Ok(r) if prev_level.is_some_and(|l| l != r.level) && r.level != Level::Good => {
            fx.push(log(log::Level::Warn, &target, r.summary.clone()));
        }
        _ => {}
    }
    sec.observe(&obs);
    check_waits(state, fx);
}
