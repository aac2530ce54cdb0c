//! `drcockpit status PLAN`: one-shot DR readiness for cron and monitoring systems. Every
//! configured probe runs once, in parallel, under one global timeout, through the same read-only
//! transport and the same verdict rules as the panels — so the exit code never disagrees with the
//! screen. Nothing is journaled and nothing can mutate.
//!
//! Exit codes: 0 ready, 1 degraded, 2 not ready, 3 could not evaluate (bad plan, nothing answered).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::{Level, Mode, Msg, Operator, Section, SectionView, State, Verdict, update};
use crate::clients::http::HttpClient;
use crate::plan::{Plan, SiteId};

pub const READY: i32 = 0;
pub const DEGRADED: i32 = 1;
pub const NOT_READY: i32 = 2;
pub const UNKNOWN: i32 = 3;

/// The JSON shape of `drcockpit status --format json` (documented in the README).
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub plan: String,
    pub plan_hash: String,
    pub at: DateTime<Utc>,
    /// `ready`, `degraded`, `not-ready` or `unknown`: the DR site's readiness to take traffic.
    pub overall: String,
    pub exit_code: i32,
    pub sites: Vec<SiteStatus>,
}

#[derive(Debug, Serialize)]
pub struct SiteStatus {
    pub site: String,
    pub label: String,
    pub verdict: String,
    pub sections: Vec<SectionStatus>,
}

#[derive(Debug, Serialize)]
pub struct SectionStatus {
    pub section: String,
    /// `good`, `warn`, `bad`, `error`, `waiting` (no answer within the timeout).
    pub state: String,
    pub summary: String,
    /// Seconds since the value was read.
    pub age_secs: Option<f64>,
    /// Numeric fields of the reading (bytes, seconds, counts), for alerting.
    pub values: std::collections::BTreeMap<String, f64>,
    /// Text fields of the reading (e.g. the DNS record's `points_to`, a database `role`).
    pub texts: std::collections::BTreeMap<String, String>,
}

fn overall_of(dr: Verdict, answered: usize) -> (&'static str, i32) {
    if answered == 0 {
        return ("unknown", UNKNOWN);
    }
    match dr {
        Verdict::Ready => ("ready", READY),
        Verdict::Degraded => ("degraded", DEGRADED),
        Verdict::Down => ("not-ready", NOT_READY),
        Verdict::Unknown => ("unknown", UNKNOWN),
    }
}

/// Evaluate every probe once and build the report. `timeout` bounds the whole round.
pub async fn evaluate(plan: Arc<Plan>, timeout: Duration) -> StatusReport {
    let (state, answered) = observe_once(plan.clone(), timeout).await;
    report_of(&plan, &state, answered)
}

/// Run every configured probe once (read-only, in parallel, under `timeout`) and fold the
/// answers into a monitor-mode [`State`]; also returns how many probes answered.
pub async fn observe_once(plan: Arc<Plan>, timeout: Duration) -> (State, usize) {
    let http = HttpClient::new(true).with_read_retries(0);
    let keys = crate::probes::configured(&plan);
    let mut set = tokio::task::JoinSet::new();
    for key in keys {
        let (plan, http) = (plan.clone(), http.clone());
        set.spawn(async move { crate::probes::run(&plan, &http, key).await });
    }
    let mut observations = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, set.join_next()).await {
        if let Ok(obs) = joined {
            observations.push(obs);
        }
    }
    set.abort_all();
    let answered = observations.iter().filter(|o| o.outcome.is_ok()).count();

    let now = Utc::now();
    let operator = Operator::from_env();
    let mut state = State::new(plan.clone(), Mode::Monitor, operator, now);
    for obs in observations {
        // Monitor-mode engine: observations only update panels; any effect is a log line.
        let _ = update(&mut state, Msg::Observed(obs), now);
    }
    state.now = Utc::now();
    (state, answered)
}

fn report_of(plan: &Plan, state: &State, answered: usize) -> StatusReport {
    let mut sites = Vec::new();
    for site in SiteId::ALL {
        let mut sections = Vec::new();
        for sec in Section::ALL {
            let view = state.view(site, sec);
            let (st, summary, age, values, texts) = match view {
                SectionView::NotConfigured => continue,
                SectionView::Waiting => (
                    "waiting",
                    "no answer within the timeout".to_string(),
                    None,
                    Default::default(),
                    Default::default(),
                ),
                SectionView::Error { error, age, .. } => (
                    "error",
                    error.full.clone(),
                    Some(age),
                    Default::default(),
                    Default::default(),
                ),
                SectionView::Fresh { reading, age } | SectionView::Stale { reading, age } => {
                    let st = match reading.level {
                        Level::Good => "good",
                        Level::Warn => "warn",
                        Level::Bad => "bad",
                    };
                    let values = reading
                        .fields
                        .iter()
                        .filter_map(|(k, v)| numeric(v).map(|n| (k.clone(), n)))
                        .collect();
                    let texts = reading
                        .fields
                        .iter()
                        .filter_map(|(k, v)| match v {
                            crate::plan::Value::Text(t) => {
                                Some((k.clone(), crate::redact::redact_string(t.clone())))
                            }
                            _ => None,
                        })
                        .collect();
                    (st, reading.summary.clone(), Some(age), values, texts)
                }
            };
            sections.push(SectionStatus {
                section: sec.as_str().into(),
                state: st.into(),
                summary: crate::redact::redact_string(summary),
                age_secs: age.map(|a| a.as_secs_f64()),
                values,
                texts,
            });
        }
        sites.push(SiteStatus {
            site: site.as_str().into(),
            label: plan.site(site).label.clone(),
            verdict: state.verdict(site).word().to_ascii_lowercase(),
            sections,
        });
    }
    let (overall, code) = overall_of(state.verdict(SiteId::Dr), answered);
    StatusReport {
        plan: plan.name.clone(),
        plan_hash: plan.hash.clone(),
        at: state.now,
        overall: overall.into(),
        exit_code: code,
        sites,
    }
}

