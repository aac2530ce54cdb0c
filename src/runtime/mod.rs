//! The tokio side: terminal lifecycle, the event loop, the effect executor, the journal writer,
//! probe scheduling, signals. `main_entry` turns the command line into one of these.

mod cockpit;
mod executor;
mod info;
mod online;
mod session;
pub mod status;
mod terminal;

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

/// The binary's whole life: parse, pick the mode, run, return the exit code.
pub fn main_entry() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
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
    let command = cli.command.unwrap_or(Command::Demo {
        scenario: "region-outage".into(),
        seed: 42,
    });
    match command {
        Command::Completions { shell } => info::completions(shell),
        Command::Man => info::man(),
        Command::Info { plan } => info::info(&info::InfoArgs {
            plan: plan.as_deref(),
            theme: cli.theme.as_deref(),
            journal: cli.journal.as_deref(),
            log_file: cli.log_file.as_deref(),
            log_level: &cli.log_level,
        }),
        Command::Schema => {
            crate::outln!("{}", crate::plan::schema_json());
            exit::OK
        }
        Command::Check {
            plan,
            online,
            timeout,
        } => match crate::plan::parse_duration(&timeout) {
            Ok(t) if online => session::check_online(&plan, t),
            Ok(_) => session::check(&plan),
            Err(e) => {
                eprintln!("--timeout {timeout}: {e}");
                exit::USAGE
            }
        },
        Command::Status {
            plan,
            format,
            timeout,
            textfile,
        } => match crate::plan::parse_duration(&timeout) {
            Ok(t) => status::run_cli(&plan, &format, t, textfile.as_deref()),
            Err(e) => {
                eprintln!("--timeout {timeout}: {e}");
                status::UNKNOWN
            }
        },
        Command::Report { journal, format } => {
            crate::journal::report::run_report_cli(&journal, &format)
        }
        Command::Simulate {
            listen,
            scenario,
            seed,
        } => session::simulate(&listen, &scenario, seed),
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
