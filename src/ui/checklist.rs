//! The checklist (every step with number, icon and state word) and the selected step's detail.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{Theme, key_line, pad, redacted, sp, trunc};
use crate::app::state::StepPhase;
use crate::app::{Focus, Mode, State, StepStatus};
use crate::plan::condition::CondResult;
use crate::plan::units::fmt_duration;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Rows the checklist would like: one per step plus reason lines.
pub fn rows_wanted(state: &State) -> u16 {
    (0..state.steps.len())
        .map(|i| 1 + u16::from(reason(state, i).is_some()))
        .sum()
}

pub fn status_style(s: &StepStatus, t: &Theme) -> Style {
    match s {
        StepStatus::Pending => t.text,
        StepStatus::Blocked { .. } => t.warn,
        StepStatus::Running => t.running,
        StepStatus::Succeeded => t.ok,
        StepStatus::Failed => t.bad,
        StepStatus::Skipped => t.dim,
        StepStatus::Unknown => t.unknown,
    }
}

fn icon(state: &State, s: &StepStatus) -> &'static str {
    match s {
        StepStatus::Running => SPINNER[state.spinner % SPINNER.len()],
        other => other.icon(),
    }
}

/// The short state text at the right of a step row.
fn state_word(state: &State, i: usize) -> String {
    let run = &state.steps[i];
    let st = state.status(i);
    match &run.phase {
        StepPhase::Running { since, .. } => format!(
            "running {}",
            fmt_duration(crate::app::observe::age(state.now, *since))
        ),
        StepPhase::Succeeded { at, .. } => match &run.approved_by {
            Some(who) => format!(
                "✓ {} {}",
                who.split('@').next().unwrap_or(who),
                at.format("%H:%M")
            ),
            None => format!("done {}", at.format("%H:%M")),
        },
        StepPhase::Pending if run.override_reason.is_some() => "overridden".into(),
        _ => st.word().to_string(),
    }
}

/// The reason line under a step, when it has one (blocked, skipped, failed, unknown).
fn reason(state: &State, i: usize) -> Option<String> {
    match (state.status(i), &state.steps[i].phase) {
        (StepStatus::Blocked { reason }, _) => Some(format!("⊘ {reason}")),
        (_, StepPhase::Skipped { reason }) => Some(format!("↷ {reason}")),
        (_, StepPhase::Failed { error, .. }) => {
            Some(format!("✗ {}", error.lines().next().unwrap_or_default()))
        }
        (_, StepPhase::Unknown { .. }) => Some("? was running when the cockpit stopped".into()),
        _ => None,
    }
}

fn review_mark(state: &State, i: usize) -> &'static str {
    let r = &state.steps[i].review;
    if r.reviewed.is_some() {
        "[x] "
    } else if r.preflight_running {
        "[…] "
    } else {
        "[ ] "
    }
}

fn block<'a>(title: Line<'a>, focused: bool, t: &Theme) -> Block<'a> {
    Block::bordered()
        .border_style(if focused { t.border_focus } else { t.border })
        .title_top(title)
}

pub fn draw_list(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let focused = state.focus == Focus::Checklist && state.dialog().is_none();
    let done = state.steps.iter().filter(|s| s.is_done()).count();
    let title = Line::from(vec![
        Span::styled(
            if focused {
                " » Failover checklist "
            } else {
                " Failover checklist "
            },
            t.title,
        ),
        Span::styled(format!("{done}/{} ", state.steps.len()), t.dim),
    ]);
    let b = block(title, focused, t);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = inner.width as usize;
    let h = inner.height as usize;
    if h == 0 || state.steps.is_empty() {
        return;
    }
    let (owners, scroll) = list_rows(state, h);
    let mut lines: Vec<Line> = Vec::new();
    let mut sel_line = 0;
    for i in 0..state.steps.len() {
        let st = state.status(i);
        let sel = i == state.selected;
        if sel {
            sel_line = lines.len();
        }
        let style = status_style(&st, t);
        let marker = if sel { "›" } else { " " };
        let review = if state.mode == Mode::Review {
            review_mark(state, i)
        } else {
            ""
        };
        let left = format!("{marker}{review}{} {} ", icon(state, &st), i + 1);
        let word = state_word(state, i);
        let word_w = word.width().min(w / 2);
        let title_w = w.saturating_sub(left.width() + word_w + 1);
        let title = pad(&redacted(&state.plan.steps[i].title), title_w);
        let mut spans = vec![
            Span::styled(left, style),
            Span::styled(title, if sel { t.title } else { t.text }),
            Span::raw(" "),
            Span::styled(trunc(&word, word_w), style),
        ];
        if sel {
            let sel_style = t.selection;
            for s in &mut spans {
                s.style = s.style.patch(sel_style);
            }
        }
        lines.push(Line::from(spans));
        if owners.iter().filter(|o| **o == i).count() > 1
            && let Some(r) = reason(state, i)
        {
            let rs = match st {
                StepStatus::Failed => t.bad,
                StepStatus::Blocked { .. } => t.warn,
                _ => t.dim,
            };
            lines.push(Line::from(vec![
                Span::raw("     "),
                sp(trunc(&redacted(&r), w.saturating_sub(5)), rs),
            ]));
        }
    }
    debug_assert_eq!(lines.len(), owners.len());
    let _ = sel_line;
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), inner);
}

