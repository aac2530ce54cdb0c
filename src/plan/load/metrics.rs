//! Loading the cloud metric sources of a database (`cloudwatch`, `datadog`), beside the
//! Prometheus one: defaults applied, and the mistakes that would otherwise only show at the first
//! probe (a region typo, an unknown statistic, an RDS metric in the wrong unit for its role, a
//! key written into the plan instead of referenced) caught at load with the key's position.

use std::time::Duration;

use super::spans::{Seg, at};
use super::{Cx, PlanError};
use crate::plan::refs;
use crate::plan::*;

/// RDS metrics in bytes and in seconds (CloudWatch User Guide, "Amazon CloudWatch metrics for
/// Amazon RDS"): a role is checked against the unit its reading needs.
const RDS_BYTES: &[&str] = &[
    "OldestReplicationSlotLag",
    "ReplicationSlotDiskUsage",
    "TransactionLogsDiskUsage",
    "TransactionLogsGeneration",
];
const RDS_SECONDS: &[&str] = &["ReplicaLag", "OldestLogicalReplicationSlotLag"];

fn stat_ok(s: &str) -> bool {
    matches!(s, "Average" | "Minimum" | "Maximum" | "Sum" | "SampleCount")
        || s.strip_prefix('p')
            .is_some_and(|n| n.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v)))
}

