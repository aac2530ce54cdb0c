//! The cockpit's event loop. Keys, probe results, step results and journal acknowledgements all
//! arrive as messages; the loop drains them in batches, runs `update`, dispatches effects, and
//! draws only when something changed (a clock tick once a second; a spinner only while a step
//! runs). Signals and a lost terminal end the session cleanly with the journal flushed — except
//! that a hang-up (SIGHUP, a lost terminal) while a step runs does not stop it: the cockpit stays,
//! without a terminal, until the step ends (bounded by its timeout), journals the outcome, exits.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::{Stream, StreamExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, mpsc};

use super::executor::Executor;
use super::session::{self, Prepared, SessionConfig};
use super::terminal;
use crate::app::update::replay;
use crate::app::{Effect, Mode, Msg, State};
use crate::clients::http::HttpClient;
use crate::exit;
use crate::journal::Event;
use crate::journal::writer::{
    JournalHandle, JournalStatus, JournalWriter, spawn_writer, spawn_writer_with_status,
};
use crate::ui::{self, Theme, View};

/// `--no-mouse` (set once by the command line, before the session starts).
pub static NO_MOUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn run(cfg: SessionConfig) -> i32 {
    let theme = match Theme::load(cfg.theme.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("theme: {e}");
            return exit::USAGE;
        }
    };
    let input = match crate::ui::theme::config_input() {
        Ok((keys, mouse)) => Input {
            keys: Arc::new(keys),
            mouse: mouse && !NO_MOUSE.load(std::sync::atomic::Ordering::Relaxed),
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
                "drcockpit needs a terminal (stdin and stdout must be a TTY); from scripts and cron use \
                 `drcockpit status PLAN`, `drcockpit check PLAN` or `drcockpit report JOURNAL`"
            );
            return exit::USAGE;
        }
    }
    let Some(rt) = super::async_runtime() else {
        return exit::FAILURE;
    };
    rt.block_on(async move {
        match session::prepare(&cfg).await {
            Ok(p) => run_session(p, theme, input).await,
            Err((code, msg)) => {
                eprintln!("{}", crate::redact::redact(&msg));
                code
            }
        }
    })
}

fn spawn_probes(
    plan: &Arc<crate::plan::Plan>,
    mem: &Arc<crate::probes::ProbeMemory>,
    tx: &mpsc::UnboundedSender<Msg>,
) {
    // Probes only read: their transport is read-only in every mode, and they do not retry
    // within a round (the next round is the retry).
    let http = HttpClient::new(true).with_read_retries(0);
    let limit = Arc::new(Semaphore::new(plan.probes.concurrency.max(1)));
    for key in crate::probes::configured(plan) {
        tokio::spawn(probe_loop(
            plan.clone(),
            http.clone(),
            limit.clone(),
            mem.clone(),
            tx.clone(),
            key,
        ));
    }
}

/// One probe's life: a round every `interval`, under the plan's concurrency limit, until the
/// cockpit stops listening. The round's future is boxed: a probe of any kind is ~15 KB of state,
/// and kept inline it would stay allocated in every probe's task between rounds (BENCHMARKS.md,
/// "Idle memory"); boxed it lives only while the probe runs.
async fn probe_loop(
    plan: Arc<crate::plan::Plan>,
    http: HttpClient,
    limit: Arc<Semaphore>,
    mem: Arc<crate::probes::ProbeMemory>,
    tx: mpsc::UnboundedSender<Msg>,
    key: crate::probes::ProbeKey,
) {
    let mut every = tokio::time::interval(plan.probes.interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let obs = {
            let Ok(_permit) = limit.acquire().await else {
                return;
            };
            Box::pin(crate::probes::run(&plan, &http, &mem, key)).await
        };
        if tx.send(Msg::Observed(obs)).is_err() {
            return;
        }
    }
}

