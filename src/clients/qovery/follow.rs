//! When is a Qovery deployment over, and did it reach its target? One pure function,
//! [`verdict`], so the rule can be property-tested against every order in which Qovery may update
//! its status fields.
//!
//! The spec gives no ordering between `EnvironmentStatus.deployment_request_id`, `state`,
//! `last_deployment_state` and the per-service `Status` entries, and a real API answered the new
//! request id while `last_deployment_state` still held the previous result. Trusting the first
//! terminal value we read is how `succeeded … 0/3 services deployed` happened. The rule here:
//!
//! - a deployment is over only when the environment's `state` and `last_deployment_state` are
//!   both terminal, every in-scope service is terminal, and (when read) the request's own status
//!   (`GET /environment/deploymentStatus`) is terminal;
//! - it succeeded only when every one of those is in the target state and every in-scope service
//!   reports *our* deployment request;
//! - something must show the values are ours, not the previous deployment's: the request's own
//!   terminal status, a non-terminal value seen after the action was sent, or every in-scope
//!   service reporting our request id;
//! - fields that contradict each other mean "still running" (the reason is returned so the caller
//!   logs it once); the step's timeout bounds the wait.

use super::{EnvironmentStatuses, State};

/// What the follower waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Goal {
    /// An action we sent: every field in one of these states (deploy: DEPLOYED or RESTARTED; stop:
    /// STOPPED).
    Reach(Vec<State>),
    /// `wait_if_busy`: the environment is idle (every field terminal, whatever the state).
    Idle,
}

/// What we know before reading: the goal and the ids that tell our deployment from an older one.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub goal: Goal,
    /// The `deployment_request_id` Qovery answered to our action (`None` when the answer had none
    /// or could not be read).
    pub request_id: Option<String>,
    /// The environment's `deployment_request_id` read before the action was sent.
    pub previous_request_id: Option<String>,
    /// The services that must reach the target (ids); `None` means every service of the
    /// environment.
    pub services: Option<Vec<String>>,
}

/// One service in one status read.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceObservation {
    pub id: String,
    /// What to call it in messages (its name when known, else its id).
    pub name: String,
    pub state: State,
    pub deployment_request_id: Option<String>,
}

/// One status read (`GET /environment/{id}/statuses`, plus the request's own status when read).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub state: State,
    pub last_deployment_state: State,
    pub deployment_request_id: Option<String>,
    pub services: Vec<ServiceObservation>,
    /// `EnvDeploymentStatus.status` of our request, when it was read.
    pub request_status: Option<State>,
}

impl Observation {
    /// From a `/statuses` answer; `name` gives a service's display name from its id.
    pub fn from_statuses(
        s: &EnvironmentStatuses,
        request_status: Option<State>,
        name: impl Fn(&str) -> String,
    ) -> Observation {
        Observation {
            state: s.environment.state.clone(),
            last_deployment_state: s.environment.last_deployment_state.clone(),
            deployment_request_id: s.environment.deployment_request_id.clone(),
            services: s
                .services()
                .map(|(_, sv)| ServiceObservation {
                    id: sv.id.clone(),
                    name: name(&sv.id),
                    state: sv.state.clone(),
                    deployment_request_id: sv.deployment_request_id.clone(),
                })
                .collect(),
            request_status,
        }
    }
}

/// The answer for the reads so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Not over (or not provably over). `Some(reason)`: the fields disagree or still show an
    /// earlier deployment; log the reason once.
    Running(Option<String>),
    Succeeded,
    /// Over, and not in the target state: why, in words.
    Failed(String),
}

/// The deployment's verdict from every read since the action was sent (oldest first).
pub fn verdict(expect: &Expectation, history: &[Observation]) -> Verdict {
    let Some(now) = history.last() else {
        return Verdict::Running(None);
    };
    match &expect.goal {
        Goal::Idle => idle(now),
        Goal::Reach(targets) => reach(expect, targets, history, now),
    }
}

fn idle(now: &Observation) -> Verdict {
    let busy: Vec<String> = std::iter::once(("state", &now.state))
        .chain(std::iter::once((
            "last_deployment_state",
            &now.last_deployment_state,
        )))
        .filter(|(_, s)| !s.is_terminal())
        .map(|(w, s)| format!("{w} {s}"))
        .chain(
            now.services
                .iter()
                .filter(|s| !s.state.is_terminal())
                .map(|s| format!("{} {}", s.name, s.state)),
        )
        .collect();
    if busy.is_empty() {
        Verdict::Succeeded
    } else if now.state.is_terminal() && now.last_deployment_state.is_terminal() {
        // The environment says idle while a service still moves: wait for both.
        Verdict::Running(Some(format!(
            "the environment reads {} but not every service is idle yet ({}); waiting for both",
            now.state,
            busy.join(", ")
        )))
    } else {
        Verdict::Running(None)
    }
}

/// Does a request id belong to our deployment? `None`: cannot tell.
fn is_ours(expect: &Expectation, rid: Option<&str>) -> Option<bool> {
    match (expect.request_id.as_deref(), rid) {
        (Some(a), Some(b)) => Some(a == b),
        (None, Some(b)) => expect.previous_request_id.as_deref().map(|p| p != b),
        (_, None) => None,
    }
}

