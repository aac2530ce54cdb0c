//! The simulator's DNS: an authoritative responder on loopback (UDP and TCP, `aa` set, SOA
//! serial bumped on every change) and a PowerDNS-style HTTP API that changes what it answers,
//! so the demo's `dns.switch` and `dns.verify` are real round trips through the real clients.
//!
//! API (the subset of PowerDNS the cockpit uses, same shapes and status codes):
//! `GET /api/v1/servers/{server}/zones`, `GET|PATCH /api/v1/servers/{server}/zones/{zone.}`,
//! `X-API-Key` required (401 otherwise), `changetype` `REPLACE`/`DELETE` → 204, a name outside
//! the zone → 422 `Name is out of zone`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use crate::clients::dns::fqdn;

pub const DEMO_ZONE: &str = "demo.test.";
pub const DEMO_RECORD: &str = "shop.demo.test.";
pub const DEMO_API_KEY: &str = "demo-pdns-api-key";
/// Documentation addresses (RFC 5737) standing for each site's load balancer.
pub const DEMO_PROD_TARGET: &str = "192.0.2.10";
pub const DEMO_DR_TARGET: &str = "198.51.100.20";

/// `(name, type)` → `(ttl, values)`.
type RrSets = BTreeMap<(String, String), (u32, Vec<String>)>;

/// One simulated zone, served by the responder and changed through the API.
pub struct DnsWorld {
    zone: String,
    api_key: String,
    data: Mutex<(u32, RrSets)>,
    /// Earlier versions of the zone `(when, serial, rrsets)`, newest last, for lagging secondaries.
    /// `None`: seeded before any secondary started, visible at once.
    history: Mutex<Vec<(Option<Instant>, u32, RrSets)>>,
    /// Drop every query (a nameserver that does not answer).
    silent: AtomicBool,
    /// Answer UDP with TC set and nothing else, forcing the client onto TCP.
    truncate_udp: AtomicBool,
}

impl DnsWorld {
    /// An empty zone (`zone` like `example.test.`) with serial `YYYYMMDD01` of today.
    pub fn new(zone: &str, api_key: &str) -> DnsWorld {
        let serial = chrono::Utc::now()
            .format("%Y%m%d01")
            .to_string()
            .parse()
            .unwrap_or(1);
        DnsWorld {
            zone: fqdn(zone),
            api_key: api_key.to_string(),
            data: Mutex::new((serial, BTreeMap::new())),
            history: Mutex::new(vec![(None, serial, BTreeMap::new())]),
            silent: AtomicBool::new(false),
            truncate_udp: AtomicBool::new(false),
        }
    }