/// The checklist's geometry in a list `h` rows high: the step each line belongs to (a step's
/// line, then its reason line when shown) and how far the list is scrolled to keep the selection
/// in view. [`draw_list`] draws by it and a mouse click is mapped by it ([`super::step_at`]).
pub fn list_rows(state: &State, h: usize) -> (Vec<usize>, usize) {
    // Reason lines for every step when they fit, else only for the selected step.
    let all_reasons = (rows_wanted(state) as usize) <= h;
    let mut owners = Vec::new();
    let mut sel_line = 0;
    for i in 0..state.steps.len() {
        if i == state.selected {
            sel_line = owners.len();
        }
        owners.push(i);
        if (all_reasons || i == state.selected) && reason(state, i).is_some() {
            owners.push(i);
        }
    }
    // Keep the selection in view.
    let scroll = if sel_line + 2 > h {
        (sel_line + 2 - h).min(owners.len().saturating_sub(h))
    } else {
        0
    };
    (owners, scroll)
}

/// The keys that act on step `i` right now (the detail pane's last line): the same list as the
/// footer's ([`crate::app::keys::for_step`]), plus a word on why nothing else acts.
pub fn keys_now(state: &State, i: usize) -> Vec<(String, String)> {
    if state.dialog().is_some() || i >= state.steps.len() {
        return Vec::new();
    }
    let mut v: Vec<(String, String)> = crate::app::keys::for_step(state, i)
        .iter()
        .map(|b| {
            let what = crate::app::keys::short(b.action, state.mode);
            (b.keys.to_string(), what.to_string())
        })
        .collect();
    let why = match (&state.steps[i].phase, state.mode) {
        (_, Mode::Monitor) => Some("monitor: read-only, no step can run".to_string()),
        (_, Mode::Review) => None,
        _ if state.aborted.is_some() => Some("aborted: nothing more runs".into()),
        (StepPhase::Running { .. }, _) => Some("running: output in the log".into()),
        (StepPhase::Succeeded { .. } | StepPhase::Skipped { .. }, _) => Some("finished".into()),
        _ => None,
    };
    v.extend(why.map(|w| (String::new(), w)));
    v
}

fn cond_mark(r: &CondResult, t: &Theme) -> Span<'static> {
    match r {
        CondResult::Pass(_) => Span::styled("✓", t.ok),
        CondResult::Fail(_) => Span::styled("✗", t.bad),
        CondResult::Unknown(_) => Span::styled("?", t.unknown),
    }
}

