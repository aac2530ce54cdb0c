//! Issue 15 item 2, bounded memory: a step's output is paced by the journal. A `command` that
//! prints far faster than the journal writes waits (its reader stops reading) instead of every
//! line queueing in memory; no line is lost or reordered, and the step ends only after its last
//! line is durable. Driven as the runtime drives it: the real step, the engine through
//! `runtime::pacing::update`, and a real journal writer thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use drcockpit::app::state::{Operator, State, StepPhase};
use drcockpit::app::{Effect, Mode, Msg, apply};
use drcockpit::clients::http::HttpClient;
use drcockpit::journal::writer::{JournalWriter, spawn_writer};
use drcockpit::journal::{Event, Record};
use drcockpit::plan::LoadOptions;
use drcockpit::runtime::pacing;
use drcockpit::steps::{self, OutputGate, OutputLine, StepContext, StepEvent, StepSink};

fn line(text: &str) -> StepEvent {
    StepEvent::Output {
        step: 0,
        attempt: 1,
        line: OutputLine {
            stream: "stdout".into(),
            text: text.into(),
        },
    }
}

/// The gate itself: a paced producer stops when `max_lines` are in flight, and goes on (filling
/// the gate again) once an eighth of it has drained, not at every line released.
#[tokio::test(flavor = "current_thread")]
async fn a_paced_sink_stops_at_the_gate_until_lines_are_released() {
    let gate = Arc::new(OutputGate::new(100, 1 << 20));
    let (tx, mut rx) = mpsc::unbounded_channel::<StepEvent>();
    let sink = StepSink::channel(tx).with_gate(gate.clone());
    let producer = tokio::spawn(async move {
        for i in 0..1000 {
            sink.send_paced(line(&i.to_string())).await;
        }
    });
    let settle = || async {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    };
    let mut got = Vec::new();
    let drain = |rx: &mut mpsc::UnboundedReceiver<StepEvent>, got: &mut Vec<String>| {
        while let Ok(StepEvent::Output { line, .. }) = rx.try_recv() {
            got.push(line.text);
        }
    };
    settle().await;
    drain(&mut rx, &mut got);
    assert_eq!(got.len(), 100, "the producer must stop at the gate");
    assert_eq!(gate.in_flight(), 100);
    gate.release(5, 5 * 3);
    settle().await;
    drain(&mut rx, &mut got);
    assert_eq!(got.len(), 100, "still above 7/8 full: the producer waits");
    gate.release(30, 30 * 3);
    settle().await;
    drain(&mut rx, &mut got);
    assert_eq!(got.len(), 135, "below 7/8: it fills the gate again");
    while got.len() < 1000 {
        gate.release(100, 300);
        settle().await;
        drain(&mut rx, &mut got);
    }
    producer.await.unwrap();
    let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(got, want, "nothing lost, nothing reordered");
    assert_eq!(gate.peak(), 100);
}

/// A gate counts bytes too: long lines stop the producer before the line count does, and a
/// single line longer than the whole budget still passes (the budget is checked before a line).
#[tokio::test(flavor = "current_thread")]
async fn the_gate_bounds_bytes_and_lets_one_huge_line_through() {
    let gate = Arc::new(OutputGate::new(1000, 10_000));
    let (tx, mut rx) = mpsc::unbounded_channel::<StepEvent>();
    let sink = StepSink::channel(tx).with_gate(gate.clone());
    let big = "x".repeat(4_000);
    let huge = "y".repeat(50_000);
    let producer = tokio::spawn({
        let (big, huge) = (big.clone(), huge.clone());
        async move {
            for _ in 0..6 {
                sink.send_paced(line(&big)).await;
            }
            sink.send_paced(line(&huge)).await;
        }
    });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let mut n = 0;
    while rx.try_recv().is_ok() {
        n += 1;
    }
    // 3 lines of 4,000 bytes take 12,000 ≥ 10,000: the fourth waits.
    assert_eq!(n, 3);
    gate.release(3, 12_000);
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    while rx.try_recv().is_ok() {
        n += 1;
    }
    assert_eq!(n, 6, "three more long lines; the huge one waits");
    gate.release(3, 12_000);
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    while rx.try_recv().is_ok() {
        n += 1;
    }
    assert_eq!(n, 7, "a line over the whole byte budget still passes");
    producer.await.unwrap();
}

const PLAN: &str = r#"
[plan]
name = "flood"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"
[sites.prod]
label = "Prod"
[sites.dr]
label = "DR"
[[step]]
id = "flood"
title = "A step printing many lines"
kind = "command"
command = ["sh", "-c", "seq {n}; touch {exited}"]
timeout = "120s"
"#;

const LINES: usize = 30_000;
const BOUND: usize = 256;

