//! What a probe hands back: a [`Reading`] (or a [`ProbeError`]) of one [`Section`] of one site,
//! stamped as an [`Observation`]. These types live here, below the engine, so that probes need
//! nothing from `app`; the engine re-exports them (`crate::app::{Reading, …}`) and folds them into
//! its panel state.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

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
    /// Issue 16: prod and DR environments compared (the same reading on both panels).
    Parity,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Cluster,
        Section::Env,
        Section::Database,
        Section::Images,
        Section::Dns,
        Section::Health,
        Section::Parity,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Cluster => "cluster",
            Section::Env => "env",
            Section::Database => "database",
            Section::Images => "images",
            Section::Dns => "dns",
            Section::Health => "health",
            Section::Parity => "parity",
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
            Section::Parity => "Parity",
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

/// A value stamped further than this in the future is not believed (a skewed clock): it is
/// shown stale, never fresh.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(2);
