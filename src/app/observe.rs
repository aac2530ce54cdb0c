//! What the panels know about each site: the latest reading of every section, with its age.
//! Probes produce [`Observation`]s; the engine keeps a [`SectionState`] per site and section and
//! answers condition lookups from it. Stale, missing and erroring values are never healthy.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::plan::condition::Lookup;
use crate::plan::{SiteId, Value};

// What a probe hands back lives with the probes (they sit below the engine); the engine keeps
// using it under these names.
pub use crate::probes::reading::{
    FUTURE_TOLERANCE, Level, Observation, ProbeError, Reading, Section,
};

/// The latest known state of one section.
#[derive(Debug, Clone, Default)]
pub struct SectionState {
    pub configured: bool,
    /// This build has a probe for it (else values only arrive in tests).
    pub probed: bool,
    pub last_good: Option<(Reading, DateTime<Utc>)>,
    pub last_error: Option<(ProbeError, DateTime<Utc>)>,
    /// When the section first went bad (Bad level or error) in the current run of failures.
    pub bad_since: Option<DateTime<Utc>>,
    /// The last good reading's detail lines indexed for the expanded panels, once when it
    /// arrives (see [`DetailIndex`]).
    pub detail_index: DetailIndex,
}

/// A reading's detail lines as the expanded panels order and measure them, built once when the
/// reading arrives rather than on every frame (issue 15, "Big environments": with 500 services
/// a frame finds the lines in its window and the panel's height without scanning, classifying
/// or measuring the 500 lines again).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailIndex {
    /// The lines' positions by [`detail_severity`]: problems, then unknowns and warnings, then
    /// the rest; the probe's order within each.
    pub by_severity: [Vec<u32>; 3],
    /// Each line's display width.
    pub widths: Vec<u32>,
}

impl DetailIndex {
    pub fn of(lines: &[String]) -> DetailIndex {
        use unicode_width::UnicodeWidthStr;
        let mut index = DetailIndex::default();
        for (n, line) in lines.iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            index.by_severity[usize::from(detail_severity(line))].push(n);
            index
                .widths
                .push(u32::try_from(line.width()).unwrap_or(u32::MAX));
        }
        index
    }
}

/// How bad a detail line is, for the expanded view's worst-first order: 0 a problem, 1 unknown
/// or a warning, 2 fine.
pub fn detail_severity(line: &str) -> u8 {
    if line.contains('✗')
        || line.contains('≠')
        || line.contains("ERROR")
        || line.contains("FAILED")
        || line.contains("SPLIT BRAIN")
    {
        0
    } else if line.starts_with("? ") || line.starts_with("! ") || line.contains("? error") {
        1
    } else {
        2
    }
}

/// What the panel should show for a section right now.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionView<'a> {
    NotConfigured,
    Waiting,
    Fresh {
        reading: &'a Reading,
        age: Duration,
    },
    Stale {
        reading: &'a Reading,
        age: Duration,
    },
    Error {
        error: &'a ProbeError,
        age: Duration,
        last_good_age: Option<Duration>,
    },
}

impl SectionView<'_> {
    /// The level this view contributes to the verdict; `None` = unknown.
    pub fn level(&self) -> Option<Level> {
        match self {
            SectionView::Fresh { reading, .. } => Some(reading.level),
            _ => None,
        }
    }

    /// This section's verdict on its own (see [`section_health`] for the one every screen uses).
    pub fn health(&self) -> SectionHealth {
        match self {
            SectionView::NotConfigured => SectionHealth::NotConfigured,
            SectionView::Waiting => SectionHealth::Waiting,
            SectionView::Error { .. } => SectionHealth::Error,
            SectionView::Stale { .. } => SectionHealth::Stale,
            SectionView::Fresh { reading, .. } => match reading.level {
                Level::Good => SectionHealth::Good,
                Level::Warn => SectionHealth::Warn,
                Level::Bad => SectionHealth::Bad,
            },
        }
    }
}

/// The one verdict of one section of one site. The panels, `status`, `check --online` and the
/// conditions' derived `healthy` field all read it from [`section_health`], so no two of them
/// can disagree. Only `Good` is healthy: stale, unknown and erroring are never healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionHealth {
    NotConfigured,
    /// Configured, no answer yet.
    Waiting,
    Good,
    Warn,
    Bad,
    /// The last value is too old (or stamped in the future) to be believed.
    Stale,
    /// The last probe failed.
    Error,
}

