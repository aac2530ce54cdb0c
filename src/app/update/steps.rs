//! Steps: the operator's step actions (run, retry, skip, override, mark done, note, abort,
//! declare) with their gatekeeping, and what comes back from a running step (output, evidence,
//! its end, preflight results, `wait` conditions).

use chrono::{DateTime, Utc};

use super::safety::mode_allows_change;
use super::{Effect, OutputLine, flash, is_current, log, refuse};
use crate::app::observe::age;
use crate::app::state::{Dialog, DialogKind, Mode, Overlay, State, StepPhase, StepStatus};
use crate::journal::{Event, PreflightCheck};
use crate::plan::StepAction;
use crate::plan::condition::CondResult;
use crate::plan::units::fmt_duration;

/// A line a running step printed (or structured evidence it produced: `evidence:WHAT`).
pub(super) fn on_step_output(
    state: &mut State,
    step: usize,
    attempt: u32,
    line: OutputLine,
    fx: &mut Vec<Effect>,
) {
    if is_current(state, step, attempt)
        && let Some(what) = line.stream.strip_prefix("evidence:")
    {
        // Structured evidence a step produced (e.g. RPO at promotion): journaled as such.
        let id = state.plan.steps[step].id.clone();
        let detail = serde_json::from_str(&line.text)
            .unwrap_or_else(|_| serde_json::Value::String(line.text.clone()));
        fx.push(log(
            log::Level::Info,
            &id,
            format!("evidence {what}: {}", line.text),
        ));
        fx.push(Effect::Record(Event::Evidence {
            step: Some(id),
            what: what.to_string(),
            detail,
        }));
    } else if is_current(state, step, attempt) {
        let id = state.plan.steps[step].id.clone();
        let level = if line.stream == "stderr" {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        fx.push(log(level, &id, line.text.clone()));
        state.steps[step].last_output = Some(line.text.clone());
        fx.push(Effect::Record(Event::StepOutput {
            step: id,
            attempt,
            stream: line.stream,
            line: line.text,
        }));
    }
}

/// Review mode: a step's read-only preflight came back; log each check and journal them.
pub(super) fn on_preflight_done(
    state: &mut State,
    step: usize,
    checks: Vec<PreflightCheck>,
    fx: &mut Vec<Effect>,
) {
    let id = state.plan.steps[step].id.clone();
    state.steps[step].review.preflight_running = false;
    for c in &checks {
        let (lvl, mark) = match c.ok {
            Some(true) => (log::Level::Info, "✓"),
            Some(false) => (log::Level::Warn, "✗"),
            None => (log::Level::Warn, "?"),
        };
        fx.push(log(
            lvl,
            &id,
            format!("preflight {mark} {}: {}", c.what, c.detail),
        ));
    }
    fx.push(Effect::Record(Event::Preflight { step: id, checks }));
}

/// Resume found the step's process alive: show it running and follow it (nothing runs it again).
pub(super) fn still_running(
    state: &mut State,
    step: usize,
    attempt: u32,
    pid: u32,
    (start_ticks, boot_id): (Option<u64>, Option<String>),
    since: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) {
    if step >= state.steps.len()
        || !matches!(state.steps[step].phase, StepPhase::Unknown { attempt: a } if a == attempt)
    {
        return;
    }
    let id = state.plan.steps[step].id.clone();
    let text = format!(
        "still running (pid {pid}, started {} UTC) — followed until it ends; its output is not available to this session",
        since.format("%Y-%m-%d %H:%M:%S")
    );
    let s = &mut state.steps[step];
    s.phase = StepPhase::Running { attempt, since };
    s.finishing = false;
    s.last_output = Some(text.clone());
    fx.push(log(log::Level::Warn, &id, text.clone()));
    flash(state, format!("step {id}: {text}"));
    fx.push(Effect::Record(Event::Note {
        step: Some(id),
        text,
    }));
    fx.push(Effect::Follow {
        step,
        attempt,
        pid,
        start_ticks,
        boot_id,
    });
}

pub(super) fn finish(
    state: &mut State,
    step: usize,
    attempt: u32,
    result: Result<String, String>,
    fx: &mut Vec<Effect>,
) {
    state.steps[step].finishing = true;
    let id = state.plan.steps[step].id.clone();
    let (ok, detail) = match result {
        Ok(d) => (true, d),
        Err(e) => (false, e),
    };
    fx.push(Effect::Record(Event::StepFinished {
        step: id,
        attempt,
        ok,
        detail,
    }));
}

/// Running `wait` steps finish when every condition holds, or fail at their timeout.
pub(super) fn check_waits(state: &mut State, fx: &mut Vec<Effect>) {
    for i in 0..state.steps.len() {
        let StepPhase::Running { attempt, since } = state.steps[i].phase else {
            continue;
        };
        if state.steps[i].finishing {
            continue;
        }
        let StepAction::Wait {
            conditions,
            timeout,
        } = &state.plan.steps[i].action
        else {
            continue;
        };
        let results: Vec<CondResult> = conditions.iter().map(|c| state.evaluate(c)).collect();
        let evidence = results
            .iter()
            .map(|r| r.evidence().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        if results.iter().all(CondResult::passed) {
            finish(
                state,
                i,
                attempt,
                Ok(format!("conditions hold: {evidence}")),
                fx,
            );
        } else if age(state.now, since) >= *timeout {
            finish(
                state,
                i,
                attempt,
                Err(format!(
                    "timed out after {}: {evidence}",
                    fmt_duration(*timeout)
                )),
                fx,
            );
        }
    }
}

/// `D`: declare the incident (once per session): a typed note, journaled; the incident clock and
/// the report's RTO run from it.
pub(super) fn declare(state: &mut State, fx: &mut Vec<Effect>) {
    if !matches!(state.mode, Mode::Live | Mode::Demo) {
        refuse(
            state,
            fx,
            "an incident is declared in live (or demo) mode only".into(),
        );
        return;
    }
    if let Some(at) = state.declared {
        let text = format!(
            "the incident was already declared at {} UTC",
            at.format("%H:%M:%S")
        );
        refuse(state, fx, text);
        return;
    }
    if mode_allows_change(state, "declare the incident", fx) {
        state.open(Overlay::Dialog(Dialog::new(
            DialogKind::Declare,
            None,
            None,
        )));
    }
}

#[derive(Clone, Copy)]
pub(super) enum Act {
    Skip,
    Retry,
    Override,
    MarkDone,
    Note,
    Reviewed,
    Abort,
}

pub(super) fn act(state: &mut State, act: Act, fx: &mut Vec<Effect>) {
    let i = state.selected;
    if i >= state.steps.len() {
        return;
    }
    let id = state.plan.steps[i].id.clone();
    let review = state.mode == Mode::Review;
    match act {
        Act::Note => {
            if mode_allows_change(state, "add a note", fx) {
                state.open(Overlay::Dialog(Dialog::new(
                    DialogKind::Note,
                    Some(i),
                    None,
                )));
            }
        }
        Act::Reviewed => {
            if !review {
                refuse(
                    state,
                    fx,
                    "m marks a step reviewed in review mode only".into(),
                );
            } else if mode_allows_change(state, "mark reviewed", fx) {
                state.open(Overlay::Dialog(Dialog::new(
                    DialogKind::Reviewed,
                    Some(i),
                    None,
                )));
            }
        }
        _ if review => refuse(
            state,
            fx,
            "review mode: nothing runs or changes — ⏎ shows the calls, m marks reviewed".into(),
        ),
        _ if !mode_allows_change(state, "change the checklist", fx) => {}
        Act::Abort => {
            if state.aborted.is_none() {
                state.open(Overlay::Dialog(Dialog::new(
                    DialogKind::Abort,
                    None,
                    Some("ABORT".into()),
                )));
            }
        }
        _ if state.aborted.is_some() => refuse(
            state,
            fx,
            "the checklist was aborted; nothing more runs in this session".into(),
        ),
        Act::Skip => match state.status(i) {
            StepStatus::Succeeded | StepStatus::Skipped => {
                refuse(state, fx, format!("step {id} is already finished"))
            }
            StepStatus::Running => refuse(
                state,
                fx,
                format!("step {id} is running; wait for it to finish"),
            ),
            _ => state.open(Overlay::Dialog(Dialog::new(
                DialogKind::SkipReason,
                Some(i),
                None,
            ))),
        },
        Act::Retry => match state.steps[i].phase {
            StepPhase::Failed { .. } | StepPhase::Unknown { .. } => request_run(state, i, fx),
            _ => refuse(
                state,
                fx,
                format!(
                    "r retries a failed or unknown step; step {id} is {}",
                    state.status(i).word()
                ),
            ),
        },
        Act::MarkDone => match state.steps[i].phase {
            StepPhase::Unknown { .. } => state.open(Overlay::Dialog(Dialog::new(
                DialogKind::MarkDone,
                Some(i),
                None,
            ))),
            _ => refuse(
                state,
                fx,
                "d marks done only a step left unknown by a crash (check the world first)".into(),
            ),
        },
        Act::Override => {
            let unmet = state.unmet(i);
            if unmet.is_empty() || state.steps[i].override_reason.is_some() {
                refuse(
                    state,
                    fx,
                    format!("step {id} has no unmet preconditions to override"),
                );
            } else if !matches!(
                state.steps[i].phase,
                StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. }
            ) {
                refuse(
                    state,
                    fx,
                    format!("step {id} is {}", state.status(i).word()),
                );
            } else {
                state.open(Overlay::Dialog(Dialog::new(
                    DialogKind::Override { unmet },
                    Some(i),
                    None,
                )));
            }
        }
    }
}

/// Enter on a step.
pub(super) fn activate(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    if i >= state.steps.len() {
        return;
    }
    match state.mode {
        Mode::Review => {
            state.showing_calls = Some(i);
            if crate::steps::has_preflight(&state.plan.steps[i].action) {
                state.steps[i].review.preflight_running = true;
                fx.push(Effect::Preflight { step: i });
            }
            let id = state.plan.steps[i].id.clone();
            for line in crate::steps::describe(&state.plan.steps[i].action) {
                fx.push(log(log::Level::Info, &id, format!("would: {line}")));
            }
        }
        Mode::Monitor => {
            let id = state.plan.steps[i].id.clone();
            let text = format!("monitor mode is read-only: step {id} cannot run");
            fx.push(log(log::Level::Warn, "safety", text.clone()));
            flash(state, text);
        }
        Mode::Live | Mode::Demo => match state.steps[i].phase {
            StepPhase::Succeeded { .. } | StepPhase::Skipped { .. } => {
                let id = state.plan.steps[i].id.clone();
                flash(state, format!("step {id} is already finished"));
            }
            StepPhase::Running { .. } => flash(state, "the step is running; its output streams into the log"),
            StepPhase::Unknown { .. } => refuse(
                state,
                fx,
                "this step was running when the cockpit stopped: check the world, then r retry · d mark done · s skip".into(),
            ),
            // ⏎ never re-runs a step that already ran: a retry is the explicit `r`, with its own
            // confirmation (a held or doubled ⏎ must not send the same change twice).
            StepPhase::Failed { .. } => {
                let id = state.plan.steps[i].id.clone();
                refuse(
                    state,
                    fx,
                    format!("step {id} failed: r retries it (asks again) · s skip · A abort"),
                );
            }
            StepPhase::Pending => request_run(state, i, fx),
        },
    }
}

/// Gatekeeping before a step may start: mode, journal, abort, ordering, one at a time,
/// preconditions. Then the step's own confirmation.
pub(super) fn request_run(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    let id = state.plan.steps[i].id.clone();
    if !mode_allows_change(state, &format!("run step {id}"), fx) {
        return;
    }
    if let Some(why) = state.why_not_run(i) {
        refuse(state, fx, why);
        return;
    }
    let step = &state.plan.steps[i];
    match &step.action {
        StepAction::Approval => {
            let word = step.confirm.clone().unwrap_or_else(|| "APPROVE".into());
            state.open(Overlay::Dialog(Dialog::new(
                DialogKind::Approve,
                Some(i),
                Some(word),
            )));
        }
        StepAction::Manual { .. } => state.open(Overlay::Dialog(Dialog::new(
            DialogKind::ManualDone,
            Some(i),
            None,
        ))),
        _ if state.is_mutating(i) || step.confirm.is_some() => {
            state.open(Overlay::Dialog(Dialog::new(
                DialogKind::ConfirmRun,
                Some(i),
                step.confirm.clone(),
            )));
        }
        _ => start(state, i, fx),
    }
}

pub(super) fn start(state: &mut State, i: usize, fx: &mut Vec<Effect>) {
    let what = format!("run step {}", state.plan.steps[i].id);
    if !mode_allows_change(state, &what, fx) {
        return;
    }
    let step = &state.plan.steps[i];
    let id = step.id.clone();
    let kind = step.action.kind_name().to_string();
    if !step.requires.is_empty() {
        let detail: Vec<serde_json::Value> = step
            .requires
            .iter()
            .map(|c| {
                let r = state.evaluate(c);
                serde_json::json!({ "condition": c.text, "passed": r.passed(), "evidence": r.evidence() })
            })
            .collect();
        fx.push(Effect::Record(Event::Evidence {
            step: Some(id.clone()),
            what: "preconditions".into(),
            detail: detail.into(),
        }));
    }
    if kind == "scaleway.promote_replica" {
        // What the panels knew of the DR database's lag at the moment of promotion: the RPO
        // evidence for a managed promotion. (A postgres.promote step records its own, read at
        // promotion — and none when the server was already primary and nothing was done.)
        let standby = step.site.unwrap_or(crate::plan::SiteId::Dr);
        fx.push(Effect::Record(Event::Evidence {
            step: Some(id.clone()),
            what: "rpo at promotion (panels)".into(),
            detail: panel_rpo_evidence(state, standby),
        }));
    }
    state.steps[i].finishing = true; // until StepStarted is recorded, nothing else may start it
    let attempt = state.steps[i].attempts + 1;
    fx.push(Effect::Record(Event::StepStarted {
        step: id,
        attempt,
        kind: Some(kind),
    }));
}

pub(super) fn panel_rpo_evidence(state: &State, standby: crate::plan::SiteId) -> serde_json::Value {
    use crate::plan::condition::Lookup;
    let mut detail = serde_json::Map::new();
    let (sb, primary) = (standby.as_str(), standby.other());
    detail.insert(
        "source".into(),
        format!("{} database section of the panels", standby.upper()).into(),
    );
    // The lag is only a measurement while the primary answers: against a position last seen
    // before it died, "0 bytes behind" says nothing about what it wrote since.
    let primary_view = state.view(primary, crate::app::observe::Section::Database);
    if !matches!(primary_view, crate::app::observe::SectionView::Fresh { .. }) {
        let why = match primary_view {
            crate::app::observe::SectionView::NotConfigured => {
                "not watched by the plan".to_string()
            }
            crate::app::observe::SectionView::Waiting => "never read".to_string(),
            crate::app::observe::SectionView::Stale { age, .. } => {
                format!("stale (last read {} ago)", fmt_duration(age))
            }
            crate::app::observe::SectionView::Error {
                error,
                last_good_age,
                ..
            } => {
                if let Some(a) = last_good_age {
                    detail.insert(
                        "primary_last_seen_age_secs".into(),
                        serde_json::json!(a.as_secs_f64()),
                    );
                }
                format!("unreachable: {}", error.short)
            }
            crate::app::observe::SectionView::Fresh { .. } => String::new(),
        };
        detail.insert("rpo".into(), "unknown".into());
        detail.insert("primary_reachable".into(), false.into());
        detail.insert(
            "primary".into(),
            format!("{} database {why}", primary.upper()).into(),
        );
        detail.insert(
            "needed".into(),
            format!(
                "the {} primary's final WAL position (from its provider or its data directory), compared with the replica's replayed position",
                primary.upper()
            )
            .into(),
        );
    }
    for (field, key) in [("lag", "lag_bytes"), ("replay_age", "replay_age_secs")] {
        match state.lookup(&format!("{sb}.database.{field}")) {
            Lookup::Value { value, age, stale } => {
                let v = match value {
                    crate::plan::Value::Bytes(b) => serde_json::json!(b),
                    crate::plan::Value::Duration(d) => serde_json::json!(d.as_secs_f64()),
                    other => serde_json::json!(other.to_string()),
                };
                detail.insert(key.into(), v);
                detail.insert(
                    format!("{key}_observed_secs_ago"),
                    serde_json::json!(age.as_secs_f64()),
                );
                if stale {
                    detail.insert(format!("{key}_stale"), true.into());
                }
            }
            Lookup::Missing(why) | Lookup::Error(why) => {
                detail.insert(format!("{key}_unknown"), why.into());
            }
        }
    }
    serde_json::Value::Object(detail)
}
