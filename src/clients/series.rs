//! A metric series as the cloud metric services (CloudWatch, Datadog) answer it, and the one rule
//! that turns it into a reading's number: the LATEST datapoint of each series, and an error (never
//! a zero) when there is no series, no datapoint, a NaN/null value, or a datapoint older than the
//! source's `max_age`. An exporter or agent that stopped reporting must not read as "no lag".

use std::time::Duration;

use crate::plan::units::fmt_duration;

/// One series: a label for the operator and its `(unix seconds, value)` points (`None` is a
/// null point, e.g. Datadog's gaps).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(i64, Option<f64>)>,
}

/// The largest of the series' latest values. `what` names the query in every error.
pub fn latest_value(
    source: &str,
    what: &str,
    series: &[Series],
    now: i64,
    max_age: Duration,
) -> Result<f64, String> {
    let mut best: Option<f64> = None;
    for s in series {
        let Some(&(ts, v)) = s.points.iter().max_by_key(|(ts, _)| *ts) else {
            continue;
        };
        let Some(v) = v.filter(|v| v.is_finite()) else {
            return Err(format!(
                "{source}: the latest datapoint of `{what}` ({}) is not a number",
                s.label
            ));
        };
        let age = now.saturating_sub(ts);
        if age > max_age.as_secs() as i64 {
            return Err(format!(
                "{source}: the latest datapoint of `{what}` ({}) is {} old (> max_age {}): \
                 the metric stopped reporting",
                s.label,
                fmt_duration(Duration::from_secs(age.max(0) as u64)),
                fmt_duration(max_age)
            ));
        }
        best = Some(best.map_or(v, |b: f64| b.max(v)));
    }
    best.ok_or_else(|| {
        format!(
            "{source}: no datapoints for `{what}`: a wrong metric name, dimension or tag, or \
             nothing is reporting it"
        )
    })
}
