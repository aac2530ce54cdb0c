//! Images budget: a full refresh of 500 services × 2 registries against the simulated registries
//! with 20 ms injected latency per request (token requests included), through the real client
//! (Bearer challenge, token per repository scope, HEAD with all four Accept types).
//!
//! The bound set by the concurrency limit: [`DEFAULT_FANOUT`] services at a time, each asking
//! both registries at once, so a warm refresh (tokens cached) cannot beat
//! ceil(500 / fanout) × 20 ms. A cold refresh fetches a token per repository first (once the
//! first 401 told the client which challenge the registry uses: 2 × 20 ms per request, so about
//! twice the bound). Also prints the peak RSS growth over the runs (`VmHWM`).
//!
//! `cargo bench --bench images` (or `cargo bench --profile dev --bench images` for a quick look).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::registry::RegistryClient;
use drcockpit::probes::images::{DEFAULT_FANOUT, ImageTarget, Sync, compare};
use drcockpit::sim::registry::{PASSWORD, RegistryWorld};
use drcockpit::sim::{Scenario, SimState};

const SERVICES: usize = 500;
const LATENCY: Duration = Duration::from_millis(20);

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn targets() -> Vec<ImageTarget> {
    (0..SERVICES)
        .map(|i| ImageTarget {
            service: format!("svc-{i}"),
            prod_repository: format!("bench/svc-{i}"),
            dr_repository: format!("bench/svc-{i}"),
            tag: Some("v1".into()),
            source: "plan".into(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let world = Arc::new(RegistryWorld::new(None));
    world.set_latency(LATENCY);
    let url = rt.block_on(async {
        let state = SimState::new(Scenario::AllGood, 1);
        let router = drcockpit::sim::build_router_with(
            state,
            vec![drcockpit::sim::registry::family(world.clone())],
        );
        let l = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tokio::spawn(async move {
            let _ = axum::serve(l, router).await;
        });
        format!("http://{addr}")
    });
    let http = HttpClient::new(true).with_read_retries(0);
    let prod = RegistryClient::new(&format!("{url}/registry/prod"), http.clone())
        .with_credentials("nologin", PASSWORD);
    let dr =
        RegistryClient::new(&format!("{url}/registry/dr"), http).with_credentials("AWS", PASSWORD);
    let rounds = SERVICES.div_ceil(DEFAULT_FANOUT) as u32;
    let warm_bound = LATENCY * rounds;
    let hwm0 = vm_hwm_kib();

    // One cold refresh (new clients: every token fetched), measured once.
    let t = Instant::now();
    let rows = rt.block_on(compare(targets(), Some(&prod), Some(&dr), DEFAULT_FANOUT));
    let cold = t.elapsed();
    let same = rows.iter().filter(|r| r.sync() == Sync::Same).count();
    assert_eq!(
        same, SERVICES,
        "every bench image is the same on both sides"
    );
    let tokens = world.token_requests();
    eprintln!(
        "images: cold refresh of {SERVICES} services × 2 registries: {cold:?} ({tokens} tokens fetched; bound with a token per repository ≈ {:?})",
        warm_bound * 2
    );

    c.bench_function("images_refresh_500x2_20ms_warm", |b| {
        b.iter(|| {
            let rows = rt.block_on(compare(targets(), Some(&prod), Some(&dr), DEFAULT_FANOUT));
            black_box(rows.len())
        })
    });
    let t = Instant::now();
    let n = 3;
    for _ in 0..n {
        black_box(rt.block_on(compare(targets(), Some(&prod), Some(&dr), DEFAULT_FANOUT)));
    }
    let warm = t.elapsed() / n;
    let hwm1 = vm_hwm_kib();
    eprintln!(
        "images: warm refresh {warm:?} vs the concurrency bound ceil({SERVICES}/{DEFAULT_FANOUT}) × {LATENCY:?} = {warm_bound:?} ({:.2}×); peak RSS grew {} KiB ({} → {} KiB); {} registry requests",
        warm.as_secs_f64() / warm_bound.as_secs_f64(),
        hwm1.saturating_sub(hwm0),
        hwm0,
        hwm1,
        world.requests()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(8));
    targets = bench
}
criterion_main!(benches);
