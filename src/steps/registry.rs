//! The step registry: every step kind this build implements, one line each in [`KINDS`].
//!
//! A kind is a module with a type implementing [`StepKind`] (building its action from the plan,
//! describing it for review mode, its read-only preflight, running it, its default timeout and
//! whether it mutates) plus one [`Kind`] line here (its plan-file name, the keys it takes, its
//! report role). The loader (through [`plan::Catalog`]), the engine (`steps::describe`, `run`,
//! …), `drcockpit schema` and the report all ask this table; nothing else lists kinds.

use std::any::Any;
use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::ValueDeserializer;

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

/// A kind as its module writes it: its plan keys as a typed [`TypedKind::Spec`] and its built
/// action as a typed [`TypedKind::Action`]. The registry sees it as a [`StepKind`] through the
/// blanket impl below, which deserializes the spec, hands it to [`TypedKind::build`] and finds
/// the action in a [`StepAction`] (so a kind module never downcasts by hand).
pub trait TypedKind: Sync + 'static {
    /// The keys the kind takes besides [`plan::load::COMMON_KEYS`]:
    /// `#[derive(Deserialize, JsonSchema)] #[serde(deny_unknown_fields)]`, every field optional
    /// (the builder says what is missing, pointing at the step). Its field names are the
    /// registry's key list and its JSON schema the kind's branch of `drcockpit schema`.
    type Spec: DeserializeOwned + JsonSchema + Send + 'static;
    /// What a built step carries: the payload of a [`StepAction::Kind`], or [`StepAction`]
    /// itself for the older kinds that have a variant of their own (they override
    /// [`TypedKind::action`]).
    type Action: Send + Sync + 'static;
    /// This kind's action in a step's action (`None`: another kind's).
    fn action(action: &StepAction) -> Option<&Self::Action> {
        action.kind_spec::<Self::Action>()
    }
    /// Build the step's action from its spec (its keys already checked and typed).
    fn build(&self, spec: Self::Spec, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError>;
    /// Exactly what the step would do, one line per entry, for review mode and the detail pane.
    /// Secrets are still in these strings: the UI redacts everything it draws.
    fn describe(&self, action: &Self::Action) -> Vec<String>;
    /// Does running it change the world? Mutating steps need a confirmation and are never
    /// retried automatically.
    fn is_mutating(&self, _action: &Self::Action) -> bool {
        true
    }
    /// The overall timeout when the plan sets none.
    fn default_timeout(&self, _action: &Self::Action) -> Duration {
        Duration::from_secs(600)
    }
    /// Whether review mode runs a preflight for it (human gates have none).
    fn has_preflight(&self) -> bool {
        true
    }
    /// Read-only checks that show, in review mode, whether the step could run now.
    fn preflight<'a>(
        &'a self,
        _action: &'a Self::Action,
        _ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(async { Vec::new() })
    }
    /// Run it to completion: `Ok` carries a one-line summary, `Err` the reason. The caller
    /// applies the overall timeout.
    fn run<'a>(
        &'a self,
        action: &'a Self::Action,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>>;
    /// Take what earlier steps handed over through the journal (their output lines, as
    /// `(stream, text)`, oldest first) before the step runs: e.g. `dns.verify` reads what
    /// `dns.switch` set. The runtime calls it with the journal-derived state, so `--resume` keeps
    /// it.
    fn hand_off(&self, _action: &mut StepAction, _outputs: &[(&str, &str)]) {}
    /// Like [`TypedKind::hand_off`] with the whole journal (every record, evidence included):
    /// `notify.*` reads the clock, the steps done and failed, and the dedup key an earlier
    /// `notify.pagerduty` trigger journaled.
    fn hand_off_records(&self, _action: &mut StepAction, _records: &[crate::journal::Record]) {}
    /// What the kind's branch of the JSON schema adds to its spec's schema (enums, required
    /// keys): merged into the branch's `then`.
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

