//! The cockpit's own health, for a monitor that runs on a wall screen for weeks: with
//! `DRCOCKPIT_SELF_METRICS=/path/drcockpit-self.prom` set, every 10 s the cockpit rewrites that
//! file (atomically, node_exporter's textfile format) with its tokio tasks alive, open file
//! descriptors, resident memory and uptime. A leak shows as a gauge that only grows; the
//! accelerated soak (`scripts/soak.py`) reads the task count from here, which nothing outside
//! the process can see.
//!
//! Written off the event loop (`spawn_blocking`); a write that fails is logged once and the
//! cockpit carries on: its own metrics never stop an incident.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable naming the file.
pub const ENV: &str = "DRCOCKPIT_SELF_METRICS";

/// How often the file is rewritten.
pub const EVERY: Duration = Duration::from_secs(10);

/// One sample of the process's own gauges (`None`: not readable on this system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub tasks_alive: usize,
    pub open_fds: Option<usize>,
    pub rss_bytes: Option<u64>,
    pub uptime_secs: u64,
}

/// Start writing the file named by [`ENV`], if it is set (call inside the tokio runtime).
pub fn spawn_from_env() {
    match std::env::var_os(ENV) {
        Some(p) if !p.is_empty() => spawn(PathBuf::from(p), EVERY),
        _ => {}
    }
}

/// Rewrite `path` every `every` with a fresh [`Sample`], for as long as the runtime lives.
pub fn spawn(path: PathBuf, every: Duration) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let started = Instant::now();
    handle.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned = false;
        loop {
            tick.tick().await;
            let sample = Sample {
                tasks_alive: tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks(),
                open_fds: None,
                rss_bytes: None,
                uptime_secs: started.elapsed().as_secs(),
            };
            let p = path.clone();
            let written = tokio::task::spawn_blocking(move || write(&p, with_proc(sample))).await;
            if let Ok(Err(e)) = written
                && !warned
            {
                warned = true;
                log::warn!(target: "runtime", "{ENV}={}: cannot write the cockpit's own metrics: {e} (check the directory exists and is writable)", path.display());
            }
        }
    });
}

/// Fill in what /proc says about this process.
fn with_proc(mut s: Sample) -> Sample {
    s.open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count());
    s.rss_bytes = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages.saturating_mul(page_size()));
    s
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

fn write(path: &Path, s: Sample) -> std::io::Result<()> {
    super::status::write_atomically(path, &render(s))
}

/// The Prometheus text exposition of one sample (gauges that cannot be read are left out).
pub fn render(s: Sample) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    };
    gauge(
        "drcockpit_self_tasks_alive",
        "Tokio tasks alive in this cockpit.",
        s.tasks_alive.to_string(),
    );
    if let Some(n) = s.open_fds {
        gauge(
            "drcockpit_self_open_fds",
            "File descriptors this cockpit holds open.",
            n.to_string(),
        );
    }
    if let Some(n) = s.rss_bytes {
        gauge(
            "drcockpit_self_resident_memory_bytes",
            "Resident memory of this cockpit.",
            n.to_string(),
        );
    }
    gauge(
        "drcockpit_self_uptime_seconds",
        "Seconds since this cockpit started.",
        s.uptime_secs.to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_every_gauge_it_knows_and_leaves_out_the_unknown() {
        let text = render(Sample {
            tasks_alive: 17,
            open_fds: Some(23),
            rss_bytes: None,
            uptime_secs: 5,
        });
        assert!(text.contains("\ndrcockpit_self_tasks_alive 17\n"), "{text}");
        assert!(text.contains("\ndrcockpit_self_open_fds 23\n"), "{text}");
        assert!(!text.contains("resident_memory"), "{text}");
        assert!(text.contains("# TYPE drcockpit_self_uptime_seconds gauge\n"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_file_is_written_with_the_live_task_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("self.prom");
        // A few tasks that stay alive while the file is written.
        let (_keep, hold) = tokio::sync::watch::channel(());
        for _ in 0..5 {
            let mut rx = hold.clone();
            tokio::spawn(async move { while rx.changed().await.is_ok() {} });
        }
        spawn(path.clone(), Duration::from_millis(20));
        let mut text = String::new();
        for _ in 0..500 {
            if let Ok(t) = std::fs::read_to_string(&path) {
                text = t;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let tasks: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("drcockpit_self_tasks_alive "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no task gauge in {text:?}"));
        // The five holders and the writer itself.
        assert!(tasks >= 6, "{text}");
        assert!(text.contains("drcockpit_self_open_fds "), "{text}");
    }
}
