//! Never a false green: the section verdicts (one function, `app::observe::section_health`) as the
//! panels, `status`, `check --online` and conditions see them, driven through the engine's
//! `update()` with the observations a lying world produces.

use std::sync::Arc;
use std::time::Duration;

use drcockpit::app::observe::{SPLIT_BRAIN, SectionHealth, section_health};
use drcockpit::app::{
    Level, Mode, Msg, Observation, Operator, ProbeError, Reading, Section, State, Verdict, update,
};
use drcockpit::clients::dns::DnsError;
use drcockpit::clients::dns::query::{NsAnswer, NsResult, ZoneView};
use drcockpit::plan::{Plan, SiteId, Value};
use drcockpit::runtime::status;

mod common;
use common::screen::{render, text};
use common::t0_outage as t0;

fn demo_plan() -> Plan {
    common::demo_plan_at("http://127.0.0.1:7400")
}

fn state() -> State {
    let op = Operator {
        name: "alice".into(),
        host: "bastion-1".into(),
    };
    State::new(Arc::new(demo_plan()), Mode::Monitor, op, t0())
}

fn observe(st: &mut State, site: SiteId, section: Section, outcome: Result<Reading, ProbeError>) {
    let now = st.now;
    let _ = update(
        st,
        Msg::Observed(Observation {
            site,
            section,
            at: now,
            outcome,
        }),
        now,
    );
}

fn good(summary: &str) -> Reading {
    Reading::new(summary, Level::Good).field("ok", Value::Bool(true))
}

fn primary(writable: Option<bool>) -> Reading {
    let mut r = Reading::new("primary", Level::Good)
        .field("role", Value::Text("primary".into()))
        .field("lag", Value::Bytes(0));
    if let Some(w) = writable {
        r = r
            .field("writable", Value::Bool(w))
            .field("fenced", Value::Bool(!w));
    }
    r
}

fn standby() -> Reading {
    Reading::new("standby · 0 B behind", Level::Good)
        .field("role", Value::Text("standby".into()))
        .field("writable", Value::Bool(false))
        .field("lag", Value::Bytes(0))
}

/// Every section of both sites fresh and good, DR a standby.
fn all_good(st: &mut State) {
    for site in SiteId::ALL {
        for sec in [
            Section::Cluster,
            Section::Env,
            Section::Images,
            Section::Health,
            Section::Parity,
        ] {
            observe(st, site, sec, Ok(good("fine")));
        }
    }
    observe(st, SiteId::Prod, Section::Database, Ok(primary(Some(true))));
    observe(st, SiteId::Dr, Section::Database, Ok(standby()));
    let plan = st.plan.clone();
    for site in SiteId::ALL {
        let r = drcockpit::probes::dns::reading(
            &plan,
            site,
            &zone(&[Ok("192.0.2.10"), Ok("192.0.2.10")]),
        )
        .expect("reading");
        observe(st, site, Section::Dns, Ok(r));
    }
}

fn ns_ok(value: &str) -> NsResult {
    NsResult {
        values: if value.is_empty() {
            vec![]
        } else {
            vec![value.to_string()]
        },
        ttl: Some(5),
        serial: Some(1),
        rcode: if value.is_empty() {
            "NXDOMAIN".into()
        } else {
            "NOERROR".into()
        },
        elapsed: Duration::from_millis(1),
    }
}

/// Two nameservers' answers (`Ok("")` = NXDOMAIN, `Err(())` = no answer).
fn zone(answers: &[Result<&str, ()>]) -> ZoneView {
    ZoneView {
        record: "shop.demo.test.".into(),
        record_type: "A".into(),
        answers: answers
            .iter()
            .enumerate()
            .map(|(i, a)| NsAnswer {
                ns: format!("ns{}", i + 1),
                result: match a {
                    Ok(v) => Ok(ns_ok(v)),
                    Err(()) => Err(DnsError::NoAnswer {
                        ns: format!("ns{}", i + 1),
                        ms: 2000,
                        tcp: false,
                    }),
                },
            })
            .collect(),
    }
}

fn screen(st: &State, w: u16, h: u16) -> String {
    text(&render(st, w, h))
}

