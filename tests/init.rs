//! `drcockpit init` against the simulated Qovery API (served on an ephemeral loopback port): the
//! library function with scripted choices, and the real binary as a new user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use drcockpit::runtime::init::{InitError, InitOptions, NoPicker, Picker, run};
use drcockpit::sim::qovery::{QoveryWorld, ids};

mod common;

async fn serve() -> String {
    common::qovery::serve(Arc::new(QoveryWorld::new("all-good", 7))).await
}

/// The process environment `init` sees: the simulator's URL and a token it accepts.
fn env_of(url: &str, token: &str) -> impl Fn(&str) -> Option<String> {
    let (url, token) = (url.to_string(), token.to_string());
    move |k: &str| match k {
        "QOVERY_API_URL" => Some(url.clone()),
        "QOVERY_CLI_ACCESS_TOKEN" => Some(token.clone()),
        _ => None,
    }
}

fn opts(dir: &Path, prod: Option<&str>, dr: Option<&str>) -> InitOptions {
    InitOptions {
        org: Some("shop inc.".into()),
        project: Some(ids::PROJECT.into()),
        prod_env: prod.map(str::to_string),
        dr_env: dr.map(str::to_string),
        output: dir.join("plan.toml"),
        force: false,
    }
}

/// Answers each question with the choice whose text contains the wanted word.
struct Scripted(Vec<(&'static str, &'static str)>, Vec<String>);

impl Picker for Scripted {
    fn pick(&mut self, what: &str, choices: &[String]) -> Option<usize> {
        self.1.push(what.to_string());
        let want = self.0.iter().find(|(w, _)| *w == what)?.1;
        choices.iter().position(|c| c.starts_with(want))
    }
}

