//! The two site panels (PROD, DR): identical shape, a one-word verdict, one row per section with
//! its value and age. Stale values are marked stale and never drawn healthy.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use unicode_width::UnicodeWidthStr;

use super::panel_row::fit;
use super::{Theme, pad, redacted, sp, trunc};
use crate::app::observe::{detail_severity, section_health};
use crate::app::{Level, Section, SectionView, State, Verdict};
use crate::plan::SiteId;
use crate::plan::units::fmt_duration;

/// Rows the panels want (borders included).
pub fn height(state: &State, wide: bool, avail: u16) -> u16 {
    let base = Section::ALL.len() as u16 + 2;
    if !state.expanded {
        return base;
    }
    let extra = SiteId::ALL
        .iter()
        .map(|s| {
            // A long line wraps over about one row per 36 columns (the view scrolls); the
            // widths were measured when the readings arrived.
            Details::of(state, *s)
                .groups
                .iter()
                .map(|g| g.widths().map(|w| 1 + w / 36).sum::<usize>())
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0) as u16;
    let cap = if wide { avail / 2 } else { avail / 3 };
    (base + extra).min(cap.max(base))
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State, t: &Theme) {
    let [l, r] = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(area);
    site(frame, l, state, SiteId::Prod, t);
    site(frame, r, state, SiteId::Dr, t);
}

pub fn verdict_style(v: Verdict, t: &Theme) -> Style {
    match v {
        Verdict::Ready => t.ok,
        Verdict::Degraded => t.warn,
        Verdict::Down => t.bad,
        Verdict::Unknown => t.unknown,
    }
}

fn level_icon(l: Level) -> &'static str {
    match l {
        Level::Good => "✓",
        Level::Warn => "!",
        Level::Bad => "✗",
    }
}

fn level_style(l: Level, t: &Theme) -> Style {
    match l {
        Level::Good => t.ok,
        Level::Warn => t.warn,
        Level::Bad => t.bad,
    }
}

/// What goes before the site's label in its panel title: ` DR · `, or just ` ` when the label
/// already names the site (`DR · AWS eu-west-1`, the docs' example), which would otherwise read
/// `DR · DR · AWS eu-west-1`.
fn title_prefix(site: SiteId, label: &str) -> String {
    let word = site.upper();
    let label = label.trim_start();
    let named = label
        .get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
        && label[word.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
    if named {
        " ".to_string()
    } else {
        format!(" {word} · ")
    }
}

fn site(frame: &mut Frame, area: Rect, state: &State, site: SiteId, t: &Theme) {
    let v = state.verdict(site);
    let label = &state.plan.site(site).label;
    let title = Line::from(vec![
        Span::styled(title_prefix(site, label), t.title),
        sp(label, t.title),
        Span::raw(" "),
    ]);
    let verdict = Line::from(vec![
        Span::raw(" "),
        Span::styled(
            format!("{} {}", v.icon(), v.word()),
            verdict_style(v, t).add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::raw(" "),
    ])
    .right_aligned();
    let mut block = Block::bordered()
        .border_style(t.border)
        .title_top(title)
        .title_top(verdict);
    let inner = block.inner(area);
    let w = inner.width as usize;
    let short = w < 34;
    let name_w = if short { 6 } else { 9 };
    let rows: Vec<Row> = Section::ALL
        .iter()
        .map(|sec| row(state, site, *sec, t))
        .collect();
    // The age column is as wide as the widest age shown (not a fixed 11): its room goes to the
    // values, where the verdict's words are.
    let age_w = rows
        .iter()
        .map(|r| r.age.width())
        .max()
        .unwrap_or(0)
        .min(11)
        .min(w / 3);
    let value_w = w.saturating_sub(name_w + age_w + usize::from(age_w > 0));
    let mut lines = Vec::new();
    for (sec, r) in Section::ALL.iter().zip(&rows) {
        let name = if short { short_name(*sec) } else { sec.title() };
        let mut value = fit(&r.prefix, &redacted(&r.text), value_w);
        if r.text.starts_with("no probe") && value.contains('…') {
            value = "no probe".into();
        }
        let mut spans = vec![
            Span::styled(pad(name, name_w), t.dim),
            Span::styled(pad(&value, value_w), r.style),
        ];
        if age_w > 0 {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                format!("{:>age_w$}", trunc(&r.age, age_w)),
                r.age_style,
            ));
        }
        lines.push(Line::from(spans));
    }
    // Expanded: the detail lines below the six rows (which never scroll away), wrapped, worst
    // first, scrolled by the page keys.
    let window = (inner.height as usize).saturating_sub(lines.len());
    if state.expanded && window > 0 {
        let (details, total, first, last) = detail_window(
            state,
            site,
            t,
            short,
            name_w,
            w,
            window,
            usize::from(state.panel_scroll),
        );
        if first > 0 || last + 1 < total {
            block = block.title_bottom(
                Line::from(Span::styled(
                    format!(" {}–{} of {total} · PgUp/PgDn ", first + 1, last + 1),
                    t.dim,
                ))
                .right_aligned(),
            );
        }
        lines.extend(details.into_iter().map(|(name, text, style)| {
            Line::from(vec![
                Span::styled(pad(&name, name_w), t.dim),
                Span::styled(text, style),
            ])
        }));
    }
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn short_name(sec: Section) -> &'static str {
    match sec {
        Section::Cluster => "Clstr",
        Section::Env => "Env",
        Section::Database => "DB",
        Section::Images => "Img",
        Section::Dns => "DNS",
        Section::Health => "Hlth",
        Section::Parity => "Prty",
    }
}

