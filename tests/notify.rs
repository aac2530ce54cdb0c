//! Issue 13, item 5: `[notify]` milestones — which journal records become messages (pure),
//! the plan section, and posting against the simulator's webhook sinks (one that rejects, one
//! that is down).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use drcockpit::journal::lock::Lock;
use drcockpit::journal::writer::JournalWriter;
use drcockpit::journal::{Event, Record};
use drcockpit::notify::{self, Milestones, NotifySection};

fn plan_text(notify: &str) -> String {
    format!(
        r#"
[plan]
name = "Shop notify"
strategy = "pilot-light"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

{notify}

[[step]]
id = "promote"
title = "Promote the DR database"
kind = "manual"
instructions = "promote it"

[[step]]
id = "switch"
title = "Switch DNS"
kind = "manual"
instructions = "switch it"
"#
    )
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 7, 11, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn rec(seq: u64, secs: i64, op: &str, event: Event) -> Record {
    Record {
        seq,
        at: t(secs),
        operator: op.into(),
        event,
    }
}

fn started(host: &str) -> Event {
    Event::SessionStarted {
        plan_name: "Shop notify".into(),
        plan_source: "p.toml".into(),
        plan_hash: "h".into(),
        mode: "live".into(),
        drill: false,
        host: host.into(),
        pid: 1,
        version: "0".into(),
        commit: None,
        resumed_from: None,
        rto_secs: None,
        rpo_secs: None,
        steps: vec![],
    }
}

fn section(extra: &str) -> NotifySection {
    let v: toml::Value =
        toml::from_str(&format!("url = \"http://x\"\n{extra}")).expect("section parses");
    v.try_into().expect("section")
}

fn plan(notify: &str) -> Arc<drcockpit::plan::Plan> {
    Arc::new(
        drcockpit::steps::load_str(&plan_text(notify), "p.toml", &Default::default())
            .expect("plan loads"),
    )
}

#[test]
fn milestones_are_the_declaration_each_step_a_hand_over_and_done_with_the_rto_clock() {
    let mut ms = Milestones::new(
        plan(""),
        section("step_finished = \"{plan}: {title} ✓ by {operator} at {elapsed} / {rto}\""),
    );
    let records = [
        rec(0, 0, "alice", started("bastion-1")),
        rec(
            1,
            60,
            "alice",
            Event::Declared {
                note: "prod is down".into(),
            },
        ),
        rec(
            2,
            70,
            "alice",
            Event::StepStarted {
                step: "promote".into(),
                attempt: 1,
                kind: None,
            },
        ),
        rec(
            3,
            180,
            "alice",
            Event::ManualDone {
                step: "promote".into(),
                note: "done".into(),
            },
        ),
        rec(
            4,
            200,
            "bob",
            Event::Note {
                step: None,
                text: "hi".into(),
            },
        ),
        rec(5, 300, "dave", started("bastion-2")),
        rec(
            6,
            400,
            "dave",
            Event::StepFinished {
                step: "switch".into(),
                attempt: 1,
                ok: false,
                detail: "NXDOMAIN".into(),
            },
        ),
        rec(
            7,
            500,
            "dave",
            Event::Skipped {
                step: "switch".into(),
                reason: "by hand".into(),
            },
        ),
    ];
    let got: Vec<(String, String)> = records
        .iter()
        .flat_map(|r| ms.next(r))
        .map(|m| (m.kind.to_string(), m.text))
        .collect();
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "declared",
            "step_finished",
            "hand_over",
            "step_failed",
            "done"
        ],
        "{got:?}"
    );
    assert_eq!(
        got[1].1,
        "Shop notify: Promote the DR database ✓ by alice at 2m00s / 30m"
    );
    assert!(
        got[2]
            .1
            .contains("dave@bastion-2 took over from alice@bastion-1"),
        "{}",
        got[2].1
    );
    assert!(
        got[3].1.contains("NXDOMAIN") && got[3].1.contains("5m40s"),
        "{}",
        got[3].1
    );
    assert!(got[4].1.contains("checklist completed"), "{}", got[4].1);
}

#[test]
fn a_secret_in_a_milestone_is_redacted() {
    drcockpit::redact::register("notify-secret-token-1234", "test");
    let mut ms = Milestones::new(plan(""), section(""));
    ms.next(&rec(0, 0, "alice", started("b")));
    let m = ms
        .next(&rec(
            1,
            5,
            "alice",
            Event::StepFinished {
                step: "promote".into(),
                attempt: 1,
                ok: false,
                detail: "401 with token notify-secret-token-1234".into(),
            },
        ))
        .pop()
        .expect("a milestone");
    assert!(!m.text.contains("notify-secret-token-1234"), "{}", m.text);
}

#[test]
fn the_notify_section_is_checked_at_plan_load() {
    let bad = plan_text("[notify]\nurl = \"http://x\"\nchannel = \"#ops\"\n");
    let err = drcockpit::steps::load_str(&bad, "p.toml", &Default::default())
        .expect_err("unknown key")
        .to_string();
    assert!(err.contains("channel"), "{err}");
    plan("[notify]\nurl = \"${env:SLACK_WEBHOOK_URL}\"\nformat = \"teams\"\n");
}

