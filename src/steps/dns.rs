//! `dns.switch` (point the record at a site through the provider; idempotent) and `dns.verify`
//! (wait until every authoritative nameserver answers the new target with one SOA serial,
//! naming the ones that lag, then count down the old TTL).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::registry::TypedKind;
use super::{StepContext, Stream};
use crate::clients::dns::query::{NsAnswer, ZoneView, observe_config};
use crate::clients::dns::{Provider, SwitchOutcome, matches_target};
use crate::clients::http::RequestSpec;
use crate::journal::PreflightCheck;
use crate::plan::load::{Built, PlanError, StepCx};
use crate::plan::raw::RawStep;
use crate::plan::units::{fmt_duration, parse_duration};
use crate::plan::{DnsAction, DnsConfig, DnsOp, Site, SiteId, StepAction};

/// How long one nameserver may take to answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Build a `dns.switch` / `dns.verify` action from its `[[step]]` table. `site` names the site
/// the record must point at; that site's `dns_target` is the new RDATA.
pub fn build(
    kind: &str,
    raw: &RawStep,
    plan_dns: Option<&DnsConfig>,
    sites: &[Site; 2],
) -> Result<StepAction, String> {
    let keys: DnsKeys = raw.spec()?;
    build_keyed(kind, raw, &keys, plan_dns, sites)
}

/// [`build`] with the kind's keys already read.
pub fn build_keyed(
    kind: &str,
    raw: &RawStep,
    keys: &DnsKeys,
    plan_dns: Option<&DnsConfig>,
    sites: &[Site; 2],
) -> Result<StepAction, String> {
    let op = match kind {
        "dns.switch" => DnsOp::Switch,
        "dns.verify" => DnsOp::Verify,
        other => {
            return Err(format!(
                "`{other}` is not a DNS step kind (dns.switch, dns.verify)"
            ));
        }
    };
    let config = plan_dns
        .ok_or_else(|| {
            format!("{kind} needs a [dns] section (record, type, nameservers, provider)")
        })?
        .clone();
    let to = match raw.site.as_deref() {
        Some("prod") => SiteId::Prod,
        Some("dr") => SiteId::Dr,
        Some(other) => return Err(format!("site = \"{other}\": expected \"prod\" or \"dr\"")),
        None => {
            return Err(format!(
                "{kind} needs site = \"dr\" (or \"prod\"): the site the record must point at"
            ));
        }
    };
    let target = sites[to.index()]
        .dns_target
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "{kind} to {}: [sites.{}] has no dns_target (what the record points at when that site serves)",
                to.upper(),
                to.as_str()
            )
        })?;
    let other_target = sites[to.other().index()].dns_target.clone();
    if op == DnsOp::Switch && config.provider.is_none() {
        return Err(
            "dns.switch needs a provider in [dns]: provider = { powerdns = {…} } (or cloudflare, route53)"
                .into(),
        );
    }
    if op == DnsOp::Verify && keys.ttl.is_some() {
        return Err("`ttl` applies to dns.switch, not dns.verify".into());
    }
    if op == DnsOp::Switch && keys.countdown.is_some() {
        return Err("`countdown` applies to dns.verify, not dns.switch".into());
    }
    if let (Some(t), Some(crate::plan::DnsProvider::Cloudflare { .. })) =
        (keys.ttl, &config.provider)
    {
        crate::clients::dns::cloudflare::check_ttl(t).map_err(|e| e.to_string())?;
    }
    let interval = match &keys.interval {
        Some(s) => parse_duration(s).map_err(|e| format!("interval: {e}"))?,
        None => Duration::from_secs(2),
    };
    let wait = match &keys.timeout {
        Some(s) => parse_duration(s).map_err(|e| format!("timeout: {e}"))?,
        None => Duration::from_secs(600),
    };
    Ok(StepAction::Dns(DnsAction {
        op,
        config,
        to,
        target,
        other_target,
        ttl: keys.ttl,
        interval,
        wait,
        countdown: keys.countdown.unwrap_or(true),
        switched: None,
    }))
}

pub fn is_mutating(a: &DnsAction) -> bool {
    a.op == DnsOp::Switch
}