fn step_ids_and_kinds(text: &str) -> Vec<(String, String)> {
    let v: toml::Value = toml::from_str(text).expect("the plan is TOML");
    v["step"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_string(),
                s["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn init_with_flags_writes_every_id_the_dr_guide_steps_and_todos() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = run(
        &opts(dir.path(), Some("SHOP"), Some(ids::DR_ENV)),
        env_of(&url, ids::DEMO_TOKEN),
        &mut NoPicker,
    )
    .await
    .expect("init");
    let text = std::fs::read_to_string(&s.path).expect("plan written");
    for id in [
        ids::ORG,
        ids::PROD_CLUSTER,
        ids::DR_CLUSTER,
        ids::PROD_ENV,
        ids::DR_ENV,
    ] {
        assert!(text.contains(&format!("\"{id}\"")), "{id} missing:\n{text}");
    }
    let v: toml::Value = toml::from_str(&text).expect("toml");
    assert_eq!(v["qovery"]["organization"].as_str(), Some(ids::ORG));
    assert_eq!(
        v["sites"]["prod"]["environment"].as_str(),
        Some(ids::PROD_ENV)
    );
    assert_eq!(v["sites"]["dr"]["environment"].as_str(), Some(ids::DR_ENV));
    assert_eq!(
        v["sites"]["prod"]["cluster"].as_str(),
        Some(ids::PROD_CLUSTER)
    );
    assert_eq!(v["sites"]["dr"]["cluster"].as_str(), Some(ids::DR_CLUSTER));
    assert_eq!(
        v["sites"]["dr"]["registry"]["url"].as_str(),
        Some("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    );
    let services: Vec<&str> = v["images"]["services"]
        .as_array()
        .expect("images")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(services, ["web", "api", "worker"]);
    // The DR guide's sequence: detect, approve, promote, set variables, deploy, switch DNS,
    // verify, notify.
    let steps = step_ids_and_kinds(&text);
    let expected = [
        ("detect", "check"),
        ("approve", "approval"),
        ("promote-db", "manual"),
        ("set-variables", "qovery.set_variables"),
        ("deploy-dr", "qovery.redeploy"),
        ("switch-dns", "manual"),
        ("verify", "check"),
        ("notify", "http.request"),
    ];
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(s.steps, 8);
    // The DR environment's DATABASE_URL was found; its new value is a reference.
    assert!(
        text.contains("variables = { \"DATABASE_URL\" = \"${env:DR_DATABASE_URL}\" }"),
        "{text}"
    );
    // What the API cannot tell is marked.
    for todo in [
        "# TODO: [dns]",
        "# TODO: database = ",
        "# TODO: health = ",
        "# TODO: dns_target",
    ] {
        assert!(text.contains(todo), "no `{todo}`:\n{text}");
    }
    assert!(s.todos >= 8, "{}", s.todos);
    // Secrets only as references; the token never written.
    assert!(!text.contains(ids::DEMO_TOKEN));
    assert!(text.contains("token = \"${env:QOVERY_CLI_ACCESS_TOKEN}\""));
    assert_eq!(
        s.env_refs,
        [
            "QOVERY_CLI_ACCESS_TOKEN",
            "DR_DATABASE_URL",
            "SLACK_WEBHOOK_URL"
        ]
    );
}

#[tokio::test]
async fn the_written_plan_loads_with_the_loader() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = run(
        &opts(dir.path(), Some("shop"), Some("shop-dr")),
        env_of(&url, ids::DEMO_TOKEN),
        &mut NoPicker,
    )
    .await
    .expect("init");
    let text = std::fs::read_to_string(&s.path).expect("plan");
    // Until offline `check` tolerates unresolved references, give them dummy values (no test
    // in this binary reads these from the process environment otherwise).
    for (k, v) in [
        ("QOVERY_CLI_ACCESS_TOKEN", "dummy-token-for-load"),
        ("DR_DATABASE_URL", "postgres://u@db.invalid/shop"),
        ("SLACK_WEBHOOK_URL", "https://hooks.invalid/x"),
    ] {
        // SAFETY: set before the loader reads them; this binary's other tests pass their
        // environment explicitly (a closure, or Command::env).
        unsafe { std::env::set_var(k, v) };
    }
    let opts = drcockpit::plan::LoadOptions {
        sim_url: None,
        run_commands: false,
    };
    let plan = drcockpit::steps::load_str(&text, "plan.toml", &opts).expect("loads");
    assert_eq!(plan.steps.len(), 8);
    let q = plan.qovery.expect("[qovery]");
    assert_eq!(q.organization, ids::ORG);
    assert_eq!(q.api_url, url);
}

#[tokio::test]
async fn a_wrong_environment_name_lists_the_available_ones() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let e = run(
        &opts(dir.path(), Some("shop"), Some("shop-drr")),
        env_of(&url, ids::DEMO_TOKEN),
        &mut NoPicker,
    )
    .await
    .expect_err("no such environment");
    let m = e.to_string();
    assert!(matches!(e, InitError::Usage(_)), "{e:?}");
    assert!(m.contains("--dr-env shop-drr"), "{m}");
    assert!(m.contains("shop-dr") && m.contains(ids::DR_ENV), "{m}");
    let e = run(
        &opts(dir.path(), Some("prod"), None),
        env_of(&url, ids::DEMO_TOKEN),
        &mut NoPicker,
    )
    .await
    .expect_err("no such environment");
    let m = e.to_string();
    assert!(m.contains(ids::PROD_ENV) && m.contains(ids::DR_ENV), "{m}");
    assert!(!dir.path().join("plan.toml").exists());
}

#[tokio::test]
async fn a_missing_choice_without_a_terminal_lists_the_choices() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let e = run(
        &opts(dir.path(), Some("shop"), None),
        env_of(&url, ids::DEMO_TOKEN),
        &mut NoPicker,
    )
    .await
    .expect_err("DR not given");
    let m = e.to_string();
    assert!(m.contains("--dr-env"), "{m}");
    assert!(m.contains("shop-dr") && m.contains(ids::DR_ENV), "{m}");
    // The production environment is not offered as DR.
    assert!(!m.contains(ids::PROD_ENV), "{m}");
}

#[tokio::test]
async fn the_picker_asks_for_what_the_flags_leave_out() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path(), None, None);
    o.org = None;
    o.project = None;
    let mut p = Scripted(
        vec![
            ("production environment", "shop "),
            ("DR environment", "shop-dr"),
        ],
        Vec::new(),
    );
    let s = run(&o, env_of(&url, ids::DEMO_TOKEN), &mut p)
        .await
        .expect("init");
    // The lone organization and project are taken without asking.
    assert_eq!(p.1, ["production environment", "DR environment"]);
    let v: toml::Value =
        toml::from_str(&std::fs::read_to_string(s.path).expect("plan")).expect("toml");
    assert_eq!(
        v["sites"]["prod"]["environment"].as_str(),
        Some(ids::PROD_ENV)
    );
    assert_eq!(v["sites"]["dr"]["environment"].as_str(), Some(ids::DR_ENV));
}

