//! DNS against a real DNS server: PowerDNS Authoritative (`pdns-server` +
//! `pdns-backend-sqlite3`) started on loopback with its HTTP API; Cloudflare and Route 53 against
//! recorded fixtures built from their documentation; the simulator's responder and API.
//!
//! Needs the PowerDNS packages: `scripts/install-test-deps.sh` installs them.

use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drcockpit::app::Level;
use drcockpit::clients::dns::cloudflare::Cloudflare;
use drcockpit::clients::dns::query::{self, Nameserver};
use drcockpit::clients::dns::route53::Route53;
use drcockpit::clients::dns::{DnsError, Provider};
use drcockpit::clients::http::HttpClient;
use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{
    DnsAction, DnsConfig, DnsProvider, Plan, ProbeSettings, Site, SiteId, StepAction, Strategy,
    Value,
};
use drcockpit::sim::dns::{DnsWorld, routes, start_responder, start_secondary};
use drcockpit::steps::{self, StepContext};

#[path = "../common/mod.rs"]
mod common;

const ZONE: &str = "example.test.";
const RECORD: &str = "shop.example.test.";
const SIM_RECORD: &str = "sim.example.test.";
const PROD_IP: &str = "192.0.2.10";
const DR_IP: &str = "198.51.100.20";
const KEY: &str = "test-api-key-0123";

const PDNS: &str = "/usr/sbin/pdns_server";
const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dns")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

// ---------------------------------------------------------------------------------------------
// PowerDNS harness

