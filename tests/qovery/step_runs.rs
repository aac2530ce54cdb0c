//! Qovery steps and probes against the simulator: deploy, variables, preflight, build errors.

use super::*;

#[tokio::test]
async fn deploy_step_streams_every_state_until_deployed() {
    let (w, url) = world(150).await;
    let p = plan(&url);
    let action = build_step(&p, DEPLOY_DR);
    assert_eq!(action.kind_name(), "qovery.deploy");
    let d = drcockpit::steps::describe(&action).join("\n");
    assert!(
        d.contains(&format!("POST {url}/environment/{}/deploy", ids::DR_ENV)),
        "{d}"
    );
    assert!(
        d.contains("Authorization: Token ‹token from the plan›"),
        "{d}"
    );
    assert!(!d.contains(ids::DEMO_TOKEN), "{d}");
    let run = run_step(&p, &action, false).await;
    let all = run.lines.join("\n");
    assert!(all.contains("Token auth"), "{all}");
    let summary = run.result.expect("deployed");
    assert!(summary.contains("DEPLOYED"), "{summary}");
    assert!(summary.contains("4/4"), "{summary}");
    for want in [
        "DEPLOYMENT_QUEUED",
        "→ DEPLOYING",
        "→ DEPLOYED",
        "web: ",
        "worker: ",
        "cache: ",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // Services go one after the other: worker reaches DEPLOYING after web is DEPLOYED.
    let pos = |s: &str| all.find(s).unwrap_or(usize::MAX);
    assert!(
        pos("web: DEPLOYING → DEPLOYED") < pos("worker: QUEUED → DEPLOYING")
            || pos("web: DEPLOYING → DEPLOYED") < pos("worker: DEPLOYING"),
        "{all}"
    );
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0),
        Some("DEPLOYED".to_string())
    );
    assert_eq!(w.mutations().len(), 1);
}

#[tokio::test]
async fn a_failed_deployment_is_reported_then_retried() {
    let (w, url) = world(120).await;
    let p = plan(&url);
    let action = build_step(&p, DEPLOY_DR);
    w.fail_next_deployment_of("worker");
    let run = run_step(&p, &action, false).await;
    let err = run.result.expect_err("DEPLOYMENT_ERROR");
    assert!(err.contains("DEPLOYMENT_ERROR"), "{err}");
    assert!(err.contains("worker"), "failing service named: {err}");
    assert!(
        run.lines.iter().any(|l| l.starts_with("[stderr]")
            && l.contains("worker")
            && l.contains("DEPLOYMENT_ERROR")),
        "{:#?}",
        run.lines
    );
    // The operator retries: a new deployment that succeeds.
    let run = run_step(&p, &action, false).await;
    run.result.expect("second attempt deploys");
}

#[tokio::test]
async fn deploy_step_reports_409_as_operation_in_progress() {
    let (w, url) = world(500).await;
    let p = plan(&url);
    client(&url)
        .deploy_environment(ids::DR_ENV)
        .await
        .expect("first deploy");
    let run = run_step(&p, &build_step(&p, DEPLOY_DR), false).await;
    let err = run.result.expect_err("409");
    assert!(err.contains("operation in progress"), "{err}");
    assert!(err.contains("nothing was started"), "{err}");
    assert_eq!(w.mutations().len(), 2);
}

#[tokio::test]
async fn monitor_mode_transport_refuses_the_step_and_nothing_reaches_the_api() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let run = run_step(&p, &build_step(&p, DEPLOY_DR), true).await;
    let err = run.result.expect_err("refused");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(w.mutations().len(), 0);
}

#[tokio::test]
async fn deploy_services_with_a_tag() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(
        &p,
        r#"
id = "roll-worker"
title = "Deploy worker 1.4.2 on DR"
kind = "qovery.deploy_services"
site = "dr"
services = ["worker"]
tag = "1.4.2"
interval = "100ms"
"#,
    );
    let checks = preflight(&p, &action).await;
    let svc = checks
        .iter()
        .find(|c| c.what == "service worker exists")
        .expect("service check");
    assert_eq!(svc.ok, Some(true));
    assert!(svc.detail.contains("1.4.1 → 1.4.2"), "{}", svc.detail);
    let run = run_step(&p, &action, false).await;
    let summary = run.result.expect("deployed");
    assert!(summary.contains("1/1"), "{summary}");
    assert_eq!(w.service_tag(ids::DR_WORKER).as_deref(), Some("1.4.2"));
    let post = w
        .requests()
        .into_iter()
        .find(|r| r.is_mutating())
        .expect("the POST");
    assert!(post.path.ends_with("/service/deploy"));
    let body: serde_json::Value = serde_json::from_str(&post.body).expect("json body");
    assert_eq!(body["containers"][0]["id"], ids::DR_WORKER);
    assert_eq!(body["containers"][0]["image_tag"], "1.4.2");
}

