//! Following a shared journal (issue 13): where a watcher finds the driver's journal, the task
//! that polls it for records other cockpits wrote, a watcher's note writer, the hand-over
//! (a watcher that took over restarts as `live --take-over` on the same journal), and
//! `drcockpit follow JOURNAL`.
//!
//! Polling, not inotify: no inotify crate is in the dependency tree, and one `stat` every
//! [`POLL`] is nothing next to the probes; the file is read only when it grew.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::session::{Prepared, SessionKind};
use crate::app::{Mode, Msg, State};
use crate::journal::lock::Lock;
use crate::journal::tail::Tail;
use crate::journal::writer::{JournalHandle, JournalWriter, spawn_writer};
use crate::plan::Plan;

/// How often the journal is looked at: well inside the 1 s a watcher may lag.
pub const POLL: Duration = Duration::from_millis(200);

/// `live --take-over` without `--journal`: continue the journal of the driver we took the lock
/// from (named in its lock file), so one journal tells the whole incident.
pub fn taken_over_journal(
    lock: Option<&Lock>,
    plan_name: &str,
    kind: &SessionKind,
) -> Option<PathBuf> {
    if !matches!(
        kind,
        SessionKind::Live {
            take_over: true,
            ..
        }
    ) {
        return None;
    }
    let path = PathBuf::from(lock?.taken_over_from()?.journal.clone()?);
    match crate::journal::read::check_target(&path, plan_name) {
        Ok(crate::journal::read::Target::Journal) => Some(path),
        _ => None,
    }
}

/// The journal of the cockpit driving this plan now, if one drives: named in the lock file, or
/// (a driver of an older version) its newest live journal.
pub fn driver_journal(dir: &Path, key: &str, plan: &Plan) -> Option<PathBuf> {
    let holder = crate::journal::lock::held_by(&crate::journal::paths::lock_path(dir, key))?;
    holder
        .journal
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| crate::journal::paths::latest_for_plan(dir, &plan.hash))
}

/// Start following: a watcher follows the driver's journal (and gets a writer on it for notes,
/// returned for the executor); a live driver follows its own (for the others' notes).
pub fn attach(
    p: &Prepared,
    state: &mut State,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Option<JournalHandle> {
    if let Some(path) = &p.watching
        && p.plan_path.is_none()
    {
        // `drcockpit follow`: read only, nothing written anywhere.
        state.watch.journal = Some(path.clone());
        state.watch.follow_only = true;
        spawn_tail(Tail::new(path), tx.clone());
        return None;
    }
    if let Some(path) = &p.watching {
        state.watch.journal = Some(path.clone());
        state.mode_note = Some(format!(
            "{} — read-only watcher of {}",
            state
                .mode_note
                .clone()
                .unwrap_or_else(|| "the plan is driven elsewhere".into()),
            path.display()
        ));
        log::info!(target: "journal", "following the driver's journal {}", path.display());
        spawn_tail(Tail::new(path).skipping_own(p.own_seqs.clone()), tx.clone());
        let opened = if p.shared_state {
            JournalWriter::create_shared(path, &p.operator.name)
        } else {
            JournalWriter::create(path, &p.operator.name)
        };
        return match opened {
            Ok(mut w) => {
                w.share_own_seqs(p.own_seqs.clone());
                let tx = tx.clone();
                Some(spawn_writer(w, move |r| {
                    let _ = tx.send(match r {
                        Ok(rec) => Msg::Recorded(rec),
                        Err(e) => Msg::JournalFailed(e),
                    });
                }))
            }
            Err(e) => {
                log::warn!(target: "journal", "notes cannot be added from here: {e}");
                None
            }
        };
    }
    if p.mode == Mode::Live
        && let Some(path) = &p.journal_path
    {
        state.watch.journal = Some(path.clone());
        state.watch.people = crate::journal::people::of(&p.resumed);
        if p.lock
            .as_ref()
            .is_some_and(|l| l.taken_over_from().is_some())
        {
            for id in crate::app::watch::still_with_the_old_driver(state, &p.resumed) {
                log::warn!(target: "safety", "step {id} is still running in the cockpit this one took over from: its outcome will show here when that cockpit records it — do not retry it");
            }
        }
        let seen = p.resumed.iter().map(|r| r.seq).max();
        spawn_tail(
            Tail::new(path)
                .skipping_own(p.own_seqs.clone())
                .after_seq(seen),
            tx.clone(),
        );
    }
    None
}

/// Poll `tail` every [`POLL`] until the cockpit goes away.
fn spawn_tail(mut tail: Tail, tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut failing = false;
        loop {
            every.tick().await;
            if tx.is_closed() {
                return;
            }
            match tail.poll() {
                Ok(records) => {
                    if failing {
                        log::info!(target: "journal", "{}: following again", tail.path().display());
                        failing = false;
                    }
                    if !records.is_empty() && tx.send(Msg::Followed(records)).is_err() {
                        return;
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    log::warn!(target: "journal", "{}: cannot follow the journal now: {e} (retrying)", tail.path().display());
                }
                Err(_) => {}
            }
        }
    });
}

