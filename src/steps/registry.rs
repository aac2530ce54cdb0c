//! The step registry: every step kind this build implements, one line each in [`KINDS`].
//!
//! A kind is a module with a type implementing [`StepKind`] (building its action from the plan,
//! describing it for review mode, its read-only preflight, running it, its default timeout and
//! whether it mutates) plus one [`Kind`] line here (its plan-file name, the keys it takes, its
//! report role). The loader (through [`plan::Catalog`]), the engine (`steps::describe`, `run`,
//! …), `drcockpit schema` and the report all ask this table; nothing else lists kinds.

use std::time::Duration;

use futures::future::BoxFuture;

use super::{
    StepContext, command, dns, engine, http, images, notify, postgres, qovery, rejoin,
    restore_check, scaleway,
};
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, Catalog, PlanError, StepCx};
use crate::plan::{self, Plan, StepAction};

/// What a kind's passing step means to the after-action report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Proves the service works at the new site (ends the RTO window once traffic moved).
    Verification,
    /// Promotes a database (the RPO evidence point).
    Promotion,
    /// Moves the traffic (starts the window a verification closes).
    TrafficSwitch,
}

/// The behaviour of a kind (or of a family of kinds sharing a module). Every method but
/// `build` receives an action this kind built.
pub trait StepKind: Sync {
    /// Build the step's action from its keys (already checked against [`Kind::keys`]).
    fn build(&self, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError>;
    /// Exactly what the step would do, one line per entry, for review mode and the detail pane.
    /// Secrets are still in these strings: the UI redacts everything it draws.
    fn describe(&self, action: &StepAction) -> Vec<String>;
    /// Does running it change the world? Mutating steps need a confirmation and are never
    /// retried automatically.
    fn is_mutating(&self, _action: &StepAction) -> bool {
        true
    }
    /// The overall timeout when the plan sets none.
    fn default_timeout(&self, _action: &StepAction) -> Duration {
        Duration::from_secs(600)
    }
    /// Whether review mode runs a preflight for it (human gates have none).
    fn has_preflight(&self) -> bool {
        true
    }
    /// Read-only checks that show, in review mode, whether the step could run now.
    fn preflight<'a>(
        &'a self,
        _action: &'a StepAction,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async { Vec::new() })
    }
    /// Run it to completion: `Ok` carries a one-line summary, `Err` the reason. The caller
    /// applies the overall timeout.
    fn run<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>>;
    /// Take what earlier steps handed over through the journal (their output lines, as
    /// `(stream, text)`, oldest first) before the step runs: e.g. `dns.verify` reads what
    /// `dns.switch` set. The runtime calls it with the journal-derived state, so `--resume` keeps
    /// it.
    fn hand_off(&self, _action: &mut StepAction, _outputs: &[(&str, &str)]) {}
    /// Like [`StepKind::hand_off`] with the whole journal (every record, evidence included):
    /// `notify.*` reads the clock, the steps done and failed, and the dedup key an earlier
    /// `notify.pagerduty` trigger journaled.
    fn hand_off_records(&self, _action: &mut StepAction, _records: &[crate::journal::Record]) {}
    /// What the kind's branch of the JSON schema adds to the keys' own schemas (enums,
    /// required keys): merged into the branch's `then`.
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({})
    }
    /// What undoes a step of this kind in a failback plan (`drcockpit reverse`): the step
    /// tables to write instead of `step` (as written in the failover plan), or `None` when the
    /// kind knows no reverse (the skeleton then says `# TODO:`).
    fn reverse(&self, _step: &toml::Table) -> Option<Vec<toml::Table>> {
        None
    }
}

/// One line of the registry.
pub struct Kind {
    /// The plan-file name (`kind = "dns.switch"`).
    pub name: &'static str,
    /// The keys it takes besides [`plan::load::COMMON_KEYS`].
    pub keys: &'static [&'static str],
    pub role: Option<Role>,
    pub imp: &'static dyn StepKind,
}

impl Kind {
    const fn new(
        name: &'static str,
        keys: &'static [&'static str],
        role: Option<Role>,
        imp: &'static dyn StepKind,
    ) -> Kind {
        Kind {
            name,
            keys,
            role,
            imp,
        }
    }
}

use Role::*;