#[tokio::test]
async fn set_variables_shows_old_to_new_writes_and_reads_back() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let new_url = "postgres://shop@db.eu-west-1.internal:5432/shop";
    let secret = "sk_live_new_dr_value_123";
    let action = build_step(
        &p,
        &format!(
            r#"
id = "point-db"
title = "Point DATABASE_URL at DR"
kind = "qovery.set_variables"
site = "dr"
variables = {{ DATABASE_URL = "{new_url}" }}
secrets = {{ STRIPE_SECRET_KEY = "{secret}" }}
"#
        ),
    );
    let described = drcockpit::steps::describe(&action).join("\n");
    assert!(!described.contains(secret), "{described}");
    assert!(described.contains("‹secret value hidden›"));
    // Review: preflight reads only, shows old → new with the secret hidden.
    let checks = preflight(&p, &action).await;
    let db = checks
        .iter()
        .find(|c| c.what == "variable DATABASE_URL exists")
        .expect("variable check");
    assert_eq!(db.ok, Some(true));
    assert!(db.detail.contains("db.fr-par.internal"), "{}", db.detail);
    assert!(db.detail.contains("→"), "{}", db.detail);
    assert!(db.detail.contains("db.eu-west-1.internal"), "{}", db.detail);
    let sec = checks
        .iter()
        .find(|c| c.what == "secret STRIPE_SECRET_KEY exists")
        .expect("secret check");
    assert_eq!(sec.ok, Some(true));
    assert!(!sec.detail.contains("sk_live"), "{}", sec.detail);
    assert_eq!(w.mutations().len(), 0);
    // Live: written, read back.
    let run = run_step(&p, &action, false).await;
    let summary = run.result.expect("set");
    assert!(summary.contains("DATABASE_URL"), "{summary}");
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some(new_url)
    );
    assert_eq!(
        w.variable(ids::DR_ENV, "STRIPE_SECRET_KEY").as_deref(),
        Some(secret)
    );
    let all = run.lines.join("\n");
    assert!(
        all.contains(&format!("read back DATABASE_URL = \"{new_url}\"")),
        "{all}"
    );
    assert!(
        !all.contains(secret),
        "secret value leaked into the log:\n{all}"
    );
    let puts: Vec<_> = w
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
}

#[tokio::test]
async fn set_variables_refuses_a_missing_variable_before_writing_anything() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(
        &p,
        r#"
id = "vars"
title = "Set variables"
kind = "qovery.set_variables"
site = "dr"
variables = { LOG_LEVEL = "warn", NOT_THERE = "x", REGION = "eu-west-1b" }
"#,
    );
    let checks = preflight(&p, &action).await;
    let missing = checks
        .iter()
        .find(|c| c.what == "variable NOT_THERE exists")
        .expect("missing check");
    assert_eq!(missing.ok, Some(false));
    let region = checks
        .iter()
        .find(|c| c.what == "variable REGION exists")
        .expect("project-scope check");
    assert_eq!(region.ok, Some(false));
    assert!(region.detail.contains("PROJECT"), "{}", region.detail);
    let run = run_step(&p, &action, false).await;
    let err = run.result.expect_err("refused");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(w.mutations().len(), 0);
    assert_eq!(
        w.variable(ids::DR_ENV, "LOG_LEVEL").as_deref(),
        Some("info")
    );
}

#[tokio::test]
async fn preflight_checks_environment_idle_and_cluster_deployed() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let checks = preflight(&p, &build_step(&p, DEPLOY_DR)).await;
    let by = |what: &str| {
        checks
            .iter()
            .find(|c| c.what.starts_with(what))
            .unwrap_or_else(|| panic!("no check {what:?} in {checks:#?}"))
            .clone()
    };
    assert_eq!(by("Qovery token accepted").ok, Some(true));
    assert_eq!(by("environment ").ok, Some(true));
    assert_eq!(by("environment is idle").ok, Some(true));
    assert_eq!(by("cluster ").ok, Some(true));
    w.set_cluster_state(ids::DR_CLUSTER, "DEPLOYMENT_ERROR");
    client(&url)
        .deploy_environment(ids::DR_ENV)
        .await
        .expect("busy now");
    let checks = preflight(&p, &build_step(&p, DEPLOY_DR)).await;
    let idle = checks
        .iter()
        .find(|c| c.what.starts_with("environment is idle"))
        .expect("idle");
    assert_eq!(idle.ok, Some(false));
    let cl = checks
        .iter()
        .find(|c| c.what.starts_with("cluster "))
        .expect("cluster");
    assert_eq!(cl.ok, Some(false));
    assert!(cl.detail.contains("DEPLOYMENT_ERROR"));
}

