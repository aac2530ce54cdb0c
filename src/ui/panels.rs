//! The two site panels (PROD, DR): identical shape, a one-word verdict, one row per section with
//! its value and age. Stale values are marked stale and never drawn healthy.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use unicode_width::UnicodeWidthStr;

use super::{Theme, pad, redacted, sp, trunc};
use crate::app::observe::section_health;
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
            Section::ALL
                .iter()
                .map(|sec| detail_lines(state, *s, *sec).len())
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
    let block = Block::bordered()
        .border_style(t.border)
        .title_top(title)
        .title_top(verdict);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let short = w < 34;
    let name_w = if short { 6 } else { 9 };
    let age_w = 11.min(w / 3);
    let value_w = w.saturating_sub(name_w + age_w + 1);
    // Detail lines only when every section row still fits.
    let details: usize = Section::ALL
        .iter()
        .map(|sec| detail_lines(state, site, *sec).len())
        .sum();
    let show_details = state.expanded && Section::ALL.len() + details <= inner.height as usize;
    let mut lines = Vec::new();
    for sec in Section::ALL {
        let name = if short {
            match sec {
                Section::Cluster => "Clstr",
                Section::Env => "Env",
                Section::Database => "DB",
                Section::Images => "Img",
                Section::Dns => "DNS",
                Section::Health => "Hlth",
            }
        } else {
            sec.title()
        };
        let (mut value, vstyle, age, astyle) = row(state, site, sec, t);
        if value.starts_with("no probe") && value.width() > value_w {
            value = "no probe".into();
        }
        lines.push(Line::from(vec![
            Span::styled(pad(name, name_w), t.dim),
            Span::styled(pad(&redacted(&value), value_w), vstyle),
            Span::raw(" "),
            Span::styled(format!("{:>age_w$}", trunc(&age, age_w)), astyle),
        ]));
        if show_details {
            for d in detail_lines(state, site, sec) {
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(name_w)),
                    sp(trunc(&redacted(&d), w.saturating_sub(name_w)), t.dim),
                ]));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// (value, value style, age text, age style) for one section row.
fn row(state: &State, site: SiteId, sec: Section, t: &Theme) -> (String, Style, String, Style) {
    match state.view(site, sec) {
        SectionView::NotConfigured => ("not configured".into(), t.dim, String::new(), t.dim),
        SectionView::Waiting if !state.section(site, sec).probed => (
            "no probe (not in this build)".into(),
            t.dim,
            String::new(),
            t.dim,
        ),
        SectionView::Waiting => ("waiting…".into(), t.unknown, String::new(), t.dim),
        SectionView::Fresh { reading, age } => {
            // The one section verdict (`section_health`): a database in a split brain is drawn
            // bad even though its own reading, alone, looks fine.
            let level = section_health(state, site, sec)
                .level()
                .unwrap_or(reading.level);
            let sb = sec == Section::Database && level == Level::Bad && reading.level != Level::Bad;
            (
                format!(
                    "{} {}{}",
                    level_icon(level),
                    reading.summary,
                    if sb { " · SPLIT BRAIN" } else { "" }
                ),
                level_style(level, t),
                fmt_duration(age),
                t.dim,
            )
        }
        SectionView::Stale { reading, age } => (
            format!("~ {}", reading.summary),
            t.stale,
            format!("stale {}", fmt_duration(age)),
            t.stale,
        ),
        SectionView::Error {
            error,
            age,
            last_good_age,
        } => {
            let stale = last_good_age
                .map(|a| format!(" · last good {} ago", fmt_duration(a)))
                .unwrap_or_default();
            (
                format!("✗ {}{stale}", error.short),
                t.bad,
                format!("err {}", fmt_duration(age)),
                t.bad,
            )
        }
    }
}

/// Extra lines for the expanded view: reading details, or the full error text.
fn detail_lines(state: &State, site: SiteId, sec: Section) -> Vec<String> {
    match state.view(site, sec) {
        SectionView::Fresh { reading, .. } | SectionView::Stale { reading, .. } => {
            reading.details.clone()
        }
        SectionView::Error { error, .. } if error.full != error.short => {
            vec![error.full.clone()]
        }
        _ => Vec::new(),
    }
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
