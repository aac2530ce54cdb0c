//! Secret references: `${env:NAME}`, `${file:PATH}`, `${cmd:COMMAND}` (with a timeout), and the
//! non-secret `${sim}` (the simulator's base URL in demo mode).
//!
//! A reference may sit anywhere inside a string (`Bearer ${env:TOKEN}`, `${sim}/healthz`);
//! `$${` writes a literal `${`. Every value resolved from `env`, `file` or `cmd` is registered
//! with [`crate::redact::register`] before this function returns, so nothing can print it
//! unredacted, labelled by where it is used (the caller says: `qovery.token`), never by the text
//! of the reference: a command line may itself hold a credential (a vault token on a curl line).
//! Error messages name the reference, never a resolved value, a command's output or its
//! arguments (`${cmd:vault …}`).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a `${cmd:…}` reference may run.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable `${sim}` falls back to.
pub const SIM_ENV: &str = "DRCOCKPIT_SIM_URL";

/// What a `${cmd:…}` reference becomes when commands are not run (`drcockpit check`).
pub const CMD_PLACEHOLDER: &str = "‹cmd not run›";

/// What an `${env:…}` or `${file:…}` reference that cannot be resolved becomes while checking
/// offline (`drcockpit check` without `--strict`): checks that need the value skip it.
pub const UNRESOLVED_PLACEHOLDER: &str = "‹not resolved›";

/// Whether `value` holds a placeholder instead of a resolved reference (checking only).
pub fn is_placeholder(value: &str) -> bool {
    value.contains(CMD_PLACEHOLDER) || value.contains(UNRESOLVED_PLACEHOLDER)
}

/// The reference kinds, for error messages.
pub const KINDS: &[&str] = &["env", "file", "cmd", "sim", "sim_dns", "sim_dns2"];

/// State shared by every reference resolved while loading one plan.
#[derive(Debug)]
pub struct RefContext {
    /// What `${sim}` expands to (`None`: `DRCOCKPIT_SIM_URL`, else an error).
    pub sim_url: Option<String>,
    /// Whether `${cmd:…}` runs; when false it becomes [`CMD_PLACEHOLDER`] and is recorded in
    /// `needed`.
    pub run_commands: bool,
    /// Relative `${file:…}` paths are relative to this directory (the plan's).
    pub base_dir: PathBuf,
    pub cmd_timeout: Duration,
    /// Whether an `${env:…}` that is not set or a `${file:…}` that cannot be read becomes
    /// [`UNRESOLVED_PLACEHOLDER`] (recorded in `needed`) instead of an error: offline checking
    /// never needs a secret.
    pub allow_unresolved: bool,
    /// Things the operator should know, one line each.
    pub notes: Vec<String>,
    /// What the plan needs at run time and was not resolved now, as `check` names it
    /// (`env QOVERY_API_TOKEN`, `file /etc/x`, `cmd vault …`), each once, in plan order.
    pub needed: Vec<String>,
    /// `${cmd:…}` results by command, so a command used twice runs once.
    cmd_cache: HashMap<String, String>,
}

impl RefContext {
    /// Record that the plan needs `what` at run time (once).
    pub fn need(&mut self, what: String) {
        if !self.needed.contains(&what) {
            self.needed.push(what);
        }
    }

    pub fn new(sim_url: Option<String>, run_commands: bool, base_dir: PathBuf) -> Self {
        RefContext {
            sim_url,
            run_commands,
            base_dir,
            cmd_timeout: CMD_TIMEOUT,
            allow_unresolved: false,
            notes: Vec::new(),
            needed: Vec::new(),
            cmd_cache: HashMap::new(),
        }
    }
}

/// Does `text` contain a reference (an unescaped `${`)?
pub fn has_reference(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'$') && b.get(i + 2) == Some(&b'{') {
            i += 3;
            continue;
        }
        if b[i] == b'$' && b[i + 1] == b'{' {
            return true;
        }
        i += 1;
    }
    false
}

/// Resolve every reference in `text`. `Err` is a message naming the reference (never a value).
/// Secrets are labelled `‹secret plan reference›`: prefer [`resolve_for`], which says where.
pub fn resolve(text: &str, ctx: &mut RefContext) -> Result<String, String> {
    resolve_for(text, "plan reference", ctx)
}

/// Resolve every reference in `text`, registering each secret with the label `used_at` (where
/// the value is used: `qovery.token`, `step notify: header Authorization`).
pub fn resolve_for(text: &str, used_at: &str, ctx: &mut RefContext) -> Result<String, String> {
    resolve_with(text, ctx, &mut |inner, ctx| {
        resolve_one(inner, used_at, ctx)
    })
}