/// The overall timeout the runner applies when the plan sets none.
pub fn default_timeout(a: &DnsAction) -> Duration {
    match a.op {
        // Route 53 may take a while to reach INSYNC.
        DnsOp::Switch => Duration::from_secs(360),
        // Waiting, then the old TTL's countdown (at most a day).
        DnsOp::Verify => a.wait + Duration::from_secs(86_400 + 30),
    }
}

/// Which site these values point at: `PROD`, `DR`, or `other`.
pub fn site_of(a: &DnsAction, values: &[String]) -> &'static str {
    let rt = &a.config.record_type;
    if matches_target(rt, values, &a.target) {
        a.to.upper()
    } else if a
        .other_target
        .as_deref()
        .is_some_and(|t| matches_target(rt, values, t))
    {
        match a.to {
            SiteId::Prod => "DR",
            SiteId::Dr => "PROD",
        }
    } else if values.is_empty() {
        "nothing"
    } else {
        "other"
    }
}

fn request_lines(r: &RequestSpec) -> Vec<String> {
    let mut v = vec![format!("{} {}", r.method, r.url)];
    for (k, val) in &r.headers {
        // Credentials are never shown, whether or not the plan wrote them as references.
        let shown = match k.to_ascii_lowercase().as_str() {
            "x-api-key" => "‹api_key›".to_string(),
            "authorization" => match val.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} ‹token›"),
                None => "‹token›".into(),
            },
            _ => val.clone(),
        };
        v.push(format!("  {k}: {shown}"));
    }
    if let Some(b) = &r.body {
        v.push("  body:".into());
        v.extend(b.lines().map(|l| format!("    {l}")));
    }
    v
}

pub fn describe(a: &DnsAction) -> Vec<String> {
    let c = &a.config;
    let ns = if c.nameservers.is_empty() {
        "the zone's NS set (discovered)".to_string()
    } else {
        c.nameservers.join(", ")
    };
    match a.op {
        DnsOp::Switch => {
            let mut v = vec![format!(
                "point {} {} at {} → {}",
                c.record,
                c.record_type,
                a.to.upper(),
                a.target
            )];
            let other = match a.to {
                SiteId::Prod => "DR",
                SiteId::Dr => "PROD",
            };
            v.push(format!(
                "before → after: {}{} → {} {} (read first; nothing is sent if it already points there)",
                other,
                a.other_target
                    .as_deref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default(),
                a.to.upper(),
                a.target,
            ));
            match Provider::from_config(c) {
                Ok(p) => {
                    let values = crate::clients::dns::target_values(&c.record_type, &a.target);
                    for r in p.change_requests(&values, a.ttl) {
                        v.extend(request_lines(&r));
                    }
                    if let Provider::Route53(_) = p {
                        v.push(
                            "  (signed with SigV4; then GET /2013-04-01/change/{Id} until INSYNC)"
                                .into(),
                        );
                    }
                    v.push(format!(
                        "TTL {}; then read the record back through the {} API",
                        a.ttl
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "unchanged".into()),
                        p.name()
                    ));
                }
                Err(e) => v.push(format!("cannot call a provider: {e}")),
            }
            v.push(format!("verified by dns.verify against {ns}"));
            v
        }
        DnsOp::Verify => {
            let mut v = vec![
                format!(
                    "ask each authoritative nameserver directly (recursion off, `aa` required): {ns}"
                ),
                format!(
                    "until every one answers {} {} → {} ({}) with the same SOA serial",
                    c.record,
                    c.record_type,
                    a.target,
                    a.to.upper()
                ),
                format!(
                    "every {}, for at most {}; names the nameservers that lag",
                    fmt_duration(a.interval),
                    fmt_duration(a.wait)
                ),
            ];
            if a.countdown {
                v.push(
                    "then count down the old TTL (resolvers may cache the old answer until then)"
                        .into(),
                );
            }
            v
        }
    }
}

fn view_lines(a: &DnsAction, view: &ZoneView) -> Vec<String> {
    view.answers
        .iter()
        .map(|ans| match &ans.result {
            Ok(r) => format!(
                "{}: {} → {} ({}) TTL {} serial {}",
                ans.ns,
                view.record,
                if r.values.is_empty() {
                    r.rcode.clone()
                } else {
                    r.values.join(", ")
                },
                site_of(a, &r.values),
                r.ttl.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                r.serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into())
            ),
            Err(e) => format!("{}: ✗ {}", ans.ns, e.reason(&ans.ns)),
        })
        .collect()
}

