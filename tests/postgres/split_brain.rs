//! Split brain, a primary killed mid-write, and per-run probe memory.

use super::*;

/// Split brain against real servers: the probe's own read-only session never looks like a
/// fence; after a promotion with the old primary still writable both are primaries that accept
/// writes (CRITICAL, not ready, `status` exit 2); fencing the old primary ends it and the panel
/// says `primary · fenced (read-only)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_is_seen_and_a_fenced_old_primary_is_told_apart_from_the_probe_session() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let state_of = |prod: &Observation, dr: &Observation| {
        let mut state = State::new(
            plan.clone(),
            Mode::Monitor,
            Operator::from_env(),
            Utc::now(),
        );
        state.sections[SiteId::Prod.index()][Section::Database.index()].observe(prod);
        state.sections[SiteId::Dr.index()][Section::Database.index()].observe(dr);
        state.now = Utc::now();
        state
    };

    // Before: a writable primary (the probe's read-only session is not a fence) and a standby.
    let prod = observe(&plan, SiteId::Prod).await;
    let dr = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&prod, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&prod, "fenced"), Value::Bool(false));
    assert_eq!(reading_field(&prod, "writable"), Value::Bool(true));
    assert_eq!(reading_field(&dr, "writable"), Value::Bool(false));
    let st = state_of(&prod, &dr);
    assert!(
        drcockpit::runtime::status::report_of(&plan, &st, 2)
            .alerts
            .is_empty()
    );

    // Promote the standby while the old primary still runs, writable.
    sql(&s.url(), "SELECT pg_promote(true, 30)").await;
    assert!(!in_recovery(&s.url()).await);
    let prod = observe(&plan, SiteId::Prod).await;
    let dr = observe(&plan, SiteId::Dr).await;
    assert_eq!(reading_field(&dr, "role"), Value::Text("primary".into()));
    assert_eq!(reading_field(&dr, "writable"), Value::Bool(true));
    let st = state_of(&prod, &dr);
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Down);
    let report = drcockpit::runtime::status::report_of(&plan, &st, 2);
    assert_eq!(report.exit_code, 2);
    let text = drcockpit::runtime::status::render_text(&report);
    assert!(
        text.contains("split brain: prod and DR both accept writes"),
        "{text}"
    );

    // Fence the old primary: no longer writable, shown as fenced, the split brain is over.
    steps::run(&fence_step(true), ctx(&plan, false).ctx)
        .await
        .expect("fence");
    let prod = observe(&plan, SiteId::Prod).await;
    let prod = if prod.outcome.is_err() {
        // The fence terminated the kept probe session: the next round reconnects.
        observe(&plan, SiteId::Prod).await
    } else {
        prod
    };
    assert_eq!(reading_field(&prod, "fenced"), Value::Bool(true));
    assert_eq!(reading_field(&prod, "writable"), Value::Bool(false));
    let summary = prod
        .outcome
        .as_ref()
        .map(|r| r.summary.clone())
        .unwrap_or_default();
    assert!(
        summary.starts_with("primary · fenced (read-only)"),
        "{summary}"
    );
    let st = state_of(&prod, &dr);
    assert!(
        drcockpit::runtime::status::report_of(&plan, &st, 2)
            .alerts
            .is_empty()
    );
    assert_ne!(st.verdict(SiteId::Dr), Verdict::Down);
}

