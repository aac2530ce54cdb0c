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

use drcockpit::app::{Level, Msg};
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
use tokio::sync::mpsc;

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
    rx: mpsc::UnboundedReceiver<Msg>,
}

impl Ctx {
    fn new(plan: &Plan, read_only: bool) -> Ctx {
        let (tx, rx) = mpsc::unbounded_channel();
        Ctx {
            ctx: StepContext {
                plan: Arc::new(plan.clone()),
                http: HttpClient::new(read_only).with_read_retries(0),
                allow_spawn: false,
                step: 0,
                attempt: 1,
                out: tx,
                probes: Default::default(),
            },
            rx,
        }
    }
    fn lines(&mut self) -> Vec<String> {
        let mut v = vec![];
        while let Ok(m) = self.rx.try_recv() {
            if let Msg::StepOutput { line, .. } = m {
                v.push(format!("{}: {}", line.stream, line.text));
            }
        }
        v
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

// ---------------------------------------------------------------------------------------------
// PowerDNS

#[tokio::test]
async fn switch_to_dr_then_verify_on_real_powerdns() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, KEY));
    let before = answer_on(p.dns).await;
    assert_eq!(before.values, vec![PROD_IP.to_string()]);
    assert_eq!(before.ttl, Some(60));

    // The panels before: PROD serves, DR's target is ready.
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("prod probe");
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("dr probe");
    assert_eq!(text(prod.fields.get("points_to")), "prod");
    assert_eq!(prod.summary, "shop.example.test → PROD TTL 60");
    assert_eq!(dr.summary, "standby target ready");
    assert_eq!(text(dr.fields.get("points_to")), "prod");
    assert!(!described_has_key(&plan), "credentials are never described");
    assert_eq!(text(dr.fields.get("serving")), "false");
    assert_eq!(text(dr.fields.get("serial_agree")), "true");

    // Review shows the exact call and the before → after.
    let switch = action(&plan, "dns.switch", "");
    let described = steps::describe(&StepAction::Dns(switch.clone())).join("\n");
    assert!(
        described.contains(&format!("PATCH {}/api/v1/servers/localhost/zones/", p.api)),
        "{described}"
    );
    assert!(
        described.contains("before → after: PROD 192.0.2.10 → DR 198.51.100.20 (read first;"),
        "{described}"
    );
    assert!(
        described.contains("\"changetype\":\"REPLACE\""),
        "{described}"
    );
    assert!(steps::is_mutating(&StepAction::Dns(switch.clone())));
    let mut c = Ctx::new(&plan, true);
    let pre = steps::preflight(&StepAction::Dns(switch.clone()), &c.ctx, vec![]).await;
    assert!(pre.iter().all(|x| x.ok == Some(true)), "{pre:?}");
    assert!(
        pre.iter().any(|x| x
            .detail
            .contains("192.0.2.10 TTL 60 (PROD) → after the switch: 198.51.100.20 (DR)")),
        "{pre:?}"
    );

    // Switch.
    let mut c2 = Ctx::new(&plan, false);
    let out = run(&switch, &c2).await.expect("switch");
    assert_eq!(
        out,
        "shop.example.test.: 192.0.2.10 TTL 60 (PROD) → 198.51.100.20 TTL 60 (DR)"
    );
    let after = answer_on(p.dns).await;
    assert_eq!(after.values, vec![DR_IP.to_string()]);
    assert_eq!(
        after.serial,
        Some(before.serial.unwrap_or(0) + 1),
        "PowerDNS bumps the serial"
    );
    assert!(
        c2.lines()
            .iter()
            .any(|l| l.contains("PATCH zones/example.test. → 204"))
    );

    // Verify: every nameserver answers DR with one serial.
    let verify = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"",
    );
    assert!(!steps::is_mutating(&StepAction::Dns(verify.clone())));
    let out = run(&verify, &c2).await.expect("verify");
    assert!(
        out.starts_with(&format!(
            "the nameserver answers 198.51.100.20 (DR) with serial {}",
            after.serial.unwrap_or(0)
        )),
        "{out}"
    );
    assert!(
        out.contains("caches may hold the old answer until"),
        "{out}"
    );
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("dr probe");
    assert_eq!(text(dr.fields.get("points_to")), "dr");
    assert_eq!(dr.summary, "shop.example.test → DR TTL 60");
    assert!(dr.fields.contains_key("caches_left"), "{dr:?}");
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("prod probe");
    assert_eq!(prod.summary, "shop.example.test → DR TTL 60");
    assert_eq!(text(prod.fields.get("serving")), "false");

    // Pressing switch again: success, nothing sent, serial unchanged.
    let again = run(&switch, &c2).await.expect("second switch");
    assert_eq!(
        again,
        "shop.example.test. already points at DR (198.51.100.20 TTL 60); nothing sent"
    );
    assert_eq!(answer_on(p.dns).await.serial, after.serial);
    let _ = c.lines();
}

