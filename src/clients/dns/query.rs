//! The authoritative querier: ask each nameserver of the zone directly with recursion off
//! (`dig +norecurse @ns`), require the `aa` flag, and read the RDATA, TTL and SOA serial.
//! UDP first; TCP when the answer is truncated. Nameservers are given as `host[:port]` or
//! discovered from the zone's NS set through the system resolver.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{DnsError, fqdn};
use crate::plan::DnsConfig;

/// One authoritative nameserver to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nameserver {
    /// As configured (`ns1.example.net`, `127.0.0.1:5353`) or discovered.
    pub label: String,
    pub addr: SocketAddr,
}

/// What one nameserver answered for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct NsResult {
    /// RDATA of the record's RRset, normalised text (`192.0.2.5`, `lb.example.net.`); empty for
    /// NXDOMAIN/NODATA.
    pub values: Vec<String>,
    /// TTL of the RRset (the smallest, if they differ).
    pub ttl: Option<u32>,
    /// SOA serial of the zone on this nameserver.
    pub serial: Option<u32>,
    /// `NOERROR`, `NXDOMAIN`.
    pub rcode: String,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct NsAnswer {
    pub ns: String,
    pub result: Result<NsResult, DnsError>,
}

/// Every nameserver's view of the record.
#[derive(Debug, Clone)]
pub struct ZoneView {
    pub record: String,
    pub record_type: String,
    pub answers: Vec<NsAnswer>,
}

impl ZoneView {
    pub fn answered(&self) -> impl Iterator<Item = (&str, &NsResult)> {
        self.answers
            .iter()
            .filter_map(|a| a.result.as_ref().ok().map(|r| (a.ns.as_str(), r)))
    }
    /// The distinct serials among the nameservers that answered.
    pub fn serials(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.answered().filter_map(|(_, r)| r.serial).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    /// Every nameserver answered, and with one serial.
    pub fn serial_agree(&self) -> bool {
        self.answers.iter().all(|a| a.result.is_ok()) && self.serials().len() == 1
    }
    /// The smallest TTL any nameserver answered.
    pub fn ttl(&self) -> Option<u32> {
        self.answered().filter_map(|(_, r)| r.ttl).min()
    }
    pub fn max_ttl(&self) -> Option<u32> {
        self.answered().filter_map(|(_, r)| r.ttl).max()
    }
}

/// Parse `host[:port]`, `[v6]:port`, or a bare IP address.
pub fn parse_host_port(s: &str) -> Result<(String, u16), DnsError> {
    let t = s.trim();
    let bad = |why: &str| DnsError::BadNameserver(s.to_string(), why.to_string());
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if let Ok(ip) = IpAddr::from_str(t) {
        return Ok((ip.to_string(), 53));
    }
    if let Ok(sa) = SocketAddr::from_str(t) {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| bad("the port is not a number between 1 and 65535"))?;
            Ok((h.trim_end_matches('.').to_string(), port))
        }
        Some(_) => Err(bad("write IPv6 addresses with a port as [addr]:port")),
        None => Ok((t.trim_end_matches('.').to_string(), 53)),
    }
}

/// Resolve configured nameservers to addresses (names through the system resolver).
pub async fn resolve_nameservers(list: &[String]) -> Result<Vec<Nameserver>, DnsError> {
    let mut out = Vec::new();
    for s in list {
        let (host, port) = parse_host_port(s)?;
        let addr = match IpAddr::from_str(&host) {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| DnsError::BadNameserver(s.clone(), format!("cannot resolve: {e}")))?
                .next()
                .ok_or_else(|| DnsError::BadNameserver(s.clone(), "no address".into()))?,
        };
        out.push(Nameserver {
            label: s.trim().to_string(),
            addr,
        });
    }
    Ok(out)
}

/// The first `nameserver` of `/etc/resolv.conf` (the system's recursive resolver).
pub fn system_resolver() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next())
            .flatten()
            .and_then(|ip| IpAddr::from_str(ip.split('%').next().unwrap_or(ip)).ok())
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// Discover the zone's nameservers: ask `resolver` (recursion on) for the NS set of the zone,
/// walking up from `name` until one is found, then resolve each NS name.
pub async fn discover_nameservers(
    resolver: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<(String, Vec<Nameserver>), DnsError> {
    let mut candidate = fqdn(name);
    loop {
        let reply = exchange(resolver, &candidate, RecordType::NS, true, timeout).await?;
        let ns_names: Vec<String> = reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.to_ascii()),
                _ => None,
            })
            .collect();
        if !ns_names.is_empty() {
            let list: Vec<String> = ns_names.iter().map(|n| fqdn(n)).collect();
            let resolved = resolve_nameservers(&list).await?;
            return Ok((candidate, resolved));
        }
        match candidate.split_once('.') {
            Some((_, rest)) if !rest.is_empty() && rest != "." => candidate = rest.to_string(),
            _ => {
                return Err(DnsError::Config(format!(
                    "no NS records found for {name} or its parents through {resolver}; list `nameservers` in [dns]"
                )));
            }
        }
    }
}

