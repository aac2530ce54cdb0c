//! The plan file exactly as written in TOML (format v1). `deny_unknown_fields` everywhere so a
//! misspelt key is an error with a suggestion, never silently ignored. `drcockpit schema` prints
//! the JSON schema of [`PlanFile`]. Validation and conversion into [`super::Plan`] live in `load`.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A drcockpit plan file (format v1).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Plan format version; `1` if omitted.
    #[serde(default)]
    pub version: Option<u32>,
    pub plan: PlanMeta,
    #[serde(default)]
    pub qovery: Option<Qovery>,
    pub sites: Sites,
    #[serde(default)]
    pub images: Option<Images>,
    #[serde(default)]
    pub dns: Option<Dns>,
    #[serde(default)]
    pub probes: Option<Probes>,
    /// Where the plan's lock and journals live (shared by everyone who drives it).
    #[serde(default)]
    pub journal: Option<JournalSection>,
    /// Issue 13: milestones to a webhook (read by `crate::notify`, live mode only).
    #[serde(default)]
    pub notify: Option<NotifySection>,
    /// Issue 16: what the DR environment may differ from prod in (the Parity row).
    #[serde(default)]
    pub parity: Option<ParitySection>,
    /// The checklist, in order.
    #[serde(default, rename = "step")]
    #[schemars(with = "Vec<RawStep>")]
    pub steps: Vec<toml::Spanned<RawStep>>,
}

