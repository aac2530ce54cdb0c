//! Setting a session up before the first frame: the plan, the mode, the lock, the journal and
//! resume. Everything here can fail with a message the operator can act on, printed before the
//! terminal is taken over.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::{Mode, Operator};
use crate::exit;
use crate::journal::{self, Record};
use crate::plan::{self, LoadOptions, Plan};

pub enum SessionKind {
    Demo {
        scenario: String,
        seed: u64,
    },
    Live {
        plan: PathBuf,
        drill: bool,
        resume: bool,
        take_over: bool,
    },
    Review {
        plan: PathBuf,
    },
    Monitor {
        plan: PathBuf,
    },
}

pub struct SessionConfig {
    pub kind: SessionKind,
    pub theme: Option<String>,
    pub journal: Option<PathBuf>,
}

/// A session ready to run.
pub struct Prepared {
    pub plan: Arc<Plan>,
    pub mode: Mode,
    pub drill: bool,
    pub operator: Operator,
    /// Where the journal goes (`None` in monitor mode: nothing is recorded).
    pub journal_path: Option<PathBuf>,
    /// Records of the session being resumed.
    pub resumed: Vec<Record>,
    pub mode_note: Option<String>,
    pub lock: Option<Arc<journal::lock::Lock>>,
    /// The state directory is shared with other accounts: journals are created group read-write.
    pub shared_state: bool,
    pub sim: Option<crate::sim::SimHandle>,
    /// Issue 13: the driver's journal this cockpit follows as a watcher (see `runtime::follow`).
    pub watching: Option<PathBuf>,
    /// Issue 13: the seqs this cockpit's writers appended (its follower skips them).
    pub own_seqs: journal::tail::OwnSeqs,
    /// Issue 13: the plan file (a watcher taking over starts `live` on it).
    pub plan_path: Option<PathBuf>,
}

/// `drcockpit check [--strict] PLAN`: validate without touching the network and without any
/// secret (no `${cmd:…}` is run); what the plan needs at run time is one warning, or with
/// `strict` an error for each `${env:…}` / `${file:…}` that does not resolve now.
pub fn check(path: &Path, strict: bool) -> i32 {
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:0".into()),
        run_commands: false,
    };
    let loaded = plan::load::read_plan_file(path).and_then(|text| {
        crate::steps::load_checking(&text, &path.display().to_string(), &opts, strict)
    });
    match loaded {
        Ok(loaded) => {
            print_summary(path, &loaded.plan);
            for n in &loaded.notes {
                crate::outln!("note: {n}");
            }
            if !loaded.needed.is_empty() {
                crate::outln!(
                    "warning: needs at run time: {}",
                    crate::redact::redact(&loaded.needed.join(", "))
                );
            }
            let state = state_dir_of(path);
            let key = journal::paths::plan_key(&loaded.plan.name);
            let lock = journal::paths::lock_path(&state.dir, &key);
            crate::outln!("lock and journals: {}", lock.display());
            crate::outln!("  state directory: {}", state.describe());
            if let Some(w) = state.warning() {
                crate::outln!("warning: {w}");
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("{e}");
            exit::USAGE
        }
    }
}

/// The valid plan in a few lines: name, strategy, targets, and the checklist.
fn print_summary(path: &Path, p: &Plan) {
    // A name that already says its strategy (`… (pilot light)`) is not told it twice.
    let strategy = format!("({})", p.strategy.label());
    let strategy = if p.name.trim_end().ends_with(&strategy) {
        String::new()
    } else {
        format!(" {strategy}")
    };
    crate::outln!(
        "{}: OK — {}{strategy}, {} steps, RTO {} / RPO {}",
        path.display(),
        p.name,
        p.steps.len(),
        plan::units::fmt_target(p.rto),
        plan::units::fmt_target(p.rpo)
    );
    // Columns as wide as the longest kind and id in this plan (at least the old 24 / 22), so a
    // long kind name (`qovery.delete_environment`) does not push its row out of line.
    let kind_w = p
        .steps
        .iter()
        .map(|s| s.action.kind_name().chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    let id_w = p
        .steps
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(22);
    for (i, s) in p.steps.iter().enumerate() {
        crate::outln!(
            "  {:>2} {:<kind_w$} {:<id_w$} {}",
            i + 1,
            s.action.kind_name(),
            s.id,
            s.title
        );
    }
}

/// `drcockpit check --online PLAN`: the offline validation (resolving `${cmd:…}` too), then the
/// plan against the live world, read-only. Exit 0 when everything answered and no preflight
/// failed, 1 when something did not, 2 for an invalid plan.
pub fn check_online(path: &Path, timeout: std::time::Duration) -> i32 {
    let Some(rt) = super::async_runtime() else {
        return exit::FAILURE;
    };
    rt.block_on(async {
        let (plan, sim) = match load(path).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{}", crate::redact::redact(&e));
                return exit::USAGE;
            }
        };
        print_summary(path, &plan);
        let ok = super::online::check_online(std::sync::Arc::new(plan), timeout).await;
        if let Some(sim) = sim {
            sim.shutdown().await;
        }
        if ok {
            crate::outln!("online: everything answered and every preflight passed");
            exit::OK
        } else {
            crate::outln!("online: some checks failed or could not run (see ✗ and ? above)");
            exit::FAILURE
        }
    })
}