fn set_dns(st: &mut State, answers: &[Result<&str, ()>]) {
    let plan = st.plan.clone();
    for site in SiteId::ALL {
        let r = drcockpit::probes::dns::reading(&plan, site, &zone(answers)).expect("reading");
        observe(st, site, Section::Dns, Ok(r));
    }
}

#[test]
fn the_baseline_is_ready_exit_0() {
    let mut st = state();
    all_good(&mut st);
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Ready);
    assert_eq!(st.verdict(SiteId::Prod), Verdict::Ready);
    let r = status::report_of(&st.plan, &st, 12);
    assert_eq!(r.exit_code, status::READY, "{}", status::render_text(&r));
}

// ---- defect 2 -------------------------------------------------------------------------------

#[test]
fn dns_pointing_at_neither_site_is_an_error_on_both_panels_and_names_the_answer() {
    let mut st = state();
    all_good(&mut st);
    set_dns(&mut st, &[Ok("203.0.113.9"), Ok("203.0.113.9")]);
    for site in SiteId::ALL {
        assert_eq!(section_health(&st, site, Section::Dns), SectionHealth::Bad);
        assert_eq!(st.verdict(site), Verdict::Down, "{site:?}");
    }
    let r = status::report_of(&st.plan, &st, 12);
    assert_eq!(r.exit_code, status::NOT_READY);
    let text = status::render_text(&r);
    assert!(text.contains("203.0.113.9"), "{text}");
    let screen = screen(&st, 160, 48);
    assert!(screen.contains("✗ → other: 203.0.113.9"), "{screen}");
}

#[test]
fn dns_pointing_at_nothing_is_an_error_and_says_so() {
    let mut st = state();
    all_good(&mut st);
    set_dns(&mut st, &[Ok(""), Ok("")]);
    for site in SiteId::ALL {
        assert_eq!(section_health(&st, site, Section::Dns), SectionHealth::Bad);
    }
    let r = status::report_of(&st.plan, &st, 12);
    assert_eq!(r.exit_code, status::NOT_READY);
    assert!(status::render_text(&r).contains("no A record (NXDOMAIN)"));
}

#[test]
fn one_nameserver_pointing_elsewhere_makes_the_whole_section_bad() {
    let mut st = state();
    all_good(&mut st);
    set_dns(&mut st, &[Ok("192.0.2.10"), Ok("203.0.113.9")]);
    assert_eq!(
        section_health(&st, SiteId::Dr, Section::Dns),
        SectionHealth::Bad
    );
}

// ---- defect 3 -------------------------------------------------------------------------------

#[test]
fn split_brain_is_critical_in_words_on_the_header_and_in_status() {
    let mut st = state();
    all_good(&mut st);
    observe(
        &mut st,
        SiteId::Dr,
        Section::Database,
        Ok(primary(Some(true))),
    );
    for site in SiteId::ALL {
        assert_eq!(
            section_health(&st, site, Section::Database),
            SectionHealth::Bad
        );
    }
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Down);
    let r = status::report_of(&st.plan, &st, 12);
    assert_eq!(r.exit_code, status::NOT_READY);
    let text = status::render_text(&r);
    assert!(text.contains("split brain"), "{text}");
    assert!(status::render_prometheus(&r).contains("drcockpit_split_brain{plan=\"demo shop"));
    for (w, h) in [(160, 48), (80, 24)] {
        let s = screen(&st, w, h);
        let header = s.lines().next().unwrap_or_default();
        assert!(header.contains(SPLIT_BRAIN), "{w}x{h}: {header}");
    }
    let s = screen(&st, 160, 48);
    // The words that explain the verdict come first in the row (issue 14 item 11).
    assert!(s.contains("✗ SPLIT BRAIN · primary"), "{s}");
}

#[test]
fn two_primaries_whose_fence_cannot_be_read_count_as_split_brain() {
    let mut st = state();
    all_good(&mut st);
    observe(&mut st, SiteId::Prod, Section::Database, Ok(primary(None)));
    observe(&mut st, SiteId::Dr, Section::Database, Ok(primary(None)));
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Down);
}

