//! The Parity section (issue 16, the DR guide's recommendation 3: DR must not drift from prod).
//!
//! Both sites' rows show the same comparison of the prod and DR Qovery environments: services by
//! name, environment variable and secret NAMES with their scope (values are never read: the
//! client deserializes names only, and secrets' values are never returned by Qovery), image tags
//! against prod's, and instances, CPU and memory (DR may be scaled down by `[parity]
//! scale_down`). Cluster provider and region are information, never drift.
//!
//! [`compare`] is pure, so the rules are tested without a server; [`probe`] reads both
//! environments and hands the sides to it. A list that could not be read makes the whole row an
//! error naming what is missing: an unread list is never "in parity".
//!
//! Fields conditions can test: `drifts` (count), `in_parity`, `ok`.

use std::collections::BTreeMap;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::qovery::{QoveryClient, QoveryError, VariableScope};
use crate::plan::{ParityConfig, ParityItem, Plan, SiteId, Value};

/// The fields of a Parity reading (for the loader's condition check).
pub const PARITY_FIELDS: &[&str] = &["drifts", "in_parity", "ok"];

/// One service's facts, as compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFacts {
    pub name: String,
    /// The image tag (containers only).
    pub tag: Option<String>,
    pub min_instances: Option<u64>,
    pub max_instances: Option<u64>,
    /// Millicores.
    pub cpu: Option<u64>,
    /// MB.
    pub memory: Option<u64>,
}

/// What was read of one environment. A list that failed to read is `Err(what went wrong)`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSide {
    pub services: Result<Vec<ServiceFacts>, String>,
    /// Variable names with their scope (`ENVIRONMENT`, `PROJECT`, …); built-ins left out.
    pub variables: Result<BTreeMap<String, String>, String>,
    /// Secret names with their scope.
    pub secrets: Result<BTreeMap<String, String>, String>,
    /// Cluster provider and region, as information.
    pub cluster: Option<String>,
}

/// How bad a drift is: the worst first on the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A prod service DR does not have: failing over loses it.
    ServiceMissing,
    /// A variable or secret prod sets and DR does not.
    NameMissing,
    /// DR runs another image tag than prod.
    Image,
    /// DR is scaled down more than the plan allows.
    Resources,
    /// The same name at another scope.
    Scope,
    /// Something only DR has.
    Extra,
}

/// One named difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub severity: Severity,
    pub text: String,
}

/// The comparison: drifts worst first, and what could not be read (then nothing is in parity).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    pub drifts: Vec<Drift>,
    pub unread: Vec<String>,
    /// Counts compared (for the row when in parity): services, variables, secrets.
    pub counted: (usize, usize, usize),
}

impl Comparison {
    /// In parity only when everything was read and nothing differs.
    pub fn in_parity(&self) -> bool {
        self.unread.is_empty() && self.drifts.is_empty()
    }
}

/// Compare prod and DR under the plan's `[parity]`.
pub fn compare(prod: &EnvSide, dr: &EnvSide, cfg: &ParityConfig) -> Comparison {
    let mut c = Comparison::default();
    let reads = [
        ("services", "prod", prod.services.as_ref().err()),
        ("services", "DR", dr.services.as_ref().err()),
        ("variables", "prod", prod.variables.as_ref().err()),
        ("variables", "DR", dr.variables.as_ref().err()),
        ("secrets", "prod", prod.secrets.as_ref().err()),
        ("secrets", "DR", dr.secrets.as_ref().err()),
    ];
    for (what, site, e) in reads {
        if let Some(e) = e {
            c.unread.push(format!("{what} ({site}): {e}"));
        }
    }
    let mut drifts = Vec::new();
    if let (Ok(p), Ok(d)) = (&prod.services, &dr.services) {
        c.counted.0 = p.len();
        services(p, d, cfg, &mut drifts);
    }
    if let (Ok(p), Ok(d)) = (&prod.variables, &dr.variables) {
        c.counted.1 = p.len();
        names(p, d, ParityItem::Variable, cfg, &mut drifts);
    }
    if let (Ok(p), Ok(d)) = (&prod.secrets, &dr.secrets) {
        c.counted.2 = p.len();
        names(p, d, ParityItem::Secret, cfg, &mut drifts);
    }
    // Worst first; the order found (services, then names, alphabetical) among equals.
    drifts.sort_by_key(|d| d.severity);
    c.drifts = drifts;
    c
}

