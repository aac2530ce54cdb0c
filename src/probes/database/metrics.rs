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
    let mut r = Reading {
        summary: String::new(),
        level: Level::Good,
        fields: BTreeMap::new(),
        details: Vec::new(),
    };
    merge(&mut r, v, cfg, None);
    r.summary = if r.summary.is_empty() {
        via.to_string()
    } else {
        format!("{} · {via}", r.summary)
    };
    r
}

/// The cloud source beside a PostgreSQL connection (a managed RDS/Scaleway database): its values
/// merged into the reading PostgreSQL gave. PostgreSQL cannot see the provider's backups, so the
/// backup age comes from here; a lag both give is the worse of the two, with both shown. A cloud
/// source that does not answer marks its roles unknown (`CloudWatch ?`); the PostgreSQL reading
/// stands.
pub async fn add_cloud(http: &HttpClient, cfg: &DatabaseConfig, r: &mut Reading) {
    let (name, values) = match (&cfg.cloudwatch, &cfg.datadog) {
        (Some(c), _) => ("CloudWatch", read_cloudwatch(http, c).await),
        (None, Some(d)) => ("Datadog", read_datadog(http, d).await),
        (None, None) => return,
    };
    match values {
        Ok(v) => merge(r, &v, cfg, Some(name)),
        Err(e) => {
            r.level = worse(r.level, Level::Warn);
            r.summary = format!("{} · {name} ?", r.summary);
            r.details.push(format!(
                "{name}: {} (its lag and backup age are unknown this round)",
                crate::redact::redact_string(e)
            ));
        }
    }
    r.fields
        .insert("ok".into(), Value::Bool(r.level != Level::Bad));
}

/// What the summary says about one role: the believed value, then where it came from when there
/// is a second source (`source`), both values when PostgreSQL gave one too.
fn sourced(shown: String, pg: Option<String>, cloud: String, source: Option<&str>) -> String {
    match (source, pg) {
        (None, _) => shown,
        (Some(s), None) => format!("{shown} ({s})"),
        (Some(s), Some(p)) => format!("{shown} (PostgreSQL {p}, {s} {cloud})"),
    }
}

/// Put `part` where the summary already says `prefix…` (PostgreSQL's own figure for the role),
/// else at the end: one figure per role on the panel.
fn put_part(parts: &mut Vec<String>, prefix: Option<String>, part: String) {
    match prefix.and_then(|p| parts.iter().position(|x| x.starts_with(&p))) {
        Some(i) => parts[i] = part,
        None => parts.push(part),
    }
}

/// When two sources disagree, the worse one is believed; the details say both.
fn disagree(details: &mut Vec<String>, role: &str, pg: String, cloud: String, source: &str) {
    if pg != cloud {
        details.push(format!(
            "{role}: PostgreSQL says {pg}, {source} says {cloud}: the worse is believed"
        ));
    }
}

/// Judge the values against the plan's bounds, into `r`. `source` names the metric service when
/// `r` already holds a PostgreSQL reading (its `lag`, `replay_age`, `backup_age` fields are the
/// other source); `None` when the metric service is the only one.
pub fn merge(r: &mut Reading, v: &Values, cfg: &DatabaseConfig, source: Option<&str>) {
    let mut parts: Vec<String> = if r.summary.is_empty() {
        Vec::new()
    } else {
        r.summary.split(" · ").map(str::to_string).collect()
    };
    let pg_bytes = |r: &Reading, k: &str| match source.and(r.fields.get(k)) {
        Some(Value::Bytes(b)) => Some(*b),
        _ => None,
    };
    let pg_dur = |r: &Reading, k: &str| match source.and(r.fields.get(k)) {
        Some(Value::Duration(d)) => Some(*d),
        _ => None,
    };
    let src = source.unwrap_or("");
    if let Some(x) = v.lag {
        let c = x.max(0.0) as u64;
        let p = pg_bytes(r, "lag");
        let lag = p.map_or(c, |p| p.max(c));
        r.fields.insert("lag".into(), Value::Bytes(lag));
        let mut s = format!("{} behind", fmt_bytes(lag));
        if let Some(m) = cfg.max_lag_bytes
            && lag > m
        {
            r.level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_bytes(m)));
        }
        if let Some(p) = p {
            disagree(&mut r.details, "lag", fmt_bytes(p), fmt_bytes(c), src);
        }
        let s = sourced(s, p.map(fmt_bytes), fmt_bytes(c), source);
        put_part(&mut parts, p.map(|p| format!("{} behind", fmt_bytes(p))), s);
    }
    if let Some(x) = v.replay_age {
        let c = Duration::from_secs_f64(x.clamp(0.0, 1e10));
        let p = pg_dur(r, "replay_age");
        let age = p.map_or(c, |p| p.max(c));
        r.fields.insert("replay_age".into(), Value::Duration(age));
        let mut s = format!("replay {}", fmt_duration(age));
        if let Some(m) = cfg.max_replay_age
            && age > m
        {
            r.level = Level::Bad;
            s.push_str(&format!(" (> {})", fmt_duration(m)));
        }
        if let Some(p) = p {
            disagree(
                &mut r.details,
                "replay age",
                fmt_duration(p),
                fmt_duration(c),
                src,
            );
        }
        let s = sourced(s, p.map(fmt_duration), fmt_duration(c), source);
        put_part(
            &mut parts,
            p.map(|p| format!("replay {}", fmt_duration(p))),
            s,
        );
    }
    if let Some(x) = v.wal_disk {
        let b = x.max(0.0) as u64;
        r.fields.insert("wal_disk".into(), Value::Bytes(b));
        let s = format!("WAL on disk {}", fmt_bytes(b));
        parts.push(sourced(s, None, String::new(), source));
    }
    if let Some(x) = v.backup_age {
        let secs = if x > 1e9 { now() as f64 - x } else { x };
        if secs < -super::super::reading::FUTURE_TOLERANCE.as_secs_f64() {
            r.level = worse(r.level, Level::Warn);
            parts.push(sourced("backup ?".into(), None, String::new(), source));
            r.details.push(
                "the last backup is stamped in the future (a skewed clock?): its age is unknown"
                    .into(),
            );
        } else {
            let c = backup_value_to_age(x);
            let p = pg_dur(r, "backup_age");
            let age = p.map_or(c, |p| p.max(c));
            let mut own = Vec::new();
            apply_backup(age, cfg, &mut r.level, &mut r.fields, &mut own);
            if let Some(p) = p {
                disagree(
                    &mut r.details,
                    "backup age",
                    fmt_duration(p),
                    fmt_duration(c),
                    src,
                );
            }
            let s = sourced(
                own.join(" · "),
                p.map(fmt_duration),
                fmt_duration(c),
                source,
            );
            put_part(
                &mut parts,
                p.map(|p| format!("backup {} ago", fmt_duration(p))),
                s,
            );
        }
    }
    r.fields
        .insert("ok".into(), Value::Bool(r.level != Level::Bad));
    r.summary = parts.join(" · ");
}
