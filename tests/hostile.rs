//! Never a false green, against a world that lies: property tests for every section verdict
//! (cluster/env, database, images, DNS, health) and the `hostile` simulator scenario, whose
//! ground truth (`sim::hostile::Truth`) is kept apart from what it answers.
//!
//! The rule under test: no sequence of observations yields a healthy verdict when the ground
//! truth says otherwise; stale, unknown, erroring and contradictory are never healthy; when two
//! fields disagree, the worse wins.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use drcockpit::app::observe::{SectionHealth, section_health, split_brain};
use drcockpit::app::{
    Level, Mode, Msg, Observation, Operator, ProbeError, Reading, Section, State, Verdict, update,
};
use drcockpit::clients::dns::DnsError;
use drcockpit::clients::dns::query::{NsAnswer, NsResult, ZoneView};
use drcockpit::clients::postgres::{Lsn, ServerStatus, WalReceiver};
use drcockpit::clients::registry::Manifest;
use drcockpit::plan::{DatabaseConfig, SiteId, Value};
use drcockpit::probes::database::{Upstream, assess};
use drcockpit::probes::images::{ImageRow, ImageTarget, Lookup, dr_reading};
use drcockpit::sim::hostile::{ELSEWHERE, Lie, schedule};

mod common;
use common::{demo_plan_at as demo_plan, t0_outage as t0};

fn state(now: DateTime<Utc>) -> State {
    let op = Operator {
        name: "alice".into(),
        host: "bastion-1".into(),
    };
    State::new(
        Arc::new(demo_plan("http://127.0.0.1:7400")),
        Mode::Monitor,
        op,
        now,
    )
}

fn observe_at(
    st: &mut State,
    site: SiteId,
    section: Section,
    at: DateTime<Utc>,
    outcome: Result<Reading, ProbeError>,
    now: DateTime<Utc>,
) {
    let _ = update(
        st,
        Msg::Observed(Observation {
            site,
            section,
            at,
            outcome,
        }),
        now,
    );
}

// ---------------------------------------------------------------------------------------------
// Every section, through the engine: arrival order, staleness, skewed clocks, errors.

/// What the world really was when a probe answered, and how the answer was stamped.
#[derive(Debug, Clone)]
struct Event {
    site: usize,
    section: usize,
    /// 0 good, 1 warn, 2 bad, 3 error (refused, timed out: an answer after the timeout is an
    /// error to the client), 4 no answer at all (lost).
    kind: u8,
    /// Seconds of world time since the previous event.
    after: u64,
    /// 0: our clock; 1: a clock an hour ahead; 2: a clock behind by `behind` seconds.
    clock: u8,
    behind: i64,
}

