//! The Prometheus probe and the Scaleway step against the simulator's routes.

use super::*;

// ---------------------------------------------------------------------------------------------
// The Prometheus probe and the Scaleway step against the simulator's routes
// ---------------------------------------------------------------------------------------------

use drcockpit::sim::prometheus::DbWorld;
use drcockpit::sim::scaleway::{self as scw_sim, ScalewayState};

fn prom_db(url: &str, site: &str) -> DatabaseConfig {
    DatabaseConfig {
        prometheus: Some(PrometheusSource {
            url: url.into(),
            lag_query: Some(format!("pg_replication_lag_bytes{{site=\"{site}\"}}")),
            replay_age_query: Some(format!(
                "pg_replication_replay_lag_seconds{{site=\"{site}\"}}"
            )),
            backup_age_query: Some(format!(
                "time() - pg_backup_last_success_timestamp_seconds{{site=\"{site}\"}}"
            )),
        }),
        max_lag_bytes: Some(16 << 20),
        max_backup_age: Some(Duration::from_secs(6 * 3600)),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_probe_reads_lag_and_backup_and_the_outage_freezes_lag() {
    let db = Arc::new(DbWorld::new(7));
    let url = serve(drcockpit::sim::prometheus::routes(db.clone())).await;
    let plan = Arc::new(plan(Some(prom_db(&url, "prod")), Some(prom_db(&url, "dr"))));

    let o = observe(&plan, SiteId::Dr).await;
    let r = o.outcome.as_ref().expect("dr reading");
    assert_eq!(r.level, Level::Good, "{r:?}");
    assert!(lag_of(&o) > 0, "the simulated standby lags a little: {r:?}");
    match r.fields["backup_age"] {
        Value::Duration(d) => assert!((2 * 3600..3 * 3600).contains(&d.as_secs()), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert!(r.summary.contains("via Prometheus"), "{}", r.summary);
    // The time-based lag (seconds of replay lag, like RDS ReplicaLag) feeds the RPO estimate.
    match r.fields["replay_age"] {
        Value::Duration(d) => assert!(d > Duration::ZERO && d < Duration::from_secs(60), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert!(r.summary.contains("replay "), "{}", r.summary);
    let prod = observe(&plan, SiteId::Prod).await;
    assert_eq!(lag_of(&prod), 0);

    // The timestamp form of the backup metric is understood too.
    let samples = drcockpit::probes::database::instant_query(
        &HttpClient::new(true),
        &url,
        "pg_backup_last_success_timestamp_seconds{site=\"dr\"}",
    )
    .await
    .expect("query");
    assert!(samples[0].value > 1e9);

    // Region outage: prod's series vanish (an error, never healthy); the DR lag freezes.
    db.set_region_outage(true);
    let frozen = lag_of(&observe(&plan, SiteId::Dr).await);
    let prod = observe(&plan, SiteId::Prod).await;
    let e = prod.outcome.expect_err("prod must be unreachable");
    assert_eq!(e.short, "no data", "{e:?}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), frozen);

    // Conditions resolve from the Prometheus reading.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()]
        .observe(&observe(&plan, SiteId::Dr).await);
    state.now = Utc::now();
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(state.evaluate(&c).passed());

    // A bad query is an error with Prometheus' message.
    let e = drcockpit::probes::database::instant_query(&HttpClient::new(true), &url, "")
        .await
        .expect_err("empty query");
    assert!(e.contains("bad_data"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_region_outage_scenario_drives_the_database_world() {
    use drcockpit::sim::{self, Scenario, SimState};
    let state = SimState::new(Scenario::RegionOutage, 11);
    let db = sim::prometheus::world(&state);
    let families = vec![
        sim::prometheus::family(db.clone()),
        scw_sim::family(Arc::new(ScalewayState::new(db.clone()))),
    ];
    let url = serve(sim::build_router_with(state, families)).await;
    let plan = Arc::new(plan(Some(prom_db(&url, "prod")), Some(prom_db(&url, "dr"))));
    assert!(observe(&plan, SiteId::Prod).await.outcome.is_ok());
    let before = lag_of(&observe(&plan, SiteId::Dr).await);
    assert!(before > 0);
    tokio::time::sleep(sim::REGION_OUTAGE_AFTER + Duration::from_millis(300)).await;
    let prod = observe(&plan, SiteId::Prod).await;
    assert!(
        prod.outcome.is_err(),
        "prod database down in the outage: {prod:?}"
    );
    let frozen = lag_of(&observe(&plan, SiteId::Dr).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), frozen);
}

fn scw_step(api: &str, token: &str) -> StepAction {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(&format!(
        "id = \"scw\"\ntitle = \"Promote\"\nkind = \"scaleway.promote_replica\"\nregion = \"{}\"\nread_replica_id = \"{}\"\ntoken = \"${{env:SCW_SECRET_KEY}}\"\napi_url = \"${{sim}}\"\ntimeout = \"20s\"\n",
        scw_sim::DEMO_REGION,
        scw_sim::DEMO_READ_REPLICA_ID
    ))
    .expect("raw");
    let (api, token) = (api.to_string(), token.to_string());
    let mut resolve = |v: &str, _key: &str| -> Result<String, String> {
        Ok(v.replace("${sim}", &api)
            .replace("${env:SCW_SECRET_KEY}", &token))
    };
    steps::scaleway::build("scaleway.promote_replica", &raw, &mut resolve).expect("build")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaleway_promotion_is_confirmed_by_reading_the_instance_back() {
    let db = Arc::new(DbWorld::new(3));
    let scw = Arc::new(ScalewayState::new(db.clone()));
    let url =
        serve(drcockpit::sim::prometheus::routes(db.clone()).merge(scw_sim::routes(scw.clone())))
            .await;
    let plan = Arc::new(plan(None, Some(prom_db(&url, "dr"))));
    assert!(lag_of(&observe(&plan, SiteId::Dr).await) > 0);
    let action = scw_step(&url, scw_sim::DEMO_SECRET_KEY);
    assert!(steps::is_mutating(&action));
    assert!(
        steps::describe(&action)
            .iter()
            .any(|l| l.starts_with("POST ") && l.contains("/promote"))
    );

    // Monitor mode refuses before sending anything.
    let e = steps::run(&action, ctx(&plan, true).ctx)
        .await
        .expect_err("read-only");
    assert!(e.contains("read-only"), "{e}");
    assert!(!scw.promotions());

    // Preflight (read-only) sees the replica.
    let checks = steps::preflight(&action, &ctx(&plan, true).ctx, vec![]).await;
    assert_eq!(checks[0].ok, Some(true), "{checks:?}");

    // A wrong secret key is an actionable error.
    let e = steps::run(&scw_step(&url, "wrong-key-xxxx"), ctx(&plan, false).ctx)
        .await
        .expect_err("bad key");
    assert!(e.contains("401") && e.contains("token"), "{e}");

    let mut c = ctx(&plan, false);
    let done = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = done.unwrap_or_else(|e| panic!("{e}\n{got:#?}"));
    assert!(done.contains("ready"), "{done}");
    assert!(
        got.iter().any(|(_, t)| t.contains("configuring")),
        "{got:#?}"
    );
    assert!(scw.promotions());
    // The database panel follows: the promoted DR has no lag.
    assert_eq!(lag_of(&observe(&plan, SiteId::Dr).await), 0);

    // The replica is gone: pressing again sends nothing and says why.
    let e = steps::run(&action, ctx(&plan, false).ctx)
        .await
        .expect_err("gone");
    assert!(
        e.contains("not found") && e.contains("nothing was sent"),
        "{e}"
    );
}
