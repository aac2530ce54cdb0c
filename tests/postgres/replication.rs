//! Against real PostgreSQL: lag, promotion, fencing, monitor mode, logical subscriptions.

use super::*;

// ---------------------------------------------------------------------------------------------
// Tests against real PostgreSQL
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_rises_during_a_write_burst_and_drains_to_zero() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE burst(id bigserial, pad text)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;

    // A write burst on the primary while the DR side is probed.
    let url = p.url();
    let writer = tokio::spawn(async move {
        let s = admin(&url).await;
        for _ in 0..40 {
            s.simple(
                "INSERT INTO burst(pad) SELECT repeat('x', 200) FROM generate_series(1, 20000)",
            )
            .await
            .expect("insert");
        }
    });
    let mut max_lag = 0u64;
    while !writer.is_finished() {
        let o = observe(&plan, SiteId::Dr).await;
        max_lag = max_lag.max(lag_of(&o));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    writer.await.expect("writer");
    assert!(max_lag > 0, "no lag seen during a write burst");

    // The primary sees its standby too.
    let po = observe(&plan, SiteId::Prod).await;
    assert_eq!(reading_field(&po, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&po, "replicas"), Value::Num(1.0));

    let o = wait_lag_zero(&plan, Duration::from_secs(60)).await;
    assert_eq!(reading_field(&o, "role"), Value::Text("standby".into()));
    assert_eq!(
        reading_field(&o, "receiver"),
        Value::Text("streaming".into())
    );

    // Conditions and the RPO estimate resolve from the reading.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&o);
    // The RPO figure is believed only while the prod primary answers too.
    state.sections[SiteId::Prod.index()][Section::Database.index()].observe(&po);
    state.now = Utc::now();
    assert!(matches!(
        state.lookup("dr.database.lag"),
        Lookup::Value {
            value: Value::Bytes(0),
            ..
        }
    ));
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(state.evaluate(&c).passed(), "{:?}", state.evaluate(&c));
    assert_eq!(state.rpo_estimate().as_deref(), Some("0 B · 0s"));
    eprintln!("max lag seen during the burst: {max_lag} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_primary_raises_no_false_lag_alarm() {
    let p = primary();
    let s = standby(&p, "standby1");
    let mut dr = db(&s.url());
    dr.max_replay_age = Some(Duration::from_secs(2));
    let plan = Arc::new(plan(Some(db(&p.url())), Some(dr)));
    sql(&p.url(), "CREATE TABLE t(i int); INSERT INTO t VALUES (1)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // Idle for longer than max_replay_age: the last replayed commit gets old.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let o = wait_lag_zero(&plan, Duration::from_secs(10)).await;
    let st = mem()
        .pg
        .session(&s.url())
        .await
        .expect("session")
        .status(None)
        .await
        .expect("status");
    assert!(
        st.since_last_replay.expect("a replayed commit") > Duration::from_secs(2),
        "the raw timestamp age should exceed max_replay_age: {st:?}"
    );
    let r = o.outcome.as_ref().expect("reading");
    assert_eq!(r.level, Level::Good, "false alarm: {r:?}");
    assert_eq!(r.fields["replay_age"], Value::Duration(Duration::ZERO));
    assert_eq!(r.fields["primary_reachable"], Value::Bool(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_succeeds_records_rpo_evidence_and_pressing_again_succeeds() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(
        &p.url(),
        "CREATE TABLE orders(id int); INSERT INTO orders VALUES (1), (2)",
    )
    .await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    let action = promote_step();
    assert!(steps::is_mutating(&action));
    assert!(
        steps::describe(&action)
            .iter()
            .any(|l| l.contains("pg_promote(true, 30)"))
    );

    let mut c = ctx(&plan, false);
    let out = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = out.unwrap_or_else(|e| panic!("promote failed: {e}\n{got:#?}"));
    assert!(done.contains("promoted"), "{done}");
    assert!(!in_recovery(&s.url()).await);
    let ev: Vec<&(String, String)> = got.iter().filter(|(s, _)| s == "evidence:rpo").collect();
    assert_eq!(ev.len(), 1, "{got:#?}");
    let j: serde_json::Value = serde_json::from_str(&ev[0].1).expect("evidence is JSON");
    assert_eq!(j["lag_bytes"], 0);
    assert_eq!(j["replay_age_secs"], 0.0, "caught up: no data-loss window");
    assert_eq!(j["what"], "rpo at promotion");
    assert!(j["replay_lsn"].as_str().is_some_and(|l| l.contains('/')));
    assert!(j["last_replayed_commit"].as_str().is_some(), "{j}");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("pg_current_wal_lsn")
    );
    // The promoted server takes writes.
    sql(&s.url(), "INSERT INTO orders VALUES (3)").await;

    // Pressing it again succeeds, with a note, and changes nothing.
    let mut c2 = ctx(&plan, false);
    let again = steps::run(&action, c2.ctx.clone())
        .await
        .expect("second press");
    assert!(again.contains("already primary"), "{again}");
    assert!(
        lines(&mut c2.rx).iter().all(|(s, _)| s != "evidence:rpo"),
        "no new evidence when nothing was promoted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_after_the_primary_is_killed() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(
        &p.url(),
        "CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000)",
    )
    .await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    p.stop_immediate();
    // The DR panel keeps the last known lag and says the primary is gone.
    let o = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&o, "primary_reachable"), Value::Bool(false));
    let prod = observe(&plan, SiteId::Prod).await;
    assert!(
        prod.outcome.is_err(),
        "a dead primary must be an error: {prod:?}"
    );

    let mut c = ctx(&plan, false);
    let t = Instant::now();
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    res.unwrap_or_else(|e| panic!("promote after kill: {e}\n{got:#?}"));
    eprintln!("promotion after killing the primary took {:?}", t.elapsed());
    let ev = got
        .iter()
        .find(|(s, _)| s == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{j}"
    );
    assert!(!in_recovery(&s.url()).await);
    sql(&s.url(), "INSERT INTO t VALUES (0)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_after_a_crash_records_the_unreplayed_lag_as_evidence() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // The standby stops replaying; the primary keeps committing.
    sql(&s.url(), "SELECT pg_wal_replay_pause()").await;
    sql(&p.url(), "INSERT INTO t SELECT generate_series(1, 50000)").await;
    let seen = observe(&plan, SiteId::Dr).await;
    let behind = lag_of(&seen);
    assert!(behind > 0, "{seen:?}");
    let c = Condition::parse("dr.database.lag < 1KiB").expect("condition");
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&seen);
    state.now = Utc::now();
    assert!(
        matches!(state.evaluate(&c), CondResult::Fail(_)),
        "a lag precondition blocks"
    );
    p.stop_immediate();

    let mut c = ctx(&plan, false);
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    res.unwrap_or_else(|e| panic!("promote: {e}\n{got:#?}"));
    let ev = got
        .iter()
        .find(|(s, _)| s == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert!(j["lag_bytes"].as_u64().is_some_and(|b| b >= behind), "{j}");
    assert!(
        j["lag_basis"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{j}"
    );
    assert!(j["replay_age_secs"].as_f64().is_some(), "{j}");
    assert!(!in_recovery(&s.url()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_standby_is_an_error_then_stale_never_healthy() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let good = wait_lag_zero(&plan, Duration::from_secs(30)).await;
    s.stop_immediate();
    let bad = observe(&plan, SiteId::Dr).await;
    let err = bad
        .outcome
        .as_ref()
        .expect_err("an unreachable standby must not read");
    assert_eq!(err.short, "unreachable", "{err:?}");
    assert!(
        err.full.contains(&format!("127.0.0.1:{}", s.port)),
        "{err:?}"
    );

    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    let sec = &mut state.sections[SiteId::Dr.index()][Section::Database.index()];
    sec.observe(&good);
    sec.observe(&bad);
    state.now = Utc::now();
    assert!(matches!(
        state.view(SiteId::Dr, Section::Database),
        SectionView::Error { .. }
    ));
    assert_ne!(state.verdict(SiteId::Dr), Verdict::Ready);
    let c = Condition::parse("dr.database.lag < 16MiB").expect("condition");
    assert!(matches!(state.evaluate(&c), CondResult::Unknown(_)));
    assert!(state.rpo_estimate().is_none());

    // A good reading that is not refreshed goes stale and stops counting as healthy.
    let mut state = State::new(
        plan.clone(),
        Mode::Monitor,
        Operator::from_env(),
        Utc::now(),
    );
    state.sections[SiteId::Dr.index()][Section::Database.index()].observe(&good);
    state.now = Utc::now() + chrono::Duration::seconds(60);
    assert!(matches!(
        state.view(SiteId::Dr, Section::Database),
        SectionView::Stale { .. }
    ));
    assert!(matches!(state.evaluate(&c), CondResult::Unknown(_)));
    assert_ne!(state.verdict(SiteId::Dr), Verdict::Ready);

    // The standby comes back: the next rounds reconnect by themselves.
    s.start();
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_makes_the_old_primary_refuse_writes() {
    let p = primary();
    let plan = Arc::new(plan(Some(db(&p.url())), None));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    // A client session that fencing should terminate.
    let client = admin(&p.url()).await;
    client.simple("SELECT 1").await.expect("client works");

    let action = fence_step(true);
    let mut c = ctx(&plan, false);
    let res = steps::run(&action, c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = res.unwrap_or_else(|e| panic!("fence: {e}\n{got:#?}"));
    assert!(done.contains("fenced"), "{done}");
    assert!(
        client.simple("SELECT 1").await.is_err(),
        "the client session was terminated"
    );

    // A new session's write is refused with SQLSTATE 25006.
    let s = admin(&p.url()).await;
    let e = s
        .simple("INSERT INTO t VALUES (1)")
        .await
        .expect_err("write refused");
    assert_eq!(e.sqlstate(), Some("25006"), "{e}");
    // Fencing again is harmless.
    steps::run(&action, ctx(&plan, false).ctx)
        .await
        .expect("fence twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_cannot_promote_and_the_probe_session_refuses_writes() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;

    let mut c = ctx(&plan, true);
    let e = steps::run(&promote_step(), c.ctx.clone())
        .await
        .expect_err("monitor mode must not promote");
    assert!(e.contains("read-only"), "{e}");
    assert!(
        in_recovery(&s.url()).await,
        "the standby must still be a standby"
    );
    let e = steps::run(&fence_step(false), ctx(&plan, true).ctx)
        .await
        .expect_err("monitor mode must not fence");
    assert!(e.contains("read-only"), "{e}");
    assert!(lines(&mut c.rx).is_empty(), "nothing was attempted");

    // Preflight is read-only and reports reachable, role and lag.
    let checks = steps::preflight(&promote_step(), &ctx(&plan, true).ctx, vec![]).await;
    assert!(
        checks
            .iter()
            .any(|c| c.what.starts_with("reachable") && c.ok == Some(true)),
        "{checks:?}"
    );
    assert!(
        checks.iter().any(|c| c.what == "role: standby"),
        "{checks:?}"
    );
    assert!(checks.iter().any(|c| c.what == "lag"), "{checks:?}");

    // The probe's kept session is read-only on the primary.
    observe(&plan, SiteId::Prod).await;
    let session = mem().pg.session(&p.url()).await.expect("probe session");
    assert!(session.is_read_only());
    let e = session
        .simple("INSERT INTO t VALUES (1)")
        .await
        .expect_err("a write through the probe session must fail");
    assert_eq!(e.sqlstate(), Some("25006"), "{e}");
    assert!(matches!(
        session.promote(5).await,
        Err(PgError::ReadOnly(_))
    ));
    // A broken backup-age query is reported, and the kept session stays usable.
    let st = session
        .status(Some("SELECT no_such_column FROM pg_class"))
        .await
        .expect("status despite the backup query");
    assert!(
        matches!(&st.backup_age, Some(Err(e)) if e.contains("no_such_column")),
        "{:?}",
        st.backup_age
    );
    assert!(session.status(None).await.is_ok());
    assert!(!session.is_closed());
    assert!(matches!(
        session.fence(false).await,
        Err(PgError::ReadOnly(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_subscription_lag_is_read() {
    let p = primary();
    // The subscriber: a third cluster.
    let sub = {
        let tmp = tempdir();
        let data = tmp.path().join("subscriber");
        initdb(&data, "initdb subscriber");
        start_cluster(tmp, data, "")
    };
    sql(
        &p.url(),
        "CREATE TABLE items(id int primary key, v text); CREATE PUBLICATION pub FOR TABLE items",
    )
    .await;
    sql(&sub.url(), "CREATE TABLE items(id int primary key, v text)").await;
    sql(
        &sub.url(),
        &format!(
            "CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port={} user=postgres dbname=postgres' PUBLICATION pub",
            p.port
        ),
    )
    .await;
    sql(
        &p.url(),
        "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 5000) g",
    )
    .await;
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&sub.url()))));
    let t = Instant::now();
    let o = loop {
        let o = observe(&plan, SiteId::Dr).await;
        if let Ok(r) = &o.outcome
            && r.fields.get("subscription_lag") == Some(&Value::Bytes(0))
        {
            break o;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "subscription never caught up: {o:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let r = o.outcome.as_ref().expect("reading");
    assert_eq!(r.fields["role"], Value::Text("subscriber".into()));
    assert_eq!(r.fields["subscriptions"], Value::Num(1.0));
    assert_eq!(r.fields["lag"], Value::Bytes(0));
    assert!(
        r.details.iter().any(|d| d.contains("subscription sub")),
        "{r:?}"
    );
    // The publisher shows the logical slot and its lag.
    let po = observe(&plan, SiteId::Prod).await;
    let pr = po.outcome.as_ref().expect("publisher reading");
    assert!(pr.fields.contains_key("slot_lag"), "{pr:?}");
    assert_eq!(pr.fields["slots_ok"], Value::Bool(true));
    assert_eq!(
        pr.fields["replicas"],
        Value::Num(0.0),
        "a subscriber is no standby"
    );
    assert!(pr.details.iter().any(|d| d.contains("(logical)")), "{pr:?}");
    assert!(
        pr.details.iter().any(|d| d.contains("slot sub (logical)")),
        "{pr:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_probe_round_costs_one_round_trip_per_server() {
    let p = primary();
    let s = standby(&p, "standby1");
    let mut dr = db(&s.url());
    dr.backup_age_query = Some("SELECT now() - interval '2 hours'".into());
    dr.max_backup_age = Some(Duration::from_secs(3600));
    let plan = Arc::new(plan(Some(db(&p.url())), Some(dr)));
    // Warm up: connections are opened once.
    observe(&plan, SiteId::Prod).await;
    observe(&plan, SiteId::Dr).await;
    let ps = mem().pg.session(&p.url()).await.expect("prod session");
    let ss = mem().pg.session(&s.url()).await.expect("dr session");
    let (p0, s0) = (ps.round_trips(), ss.round_trips());
    let rounds = 20u64;
    let t = Instant::now();
    for _ in 0..rounds {
        observe(&plan, SiteId::Prod).await;
    }
    let prod_ms = t.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let p1 = ps.round_trips();
    let t = Instant::now();
    let mut last = None;
    for _ in 0..rounds {
        last = Some(observe(&plan, SiteId::Dr).await);
    }
    let dr_ms = t.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    let (p2, s2) = (ps.round_trips(), ss.round_trips());
    // Same sessions: nothing reconnected.
    assert!(Arc::ptr_eq(
        &ps,
        &mem().pg.session(&p.url()).await.expect("same")
    ));
    assert!(Arc::ptr_eq(
        &ss,
        &mem().pg.session(&s.url()).await.expect("same")
    ));
    assert_eq!((p1 - p0) / rounds, 1, "prod: one round trip per round");
    assert_eq!(
        (s2 - s0) / rounds,
        1,
        "dr: one round trip to the standby per round"
    );
    assert_eq!(
        (p2 - p1) / rounds,
        1,
        "dr: one round trip to the primary per round"
    );
    // The backup age came back in the same round trip.
    let r = last.expect("obs").outcome.expect("reading");
    match r.fields["backup_age"] {
        Value::Duration(d) => assert!((7190..7210).contains(&d.as_secs()), "{d:?}"),
        ref v => panic!("{v:?}"),
    }
    assert_eq!(
        r.level,
        Level::Bad,
        "backup older than max_backup_age: {r:?}"
    );
    eprintln!(
        "COST prod (primary): 1 query / 1 round trip per round, {prod_ms:.2} ms; dr (standby): 1 query to the standby + 1 to the primary = 2 round trips per round, {dr_ms:.2} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_step_configuration_is_an_actionable_error() {
    // No server needed: building steps, the load-time site check, and the run-time refusal.
    let mut p = plan(None, Some(db("postgresql://postgres@127.0.0.1:1/postgres")));
    let raw: drcockpit::plan::raw::RawStep =
        toml::from_str("id = \"f\"\ntitle = \"F\"\nkind = \"postgres.fence\"\nsite = \"prod\"\n")
            .expect("raw");
    let fence = steps::postgres::build("postgres.fence", &raw).expect("fence builds");
    p.steps.push(plan_step(fence.clone()));
    let (i, e) = steps::postgres::check_sites(&p).expect("prod has no database");
    assert_eq!(i, 0);
    assert!(e.contains("[sites.prod] has no `database.postgres`"), "{e}");
    let plan = Arc::new(p);
    let e = steps::run(&fence, ctx(&plan, false).ctx)
        .await
        .expect_err("no server");
    assert!(e.contains("[sites.prod] has no `database.postgres`"), "{e}");
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(
        "id = \"p\"\ntitle = \"P\"\nkind = \"postgres.promote\"\nsite = \"dr\"\nwait_seconds = 0\n",
    )
    .expect("raw");
    let e = steps::postgres::build("postgres.promote", &raw).expect_err("bad wait");
    assert!(e.contains("wait_seconds"), "{e}");
    // An unreachable standby: the promote step says it cannot promote, and why.
    let e = steps::run(&promote_step(), ctx(&plan, false).ctx)
        .await
        .expect_err("unreachable");
    assert!(
        e.contains("cannot promote") && e.contains("127.0.0.1:1"),
        "{e}"
    );
}