/// A `command` printing 30,000 lines while the engine does not read yet (the journal is behind):
/// at most `BOUND` lines are ever between the step and the journal, every line is journaled in
/// order, and `step_finished` comes after the last of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_command_keeps_its_output_in_flight_bounded_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let exited = dir.path().join("exited");
    let text = PLAN
        .replace("{n}", &LINES.to_string())
        .replace("{exited}", &exited.display().to_string());
    let plan = Arc::new(steps::load_str(&text, "flood.toml", &LoadOptions::default()).unwrap());
    let op = Operator {
        name: "test".into(),
        host: "host".into(),
    };
    let mut state = State::new(plan.clone(), Mode::Live, op, Utc::now());
    apply(
        &mut state,
        &Record {
            seq: 0,
            at: Utc::now(),
            operator: "test".into(),
            event: Event::StepStarted {
                step: "flood".into(),
                attempt: 1,
                kind: Some("command".into()),
            },
        },
    );

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let journal = {
        let tx = tx.clone();
        spawn_writer(JournalWriter::in_memory("test"), move |r| {
            if let Ok(rec) = r {
                let _ = tx.send(Msg::Recorded(rec));
            }
        })
    };
    let gate = Arc::new(OutputGate::new(BOUND, 1 << 20));
    // Counted by the test itself as the step hands each line over (not the gate's own count).
    let emitted = Arc::new(AtomicUsize::new(0));
    let sink = {
        let (tx, emitted) = (tx.clone(), emitted.clone());
        StepSink::new(move |e: StepEvent| {
            if matches!(e, StepEvent::Output { .. }) {
                emitted.fetch_add(1, Ordering::SeqCst);
            }
            let _ = tx.send(Msg::from(e));
        })
        .with_gate(gate.clone())
    };
    let ctx = StepContext {
        plan: plan.clone(),
        http: HttpClient::new(false),
        allow_spawn: true,
        step: 0,
        attempt: 1,
        out: sink,
        probes: Arc::default(),
    };
    let action = plan.steps[0].action.clone();
    let step_tx = tx.clone();
    tokio::spawn(async move {
        let result = steps::run(&action, ctx).await;
        let _ = step_tx.send(Msg::StepDone {
            step: 0,
            attempt: 1,
            result,
        });
    });

    // The journal is behind: nothing is read until the child has exited and its output sat.
    while !exited.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = emitted.load(Ordering::SeqCst);
    assert!(
        waiting <= BOUND,
        "{waiting} lines queued while the journal was behind (bound {BOUND})"
    );

    let (mut acked, mut max_in_flight) = (0usize, 0usize);
    let mut journaled: Vec<String> = Vec::new();
    let mut last_output_seq = 0;
    let mut finished_seq = None;
    while finished_seq.is_none() {
        let msg = rx.recv().await.expect("the channel stays open");
        if let Msg::Recorded(rec) = &msg {
            match &rec.event {
                Event::StepOutput { line, .. } => {
                    // Counted before the gate is released: emitted − acked ≤ the gate's count.
                    acked += 1;
                    journaled.push(line.clone());
                    last_output_seq = rec.seq;
                }
                Event::StepFinished { ok, .. } => {
                    assert!(*ok, "the step failed: {rec:?}");
                    finished_seq = Some(rec.seq);
                }
                _ => {}
            }
        }
        max_in_flight = max_in_flight.max(emitted.load(Ordering::SeqCst) - acked);
        for fx in pacing::update(&mut state, msg, Utc::now(), &gate) {
            if let Effect::Record(ev) = fx {
                journal.send(ev);
            }
        }
    }
    journal.close();

    // The info line (`$ sh -c …`) is output too.
    let want: Vec<String> = (1..=LINES).map(|i| i.to_string()).collect();
    assert_eq!(journaled.len(), LINES + 1, "every line journaled once");
    assert!(journaled[0].starts_with("$ sh -c"), "{}", journaled[0]);
    assert_eq!(journaled[1..], want[..], "in order");
    assert!(finished_seq.unwrap() > last_output_seq);
    assert!(
        max_in_flight <= BOUND,
        "{max_in_flight} lines were in flight at once (bound {BOUND})"
    );
    assert!(gate.peak() <= BOUND);
    assert_eq!(gate.in_flight(), 0, "every line released");
    assert!(
        matches!(state.steps[0].phase, StepPhase::Succeeded { .. }),
        "{:?}",
        state.steps[0].phase
    );
}

/// A line the engine does not journal (its step is no longer current) leaves the gate at once.
#[test]
fn a_line_the_engine_drops_is_released_at_once() {
    let text = PLAN.replace("{n}", "1").replace("{exited}", "/nonexistent");
    let plan = Arc::new(steps::load_str(&text, "flood.toml", &LoadOptions::default()).unwrap());
    let op = Operator {
        name: "test".into(),
        host: "host".into(),
    };
    let mut state = State::new(plan, Mode::Live, op, Utc::now());
    let gate = OutputGate::new(10, 1 << 20);
    gate.admit_now(5);
    let fx = pacing::update(
        &mut state,
        Msg::StepOutput {
            step: 0,
            attempt: 7,
            line: OutputLine::info("late"),
        },
        Utc::now(),
        &gate,
    );
    assert!(
        !fx.iter()
            .any(|f| matches!(f, Effect::Record(Event::StepOutput { .. })))
    );
    assert_eq!(gate.in_flight(), 0);
}
