//! `command`: a local program (no shell), stdout and stderr streamed line by line.
//!
//! The child must outlive its operator's connection and must not see more than it needs:
//! - it runs in its own session (`setsid`), so a terminal hang-up (SSH drop) does not reach it;
//! - its pid and kernel start time are journaled when it starts, so a resumed cockpit can tell
//!   whether *that* process still runs (a reused pid has another start time);
//! - it gets a minimal environment (PATH, HOME, LANG, TZ, USER, TERM) plus the step's `env` and
//!   `secret_env` (secrets travel in the environment, never on the command line `ps` shows);
//! - stopping it (timeout, abort, quit) signals its whole process group, grandchildren included:
//!   SIGTERM, then SIGKILL after a grace period;
//! - its stdout and stderr go to unlinked temporary files the cockpit tails, not pipes: if the
//!   cockpit dies, the child's next write must not kill it with SIGPIPE (and nothing it printed
//!   stays on disk once both are gone).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, Seg, StepCx};
use crate::plan::{CommandSpec, StepAction};

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
    for (k, val) in &c.secret_env {
        // The value is registered with the redactor at load: every screen shows its label.
        v.push(format!("  secret env {k}={}", crate::redact::redact(val)));
    }
    if c.inherit_env {
        v.push("  inherits the cockpit's whole environment (inherit_env = true)".into());
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

/// What a child gets from the cockpit's environment unless `inherit_env = true` (those set).
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "TZ", "USER", "TERM"];

