//! The simulated world every endpoint family reads: which scenario plays and since when, the clock,
//! the seeded randomness (one independent stream per family, so a Qovery poll never shifts the
//! health checks' fault sequence), and what the webhook sinks received.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// A scripted world. Families read [`SimState::scenario`] on every request, so a live switch
/// (`POST /_sim/scenario/{name}`) takes effect on the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Everything is up and answers promptly.
    AllGood,
    /// Production's region fails [`REGION_OUTAGE_AFTER`] after the scenario starts and stays down;
    /// DR stays up.
    RegionOutage,
    /// Seeded faults on the APIs: ~20% 502/503, ~10% slow (1–3 s), ~3% a 15 s stall.
    FlakyApi,
    /// Like `all-good` for health; the registry family leaves an image out of DR.
    ImageMissing,
    /// A world that disagrees with us (seeded; ground truth kept apart from what is answered):
    /// lies one after another (see `sim::hostile`) and out-of-order, contradictory, stalled or
    /// late Qovery status fields (see `sim::qovery`).
    Hostile,
    /// Like `all-good`, at scale: 500 container services in each Qovery environment and 500
    /// images in each registry (see `sim::big`).
    Big,
    /// Like `all-good`, but the DR Qovery environment has drifted from prod (issue 16): a
    /// service missing, a variable set in prod only, an older image tag, too little CPU.
    Drift,
}

/// How long after `region-outage` starts production goes down.
pub const REGION_OUTAGE_AFTER: Duration = Duration::from_secs(5);

/// The body production's load balancer answers once its upstreams are gone (Envoy's wording:
/// the Scaleway and Qovery load balancers are Envoy-based). Plain text, not JSON.
pub const UPSTREAM_DOWN_BODY: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::AllGood,
        Scenario::RegionOutage,
        Scenario::FlakyApi,
        Scenario::ImageMissing,
        Scenario::Hostile,
        Scenario::Big,
        Scenario::Drift,
    ];

    /// The name used on the command line and in `POST /_sim/scenario/{name}`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::AllGood => "all-good",
            Scenario::RegionOutage => "region-outage",
            Scenario::FlakyApi => "flaky-api",
            Scenario::ImageMissing => "image-missing",
            Scenario::Hostile => "hostile",
            Scenario::Big => "big",
            Scenario::Drift => "drift",
        }
    }

    /// One line for `GET /_sim` and the `simulate` banner.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::AllGood => "everything is up",
            Scenario::RegionOutage => {
                "production's region goes down 5 s after the scenario starts and stays down; DR stays up"
            }
            Scenario::FlakyApi => {
                "seeded API faults: ~20% 502/503, ~10% slow (1-3 s), an occasional 15 s stall"
            }
            Scenario::ImageMissing => {
                "everything is up, but an image is missing from the DR registry"
            }
            Scenario::Hostile => {
                "a world that lies: records pointing elsewhere, split brain, a primary dying mid-write, wrong digests, skewed clocks, late answers, out-of-order and stalled Qovery deployments (seeded)"
            }
            Scenario::Drift => {
                "everything is up, but DR has drifted from prod: worker missing, FEATURE_X set in prod only, api on an older tag, web below the CPU ratio"
            }
            Scenario::Big => {
                "everything is up, at scale: 500 services in each Qovery environment, 500 images in each registry"
            }
        }
    }

    /// Parse a scenario name; the error lists the known names.
    pub fn from_name(name: &str) -> Result<Scenario, String> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown scenario {name:?}; known scenarios: {}",
                    super::scenario_names().join(", ")
                )
            })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::from_name(s)
    }
}

/// The simulator's clock: when it started. Cheap to copy into a family's own state.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    started: Instant,
}

