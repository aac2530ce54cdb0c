//! Journal throughput and latency (issue 15): a command step's flood of output lines must be
//! journaled at disk speed (group commit: one write and one fsync per batch), while a lone event
//! (an approval) must be recorded as fast as before. Figures in BENCHMARKS.md.
//!
//! * `journal/flood/N`: N output lines sent to the writer thread at once, timed until the last
//!   one is acknowledged (on disk). Throughput in records/s.
//! * `journal/one_event`: one approval sent to an idle writer thread, timed until it is
//!   acknowledged (send → write → fsync → `on_done`), i.e. the engine's latency to show it.
//! * `journal/append_each/N`: the old path for comparison, one `append` (write + fsync) per record.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use drcockpit::journal::Event;
use drcockpit::journal::writer::{JournalWriter, spawn_writer};

fn output(n: usize) -> Event {
    Event::StepOutput {
        step: "restore".into(),
        attempt: 1,
        stream: "stdout".into(),
        line: format!("pg_restore: processing item {n} TABLE DATA public orders postgres"),
    }
}

fn approval() -> Event {
    Event::Approved {
        step: "promote".into(),
        host: "ops-laptop".into(),
        word: "promote".into(),
    }
}

fn journal(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    // A flood takes up to a second: the same few iterations per sample, not 1..=10 of them.
    group.sampling_mode(SamplingMode::Flat);

    for n in [10_000usize, 100_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("flood", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let path = dir.path().join(format!("flood-{n}-{i}.jsonl"));
                    let w = JournalWriter::create(&path, "alice").expect("create");
                    let (tx, rx) = mpsc::channel();
                    let handle = spawn_writer(w, move |r| {
                        let _ = tx.send(r.is_ok());
                    });
                    let start = Instant::now();
                    for k in 0..n {
                        handle.send(output(k));
                    }
                    for _ in 0..n {
                        assert!(rx.recv().expect("ack"), "recorded");
                    }
                    total += start.elapsed();
                    handle.close();
                    let _ = std::fs::remove_file(&path);
                }
                total
            })
        });
    }

    group.sampling_mode(SamplingMode::Auto);
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_event", |b| {
        let path = dir.path().join("one.jsonl");
        let w = JournalWriter::create(&path, "alice").expect("create");
        let (tx, rx) = mpsc::channel();
        let handle = spawn_writer(w, move |r| {
            let _ = tx.send(r.is_ok());
        });
        b.iter(|| {
            handle.send(approval());
            assert!(rx.recv().expect("ack"), "recorded");
        });
        handle.close();
    });

    let n = 2_000usize;
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new("append_each", n), &n, |b, &n| {
        let path = dir.path().join("each.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("create");
        b.iter(|| {
            for k in 0..n {
                w.append(output(k)).expect("append");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, journal);
criterion_main!(benches);
