//! drcockpit: a terminal cockpit for disaster-recovery failover.
//!
//! The flow is one-directional (see `../shared/design/architecture.md`): keys, ticks and async
//! results become [`app::Msg`]; [`app::update`] is the only place state changes and returns
//! [`app::Effect`]s; the [`runtime`] performs effects on tokio tasks and feeds results back;
//! [`ui::draw`] reads the state and what the runtime hands it in [`ui::View`] (the theme, the log
//! pane's lines), nothing else.
//!
//! Modules are layered, and `tests/layers.rs` keeps the arrows pointing down: `redact` and
//! `plan` at the bottom; then `clients`, `journal` (the records) and `cli` (the clap
//! definitions); then `probes`; then `steps` and `notify`; then `report` and `app`; then `ui` and
//! `sim`; `runtime` on top.

// Command output goes through `cli::out` (`outln!`): `println!` panics when the reader of stdout
// has gone (`drcockpit schema | true`).
#![deny(clippy::print_stdout)]

pub mod app;
pub mod cli;
pub mod clients;
pub mod journal;
pub mod notify;
pub mod plan;
pub mod probes;
pub mod redact;
pub mod report;
pub mod runtime;
pub mod sim;
pub mod steps;
pub mod ui;

/// Process exit codes, documented in the README.
pub mod exit {
    /// Everything went as asked.
    pub const OK: i32 = 0;
    /// A runtime failure (terminal, I/O, journal).
    pub const FAILURE: i32 = 1;
    /// Bad command line or invalid plan file.
    pub const USAGE: i32 = 2;
    /// The plan is locked by another live cockpit and `--take-over` was not given (non-interactive commands).
    pub const LOCKED: i32 = 4;
    /// Interrupted by a signal (SIGINT/SIGTERM/SIGHUP) after the journal was flushed.
    pub const INTERRUPTED: i32 = 130;
}
