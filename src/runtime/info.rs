//! `drcockpit info [PLAN]`, `drcockpit completions SHELL` and `drcockpit man`: what this binary
//! is and what it would use, for bug reports and for installing it on a bastion.
//!
//! `info` only reads: it resolves the same paths the cockpit would (config, theme, state
//! directory, lock, journals, debug log) without creating any of them, and loads no plan beyond
//! its name and `[journal] dir` (no `${env:…}` needs to resolve, no `${cmd:…}` runs).

use std::io::IsTerminal;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit;
use crate::journal::paths;

/// `drcockpit completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "drcockpit", &mut buf);
    crate::out!("{}", String::from_utf8_lossy(&buf));
    exit::OK
}

/// `drcockpit man`: the man page (roff) on stdout.
pub fn man() -> i32 {
    let mut buf = Vec::new();
    let cmd = Cli::command().version(crate::cli::LONG_VERSION);
    match clap_mangen::Man::new(cmd).render(&mut buf) {
        Ok(()) => {
            crate::out!("{}", String::from_utf8_lossy(&buf));
            exit::OK
        }
        Err(e) => {
            eprintln!("cannot render the man page: {e}");
            exit::FAILURE
        }
    }
}

/// What `info` needs from the global flags.
pub struct InfoArgs<'a> {
    pub plan: Option<&'a Path>,
    pub theme: Option<&'a str>,
    pub journal: Option<&'a Path>,
    pub log_file: Option<&'a Path>,
    pub log_level: &'a str,
}

/// `drcockpit info [PLAN]`.
pub fn info(a: &InfoArgs<'_>) -> i32 {
    let row = |k: &str, v: &dyn std::fmt::Display| crate::outln!("{k:<14}{v}");
    row("version", &env!("CARGO_PKG_VERSION"));
    row("commit", &env!("DRCOCKPIT_BUILD_COMMIT"));
    row("build date", &env!("DRCOCKPIT_BUILD_DATE"));

    match crate::ui::theme::config_path() {
        Some(p) if p.is_file() => row("config", &p.display()),
        Some(p) => row("config", &format!("{} (not present)", p.display())),
        None => row("config", &"none (neither XDG_CONFIG_HOME nor HOME is set)"),
    }
    let theme_from = match a.theme {
        Some(_) => "--theme",
        None => "config file, else the default",
    };
    match crate::ui::theme::Theme::load(a.theme) {
        Ok(t) => row("theme", &format!("{} (from {theme_from})", t.name)),
        Err(e) => row("theme", &format!("error: {e}")),
    }

    // The plan: only its name (the lock's key) and `[journal] dir` are read.
    let mut name: Option<String> = None;
    let mut plan_dir = None;
    if let Some(path) = a.plan {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read plan {}: {e}", path.display());
                return exit::USAGE;
            }
        };
        name = toml::from_str::<toml::Value>(&text)
            .ok()
            .and_then(|v| v.get("plan")?.get("name")?.as_str().map(str::to_string));
        plan_dir = crate::plan::load::journal_dir(&text);
        row(
            "plan",
            &format!(
                "{} ({})",
                name.as_deref()
                    .map_or("(no [plan] name)".into(), crate::redact::redact),
                path.display()
            ),
        );
    }
    let state = paths::state_dir(plan_dir.as_deref());
    row("state dir", &state.describe());
    if let Some(w) = state.warning() {
        row("", &format!("warning: {w}"));
    }
    let key = name
        .as_deref()
        .map(paths::plan_key)
        .unwrap_or_else(|| "<plan>".into());
    row("lock", &paths::lock_path(&state.dir, &key).display());
    match a.journal {
        Some(j) => row("journal", &format!("{} (--journal)", j.display())),
        None => row(
            "journals",
            &format!("{}/{key}-<YYYYMMDDTHHMMSSZ>.jsonl", state.dir.display()),
        ),
    }
    match a.log_file {
        Some(p) => row(
            "debug log",
            &format!("{} (level {})", p.display(), a.log_level),
        ),
        None => row("debug log", &"off (--log-file PATH or DRCOCKPIT_LOG=PATH)"),
    }

    let tty = std::io::stdout().is_terminal();
    match crossterm::terminal::size() {
        Ok((w, h)) => row(
            "terminal",
            &format!(
                "{w}×{h}{}",
                if tty {
                    ""
                } else {
                    " (stdout is not a terminal)"
                }
            ),
        ),
        Err(_) => row("terminal", &"no terminal"),
    }
    let colours = match crossterm::style::available_color_count() {
        u16::MAX => "truecolor".to_string(),
        c => format!("{c} colours"),
    };
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unset".into());
    row(
        "colours",
        &format!(
            "{colours} (TERM={}, COLORTERM={})",
            env("TERM"),
            env("COLORTERM")
        ),
    );
    let no_color = std::env::var_os("NO_COLOR").filter(|v| !v.is_empty());
    row(
        "NO_COLOR",
        &if no_color.is_some() {
            "set: colours dropped, symbols and modifiers kept"
        } else {
            "not set"
        },
    );
    exit::OK
}
