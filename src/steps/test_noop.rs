//! `test.noop`: a step kind that does nothing, built only for the unit tests. It exists to show
//! (and to keep showing) that a kind is one module plus one line in `registry::KINDS`: its
//! keys are its spec, its action its own type; no `StepAction` variant, no field in `RawStep`,
//! no case in the loader or the engine.

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;

use super::StepContext;
use super::registry::TypedKind;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{KindAction, StepAction};

/// The keys a `test.noop` step takes (besides the common ones).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoopKeys {
    /// How long doing nothing may take.
    #[serde(default)]
    pub timeout: Option<String>,
}

/// What a built `test.noop` step carries.
pub struct NoopAction {
    id: String,
}

pub struct Noop;

impl TypedKind for Noop {
    type Spec = NoopKeys;
    type Action = NoopAction;
    fn build(&self, spec: NoopKeys, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let timeout = s.duration("timeout", &spec.timeout)?;
        let id = s.id().to_string();
        let action = StepAction::Kind(KindAction::new("test.noop", NoopAction { id }));
        Ok(Built { action, timeout })
    }
    fn describe(&self, a: &NoopAction) -> Vec<String> {
        vec![format!("nothing (test.noop step {})", a.id)]
    }
    fn is_mutating(&self, _: &NoopAction) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        _: &'a NoopAction,
        _: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async { Ok("did nothing".to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::plan::LoadOptions;
    use crate::steps::{self, StepContext};

    const PLAN: &str = r#"
[plan]
name = "noop"
strategy = "active-active"
rto = "5m"
rpo = "0"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "nothing"
title = "Do nothing"
kind = "test.noop"
timeout = "7s"
"#;

    #[tokio::test]
    async fn a_registered_kind_loads_describes_and_runs() {
        let plan = steps::load_str(PLAN, "noop.toml", &LoadOptions::default()).expect("loads");
        let step = &plan.steps[0];
        assert_eq!(step.action.kind_name(), "test.noop");
        assert_eq!(
            steps::describe(&step.action),
            ["nothing (test.noop step nothing)"]
        );
        assert!(!steps::is_mutating(&step.action));
        assert_eq!(steps::timeout_of(step), Duration::from_secs(7));
        assert_eq!(steps::role_of("test.noop"), None);
        assert!(steps::schema_json().contains("\"test.noop\""));
        let ctx = StepContext::read_only(Arc::new(plan.clone()), 0, steps::StepSink::discard());
        assert_eq!(
            steps::run(&step.action, ctx).await.as_deref(),
            Ok("did nothing")
        );
    }

    #[test]
    fn a_key_it_does_not_take_is_refused_like_any_kind() {
        let text = PLAN.replace("timeout = \"7s\"", "url = \"https://x.example.com\"");
        let e = steps::load_str(&text, "noop.toml", &LoadOptions::default()).expect_err("url");
        assert!(
            e.message
                .contains("`url` does not apply to a test.noop step"),
            "{e}"
        );
    }
}
