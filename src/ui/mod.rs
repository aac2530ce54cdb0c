//! draw(): header, site panels, checklist, step detail, log, help, dialogs, theme.
//! Pure: reads `State`, writes the frame, performs no I/O.
//!
//! Every string that comes from the plan, a probe, a step or the operator goes through
//! [`crate::redact::redact`] (via [`redacted`]) before it reaches the frame. Every state is shown by an
//! icon or a word as well as a colour. Ages and clocks are relative to `state.now`.

mod checklist;
mod logpane;
pub mod logstore;
mod overlay;
mod panel_row;
mod panels;
mod redact_memo;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::{Mode, Overlay, State};
use crate::plan::units::fmt_target;
pub use theme::Theme;

/// What the runtime hands the painter besides the state: the theme and the log pane (its lines
/// and paging). Drawing reads these and the state, nothing else.
pub struct View<'a> {
    pub theme: &'a Theme,
    /// `None` in most tests: the log pane is then drawn empty.
    pub log: Option<&'a logstore::LogPane>,
}

impl<'a> View<'a> {
    pub fn new(theme: &'a Theme, log: Option<&'a logstore::LogPane>) -> View<'a> {
        View { theme, log }
    }
}

/// The smallest terminal the cockpit draws into.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
/// From this size on, the wide layout of product.md §2.
pub const WIDE_WIDTH: u16 = 120;
pub const WIDE_HEIGHT: u16 = 26;

pub fn draw(frame: &mut Frame, state: &State, view: &View) {
    let area = frame.area();
    let t = view.theme;
    // No `Clear` first: a frame's buffer starts reset (`Terminal::draw` resets it after each
    // flush), so clearing it again only cost a pass over every cell.
    frame.render_widget(Block::new().style(t.text), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, state, t);
        return;
    }
    let notice = notice_line(state, t);
    let at = areas(state, area);
    frame.render_widget(
        Paragraph::new(header_line(state, t, at.header.width)),
        at.header,
    );
    if let Some(n) = notice {
        frame.render_widget(Paragraph::new(n), at.notice);
    }
    frame.render_widget(
        Paragraph::new(footer_line(state, t, at.footer.width)),
        at.footer,
    );
    panels::draw(frame, at.panels, state, t);
    logpane::draw(frame, at.log, state, view);
    checklist::draw_list(frame, at.checklist, state, t);
    checklist::draw_detail(frame, at.detail, state, t);

    // Overlays never cover the header: the mode badge stays visible.
    let below = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    );
    match &state.overlay {
        Some(Overlay::Dialog(d)) => overlay::draw_dialog(frame, below, state, d, t),
        Some(Overlay::Timeline(offset)) => overlay::draw_timeline(frame, below, state, *offset, t),
        Some(Overlay::Help) => overlay::draw_help(frame, below, state, t),
        None => {}
    }
}

/// Redact a string for the screen (remembered between frames: [`redact_memo`]).
pub(crate) fn redacted(s: &str) -> String {
    redact_memo::redacted(s)
}

/// A styled, redacted span.
pub(crate) fn sp(s: impl AsRef<str>, style: Style) -> Span<'static> {
    Span::styled(redacted(s.as_ref()), style)
}

/// Cut `s` to at most `w` display columns, ending in `…` when cut.
pub(crate) fn trunc(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// Pad (or cut) to exactly `w` columns.
pub(crate) fn pad(s: &str, w: usize) -> String {
    let s = trunc(s, w);
    let n = w.saturating_sub(s.width());
    format!("{s}{}", " ".repeat(n))
}

/// `HH:MM:SS` for the incident clock.
pub(crate) fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// The mode badge spans: `[LIVE]`, `[MONITOR · read-only]`, plus `[DRILL]`.
pub(crate) fn badge_spans(state: &State, t: &Theme) -> Vec<Span<'static>> {
    let text = match state.mode {
        Mode::Monitor => "[MONITOR · read-only]".to_string(),
        Mode::Review => "[REVIEW · nothing runs]".to_string(),
        m => format!("[{}]", m.badge()),
    };
    let mut v = vec![Span::styled(text, t.badge(state.mode))];
    if state.drill {
        v.push(Span::raw(" "));
        v.push(Span::styled("[DRILL]", t.badge_drill));
    }
    v
}

