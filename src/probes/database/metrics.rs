//! A database watched through a cloud metric service (CloudWatch, Datadog) instead of
//! Prometheus: each configured role (lag in bytes, replay age in seconds, WAL on disk in bytes,
//! backup age) is read as the latest datapoint of its series. A role that answers nothing, a
//! NaN/null, or a datapoint older than the source's `max_age` fails the probe with the query's
//! name: a metric that stopped reporting must never read as zero lag.

use std::collections::BTreeMap;
use std::time::Duration;

use super::assess::apply_backup;
use super::{Level, ProbeError, Reading, backup_value_to_age, worse};
use crate::clients::cloudwatch::{CloudWatch, MetricStat};
use crate::clients::datadog::Datadog;
use crate::clients::http::HttpClient;
use crate::clients::series::latest_value;
use crate::plan::units::{fmt_bytes, fmt_duration};
use crate::plan::{CloudWatchMetric, CloudWatchSource, DatabaseConfig, DatadogSource, Value};

/// The latest value of each configured role (`None`: not configured).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Values {
    pub lag: Option<f64>,
    pub replay_age: Option<f64>,
    pub wal_disk: Option<f64>,
    pub backup_age: Option<f64>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn stat(m: &CloudWatchMetric, period: u32) -> MetricStat {
    MetricStat {
        namespace: m.namespace.clone(),
        metric: m.metric.clone(),
        dimensions: m.dimensions.clone(),
        stat: m.stat.clone(),
        period,
    }
}

/// One `GetMetricData` for every configured role.
pub async fn read_cloudwatch(http: &HttpClient, c: &CloudWatchSource) -> Result<Values, String> {
    let roles = [&c.lag, &c.replay_age, &c.wal_disk, &c.backup_age];
    let queries: Vec<MetricStat> = roles
        .iter()
        .filter_map(|r| r.as_ref().map(|m| stat(m, c.period)))
        .collect();
    let client = CloudWatch::new(&c.region, c.endpoint.as_deref());
    let end = now();
    let start = end - c.max_age.as_secs() as i64 - i64::from(c.period);
    let series = client.get_metric_data(http, &queries, start, end).await?;
    let mut it = series.iter().zip(&queries);
    let mut out = Values::default();
    for (role, slot) in roles.iter().zip([
        &mut out.lag,
        &mut out.replay_age,
        &mut out.wal_disk,
        &mut out.backup_age,
    ]) {
        if role.is_some()
            && let Some((s, q)) = it.next()
        {
            *slot = Some(latest_value(
                "CloudWatch",
                &q.describe(),
                std::slice::from_ref(s),
                end,
                c.max_age,
            )?);
        }
    }
    Ok(out)
}

/// One `/api/v1/query` per configured role.
pub async fn read_datadog(http: &HttpClient, d: &DatadogSource) -> Result<Values, String> {
    let client = Datadog {
        api_url: d.api_url.clone(),
        api_key: d.api_key.clone(),
        app_key: d.app_key.clone(),
    };
    let to = now();
    let from = to - d.window.as_secs() as i64;
    let mut out = Values::default();
    for (q, slot) in [
        (&d.lag_query, &mut out.lag),
        (&d.replay_age_query, &mut out.replay_age),
        (&d.wal_disk_query, &mut out.wal_disk),
        (&d.backup_age_query, &mut out.backup_age),
    ] {
        if let Some(q) = q {
            let series = client.query(http, q, from, to).await?;
            *slot = Some(latest_value("Datadog", q, &series, to, d.max_age)?);
        }
    }
    Ok(out)
}

pub async fn probe_cloudwatch(
    http: &HttpClient,
    c: &CloudWatchSource,
    cfg: &DatabaseConfig,
) -> Result<Reading, ProbeError> {
    let v = read_cloudwatch(http, c)
        .await
        .map_err(|e| ProbeError::new("CloudWatch error", crate::redact::redact_string(e)))?;
    Ok(reading(&v, cfg, "via CloudWatch"))
}

pub async fn probe_datadog(
    http: &HttpClient,
    d: &DatadogSource,
    cfg: &DatabaseConfig,
) -> Result<Reading, ProbeError> {
    let v = read_datadog(http, d)
        .await
        .map_err(|e| ProbeError::new("Datadog error", crate::redact::redact_string(e)))?;
    Ok(reading(&v, cfg, "via Datadog"))
}

/// The panel's reading from the values, judged against the plan's bounds.
pub fn reading(v: &Values, cfg: &DatabaseConfig, via: &str) -> Reading {
    let mut fields = BTreeMap::new();
    let mut level = Level::Good;
    let mut summary = Vec::new();
    let mut details = Vec::new();
    if let Some(x) = v.lag {
        let lag = x.max(0.0) as u64;
        fields.insert("lag".into(), Value::Bytes(lag));
        let mut s = format!("{} behind", fmt_bytes(lag));
        if let Some(m) = cfg.max_lag_bytes
            && lag > m
        {
            level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_bytes(m)));
        }
        summary.push(s);
    }
    if let Some(x) = v.replay_age {
        let age = Duration::from_secs_f64(x.clamp(0.0, 1e10));
        fields.insert("replay_age".into(), Value::Duration(age));
        let mut s = format!("replay {}", fmt_duration(age));
        if let Some(m) = cfg.max_replay_age
            && age > m
        {
            level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_duration(m)));
        }
        summary.push(s);
    }
    if let Some(x) = v.wal_disk {
        let b = x.max(0.0) as u64;
        fields.insert("wal_disk".into(), Value::Bytes(b));
        summary.push(format!("WAL on disk {}", fmt_bytes(b)));
    }
    if let Some(x) = v.backup_age {
        let secs = if x > 1e9 { now() as f64 - x } else { x };
        if secs < -super::super::reading::FUTURE_TOLERANCE.as_secs_f64() {
            level = worse(level, Level::Warn);
            summary.push("backup ?".into());
            details.push(
                "the last backup is stamped in the future (a skewed clock?): its age is unknown"
                    .into(),
            );
        } else {
            apply_backup(
                backup_value_to_age(x),
                cfg,
                &mut level,
                &mut fields,
                &mut summary,
            );
        }
    }
    summary.push(via.into());
    fields.insert("ok".into(), Value::Bool(level != Level::Bad));
    Reading {
        summary: summary.join(" · "),
        level,
        fields,
        details,
    }
}