/// The global options the operator started this cockpit with, which the driver it becomes by a
/// take-over must keep (issue 13: the theme was dropped). The operator's name and the state
/// directory come from the environment, which `exec` keeps. Set once, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Relaunch {
    pub theme: Option<String>,
    pub no_mouse: bool,
    pub log_file: Option<PathBuf>,
    pub log_level: String,
}

/// What [`exec_take_over`] starts again with (unset when the cockpit was not started from the
/// command line: then only the mouse setting is known).
pub static RELAUNCH: std::sync::OnceLock<Relaunch> = std::sync::OnceLock::new();

/// `EXE [display options] --journal JOURNAL live PLAN [--drill] --take-over`: the driving
/// cockpit a watcher becomes, with the display options it was started with.
pub fn take_over_command(
    exe: &Path,
    opts: &Relaunch,
    plan: &Path,
    journal: &Path,
    drill: bool,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    if let Some(theme) = &opts.theme {
        cmd.arg("--theme").arg(theme);
    }
    if opts.no_mouse {
        cmd.arg("--no-mouse");
    }
    if let Some(log) = &opts.log_file {
        cmd.arg("--log-file")
            .arg(log)
            .arg("--log-level")
            .arg(&opts.log_level);
    }
    cmd.arg("--journal").arg(journal).arg("live").arg(plan);
    if drill {
        cmd.arg("--drill");
    }
    cmd.arg("--take-over");
    cmd
}

/// The watcher typed the take-over word: this process becomes `drcockpit live PLAN
/// --take-over --journal JOURNAL` (same terminal, same environment, same display options).
/// Returns only on failure.
pub fn exec_take_over(state: &State, plan: &Option<PathBuf>, drill: bool) -> i32 {
    use std::os::unix::process::CommandExt;
    let (Some(plan), Some(journal)) = (plan, &state.watch.journal) else {
        eprintln!(
            "cannot take over: no plan file or journal to continue (run `drcockpit live --take-over PLAN`)"
        );
        return crate::exit::USAGE;
    };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("drcockpit"));
    let opts = RELAUNCH.get().cloned().unwrap_or_else(|| Relaunch {
        no_mouse: super::cockpit::NO_MOUSE.load(std::sync::atomic::Ordering::Relaxed),
        ..Relaunch::default()
    });
    // `exec` replaces the process: write out this watcher's debug log first.
    crate::ui::logstore::flush_log_file();
    let e = take_over_command(&exe, &opts, plan, journal, drill).exec();
    eprintln!(
        "cannot start the driving cockpit ({e}); run: drcockpit live --take-over --journal {} {}",
        journal.display(),
        plan.display()
    );
    crate::exit::FAILURE
}

/// The checklist as the journal's first `session_started` recorded it, as a plan the cockpit can
/// draw: every step a `manual` one (nothing here runs), its recorded kind in the instructions.
/// No site is probed: `follow` needs neither the plan file nor the network.
pub fn plan_from_journal(records: &[crate::journal::Record]) -> Result<Plan, String> {
    use crate::journal::Event;
    let Some((name, rto, rpo, steps)) = records.iter().find_map(|r| match &r.event {
        Event::SessionStarted {
            plan_name,
            rto_secs,
            rpo_secs,
            steps,
            ..
        } => Some((plan_name, rto_secs, rpo_secs, steps)),
        _ => None,
    }) else {
        return Err("the journal has no session_started record: nothing to show".into());
    };
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into());
    let mut toml = format!(
        "[plan]\nname = {}\nstrategy = \"pilot-light\"\nrto = \"{}s\"\nrpo = \"{}s\"\n\n[sites.prod]\nlabel = \"Prod\"\n\n[sites.dr]\nlabel = \"DR\"\n",
        q(name),
        rto.unwrap_or(3600).max(1),
        rpo.unwrap_or(900).max(1)
    );
    for s in steps {
        toml.push_str(&format!(
            "\n[[step]]\nid = {}\ntitle = {}\nkind = \"manual\"\ninstructions = {}\n",
            q(&s.id),
            q(&s.title),
            q(&format!(
                "a {} step, as recorded in the journal (follow runs nothing)",
                s.kind
            ))
        ));
    }
    crate::steps::load_str(
        &toml,
        "<the journal's session_started>",
        &Default::default(),
    )
    .map_err(|e| format!("cannot show the journal's checklist: {e}"))
}