    /// The demo's zone: `shop.demo.test.` A → [`DEMO_PROD_TARGET`] with a 5 s TTL (so the
    /// cache countdown after the switch is short), API key [`DEMO_API_KEY`].
    pub fn demo() -> DnsWorld {
        let w = DnsWorld::new(DEMO_ZONE, DEMO_API_KEY);
        let _ = w.set_record(DEMO_RECORD, "A", 5, &[DEMO_PROD_TARGET]);
        w.settle();
        w
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    pub fn serial(&self) -> u32 {
        self.lock().0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u32, RrSets)> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn in_zone(&self, name: &str) -> bool {
        let n = fqdn(name);
        n == self.zone || n.ends_with(&format!(".{}", self.zone))
    }

    /// Replace an RRset (empty `values` deletes it) and bump the serial.
    pub fn set_record(
        &self,
        name: &str,
        record_type: &str,
        ttl: u32,
        values: &[&str],
    ) -> Result<(), String> {
        if !self.in_zone(name) {
            return Err(format!("Name is out of zone: {name}"));
        }
        let rt = record_type.to_ascii_uppercase();
        let vals: Vec<String> = values
            .iter()
            .map(|v| crate::clients::dns::normalize_rdata(&rt, v))
            .collect();
        for v in &vals {
            to_rdata(&rt, v)?;
        }
        let mut g = self.lock();
        if vals.is_empty() {
            g.1.remove(&(fqdn(name), rt));
        } else {
            g.1.insert((fqdn(name), rt), (ttl, vals));
        }
        g.0 = g.0.wrapping_add(1);
        let snapshot = (Some(Instant::now()), g.0, g.1.clone());
        drop(g);
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.push(snapshot);
        if h.len() > 32 {
            h.remove(0);
        }
        Ok(())
    }

    /// The RRset at `name`/`type`: `(ttl, values)`.
    pub fn record(&self, name: &str, record_type: &str) -> Option<(u32, Vec<String>)> {
        self.lock()
            .1
            .get(&(fqdn(name), record_type.to_ascii_uppercase()))
            .cloned()
    }

    /// Stop (or resume) answering queries.
    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::Relaxed);
    }

    pub fn set_truncate_udp(&self, on: bool) {
        self.truncate_udp.store(on, Ordering::Relaxed);
    }

    fn soa(&self, serial: u32) -> Record {
        let zone = Name::from_ascii(&self.zone).unwrap_or_else(|_| Name::root());
        let mname = Name::from_ascii(format!("ns1.{}", self.zone)).unwrap_or_else(|_| zone.clone());
        let rname =
            Name::from_ascii(format!("hostmaster.{}", self.zone)).unwrap_or_else(|_| zone.clone());
        Record::from_rdata(
            zone,
            3600,
            RData::SOA(SOA::new(mname, rname, serial, 10800, 3600, 604800, 60)),
        )
    }

    /// The zone as a secondary `lag` behind the primary would serve it.
    fn snapshot(&self, lag: Duration) -> (u32, RrSets) {
        if lag.is_zero() {
            let g = self.lock();
            return (g.0, g.1.clone());
        }
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        h.iter()
            .rev()
            .find(|(t, _, _)| t.is_none_or(|t| now.duration_since(t) >= lag))
            .or(h.first())
            .map(|(_, s, r)| (*s, r.clone()))
            .unwrap_or_default()
    }

    /// Make the zone as it is now what every secondary serves at once (after seeding it).
    pub fn settle(&self) {
        let (serial, sets) = {
            let g = self.lock();
            (g.0, g.1.clone())
        };
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        *h = vec![(None, serial, sets)];
    }

    /// Answer one query, authoritatively, with the current zone.
    pub fn answer(&self, req: &Message) -> Message {
        self.answer_lagging(req, Duration::ZERO)
    }

    /// Answer as a secondary that applies every change `lag` late.
    pub fn answer_lagging(&self, req: &Message, lag: Duration) -> Message {
        let mut resp = Message::new(req.metadata.id, MessageType::Response, OpCode::Query);
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.add_queries(req.queries.iter().cloned());
        let Some(q) = req.queries.first() else {
            resp.metadata.response_code = ResponseCode::FormErr;
            return resp;
        };
        let qname = fqdn(&q.name().to_ascii());
        if !self.in_zone(&qname) {
            resp.metadata.response_code = ResponseCode::Refused;
            return resp;
        }
        resp.metadata.authoritative = true;
        let qtype = q.query_type();
        let (serial, sets) = self.snapshot(lag);
        let owner = q.name().clone();
        let push = |rt: &str, resp: &mut Message| -> bool {
            match sets.get(&(qname.clone(), rt.to_string())) {
                Some((ttl, vals)) => {
                    for v in vals {
                        if let Ok(d) = to_rdata(rt, v) {
                            resp.add_answer(Record::from_rdata(owner.clone(), *ttl, d));
                        }
                    }
                    true
                }
                None => false,
            }
        };
        let apex = qname == self.zone;
        if apex && qtype == RecordType::SOA {
            resp.add_answer(self.soa(serial));
            return resp;
        }
        if apex && qtype == RecordType::NS && !sets.contains_key(&(qname.clone(), "NS".into())) {
            if let Ok(n) = Name::from_ascii(format!("ns1.{}", self.zone)) {
                resp.add_answer(Record::from_rdata(owner.clone(), 3600, RData::NS(NS(n))));
            }
            return resp;
        }
        let qt = qtype.to_string();
        if push(&qt, &mut resp) {
            return resp;
        }
        if qtype != RecordType::CNAME && push("CNAME", &mut resp) {
            return resp;
        }
        let exists = apex || sets.keys().any(|(n, _)| *n == qname);
        if !exists {
            resp.metadata.response_code = ResponseCode::NXDomain;
        }
        resp.add_authority(self.soa(serial));
        resp
    }

    fn rrsets_json(&self) -> serde_json::Value {
        let g = self.lock();
        let mut sets: Vec<serde_json::Value> = g
            .1
            .iter()
            .map(|((n, t), (ttl, vals))| {
                serde_json::json!({
                    "name": n, "type": t, "ttl": ttl, "comments": [],
                    "records": vals.iter().map(|v| serde_json::json!({"content": v, "disabled": false})).collect::<Vec<_>>(),
                })
            })
            .collect();
        sets.push(serde_json::json!({
            "name": self.zone, "type": "SOA", "ttl": 3600, "comments": [],
            "records": [{"content": format!("ns1.{z} hostmaster.{z} {} 10800 3600 604800 60", g.0, z = self.zone), "disabled": false}],
        }));
        serde_json::json!({
            "id": self.zone, "name": self.zone, "kind": "Native", "serial": g.0,
            "url": format!("/api/v1/servers/localhost/zones/{}", self.zone),
            "rrsets": sets,
        })
    }
}