#[tokio::test]
async fn wrong_api_key_and_out_of_zone_are_clear_errors() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, "not-the-key"));
    let c = Ctx::new(&plan, false);
    let err = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect_err("wrong key");
    assert!(
        err.starts_with("PowerDNS: the credentials were refused (401)"),
        "{err}"
    );
    assert!(err.contains("check the api_key"), "{err}");
    let pre = steps::preflight(
        &StepAction::Dns(action(&plan, "dns.switch", "")),
        &c.ctx,
        vec![],
    )
    .await;
    assert_eq!(pre[0].ok, Some(false), "{pre:?}");
    assert!(pre[0].detail.contains("401"), "{pre:?}");

    // A record outside the zone the plan names: PowerDNS's own 422.
    let mut dns = pdns_dns(&[p.dns], &p.api, KEY);
    dns.record = "shop.elsewhere.test.".into();
    dns.zone = Some(ZONE.into());
    let plan = plan_with(dns);
    let err = run(&action(&plan, "dns.switch", ""), &Ctx::new(&plan, false))
        .await
        .expect_err("out of zone");
    assert!(err.starts_with("PowerDNS: 422:"), "{err}");
    assert!(err.contains("out of zone"), "{err}");

    // Without a zone in the plan, the zone is looked up and the name found outside every zone.
    let mut dns = pdns_dns(&[p.dns], &p.api, KEY);
    dns.record = "shop.elsewhere.test.".into();
    let plan = plan_with(dns);
    let err = run(&action(&plan, "dns.switch", ""), &Ctx::new(&plan, false))
        .await
        .expect_err("out of zone");
    assert!(
        err.contains("no zone on server `localhost` contains shop.elsewhere.test."),
        "{err}"
    );
    // PowerDNS was not changed.
    assert_eq!(answer_on(p.dns).await.values, vec![PROD_IP.to_string()]);
}

#[tokio::test]
async fn verify_waits_for_a_lagging_nameserver_and_names_it() {
    let (p1, p2) = tokio::join!(start_pdns(), start_pdns());
    let plan = plan_with(pdns_dns(&[p1.dns, p2.dns], &p1.api, KEY));
    let c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch on ns1");

    // ns2 has not been updated: verify gives up naming it.
    let mut c = Ctx::new(&plan, false);
    let short = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"\ntimeout = \"1s\"",
    );
    let err = run(&short, &c).await.expect_err("ns2 lags");
    let ns2 = p2.dns.to_string();
    assert!(
        err.contains(&format!(
            "1 of 2 nameservers lag: {ns2} still answers 192.0.2.10 (PROD), serial"
        )),
        "{err}"
    );
    assert!(!err.contains(&p1.dns.to_string()), "{err}");
    let dr = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect("probe");
    assert_eq!(text(dr.fields.get("points_to")), "split");
    assert_eq!(dr.level, Level::Warn);
    assert!(dr.summary.contains("split: 1/2 → DR"), "{}", dr.summary);
    let _ = c.lines();

    // ns2 catches up while verify waits.
    let api2 = p2.api.clone();
    let updater = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let r = reqwest::Client::new()
            .patch(format!("{api2}/api/v1/servers/localhost/zones/{ZONE}"))
            .header("X-API-Key", KEY)
            .json(&serde_json::json!({"rrsets": [{
                "name": RECORD, "type": "A", "ttl": 60, "changetype": "REPLACE",
                "records": [{"content": DR_IP, "disabled": false}],
            }]}))
            .send()
            .await;
        r.map(|r| r.status().as_u16())
    });
    let long = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"200ms\"\ntimeout = \"20s\"",
    );
    let out = run(&long, &c).await.expect("verify after ns2 caught up");
    assert_eq!(updater.await.ok().and_then(|r| r.ok()), Some(204));
    assert!(
        out.starts_with("all 2 nameservers answer 198.51.100.20 (DR) with serial"),
        "{out}"
    );
    let lines = c.lines();
    assert!(
        lines.iter().any(
            |l| l.starts_with("stderr: waiting for 1 of 2 nameservers: ")
                && l.contains(&ns2)
                && l.contains("still answers 192.0.2.10 (PROD)")
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{ns2}: {RECORD} → 198.51.100.20 (DR)"))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_nameserver_that_does_not_answer_is_named() {
    let p = start_pdns().await;
    // Bound but silent: queries go nowhere.
    let silent = StdUdp::bind("127.0.0.1:0").expect("bind");
    let dead = silent.local_addr().expect("addr");
    let plan = plan_with(pdns_dns(&[p.dns, dead], &p.api, KEY));
    let c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    let verify = action(
        &plan,
        "dns.verify",
        "countdown = false\ninterval = \"100ms\"\ntimeout = \"1s\"",
    );
    let started = Instant::now();
    let err = run(&verify, &c).await.expect_err("one NS is dead");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "timeouts are bounded"
    );
    assert!(
        err.contains(&format!(
            "1 of 2 nameservers lag: {dead} no answer within 2000 ms (UDP)"
        )),
        "{err}"
    );
    let prod = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Prod)
        .await
        .expect("probe");
    assert_eq!(prod.level, Level::Warn);
    assert!(prod.summary.contains("1/2 NS"), "{}", prod.summary);
    assert!(
        prod.details
            .iter()
            .any(|d| d.contains(&format!("{dead}: ✗ no answer within 2000 ms (UDP)"))),
        "{:?}",
        prod.details
    );

    // Every nameserver silent: the DNS section errors (never shown as healthy).
    let plan = plan_with(pdns_dns(&[dead], &p.api, KEY));
    let e = drcockpit::probes::dns::probe(&plan, &HttpClient::new(true), SiteId::Dr)
        .await
        .expect_err("all silent");
    assert_eq!(e.short, "no answer");
    drop(silent);
}

