//! A step's output in the detail pane (issue 15). The journal holds every line a step printed;
//! memory holds only the newest [`DETAIL_LINES`] of each step's current attempt, plus one page
//! of older lines read back from the journal when the operator scrolls up past them. The read
//! is an effect (`Effect::ReadOutput`): the runtime does it off the event loop and answers with
//! `Msg::OutputPage`, so a 100,000-line step neither fills memory nor stalls the screen.

use std::collections::{HashMap, VecDeque};

use super::update::{Effect, OutputLine};

/// Output lines kept in memory per step (the newest of its current attempt).
pub const DETAIL_LINES: usize = 100;
/// Lines read from the journal at a time when scrolling past the kept ones.
pub const OLDER_PAGE: usize = 200;
/// The most output lines the pane shows at once (a page read always covers a whole view).
pub const VIEW_MAX: usize = 60;

/// The newest lines of one step's current attempt, and how many it printed in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tail {
    pub attempt: u32,
    pub lines: VecDeque<OutputLine>,
    /// Every output line of this attempt so far (the journal's count, not the kept ones).
    pub total: usize,
}

impl Tail {
    /// Index (0 = the attempt's first line) of the oldest line kept in memory.
    pub fn first_kept(&self) -> usize {
        self.total - self.lines.len()
    }
}

/// Older lines read from the journal: `lines` is `None` while the read is under way, and
/// `Err` when it could not be read (no journal file, an unreadable one).
#[derive(Debug, Clone, PartialEq)]
pub struct OlderPage {
    pub step: usize,
    pub attempt: u32,
    pub start: usize,
    pub lines: Option<Result<Vec<OutputLine>, String>>,
}

impl OlderPage {
    fn covers(&self, step: usize, attempt: u32, lo: usize, hi: usize) -> bool {
        self.step == step && self.attempt == attempt && self.start <= lo && {
            let n = match &self.lines {
                Some(Ok(l)) => l.len(),
                // Still reading (or failed): requested up to `hi` already, do not ask again.
                _ => OLDER_PAGE,
            };
            hi <= self.start + n
        }
    }
}

/// What the detail pane knows of steps' output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailOutput {
    tails: HashMap<usize, Tail>,
    /// (step, lines scrolled back from the newest): the scroll belongs to one step and is
    /// forgotten when another is selected.
    scroll: Option<(usize, usize)>,
    older: Option<OlderPage>,
}

/// One line of the pane: a kept or read line, or a placeholder while older lines load.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown<'a> {
    Line(&'a OutputLine),
    Loading,
    Unavailable(&'a str),
}

impl DetailOutput {
    /// A journaled output line of `step` (live or replayed).
    pub fn record(&mut self, step: usize, attempt: u32, line: OutputLine) {
        let tail = self.tails.entry(step).or_default();
        if tail.attempt != attempt {
            *tail = Tail {
                attempt,
                ..Tail::default()
            };
        }
        if tail.lines.len() >= DETAIL_LINES {
            tail.lines.pop_front();
        }
        tail.lines.push_back(line);
        tail.total += 1;
        // Scrolled back: stay on the same lines while new ones arrive.
        if let Some((s, back)) = &mut self.scroll
            && *s == step
            && *back > 0
        {
            *back += 1;
        }
    }

    /// A new attempt of `step` started: its output starts afresh.
    pub fn started(&mut self, step: usize, attempt: u32) {
        self.tails.insert(
            step,
            Tail {
                attempt,
                ..Tail::default()
            },
        );
        if self.scroll.is_some_and(|(s, _)| s == step) {
            self.scroll = None;
        }
    }

    pub fn tail(&self, step: usize) -> Option<&Tail> {
        self.tails.get(&step).filter(|t| t.total > 0)
    }

    /// Lines scrolled back from the newest for `step` (0 unless it is the one scrolled).
    pub fn back(&self, step: usize) -> usize {
        match self.scroll {
            Some((s, b)) if s == step => b,
            _ => 0,
        }
    }

    /// Scroll `step`'s output `by` lines (up: older). Returns the journal read to ask for when
    /// the lines that come into view are neither kept nor already read.
    pub fn scroll(&mut self, step: usize, up: bool, by: usize, step_id: &str) -> Option<Effect> {
        let max = self.tail(step)?.total.saturating_sub(1);
        let back = self.back(step);
        let back = if up {
            (back + by).min(max)
        } else {
            back.saturating_sub(by)
        };
        self.scroll = Some((step, back));
        self.request(step, step_id)
    }

    /// The read that would fill the view ending `back` lines before the newest, if needed.
    fn request(&mut self, step: usize, step_id: &str) -> Option<Effect> {
        let tail = self.tail(step)?;
        let end = tail.total - self.back(step);
        let (lo, hi) = (end.saturating_sub(VIEW_MAX), end.min(tail.first_kept()));
        if lo >= hi {
            return None;
        }
        let attempt = tail.attempt;
        if self
            .older
            .as_ref()
            .is_some_and(|p| p.covers(step, attempt, lo, hi))
        {
            return None;
        }
        let start = hi.saturating_sub(OLDER_PAGE);
        self.older = Some(OlderPage {
            step,
            attempt,
            start,
            lines: None,
        });
        Some(Effect::ReadOutput {
            step,
            step_id: step_id.to_string(),
            attempt,
            start,
            count: hi - start,
        })
    }

    /// The journal answered a read.
    pub fn on_page(
        &mut self,
        step: usize,
        attempt: u32,
        start: usize,
        lines: Result<Vec<OutputLine>, String>,
    ) {
        if let Some(p) = &mut self.older
            && p.step == step
            && p.attempt == attempt
            && p.start == start
        {
            p.lines = Some(lines);
        }
    }

    /// Line `idx` (0 = the attempt's first) of `step`, from memory or the page read.
    pub fn line(&self, step: usize, idx: usize) -> Option<Shown<'_>> {
        let tail = self.tail(step)?;
        if idx >= tail.total {
            return None;
        }
        if idx >= tail.first_kept() {
            return tail.lines.get(idx - tail.first_kept()).map(Shown::Line);
        }
        let Some(p) = self
            .older
            .as_ref()
            .filter(|p| p.step == step && p.attempt == tail.attempt && p.start <= idx)
        else {
            return Some(Shown::Loading);
        };
        Some(match &p.lines {
            None => Shown::Loading,
            Some(Err(e)) => Shown::Unavailable(e),
            Some(Ok(l)) => l
                .get(idx - p.start)
                .map(Shown::Line)
                .unwrap_or(Shown::Loading),
        })
    }
}
