//! The Qovery client, steps and probes against the simulated Qovery API (served on an ephemeral
//! loopback port), plus a contract test against the bundled OpenAPI spec.

use std::sync::Arc;
use std::time::Duration;

use drcockpit::app::Level;
use drcockpit::clients::http::HttpClient;
use drcockpit::clients::qovery::{
    ActionAccepted, AuthScheme, ClusterState, QoveryClient, QoveryError, QoverySettings, State,
    VariableScope,
};
use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{Plan, Site, SiteId, StepAction};
use drcockpit::sim::qovery::{QoveryWorld, ids};
use drcockpit::steps::qovery::{BuildInput, build, build_keyed};
use drcockpit::steps::{StepContext, StepSink};

#[path = "../common/mod.rs"]
mod common;
use common::qovery::serve;

fn settings(url: &str, token: &str, scheme: AuthScheme) -> QoverySettings {
    QoverySettings {
        api_url: url.into(),
        token: token.into(),
        scheme,
        organization: ids::ORG.into(),
        api_url_source: "test".into(),
        token_source: "test".into(),
    }
}

fn client(url: &str) -> QoveryClient {
    QoveryClient::new(
        settings(url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(false),
    )
}

async fn world(phase_ms: u64) -> (Arc<QoveryWorld>, String) {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(QoveryWorld::new("all-good", 7).with_phase(Duration::from_millis(phase_ms)));
    let url = serve(w.clone()).await;
    (w, url)
}

fn plan(url: &str) -> Plan {
    common::qovery::plan("qovery test", url)
}

fn raw(toml_text: &str) -> RawStep {
    toml::from_str(toml_text).expect("valid step TOML")
}

fn build_step(p: &Plan, toml_text: &str) -> StepAction {
    common::qovery::build_step(p, &raw(toml_text))
}

struct Run {
    result: Result<String, String>,
    lines: Vec<String>,
}

async fn run_step(p: &Plan, action: &StepAction, read_only: bool) -> Run {
    let (ctx, mut heard) = common::steps::context(Arc::new(p.clone()), HttpClient::new(read_only));
    let result = drcockpit::steps::run(action, ctx).await;
    let lines = heard
        .lines()
        .into_iter()
        .map(|line| format!("[{}] {}", line.stream, line.text))
        .collect();
    Run { result, lines }
}

async fn preflight(p: &Plan, action: &StepAction) -> Vec<drcockpit::journal::PreflightCheck> {
    let ctx = StepContext::read_only(Arc::new(p.clone()), 0, StepSink::discard());
    drcockpit::steps::preflight(action, &ctx, vec![]).await
}

const DEPLOY_DR: &str = r#"
id = "deploy-dr"
title = "Deploy the DR environment"
kind = "qovery.deploy"
site = "dr"
interval = "100ms"
"#;

mod client;
mod clone_request;
mod contract;
mod scenarios;
mod step_runs;