#[tokio::test]
async fn a_read_only_client_refuses_the_switch() {
    let p = start_pdns().await;
    let plan = plan_with(pdns_dns(&[p.dns], &p.api, KEY));
    let c = Ctx::new(&plan, true);
    let err = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect_err("read-only");
    assert!(
        err.contains("refused by the read-only transport: PATCH"),
        "{err}"
    );
    assert_eq!(c.ctx.http.refused_count(), 1);
    assert_eq!(answer_on(p.dns).await.values, vec![PROD_IP.to_string()]);
}

#[tokio::test]
async fn querier_requires_authority_and_names_the_rcode() {
    let p = start_pdns().await;
    let n = Nameserver {
        label: "pdns".into(),
        addr: p.dns,
    };
    // PowerDNS refuses names outside its zones.
    let e = query::ask(
        &n,
        "www.not-served.test.",
        "A",
        None,
        Duration::from_secs(2),
    )
    .await
    .expect_err("not authoritative");
    assert!(
        matches!(e, DnsError::Rcode { ref rcode, .. } if rcode == "REFUSED"),
        "{e}"
    );
    // NXDOMAIN in the zone is an authoritative answer with no values and the zone's serial.
    let r = query::ask(&n, "nope.example.test.", "A", None, Duration::from_secs(2))
        .await
        .expect("nxdomain");
    assert_eq!(r.rcode, "NXDOMAIN");
    assert!(r.values.is_empty() && r.serial.is_some());
}

// ---------------------------------------------------------------------------------------------
// Recorded provider exchanges (Cloudflare, Route 53)

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