/// The nameservers to ask for `cfg`: configured, or discovered.
pub async fn nameservers_for(
    cfg: &DnsConfig,
    timeout: Duration,
) -> Result<Vec<Nameserver>, DnsError> {
    if !cfg.nameservers.is_empty() {
        return resolve_nameservers(&cfg.nameservers).await;
    }
    let resolver = system_resolver().ok_or_else(|| {
        DnsError::Config(
            "no nameservers configured and no resolver in /etc/resolv.conf to discover them".into(),
        )
    })?;
    let start = cfg.zone.as_deref().unwrap_or(&cfg.record);
    discover_nameservers(resolver, start, timeout)
        .await
        .map(|(_, ns)| ns)
}

fn name(s: &str) -> Result<Name, DnsError> {
    Name::from_ascii(fqdn(s)).map_err(|e| DnsError::Config(format!("`{s}` is not a DNS name: {e}")))
}

/// Send one query and return the reply: UDP, then TCP when the reply is truncated.
pub async fn exchange(
    addr: SocketAddr,
    qname: &str,
    qtype: RecordType,
    recursion: bool,
    timeout: Duration,
) -> Result<Message, DnsError> {
    let ns = addr.to_string();
    let mut msg = Message::new(fastrand::u16(..), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = recursion;
    msg.add_query(Query::query(name(qname)?, qtype));
    let bytes = msg.to_vec().map_err(|e| DnsError::Malformed {
        ns: ns.clone(),
        detail: format!("cannot encode the query: {e}"),
    })?;
    let id = msg.metadata.id;
    let reply = match tokio::time::timeout(timeout, udp_exchange(addr, &bytes, id)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(DnsError::NoAnswer {
                ns,
                ms: timeout.as_millis() as u64,
                tcp: false,
            });
        }
    };
    if !reply.metadata.truncation {
        return Ok(reply);
    }
    match tokio::time::timeout(timeout, tcp_exchange(addr, &bytes, id)).await {
        Ok(r) => r,
        Err(_) => Err(DnsError::NoAnswer {
            ns,
            ms: timeout.as_millis() as u64,
            tcp: true,
        }),
    }
}

async fn udp_exchange(addr: SocketAddr, bytes: &[u8], id: u16) -> Result<Message, DnsError> {
    let ns = addr.to_string();
    let net = |e: std::io::Error| DnsError::Network {
        ns: ns.clone(),
        detail: e.to_string(),
    };
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind).await.map_err(net)?;
    sock.connect(addr).await.map_err(net)?;
    sock.send(bytes).await.map_err(net)?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await.map_err(net)?;
        // Ignore stray datagrams (a late answer to an earlier query).
        if let Ok(m) = Message::from_vec(&buf[..n])
            && m.metadata.id == id
            && m.metadata.message_type == MessageType::Response
        {
            return Ok(m);
        }
    }
}

async fn tcp_exchange(addr: SocketAddr, bytes: &[u8], id: u16) -> Result<Message, DnsError> {
    let ns = addr.to_string();
    let net = |e: std::io::Error| DnsError::Network {
        ns: ns.clone(),
        detail: format!("TCP: {e}"),
    };
    let mut s = TcpStream::connect(addr).await.map_err(net)?;
    let len = u16::try_from(bytes.len()).map_err(|_| DnsError::Malformed {
        ns: ns.clone(),
        detail: "query too long".into(),
    })?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    s.write_all(&framed).await.map_err(net)?;
    let mut lenb = [0u8; 2];
    s.read_exact(&mut lenb).await.map_err(net)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(lenb))];
    s.read_exact(&mut buf).await.map_err(net)?;
    let m = Message::from_vec(&buf).map_err(|e| DnsError::Malformed {
        ns: ns.clone(),
        detail: e.to_string(),
    })?;
    if m.metadata.id != id {
        return Err(DnsError::Malformed {
            ns,
            detail: "the answer's id does not match the query".into(),
        });
    }
    Ok(m)
}

fn rdata_text(d: &RData) -> Option<String> {
    Some(match d {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => fqdn(&c.0.to_ascii()),
        RData::NS(n) => fqdn(&n.0.to_ascii()),
        RData::TXT(t) => t.to_string(),
        _ => return None,
    })
}

