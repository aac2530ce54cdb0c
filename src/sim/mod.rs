//! The embedded simulator: a fake but faithful world on loopback.
//!
//! One axum server plays the world of a scenario. Endpoints come in families (the sites' health
//! URLs, webhook sinks, the Qovery API, …); each family is a state-applied [`axum::Router`] built
//! from a clone of the shared [`SimState`] and plugged in by [`families`]. The simulator's own
//! control endpoints (`GET /_sim`, `POST /_sim/scenario/{name}`) and the plain-text 404/405
//! answers are added by [`build_router`].

pub mod big;
pub mod cloudwatch;
pub mod datadog;
pub mod dns;
pub mod hostile;
pub mod imds;
pub mod notify;
pub mod prometheus;
pub mod qovery;
pub mod registry;
pub mod scaleway;
mod sites;
mod webhooks;
mod world;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use sites::{FAULT_STREAM as SITES_FAULT_STREAM, with_faults};
pub use world::{
    ActiveScenario, Fault, REGION_OUTAGE_AFTER, Received, Scenario, SimClock, SimState, Site,
    UPSTREAM_DOWN_BODY, WEBHOOK_KEEP,
};

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub scenario: String,
    pub seed: u64,
    /// `None`: an ephemeral loopback port.
    pub listen: Option<SocketAddr>,
    /// Injected delays (flaky-api's slow answers and stalls, hostile's late reads) last
    /// `1/time_scale` as long: an accelerated soak (`scripts/soak.py`) runs the world this many
    /// times faster, its probe interval and timeouts shortened by the same factor. 1: real time.
    pub time_scale: u32,
}

/// How long [`SimHandle::shutdown`] lets in-flight requests (a 15 s stall, say) finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running simulator. Dropping it stops the server too (without waiting).
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub addr: SocketAddr,
    /// The simulated zone's nameservers (`${sim_dns}`, `${sim_dns2}`); empty if they could not
    /// start (e.g. `--listen 0.0.0.0:PORT` holds the port on every address).
    pub dns: Vec<SocketAddr>,
    pub dns_world: Arc<dns::DnsWorld>,
    state: SimState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    /// Stop accepting, let in-flight requests finish (bounded), and wait for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }

    /// The world this simulator plays (scenario, clock, random streams, webhook sinks).
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// The bodies the webhook sink `name` received, oldest first.
    pub fn webhooks(&self, name: &str) -> Vec<String> {
        self.state.webhooks(name)
    }

    /// Switch the scenario live (as `POST /_sim/scenario/{name}` does). Returns the previous one.
    pub fn set_scenario(&self, scenario: Scenario) -> Scenario {
        self.state.set_scenario(scenario)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn scenario_names() -> &'static [&'static str] {
    &[
        "all-good",
        "region-outage",
        "flaky-api",
        "image-missing",
        "hostile",
        "big",
        "drift",
    ]
}

/// One family of simulated endpoints: a router with its state already applied (`Router<()>`), and
/// the endpoints it serves, as `"METHOD /path"` lines for `GET /_sim`.
///
/// A family's router must not set a fallback (axum refuses to merge two) and its paths must not
/// overlap another family's (axum panics on merge). Faults: wrap it in [`with_faults`].
pub struct Family {
    pub name: &'static str,
    pub endpoints: Vec<String>,
    pub router: Router,
}

impl Family {
    pub fn new(name: &'static str, router: Router) -> Family {
        Family {
            name,
            endpoints: Vec::new(),
            router,
        }
    }

    /// Describe one endpoint, e.g. `"GET /sites/{prod|dr}/healthz"`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Family {
        self.endpoints.push(endpoint.into());
        self
    }
}

/// Every family of endpoints the simulator serves. Plug a new family in here, e.g.
/// `Family::new("qovery", qovery::routes(qovery::World::new(state.clone())))`.
pub fn families(state: &SimState) -> Vec<Family> {
    let db = prometheus::world(state);
    vec![
        sites::family(state.clone()),
        webhooks::family(state.clone()),
        notify::family(state.clone()),
        qovery_family(state),
        prometheus::family(db.clone()),
        scaleway::family(Arc::new(scaleway::ScalewayState::new(db))),
        registry::family(Arc::new(registry::RegistryWorld::new(Some(state.clone())))),
        cloudwatch::family(),
        datadog::family(),
        imds::family(),
    ]
}

fn qovery_family(state: &SimState) -> Family {
    let world = Arc::new(
        qovery::QoveryWorld::new(state.scenario().name(), state.seed())
            .with_time_scale(state.time_scale()),
    );
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let mut rx = state.subscribe();
        let w = world.clone();
        rt.spawn(async move {
            while rx.changed().await.is_ok() {
                let name = rx.borrow().scenario.name();
                w.set_scenario(name);
            }
        });
    }
    let mut f = Family::new("qovery", big::scaled(qovery::routes(world), state.clone()));
    for e in qovery::QoveryWorld::endpoints() {
        f = f.endpoint(e);
    }
    f
}

