//! Images: is every image the prod site runs in the DR registry, byte for byte?
//!
//! Per service of `[images]`: the repository and tag come from the prod site's Qovery containers
//! (`GET /environment/{prod}/container`: `image_name`, `tag`), unless pinned in the plan
//! (`[[images.pin]]` with `repository`, `dr_repository`, `tag`). The DR repository is the prod
//! one with the prod registry's `namespace` prefix swapped for the DR registry's (or
//! `dr_repository`). Each registry is asked `HEAD /v2/<repo>/manifests/<tag>` with a bounded
//! fan-out ([`DEFAULT_FANOUT`] services at a time, both registries of a service concurrently).
//! The two panels refresh together: the targets and the prod lookups of a round are read once
//! and serve both (the DR panel waits for the prod panel's, or the other way round).
//!
//! Fields for conditions: `synced` (DR only: every image present in DR with the prod digest),
//! `missing` (count absent from this site's registry), `present`, `total`, `different` (DR:
//! present with another digest), `errors` (could not be read).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::reading::{Level, ProbeError, Reading};
use crate::clients::http::HttpClient;
use crate::clients::registry::{AuthCache, Manifest, RegistryClient, RegistryError};
use crate::plan::{Plan, RegistryConfig, SiteId, Value};

/// Every field an Images reading may carry (for the loader's condition check).
pub const FIELDS: &[&str] = &[
    "synced",
    "missing",
    "present",
    "total",
    "different",
    "errors",
];

/// Services checked at a time (each asks both registries at once, so up to twice this many
/// requests are in flight).
pub const DEFAULT_FANOUT: usize = 16;
// A round's connections to a registry must all fit in the transport's idle pool, or every
// round reconnects (TLS included) the ones it dropped.
const _: () = assert!(DEFAULT_FANOUT <= crate::clients::http::POOL_IDLE_PER_HOST);

const TIMEOUT: Duration = Duration::from_secs(10);

/// One image to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageTarget {
    pub service: String,
    pub prod_repository: String,
    pub dr_repository: String,
    /// `None` when neither the plan nor the prod containers say which tag runs.
    pub tag: Option<String>,
    /// Where the repository and tag came from (`qovery`, `plan`, `qovery (last seen)`).
    pub source: String,
}

/// What one registry said about one image.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Present(Manifest),
    Missing,
    Error(String),
    /// Not asked (no tag, or this side was not checked).
    NotAsked,
}

impl Lookup {
    fn digest(&self) -> Option<&str> {
        match self {
            Lookup::Present(m) => Some(&m.digest),
            _ => None,
        }
    }
}

/// The verdict on one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    Same,
    Missing,
    Different,
    Unknown,
}

impl Sync {
    pub fn mark(self) -> &'static str {
        match self {
            Sync::Same => "✓ same",
            Sync::Missing => "✗ missing",
            Sync::Different => "≠ different",
            Sync::Unknown => "? error",
        }
    }
}

/// One service, both registries.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow {
    pub target: ImageTarget,
    pub prod: Lookup,
    pub dr: Lookup,
    /// The prod registry did not answer; `prod` is the digest it gave this long ago.
    pub prod_seen_ago: Option<Duration>,
}

impl ImageRow {
    /// DR compared with prod.
    pub fn sync(&self) -> Sync {
        match (&self.prod, &self.dr) {
            (_, Lookup::Missing) => Sync::Missing,
            (Lookup::Present(p), Lookup::Present(d)) if p.digest == d.digest => Sync::Same,
            (Lookup::Present(_), Lookup::Present(_)) => Sync::Different,
            _ => Sync::Unknown,
        }
    }
    /// Why it is unknown, when it is.
    pub fn error(&self) -> Option<String> {
        if self.target.tag.is_none() {
            return Some(format!(
                "no tag for {}: not a container of the prod environment and not pinned in [images]",
                self.target.service
            ));
        }
        match (&self.prod, &self.dr) {
            (Lookup::Error(e), _) => Some(format!("prod: {e}")),
            (_, Lookup::Error(e)) => Some(format!("dr: {e}")),
            (Lookup::Missing, Lookup::Present(_)) => Some("missing from the prod registry".into()),
            _ => None,
        }
    }
}

