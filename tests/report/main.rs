//! `drcockpit report`: golden reports of recorded journals (an incident, a drill, a review, a
//! journal missing its evidence), RTO/RPO arithmetic, and redaction in every format.
//!
//! The goldens live in tests/fixtures/reports/; after an intended change to the report, rewrite
//! them with `UPDATE_GOLDEN=1 cargo nextest run --test report` and review the diff.

use std::path::{Path, PathBuf};

use drcockpit::journal::{Event, Record, StepInfo};
use drcockpit::report::{self, ReportModel, Verdict};

#[path = "../common/mod.rs"]
mod common;
use common::t0_journal as t0;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn journal(name: &str) -> PathBuf {
    fixtures().join("journals").join(name)
}

/// Compare `actual` with the golden file, or rewrite it under `UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &str) {
    let path = fixtures().join("reports").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let (n, (want, got)) = expected
            .lines()
            .chain(std::iter::repeat("<end of file>"))
            .zip(actual.lines().chain(std::iter::repeat("<end of file>")))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((0, ("?", "?")));
        panic!(
            "{} differs at line {}:\n  golden: {want}\n  actual: {got}\n(UPDATE_GOLDEN=1 rewrites it)\n\n{actual}",
            path.display(),
            n + 1
        );
    }
}

fn model(name: &str) -> ReportModel {
    report::build_from_file(&journal(name)).expect("the fixture journal builds a report")
}

fn md(name: &str) -> String {
    report::render_markdown(&model(name))
}

fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in\n{md}"));
    let rest = &md[start + heading.len()..];
    let end = rest.find("\n## ").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

struct B {
    recs: Vec<Record>,
}

impl B {
    fn new(steps: &[(&str, &str)], rto: Option<u64>, rpo: Option<u64>) -> B {
        let mut b = B { recs: Vec::new() };
        b.push_ms(
            -60_000,
            "ops",
            Event::SessionStarted {
                plan_name: "p".into(),
                plan_source: "p.toml".into(),
                plan_hash: "h".into(),
                mode: "live".into(),
                drill: false,
                host: "h1".into(),
                pid: 1,
                version: "0.1.0".into(),
                commit: None,
                resumed_from: None,
                rto_secs: rto,
                rpo_secs: rpo,
                steps: steps
                    .iter()
                    .map(|(id, kind)| StepInfo {
                        id: id.to_string(),
                        title: id.to_string(),
                        kind: kind.to_string(),
                        mutating: None,
                    })
                    .collect(),
            },
        );
        b
    }
    fn push_ms(&mut self, ms: i64, op: &str, event: Event) -> &mut B {
        self.recs.push(Record {
            seq: self.recs.len() as u64,
            at: t0() + chrono::Duration::milliseconds(ms),
            operator: op.into(),
            event,
        });
        self
    }
    fn at(&mut self, secs: i64, event: Event) -> &mut B {
        self.push_ms(secs * 1000, "ops", event)
    }
    fn ok(&mut self, secs: i64, step: &str) -> &mut B {
        self.run(secs, step, true)
    }
    fn run(&mut self, secs: i64, step: &str, ok: bool) -> &mut B {
        let attempt = 1 + self
            .recs
            .iter()
            .filter(|r| matches!(&r.event, Event::StepStarted { step: s, .. } if s == step))
            .count() as u32;
        self.at(
            secs,
            Event::StepStarted {
                step: step.into(),
                attempt,
                kind: None,
            },
        );
        self.at(
            secs,
            Event::StepFinished {
                step: step.into(),
                attempt,
                ok,
                detail: if ok { "ok".into() } else { "boom".into() },
            },
        )
    }
    fn approve(&mut self, secs: i64, step: &str) -> &mut B {
        self.at(
            secs,
            Event::Approved {
                step: step.into(),
                host: "h1".into(),
                word: "GO".into(),
            },
        )
    }
    fn evidence(&mut self, secs: i64, what: &str, detail: serde_json::Value) -> &mut B {
        self.at(
            secs,
            Event::Evidence {
                step: Some("promote".into()),
                what: what.into(),
                detail,
            },
        )
    }
    fn end(&mut self, secs: i64) -> &mut B {
        self.at(
            secs,
            Event::SessionEnded {
                reason: "completed".into(),
            },
        )
    }
    fn build(&self) -> ReportModel {
        report::build(&self.recs)
    }
}

const DEMO: &[(&str, &str)] = &[
    ("detect", "check"),
    ("approve", "approval"),
    ("promote", "postgres.promote"),
    ("deploy", "qovery.deploy"),
    ("health", "http.check"),
    ("switch", "dns.switch"),
    ("verify", "dns.verify"),
    ("notify", "http.request"),
];

mod arithmetic;
mod golden;
mod no_false_green;
