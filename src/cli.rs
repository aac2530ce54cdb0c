//! The command line (clap). `drcockpit` with no arguments is `drcockpit demo`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "drcockpit", version, about = "A terminal cockpit for disaster-recovery failover", long_about = None)]
pub struct Cli {
    /// Theme name (dark, light, high-contrast) or a path to a theme TOML file.
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// Journal file: a new file or a journal of this plan (default: in the plan's state directory,
    /// see README, Safety rules).
    #[arg(long, global = true)]
    pub journal: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded simulator plays a world; the built-in demo plan runs against it (default).
    Demo {
        /// all-good, region-outage, flaky-api.
        #[arg(long, default_value = "region-outage")]
        scenario: String,
        /// Seed for the simulator's randomness (deterministic given a seed).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Drive a plan for real: steps run on keypress after confirmation.
    Live {
        plan: PathBuf,
        /// Record this session as a drill, not an incident.
        #[arg(long)]
        drill: bool,
        /// Resume the plan's last unfinished journal without asking.
        #[arg(long)]
        resume: bool,
        /// Take the plan's lock from another live cockpit (journaled; that one becomes a watcher).
        #[arg(long)]
        take_over: bool,
    },
    /// Walk the runbook: nothing mutates; Enter shows exact calls and runs read-only preflight.
    Review { plan: PathBuf },
    /// Panels only; no step can run (enforced at the dispatcher and in the transport).
    Monitor { plan: PathBuf },
    /// Validate a plan without touching the network.
    Check {
        plan: PathBuf,
        /// Also resolve the plan against the live world, read-only: every probe once and every
        /// step's preflight (ids, variables, images, DNS provider, …).
        #[arg(long)]
        online: bool,
        /// With --online: how long each probe or preflight may take, e.g. 10s.
        #[arg(long, default_value = "10s")]
        timeout: String,
    },
    /// Serve the simulator on loopback.
    Simulate {
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        #[arg(long, default_value = "all-good")]
        scenario: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Render a journal as an incident, drill or review report.
    Report {
        journal: PathBuf,
        /// md or json.
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// One-shot DR readiness for cron and monitoring (exit 0 ready; 1 degraded; 2 not ready: a DR
    /// component down or refusing us, DNS at neither site, a split brain; 3 could not evaluate:
    /// the plan cannot be used or nothing answered).
    Status {
        plan: PathBuf,
        /// text, json or prometheus (node_exporter textfile format).
        #[arg(long, default_value = "text")]
        format: String,
        /// Global timeout for the whole probe round, e.g. 10s.
        #[arg(long, default_value = "10s")]
        timeout: String,
        /// Also write the Prometheus exposition to this file, atomically (temp file + rename),
        /// whatever the verdict; the exit code is unchanged.
        #[arg(long, value_name = "PATH")]
        textfile: Option<PathBuf>,
    },
    /// Print the plan file's JSON schema.
    Schema,
}