#[tokio::test]
async fn an_existing_file_is_kept_without_force() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let o = opts(dir.path(), Some("shop"), Some("shop-dr"));
    std::fs::write(&o.output, "# mine\n").expect("write");
    let e = run(&o, env_of(&url, ids::DEMO_TOKEN), &mut NoPicker)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&o.output).expect("read"),
        "# mine\n"
    );
    let o = InitOptions { force: true, ..o };
    run(&o, env_of(&url, ids::DEMO_TOKEN), &mut NoPicker)
        .await
        .expect("replaced with --force");
    assert!(
        std::fs::read_to_string(&o.output)
            .expect("read")
            .contains(ids::DR_ENV)
    );
}

// ---- the real binary ------------------------------------------------------------------------

fn drcockpit(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drcockpit"));
    c.args(args)
        .current_dir(cwd)
        .env_remove("DRCOCKPIT_SIM_URL")
        .env_remove("QOVERY_CLI_ACCESS_TOKEN")
        .env_remove("Q_CLI_ACCESS_TOKEN")
        .env_remove("QOVERY_API_URL")
        .env("DRCOCKPIT_STATE_DIR", cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run drcockpit")
}

async fn binary(args: Vec<String>, cwd: PathBuf, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        drcockpit(&a, &cwd, &e)
    })
    .await
    .expect("join")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_a_plan_that_check_accepts() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = vec![
        ("QOVERY_API_URL".to_string(), url.clone()),
        (
            "QOVERY_CLI_ACCESS_TOKEN".to_string(),
            ids::DEMO_TOKEN.to_string(),
        ),
    ];
    let out = binary(
        strings(&[
            "init",
            "--org",
            ids::ORG,
            "--project",
            "shop",
            "--prod-env",
            "shop",
            "--dr-env",
            "shop-dr",
            "--output",
            "shop.toml",
        ]),
        dir.path().to_path_buf(),
        env,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("wrote shop.toml: 8 steps"), "{stdout}");
    assert!(stdout.contains("drcockpit check shop.toml"), "{stdout}");
    assert!(!stdout.contains(ids::DEMO_TOKEN) && !stderr.contains(ids::DEMO_TOKEN));
    // `check` with no network and no real secret (dummy values until offline check tolerates
    // unresolved references).
    let check_env = vec![
        (
            "QOVERY_CLI_ACCESS_TOKEN".to_string(),
            "dummy-token".to_string(),
        ),
        (
            "DR_DATABASE_URL".to_string(),
            "postgres://u@db.invalid/shop".to_string(),
        ),
        (
            "SLACK_WEBHOOK_URL".to_string(),
            "https://hooks.invalid/x".to_string(),
        ),
    ];
    let out = binary(
        strings(&["check", "shop.toml"]),
        dir.path().to_path_buf(),
        check_env,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
    assert!(stdout.contains("8 steps"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_names_qovery_cli_access_token_and_never_prints_the_token() {
    let url = serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = "qov_revoked_9zXcVbNmLkJh";
    let out = binary(
        strings(&[
            "init",
            "--prod-env",
            "shop",
            "--dr-env",
            "shop-dr",
            "--output",
            "p.toml",
        ]),
        dir.path().to_path_buf(),
        vec![
            ("QOVERY_API_URL".to_string(), url),
            ("QOVERY_CLI_ACCESS_TOKEN".to_string(), bad.to_string()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(stderr.contains("QOVERY_CLI_ACCESS_TOKEN"), "{stderr}");
    assert!(!stderr.contains(bad) && !stdout.contains(bad), "{stderr}");
    assert!(!dir.path().join("p.toml").exists());
    // No token at all: said before any call.
    let out = binary(
        strings(&["init", "--output", "p.toml"]),
        dir.path().to_path_buf(),
        vec![],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("export QOVERY_CLI_ACCESS_TOKEN="),
        "{stderr}"
    );
}