fn services(p: &[ServiceFacts], d: &[ServiceFacts], cfg: &ParityConfig, out: &mut Vec<Drift>) {
    let dr: BTreeMap<&str, &ServiceFacts> = d.iter().map(|s| (s.name.as_str(), s)).collect();
    let prod: BTreeMap<&str, &ServiceFacts> = p.iter().map(|s| (s.name.as_str(), s)).collect();
    let push = |out: &mut Vec<Drift>, severity, text: String| out.push(Drift { severity, text });
    for (name, ps) in &prod {
        if cfg.ignores(ParityItem::Service, name) {
            continue;
        }
        let Some(ds) = dr.get(name) else {
            push(
                out,
                Severity::ServiceMissing,
                format!("{name} missing in DR"),
            );
            continue;
        };
        if !cfg.ignores(ParityItem::Image, name)
            && let (Some(pt), Some(dt)) = (&ps.tag, &ds.tag)
            && pt != dt
        {
            push(
                out,
                Severity::Image,
                format!("{name} {pt} in prod, {dt} in DR"),
            );
        }
        if !cfg.ignores(ParityItem::Resources, name) {
            let checks = [
                ("min instances", ps.min_instances, ds.min_instances, ""),
                ("max instances", ps.max_instances, ds.max_instances, ""),
                ("cpu", ps.cpu, ds.cpu, "m"),
                ("memory", ps.memory, ds.memory, " MB"),
            ];
            for (what, pv, dv, unit) in checks {
                if let (Some(pv), Some(dv)) = (pv, dv)
                    && (dv as f64) < pv as f64 * cfg.scale_down - 1e-9
                {
                    let allowed = if cfg.scale_down < 1.0 {
                        format!(" (< {}% of prod)", (cfg.scale_down * 100.0).round())
                    } else {
                        String::new()
                    };
                    push(
                        out,
                        Severity::Resources,
                        format!("{name} {what} {pv}{unit} in prod, {dv}{unit} in DR{allowed}"),
                    );
                }
            }
        }
    }
    for name in dr.keys() {
        if !prod.contains_key(name) && !cfg.ignores(ParityItem::Service, name) {
            push(out, Severity::Extra, format!("{name} only in DR"));
        }
    }
}

fn names(
    p: &BTreeMap<String, String>,
    d: &BTreeMap<String, String>,
    item: ParityItem,
    cfg: &ParityConfig,
    out: &mut Vec<Drift>,
) {
    for (name, pscope) in p {
        if cfg.ignores(item, name) {
            continue;
        }
        match d.get(name) {
            None => out.push(Drift {
                severity: Severity::NameMissing,
                text: format!("{name} set in prod only"),
            }),
            Some(dscope) if dscope != pscope => out.push(Drift {
                severity: Severity::Scope,
                text: format!("{name} {pscope} in prod, {dscope} in DR"),
            }),
            Some(_) => {}
        }
    }
    for name in d.keys() {
        if !p.contains_key(name) && !cfg.ignores(item, name) {
            out.push(Drift {
                severity: Severity::Extra,
                text: format!("{name} set in DR only"),
            });
        }
    }
}

