//! Who was at the wheel (issue 13): the drivers of a journal, its hand-overs and the authors of
//! its notes, read from the records alone — the watchers' header, the report's "People" section
//! and `drcockpit follow` all tell the same story from the same fold.
//!
//! A driver is the operator of a live `session_started`; a hand-over is a live
//! `session_started` by someone other than the driver before (a `--take-over` or a watcher's
//! `T` continues the same journal). Review and monitor sessions never drive.

use chrono::{DateTime, Utc};

use super::{Event, Record};

/// One operator who drove the plan, from `since` (their live `session_started`).
#[derive(Debug, Clone, PartialEq)]
pub struct Driver {
    pub operator: String,
    pub host: String,
    pub since: DateTime<Utc>,
}

impl Driver {
    pub fn who(&self) -> String {
        format!("{}@{}", self.operator, self.host)
    }
}

/// The wheel changed hands.
#[derive(Debug, Clone, PartialEq)]
pub struct HandOver {
    pub from: String,
    pub to: String,
    pub at: DateTime<Utc>,
}

/// Everyone a journal names, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct People {
    pub drivers: Vec<Driver>,
    pub hand_overs: Vec<HandOver>,
    /// Note authors and how many notes each wrote.
    pub note_authors: Vec<(String, usize)>,
}

impl People {
    /// The driver now (the last one to start a live session).
    pub fn current(&self) -> Option<&Driver> {
        self.drivers.last()
    }

    /// `driven by alice@bastion-1 since 07:11 UTC`
    pub fn driven_by(&self) -> Option<String> {
        self.current().map(|d| {
            format!(
                "driven by {} since {} UTC",
                d.who(),
                d.since.format("%H:%M")
            )
        })
    }
}

/// Fold one record into `people`.
pub fn fold(people: &mut People, r: &Record) {
    match &r.event {
        Event::SessionStarted { mode, host, .. } if mode == "live" || mode == "demo" => {
            let who = format!("{}@{host}", r.operator);
            let prev = people.current().map(Driver::who);
            if prev.as_deref() == Some(who.as_str()) {
                return;
            }
            if let Some(from) = prev {
                people.hand_overs.push(HandOver {
                    from,
                    to: who,
                    at: r.at,
                });
            }
            people.drivers.push(Driver {
                operator: r.operator.clone(),
                host: host.clone(),
                since: r.at,
            });
        }
        Event::Note { .. } => {
            match people
                .note_authors
                .iter_mut()
                .find(|(a, _)| *a == r.operator)
            {
                Some((_, n)) => *n += 1,
                None => people.note_authors.push((r.operator.clone(), 1)),
            }
        }
        _ => {}
    }
}

pub fn of(records: &[Record]) -> People {
    let mut p = People::default();
    for r in records {
        fold(&mut p, r);
    }
    p
}

/// The report's section (Markdown lines): every driver, every hand-over, every note's author.
pub fn markdown(records: &[Record]) -> Vec<String> {
    let p = of(records);
    // One driver writing their own notes: the Sessions and Notes sections say it all already.
    let alone = p.drivers.len() <= 1
        && p.note_authors
            .iter()
            .all(|(a, _)| p.drivers.iter().all(|d| d.operator == *a));
    if alone {
        return Vec::new();
    }
    let mut out = vec!["## People".to_string(), String::new()];
    for d in &p.drivers {
        out.push(format!(
            "- driver: {} from {} UTC",
            d.who(),
            d.since.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    for h in &p.hand_overs {
        out.push(format!(
            "- hand-over: {} → {} at {} UTC",
            h.from,
            h.to,
            h.at.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    for (a, n) in &p.note_authors {
        let s = if *n == 1 { "" } else { "s" };
        out.push(format!("- notes: {a} ({n} note{s})"));
    }
    out.push(String::new());
    out
}