fn rcode_text(r: ResponseCode) -> String {
    match r {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

/// Ask one nameserver, authoritatively: the record's RRset and the zone's SOA serial.
/// `zone` is the zone apex if known; otherwise it is found by walking up from the record.
pub async fn ask(
    ns: &Nameserver,
    record: &str,
    record_type: &str,
    zone: Option<&str>,
    timeout: Duration,
) -> Result<NsResult, DnsError> {
    ask_inner(ns, record, record_type, zone, timeout)
        .await
        .map_err(|e| e.relabel(&ns.addr.to_string(), &ns.label))
}

async fn ask_inner(
    ns: &Nameserver,
    record: &str,
    record_type: &str,
    zone: Option<&str>,
    timeout: Duration,
) -> Result<NsResult, DnsError> {
    let started = Instant::now();
    let rtype = RecordType::from_str(&record_type.to_ascii_uppercase())
        .map_err(|_| DnsError::Config(format!("`{record_type}` is not a DNS record type")))?;
    let owner = fqdn(record);
    let reply = exchange(ns.addr, &owner, rtype, false, timeout).await?;
    check_authoritative(ns, &owner, &reply)?;
    let mut ttl = None;
    let mut values = Vec::new();
    for r in &reply.answers {
        if r.record_type() == rtype && fqdn(&r.name.to_ascii()) == owner {
            if let Some(v) = rdata_text(&r.data) {
                values.push(v);
            }
            ttl = Some(ttl.map_or(r.ttl, |t: u32| t.min(r.ttl)));
        }
    }
    values.sort();
    // NXDOMAIN/NODATA carry the SOA in the authority section; otherwise ask for it.
    let mut serial = reply.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    });
    if serial.is_none() {
        serial = Some(zone_serial(ns, zone.unwrap_or(&owner), zone.is_none(), timeout).await?);
    }
    Ok(NsResult {
        values,
        ttl,
        serial,
        rcode: rcode_text(reply.metadata.response_code),
        elapsed: started.elapsed(),
    })
}

fn check_authoritative(ns: &Nameserver, qname: &str, reply: &Message) -> Result<(), DnsError> {
    let rc = reply.metadata.response_code;
    if rc != ResponseCode::NoError && rc != ResponseCode::NXDomain {
        return Err(DnsError::Rcode {
            ns: ns.label.clone(),
            rcode: rcode_text(rc),
            name: qname.to_string(),
        });
    }
    if !reply.metadata.authoritative {
        return Err(DnsError::NotAuthoritative {
            ns: ns.label.clone(),
        });
    }
    Ok(())
}

/// The SOA serial of the zone `start` is (or, with `walk`, is in).
async fn zone_serial(
    ns: &Nameserver,
    start: &str,
    walk: bool,
    timeout: Duration,
) -> Result<u32, DnsError> {
    let mut candidate = fqdn(start);
    loop {
        let reply = exchange(ns.addr, &candidate, RecordType::SOA, false, timeout).await?;
        check_authoritative(ns, &candidate, &reply)?;
        if let Some(s) = reply
            .answers
            .iter()
            .chain(reply.authorities.iter())
            .find_map(|r| match &r.data {
                RData::SOA(s) => Some(s.serial),
                _ => None,
            })
        {
            return Ok(s);
        }
        match candidate.split_once('.') {
            Some((_, rest)) if walk && !rest.is_empty() => candidate = rest.to_string(),
            _ => {
                return Err(DnsError::Malformed {
                    ns: ns.label.clone(),
                    detail: format!("no SOA for {start}"),
                });
            }
        }
    }
}

/// Ask every nameserver concurrently.
pub async fn observe(
    nameservers: &[Nameserver],
    record: &str,
    record_type: &str,
    zone: Option<&str>,
    timeout: Duration,
) -> ZoneView {
    let futs = nameservers.iter().map(|ns| async move {
        NsAnswer {
            ns: ns.label.clone(),
            result: ask(ns, record, record_type, zone, timeout).await,
        }
    });
    ZoneView {
        record: fqdn(record),
        record_type: record_type.to_ascii_uppercase(),
        answers: futures::future::join_all(futs).await,
    }
}

/// Resolve the plan's nameservers and ask every one of them.
pub async fn observe_config(cfg: &DnsConfig, timeout: Duration) -> Result<ZoneView, DnsError> {
    let ns = nameservers_for(cfg, timeout).await?;
    Ok(observe(
        &ns,
        &cfg.record,
        &cfg.record_type,
        cfg.zone.as_deref(),
        timeout,
    )
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(
            parse_host_port("127.0.0.1:5353").ok(),
            Some(("127.0.0.1".into(), 5353))
        );
        assert_eq!(
            parse_host_port("ns1.example.net").ok(),
            Some(("ns1.example.net".into(), 53))
        );
        assert_eq!(
            parse_host_port("ns1.example.net.:54").ok(),
            Some(("ns1.example.net".into(), 54))
        );
        assert_eq!(
            parse_host_port("[::1]:5353").ok(),
            Some(("::1".into(), 5353))
        );
        assert_eq!(parse_host_port("::1").ok(), Some(("::1".into(), 53)));
        assert!(parse_host_port("ns1:abc").is_err());
        assert!(parse_host_port("").is_err());
    }
}