pub async fn preflight(a: &DnsAction, ctx: &StepContext) -> Vec<PreflightCheck> {
    let mut checks = Vec::new();
    if a.op == DnsOp::Switch {
        match Provider::from_config(&a.config) {
            Ok(p) => {
                let what = format!("{} API answers and accepts the credentials", p.name());
                checks.push(match p.check_access(&ctx.http).await {
                    Ok(detail) => PreflightCheck {
                        what,
                        ok: Some(true),
                        detail,
                    },
                    Err(e) => PreflightCheck {
                        what,
                        ok: Some(false),
                        detail: e.redacted(),
                    },
                });
                let what = format!("{} holds now", p.name());
                checks.push(match p.current(&ctx.http).await {
                    Ok(Some(st)) => PreflightCheck {
                        what,
                        ok: Some(true),
                        detail: format!(
                            "{} ({}) → after the switch: {} ({})",
                            st.show(),
                            site_of(a, &st.values),
                            a.target,
                            a.to.upper()
                        ),
                    },
                    Ok(None) => PreflightCheck {
                        what,
                        ok: Some(true),
                        detail: format!(
                            "no {} record yet; the switch creates it",
                            a.config.record_type
                        ),
                    },
                    Err(e) => PreflightCheck {
                        what,
                        ok: Some(false),
                        detail: e.redacted(),
                    },
                });
            }
            Err(e) => checks.push(PreflightCheck {
                what: "DNS provider configured".into(),
                ok: Some(false),
                detail: e.redacted(),
            }),
        }
    }
    let what = "authoritative nameservers answer".to_string();
    checks.push(match observe_config(&a.config, QUERY_TIMEOUT).await {
        Ok(view) => {
            let ok = view.answers.iter().all(|x| x.result.is_ok());
            PreflightCheck {
                what,
                ok: Some(ok),
                detail: view_lines(a, &view).join("; "),
            }
        }
        Err(e) => PreflightCheck {
            what,
            ok: Some(false),
            detail: e.redacted(),
        },
    });
    checks
}

pub async fn run(a: &DnsAction, ctx: &StepContext) -> Result<String, String> {
    match a.op {
        DnsOp::Switch => run_switch(a, ctx).await,
        DnsOp::Verify => run_verify(a, ctx).await,
    }
}

pub use crate::plan::SwitchMark;

/// The output stream on which `dns.switch` records what it set (JSON of a [`SwitchMark`] with
/// the record's name). The journal keeps it, so `dns.verify` finds it after `--resume`.
pub const EVIDENCE_STREAM: &str = Stream::DnsEvidence.as_str();
const EVIDENCE: Stream = Stream::DnsEvidence;

/// The JSON `dns.switch` records on [`EVIDENCE_STREAM`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Evidence {
    record: String,
    #[serde(flatten)]
    mark: SwitchMark,
}

/// What a `dns.switch` of `record` recorded, from a step's journaled output (the last one wins).
pub fn mark_from_journal<'a>(
    record: &str,
    outputs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<SwitchMark> {
    let fqdn = crate::clients::dns::fqdn(record);
    outputs
        .into_iter()
        .filter(|(stream, _)| *stream == EVIDENCE_STREAM)
        .filter_map(|(_, text)| serde_json::from_str::<Evidence>(text).ok())
        .filter(|e| crate::clients::dns::fqdn(&e.record) == fqdn)
        .last()
        .map(|e| e.mark)
}

/// Forget every switch this process saw (what a new process, e.g. one resuming, starts with).
pub fn forget_switch_marks() {
    MARKS.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// What this process saw, for the DNS panel (`caches_left`): `dns.verify` reads the journal's.
static MARKS: LazyLock<Mutex<HashMap<String, SwitchMark>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The last switch of `record` in this process, if any.
pub fn switch_mark(record: &str) -> Option<SwitchMark> {
    MARKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&crate::clients::dns::fqdn(record))
        .cloned()
}