/// The expanded view's detail rows in view: (name column, text, style), plus how many detail
/// lines there are in all and the first and last ones shown. Every section's details, worst first
/// (the order indexed when each reading arrived, [`crate::app::observe::DetailIndex`]), scrolled
/// by detail line; only the lines in the window are looked up, redacted, reordered and wrapped,
/// so 500 services cost what is visible.
#[allow(clippy::too_many_arguments)]
fn detail_window(
    state: &State,
    site: SiteId,
    t: &Theme,
    short: bool,
    name_w: usize,
    w: usize,
    window: usize,
    scroll: usize,
) -> (Vec<(String, String, Style)>, usize, usize, usize) {
    let text_w = w.saturating_sub(name_w).max(4);
    let all = Details::of(state, site);
    let total = all.len();
    // Reordered, redacted and wrapped once per line and width, not per frame.
    let pieces = |line: &str| super::redact_memo::detail_pieces(line, text_w);
    // The furthest it scrolls: the last lines that fill the window (wrapped; only those are
    // measured). A line takes at least one row, so that is never before `total - window`: a
    // scroll up to there stands as it is, without wrapping the last page (the usual case: the
    // top of 500 services).
    let max_first = if scroll <= total.saturating_sub(window) {
        total
    } else {
        let mut max_first = total;
        let mut used = 0;
        while max_first > 0 {
            let n = pieces(all.at(max_first - 1).2).len();
            if used + n > window {
                break;
            }
            used += n;
            max_first -= 1;
        }
        max_first
    };
    // A last line taller than the window still shows (its start).
    let first = scroll.min(max_first.min(total.saturating_sub(1)));
    let mut rows: Vec<(String, String, Style)> = Vec::new();
    let mut last = first;
    let mut prev: Option<Section> = None;
    for n in first..total {
        if rows.len() >= window {
            break;
        }
        let (sev, sec, line) = all.at(n);
        let style = match sev {
            0 => t.bad,
            1 => t.warn,
            _ => t.dim,
        };
        // The section is named on the first row of each run, and on the window's first row.
        for piece in pieces(line) {
            let name = if prev == Some(sec) {
                String::new()
            } else if short {
                short_name(sec).to_string()
            } else {
                sec.title().to_string()
            };
            prev = Some(sec);
            rows.push((name, piece, style));
        }
        last = n;
    }
    rows.truncate(window);
    (rows, total, first, last)
}

/// One site's detail lines in the expanded view's order: by severity (problems, then unknowns,
/// then the rest), then by section, then in the probe's order; looked up by position.
struct Details<'a> {
    /// At most 3 × 7 runs of lines, one per severity and section that has any.
    groups: Vec<Group<'a>>,
}

struct Group<'a> {
    severity: u8,
    section: Section,
    lines: Lines<'a>,
}

enum Lines<'a> {
    /// A reading's lines (`details`) at the positions `at`, with their measured widths.
    Reading {
        details: &'a [String],
        at: &'a [u32],
        widths: &'a [u32],
    },
    /// The full text of an error: one line.
    One(&'a str),
}

impl<'a> Group<'a> {
    fn len(&self) -> usize {
        match &self.lines {
            Lines::Reading { at, .. } => at.len(),
            Lines::One(_) => 1,
        }
    }

    fn line(&self, k: usize) -> &'a str {
        match self.lines {
            Lines::Reading { details, at, .. } => at
                .get(k)
                .and_then(|i| details.get(*i as usize))
                .map_or("", String::as_str),
            Lines::One(line) => line,
        }
    }

    /// The display width of each line.
    fn widths(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match &self.lines {
            Lines::Reading { at, widths, .. } => Box::new(
                at.iter()
                    .map(|i| widths.get(*i as usize).map_or(0, |w| *w as usize)),
            ),
            Lines::One(line) => Box::new(std::iter::once(line.width())),
        }
    }
}

