//! CloudWatch `GetMetricData`, for replication lag and backup age of managed databases (RDS
//! `ReplicaLag`, `OldestReplicationSlotLag`, `TransactionLogsDiskUsage`, or any metric a team
//! publishes for its backups) when the metrics live in CloudWatch rather than Prometheus.
//!
//! Protocol: the Query API, `GET https://monitoring.<region>.amazonaws.com/?Action=GetMetricData
//! &Version=2010-08-01&MetricDataQueries.member.N.…`, answered in XML
//! (`GetMetricDataResponse/GetMetricDataResult/MetricDataResults/member` with `Id`, `Label`,
//! `StatusCode`, `Timestamps/member`, `Values/member`; errors as `ErrorResponse/Error` with `Type`,
//! `Code`, `Message`). Chosen over the JSON protocol (`X-Amz-Target:
//! GraniteServiceVersion20100801.GetMetricData`, a POST) because a GET passes the cockpit's
//! read-only transport: probes run in monitor and review modes too, and reading a metric must
//! never be a POST there. Shapes from the CloudWatch API reference (`API_GetMetricData`,
//! `API_MetricDataQuery`, `API_MetricDataResult`, "Common Errors") and the AWS Query protocol's
//! `.member.N` list encoding, confirmed with the `search` tool; the reference folder is silent on
//! CloudWatch. Signed with SigV4 (service `monitoring`) by the signer Route 53 uses.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::http::{HttpClient, RequestSpec, percent_encode};
use super::series::Series;
use crate::clients::dns::route53::xml_values;

const NAME: &str = "CloudWatch";

/// One metric to read: `Namespace`, `MetricName`, `Dimensions`, `Stat`, `Period`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStat {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
    pub period: u32,
}

impl MetricStat {
    /// How the operator recognises it in an error: `AWS/RDS ReplicaLag{DBInstanceIdentifier=app-dr} Maximum`.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{} {}{{{}}} {}",
            self.namespace,
            self.metric,
            dims.join(","),
            self.stat
        )
    }
}

#[derive(Debug, Clone)]
pub struct CloudWatch {
    /// `https://monitoring.<region>.amazonaws.com` unless overridden (simulator, VPC endpoint).
    pub endpoint: String,
    pub region: String,
    /// Fixed credentials and signing time (tests); `None` reads the chain / the clock.
    pub credentials: Option<Credentials>,
    pub signing_time: Option<SystemTime>,
}

pub fn default_endpoint(region: &str) -> String {
    format!("https://monitoring.{region}.amazonaws.com")
}

fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl CloudWatch {
    pub fn new(region: &str, endpoint: Option<&str>) -> CloudWatch {
        CloudWatch {
            endpoint: endpoint
                .map(|e| e.trim_end_matches('/').to_string())
                .unwrap_or_else(|| default_endpoint(region)),
            region: region.to_string(),
            credentials: None,
            signing_time: None,
        }
    }

    /// The unsigned request for `queries` (ids `m0`, `m1`, … in order) over `[start, end]`.
    pub fn request(&self, queries: &[MetricStat], start: i64, end: i64) -> RequestSpec {
        let mut q: Vec<(String, String)> = vec![
            ("Action".into(), "GetMetricData".into()),
            ("Version".into(), "2010-08-01".into()),
            ("StartTime".into(), iso(start)),
            ("EndTime".into(), iso(end)),
            ("ScanBy".into(), "TimestampDescending".into()),
        ];
        for (i, m) in queries.iter().enumerate() {
            let p = format!("MetricDataQueries.member.{}", i + 1);
            q.push((format!("{p}.Id"), format!("m{i}")));
            q.push((
                format!("{p}.MetricStat.Metric.Namespace"),
                m.namespace.clone(),
            ));
            q.push((
                format!("{p}.MetricStat.Metric.MetricName"),
                m.metric.clone(),
            ));
            for (j, (k, v)) in m.dimensions.iter().enumerate() {
                let d = format!("{p}.MetricStat.Metric.Dimensions.member.{}", j + 1);
                q.push((format!("{d}.Name"), k.clone()));
                q.push((format!("{d}.Value"), v.clone()));
            }
            q.push((format!("{p}.MetricStat.Period"), m.period.to_string()));
            q.push((format!("{p}.MetricStat.Stat"), m.stat.clone()));
            q.push((format!("{p}.ReturnData"), "true".into()));
        }
        let qs: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        RequestSpec {
            method: "GET".into(),
            url: format!("{}/?{}", self.endpoint, qs.join("&")),
            headers: vec![],
            body: None,
        }
    }

    pub fn sign(&self, req: RequestSpec, creds: &Credentials) -> Result<RequestSpec, String> {
        super::aws::sign_request(
            req,
            creds,
            &self.region,
            "monitoring",
            self.signing_time.unwrap_or_else(SystemTime::now),
        )
        .map_err(|e| format!("{NAME} {e}"))
    }

    /// One series per query, in the order of `queries`. A query CloudWatch did not answer is an
    /// error; an answered query with no datapoints is an empty series (the caller's error).
    pub async fn get_metric_data(
        &self,
        http: &HttpClient,
        queries: &[MetricStat],
        start: i64,
        end: i64,
    ) -> Result<Vec<Series>, String> {
        let req = self.request(queries, start, end);
        http.guard(&req.method, &req.url)
            .map_err(|e| format!("{NAME}: {e}"))?;
        let creds = match &self.credentials {
            Some(c) => c.clone(),
            None => super::aws::credentials()
                .await
                .map_err(|e| format!("{NAME}: {e}"))?,
        };
        let signed = self.sign(req, &creds)?;
        let resp = http
            .send(&signed, Duration::from_secs(5))
            .await
            .map_err(|e| format!("{NAME}: {e}"))?;
        if !(200..300).contains(&resp.status) {
            return Err(format!(
                "{NAME} answered {}: {}",
                resp.status,
                error_detail(&resp.body)
            ));
        }
        let results = parse_response(&resp.body)?;
        queries
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let id = format!("m{i}");
                let r = results.iter().find(|r| r.0 == id).ok_or_else(|| {
                    format!("{NAME}: the answer has no result for {}", m.describe())
                })?;
                if r.1 != "Complete" && r.1 != "PartialData" {
                    return Err(format!("{NAME}: {} answered {}", m.describe(), r.1));
                }
                Ok(Series {
                    label: m.describe(),
                    points: r.2.points.clone(),
                })
            })
            .collect()
    }
}