#[test]
fn a_fenced_old_primary_is_not_split_brain() {
    let mut st = state();
    all_good(&mut st);
    let fenced = Reading::new("primary · fenced (read-only)", Level::Good)
        .field("role", Value::Text("primary".into()))
        .field("fenced", Value::Bool(true))
        .field("writable", Value::Bool(false));
    observe(&mut st, SiteId::Prod, Section::Database, Ok(fenced));
    observe(
        &mut st,
        SiteId::Dr,
        Section::Database,
        Ok(primary(Some(true))),
    );
    assert_eq!(st.verdict(SiteId::Dr), Verdict::Ready);
    let r = status::report_of(&st.plan, &st, 12);
    assert!(r.alerts.is_empty());
    let s = screen(&st, 160, 48);
    assert!(s.contains("primary · fenced (read-only)"), "{s}");
    assert!(!s.contains("split brain"), "{s}");
}

// ---- defect 6 -------------------------------------------------------------------------------

#[test]
fn a_dr_component_down_or_refusing_us_is_not_ready_exit_2_not_3() {
    for sec in [Section::Database, Section::Images] {
        let mut st = state();
        all_good(&mut st);
        observe(
            &mut st,
            SiteId::Dr,
            sec,
            Err(ProbeError::new(
                "401 Unauthorized",
                "the registry refused our credentials",
            )),
        );
        let r = status::report_of(&st.plan, &st, 11);
        assert_eq!(r.exit_code, status::NOT_READY, "{sec:?}");
        assert_eq!(r.overall, "not-ready");
    }
    // Every DR probe failing while prod answers: still not ready, not "could not evaluate".
    let mut st = state();
    for sec in Section::ALL {
        observe(&mut st, SiteId::Prod, sec, Ok(good("fine")));
        observe(
            &mut st,
            SiteId::Dr,
            sec,
            Err(ProbeError::new("connection refused", "connection refused")),
        );
    }
    let r = status::report_of(&st.plan, &st, 6);
    assert_eq!(r.exit_code, status::NOT_READY);
    // Nothing answered at all: could not evaluate.
    let st = state();
    let r = status::report_of(&st.plan, &st, 0);
    assert_eq!(r.exit_code, status::UNKNOWN);
}

// ---- defect 7 -------------------------------------------------------------------------------

#[test]
fn prometheus_uses_one_encoding_and_names_the_build() {
    let mut st = state();
    all_good(&mut st);
    let ready = status::render_prometheus(&status::report_of(&st.plan, &st, 12));
    assert!(ready.contains("drcockpit_build_info{version=\""), "{ready}");
    assert!(ready.contains(",commit=\""), "{ready}");
    assert!(
        ready.contains("drcockpit_dr_ready{plan=\"demo shop"),
        "{ready}"
    );
    assert!(ready.contains("} 1\n"), "{ready}");
    assert!(ready.contains("state=\"ready\"} 1"), "{ready}");
    set_dns(&mut st, &[Ok("192.0.2.10"), Err(())]);
    let degraded = status::render_prometheus(&status::report_of(&st.plan, &st, 12));
    // 0/1 only: degraded is not "half ready".
    assert!(!degraded.contains(" 0.5\n"), "{degraded}");
    assert!(
        degraded.contains(
            "drcockpit_dr_ready{plan=\"demo shop: Scaleway fr-par → Scaleway nl-ams\"} 0"
        ),
        "{degraded}"
    );
    assert!(degraded.contains("state=\"degraded\"} 1"), "{degraded}");
    assert!(
        degraded.contains("section=\"dns\",state=\"warn\"} 1"),
        "{degraded}"
    );
}

#[test]
fn textfile_is_written_atomically_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("drcockpit.prom");
    std::fs::write(&path, "old").expect("seed");
    status::write_atomically(&path, "new\n").expect("write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "new\n");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["drcockpit.prom".to_string()]);
    // A directory that does not exist: an error, and nothing left behind.
    let bad = dir.path().join("missing/drcockpit.prom");
    assert!(status::write_atomically(&bad, "x").is_err());
}

// ---- defect 8 -------------------------------------------------------------------------------