fn set_mark(record: &str, f: impl FnOnce(&mut Option<SwitchMark>)) {
    let mut g = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    let key = crate::clients::dns::fqdn(record);
    let mut cur = g.get(&key).cloned();
    f(&mut cur);
    match cur {
        Some(m) => g.insert(key, m),
        None => g.remove(&key),
    };
}

/// When resolvers may stop holding the old answer: converged + old TTL.
pub fn caches_until(record: &str) -> Option<DateTime<Utc>> {
    let m = switch_mark(record)?;
    let at = m.converged_at?;
    Some(at + chrono::Duration::seconds(i64::from(m.old_ttl.unwrap_or(0))))
}

async fn run_switch(a: &DnsAction, ctx: &StepContext) -> Result<String, String> {
    let c = &a.config;
    let provider = Provider::from_config(c).map_err(|e| e.redacted())?;
    let progress = {
        let ctx = ctx.clone();
        move |s: String| ctx.info(s)
    };
    ctx.info(format!(
        "{}: point {} {} at {} ({})",
        provider.name(),
        c.record,
        c.record_type,
        a.to.upper(),
        a.target
    ));
    match provider
        .switch(&ctx.http, &a.target, a.ttl, &c.record_type, &progress)
        .await
    {
        Ok(SwitchOutcome::AlreadyThere(st)) => {
            let msg = format!(
                "{} already points at {} ({}); nothing sent",
                c.record,
                a.to.upper(),
                st.show()
            );
            ctx.info(msg.clone());
            Ok(msg)
        }
        Ok(SwitchOutcome::Changed {
            before,
            after,
            note,
        }) => {
            let before_text = before
                .as_ref()
                .map(|b| format!("{} ({})", b.show(), site_of(a, &b.values)))
                .unwrap_or_else(|| "(no record)".into());
            ctx.info(note);
            let mark = SwitchMark {
                target: a.target.clone(),
                old_ttl: before.as_ref().and_then(|b| b.ttl),
                switched_at: Utc::now(),
                converged_at: None,
            };
            let evidence = Evidence {
                record: c.record.clone(),
                mark: mark.clone(),
            };
            if let Ok(json) = serde_json::to_string(&evidence) {
                ctx.emit(EVIDENCE, json);
            }
            set_mark(&c.record, |m| *m = Some(mark));
            let msg = format!(
                "{}: {before_text} → {} ({})",
                c.record,
                after.show(),
                a.to.upper()
            );
            ctx.info(msg.clone());
            Ok(msg)
        }
        Err(e) => {
            let msg = e.redacted();
            ctx.emit(Stream::Stderr, msg.clone());
            Err(msg)
        }
    }
}

/// Who still lags in a view: `(nameserver, why)`.
fn laggards(a: &DnsAction, view: &ZoneView) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rt = &a.config.record_type;
    // The serial most of the up-to-date nameservers have.
    let new_serials: Vec<u32> = view
        .answered()
        .filter(|(_, r)| matches_target(rt, &r.values, &a.target))
        .filter_map(|(_, r)| r.serial)
        .collect();
    let top = new_serials.iter().max().copied();
    for NsAnswer { ns, result } in &view.answers {
        match result {
            Err(e) => out.push((ns.clone(), e.reason(ns))),
            Ok(r) if !matches_target(rt, &r.values, &a.target) => out.push((
                ns.clone(),
                format!(
                    "still answers {} ({}), serial {}",
                    if r.values.is_empty() {
                        r.rcode.clone()
                    } else {
                        r.values.join(", ")
                    },
                    site_of(a, &r.values),
                    r.serial
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into())
                ),
            )),
            Ok(r) if r.serial != top => out.push((
                ns.clone(),
                format!(
                    "answers the new target but with serial {} (others {})",
                    r.serial
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    top.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
                ),
            )),
            Ok(_) => {}
        }
    }
    out
}

