//! What role a step kind plays in a report: moving traffic, verifying, promoting a database.
//! The RTO and RPO measurements ask these and nothing else, so a new step kind states its role
//! in this one place.

/// The kinds [`is_verification`] accepts.
pub(super) const VERIFY_KINDS: &[&str] = &["dns.verify", "http.check", "check", "wait"];

/// Does a step of this kind move traffic to the other site?
pub fn is_traffic_move(kind: &str) -> bool {
    kind == "dns.switch"
}

/// Is a passing step of this kind a verification (ends the RTO window once traffic moved)?
pub fn is_verification(kind: &str) -> bool {
    VERIFY_KINDS.contains(&kind)
}

/// Might a step of this kind change the world? Unknown kinds count as mutating; so does
/// `http.request` — used only for journals that do not record `mutating` per step.
pub fn is_mutating_kind(kind: &str) -> bool {
    !(kind.is_empty() || is_verification(kind) || matches!(kind, "approval" | "manual"))
}

/// Does a step of this kind promote a database (`postgres.promote`, `scaleway.promote_replica`)?
pub fn is_promotion(kind: &str) -> bool {
    kind.split_once('.')
        .is_some_and(|(_, op)| op.starts_with("promote"))
}