fn event() -> impl Strategy<Value = Event> {
    (
        0usize..2,
        0usize..6,
        0u8..5,
        0u64..40,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        1i64..600,
    )
        .prop_map(|(site, section, kind, after, clock, behind)| Event {
            site,
            section,
            kind,
            after,
            clock,
            behind,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// No section is healthy unless the world really was good at its last answer, recently;
    /// no site is READY unless every configured section is.
    #[test]
    fn no_sequence_of_observations_is_green_where_the_truth_is_not(events in prop::collection::vec(event(), 1..60), tail in 0u64..120) {
        let mut now = t0();
        let mut st = state(now);
        let stale_after = st.stale_after();
        // Ground truth per (site, section): the kind of the last real answer and its world time.
        let mut truth: std::collections::HashMap<(usize, usize), (u8, DateTime<Utc>)> = Default::default();
        for e in &events {
            now += chrono::Duration::seconds(e.after as i64);
            let site = SiteId::ALL[e.site];
            let section = Section::ALL[e.section];
            if e.kind == 4 {
                continue; // lost: the world said nothing the cockpit heard
            }
            truth.insert((e.site, e.section), (e.kind, now));
            let at = match e.clock {
                1 => now + chrono::Duration::hours(1),
                2 => now - chrono::Duration::seconds(e.behind),
                _ => now,
            };
            let outcome = match e.kind {
                0 => Ok(Reading::new("good", Level::Good)),
                1 => Ok(Reading::new("warn", Level::Warn)),
                2 => Ok(Reading::new("bad", Level::Bad)),
                _ => Err(ProbeError::new("timeout", "no answer within 2s")),
            };
            observe_at(&mut st, site, section, at, outcome, now);
        }
        now += chrono::Duration::seconds(tail as i64);
        let _ = update(&mut st, Msg::Tick, now);
        for (si, site) in SiteId::ALL.into_iter().enumerate() {
            let mut all_good = true;
            for (ci, sec) in Section::ALL.into_iter().enumerate() {
                let h = section_health(&st, site, sec);
                let real = truth.get(&(si, ci)).copied();
                let really_good = matches!(real, Some((0, w)) if (now - w).to_std().unwrap_or_default() <= stale_after);
                if h == SectionHealth::Good {
                    prop_assert!(really_good, "{site:?} {sec:?} drawn healthy, truth {real:?}");
                }
                if matches!(h, SectionHealth::Stale | SectionHealth::Error | SectionHealth::Waiting) {
                    prop_assert!(!h.healthy());
                }
                if h != SectionHealth::NotConfigured {
                    all_good &= really_good;
                }
            }
            if st.verdict(site) == Verdict::Ready {
                prop_assert!(all_good, "{site:?} READY while a section was not really good");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DNS: every nameserver's answer, records pointing elsewhere or at nothing.

const PROD_T: &str = "192.0.2.10";
const DR_T: &str = "198.51.100.20";

fn ns_answer() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        3 => Just(Some(PROD_T)),
        3 => Just(Some(DR_T)),
        1 => Just(Some(ELSEWHERE)),
        1 => Just(Some("")),
        1 => Just(None),
    ]
}

fn zone(answers: &[Option<&str>]) -> ZoneView {
    ZoneView {
        record: "shop.demo.test.".into(),
        record_type: "A".into(),
        answers: answers
            .iter()
            .enumerate()
            .map(|(i, a)| NsAnswer {
                ns: format!("ns{i}"),
                result: match a {
                    Some(v) => Ok(NsResult {
                        values: if v.is_empty() {
                            vec![]
                        } else {
                            vec![v.to_string()]
                        },
                        ttl: Some(5),
                        serial: Some(7),
                        rcode: if v.is_empty() {
                            "NXDOMAIN".into()
                        } else {
                            "NOERROR".into()
                        },
                        elapsed: Duration::from_millis(1),
                    }),
                    None => Err(DnsError::NoAnswer {
                        ns: format!("ns{i}"),
                        ms: 2000,
                        tcp: false,
                    }),
                },
            })
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// DNS is healthy only when every authoritative nameserver answers the same target and
    /// that target is one of the sites' `dns_target`; an answer at neither site is an error
    /// that names it.
    #[test]
    fn dns_is_never_green_unless_every_nameserver_answers_one_site(answers in prop::collection::vec(ns_answer(), 1..5)) {
        let plan = demo_plan("http://127.0.0.1:7400");
        let truth_ok = answers.iter().all(|a| a.is_some())
            && (answers.iter().all(|a| *a == Some(PROD_T)) || answers.iter().all(|a| *a == Some(DR_T)));
        let foreign = answers.iter().any(|a| matches!(a, Some(v) if *v == ELSEWHERE || v.is_empty()));
        for site in SiteId::ALL {
            match drcockpit::probes::dns::reading(&plan, site, &zone(&answers)) {
                Ok(r) => {
                    if r.level == Level::Good {
                        prop_assert!(truth_ok, "{site:?}: {answers:?} drawn healthy: {}", r.summary);
                    }
                    if foreign {
                        prop_assert_eq!(r.level, Level::Bad, "{:?}: {}", answers, r.summary);
                        if answers.contains(&Some(ELSEWHERE)) {
                            prop_assert!(r.summary.contains(ELSEWHERE), "{}", r.summary);
                        }
                    }
                }
                Err(_) => prop_assert!(answers.iter().all(|a| a.is_none())),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Database: split brain, fences that cannot be read, contradictory fields.

fn server(primary: bool, read_only_answer: Option<bool>) -> ServerStatus {
    let lsn = Lsn::parse("0/3000000");
    ServerStatus {
        in_recovery: !primary,
        server_version: 150000,
        server_now: None,
        current_lsn: if primary { lsn } else { None },
        receive_lsn: lsn,
        replay_lsn: lsn,
        replay_backlog_bytes: Some(0),
        last_replay_at: None,
        since_last_replay: Some(Duration::from_secs(1)),
        replicas: vec![],
        wal_receiver: (!primary).then(|| WalReceiver {
            status: "streaming".into(),
            sender: Some("127.0.0.1:5432".into()),
            slot: Some("s".into()),
            flushed_lsn: lsn,
            latest_end_lsn: lsn,
            since_last_msg: Some(Duration::from_secs(1)),
        }),
        slots: vec![],
        subscriptions: vec![],
        backup_age: None,
        server_read_only: read_only_answer,
    }
}

/// One site's database: really a primary? really writable? what the fence query answered
/// (`None`: could not be told).
fn db_world() -> impl Strategy<Value = (bool, bool, bool)> {
    (any::<bool>(), any::<bool>(), any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Two writable primaries are never green, whatever the fence query could tell.
    #[test]
    fn split_brain_is_never_green((p_primary, p_writable, p_told) in db_world(), (d_primary, d_writable, d_told) in db_world()) {
        let now = t0();
        let mut st = state(now);
        let cfg = DatabaseConfig { max_lag_bytes: Some(16 << 20), ..Default::default() };
        let lsn = Lsn::parse("0/3000000").map(Upstream::Live).unwrap_or(Upstream::Unknown);
        for (site, primary, writable, told) in [(SiteId::Prod, p_primary, p_writable, p_told), (SiteId::Dr, d_primary, d_writable, d_told)] {
            let answer = told.then_some(!writable);
            let r = assess(&server(primary, answer), &lsn, true, &cfg);
            observe_at(&mut st, site, Section::Database, now, Ok(r), now);
        }
        let truly_split = p_primary && p_writable && d_primary && d_writable;
        if truly_split {
            for site in SiteId::ALL {
                prop_assert_eq!(section_health(&st, site, Section::Database), SectionHealth::Bad);
            }
            prop_assert_ne!(st.verdict(SiteId::Dr), Verdict::Ready);
            prop_assert!(split_brain(&st.view(SiteId::Prod, Section::Database), &st.view(SiteId::Dr, Section::Database)));
        }
    }

    /// `writable` and `fenced` disagreeing: the worse (writable) wins.
    #[test]
    fn contradictory_fence_fields_count_as_writable(fenced in any::<bool>(), writable in any::<bool>()) {
        let now = t0();
        let mut st = state(now);
        let primary = |w: bool, f: bool| Reading::new("primary", Level::Good)
            .field("role", Value::Text("primary".into()))
            .field("writable", Value::Bool(w))
            .field("fenced", Value::Bool(f));
        observe_at(&mut st, SiteId::Prod, Section::Database, now, Ok(primary(writable, fenced)), now);
        observe_at(&mut st, SiteId::Dr, Section::Database, now, Ok(primary(true, false)), now);
        let refuses = !writable && fenced;
        prop_assert_eq!(st.verdict(SiteId::Dr) == Verdict::Down, !refuses);
    }
}

// ---------------------------------------------------------------------------------------------
// Images: a registry that answers 200 with another digest.

fn manifest(d: &str) -> Manifest {
    Manifest {
        digest: format!("sha256:{d}"),
        media_type: None,
        size: None,
        digest_from_body: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// DR images are green only when every DR digest is prod's, whatever status it answered.
    #[test]
    fn images_are_never_green_unless_every_digest_matches(dr in prop::collection::vec(0u8..4, 1..5)) {
        let rows: Vec<ImageRow> = dr
            .iter()
            .enumerate()
            .map(|(i, k)| ImageRow {
                target: ImageTarget {
                    service: format!("svc{i}"),
                    prod_repository: format!("shop/svc{i}"),
                    dr_repository: format!("shop-dr/svc{i}"),
                    tag: Some("1.0".into()),
                    source: "plan".into(),
                },
                prod: Lookup::Present(manifest(&format!("{i:064}"))),
                dr: match k {
                    0 => Lookup::Present(manifest(&format!("{i:064}"))),
                    1 => Lookup::Present(manifest(&format!("{:064}", i + 100))),
                    2 => Lookup::Missing,
                    _ => Lookup::Error("timed out".into()),
                },
                prod_seen_ago: None,
            })
            .collect();
        let r = dr_reading(&rows);
        let truth = dr.iter().all(|k| *k == 0);
        if r.level == Level::Good {
            prop_assert!(truth, "{dr:?}: {}", r.summary);
        }
        if dr.contains(&1) {
            prop_assert_eq!(r.level, Level::Bad);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The hostile simulator: its ground truth against what the real probes make of its answers.

/// A seed whose first lie is `lie`.
fn seed_starting_with(lie: Lie) -> u64 {
    (0u64..10_000)
        .find(|s| schedule(*s)[0] == lie)
        .unwrap_or_else(|| panic!("no seed starts with {lie:?}"))
}

#[test]
fn the_schedule_is_seeded_and_plays_every_lie() {
    assert_eq!(schedule(42), schedule(42));
    let mut all = schedule(7);
    all.sort_by_key(|l| format!("{l:?}"));
    all.dedup();
    assert_eq!(all.len(), Lie::ALL.len());
    assert!((0..50u64).any(|s| schedule(s) != schedule(42)));
}

#[test]
fn every_hostile_lie_is_seen_by_the_real_probes_and_never_green() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for lie in Lie::ALL {
        let truth = lie.truth();
        let seed = seed_starting_with(lie);
        let report = rt.block_on(async {
            let sim = drcockpit::sim::start(drcockpit::sim::SimOptions {
                scenario: "hostile".into(),
                seed,
                listen: None,
                time_scale: 1,
            })
            .await
            .expect("simulator");
            let started = std::time::Instant::now();
            // Let the DNS lie reach the nameservers (applied within 250 ms).
            tokio::time::sleep(Duration::from_millis(600)).await;
            let plan = Arc::new(demo_plan(&sim.url));
            let report = drcockpit::runtime::status::evaluate(plan, Duration::from_secs(5)).await;
            assert!(
                started.elapsed() < drcockpit::sim::hostile::LIE_LENGTH,
                "{lie:?}: the round outlived the lie ({:?}): the answers may belong to the next one",
                started.elapsed()
            );
            sim.shutdown().await;
            report
        });
        let text = drcockpit::runtime::status::render_text(&report);
        let state_of = |site: &str, sec: &str| {
            report
                .sites
                .iter()
                .find(|s| s.site == site)
                .and_then(|s| s.sections.iter().find(|x| x.section == sec))
                .map(|x| x.state.clone())
                .unwrap_or_default()
        };
        if !truth.dr_ready() {
            assert_ne!(
                report.exit_code, 0,
                "{lie:?}: the truth is not ready but status said ready:\n{text}"
            );
            assert_ne!(report.overall, "ready", "{lie:?}\n{text}");
        }
        if !truth.dns_at_a_site {
            assert_eq!(state_of("dr", "dns"), "bad", "{lie:?}\n{text}");
            assert_eq!(report.exit_code, 2, "{lie:?}\n{text}");
        }
        if !truth.prod_database_up {
            assert_ne!(state_of("prod", "database"), "good", "{lie:?}\n{text}");
        }
        if !truth.dr_images_match {
            assert_eq!(state_of("dr", "images"), "bad", "{lie:?}\n{text}");
        }
        if !truth.dr_backup_age_known || truth.split_brain {
            assert_ne!(state_of("dr", "database"), "good", "{lie:?}\n{text}");
        }
        if !truth.dr_answers_in_time {
            assert_ne!(state_of("dr", "health"), "good", "{lie:?}\n{text}");
            assert_eq!(report.exit_code, 2, "{lie:?}\n{text}");
        }
    }
}