fn open_journal(p: &Prepared, tx: &mpsc::UnboundedSender<Msg>) -> Result<JournalHandle, String> {
    let p_status_tx = tx.clone();
    let tx = tx.clone();
    let on_done = move |r: Result<crate::journal::Record, String>| {
        let _ = tx.send(match r {
            Ok(rec) => Msg::Recorded(rec),
            Err(e) => Msg::JournalFailed(e),
        });
    };
    let status_tx = p_status_tx;
    let on_status = move |s: JournalStatus| {
        let _ = status_tx.send(match s {
            JournalStatus::Blocked { waiting, error } => Msg::JournalBlocked { waiting, error },
            JournalStatus::Durable => Msg::JournalDurable,
        });
    };
    match &p.journal_path {
        Some(path) => {
            let mut w = if p.shared_state {
                JournalWriter::create_shared(path, &p.operator.name)
            } else {
                JournalWriter::create(path, &p.operator.name)
            }
            .map_err(|e| format!("cannot open the journal {}: {e}", path.display()))?;
            // Issue 13: the follower of this journal skips what we wrote.
            w.share_own_seqs(p.own_seqs.clone());
            Ok(spawn_writer_with_status(w, on_done, on_status))
        }
        None => Ok(spawn_writer(
            JournalWriter::in_memory(&p.operator.name),
            on_done,
        )),
    }
}

/// The step that is running or being recorded (a hang-up waits for it).
fn busy_step(state: &State) -> Option<usize> {
    state
        .running_step()
        .or_else(|| state.steps.iter().position(|s| s.finishing))
}

/// Resume: the steps left unknown whose journaled process still runs on this host (same pid,
/// same start time, same boot), as messages for the engine.
fn still_running(state: &State, records: &[crate::journal::Record], host: &str) -> Vec<Msg> {
    use crate::app::StepPhase;
    use std::collections::HashMap;
    let mut last: HashMap<&str, &crate::journal::Record> = HashMap::new();
    for r in records {
        match &r.event {
            Event::ProcessStarted { step, .. } => {
                last.insert(step, r);
            }
            Event::ProcessEnded { step, attempt, .. } => {
                if matches!(last.get(step.as_str()).map(|x| &x.event), Some(Event::ProcessStarted { attempt: a, .. }) if a == attempt)
                {
                    last.remove(step.as_str());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (step, rec) in last {
        let Event::ProcessStarted {
            attempt,
            pid,
            start_ticks,
            boot_id,
            host: on,
            ..
        } = &rec.event
        else {
            continue;
        };
        let Some(i) = state.plan.step_index(step) else {
            continue;
        };
        if !matches!(state.steps[i].phase, StepPhase::Unknown { attempt: a } if a == *attempt) {
            continue;
        }
        if on != host {
            log::warn!(target: "safety", "step {step} ran as pid {pid} on {on}: from {host} the cockpit cannot tell whether it still runs — check there before retrying");
            continue;
        }
        let id = crate::steps::command::ProcessIdentity {
            pid: *pid,
            start_ticks: *start_ticks,
            boot_id: boot_id.clone(),
        };
        if id.is_alive() {
            out.push(Msg::StillRunning {
                step: i,
                attempt: *attempt,
                pid: *pid,
                start_ticks: *start_ticks,
                boot_id: boot_id.clone(),
                since: rec.at,
            });
        }
    }
    out
}

/// The key map and the mouse setting (config.toml, `--no-mouse`).
pub(super) struct Input {
    pub(super) keys: Arc<crate::app::keys::Keymap>,
    pub(super) mouse: bool,
}

/// A terminal event as a message; a read error or the end of the stream means the terminal is
/// gone (`lost` says why). Mouse positions are mapped through the layout the screen is drawn
/// with (`ui::pane_at`, `ui::step_at`), for the terminal's current size.
fn term_msg(
    ev: Option<std::io::Result<TermEvent>>,
    lost: &mut Option<String>,
    state: &State,
) -> Option<Msg> {
    match ev {
        Some(Ok(TermEvent::Key(k))) => Some(Msg::Key(k)),
        Some(Ok(TermEvent::Mouse(m))) => {
            use crossterm::event::{MouseButton, MouseEventKind as K};
            let (w, h) = crossterm::terminal::size().ok()?;
            let size = ratatui::layout::Rect::new(0, 0, w, h);
            match m.kind {
                K::ScrollUp | K::ScrollDown => Some(Msg::Wheel {
                    pane: ui::pane_at(state, size, m.column, m.row),
                    down: m.kind == K::ScrollDown,
                }),
                K::Down(MouseButton::Left) => {
                    ui::step_at(state, size, m.column, m.row).map(|step| Msg::Click { step })
                }
                _ => None,
            }
        }
        Some(Ok(TermEvent::Resize(..))) => Some(Msg::Resize),
        Some(Ok(_)) => None,
        Some(Err(e)) => {
            *lost = Some(format!("terminal lost: {e}"));
            None
        }
        None => {
            *lost = Some("terminal closed".into());
            None
        }
    }
}

/// The most messages one frame is drawn for.
const GATHER: usize = 4096;

/// While messages keep arriving (a step's output flood), frames are at least this far apart.
const FLOOD_FRAME: Duration = Duration::from_millis(16);

/// The message that woke the loop and whatever else is already waiting, so the loop updates
/// for all of them and then draws once.
async fn gather<S>(
    first: Msg,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    events: &mut Option<S>,
    lost: &mut Option<String>,
    state: &State,
) -> Vec<Msg>
where
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let mut batch = vec![first];
    // A step's output flood arrives as thousands of messages (a line, then its `Recorded`):
    // cheap to update for, dear to draw for, so one frame covers up to `GATHER` of them. The
    // output gate bounds what can be waiting (`steps::event::GATE_LINES`).
    while let Ok(m) = rx.try_recv() {
        batch.push(m);
        if batch.len() >= GATHER {
            break;
        }
    }
    // Keys that are already waiting too (a paste, a held key, a burst over a slow link):
    // one frame for all of them, not one per key.
    while batch.len() <= GATHER + 512 && lost.is_none() {
        let Some(stream) = events.as_mut() else { break };
        let Some(ev) = waiting_event(stream).await else {
            break;
        };
        if let Some(m) = term_msg(ev, lost, state) {
            batch.push(m);
        }
    }
    batch
}

/// The next terminal event if one is already waiting, without waiting for one. Polled with this
/// task's own waker, never a no-op one: crossterm's `EventStream` keeps the waker of the first
/// poll that finds nothing until an event arrives, so a no-op waker (`now_or_never`) left the
/// next key unseen until something else woke the loop — the 1 s clock: every key after the
/// first took up to a second to show (`scripts/measure_budgets.py`, key → frame: 838 ms).
async fn waiting_event<S: Stream + Unpin>(events: &mut S) -> Option<Option<S::Item>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match events.poll_next_unpin(cx) {
            Poll::Ready(ev) => Some(ev),
            Poll::Pending => None,
        })
    })
    .await
}

