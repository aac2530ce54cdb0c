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

/// One `[[step]]`: every key some kind takes, so that a key no kind takes is refused here with
/// a suggestion. Which keys apply depends on `kind` (the registry line of the kind lists them);
/// validation names a key that does not apply, and the schema has one branch per kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub timeout: Option<String>,
    /// `prod` or `dr`: the site this step acts on.
    #[serde(default)]
    pub site: Option<String>,
    /// manual: what the operator must do.
    #[serde(default)]
    pub instructions: Option<String>,
    /// check / wait: conditions that must all hold.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// http.check / http.request.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub expect_status: Option<Vec<u16>>,
    #[serde(default)]
    pub body_contains: Option<String>,
    /// How often to poll: http.check, qovery deploy-like kinds, dns.verify.
    #[serde(default)]
    pub interval: Option<String>,
    /// command: the program and its arguments (no shell).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// command: secrets passed in the child's environment, by reference:
    /// `secret_env = { TOKEN = "${env:X}" }` (never on the command line, where `ps` shows them).
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// command: give the child the cockpit's whole environment (default false: only PATH, HOME,
    /// LANG, TZ, USER and TERM, plus `env` and `secret_env`).
    #[serde(default)]
    pub inherit_env: Option<bool>,
    // qovery.*
    /// qovery.*: the Qovery environment id to act on (default: the environment of `site`).
    #[serde(default)]
    pub environment: Option<String>,
    /// qovery.deploy_services: the services to deploy, by name (or id).
    #[serde(default)]
    pub services: Vec<String>,
    /// qovery.deploy_services: the image tag to deploy the containers with.
    #[serde(default)]
    pub tag: Option<String>,
    /// qovery.set_variables: environment variables to edit, `KEY = "value"`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// qovery.set_variables: secrets to edit, by reference: `KEY = "${env:X}"`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// qovery.set_variables: create variables that do not exist yet (default false: they must exist).
    #[serde(default)]
    pub create_missing: Option<bool>,
    /// qovery.deploy / redeploy / stop / deploy_services: follow the deployment to its end
    /// (default true; `interval` sets the poll interval, default 3s like the official CLI).
    #[serde(default)]
    pub wait: Option<bool>,
    /// qovery.deploy / redeploy / stop / deploy_services: on a 409 "operation in progress", wait
    /// until the environment is idle and send the action again (default false).
    #[serde(default)]
    pub wait_if_busy: Option<bool>,
    // postgres.* / scaleway.*
    /// postgres.promote: seconds `pg_promote(true, N)` waits (default 60).
    #[serde(default)]
    pub wait_seconds: Option<u32>,
    /// postgres.fence: also terminate every client session (default false).
    #[serde(default)]
    pub terminate_sessions: Option<bool>,
    /// scaleway.promote_replica: region, e.g. `fr-par`.
    #[serde(default)]
    pub region: Option<String>,
    /// scaleway.promote_replica: the read replica's UUID.
    #[serde(default)]
    pub read_replica_id: Option<String>,
    /// scaleway.promote_replica: secret key, by reference: `${env:SCW_SECRET_KEY}`.
    #[serde(default)]
    pub token: Option<String>,
    /// scaleway.promote_replica: API base URL (default `https://api.scaleway.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    // dns.*
    /// dns.switch: the TTL to set in seconds (default: keep the current TTL).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// dns.verify: count down the old TTL once every nameserver answers the new target (default true).
    #[serde(default)]
    pub countdown: Option<bool>,
    // qovery.set_image
    /// qovery.set_image: the Qovery container registry id of the DR registry (default: the
    /// organization's registry whose URL has the host of `[sites.dr] registry.url`).
    #[serde(default)]
    pub registry_id: Option<String>,
    // postgres.restore_check (issue 16 §3, the monthly backup-restore test)
    /// postgres.restore_check: libpq URL of the server to restore on, as a role that may
    /// CREATE/DROP DATABASE, by reference: `${env:RESTORE_PG_URL}`.
    #[serde(default)]
    pub admin_url: Option<String>,
    /// postgres.restore_check: path of the custom-format dump (`pg_dump -Fc`) to restore; may be
    /// a `${cmd:…}` printing it, or the file `command` fetches to.
    #[serde(default)]
    pub dump: Option<String>,
    /// postgres.restore_check: the scratch database restored into and dropped afterwards
    /// (default `drcockpit_restore_check`); never a database the plan's sites name.
    #[serde(default)]
    pub scratch_database: Option<String>,
    /// postgres.restore_check: least row count per table, `"public.orders" = 1000` (at least 1).
    #[serde(default)]
    pub min_rows: BTreeMap<String, u64>,
    /// postgres.restore_check: freshness, `"public.orders.updated_at" = "26h"`: max(column) must
    /// be at most that old.
    #[serde(default)]
    pub max_age: BTreeMap<String, String>,
    /// postgres.restore_check: tables whose content checksum (order-independent md5) is compared.
    #[serde(default)]
    pub checksum_tables: Vec<String>,
    /// postgres.restore_check: the expected checksum of `checksum_tables`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// postgres.restore_check: compare the checksum with this server's (read-only), by reference.
    #[serde(default)]
    pub checksum_source: Option<String>,
    // notify.slack / notify.teams / notify.pagerduty / notify.opsgenie (one block, engineer `notify`)
    /// notify.*: a failed notification stops the checklist (default false: it is logged, the
    /// step ends "NOT SENT" and the checklist goes on).
    #[serde(default)]
    pub required: Option<bool>,
    /// notify.pagerduty: `trigger` (default), `acknowledge` or `resolve`; notify.opsgenie:
    /// `create` (default) or `close`.
    #[serde(default)]
    pub action: Option<String>,
    /// notify.pagerduty: the Events API v2 integration key, by reference: `${env:PD_ROUTING_KEY}`.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// notify.opsgenie: the API integration key (sent as `GenieKey …`), by reference:
    /// `${env:OPSGENIE_API_KEY}`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// notify.*: the message, a template over the plan and journal (`{plan}`, `{prod}`, `{dr}`,
    /// `{elapsed}`, `{rto}`, `{done}`, `{failed}`, `{operator}`, `{link}`…).
    #[serde(default)]
    pub message: Option<String>,
    /// notify.*: a link for the people notified (runbook, incident channel, dashboard): a template.
    #[serde(default)]
    pub link: Option<String>,
    /// notify.pagerduty: `critical` (default), `error`, `warning` or `info`.
    #[serde(default)]
    pub severity: Option<String>,
    /// notify.opsgenie: `P1` (default) to `P5`.
    #[serde(default)]
    pub priority: Option<String>,
    /// notify.pagerduty: the incident's dedup key (a template; default: PagerDuty's, kept in the
    /// journal for a later acknowledge/resolve).
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// notify.opsgenie: the alert's alias, its dedup key (a template; default `drcockpit-{plan}`
    /// slugged; a close without one uses the alias the journal kept).
    #[serde(default)]
    pub alias: Option<String>,
    // postgres.rejoin (issue 16, failback)
    /// postgres.rejoin: the new primary the old one rejoins: `prod`, `dr` (that site's
    /// `database.postgres`) or a PostgreSQL connection URL.
    #[serde(default)]
    pub new_primary: Option<String>,
    /// postgres.rejoin: the rewind command as a list (program, then arguments; no shell), e.g.
    /// `["pg_rewind", "--target-pgdata", "/var/lib/postgresql/data", "--source-server",
    /// "host=db-dr user=postgres", "--write-recovery-conf"]`, or prefixed with `ssh host`.
    #[serde(default)]
    pub rewind_command: Option<Vec<String>>,
    /// postgres.rejoin: the command (a list) that starts the rewound server as a standby.
    #[serde(default)]
    pub start_command: Option<Vec<String>>,
    /// postgres.rejoin: the rejoined server's `application_name` in the new primary's
    /// `pg_stat_replication` (default `walreceiver`, PostgreSQL's own default).
    #[serde(default)]
    pub application_name: Option<String>,
    // qovery.clone_environment / qovery.delete_environment (issue 16 §3, partial drill)
    /// qovery.clone_environment: the new environment's name (e.g. `drill-2026-q4`);
    /// qovery.delete_environment: the environment to delete, looked up by name in the plan's
    /// project when the step runs (or give `environment`, its id).
    #[serde(default)]
    pub name: Option<String>,
    /// qovery.clone_environment: the cluster id the clone goes on (default: `[sites.dr] cluster`).
    #[serde(default)]
    pub cluster: Option<String>,
    // qovery.clone_environment: the rest of the spec's CloneEnvironmentRequest (issue 16 loose
    // ends, engineer cloud)
    /// qovery.clone_environment: the clone's `EnvironmentModeEnum`: `DEVELOPMENT` (default),
    /// `PREVIEW`, `STAGING` or `PRODUCTION`.
    #[serde(default)]
    pub mode: Option<String>,
    /// qovery.clone_environment: apply the project's deployment rules to the clone (default
    /// `false`, the spec's default).
    #[serde(default)]
    pub apply_deployment_rule: Option<bool>,
    // scaleway.create_read_replica (issue 16 §1, failback; engineer `scaleway`), and
    // scaleway.promote_replica's `instance_id`
    /// scaleway.create_read_replica: the UUID of the Database Instance to make a read replica
    /// of; scaleway.promote_replica: instead of `read_replica_id`, promote the one read replica
    /// this instance has when the step runs.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// scaleway.create_read_replica: create the replica in the same availability zone as the
    /// instance's nodes (default false, as the API).
    #[serde(default)]
    pub same_zone: Option<bool>,
    /// scaleway.create_read_replica: the endpoint the replica must have: `direct_access` or
    /// `private_network` (then `private_network_id`); none by default.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// scaleway.create_read_replica: the Private Network of a `private_network` endpoint (UUID).
    #[serde(default)]
    pub private_network_id: Option<String>,
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