/// `drcockpit follow JOURNAL`: the checklist, timeline and log of any journal, live or finished,
/// read-only; when it is left, the report's summary.
pub fn follow(journal: &Path, theme: Option<String>) -> i32 {
    use crate::exit;
    let read = match crate::journal::read::read(journal) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return exit::FAILURE;
        }
    };
    let plan = match plan_from_journal(&read.records) {
        Ok(p) => std::sync::Arc::new(p),
        Err(e) => {
            eprintln!("{}: {e}", journal.display());
            return exit::USAGE;
        }
    };
    let theme = match crate::ui::Theme::load(theme.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("theme: {e}");
            return exit::USAGE;
        }
    };
    let input = match crate::ui::theme::config_input() {
        Ok((keys, mouse)) => super::cockpit::Input {
            keys: std::sync::Arc::new(keys),
            mouse: mouse && !super::cockpit::NO_MOUSE.load(std::sync::atomic::Ordering::Relaxed),
        },
        Err(e) => {
            eprintln!("keys: {e}");
            return exit::USAGE;
        }
    };
    {
        use std::io::IsTerminal as _;
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            eprintln!(
                "drcockpit follow needs a terminal; from scripts use `drcockpit report {}`",
                journal.display()
            );
            return exit::USAGE;
        }
    }
    let Some(rt) = super::async_runtime() else {
        return exit::FAILURE;
    };
    let p = Prepared {
        plan,
        mode: Mode::Monitor,
        drill: false,
        operator: crate::app::Operator::from_env(),
        journal_path: None,
        resumed: Vec::new(),
        mode_note: Some(format!("following {} (read-only)", journal.display())),
        lock: None,
        shared_state: false,
        sim: None,
        watching: Some(journal.to_path_buf()),
        own_seqs: Default::default(),
        plan_path: None,
    };
    let code = rt.block_on(super::cockpit::run_session(p, theme, input));
    crate::outln!("{}", summary(journal));
    code
}

/// What `follow` prints when it is left: the session's end (or that it has not ended) and the
/// report's summary.
pub fn summary(journal: &Path) -> String {
    let model = match crate::report::build_from_file(journal) {
        Ok(m) => m,
        Err(e) => return format!("cannot summarise {}: {e}", journal.display()),
    };
    let ended = match &model.end_reason {
        Some(r) => format!("the session ended: {r}"),
        None => "the session has not ended (still running, or it crashed)".into(),
    };
    crate::redact::redact_string(format!(
        "{ended}\n{}\nreport: drcockpit report {}",
        model.summary,
        journal.display()
    ))
}

/// After `prepare` chose the journal: a driver names it in its lock file (for watchers); a
/// read-only cockpit looks for the journal of whoever drives the plan now.
pub fn publish_or_find(
    lock: Option<&mut std::sync::Arc<Lock>>,
    journal: &Option<PathBuf>,
    mode: Mode,
    dir: &Path,
    key: &str,
    plan: &Plan,
) -> Option<PathBuf> {
    if let (Some(l), Some(path)) = (lock.and_then(std::sync::Arc::get_mut), journal)
        && let Err(e) = l.publish_journal(path)
    {
        log::warn!(target: "journal", "{e} (watchers will look for the newest journal instead)");
    }
    (mode == Mode::Monitor)
        .then(|| driver_journal(dir, key, plan))
        .flatten()
}

/// The plan file of a session (a watcher taking over starts `live` on it).
pub fn plan_path(kind: &SessionKind) -> Option<PathBuf> {
    match kind {
        SessionKind::Live { plan, .. }
        | SessionKind::Review { plan }
        | SessionKind::Monitor { plan } => Some(plan.clone()),
        SessionKind::Demo { .. } => None,
    }
}

/// Live mode only: the plan's `[notify]` milestones, posted from the journal while we drive.
pub fn start_notify(p: &Prepared) {
    let (Mode::Live, Some(lock), Some(journal), Some(plan_file)) =
        (p.mode, &p.lock, &p.journal_path, &p.plan_path)
    else {
        return;
    };
    let sim_url = p.sim.as_ref().map(|s| s.url.clone());
    match crate::notify::load(plan_file, sim_url) {
        Ok(Some(n)) => {
            log::info!(target: "notify", "milestones go to the [notify] webhook ({:?})", n.format);
            crate::notify::spawn(n, p.plan.clone(), journal.clone(), &p.resumed, lock.clone());
        }
        Ok(None) => {}
        Err(e) => {
            log::warn!(target: "notify", "{} — no milestones will be posted", crate::redact::redact_string(e))
        }
    }
}
