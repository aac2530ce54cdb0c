//! The plan file: the typed model the engine consumes, loading with spans, validation, secret
//! references and conditions.
//!
//! A plan is loaded in two phases: `load` parses TOML into the raw file shape (`raw::PlanFile`,
//! `deny_unknown_fields`, which is also what `drcockpit schema` prints), then validates and
//! converts it into [`Plan`], resolving `${env:…}`, `${file:…}`, `${cmd:…}` references and
//! registering every resolved value with [`crate::redact`].

pub mod condition;
pub mod load;
pub mod raw;
pub mod refs;
pub mod template;
pub mod units;

pub use condition::{CmpOp, Condition, Value};
pub use load::{Catalog, LoadOptions, Loaded, PlanError, PlanErrorInfo};

/// The demo plan, embedded in the binary (`plans/demo.toml`).
pub const DEMO_PLAN: &str = include_str!("../../plans/demo.toml");

pub use units::{parse_bytes, parse_duration};

use std::time::Duration;

/// The two sites of every plan.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SiteId {
    Prod,
    Dr,
}

impl SiteId {
    pub const ALL: [SiteId; 2] = [SiteId::Prod, SiteId::Dr];
    pub fn as_str(self) -> &'static str {
        match self {
            SiteId::Prod => "prod",
            SiteId::Dr => "dr",
        }
    }
    pub fn upper(self) -> &'static str {
        match self {
            SiteId::Prod => "PROD",
            SiteId::Dr => "DR",
        }
    }
    pub fn index(self) -> usize {
        match self {
            SiteId::Prod => 0,
            SiteId::Dr => 1,
        }
    }
    /// The site across from this one.
    pub fn other(self) -> SiteId {
        match self {
            SiteId::Prod => SiteId::Dr,
            SiteId::Dr => SiteId::Prod,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    BackupRestore,
    PilotLight,
    WarmStandby,
    ActiveActive,
}

impl Strategy {
    pub fn label(self) -> &'static str {
        match self {
            Strategy::BackupRestore => "backup-restore",
            Strategy::PilotLight => "pilot light",
            Strategy::WarmStandby => "warm standby",
            Strategy::ActiveActive => "active-active",
        }
    }
}

/// A loaded, validated plan with every secret reference resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub strategy: Strategy,
    pub rto: Duration,
    pub rpo: Duration,
    pub description: Option<String>,
    /// Where the plan came from (file path or `<embedded demo>`), and the SHA-256 of its bytes.
    pub source: String,
    pub hash: String,
    pub sites: [Site; 2],
    pub qovery: Option<QoveryConfig>,
    pub images: Option<ImagesConfig>,
    pub dns: Option<DnsConfig>,
    pub probes: ProbeSettings,
    pub steps: Vec<Step>,
    /// `[parity]`: what DR may differ from prod in (defaults when the section is absent).
    pub parity: Option<ParityConfig>,
}

impl Plan {
    pub fn site(&self, id: SiteId) -> &Site {
        &self.sites[id.index()]
    }
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Site {
    pub label: String,
    pub cluster: Option<String>,
    pub environment: Option<String>,
    pub database: Option<DatabaseConfig>,
    pub registry: Option<RegistryConfig>,
    pub dns_target: Option<String>,
    pub health: Option<HealthConfig>,
}

#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub url: String,
    pub expect_status: Vec<u16>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct QoveryConfig {
    pub api_url: String,
    pub token: String,
    /// `token` or `bearer`; `None` chooses as the official CLI does.
    pub auth_scheme: Option<String>,
    pub organization: String,
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseConfig {
    pub postgres: Option<String>,
    pub prometheus: Option<PrometheusSource>,
    pub max_lag_bytes: Option<u64>,
    pub max_replay_age: Option<Duration>,
    pub backup_age_query: Option<String>,
    pub max_backup_age: Option<Duration>,
    /// Cloud metric sources beside `prometheus` (a database names at most one metric source).
    pub cloudwatch: Option<CloudWatchSource>,
    pub datadog: Option<DatadogSource>,
}

/// A CloudWatch metric, resolved (defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchMetric {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
}

#[derive(Debug, Clone)]
pub struct CloudWatchSource {
    pub region: String,
    pub endpoint: Option<String>,
    pub period: u32,
    pub max_age: Duration,
    pub lag: Option<CloudWatchMetric>,
    pub replay_age: Option<CloudWatchMetric>,
    pub wal_disk: Option<CloudWatchMetric>,
    pub backup_age: Option<CloudWatchMetric>,
}

#[derive(Debug, Clone)]
pub struct DatadogSource {
    pub api_url: String,
    pub api_key: String,
    pub app_key: String,
    pub window: Duration,
    pub max_age: Duration,
    pub lag_query: Option<String>,
    pub replay_age_query: Option<String>,
    pub wal_disk_query: Option<String>,
    pub backup_age_query: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PrometheusSource {
    pub url: String,
    pub lag_query: Option<String>,
    /// Seconds of replay lag (the time-based RPO), e.g. RDS `ReplicaLag`.
    pub replay_age_query: Option<String>,
    pub backup_age_query: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_bundle: Option<String>,
    /// Repository prefix in this registry (e.g. a Scaleway namespace).
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ImagesConfig {
    pub services: Vec<ImagePin>,
}

#[derive(Debug, Clone)]
pub struct ImagePin {
    pub service: String,
    pub repository: Option<String>,
    pub dr_repository: Option<String>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub record: String,
    pub record_type: String,
    pub zone: Option<String>,
    pub nameservers: Vec<String>,
    pub provider: Option<DnsProvider>,
}

#[derive(Debug, Clone)]
pub enum DnsProvider {
    PowerDns {
        api_url: String,
        api_key: String,
        server: String,
    },
    Cloudflare {
        zone_id: String,
        record_id: String,
        token: String,
    },
    Route53 {
        hosted_zone_id: String,
    },
}

/// How often probes run and when a value is stale.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub interval: Duration,
    /// A value older than `stale_after` intervals is marked stale (product.md: 3).
    pub stale_after: u32,
    pub concurrency: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            interval: Duration::from_secs(5),
            stale_after: 3,
            concurrency: 8,
        }
    }
}