/// `drcockpit simulate`: serve the simulator until Ctrl-C.
pub fn simulate(listen: &str, scenario: &str, seed: u64, time_scale: u32) -> i32 {
    let addr = match listen.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("--listen {listen}: expected IP:PORT, e.g. 127.0.0.1:7400");
            return exit::USAGE;
        }
    };
    let Some(rt) = super::async_runtime() else {
        return exit::FAILURE;
    };
    let opts = crate::sim::SimOptions {
        scenario: scenario.into(),
        seed,
        listen: Some(addr),
        time_scale,
    };
    match rt.block_on(crate::sim::serve_forever(opts)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("simulator: {e}");
            exit::USAGE
        }
    }
}

/// Load a plan file. A plan that points at `${sim}` (like `plans/demo.toml`) with no
/// `DRCOCKPIT_SIM_URL` set gets the embedded simulator, started here, so it runs anywhere.
pub(super) async fn load(path: &Path) -> Result<(Plan, Option<crate::sim::SimHandle>), String> {
    let text = plan::load::read_plan_file(path).map_err(|e| e.to_string())?;
    let mut sim = None;
    let mut opts = LoadOptions::default();
    if text.contains("${sim") && std::env::var_os("DRCOCKPIT_SIM_URL").is_none() {
        let scenario =
            std::env::var("DRCOCKPIT_SIM_SCENARIO").unwrap_or_else(|_| "region-outage".into());
        let handle = crate::sim::start(crate::sim::SimOptions {
            scenario,
            seed: 42,
            listen: None,
            time_scale: 1,
        })
        .await
        .map_err(|e| {
            format!(
                "{}: the plan uses ${{sim}} and the embedded simulator failed: {e}",
                path.display()
            )
        })?;
        opts.sim_url = Some(handle.url.clone());
        sim = Some(handle);
    }
    let plan = crate::steps::load_str(&text, &path.display().to_string(), &opts)
        .map_err(|e| e.to_string())?;
    Ok((plan, sim))
}

/// The state directory for the plan at `path` (its `[journal] dir` first; see
/// [`journal::paths::state_dir`]).
fn state_dir_of(path: &Path) -> journal::paths::StateDir {
    let plan_dir = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| plan::load::journal_dir(&t));
    journal::paths::state_dir(plan_dir.as_deref())
}