impl SectionHealth {
    /// The word `status` prints and exports (`good`, `warn`, `bad`, `stale`, `error`, `waiting`).
    pub fn word(self) -> &'static str {
        match self {
            SectionHealth::NotConfigured => "not-configured",
            SectionHealth::Waiting => "waiting",
            SectionHealth::Good => "good",
            SectionHealth::Warn => "warn",
            SectionHealth::Bad => "bad",
            SectionHealth::Stale => "stale",
            SectionHealth::Error => "error",
        }
    }
    /// A mark that does not rely on colour.
    pub fn icon(self) -> &'static str {
        match self {
            SectionHealth::NotConfigured => " ",
            SectionHealth::Waiting => "?",
            SectionHealth::Good => "✓",
            SectionHealth::Warn => "!",
            SectionHealth::Bad | SectionHealth::Error => "✗",
            SectionHealth::Stale => "~",
        }
    }
    pub fn healthy(self) -> bool {
        self == SectionHealth::Good
    }
    /// The level this contributes to a site's verdict; `None` = unknown.
    pub fn level(self) -> Option<Level> {
        match self {
            SectionHealth::Good => Some(Level::Good),
            SectionHealth::Warn => Some(Level::Warn),
            SectionHealth::Bad => Some(Level::Bad),
            _ => None,
        }
    }
}

/// What the header says when both databases are primaries that accept writes.
pub const SPLIT_BRAIN: &str = "split brain: prod and DR both accept writes";

/// Both sites' databases are fresh primaries and neither is known to refuse writes (fenced or a
/// standby): a split brain. A primary whose fence cannot be read counts as writable, and so
/// does one whose `writable` and `fenced` contradict each other — the worse reading wins.
pub fn split_brain(prod: &SectionView<'_>, dr: &SectionView<'_>) -> bool {
    fn writable_primary(v: &SectionView<'_>) -> bool {
        let SectionView::Fresh { reading, .. } = v else {
            return false;
        };
        let primary = matches!(reading.fields.get("role"), Some(Value::Text(r)) if r == "primary");
        // Refuses writes only when both fields agree it does (a standby carries no `fenced`);
        // when they contradict each other, the worse reading (writable) wins.
        let refuses = matches!(reading.fields.get("writable"), Some(Value::Bool(false)))
            && !matches!(reading.fields.get("fenced"), Some(Value::Bool(false)));
        primary && !refuses
    }
    writable_primary(prod) && writable_primary(dr)
}

/// THE verdict function of one section of one site, as every screen and command shows it: the
/// section's own verdict, made `Bad` for the databases in a split brain.
pub fn section_health(state: &crate::app::State, site: SiteId, sec: Section) -> SectionHealth {
    let h = state.view(site, sec).health();
    if sec == Section::Database
        && matches!(h, SectionHealth::Good | SectionHealth::Warn)
        && split_brain(
            &state.view(SiteId::Prod, Section::Database),
            &state.view(SiteId::Dr, Section::Database),
        )
    {
        return SectionHealth::Bad;
    }
    h
}

/// The derived `SITE.SECTION.healthy` condition field: [`section_health`] is `Good`.
pub fn healthy_lookup(state: &crate::app::State, site: SiteId, sec: Section) -> Lookup {
    let view = state.view(site, sec);
    match view {
        SectionView::NotConfigured => Lookup::Missing("section not configured in the plan".into()),
        SectionView::Waiting => Lookup::Missing("not observed yet".into()),
        SectionView::Error { error, .. } => Lookup::Error(error.short.clone()),
        SectionView::Fresh { age, .. } | SectionView::Stale { age, .. } => Lookup::Value {
            value: Value::Bool(section_health(state, site, sec).healthy()),
            age,
            stale: matches!(view, SectionView::Stale { .. }),
        },
    }
}

pub fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (now - at).to_std().unwrap_or(Duration::ZERO)
}

/// Is `at` too far in the future of `now` to be believed?
pub fn from_the_future(now: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    (at - now).to_std().is_ok_and(|d| d > FUTURE_TOLERANCE)
}

impl SectionState {
    pub fn observe(&mut self, obs: &Observation) {
        match &obs.outcome {
            Ok(r) => {
                if r.level == Level::Bad {
                    self.bad_since.get_or_insert(obs.at);
                } else {
                    self.bad_since = None;
                }
                self.detail_index = DetailIndex::of(&r.details);
                self.last_good = Some((r.clone(), obs.at));
                self.last_error = None;
            }
            Err(e) => {
                self.bad_since.get_or_insert(obs.at);
                self.last_error = Some((e.clone(), obs.at));
            }
        }
    }

