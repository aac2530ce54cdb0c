//! The command line (clap). `drcockpit` with no arguments is `drcockpit demo`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// `--version`: the crate version, the git commit and the build date (`build.rs`), so a bug
/// report or a journal names the exact build.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DRCOCKPIT_BUILD_COMMIT"),
    ", built ",
    env!("DRCOCKPIT_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(name = "drcockpit", version = LONG_VERSION, about = "A terminal cockpit for disaster-recovery failover", long_about = None)]
#[command(after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    /// Theme name (dark, light, high-contrast) or a path to a theme TOML file.
    #[arg(long, global = true)]
    pub theme: Option<String>,
    /// Journal file: a new file or a journal of this plan (default: in the plan's state directory,
    /// see README, Safety rules).
    #[arg(long, global = true)]
    pub journal: Option<PathBuf>,
    /// No mouse reporting (the terminal's own selection keeps working); also `mouse = false` in
    /// config.toml.
    #[arg(long, global = true)]
    pub no_mouse: bool,
    /// Debug log for bug reports: the log pane's records, redacted, appended to this file.
    #[arg(long, global = true, env = "DRCOCKPIT_LOG", value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// The debug log's level, RUST_LOG style: error, warn, info or debug, optionally per target
    /// (`info,deploy-dr=debug`).
    #[arg(
        long,
        global = true,
        env = "DRCOCKPIT_LOG_LEVEL",
        default_value = "debug",
        value_name = "SPEC"
    )]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded simulator plays a world; the built-in demo plan runs against it (default).
    #[command(after_help = "Example:\n  drcockpit demo --scenario flaky-api")]
    Demo {
        /// all-good, region-outage, flaky-api, image-missing, hostile (a seeded world that lies), big (500 services, 500 images) or drift (DR drifted from prod).
        #[arg(long, default_value = "region-outage")]
        scenario: String,
        /// Seed for the simulator's randomness (deterministic given a seed).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Drive a plan for real: steps run on keypress after confirmation.
    #[command(
        after_help = "Example:\n  DRCOCKPIT_OPERATOR=alice drcockpit live --drill plans/qovery-warm-standby.toml"
    )]
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
    #[command(after_help = "Example:\n  drcockpit review plans/qovery-warm-standby.toml")]
    Review { plan: PathBuf },
    /// Panels only; no step can run (enforced at the dispatcher and in the transport).
    #[command(after_help = "Example:\n  drcockpit monitor plans/qovery-warm-standby.toml")]
    Monitor { plan: PathBuf },
    /// Validate a plan without touching the network and without any secret: references that
    /// are not set are listed in one warning ("needs at run time: …"); commands never run.
    #[command(
        after_help = "Examples:\n  drcockpit check plans/qovery-warm-standby.toml\n  drcockpit check --strict plans/qovery-warm-standby.toml   # on the bastion, secrets set\n  drcockpit check --online --timeout 5s plans/qovery-warm-standby.toml"
    )]
    Check {
        plan: PathBuf,
        /// Also resolve the plan against the live world, read-only: every probe once and every
        /// step's preflight (ids, variables, images, DNS provider, …).
        #[arg(long)]
        online: bool,
        /// An `${env:…}` that is not set or a `${file:…}` that cannot be read is an error, not
        /// a warning (a `${cmd:…}` is still not run).
        #[arg(long)]
        strict: bool,
        /// With --online: how long each probe or preflight may take, e.g. 10s, 1m30s.
        #[arg(long, default_value = "10s", value_parser = parse_timeout)]
        timeout: Duration,
    },
    /// Serve the simulator on loopback.
    #[command(
        after_help = "Example:\n  drcockpit simulate --scenario region-outage &\n  DRCOCKPIT_SIM_URL=http://127.0.0.1:7400 drcockpit review plans/demo.toml"
    )]
    Simulate {
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// all-good, region-outage, flaky-api, image-missing, hostile, big (500 services and images) or drift.
        #[arg(long, default_value = "all-good")]
        scenario: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Play injected delays N times faster (flaky-api's slow answers and 15 s stalls,
        /// hostile's late reads): for accelerated soaks, with the plan's probe interval and
        /// timeouts shortened by the same factor.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        time_scale: u32,
    },
    /// Render a journal as an incident, drill or review report.
    #[command(
        after_help = "Examples:\n  drcockpit report /var/lib/drcockpit/shop-1a2b3c4d-20260101T031500Z.jsonl\n  drcockpit report --format json --journal ./drill.jsonl"
    )]
    Report {
        /// The journal to render (or give it with --journal).
        // Its own id: sharing the global `--journal`'s id made clap refuse `report --journal`.
        #[arg(id = "journal_file", value_name = "JOURNAL")]
        journal: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
    },
    /// Follow a journal, live or finished, read-only: checklist, timeline and log, without the
    /// plan file and without probes; a summary when you leave it.
    #[command(
        after_help = "Example:\n  drcockpit follow /var/lib/drcockpit/shop-1a2b3c4d-20260101T031500Z.jsonl"
    )]
    Follow {
        /// The journal to follow.
        #[arg(value_name = "JOURNAL")]
        journal: PathBuf,
    },
    /// One-shot DR readiness for cron and monitoring (exit 0 ready; 1 degraded; 2 not ready: a DR
    /// component down or refusing us, DNS at neither site, a split brain; 3 could not evaluate:
    /// the plan cannot be used or nothing answered). Several plans: the worst one's exit code.
    #[command(
        after_help = "Examples:\n  drcockpit status plans/qovery-warm-standby.toml\n  drcockpit status plans/*.toml\n  drcockpit status --format prometheus --textfile /var/lib/node_exporter/drcockpit.prom plans/qovery-warm-standby.toml"
    )]
    Status {
        /// One plan or several (a shell glob: `plans/*.toml`), evaluated in parallel under the
        /// one --timeout; the exit code is the worst plan's.
        #[arg(required = true, num_args = 1.., value_name = "PLAN")]
        plan: Vec<PathBuf>,
        /// prometheus is the node_exporter textfile format.
        #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
        format: StatusFormat,
        /// Global timeout for the whole probe round, e.g. 10s, 1m30s.
        #[arg(long, default_value = "10s", value_parser = parse_timeout)]
        timeout: Duration,
        /// Also write the Prometheus exposition to this file, atomically (temp file + rename),
        /// whatever the verdict; the exit code is unchanged.
        #[arg(long, value_name = "PATH")]
        textfile: Option<PathBuf>,
    },
    /// Print a failback plan skeleton derived from a failover plan: each step replaced by its
    /// reverse on the other site, `# TODO:` where none is known.
    #[command(after_help = "Example:\n  drcockpit reverse plans/demo.toml > plans/demo-back.toml")]
    Reverse { plan: PathBuf },
    /// Print the plan file's JSON schema.
    #[command(after_help = "Example:\n  drcockpit schema > plan.schema.json")]
    Schema,
    /// Write a first plan from the Qovery API (reads only). Token and URL as the official CLI:
    /// QOVERY_CLI_ACCESS_TOKEN (then Q_CLI_ACCESS_TOKEN), QOVERY_API_URL. A choice not given is
    /// asked in a terminal, otherwise init fails listing the choices.
    ///
    /// Example: drcockpit init --org "Shop Inc." --project shop --prod-env shop --dr-env shop-dr --output shop.toml
    Init {
        /// Organization id or name (taken without asking when the token sees only one).
        #[arg(long)]
        org: Option<String>,
        /// Project id or name (taken without asking when the organization has only one).
        #[arg(long)]
        project: Option<String>,
        /// Production environment id or name.
        #[arg(long, value_name = "NAME")]
        prod_env: Option<String>,
        /// DR environment id or name.
        #[arg(long, value_name = "NAME")]
        dr_env: Option<String>,
        /// Where to write the plan.
        #[arg(long, value_name = "PATH", default_value = "drcockpit-plan.toml")]
        output: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script, e.g. `drcockpit completions bash >
    /// ~/.local/share/bash-completion/completions/drcockpit`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `drcockpit man > ~/.local/share/man/man1/drcockpit.1`.
    Man,
    /// What this binary is and what it would use: version, commit, config, theme, state
    /// directory, lock and journal paths (for PLAN when given), debug log, terminal, colours.
    Info { plan: Option<PathBuf> },
}

