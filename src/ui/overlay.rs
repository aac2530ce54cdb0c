//! Centred overlays: the help (every key of the current focus) and the dialogs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{Theme, key_line, pad, sp};
use crate::app::{Dialog, DialogKind, Focus, Mode, State};

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn draw_help(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let bindings = crate::app::keys::for_focus(state);
    let focus = match state.focus {
        Focus::Checklist => "checklist",
        Focus::Log => "log",
    };
    let kw = bindings.iter().map(|b| b.keys.width()).max().unwrap_or(4) + 2;
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::from(vec![
        Span::styled(format!("Keys for the {focus} "), t.title),
        Span::styled(format!("({} mode)", state.mode.as_str()), t.dim),
    ]));
    if state.mode == Mode::Monitor {
        lines.push(Line::styled(
            "monitor mode is read-only: keys that would change anything are not listed",
            t.warn,
        ));
    }
    lines.push(Line::raw(""));
    // Two columns when one does not fit the height (80×24 has ~22 rows for 26 keys).
    // Each description is cut to its column then (docs/keys.md has every word).
    let two = bindings.len() + 10 > usize::from(area.height);
    let ww = if two {
        (usize::from(area.width).saturating_sub(4) / 2)
            .saturating_sub(kw)
            .max(8)
    } else {
        bindings.iter().map(|b| b.what.width()).max().unwrap_or(10) + 2
    };
    let rows = if two {
        bindings.len().div_ceil(2)
    } else {
        bindings.len()
    };
    for r in 0..rows {
        let mut spans = Vec::new();
        for b in [
            bindings.get(r),
            two.then(|| bindings.get(r + rows)).flatten(),
        ]
        .into_iter()
        .flatten()
        {
            spans.push(Span::styled(pad(&b.keys, kw), t.key));
            spans.push(Span::styled(
                pad(&super::trunc(b.what, ww.saturating_sub(1)), ww),
                t.text,
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Step states", t.title));
    lines.push(Line::styled(
        "· pending  ⊘ blocked  ⠋ running  ✓ done  ✗ failed  ↷ skipped  ? unknown",
        t.text,
    ));
    lines.push(Line::styled(
        "Panels: ✓ good  ! warning  ✗ bad/error  ~ stale (never counted healthy)",
        t.text,
    ));
    lines.push(Line::styled("Times of day are UTC.", t.dim));
    let w = lines.iter().map(Line::width).max().unwrap_or(40) as u16 + 4;
    let h = lines.len() as u16 + 2;
    let rect = centered(area, w.max(40), h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(t.dialog_border)
        .style(t.dialog)
        .title_top(Line::styled(" Help ", t.title))
        .title_bottom(Line::styled(" ? or Esc closes ", t.dim).right_aligned());
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// The keys a dialog answers to (also shown in the footer).
/// `confirm`: the confirming key's label (`y`, or config.toml's `confirm`).
pub fn dialog_keys(d: &Dialog, confirm: &str) -> Vec<(String, String)> {
    let p = |k: &str, w: &str| (k.to_string(), w.to_string());
    match d.kind {
        // ⏎ opened it, so ⏎ does not confirm it.
        DialogKind::ConfirmRun if d.word.is_none() => {
            vec![p(confirm, "run"), p("n/Esc", "cancel")]
        }
        DialogKind::Quit => vec![p(&format!("{confirm}/⏎"), "quit"), p("n/Esc", "stay")],
        DialogKind::Filter => vec![p("⏎", "apply"), p("Esc", "clear filter")],
        _ => vec![p("⏎", "submit"), p("Esc", "cancel"), p("⌫", "erase")],
    }
}

fn step_name(state: &State, d: &Dialog) -> String {
    match d.step.and_then(|i| state.plan.steps.get(i).map(|s| (i, s))) {
        Some((i, s)) => format!("step {} “{}”", i + 1, s.title),
        None => "the session".into(),
    }
}

pub fn draw_dialog(frame: &mut Frame, area: Rect, state: &State, d: &Dialog, t: &Theme) {
    let mut body: Vec<Line<'static>> = Vec::new();
    let (title, prompt) = dialog_body(state, d, t, &mut body);
    if let Some(p) = prompt {
        body.push(Line::raw(""));
        body.push(Line::from(Span::styled(p, t.title)));
        body.push(Line::from(vec![
            Span::styled("> ", t.accent),
            sp(&d.input, t.input),
            Span::styled("▏", t.accent.add_modifier(Modifier::SLOW_BLINK)),
        ]));
        if let Some(w) = &d.word {
            let ok = d.input.trim() == w;
            body.push(Line::styled(
                if ok {
                    format!("✓ matches {w} — ⏎ to confirm")
                } else {
                    format!("must equal {w} exactly ({} typed)", d.input.chars().count())
                },
                if ok { t.ok } else { t.dim },
            ));
        }
    }
    // First, so a long description wrapped past the estimated height never hides it.
    if let Some(e) = &d.error {
        body.insert(0, Line::from(vec![Span::styled("✗ ", t.bad), sp(e, t.bad)]));
    }
    body.push(Line::raw(""));
    let keys = dialog_keys(d, &state.keys.confirm_label());
    let max_w = area.width.saturating_sub(4).min(76);
    let content_w = body
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(30)
        .max(title.width() + 2) as u16;
    let w = (content_w + 4).clamp(36.min(max_w), max_w);
    let inner_w = w.saturating_sub(2).max(1);
    // Height after wrapping.
    let wrapped: u16 = body
        .iter()
        .map(|l| (l.width() as u16).max(1).div_ceil(inner_w))
        .sum();
    let h = (wrapped + 3).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(t.dialog_border)
        .style(t.dialog)
        .title_top(Line::styled(title, t.title.add_modifier(Modifier::BOLD)))
        .title_bottom(key_line(&keys, t, inner_w as usize).right_aligned());
    frame.render_widget(
        Paragraph::new(body).block(block).wrap(Wrap { trim: false }),
        rect,
    );
}

/// What a dialog says, by kind: its lines go into `body`; returns the title and the input's prompt
/// (none for a y/n question).
fn dialog_body(
    state: &State,
    d: &Dialog,
    t: &Theme,
    body: &mut Vec<Line<'static>>,
) -> (String, Option<String>) {
    let step = step_name(state, d);
    let text = |s: String| Line::from(sp(s, t.text));
    match &d.kind {
        DialogKind::ConfirmRun => confirm_run_body(state, d, &step, t, body),
        DialogKind::Approve => {
            let w = d.word.clone().unwrap_or_else(|| "APPROVE".into());
            body.push(text(format!("Approve {step}.")));
            body.push(text(format!(
                "Recorded in the journal as approved by {} at {} UTC.",
                state.operator.display(),
                state.now.format("%H:%M:%S")
            )));
            (
                format!(" Approval: type {w} "),
                Some(format!("Type {w} to approve:")),
            )
        }
        DialogKind::Override { unmet } => {
            body.push(text(format!(
                "Run {step} although these preconditions do not hold:"
            )));
            for u in unmet {
                body.push(Line::from(vec![Span::styled("  ✗ ", t.bad), sp(u, t.text)]));
            }
            body.push(Line::styled(
                "Break glass: your reason is journaled with your name.",
                t.warn,
            ));
            (
                " Override preconditions ".into(),
                Some("Reason for the override:".into()),
            )
        }
        DialogKind::SkipReason => {
            body.push(text(format!(
                "Skip {step}: it will not run and counts as done."
            )));
            (" Skip step ".into(), Some("Why (journaled):".into()))
        }
        DialogKind::ManualDone => {
            body.push(text(format!("Mark the manual {step} done.")));
            if let Some(i) = d.step
                && let Some(s) = state.plan.steps.get(i)
                && let crate::plan::StepAction::Manual { instructions } = &s.action
            {
                for l in instructions.lines().take(6) {
                    body.push(Line::from(vec![Span::raw("  "), sp(l, t.dim)]));
                }
            }
            (
                " Manual step done ".into(),
                Some("What was done (journaled):".into()),
            )
        }
        DialogKind::MarkDone => {
            body.push(text(format!(
                "{step} was running when the cockpit stopped."
            )));
            body.push(Line::styled(
                "Mark it done only after checking the world.",
                t.warn,
            ));
            (
                " Mark unknown step done ".into(),
                Some("What you checked (journaled):".into()),
            )
        }
        DialogKind::Declare => {
            body.push(text("Declare the incident: the incident clock and the report's measured RTO run from now.".into()));
            body.push(text(format!(
                "Journaled as declared by {} at {} UTC.",
                state.operator.display(),
                state.now.format("%H:%M:%S")
            )));
            (
                " Declare the incident ".into(),
                Some("What happened (journaled):".into()),
            )
        }
        // Issue 13: a watcher takes over.
        DialogKind::TakeOver => {
            body.push(text(
                "Take over driving this plan: the lock moves to you and the driver's cockpit becomes a watcher.".into(),
            ));
            body.push(text(
                "This cockpit restarts as the driver on the same journal; the hand-over is journaled.".into(),
            ));
            (
                " Take over ".into(),
                Some("Type TAKEOVER to take over:".into()),
            )
        }
        DialogKind::Note => {
            body.push(text(format!("Add a note to the journal for {step}.")));
            (" Note ".into(), Some("Note:".into()))
        }
        DialogKind::Reviewed => {
            body.push(text(format!("Mark {step} reviewed.")));
            (" Mark reviewed ".into(), Some("Review note:".into()))
        }
        DialogKind::Abort => {
            body.push(Line::styled(
                "Abort the checklist: nothing more runs in this session.",
                t.bad,
            ));
            body.push(text("The abort is journaled; the report shows it.".into()));
            (
                " ABORT the checklist ".into(),
                Some("Type ABORT to abort:".into()),
            )
        }
        DialogKind::Filter => {
            body.push(text(
                "Show only log lines whose text or source contains this (case-insensitive).".into(),
            ));
            (" Filter the log ".into(), Some("Filter:".into()))
        }
        DialogKind::Quit => {
            let running = state
                .running_step()
                .map(|i| format!("step {} is running.", i + 1))
                .unwrap_or_else(|| "a step is running.".into());
            body.push(text(format!("Quit? {running}")));
            body.push(text(
                "Quitting leaves it unknown in the journal; resume with --resume to check it."
                    .into(),
            ));
            (" Quit while a step runs? ".into(), None)
        }
    }
}

/// The run confirmation: what the step will do, and a warning when it changes the world.
fn confirm_run_body(
    state: &State,
    d: &Dialog,
    step: &str,
    t: &Theme,
    body: &mut Vec<Line<'static>>,
) -> (String, Option<String>) {
    let text = |s: String| Line::from(sp(s, t.text));
    let retry = d
        .step
        .and_then(|i| state.steps.get(i))
        .filter(|r| r.attempts > 0)
        .map(|r| format!(" again (attempt {})", r.attempts + 1))
        .unwrap_or_default();
    body.push(text(format!("Run {step}{retry}. It will:")));
    if let Some(i) = d.step
        && let Some(s) = state.plan.steps.get(i)
    {
        for l in crate::steps::describe(&s.action).into_iter().take(6) {
            body.push(Line::from(vec![Span::raw("  "), sp(l, t.text)]));
        }
        if state.is_mutating(i) {
            body.push(Line::styled(
                "This changes the world and is not retried automatically.",
                t.warn,
            ));
        }
    }
    match &d.word {
        Some(w) => (
            format!(" Confirm: type {w} "),
            Some(format!("Type {w} to run it:")),
        ),
        None => (" Confirm run ".into(), None),
    }
}

/// One line of the timeline for a journal record: what happened, in words.
pub fn timeline_line(rec: &crate::journal::Record) -> String {
    use crate::journal::Event as E;
    let what = match &rec.event {
        E::SessionStarted {
            mode,
            drill,
            resumed_from,
            ..
        } => format!(
            "session started ({mode}{}){}",
            if *drill { ", drill" } else { "" },
            if resumed_from.is_some() {
                " — resumed"
            } else {
                ""
            }
        ),
        E::StepStarted { step, attempt, .. } => format!("{step}: started (attempt {attempt})"),
        E::StepOutput { step, line, .. } => format!("{step}: {line}"),
        E::ProcessStarted { step, pid, .. } => format!("{step}: runs as pid {pid}"),
        E::ProcessEnded { step, detail, .. } => format!("{step}: {detail}"),
        E::StepFinished {
            step, ok, detail, ..
        } => {
            format!(
                "{step}: {} — {detail}",
                if *ok { "✓ succeeded" } else { "✗ failed" }
            )
        }
        E::Approved { step, host, word } => {
            format!("{step}: approved by {}@{host} (typed {word})", rec.operator)
        }
        E::ManualDone { step, note } => format!("{step}: done by hand — {note}"),
        E::MarkedDone { step, note } => format!("{step}: marked done after checking — {note}"),
        E::Override { step, reason, .. } => format!("{step}: preconditions overridden — {reason}"),
        E::Skipped { step, reason } => format!("{step}: ↷ skipped — {reason}"),
        E::Note { step, text } => format!(
            "{}note: {text}",
            step.as_ref().map(|s| format!("{s}: ")).unwrap_or_default()
        ),
        E::Reviewed { step, note } => format!("{step}: reviewed — {note}"),
        E::Preflight { step, checks } => {
            let ok = checks.iter().filter(|c| c.ok == Some(true)).count();
            format!("{step}: preflight {ok}/{} passed", checks.len())
        }
        E::Evidence { step, what, detail } => format!(
            "{}evidence {what}: {detail}",
            step.as_ref().map(|s| format!("{s}: ")).unwrap_or_default()
        ),
        E::Refused { what, mode } => format!("refused in {mode} mode: {what}"),
        E::Aborted { reason } => format!("checklist aborted — {reason}"),
        E::Declared { note } => format!("incident declared — {note}"),
        E::SessionEnded { reason } => format!("session ended ({reason})"),
    };
    format!(
        "{} {:<10} {}",
        rec.at.format("%H:%M:%S"),
        rec.operator,
        what
    )
}

/// The timeline overlay: the journal so far, newest at the bottom, scrollable.
pub fn draw_timeline(frame: &mut Frame, area: Rect, state: &State, offset: usize, t: &Theme) {
    let rect = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    let inner_h = rect.height.saturating_sub(2) as usize;
    let n = state.records.len();
    let end = n.saturating_sub(offset);
    let start = end.saturating_sub(inner_h);
    let lines: Vec<Line> = if n == 0 {
        vec![Line::styled("nothing journaled yet", t.dim)]
    } else {
        state.records[start..end]
            .iter()
            .map(|r| Line::styled(super::redacted(&timeline_line(r)), t.text))
            .collect()
    };
    frame.render_widget(Clear, rect);
    let title = format!(
        " Timeline · {n} events{} ",
        if offset > 0 {
            format!(" · {offset} newer below")
        } else {
            String::new()
        }
    );
    let block = Block::bordered()
        .border_style(t.dialog_border)
        .style(t.dialog)
        .title_top(Line::styled(title, t.title))
        .title_bottom(
            Line::styled(" ↑↓ PgUp PgDn g G scroll · t or Esc closes ", t.dim).right_aligned(),
        );
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
