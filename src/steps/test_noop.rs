//! `test.noop`: a step kind that does nothing, built only for the unit tests. It exists to show
//! (and to keep showing) that a kind is one module plus one line in `registry::KINDS`: no
//! `StepAction` variant, no case in the loader or the engine.

use futures::future::BoxFuture;

use super::StepContext;
use super::registry::StepKind;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::{KindAction, StepAction};

pub struct Noop;

impl StepKind for Noop {
    fn build(&self, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let timeout = s.duration("timeout", &s.raw().timeout)?;
        let action = StepAction::Kind(KindAction::new("test.noop", s.id().to_string()));
        Ok(Built { action, timeout })
    }
    fn describe(&self, action: &StepAction) -> Vec<String> {
        let StepAction::Kind(k) = action else {
            return Vec::new();
        };
        let id = k.spec::<String>().map_or("?", String::as_str);
        vec![format!("nothing (test.noop step {id})")]
    }
    fn is_mutating(&self, _action: &StepAction) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        _action: &'a StepAction,
        _ctx: &'a StepContext,
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
