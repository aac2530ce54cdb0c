//! The simulated Qovery API for the client, step and engine tests: the world served on loopback,
//! a two-site plan pointing at it, and steps built from their plan TOML as the loader does.

use std::sync::Arc;
use std::time::Duration;

use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{Plan, ProbeSettings, QoveryConfig, Site, StepAction, Strategy};
use drcockpit::sim::qovery::{QoveryWorld, ids, routes};
use drcockpit::steps::qovery::{BuildInput, build};

/// `world` served on an ephemeral loopback port; its base URL.
pub async fn serve(world: Arc<QoveryWorld>) -> String {
    super::serve(routes(world)).await
}

/// Prod and DR on the simulator's demo clusters and environments, the demo token, no steps.
pub fn plan(name: &str, url: &str) -> Plan {
    let site = |label: &str, cluster: &str, env: &str| Site {
        label: label.into(),
        cluster: Some(cluster.into()),
        environment: Some(env.into()),
        ..Site::default()
    };
    Plan {
        name: name.into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<test>".into(),
        hash: "abc".into(),
        parity: None,
        sites: [
            site("Prod", ids::PROD_CLUSTER, ids::PROD_ENV),
            site("DR", ids::DR_CLUSTER, ids::DR_ENV),
        ],
        qovery: Some(QoveryConfig {
            api_url: url.into(),
            token: ids::DEMO_TOKEN.into(),
            auth_scheme: None,
            organization: ids::ORG.into(),
        }),
        images: None,
        dns: None,
        probes: ProbeSettings::default(),
        steps: vec![],
    }
}

/// A Qovery step's action built from its plan table, references taken literally.
pub fn build_step(p: &Plan, raw: &RawStep) -> StepAction {
    let mut identity = |_: &'static str, s: &str| Ok::<String, String>(s.to_string());
    build(
        &raw.kind,
        raw,
        &mut BuildInput {
            sites: &p.sites,
            qovery: p.qovery.as_ref(),
            resolve: &mut identity,
        },
    )
    .expect("step builds")
}
