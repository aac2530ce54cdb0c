//! The journal: writing (fsync, seq, torn tail, redaction, writer thread), reading, paths,
//! the plan lock and reports.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drcockpit::journal::lock::{Lock, LockError};
use drcockpit::journal::paths::{self, SessionSummary};
use drcockpit::journal::read;
use drcockpit::journal::writer::{JournalWriter, spawn_writer};
use drcockpit::journal::{Event, PreflightCheck, Record, StepInfo};
use drcockpit::report::{self, Verdict};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../common/mod.rs"]
mod common;
use common::t0_journal as t0;

fn rec(seq: u64, secs: i64, operator: &str, event: Event) -> Record {
    Record {
        seq,
        at: t0() + chrono::Duration::seconds(secs),
        operator: operator.into(),
        event,
    }
}

fn started(mode: &str, drill: bool, hash: &str) -> Event {
    Event::SessionStarted {
        plan_name: "Prod EU failover".into(),
        plan_source: "plans/prod.toml".into(),
        plan_hash: hash.into(),
        mode: mode.into(),
        drill,
        host: "ops-1".into(),
        pid: 4242,
        version: "0.1.0".into(),
        commit: None,
        resumed_from: None,
        rto_secs: Some(1800),
        rpo_secs: Some(300),
        steps: vec![
            StepInfo {
                id: "freeze".into(),
                title: "Freeze writes".into(),
                kind: "http".into(),
                mutating: None,
            },
            StepInfo {
                id: "go".into(),
                title: "Approve failover".into(),
                kind: "approval".into(),
                mutating: None,
            },
            StepInfo {
                id: "promote".into(),
                title: "Promote DR database".into(),
                kind: "db-promote".into(),
                mutating: None,
            },
        ],
    }
}

fn note(text: &str) -> Event {
    Event::Note {
        step: None,
        text: text.into(),
    }
}

fn write_lines(path: &Path, records: &[Record]) {
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("serialise") + "\n")
        .collect();
    std::fs::write(path, text).expect("write journal");
}

/// The host name the runtime passes to the lock (`Operator::from_env` reads it the same way).
fn host() -> String {
    drcockpit::app::state::hostname()
}

mod group_commit;
mod issue12;
mod journal_paths;
mod lock;
mod reports;
mod writer;
