//! The partial drill's tests (tests/drills.rs, tests/drill_deploy.rs): a two-site plan on the
//! simulator's demo environments, the clone and delete steps, loading, and running one step.

use std::sync::Arc;

use drcockpit::clients::http::HttpClient;
use drcockpit::plan::{LoadOptions, Plan};
use drcockpit::sim::qovery::ids;
use drcockpit::steps;

/// A two-site plan on the simulator's demo environments, with `steps` appended.
pub fn plan_text(url: &str, steps: &str) -> String {
    format!(
        r#"
[plan]
name = "partial drill"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[qovery]
token = "{token}"
organization = "{org}"
api_url = "{url}"

[sites.prod]
label = "Prod"
cluster = "{pc}"
environment = "{pe}"

[sites.dr]
label = "DR"
cluster = "{dc}"
environment = "{de}"
{steps}"#,
        token = ids::DEMO_TOKEN,
        org = ids::ORG,
        pc = ids::PROD_CLUSTER,
        pe = ids::PROD_ENV,
        dc = ids::DR_CLUSTER,
        de = ids::DR_ENV,
    )
}

pub const CLONE: &str = r#"
[[step]]
id = "clone"
title = "Clone prod to the drill environment"
kind = "qovery.clone_environment"
name = "drill-2026-q4"
"#;

pub const DELETE: &str = r#"
[[step]]
id = "delete"
title = "Delete the drill environment"
kind = "qovery.delete_environment"
name = "drill-2026-q4"
confirm = "DELETE"
"#;

pub fn load(text: &str) -> Result<Plan, drcockpit::plan::PlanError> {
    steps::load_str(text, "drill.toml", &LoadOptions::default())
}

/// Run step `i` of `plan` with a read-write client; the result and the lines it said.
pub async fn run(plan: &Plan, i: usize) -> (Result<String, String>, Vec<String>) {
    let plan = Arc::new(plan.clone());
    let (mut ctx, mut heard) = super::steps::context(plan.clone(), HttpClient::new(false));
    ctx.step = i;
    let r = steps::run(&plan.steps[i].action, ctx).await;
    let lines = heard.lines().into_iter().map(|l| l.text).collect();
    (r, lines)
}