/// The row's reading of a comparison: an error naming what was not read (never green), else
/// `✗ N drifts · worst · next …` (Bad) or `✓ in parity · …` (Good).
pub fn reading(c: &Comparison, prod: &EnvSide, dr: &EnvSide) -> Result<Reading, ProbeError> {
    if !c.unread.is_empty() {
        let what: Vec<&str> = c
            .unread
            .iter()
            .map(|u| u.split(':').next().unwrap_or(u))
            .collect();
        let mut full = format!("parity unknown: cannot read {}", c.unread.join("; "));
        if !c.drifts.is_empty() {
            full.push_str(&format!(
                "; drift seen in what was read: {}",
                c.drifts
                    .iter()
                    .map(|d| d.text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Err(ProbeError::new(format!("unread {}", what.join(", ")), full));
    }
    let n = c.drifts.len();
    let (level, mut summary) = if n == 0 {
        let (s, v, k) = c.counted;
        (
            Level::Good,
            format!("in parity: {s} services, {v} variables, {k} secrets"),
        )
    } else {
        let word = if n == 1 { "drift" } else { "drifts" };
        // A service or a name DR lacks breaks the application after a failover: bad. An older
        // tag, a smaller size, another scope or something only DR has: DR works, degraded.
        let breaks = c.drifts.iter().any(|d| d.severity <= Severity::NameMissing);
        let level = if breaks { Level::Bad } else { Level::Warn };
        (level, format!("{n} {word}"))
    };
    for d in &c.drifts {
        summary.push_str(" · ");
        summary.push_str(&d.text);
    }
    let mut r = Reading::new(summary, level)
        .field("drifts", Value::Num(n as f64))
        .field("in_parity", Value::Bool(n == 0))
        .field("ok", Value::Bool(n == 0));
    r.details = c.drifts.iter().map(|d| format!("✗ {}", d.text)).collect();
    for (site, side) in [("prod", prod), ("DR", dr)] {
        if let Some(cl) = &side.cluster {
            r.details.push(format!("{site} cluster: {cl}"));
        }
    }
    Ok(r)
}

fn short(e: QoveryError) -> String {
    crate::redact::redact_string(e.short())
}

/// Read one environment's side of the comparison (names and scopes only, never values).
pub async fn read_side(c: &QoveryClient, env_id: &str, cluster_id: Option<&str>) -> EnvSide {
    let (containers, apps, dbs, vars, secrets) = futures::join!(
        c.list_containers(env_id),
        c.list_applications(env_id),
        c.list_databases(env_id),
        c.list_environment_variable_names(env_id),
        c.list_environment_secret_names(env_id),
    );
    let services = (|| {
        let mut v = Vec::new();
        for ct in containers.map_err(short)? {
            v.push(ServiceFacts {
                name: ct.name,
                tag: Some(ct.tag),
                min_instances: ct.min_running_instances,
                max_instances: ct.max_running_instances,
                cpu: ct.cpu,
                memory: ct.memory,
            });
        }
        for a in apps.map_err(short)? {
            v.push(ServiceFacts {
                name: a.name,
                tag: None,
                min_instances: a.min_running_instances,
                max_instances: a.max_running_instances,
                cpu: a.cpu,
                memory: a.memory,
            });
        }
        for d in dbs.map_err(short)? {
            v.push(ServiceFacts {
                name: d.name,
                ..Default::default()
            });
        }
        Ok(v)
    })();
    let by_name = |l: Vec<crate::clients::qovery::VariableName>| {
        l.into_iter()
            .filter(|v| v.scope != VariableScope::BuiltIn)
            .map(|v| (v.key, v.scope.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let cluster = match cluster_id {
        Some(id) => c
            .list_clusters(c.organization_id())
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|cl| cl.id == id))
            .map(|cl| format!("{} {} {}", cl.name, cl.cloud_provider, cl.region)),
        None => None,
    };
    EnvSide {
        services,
        variables: vars.map(by_name).map_err(short),
        secrets: secrets.map(by_name).map_err(short),
        cluster,
    }
}

/// Does the plan ask for the Parity row? `[parity]`, `[qovery]` and both environment ids.
pub fn configured(plan: &Plan) -> bool {
    plan.parity.is_some()
        && plan.qovery.is_some()
        && SiteId::ALL
            .iter()
            .all(|s| plan.site(*s).environment.is_some())
}

/// The Parity section (the same comparison on both sites' rows).
pub async fn probe(plan: &Plan, c: &QoveryClient) -> Result<Reading, ProbeError> {
    let env = |s: SiteId| plan.site(s).environment.as_deref();
    let (Some(p), Some(d)) = (env(SiteId::Prod), env(SiteId::Dr)) else {
        return Err(ProbeError::new(
            "not configured",
            "parity needs an environment id for both sites",
        ));
    };
    let (prod, dr) = futures::join!(
        read_side(c, p, plan.site(SiteId::Prod).cluster.as_deref()),
        read_side(c, d, plan.site(SiteId::Dr).cluster.as_deref())
    );
    let cfg = plan.parity.clone().unwrap_or_default();
    let cmp = compare(&prod, &dr, &cfg);
    reading(&cmp, &prod, &dr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, tag: &str, cpu: u64) -> ServiceFacts {
        ServiceFacts {
            name: name.into(),
            tag: Some(tag.into()),
            min_instances: Some(2),
            max_instances: Some(4),
            cpu: Some(cpu),
            memory: Some(512),
        }
    }

    fn side(services: Vec<ServiceFacts>, vars: &[&str]) -> EnvSide {
        EnvSide {
            services: Ok(services),
            variables: Ok(vars
                .iter()
                .map(|v| (v.to_string(), "ENVIRONMENT".into()))
                .collect()),
            secrets: Ok(BTreeMap::new()),
            cluster: None,
        }
    }

    #[test]
    fn drift_named_worst_first() {
        let prod = side(
            vec![svc("api", "1.4.2", 500), svc("worker", "1.4.2", 500)],
            &["FEATURE_X", "LOG_LEVEL"],
        );
        let dr = side(vec![svc("api", "1.4.1", 500)], &["LOG_LEVEL"]);
        let c = compare(&prod, &dr, &ParityConfig::default());
        let texts: Vec<&str> = c.drifts.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "worker missing in DR",
                "FEATURE_X set in prod only",
                "api 1.4.2 in prod, 1.4.1 in DR"
            ]
        );
        let r = reading(&c, &prod, &dr).expect("reading");
        assert!(
            r.summary.starts_with("3 drifts · worker missing in DR"),
            "{}",
            r.summary
        );
        assert_eq!(r.level, Level::Bad);
    }

    #[test]
    fn unread_list_is_never_in_parity() {
        let prod = side(vec![svc("api", "1", 500)], &[]);
        let mut dr = prod.clone();
        dr.variables = Err("HTTP 503".into());
        let c = compare(&prod, &dr, &ParityConfig::default());
        assert!(!c.in_parity());
        let e = reading(&c, &prod, &dr).expect_err("must not be a reading");
        assert!(e.short.contains("variables (DR)"), "{}", e.short);
    }

    proptest::proptest! {
        /// An environment compared with itself is in parity, whatever the ratio.
        #[test]
        fn same_env_is_in_parity(names in proptest::collection::btree_set("[a-z]{1,6}", 0..6),
                                 cpu in 1u64..10_000, ratio in 0.01f64..=1.0) {
            let s: Vec<ServiceFacts> = names.iter().map(|n| svc(n, "1", cpu)).collect();
            let vars: Vec<&str> = names.iter().map(String::as_str).collect();
            let e = side(s, &vars);
            let cfg = ParityConfig { scale_down: ratio, ignore: vec![] };
            proptest::prop_assert!(compare(&e, &e, &cfg).in_parity());
        }

        /// DR's CPU is drift exactly when it is below prod × ratio.
        #[test]
        fn scale_down_ratio(pcpu in 1u64..10_000, dcpu in 0u64..10_000, ratio in 0.01f64..=1.0) {
            let prod = side(vec![svc("api", "1", pcpu)], &[]);
            let dr = side(vec![svc("api", "1", dcpu)], &[]);
            let cfg = ParityConfig { scale_down: ratio, ignore: vec![] };
            let drift = !compare(&prod, &dr, &cfg).drifts.is_empty();
            proptest::prop_assert_eq!(drift, (dcpu as f64) < pcpu as f64 * ratio - 1e-9);
        }

        /// Ignoring every differing name leaves nothing to report.
        #[test]
        fn ignore_list_silences(extra in proptest::collection::btree_set("[A-Z]{1,6}", 1..5)) {
            let prod = side(vec![], &extra.iter().map(String::as_str).collect::<Vec<_>>());
            let dr = side(vec![], &[]);
            let cfg = ParityConfig {
                scale_down: 1.0,
                ignore: extra.iter().map(|n| (ParityItem::Variable, n.clone())).collect(),
            };
            proptest::prop_assert!(compare(&prod, &dr, &cfg).in_parity());
        }
    }
}