pub fn draw_detail(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let Some(step) = state.plan.steps.get(state.selected) else {
        let b = block(Line::styled(" Step ", t.title), false, t);
        frame.render_widget(b, area);
        return;
    };
    let i = state.selected;
    let run = &state.steps[i];
    let st = state.status(i);
    let title = Line::from(vec![
        Span::styled(format!(" Step {} · ", i + 1), t.title),
        Span::styled(step.action.kind_name(), t.accent),
        Span::raw(" "),
    ]);
    let b = block(title, false, t);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let [body, keys] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    // Issue 15: the step's output below its description (newest last; PgUp pages back).
    let out_rows = state.output.tail(i).map_or(0, |tail| {
        let fits = usize::from(body.height / 2).saturating_sub(1);
        tail.total.min(crate::app::output::VIEW_MAX).min(fits)
    });
    let [body, out_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(if out_rows > 0 { out_rows as u16 + 1 } else { 0 }),
    ])
    .areas(body);
    if out_rows > 0 {
        draw_output(frame, out_area, state, i, t);
    }

    let label = |s: &str| Span::styled(format!("{s} "), t.dim);
    let review = state.mode == Mode::Review;
    let mut lines: Vec<Line> = Vec::new();
    let mut head = vec![
        Span::styled(
            format!("{} {} ", icon(state, &st), st.word()),
            status_style(&st, t).add_modifier(Modifier::BOLD),
        ),
        sp(&step.title, t.title),
    ];
    if let Some(site) = step.site {
        head.push(Span::styled(format!(" · {}", site.upper()), t.dim));
    }
    lines.push(Line::from(head));
    // Last result.
    phase_lines(state, i, &st, t, &mut lines);

    // Preconditions with evidence.
    if !step.requires.is_empty() {
        lines.push(Line::from(Span::styled("requires:", t.dim)));
        for c in &step.requires {
            let r = state.evaluate(c);
            lines.push(Line::from(vec![
                Span::raw("  "),
                cond_mark(&r, t),
                Span::raw(" "),
                sp(&c.text, t.text),
                Span::styled(" — ", t.dim),
                sp(r.evidence(), t.dim),
            ]));
        }
    }
    if let Some(reason) = &run.override_reason {
        lines.push(Line::from(vec![
            Span::styled("override: ", t.warn),
            sp(reason, t.text),
        ]));
    }

    // Confirmation.
    let confirm = match (&step.action, &step.confirm) {
        (crate::plan::StepAction::Approval, w) => {
            format!("type {}", w.as_deref().unwrap_or("APPROVE"))
        }
        (crate::plan::StepAction::Manual { .. }, _) => "a note saying what was done".into(),
        (_, Some(w)) => format!("type {w}"),
        _ if state.is_mutating(i) => "y (⏎ does not confirm)".into(),
        _ => "none (read-only)".into(),
    };
    lines.push(Line::from(vec![
        label("confirm:"),
        sp(confirm, t.text),
        Span::styled(format!("   attempts: {}", run.attempts), t.dim),
    ]));

    // Review: the mark and the preflight results, right under the heading (they matter most).
    if review {
        lines.splice(1..1, review_lines(state, run, t));
    }

    // What it will do.
    let head = if review && state.showing_calls == Some(i) {
        "exact calls:"
    } else {
        "will do:"
    };
    lines.push(Line::from(Span::styled(head, t.dim)));
    for l in crate::steps::describe(&step.action) {
        lines.push(Line::from(vec![Span::raw("  "), sp(l, t.text)]));
    }
    if state.is_mutating(i) {
        lines.push(Line::from(Span::styled(
            "  ! changes the world (never retried automatically)",
            t.warn,
        )));
    }

    lines.push(Line::from(vec![label("id"), sp(&step.id, t.text)]));
    if let Some(d) = &step.description {
        lines.push(Line::from(sp(d, t.text)));
    }

    for n in run.notes.iter().rev().take(3) {
        lines.push(Line::from(vec![label("note:"), sp(n, t.text)]));
    }
    // Scrollable on a small terminal (PgUp/PgDn); the wrapped height is estimated per line.
    let w = usize::from(body.width.max(1));
    let total: usize = lines.iter().map(|l| l.width().max(1).div_ceil(w)).sum();
    let max_scroll = total.saturating_sub(usize::from(body.height));
    let scroll = usize::from(state.detail_scroll).min(max_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0)),
        body,
    );
    let mut hints = keys_now(state, i);
    // With output shown, PgUp/PgDn page through it and the half-page keys scroll the rest.
    let (down, up) = if out_rows > 0 {
        ("^d", "^u")
    } else {
        ("PgDn", "PgUp")
    };
    if scroll < max_scroll {
        hints.insert(0, (down.into(), "more ↓".into()));
    } else if scroll > 0 {
        hints.insert(0, (up.into(), "back ↑".into()));
    }
    frame.render_widget(
        Paragraph::new(key_line(&hints, t, keys.width as usize)),
        keys,
    );
}