/// The panel row, `status`, `check --online` and the `healthy` condition field all read the
/// same section verdict, for every kind of DNS answer.
#[test]
fn panels_status_online_and_conditions_agree_on_every_section() {
    let cases: &[&[Result<&str, ()>]] = &[
        &[Ok("192.0.2.10"), Ok("192.0.2.10")],
        &[Ok("192.0.2.10"), Err(())],
        &[Ok("192.0.2.10"), Ok("198.51.100.20")],
        &[Ok("203.0.113.9"), Ok("203.0.113.9")],
        &[Ok(""), Ok("192.0.2.10")],
    ];
    for answers in cases {
        let mut st = state();
        all_good(&mut st);
        set_dns(&mut st, answers);
        let report = status::report_of(&st.plan, &st, 12);
        let screen = screen(&st, 160, 48);
        for site in SiteId::ALL {
            for sec in Section::ALL {
                let h = section_health(&st, site, sec);
                let from_status = report
                    .sites
                    .iter()
                    .find(|s| s.site == site.as_str())
                    .and_then(|s| s.sections.iter().find(|x| x.section == sec.as_str()))
                    .map(|x| x.state.clone());
                assert_eq!(
                    from_status.as_deref(),
                    Some(h.word()),
                    "{answers:?} {site:?} {sec:?}"
                );
                let (line, _) =
                    status::panel_line(&st, site, sec, Duration::from_secs(5)).expect("configured");
                assert!(
                    line.starts_with(h.icon()),
                    "{answers:?} {site:?} {sec:?}: online says {line} but the verdict is {h:?}"
                );
                let healthy = st.lookup(&format!("{}.{}.healthy", site.as_str(), sec.as_str()));
                match healthy {
                    drcockpit::plan::condition::Lookup::Value { value, .. } => {
                        assert_eq!(
                            value,
                            Value::Bool(h.healthy()),
                            "{answers:?} {site:?} {sec:?}"
                        )
                    }
                    other => panic!("healthy lookup: {other:?}"),
                }
            }
        }
        // The panel draws the same mark.
        let dns_h = section_health(&st, SiteId::Dr, Section::Dns);
        let dns_row = screen
            .lines()
            .find(|l| l.contains("DNS "))
            .unwrap_or_default()
            .to_string();
        assert!(
            dns_row.contains(&format!("DNS      {}", dns_h.icon())),
            "{answers:?}: {dns_row}"
        );
    }
}

#[test]
fn check_online_never_shows_a_bare_tick_for_a_degraded_section() {
    let mut st = state();
    all_good(&mut st);
    set_dns(&mut st, &[Ok("192.0.2.10"), Err(())]);
    let (line, _) =
        status::panel_line(&st, SiteId::Dr, Section::Dns, Duration::from_secs(5)).expect("line");
    assert!(line.starts_with('!'), "{line}");
    assert!(line.contains("1/2 NS"), "{line}");
    assert!(line.contains("(warn)"), "{line}");
}

// ---- skewed clocks --------------------------------------------------------------------------

#[test]
fn a_value_stamped_in_the_future_is_never_fresh() {
    let mut st = state();
    all_good(&mut st);
    let now = st.now;
    let future = now + chrono::Duration::seconds(3600);
    let _ = update(
        &mut st,
        Msg::Observed(Observation {
            site: SiteId::Dr,
            section: Section::Health,
            at: future,
            outcome: Ok(good("200 OK")),
        }),
        now,
    );
    assert_eq!(
        section_health(&st, SiteId::Dr, Section::Health),
        SectionHealth::Stale
    );
    assert_ne!(st.verdict(SiteId::Dr), Verdict::Ready);
}

// ---- the header's RPO figure ----------------------------------------------------------------

/// The DR standby's lag measures data loss only while the prod primary answers: with the primary
/// down the header said `RPO 0 B · 0s / 5m`, a number that only looked right.
#[test]
fn the_header_rpo_is_unknown_while_the_prod_primary_does_not_answer() {
    let mut st = state();
    all_good(&mut st);
    assert!(st.rpo_estimate().is_some(), "both databases answer");
    assert!(st.rpo_unknown_reason().is_none());
    observe(
        &mut st,
        SiteId::Prod,
        Section::Database,
        Err(ProbeError::new("connection refused", "connection refused")),
    );
    assert_eq!(st.rpo_estimate(), None);
    assert_eq!(st.rpo_unknown_reason().as_deref(), Some("prod db down"));
    for (w, h) in [(160, 48), (80, 24)] {
        let text = screen(&st, w, h);
        let header = text.lines().next().unwrap_or_default();
        assert!(header.contains("RPO UNKNOWN"), "{w}x{h}: {header}");
        assert!(!header.contains("RPO 0 B"), "{w}x{h}: {header}");
    }
}