/// `text` with every secret reference replaced by a harmless placeholder (`drcockpitref0`,
/// `drcockpitref1`…) and `${sim…}` resolved: the shape the value would have if no secret held a
/// delimiter, for validating a URL after resolution without reading (or running) anything.
pub fn shape(text: &str, ctx: &mut RefContext) -> Result<String, String> {
    let mut n = 0;
    resolve_with(text, ctx, &mut |inner, ctx| match inner.trim() {
        "sim" | "sim_dns" | "sim_dns2" => resolve_one(inner, "", ctx),
        _ => {
            n += 1;
            Ok(format!("drcockpitref{}", n - 1))
        }
    })
}

/// The references in `text` as messages name them (`${env:PG_PASSWORD}`, `${cmd:vault …}`).
pub fn names(text: &str) -> Vec<String> {
    let mut ctx = RefContext::new(None, false, PathBuf::new());
    let mut out = Vec::new();
    let _ = resolve_with(text, &mut ctx, &mut |inner, _| {
        out.push(format!("`{}`", shown(inner)));
        Ok(String::new())
    });
    out
}

fn resolve_with(
    text: &str,
    ctx: &mut RefContext,
    one: &mut dyn FnMut(&str, &mut RefContext) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or_else(|| {
                format!(
                    "`${{{}` is not closed: write `${{env:NAME}}`, `${{file:PATH}}`, `${{cmd:COMMAND}}` or `${{sim}}` (or `$${{` for a literal `${{`)",
                    tail.chars().take(30).collect::<String>()
                )
            })?;
            let inner = &tail[..end];
            out.push_str(&one(inner, ctx)?);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// For keys that take no references: `$${` still writes `${`; a reference is an error.
pub fn literal(text: &str) -> Result<String, String> {
    if has_reference(text) {
        return Err(
            "references (`${…}`) are not resolved in this key; write `$${` for a literal `${`"
                .into(),
        );
    }
    Ok(text.replace("$${", "${"))
}

/// How a reference is named in messages: `${cmd:…}` shows only the program, never its arguments.
pub fn shown(inner: &str) -> String {
    match inner.split_once(':') {
        Some((kind, arg)) if kind.trim() == "cmd" => {
            let program = arg.split_whitespace().next().unwrap_or_default();
            let plain = !program.is_empty()
                && program
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
            if plain {
                format!("${{cmd:{program} …}}")
            } else {
                "${cmd:…}".into()
            }
        }
        _ => format!("${{{inner}}}"),
    }
}

fn resolve_one(inner: &str, used_at: &str, ctx: &mut RefContext) -> Result<String, String> {
    let reference = shown(inner);
    if inner.trim() == "sim" {
        return sim_url(ctx);
    }
    // The simulator's nameservers sit on its port at 127.0.0.2 and 127.0.0.3.
    if let n @ ("sim_dns" | "sim_dns2") = inner.trim() {
        let ns = nameservers_for_sim(&sim_url(ctx)?)?;
        return Ok(ns[usize::from(n == "sim_dns2")].to_string());
    }
    let Some((kind, arg)) = inner.split_once(':') else {
        let hint = crate::plan::load::suggest(inner.trim(), KINDS.iter().copied())
            .map(|s| format!(" (did you mean `${{{s}:…}}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "`{reference}` is not a reference{hint}; use `${{env:NAME}}`, `${{file:PATH}}`, `${{cmd:COMMAND}}` or `${{sim}}`"
        ));
    };
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(format!("`{reference}` names nothing after `{kind}:`"));
    }
    let value = match kind.trim() {
        "env" => match env_value(arg, &reference) {
            Err(_) if ctx.allow_unresolved && std::env::var_os(arg).is_none() => {
                ctx.need(format!("env {arg}"));
                return Ok(UNRESOLVED_PLACEHOLDER.to_string());
            }
            r => r?,
        },
        "file" => match file_value(arg, &reference, ctx) {
            Err(_) if ctx.allow_unresolved => {
                let full = expand_path(arg, &ctx.base_dir);
                ctx.need(format!("file {}", full.display()));
                return Ok(UNRESOLVED_PLACEHOLDER.to_string());
            }
            r => r?,
        },
        "cmd" => {
            if !ctx.run_commands {
                // Named by its program only: the rest of a command line may hold a credential.
                let shown = shown(inner);
                let what = shown
                    .strip_prefix("${")
                    .and_then(|s| s.strip_suffix('}'))
                    .unwrap_or("cmd …")
                    .replacen(':', " ", 1);
                ctx.need(what);
                return Ok(CMD_PLACEHOLDER.to_string());
            }
            if let Some(v) = ctx.cmd_cache.get(arg) {
                return Ok(v.clone());
            }
            let v = run_cmd(arg, ctx.cmd_timeout).map_err(|e| format!("`{reference}` {e}"))?;
            ctx.cmd_cache.insert(arg.to_string(), v.clone());
            v
        }
        other => {
            let hint = crate::plan::load::suggest(other.trim(), KINDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "`{reference}`: unknown reference kind `{other}`{hint}; use env, file, cmd or sim"
            ));
        }
    };
    if value.is_empty() {
        return Err(format!("`{reference}` is empty"));
    }
    if value.chars().count() < crate::redact::MIN_SECRET_LEN {
        return Err(format!(
            "`{reference}` resolved to fewer than {} characters: too short to hide in output; references are for secrets",
            crate::redact::MIN_SECRET_LEN
        ));
    }
    crate::redact::register(&value, used_at);
    Ok(value)
}

