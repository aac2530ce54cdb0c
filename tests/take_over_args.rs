//! Issue 13 leftover: the driver a watcher becomes by a take-over (`T` + TAKEOVER re-runs the
//! cockpit as `live PLAN --take-over --journal …`) keeps the display options it was started with.

use std::path::{Path, PathBuf};

use drcockpit::runtime::follow::{Relaunch, take_over_command};

fn args(cmd: &std::process::Command) -> Vec<String> {
    cmd.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// `T` + TAKEOVER re-runs the cockpit as `live PLAN --take-over --journal …`: the theme, the
/// mouse setting and the debug log the operator started with come along (the operator's name and
/// the state directory come from the environment, which `exec` keeps).
#[test]
fn take_over_restarts_with_the_operators_display_options() {
    let opts = Relaunch {
        theme: Some("high-contrast".into()),
        no_mouse: true,
        log_file: Some(PathBuf::from("/tmp/bob-debug.log")),
        log_level: "info".into(),
    };
    let cmd = take_over_command(
        Path::new("/usr/bin/drcockpit"),
        &opts,
        Path::new("plans/shop.toml"),
        Path::new("/var/lib/drcockpit/shop.jsonl"),
        true,
    );
    assert_eq!(cmd.get_program(), "/usr/bin/drcockpit");
    assert_eq!(
        args(&cmd),
        [
            "--theme",
            "high-contrast",
            "--no-mouse",
            "--log-file",
            "/tmp/bob-debug.log",
            "--log-level",
            "info",
            "--journal",
            "/var/lib/drcockpit/shop.jsonl",
            "live",
            "plans/shop.toml",
            "--drill",
            "--take-over",
        ]
    );
    assert_eq!(
        cmd.get_envs().count(),
        0,
        "the environment (operator, state directory) is inherited unchanged"
    );
    // Started with nothing special: nothing added.
    let plain = take_over_command(
        Path::new("drcockpit"),
        &Relaunch::default(),
        Path::new("p.toml"),
        Path::new("j.jsonl"),
        false,
    );
    assert_eq!(
        args(&plain),
        ["--journal", "j.jsonl", "live", "p.toml", "--take-over"]
    );
}

/// The argument list parses as the command line it means: `live` with `--take-over`, and the
/// global options in place.
#[test]
fn take_over_command_line_parses_back_to_the_same_options() {
    use clap::Parser;
    let opts = Relaunch {
        theme: Some("light".into()),
        no_mouse: false,
        log_file: None,
        log_level: "debug".into(),
    };
    let cmd = take_over_command(
        Path::new("drcockpit"),
        &opts,
        Path::new("p.toml"),
        Path::new("j.jsonl"),
        false,
    );
    let cli = drcockpit::cli::Cli::try_parse_from(
        std::iter::once("drcockpit".to_string()).chain(args(&cmd)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cli.theme.as_deref(), Some("light"));
    assert_eq!(cli.journal, Some(PathBuf::from("j.jsonl")));
    assert!(
        matches!(
            cli.command,
            Some(drcockpit::cli::Command::Live {
                take_over: true,
                drill: false,
                ..
            })
        ),
        "{:?}",
        cli.command
    );
}