/// The short form of a digest for a panel: the first 12 hex digits.
pub fn short_digest(d: &str) -> String {
    let hex = d.split_once(':').map(|(_, h)| h).unwrap_or(d);
    hex.chars().take(12).collect()
}

/// What the Images probes remember between rounds, for one run (inside `probes::ProbeMemory`).
///
/// Why each part exists:
/// - `last_targets`: the targets last resolved, used when the prod Qovery API cannot answer (a
///   region outage is exactly when DR needs them);
/// - `prod_seen`: the prod digest last read per service, so DR still compares when the prod
///   registry is down;
/// - `rounds`: the current round of prod lookups, so the two panels of one refresh read prod once;
/// - `auth`: the registry tokens and challenges, so a client built per refresh reuses its token.
///
/// Bound: `last_targets` and `rounds` hold one entry per plan (and prod configuration) probed by
/// the run; `prod_seen` one per service of `[images]` (a new tag replaces the service's entry
/// rather than adding one); `auth` see [`AuthCache`]. None grows with time.
#[derive(Default)]
pub struct ImagesMemory {
    last_targets: Mutex<HashMap<String, Vec<ImageTarget>>>,
    prod_seen: Mutex<HashMap<String, SeenDigest>>,
    rounds: Mutex<HashMap<String, RoundSlot>>,
    /// Registry tokens and challenges of every client the Images probes build.
    pub auth: Arc<AuthCache>,
}

impl std::fmt::Debug for ImagesMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, s, r) = self.entries();
        write!(
            f,
            "ImagesMemory({t} target sets, {s} prod digests, {r} rounds, {:?})",
            self.auth
        )
    }
}

impl ImagesMemory {
    /// How many entries are held: (target sets, prod digests, prod rounds).
    pub fn entries(&self) -> (usize, usize, usize) {
        (
            lock(&self.last_targets).len(),
            lock(&self.prod_seen).len(),
            lock(&self.rounds).len(),
        )
    }
}

/// A prod digest as last read: for which repository and tag, and when.
struct SeenDigest {
    repository: String,
    tag: Option<String>,
    manifest: Manifest,
    at: Instant,
}

/// Map a prod repository into the DR registry: swap the prod namespace prefix for the DR one.
pub fn dr_repository(
    prod_repo: &str,
    prod: Option<&RegistryConfig>,
    dr: Option<&RegistryConfig>,
) -> String {
    let ns = |c: Option<&RegistryConfig>| {
        c.and_then(|c| c.namespace.as_deref())
            .map(|n| n.trim_matches('/').to_string())
            .filter(|n| !n.is_empty())
    };
    let base = match ns(prod) {
        Some(p) => prod_repo
            .strip_prefix(&format!("{p}/"))
            .unwrap_or(prod_repo),
        None => prod_repo,
    };
    match ns(dr) {
        Some(d) => format!("{d}/{base}"),
        None => base.to_string(),
    }
}

