//! What the probes remember between rounds, as state owned by the run that probes.
//!
//! The runtime makes one [`ProbeMemory`] when a cockpit session, a monitor or a `status` run
//! starts, and passes it by reference to every probe round and (through the step context) to
//! the steps that read the same servers. Nothing here is process-wide: a second run in the same
//! process starts empty, and what one run saw cannot leak into another's verdicts. Each concern
//! keeps its own cache in its own module; this only puts them under one owner.

use crate::clients::postgres::ProbeSessions;

use super::images::ImagesMemory;
use super::qovery::QoveryMemory;

/// The probes' caches for one run. Every cache is bounded by the plan's configured targets (one
/// entry per server, registry image, cluster or environment), never by time or rounds.
#[derive(Debug, Default)]
pub struct ProbeMemory {
    /// Kept read-only PostgreSQL sessions and the last primary positions seen.
    pub pg: ProbeSessions,
    /// Image targets, prod digests and prod rounds last read, and the registry auth tokens.
    pub images: ImagesMemory,
    /// Cluster and environment names (they do not change while the cockpit runs).
    pub qovery: QoveryMemory,
}

impl ProbeMemory {
    pub fn new() -> ProbeMemory {
        ProbeMemory::default()
    }
}
