//! `drcockpit check --online PLAN`: after the offline validation, resolve the plan against the
//! live world without changing anything — every probe answers once, and every step runs its
//! read-only preflight (the same checks review mode shows: ids exist, variables exist, images are
//! in the DR registry, the DNS provider answers, …). The transport is read-only and commands
//! never spawn, whatever a step would do when run.

use std::sync::Arc;
use std::time::Duration;

use crate::app::observe::Section;
use crate::journal::PreflightCheck;
use crate::plan::{Plan, SiteId};
use crate::steps::{self, StepContext, StepSink};

/// What `--online` found, printed after the offline summary. `Ok(true)` when every probe answered
/// and no preflight check failed.
pub async fn check_online(plan: Arc<Plan>, timeout: Duration) -> bool {
    let (state, _answered) = super::status::observe_once(plan.clone(), timeout).await;
    let mut ok = true;
    crate::outln!("online: the panels (every probe once, read-only)");
    for site in SiteId::ALL {
        for sec in Section::ALL {
            let Some((line, answered)) = super::status::panel_line(&state, site, sec, timeout)
            else {
                continue;
            };
            ok &= answered;
            crate::outln!(
                "  {:<4} {:<9} {}",
                site.upper(),
                sec.title(),
                crate::redact::redact(&line)
            );
        }
    }
    crate::outln!("online: every step's read-only preflight");
    for (i, step) in plan.steps.iter().enumerate() {
        if crate::cli::out::closed() {
            // The reader has gone (`| grep -m1`): no one will see the remaining preflights.
            break;
        }
        let from_state = state.precondition_checks(i);
        let ctx = StepContext::read_only(plan.clone(), i, StepSink::discard());
        let checks =
            match tokio::time::timeout(timeout, steps::preflight(&step.action, &ctx, from_state))
                .await
            {
                Ok(c) => c,
                Err(_) => vec![PreflightCheck {
                    what: "preflight".into(),
                    ok: None,
                    detail: format!(
                        "no answer within {}",
                        crate::plan::units::fmt_duration(timeout)
                    ),
                }],
            };
        crate::outln!("  {:>2} {} ({})", i + 1, step.id, step.action.kind_name());
        if checks.is_empty() {
            crate::outln!("       · nothing to check before it runs");
        }
        for c in checks {
            // A failing precondition is today's truth, not a plan error: it is reported, and
            // only a check that could not run or an unreachable dependency fails `--online`.
            let mark = match c.ok {
                Some(true) => "✓",
                Some(false) if c.what.starts_with("requires ") => "⊘",
                Some(false) => {
                    ok = false;
                    "✗"
                }
                None => {
                    ok = false;
                    "?"
                }
            };
            // `what` names URLs (`host answers: …`): redacted like the detail, which masks
            // URL credentials as every rendering of a URL does (`crate::redact::url`).
            crate::outln!(
                "       {mark} {}: {}",
                crate::redact::redact(&c.what),
                crate::redact::redact(&c.detail)
            );
        }
    }
    ok
}