fn numeric(v: &crate::plan::Value) -> Option<f64> {
    use crate::plan::Value;
    match v {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Num(n) => Some(*n),
        Value::Bytes(b) => Some(*b as f64),
        Value::Duration(d) => Some(d.as_secs_f64()),
        Value::Text(_) => None,
    }
}

pub fn render_text(r: &StatusReport) -> String {
    let mut out = format!(
        "{} — DR {} (exit {})\n",
        r.plan,
        r.overall.to_uppercase(),
        r.exit_code
    );
    for s in &r.sites {
        out.push_str(&format!(
            "  {:<4} {:<9} {}\n",
            s.site.to_uppercase(),
            s.verdict.to_uppercase(),
            s.label
        ));
        if s.sections.is_empty() {
            out.push_str("       (nothing configured to watch)\n");
        }
        for sec in &s.sections {
            let age = sec
                .age_secs
                .map(|a| format!("{a:.1}s ago"))
                .unwrap_or_else(|| "—".into());
            out.push_str(&format!(
                "       {:<9} {:<7} {:<10} {}\n",
                sec.section, sec.state, age, sec.summary
            ));
        }
    }
    out
}

/// Prometheus text exposition format, for node_exporter's textfile collector.
pub fn render_prometheus(r: &StatusReport) -> String {
    fn esc(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    }
    let plan = esc(&r.plan);
    let mut out = String::new();
    out.push_str("# HELP drcockpit_dr_ready DR readiness: 1 ready, 0.5 degraded, 0 not ready, -1 could not evaluate.\n");
    out.push_str("# TYPE drcockpit_dr_ready gauge\n");
    let v = match r.exit_code {
        READY => "1",
        DEGRADED => "0.5",
        NOT_READY => "0",
        _ => "-1",
    };
    out.push_str(&format!("drcockpit_dr_ready{{plan=\"{plan}\"}} {v}\n"));
    out.push_str("# HELP drcockpit_site_verdict Site verdict (1 for the current one).\n");
    out.push_str("# TYPE drcockpit_site_verdict gauge\n");
    for s in &r.sites {
        for word in ["ready", "degraded", "down", "unknown"] {
            let on = if s.verdict == word { 1 } else { 0 };
            out.push_str(&format!(
                "drcockpit_site_verdict{{plan=\"{plan}\",site=\"{}\",verdict=\"{word}\"}} {on}\n",
                s.site
            ));
        }
    }
    out.push_str(
        "# HELP drcockpit_section_ok 1 when the section's last reading is fresh and good.\n",
    );
    out.push_str("# TYPE drcockpit_section_ok gauge\n");
    for s in &r.sites {
        for sec in &s.sections {
            let ok = if sec.state == "good" { 1 } else { 0 };
            out.push_str(&format!(
                "drcockpit_section_ok{{plan=\"{plan}\",site=\"{}\",section=\"{}\"}} {ok}\n",
                s.site, sec.section
            ));
        }
    }
    out.push_str("# HELP drcockpit_section_age_seconds Age of the section's value.\n");
    out.push_str("# TYPE drcockpit_section_age_seconds gauge\n");
    for s in &r.sites {
        for sec in &s.sections {
            if let Some(a) = sec.age_secs {
                out.push_str(&format!("drcockpit_section_age_seconds{{plan=\"{plan}\",site=\"{}\",section=\"{}\"}} {a:.3}\n", s.site, sec.section));
            }
        }
    }
    out.push_str(
        "# HELP drcockpit_value A numeric field of a section's reading (bytes, seconds, counts).\n",
    );
    out.push_str("# TYPE drcockpit_value gauge\n");
    for s in &r.sites {
        for sec in &s.sections {
            for (k, v) in &sec.values {
                out.push_str(&format!(
                    "drcockpit_value{{plan=\"{plan}\",site=\"{}\",section=\"{}\",field=\"{}\"}} {v}\n",
                    s.site,
                    sec.section,
                    esc(k)
                ));
            }
        }
    }
    out.push_str(
        "# HELP drcockpit_text A text field of a section's reading, as a label (value 1).\n",
    );
    out.push_str("# TYPE drcockpit_text gauge\n");
    for s in &r.sites {
        for sec in &s.sections {
            for (k, v) in &sec.texts {
                out.push_str(&format!(
                    "drcockpit_text{{plan=\"{plan}\",site=\"{}\",section=\"{}\",field=\"{}\",value=\"{}\"}} 1\n",
                    s.site,
                    sec.section,
                    esc(k),
                    esc(v)
                ));
            }
        }
    }
    out
}

/// The CLI: load, evaluate, print, exit code.
pub fn run_cli(path: &Path, format: &str, timeout: Duration) -> i32 {
    if !matches!(format, "text" | "json" | "prometheus") {
        eprintln!("--format {format}: expected text, json or prometheus");
        return UNKNOWN;
    }
    let Some(rt) = super::async_runtime() else {
        return UNKNOWN;
    };
    rt.block_on(async {
        let (plan, sim) = match super::session::load(path).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{}", crate::redact::redact(&e));
                return UNKNOWN;
            }
        };
        let report = evaluate(Arc::new(plan), timeout).await;
        if let Some(sim) = sim {
            sim.shutdown().await;
        }
        let text = match format {
            "json" => serde_json::to_string_pretty(&report)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
            "prometheus" => render_prometheus(&report),
            _ => render_text(&report),
        };
        crate::outln!("{}", crate::redact::redact(text.trim_end()));
        report.exit_code
    })
}