pub(super) async fn run_session(p: Prepared, theme: Theme, input: Input) -> i32 {
    let log_store = ui::logstore::install(log::LevelFilter::Debug).unwrap_or_else(|e| {
        eprintln!("log pane: {e}");
        ui::logstore::LogStore::new()
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let journal = match open_journal(&p, &tx) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("{e}");
            return exit::FAILURE;
        }
    };
    let mut state = initial_state(&p, &input);
    let resumed = !p.resumed.is_empty();
    journal.send(session_started(&p, resumed));
    announce(&p, &journal, resumed);

    // Signal handlers before the terminal is taken and the first frame drawn: a SIGTERM or a
    // hang-up that arrives as soon as the screen shows is journaled, never the default death.
    let Some((mut sigint, mut sigterm, mut sighup)) = signals() else {
        journal.close();
        eprintln!("cannot install signal handlers");
        return exit::FAILURE;
    };
    let mut term = match terminal::enter() {
        Ok(t) => t,
        Err(e) => {
            journal.close();
            eprintln!("cannot take over the terminal: {e}");
            return exit::FAILURE;
        }
    };
    if input.mouse
        && let Err(e) = terminal::enable_mouse()
    {
        log::warn!(target: "terminal", "mouse off: {e}");
    }
    let mut executor = Executor::new(p.plan.clone(), p.mode, tx.clone(), journal.clone());
    executor.journal_path = p.journal_path.clone();
    executor.log = ui::logstore::LogPane::new(log_store);
    // Issue 13: follow the shared journal (a watcher: the driver's; a driver: its own), and
    // post the plan's [notify] milestones while this cockpit drives.
    executor.notes = super::follow::attach(&p, &mut state, &tx);
    super::follow::start_notify(&p);
    let draw = |term: &mut terminal::Term, state: &State| -> std::io::Result<()> {
        let view = View::new(&theme, Some(&executor.log));
        term.draw(|f| ui::draw(f, state, &view)).map(|_| ())
    };
    // The first frame, before any probe has answered.
    let mut end_reason: Option<String> = None;
    if let Err(e) = draw(&mut term, &state) {
        end_reason = Some(format!("terminal lost: {e}"));
    }
    spawn_probes(&p.plan, &executor.probes, &tx);
    super::self_metrics::spawn_from_env();

    // Resume: a step whose process (started by the crashed cockpit) still runs is followed, not
    // offered for retry.
    for m in still_running(&state, &p.resumed, &p.operator.host) {
        let _ = tx.send(m);
    }

    let mut events = Some(EventStream::new());
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut spinner = tokio::time::interval(Duration::from_millis(120));
    spinner.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut interrupted = false;
    // Why the terminal went away, and until when the cockpit waits for the running step.
    let mut detached: Option<(String, tokio::time::Instant)> = None;
    let mut lost: Option<String> = None;
    let mut last_frame = std::time::Instant::now();
    if let Some(why) = end_reason.take() {
        lost = Some(why);
    }

    loop {
        if let Some(why) = lost.take()
            && detached.is_none()
        {
            match detach(why, &state, &journal) {
                Ok(d) => {
                    events = None;
                    detached = Some(d);
                }
                Err(why) => end_reason = Some(why),
            }
        }
        if let Some((why, until)) = &detached {
            if busy_step(&state).is_none() {
                end_reason = Some(format!("{why}; the running step ended first"));
            } else if tokio::time::Instant::now() >= *until {
                end_reason = Some(format!("{why}; the running step outlived its timeout"));
            }
        }
        if end_reason.is_some() {
            break;
        }
        let spinning = detached.is_none()
            && (state.running_step().is_some()
                || state.steps.iter().any(|s| s.review.preflight_running));
        let first = tokio::select! {
            ev = async { events.as_mut()?.next().await }, if events.is_some() => term_msg(ev, &mut lost, &state),
            Some(m) = rx.recv() => Some(m),
            _ = clock.tick() => Some(Msg::Tick),
            _ = spinner.tick(), if spinning => Some(Msg::Tick),
            _ = sigint.recv() => { interrupted = true; end_reason = Some("signal SIGINT".into()); None }
            _ = sigterm.recv() => { interrupted = true; end_reason = Some("signal SIGTERM".into()); None }
            _ = sighup.recv() => { interrupted = true; lost = Some("signal SIGHUP (terminal hung up)".into()); None }
        };
        let Some(first) = first else { continue };
        for msg in gather(first, &mut rx, &mut events, &mut lost, &state).await {
            for fx in super::pacing::update(&mut state, msg, Utc::now(), &executor.gate) {
                if fx == Effect::Quit {
                    end_reason.get_or_insert_with(|| "quit".into());
                }
                executor.dispatch(&state, fx);
            }
        }
        // During a flood (more messages already waiting), at most one frame per FLOOD_FRAME:
        // the last batch of a burst always draws, so the screen never stays behind.
        let busy = !rx.is_empty() && last_frame.elapsed() < FLOOD_FRAME;
        if end_reason.is_none() && detached.is_none() && !busy {
            last_frame = std::time::Instant::now();
            if let Err(e) = draw(&mut term, &state) {
                lost = Some(format!("terminal lost: {e}"));
            }
        }
    }

    let ended = Ended {
        reason: end_reason,
        detached: detached.is_some(),
        interrupted,
    };
    close_session(p, &state, &journal, ended, input.mouse).await
}

