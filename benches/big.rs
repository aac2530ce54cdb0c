//! Big environments (issue 15, items 3 and 6): against the simulator's `big` scenario (500
//! container services in each Qovery environment, 500 images in each registry) and the demo plan
//! with all 500 images in `[images]` (`benches/big.toml`, written by `scripts/big-plan.py`):
//!
//! - `probe_round_500`: one round of every configured probe, as `drcockpit status` and each
//!   monitor interval run it (`runtime::status::observe_once`), warm (tokens and names cached,
//!   as from the second interval on). The HTTP requests of one round are counted by a layer on
//!   the simulator's router and printed per family, cold and warm.
//! - `render_500_*`: a full frame of the cockpit holding that round's readings (500 services on
//!   the Qovery and images panels), into a TestBackend, panels normal and expanded.
//!
//! `cargo bench --bench big`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use criterion::{Criterion, criterion_group, criterion_main};
use drcockpit::plan::LoadOptions;
use drcockpit::runtime::status::observe_once;
use drcockpit::sim::{self, Family, Scenario, SimState};
use drcockpit::ui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PLAN: &str = include_str!("big.toml");
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

static TOTAL: AtomicU64 = AtomicU64::new(0);
static BY_FAMILY: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

fn family_of(path: &str) -> &'static str {
    match path.split('/').nth(1).unwrap_or("") {
        "registry" => "registry",
        "sites" => "health",
        "pdns" => "dns api",
        "api" => "prometheus",
        "organization" | "environment" | "container" | "project" | "variable" => "qovery",
        _ => "other",
    }
}

async fn count(req: Request, next: Next) -> axum::response::Response {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut m) = BY_FAMILY.lock() {
        *m.entry(family_of(req.uri().path())).or_default() += 1;
    }
    next.run(req).await
}

fn take_counts() -> (u64, BTreeMap<&'static str, u64>) {
    let total = TOTAL.swap(0, Ordering::Relaxed);
    let by = BY_FAMILY
        .lock()
        .map(|mut m| std::mem::take(&mut *m))
        .unwrap_or_default();
    (total, by)
}

/// The `big` simulator (DNS responders included, as `sim::start` builds it) with a request
/// counter; its URL.
async fn start_big() -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let state = SimState::new(Scenario::Big, 1);
    let mut fams = sim::families(&state);
    match sim::dns::start_for_sim(addr).await {
        Ok((world, _)) => fams.push(Family::new(
            "dns",
            axum::Router::new().nest("/pdns", sim::dns::routes(world)),
        )),
        Err(e) => eprintln!("simulated DNS not started ({e}): the DNS probes will fail fast"),
    }
    let router = sim::build_router_with(state, fams).layer(from_fn(count));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let url = rt.block_on(start_big());
    drcockpit::clients::qovery::set_env_overrides(false);
    let plan = Arc::new(
        drcockpit::steps::load_str(
            PLAN,
            "benches/big.toml",
            &LoadOptions {
                sim_url: Some(url),
                run_commands: false,
            },
        )
        .unwrap_or_else(|e| panic!("benches/big.toml: {e}")),
    );
    assert_eq!(plan.images.as_ref().map(|i| i.services.len()), Some(500));

    // One cold round, then one warm round, each with its request count.
    for what in ["cold", "warm"] {
        let t = Instant::now();
        let (state, answered) = rt.block_on(observe_once(plan.clone(), ROUND_TIMEOUT));
        let took = t.elapsed();
        let (total, by) = take_counts();
        let panels: Vec<String> = state
            .sections
            .iter()
            .flatten()
            .filter_map(|s| s.last_good.as_ref().map(|(r, _)| r.summary.clone()))
            .collect();
        eprintln!(
            "{what} round: {answered} probes answered in {took:?}, {total} HTTP requests {by:?}; \
             readings: {panels:?}"
        );
    }

    c.bench_function("probe_round_500", |b| {
        b.iter(|| black_box(rt.block_on(observe_once(plan.clone(), ROUND_TIMEOUT)).1))
    });
    let (total, _) = take_counts();
    eprintln!("(requests over the timed rounds: {total})");

    let (mut state, _) = rt.block_on(observe_once(plan.clone(), ROUND_TIMEOUT));
    let theme = Theme::builtin("dark").unwrap_or_default();
    for expanded in [false, true] {
        state.expanded = expanded;
        for (w, h) in [(200u16, 50u16), (80, 24)] {
            let mut term = Terminal::new(TestBackend::new(w, h))
                .unwrap_or_else(|e| panic!("test backend: {e}"));
            let name = if expanded { "expanded" } else { "panels" };
            c.bench_function(&format!("render_500_{name}_{w}x{h}"), |b| {
                b.iter(|| {
                    // A forced full redraw each time, as benches/render.rs does.
                    let _ = term.clear();
                    let r = term.draw(|f| ui::draw(f, black_box(&state), &View::new(&theme, None)));
                    black_box(r.is_ok())
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