/// Resolve plan, mode, lock, journal and resume. Runs inside the tokio runtime (the demo starts
/// its simulator here) but before the terminal is taken over, so it may ask on stdin.
pub async fn prepare(cfg: &SessionConfig) -> Result<Prepared, (i32, String)> {
    let operator = Operator::from_env();
    let usage = |e: String| (exit::USAGE, e);
    let (plan, mode, drill, sim) = match &cfg.kind {
        SessionKind::Demo { scenario, seed } => {
            let opts = crate::sim::SimOptions {
                scenario: scenario.clone(),
                seed: *seed,
                listen: None,
                time_scale: 1,
            };
            // The demo talks to its own simulator only: a user's QOVERY_API_URL or token must
            // never point it at the real API.
            crate::clients::qovery::set_env_overrides(false);
            let sim = crate::sim::start(opts)
                .await
                .map_err(|e| usage(format!("demo simulator: {e}")))?;
            let lo = LoadOptions {
                sim_url: Some(sim.url.clone()),
                run_commands: true,
            };
            let plan = crate::steps::load_str(plan::DEMO_PLAN, "<embedded plans/demo.toml>", &lo)
                .map_err(|e| usage(e.to_string()))?;
            (plan, Mode::Demo, false, Some(sim))
        }
        SessionKind::Live { plan, drill, .. } => {
            let (p, sim) = load(plan).await.map_err(usage)?;
            (p, Mode::Live, *drill, sim)
        }
        SessionKind::Review { plan } => {
            let (p, sim) = load(plan).await.map_err(usage)?;
            (p, Mode::Review, false, sim)
        }
        SessionKind::Monitor { plan } => {
            let (p, sim) = load(plan).await.map_err(usage)?;
            (p, Mode::Monitor, false, sim)
        }
    };
    let plan = Arc::new(plan);
    // The lock and the journals belong to the plan: keyed by its name, in a directory shared by
    // everyone who may drive it (the demo keeps to the per-user directory).
    let state = match &cfg.kind {
        SessionKind::Live { plan: p, .. }
        | SessionKind::Review { plan: p }
        | SessionKind::Monitor { plan: p } => state_dir_of(p),
        SessionKind::Demo { .. } => journal::paths::StateDir {
            dir: journal::paths::default_dir(),
            source: journal::paths::StateSource::User,
        },
    };
    let dir = state.dir.clone();
    let key = journal::paths::plan_key(&plan.name);
    let mut mode = mode;
    let mut mode_note = None;
    let mut lock = None;

    // One live cockpit per plan: a second one opens read-only unless told to take over.
    if let SessionKind::Live { take_over, .. } = &cfg.kind {
        let lock_path = journal::paths::lock_path(&dir, &key);
        let acquired = if state.shared() {
            journal::lock::Lock::acquire_shared(
                &lock_path,
                &operator.name,
                &operator.host,
                *take_over,
            )
        } else {
            journal::lock::Lock::acquire(&lock_path, &operator.name, &operator.host, *take_over)
        };
        match acquired {
            Ok(l) => {
                lock = Some(Arc::new(l));
                mode_note = state.warning();
            }
            Err(journal::lock::LockError::Held {
                pid,
                host,
                operator: who,
                since,
                ..
            }) => {
                mode = Mode::Monitor;
                mode_note = Some(format!(
                    "plan locked by {who}@{host} (pid {pid}, since {since}) — read-only; --take-over to drive"
                ));
            }
            Err(e) => {
                return Err((
                    exit::FAILURE,
                    format!(
                        "cannot take or read the plan's lock, so this cockpit will not drive: {e}"
                    ),
                ));
            }
        }
    }

    let mut resumed = Vec::new();
    let fresh = || journal::paths::new_journal_path(&dir, &key, chrono::Utc::now());
    // Issue 13: a take-over continues the journal of the driver it took over from.
    let journal_arg = cfg
        .journal
        .clone()
        .or_else(|| super::follow::taken_over_journal(lock.as_deref(), &plan.name, &cfg.kind));
    let journal_path = if mode == Mode::Monitor {
        None
    } else if let Some(p) = &journal_arg {
        // A new file or this plan's journal only (never a device or a FIFO).
        let target = journal::read::check_target(p, &plan.name).map_err(usage)?;
        if target == journal::read::Target::Journal && mode == Mode::Live {
            resumed = read_for_resume(p, &plan)?;
        }
        Some(p.clone())
    } else {
        let mut chosen = None;
        if let SessionKind::Live { resume, .. } = &cfg.kind
            && mode == Mode::Live
            && let Some(prev) = journal::paths::latest_for_plan(&dir, &plan.hash)
        {
            let records = read_for_resume(&prev, &plan)?;
            let summary = journal::paths::session_summary(&records);
            let unfinished = summary.unfinished();
            if unfinished && (*resume || ask_resume(&prev, &summary)) {
                resumed = records;
                chosen = Some(prev);
            }
        }
        Some(chosen.unwrap_or_else(fresh))
    };
    // Issue 13: the driver names its journal in the lock file; a watcher finds it there.
    let watching =
        super::follow::publish_or_find(lock.as_mut(), &journal_path, mode, &dir, &key, &plan);
    Ok(Prepared {
        watching,
        own_seqs: Default::default(),
        plan_path: super::follow::plan_path(&cfg.kind),
        plan,
        mode,
        drill,
        operator,
        journal_path,
        resumed,
        mode_note,
        lock,
        shared_state: state.shared(),
        sim,
    })
}

fn read_for_resume(path: &Path, plan: &Plan) -> Result<Vec<Record>, (i32, String)> {
    let read = journal::read::read(path).map_err(|e| {
        (
            exit::FAILURE,
            format!("cannot read the journal to resume: {e}"),
        )
    })?;
    if let Some(tail) = &read.torn_tail {
        eprintln!(
            "note: the journal's last line was cut by a crash and is ignored: {}",
            crate::redact::redact(tail)
        );
    }
    let hash = read.records.iter().find_map(|r| match &r.event {
        journal::Event::SessionStarted { plan_hash, .. } => Some(plan_hash.clone()),
        _ => None,
    });
    if let Some(h) = hash
        && h != plan.hash
    {
        eprintln!(
            "warning: {} was written for a different version of this plan (hash {h:.12} ≠ {:.12}); steps are matched by id",
            path.display(),
            plan.hash
        );
    }
    Ok(read.records)
}

fn ask_resume(path: &Path, s: &journal::paths::SessionSummary) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    crate::out!(
        "An unfinished session of this plan exists: {} (started {}, {} step(s) finished).\nResume it? [Y/n] ",
        path.display(),
        s.started
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "at an unknown time".into()),
        s.steps_finished.len()
    );
    crate::cli::out::flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    !matches!(line.trim(), "n" | "N" | "no")
}
