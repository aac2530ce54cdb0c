//! What the panels know about each site: the latest reading of every section, with its age.
//! Probes produce [`Observation`]s; the engine keeps a [`SectionState`] per site and section and
//! answers condition lookups from it. Stale, missing and erroring values are never healthy.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::plan::condition::Lookup;
use crate::plan::{SiteId, Value};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Cluster,
    Env,
    Database,
    Images,
    Dns,
    Health,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Cluster,
        Section::Env,
        Section::Database,
        Section::Images,
        Section::Dns,
        Section::Health,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Cluster => "cluster",
            Section::Env => "env",
            Section::Database => "database",
            Section::Images => "images",
            Section::Dns => "dns",
            Section::Health => "health",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Section::Cluster => "Cluster",
            Section::Env => "Env",
            Section::Database => "Database",
            Section::Images => "Images",
            Section::Dns => "DNS",
            Section::Health => "Health",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// How good a fresh reading is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Good,
    Warn,
    Bad,
}

/// A successful probe result for one section of one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// One short line for the panel, e.g. `200 OK · 42 ms`.
    pub summary: String,
    pub level: Level,
    /// Named values that conditions can test (`ok`, `status`, `latency`, `lag`, …).
    pub fields: BTreeMap<String, Value>,
    /// Extra lines for the expanded view.
    pub details: Vec<String>,
}

impl Reading {
    pub fn new(summary: impl Into<String>, level: Level) -> Reading {
        Reading {
            summary: summary.into(),
            level,
            fields: BTreeMap::new(),
            details: Vec::new(),
        }
    }
    pub fn field(mut self, name: &str, v: Value) -> Reading {
        self.fields.insert(name.to_string(), v);
        self
    }
}

/// A probe error: a short reason for the panel and the full (already redacted) text for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeError {
    pub short: String,
    pub full: String,
}

impl ProbeError {
    pub fn new(short: impl Into<String>, full: impl Into<String>) -> ProbeError {
        ProbeError {
            short: short.into(),
            full: full.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub site: SiteId,
    pub section: Section,
    pub at: DateTime<Utc>,
    pub outcome: Result<Reading, ProbeError>,
}

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
}

pub fn age(now: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (now - at).to_std().unwrap_or(Duration::ZERO)
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
                if a > stale_after {
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
        match self.view(now, stale_after) {
            SectionView::NotConfigured => {
                Lookup::Missing("section not configured in the plan".into())
            }
            SectionView::Waiting => Lookup::Missing("not observed yet".into()),
            SectionView::Error { error, .. } => Lookup::Error(error.short.clone()),
            SectionView::Fresh { reading, age } | SectionView::Stale { reading, age } => {
                match reading.fields.get(field) {
                    Some(v) => Lookup::Value {
                        value: v.clone(),
                        age,
                        stale: age > stale_after,
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
    let mut configured = 0;
    let mut unknown = 0;
    let mut worst = Level::Good;
    for v in views {
        if matches!(v, SectionView::NotConfigured) {
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