/// The images to compare: tags from the prod Qovery containers unless pinned.
pub async fn targets(
    plan: &Plan,
    http: &HttpClient,
    mem: &ImagesMemory,
) -> Result<Vec<ImageTarget>, ProbeError> {
    let Some(images) = &plan.images else {
        return Err(ProbeError::new(
            "not configured",
            "no [images] section in the plan",
        ));
    };
    let prod_reg = plan.site(SiteId::Prod).registry.as_ref();
    let dr_reg = plan.site(SiteId::Dr).registry.as_ref();
    let needs_qovery = images
        .services
        .iter()
        .any(|p| p.tag.is_none() || p.repository.is_none());
    let mut containers = None;
    let mut qovery_error = None;
    if needs_qovery {
        match (&plan.qovery, &plan.site(SiteId::Prod).environment) {
            (Some(q), Some(env)) => {
                let c = crate::clients::qovery::QoveryClient::from_plan(q, http.clone())
                    .with_timeout(TIMEOUT);
                match c.list_containers(env).await {
                    Ok(l) => containers = Some(l),
                    Err(e) => qovery_error = Some(crate::redact::redact_string(e.to_string())),
                }
            }
            _ => {
                qovery_error = Some(
                    "tags come from the prod Qovery containers, but the plan has no [qovery] section or no prod `environment`; pin `tag` in [[images.pin]]".into(),
                )
            }
        }
    }
    if containers.is_none()
        && let Some(e) = &qovery_error
    {
        // Fall back on what was resolved before (say during a prod region outage).
        if let Some(last) = lock(&mem.last_targets).get(&plan.hash) {
            return Ok(last
                .iter()
                .map(|t| ImageTarget {
                    source: if t.source.ends_with("(last seen)") {
                        t.source.clone()
                    } else {
                        format!("{} (last seen)", t.source)
                    },
                    ..t.clone()
                })
                .collect());
        }
        if images.services.iter().all(|p| p.tag.is_none()) {
            return Err(ProbeError::new(
                "no tags",
                format!("cannot read the image tags: {e}"),
            ));
        }
    }
    let mut out = Vec::with_capacity(images.services.len());
    for pin in &images.services {
        let ct = containers
            .as_ref()
            .and_then(|l| l.iter().find(|c| c.name == pin.service));
        let prod_repository = pin
            .repository
            .clone()
            .or_else(|| ct.map(|c| c.image_name.clone()))
            .unwrap_or_else(|| match prod_reg.and_then(|r| r.namespace.as_deref()) {
                Some(ns) => format!("{}/{}", ns.trim_matches('/'), pin.service),
                None => pin.service.clone(),
            });
        let dr_repository = pin
            .dr_repository
            .clone()
            .unwrap_or_else(|| dr_repository(&prod_repository, prod_reg, dr_reg));
        let tag = pin.tag.clone().or_else(|| ct.map(|c| c.tag.clone()));
        let source = if pin.tag.is_some() { "plan" } else { "qovery" };
        out.push(ImageTarget {
            service: pin.service.clone(),
            prod_repository,
            dr_repository,
            tag,
            source: source.into(),
        });
    }
    if containers.is_some() {
        lock(&mem.last_targets).insert(plan.hash.clone(), out.clone());
    }
    Ok(out)
}

/// One entry per service and prod registry: a new tag replaces the old one.
fn seen_key(plan: &Plan, t: &ImageTarget) -> String {
    let base = plan
        .site(SiteId::Prod)
        .registry
        .as_ref()
        .map(|r| r.url.as_str())
        .unwrap_or("");
    format!("{base}\u{0}{}", t.service)
}