/// A kind as the registry, the loader and the engine see it (implemented for every
/// [`TypedKind`]; see there for what each method means).
pub trait StepKind: Sync {
    /// The keys it takes besides [`plan::load::COMMON_KEYS`] (its spec's fields).
    fn keys(&self) -> &'static [&'static str];
    /// The JSON schema of its spec.
    fn spec_schema(&self) -> serde_json::Value;
    /// Deserialize its keys (the step's table without the common keys) into its spec.
    fn parse_spec(&self, de: ValueDeserializer<'_>)
    -> Result<Box<dyn Any + Send>, toml::de::Error>;
    /// Build the step's action from the spec [`StepKind::parse_spec`] made.
    fn build(
        &self,
        spec: Box<dyn Any + Send>,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError>;
    fn describe(&self, action: &StepAction) -> Vec<String>;
    fn is_mutating(&self, action: &StepAction) -> bool;
    fn default_timeout(&self, action: &StepAction) -> Duration;
    fn has_preflight(&self) -> bool;
    fn preflight<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>>;
    fn run<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>>;
    fn hand_off(&self, action: &mut StepAction, outputs: &[(&str, &str)]);
    fn hand_off_records(&self, action: &mut StepAction, records: &[crate::journal::Record]);
    fn schema(&self) -> serde_json::Value;
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>>;
}

impl<T: TypedKind> StepKind for T {
    fn keys(&self) -> &'static [&'static str] {
        fields_of::<T::Spec>()
    }
    fn spec_schema(&self) -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T::Spec)).unwrap_or_default()
    }
    fn parse_spec(
        &self,
        de: ValueDeserializer<'_>,
    ) -> Result<Box<dyn Any + Send>, toml::de::Error> {
        T::Spec::deserialize(de).map(|spec| Box::new(spec) as Box<dyn Any + Send>)
    }
    fn build(
        &self,
        spec: Box<dyn Any + Send>,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError> {
        match spec.downcast::<T::Spec>() {
            Ok(spec) => TypedKind::build(self, *spec, s),
            Err(_) => Err(s.error(
                "kind",
                "internal: the keys were read for another kind",
                vec![],
                None,
            )),
        }
    }
    fn describe(&self, action: &StepAction) -> Vec<String> {
        T::action(action).map_or_else(Vec::new, |a| TypedKind::describe(self, a))
    }
    fn is_mutating(&self, action: &StepAction) -> bool {
        T::action(action).is_none_or(|a| TypedKind::is_mutating(self, a))
    }
    fn default_timeout(&self, action: &StepAction) -> Duration {
        T::action(action).map_or(Duration::from_secs(600), |a| {
            TypedKind::default_timeout(self, a)
        })
    }
    fn has_preflight(&self) -> bool {
        TypedKind::has_preflight(self)
    }
    fn preflight<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        match T::action(action) {
            Some(a) => TypedKind::preflight(self, a, ctx),
            None => Box::pin(async { Vec::new() }),
        }
    }
    fn run<'a>(
        &'a self,
        action: &'a StepAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        match T::action(action) {
            Some(a) => TypedKind::run(self, a, ctx),
            None => {
                let kind = action.kind_name();
                Box::pin(
                    async move { Err(format!("internal: a {kind} action reached another kind")) },
                )
            }
        }
    }
    fn hand_off(&self, action: &mut StepAction, outputs: &[(&str, &str)]) {
        TypedKind::hand_off(self, action, outputs)
    }
    fn hand_off_records(&self, action: &mut StepAction, records: &[crate::journal::Record]) {
        TypedKind::hand_off_records(self, action, records)
    }
    fn schema(&self) -> serde_json::Value {
        TypedKind::schema(self)
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        TypedKind::reverse(self, step)
    }
}

/// The field names serde accepts for `T` (a struct): what its derive passes to
/// `deserialize_struct`, caught by a deserializer that reads nothing.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Grab<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Grab<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("a spec is a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Grab(&mut fields));
    fields
}

/// The spec of a kind that takes no keys of its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoKeys {}

/// One line of the registry: the kind's plan-file name, its report role and its module's
/// [`TypedKind`] (whose spec gives the keys it takes).
pub struct Kind {
    /// The plan-file name (`kind = "dns.switch"`).
    pub name: &'static str,
    pub role: Option<Role>,
    pub imp: &'static dyn StepKind,
}

