//! Recorded errors, busy environments, scenarios, the demo and example plans, probe memory.

use super::*;

/// Recorded error bodies (tests/fixtures/qovery/errors): served by the simulator, the client keeps
/// each one as text, classified by status, whatever its shape.
#[tokio::test]
async fn recorded_error_bodies_are_kept_as_text() {
    let (w, url) = world(50).await;
    let c = client(&url);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/qovery/errors");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        let status: u16 = name[..3].parse().expect("status prefix");
        let body = std::fs::read_to_string(&path).expect("fixture");
        // A mutation, so the 5xx is not retried away.
        w.inject_status("POST", "/redeploy", status, &body, 1);
        let e = c
            .redeploy_environment(ids::PROD_ENV)
            .await
            .expect_err("injected error");
        assert_eq!(e.status(), Some(status), "{name}: {e:?}");
        let text = e.to_string();
        let first_line = body.trim().lines().next().unwrap_or("").trim();
        assert!(text.contains(first_line), "{name}: body kept: {text}");
        if status == 409 {
            assert!(e.is_conflict());
            assert!(text.contains("operation in progress"));
        }
        n += 1;
    }
    assert!(n >= 5, "{n} fixtures");
}

#[tokio::test]
async fn wait_if_busy_waits_for_the_running_operation_then_sends_again() {
    let (w, url) = world(100).await;
    let p = plan(&url);
    let action = build_step(&p, &format!("{DEPLOY_DR}wait_if_busy = true\n"));
    assert!(
        drcockpit::steps::describe(&action)
            .iter()
            .any(|l| l.contains("409"))
    );
    client(&url)
        .redeploy_environment(ids::DR_ENV)
        .await
        .expect("someone else's redeploy");
    let run = run_step(&p, &action, false).await;
    run.result.expect("deployed after waiting");
    let all = run.lines.join("\n");
    assert!(all.contains("is busy"), "{all}");
    // Two POSTs from the step (one 409, one accepted) plus the first redeploy.
    let posts: Vec<_> = w.mutations().into_iter().map(|r| r.path).collect();
    assert_eq!(posts.len(), 3, "{posts:?}");
}

#[tokio::test]
async fn switching_scenario_live_recovers_prod() {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w =
        Arc::new(QoveryWorld::new("region-outage", 3).with_outage_after(Duration::from_millis(50)));
    let url = serve(w.clone()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        w.env_state(ids::PROD_ENV).map(|s| s.0).as_deref(),
        Some("UNAVAILABLE")
    );
    w.set_scenario("all-good");
    assert_eq!(w.scenario(), "all-good");
    let c = client(&url);
    let cl = c
        .cluster_status(ids::ORG, ids::PROD_CLUSTER)
        .await
        .expect("cluster");
    assert_eq!(cl.status, ClusterState::Deployed);
    let s = c
        .environment_statuses(ids::PROD_ENV)
        .await
        .expect("statuses");
    assert_eq!(s.environment.state, State::Deployed);
    assert!(s.containers.iter().all(|c| c.state == State::Deployed));
    assert!(!QoveryWorld::endpoints().is_empty());
}

/// The demo plan's Qovery steps, built from TOML and run in order against the simulator through
/// the real client: set a variable, roll one service, deploy DR (waiting for the roll), stop prod.
#[tokio::test]
async fn demo_qovery_steps_run_end_to_end() {
    #[derive(serde::Deserialize)]
    struct Steps {
        step: Vec<RawStep>,
    }
    let text = include_str!("../fixtures/qovery/demo-steps.toml");
    let steps: Steps = toml::from_str(text).expect("demo steps parse");
    let (w, url) = world(60).await;
    let p = plan(&url);
    let mut log = Vec::new();
    for r in steps.step.iter().filter(|r| r.kind.starts_with("qovery.")) {
        let mut identity = |_: &'static str, v: &str| Ok::<String, String>(v.to_string());
        let mut action = build(
            &r.kind,
            r,
            &mut BuildInput {
                sites: &p.sites,
                qovery: p.qovery.as_ref(),
                resolve: &mut identity,
            },
        )
        .expect("demo step builds");
        if let StepAction::Qovery(q) = &mut action {
            q.poll_interval = Duration::from_millis(50);
        }
        let run = run_step(&p, &action, false).await;
        let summary = run
            .result
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", r.id, run.lines.join("\n")));
        log.push(format!("{}: {summary}", r.id));
    }
    assert_eq!(log.len(), 4, "{log:#?}");
    assert_eq!(
        w.env_state(ids::DR_ENV).map(|s| s.0).as_deref(),
        Some("DEPLOYED")
    );
    assert_eq!(
        w.env_state(ids::PROD_ENV).map(|s| s.0).as_deref(),
        Some("STOPPED")
    );
    assert_eq!(w.service_tag(ids::DR_WORKER).as_deref(), Some("1.4.2"));
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some("postgres://shop@db.eu-west-1.internal:5432/shop")
    );
}