/// Issue 11 defect 4: the primary is killed mid-write and the standby promoted. Data loss cannot
/// be measured: the evidence says RPO unknown (last-seen primary position and age, the standby's
/// received and replayed LSN, what would tell), the report says UNKNOWN — never MET — and the
/// step reports the new timeline (2), read from the server after promotion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_primary_mid_write_promotion_is_rpo_unknown_on_timeline_2() {
    use drcockpit::journal::{Event, Record, StepInfo};
    use drcockpit::report::{self, Verdict as RV};
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    sql(&p.url(), "CREATE TABLE t(i int)").await;
    wait_lag_zero(&plan, Duration::from_secs(30)).await;
    // A writer keeps committing until the primary dies under it.
    let url = p.url();
    let writer = tokio::spawn(async move {
        let w = admin(&url).await;
        let mut n = 0u32;
        while w
            .simple("INSERT INTO t SELECT generate_series(1, 500)")
            .await
            .is_ok()
        {
            n += 1;
        }
        n
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    p.stop_immediate();
    let commits = writer.await.expect("writer task");
    assert!(commits > 0, "the writer never committed");

    let mut c = ctx(&plan, false);
    let res = steps::run(&promote_step(), c.ctx.clone()).await;
    let got = lines(&mut c.rx);
    let done = res.unwrap_or_else(|e| panic!("promote: {e}\n{got:#?}"));
    assert!(done.contains("timeline 2"), "{done}");
    assert!(done.contains("RPO UNKNOWN"), "{done}");
    let ev = got
        .iter()
        .find(|(st, _)| st == "evidence:rpo")
        .expect("evidence");
    let j: serde_json::Value = serde_json::from_str(&ev.1).expect("json");
    assert_eq!(j["rpo"], "unknown", "{j}");
    assert_eq!(j["primary_reachable"], false, "{j}");
    assert!(
        j["replay_lsn"].as_str().is_some_and(|l| l.contains('/')),
        "{j}"
    );
    assert!(
        j["receive_lsn"].as_str().is_some_and(|l| l.contains('/')),
        "{j}"
    );
    assert!(
        j["primary_last_seen_lsn"].as_str().is_some() || j["receiver_end_lsn"].as_str().is_some(),
        "{j}"
    );
    assert!(
        j["needed"]
            .as_str()
            .unwrap_or("")
            .contains("pg_controldata"),
        "{j}"
    );
    assert_eq!(j["timeline_before"], 1, "{j}");
    // The server agrees: it writes on timeline 2 now.
    let promoted = admin(&s.url()).await;
    assert_eq!(promoted.timeline().await.expect("timeline"), Some(2));

    // The report built from what the engine journals says UNKNOWN.
    let t0 = Utc::now();
    let rec = |seq: u64, event: Event| Record {
        seq,
        at: t0 + chrono::Duration::seconds(seq as i64),
        operator: "ops".into(),
        event,
    };
    let records = vec![
        rec(
            0,
            Event::SessionStarted {
                plan_name: "pg".into(),
                plan_source: "pg.toml".into(),
                plan_hash: "h".into(),
                mode: "live".into(),
                drill: true,
                host: "h".into(),
                pid: 1,
                version: "0".into(),
                commit: None,
                resumed_from: None,
                rto_secs: Some(1800),
                rpo_secs: Some(300),
                steps: vec![StepInfo {
                    id: "promote".into(),
                    title: "Promote".into(),
                    kind: "postgres.promote".into(),
                    mutating: Some(true),
                }],
            },
        ),
        rec(
            1,
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: Some("postgres.promote".into()),
            },
        ),
        rec(
            2,
            Event::Evidence {
                step: Some("promote".into()),
                what: "rpo".into(),
                detail: j.clone(),
            },
        ),
        rec(
            3,
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: true,
                detail: done.clone(),
            },
        ),
    ];
    let m = report::build(&records);
    assert_eq!(m.rpo.verdict, RV::Unknown, "{:?}", m.rpo);
    assert!(m.rpo.note.contains("pg_controldata"), "{}", m.rpo.note);
    assert!(!report::render_markdown(&m).contains("· **MET**"));
}

/// Issue 17: what the database probes remember (kept sessions, the primary's last position,
/// the cost counters) belongs to the run that probes. Another run in the same process starts
/// with none of it and opens its own sessions; and however many rounds run, one run holds one
/// session per server and one position per primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_keeps_its_own_sessions_and_positions_bounded() {
    let p = primary();
    let s = standby(&p, "standby1");
    let plan = Arc::new(plan(Some(db(&p.url())), Some(db(&s.url()))));
    let round = |mem: Arc<probes::ProbeMemory>, site| {
        let plan = plan.clone();
        async move {
            let key = ProbeKey {
                site,
                section: Section::Database,
            };
            probes::run(&plan, &HttpClient::new(true), &mem, key).await
        }
    };
    let first = Arc::new(probes::ProbeMemory::new());
    let rounds = 30;
    for _ in 0..rounds {
        for site in SiteId::ALL {
            let o = round(first.clone(), site).await;
            assert!(o.outcome.is_ok(), "{:?}", o.outcome);
        }
    }
    assert_eq!(
        first.pg.entries(),
        (2, 1),
        "one session per server, one primary position"
    );
    let stats = first.pg.stats();
    assert_eq!(
        stats.connects.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "sessions are kept across rounds"
    );
    assert!(stats.round_trips.load(std::sync::atomic::Ordering::Relaxed) >= 2 * rounds);
    assert!(first.pg.last_primary_position(&p.url()).is_some());

    let second = Arc::new(probes::ProbeMemory::new());
    assert_eq!(second.pg.entries(), (0, 0), "a new run starts empty");
    assert!(second.pg.last_primary_position(&p.url()).is_none());
    let o = round(second.clone(), SiteId::Prod).await;
    assert!(o.outcome.is_ok(), "{:?}", o.outcome);
    assert!(!Arc::ptr_eq(
        &first.pg.session(&p.url()).await.expect("first"),
        &second.pg.session(&p.url()).await.expect("second")
    ));
    assert_eq!(
        second
            .pg
            .stats()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