    pub fn view(&self, now: DateTime<Utc>, stale_after: Duration) -> SectionView<'_> {
        if !self.configured {
            return SectionView::NotConfigured;
        }
        if let Some((e, at)) = &self.last_error {
            return SectionView::Error {
                error: e,
                age: age(now, *at),
                last_good_age: self.last_good.as_ref().map(|(_, t)| age(now, *t)),
            };
        }
        match &self.last_good {
            None => SectionView::Waiting,
            Some((r, at)) => {
                let a = age(now, *at);
                if a > stale_after || from_the_future(now, *at) {
                    SectionView::Stale { reading: r, age: a }
                } else {
                    SectionView::Fresh { reading: r, age: a }
                }
            }
        }
    }

    /// Answer a condition lookup for `field` of this section.
    pub fn lookup(&self, field: &str, now: DateTime<Utc>, stale_after: Duration) -> Lookup {
        if !self.configured {
            return Lookup::Missing("section not configured in the plan".into());
        }
        if field == "down_for" {
            // Derived: how long this section has been failing (0 while healthy).
            return match (&self.last_good, &self.last_error, self.bad_since) {
                (None, None, _) => Lookup::Missing("not observed yet".into()),
                (_, _, Some(since)) => {
                    let latest = self
                        .last_error
                        .as_ref()
                        .map(|(_, t)| *t)
                        .or(self.last_good.as_ref().map(|(_, t)| *t));
                    let a = latest.map(|t| age(now, t)).unwrap_or_default();
                    Lookup::Value {
                        value: Value::Duration(age(now, since)),
                        age: a,
                        stale: a > stale_after,
                    }
                }
                (Some((_, at)), _, None) => {
                    let a = age(now, *at);
                    Lookup::Value {
                        value: Value::Duration(Duration::ZERO),
                        age: a,
                        stale: a > stale_after,
                    }
                }
                (None, Some((e, _)), None) => Lookup::Error(e.short.clone()),
            };
        }
        let view = self.view(now, stale_after);
        match view {
            SectionView::NotConfigured => {
                Lookup::Missing("section not configured in the plan".into())
            }
            SectionView::Waiting => Lookup::Missing("not observed yet".into()),
            SectionView::Error { error, .. } => Lookup::Error(error.short.clone()),
            SectionView::Fresh { reading, age } | SectionView::Stale { reading, age } => {
                let stale = matches!(view, SectionView::Stale { .. });
                match reading.fields.get(field) {
                    Some(v) => Lookup::Value {
                        value: v.clone(),
                        age,
                        stale,
                    },
                    None => {
                        let known: Vec<&str> = reading.fields.keys().map(String::as_str).collect();
                        Lookup::Missing(format!(
                            "no field `{field}`; this section has: {}",
                            known.join(", ")
                        ))
                    }
                }
            }
        }
    }
}

/// A site's one-word verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    Degraded,
    Down,
    Unknown,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ready => "READY",
            Verdict::Degraded => "DEGRADED",
            Verdict::Down => "DOWN",
            Verdict::Unknown => "UNKNOWN",
        }
    }
    pub fn icon(self) -> &'static str {
        match self {
            Verdict::Ready => "✓",
            Verdict::Degraded => "!",
            Verdict::Down => "✗",
            Verdict::Unknown => "?",
        }
    }
}

/// Combine the views of one site's configured sections into a verdict. Anything not fresh counts
/// as unknown, so a site is only READY when every configured section is fresh and good.
pub fn verdict<'a>(views: impl IntoIterator<Item = SectionView<'a>>) -> Verdict {
    verdict_of(views.into_iter().map(|v| v.health()))
}

/// [`verdict`] from each section's [`SectionHealth`] (as [`section_health`] gives it).
pub fn verdict_of(healths: impl IntoIterator<Item = SectionHealth>) -> Verdict {
    let mut configured = 0;
    let mut unknown = 0;
    let mut worst = Level::Good;
    for v in healths {
        if v == SectionHealth::NotConfigured {
            continue;
        }
        configured += 1;
        match v.level() {
            None => unknown += 1,
            Some(l) => worst = worst.max(l),
        }
    }
    if configured == 0 || unknown == configured {
        Verdict::Unknown
    } else if worst == Level::Bad {
        Verdict::Down
    } else if unknown > 0 || worst == Level::Warn {
        Verdict::Degraded
    } else {
        Verdict::Ready
    }
}