/// The selected step's output: a heading with the lines shown, then the lines ending
/// `back` lines before the newest — kept in memory, or read back from the journal.
fn draw_output(frame: &mut Frame, area: Rect, state: &State, i: usize, t: &Theme) {
    use crate::app::output::Shown;
    let Some(tail) = state.output.tail(i) else {
        return;
    };
    let rows = usize::from(area.height.saturating_sub(1));
    let end = tail.total - state.output.back(i).min(tail.total);
    let first = end.saturating_sub(rows);
    let w = usize::from(area.width);
    let mut head = format!("output {}–{end} of {}", first + 1, tail.total);
    if first > 0 {
        head.push_str(" · PgUp ↑");
    }
    if end < tail.total {
        head.push_str(" · PgDn ↓");
    }
    let mut lines = vec![Line::from(Span::styled(trunc(&head, w), t.dim))];
    for idx in first..end {
        let line = match state.output.line(i, idx) {
            Some(Shown::Line(l)) => {
                let style = if l.stream == "stderr" { t.warn } else { t.text };
                Line::from(Span::styled(trunc(&redacted(&l.text), w), style))
            }
            Some(Shown::Loading) | None => {
                let text = trunc("… reading older lines from the journal", w);
                Line::from(Span::styled(text, t.dim))
            }
            Some(Shown::Unavailable(why)) => Line::from(Span::styled(trunc(why, w), t.dim)),
        };
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The detail pane's line(s) for the step's phase: running since, done, failed, skipped, unknown,
/// or why ⏎ is not offered yet.
fn phase_lines(
    state: &State,
    i: usize,
    st: &StepStatus,
    t: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    let run = &state.steps[i];
    let label = |s: &str| Span::styled(format!("{s} "), t.dim);
    match &run.phase {
    StepPhase::Running { since, attempt } => {
        lines.push(Line::from(vec![
            label("running:"),
            Span::styled(
                format!(
                    "attempt {attempt}, {}",
                    fmt_duration(crate::app::observe::age(state.now, *since))
                ),
                t.running,
            ),
        ]));
        if let Some(o) = &run.last_output {
            lines.push(Line::from(vec![label("  last:"), sp(o, t.text)]));
        }
    }
    StepPhase::Succeeded { at, detail } => lines.push(Line::from(vec![
        Span::styled(format!("✓ done {} ", at.format("%H:%M:%S")), t.ok),
        sp(detail, t.text),
    ])),
    StepPhase::Failed { at, error, attempt } => {
        lines.push(Line::from(Span::styled(
            format!("✗ FAILED {} (attempt {attempt}):", at.format("%H:%M:%S")),
            t.bad,
        )));
        for l in error.lines() {
            lines.push(Line::from(vec![Span::raw("  "), sp(l, t.bad)]));
        }
    }
    StepPhase::Skipped { reason } => lines.push(Line::from(vec![
        Span::styled("↷ skipped: ", t.dim),
        sp(reason, t.text),
    ])),
    StepPhase::Unknown { attempt } => lines.push(Line::from(Span::styled(
        format!(
            "? attempt {attempt} was running when the cockpit stopped — check the world, then r retry · d mark done · s skip"
        ),
        t.unknown,
    ))),
    // Why ⏎ is not offered (a blocked step says so in its preconditions below).
    StepPhase::Pending if state.mode.may_mutate() && !matches!(st, StepStatus::Blocked { .. }) => {
        if let Some(why) = state.why_not_run(i) {
            lines.push(Line::from(vec![label("not yet:"), sp(why, t.dim)]));
        }
    }
    StepPhase::Pending => {}
}
}

/// Review mode: the reviewed mark and the preflight results.
fn review_lines(state: &State, run: &crate::app::StepRun, t: &Theme) -> Vec<Line<'static>> {
    let mut rl: Vec<Line<'static>> = Vec::new();
    match &run.review.reviewed {
        Some((by, note)) => rl.push(Line::from(vec![
            Span::styled("[x] reviewed by ", t.ok),
            sp(by, t.text),
            Span::styled(": ", t.dim),
            sp(note, t.text),
        ])),
        None => rl.push(Line::from(Span::styled("[ ] not reviewed yet", t.dim))),
    }
    if run.review.preflight_running {
        rl.push(Line::from(Span::styled(
            format!(
                "preflight {} running…",
                SPINNER[state.spinner % SPINNER.len()]
            ),
            t.running,
        )));
    }
    if let Some(checks) = &run.review.preflight {
        rl.push(Line::from(Span::styled("preflight:", t.dim)));
        for c in checks {
            let (m, s) = match c.ok {
                Some(true) => ("✓", t.ok),
                Some(false) => ("✗", t.bad),
                None => ("?", t.unknown),
            };
            rl.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(m, s),
                Span::raw(" "),
                sp(&c.what, t.text),
                Span::styled(": ", t.dim),
                sp(&c.detail, t.dim),
            ]));
        }
    }
    rl
}