async fn wait_webhooks(sim: &drcockpit::sim::SimHandle, name: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let got = sim.webhooks(name);
        if got.len() >= n || start.elapsed() > Duration::from_secs(20) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The plan file, the lock, a journal; `notify::spawn` following it as the driver does.
fn drive(dir: &std::path::Path, notify: &str, sim_url: &str) -> (JournalWriter, Lock) {
    let plan_file = dir.join("p.toml");
    std::fs::write(&plan_file, plan_text(notify)).expect("plan");
    let lock = Lock::acquire(&dir.join("p.lock"), "alice", "bastion-1", false).expect("lock");
    let journal = dir.join("j.jsonl");
    let w = JournalWriter::create(&journal, "alice").expect("journal");
    let n = notify::load(&plan_file, Some(sim_url.into()))
        .expect("notify loads")
        .expect("a [notify] section");
    let plan = Arc::new(
        drcockpit::steps::load_str(
            &plan_text(notify),
            "p.toml",
            &drcockpit::plan::LoadOptions {
                sim_url: Some(sim_url.into()),
                run_commands: true,
            },
        )
        .expect("plan"),
    );
    let lock2 = Lock::acquire(&dir.join("p2.lock"), "alice", "bastion-1", false).expect("lock");
    notify::spawn(n, plan, journal, &[], Arc::new(lock2));
    (w, lock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milestones_reach_the_slack_sink_and_a_rejecting_sink_gets_each_message_once() {
    let sim = drcockpit::sim::start(drcockpit::sim::SimOptions {
        scenario: "all-good".into(),
        seed: 1,
        listen: None,
        time_scale: 1,
    })
    .await
    .expect("sim");
    let tmp = tempfile::tempdir().expect("tmp");
    let (mut w, _lock) = drive(
        tmp.path(),
        "[notify]\nurl = \"${sim}/webhooks/slack\"\n",
        &sim.url,
    );
    w.append(started("bastion-1")).expect("append");
    w.append(Event::Declared {
        note: "prod down".into(),
    })
    .expect("append");
    w.append(Event::ManualDone {
        step: "promote".into(),
        note: "ok".into(),
    })
    .expect("append");
    let got = wait_webhooks(&sim, "slack", 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].contains("incident declared by alice") && got[0].contains("RTO 30m"),
        "{got:?}"
    );
    assert!(
        got[1].contains("Promote the DR database done (alice)") && got[1].contains("of RTO 30m"),
        "{got:?}"
    );

    // A sink that answers with an error: each milestone is posted once, never retried.
    let tmp2 = tempfile::tempdir().expect("tmp");
    let (mut w2, _lock2) = drive(
        tmp2.path(),
        "[notify]\nurl = \"${sim}/webhooks/pagerduty\"\nformat = \"json\"\n",
        &sim.url,
    );
    w2.append(started("bastion-1")).expect("append");
    w2.append(Event::Declared {
        note: "prod down".into(),
    })
    .expect("append");
    let got = wait_webhooks(&sim, "pagerduty", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("\"milestone\":\"declared\""), "{got:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sim.webhooks("pagerduty").len(),
        1,
        "a rejected post must not be retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_is_down_never_holds_up_the_journal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let tmp = tempfile::tempdir().expect("tmp");
    let url = format!("http://127.0.0.1:{port}");
    let (mut w, _lock) = drive(
        tmp.path(),
        "[notify]\nurl = \"${sim}/hook\"\ntimeout = \"1s\"\n",
        &url,
    );
    // Appends go on at journal speed while every post fails.
    for i in 0..20 {
        w.append(started("bastion-1")).expect("append");
        w.append(Event::Declared {
            note: format!("n{i}"),
        })
        .expect("append");
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(w.next_seq(), 40);
}

/// `check` lists the `[notify]` webhook's reference among what the plan needs at run time, and
/// an unknown format is a plan error, not a warning the notifier logs later.
#[test]
fn check_lists_the_notify_webhook_reference_and_refuses_an_unknown_format() {
    let text =
        plan_text("[notify]\nurl = \"${env:DRCOCKPIT_TEST_UNSET_HOOK}\"\nformat = \"teams\"\n");
    let opts = drcockpit::plan::LoadOptions {
        sim_url: None,
        run_commands: false,
    };
    let loaded =
        drcockpit::steps::load_checking(&text, "p.toml", &opts, false).expect("a valid plan");
    assert!(
        loaded
            .needed
            .iter()
            .any(|n| n.contains("DRCOCKPIT_TEST_UNSET_HOOK")),
        "{:?}",
        loaded.needed
    );
    let bad =
        plan_text("[notify]\nurl = \"https://hooks.example.com/x\"\nformat = \"smoke-signals\"\n");
    let err = drcockpit::steps::load_checking(&bad, "p.toml", &opts, false)
        .expect_err("an unknown format is an error");
    assert!(
        err.to_string().contains("expected slack, teams or json"),
        "{err}"
    );
}