/// The whole simulator: every family, the control endpoints, and plain-text 404/405 answers.
pub fn build_router(state: SimState) -> Router {
    build_router_with(state.clone(), families(&state))
}

/// Like [`build_router`] with an explicit list of families (for tests of one family).
pub fn build_router_with(state: SimState, families: Vec<Family>) -> Router {
    let mut endpoints = vec![
        "GET /_sim".to_owned(),
        "POST /_sim/scenario/{name}".to_owned(),
    ];
    let mut router = Router::new();
    for family in families {
        endpoints.extend(family.endpoints);
        router = router.merge(family.router);
    }
    let endpoints = Arc::new(endpoints);
    let control = Router::new()
        .route(
            "/_sim",
            get(move |state: State<SimState>| describe(state, endpoints.clone())),
        )
        .route("/_sim/scenario/{name}", post(switch_scenario))
        .with_state(state);
    router
        .merge(control)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn describe(
    State(state): State<SimState>,
    endpoints: Arc<Vec<String>>,
) -> axum::Json<serde_json::Value> {
    let active = state.active();
    axum::Json(serde_json::json!({
        "scenario": active.scenario.name(),
        "description": active.scenario.describe(),
        "seed": state.seed(),
        "time_scale": state.time_scale(),
        "uptime_secs": state.clock().uptime().as_secs_f64(),
        "scenario_secs": active.elapsed().as_secs_f64(),
        "scenarios": scenario_names(),
        "endpoints": *endpoints,
    }))
}

async fn switch_scenario(State(state): State<SimState>, Path(name): Path<String>) -> Response {
    match Scenario::from_name(&name) {
        Ok(scenario) => {
            let previous = state.set_scenario(scenario);
            log::info!("simulator: scenario {previous} -> {scenario}");
            (
                StatusCode::OK,
                format!("scenario {scenario} (was {previous})"),
            )
                .into_response()
        }
        Err(e) => (StatusCode::NOT_FOUND, e).into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no such simulated endpoint: {method} {}", uri.path()),
    )
        .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed on {}", uri.path()),
    )
        .into_response()
}

/// Bind (`opts.listen`, else an ephemeral loopback port) and serve on a tokio task.
pub async fn start(opts: SimOptions) -> Result<SimHandle, String> {
    let scenario = Scenario::from_name(&opts.scenario)?;
    let listen = opts
        .listen
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!("cannot listen on {listen}: {e} (is another simulator already running there?)")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address bound for {listen}: {e}"))?;
    let state = SimState::new(scenario, opts.seed);
    state.set_time_scale(opts.time_scale);
    let (dns_world, dns) = match dns::start_for_sim(addr).await {
        Ok((w, ns)) => (w, ns.to_vec()),
        Err(e) => {
            log::warn!(target: "sim", "simulated DNS not started: {e}");
            (Arc::new(dns::DnsWorld::demo()), vec![])
        }
    };
    dns::play_hostile(dns_world.clone(), state.clone());
    let mut fams = families(&state);
    fams.push(
        Family::new(
            "dns",
            Router::new().nest("/pdns", dns::routes(dns_world.clone())),
        )
        .endpoint("GET /pdns/api/v1/servers/{server}/zones")
        .endpoint("GET|PATCH /pdns/api/v1/servers/{server}/zones/{zone}"),
    );
    let router = build_router_with(state.clone(), fams);
    let (stop, stopped) = oneshot::channel::<()>();
    // `into_make_service` turns the routes into services once; serving the `Router` itself
    // rebuilds its route table for every connection (axum 0.8's `Service<IncomingStream>` for
    // `Router` calls `with_state` each time), about 9 KB while the connection lives (heaptrack,
    // BENCHMARKS.md "Idle memory").
    let server =
        axum::serve(listener, router.into_make_service()).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
    let task = tokio::spawn(async move { server.await });
    Ok(SimHandle {
        url: format!("http://{addr}"),
        addr,
        dns,
        dns_world,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `drcockpit simulate`: serve until Ctrl-C (or SIGTERM), then shut down gracefully.
pub async fn serve_forever(opts: SimOptions) -> Result<(), String> {
    let handle = start(opts).await?;
    // Listen for the signal before the banner: whoever reads the banner may signal at once.
    let stop = stop_signal()?;
    let active = handle.state().scenario();
    // A closed stdout (the reader went away) must not bring the simulator down: no println!.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "simulator listening on {}, scenario {active}",
        handle.url
    );
    let _ = writeln!(
        out,
        "  {} (seed {}); GET {}/_sim describes the world; Ctrl-C stops",
        active.describe(),
        handle.state().seed(),
        handle.url
    );
    let scale = handle.state().time_scale();
    if scale > 1 {
        let _ = writeln!(
            out,
            "  time scale {scale}: injected delays and stalls last 1/{scale} as long"
        );
    }
    let _ = out.flush();
    drop(out);
    stop.await;
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
fn stop_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| format!("cannot listen for {name}: {e}"))
    };
    let mut interrupt = listen(SignalKind::interrupt(), "Ctrl-C (SIGINT)")?;
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> Result<impl Future<Output = ()>, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