/// Remember every prod digest read; where the prod registry did not answer, use the digest it
/// gave last for the same repository and tag (a prod region outage is when DR needs the
/// comparison most). Rows that fall back say how old their prod digest is.
pub fn use_last_seen_prod(plan: &Plan, mem: &ImagesMemory, rows: &mut [ImageRow]) {
    let mut seen = lock(&mem.prod_seen);
    for r in rows.iter_mut() {
        let key = seen_key(plan, &r.target);
        match &r.prod {
            Lookup::Present(m) => {
                seen.insert(
                    key,
                    SeenDigest {
                        repository: r.target.prod_repository.clone(),
                        tag: r.target.tag.clone(),
                        manifest: m.clone(),
                        at: Instant::now(),
                    },
                );
            }
            Lookup::Error(_) => {
                if let Some(s) = seen
                    .get(&key)
                    .filter(|s| s.repository == r.target.prod_repository && s.tag == r.target.tag)
                {
                    r.prod = Lookup::Present(s.manifest.clone());
                    r.prod_seen_ago = Some(s.at.elapsed());
                }
            }
            _ => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn client(
    plan: &Plan,
    http: &HttpClient,
    mem: &ImagesMemory,
    site: SiteId,
) -> Result<RegistryClient, ProbeError> {
    let Some(cfg) = &plan.site(site).registry else {
        return Err(ProbeError::new(
            "not configured",
            format!("[sites.{}] has no `registry`", site.as_str()),
        ));
    };
    RegistryClient::from_config(cfg, http)
        .map(|c| c.with_timeout(TIMEOUT).with_auth_cache(mem.auth.clone()))
        .map_err(|e| ProbeError::new(e.short(), crate::redact::redact_string(e.to_string())))
}

async fn ask(c: Option<&RegistryClient>, repo: &str, tag: Option<&str>) -> Lookup {
    let (Some(c), Some(tag)) = (c, tag) else {
        return Lookup::NotAsked;
    };
    match c.manifest(repo, tag).await {
        Ok(Some(m)) => Lookup::Present(m),
        Ok(None) => Lookup::Missing,
        Err(e) => Lookup::Error(crate::redact::redact_string(e.to_string())),
    }
}

/// Ask the registries about every target, `fanout` services at a time. `prod`/`dr` `None` skips
/// that side. Rows come back in the targets' order.
pub async fn compare(
    targets: Vec<ImageTarget>,
    prod: Option<&RegistryClient>,
    dr: Option<&RegistryClient>,
    fanout: usize,
) -> Vec<ImageRow> {
    let mut rows: Vec<(usize, ImageRow)> = futures::stream::iter(targets.into_iter().enumerate())
        .map(|(i, t)| async move {
            let tag = t.tag.clone();
            let (p, d) = futures::join!(
                ask(prod, &t.prod_repository, tag.as_deref()),
                ask(dr, &t.dr_repository, tag.as_deref())
            );
            (
                i,
                ImageRow {
                    target: t,
                    prod: p,
                    dr: d,
                    prod_seen_ago: None,
                },
            )
        })
        .buffer_unordered(fanout.max(1))
        .collect()
        .await;
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Resolve the targets and compare both registries (the set-image step and `status`).
pub async fn check(
    plan: &Plan,
    http: &HttpClient,
    mem: &ImagesMemory,
    services: Option<&[String]>,
) -> Result<Vec<ImageRow>, ProbeError> {
    let mut t = targets(plan, http, mem).await?;
    if let Some(s) = services {
        t.retain(|x| s.contains(&x.service));
    }
    let prod = client(plan, http, mem, SiteId::Prod)?;
    let dr = client(plan, http, mem, SiteId::Dr)?;
    let mut rows = compare(t, Some(&prod), Some(&dr), DEFAULT_FANOUT).await;
    use_last_seen_prod(plan, mem, &mut rows);
    Ok(rows)
}

/// Targets and prod lookups of one refresh, shared by the two Images probes: both panels refresh
/// on the same tick and need the same prod Qovery containers and prod registry digests, so these
/// are asked once per round rather than once per panel.
struct ProdRound {
    at: Instant,
    targets: Vec<ImageTarget>,
    prod: Vec<Lookup>,
}

/// The last round per plan and prod configuration (see [`round_key`]). Each slot is locked while
/// its round is read, so the probe that comes second waits for the first one's answers instead
/// of asking again.
type RoundSlot = Arc<tokio::sync::Mutex<Option<ProdRound>>>;

/// Everything a round's answers depend on: the plan, and where and as whom prod Qovery and the
/// prod registry are asked (hashed, so no credential is kept in the key).
fn round_key(plan: &Plan) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut part = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    part(&plan.hash);
    if let Some(r) = &plan.site(SiteId::Prod).registry {
        part(&r.url);
        part(r.username.as_deref().unwrap_or(""));
        part(r.password.as_deref().unwrap_or(""));
        part(r.ca_bundle.as_deref().unwrap_or(""));
    }
    if let Some(q) = &plan.qovery {
        part(&q.api_url);
        part(&q.token);
    }
    hex::encode(h.finalize())
}

/// The targets and what the prod registry says about each: this round's if the other site's
/// probe already read them (within half a probe interval), else read now.
async fn prod_round(
    plan: &Plan,
    http: &HttpClient,
    mem: &ImagesMemory,
) -> Result<(Vec<ImageTarget>, Vec<Lookup>), ProbeError> {
    let slot = lock(&mem.rounds)
        .entry(round_key(plan))
        .or_default()
        .clone();
    let mut round = slot.lock().await;
    if let Some(r) = round
        .as_ref()
        .filter(|r| r.at.elapsed() < plan.probes.interval / 2)
    {
        return Ok((r.targets.clone(), r.prod.clone()));
    }
    let t = targets(plan, http, mem).await?;
    let prod = client(plan, http, mem, SiteId::Prod)?;
    let prod: Vec<Lookup> = compare(t.clone(), Some(&prod), None, DEFAULT_FANOUT)
        .await
        .into_iter()
        .map(|r| r.prod)
        .collect();
    *round = Some(ProdRound {
        at: Instant::now(),
        targets: t.clone(),
        prod: prod.clone(),
    });
    Ok((t, prod))
}

/// The Images section of one site.
pub async fn probe(
    plan: &Plan,
    http: &HttpClient,
    mem: &ImagesMemory,
    site: SiteId,
) -> Result<Reading, ProbeError> {
    let (t, prod) = prod_round(plan, http, mem).await?;
    let mut rows = match site {
        SiteId::Prod => t
            .into_iter()
            .zip(prod)
            .map(|(target, prod)| ImageRow {
                target,
                prod,
                dr: Lookup::NotAsked,
                prod_seen_ago: None,
            })
            .collect(),
        SiteId::Dr => {
            let dr = client(plan, http, mem, SiteId::Dr)?;
            let mut rows = compare(t, None, Some(&dr), DEFAULT_FANOUT).await;
            for (r, p) in rows.iter_mut().zip(prod) {
                r.prod = p;
            }
            rows
        }
    };
    // The prod panel shows the prod registry as it is; DR compares with the last digests seen.
    let prod_dead = all_failed(&rows, |r| &r.prod);
    if site == SiteId::Dr {
        use_last_seen_prod(plan, mem, &mut rows);
    } else if let Some(e) = &prod_dead {
        return Err(ProbeError::new("registry unreadable", e.clone()));
    }
    // A registry that answers nothing (down, credentials refused) is an error for the section, so
    // conditions on it are unknown rather than false.
    let dead = all_failed(&rows, |r| &r.prod)
        .map(|e| ("prod registry unreadable", e))
        .or_else(|| {
            (site == SiteId::Dr)
                .then(|| all_failed(&rows, |r| &r.dr))
                .flatten()
                .map(|e| ("DR registry unreadable", e))
        });
    if let Some((short, full)) = dead {
        return Err(ProbeError::new(short, full));
    }
    Ok(match site {
        SiteId::Prod => prod_reading(&rows),
        SiteId::Dr => dr_reading(&rows),
    })
}

/// All requests failed the same way (the registry is down, or the credentials are wrong): say
/// that once rather than per service.
fn all_failed(rows: &[ImageRow], side: impl Fn(&ImageRow) -> &Lookup) -> Option<String> {
    let mut errs = rows.iter().map(|r| match side(r) {
        Lookup::Error(e) => Some(e.clone()),
        _ => None,
    });
    let first = errs.next()??;
    errs.all(|e| e.is_some()).then_some(first)
}

fn tag_of(r: &ImageRow) -> &str {
    r.target.tag.as_deref().unwrap_or("?")
}

/// Prod: present/total.
pub fn prod_reading(rows: &[ImageRow]) -> Reading {
    let total = rows.len();
    let present = rows
        .iter()
        .filter(|r| matches!(r.prod, Lookup::Present(_)))
        .count();
    let missing: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.prod, Lookup::Missing))
        .map(|r| r.target.service.as_str())
        .collect();
    let errors = rows
        .iter()
        .filter(|r| matches!(r.prod, Lookup::Error(_) | Lookup::NotAsked))
        .count();
    let mut summary = format!("{present}/{total} present");
    let level = if !missing.is_empty() {
        summary.push_str(&format!(" · missing: {}", missing.join(", ")));
        Level::Bad
    } else if errors > 0 {
        summary.push_str(&format!(" · ? {errors} unread"));
        Level::Warn
    } else {
        Level::Good
    };
    if let Some(e) = all_failed(rows, |r| &r.prod) {
        summary = format!("registry unreadable: {}", first_words(&e));
    }
    let mut r = Reading::new(summary, level)
        .field("present", Value::Num(present as f64))
        .field("missing", Value::Num(missing.len() as f64))
        .field("total", Value::Num(total as f64))
        .field("errors", Value::Num(errors as f64));
    for row in rows {
        let (mark, d) = match &row.prod {
            Lookup::Present(m) => ("✓", short_digest(&m.digest)),
            Lookup::Missing => ("✗", "missing".into()),
            Lookup::Error(e) => ("?", first_words(e)),
            Lookup::NotAsked => ("?", row.error().unwrap_or_else(|| "not asked".into())),
        };
        r.details.push(format!(
            "{mark} {} {} · {} · {d}",
            row.target.service,
            tag_of(row),
            row.target.prod_repository
        ));
    }
    r
}

/// DR: synced/total against prod's digests.
pub fn dr_reading(rows: &[ImageRow]) -> Reading {
    let total = rows.len();
    let count = |s: Sync| rows.iter().filter(|r| r.sync() == s).count();
    let same = count(Sync::Same);
    let names = |s: Sync| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.sync() == s)
            .map(|r| r.target.service.as_str())
            .collect()
    };
    let missing = names(Sync::Missing);
    let different = names(Sync::Different);
    let unknown = names(Sync::Unknown);
    let present = rows
        .iter()
        .filter(|r| matches!(r.dr, Lookup::Present(_)))
        .count();
    let mut summary = format!("{same}/{total} synced");
    if rows.iter().any(|r| r.prod_seen_ago.is_some()) {
        summary.push_str(" (prod last seen)");
    }
    if !missing.is_empty() {
        summary.push_str(&format!(" · missing: {}", missing.join(", ")));
    }
    if !different.is_empty() {
        summary.push_str(&format!(" · differ: {}", different.join(", ")));
    }
    if !unknown.is_empty() {
        summary.push_str(&format!(" · unread: {}", unknown.join(", ")));
    }
    let level = if !missing.is_empty() || !different.is_empty() {
        Level::Bad
    } else if !unknown.is_empty() {
        Level::Warn
    } else {
        Level::Good
    };
    if let Some(e) = all_failed(rows, |r| &r.dr) {
        summary = format!("registry unreadable: {}", first_words(&e));
    }
    let mut r = Reading::new(summary, level)
        .field("synced", Value::Bool(total > 0 && same == total))
        .field("missing", Value::Num(missing.len() as f64))
        .field("present", Value::Num(present as f64))
        .field("total", Value::Num(total as f64))
        .field("different", Value::Num(different.len() as f64))
        .field("errors", Value::Num(unknown.len() as f64));
    for row in rows {
        let d = |l: &Lookup| match l {
            Lookup::Present(m) => short_digest(&m.digest),
            Lookup::Missing => "—".into(),
            _ => "?".into(),
        };
        let s = row.sync();
        let why = match s {
            Sync::Unknown => row
                .error()
                .map(|e| format!(" ({})", first_words(&e)))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let seen = row
            .prod_seen_ago
            .map(|a| {
                format!(
                    " (prod last seen {} ago)",
                    crate::plan::units::fmt_duration(a)
                )
            })
            .unwrap_or_default();
        r.details.push(format!(
            "{} {} · prod {} · dr {} · {}{why}{seen}",
            row.target.service,
            tag_of(row),
            d(&row.prod),
            d(&row.dr),
            s.mark()
        ));
    }
    if let Some(src) = rows.first().map(|r| &r.target.source)
        && src.ends_with("(last seen)")
    {
        r.details
            .push("tags as last read from prod Qovery (it does not answer now)".into());
    }
    r
}

fn first_words(e: &str) -> String {
    e.chars().take(80).collect()
}

/// Does the DR registry hold every selected image with the prod digest? `Err` names what is not.
pub fn verify_synced(rows: &[ImageRow]) -> Result<(), String> {
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r.sync() != Sync::Same)
        .map(|r| {
            let why = match r.sync() {
                Sync::Missing => format!(
                    "{}:{} is not in the DR registry",
                    r.target.dr_repository,
                    tag_of(r)
                ),
                Sync::Different => format!(
                    "{}:{} has digest {} in DR, {} in prod",
                    r.target.dr_repository,
                    tag_of(r),
                    short_digest(r.dr.digest().unwrap_or("")),
                    short_digest(r.prod.digest().unwrap_or(""))
                ),
                _ => r.error().unwrap_or_else(|| "unknown".into()),
            };
            format!("{} ({why})", r.target.service)
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

impl From<RegistryError> for ProbeError {
    fn from(e: RegistryError) -> ProbeError {
        ProbeError::new(e.short(), crate::redact::redact_string(e.to_string()))
    }
}