#[tokio::test]
async fn probes_show_cluster_env_and_every_service() {
    let (_w, url) = world(100).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.level, Level::Good);
    assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
    assert!(
        cl.details.iter().any(|d| d.contains("AWS eu-west-1")),
        "{:#?}",
        cl.details
    );
    assert_eq!(
        cl.fields.get("is_deployed"),
        Some(&drcockpit::plan::Value::Bool(true))
    );
    let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Dr, ids::DR_ENV)
        .await
        .expect("env");
    assert_eq!(env.level, Level::Good, "a stopped DR standby is fine");
    assert!(
        env.summary.starts_with("shop-dr STOPPED"),
        "{}",
        env.summary
    );
    assert!(env.summary.contains("4 stopped"), "{}", env.summary);
    assert!(
        env.details
            .iter()
            .any(|d| d.starts_with("worker  STOPPED") && d.ends_with("shop/worker:1.4.1")),
        "{:#?}",
        env.details
    );
    assert!(env.fields.contains_key("last_deployment_age"));
    let prod = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Prod, ids::PROD_ENV)
        .await
        .expect("prod env");
    assert_eq!(prod.level, Level::Good);
    assert!(prod.summary.ends_with("DEPLOYED · 4/4"), "{}", prod.summary);
    for f in cl.fields.keys() {
        assert!(
            drcockpit::probes::qovery::CLUSTER_FIELDS.contains(&f.as_str()),
            "{f}"
        );
    }
    for f in env.fields.keys() {
        assert!(
            drcockpit::probes::qovery::ENV_FIELDS.contains(&f.as_str()),
            "{f}"
        );
    }
    // Wired through probes::run for a plan with [qovery].
    let p = Arc::new(plan(&url));
    let keys = drcockpit::probes::configured(&p);
    assert_eq!(keys.len(), 4);
    for k in keys {
        let obs = drcockpit::probes::run(&p, &HttpClient::new(true), &Default::default(), k).await;
        assert!(obs.outcome.is_ok(), "{k:?}: {:?}", obs.outcome);
    }
}

#[tokio::test]
async fn probes_read_names_once_not_every_round() {
    let (w, url) = world(100).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    for _ in 0..3 {
        let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
            .await
            .expect("cluster");
        assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
        let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Dr, ids::DR_ENV)
            .await
            .expect("env");
        assert!(env.summary.starts_with("shop-dr "), "{}", env.summary);
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(gets(format!("/organization/{}/cluster", ids::ORG)), 1);
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 1);
    assert_eq!(
        gets(format!(
            "/organization/{}/cluster/{}/status",
            ids::ORG,
            ids::DR_CLUSTER
        )),
        3,
        "states are read every round"
    );
    assert_eq!(gets(format!("/environment/{}/statuses", ids::DR_ENV)), 3);
}

#[tokio::test]
async fn region_outage_sends_prod_into_error_states() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(
        QoveryWorld::new("region-outage", 1)
            .with_phase(Duration::from_millis(100))
            .with_outage_after(Duration::from_millis(200)),
    );
    let url = serve(w.clone()).await;
    let c = client(&url);
    let mem = drcockpit::probes::qovery::QoveryMemory::default();
    let before = drcockpit::probes::qovery::cluster(&c, &mem, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(before.level, Level::Good);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cl = drcockpit::probes::qovery::cluster(&c, &mem, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.level, Level::Bad);
    assert!(cl.summary.contains("DEPLOYMENT_ERROR"));
    let env = drcockpit::probes::qovery::environment(&c, &mem, SiteId::Prod, ids::PROD_ENV)
        .await
        .expect("env");
    assert_eq!(env.level, Level::Bad);
    assert!(env.summary.contains("UNAVAILABLE"), "{}", env.summary);
    assert!(
        env.summary.contains("✗ web, api, worker, cache"),
        "{}",
        env.summary
    );
    // DR is untouched.
    let dr = drcockpit::probes::qovery::cluster(&c, &mem, ids::DR_CLUSTER)
        .await
        .expect("dr cluster");
    assert_eq!(dr.level, Level::Good);
}

