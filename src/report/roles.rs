//! What role a step kind plays in a report: moving traffic, verifying, promoting a database.
//! The RTO and RPO measurements ask these, and these ask the step-kind registry
//! (`steps::registry::KINDS`, where each kind states its role on its one line).

use crate::steps::{Role, role_of};

/// The kinds [`is_verification`] accepts, named in the report when none passed.
pub(super) fn verify_kinds() -> String {
    crate::steps::registry::KINDS
        .iter()
        .filter(|k| k.role == Some(Role::Verification))
        .map(|k| k.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Does a step of this kind move traffic to the other site?
pub fn is_traffic_move(kind: &str) -> bool {
    role_of(kind) == Some(Role::TrafficSwitch)
}

/// Is a passing step of this kind a verification (ends the RTO window once traffic moved)?
pub fn is_verification(kind: &str) -> bool {
    role_of(kind) == Some(Role::Verification)
}

/// Might a step of this kind change the world? Unknown kinds count as mutating; so does
/// `http.request` — used only for journals that do not record `mutating` per step.
pub fn is_mutating_kind(kind: &str) -> bool {
    !(kind.is_empty() || is_verification(kind) || matches!(kind, "approval" | "manual"))
}

/// Does a step of this kind promote a database (`postgres.promote`, `scaleway.promote_replica`)?
pub fn is_promotion(kind: &str) -> bool {
    role_of(kind) == Some(Role::Promotion)
}
