//! `drcockpit status PLAN`: one-shot DR readiness for cron and monitoring systems. Every
//! configured probe runs once, in parallel, under one global timeout, through the same read-only
//! transport and the same verdict rules as the panels — so the exit code never disagrees with the
//! screen. Nothing is journaled and nothing can mutate.
//!
//! Exit codes: 0 ready, 1 degraded, 2 not ready (a DR section bad, erroring, refusing us or
//! silent while something else answered; DNS pointing at neither site; a split brain), 3 could
//! not evaluate (the plan cannot be used, or nothing answered at all).
//!
//! `--textfile PATH` also writes the Prometheus exposition to PATH atomically (a temp file in the
//! same directory, then a rename) whatever the verdict, so a cron job publishes "not ready" too.
//!
//! Several plans (`status plans/*.toml`): loaded and evaluated in parallel under the same one
//! global timeout; the exit code is the worst plan's (the codes above are ordered by severity);
//! text and JSON list every plan, and the Prometheus exposition (stdout and `--textfile`, ONE
//! file) carries each plan's series under its `plan` label. One plan keeps the one-plan shapes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::observe::{SPLIT_BRAIN, SectionHealth, section_health, split_brain};
use crate::app::{Mode, Msg, Operator, Section, SectionView, State, Verdict, update};
use crate::clients::http::HttpClient;
use crate::plan::{Plan, SiteId};

pub const READY: i32 = 0;
pub const DEGRADED: i32 = 1;
pub const NOT_READY: i32 = 2;
pub const UNKNOWN: i32 = 3;

/// The JSON shape of `drcockpit status --format json` (documented in the README).
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub plan: String,
    pub plan_hash: String,
    pub at: DateTime<Utc>,
    /// `ready`, `degraded`, `not-ready` or `unknown`: the DR site's readiness to take traffic.
    pub overall: String,
    pub exit_code: i32,
    /// Critical findings across sites, in words (e.g. a split brain); empty when none.
    pub alerts: Vec<String>,
    pub sites: Vec<SiteStatus>,
    /// The plan file, when several plans were asked for (absent for one plan: its shape is
    /// unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Why this plan could not be evaluated (it could not be loaded), when several were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The JSON shape of `drcockpit status A.toml B.toml … --format json` (several plans): the