/// What a `[parity] ignore` entry names: `service:worker`, `variable:PROD_ONLY_FLAG`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParityItem {
    /// Everything about a service (present in one environment only, its image, its resources).
    Service,
    /// An environment variable's name or scope.
    Variable,
    /// A secret's name or scope.
    Secret,
    /// A service's image tag.
    Image,
    /// A service's instances, CPU and memory.
    Resources,
}

impl ParityItem {
    pub const ALL: [ParityItem; 5] = [
        ParityItem::Service,
        ParityItem::Variable,
        ParityItem::Secret,
        ParityItem::Image,
        ParityItem::Resources,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ParityItem::Service => "service",
            ParityItem::Variable => "variable",
            ParityItem::Secret => "secret",
            ParityItem::Image => "image",
            ParityItem::Resources => "resources",
        }
    }
    pub fn parse(s: &str) -> Option<ParityItem> {
        ParityItem::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// `[parity]`: how far the DR environment may differ from prod before the Parity row says drift.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityConfig {
    /// DR's CPU, memory and instances must be at least prod's times this (1.0 = the same).
    pub scale_down: f64,
    /// Accepted differences.
    pub ignore: Vec<(ParityItem, String)>,
}

impl Default for ParityConfig {
    fn default() -> Self {
        ParityConfig {
            scale_down: 1.0,
            ignore: Vec::new(),
        }
    }
}

impl ParityConfig {
    /// Is this difference accepted by the plan?
    pub fn ignores(&self, item: ParityItem, name: &str) -> bool {
        self.ignore.iter().any(|(i, n)| *i == item && n == name)
    }
}

/// One checklist step.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub action: StepAction,
    /// Preconditions: an unmet one blocks the step; overriding it needs a typed reason.
    pub requires: Vec<Condition>,
    /// The word the operator must type to confirm; `None` means a plain y/Enter confirmation.
    pub confirm: Option<String>,
    /// Overall timeout for the step's run.
    pub timeout: Option<Duration>,
    pub site: Option<SiteId>,
}

/// What a step does. Engine-native kinds (approval, manual, check, wait) are driven by the
/// engine itself; every other kind is run by [`crate::steps`] on a tokio task.
#[derive(Debug, Clone)]
pub enum StepAction {
    Approval,
    Manual {
        instructions: String,
    },
    Check {
        conditions: Vec<Condition>,
    },
    Wait {
        conditions: Vec<Condition>,
        timeout: Duration,
    },
    HttpCheck(HttpCheck),
    HttpRequest(HttpRequest),
    Command(CommandSpec),
    Qovery(QoveryStep),
    /// `postgres.promote` / `postgres.fence`.
    Postgres(PostgresStep),
    /// `scaleway.promote_replica`.
    Scaleway(PromoteReplica),
    /// `dns.switch` / `dns.verify` (see `crate::steps::dns`).
    Dns(DnsAction),
    /// `qovery.set_image` (see `crate::steps::images`).
    SetImage(SetImage),
    /// Any other kind: its name and what its module built. A new kind needs no variant here
    /// (`crate::steps::registry`).
    Kind(KindAction),
}

