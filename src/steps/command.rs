//! `command`: a local program (no shell), stdout and stderr streamed line by line.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::StepContext;
use crate::journal::PreflightCheck;
use crate::plan::CommandSpec;

/// The command line exactly as it would run (shell-quoted for reading).
pub fn command_line(c: &CommandSpec) -> String {
    std::iter::once(&c.program)
        .chain(c.args.iter())
        .map(|a| quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

pub fn describe(c: &CommandSpec) -> Vec<String> {
    let mut v = vec![format!("$ {}", command_line(c))];
    if let Some(d) = &c.cwd {
        v.push(format!("  in {d}"));
    }
    for (k, val) in &c.env {
        v.push(format!("  env {k}={val}"));
    }
    v.push(format!(
        "  timeout {}",
        crate::plan::units::fmt_duration(c.timeout)
    ));
    v
}

/// Is the program there? (Read-only: looks at PATH, runs nothing.)
pub fn preflight(c: &CommandSpec) -> PreflightCheck {
    let what = format!("program `{}` is installed", c.program);
    let found = if c.program.contains('/') {
        std::path::Path::new(&c.program).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(&c.program).is_file()))
    };
    PreflightCheck {
        what,
        ok: Some(found),
        detail: if found {
            "found".into()
        } else {
            "not found on PATH".into()
        },
    }
}

pub async fn run(c: &CommandSpec, ctx: &StepContext) -> Result<String, String> {
    if !ctx.allow_spawn {
        log::warn!(target: "safety", "refused to spawn `{}`: this session is read-only", c.program);
        return Err(format!(
            "refused: commands never spawn in a read-only session (`{}`)",
            c.program
        ));
    }
    ctx.info(format!("$ {}", command_line(c)));
    let mut cmd = Command::new(&c.program);
    cmd.args(&c.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(d) = &c.cwd {
        cmd.current_dir(d);
    }
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", c.program))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (c1, c2) = (ctx.clone(), ctx.clone());
    let out_task = tokio::spawn(async move {
        if let Some(s) = stdout {
            let mut lines = BufReader::new(s).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                c1.emit("stdout", l);
            }
        }
    });
    let err_task = tokio::spawn(async move {
        if let Some(s) = stderr {
            let mut lines = BufReader::new(s).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                c2.emit("stderr", l);
            }
        }
    });
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for `{}`: {e}", c.program))?;
    let _ = out_task.await;
    let _ = err_task.await;
    match status.code() {
        Some(0) => Ok(format!("`{}` exited 0", c.program)),
        Some(code) => Err(format!("`{}` exited {code}", c.program)),
        None => Err(format!("`{}` was killed by a signal", c.program)),
    }
}
