//! The demo organization every scenario starts from: a prod environment on Scaleway (fr-par)
//! and a stopped DR copy on AWS (eu-west-1), their services, variables, registries and the
//! container settings the `PUT /container` round trip preserves.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::faults::FieldOrder;
use super::ids;
use super::world::{Env, Hist, Kind, Service, Var};

pub(super) fn service(
    id: &str,
    name: &str,
    kind: Kind,
    tag: &str,
    registry: (String, String, String, String),
    state: &str,
    now: DateTime<Utc>,
) -> Service {
    Service {
        id: id.into(),
        name: name.into(),
        kind,
        image_name: format!("shop/{name}"),
        tag: tag.into(),
        registry,
        settings: container_settings(id, name),
        state: state.into(),
        last_deployment_date: now - chrono::Duration::hours(30),
        deployment_request_id: None,
        requests_count: 1,
        created_at: now - chrono::Duration::days(90),
    }
}

pub(super) fn var(
    id: u32,
    key: &str,
    value: &str,
    scope: &str,
    vt: &str,
    secret: bool,
    now: DateTime<Utc>,
) -> Var {
    Var {
        id: format!("a1b2c3d4-0000-4000-8000-{id:012}"),
        key: key.into(),
        value: value.into(),
        scope: scope.into(),
        variable_type: vt.into(),
        secret,
        created_at: now - chrono::Duration::days(30),
        updated_at: now - chrono::Duration::days(3),
    }
}

pub(super) fn prod_env(now: DateTime<Utc>) -> Env {
    let reg = (
        ids::PROD_REGISTRY.to_string(),
        "scaleway-fr-par".to_string(),
        "https://rg.fr-par.scw.cloud".to_string(),
        "SCALEWAY_CR".to_string(),
    );
    let services = vec![
        service(
            ids::PROD_WEB,
            "web",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_API,
            "api",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_WORKER,
            "worker",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "DEPLOYED",
            now,
        ),
        service(
            ids::PROD_CACHE,
            "cache",
            Kind::Database,
            "",
            reg,
            "DEPLOYED",
            now,
        ),
    ];
    Env {
        id: ids::PROD_ENV.into(),
        name: "shop".into(),
        cluster_id: ids::PROD_CLUSTER.into(),
        cluster_name: "prod-par".into(),
        provider: "scw".into(),
        region: "fr-par".into(),
        mode: "PRODUCTION".into(),
        state: "DEPLOYED".into(),
        last_deployment_state: "DEPLOYED".into(),
        last_deployment_date: now - chrono::Duration::hours(30),
        last_deployment_id: Some("d0e1f2a3-0000-4000-8000-100000000001".into()),
        deployment_request_id: Some("d0e1f2a3-0000-4000-8000-100000000001".into()),
        history: vec![Hist {
            id: "d0e1f2a3-0000-4000-8000-100000000001".into(),
            created_at: now - chrono::Duration::hours(30),
            updated_at: now - chrono::Duration::hours(30) + chrono::Duration::minutes(4),
            status: "DEPLOYED".into(),
            services: (0..services.len())
                .map(|i| (i, "DEPLOYED".into()))
                .collect(),
        }],
        services,
        vars: vec![
            var(
                1,
                "DATABASE_URL",
                "postgres://shop@db.fr-par.internal:5432/shop",
                "ENVIRONMENT",
                "VALUE",
                false,
                now,
            ),
            var(2, "LOG_LEVEL", "info", "ENVIRONMENT", "VALUE", false, now),
            var(3, "REGION", "fr-par", "PROJECT", "VALUE", false, now),
            var(
                4,
                "QOVERY_ENVIRONMENT_ID",
                ids::PROD_ENV,
                "BUILT_IN",
                "BUILT_IN",
                false,
                now,
            ),
            var(
                5,
                "STRIPE_SECRET_KEY",
                "sk_live_demo_prod_0000",
                "ENVIRONMENT",
                "VALUE",
                true,
                now,
            ),
        ],
        op: None,
        order: FieldOrder::Truthful,
        truth_log: Vec::new(),
        created_at: now - chrono::Duration::days(90),
    }
}

