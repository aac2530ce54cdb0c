//! `drcockpit report JOURNAL`: an incident, drill or review report in Markdown or JSON.
//!
//! [`build`] folds the records into a [`ReportModel`] (what `--format json` prints);
//! [`render_markdown`] renders it. Every string taken from the journal passes through
//! [`crate::redact::redact`] when the model is built, and the rendered output passes through it
//! again.
//!
//! Measurements (the bounding events are named in the report; when one is missing the report
//! says which instead of giving a number):
//! * **RTO** starts at the declaration: the first `Declared` event, else the first `Approved`
//!   (the approval step), else the first `StepStarted`. It ends at the first passing
//!   verification (a successful step of kind `dns.verify`, `http.check`, `check` or `wait`)
//!   after traffic moved (the first successful `dns.switch` step). RTO is measured only then:
//!   a failover whose traffic never moved, or that nothing verified after it moved, is
//!   **NOT REACHED**, and the report names what is missing ("step `switch-dns` interrupted;
//!   `verify-dns` never ran") — never a number, never MET.
//! * **RPO** comes from the last `Evidence` whose `what` mentions "rpo" (or "promot…"): its
//!   detail's `data_loss_secs` / `replay_age_secs` / `rpo_secs` / `lag_secs` (time) and
//!   `lag_bytes` (volume; 0 bytes is 0 s). Bytes alone are reported as bytes, the time-based RPO
//!   not computed. Without such evidence, the lag a promotion step's `preconditions` evidence
//!   read (`….database.lag = 1.2 MiB`) is reported as bytes (never a verdict: it was read before
//!   the promotion), and what is missing is said. Evidence saying the primary was unreachable
//!   at promotion (`"rpo": "unknown"`) makes the RPO **UNKNOWN**: the report gives the last-seen
//!   primary position and its age, the standby's received and replayed LSN, and what would be
//!   needed to know — never MET.
//!   A **planned switchover** (a plan whose RPO target is 0 and that promotes, or that rejoins
//!   the old primary: a failback) reads RPO 0 only with its proof — a `postgres.fence` step
//!   completed before the promotion, and the promotion measured lag 0 (bytes and time) against
//!   the old primary, live, with the standby replayed up to the fence position: "planned
//!   switchover: fenced at LSN X, promoted at LSN X, 0 bytes lost". Anything less is
//!   **UNKNOWN**, naming each missing piece. A restore check's evidence (`backup_age_secs`) reads
//!   as the backup's age: the RPO of a backup-restore strategy.
//!
//! Drill and demo reports always have a "What failed" section (failed attempts and what came
//! of them, skips, overrides, interrupted steps, aborts) for the runbook; review sessions render
//! as a review record (every step, reviewed or not, by whom, notes, preflight ✓/✗/?).
//!
//! Where things live: `model` (the rows), `fold` (records → model), `measure` (RTO and RPO),
//! `roles` (which step kinds move traffic, verify, promote), `markdown` and `json` (rendering).
//! This file holds the entry points (`build_from_file`, the CLI) and the small text helpers the
//! others share.

use std::path::Path;

use chrono::{DateTime, Utc};

mod fold;
mod json;
mod markdown;
mod measure;
mod model;
mod roles;

pub use fold::build;
pub use json::render_json;
pub use markdown::render_markdown;
pub use measure::{RPO_TIME_KEYS, RPO_UNKNOWN_NEEDED, rpo_unknown};
pub use model::*;
pub use roles::{is_mutating_kind, is_promotion, is_traffic_move, is_verification};

/// StepOutput lines shown per step attempt in the timeline before "… N more".
pub const OUTPUT_LINES_PER_ATTEMPT: usize = 20;

/// Redact a string taken from the journal (a secret never reaches the report).
fn redacted(s: &str) -> String {
    crate::redact::redact(s).into_owned()
}

/// One line of text: newlines folded, redacted.
fn one_line(s: &str) -> String {
    redacted(&s.replace("\r\n", " ⏎ ").replace(['\n', '\r'], " ⏎ "))
}

/// `1h 02m 03s`, `12m 05s`, `45s`.
pub fn fmt_secs(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `1048576 bytes (1.0 MiB)`.
fn fmt_lag(b: u64) -> String {
    if b < 1024 {
        format!("{b} bytes")
    } else {
        format!("{b} bytes ({})", crate::plan::units::fmt_bytes(b))
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn ts_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(ts).unwrap_or_else(|| "—".into())
}

/// Read a journal and build its report, with the reader's warnings attached.
pub fn build_from_file(journal: &Path) -> Result<ReportModel, String> {
    let read = crate::journal::read::read(journal)?;
    if read.records.is_empty() {
        return Err(format!(
            "{}: the journal holds no records",
            journal.display()
        ));
    }
    let mut model = build(&read.records);
    if !read.torn_lines.is_empty() {
        model.warnings.push(format!(
            "line(s) {} of the journal were cut by a crash and are ignored",
            read.torn_lines
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if read.torn_tail.is_some() {
        model
            .warnings
            .push("the journal's last line was cut by a crash and is ignored".into());
    }
    Ok(model)
}

pub fn run_report_cli(journal: &Path, format: &str) -> i32 {
    let md = match format.to_ascii_lowercase().as_str() {
        "md" | "markdown" => true,
        "json" => false,
        other => {
            eprintln!(
                "--format {}: unknown report format; expected md or json",
                crate::redact::redact(other)
            );
            return crate::exit::USAGE;
        }
    };
    let model = match build_from_file(journal) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot build the report: {}", crate::redact::redact(&e));
            return crate::exit::FAILURE;
        }
    };
    for w in &model.warnings {
        eprintln!("warning: {}: {w}", journal.display());
    }
    let text = if md {
        render_markdown(&model)
    } else {
        match render_json(&model) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                return crate::exit::FAILURE;
            }
        }
    };
    // A reader that went away (`| head`) is a quiet exit; see `crate::cli::out`.
    crate::outln!("{}", text.trim_end());
    crate::exit::OK
}