fn to_rdata(rt: &str, v: &str) -> Result<RData, String> {
    let bad = |e: String| format!("invalid {rt} content `{v}`: {e}");
    Ok(match rt {
        "A" => RData::A(A(
            std::net::Ipv4Addr::from_str(v).map_err(|e| bad(e.to_string()))?
        )),
        "AAAA" => RData::AAAA(AAAA(
            std::net::Ipv6Addr::from_str(v).map_err(|e| bad(e.to_string()))?,
        )),
        "CNAME" => RData::CNAME(CNAME(
            Name::from_ascii(fqdn(v)).map_err(|e| bad(e.to_string()))?,
        )),
        "NS" => RData::NS(NS(
            Name::from_ascii(fqdn(v)).map_err(|e| bad(e.to_string()))?
        )),
        "TXT" => RData::TXT(TXT::new(vec![v.trim_matches('"').to_string()])),
        other => return Err(format!("record type {other} is not simulated")),
    })
}

/// How far the demo's second nameserver lags behind the first.
pub const SECONDARY_LAG: Duration = Duration::from_secs(3);

/// Where the simulator's nameservers listen (the pure computation lives with `${sim_dns}`).
pub use crate::plan::refs::nameservers_for_sim;

/// Start the demo zone's two nameservers for a simulator listening on `http_addr` (see
/// [`nameservers_for_sim`]). Returns the world to serve with [`routes`].
pub async fn start_for_sim(
    http_addr: SocketAddr,
) -> Result<(Arc<DnsWorld>, [SocketAddr; 2]), String> {
    let [a, b] = nameservers_for_sim(&format!("http://{http_addr}"))?;
    let world = Arc::new(DnsWorld::demo());
    let ns1 = start_responder(world.clone(), a).await?;
    let ns2 = start_secondary(world.clone(), b, SECONDARY_LAG).await?;
    Ok((world, [ns1, ns2]))
}

/// Serve `world` on `addr` (UDP and TCP on the same port; port 0 picks one). Returns the bound
/// address; the tasks run until the runtime stops.
pub async fn start_responder(world: Arc<DnsWorld>, addr: SocketAddr) -> Result<SocketAddr, String> {
    start_secondary(world, addr, Duration::ZERO).await
}

/// A second nameserver for the same zone that applies every change `lag` late (a secondary
/// waiting for its NOTIFY/AXFR), so `dns.verify` has a laggard to name.
pub async fn start_secondary(
    world: Arc<DnsWorld>,
    addr: SocketAddr,
    lag: Duration,
) -> Result<SocketAddr, String> {
    let mut attempts = 0;
    let (udp, tcp) = loop {
        attempts += 1;
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|e| format!("DNS responder: cannot bind UDP {addr}: {e}"))?;
        let bound = udp
            .local_addr()
            .map_err(|e| format!("DNS responder: {e}"))?;
        match TcpListener::bind(bound).await {
            Ok(t) => break (udp, t),
            // A random UDP port may be taken for TCP: try another one.
            Err(_) if addr.port() == 0 && attempts < 20 => continue,
            Err(e) => return Err(format!("DNS responder: cannot bind TCP {bound}: {e}")),
        }
    };
    let bound = udp
        .local_addr()
        .map_err(|e| format!("DNS responder: {e}"))?;
    let w = world.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                continue;
            };
            if w.silent.load(Ordering::Relaxed) {
                continue;
            }
            let Ok(req) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut resp = w.answer_lagging(&req, lag);
            if w.truncate_udp.load(Ordering::Relaxed) {
                resp = resp.truncate();
            }
            if let Ok(bytes) = resp.to_vec() {
                let _ = udp.send_to(&bytes, peer).await;
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = tcp.accept().await else {
                continue;
            };
            let w = world.clone();
            tokio::spawn(async move {
                loop {
                    let mut lenb = [0u8; 2];
                    if s.read_exact(&mut lenb).await.is_err() {
                        return;
                    }
                    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lenb))];
                    if s.read_exact(&mut buf).await.is_err() {
                        return;
                    }
                    if w.silent.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(req) = Message::from_vec(&buf) else {
                        return;
                    };
                    let Ok(bytes) = w.answer_lagging(&req, lag).to_vec() else {
                        return;
                    };
                    let Ok(len) = u16::try_from(bytes.len()) else {
                        return;
                    };
                    let mut out = len.to_be_bytes().to_vec();
                    out.extend_from_slice(&bytes);
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(bound)
}

fn err(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": msg}))).into_response()
}

fn authorised(world: &DnsWorld, headers: &HeaderMap) -> bool {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| k == world.api_key)
}

