//! The effect executor: the one place effects leave the engine. The session's mode is checked
//! here a second time (the engine checked it first), and the transports handed to steps are
//! read-only unless the mode may mutate — so a bug in one layer is caught by the next.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::app::update::LogView;
use crate::app::{Effect, Mode, Msg, State};
use crate::clients::http::HttpClient;
use crate::journal::Event;
use crate::plan::Plan;
use crate::steps::{self, StepContext};

pub struct Executor {
    pub plan: Arc<Plan>,
    pub mode: Mode,
    pub tx: UnboundedSender<Msg>,
    pub journal: crate::journal::writer::JournalHandle,
    /// Read-only unless the mode may mutate.
    pub http: HttpClient,
    pub log_state: Arc<tui_logger::TuiWidgetState>,
    /// Where this session's journal is (review exports go next to it).
    pub journal_path: Option<std::path::PathBuf>,
}

/// Render the journal as a review record next to it: `<journal>.review.md`.
fn export_review(journal: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let model = crate::journal::report::build_from_file(journal)?;
    let text = crate::redact::redact_string(crate::journal::report::render_markdown(&model));
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
            log_state: Arc::new(tui_logger::TuiWidgetState::new()),
            journal_path: None,
        }
    }

    fn refuse(&self, what: String) {
        let _ = self.tx.send(Msg::Refused { what });
    }

    pub fn dispatch(&self, state: &State, fx: Effect) {
        match fx {
            Effect::Record(ev) => {
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
                let Some(spec) = self.plan.steps.get(step).cloned() else {
                    return;
                };
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
                tokio::spawn(async move {
                    let limit = steps::timeout_of(&spec);
                    let result =
                        match tokio::time::timeout(limit, steps::run(&spec.action, ctx)).await {
                            Ok(r) => r,
                            Err(_) => Err(format!(
                                "timed out after {}",
                                crate::plan::units::fmt_duration(limit)
                            )),
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
            Effect::Preflight { step } => {
                let Some(spec) = self.plan.steps.get(step).cloned() else {
                    return;
                };
                // Preflight is read-only by construction: it gets a read-only transport whatever the mode.
                let ctx = StepContext::read_only(self.plan.clone(), step, self.tx.clone());
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
            Effect::LogView(v) => {
                use tui_logger::TuiWidgetEvent as E;
                match v {
                    LogView::PageUp => self.log_state.transition(E::PrevPageKey),
                    LogView::PageDown => self.log_state.transition(E::NextPageKey),
                    LogView::Follow => self.log_state.transition(E::EscapeKey),
                }
            }
            Effect::ExportReview => {
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
            Effect::Quit => {}
        }
    }

    fn context(&self, step: usize, attempt: u32) -> StepContext {
        StepContext {
            plan: self.plan.clone(),
            http: self.http.clone(),
            allow_spawn: self.mode.may_mutate(),
            step,
            attempt,
            out: self.tx.clone(),
        }
    }
}