impl SimClock {
    pub fn new() -> SimClock {
        SimClock {
            started: Instant::now(),
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Time since the simulator started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::new()
    }
}

/// The scenario playing now and when it started (at start-up, or at the last live switch).
/// Scripted events (the region outage) count from `since`.
#[derive(Debug, Clone, Copy)]
pub struct ActiveScenario {
    pub scenario: Scenario,
    pub since: Instant,
}

impl ActiveScenario {
    /// Time since this scenario started.
    pub fn elapsed(&self) -> Duration {
        self.since.elapsed()
    }
}

/// One of the two sites of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Site {
    Prod,
    Dr,
}

impl Site {
    pub fn name(self) -> &'static str {
        match self {
            Site::Prod => "prod",
            Site::Dr => "dr",
        }
    }

    pub fn from_name(name: &str) -> Option<Site> {
        match name {
            "prod" => Some(Site::Prod),
            "dr" => Some(Site::Dr),
            _ => None,
        }
    }
}

/// What a fault-injecting endpoint does with one request (see [`SimState::draw_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Answer this status with this plain-text body instead.
    Status(u16, &'static str),
    /// Answer normally after this delay.
    Slow(Duration),
    /// Hang this long, then answer 504 `upstream request timeout` (Envoy's default route timeout
    /// is 15 s): long enough for any sane client timeout to fire first.
    Stall(Duration),
}

/// A body received by a webhook sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body, lossily decoded as UTF-8.
    pub body: String,
    /// Simulator uptime when it arrived.
    pub at: Duration,
    /// The status the sink answered (a Slack sink refuses a payload Slack would refuse).
    pub status: u16,
}

/// Most bodies one webhook sink keeps (the oldest are dropped), so a runaway loop cannot eat memory.
pub const WEBHOOK_KEEP: usize = 1000;

/// Shared state of one running simulator. Clone it freely (everything is behind an `Arc`); hand a
/// clone to each family's router.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    seed: u64,
    clock: SimClock,
    scenario: watch::Sender<ActiveScenario>,
    rngs: Mutex<HashMap<String, fastrand::Rng>>,
    webhooks: Mutex<BTreeMap<String, Vec<Received>>>,
    /// Injected delays (slow answers, stalls) last `1/time_scale` as long: an accelerated soak
    /// runs the whole world N times faster (`simulate --time-scale N`). 1 unless set.
    time_scale: AtomicU32,
}