/// The environment variables drcockpit reads, at the end of `--help`.
pub const ENVIRONMENT_HELP: &str = "\
Environment:
  DRCOCKPIT_OPERATOR        who is at the keyboard, for the journal (else SUDO_USER, USER)
  DRCOCKPIT_STATE_DIR       directory of the plans' locks and journals (after a plan's [journal] dir)
  DRCOCKPIT_SIM_URL         the simulator's URL for plans that use ${sim} (else an embedded one)
  DRCOCKPIT_SELF_METRICS    a file the cockpit rewrites every 10 s with its own tasks, fds and
                            memory (Prometheus textfile format), for a monitor left running
  QOVERY_API_URL            replaces the plan's [qovery] api_url (like the official CLI)
  QOVERY_CLI_ACCESS_TOKEN   replaces the plan's [qovery] token (then Q_CLI_ACCESS_TOKEN)
  NO_COLOR                  no colours";

/// `status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
    Prometheus,
}

impl StatusFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFormat::Text => "text",
            StatusFormat::Json => "json",
            StatusFormat::Prometheus => "prometheus",
        }
    }
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[value(alias = "markdown")]
    Md,
    Json,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Md => "md",
            ReportFormat::Json => "json",
        }
    }
}

/// `--timeout` as a duration (`10s`, `1m30s`), refused by the parser when it is not one.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    match crate::plan::units::parse_duration(s)? {
        d if d.is_zero() => Err("must be longer than 0".into()),
        d => Ok(d),
    }
}