#[tokio::test]
async fn cloudflare_patch_matches_the_documented_request() {
    let (url, seen) = scripted(vec![
        (200, fixture("cloudflare_record_prod_response.json")), // switch: read
        (200, fixture("cloudflare_record_prod_response.json")), // replace: proxied?
        (200, fixture("cloudflare_record_dr_response.json")),   // PATCH
        (200, fixture("cloudflare_record_dr_response.json")),   // read back
    ])
    .await;
    let cf = Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
        .with_api_url(&url);
    let p = Provider::Cloudflare(cf);
    let http = HttpClient::new(false);
    let out = p
        .switch(
            &http,
            "lb.eu-west-1.example.net.",
            Some(60),
            "CNAME",
            &|_| {},
        )
        .await
        .expect("switch");
    assert!(
        matches!(out, drcockpit::clients::dns::SwitchOutcome::Changed { .. }),
        "{out:?}"
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let patch = &seen[2];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.uri,
        format!("/zones/{CF_ZONE}/dns_records/{CF_RECORD}")
    );
    assert_eq!(
        header(patch, "authorization"),
        Some(format!("Bearer {CF_TOKEN}").as_str())
    );
    assert_eq!(header(patch, "content-type"), Some("application/json"));
    assert_eq!(patch.body, fixture("cloudflare_patch_request.json").trim());
    for s in [&seen[0], &seen[1], &seen[3]] {
        assert_eq!(s.method, "GET");
        assert_eq!(
            header(s, "authorization"),
            Some(format!("Bearer {CF_TOKEN}").as_str())
        );
    }
    // The default endpoint is Cloudflare's v4 API.
    let real = Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME");
    assert_eq!(
        real.patch_request(&["lb.eu-west-1.example.net.".into()], Some(60))
            .url,
        format!("https://api.cloudflare.com/client/v4/zones/{CF_ZONE}/dns_records/{CF_RECORD}")
    );
}

#[tokio::test]
async fn cloudflare_ttl_rules_and_errors() {
    // TTL outside Cloudflare's rules is refused before anything is sent.
    assert!(drcockpit::clients::dns::cloudflare::check_ttl(10).is_err());
    assert!(drcockpit::clients::dns::cloudflare::check_ttl(1).is_ok());
    assert!(
        drcockpit::clients::dns::cloudflare::check_ttl(45)
            .expect("enterprise")
            .is_some()
    );
    let dns = DnsConfig {
        record: "shop.example.com.".into(),
        record_type: "CNAME".into(),
        zone: None,
        nameservers: vec![],
        provider: Some(DnsProvider::Cloudflare {
            zone_id: CF_ZONE.into(),
            record_id: CF_RECORD.into(),
            token: CF_TOKEN.into(),
        }),
    };
    let mut plan = plan_with(dns);
    plan.sites = [
        site("P", "lb.fr-par.example.net."),
        site("D", "lb.eu-west-1.example.net."),
    ];
    let e = steps::dns::build(
        "dns.switch",
        &raw("dns.switch", "ttl = 10"),
        plan.dns.as_ref(),
        &plan.sites,
    )
    .expect_err("ttl 10");
    assert!(e.contains("between 60 and 86400"), "{e}");

    // The API's own errors come through with their code.
    let (url, _) = scripted(vec![
        (200, fixture("cloudflare_record_prod_response.json")),
        (200, fixture("cloudflare_record_prod_response.json")),
        (400, fixture("cloudflare_ttl_error_response.json")),
    ])
    .await;
    let p = Provider::Cloudflare(
        Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
            .with_api_url(&url),
    );
    let e = p
        .switch(
            &HttpClient::new(false),
            "lb.eu-west-1.example.net.",
            Some(120),
            "CNAME",
            &|_| {},
        )
        .await
        .expect_err("9021");
    assert_eq!(
        e.to_string(),
        "Cloudflare: 400: PATCH the record: TTL must be between 30 and 86400 seconds, or 1 for Automatic. (9021)"
    );
    let (url, _) = scripted(vec![(403, fixture("cloudflare_auth_error_response.json"))]).await;
    let p = Provider::Cloudflare(
        Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
            .with_api_url(&url),
    );
    let e = p
        .check_access(&HttpClient::new(true))
        .await
        .expect_err("403");
    assert!(
        matches!(e, DnsError::Unauthorized { status: 403, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("Authentication error (10000)"),
        "{e}"
    );
}

fn aws_example_credentials() -> aws_credential_types::Credentials {
    // AWS's documented example key pair (SigV4 test suite).
    aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    )
}

fn at_20150830() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(1_440_938_160) // 2015-08-30T12:36:00Z
}

