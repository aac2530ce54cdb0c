//! Images: the registry client against Debian's real `docker-registry` (distribution 2.8) on
//! loopback with htpasswd Basic auth, content pushed over plain HTTP (blob upload + manifest PUT):
//! an OCI manifest, a Docker v2 manifest and an OCI index. Then, against the simulator, the
//! Bearer token flow and token expiry, the Images probe of the demo plan, and `qovery.set_image`.
//!
//! Needs `docker-registry`, `htpasswd` and `openssl` (a private CA for the TLS case):
//! `scripts/install-test-deps.sh` installs them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drcockpit::clients::http::HttpClient;
use drcockpit::clients::registry::{RegistryClient, RegistryError};
use drcockpit::plan::{LoadOptions, SiteId, StepAction, Value};
use drcockpit::probes::images::{ImageTarget, Sync, compare, dr_reading};
use drcockpit::sim::qovery::ids;
use drcockpit::sim::registry::{PASSWORD, RegistryWorld, digest_of};
use drcockpit::sim::{Family, Scenario, SimOptions, SimState};
use drcockpit::steps::{self, StepContext};

mod common;
use common::free_port;

const REGISTRY: &str = "/usr/bin/docker-registry";
const USER: &str = "tester";
const PASS: &str = "s3cret-registry-pass";

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

fn require_tools() {
    let missing: Vec<&str> = [REGISTRY, "htpasswd", "openssl"]
        .into_iter()
        .filter(|t| {
            if t.starts_with('/') {
                !Path::new(t).exists()
            } else {
                Command::new(t)
                    .arg("-h")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_err()
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the registry integration tests need Debian's docker-registry, htpasswd and openssl: missing {}. Run scripts/install-test-deps.sh (as root) to install them.",
        missing.join(", ")
    );
}

/// A docker-registry on loopback with htpasswd auth and its own storage; killed on drop.
struct Registry {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, written into `dir` (openssl CLI).
fn make_tls(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl (scripts/install-test-deps.sh installs it)");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=drcockpit test CA",
    ]);
    run(&a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&a);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with(false)
    }

    /// `tls`: serve HTTPS with a certificate from a private CA (its PEM is `<dir>/ca.pem`).
    fn start_with(tls: bool) -> Registry {
        require_tools();
        let dir = tempfile::tempdir().expect("tempdir");
        let tls_conf = if tls {
            let (_, cert, key) = make_tls(dir.path());
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            )
        } else {
            String::new()
        };
        let ht = Command::new("htpasswd")
            .args(["-Bbn", USER, PASS])
            .output()
            .expect("run htpasswd");
        assert!(ht.status.success(), "htpasswd failed: {ht:?}");
        std::fs::write(dir.path().join("htpasswd"), &ht.stdout).expect("write htpasswd");
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: drcockpit-test-secret\n{tls_conf}auth:\n  htpasswd:\n    realm: drcockpit-test\n    path: {}\n",
            dir.path().join("data").display(),
            dir.path().join("htpasswd").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).expect("write config");
        let log = dir.path().join("registry.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(&cfg)
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .spawn()
            .expect("start docker-registry");
        let url = format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "docker-registry did not listen on {port}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            url,
            dir,
            log,
        }
    }

    fn client(&self) -> RegistryClient {
        RegistryClient::new(&self.url, HttpClient::new(true).with_read_retries(0))
            .with_credentials(USER, PASS)
    }

    /// Upload a blob (POST uploads → Location → PUT ?digest=).
    async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let http = reqwest::Client::new();
        let digest = sha256(bytes);
        let r = http
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.url))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .expect("start upload");
        assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location")
            .to_string();
        let loc = if loc.starts_with("http") {
            loc
        } else {
            format!("{}{loc}", self.url)
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = http
            .put(format!("{loc}{sep}digest={digest}"))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("finish upload");
        assert_eq!(r.status().as_u16(), 201, "{:?}", r.text().await);
        digest
    }

    async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &str,
    ) -> String {
        let r = reqwest::Client::new()
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.url))
            .basic_auth(USER, Some(PASS))
            .header("content-type", media_type)
            .body(body.to_string())
            .send()
            .await
            .expect("put manifest");
        assert_eq!(
            r.status().as_u16(),
            201,
            "{:?}\n{}",
            r.text().await,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        sha256(body.as_bytes())
    }

    /// An image: a config and one layer, as an OCI (or Docker v2) manifest. Returns its digest.
    async fn push_image(&self, repo: &str, tag: &str, content: &str, docker: bool) -> String {
        let config =
            format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"content\":\"{content}\"}}");
        let layer = format!("layer {content}");
        let cd = self.push_blob(repo, config.as_bytes()).await;
        let ld = self.push_blob(repo, layer.as_bytes()).await;
        let (mt, ct, lt) = if docker {
            (
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        } else {
            (
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        };
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": mt,
            "config": { "mediaType": ct, "digest": cd, "size": config.len() },
            "layers": [{ "mediaType": lt, "digest": ld, "size": layer.len() }],
        })
        .to_string();
        self.push_manifest(repo, tag, mt, &body).await
    }
}