fn reach(
    expect: &Expectation,
    targets: &[State],
    history: &[Observation],
    now: &Observation,
) -> Verdict {
    let target_names = targets
        .iter()
        .map(State::as_str)
        .collect::<Vec<_>>()
        .join(" or ");
    let env_ours = is_ours(expect, now.deployment_request_id.as_deref());
    // Our request id, as far as we know it.
    let our_id: Option<&str> = expect.request_id.as_deref().or(if env_ours == Some(true) {
        now.deployment_request_id.as_deref()
    } else {
        None
    });
    let fresh = |rid: Option<&str>| match (our_id, rid) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let in_scope_of = |o: &Observation| -> Result<Vec<ServiceObservation>, String> {
        match &expect.services {
            None => Ok(o.services.clone()),
            Some(ids) => ids
                .iter()
                .map(|id| {
                    o.services
                        .iter()
                        .find(|s| &s.id == id)
                        .cloned()
                        .ok_or_else(|| id.clone())
                })
                .collect(),
        }
    };
    let in_scope = match in_scope_of(now) {
        Ok(v) => v,
        Err(id) => {
            return Verdict::Running(Some(format!(
                "service {id} is missing from the status answer; waiting for it"
            )));
        }
    };
    // Anything still moving: the normal case while the deployment runs.
    let moving = !now.state.is_terminal()
        || !now.last_deployment_state.is_terminal()
        || now
            .request_status
            .as_ref()
            .is_some_and(|s| !s.is_terminal())
        || in_scope
            .iter()
            .any(|s| fresh(s.deployment_request_id.as_deref()) && !s.state.is_terminal());
    if moving {
        return Verdict::Running(None);
    }
    if env_ours == Some(false) {
        return Verdict::Running(Some(format!(
            "the environment still reports deployment request {}, not ours{}; its states are the earlier deployment's",
            now.deployment_request_id.as_deref().unwrap_or("?"),
            our_id.map(|r| format!(" ({r})")).unwrap_or_default()
        )));
    }
    let stale: Vec<&ServiceObservation> = in_scope
        .iter()
        .filter(|s| !fresh(s.deployment_request_id.as_deref()))
        .collect();
    if !stale.is_empty() {
        return Verdict::Running(Some(format!(
            "the environment reads {} / last deployment {}, but {} still report{} an earlier deployment request; waiting for the services",
            now.state,
            now.last_deployment_state,
            stale
                .iter()
                .map(|s| format!("{} ({})", s.name, s.state))
                .collect::<Vec<_>>()
                .join(", "),
            if stale.len() == 1 { "s" } else { "" }
        )));
    }
    // Something must show these terminal values are ours, not the previous deployment's.
    let seen_running = history.iter().any(|o| {
        is_ours(expect, o.deployment_request_id.as_deref()) != Some(false)
            && (!o.state.is_terminal()
                || !o.last_deployment_state.is_terminal()
                || o.request_status.as_ref().is_some_and(|s| !s.is_terminal())
                || in_scope_of(o).is_ok_and(|v| {
                    v.iter().any(|s| {
                        fresh(s.deployment_request_id.as_deref()) && !s.state.is_terminal()
                    })
                }))
    });
    let request_done = now.request_status.as_ref().is_some_and(State::is_terminal);
    let services_carry_ours = our_id.is_some()
        && !in_scope.is_empty()
        && in_scope
            .iter()
            .all(|s| s.deployment_request_id.as_deref() == our_id);
    if !(seen_running || request_done || services_carry_ours) {
        return Verdict::Running(Some(format!(
            "Qovery reads {} / last deployment {} but nothing shows it is our deployment's result yet (it may still be the previous one's); waiting",
            now.state, now.last_deployment_state
        )));
    }
    let reached = |s: &State| targets.contains(s);
    let all_reached = reached(&now.state)
        && reached(&now.last_deployment_state)
        && now.request_status.as_ref().is_none_or(reached)
        && in_scope.iter().all(|s| reached(&s.state));
    if all_reached {
        return Verdict::Succeeded;
    }
    let failing: Vec<String> = in_scope
        .iter()
        .filter(|s| !reached(&s.state))
        .map(|s| format!("{} ({})", s.name, s.state))
        .collect();
    let env_agrees_on_failure = now.state == now.last_deployment_state
        && !reached(&now.state)
        && now.request_status.as_ref().is_none_or(|s| !reached(s));
    let services_say_success = !in_scope.is_empty() && failing.is_empty();
    if env_agrees_on_failure && !services_say_success {
        let mut why = format!("ended in {} (expected {target_names})", now.state);
        if !failing.is_empty() {
            why.push_str(&format!("; not {target_names}: {}", failing.join(", ")));
        }
        return Verdict::Failed(why);
    }
    if env_agrees_on_failure && in_scope.is_empty() {
        return Verdict::Failed(format!("ended in {} (expected {target_names})", now.state));
    }
    Verdict::Running(Some(format!(
        "Qovery's fields disagree: state {}, last_deployment_state {}{}{}; treating the deployment as still running",
        now.state,
        now.last_deployment_state,
        now.request_status
            .as_ref()
            .map(|s| format!(", deployment request {s}"))
            .unwrap_or_default(),
        if failing.is_empty() {
            String::new()
        } else {
            format!(", services not {target_names}: {}", failing.join(", "))
        }
    )))
}
