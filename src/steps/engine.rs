//! The kinds the engine drives itself (`approval`, `manual`, `check`, `wait`): they have their
//! own `StepAction` variants because `app::update` matches on them, but they are built,
//! described and registered like every other kind. None of them runs as a task.

use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::StepContext;
use super::registry::{NoKeys, TypedKind};
use crate::plan::StepAction;
use crate::plan::condition::Condition;
use crate::plan::load::{Built, PlanError, StepCx};

fn engine_driven<'a>(action: &StepAction) -> BoxFuture<'a, Result<String, String>> {
    let kind = action.kind_name();
    Box::pin(async move {
        Err(format!(
            "{kind} steps are driven by the engine, not run as tasks"
        ))
    })
}

/// `approval`: a human gate.
pub struct Approval;

impl TypedKind for Approval {
    type Spec = NoKeys;
    type Action = StepAction;
    fn action(a: &StepAction) -> Option<&StepAction> {
        Some(a)
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        super::reverse::same(step)
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["confirm"] })
    }
    fn build(&self, _: NoKeys, _s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        Ok(Built::action(StepAction::Approval))
    }
    fn describe(&self, _action: &StepAction) -> Vec<String> {
        vec!["a human gate: the operator types the confirmation word; operator, host and time are recorded".into()]
    }
    fn is_mutating(&self, _action: &StepAction) -> bool {
        false
    }
    fn has_preflight(&self) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        a: &'a StepAction,
        _c: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        engine_driven(a)
    }
}

/// `manual`: a human task, marked done with a note.
pub struct Manual;

/// The keys of `manual`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualKeys {
    /// manual: what the operator must do.
    #[serde(default)]
    pub instructions: Option<String>,
}

impl TypedKind for Manual {
    type Spec = ManualKeys;
    type Action = StepAction;
    fn action(a: &StepAction) -> Option<&StepAction> {
        Some(a)
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["instructions"] })
    }
    fn build(&self, spec: ManualKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let instructions = match spec.instructions.as_deref() {
            Some(t) if !t.trim().is_empty() => t.to_string(),
            _ => {
                return Err(s.missing(
                    "instructions",
                    "instructions = \"Fence the old primary in the provider console\"",
                ));
            }
        };
        let instructions = s.lit("instructions", &instructions)?;
        Ok(Built::action(StepAction::Manual { instructions }))
    }
    fn describe(&self, action: &StepAction) -> Vec<String> {
        let StepAction::Manual { instructions } = action else {
            return Vec::new();
        };
        let mut v = vec!["a human task; the operator marks it done with a note:".to_string()];
        v.extend(instructions.lines().map(|l| format!("  {l}")));
        v
    }
    fn is_mutating(&self, _action: &StepAction) -> bool {
        false
    }
    fn has_preflight(&self) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        a: &'a StepAction,
        _c: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        engine_driven(a)
    }
}

fn conditions_of(
    s: &StepCx<'_, '_, '_>,
    conditions: &[String],
) -> Result<Vec<Condition>, PlanError> {
    if conditions.is_empty() {
        return Err(s.missing("conditions", "conditions = [\"dr.health.ok\"]"));
    }
    s.conditions("conditions", conditions)
}

/// The keys of `check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckKeys {
    /// check / wait: conditions that must all hold.
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// `check`: conditions that must hold now.
pub struct Check;

impl TypedKind for Check {
    type Spec = CheckKeys;
    type Action = StepAction;
    fn action(a: &StepAction) -> Option<&StepAction> {
        Some(a)
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["conditions"] })
    }
    fn build(&self, spec: CheckKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        Ok(Built::action(StepAction::Check {
            conditions: conditions_of(s, &spec.conditions)?,
        }))
    }
    fn describe(&self, action: &StepAction) -> Vec<String> {
        let StepAction::Check { conditions } = action else {
            return Vec::new();
        };
        conditions
            .iter()
            .map(|c| format!("check {}", c.text))
            .collect()
    }
    fn is_mutating(&self, _action: &StepAction) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        a: &'a StepAction,
        _c: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        engine_driven(a)
    }
}

/// The keys of `wait`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitKeys {
    /// check / wait: conditions that must all hold.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// How long the conditions may take to hold (default 10m).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// `wait`: conditions that must come to hold within `timeout`.
pub struct Wait;

impl TypedKind for Wait {
    type Spec = WaitKeys;
    type Action = StepAction;
    fn action(a: &StepAction) -> Option<&StepAction> {
        Some(a)
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["conditions"] })
    }
    fn build(&self, spec: WaitKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let conditions = conditions_of(s, &spec.conditions)?;
        let timeout = s
            .duration("timeout", &spec.timeout)?
            .unwrap_or(Duration::from_secs(600));
        let timeout = s.positive("timeout", timeout)?;
        Ok(Built::action(StepAction::Wait {
            conditions,
            timeout,
        }))
    }
    fn describe(&self, action: &StepAction) -> Vec<String> {
        let StepAction::Wait {
            conditions,
            timeout,
        } = action
        else {
            return Vec::new();
        };
        let mut v: Vec<String> = conditions
            .iter()
            .map(|c| format!("wait until {}", c.text))
            .collect();
        v.push(format!(
            "give up after {}",
            crate::plan::units::fmt_duration(*timeout)
        ));
        v
    }
    fn is_mutating(&self, _action: &StepAction) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        a: &'a StepAction,
        _c: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        engine_driven(a)
    }
}