fn spans_width(v: &[Span]) -> usize {
    v.iter().map(|s| s.content.width()).sum()
}

fn header_line(state: &State, t: &Theme, width: u16) -> Line<'static> {
    let plan = &state.plan;
    let mut spans = vec![Span::raw(" ")];
    spans.extend(badge_spans(state, t));
    // Optional pieces in order of importance; each is dropped if it does not fit.
    let elapsed = state.incident_elapsed();
    let over = elapsed > plan.rto;
    let mut clock_piece = vec![
        Span::styled("  incident ", t.dim),
        Span::styled(clock(elapsed), if over { t.bad } else { t.title }),
        Span::styled(format!(" / RTO {}", fmt_target(plan.rto)), t.dim),
    ];
    if over {
        clock_piece.push(Span::styled(" ✗ over RTO", t.bad));
    }
    let rpo = match (state.rpo_estimate(), state.rpo_unknown_reason()) {
        (Some(v), _) => Span::styled(redacted(&v), t.title),
        (None, Some(why)) => Span::styled(format!("UNKNOWN ({why})"), t.unknown),
        (None, None) => Span::styled("?", t.unknown),
    };
    let rpo_piece = vec![
        Span::styled("  RPO ", t.dim),
        rpo,
        Span::styled(format!(" / {}", fmt_target(plan.rpo)), t.dim),
    ];
    // On a narrow terminal an unknown RPO keeps its word and drops the reason, never the piece.
    let rpo_short = vec![
        Span::styled("  RPO ", t.dim),
        Span::styled("UNKNOWN", t.unknown),
        Span::styled(format!(" / {}", fmt_target(plan.rpo)), t.dim),
    ];
    let dns_piece = match state.dns_caches_until() {
        Some(until) => vec![
            Span::styled("  DNS caches until ", t.dim),
            Span::styled(until.format("%H:%M:%S").to_string(), t.warn),
            Span::styled(
                format!(
                    " ({})",
                    crate::plan::units::fmt_duration(crate::app::observe::age(until, state.now))
                ),
                t.dim,
            ),
        ],
        None => Vec::new(),
    };
    let name_piece = vec![
        Span::styled(" drcockpit · ", t.dim),
        sp(&plan.name, t.title),
    ];
    let strategy_piece = vec![Span::styled(format!(" · {}", plan.strategy.label()), t.dim)];
    let sites_piece = vec![sp(
        format!(
            ": {} → {}",
            plan.site(crate::plan::SiteId::Prod).label,
            plan.site(crate::plan::SiteId::Dr).label
        ),
        t.dim,
    )];
    let op_piece = vec![
        Span::styled("  operator ", t.dim),
        sp(state.operator.display(), t.text),
    ];
    // A split brain outranks everything but the badge: said in words, never dropped.
    if crate::app::observe::split_brain(
        &state.view(crate::plan::SiteId::Prod, crate::app::Section::Database),
        &state.view(crate::plan::SiteId::Dr, crate::app::Section::Database),
    ) {
        spans.push(Span::styled(
            format!(" ✗ CRITICAL {} ", crate::app::observe::SPLIT_BRAIN),
            t.bad.add_modifier(ratatui::style::Modifier::BOLD),
        ));
    }
    let w = width as usize;
    let pieces = [
        (0, name_piece),
        (1, clock_piece),
        (2, rpo_piece),
        (6, dns_piece),
        (3, strategy_piece),
        (4, op_piece),
        (5, sites_piece),
    ];
    let mut chosen: Vec<(usize, Vec<Span<'static>>)> = Vec::new();
    let mut used = spans_width(&spans);
    // The incident clock and RPO matter more than the plan's full name on a narrow terminal:
    // reserve their room, then let the name take what is left (cut with …).
    let reserve: usize = pieces
        .iter()
        .filter(|(o, _)| matches!(o, 1 | 2 | 6))
        .map(|(o, p)| match o {
            2 => spans_width(p).min(spans_width(&rpo_short)),
            _ => spans_width(p),
        })
        .sum();
    for (order, p) in pieces {
        let pw = spans_width(&p);
        if order == 0 && used + pw + reserve > w {
            let room = w.saturating_sub(used + reserve + " drcockpit · ".len());
            if room >= 8 {
                let name = truncate_to(&plan.name, room);
                let cut = vec![Span::styled(" drcockpit · ", t.dim), sp(name, t.title)];
                used += spans_width(&cut);
                chosen.push((order, cut));
            }
            continue;
        }
        if used + pw <= w {
            used += pw;
            chosen.push((order, p));
        } else if order == 2
            && state.rpo_unknown_reason().is_some()
            && used + spans_width(&rpo_short) <= w
        {
            used += spans_width(&rpo_short);
            chosen.push((order, rpo_short.clone()));
        }
    }
    // Keep the display order: name, sites, strategy, clock, RPO, operator.
    let display_rank = |o: usize| match o {
        0 => 0,
        5 => 1,
        3 => 2,
        1 => 3,
        2 => 4,
        6 => 5,
        _ => 6,
    };
    chosen.sort_by_key(|(o, _)| display_rank(*o));
    for (_, p) in chosen {
        spans.extend(p);
    }
    Line::from(spans)
}