/// The action of a kind without a variant of its own in [`StepAction`]: the kind's name (the
/// registry finds its module by it) and what its builder made, which only that module reads.
#[derive(Clone)]
pub struct KindAction {
    pub kind: &'static str,
    pub spec: std::sync::Arc<dyn std::any::Any + Send + Sync>,
}

impl KindAction {
    pub fn new<T: std::any::Any + Send + Sync>(kind: &'static str, spec: T) -> KindAction {
        KindAction {
            kind,
            spec: std::sync::Arc::new(spec),
        }
    }
    /// What the builder made, if it is a `T`.
    pub fn spec<T: std::any::Any>(&self) -> Option<&T> {
        self.spec.downcast_ref()
    }
}

impl StepAction {
    /// The spec a registered kind built, if this is one of its actions and the spec is a `T`
    /// (one downcast, so each kind's methods do not repeat the match).
    pub fn kind_spec<T: std::any::Any>(&self) -> Option<&T> {
        match self {
            StepAction::Kind(k) => k.spec::<T>(),
            _ => None,
        }
    }
}

impl std::fmt::Debug for KindAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KindAction({})", self.kind)
    }
}

impl StepAction {
    /// The plan-file name of this kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StepAction::Approval => "approval",
            StepAction::Manual { .. } => "manual",
            StepAction::Check { .. } => "check",
            StepAction::Wait { .. } => "wait",
            StepAction::HttpCheck(_) => "http.check",
            StepAction::HttpRequest(_) => "http.request",
            StepAction::Command(_) => "command",
            StepAction::Qovery(q) => q.op.kind_name(),
            StepAction::Postgres(p) => p.kind_name(),
            StepAction::Scaleway(_) => "scaleway.promote_replica",
            StepAction::Dns(d) => d.op.kind_name(),
            StepAction::SetImage(_) => "qovery.set_image",
            StepAction::Kind(k) => k.kind,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub url: String,
    pub expect_status: Vec<u16>,
    pub body_contains: Option<String>,
    /// Keep checking every `interval` until it passes or `timeout` runs out.
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expect_status: Vec<u16>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    /// Secrets for the child's environment (registered with the redactor at load).
    pub secret_env: Vec<(String, String)>,
    /// Pass the cockpit's whole environment (default: a minimal one).
    pub inherit_env: bool,
    pub timeout: Duration,
}

/// A `qovery.*` step, resolved against the plan's sites when the plan is loaded
/// (`crate::steps::qovery::build`).
#[derive(Debug, Clone)]
pub struct QoveryStep {
    pub op: QoveryOp,
    /// The site whose environment the step acts on (`None` when `environment` was given).
    pub site: Option<SiteId>,
    /// The Qovery environment id. With `environment_name`, the plan's environment whose
    /// project the name is looked up in (never acted on: run and preflight act on the id found).
    pub environment: String,
    /// `environment_name`: the environment to act on, looked up by name in the plan's project
    /// when the step runs (a drill environment cloned earlier in the same plan).
    pub environment_name: Option<String>,
    /// The site's Qovery cluster id (preflight checks it is deployed).
    pub cluster: Option<String>,
    /// The API base URL from the plan (what review mode shows; `QOVERY_API_URL` may override it).
    pub api_url: String,
    /// `Token` or `Bearer`: the plan's `auth`, or chosen from the plan's token like the CLI.
    pub auth_scheme: &'static str,
    /// Follow the deployment to a terminal state (default true).
    pub wait: bool,
    /// On a 409 (operation in progress; nothing was started), wait until the environment is
    /// idle and send the action again (default false: report the 409 and let the operator retry).
    pub wait_if_busy: bool,
    /// First poll after this, then every this (the official CLI: 3 s).
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub enum QoveryOp {
    /// `qovery.deploy`: every service of the environment to its latest version.
    Deploy,
    /// `qovery.redeploy`: re-apply the current versions.
    Redeploy,
    /// `qovery.stop`.
    Stop,
    /// `qovery.deploy_services`: selected services (names or ids), optionally with an image tag
    /// for the containers.
    DeployServices {
        services: Vec<String>,
        tag: Option<String>,
    },
    /// `qovery.set_variables`: create or edit environment-scope variables and secrets.
    SetVariables {
        variables: Vec<QoveryVariable>,
        /// Create the ones that do not exist (otherwise a missing one is an error).
        create_missing: bool,
    },
}

impl QoveryOp {
    pub fn kind_name(&self) -> &'static str {
        match self {
            QoveryOp::Deploy => "qovery.deploy",
            QoveryOp::Redeploy => "qovery.redeploy",
            QoveryOp::Stop => "qovery.stop",
            QoveryOp::DeployServices { .. } => "qovery.deploy_services",
            QoveryOp::SetVariables { .. } => "qovery.set_variables",
        }
    }
}