/// How long a stopped process group has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Does a command argument use a reference that may hold a secret (`${env:…}`, `${file:…}`,
/// `${cmd:…}`)? `${sim}` is an address, and `$${` is a literal.
pub fn has_secret_reference(arg: &str) -> bool {
    let b = arg.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'$' {
            i += 2;
            continue;
        }
        if b[i] == b'$' && b[i + 1] == b'{' {
            let kind = arg[i + 2..].split([':', '}']).next().unwrap_or("").trim();
            if matches!(kind, "env" | "file" | "cmd") {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The environment the child starts with (before `env` and `secret_env`): `None` means the
/// cockpit's whole environment.
fn base_env(c: &CommandSpec) -> Option<Vec<(String, std::ffi::OsString)>> {
    if c.inherit_env {
        return None;
    }
    Some(
        BASE_ENV
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
            .collect(),
    )
}

/// A process as the journal identifies it: pid, and (Linux) its start time in clock ticks after
/// boot plus the boot id, so neither a reused pid nor a reboot is mistaken for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIdentity {
    pub pid: u32,
    pub start_ticks: Option<u64>,
    pub boot_id: Option<String>,
}

impl ProcessIdentity {
    pub fn of(pid: u32) -> ProcessIdentity {
        ProcessIdentity {
            pid,
            start_ticks: proc_stat(pid).map(|s| s.1),
            boot_id: boot_id(),
        }
    }

    /// Is this very process still alive (not a zombie)? `false` when it cannot be told: without
    /// a recorded start time a pid alone proves nothing.
    pub fn is_alive(&self) -> bool {
        let Some(recorded) = self.start_ticks else {
            return false;
        };
        if let (Some(then), Some(now)) = (&self.boot_id, boot_id())
            && *then != now
        {
            return false;
        }
        matches!(proc_stat(self.pid), Some((state, ticks)) if ticks == recorded && state != 'Z' && state != 'X')
    }
}

/// `/proc/PID/stat`: the state letter and the start time (field 22, clock ticks after boot).
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); starttime is field 22.
    let state = fields.first()?.chars().next()?;
    let ticks = fields.get(19)?.parse().ok()?;
    Some((state, ticks))
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Process groups this cockpit started that may still exist (stopped ones included until gone).
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn groups() -> std::sync::MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Does any process of the group still exist? Reaps the leader if it is our zombie.
fn group_exists(pgid: i32) -> bool {
    // SAFETY: waitpid with WNOHANG on our own child and kill with signal 0 touch no memory of ours
    // but `status`, a local.
    unsafe {
        let mut status = 0;
        libc::waitpid(pgid, &mut status, libc::WNOHANG);
        libc::kill(-pgid, 0) == 0
    }
}

fn signal_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: signalling a process group this cockpit created (its leader's pid); no memory.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Stop a process group: SIGTERM now, SIGKILL after `grace` if anything of it is left. Returns
/// at once; a thread finishes the job.
pub fn stop_group(pgid: i32, grace: Duration) {
    if pgid <= 1 {
        return;
    }
    signal_group(pgid, libc::SIGTERM);
    let _ = std::thread::Builder::new()
        .name("stop-group".into())
        .spawn(move || {
            let until = std::time::Instant::now() + grace;
            while std::time::Instant::now() < until {
                if !group_exists(pgid) {
                    groups().retain(|g| *g != pgid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(pgid, libc::SIGKILL);
            groups().retain(|g| *g != pgid);
        });
}

/// At the cockpit's exit (quit, SIGINT, SIGTERM): stop every process group it started that is
/// still there, and wait (up to `grace`, then SIGKILL) so none outlives it unrecorded.
pub fn stop_all_groups(grace: Duration) {
    let all: Vec<i32> = groups().clone();
    if all.is_empty() {
        return;
    }
    for g in &all {
        signal_group(*g, libc::SIGTERM);
    }
    let until = std::time::Instant::now() + grace;
    while std::time::Instant::now() < until && all.iter().any(|g| group_exists(*g)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for g in &all {
        if group_exists(*g) {
            signal_group(*g, libc::SIGKILL);
        }
    }
    groups().retain(|g| !all.contains(g));
}

/// Stops the child's process group when the step's future is dropped before the child ended
/// (timeout, the operator's abort, the cockpit quitting).
struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl GroupGuard {
    fn new(pid: u32) -> GroupGuard {
        let pgid = i32::try_from(pid).unwrap_or(0);
        groups().push(pgid);
        GroupGuard { pgid, armed: true }
    }

    /// The child ended by itself.
    fn disarm(&mut self) {
        self.armed = false;
        groups().retain(|g| *g != self.pgid);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            stop_group(self.pgid, STOP_GRACE);
        }
    }
}

/// A temporary file for one output stream: (the child's append-only end, the cockpit's reading
/// end). Unlinked at once: only these two descriptors keep it, so it disappears with them.
fn output_file(stream: &str) -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = std::env::temp_dir().join(format!(
        ".drcockpit-{}-{:016x}.{stream}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let w = std::fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let r = std::fs::File::open(&path);
    let _ = std::fs::remove_file(&path);
    Ok((w, r?))
}

/// Where the cockpit reads a child's stream from.
enum Source {
    /// An unlinked file, tailed until the child is done.
    File(std::fs::File),
    /// A pipe (when no temporary file could be made), read to EOF.
    Pipe(Box<dyn AsyncRead + Unpin + Send>),
}

/// Set when the step is over (the child ended, or the step's future was dropped).
struct DoneOnDrop(Arc<AtomicBool>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Longest line emitted as one: a longer one (a base64 blob without a newline) is emitted in
/// pieces of this size, so the reader's buffer stays bounded.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Emit a stream line by line until it ends (pipe) or the step is done and the file is read.
/// Each line waits for room in the output gate first: when the journal is behind, the reader
/// stops reading (a pipe then fills and the child blocks on its next write; a file just grows
/// on disk), and nothing piles up in memory.
async fn forward(source: Source, done: Arc<AtomicBool>, ctx: StepContext, stream: Stream) {
    let (mut reader, tail): (Box<dyn AsyncRead + Unpin + Send>, bool) = match source {
        Source::Pipe(p) => (p, false),
        Source::File(f) => (Box::new(tokio::fs::File::from_std(f)), true),
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        // Read `done` before reading: after it is set, one more read gets everything.
        let finished = done.load(Ordering::SeqCst);
        let n = reader.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            if finished || !tail {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut from = 0;
        while let Some(pos) = pending[from..].iter().position(|b| *b == b'\n') {
            let text = String::from_utf8_lossy(&pending[from..from + pos]);
            let text = text.trim_end_matches('\r').to_string();
            ctx.emit_paced(stream, text).await;
            from += pos + 1;
        }
        while pending.len() - from > MAX_LINE_BYTES {
            // Cut on a character boundary (UTF-8 continuation bytes are 0b10xx_xxxx).
            let mut cut = MAX_LINE_BYTES;
            while cut > MAX_LINE_BYTES - 4 && pending[from + cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            let piece = String::from_utf8_lossy(&pending[from..from + cut]).into_owned();
            ctx.emit_paced(stream, piece).await;
            from += cut;
        }
        pending.drain(..from);
    }
    if !pending.is_empty() {
        ctx.emit_paced(stream, String::from_utf8_lossy(&pending).into_owned())
            .await;
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
    let (out_file, err_file) = match (output_file("stdout"), output_file("stderr")) {
        (Ok(o), Ok(e)) => (Some(o), Some(e)),
        (Err(e), _) | (_, Err(e)) => {
            log::warn!(target: "safety", "no temporary file for `{}`'s output ({e}): using pipes — if the cockpit dies, the program may die on its next write", c.program);
            (None, None)
        }
    };
    let mut cmd = Command::new(&c.program);
    cmd.args(&c.args)
        .stdin(Stdio::null())
        // The guard below stops the whole group; dropping the handle alone must not.
        .kill_on_drop(false);
    let (out_src, err_src) = match (out_file, err_file) {
        (Some((ow, or)), Some((ew, er))) => {
            cmd.stdout(Stdio::from(ow)).stderr(Stdio::from(ew));
            (Some(Source::File(or)), Some(Source::File(er)))
        }
        _ => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            (None, None)
        }
    };
    if let Some(base) = base_env(c) {
        cmd.env_clear();
        cmd.envs(base);
    }
    if let Some(d) = &c.cwd {
        cmd.current_dir(d);
    }
    for (k, v) in c.env.iter().chain(c.secret_env.iter()) {
        cmd.env(k, v);
    }
    // SAFETY: setsid is async-signal-safe and touches no memory; it runs in the forked child
    // before exec. Its own session (and process group) keeps a terminal hang-up from reaching
    // the child and lets a stop reach its grandchildren.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", c.program))?;
    let mut guard = child.id().map(GroupGuard::new);
    if let Some(pid) = child.id() {
        let id = ProcessIdentity::of(pid);
        ctx.out.send(super::StepEvent::ProcessStarted {
            step: ctx.step,
            attempt: ctx.attempt,
            pid: id.pid,
            start_ticks: id.start_ticks,
            boot_id: id.boot_id,
        });
    }
    let out_src = out_src.or_else(|| {
        child
            .stdout
            .take()
            .map(|p| Source::Pipe(Box::new(p) as Box<dyn AsyncRead + Unpin + Send>))
    });
    let err_src = err_src.or_else(|| {
        child
            .stderr
            .take()
            .map(|p| Source::Pipe(Box::new(p) as Box<dyn AsyncRead + Unpin + Send>))
    });
    let done = Arc::new(AtomicBool::new(false));
    let done_guard = DoneOnDrop(done.clone());
    let out_task =
        out_src.map(|s| tokio::spawn(forward(s, done.clone(), ctx.clone(), Stream::Stdout)));
    let err_task =
        err_src.map(|s| tokio::spawn(forward(s, done.clone(), ctx.clone(), Stream::Stderr)));
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for `{}`: {e}", c.program))?;
    drop(done_guard);
    // With pipes, a grandchild may still hold the output open: until it closes, a stop still
    // reaches it.
    for t in [out_task, err_task].into_iter().flatten() {
        let _ = t.await;
    }
    if let Some(g) = guard.as_mut() {
        g.disarm();
    }
    match status.code() {
        Some(0) => Ok(format!("`{}` exited 0", c.program)),
        Some(code) => Err(format!("`{}` exited {code}", c.program)),
        None => Err(format!("`{}` was killed by a signal", c.program)),
    }
}

// ---------------------------------------------------------------------------------------------
// The `command` kind

/// The keys `command` takes besides the common ones.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandKeys {
    /// command: the program and its arguments (no shell).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// command: secrets passed in the child's environment, by reference:
    /// `secret_env = { TOKEN = "${env:X}" }` (never on the command line, where `ps` shows them).
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// command: give the child the cockpit's whole environment (default false: only PATH, HOME,
    /// LANG, TZ, USER and TERM, plus `env` and `secret_env`).
    #[serde(default)]
    pub inherit_env: Option<bool>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// `command`: run a program (no shell) with a minimal environment.
pub struct CommandKind;

impl TypedKind for CommandKind {
    type Spec = CommandKeys;
    type Action = CommandSpec;
    fn action(a: &StepAction) -> Option<&CommandSpec> {
        match a {
            StepAction::Command(c) => Some(c),
            _ => None,
        }
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["command"] })
    }
    fn build(&self, keys: CommandKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        build(&keys, s)
    }
    fn describe(&self, c: &CommandSpec) -> Vec<String> {
        describe(c)
    }
    fn default_timeout(&self, c: &CommandSpec) -> Duration {
        c.timeout
    }
    fn preflight<'a>(
        &'a self,
        c: &'a CommandSpec,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async move { vec![preflight(c)] })
    }
    fn run<'a>(
        &'a self,
        c: &'a CommandSpec,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(c, ctx))
    }
}

pub(crate) fn build(keys: &CommandKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
    let argv = match keys.command.clone() {
        Some(a) if a.first().is_some_and(|p| !p.trim().is_empty()) => a,
        _ => {
            return Err(s.missing(
                "command",
                "command = [\"aws\", \"rds\", \"promote-read-replica\", \"--db-instance-identifier\", \"shop-dr\"]",
            ));
        }
    };
    let mut resolved = Vec::with_capacity(argv.len());
    for (n, a) in argv.iter().enumerate() {
        if has_secret_reference(a) {
            // Every local user sees a process's arguments (`ps`, /proc/PID/cmdline).
            let note = format!(
                "warning: step `{}`: command argument {n} uses a reference (`${{…}}`): its resolved value is visible to every local user in `ps`; pass secrets with `secret_env = {{ NAME = \"${{env:X}}\" }}` and read $NAME in the command",
                s.id()
            );
            s.note(note);
        }
        resolved.push(s.secret_in(&[Seg::K("command"), Seg::I(n)], a)?);
    }
    let program = resolved.remove(0);
    let cwd = match keys.cwd.clone() {
        None => None,
        Some(c) => {
            let c = s.secret("cwd", &c)?;
            Some(
                crate::plan::refs::expand_path(&c, s.base_dir())
                    .display()
                    .to_string(),
            )
        }
    };
    let raw_env = keys.env.clone();
    let mut env = Vec::with_capacity(raw_env.len());
    for (k, v) in &raw_env {
        let v = s.secret_in(&[Seg::K("env"), Seg::K(k.as_str())], v)?;
        env.push((k.clone(), v));
    }
    let raw_secret_env = keys.secret_env.clone();
    let mut secret_env = Vec::with_capacity(raw_secret_env.len());
    for (k, v) in &raw_secret_env {
        if raw_env.contains_key(k) {
            return Err(s.error(
                "secret_env",
                &format!("`{k}` is both in `env` and `secret_env`: keep it in `secret_env` only"),
                vec![],
                None,
            ));
        }
        let v = s.secret_in(&[Seg::K("secret_env"), Seg::K(k.as_str())], v)?;
        // Labelled by where it is used, whatever its reference (a literal value included).
        crate::redact::register(&v, &format!("step {}: secret_env {k}", s.id()));
        secret_env.push((k.clone(), v));
    }
    let timeout = s
        .duration("timeout", &keys.timeout)?
        .unwrap_or(Duration::from_secs(300));
    let timeout = s.positive("timeout", timeout)?;
    Ok(Built::action(StepAction::Command(CommandSpec {
        program,
        args: resolved,
        cwd,
        env,
        secret_env,
        inherit_env: keys.inherit_env.unwrap_or(false),
        timeout,
    })))
}