impl<'a> Details<'a> {
    fn of(state: &'a State, site: SiteId) -> Details<'a> {
        let mut groups = Vec::new();
        for severity in 0..3u8 {
            for section in Section::ALL {
                let lines = match state.view(site, section) {
                    SectionView::Fresh { reading, .. } | SectionView::Stale { reading, .. } => {
                        let index = &state.section(site, section).detail_index;
                        Lines::Reading {
                            details: &reading.details,
                            at: &index.by_severity[usize::from(severity)],
                            widths: &index.widths,
                        }
                    }
                    SectionView::Error { error, .. }
                        if error.full != error.short
                            && detail_severity(&error.full) == severity =>
                    {
                        Lines::One(&error.full)
                    }
                    _ => continue,
                };
                let group = Group {
                    severity,
                    section,
                    lines,
                };
                if group.len() > 0 {
                    groups.push(group);
                }
            }
        }
        Details { groups }
    }

    fn len(&self) -> usize {
        self.groups.iter().map(Group::len).sum()
    }

    /// The `n`-th line: its severity, section and text.
    fn at(&self, mut n: usize) -> (u8, Section, &'a str) {
        for g in &self.groups {
            if n < g.len() {
                return (g.severity, g.section, g.line(n));
            }
            n -= g.len();
        }
        (2, Section::Cluster, "")
    }
}

/// One section row: the verdict icon, the text to fit after it, its style, the age and its style.
struct Row {
    prefix: String,
    text: String,
    style: Style,
    age: String,
    age_style: Style,
}

fn row(state: &State, site: SiteId, sec: Section, t: &Theme) -> Row {
    let plain = |text: &str, style: Style| Row {
        prefix: String::new(),
        text: text.into(),
        style,
        age: String::new(),
        age_style: t.dim,
    };
    match state.view(site, sec) {
        SectionView::NotConfigured => plain("not configured", t.dim),
        SectionView::Waiting if !state.section(site, sec).probed => {
            plain("no probe (not in this build)", t.dim)
        }
        SectionView::Waiting => plain("waiting…", t.unknown),
        SectionView::Fresh { reading, age } => {
            // The one section verdict (`section_health`): a database in a split brain is drawn
            // bad even though its own reading, alone, looks fine.
            let level = section_health(state, site, sec)
                .level()
                .unwrap_or(reading.level);
            let sb = sec == Section::Database && level == Level::Bad && reading.level != Level::Bad;
            let mut text = String::new();
            if sb {
                text.push_str("SPLIT BRAIN · ");
            }
            if let Some(counts) = service_counts(sec, &reading.fields) {
                text.push_str(&counts);
                text.push_str(" · ");
            }
            // The probe's own ✗ before a list repeats the row's icon once the list goes first.
            text.push_str(&reading.summary.replace(" · ✗ ", " · failing: "));
            Row {
                prefix: format!("{} ", level_icon(level)),
                text,
                style: level_style(level, t),
                age: fmt_duration(age),
                age_style: t.dim,
            }
        }
        SectionView::Stale { reading, age } => Row {
            prefix: "~ ".into(),
            text: reading.summary.clone(),
            style: t.stale,
            age: format!("stale {}", fmt_duration(age)),
            age_style: t.stale,
        },
        SectionView::Error {
            error,
            age,
            last_good_age,
        } => {
            let stale = last_good_age
                .map(|a| format!(" · last good {} ago", fmt_duration(a)))
                .unwrap_or_default();
            Row {
                prefix: "✗ ".into(),
                text: format!("{}{stale}", error.short),
                style: t.bad,
                age: format!("err {}", fmt_duration(age)),
                age_style: t.bad,
            }
        }
    }
}

/// `500 services: 497 ok, 3 failing` for an environment with failing services: the counts
/// first, the failing ones named after (the probe's list).
fn service_counts(
    sec: Section,
    fields: &std::collections::BTreeMap<String, crate::plan::Value>,
) -> Option<String> {
    use crate::plan::Value;
    if sec != Section::Env {
        return None;
    }
    let num = |k: &str| match fields.get(k) {
        Some(Value::Num(n)) => Some(*n as u64),
        _ => None,
    };
    let (total, failing) = (num("services")?, num("services_failing")?);
    (failing > 0).then(|| {
        format!(
            "{total} services: {} ok, {failing} failing",
            total.saturating_sub(failing)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_icons_are_not_colour_only() {
        for l in [Level::Good, Level::Warn, Level::Bad] {
            assert_eq!(level_icon(l).chars().count(), 1);
        }
    }

    #[test]
    fn a_label_that_names_its_site_is_not_prefixed_again() {
        let title = |site, label: &str| format!("{}{label}", title_prefix(site, label));
        assert_eq!(
            title(SiteId::Dr, "DR · AWS eu-west-1"),
            " DR · AWS eu-west-1"
        );
        assert_eq!(title(SiteId::Dr, "AWS eu-west-1"), " DR · AWS eu-west-1");
        assert_eq!(title(SiteId::Prod, "prod - fr-par"), " prod - fr-par");
        // A word that only starts like the site is not its name.
        assert_eq!(title(SiteId::Dr, "Dresden"), " DR · Dresden");
        assert_eq!(
            title(SiteId::Prod, "Production · Scaleway fr-par"),
            " PROD · Production · Scaleway fr-par"
        );
    }
}