/// Every kind, in documentation order (the order `unknown kind` lists them in).
#[rustfmt::skip]
pub const KINDS: &[Kind] = &[
    Kind::new("approval", &[], None, &engine::Approval),
    Kind::new("manual", &["instructions"], None, &engine::Manual),
    Kind::new("check", &["conditions"], Some(Verification), &engine::Check),
    Kind::new("wait", &["conditions", "timeout"], Some(Verification), &engine::Wait),
    Kind::new("command", command::KEYS, None, &command::CommandKind),
    Kind::new("http.check", http::CHECK_KEYS, Some(Verification), &http::Check),
    Kind::new("http.request", http::REQUEST_KEYS, None, &http::Request),
    Kind::new("qovery.deploy", qovery::ACTION_KEYS, None, &qovery::Qovery),
    Kind::new("qovery.redeploy", qovery::ACTION_KEYS, None, &qovery::Qovery),
    Kind::new("qovery.stop", qovery::ACTION_KEYS, None, &qovery::Qovery),
    Kind::new("qovery.deploy_services", qovery::SERVICES_KEYS, None, &qovery::Qovery),
    Kind::new("qovery.set_variables", qovery::VARIABLES_KEYS, None, &qovery::Qovery),
    Kind::new("postgres.promote", postgres::PROMOTE_KEYS, Some(Promotion), &postgres::Postgres),
    Kind::new("postgres.fence", postgres::FENCE_KEYS, None, &postgres::Postgres),
    Kind::new("postgres.restore_check", restore_check::KEYS, None, &restore_check::RestoreCheckKind),
    Kind::new("postgres.rejoin", rejoin::KEYS, None, &rejoin::RejoinKind),
    Kind::new("scaleway.promote_replica", scaleway::KEYS, Some(Promotion), &scaleway::Scaleway),
    Kind::new("scaleway.create_read_replica", super::scaleway_replica::KEYS, None, &super::scaleway_replica::CreateReadReplicaKind),
    Kind::new("dns.switch", dns::SWITCH_KEYS, Some(TrafficSwitch), &dns::Dns),
    Kind::new("dns.verify", dns::VERIFY_KEYS, Some(Verification), &dns::Dns),
    Kind::new("qovery.set_image", images::KEYS, None, &images::SetImageKind),
    Kind::new("qovery.clone_environment", qovery::drills::CLONE_KEYS, None, &qovery::drills::CloneEnvironment),
    Kind::new("qovery.delete_environment", qovery::drills::DELETE_KEYS, None, &qovery::drills::DeleteEnvironment),
    Kind::new("notify.slack", notify::WEBHOOK_KEYS, None, &notify::NotifyKind),
    Kind::new("notify.teams", notify::WEBHOOK_KEYS, None, &notify::NotifyKind),
    Kind::new("notify.pagerduty", notify::PAGERDUTY_KEYS, None, &notify::NotifyKind),
    Kind::new("notify.opsgenie", notify::OPSGENIE_KEYS, None, &notify::NotifyKind),
    #[cfg(test)] Kind::new("test.noop", &["timeout"], None, &super::test_noop::Noop),
];

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The kind of an action.
pub fn kind_of(action: &StepAction) -> Option<&'static Kind> {
    find(action.kind_name())
}

/// What a passing step of `kind` means to the report (`None` for an unknown kind or one with no
/// role). `report::roles`' `is_verification` / `is_promotion` / `is_traffic_move` ask this.
pub fn role_of(kind: &str) -> Option<Role> {
    find(kind).and_then(|k| k.role)
}

/// The kinds this build implements, in documentation order.
pub fn known_kinds() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// The registry as the plan loader sees it.
pub struct Registry;

/// The one registry; pass `&REGISTRY` to `plan::load::load_with`.
pub static REGISTRY: Registry = Registry;

/// Fields of the sections whose probes are in this build.
const SECTION_FIELDS: &[(&str, &[&str])] = &[
    ("health", &["ok", "status", "latency"]),
    ("cluster", crate::probes::qovery::CLUSTER_FIELDS),
    ("env", crate::probes::qovery::ENV_FIELDS),
    ("parity", crate::probes::parity::PARITY_FIELDS),
    ("database", crate::probes::database::FIELDS),
    ("images", crate::probes::images::FIELDS),
    (
        "dns",
        &[
            "points_to",
            "serving",
            "ttl",
            "serial_agree",
            "serial",
            "answering",
            "nameservers",
            "target_ready",
            "caches_left",
            "proxied",
        ],
    ),
];

impl Catalog for Registry {
    fn kinds(&self) -> Vec<(&'static str, &'static [&'static str])> {
        KINDS.iter().map(|k| (k.name, k.keys)).collect()
    }
    fn build(&self, kind: &str, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        match find(kind) {
            Some(k) => k.imp.build(s),
            None => Err(s.error("kind", &format!("unknown kind `{kind}`"), vec![], None)),
        }
    }
    fn check_plan(&self, plan: &Plan) -> Option<(usize, String)> {
        postgres::check_sites(plan)
    }
    fn section_fields(&self) -> &'static [(&'static str, &'static [&'static str])] {
        SECTION_FIELDS
    }
    fn check_postgres(&self, conn: &str) -> Result<(), String> {
        crate::clients::postgres::PgTarget::parse(conn)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn qovery_env_overrides(&self) -> bool {
        crate::clients::qovery::env_overrides_enabled()
    }
}

// ---------------------------------------------------------------------------------------------
// Loading a plan with this build's kinds

/// Load a plan file to drive it.
pub fn load_file(path: &std::path::Path, opts: &plan::LoadOptions) -> Result<Plan, PlanError> {
    load_file_with_notes(path, opts).map(|l| l.plan)
}

pub fn load_str(text: &str, origin: &str, opts: &plan::LoadOptions) -> Result<Plan, PlanError> {
    load_str_with_notes(text, origin, opts).map(|l| l.plan)
}

pub fn load_file_with_notes(
    path: &std::path::Path,
    opts: &plan::LoadOptions,
) -> Result<plan::Loaded, PlanError> {
    let text = plan::load::read_plan_file(path)?;
    load_str_with_notes(&text, &path.display().to_string(), opts)
}

pub fn load_str_with_notes(
    text: &str,
    origin: &str,
    opts: &plan::LoadOptions,
) -> Result<plan::Loaded, PlanError> {
    load_checking(text, origin, opts, false)
}

/// `drcockpit check [--strict] PLAN` (see [`plan::load::load_with`]).
pub fn load_checking(
    text: &str,
    origin: &str,
    opts: &plan::LoadOptions,
    strict: bool,
) -> Result<plan::Loaded, PlanError> {
    plan::load::load_with(&REGISTRY, text, origin, opts, strict)
}