/// `s` cut to at most `max` columns, with … when cut.
fn truncate_to(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + c.to_string().width() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Journal failure, abort, why the mode was chosen, and transient messages: one line under the
/// header, most important first.
fn notice_line(state: &State, t: &Theme) -> Option<Line<'static>> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let sep = |spans: &mut Vec<Span<'static>>| {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", t.dim));
        }
    };
    if let Some(e) = &state.journal_error {
        spans.push(sp(
            format!(" ✗ JOURNAL FAILED: {e} — nothing can run until it is fixed"),
            t.bad,
        ));
    }
    if let Some((n, e)) = &state.journal_blocked {
        sep(&mut spans);
        spans.push(sp(
            format!(" ✗ JOURNAL BLOCKED: {n} events waiting — retrying; nothing new runs until they are written ({e})"),
            t.bad,
        ));
    }
    if let Some(r) = &state.aborted {
        sep(&mut spans);
        spans.push(sp(format!(" ✗ ABORTED: {r}"), t.bad));
    }
    if let Some(n) = &state.mode_note {
        sep(&mut spans);
        spans.push(sp(format!(" ⓘ {n}"), t.warn));
    }
    if let Some((f, _)) = &state.flash {
        sep(&mut spans);
        spans.push(sp(format!(" » {f}"), t.accent));
    }
    (!spans.is_empty()).then(|| Line::from(spans))
}

/// Where everything goes on a screen of `area`: the one layout that [`draw`] draws by and the
/// mouse is mapped by ([`pane_at`], [`step_at`]).
pub struct Areas {
    pub header: Rect,
    pub notice: Rect,
    pub footer: Rect,
    pub panels: Rect,
    pub log: Rect,
    pub checklist: Rect,
    pub detail: Rect,
}

