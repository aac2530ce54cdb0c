//! Week-long monitors (issue 15, item 5): one million probe rounds through `update()` with
//! simulated time, and memory stays flat. A wall screen runs monitor mode for weeks; anything the
//! engine keeps per observation (a log mirror, a history, an error string) would grow without
//! bound there. This binary holds this one test alone, so its counting allocator sees only it.
//!
//! A probe round is one probe's answer (`Msg::Observed`). Each simulated interval brings what
//! monitor mode gets: a clock tick, then every configured section of both sites observed once
//! (12 probe rounds with the demo plan), with a flaky world's mix of good, degraded and failing
//! answers (the error and summary texts change every interval, as real ones do). One million
//! probe rounds are 83,334 intervals: 1.9 simulated days at the demo's 2 s.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use drcockpit::app::{
    Level, Mode, Msg, Observation, Operator, ProbeError, Reading, Section, State, update,
};
use drcockpit::plan::{SiteId, Value};

mod common;
use common::{demo_plan_at, t0_outage as t0};

/// Bytes allocated and not yet freed, by anyone in this process.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is a side note.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout, forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` above with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One observation of a flaky world: mostly good, sometimes degraded, sometimes failing.
fn outcome(round: u64, k: u64) -> Result<Reading, ProbeError> {
    match (round + k) % 11 {
        0 | 1 => Err(ProbeError::new(
            "unreachable",
            format!("connect to 127.0.0.1:7400 failed after {round} rounds: connection refused"),
        )),
        2 => Ok(
            Reading::new(format!("degraded at round {round}"), Level::Warn)
                .field("ok", Value::Bool(false)),
        ),
        _ => Ok(Reading::new(format!("fine at round {round}"), Level::Good)
            .field("ok", Value::Bool(true))
            .field("lag", Value::Bytes(round % 4096))),
    }
}

/// What the state holds that could grow: records, output, steps, and every section's texts.
fn sizes(st: &State) -> (usize, usize, usize, usize) {
    let sections: usize = st
        .sections
        .iter()
        .flatten()
        .map(|s| {
            s.last_good.as_ref().map_or(0, |(r, _)| r.summary.len())
                + s.last_error.as_ref().map_or(0, |(e, _)| e.full.len())
        })
        .sum();
    (
        st.records.len(),
        st.output_records,
        st.steps.len(),
        sections,
    )
}

#[test]
fn a_million_probe_rounds_keep_memory_flat() {
    let probe_rounds: u64 = std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let op = Operator {
        name: "wall-screen".into(),
        host: "noc-1".into(),
    };
    let plan = Arc::new(demo_plan_at("http://127.0.0.1:7400"));
    let interval = chrono::Duration::from_std(plan.probes.interval).expect("interval");
    let mut st = State::new(plan, Mode::Monitor, op, t0());
    let watched: Vec<(SiteId, Section)> = SiteId::ALL
        .into_iter()
        .flat_map(|site| Section::ALL.into_iter().map(move |sec| (site, sec)))
        .filter(|&(site, sec)| st.sections[site.index()][sec.index()].configured)
        .collect();
    assert!(watched.len() >= 10, "the demo plan watches most sections");
    let rounds = probe_rounds.div_ceil(watched.len() as u64);
    let mut now = t0();
    let mut effects = 0usize;
    let mut round = |st: &mut State, r: u64| {
        now += interval;
        effects += update(st, Msg::Tick, now).len();
        for (k, &(site, section)) in watched.iter().enumerate() {
            let obs = Observation {
                site,
                section,
                at: now,
                outcome: outcome(r, k as u64),
            };
            effects += update(st, Msg::Observed(obs), now).len();
        }
    };
    // Warm up: every section has held a good value, a degraded one and an error.
    let warm = 1_000.min(rounds / 10);
    for r in 0..warm {
        round(&mut st, r);
    }
    let before = sizes(&st);
    let live_before = LIVE.load(Ordering::Relaxed);
    let mut peak_growth = 0isize;
    for r in warm..rounds {
        round(&mut st, r);
        if r % 1024 == 0 {
            peak_growth = peak_growth.max(LIVE.load(Ordering::Relaxed) - live_before);
        }
    }
    let after = sizes(&st);
    let growth = LIVE.load(Ordering::Relaxed) - live_before;
    eprintln!(
        "{} probe rounds in {rounds} intervals ({} simulated), {effects} effects: live heap \
         {growth:+} B (peak {peak_growth:+} B) since interval {warm}; sizes {before:?} -> {after:?}",
        rounds * watched.len() as u64,
        drcockpit::plan::units::fmt_duration(
            (interval * rounds as i32).to_std().unwrap_or_default()
        ),
    );
    // Nothing per round is kept: no records, no output, no steps gained; the section texts are
    // the latest ones only (their length varies by a few digits with the round number).
    assert_eq!((after.0, after.1, after.2), (before.0, before.1, before.2));
    assert!(
        after.3 <= before.3 + 16 * watched.len(),
        "{before:?} -> {after:?}"
    );
    // The heap: the same after a million rounds as after the warm-up, give or take the digits.
    assert!(
        growth.abs() < 16 * 1024 && peak_growth < 64 * 1024,
        "live heap grew by {growth} B (peak {peak_growth} B) over {rounds} intervals"
    );
}