/// Standard output for every command. Nothing prints with `println!`, which panics when the
/// reader has gone (`drcockpit schema | true`, `check --online … | grep -m1`, exit 101): lines go
/// through [`crate::outln!`] / [`crate::out!`] instead.
///
/// A closed stdout (EPIPE) is the reader saying it has read enough: further output is dropped
/// without a word, long commands may stop early ([`out::closed`]), and the command exits quietly
/// with the code it would have had. Any other write error (`> /dev/full`, a dead terminal) is
/// said once on stderr and turns a success into exit 1 ([`out::finish`]).
pub mod out {
    use std::io::{ErrorKind, Write};
    use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

    const OPEN: u8 = 0;
    const READER_GONE: u8 = 1;
    const FAILED: u8 = 2;

    static STATE: AtomicU8 = AtomicU8::new(OPEN);
    /// Whether anything went through here: only then is there something of ours to flush (the
    /// cockpit draws through crossterm; taking the stdout lock at exit could wait on a thread
    /// still blocked writing to a terminal nobody reads).
    static WROTE: AtomicBool = AtomicBool::new(false);

    /// Write formatted text to stdout; after a failed write, nothing more is written.
    pub fn write(args: std::fmt::Arguments<'_>) {
        if STATE.load(Ordering::Relaxed) != OPEN {
            return;
        }
        WROTE.store(true, Ordering::Relaxed);
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_fmt(args) {
            failed(&e);
        }
    }

    /// Push out what is buffered (a prompt without a newline, the last line before exit).
    pub fn flush() {
        if STATE.load(Ordering::Relaxed) != OPEN || !WROTE.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = std::io::stdout().lock().flush() {
            failed(&e);
        }
    }

    /// Whether stdout can no longer be written (the reader went away, or writing failed).
    pub fn closed() -> bool {
        STATE.load(Ordering::Relaxed) != OPEN
    }

    /// The process's exit code once the command returned `code`: flushes, and makes a success
    /// a failure when output was lost for another reason than the reader leaving.
    pub fn finish(code: i32) -> i32 {
        flush();
        if STATE.load(Ordering::Relaxed) == FAILED && code == crate::exit::OK {
            crate::exit::FAILURE
        } else {
            code
        }
    }

    fn failed(e: &std::io::Error) {
        if e.kind() == ErrorKind::BrokenPipe {
            STATE.store(READER_GONE, Ordering::Relaxed);
            return;
        }
        if STATE.swap(FAILED, Ordering::Relaxed) != FAILED {
            // Not `eprintln!`: it panics too when stderr is gone as well.
            let _ = writeln!(std::io::stderr(), "cannot write to standard output: {e}");
        }
    }
}

/// `println!` for command output, through [`out`]: a closed stdout is a quiet exit, never a panic.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for command output, through [`out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*))
    };
}