impl Cx<'_, '_> {
    pub(super) fn cloudwatch(
        &mut self,
        id: &'static str,
        c: &raw::CloudWatch,
    ) -> Result<CloudWatchSource, PlanError> {
        let p = |k: &'static str| {
            [
                Seg::K("sites"),
                Seg::K(id),
                Seg::K("database"),
                Seg::K("cloudwatch"),
                Seg::K(k),
            ]
        };
        let region_ok = !c.region.is_empty()
            && c.region
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            && c.region.contains('-');
        if !region_ok {
            return Err(self.err_full(
                at(&p("region")),
                format!("`cloudwatch.region`: `{}` is not an AWS region", c.region),
                vec!["eu-west-3".into(), "us-east-1".into()],
                None,
                None,
            ));
        }
        let endpoint = match &c.endpoint {
            Some(e) => Some(self.url(&p("endpoint"), e)?),
            None => None,
        };
        let period = match &c.period {
            Some(v) => self.duration(&p("period"), v)?.as_secs() as u32,
            None => 60,
        };
        if period == 0 || (period >= 60 && period % 60 != 0) {
            return Err(self.err(
                at(&p("period")),
                "`cloudwatch.period`: CloudWatch takes 1, 5, 10, 30 s or a multiple of 60 s".into(),
            ));
        }
        let max_age = match &c.max_age {
            Some(v) => self.duration(&p("max_age"), v)?,
            None => Duration::from_secs(300),
        };
        let metric = |key: &'static str,
                      m: &Option<raw::CloudWatchMetric>,
                      units: &[&str],
                      unit: &str|
         -> Result<Option<CloudWatchMetric>, PlanError> {
            let Some(m) = m else { return Ok(None) };
            let namespace = m.namespace.clone().unwrap_or_else(|| "AWS/RDS".into());
            let stat = m.stat.clone().unwrap_or_else(|| "Maximum".into());
            if !stat_ok(&stat) {
                return Err(self.err_full(
                    at(&p(key)),
                    format!("`cloudwatch.{key}.stat`: unknown statistic `{stat}`"),
                    vec!["Maximum".into(), "Average".into(), "p99".into()],
                    None,
                    None,
                ));
            }
            if namespace == "AWS/RDS" && !units.is_empty() && !units.contains(&m.metric.as_str()) {
                return Err(self.err_full(
                    at(&p(key)),
                    format!(
                        "`cloudwatch.{key}`: `{}` is not an RDS metric in {unit}; `{key}` reads {unit}",
                        m.metric
                    ),
                    units.iter().map(|u| u.to_string()).collect(),
                    None,
                    None,
                ));
            }
            let dimensions: Vec<(String, String)> = match (&m.dimensions, &c.db_instance) {
                (Some(d), _) => d.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                (None, Some(db)) => vec![("DBInstanceIdentifier".into(), db.clone())],
                (None, None) => {
                    return Err(self.err(
                        at(&p(key)),
                        format!(
                            "`cloudwatch.{key}` names no dimensions and the source has no \
                             `db_instance`: CloudWatch would answer nothing (add \
                             `db_instance = \"<DBInstanceIdentifier>\"`)"
                        ),
                    ));
                }
            };
            Ok(Some(CloudWatchMetric {
                namespace,
                metric: m.metric.clone(),
                dimensions,
                stat,
            }))
        };
        let lag = metric("lag", &c.lag, RDS_BYTES, "bytes")?;
        let replay_age = metric("replay_age", &c.replay_age, RDS_SECONDS, "seconds")?;
        let wal_disk = metric("wal_disk", &c.wal_disk, RDS_BYTES, "bytes")?;
        let backup_age = metric("backup_age", &c.backup_age, &[], "seconds")?;
        if lag.is_none() && replay_age.is_none() && wal_disk.is_none() && backup_age.is_none() {
            return Err(self.err(
                at(&p("region")),
                "`cloudwatch` reads nothing: set one of lag, replay_age, wal_disk, backup_age \
                 (e.g. `replay_age = { metric = \"ReplicaLag\" }`)"
                    .into(),
            ));
        }
        Ok(CloudWatchSource {
            region: c.region.clone(),
            endpoint,
            period,
            max_age,
            lag,
            replay_age,
            wal_disk,
            backup_age,
        })
    }

    pub(super) fn datadog(
        &mut self,
        id: &'static str,
        d: &raw::Datadog,
    ) -> Result<DatadogSource, PlanError> {
        let p = |k: &'static str| {
            [
                Seg::K("sites"),
                Seg::K(id),
                Seg::K("database"),
                Seg::K("datadog"),
                Seg::K(k),
            ]
        };
        for (k, v) in [("api_key", &d.api_key), ("app_key", &d.app_key)] {
            if !refs::has_reference(v) {
                return Err(self.err(
                    at(&p(k)),
                    format!(
                        "`datadog.{k}` is written into the plan: give it by reference, e.g. \
                         `{k} = \"${{env:{}}}\"`",
                        if k == "api_key" {
                            "DD_API_KEY"
                        } else {
                            "DD_APP_KEY"
                        }
                    ),
                ));
            }
        }
        let api_key = self.secret(&p("api_key"), &d.api_key)?;
        let app_key = self.secret(&p("app_key"), &d.app_key)?;
        let api_url = match (&d.api_url, &d.site) {
            (Some(u), _) => self.url(&p("api_url"), u)?,
            (None, site) => {
                let site = site.as_deref().unwrap_or("datadoghq.com");
                let ok = site.split('.').count() >= 2
                    && site
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
                if !ok {
                    return Err(self.err_full(
                        at(&p("site")),
                        format!("`datadog.site`: `{site}` is not a Datadog site"),
                        vec![
                            "datadoghq.com".into(),
                            "datadoghq.eu".into(),
                            "us3.datadoghq.com".into(),
                            "us5.datadoghq.com".into(),
                        ],
                        None,
                        None,
                    ));
                }
                // Datadog's API host for a site is `api.<site>` (its API reference's endpoint
                // table); `clients::datadog::site_api_url` says the same one layer up.
                format!("https://api.{}", site.trim_start_matches("app."))
            }
        };
        let window = match &d.window {
            Some(v) => self.duration(&p("window"), v)?,
            None => Duration::from_secs(600),
        };
        let max_age = match &d.max_age {
            Some(v) => self.duration(&p("max_age"), v)?,
            None => Duration::from_secs(300),
        };
        if d.lag_query.is_none()
            && d.replay_age_query.is_none()
            && d.wal_disk_query.is_none()
            && d.backup_age_query.is_none()
        {
            return Err(self.err(
                at(&p("api_key")),
                "`datadog` reads nothing: set one of lag_query, replay_age_query, \
                 wal_disk_query, backup_age_query"
                    .into(),
            ));
        }
        Ok(DatadogSource {
            api_url,
            api_key,
            app_key,
            window,
            max_age,
            lag_query: d.lag_query.clone(),
            replay_age_query: d.replay_age_query.clone(),
            wal_disk_query: d.wal_disk_query.clone(),
            backup_age_query: d.backup_age_query.clone(),
        })
    }
}