#[test]
fn route53_signing_matches_the_sigv4_test_suite() {
    // AWS SigV4 test suite, `get-vanilla`: GET https://example.amazonaws.com/ by AKIDEXAMPLE at
    // 20150830T123600Z for service `service` in us-east-1.
    let mut r = Route53::new("Z1", "shop.example.com.", "CNAME");
    r.service = "service".into();
    r.credentials = Some(aws_example_credentials());
    r.signing_time = Some(at_20150830());
    let signed = r
        .sign(drcockpit::clients::http::RequestSpec {
            method: "GET".into(),
            url: "https://example.amazonaws.com/".into(),
            headers: vec![],
            body: None,
        })
        .expect("sign");
    let h = |n: &str| {
        signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("x-amz-date").as_deref(), Some("20150830T123600Z"));
    assert_eq!(
        h("authorization").as_deref(),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
}

#[tokio::test]
async fn route53_upsert_then_getchange_until_insync() {
    let (url, seen) = scripted(vec![
        (200, fixture("route53_list_prod_response.xml")),
        (200, fixture("route53_change_response.xml")),
        (
            200,
            fixture("route53_change_response.xml")
                .replace("ChangeResourceRecordSetsResponse", "GetChangeResponse"),
        ),
        (200, fixture("route53_getchange_insync_response.xml")),
        (200, fixture("route53_list_dr_response.xml")),
    ])
    .await;
    let mut r = Route53::new("/hostedzone/Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    r.endpoint = url;
    r.credentials = Some(aws_example_credentials());
    r.signing_time = Some(at_20150830());
    r.poll_every = Duration::from_millis(20);
    let progress = Arc::new(Mutex::new(Vec::<String>::new()));
    let pr = progress.clone();
    let out = Provider::Route53(r)
        .switch(
            &HttpClient::new(false),
            "lb.eu-west-1.example.net.",
            Some(60),
            "CNAME",
            &move |s| pr.lock().expect("lock").push(s),
        )
        .await
        .expect("switch");
    match out {
        drcockpit::clients::dns::SwitchOutcome::Changed { note, after, .. } => {
            assert_eq!(note, "Route 53 change /change/C2682N5HXP0BZ4 INSYNC");
            assert_eq!(after.values, vec!["lb.eu-west-1.example.net.".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let seen = seen.lock().expect("lock").clone();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.uri))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset?maxitems=1&name=shop.example.com.&type=CNAME",
            "POST /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset",
            "GET /2013-04-01/change/C2682N5HXP0BZ4",
            "GET /2013-04-01/change/C2682N5HXP0BZ4",
            "GET /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset?maxitems=1&name=shop.example.com.&type=CNAME",
        ]
    );
    let post = &seen[1];
    assert_eq!(post.body, fixture("route53_upsert_request.xml"));
    assert_eq!(header(post, "x-amz-date"), Some("20150830T123600Z"));
    let auth = header(post, "authorization").unwrap_or_default();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/route53/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
        "{auth}"
    );
    assert_eq!(
        progress
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains("C2682N5HXP0BZ4"))
            .count(),
        2,
        "PENDING then INSYNC"
    );

    // Errors carry the XML code and message.
    let (url, _) = scripted(vec![(403, fixture("route53_access_denied_response.xml"))]).await;
    let mut r = Route53::new("Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    r.endpoint = url;
    r.credentials = Some(aws_example_credentials());
    let e = r
        .check_access(&HttpClient::new(true))
        .await
        .expect_err("403");
    assert!(
        e.to_string()
            .contains("SignatureDoesNotMatch: The request signature"),
        "{e}"
    );

    // A read-only client refuses the UPSERT before credentials are even read.
    let r = Route53::new("Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    let e = r
        .replace(&HttpClient::new(true), &["x.example.".into()], 60, &|_| {})
        .await
        .expect_err("read-only");
    assert!(e.to_string().contains("read-only"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The simulator's responder and API

#[tokio::test]
async fn sim_responder_and_api_round_trip() {
    let world = Arc::new(DnsWorld::new(ZONE, KEY));
    world
        .set_record(SIM_RECORD, "A", 1, &[PROD_IP])
        .expect("seed");
    let ns = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("responder");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", l.local_addr().expect("addr"));
    let app = routes(world.clone());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    // Its own record: switch marks (old TTL for the countdown) are per record and per process.
    let mut dns = pdns_dns(&[ns], &api, KEY);
    dns.record = SIM_RECORD.into();
    let plan = plan_with(dns);
    let before = answer_for(ns, SIM_RECORD).await;
    assert_eq!(before.values, vec![PROD_IP.to_string()]);

    let c = Ctx::new(&plan, false);
    let out = run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    assert!(out.ends_with("→ 198.51.100.20 TTL 1 (DR)"), "{out}");
    assert_eq!(
        world.record(SIM_RECORD, "A"),
        Some((1, vec![DR_IP.to_string()]))
    );
    let after = answer_for(ns, SIM_RECORD).await;
    assert_eq!(after.values, vec![DR_IP.to_string()]);
    assert_eq!(after.serial, before.serial.map(|s| s + 1));

    // Verify with the countdown of the old TTL (1 s).
    let mut c = Ctx::new(&plan, false);
    let started = Instant::now();
    let out = run(&action(&plan, "dns.verify", "interval = \"100ms\""), &c)
        .await
        .expect("verify");
    assert!(out.contains("cached old answers expired at"), "{out}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "counted down the old TTL"
    );
    assert!(
        c.lines()
            .iter()
            .any(|l| l.contains("resolvers may hold the old answer until"))
    );

    // TCP fallback when UDP answers are truncated.
    world.set_truncate_udp(true);
    assert_eq!(
        answer_for(ns, SIM_RECORD).await.values,
        vec![DR_IP.to_string()]
    );
    world.set_truncate_udp(false);

    // The API's errors match PowerDNS's.
    let http = reqwest::Client::new();
    let r = http
        .patch(format!("{api}/api/v1/servers/localhost/zones/{ZONE}"))
        .header("X-API-Key", "wrong")
        .body("{}")
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .patch(format!("{api}/api/v1/servers/localhost/zones/{ZONE}"))
        .header("X-API-Key", KEY)
        .body(r#"{"rrsets":[{"name":"x.elsewhere.","type":"A","ttl":5,"changetype":"REPLACE","records":[]}]}"#)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 422);
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("is out of zone")
    );

    // Out-of-zone queries are refused, not answered.
    let n = Nameserver {
        label: "sim".into(),
        addr: ns,
    };
    let e = query::ask(&n, "www.elsewhere.", "A", None, Duration::from_secs(1))
        .await
        .expect_err("refused");
    assert!(
        matches!(e, DnsError::Rcode { ref rcode, .. } if rcode == "REFUSED"),
        "{e}"
    );

    // A silent responder is a timeout, named.
    world.set_silent(true);
    let e = query::ask(&n, SIM_RECORD, "A", None, Duration::from_millis(300))
        .await
        .expect_err("silent");
    assert!(matches!(e, DnsError::NoAnswer { .. }), "{e}");
}

#[tokio::test]
async fn cloudflare_proxied_record_is_verified_through_the_api() {
    let proxied = fixture("cloudflare_record_dr_response.json")
        .replace("\"proxied\":false", "\"proxied\":true");
    let (url, seen) = scripted(vec![(200, proxied.clone()), (200, proxied)]).await;
    // The plan's provider has no endpoint key: the documented override is the environment.
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var("DRCOCKPIT_CLOUDFLARE_API_URL", &url) };
    let mut plan = plan_with(DnsConfig {
        record: "shop.example.com.".into(),
        record_type: "CNAME".into(),
        zone: None,
        nameservers: vec![],
        provider: Some(DnsProvider::Cloudflare {
            zone_id: CF_ZONE.into(),
            record_id: CF_RECORD.into(),
            token: CF_TOKEN.into(),
        }),
    });
    plan.sites = [
        site("P", "lb.fr-par.example.net."),
        site("D", "lb.eu-west-1.example.net."),
    ];
    let out = run(&action(&plan, "dns.verify", ""), &Ctx::new(&plan, true))
        .await
        .expect("verified through the API");
    assert_eq!(
        out,
        "shop.example.com. is proxied by Cloudflare (public answers are edge addresses); the API holds lb.eu-west-1.example.net. TTL 60 (proxied) (DR)"
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    // Switching a proxied record to where it already points sends nothing.
    let out = run(
        &action(&plan, "dns.switch", "ttl = 120"),
        &Ctx::new(&plan, true),
    )
    .await
    .expect("no-op");
    assert!(out.ends_with("nothing sent"), "{out}");
    unsafe { std::env::remove_var("DRCOCKPIT_CLOUDFLARE_API_URL") };
}

#[tokio::test]
async fn sim_secondary_lags_then_catches_up() {
    let world = Arc::new(DnsWorld::demo());
    let rec = drcockpit::sim::dns::DEMO_RECORD;
    let ns1 = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("ns1");
    let ns2 = start_secondary(
        world.clone(),
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_millis(1500),
    )
    .await
    .expect("ns2");
    // Seeded records are served by the secondary at once.
    assert_eq!(answer_for(ns2, rec).await.values, vec![PROD_IP.to_string()]);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}/pdns", l.local_addr().expect("addr"));
    let app = axum::Router::new().nest("/pdns", routes(world.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let mut dns = pdns_dns(&[ns1, ns2], &api, drcockpit::sim::dns::DEMO_API_KEY);
    dns.record = rec.into();
    let plan = plan_with(dns);
    let mut c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", ""), &c)
        .await
        .expect("switch");
    let out = run(
        &action(
            &plan,
            "dns.verify",
            "countdown = false\ninterval = \"200ms\"",
        ),
        &c,
    )
    .await
    .expect("verify");
    assert!(
        out.starts_with("all 2 nameservers answer 198.51.100.20 (DR) with serial"),
        "{out}"
    );
    let lines = c.lines();
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "waiting for 1 of 2 nameservers: {ns2} still answers 192.0.2.10 (PROD)"
        ))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn sim_nameservers_derive_from_the_sim_url() {
    let [a, b] = drcockpit::sim::dns::nameservers_for_sim("http://127.0.0.1:7400").expect("derive");
    assert_eq!(
        (a.to_string().as_str(), b.to_string().as_str()),
        ("127.0.0.2:7400", "127.0.0.3:7400")
    );
    assert!(drcockpit::sim::dns::nameservers_for_sim("127.0.0.1").is_err());
    // Started next to an HTTP server holding the same port on 127.0.0.1.
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = http.local_addr().expect("addr");
    let (world, [ns1, ns2]) = drcockpit::sim::dns::start_for_sim(addr)
        .await
        .expect("start");
    assert_eq!(ns1.port(), addr.port());
    let rec = drcockpit::sim::dns::DEMO_RECORD;
    assert_eq!(answer_for(ns1, rec).await.values, vec![PROD_IP.to_string()]);
    assert_eq!(answer_for(ns2, rec).await.values, vec![PROD_IP.to_string()]);
    world.set_record(rec, "A", 5, &[DR_IP]).expect("set");
    assert_eq!(answer_for(ns1, rec).await.values, vec![DR_IP.to_string()]);
    assert_eq!(
        answer_for(ns2, rec).await.values,
        vec![PROD_IP.to_string()],
        "the secondary lags"
    );
}

/// `--resume` between `dns.switch` and `dns.verify`: the resumed process never saw the switch,
/// so what the switch set (the old TTL resolvers may hold) must come from the journal, where the
/// switch recorded it on its evidence stream.
#[tokio::test]
async fn a_resumed_verify_counts_from_what_the_switch_recorded() {
    const RESUME_RECORD: &str = "resume.example.test.";
    let world = Arc::new(DnsWorld::new(ZONE, KEY));
    // The old answer was cached for 7 s; the switch lowers the TTL to 1 s.
    world
        .set_record(RESUME_RECORD, "A", 7, &[PROD_IP])
        .expect("seed");
    let ns = start_responder(world.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("responder");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", l.local_addr().expect("addr"));
    let app = routes(world.clone());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let mut dns = pdns_dns(&[ns], &api, KEY);
    dns.record = RESUME_RECORD.into();
    let plan = plan_with(dns);

    let mut c = Ctx::new(&plan, false);
    run(&action(&plan, "dns.switch", "ttl = 1"), &c)
        .await
        .expect("switch");
    // What the journal holds of the switch's output.
    let journal: Vec<(String, String)> = c
        .lines()
        .into_iter()
        .filter_map(|l| {
            let (stream, text) = l.split_once(": ")?;
            Some((stream.to_string(), text.to_string()))
        })
        .collect();
    assert!(
        journal
            .iter()
            .any(|(s, _)| s == steps::dns::EVIDENCE_STREAM),
        "{journal:?}"
    );

    // A new process: nothing in memory, only the journal.
    steps::dns::forget_switch_marks();
    let mut verify = StepAction::Dns(action(
        &plan,
        "dns.verify",
        "interval = \"100ms\"\ncountdown = false",
    ));
    let outputs: Vec<(&str, &str)> = journal
        .iter()
        .map(|(s, t)| (s.as_str(), t.as_str()))
        .collect();
    steps::hand_off(&mut verify, &outputs);
    let mut c = Ctx::new(&plan, false);
    steps::run(&verify, c.ctx.clone()).await.expect("verify");
    let lines = c.lines();
    assert!(
        lines.iter().any(|l| l.contains("(old TTL 7s)")),
        "verify must count from the old TTL the switch recorded: {lines:?}"
    );
}