/// `[journal]`: where the plan's lock and journals live.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalSection {
    /// An absolute directory shared by everyone who drives this plan (e.g.
    /// `/var/lib/drcockpit`); it comes before `DRCOCKPIT_STATE_DIR` and the defaults.
    #[serde(default)]
    pub dir: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanMeta {
    /// Shown in the header, e.g. `shop: Scaleway fr-par → AWS eu-west-1`.
    pub name: String,
    /// `backup-restore`, `pilot-light`, `warm-standby` or `active-active`.
    pub strategy: String,
    /// Recovery time objective, e.g. `30m`.
    pub rto: String,
    /// Recovery point objective, e.g. `5m`.
    pub rpo: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Qovery {
    /// API token; write it as a reference (`${env:QOVERY_API_TOKEN}`), never in the file.
    pub token: String,
    pub organization: String,
    /// Defaults to `https://api.qovery.com`; `QOVERY_API_URL` overrides it.
    #[serde(default)]
    pub api_url: Option<String>,
    /// `token` (API tokens) or `bearer` (JWTs); chosen from the token's shape when omitted.
    #[serde(default)]
    pub auth: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sites {
    pub prod: Site,
    pub dr: Site,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Shown as the panel title, e.g. `Production · Scaleway fr-par`.
    pub label: String,
    /// Qovery cluster id.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Qovery environment id.
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub database: Option<Database>,
    #[serde(default)]
    pub registry: Option<Registry>,
    /// What the DNS record points at when this site serves traffic.
    #[serde(default)]
    pub dns_target: Option<String>,
    /// Health URL (string) or a table with `url`, `expect_status`, `timeout`.
    #[serde(default)]
    pub health: Option<Health>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Health {
    Url(String),
    Full(HealthFull),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthFull {
    pub url: String,
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// libpq connection URL, by reference: `${env:DR_PG_URL}`.
    #[serde(default)]
    pub postgres: Option<String>,
    #[serde(default)]
    pub prometheus: Option<Prometheus>,
    /// Largest acceptable replication lag, e.g. `16MiB`.
    #[serde(default)]
    pub max_lag: Option<String>,
    /// Largest acceptable age of the last replayed transaction, e.g. `5m`.
    #[serde(default)]
    pub max_replay_age: Option<String>,
    /// SQL returning the last backup time as one timestamptz.
    #[serde(default)]
    pub backup_age_query: Option<String>,
    #[serde(default)]
    pub max_backup_age: Option<String>,
    // Cloud metric sources beside `prometheus` (issue 16 §5, engineer metrics).
    /// Lag and backup age from CloudWatch `GetMetricData` (RDS `ReplicaLag`, …).
    #[serde(default)]
    pub cloudwatch: Option<CloudWatch>,
    /// Lag and backup age from Datadog metrics queries.
    #[serde(default)]
    pub datadog: Option<Datadog>,
}

/// `[sites.<site>.database.cloudwatch]`: CloudWatch `GetMetricData`, SigV4-signed with the AWS
/// credential chain (environment, shared file, EC2 instance role).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudWatch {
    /// AWS region of the metrics, e.g. `eu-west-3`.
    pub region: String,
    /// Default `https://monitoring.<region>.amazonaws.com` (set for a VPC endpoint or the simulator).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// RDS `DBInstanceIdentifier`: the dimension of every metric that names none.
    #[serde(default)]
    pub db_instance: Option<String>,
    /// Seconds per datapoint (`Period`), default `60s` (RDS publishes every minute).
    #[serde(default)]
    pub period: Option<String>,
    /// A latest datapoint older than this is an error (default `5m`).
    #[serde(default)]
    pub max_age: Option<String>,
    /// Bytes behind, e.g. `{ metric = "OldestReplicationSlotLag" }`.
    #[serde(default)]
    pub lag: Option<CloudWatchMetric>,
    /// Seconds of replay lag, e.g. `{ metric = "ReplicaLag" }`.
    #[serde(default)]
    pub replay_age: Option<CloudWatchMetric>,
    /// Bytes of WAL kept on disk, e.g. `{ metric = "TransactionLogsDiskUsage" }`.
    #[serde(default)]
    pub wal_disk: Option<CloudWatchMetric>,
    /// Seconds since the last backup, or its Unix timestamp (a team's own metric).
    #[serde(default)]
    pub backup_age: Option<CloudWatchMetric>,
}

/// One CloudWatch metric: namespace (default `AWS/RDS`), name, dimensions (default
/// `DBInstanceIdentifier = db_instance`), statistic (default `Maximum`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchMetric {
    #[serde(default)]
    pub namespace: Option<String>,
    pub metric: String,
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub stat: Option<String>,
}

/// `[sites.<site>.database.datadog]`: Datadog `GET /api/v1/query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Datadog {
    /// `datadoghq.com` (default), `datadoghq.eu`, `us3.datadoghq.com`, `us5.datadoghq.com`,
    /// `ap1.datadoghq.com`, `ddog-gov.com`.
    #[serde(default)]
    pub site: Option<String>,
    /// Overrides `https://api.<site>` (a proxy or the simulator).
    #[serde(default)]
    pub api_url: Option<String>,
    /// By reference: `${env:DD_API_KEY}`.
    pub api_key: String,
    /// By reference: `${env:DD_APP_KEY}`.
    pub app_key: String,
    /// How far back each query looks (default `10m`).
    #[serde(default)]
    pub window: Option<String>,
    /// A latest point older than this is an error (default `5m`).
    #[serde(default)]
    pub max_age: Option<String>,
    /// Query answering bytes behind, e.g. `max:aws.rds.oldest_replication_slot_lag{dbinstanceidentifier:app-dr}`.
    #[serde(default)]
    pub lag_query: Option<String>,
    /// Query answering seconds of replay lag, e.g. `max:aws.rds.replica_lag{…}`.
    #[serde(default)]
    pub replay_age_query: Option<String>,
    /// Query answering bytes of WAL on disk, e.g. `max:aws.rds.transaction_logs_disk_usage{…}`.
    #[serde(default)]
    pub wal_disk_query: Option<String>,
    /// Query answering the last backup's age in seconds, or its Unix timestamp.
    #[serde(default)]
    pub backup_age_query: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    pub url: String,
    /// PromQL answering the replication lag in bytes (e.g. postgres_exporter's
    /// `pg_replication_lag_bytes`); the largest series wins.
    #[serde(default)]
    pub lag_query: Option<String>,
    /// PromQL answering the replay lag in seconds (e.g. CloudWatch's RDS `ReplicaLag`, or
    /// `time() - pg_last_xact_replay_timestamp`): the time-based RPO.
    #[serde(default)]
    pub replay_age_query: Option<String>,
    /// PromQL answering the last backup's age in seconds, or its Unix timestamp.
    #[serde(default)]
    pub backup_age_query: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    /// By reference: `${env:SCW_SECRET_KEY}` or `${cmd:aws ecr get-login-password}`.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ca_bundle: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Images {
    /// Service names; tags come from the prod Qovery containers unless pinned in `pin`.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub pin: Vec<ImagePin>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePin {
    pub service: String,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub dr_repository: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Fully qualified record name, e.g. `shop.example.com.`.
    pub record: String,
    /// `A`, `AAAA` or `CNAME`.
    #[serde(rename = "type")]
    pub record_type: String,
    #[serde(default)]
    pub zone: Option<String>,
    /// Authoritative nameservers, asked directly with recursion off.
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub provider: Option<DnsProvider>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum DnsProvider {
    Powerdns {
        api_url: String,
        api_key: String,
        #[serde(default)]
        server: Option<String>,
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    /// Refresh interval of every probe, e.g. `5s`.
    #[serde(default)]
    pub interval: Option<String>,
    /// A value older than this many intervals is stale (default 3).
    #[serde(default)]
    pub stale_after: Option<u32>,
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// One `[[step]]`: the keys every step takes, and the rest of its table. The rest is the kind's
/// own keys: each kind declares them as a typed spec in its module (`crate::steps::registry`'s
/// `TypedKind::Spec`), and the loader refuses a key no kind takes (with a suggestion), names the
/// kinds a key is for when it does not apply to this one, and deserializes the rest into the
/// kind's spec with every error pointing at its key.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RawStep {
    /// Unique id, used by `--resume` and in the journal.
    pub id: String,
    pub title: String,
    /// The step kind: one of the registry's (`crate::steps::registry::KINDS`, listed in
    /// docs/plan-format.md and as an enum in `drcockpit schema`).
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Preconditions such as `dr.database.lag < 16MiB`.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The word the operator types to confirm (required for approval steps).
    #[serde(default)]
    pub confirm: Option<String>,
    /// `prod` or `dr`: the site this step acts on.
    #[serde(default)]
    pub site: Option<String>,
    /// The kind's own keys, as written (the loader checks and deserializes them).
    #[serde(flatten)]
    #[schemars(skip)]
    pub rest: toml::Table,
}

impl RawStep {
    /// The kind's keys as its spec `T` (for building a step outside the loader, e.g. in tests;
    /// the loader deserializes from the spanned document so that errors point at the key).
    pub fn spec<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        T::deserialize(toml::Value::Table(self.rest.clone()))
            .map_err(|e| e.message().trim().to_string())
    }
}

/// `[notify]` as written in the plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// The incoming webhook, normally a secret reference: `${env:SLACK_WEBHOOK_URL}`.
    pub url: String,
    /// `slack` (default), `teams` or `json` (a generic JSON object per milestone).
    #[serde(default)]
    pub format: Option<String>,
    /// How long one post may take (default `5s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Template for the declaration.
    #[serde(default)]
    pub declared: Option<String>,
    /// Template for a step that succeeded.
    #[serde(default)]
    pub step_finished: Option<String>,
    /// Template for a step that failed.
    #[serde(default)]
    pub step_failed: Option<String>,
    /// Template for a hand-over.
    #[serde(default)]
    pub hand_over: Option<String>,
    /// Template for the end of the checklist.
    #[serde(default)]
    pub done: Option<String>,
}

/// `[parity]` as written in the plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParitySection {
    /// DR may run scaled down: its CPU, memory and instances must be at least prod's times this
    /// ratio (0 < ratio <= 1; default 1, the same as prod).
    #[serde(default)]
    pub scale_down: Option<f64>,
    /// Accepted differences: `service:NAME`, `variable:NAME`, `secret:NAME`, `image:NAME`,
    /// `resources:NAME`.
    #[serde(default)]
    pub ignore: Vec<String>,
}
