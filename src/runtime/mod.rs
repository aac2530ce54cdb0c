//! The tokio side: terminal lifecycle, the event loop, the effect executor, the journal writer,
//! probe scheduling, signals. `main_entry` turns the command line into one of these.

mod cockpit;
mod executor;
pub mod follow;
mod info;
pub mod init;
mod online;
pub mod pacing;
pub mod self_metrics;
mod session;
pub mod status;
pub mod terminal;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit;

pub use session::{SessionConfig, SessionKind};

/// The tokio runtime every command uses: two workers (the reference machine has two cores;
/// probes and steps are I/O-bound). `None` after printing why it could not start.
fn async_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            None
        }
    }
}

/// glibc gives every thread that allocates its own malloc arena (up to 8 per core), each
/// holding its own free memory: the cockpit's few threads allocate little, so one arena serves
/// them all and idle memory stays smaller (issue 15; BENCHMARKS.md). musl has one allocator.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The binary's whole life: parse, pick the mode, run, return the exit code.
pub fn main_entry() -> i32 {
    one_malloc_arena();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                // `status` keeps its contract for monitors: 2 is "not ready", so a command
                // line it cannot use (`--format xml`, `--timeout soon`) is 3, "could not evaluate".
                if std::env::args_os().nth(1).is_some_and(|a| a == "status") {
                    status::UNKNOWN
                } else {
                    exit::USAGE
                }
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    if let Some(path) = &cli.log_file {
        // Before anything logs: the logger picks the file up when the cockpit installs it.
        if let Err(e) = crate::ui::logstore::open_log_file(path, &cli.log_level) {
            eprintln!("--log-file: {e}");
            return exit::USAGE;
        }
    }
    let code = run_command(cli);
    crate::ui::logstore::flush_log_file();
    code
}

fn run_command(cli: Cli) -> i32 {
    cockpit::NO_MOUSE.store(cli.no_mouse, std::sync::atomic::Ordering::Relaxed);
    // Issue 13: a watcher that takes over starts again with the same display options.
    let _ = follow::RELAUNCH.set(follow::Relaunch {
        theme: cli.theme.clone(),
        no_mouse: cli.no_mouse,
        log_file: cli.log_file.clone(),
        log_level: cli.log_level.clone(),
    });
    let command = cli.command.unwrap_or(Command::Demo {
        scenario: "region-outage".into(),
        seed: 42,
    });
    match command {
        Command::Init {
            org,
            project,
            prod_env,
            dr_env,
            output,
            force,
        } => init::run_cli(init::InitOptions {
            org,
            project,
            prod_env,
            dr_env,
            output,
            force,
        }),
        Command::Completions { shell } => info::completions(shell),
        // Issue 13: a read-only view of any journal.
        Command::Follow { journal } => follow::follow(&journal, cli.theme),
        Command::Man => info::man(),
        Command::Info { plan } => info::info(&info::InfoArgs {
            plan: plan.as_deref(),
            theme: cli.theme.as_deref(),
            journal: cli.journal.as_deref(),
            log_file: cli.log_file.as_deref(),
            log_level: &cli.log_level,
        }),
        Command::Reverse { plan } => match crate::steps::reverse::reverse_file(&plan) {
            Ok(text) => {
                crate::outln!("{text}");
                exit::OK
            }
            Err(e) => {
                eprintln!("drcockpit reverse: {e}");
                exit::USAGE
            }
        },
        Command::Schema => {
            crate::outln!("{}", crate::steps::schema_json());
            exit::OK
        }
        Command::Check {
            plan,
            online,
            strict,
            timeout,
        } => {
            if online {
                session::check_online(&plan, timeout)
            } else {
                session::check(&plan, strict)
            }
        }
        Command::Status {
            plan,
            format,
            timeout,
            textfile,
        } => status::run_cli(&plan, format.as_str(), timeout, textfile.as_deref()),
        Command::Report { journal, format } => {
            // `report JOURNAL` or `report --journal JOURNAL` (the global flag), not both.
            let journal = match (journal, cli.journal) {
                (Some(a), Some(b)) if a != b => {
                    eprintln!(
                        "report: two journals given ({} and --journal {}): give one, e.g. `drcockpit report {}`",
                        a.display(),
                        b.display(),
                        a.display()
                    );
                    return exit::USAGE;
                }
                (Some(j), _) | (None, Some(j)) => j,
                (None, None) => {
                    eprintln!(
                        "report: which journal? e.g. `drcockpit report /var/lib/drcockpit/shop-1a2b3c4d-20260101T031500Z.jsonl` (`drcockpit check PLAN` prints the plan's journal directory)"
                    );
                    return exit::USAGE;
                }
            };
            crate::report::run_report_cli(&journal, format.as_str())
        }
        Command::Simulate {
            listen,
            scenario,
            seed,
            time_scale,
        } => session::simulate(&listen, &scenario, seed, time_scale),
        Command::Demo { scenario, seed } => cockpit::run(SessionConfig {
            kind: SessionKind::Demo { scenario, seed },
            theme: cli.theme,
            journal: cli.journal,
        }),
        Command::Live {
            plan,
            drill,
            resume,
            take_over,
        } => cockpit::run(SessionConfig {
            kind: SessionKind::Live {
                plan,
                drill,
                resume,
                take_over,
            },
            theme: cli.theme,
            journal: cli.journal,
        }),
        Command::Review { plan } => cockpit::run(SessionConfig {
            kind: SessionKind::Review { plan },
            theme: cli.theme,
            journal: cli.journal,
        }),
        Command::Monitor { plan } => cockpit::run(SessionConfig {
            kind: SessionKind::Monitor { plan },
            theme: cli.theme,
            journal: cli.journal,
        }),
    }
}
