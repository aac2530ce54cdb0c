//! The effect executor: the one place effects leave the engine. The session's mode is checked
//! here a second time (the engine checked it first), and the transports handed to steps are
//! read-only unless the mode may mutate — so a bug in one layer is caught by the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use crate::app::update::LogView;
use crate::app::{Effect, Mode, Msg, State};
use crate::clients::http::HttpClient;
use crate::journal::Event;
use crate::plan::Plan;
use crate::steps::{self, StepContext, StepSink};

pub struct Executor {
    pub plan: Arc<Plan>,
    pub mode: Mode,
    pub tx: UnboundedSender<Msg>,
    pub journal: crate::journal::writer::JournalHandle,
    /// Read-only unless the mode may mutate.
    pub http: HttpClient,
    /// The log pane's lines and paging (the store the logger writes into; see `ui::logstore`).
    pub log: crate::ui::logstore::LogPane,
    /// Where this session's journal is (review exports go next to it).
    pub journal_path: Option<std::path::PathBuf>,
    /// How to stop each running step (`Effect::StopStep`): the reason goes to its task.
    stops: Mutex<HashMap<usize, tokio::sync::oneshot::Sender<String>>>,
    /// The session's probe memory, shared by its probes and handed to its steps.
    pub probes: Arc<crate::probes::ProbeMemory>,
    /// Issue 13: a watcher's writer on the driver's journal; it takes notes only.
    pub notes: Option<crate::journal::writer::JournalHandle>,
    /// Issue 15: output lines between the steps and the journal (the event loop releases them
    /// through `runtime::pacing`; a step's reader waits while it is full).
    pub gate: Arc<steps::OutputGate>,
}

