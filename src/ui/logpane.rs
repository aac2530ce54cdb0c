//! The log pane: the newest lines of the runtime's [`super::logstore::LogPane`] (timestamped,
//! paged, follow/pause), only those matching the operator's filter while one is set. It draws
//! from the pane it is handed in `View`, nothing else.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthChar;

use super::{Theme, redacted, sp};
use crate::app::{DialogKind, Focus, State};

fn level_tag(l: log::Level) -> &'static str {
    match l {
        log::Level::Error => "ERR",
        log::Level::Warn => "WRN",
        log::Level::Info => "   ",
        log::Level::Debug => "dbg",
        log::Level::Trace => "trc",
    }
}

fn level_style(l: log::Level, t: &Theme) -> Style {
    match l {
        log::Level::Error => t.bad,
        log::Level::Warn => t.warn,
        log::Level::Info => t.text,
        log::Level::Debug | log::Level::Trace => t.dim,
    }
}

/// Split `text` into pieces of at most `w` columns.
fn wrap(text: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            out.push(String::new());
            used = 0;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
        used += cw;
    }
    out
}

/// `HH:MM:SS LVL target  message`, wrapped under the message column; redacted.
fn format_line(
    time: String,
    level: log::Level,
    target: &str,
    msg: &str,
    width: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let target = redacted(target);
    let target: String = target.chars().take(12).collect();
    let prefix = format!("{time} {} {target:<12} ", level_tag(level));
    let indent = prefix.chars().count();
    let msg = redacted(msg);
    let avail = width.saturating_sub(indent).max(8);
    let style = level_style(level, t);
    let mut lines = Vec::new();
    for (n, piece) in msg.lines().flat_map(|l| wrap(l, avail)).enumerate() {
        if n == 0 {
            lines.push(Line::from(vec![
                Span::styled(prefix.clone(), t.dim),
                Span::styled(piece, style),
            ]));
        } else {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(piece, style),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(prefix, t.dim)));
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, view: &super::View) {
    let t = view.theme;
    let focused = state.focus == Focus::Log && state.dialog().is_none();
    let mut title = vec![Span::styled(
        if focused { " » Log " } else { " Log " },
        t.title,
    )];
    if state.log_follow {
        title.push(Span::styled("· following ", t.dim));
    } else {
        title.push(Span::styled("· ⏸ PAUSED (f follows) ", t.warn));
    }
    let editing = matches!(state.dialog(), Some(d) if d.kind == DialogKind::Filter);
    if !state.log_filter.is_empty() {
        title.push(Span::styled("· filter: ", t.accent));
        title.push(sp(format!("/{}/ ", state.log_filter), t.accent));
        if !editing {
            title.push(Span::styled("(Esc clears) ", t.dim));
        }
    }
    let block = Block::bordered()
        .border_style(if focused { t.border_focus } else { t.border })
        .title_top(Line::from(title));
    let Some(pane) = view.log else {
        frame.render_widget(block, area);
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let rows = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    for l in pane.visible(&state.log_filter, rows.max(1)) {
        let time = l.at.format("%H:%M:%S").to_string();
        lines.extend(format_line(time, l.level, &l.target, &l.text, width, t));
    }
    if lines.is_empty() && !state.log_filter.is_empty() {
        lines.push(Line::styled("no log line matches the filter", t.dim));
    }
    let skip = lines.len().saturating_sub(rows);
    frame.render_widget(Paragraph::new(lines.split_off(skip)), inner);
}