struct Pdns {
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
    dns: SocketAddr,
    api: String,
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free for both UDP and TCP.
fn free_port() -> u16 {
    loop {
        let u = StdUdp::bind("127.0.0.1:0").expect("bind a UDP port");
        let port = u.local_addr().expect("local addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn require_pdns() {
    let mut missing = vec![];
    if !Path::new(PDNS).exists() {
        missing.push("pdns-server (/usr/sbin/pdns_server)");
    }
    if !Path::new(SCHEMA).exists() {
        missing.push("pdns-backend-sqlite3");
    }
    if Command::new("sqlite3").arg("-version").output().is_err() {
        missing.push("sqlite3");
    }
    assert!(
        missing.is_empty(),
        "the DNS integration tests need a real PowerDNS: missing {}. Run scripts/install-test-deps.sh (as root) to install them.",
        missing.join(", ")
    );
}

async fn start_pdns() -> Pdns {
    require_pdns();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("pdns.sqlite3");
    let schema = std::fs::read(SCHEMA).expect("read the PowerDNS schema");
    let mut sqlite = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run sqlite3");
    {
        use std::io::Write;
        let mut stdin = sqlite.stdin.take().expect("sqlite3 stdin");
        stdin.write_all(&schema).expect("load the schema");
    }
    assert!(
        sqlite.wait().expect("sqlite3").success(),
        "sqlite3 could not load {SCHEMA}"
    );
    let dns_port = free_port();
    let api_port = free_port();
    let conf = format!(
        "launch=gsqlite3\ngsqlite3-database={db}\nlocal-address=127.0.0.1\nlocal-port={dns_port}\n\
         api=yes\napi-key={KEY}\nwebserver=yes\nwebserver-address=127.0.0.1\nwebserver-port={api_port}\n\
         webserver-allow-from=127.0.0.1\nsocket-dir={dir}\nguardian=no\ndaemon=no\n\
         cache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\nloglevel=4\n",
        db = db.display(),
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("pdns.conf"), conf).expect("write pdns.conf");
    let log = dir.path().join("pdns.log");
    let logf = std::fs::File::create(&log).expect("log file");
    let child = Command::new(PDNS)
        .arg(format!("--config-dir={}", dir.path().display()))
        .stdout(logf.try_clone().expect("log"))
        .stderr(logf)
        .spawn()
        .expect("start pdns_server");
    let p = Pdns {
        child,
        _dir: dir,
        log,
        dns: SocketAddr::from(([127, 0, 0, 1], dns_port)),
        api: format!("http://127.0.0.1:{api_port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(format!("{}/api/v1/servers/localhost", p.api))
            .header("X-API-Key", KEY)
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status().is_success()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PowerDNS did not start: {}",
            std::fs::read_to_string(&p.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http
        .post(format!("{}/api/v1/servers/localhost/zones", p.api))
        .header("X-API-Key", KEY)
        .json(&serde_json::json!({
            "name": ZONE, "kind": "Native", "nameservers": ["ns1.example.test."],
        }))
        .send()
        .await
        .expect("create zone");
    assert_eq!(
        r.status().as_u16(),
        201,
        "create zone: {:?}",
        r.text().await
    );
    pdns_set(&p, PROD_IP, 60).await;
    p
}

/// Set the record on one PowerDNS directly (as another operator or a lagging secondary would).
async fn pdns_set(p: &Pdns, ip: &str, ttl: u32) {
    let r = reqwest::Client::new()
        .patch(format!("{}/api/v1/servers/localhost/zones/{ZONE}", p.api))
        .header("X-API-Key", KEY)
        .json(&serde_json::json!({"rrsets": [{
            "name": RECORD, "type": "A", "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": ip, "disabled": false}],
        }]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text().await);
}

// ---------------------------------------------------------------------------------------------
// Plans and contexts

fn site(label: &str, target: &str) -> Site {
    Site {
        label: label.into(),
        dns_target: Some(target.into()),
        ..Site::default()
    }
}

fn plan_with(dns: DnsConfig) -> Plan {
    Plan {
        name: "dns test".into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<test>".into(),
        hash: "0".into(),
        parity: None,
        sites: [site("PROD", PROD_IP), site("DR", DR_IP)],
        qovery: None,
        images: None,
        dns: Some(dns),
        probes: ProbeSettings::default(),
        steps: vec![],
    }
}

fn pdns_dns(nameservers: &[SocketAddr], api: &str, key: &str) -> DnsConfig {
    DnsConfig {
        record: RECORD.into(),
        record_type: "A".into(),
        zone: None,
        nameservers: nameservers.iter().map(|a| a.to_string()).collect(),
        provider: Some(DnsProvider::PowerDns {
            api_url: api.into(),
            api_key: key.into(),
            server: "localhost".into(),
        }),
    }
}

fn raw(kind: &str, extra: &str) -> RawStep {
    toml::from_str(&format!(
        "id = \"s\"\ntitle = \"t\"\nkind = \"{kind}\"\nsite = \"dr\"\n{extra}"
    ))
    .expect("raw step")
}

fn action(plan: &Plan, kind: &str, extra: &str) -> DnsAction {
    match steps::dns::build(kind, &raw(kind, extra), plan.dns.as_ref(), &plan.sites) {
        Ok(StepAction::Dns(a)) => a,
        other => panic!("build {kind}: {other:?}"),
    }
}

struct Ctx {
    ctx: StepContext,
    heard: common::steps::Heard,
}

impl Ctx {
    fn new(plan: &Plan, read_only: bool) -> Ctx {
        let (ctx, heard) = common::steps::context(
            Arc::new(plan.clone()),
            HttpClient::new(read_only).with_read_retries(0),
        );
        Ctx { ctx, heard }
    }
    fn lines(&mut self) -> Vec<String> {
        self.heard
            .lines()
            .into_iter()
            .map(|line| format!("{}: {}", line.stream, line.text))
            .collect()
    }
}

async fn run(a: &DnsAction, ctx: &Ctx) -> Result<String, String> {
    steps::run(&StepAction::Dns(a.clone()), ctx.ctx.clone()).await
}

async fn answer_on(ns: SocketAddr) -> query::NsResult {
    answer_for(ns, RECORD).await
}

async fn answer_for(ns: SocketAddr, record: &str) -> query::NsResult {
    let n = Nameserver {
        label: ns.to_string(),
        addr: ns,
    };
    query::ask(&n, record, "A", None, Duration::from_secs(2))
        .await
        .expect("authoritative answer")
}

fn described_has_key(plan: &Plan) -> bool {
    let a = action(plan, "dns.switch", "");
    steps::describe(&StepAction::Dns(a))
        .join("\n")
        .contains(KEY)
}

fn text(v: Option<&Value>) -> String {
    v.map(|v| v.to_string())
        .unwrap_or_else(|| "<missing>".into())
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A fake provider answering scripted responses in order and recording every request.
async fn scripted(responses: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(responses)));
    let s2 = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let seen = s2.clone();
        let queue = queue.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            seen.lock().expect("lock").push(Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let (status, text) = queue
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((500, "no more scripted responses".into()));
            (
                axum::http::StatusCode::from_u16(status)
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                text,
            )
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn header<'a>(s: &'a Seen, name: &str) -> Option<&'a str> {
    s.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

const CF_ZONE: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const CF_RECORD: &str = "372e67954025e0ba6aaa6d586b9e0b59";
const CF_TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";

mod powerdns;
mod providers;
mod simulated;