/// Render the journal as a review record next to it: `<journal>.review.md`.
fn export_review(journal: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let model = crate::report::build_from_file(journal)?;
    let text = crate::redact::redact_string(crate::report::render_markdown(&model));
    let mut name = journal.as_os_str().to_owned();
    name.push(".review.md");
    let out = std::path::PathBuf::from(name);
    std::fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// Events that change the world's record of a checklist: refused outright in monitor mode.
fn is_checklist_change(ev: &Event) -> bool {
    !matches!(
        ev,
        Event::Refused { .. } | Event::SessionStarted { .. } | Event::SessionEnded { .. }
    )
}

impl Executor {
    pub fn new(
        plan: Arc<Plan>,
        mode: Mode,
        tx: UnboundedSender<Msg>,
        journal: crate::journal::writer::JournalHandle,
    ) -> Executor {
        let http = HttpClient::new(!mode.may_mutate());
        Executor {
            plan,
            mode,
            tx,
            journal,
            http,
            log: Default::default(),
            journal_path: None,
            stops: Mutex::new(HashMap::new()),
            probes: Arc::default(),
            notes: None,
            gate: Arc::default(),
        }
    }

    fn refuse(&self, what: String) {
        let _ = self.tx.send(Msg::Refused { what });
    }

    pub fn dispatch(&self, state: &State, fx: Effect) {
        match fx {
            Effect::Record(ev) => {
                // Issue 13: a watcher's note goes to the driver's journal; nothing else does.
                if let Some(notes) = &self.notes
                    && matches!(ev, Event::Note { .. })
                    && crate::app::watch::is_watcher(state)
                {
                    notes.send(ev);
                    return;
                }
                if self.mode == Mode::Monitor && is_checklist_change(&ev) {
                    self.refuse(format!("recording {:?}", ev.step().unwrap_or("an event")));
                    return;
                }
                self.journal.send(ev);
            }
            Effect::RunStep { step, attempt } => {
                if !self.mode.may_mutate() {
                    let id = self
                        .plan
                        .steps
                        .get(step)
                        .map(|s| s.id.as_str())
                        .unwrap_or("?");
                    self.refuse(format!("run step {id}"));
                    return;
                }
                let Some(mut spec) = self.plan.steps.get(step).cloned() else {
                    return;
                };
                steps::hand_off_journal(&mut spec.action, &state.records);
                // The plan's lock, re-checked at the moment of dispatch: taken over → not run.
                let lost = match state.lock.as_ref().map(|l| l.check()) {
                    Some(Err(why)) => Some(why),
                    _ if !state.mode.may_mutate() => Some(
                        state
                            .mode_note
                            .clone()
                            .unwrap_or_else(|| "this cockpit no longer drives the plan".into()),
                    ),
                    _ => None,
                };
                if let Some(why) = lost {
                    let _ = self.tx.send(Msg::StepDone {
                        step,
                        attempt,
                        result: Err(format!("not run: {why}")),
                    });
                    return;
                }
                let ctx = self.context(step, attempt);
                let tx = self.tx.clone();
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<String>();
                self.stop_senders().insert(step, stop_tx);
                tokio::spawn(async move {
                    let limit = steps::timeout_of(&spec);
                    // Timeout and stop both drop the step's future: a command's guard then stops
                    // its whole process group (SIGTERM, SIGKILL after a grace).
                    let result = tokio::select! {
                        r = tokio::time::timeout(limit, steps::run(&spec.action, ctx)) => match r {
                            Ok(r) => r,
                            Err(_) => Err(format!(
                                "timed out after {}",
                                crate::plan::units::fmt_duration(limit)
                            )),
                        },
                        Ok(reason) = stop_rx => Err(reason),
                    };
                    let result = result
                        .map(crate::redact::redact_string)
                        .map_err(crate::redact::redact_string);
                    let _ = tx.send(Msg::StepDone {
                        step,
                        attempt,
                        result,
                    });
                });
            }
            Effect::StopStep { step, reason } => {
                if let Some(stop) = self.stop_senders().remove(&step) {
                    log::warn!(target: "safety", "{reason}: its process group gets SIGTERM, then SIGKILL after {}s", steps::command::STOP_GRACE.as_secs());
                    let _ = stop.send(reason);
                }
            }
            Effect::Follow {
                step,
                attempt,
                pid,
                start_ticks,
                boot_id,
            } => self.follow(
                step,
                attempt,
                steps::command::ProcessIdentity {
                    pid,
                    start_ticks,
                    boot_id,
                },
            ),
            Effect::Preflight { step } => {
                let Some(spec) = self.plan.steps.get(step).cloned() else {
                    return;
                };
                // Preflight is read-only by construction: it gets a read-only transport whatever the mode.
                let ctx = StepContext::read_only(
                    self.plan.clone(),
                    step,
                    StepSink::channel(self.tx.clone()).with_gate(self.gate.clone()),
                )
                .with_probes(self.probes.clone());
                let from_state = state.precondition_checks(step);
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let checks = steps::preflight(&spec.action, &ctx, from_state).await;
                    let _ = tx.send(Msg::PreflightDone { step, checks });
                });
            }
            Effect::Log {
                level,
                target,
                line,
            } => {
                // The log pane's logger redacts every record (this line and library logs alike).
                log::log!(target: &target, level, "{line}");
            }
            Effect::LogView(v) => self.log_view(v),
            Effect::ExportReview => self.export_review(),
            Effect::Yank(y) => self.yank(y),
            Effect::ReadOutput {
                step,
                step_id,
                attempt,
                start,
                count,
            } => self.read_output(step, step_id, attempt, (start, count)),
            Effect::Quit => {}
        }
    }

    /// Page the log pane.
    fn log_view(&self, v: LogView) {
        match v {
            LogView::PageUp => self.log.page_up(),
            LogView::PageDown => self.log.page_down(),
            LogView::Follow => self.log.follow(),
        }
    }

    /// Review mode: write the review record next to the journal, off the screen's thread.
    fn export_review(&self) {
        let Some(path) = self.journal_path.clone() else {
            self.refuse("export: this session has no journal".into());
            return;
        };
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let text = match export_review(&path) {
                Ok(out) => format!("review record written to {}", out.display()),
                Err(e) => format!("export failed: {e}"),
            };
            log::info!(target: "review", "{text}");
            let _ = tx.send(Msg::Notice { text });
        });
    }

    /// Issue 15: read a page of a step's older output from the journal, off the event loop.
    fn read_output(&self, step: usize, id: String, attempt: u32, (start, count): (usize, usize)) {
        let tx = self.tx.clone();
        let path = self.journal_path.clone();
        tokio::task::spawn_blocking(move || {
            let lines = match path {
                None => Err("older lines: this session keeps no journal file".to_string()),
                Some(p) => crate::journal::read::output_page(&p, &id, attempt, start, count),
            }
            .map(|v| {
                v.into_iter()
                    .map(|(stream, text)| steps::OutputLine { stream, text })
                    .collect()
            });
            let _ = tx.send(Msg::OutputPage {
                step,
                attempt,
                start,
                lines,
            });
        });
    }

    /// Copy to the operator's clipboard (OSC 52) and say what was copied.
    fn yank(&self, y: crate::app::Yank) {
        use crate::app::Yank;
        let (what, text) = match y {
            Yank::Text { what, text } => (what, Some(text)),
            Yank::LogLine { filter } => (
                "the newest log line".to_string(),
                self.log
                    .store
                    .matching(&filter, 1)
                    .pop()
                    .map(|l| format!("{} {}: {}", l.at.format("%H:%M:%S"), l.target, l.text)),
            ),
            Yank::JournalPath => (
                "the journal's path".to_string(),
                self.journal_path.as_ref().map(|p| p.display().to_string()),
            ),
        };
        let text = match text {
            Some(t) => super::terminal::yank(&t, &what),
            None => format!("nothing to copy: no {}", what.trim_start_matches("the ")),
        };
        let _ = self.tx.send(Msg::Notice { text });
    }

    fn stop_senders(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<usize, tokio::sync::oneshot::Sender<String>>> {
        self.stops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follow a step's process that an earlier cockpit started (resume): poll /proc until it is
    /// gone. It is not our child, so its exit status cannot be known. A stop signals its group
    /// (it leads its own session), after checking it is still the same process.
    fn follow(&self, step: usize, attempt: u32, id: steps::command::ProcessIdentity) {
        let tx = self.tx.clone();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<String>();
        self.stop_senders().insert(step, stop_tx);
        tokio::spawn(async move {
            let mut stopped: Option<String> = None;
            let mut every = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    Ok(reason) = &mut stop_rx, if stopped.is_none() => {
                        if id.is_alive() && let Ok(pgid) = i32::try_from(id.pid) {
                            steps::command::stop_group(pgid, steps::command::STOP_GRACE);
                        }
                        stopped = Some(reason);
                    }
                }
                if !id.is_alive() {
                    break;
                }
            }
            let detail = match stopped {
                Some(reason) => format!(
                    "{reason}; process {} (started by an earlier cockpit) is gone — its exit status cannot be known",
                    id.pid
                ),
                None => format!(
                    "process {} ended while the cockpit was away — its exit status cannot be known (it was not this cockpit's child)",
                    id.pid
                ),
            };
            let _ = tx.send(Msg::FollowedEnded {
                step,
                attempt,
                pid: id.pid,
                detail,
            });
        });
    }

    fn context(&self, step: usize, attempt: u32) -> StepContext {
        StepContext {
            plan: self.plan.clone(),
            http: self.http.clone(),
            allow_spawn: self.mode.may_mutate(),
            step,
            attempt,
            out: StepSink::channel(self.tx.clone()).with_gate(self.gate.clone()),
            probes: self.probes.clone(),
        }
    }
}
