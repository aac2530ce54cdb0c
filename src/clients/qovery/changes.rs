//! Service state changes of a deployment, grouped for the log (issue 15, "Big environments").
//!
//! Following a deploy logs every service's state change. With the demo's three services that is
//! a line per change, which reads well; with 500 services it is 500 lines a poll and the log
//! floods. This batches changes and flushes them at most once a second (the caller passes the
//! clock, so the rule is pure and tested), one line per transition:
//! `12 services DEPLOYING → DEPLOYED: api, web, worker, … (+9) (12/500 deployed)`.
//! Small polls (up to [`SMALL`] changes, nothing waiting) keep the old one-line-per-service form,
//! so the demo's four services read as before.

use std::time::{Duration, Instant};

use super::State;

/// A poll with at most this many changes, while nothing waits, is logged one line per service.
pub const SMALL: usize = 10;

/// How often grouped changes are flushed.
pub const EVERY: Duration = Duration::from_secs(1);

/// Names shown in a grouped line before `… (+N)`.
const NAMES: usize = 3;

/// One service's state change (`from` is `None` the first time the service is seen).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub name: String,
    pub from: Option<State>,
    pub to: State,
}

/// A line for the log; `failing` lines go to stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub failing: bool,
    pub text: String,
}

/// Changes waiting for the next flush.
#[derive(Debug, Default)]
pub struct Batcher {
    pending: Vec<Change>,
    last_flush: Option<Instant>,
}

impl Batcher {
    pub fn new() -> Batcher {
        Batcher::default()
    }

    /// Add one poll's changes, observed at `now`; returns the lines to log now (`progress` is the
    /// `(reached/total state)` suffix of this poll). A small poll with nothing waiting is logged
    /// at once, one line per service, as before; otherwise changes wait until a second has passed
    /// since the last flush, then go out grouped.
    pub fn push(&mut self, changes: Vec<Change>, now: Instant, progress: &str) -> Vec<Line> {
        if self.pending.is_empty() && changes.len() <= SMALL {
            return changes.iter().map(|c| single(c, progress)).collect();
        }
        self.pending.extend(changes);
        match self.last_flush {
            Some(t) if now.duration_since(t) < EVERY => Vec::new(),
            _ => self.flush(now, progress),
        }
    }

    /// Everything waiting, grouped (at the end of a deployment, whatever the clock says).
    pub fn flush(&mut self, now: Instant, progress: &str) -> Vec<Line> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.last_flush = Some(now);
        group(&std::mem::take(&mut self.pending), progress)
    }
}

fn single(c: &Change, progress: &str) -> Line {
    let text = match &c.from {
        Some(p) => format!("  {}: {p} → {} {progress}", c.name, c.to),
        None => format!("  {}: {} {progress}", c.name, c.to),
    };
    Line {
        failing: c.to.is_failing(),
        text,
    }
}

/// One line per `(from, to)` transition, in the order transitions first appear; a transition of
/// one service keeps the per-service form.
pub fn group(changes: &[Change], progress: &str) -> Vec<Line> {
    let mut groups: Vec<(&Option<State>, &State, Vec<&str>)> = Vec::new();
    for c in changes {
        match groups
            .iter_mut()
            .find(|(f, t, _)| **f == c.from && **t == c.to)
        {
            Some((_, _, names)) => names.push(&c.name),
            None => groups.push((&c.from, &c.to, vec![&c.name])),
        }
    }
    groups
        .into_iter()
        .map(|(from, to, names)| {
            if let [name] = names[..] {
                return single(
                    &Change {
                        name: name.to_string(),
                        from: from.clone(),
                        to: to.clone(),
                    },
                    progress,
                );
            }
            let mut shown = names[..names.len().min(NAMES)].join(", ");
            if names.len() > NAMES {
                shown.push_str(&format!(", … (+{})", names.len() - NAMES));
            }
            let transition = match from {
                Some(f) => format!("{f} → {to}"),
                None => to.to_string(),
            };
            Line {
                failing: to.is_failing(),
                text: format!(
                    "  {} services {transition}: {shown} {progress}",
                    names.len()
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(name: &str, from: Option<State>, to: State) -> Change {
        Change {
            name: name.into(),
            from,
            to,
        }
    }

    fn texts(l: &[Line]) -> Vec<&str> {
        l.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn a_small_poll_is_one_line_per_service_as_before() {
        let mut b = Batcher::new();
        let t = Instant::now();
        let l = b.push(
            vec![ch("web", Some(State::Queued), State::Deploying)],
            t,
            "(0/3 deployed)",
        );
        assert_eq!(texts(&l), ["  web: QUEUED → DEPLOYING (0/3 deployed)"]);
        let l = b.push(vec![ch("api", None, State::Stopped)], t, "(0/3 deployed)");
        assert_eq!(texts(&l), ["  api: STOPPED (0/3 deployed)"]);
    }

    #[test]
    fn five_hundred_changes_in_a_second_are_a_few_grouped_lines() {
        let mut b = Batcher::new();
        let t0 = Instant::now();
        let wave = |from: State, to: State, range: std::ops::Range<usize>| -> Vec<Change> {
            range
                .map(|k| ch(&format!("svc-{k:03}"), Some(from.clone()), to.clone()))
                .collect()
        };
        // The first big poll flushes at once (nothing was flushed yet).
        let first = b.push(
            wave(State::Queued, State::Deploying, 0..200),
            t0,
            "(0/500 deployed)",
        );
        assert_eq!(
            texts(&first),
            [
                "  200 services QUEUED → DEPLOYING: svc-000, svc-001, svc-002, … (+197) (0/500 deployed)"
            ]
        );
        // Polls within the next second wait, then go out together, grouped by transition.
        let t = t0 + Duration::from_millis(300);
        assert!(
            b.push(wave(State::Queued, State::Deploying, 200..500), t, "")
                .is_empty()
        );
        let t = t0 + Duration::from_millis(600);
        let mut failed = wave(State::Deploying, State::Deployed, 0..11);
        failed.push(ch(
            "svc-011",
            Some(State::Deploying),
            State::DeploymentError,
        ));
        assert!(b.push(failed, t, "").is_empty());
        let t = t0 + Duration::from_millis(1000);
        let l = b.push(vec![], t, "(11/500 deployed)");
        assert_eq!(
            texts(&l),
            [
                "  300 services QUEUED → DEPLOYING: svc-200, svc-201, svc-202, … (+297) (11/500 deployed)",
                "  11 services DEPLOYING → DEPLOYED: svc-000, svc-001, svc-002, … (+8) (11/500 deployed)",
                "  svc-011: DEPLOYING → DEPLOYMENT_ERROR (11/500 deployed)",
            ]
        );
        assert_eq!(
            l.iter().map(|l| l.failing).collect::<Vec<_>>(),
            [false, false, true]
        );
        // The end of the deployment flushes what waits, whatever the clock.
        assert!(
            b.push(wave(State::Deploying, State::Deployed, 12..24), t, "")
                .is_empty()
        );
        assert_eq!(b.flush(t, "(23/500 deployed)").len(), 1);
        assert!(b.flush(t, "").is_empty());
    }
}