fn sim_url(ctx: &RefContext) -> Result<String, String> {
    let url = ctx
        .sim_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| std::env::var(SIM_ENV).ok().filter(|u| !u.trim().is_empty()))
        .ok_or_else(|| {
            format!(
                "this plan needs the simulator: run it with `drcockpit simulate` and set {SIM_ENV}=http://127.0.0.1:7400, or run the built-in demo with `drcockpit demo`"
            )
        })?;
    Ok(url.trim().trim_end_matches('/').to_string())
}

fn env_value(name: &str, reference: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "`{reference}`: environment variable {name} is not set"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "`{reference}`: environment variable {name} is not valid UTF-8"
        )),
    }
}

/// `~` and `~/…` expand to `$HOME`; a relative path is relative to `base`.
pub fn expand_path(path: &str, base: &Path) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let p = if path == "~" {
        home().unwrap_or_else(|| PathBuf::from(path))
    } else if let Some(rest) = path.strip_prefix("~/") {
        match home() {
            Some(h) => h.join(rest),
            None => PathBuf::from(path),
        }
    } else {
        PathBuf::from(path)
    };
    if p.is_absolute() { p } else { base.join(p) }
}

fn file_value(path: &str, reference: &str, ctx: &RefContext) -> Result<String, String> {
    let full = expand_path(path, &ctx.base_dir);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("`{reference}`: cannot read {}: {e}", full.display()))?;
    Ok(text.trim().to_string())
}

/// Run `command` with `sh -c`, stdin closed, for at most `timeout`; stdout trimmed. Errors say
/// how it failed (the caller names the reference first), never the command line (it may hold a
/// credential) nor what it printed.
pub fn run_cmd(command: &str, timeout: Duration) -> Result<String, String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start `sh`: {e}"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| "has no stdout pipe".to_string())?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                return Err(format!(
                    "did not finish within {}s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(&mut child);
                return Err(format!("could not be waited for: {e}"));
            }
        }
    };
    if !status.success() {
        kill_group(&mut child);
        let how = match status.code() {
            Some(c) => format!("exited {c}"),
            None => "was killed by a signal".into(),
        };
        return Err(format!(
            "{how} (its output is not shown: it may hold a secret; run it yourself to see why)"
        ));
    }
    // The shell has exited; a background child could keep stdout open, so do not wait forever.
    let out = loop {
        if reader.is_finished() {
            break reader.join().unwrap_or_default();
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            return Err(format!(
                "left a process holding its output open past {}s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = String::from_utf8(out).map_err(|_| "printed non-UTF-8 output".to_string())?;
    Ok(text.trim().to_string())
}

fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling the process group this function's child leads; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The simulator's nameservers, derived from its base URL so that any process that knows
/// `${sim}` also knows them (`${sim_dns}`, `${sim_dns2}`): the same port as the HTTP server on
/// 127.0.0.2 (primary) and 127.0.0.3 (a secondary `sim::dns::SECONDARY_LAG` behind). The whole of
/// 127.0.0.0/8 is loopback on Linux; HTTP holds the port on 127.0.0.1 only.
pub fn nameservers_for_sim(sim_url: &str) -> Result<[std::net::SocketAddr; 2], String> {
    let rest = sim_url
        .trim()
        .strip_prefix("http://")
        .or_else(|| sim_url.trim().strip_prefix("https://"))
        .ok_or_else(|| format!("`{sim_url}` is not the simulator's http:// URL"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let port = hostport
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .ok_or_else(|| format!("`{sim_url}` has no port"))?;
    Ok([
        std::net::SocketAddr::from(([127, 0, 0, 2], port)),
        std::net::SocketAddr::from(([127, 0, 0, 3], port)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RefContext {
        RefContext::new(Some("http://sim:1/".into()), true, PathBuf::from("/"))
    }

    #[test]
    fn escapes_and_sim() {
        let mut c = ctx();
        assert_eq!(resolve("a $${x} b", &mut c).unwrap(), "a ${x} b");
        assert_eq!(resolve("${sim}/h", &mut c).unwrap(), "http://sim:1/h");
        assert_eq!(resolve("cost $5", &mut c).unwrap(), "cost $5");
        assert!(!has_reference("$${env:X}"));
        assert!(has_reference("a${env:X}"));
    }

    #[test]
    fn cmd_runs_and_caches() {
        let mut c = ctx();
        assert_eq!(
            resolve("${cmd:echo  hello-there }", &mut c).unwrap(),
            "hello-there"
        );
        let mut c = RefContext::new(None, false, PathBuf::from("/"));
        assert_eq!(resolve("${cmd:false}", &mut c).unwrap(), CMD_PLACEHOLDER);
        assert_eq!(c.needed, vec!["cmd false …".to_string()]);
    }
}