async fn list_zones(State(world): State<Arc<DnsWorld>>, headers: HeaderMap) -> Response {
    if !authorised(&world, &headers) {
        return err(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let z = world.rrsets_json();
    axum::Json(serde_json::json!([{
        "id": z["id"], "name": z["name"], "kind": "Native", "serial": z["serial"], "url": z["url"],
    }]))
    .into_response()
}

async fn get_zone(
    State(world): State<Arc<DnsWorld>>,
    Path((_server, zone)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&world, &headers) {
        return err(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if fqdn(&zone) != world.zone {
        return err(
            StatusCode::NOT_FOUND,
            &format!("Could not find domain '{zone}'"),
        );
    }
    axum::Json(world.rrsets_json()).into_response()
}

async fn patch_zone(
    State(world): State<Arc<DnsWorld>>,
    Path((_server, zone)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !authorised(&world, &headers) {
        return err(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if fqdn(&zone) != world.zone {
        return err(
            StatusCode::NOT_FOUND,
            &format!("Could not find domain '{zone}'"),
        );
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return err(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let Some(rrsets) = v.get("rrsets").and_then(|r| r.as_array()) else {
        return err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "No rrsets given in update request",
        );
    };
    // Validate everything first: a PATCH is all or nothing.
    let mut changes = Vec::new();
    for rr in rrsets {
        let name = rr.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let typ = rr.get("type").and_then(|n| n.as_str()).unwrap_or("");
        if !name.ends_with('.') {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Name '{name}' is not canonical"),
            );
        }
        if !world.in_zone(name) {
            return err(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Name '{name}' is out of zone"),
            );
        }
        let values: Vec<String> = match rr.get("changetype").and_then(|c| c.as_str()) {
            Some(c) if c.eq_ignore_ascii_case("REPLACE") => rr
                .get("records")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .filter(|r| r.get("disabled").and_then(|d| d.as_bool()) != Some(true))
                .filter_map(|r| r.get("content").and_then(|c| c.as_str()).map(String::from))
                .collect(),
            Some(c) if c.eq_ignore_ascii_case("DELETE") => vec![],
            _ => {
                return err(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Changetype not understood",
                );
            }
        };
        for val in &values {
            if let Err(e) = to_rdata(&typ.to_ascii_uppercase(), val) {
                return err(StatusCode::UNPROCESSABLE_ENTITY, &e);
            }
        }
        let ttl = rr
            .get("ttl")
            .and_then(|t| t.as_u64())
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(3600);
        changes.push((name.to_string(), typ.to_string(), ttl, values));
    }
    for (name, typ, ttl, values) in changes {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        if let Err(e) = world.set_record(&name, &typ, ttl, &refs) {
            return err(StatusCode::UNPROCESSABLE_ENTITY, &e);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The PowerDNS-style API, state applied, ready to merge into the simulator's router.
pub fn routes(world: Arc<DnsWorld>) -> Router {
    Router::new()
        .route("/api/v1/servers/{server}/zones", get(list_zones))
        .route(
            "/api/v1/servers/{server}/zones/{zone}",
            get(get_zone).patch(patch_zone),
        )
        .with_state(world)
}

/// Play the `hostile` scenario's DNS lies on `world` for as long as the simulator runs: while
/// [`super::hostile::Lie::DnsElsewhere`] plays the demo record answers an address of neither
/// site, while [`super::hostile::Lie::DnsNothing`] plays it does not exist; afterwards it is put
/// back as it was (a switch made in between is kept).
pub fn play_hostile(world: Arc<DnsWorld>, state: super::SimState) {
    use super::hostile::{ELSEWHERE, Lie};
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut playing: Option<Lie> = None;
        let mut saved: Option<(u32, Vec<String>)> = None;
        loop {
            let lie = state
                .hostile_lie()
                .filter(|l| matches!(l, Lie::DnsElsewhere | Lie::DnsNothing));
            if lie != playing {
                if playing.is_none() {
                    saved = world.record(DEMO_RECORD, "A");
                }
                let lied = |v: &Option<(u32, Vec<String>)>| match v {
                    None => true,
                    Some((_, vals)) => vals.iter().all(|x| x == ELSEWHERE),
                };
                let next: Option<(u32, Vec<String>)> = match lie {
                    Some(Lie::DnsElsewhere) => Some((5, vec![ELSEWHERE.to_string()])),
                    Some(_) => Some((5, vec![])),
                    // Put it back unless someone changed it meanwhile (a switch is kept).
                    None if lied(&world.record(DEMO_RECORD, "A")) => saved.take(),
                    None => None,
                };
                if let Some((ttl, values)) = next {
                    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                    let _ = world.set_record(DEMO_RECORD, "A", ttl, &refs);
                    world.settle();
                }
                playing = lie;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}