/// `Code: Message` of an error answer: the Query API's XML `ErrorResponse`, or the JSON
/// protocol's `{"__type": …, "message": …}`.
pub fn error_detail(body: &str) -> String {
    let c = xml_values(body, "Code");
    let m = xml_values(body, "Message");
    if let (Some(c), Some(m)) = (c.first(), m.first()) {
        return format!("{c}: {m}");
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let t = v["__type"].as_str().unwrap_or("error");
        let t = t.rsplit('#').next().unwrap_or(t);
        let m = v["message"]
            .as_str()
            .or(v["Message"].as_str())
            .unwrap_or("");
        return format!("{t}: {m}");
    }
    body.chars().take(200).collect()
}

/// The top-level `<tag>…</tag>` blocks of `xml` (nested blocks of the same tag stay inside).
fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let mut depth = 1usize;
        let mut pos = 0usize;
        loop {
            let next_open = body[pos..].find(&open).map(|x| x + pos);
            let Some(next_close) = body[pos..].find(&close).map(|x| x + pos) else {
                return out;
            };
            match next_open {
                Some(o) if o < next_close => {
                    depth += 1;
                    pos = o + open.len();
                }
                _ => {
                    depth -= 1;
                    pos = next_close + close.len();
                    if depth == 0 {
                        out.push(&body[..next_close]);
                        break;
                    }
                }
            }
        }
        rest = &body[pos..];
    }
    out
}

/// `(Id, StatusCode, series)` of every `MetricDataResults` member of a `GetMetricDataResponse`.
pub fn parse_response(xml: &str) -> Result<Vec<(String, String, Series)>, String> {
    let Some(results) = blocks(xml, "MetricDataResults").into_iter().next() else {
        return Err(format!(
            "{NAME}: the answer is not a GetMetricDataResponse: {}",
            xml.chars().take(120).collect::<String>()
        ));
    };
    let mut out = Vec::new();
    for m in blocks(results, "member") {
        let id = xml_values(m, "Id").into_iter().next().unwrap_or_default();
        let status = xml_values(m, "StatusCode")
            .into_iter()
            .next()
            .unwrap_or_else(|| "Complete".into());
        let label = xml_values(m, "Label")
            .into_iter()
            .next()
            .unwrap_or_default();
        let ts = blocks(m, "Timestamps")
            .first()
            .map(|b| xml_values(b, "member"))
            .unwrap_or_default();
        let vs = blocks(m, "Values")
            .first()
            .map(|b| xml_values(b, "member"))
            .unwrap_or_default();
        if ts.len() != vs.len() {
            return Err(format!(
                "{NAME}: result {id} has {} timestamps but {} values",
                ts.len(),
                vs.len()
            ));
        }
        let mut points = Vec::new();
        for (t, v) in ts.iter().zip(&vs) {
            let t = chrono::DateTime::parse_from_rfc3339(t.trim())
                .map_err(|_| format!("{NAME}: result {id}: `{t}` is not a timestamp"))?
                .timestamp();
            // A value that does not parse is kept as a null point: the reader refuses it.
            points.push((t, v.trim().parse::<f64>().ok()));
        }
        out.push((id, status, Series { label, points }));
    }
    Ok(out)
}
