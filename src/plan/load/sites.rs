//! The plan's sections outside the checklist: `[plan]`, `[qovery]`, `[sites.*]` (database,
//! registry, health), `[dns]`, `[probes]`, `[images]`, and the checks that read the plan as a
//! whole (condition targets). Steps are in `kinds`.

use std::time::Duration;

use super::line_col;
use super::spans::{Seg, at, dotted};
use super::{Cx, PlanError, suggest};
use crate::plan::condition::Condition;
use crate::plan::refs;
use crate::plan::*;

impl Cx<'_, '_> {
    /// The plan, going on past problems (recorded in `errors`): the caller reports them all
    /// and never uses a plan converted with any.
    pub(super) fn convert(&mut self, f: raw::PlanFile) -> Result<Plan, PlanError> {
        if let Some(v) = f.version
            && v != 1
        {
            let e = self.err(
                at(&[Seg::K("version")]),
                format!(
                    "plan format version {v} is not supported by this build; it reads version 1"
                ),
            );
            self.push(e);
        }
        let meta = &f.plan;
        let r = self.strategy(&meta.strategy);
        let strategy = self.soft(r, Strategy::WarmStandby);
        let r = self.duration(&[Seg::K("plan"), Seg::K("rto")], &meta.rto);
        let rto = self.soft(r, Duration::ZERO);
        let r = self.duration(&[Seg::K("plan"), Seg::K("rpo")], &meta.rpo);
        let rpo = self.soft(r, Duration::ZERO);
        let r = self.lit(&[Seg::K("plan"), Seg::K("name")], &meta.name);
        let name = self.keep(r).unwrap_or_else(|| "?".into());
        if name.trim().is_empty() {
            let e = self.err(
                at(&[Seg::K("plan"), Seg::K("name")]),
                "`plan.name` is empty; it is shown in the header".into(),
            );
            self.push(e);
        }
        let r = meta
            .description
            .as_deref()
            .map(|d| self.lit(&[Seg::K("plan"), Seg::K("description")], d))
            .transpose();
        let description = self.soft(r, None);
        let r = f.qovery.as_ref().map(|q| self.qovery(q)).transpose();
        let qovery = self.soft(r, None);
        let r = self.site("prod", &f.sites.prod);
        let prod = self.soft(r, Site::default());
        let r = self.site("dr", &f.sites.dr);
        let dr = self.soft(r, Site::default());
        let images = f.images.as_ref().map(images);
        let r = f.dns.as_ref().map(|d| self.dns(d)).transpose();
        let dns = self.soft(r, None);
        let r = self.probes(f.probes.as_ref());
        let probes = self.soft(r, ProbeSettings::default());
        let r = f.parity.as_ref().map(|p| self.parity(p)).transpose();
        let parity = self.soft(r, None);
        if let Some(dir) = f.journal.as_ref().and_then(|j| j.dir.as_deref())
            && !std::path::Path::new(dir).is_absolute()
        {
            let e = self.err(
                at(&[Seg::K("journal"), Seg::K("dir")]),
                format!("`journal.dir` = \"{dir}\" must be an absolute path: the plan's lock must be the same directory for everyone who opens the plan, from any checkout"),
            );
            self.push(e);
        }
        // `[notify]` is posted by `crate::notify` at run time; here its URL is checked like
        // every other URL (so `check` lists its reference among what the plan needs at run
        // time) and its format is one the notifier knows.
        if let Some(n) = &f.notify {
            // Milestones are best effort: a webhook that cannot be resolved now is a note (the
            // notifier says the same when the cockpit starts), never a reason to refuse the plan.
            if let Err(e) = self.url(&[Seg::K("notify"), Seg::K("url")], &n.url) {
                self.refs.notes.push(crate::redact::redact_string(format!(
                    "[notify] posts nothing: {}",
                    e.detail
                )));
            }
            if let Some(format) = n.format.as_deref()
                && !matches!(format, "slack" | "teams" | "json")
            {
                let e = self.err(
                    at(&[Seg::K("notify"), Seg::K("format")]),
                    format!("`notify.format` = \"{format}\": expected slack, teams or json"),
                );
                self.push(e);
            }
        }
        self.sites = [prod.clone(), dr.clone()];
        self.qovery = qovery.clone();
        self.dns = dns.clone();
        self.images = images.clone();
        let mut steps: Vec<Step> = Vec::with_capacity(f.steps.len());
        // Index of the first step with each id: a scan of `steps` per step made `check`
        // quadratic in the plan's length.
        let mut first_with_id: std::collections::HashMap<String, usize> =
            std::collections::HashMap::with_capacity(f.steps.len());
        for (i, s) in f.steps.iter().enumerate() {
            let r = self.step(i, s);
            let Some(step) = self.keep(r) else {
                continue;
            };
            if let Some(&first) = first_with_id.get(&step.id) {
                let first_line = self
                    .span(&at(&[Seg::K("step"), Seg::I(first), Seg::K("id")]))
                    .map(|s| line_col(self.text, s.start).0);
                let also = first_line
                    .map(|l| format!(" (first used on line {l})"))
                    .unwrap_or_default();
                let e = self.err_full(
                    at(&[Seg::K("step"), Seg::I(i), Seg::K("id")]),
                    format!(
                        "duplicate step id `{}`{also}; step ids must be unique (the journal and --resume use them)",
                        step.id
                    ),
                    vec![],
                    None,
                    Some(&step.id),
                );
                self.push(e);
                continue;
            }
            first_with_id.insert(step.id.clone(), i);
            steps.push(step);
        }
        let plan = Plan {
            name,
            strategy,
            rto,
            rpo,
            description,
            source: self.origin.to_string(),
            hash: sha256_hex(self.text),
            sites: [prod, dr],
            qovery,
            images,
            dns,
            probes,
            steps,
            parity,
        };
        // These read the plan as a whole: after a problem, they would only repeat it.
        if !self.errors.is_empty() {
            return Ok(plan);
        }
        let r = self.condition_targets(&plan);
        self.keep(r);
        if let Some((i, msg)) = self.catalog.check_plan(&plan) {
            let id = plan.steps[i].id.clone();
            let e = self.err_full(
                at(&[Seg::K("step"), Seg::I(i)]),
                msg,
                vec![],
                None,
                Some(&id),
            );
            self.push(e);
        }
        Ok(plan)
    }