#[tokio::test]
async fn flaky_api_reads_get_through_with_retries() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(QoveryWorld::new("flaky-api", 42));
    let url = serve(w.clone()).await;
    let c = QoveryClient::new(
        settings(&url, ids::DEMO_TOKEN, AuthScheme::Token),
        HttpClient::new(false).with_read_retries(3),
    )
    .with_timeout(Duration::from_millis(3000));
    let mut ok = 0;
    for _ in 0..12 {
        match c.environment_status(ids::DR_ENV).await {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e, QoveryError::Transport(_) | QoveryError::Api { .. }),
                "only transport/5xx failures: {e:?}"
            ),
        }
    }
    let sent = w.requests().len();
    assert!(ok >= 10, "{ok}/12 reads got through");
    assert!(
        sent > 12,
        "faults were injected and retried ({sent} requests)"
    );
}

#[tokio::test]
async fn build_rejects_what_does_not_apply() {
    let p = plan("http://127.0.0.1:9");
    let try_build = |t: &str| {
        let r = raw(t);
        let mut resolve = |key: &'static str, v: &str| {
            if v.starts_with("${env:MISSING") {
                Err(format!("environment variable MISSING is not set ({key})"))
            } else {
                Ok(v.replace("${env:DR_PG_URL}", "postgres://resolved"))
            }
        };
        build_keyed(
            &r.kind,
            &r,
            &mut BuildInput {
                sites: &p.sites,
                qovery: p.qovery.as_ref(),
                resolve: &mut resolve,
            },
        )
    };
    let head = "id = \"a\"\ntitle = \"t\"\n";
    let e = try_build(&format!("{head}kind = \"qovery.deploy\"\n")).expect_err("no site");
    assert_eq!(e.key, "kind");
    assert!(e.message.contains("site = \"dr\""), "{e}");
    let e = try_build(&format!(
        "{head}kind = \"qovery.deploy\"\nsite = \"dr\"\ntag = \"1\"\n"
    ))
    .expect_err("tag on deploy");
    assert_eq!(e.key, "tag");
    assert!(e.message.contains("qovery.deploy_services"), "{e}");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\n"
    ))
    .expect_err("no variables");
    assert_eq!(e.key, "variables");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nwait = true\nvariables = {{ A = \"1\" }}\n"
    ))
    .expect_err("wait on set_variables");
    assert_eq!(e.key, "wait");
    let e = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nsecrets = {{ K = \"${{env:MISSING_X}}\" }}\n"
    ))
    .expect_err("unresolvable secret");
    assert_eq!(e.key, "secrets");
    assert!(e.message.contains("MISSING"), "{e}");
    let ok = try_build(&format!(
        "{head}kind = \"qovery.set_variables\"\nsite = \"dr\"\nvariables = {{ DATABASE_URL = \"${{env:DR_PG_URL}}\" }}\n"
    ))
    .expect("resolved");
    match ok {
        StepAction::Qovery(q) => match q.op {
            drcockpit::plan::QoveryOp::SetVariables { variables, .. } => {
                assert_eq!(variables[0].value, "postgres://resolved")
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let ok = try_build(&format!(
        "{head}kind = \"qovery.stop\"\nenvironment = \"e-1\"\nwait = false\n"
    ))
    .expect("explicit environment");
    match ok {
        StepAction::Qovery(q) => {
            assert_eq!(q.environment, "e-1");
            assert!(!q.wait);
            assert_eq!(q.poll_interval, Duration::from_secs(3));
            assert_eq!(q.auth_scheme, "Token");
        }
        other => panic!("{other:?}"),
    }
    let r = raw(DEPLOY_DR);
    let mut identity = |_: &'static str, v: &str| Ok::<String, String>(v.to_string());
    let e = build(
        &r.kind,
        &r,
        &mut BuildInput {
            sites: &p.sites,
            qovery: None,
            resolve: &mut identity,
        },
    )
    .expect_err("no [qovery]");
    assert!(e.starts_with("step `deploy-dr`: "), "{e}");
    assert!(e.contains("[qovery]"), "{e}");
    for (kind, keys) in drcockpit::steps::qovery::KIND_KEYS {
        assert!(drcockpit::steps::qovery::KINDS.contains(kind));
        assert!(keys.contains(&"timeout"));
    }
}