pub fn areas(state: &State, area: Rect) -> Areas {
    // The same test draw makes (the notice row shows only when there is something to say).
    // The built-in theme, parsed once (not on every frame: `Theme::default` parses TOML).
    static PLAIN: std::sync::LazyLock<Theme> = std::sync::LazyLock::new(Theme::default);
    let has_notice = notice_line(state, &PLAIN).is_some();
    let [header, notice, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(has_notice)),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let wide = area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT;
    let panel_h = panels::height(state, wide, body.height);
    if wide {
        let right_w = (area.width * 34 / 100).clamp(38, 64);
        let [left, right] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(body);
        let [panels, log] =
            Layout::vertical([Constraint::Length(panel_h), Constraint::Min(3)]).areas(left);
        let want = checklist::rows_wanted(state) + 2;
        let check_h = want.min(right.height.saturating_mul(55) / 100).max(5);
        let [checklist, detail] =
            Layout::vertical([Constraint::Length(check_h), Constraint::Min(4)]).areas(right);
        Areas {
            header,
            notice,
            footer,
            panels,
            log,
            checklist,
            detail,
        }
    } else {
        let remain = body.height.saturating_sub(panel_h);
        let log_h = if remain >= 15 {
            5
        } else if remain >= 11 {
            4
        } else {
            3
        };
        let [panels, middle, log] = Layout::vertical([
            Constraint::Length(panel_h),
            Constraint::Min(4),
            Constraint::Length(log_h),
        ])
        .areas(body);
        let [checklist, detail] =
            Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)])
                .areas(middle);
        Areas {
            header,
            notice,
            footer,
            panels,
            log,
            checklist,
            detail,
        }
    }
}

/// The pane under a mouse position on a `size` screen.
pub fn pane_at(state: &State, size: Rect, col: u16, row: u16) -> crate::app::Pane {
    use crate::app::Pane;
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        return Pane::Other;
    }
    let at = areas(state, size);
    let p = ratatui::layout::Position::new(col, row);
    if at.log.contains(p) {
        Pane::Log
    } else if at.detail.contains(p) {
        Pane::Detail
    } else if at.checklist.contains(p) {
        Pane::Checklist
    } else {
        Pane::Other
    }
}

/// The step whose row is at a mouse position on a `size` screen (the checklist's border and
/// empty rows are no step).
pub fn step_at(state: &State, size: Rect, col: u16, row: u16) -> Option<usize> {
    if pane_at(state, size, col, row) != crate::app::Pane::Checklist {
        return None;
    }
    let inner = Block::bordered().inner(areas(state, size).checklist);
    if !inner.contains(ratatui::layout::Position::new(col, row)) {
        return None;
    }
    let (owners, scroll) = checklist::list_rows(state, usize::from(inner.height));
    owners.get(usize::from(row - inner.y) + scroll).copied()
}

fn footer_line(state: &State, t: &Theme, width: u16) -> Line<'static> {
    let pairs: Vec<(String, String)> = match &state.overlay {
        Some(Overlay::Dialog(d)) => overlay::dialog_keys(d, &state.keys.confirm_label()),
        Some(Overlay::Timeline(_)) => vec![
            ("↑↓".into(), "scroll".into()),
            ("t/Esc".into(), "close timeline".into()),
        ],
        Some(Overlay::Help) => vec![("?/Esc".into(), "close help".into())],
        None => crate::app::keys::footer(state),
    };
    key_line(&pairs, t, width as usize)
}

/// `key what  key what …`, cut to the width.
pub(crate) fn key_line(pairs: &[(String, String)], t: &Theme, width: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (k, w) in pairs {
        let need = k.width() + 1 + w.width() + 2;
        if used + need > width {
            break;
        }
        spans.push(Span::styled(k.clone(), t.key));
        spans.push(Span::styled(format!(" {w}  "), t.dim));
        used += need;
    }
    Line::from(spans)
}

fn too_small(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let mut badge = badge_spans(state, t);
    badge.insert(0, Span::raw(""));
    let lines = vec![
        Line::from(badge).centered(),
        Line::styled(
            format!(
                "terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{})",
                area.width, area.height
            ),
            t.warn.add_modifier(Modifier::BOLD),
        )
        .centered(),
        Line::styled("enlarge the window; q quits", t.dim).centered(),
    ];
    let h = (lines.len() as u16 + u16::from(area.width < 46)).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    let rect = Rect::new(area.x, y, area.width, h);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rect);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunc_and_pad() {
        assert_eq!(trunc("abcdef", 4), "abc…");
        assert_eq!(trunc("abc", 4), "abc");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(clock(std::time::Duration::from_secs(462)), "00:07:42");
    }
}