    /// Every condition must be able to become known: its section configured for its site (as
    /// the panels decide it), and, where this build knows a section's fields, a real field.
    pub(super) fn condition_targets(&self, plan: &Plan) -> Result<(), PlanError> {
        for (i, step) in plan.steps.iter().enumerate() {
            let conds: &[Condition] = match &step.action {
                StepAction::Check { conditions } | StepAction::Wait { conditions, .. } => {
                    conditions
                }
                _ => &[],
            };
            for (key, list) in [("requires", &step.requires[..]), ("conditions", conds)] {
                for (n, c) in list.iter().enumerate() {
                    let a = || at(&[Seg::K("step"), Seg::I(i), Seg::K(key), Seg::I(n)]);
                    let mut parts = c.path.splitn(3, '.');
                    let (Some(site), Some(section), Some(field)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        continue;
                    };
                    let site_id = if site == "prod" {
                        SiteId::Prod
                    } else {
                        SiteId::Dr
                    };
                    if let Some(needs) = unconfigured(plan, site_id, section) {
                        return Err(self.err_full(
                            a(),
                            format!(
                                "step `{}`: `{}` could never be known: {needs}",
                                step.id, c.text
                            ),
                            vec![],
                            None,
                            Some(&step.id),
                        ));
                    }
                    let Some((_, fields)) = self
                        .catalog
                        .section_fields()
                        .iter()
                        .find(|(s, _)| *s == section)
                    else {
                        continue;
                    };
                    if !matches!(field, "down_for" | "healthy") && !fields.contains(&field) {
                        let all = fields.iter().copied().chain(["down_for", "healthy"]);
                        let mut e = self.err_full(
                            a(),
                            format!(
                                "step `{}`: `{}`: the {section} section has no field `{field}`",
                                step.id, c.text
                            ),
                            all.clone().map(str::to_string).collect(),
                            suggest(field, all).map(|f| format!("{site}.{section}.{f}")),
                            Some(&step.id),
                        );
                        e.key = Some(key.to_string());
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn strategy(&self, s: &str) -> Result<Strategy, PlanError> {
        const NAMES: &[&str] = &[
            "backup-restore",
            "pilot-light",
            "warm-standby",
            "active-active",
        ];
        Ok(match s.trim() {
            "backup-restore" => Strategy::BackupRestore,
            "pilot-light" => Strategy::PilotLight,
            "warm-standby" => Strategy::WarmStandby,
            "active-active" => Strategy::ActiveActive,
            other => {
                return Err(self.err_full(
                    at(&[Seg::K("plan"), Seg::K("strategy")]),
                    format!("`plan.strategy`: unknown strategy `{other}`"),
                    NAMES.iter().map(|s| s.to_string()).collect(),
                    suggest(other, NAMES.iter().copied()).map(str::to_string),
                    None,
                ));
            }
        })
    }

    pub(super) fn qovery(&mut self, q: &raw::Qovery) -> Result<QoveryConfig, PlanError> {
        let p = |k| [Seg::K("qovery"), Seg::K(k)];
        // Like the official CLI, `QOVERY_CLI_ACCESS_TOKEN` (then `Q_CLI_ACCESS_TOKEN`) replaces
        // the plan's token: the plan's reference is then not needed, so it is not resolved
        // (nor its command run). The client takes (and registers) the variable itself.
        let env_token = self
            .catalog
            .qovery_env_overrides()
            .then(|| {
                ["QOVERY_CLI_ACCESS_TOKEN", "Q_CLI_ACCESS_TOKEN"]
                    .iter()
                    .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            })
            .flatten();
        let token = match env_token {
            Some(t) if refs::has_reference(&q.token) => {
                let t = t.trim().to_string();
                crate::redact::register(&t, "qovery.token");
                t
            }
            _ => {
                let r = self.secret(&p("token"), &q.token);
                self.soft(r, refs::UNRESOLVED_PLACEHOLDER.to_string())
            }
        };
        let r = self.secret(&p("organization"), &q.organization);
        let organization = self.soft(r, refs::UNRESOLVED_PLACEHOLDER.to_string());
        let env_url = std::env::var("QOVERY_API_URL")
            .ok()
            .filter(|_| self.catalog.qovery_env_overrides());
        let api_url = match env_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
            _ => match &q.api_url {
                Some(u) => {
                    let r = self.url(&p("api_url"), u);
                    self.soft(r, String::new())
                        .trim_end_matches('/')
                        .to_string()
                }
                None => "https://api.qovery.com".into(),
            },
        };
        // HTTP authentication schemes are case-insensitive (RFC 9110 §11.1): `Bearer` is
        // `bearer`. The spec's `bearerAuth` has `bearerFormat: JWT`, so `jwt` means `bearer`.
        let auth = q.auth.as_deref().map(|a| a.trim().to_ascii_lowercase());
        let auth_scheme = match auth.as_deref() {
            None => None,
            Some(a @ ("token" | "bearer")) => Some(a.to_string()),
            Some("jwt") => Some("bearer".to_string()),
            Some(other) => {
                let e = self.err_full(
                    at(&p("auth")),
                    format!("`qovery.auth`: unknown scheme `{other}`"),
                    vec!["token".into(), "bearer".into()],
                    suggest(other, ["token", "bearer"]).map(str::to_string),
                    None,
                );
                self.push(e);
                None
            }
        };
        Ok(QoveryConfig {
            api_url,
            token,
            auth_scheme,
            organization,
        })
    }

    pub(super) fn site(&mut self, id: &'static str, s: &raw::Site) -> Result<Site, PlanError> {
        let base = [Seg::K("sites"), Seg::K(id)];
        let p = |k: &'static str| [base[0], base[1], Seg::K(k)];
        let r = self.lit(&p("label"), &s.label);
        let label = self.keep(r).unwrap_or_else(|| id.to_string());
        if label.trim().is_empty() {
            let e = self.err(
                at(&p("label")),
                format!("`sites.{id}.label` is empty; it titles the site's panel"),
            );
            self.push(e);
        }
        let r = self.opt_secret(&p("cluster"), &s.cluster);
        let cluster = self.soft(r, None);
        let r = self.opt_secret(&p("environment"), &s.environment);
        let environment = self.soft(r, None);
        let r = self.opt_secret(&p("dns_target"), &s.dns_target);
        let dns_target = self.soft(r, None);
        let r = s
            .database
            .as_ref()
            .map(|d| self.database(id, d))
            .transpose();
        let database = self.soft(r, None);
        let r = match &s.registry {
            None => Ok(None),
            Some(r) => (|| {
                let q = |k: &'static str| [base[0], base[1], Seg::K("registry"), Seg::K(k)];
                // Validated as a URL at load: `registry.example.com:5000` would otherwise fail
                // at the first probe with a TLS error that says nothing about the scheme.
                let url = self.url(&q("url"), &r.url)?;
                Ok(Some(RegistryConfig {
                    url,
                    username: self.opt_secret(&q("username"), &r.username)?,
                    password: self.opt_secret(&q("password"), &r.password)?,
                    ca_bundle: self.opt_secret(&q("ca_bundle"), &r.ca_bundle)?,
                    namespace: self.opt_secret(&q("namespace"), &r.namespace)?,
                }))
            })(),
        };
        let registry = self.soft(r, None);
        let r = (|| {
            Ok(match &s.health {
                None => None,
                Some(raw::Health::Url(u)) => Some(HealthConfig {
                    url: self.url(&p("health"), u)?,
                    expect_status: vec![200],
                    timeout: Duration::from_secs(5),
                }),
                Some(raw::Health::Full(h)) => {
                    let q = |k: &'static str| [base[0], base[1], Seg::K("health"), Seg::K(k)];
                    let timeout = match &h.timeout {
                        Some(t) => self.duration(&q("timeout"), t)?,
                        None => Duration::from_secs(5),
                    };
                    let expect_status =
                        self.statuses(&q("expect_status"), &h.expect_status, &[200])?;
                    Some(HealthConfig {
                        url: self.url(&q("url"), &h.url)?,
                        expect_status,
                        timeout,
                    })
                }
            })
        })();
        let health = self.soft(r, None);
        Ok(Site {
            label,
            cluster,
            environment,
            database,
            registry,
            dns_target,
            health,
        })
    }

    pub(super) fn database(
        &mut self,
        id: &'static str,
        d: &raw::Database,
    ) -> Result<DatabaseConfig, PlanError> {
        let p = |k: &'static str| [Seg::K("sites"), Seg::K(id), Seg::K("database"), Seg::K(k)];
        let prometheus = match &d.prometheus {
            None => None,
            Some(pr) => {
                let q = |k: &'static str| {
                    [
                        Seg::K("sites"),
                        Seg::K(id),
                        Seg::K("database"),
                        Seg::K("prometheus"),
                        Seg::K(k),
                    ]
                };
                Some(PrometheusSource {
                    url: self.url(&q("url"), &pr.url)?,
                    lag_query: pr.lag_query.clone(),
                    replay_age_query: pr.replay_age_query.clone(),
                    backup_age_query: pr.backup_age_query.clone(),
                })
            }
        };
        let cloudwatch = match &d.cloudwatch {
            Some(c) => Some(self.cloudwatch(id, c)?),
            None => None,
        };
        let datadog = match &d.datadog {
            Some(c) => Some(self.datadog(id, c)?),
            None => None,
        };
        let sources = [
            prometheus.is_some(),
            cloudwatch.is_some(),
            datadog.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(self.err(
                at(&[Seg::K("sites"), Seg::K(id), Seg::K("database")]),
                "a database reads its metrics from one source: keep one of `prometheus`, \
                 `cloudwatch`, `datadog`"
                    .into(),
            ));
        }
        let postgres = self.opt_secret(&p("postgres"), &d.postgres)?;
        if let (Some(v), Some(conn)) = (&d.postgres, &postgres) {
            self.check_url(&p("postgres"), v, conn)?;
        }
        if let Some(conn) = &postgres
            && !refs::is_placeholder(conn)
            && let Err(e) = self.catalog.check_postgres(conn)
        {
            // Caught here rather than at the first probe: a typo in a connection string should
            // fail `drcockpit check`, not the 3 a.m. promotion.
            let detail = format!(
                "not a PostgreSQL connection string ({})",
                crate::redact::redact(&e)
            );
            return Err(self.err_full(
                at(&p("postgres")),
                detail,
                vec![
                    "postgresql://user:password@host:5432/db?sslmode=verify-full".into(),
                    "host=… port=… user=… dbname=… sslmode=require".into(),
                ],
                None,
                None,
            ));
        }
        Ok(DatabaseConfig {
            postgres,
            prometheus,
            max_lag_bytes: d
                .max_lag
                .as_deref()
                .map(|v| self.bytes(&p("max_lag"), v))
                .transpose()?,
            max_replay_age: d
                .max_replay_age
                .as_deref()
                .map(|v| self.duration(&p("max_replay_age"), v))
                .transpose()?,
            backup_age_query: d.backup_age_query.clone(),
            max_backup_age: d
                .max_backup_age
                .as_deref()
                .map(|v| self.duration(&p("max_backup_age"), v))
                .transpose()?,
            cloudwatch,
            datadog,
        })
    }

    pub(super) fn dns(&mut self, d: &raw::Dns) -> Result<DnsConfig, PlanError> {
        let p = |k: &'static str| [Seg::K("dns"), Seg::K(k)];
        let record_type = d.record_type.trim().to_ascii_uppercase();
        if !["A", "AAAA", "CNAME"].contains(&record_type.as_str()) {
            return Err(self.err_full(
                at(&p("type")),
                format!("`dns.type`: unsupported record type `{}`", d.record_type),
                vec!["A".into(), "AAAA".into(), "CNAME".into()],
                None,
                None,
            ));
        }
        // `dns.provider.<name>.<key>`.
        let q = |name: &'static str, k: &'static str| {
            [Seg::K("dns"), Seg::K("provider"), Seg::K(name), Seg::K(k)]
        };
        let provider = match &d.provider {
            None => None,
            Some(raw::DnsProvider::Powerdns {
                api_url,
                api_key,
                server,
            }) => {
                let r = |k| q("powerdns", k);
                Some(DnsProvider::PowerDns {
                    api_url: self.url(&r("api_url"), api_url)?,
                    api_key: self.secret(&r("api_key"), api_key)?,
                    server: match server {
                        Some(v) => self.secret(&r("server"), v)?,
                        None => "localhost".into(),
                    },
                })
            }
            Some(raw::DnsProvider::Cloudflare {
                zone_id,
                record_id,
                token,
            }) => {
                let r = |k| q("cloudflare", k);
                Some(DnsProvider::Cloudflare {
                    zone_id: self.secret(&r("zone_id"), zone_id)?,
                    record_id: self.secret(&r("record_id"), record_id)?,
                    token: self.secret(&r("token"), token)?,
                })
            }
            Some(raw::DnsProvider::Route53 { hosted_zone_id }) => Some(DnsProvider::Route53 {
                hosted_zone_id: self.secret(&q("route53", "hosted_zone_id"), hosted_zone_id)?,
            }),
        };
        Ok(DnsConfig {
            record: self.secret(&p("record"), &d.record)?,
            record_type,
            zone: self.opt_secret(&p("zone"), &d.zone)?,
            nameservers: d
                .nameservers
                .iter()
                .map(|n| self.secret(&p("nameservers"), n))
                .collect::<Result<_, _>>()?,
            provider,
        })
    }

    pub(super) fn probes(&self, p: Option<&raw::Probes>) -> Result<ProbeSettings, PlanError> {
        let mut out = ProbeSettings::default();
        let Some(p) = p else { return Ok(out) };
        let k = |k: &'static str| [Seg::K("probes"), Seg::K(k)];
        if let Some(i) = &p.interval {
            out.interval = self.duration(&k("interval"), i)?;
            if out.interval < Duration::from_millis(100) {
                return Err(self.err(
                    at(&k("interval")),
                    format!(
                        "`probes.interval` = `{i}` is too short; use at least 100ms (e.g. `5s`)"
                    ),
                ));
            }
        }
        if let Some(s) = p.stale_after {
            if !(1..=MAX_STALE_AFTER).contains(&s) {
                return Err(self.err(
                    at(&k("stale_after")),
                    format!("`probes.stale_after` = {s}: use 1 to {MAX_STALE_AFTER} (a number of intervals)"),
                ));
            }
            out.stale_after = s;
        }
        if let Some(c) = p.concurrency {
            if !(1..=MAX_CONCURRENCY).contains(&c) {
                return Err(self.err(
                    at(&k("concurrency")),
                    format!(
                        "`probes.concurrency` = {c}: use 1 to {MAX_CONCURRENCY} probes at a time"
                    ),
                ));
            }
            out.concurrency = c;
        }
        Ok(out)
    }

    pub(super) fn statuses(
        &self,
        path: &[Seg<'_>],
        v: &Option<Vec<u16>>,
        default: &[u16],
    ) -> Result<Vec<u16>, PlanError> {
        match v {
            None => Ok(default.to_vec()),
            Some(list) if list.is_empty() => Err(self.err(
                at(path),
                format!(
                    "`{}` is empty; list the acceptable statuses, e.g. [200]",
                    dotted(path)
                ),
            )),
            Some(list) => {
                if let Some(bad) = list.iter().find(|s| !(100..=599).contains(*s)) {
                    return Err(self.err(
                        at(path),
                        format!("`{}`: {bad} is not an HTTP status (100–599)", dotted(path)),
                    ));
                }
                Ok(list.clone())
            }
        }
    }

    pub(super) fn conditions(
        &self,
        i: usize,
        key: &'static str,
        id: &str,
        list: &[String],
    ) -> Result<Vec<Condition>, PlanError> {
        list.iter()
            .enumerate()
            .map(|(n, c)| {
                Condition::parse(c).map_err(|m| {
                    self.err_full(
                        at(&[Seg::K("step"), Seg::I(i), Seg::K(key), Seg::I(n)]),
                        format!("step `{id}`: bad condition in `{key}`: {m}"),
                        vec![],
                        None,
                        Some(id),
                    )
                })
            })
            .collect()
    }
}

/// overflowing where it meets the clock).
pub const MAX_STALE_AFTER: u32 = 1000;

/// The most probes that may run at once (`probes.concurrency`): beyond a few dozen it only
/// hammers the APIs, and tokio's semaphore panics past `usize::MAX >> 3`.
pub const MAX_CONCURRENCY: usize = 256;

/// Why `section` of `site` is not watched by the panels, mirroring `app::State::new`.
pub(super) fn unconfigured(plan: &Plan, site: SiteId, section: &str) -> Option<String> {
    let s = plan.site(site);
    let id = site.as_str();
    let q = plan.qovery.is_some();
    match section {
        "cluster" if s.cluster.is_none() || !q => Some(format!(
            "it needs `cluster` in `[sites.{id}]` and a `[qovery]` section"
        )),
        "env" if s.environment.is_none() || !q => Some(format!(
            "it needs `environment` in `[sites.{id}]` and a `[qovery]` section"
        )),
        "database" if s.database.is_none() => Some(format!("`[sites.{id}]` has no `database`")),
        "images" if s.registry.is_none() || plan.images.is_none() => Some(format!(
            "it needs `registry` in `[sites.{id}]` and an `[images]` section"
        )),
        "dns" if s.dns_target.is_none() || plan.dns.is_none() => Some(format!(
            "it needs `dns_target` in `[sites.{id}]` and a `[dns]` section"
        )),
        "health" if s.health.is_none() => Some(format!("`[sites.{id}]` has no `health`")),
        _ => None,
    }
}

pub(super) fn images(i: &raw::Images) -> ImagesConfig {
    let mut services: Vec<ImagePin> = i
        .services
        .iter()
        .map(|s| ImagePin {
            service: s.clone(),
            repository: None,
            dr_repository: None,
            tag: None,
        })
        .collect();
    for p in &i.pin {
        let pin = ImagePin {
            service: p.service.clone(),
            repository: p.repository.clone(),
            dr_repository: p.dr_repository.clone(),
            tag: p.tag.clone(),
        };
        match services.iter_mut().find(|s| s.service == p.service) {
            Some(s) => *s = pin,
            None => services.push(pin),
        }
    }
    ImagesConfig { services }
}

/// The plan's `[journal] dir`, if it sets one (read separately so the loaded [`Plan`] keeps its
/// shape; `load_str` has already validated it).
pub fn journal_dir(text: &str) -> Option<std::path::PathBuf> {
    let value: toml::Value = toml::from_str(text).ok()?;
    let dir = value.get("journal")?.get("dir")?.as_str()?;
    let path = std::path::PathBuf::from(dir);
    path.is_absolute().then_some(path)
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