/// One variable of `qovery.set_variables`. Secret values are never shown.
#[derive(Debug, Clone, PartialEq)]
pub struct QoveryVariable {
    pub key: String,
    pub value: String,
    pub secret: bool,
}

/// What a DNS step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsOp {
    /// Point the record at a site through the provider (idempotent REPLACE/UPSERT).
    Switch,
    /// Wait until every authoritative nameserver answers the site's target with one serial,
    /// then count down the old TTL.
    Verify,
}

impl DnsOp {
    pub fn kind_name(self) -> &'static str {
        match self {
            DnsOp::Switch => "dns.switch",
            DnsOp::Verify => "dns.verify",
        }
    }
}

/// A `dns.switch` or `dns.verify` step, with the plan's `[dns]` section copied in so that
/// review mode can describe it without the plan.
#[derive(Debug, Clone)]
pub struct DnsAction {
    pub op: DnsOp,
    pub config: DnsConfig,
    /// The site the record must point at.
    pub to: SiteId,
    /// That site's `dns_target`.
    pub target: String,
    /// The other site's `dns_target`, to name what the record points at now.
    pub other_target: Option<String>,
    /// switch: the TTL to set (`None` keeps the current one).
    pub ttl: Option<u32>,
    /// verify: how often the nameservers are asked.
    pub interval: Duration,
    /// verify: how long to wait for every nameserver to agree.
    pub wait: Duration,
    /// verify: count down the old TTL after every nameserver answers the new target.
    pub countdown: bool,
    /// verify: what the `dns.switch` before it set, from the journal (the runtime fills it in
    /// when it runs the step, so a resumed cockpit has it too).
    pub switched: Option<SwitchMark>,
}

/// What a `dns.switch` left for `dns.verify` and the DNS panel: the TTL resolvers may still
/// hold, and when every nameserver first answered the new target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SwitchMark {
    pub target: String,
    pub old_ttl: Option<u32>,
    pub switched_at: chrono::DateTime<chrono::Utc>,
    pub converged_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A `postgres.*` step (see `crate::steps::postgres`).
#[derive(Debug, Clone)]
pub enum PostgresStep {
    Promote(Promote),
    Fence(Fence),
}

/// Promote the standby of `site` (its `database.postgres`). The other site's server, when
/// configured, gives the lag at promotion (RPO evidence).
#[derive(Debug, Clone)]
pub struct Promote {
    pub site: SiteId,
    /// `pg_promote(true, wait_seconds)`.
    pub wait_seconds: u32,
}

/// Fence the old primary of `site` (its `database.postgres`).
#[derive(Debug, Clone)]
pub struct Fence {
    pub site: SiteId,
    pub terminate_sessions: bool,
}

impl PostgresStep {
    pub fn kind_name(&self) -> &'static str {
        match self {
            PostgresStep::Promote(_) => "postgres.promote",
            PostgresStep::Fence(_) => "postgres.fence",
        }
    }
    pub fn site(&self) -> SiteId {
        match self {
            PostgresStep::Promote(p) => p.site,
            PostgresStep::Fence(f) => f.site,
        }
    }
}

/// A `scaleway.promote_replica` step (see `crate::steps::scaleway`).
#[derive(Debug, Clone)]
pub struct PromoteReplica {
    pub api_url: String,
    pub region: String,
    pub read_replica_id: String,
    /// Instead of `read_replica_id` (then empty): promote the one read replica this Database
    /// Instance has when the step runs (a failback promotes the replica it just created).
    pub instance_id: Option<String>,
    /// Secret key (resolved; registered with the redactor by the loader).
    pub token: String,
    /// How long to wait for the instance to become `ready`.
    pub ready_timeout: Duration,
}

/// A `qovery.set_image` step.
#[derive(Debug, Clone)]
pub struct SetImage {
    /// The site whose environment's containers change (default `dr`).
    pub site: SiteId,
    /// Its Qovery environment id.
    pub environment: String,
    /// Services of `[images]` to repoint (default: all of them).
    pub services: Vec<String>,
    /// The Qovery container registry id of the DR registry (`None`: found by URL host).
    pub registry_id: Option<String>,
    /// The plan's Qovery API URL (review mode shows it).
    pub api_url: String,
    /// The site's registry URL (what the images are checked against).
    pub registry_url: String,
    /// The namespace swap applied to repository names (prod, dr), for review mode.
    pub namespaces: (Option<String>, Option<String>),
}