/// Cloudflare-proxied records answer with edge addresses, so the nameservers cannot show the
/// switch: read the record back through the API instead. `None` when the record is not proxied.
async fn verify_proxied(a: &DnsAction, ctx: &StepContext) -> Result<Option<String>, String> {
    if !matches!(
        a.config.provider,
        Some(crate::plan::DnsProvider::Cloudflare { .. })
    ) {
        return Ok(None);
    }
    let p = Provider::from_config(&a.config).map_err(|e| e.redacted())?;
    match p.current(&ctx.http).await.map_err(|e| e.redacted())? {
        Some(st) if st.proxied == Some(true) => {
            if matches_target(&a.config.record_type, &st.values, &a.target) {
                Ok(Some(format!(
                    "{} is proxied by Cloudflare (public answers are edge addresses); the API holds {} ({})",
                    a.config.record,
                    st.show(),
                    a.to.upper()
                )))
            } else {
                Err(format!(
                    "{} is proxied by Cloudflare; the API holds {} ({}), not {} ({})",
                    a.config.record,
                    st.show(),
                    site_of(a, &st.values),
                    a.target,
                    a.to.upper()
                ))
            }
        }
        _ => Ok(None),
    }
}

async fn run_verify(a: &DnsAction, ctx: &StepContext) -> Result<String, String> {
    let c = &a.config;
    if let Some(msg) = verify_proxied(a, ctx).await? {
        ctx.info(msg.clone());
        return Ok(msg);
    }
    let started = Instant::now();
    // What the switch set, from the journal (so a resumed cockpit has it too), else from what
    // this process saw.
    let mark = a
        .switched
        .clone()
        .or_else(|| switch_mark(&c.record))
        .filter(|m| m.target == a.target);
    let mut last_report = String::new();
    let mut tries = 0u32;
    let view = loop {
        tries += 1;
        let view = observe_config(c, QUERY_TIMEOUT)
            .await
            .map_err(|e| e.redacted())?;
        let lag = laggards(a, &view);
        if lag.is_empty() && !view.answers.is_empty() {
            break view;
        }
        let report = lag
            .iter()
            .map(|(ns, why)| format!("{ns} {why}"))
            .collect::<Vec<_>>()
            .join("; ");
        if report != last_report {
            ctx.emit(
                Stream::Stderr,
                format!(
                    "waiting for {} of {} nameservers: {report}",
                    lag.len(),
                    view.answers.len()
                ),
            );
            last_report = report.clone();
        }
        if started.elapsed() + a.interval > a.wait {
            return Err(format!(
                "after {} ({tries} rounds) {} of {} nameservers lag: {report}",
                fmt_duration(started.elapsed()),
                lag.len(),
                view.answers.len()
            ));
        }
        tokio::time::sleep(a.interval).await;
    };
    for l in view_lines(a, &view) {
        ctx.info(l);
    }
    let serial = view.serials().first().copied().unwrap_or(0);
    let now = Utc::now();
    // Resolvers may hold what they cached before the switch for the old TTL.
    let old_ttl = mark
        .as_ref()
        .and_then(|m| m.old_ttl)
        .or(view.max_ttl())
        .unwrap_or(0);
    let converged = mark.as_ref().and_then(|m| m.converged_at).unwrap_or(now);
    set_mark(&c.record, |m| {
        let mut mk = m.clone().unwrap_or(SwitchMark {
            target: a.target.clone(),
            old_ttl: Some(old_ttl),
            switched_at: now,
            converged_at: None,
        });
        mk.converged_at.get_or_insert(converged);
        *m = Some(mk);
    });
    let until = converged + chrono::Duration::seconds(i64::from(old_ttl));
    let summary = format!(
        "{} answer{} {} ({}) with serial {serial}",
        match view.answers.len() {
            1 => "the nameserver".to_string(),
            n => format!("all {n} nameservers"),
        },
        if view.answers.len() == 1 { "s" } else { "" },
        a.target,
        a.to.upper()
    );
    ctx.info(format!(
        "{summary}; resolvers may hold the old answer until {} (old TTL {old_ttl}s)",
        until.format("%H:%M:%S UTC")
    ));
    if a.countdown {
        let step = Duration::from_secs(u64::from(old_ttl / 6).clamp(1, 10));
        loop {
            let left = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                break;
            }
            ctx.info(format!(
                "caches: {} left",
                fmt_duration(Duration::from_secs(left.as_secs_f64().round() as u64))
            ));
            tokio::time::sleep(left.min(step)).await;
        }
        Ok(format!(
            "{summary}; cached old answers expired at {}",
            until.format("%H:%M:%S UTC")
        ))
    } else {
        Ok(format!(
            "{summary}; caches may hold the old answer until {}",
            until.format("%H:%M:%S UTC")
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The `dns.switch` and `dns.verify` kinds

/// Every key the DNS kinds use (besides the common ones): what [`build_keyed`] reads.
#[derive(Debug, Default, Deserialize)]
pub struct DnsKeys {
    #[serde(default)]
    pub ttl: Option<u32>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub countdown: Option<bool>,
}

/// The keys `dns.switch` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchKeys {
    /// dns.switch: the TTL to set in seconds (default: keep the current TTL).
    #[serde(default)]
    pub ttl: Option<u32>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// The keys `dns.verify` takes besides the common ones.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyKeys {
    /// How often to ask the nameservers (default 2s).
    #[serde(default)]
    pub interval: Option<String>,
    /// How long to wait for every nameserver to answer the new target (default 10m).
    #[serde(default)]
    pub timeout: Option<String>,
    /// dns.verify: count down the old TTL once every nameserver answers the new target (default true).
    #[serde(default)]
    pub countdown: Option<bool>,
}

impl From<SwitchKeys> for DnsKeys {
    fn from(k: SwitchKeys) -> Self {
        DnsKeys {
            ttl: k.ttl,
            timeout: k.timeout,
            ..Default::default()
        }
    }
}

impl From<VerifyKeys> for DnsKeys {
    fn from(k: VerifyKeys) -> Self {
        DnsKeys {
            interval: k.interval,
            timeout: k.timeout,
            countdown: k.countdown,
            ..Default::default()
        }
    }
}

/// `dns.switch` / `dns.verify`, with the keys `K` of each (`SWITCH`, `VERIFY`).
pub struct Dns<K>(PhantomData<fn() -> K>);

/// `dns.switch`.
pub const SWITCH: Dns<SwitchKeys> = Dns(PhantomData);
/// `dns.verify`.
pub const VERIFY: Dns<VerifyKeys> = Dns(PhantomData);

impl<K> TypedKind for Dns<K>
where
    K: Into<DnsKeys> + DeserializeOwned + JsonSchema + Send + 'static,
{
    type Spec = K;
    type Action = DnsAction;
    fn action(a: &StepAction) -> Option<&DnsAction> {
        match a {
            StepAction::Dns(x) => Some(x),
            _ => None,
        }
    }
    fn reverse(&self, step: &toml::Table) -> Option<Vec<toml::Table>> {
        super::reverse::swap_site(step).map(|t| vec![t])
    }
    fn build(&self, keys: K, s: &mut StepCx<'_, '_, '_>) -> Result<Built, PlanError> {
        let keys: DnsKeys = keys.into();
        // Durations first, so a bad one points at its own value.
        let interval = s.duration("interval", &keys.interval)?;
        let timeout = s.duration("timeout", &keys.timeout)?;
        if let Some(d) = interval {
            s.positive("interval", d)?;
        }
        if let Some(d) = timeout {
            s.positive("timeout", d)?;
        }
        let kind = s.kind().to_string();
        let action = build_keyed(&kind, s.raw(), &keys, s.dns(), s.sites())
            .map_err(|e| s.error("site", &e, vec![], None))?;
        Ok(Built {
            action,
            // dns.verify's `timeout` is how long it waits (inside the action).
            timeout: if kind == "dns.switch" { timeout } else { None },
        })
    }
    fn describe(&self, a: &DnsAction) -> Vec<String> {
        describe(a)
    }
    fn is_mutating(&self, a: &DnsAction) -> bool {
        is_mutating(a)
    }
    fn default_timeout(&self, a: &DnsAction) -> Duration {
        default_timeout(a)
    }
    fn preflight<'a>(
        &'a self,
        a: &'a DnsAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Vec<PreflightCheck>> {
        Box::pin(preflight(a, ctx))
    }
    fn run<'a>(
        &'a self,
        a: &'a DnsAction,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(run(a, ctx))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::json!({ "required": ["site"] })
    }
    fn hand_off(&self, action: &mut StepAction, outputs: &[(&str, &str)]) {
        if let StepAction::Dns(a) = action
            && a.op == DnsOp::Verify
        {
            a.switched = mark_from_journal(&a.config.record, outputs.iter().copied());
        }
    }
}