#[tokio::test]
async fn real_registry_answers_each_manifest_kind_with_its_digest() {
    let reg = Registry::start();
    let oci = reg.push_image("shop/web", "1.0", "web 1.0", false).await;
    let docker = reg
        .push_image("shop/web", "docker", "web docker", true)
        .await;
    let index_body = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": oci, "size": 0,
            "platform": { "architecture": "amd64", "os": "linux" },
        }],
    });
    // The index entry's size must be the real one.
    let c = reg.client();
    let m = c
        .manifest("shop/web", "1.0")
        .await
        .expect("read")
        .expect("present");
    let mut index_body = index_body;
    index_body["manifests"][0]["size"] = serde_json::json!(m.size.expect("Content-Length"));
    let index = reg
        .push_manifest(
            "shop/web",
            "multi",
            "application/vnd.oci.image.index.v1+json",
            &index_body.to_string(),
        )
        .await;

    let ping = c.ping().await.expect("ping");
    assert_eq!(ping.api_version.as_deref(), Some("registry/2.0"));
    assert_eq!(ping.auth.as_deref(), Some("Basic"));

    assert_eq!(m.digest, oci);
    assert!(!m.digest_from_body);
    assert_eq!(
        m.media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    let d = c
        .manifest("shop/web", "docker")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(d.digest, docker);
    assert_eq!(
        d.media_type.as_deref(),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
    let i = c
        .manifest("shop/web", "multi")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(i.digest, index, "a multi-arch tag answers the index digest");
    // By digest too.
    let by = c
        .manifest("shop/web", &oci)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(by.digest, oci);

    // Missing tag and missing repository are both "not there", not errors.
    assert_eq!(c.manifest("shop/web", "nope").await.expect("read"), None);
    assert_eq!(c.manifest("shop/nothing", "1.0").await.expect("read"), None);

    // Why the client sends all four types: without Accept, the OCI manifest that exists is a 404.
    let r = reqwest::Client::new()
        .head(format!("{}/v2/shop/web/manifests/1.0", reg.url))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn two_real_registries_same_tag_different_digest_and_missing() {
    let prod = Registry::start();
    let dr = Registry::start();
    let same_p = prod.push_image("shop/web", "2.0", "web 2.0", false).await;
    let same_d = dr.push_image("shop-dr/web", "2.0", "web 2.0", false).await;
    assert_eq!(same_p, same_d);
    let api_p = prod.push_image("shop/api", "2.0", "api 2.0", false).await;
    let api_d = dr
        .push_image("shop-dr/api", "2.0", "api 2.0 rebuilt", false)
        .await;
    assert_ne!(api_p, api_d);
    prod.push_image("shop/worker", "2.0", "worker 2.0", true)
        .await;
    let t = |s: &str| ImageTarget {
        service: s.into(),
        prod_repository: format!("shop/{s}"),
        dr_repository: format!("shop-dr/{s}"),
        tag: Some("2.0".into()),
        source: "plan".into(),
    };
    let (pc, dc) = (prod.client(), dr.client());
    let rows = compare(
        vec![t("web"), t("api"), t("worker")],
        Some(&pc),
        Some(&dc),
        4,
    )
    .await;
    let syncs: Vec<Sync> = rows.iter().map(|r| r.sync()).collect();
    assert_eq!(syncs, [Sync::Same, Sync::Different, Sync::Missing]);
    let r = dr_reading(&rows);
    assert_eq!(r.fields.get("synced"), Some(&Value::Bool(false)));
    assert_eq!(r.fields.get("missing"), Some(&Value::Num(1.0)));
    assert_eq!(r.fields.get("different"), Some(&Value::Num(1.0)));
    assert_eq!(r.fields.get("present"), Some(&Value::Num(2.0)));
    assert_eq!(r.fields.get("total"), Some(&Value::Num(3.0)));
    assert!(r.summary.contains("1/3 synced"), "{}", r.summary);
    assert!(r.summary.contains("missing: worker"), "{}", r.summary);
    assert!(r.summary.contains("differ: api"), "{}", r.summary);
    let short = |d: &str| d.trim_start_matches("sha256:")[..12].to_string();
    assert!(r.details.iter().any(|d| d.starts_with("web 2.0")
        && d.contains(&format!("prod {}", short(&same_p)))
        && d.ends_with("✓ same")));
    assert!(r.details.iter().any(|d| d.starts_with("api 2.0")
        && d.contains(&short(&api_d))
        && d.ends_with("≠ different")));
    assert!(
        r.details
            .iter()
            .any(|d| d.starts_with("worker") && d.ends_with("✗ missing"))
    );
}

#[tokio::test]
async fn wrong_credentials_and_a_down_server_are_clear_errors() {
    let reg = Registry::start();
    let wrong = RegistryClient::new(&reg.url, HttpClient::new(true).with_read_retries(0))
        .with_credentials(USER, "not-the-password");
    let e = wrong
        .manifest("shop/web", "1.0")
        .await
        .expect_err("refused");
    assert!(matches!(e, RegistryError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    assert!(!e.to_string().contains("not-the-password"));
    let anon = RegistryClient::new(&reg.url, HttpClient::new(true).with_read_retries(0));
    let e = anon.ping().await.expect_err("needs credentials");
    assert!(matches!(e, RegistryError::NeedsCredentials { .. }), "{e:?}");
    assert!(
        e.to_string().contains("set `username` and `password`"),
        "{e}"
    );

    let port = free_port();
    let down = RegistryClient::new(
        &format!("http://127.0.0.1:{port}"),
        HttpClient::new(true).with_read_retries(0),
    )
    .with_credentials(USER, PASS);
    let e = down.manifest("shop/web", "1.0").await.expect_err("down");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert_eq!(e.short(), "unreachable");
}

// ---- against the simulator ---------------------------------------------------------------------

async fn serve_registry(world: Arc<RegistryWorld>) -> String {
    let state = SimState::new(Scenario::AllGood, 1);
    let fam: Family = drcockpit::sim::registry::family(world);
    let router = drcockpit::sim::build_router_with(state, vec![fam]);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn simulator_bearer_flow_caches_the_token_until_it_expires() {
    let w = Arc::new(RegistryWorld::new(None));
    let url = serve_registry(w.clone()).await;
    let c = RegistryClient::new(&format!("{url}/registry/dr"), HttpClient::new(true))
        .with_credentials("AWS", PASSWORD);
    let m = c
        .manifest("shop-dr/web", "1.4.2")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(m.digest, digest_of("web", "1.4.2"));
    assert_eq!(w.token_requests(), 1);
    for _ in 0..3 {
        c.manifest("shop-dr/web", "1.4.2").await.expect("read");
    }
    assert_eq!(w.token_requests(), 1, "the token is reused while valid");
    // A short-lived token: used until it expires, then a new one is fetched.
    w.set_token_ttl(Duration::from_secs(1));
    let c2 = c.clone();
    c2.manifest("shop-dr/api", "1.4.2").await.expect("read");
    assert_eq!(w.token_requests(), 2, "another scope, another token");
    c2.manifest("shop-dr/api", "1.4.2").await.expect("read");
    assert_eq!(w.token_requests(), 2);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let m = c2
        .manifest("shop-dr/api", "1.4.2")
        .await
        .expect("read after expiry")
        .expect("present");
    assert_eq!(m.digest, digest_of("api", "1.4.2"));
    assert_eq!(w.token_requests(), 3, "an expired token is replaced");
    // Wrong password at the token service: a clear error.
    let bad = RegistryClient::new(&format!("{url}/registry/dr"), HttpClient::new(true))
        .with_credentials("AWS", "wrong");
    let e = bad
        .manifest("shop-dr/web", "1.4.2")
        .await
        .expect_err("refused");
    assert!(matches!(e, RegistryError::Unauthorized { .. }), "{e:?}");
    // A registry that leaves Docker-Content-Digest out: the digest is the body's sha256.
    w.set_omit_digest(true);
    let m = c
        .manifest("shop-dr/worker", "1.4.1")
        .await
        .expect("read")
        .expect("present");
    assert!(m.digest_from_body);
    assert_eq!(m.digest, digest_of("worker", "1.4.1"));
}

fn demo_plan(url: &str) -> drcockpit::plan::Plan {
    drcockpit::clients::qovery::set_env_overrides(false);
    drcockpit::steps::load_str(
        drcockpit::plan::DEMO_PLAN,
        "demo.toml",
        &LoadOptions {
            sim_url: Some(url.into()),
            run_commands: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn start_sim(scenario: &str) -> drcockpit::sim::SimHandle {
    drcockpit::sim::start(SimOptions {
        scenario: scenario.into(),
        seed: 3,
        listen: None,
        time_scale: 1,
    })
    .await
    .expect("simulator")
}

#[tokio::test]
async fn the_demo_images_panels_against_the_simulator() {
    let sim = start_sim("all-good").await;
    let plan = demo_plan(&sim.url);
    let http = HttpClient::new(true);
    let mem = drcockpit::probes::images::ImagesMemory::default();
    let prod = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Prod)
        .await
        .expect("prod reading");
    assert_eq!(prod.summary, "3/3 present");
    let dr = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Dr)
        .await
        .expect("dr reading");
    assert_eq!(dr.summary, "3/3 synced");
    assert_eq!(dr.fields.get("synced"), Some(&Value::Bool(true)));
    assert!(
        dr.details
            .iter()
            .any(|d| d.starts_with("worker 1.4.2 · prod "))
    );
    sim.set_scenario(Scenario::ImageMissing);
    let dr = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Dr)
        .await
        .expect("dr reading");
    assert_eq!(dr.summary, "2/3 synced · missing: worker");
    assert_eq!(dr.fields.get("synced"), Some(&Value::Bool(false)));
    assert_eq!(dr.fields.get("missing"), Some(&Value::Num(1.0)));
    // A DR registry that refuses the credentials is an error, not "not synced": conditions on
    // it stay unknown.
    let mut wrong = plan.clone();
    if let Some(r) = wrong.sites[1].registry.as_mut() {
        r.password = Some("wrong-password".into());
    }
    let e = drcockpit::probes::images::probe(&wrong, &http, &mem, SiteId::Dr)
        .await
        .expect_err("refused");
    assert_eq!(e.short, "DR registry unreadable");
    assert!(e.full.contains("refused the credentials"), "{}", e.full);
    sim.shutdown().await;
}

struct Ctx {
    ctx: StepContext,
    _rx: common::steps::Heard,
}

fn ctx(plan: &drcockpit::plan::Plan, read_only: bool) -> Ctx {
    let (ctx, rx) = common::steps::context(
        Arc::new(plan.clone()),
        HttpClient::new(read_only).with_read_retries(0),
    );
    Ctx { ctx, _rx: rx }
}

fn set_image_step(plan: &drcockpit::plan::Plan) -> StepAction {
    let i = plan
        .step_index("point-images-at-dr")
        .expect("the demo's set_image step");
    plan.steps[i].action.clone()
}

async fn qovery_world_container(url: &str, id: &str) -> serde_json::Value {
    let r = reqwest::Client::new()
        .get(format!("{url}/container/{id}"))
        .header("Authorization", format!("Token {}", ids::DEMO_TOKEN))
        .send()
        .await
        .expect("get container");
    serde_json::from_str(&r.text().await.expect("body")).expect("json")
}

#[tokio::test]
async fn set_image_refuses_while_an_image_is_missing_then_repoints_keeping_ports_and_storage() {
    let sim = start_sim("image-missing").await;
    let plan = demo_plan(&sim.url);
    let action = set_image_step(&plan);
    assert_eq!(action.kind_name(), "qovery.set_image");
    assert!(steps::is_mutating(&action));
    let text = steps::describe(&action).join("\n");
    assert!(text.contains("PUT"), "{text}");
    assert!(text.contains(ids::DR_REGISTRY), "{text}");
    assert!(text.contains("`shop/` → `shop-dr/`"), "{text}");

    // Review: the preflight names the missing image and shows each exact body.
    let c = ctx(&plan, true);
    let pre = steps::preflight(&action, &c.ctx, vec![]).await;
    let worker = pre
        .iter()
        .find(|p| p.what.starts_with("worker image"))
        .expect("worker check");
    assert_eq!(worker.ok, Some(false), "{worker:?}");
    assert!(worker.detail.contains("✗ missing"), "{worker:?}");
    let web_put = pre
        .iter()
        .find(|p| p.what.starts_with("container web"))
        .expect("web body");
    assert!(
        web_put.detail.contains("\"image_name\":\"shop-dr/web\""),
        "{web_put:?}"
    );
    assert!(web_put.detail.contains("\"ports\":[{"), "{web_put:?}");
    assert_eq!(c.ctx.http.refused_count(), 0, "the preflight only reads");

    let before = qovery_world_container(&sim.url, ids::DR_WORKER).await;
    let c = ctx(&plan, false);
    let e = steps::run(&action, c.ctx.clone())
        .await
        .expect_err("refused");
    assert!(e.contains("refused, nothing was changed"), "{e}");
    assert!(e.contains("worker"), "{e}");
    assert_eq!(
        qovery_world_container(&sim.url, ids::DR_WORKER).await,
        before
    );

    // Once DR holds every image, the containers are repointed and read back.
    sim.set_scenario(Scenario::AllGood);
    let ok = steps::run(&action, c.ctx.clone()).await.expect("repointed");
    assert!(ok.contains("web, api, worker repointed"), "{ok}");
    for (id, name) in [
        (ids::DR_WEB, "web"),
        (ids::DR_API, "api"),
        (ids::DR_WORKER, "worker"),
    ] {
        let v = qovery_world_container(&sim.url, id).await;
        assert_eq!(v["image_name"], format!("shop-dr/{name}"));
        assert_eq!(v["tag"], "1.4.2");
        assert_eq!(v["registry"]["id"], ids::DR_REGISTRY);
    }
    let after = qovery_world_container(&sim.url, ids::DR_WORKER).await;
    assert_eq!(
        after["storage"], before["storage"],
        "storage kept with its id"
    );
    assert_eq!(after["cpu"], before["cpu"]);
    assert_eq!(after["healthchecks"], before["healthchecks"]);
    let web = qovery_world_container(&sim.url, ids::DR_WEB).await;
    assert_eq!(web["ports"][0]["internal_port"], 8080);
    assert!(
        web["ports"][0]["id"]
            .as_str()
            .is_some_and(|i| i.starts_with("6f1e2d3c-0001"))
    );
    // Running it again changes nothing.
    let again = steps::run(&action, c.ctx.clone())
        .await
        .expect("idempotent");
    assert!(again.contains("no container changed"), "{again}");
    sim.shutdown().await;
}

/// The simulated PUT follows the spec's full-replacement rules: a port left out is deleted, one
/// without an id is created, an unknown id is refused.
#[tokio::test]
async fn simulated_put_container_is_a_full_replacement() {
    let sim = start_sim("all-good").await;
    let url = &sim.url;
    let http = reqwest::Client::new();
    let auth = format!("Token {}", ids::DEMO_TOKEN);
    let cur = qovery_world_container(url, ids::DR_WEB).await;
    let mut body =
        drcockpit::steps::images::container_request(&cur, ids::DR_REGISTRY, "shop-dr/web", "1.4.2");
    body["ports"] = serde_json::json!([]);
    let r = http
        .put(format!("{url}/container/{}", ids::DR_WEB))
        .header("Authorization", &auth)
        .body(body.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        qovery_world_container(url, ids::DR_WEB).await["ports"],
        serde_json::json!([])
    );
    body["ports"] = serde_json::json!([{ "id": "6f1e2d3c-0001-4000-8000-999999999999", "internal_port": 80, "publicly_accessible": false }]);
    let r = http
        .put(format!("{url}/container/{}", ids::DR_WEB))
        .header("Authorization", &auth)
        .body(body.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 400);
    body.as_object_mut().expect("object").remove("healthchecks");
    let r = http
        .put(format!("{url}/container/{}", ids::DR_WEB))
        .header("Authorization", &auth)
        .body(body.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("healthchecks is required")
    );
    sim.shutdown().await;
}

/// A prod region outage takes the prod registry down: the prod panel says so, and DR compares
/// with the digests prod gave last (saying so) instead of going unknown.
#[tokio::test]
async fn dr_compares_with_the_last_prod_digests_when_prod_is_down() {
    let sim = start_sim("all-good").await;
    let plan = demo_plan(&sim.url);
    let http = HttpClient::new(true).with_read_retries(0);
    let mem = drcockpit::probes::images::ImagesMemory::default();
    let dr = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Dr)
        .await
        .expect("dr reading");
    assert_eq!(dr.summary, "3/3 synced");
    sim.set_scenario(Scenario::RegionOutage);
    tokio::time::sleep(drcockpit::sim::REGION_OUTAGE_AFTER + Duration::from_millis(200)).await;
    let prod = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Prod)
        .await
        .expect_err("prod registry down");
    assert_eq!(prod.short, "registry unreadable");
    let dr = drcockpit::probes::images::probe(&plan, &http, &mem, SiteId::Dr)
        .await
        .expect("dr reading from the last prod digests");
    assert_eq!(dr.summary, "3/3 synced (prod last seen)");
    assert_eq!(dr.fields.get("synced"), Some(&Value::Bool(true)));
    assert!(
        dr.details.iter().any(|d| d.contains("(prod last seen")),
        "{:?}",
        dr.details
    );
    sim.shutdown().await;
}

/// The two Images panels refresh on the same tick: the prod registry (and prod Qovery) is read
/// once per round, and the panel that comes second compares with the first one's answers.
#[tokio::test]
async fn the_prod_and_dr_panels_share_one_round_of_prod_lookups() {
    let sim = start_sim("all-good").await;
    let w = Arc::new(RegistryWorld::new(None));
    let reg = serve_registry(w.clone()).await;
    let mut plan = demo_plan(&sim.url);
    for (i, site) in ["prod", "dr"].into_iter().enumerate() {
        if let Some(r) = plan.sites[i].registry.as_mut() {
            r.url = format!("{reg}/registry/{site}");
        }
    }
    // The same plan with rounds that are never fresh: every probe reads everything.
    let mut unshared = plan.clone();
    unshared.probes.interval = Duration::ZERO;
    let http = HttpClient::new(true).with_read_retries(0);
    let mem = drcockpit::probes::images::ImagesMemory::default();
    let probe = |p: &drcockpit::plan::Plan, site| {
        let (p, http, mem) = (p.clone(), http.clone(), &mem);
        async move { drcockpit::probes::images::probe(&p, &http, mem, site).await }
    };
    // Warm the challenges and tokens of both registries.
    probe(&unshared, SiteId::Dr).await.expect("dr reading");
    let n = w.requests();
    probe(&unshared, SiteId::Dr).await.expect("dr reading");
    assert_eq!(w.requests() - n, 6, "alone, DR reads both registries");
    let n = w.requests();
    let prod = probe(&unshared, SiteId::Prod).await.expect("prod reading");
    assert_eq!(prod.summary, "3/3 present");
    assert_eq!(
        w.requests() - n,
        3,
        "the prod panel reads the prod registry"
    );
    let n = w.requests();
    let dr = probe(&plan, SiteId::Dr).await.expect("dr reading");
    assert_eq!(dr.summary, "3/3 synced");
    assert_eq!(w.requests() - n, 3, "DR reuses this round's prod digests");
    sim.shutdown().await;
}

/// A registry behind a private CA: refused without the plan's `ca_bundle`, trusted with it.
#[tokio::test]
async fn a_private_ca_registry_needs_the_ca_bundle() {
    let reg = Registry::start_with(true);
    let cfg = |ca: Option<String>| drcockpit::plan::RegistryConfig {
        url: reg.url.clone(),
        username: Some(USER.into()),
        password: Some(PASS.into()),
        ca_bundle: ca,
        namespace: None,
    };
    let http = HttpClient::new(true).with_read_retries(0);
    let plain = RegistryClient::from_config(&cfg(None), &http).expect("client");
    let e = plain.ping().await.expect_err("untrusted certificate");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    let ca = reg.dir.path().join("ca.pem").display().to_string();
    let trusted = RegistryClient::from_config(&cfg(Some(ca)), &http).expect("client");
    let ping = trusted
        .ping()
        .await
        .expect("ping over TLS with the CA bundle");
    assert_eq!(ping.api_version.as_deref(), Some("registry/2.0"));
    assert_eq!(
        trusted.manifest("shop/web", "1.0").await.expect("read"),
        None
    );
    // A bundle that is not there, or not PEM, is a configuration error naming the file.
    let e = RegistryClient::from_config(&cfg(Some("/nonexistent/ca.pem".into())), &http)
        .err()
        .expect("missing file");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    let junk = reg.dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let e = RegistryClient::from_config(&cfg(Some(junk.display().to_string())), &http)
        .err()
        .expect("not PEM");
    assert!(e.to_string().contains("CA bundle"), "{e}");
}

/// Issue 17: the prod digests DR falls back on belong to one probe memory. A run that never read
/// prod (a new memory, as a second `status` run in the same process has) cannot claim to compare
/// with "the last prod digests"; the run that read them still can.
#[tokio::test]
async fn a_new_probe_memory_has_no_last_seen_prod_digests() {
    let sim = start_sim("all-good").await;
    let plan = demo_plan(&sim.url);
    let http = HttpClient::new(true).with_read_retries(0);
    let seen = drcockpit::probes::images::ImagesMemory::default();
    let dr = drcockpit::probes::images::probe(&plan, &http, &seen, SiteId::Dr)
        .await
        .expect("dr reading");
    assert_eq!(dr.summary, "3/3 synced");
    sim.set_scenario(Scenario::RegionOutage);
    tokio::time::sleep(drcockpit::sim::REGION_OUTAGE_AFTER + Duration::from_millis(200)).await;
    let fresh = drcockpit::probes::images::ImagesMemory::default();
    match drcockpit::probes::images::probe(&plan, &http, &fresh, SiteId::Dr).await {
        Ok(r) => assert!(!r.summary.contains("last seen"), "{}", r.summary),
        Err(e) => assert!(!e.full.contains("last seen"), "{e:?}"),
    }
    assert_eq!(fresh.entries().1, 0, "nothing of prod was ever read here");
    let dr = drcockpit::probes::images::probe(&plan, &http, &seen, SiteId::Dr)
        .await
        .expect("dr reading from the last prod digests");
    assert_eq!(dr.summary, "3/3 synced (prod last seen)");
    sim.shutdown().await;
}

/// Issue 17: the Images memory is bounded by the configured services: a service whose tag
/// changes round after round keeps one remembered prod digest, and only for the tag it was read
/// for.
#[test]
fn the_images_memory_keeps_one_prod_digest_per_service() {
    use drcockpit::clients::registry::Manifest;
    use drcockpit::probes::images::{ImageRow, ImagesMemory, Lookup, use_last_seen_prod};
    let plan = demo_plan("http://127.0.0.1:9");
    let mem = ImagesMemory::default();
    let row = |tag: usize, prod: Lookup| ImageRow {
        target: ImageTarget {
            service: "web".into(),
            prod_repository: "shop/web".into(),
            dr_repository: "shop-dr/web".into(),
            tag: Some(format!("1.{tag}")),
            source: "qovery".into(),
        },
        prod,
        dr: Lookup::NotAsked,
        prod_seen_ago: None,
    };
    let manifest = |tag: usize| Manifest {
        digest: format!("sha256:{tag:064x}"),
        media_type: None,
        size: None,
        digest_from_body: false,
    };
    for tag in 0..200 {
        let mut rows = [row(tag, Lookup::Present(manifest(tag)))];
        use_last_seen_prod(&plan, &mem, &mut rows);
    }
    assert_eq!(mem.entries(), (0, 1, 0), "one prod digest for one service");
    // The prod registry stops answering: the digest of the tag last read is used…
    let mut rows = [row(199, Lookup::Error("down".into()))];
    use_last_seen_prod(&plan, &mem, &mut rows);
    assert_eq!(rows[0].prod, Lookup::Present(manifest(199)));
    assert!(rows[0].prod_seen_ago.is_some());
    // …but never for another tag.
    let mut rows = [row(7, Lookup::Error("down".into()))];
    use_last_seen_prod(&plan, &mem, &mut rows);
    assert_eq!(rows[0].prod, Lookup::Error("down".into()));
}

/// Issue 17: registry tokens live in the cache a client is given, not in the process: two
/// independent clients each fetch their own token; a client given the first one's cache reuses
/// its token. The cache holds one token per scope however many reads are made.
#[tokio::test]
async fn registry_tokens_live_in_the_cache_they_are_given() {
    let w = Arc::new(RegistryWorld::new(None));
    let url = serve_registry(w.clone()).await;
    let make = || {
        RegistryClient::new(&format!("{url}/registry/dr"), HttpClient::new(true))
            .with_credentials("AWS", PASSWORD)
    };
    let cache = Arc::new(drcockpit::clients::registry::AuthCache::default());
    let first = make().with_auth_cache(cache.clone());
    first.manifest("shop-dr/web", "1.4.2").await.expect("read");
    assert_eq!(w.token_requests(), 1);
    make().manifest("shop-dr/web", "1.4.2").await.expect("read");
    assert_eq!(
        w.token_requests(),
        2,
        "an independent client has its own cache"
    );
    let sharing = make().with_auth_cache(cache.clone());
    for _ in 0..20 {
        for repo in ["shop-dr/web", "shop-dr/api"] {
            sharing.manifest(repo, "1.4.2").await.expect("read");
        }
    }
    assert_eq!(
        w.token_requests(),
        3,
        "one more token, for the second scope"
    );
    assert_eq!(
        cache.entries(),
        (2, 1),
        "one token per scope, one challenge"
    );
}