/// The example plans (plans/) build every Qovery step with this module's
/// builder, references resolved from a fixed map.
#[test]
fn example_plans_build_their_qovery_steps() {
    #[derive(serde::Deserialize)]
    struct File {
        step: Vec<RawStep>,
        sites: toml::Table,
    }
    for (name, text) in [
        (
            "warm standby",
            include_str!("../../plans/qovery-warm-standby.toml"),
        ),
        (
            "pilot light",
            include_str!("../../plans/qovery-pilot-light.toml"),
        ),
    ] {
        let f: File = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let site = |k: &str| {
            let t = f.sites.get(k).and_then(|v| v.as_table()).expect("site");
            Site {
                label: k.into(),
                cluster: t
                    .get("cluster")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                environment: t
                    .get("environment")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                ..Site::default()
            }
        };
        let sites = [site("prod"), site("dr")];
        let q = plan("https://api.qovery.com").qovery;
        let mut n = 0;
        for r in f.step.iter().filter(|r| r.kind.starts_with("qovery.")) {
            let mut resolve = |_: &'static str, v: &str| {
                Ok::<String, String>(
                    v.replace("${env:DR_DATABASE_URL}", "postgres://dr")
                        .replace("${env:RELEASE_TAG}", "1.4.2"),
                )
            };
            let a = build(
                &r.kind,
                r,
                &mut BuildInput {
                    sites: &sites,
                    qovery: q.as_ref(),
                    resolve: &mut resolve,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!drcockpit::steps::describe(&a).is_empty());
            n += 1;
        }
        assert!(n >= 2, "{name}: {n} Qovery steps");
    }
}

/// Issue 17: the names the Qovery probes remember belong to one probe memory. A second memory
/// (another run in the same process) reads them again instead of inheriting the first one's.
#[tokio::test]
async fn each_probe_memory_reads_names_for_itself() {
    let (w, url) = world(100).await;
    let c = client(&url);
    let first = drcockpit::probes::qovery::QoveryMemory::default();
    let second = drcockpit::probes::qovery::QoveryMemory::default();
    for mem in [&first, &first, &second, &second] {
        let cl = drcockpit::probes::qovery::cluster(&c, mem, ids::DR_CLUSTER)
            .await
            .expect("cluster");
        assert_eq!(cl.summary, "dr-eu1 DEPLOYED");
        drcockpit::probes::qovery::environment(&c, mem, SiteId::Dr, ids::DR_ENV)
            .await
            .expect("env");
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(gets(format!("/organization/{}/cluster", ids::ORG)), 2);
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 2);
    // Bounded by what is configured: one cluster and one environment, however many rounds.
    assert_eq!(first.entries(), (1, 1));
    assert_eq!(second.entries(), (1, 1));
}

/// Issue 17: a second `status` run in the same process starts with an empty probe memory: it
/// reads the cluster and environment names again rather than reusing the first run's.
#[tokio::test]
async fn a_second_status_run_in_one_process_starts_with_an_empty_memory() {
    let (w, url) = world(100).await;
    let p = Arc::new(plan(&url));
    for _ in 0..2 {
        let (_, answered) =
            drcockpit::runtime::status::observe_once(p.clone(), Duration::from_secs(10)).await;
        assert_eq!(answered, 4);
    }
    let reqs = w.requests();
    let gets = |p: String| reqs.iter().filter(|r| r.path == p).count();
    assert_eq!(
        gets(format!("/organization/{}/cluster", ids::ORG)),
        4,
        "each run reads both clusters' names once"
    );
    assert_eq!(gets(format!("/environment/{}", ids::DR_ENV)), 2);
    assert_eq!(gets(format!("/environment/{}", ids::PROD_ENV)), 2);
}
