//! The `hostile` scenario: a world that disagrees with our assumptions. It plays one lie after
//! another, in a seeded order, each for [`LIE_LENGTH`]: records that point elsewhere or at
//! nothing, a split brain, a primary that dies mid-write, a registry that answers 200 with
//! another digest, skewed clocks, answers that arrive after the timeout. (The Qovery family adds
//! its own status-ordering quirks to the same scenario.)
//!
//! The simulator keeps GROUND TRUTH ([`Truth`]) apart from WHAT IT ANSWERS (the families read
//! [`Lie`] and answer accordingly), so tests can compare a verdict with the truth: no verdict may
//! be healthy where the truth is not.

use std::time::Duration;

/// How long each lie plays before the next one.
pub const LIE_LENGTH: Duration = Duration::from_secs(10);

/// An address that belongs to neither site (TEST-NET-3).
pub const ELSEWHERE: &str = "203.0.113.9";

/// How far the hostile clocks are ahead: more than the simulated backup's age, so DR's last
/// backup is stamped in the future.
pub const CLOCK_SKEW: Duration = Duration::from_secs(6 * 3600);

/// How late a hostile answer arrives: longer than every probe timeout (2 s health, 5 s
/// Prometheus, 10 s status round).
pub const LATE_BY: Duration = Duration::from_secs(12);

/// One way the world lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lie {
    /// The record points at an address of neither site.
    DnsElsewhere,
    /// The record does not exist (NXDOMAIN).
    DnsNothing,
    /// Both databases are primaries and accept writes.
    SplitBrain,
    /// Prod's primary dies in the middle of a write burst: its series vanish, the DR lag it
    /// last reported is all that is left (DR itself stays a good standby to fail over to).
    PrimaryDiesMidWrite,
    /// The DR registry answers 200 for the tag, with another image's digest.
    WrongDigest,
    /// The DR site's clocks are hours ahead: its timestamps are in the future.
    SkewedClock,
    /// The DR site answers, but only after every timeout.
    LateAnswers,
}

impl Lie {
    pub const ALL: [Lie; 7] = [
        Lie::DnsElsewhere,
        Lie::DnsNothing,
        Lie::SplitBrain,
        Lie::PrimaryDiesMidWrite,
        Lie::WrongDigest,
        Lie::SkewedClock,
        Lie::LateAnswers,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Lie::DnsElsewhere => "the record points at neither site",
            Lie::DnsNothing => "the record does not exist",
            Lie::SplitBrain => "both databases are writable primaries",
            Lie::PrimaryDiesMidWrite => "prod's primary died mid-write",
            Lie::WrongDigest => "the DR registry answers 200 with another digest",
            Lie::SkewedClock => "DR's clocks are hours ahead",
            Lie::LateAnswers => "DR answers after every timeout",
        }
    }

    /// What is really so while this lie plays.
    pub fn truth(self) -> Truth {
        let mut t = Truth::default();
        match self {
            Lie::DnsElsewhere | Lie::DnsNothing => t.dns_at_a_site = false,
            Lie::SplitBrain => t.split_brain = true,
            Lie::PrimaryDiesMidWrite => t.prod_database_up = false,
            Lie::WrongDigest => t.dr_images_match = false,
            Lie::SkewedClock => t.dr_backup_age_known = false,
            Lie::LateAnswers => t.dr_answers_in_time = false,
        }
        t
    }
}

/// Ground truth: what holds in the world, whatever it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truth {
    /// Every nameserver answers one site's `dns_target`.
    pub dns_at_a_site: bool,
    /// Prod and DR both accept writes.
    pub split_brain: bool,
    pub prod_database_up: bool,
    /// The DR registry holds prod's images, digest for digest.
    pub dr_images_match: bool,
    /// DR's last backup has a believable time.
    pub dr_backup_age_known: bool,
    /// DR answers within the probes' timeouts.
    pub dr_answers_in_time: bool,
}

impl Default for Truth {
    fn default() -> Self {
        Truth {
            dns_at_a_site: true,
            split_brain: false,
            prod_database_up: true,
            dr_images_match: true,
            dr_backup_age_known: true,
            dr_answers_in_time: true,
        }
    }
}

impl Truth {
    /// Is the DR site really ready to take traffic?
    pub fn dr_ready(&self) -> bool {
        self.dns_at_a_site
            && !self.split_brain
            && self.dr_images_match
            && self.dr_backup_age_known
            && self.dr_answers_in_time
    }
}

/// The order the lies play in for `seed`: a seeded permutation (same seed, same order).
pub fn schedule(seed: u64) -> Vec<Lie> {
    let mut order = Lie::ALL.to_vec();
    fastrand::Rng::with_seed(seed ^ 0x0068_6f73_7469_6c65).shuffle(&mut order);
    order
}

/// The lie playing `elapsed` after the scenario started.
pub fn lie_at(seed: u64, elapsed: Duration) -> Lie {
    let order = schedule(seed);
    let i = (elapsed.as_secs() / LIE_LENGTH.as_secs().max(1)) as usize % order.len();
    order[i]
}