/// Locks never poison the world: a panicking handler leaves data that is still consistent
/// (every critical section is a single insert or draw).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// FNV-1a: a stable hash, so a stream's seed never changes between builds or platforms.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl SimState {
    pub fn new(scenario: Scenario, seed: u64) -> SimState {
        let clock = SimClock::new();
        let (scenario, _) = watch::channel(ActiveScenario {
            scenario,
            since: clock.started(),
        });
        SimState {
            inner: Arc::new(Inner {
                seed,
                clock,
                scenario,
                rngs: Mutex::new(HashMap::new()),
                webhooks: Mutex::new(BTreeMap::new()),
                time_scale: AtomicU32::new(1),
            }),
        }
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Make every injected delay `1/scale` as long (0 is taken as 1).
    pub fn set_time_scale(&self, scale: u32) {
        self.inner.time_scale.store(scale.max(1), Ordering::Relaxed);
    }

    /// The divisor of injected delays (see [`SimState::set_time_scale`]).
    pub fn time_scale(&self) -> u32 {
        self.inner.time_scale.load(Ordering::Relaxed).max(1)
    }

    /// An injected delay as this world plays it: `delay / time_scale`.
    pub fn scaled(&self, delay: Duration) -> Duration {
        delay / self.time_scale()
    }

    pub fn clock(&self) -> SimClock {
        self.inner.clock
    }

    /// The scenario playing now.
    pub fn scenario(&self) -> Scenario {
        self.inner.scenario.borrow().scenario
    }

    /// The scenario playing now and since when.
    pub fn active(&self) -> ActiveScenario {
        *self.inner.scenario.borrow()
    }

    /// Follow scenario switches (a family that keeps its own world, e.g. a registry's contents,
    /// can rebuild it when the scenario changes).
    pub fn subscribe(&self) -> watch::Receiver<ActiveScenario> {
        self.inner.scenario.subscribe()
    }

    /// Switch the scenario live; its scripted events count from now. Returns the previous one.
    /// The random streams carry on (they are not reseeded).
    pub fn set_scenario(&self, scenario: Scenario) -> Scenario {
        let previous = self.inner.scenario.send_replace(ActiveScenario {
            scenario,
            since: Instant::now(),
        });
        previous.scenario
    }

    /// Draw from the named random stream. Each stream is seeded from the simulator's seed and its
    /// name only, so its sequence is reproducible whatever other families draw. Keep the closure
    /// short: the stream is locked while it runs.
    pub fn with_rng<T>(&self, stream: &str, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
        let mut rngs = lock(&self.inner.rngs);
        let rng = rngs
            .entry(stream.to_owned())
            .or_insert_with(|| fastrand::Rng::with_seed(self.inner.seed ^ fnv1a(stream)));
        f(rng)
    }

    /// The lie the `hostile` scenario plays now (`None` in every other scenario).
    pub fn hostile_lie(&self) -> Option<super::hostile::Lie> {
        let active = self.active();
        (active.scenario == Scenario::Hostile)
            .then(|| super::hostile::lie_at(self.inner.seed, active.elapsed()))
    }

    /// Is this site up in the scenario playing now?
    pub fn site_up(&self, site: Site) -> bool {
        let active = self.active();
        match (active.scenario, site) {
            (Scenario::RegionOutage, Site::Prod) => active.elapsed() < REGION_OUTAGE_AFTER,
            _ => true,
        }
    }

    /// What to do with one request to a fault-injecting endpoint: nothing unless `flaky-api`
    /// plays; then a seeded draw from `stream` (≈20% 502/503, ≈10% slow 1–3 s, ≈3% a 15 s stall).
    /// Requests draw in arrival order, so the same seed gives the same faults to the same sequence.
    pub fn draw_fault(&self, stream: &str) -> Fault {
        if self.scenario() != Scenario::FlakyApi {
            return Fault::None;
        }
        self.with_rng(stream, |rng| {
            let roll = rng.f64();
            if roll < 0.20 {
                if rng.bool() {
                    Fault::Status(502, "Bad Gateway")
                } else {
                    Fault::Status(503, UPSTREAM_DOWN_BODY_OVERFLOW)
                }
            } else if roll < 0.30 {
                Fault::Slow(Duration::from_millis(rng.u64(1000..=3000)))
            } else if roll < 0.33 {
                Fault::Stall(Duration::from_secs(15))
            } else {
                Fault::None
            }
        })
    }

    /// Record a body a webhook sink received.
    pub fn record_webhook(
        &self,
        name: &str,
        content_type: Option<String>,
        body: String,
        status: u16,
    ) {
        let at = self.inner.clock.uptime();
        let mut sinks = lock(&self.inner.webhooks);
        let list = sinks.entry(name.to_owned()).or_default();
        if list.len() >= WEBHOOK_KEEP {
            list.remove(0);
        }
        list.push(Received {
            content_type,
            body,
            at,
            status,
        });
    }

    /// Everything the sink `name` received, oldest first.
    pub fn webhook_requests(&self, name: &str) -> Vec<Received> {
        lock(&self.inner.webhooks)
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// The bodies the sink `name` received, oldest first.
    pub fn webhooks(&self, name: &str) -> Vec<String> {
        lock(&self.inner.webhooks)
            .get(name)
            .map(|list| list.iter().map(|r| r.body.clone()).collect())
            .unwrap_or_default()
    }
}

/// Envoy's 503 when its upstream pool is saturated.
const UPSTREAM_DOWN_BODY_OVERFLOW: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: overflow";