/// The engine's state at the start: the plan, mode and operator, this session's settings, and
/// the resumed journal replayed.
fn initial_state(p: &Prepared, input: &Input) -> State {
    let mut state = State::new(p.plan.clone(), p.mode, p.operator.clone(), Utc::now());
    state.drill = p.drill;
    state.keys = input.keys.clone();
    state.mode_note = p.mode_note.clone();
    if p.mode == Mode::Live {
        state.lock = p.lock.clone();
    }
    replay(&mut state, &p.resumed);
    state
}

type Signals = (
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
);

/// SIGINT, SIGTERM and SIGHUP handlers (`None` when one cannot be installed).
fn signals() -> Option<Signals> {
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(a), Ok(b), Ok(c)) => Some((a, b, c)),
        _ => None,
    }
}

/// The terminal went away (`why`). With a step running, the cockpit stays without a terminal
/// until it ends (bounded by its timeout): say so, journal it, let the terminal go, and return
/// the detachment (why, until when). With none running, `Err(why)`: the session ends.
fn detach(
    why: String,
    state: &State,
    journal: &JournalHandle,
) -> Result<(String, tokio::time::Instant), String> {
    let Some(i) = busy_step(state) else {
        return Err(why);
    };
    let spec = &state.plan.steps[i];
    let limit = crate::steps::timeout_of(spec) + Duration::from_secs(30);
    let text = format!(
        "{why}: step {} is running; the cockpit stays without a terminal until it ends (at most {}), journals its outcome, then exits",
        spec.id,
        crate::plan::units::fmt_duration(limit)
    );
    log::warn!(target: "safety", "{text}");
    journal.send(Event::Note {
        step: Some(spec.id.clone()),
        text,
    });
    terminal::abandon();
    Ok((why, tokio::time::Instant::now() + limit))
}