/// worst verdict across plans, then every plan's own report (each with its `file`).
#[derive(Debug, Serialize)]
pub struct MultiReport {
    pub at: DateTime<Utc>,
    /// The worst plan's `overall`.
    pub overall: String,
    /// The worst plan's exit code (the process exits with it).
    pub exit_code: i32,
    pub plans: Vec<StatusReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteStatus {
    pub site: String,
    pub label: String,
    pub verdict: String,
    pub sections: Vec<SectionStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionStatus {
    pub section: String,
    /// `good`, `warn`, `bad`, `stale`, `error`, `waiting` (no answer within the timeout): the
    /// section verdict the panels show (`app::observe::section_health`).
    pub state: String,
    pub summary: String,
    /// Seconds since the value was read.
    pub age_secs: Option<f64>,
    /// Numeric fields of the reading (bytes, seconds, counts), for alerting.
    pub values: std::collections::BTreeMap<String, f64>,
    /// Text fields of the reading (e.g. the DNS record's `points_to`, a database `role`).
    pub texts: std::collections::BTreeMap<String, String>,
}

/// The overall readiness and exit code. Exit 3 only when nothing answered at all; once
/// something answered, a DR section that is down, erroring, refusing us or silent means the DR
/// site is not ready (exit 2) — never "could not evaluate".
fn overall_of(dr: Verdict, dr_sections: &[SectionHealth], answered: usize) -> (&'static str, i32) {
    if answered == 0 {
        return ("unknown", UNKNOWN);
    }
    let dr_failing = dr_sections
        .iter()
        .any(|h| matches!(h, SectionHealth::Error | SectionHealth::Waiting));
    match dr {
        Verdict::Down | Verdict::Unknown => ("not-ready", NOT_READY),
        _ if dr_failing => ("not-ready", NOT_READY),
        Verdict::Ready => ("ready", READY),
        Verdict::Degraded => ("degraded", DEGRADED),
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
    // This run's own memory: nothing carries over from an earlier run in the same process.
    let mem = Arc::new(crate::probes::ProbeMemory::new());
    let mut set = tokio::task::JoinSet::new();
    for key in keys {
        let (plan, http, mem) = (plan.clone(), http.clone(), mem.clone());
        set.spawn(async move { crate::probes::run(&plan, &http, &mem, key).await });
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

/// The report for an already observed `state` (`answered`: how many probes answered).
pub fn report_of(plan: &Plan, state: &State, answered: usize) -> StatusReport {
    let mut sites = Vec::new();
    for site in SiteId::ALL {
        let mut sections = Vec::new();
        for sec in Section::ALL {
            let view = state.view(site, sec);
            let health = section_health(state, site, sec);
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
                    let st = health.word();
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
    let dr_sections: Vec<SectionHealth> = Section::ALL
        .iter()
        .map(|s| section_health(state, SiteId::Dr, *s))
        .collect();
    let (overall, code) = overall_of(state.verdict(SiteId::Dr), &dr_sections, answered);
    let mut alerts = Vec::new();
    if split_brain(
        &state.view(SiteId::Prod, Section::Database),
        &state.view(SiteId::Dr, Section::Database),
    ) {
        alerts.push(SPLIT_BRAIN.to_string());
    }
    StatusReport {
        plan: plan.name.clone(),
        plan_hash: plan.hash.clone(),
        at: state.now,
        overall: overall.into(),
        exit_code: code,
        alerts,
        sites,
        file: None,
        error: None,
    }
}

/// The `overall` word of an exit code (the worst of several plans).
fn overall_word(code: i32) -> &'static str {
    match code {
        READY => "ready",
        DEGRADED => "degraded",
        NOT_READY => "not-ready",
        _ => "unknown",
    }
}

/// The report of a plan that could not be loaded: could not evaluate (exit 3), with the reason.
fn unusable(file: &Path, error: String) -> StatusReport {
    StatusReport {
        plan: file.display().to_string(),
        plan_hash: String::new(),
        at: Utc::now(),
        overall: overall_word(UNKNOWN).into(),
        exit_code: UNKNOWN,
        alerts: Vec::new(),
        sites: Vec::new(),
        file: Some(file.display().to_string()),
        error: Some(error),
    }
}

/// Load the plan at `path` and evaluate it, all before `deadline` (the one global timeout).
async fn evaluate_file(
    path: &Path,
    deadline: tokio::time::Instant,
) -> Result<StatusReport, String> {
    let loaded = tokio::time::timeout_at(deadline, super::session::load(path)).await;
    let (plan, sim) = match loaded {
        Ok(x) => x?,
        Err(_) => {
            return Err(format!(
                "{}: the plan could not be loaded within the timeout (a slow `${{cmd:}}` secret?)",
                path.display()
            ));
        }
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let report = evaluate(Arc::new(plan), left).await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    Ok(report)
}

/// Every plan at `paths`, in parallel, under one global `timeout`; a plan that cannot be loaded
/// is reported as could-not-evaluate (its reason also goes to stderr).
pub async fn evaluate_files(paths: &[PathBuf], timeout: Duration) -> Vec<StatusReport> {
    let deadline = tokio::time::Instant::now() + timeout;
    let runs = paths.iter().map(|p| evaluate_file(p, deadline));
    let results = futures::future::join_all(runs).await;
    paths
        .iter()
        .zip(results)
        .map(|(path, r)| match r {
            Ok(mut report) => {
                report.file = Some(path.display().to_string());
                report
            }
            Err(e) => {
                let e = crate::redact::redact(&e).into_owned();
                eprintln!("{e}");
                unusable(path, e)
            }
        })
        .collect()
}

/// Several plans as one report: the worst verdict first, then every plan.
pub fn combine(plans: Vec<StatusReport>) -> MultiReport {
    let exit_code = plans.iter().map(|r| r.exit_code).max().unwrap_or(UNKNOWN);
    MultiReport {
        at: Utc::now(),
        overall: overall_word(exit_code).into(),
        exit_code,
        plans,
    }
}

/// Text for several plans: one line per plan (worst verdict first line), then each plan's report.
pub fn render_text_many(m: &MultiReport) -> String {
    let mut out = format!(
        "{} plans — worst: DR {} (exit {})\n",
        m.plans.len(),
        m.overall.to_uppercase(),
        m.exit_code
    );
    for r in &m.plans {
        out.push_str(&format!(
            "  {:<10} exit {}  {}  ({})\n",
            r.overall.to_uppercase(),
            r.exit_code,
            r.plan,
            r.file.as_deref().unwrap_or("?")
        ));
    }
    for r in &m.plans {
        out.push('\n');
        match &r.error {
            Some(e) => out.push_str(&format!(
                "{} — DR UNKNOWN (exit {})\n  could not evaluate: {e}\n",
                r.plan, r.exit_code
            )),
            None => out.push_str(&render_text(r)),
        }
    }
    out
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
    for a in &r.alerts {
        out.push_str(&format!("  ✗ CRITICAL: {a}\n"));
    }
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
    render_prometheus_all(std::slice::from_ref(r))
}

/// The exposition for several plans: each metric family once (HELP, TYPE), with every plan's
/// series under its `plan` label. Two plans with the same name are told apart by their file
/// (`name (file)`) so no series is written twice.
pub fn render_prometheus_all(reports: &[StatusReport]) -> String {
    let labels: Vec<String> = reports
        .iter()
        .map(|r| {
            let twin = reports.iter().filter(|o| o.plan == r.plan).count() > 1;
            match (&r.file, twin) {
                (Some(f), true) => esc(&format!("{} ({f})", r.plan)),
                _ => esc(&r.plan),
            }
        })
        .collect();
    let plans: Vec<(&str, &StatusReport)> = labels
        .iter()
        .map(String::as_str)
        .zip(reports.iter())
        .collect();
    let all = || plans.iter().copied();
    let mut out = String::new();
    family(
        &mut out,
        "drcockpit_build_info",
        "The drcockpit build that wrote this file (value 1).",
    );
    out.push_str(&format!(
        "drcockpit_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(BUILD_COMMIT)
    ));
    family(
        &mut out,
        "drcockpit_dr_ready",
        "1 when the DR site is ready to take traffic, else 0.",
    );
    for (plan, r) in all() {
        let ready = if r.exit_code == READY { 1 } else { 0 };
        out.push_str(&format!("drcockpit_dr_ready{{plan=\"{plan}\"}} {ready}\n"));
    }
    family(
        &mut out,
        "drcockpit_dr_state",
        "The overall DR verdict: 1 for the current state, 0 for the others.",
    );
    for (plan, r) in all() {
        for word in ["ready", "degraded", "not-ready", "unknown"] {
            let on = if r.overall == word { 1 } else { 0 };
            out.push_str(&format!(
                "drcockpit_dr_state{{plan=\"{plan}\",state=\"{word}\"}} {on}\n"
            ));
        }
    }
    family(
        &mut out,
        "drcockpit_split_brain",
        "1 when both sites' databases accept writes.",
    );
    for (plan, r) in all() {
        let sb = if r.alerts.iter().any(|a| a == SPLIT_BRAIN) {
            1
        } else {
            0
        };
        out.push_str(&format!("drcockpit_split_brain{{plan=\"{plan}\"}} {sb}\n"));
    }
    family(
        &mut out,
        "drcockpit_parity_drifts",
        "Named differences between the prod and DR environments (absent when not read).",
    );
    for (plan, r) in all() {
        // DR's Parity row (both rows carry the same comparison); an unread comparison has no
        // count, and no series: never a 0 that reads as "in parity".
        let drifts = r
            .sites
            .iter()
            .filter(|s| s.site == SiteId::Dr.as_str())
            .flat_map(|s| &s.sections)
            .find(|s| s.section == Section::Parity.as_str())
            .and_then(|s| s.values.get("drifts"));
        if let Some(n) = drifts {
            out.push_str(&format!("drcockpit_parity_drifts{{plan=\"{plan}\"}} {n}\n"));
        }
    }
    family(
        &mut out,
        "drcockpit_site_verdict",
        "Site verdict (1 for the current one).",
    );
    for (plan, r) in all() {
        for s in &r.sites {
            for word in ["ready", "degraded", "down", "unknown"] {
                let on = if s.verdict == word { 1 } else { 0 };
                out.push_str(&format!(
                    "drcockpit_site_verdict{{plan=\"{plan}\",site=\"{}\",verdict=\"{word}\"}} {on}\n",
                    s.site
                ));
            }
        }
    }
    section_series(&mut out, &plans);
    out
}

/// A metric family's HELP and TYPE lines (every drcockpit series is a gauge).
fn family(out: &mut String, name: &str, help: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
}

/// A label value escaped for the exposition format.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The per-section families of every plan (`plan` label first).
fn section_series(out: &mut String, plans: &[(&str, &StatusReport)]) {
    let all = || plans.iter().copied();
    family(
        out,
        "drcockpit_section_ok",
        "1 when the section's last reading is fresh and good.",
    );
    for (plan, r) in all() {
        for s in &r.sites {
            for sec in &s.sections {
                let ok = if sec.state == "good" { 1 } else { 0 };
                out.push_str(&format!(
                    "drcockpit_section_ok{{plan=\"{plan}\",site=\"{}\",section=\"{}\"}} {ok}\n",
                    s.site, sec.section
                ));
            }
        }
    }
    family(
        out,
        "drcockpit_section_state",
        "The section verdict: 1 for the current state, 0 for the others.",
    );
    for (plan, r) in all() {
        for s in &r.sites {
            for sec in &s.sections {
                for word in ["good", "warn", "bad", "stale", "error", "waiting"] {
                    let on = if sec.state == word { 1 } else { 0 };
                    out.push_str(&format!(
                        "drcockpit_section_state{{plan=\"{plan}\",site=\"{}\",section=\"{}\",state=\"{word}\"}} {on}\n",
                        s.site, sec.section
                    ));
                }
            }
        }
    }
    family(
        out,
        "drcockpit_section_age_seconds",
        "Age of the section's value.",
    );
    for (plan, r) in all() {
        for s in &r.sites {
            for sec in &s.sections {
                if let Some(a) = sec.age_secs {
                    out.push_str(&format!("drcockpit_section_age_seconds{{plan=\"{plan}\",site=\"{}\",section=\"{}\"}} {a:.3}\n", s.site, sec.section));
                }
            }
        }
    }
    family(
        out,
        "drcockpit_value",
        "A numeric field of a section's reading (bytes, seconds, counts).",
    );
    for (plan, r) in all() {
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
    }
    family(
        out,
        "drcockpit_text",
        "A text field of a section's reading, as a label (value 1).",
    );
    for (plan, r) in all() {
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
    }
}

/// The commit this binary was built from (`build.rs`; `unknown` when git was not available).
pub const BUILD_COMMIT: &str = match option_env!("DRCOCKPIT_BUILD_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// Write `text` to `path` atomically: a temp file in the same directory (so the rename cannot
/// cross filesystems), flushed, then renamed over `path`. A reader (node_exporter) sees the old
/// file or the new one, never half of one; on failure the temp file is removed.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "drcockpit.prom".into());
    // A leading dot: node_exporter's textfile collector only reads `*.prom`.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// One panel line of `--online` (`None`: not configured) and whether the section answered. The
/// mark is the section verdict the panels and `status` show (`section_health`), never a bare ✓.
pub fn panel_line(
    state: &State,
    site: SiteId,
    sec: Section,
    timeout: Duration,
) -> Option<(String, bool)> {
    let h = section_health(state, site, sec);
    Some(match state.view(site, sec) {
        SectionView::NotConfigured => return None,
        SectionView::Waiting => (
            format!(
                "{} no answer within {}",
                h.icon(),
                crate::plan::units::fmt_duration(timeout)
            ),
            false,
        ),
        SectionView::Error { error, .. } => (format!("{} {}", h.icon(), error.full), false),
        SectionView::Fresh { reading, .. } | SectionView::Stale { reading, .. } => (
            if h.healthy() {
                format!("{} {}", h.icon(), reading.summary)
            } else {
                format!("{} {} ({})", h.icon(), reading.summary, h.word())
            },
            true,
        ),
    })
}

/// The CLI: load, evaluate, print, exit code. With `textfile`, the Prometheus exposition is also
/// written there atomically whatever the verdict; the exit code stays the verdict's. Several
/// plans: see the module comment.
pub fn run_cli(paths: &[PathBuf], format: &str, timeout: Duration, textfile: Option<&Path>) -> i32 {
    if !matches!(format, "text" | "json" | "prometheus") {
        eprintln!("--format {format}: expected text, json or prometheus");
        return UNKNOWN;
    }
    let Some(rt) = super::async_runtime() else {
        return UNKNOWN;
    };
    // The same file twice (a glob and a name overlapping) is one plan: its series once.
    let mut unique: Vec<PathBuf> = Vec::new();
    for p in paths {
        if !unique.contains(p) {
            unique.push(p.clone());
        }
    }
    let paths = unique.as_slice();
    rt.block_on(async {
        let reports = match paths {
            [] => {
                eprintln!("status: give at least one plan, e.g. `drcockpit status plans/*.toml`");
                return UNKNOWN;
            }
            [one] => {
                let deadline = tokio::time::Instant::now() + timeout;
                match evaluate_file(one, deadline).await {
                    Ok(r) => vec![r],
                    Err(e) => {
                        eprintln!("{}", crate::redact::redact(&e));
                        return UNKNOWN;
                    }
                }
            }
            _ => evaluate_files(paths, timeout).await,
        };
        let many = (reports.len() > 1).then(|| combine(reports.clone()));
        let text = match (format, &many) {
            ("json", None) => serde_json::to_string_pretty(&reports[0]),
            ("json", Some(m)) => serde_json::to_string_pretty(m),
            ("prometheus", _) => Ok(render_prometheus_all(&reports)),
            (_, None) => Ok(render_text(&reports[0])),
            (_, Some(m)) => Ok(render_text_many(m)),
        }
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        crate::outln!("{}", crate::redact::redact(text.trim_end()));
        if let Some(file) = textfile {
            let prom = crate::redact::redact(&render_prometheus_all(&reports)).into_owned();
            if let Err(e) = write_atomically(file, &prom) {
                eprintln!(
                    "--textfile {}: could not write the metrics: {e} (check the directory exists and is writable)",
                    file.display()
                );
                return UNKNOWN;
            }
        }
        reports.iter().map(|r| r.exit_code).max().unwrap_or(UNKNOWN)
    })
}
