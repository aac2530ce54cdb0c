//! `drcockpit check` on long plans: load and validate the demo plan's steps repeated to 1k, 8k
//! and 32k steps (ids made unique). The time per step should stay flat: a quadratic part (the
//! duplicate-id scan) made 32k steps take 3.5 s. Figures in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drcockpit::plan::{self, LoadOptions};

/// The demo plan's header and its steps repeated until there are `n`, each id suffixed.
fn plan_with_steps(n: usize) -> String {
    let demo = plan::DEMO_PLAN;
    let first = demo.find("[[step]]").unwrap_or(demo.len());
    let (head, steps) = demo.split_at(first);
    let blocks: Vec<&str> = steps
        .split("[[step]]")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let mut out = String::with_capacity(head.len() + n * 400);
    out.push_str(head);
    for i in 0..n {
        let block = blocks[i % blocks.len()];
        out.push_str("[[step]]");
        for line in block.lines() {
            match line
                .strip_prefix("id = \"")
                .and_then(|r| r.strip_suffix('"'))
            {
                Some(id) => out.push_str(&format!("id = \"{id}-{i}\"")),
                None => out.push_str(line),
            }
            out.push('\n');
        }
    }
    out
}

fn check(c: &mut Criterion) {
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:0".into()),
        run_commands: false,
    };
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [1_000, 8_000, 32_000] {
        let text = plan_with_steps(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let loaded =
                    drcockpit::steps::load_str_with_notes(black_box(text), "<bench>", &opts)
                        .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(loaded.plan.steps.len(), n);
                loaded
            })
        });
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