impl Kind {
    const fn new(name: &'static str, role: Option<Role>, imp: &'static dyn StepKind) -> Kind {
        Kind { name, role, imp }
    }

    /// The keys it takes besides [`plan::load::COMMON_KEYS`].
    pub fn keys(&self) -> &'static [&'static str] {
        self.imp.keys()
    }
}

use Role::*;

/// Every kind, in documentation order (the order `unknown kind` lists them in).
#[rustfmt::skip]
pub const KINDS: &[Kind] = &[
    Kind::new("approval", None, &engine::Approval),
    Kind::new("manual", None, &engine::Manual),
    Kind::new("check", Some(Verification), &engine::Check),
    Kind::new("wait", Some(Verification), &engine::Wait),
    Kind::new("command", None, &command::CommandKind),
    Kind::new("http.check", Some(Verification), &http::Check),
    Kind::new("http.request", None, &http::Request),
    Kind::new("qovery.deploy", None, &qovery::ACTION),
    Kind::new("qovery.redeploy", None, &qovery::ACTION),
    Kind::new("qovery.stop", None, &qovery::ACTION),
    Kind::new("qovery.deploy_services", None, &qovery::DEPLOY_SERVICES),
    Kind::new("qovery.set_variables", None, &qovery::SET_VARIABLES),
    Kind::new("postgres.promote", Some(Promotion), &postgres::PROMOTE),
    Kind::new("postgres.fence", None, &postgres::FENCE),
    Kind::new("postgres.restore_check", None, &restore_check::RestoreCheckKind),
    Kind::new("postgres.rejoin", None, &rejoin::RejoinKind),
    Kind::new("scaleway.promote_replica", Some(Promotion), &scaleway::Scaleway),
    Kind::new("scaleway.create_read_replica", None, &super::scaleway_replica::CreateReadReplicaKind),
    Kind::new("dns.switch", Some(TrafficSwitch), &dns::SWITCH),
    Kind::new("dns.verify", Some(Verification), &dns::VERIFY),
    Kind::new("qovery.set_image", None, &images::SetImageKind),
    Kind::new("qovery.clone_environment", None, &qovery::drills::CloneEnvironment),
    Kind::new("qovery.delete_environment", None, &qovery::drills::DeleteEnvironment),
    Kind::new("notify.slack", None, &notify::WEBHOOK),
    Kind::new("notify.teams", None, &notify::WEBHOOK),
    Kind::new("notify.pagerduty", None, &notify::PAGERDUTY),
    Kind::new("notify.opsgenie", None, &notify::OPSGENIE),
    #[cfg(test)] Kind::new("test.noop", None, &super::test_noop::Noop),
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
        KINDS.iter().map(|k| (k.name, k.keys())).collect()
    }
    fn parse_spec(
        &self,
        kind: &str,
        de: ValueDeserializer<'_>,
    ) -> Option<Result<Box<dyn Any + Send>, toml::de::Error>> {
        find(kind).map(|k| k.imp.parse_spec(de))
    }
    fn build(
        &self,
        kind: &str,
        spec: Box<dyn Any + Send>,
        s: &mut StepCx<'_, '_, '_>,
    ) -> Result<Built, PlanError> {
        match find(kind) {
            Some(k) => k.imp.build(spec, s),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kinds_keys_are_its_spec_fields_in_order() {
        let keys = |name: &str| find(name).map(Kind::keys).unwrap_or_default();
        assert_eq!(keys("approval"), [] as [&str; 0]);
        assert_eq!(keys("wait"), ["conditions", "timeout"]);
        assert_eq!(keys("dns.switch"), ["ttl", "timeout"]);
        assert_eq!(keys("test.noop"), ["timeout"]);
    }

    #[test]
    fn the_qovery_key_lists_for_steps_built_outside_the_loader_match_the_kinds() {
        for (kind, listed) in qovery::KIND_KEYS {
            let mut listed = listed.to_vec();
            let mut typed = find(kind).map(Kind::keys).unwrap_or_default().to_vec();
            listed.sort_unstable();
            typed.sort_unstable();
            assert_eq!(listed, typed, "{kind}");
        }
    }
}