/// The session's first journal event: the plan (name, source, hash, steps), the mode, this
/// process, and the journal resumed from.
fn session_started(p: &Prepared, resumed: bool) -> Event {
    Event::SessionStarted {
        plan_name: p.plan.name.clone(),
        plan_source: p.plan.source.clone(),
        plan_hash: p.plan.hash.clone(),
        mode: p.mode.as_str().into(),
        drill: p.drill,
        host: p.operator.host.clone(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        commit: Some(Box::new(crate::runtime::status::BUILD_COMMIT.into())),
        resumed_from: resumed.then(|| {
            p.journal_path
                .as_ref()
                .map(|x| x.display().to_string())
                .unwrap_or_default()
        }),
        rto_secs: Some(p.plan.rto.as_secs()),
        rpo_secs: Some(p.plan.rpo.as_secs()),
        steps: p
            .plan
            .steps
            .iter()
            .map(|s| crate::journal::StepInfo {
                id: s.id.clone(),
                title: s.title.clone(),
                kind: s.action.kind_name().into(),
                mutating: Some(crate::steps::is_mutating(&s.action)),
            })
            .collect(),
    }
}

/// What the log pane (and, for a take-over, the journal) says as the session opens.
fn announce(p: &Prepared, journal: &JournalHandle, resumed: bool) {
    if let Some(prev) = p.lock.as_ref().and_then(|l| l.taken_over_from()) {
        let text = format!(
            "took over the plan's lock from {}@{} (pid {}, since {})",
            prev.operator, prev.host, prev.pid, prev.since
        );
        log::warn!(target: "safety", "{text}");
        journal.send(Event::Note { step: None, text });
    }
    if let Some(sim) = &p.sim {
        log::info!(target: "demo", "simulator on {} — the demo plan runs against it through the real clients", sim.url);
    }
    if let Some(path) = &p.journal_path {
        log::info!(target: "journal", "journal: {}", path.display());
    }
    if let Some(note) = &p.mode_note {
        log::warn!(target: "safety", "{note}");
    }
    if resumed {
        log::warn!(target: "journal", "resumed an unfinished session: finished steps kept; a step that was running is marked unknown");
    }
}

/// How the event loop ended.
struct Ended {
    reason: Option<String>,
    /// The terminal went away while a step ran (nothing to restore).
    detached: bool,
    interrupted: bool,
}

/// After the loop: stop what still runs, journal the end, give the terminal back, say where the
/// journal is, and choose the exit code.
async fn close_session(
    p: Prepared,
    state: &State,
    journal: &JournalHandle,
    ended: Ended,
    mouse: bool,
) -> i32 {
    let Ended {
        reason: end_reason,
        detached,
        interrupted,
    } = ended;
    let reason = end_reason.unwrap_or_else(|| "quit".into());
    let reason = if state.all_done() && reason == "quit" {
        "completed".to_string()
    } else {
        reason
    };
    // Quit, SIGINT, SIGTERM with a step running: stop its process group (SIGTERM, then SIGKILL
    // after a grace) so nothing this cockpit started outlives it unrecorded.
    let _ = tokio::task::spawn_blocking(|| {
        crate::steps::command::stop_all_groups(crate::steps::command::STOP_GRACE)
    })
    .await;
    if p.mode != Mode::Monitor {
        journal.send(Event::SessionEnded {
            reason: reason.clone(),
        });
    }
    journal.close();
    if !detached {
        if mouse {
            terminal::disable_mouse();
        }
        terminal::leave();
    }
    let lost = journal.lost();
    if lost > 0 {
        // eprintln! would panic on a hung-up terminal (EIO); this must not.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "JOURNAL INCOMPLETE: {lost} event(s) could never be written (see the log); the journal does not hold everything that happened"
        );
    }
    if let Some(path) = &p.journal_path {
        // After an SSH drop there is no terminal: printing must not panic (EIO).
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "journal: {}", path.display());
        let _ = writeln!(out, "report:  drcockpit report {}", path.display());
    }
    drop(p.lock);
    if let Some(sim) = p.sim {
        sim.shutdown().await;
    }
    // Issue 13: a watcher that typed the take-over word starts again as the driver.
    if state.watch.take_over {
        return super::follow::exec_take_over(state, &p.plan_path, p.drill);
    }
    if lost > 0 {
        exit::FAILURE
    } else if interrupted {
        exit::INTERRUPTED
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    use super::*;

    /// A probe's task stays alive for the whole session; what it holds between rounds is
    /// resident the whole time. Kept inline, the round's future made each task ~15 KB
    /// (heaptrack: 213 KB in the 14 probe tasks of the demo plan); boxed, the task holds its
    /// interval, handles and a pointer.
    #[test]
    fn a_probe_task_between_rounds_is_small() {
        let text = include_str!("../../plans/demo.toml");
        let opts = crate::plan::LoadOptions {
            sim_url: Some("http://127.0.0.1:9".into()),
            run_commands: false,
        };
        let plan = Arc::new(
            crate::steps::registry::load_str(text, "demo.toml", &opts).expect("demo plan loads"),
        );
        let keys = crate::probes::configured(&plan);
        assert!(keys.len() > 5, "the demo plan probes every section");
        let http = HttpClient::new(true);
        let mem = Arc::new(crate::probes::ProbeMemory::new());
        let limit = Arc::new(Semaphore::new(1));
        let (tx, _rx) = mpsc::unbounded_channel();
        let one_round = crate::probes::run(&plan, &http, &mem, keys[0]);
        let round_size = std::mem::size_of_val(&one_round);
        drop(one_round);
        for key in keys {
            let task = probe_loop(
                plan.clone(),
                http.clone(),
                limit.clone(),
                mem.clone(),
                tx.clone(),
                key,
            );
            let size = std::mem::size_of_val(&task);
            assert!(
                size < 1024 && size * 4 < round_size,
                "a probe task is {size} bytes between rounds (a round's future is {round_size})"
            );
        }
    }

    /// A stream that behaves as crossterm's `EventStream`: the first poll that finds nothing
    /// keeps its waker (for a reader thread) until an event arrives; later polls do not
    /// replace it.
    #[derive(Default)]
    struct FirstWakerStream {
        kept: Arc<Mutex<Option<Waker>>>,
    }

    impl Stream for FirstWakerStream {
        type Item = std::io::Result<TermEvent>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Self::Item>> {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.is_none() {
                *kept = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn looking_for_waiting_keys_leaves_the_loops_own_waker_with_the_terminal() {
        let plan = crate::steps::load_str(
            "[plan]\nname = \"p\"\nstrategy = \"pilot-light\"\nrto = \"1h\"\nrpo = \"1h\"\n[sites.prod]\nlabel = \"P\"\n[sites.dr]\nlabel = \"D\"\n[[step]]\nid = \"a\"\ntitle = \"A\"\nkind = \"manual\"\ninstructions = \"x\"\n",
            "test.toml",
            &crate::plan::LoadOptions::default(),
        )
        .expect("a plan");
        let operator = crate::app::state::Operator {
            name: "test".into(),
            host: "here".into(),
        };
        let state = State::new(Arc::new(plan), Mode::Review, operator, Utc::now());
        let (_tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let stream = FirstWakerStream::default();
        let kept = stream.kept.clone();
        let mut events = Some(stream);
        let mut lost = None;
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(gather(Msg::Tick, &mut rx, &mut events, &mut lost, &state));
        let Poll::Ready(batch) = fut.as_mut().poll(&mut cx) else {
            panic!("gather waits for nothing");
        };
        assert_eq!(batch.len(), 1);
        drop(fut);
        // A key arrives: the terminal wakes the waker it kept. It must be the loop's, or the
        // key waits for the next clock tick.
        let w = kept.lock().unwrap_or_else(|p| p.into_inner()).take();
        w.expect("the stream was polled").wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the key woke nobody");
    }
}