pub(super) fn dr_env(now: DateTime<Utc>) -> Env {
    let reg = (
        ids::DR_REGISTRY.to_string(),
        "ecr-eu-west-1".to_string(),
        "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com".to_string(),
        "ECR".to_string(),
    );
    let services = vec![
        service(
            ids::DR_WEB,
            "web",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_API,
            "api",
            Kind::Container,
            "1.4.2",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_WORKER,
            "worker",
            Kind::Container,
            "1.4.1",
            reg.clone(),
            "STOPPED",
            now,
        ),
        service(
            ids::DR_CACHE,
            "cache",
            Kind::Database,
            "",
            reg,
            "STOPPED",
            now,
        ),
    ];
    Env {
        id: ids::DR_ENV.into(),
        name: "shop-dr".into(),
        cluster_id: ids::DR_CLUSTER.into(),
        cluster_name: "dr-eu1".into(),
        provider: "aws".into(),
        region: "eu-west-1".into(),
        mode: "PRODUCTION".into(),
        state: "STOPPED".into(),
        last_deployment_state: "STOPPED".into(),
        last_deployment_date: now - chrono::Duration::days(6),
        last_deployment_id: Some("d0e1f2a3-0000-4000-8000-200000000001".into()),
        deployment_request_id: Some("d0e1f2a3-0000-4000-8000-200000000001".into()),
        history: vec![Hist {
            id: "d0e1f2a3-0000-4000-8000-200000000001".into(),
            created_at: now - chrono::Duration::days(6),
            updated_at: now - chrono::Duration::days(6) + chrono::Duration::minutes(2),
            status: "STOPPED".into(),
            services: (0..services.len()).map(|i| (i, "STOPPED".into())).collect(),
        }],
        services,
        vars: vec![
            var(
                11,
                "DATABASE_URL",
                "postgres://shop@db.fr-par.internal:5432/shop",
                "ENVIRONMENT",
                "VALUE",
                false,
                now,
            ),
            var(12, "LOG_LEVEL", "info", "ENVIRONMENT", "VALUE", false, now),
            var(13, "REGION", "eu-west-1", "PROJECT", "VALUE", false, now),
            var(
                14,
                "QOVERY_ENVIRONMENT_ID",
                ids::DR_ENV,
                "BUILT_IN",
                "BUILT_IN",
                false,
                now,
            ),
            var(
                15,
                "STRIPE_SECRET_KEY",
                "sk_live_demo_dr_0000",
                "ENVIRONMENT",
                "VALUE",
                true,
                now,
            ),
        ],
        op: None,
        order: FieldOrder::Truthful,
        truth_log: Vec::new(),
        created_at: now - chrono::Duration::days(90),
    }
}

/// The `drift` scenario (issue 16): DR drifts from prod in one way per kind of parity check —
/// `worker` missing in DR, `FEATURE_X` set in prod only, `api` on `1.4.1` in DR, `web` given
/// 100 millicores in DR (under a quarter of prod's 500). Applying it twice changes nothing more.
pub(super) fn drift(envs: &mut [Env], now: DateTime<Utc>) {
    for e in envs.iter_mut() {
        if e.id == ids::PROD_ENV {
            if !e.vars.iter().any(|v| v.key == "FEATURE_X") {
                e.vars.push(var(
                    6,
                    "FEATURE_X",
                    "on",
                    "ENVIRONMENT",
                    "VALUE",
                    false,
                    now,
                ));
            }
        } else if e.id == ids::DR_ENV {
            e.services.retain(|s| s.name != "worker");
            // The history names services by index: keep it within the shorter list.
            let n = e.services.len();
            for h in &mut e.history {
                h.services.retain(|(i, _)| *i < n);
            }
            for s in &mut e.services {
                match s.name.as_str() {
                    "api" => s.tag = "1.4.1".into(),
                    "web" => s.settings["cpu"] = json!(100),
                    _ => {}
                }
            }
        }
    }
}

/// The organization's container registries (`ContainerRegistryResponse`).
pub(super) fn registries() -> [(String, String, String, String); 2] {
    [
        (
            ids::PROD_REGISTRY.to_string(),
            "scaleway-fr-par".to_string(),
            "https://rg.fr-par.scw.cloud".to_string(),
            "SCALEWAY_CR".to_string(),
        ),
        (
            ids::DR_REGISTRY.to_string(),
            "ecr-eu-west-1".to_string(),
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com".to_string(),
            "ECR".to_string(),
        ),
    ]
}

/// A sim id derived from a service id (ports and storage of the demo containers).
pub(super) fn sub_id(service_id: &str, kind: u32, n: u32) -> String {
    let tail = service_id.rsplit('-').next().unwrap_or("0");
    format!(
        "6f1e2d3c-{kind:04}-4000-8000-{:0>9}{n:03}",
        &tail[tail.len().saturating_sub(9)..]
    )
}

/// The editable fields of a demo container: web and api serve HTTP, worker has a volume.
pub(super) fn container_settings(id: &str, name: &str) -> Value {
    let port = |internal: u16| {
        json!([{
            "id": sub_id(id, 1, 1), "name": "http", "internal_port": internal, "external_port": 443,
            "publicly_accessible": true, "is_default": true, "protocol": "HTTP",
        }])
    };
    let (ports, storage) = match name {
        "web" => (port(8080), json!([])),
        "api" => (port(8081), json!([])),
        "worker" => (
            json!([]),
            json!([{ "id": sub_id(id, 2, 1), "type": "FAST_SSD", "size": 10, "mount_point": "/data" }]),
        ),
        _ => (json!([]), json!([])),
    };
    json!({
        "description": format!("{name} service"),
        "arguments": [], "entrypoint": null,
        "cpu": 500, "memory": 512, "gpu": 0,
        "min_running_instances": 1, "max_running_instances": 3,
        "auto_preview": false, "auto_deploy": false,
        "healthchecks": { "liveness_probe": { "type": { "tcp": { "port": 8080 } }, "initial_delay_seconds": 30, "period_seconds": 10, "timeout_seconds": 5, "success_threshold": 1, "failure_threshold": 3 } },
        "ports": ports, "storage": storage,
        "annotations_groups": [], "labels_groups": [],
    })
}
