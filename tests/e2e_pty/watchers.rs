//! Issue 13: watchers and `follow`.

use super::*;

// ---------------------------------------------------------------- issue 13: watchers

const WATCH_PLAN: &str = r#"
[plan]
name = "watch test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[notify]
url = "${sim}/webhooks/slack-milestones"

[[step]]
id = "notify"
title = "Tell the team"
kind = "http.request"
method = "POST"
url = "${sim}/webhooks/slack"
headers = { "Content-Type" = "application/json" }
body = '{"text": "watch-test-failover"}'
expect_status = [200]
timeout = "10s"

[[step]]
id = "mutate"
title = "Append to the marker file"
kind = "command"
command = ["sh", "-c", "echo ran >> MARKER"]
"#;

/// The journal the driver names in the shared state directory, once it has made it.
pub(super) fn wait_for_journal(shared: &Path) -> PathBuf {
    let shared_s = shared.to_string_lossy();
    let start = Instant::now();
    loop {
        let found: Vec<PathBuf> = std::fs::read_dir(shared)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        if let Some(j) = found
            .into_iter()
            .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        {
            break j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no journal in {shared_s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every key in the watcher: nothing reaches the simulator, no step starts.
fn watcher_keys_run_nothing(
    bob: &mut Cockpit,
    journal: &Path,
    marker: &Path,
    posts: impl Fn() -> usize,
) {
    for ch in (b' '..=b'~')
        .map(char::from)
        .filter(|c| !matches!(c, 'q' | 'n' | 'T'))
    {
        bob.send(&format!("{ch}\rFAILOVER\ry\x1b"));
    }
    bob.send("\x1b?");
    bob.wait_screen("Keys for the ", Duration::from_secs(120));
    bob.send("\x1b");
    assert_eq!(posts(), 1, "the watcher's keys reached the simulator");
    assert!(!marker.exists(), "the watcher ran a step");
    assert!(!has_event(journal, |v| v["operator"] == "bob" && v["type"] != "note"));
}

/// A note from the watcher: on the driver's screen and in the journal after the step.
fn watcher_note_reaches_the_driver(bob: &mut Cockpit, alice: &Cockpit, journal: &Path) {
    bob.send("n");
    bob.send("db replica lag 2s\r");
    alice.wait_screen("note from bob: db replica lag 2s", Duration::from_secs(20));
    let evs = events(journal);
    let finished = evs
        .iter()
        .position(finished_ok("notify"))
        .expect("finished");
    let note = evs
        .iter()
        .position(|v| v["type"] == "note" && v["operator"] == "bob")
        .expect("bob's note is journaled");
    assert!(note > finished, "{evs:?}");
    assert_eq!(
        evs[note]["step"], "notify",
        "the note attaches to the selected step"
    );
}

/// Hand-over: bob takes over; alice becomes a watcher whose keys run nothing.
fn hand_over_to_the_watcher(bob: &mut Cockpit, alice: &mut Cockpit, journal: &Path, marker: &Path) {
    bob.send("T");
    bob.send("TAKEOVER\r");
    bob.wait_screen("LIVE", Duration::from_secs(30));
    wait_event(journal, "bob's session", Duration::from_secs(20), |v| {
        v["type"] == "session_started" && v["operator"] == "bob"
    });
    alice.wait_screen("MONITOR", Duration::from_secs(20));
    alice.wait_screen("bob@", Duration::from_secs(20));
    alice.send("\r");
    alice.send("y");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !marker.exists(),
        "the old driver ran a step after the hand-over"
    );
    assert!(!has_event(journal, |v| v["type"] == "step_started"
        && v["step"] == "mutate"));
    assert!(has_event(journal, |v| v["type"] == "note"
        && v["operator"] == "bob"
        && v["text"].as_str().is_some_and(
            |t| t.contains("took over") && t.contains("alice")
        )));
}

/// Both quit; the journal's `seq` only grows, the report names both drivers, the hand-over and
/// the note, and `[notify]` posted the hand-over once.
fn quit_both_and_report(mut alice: Cockpit, mut bob: Cockpit, journal: &Path, port: u16) {
    alice.send("q");
    assert_eq!(alice.wait_exit(Duration::from_secs(15)), Some(0));
    bob.send("q");
    bob.wait_exit(Duration::from_secs(15));
    let seqs: Vec<u64> = events(journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq must be strictly increasing: {seqs:?}"
    );
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .arg("report")
        .arg(journal)
        .output()
        .expect("report");
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(md.contains("## People"), "{md}");
    assert!(
        md.contains("- driver: alice@") && md.contains("- driver: bob@"),
        "{md}"
    );
    assert!(md.contains("- hand-over: alice@"), "{md}");
    assert!(md.contains("- notes: bob"), "{md}");
    // [notify]: the driver's milestones, and the hand-over posted once (by the new driver only).
    let milestones = http_get(port, "/webhooks/slack-milestones");
    assert!(
        milestones.contains("Tell the team done (alice)"),
        "{milestones}"
    );
    assert_eq!(
        milestones.matches("took over from alice@").count(),
        1,
        "{milestones}"
    );
}

/// Two operators on one plan, each with their own XDG_STATE_HOME and one shared state
/// directory: alice drives, bob watches (sees the step done, runs nothing, writes a note alice
/// sees), then bob takes over and alice's cockpit runs nothing more; the report names both.
#[test]
fn two_cockpits_one_plan_watch_note_and_hand_over() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let shared = tmp.path().join("shared");
    let shared_s = shared.to_string_lossy().to_string();
    let (home_a, home_b) = (tmp.path().join("alice"), tmp.path().join("bob"));
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("watch.toml");
    std::fs::write(
        &plan,
        WATCH_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["simulate", "--listen", &listen, "--scenario", "all-good"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the simulator");
    let url = format!("http://{listen}");
    let env = |who: &'static str| {
        vec![
            ("DRCOCKPIT_OPERATOR", who),
            ("DRCOCKPIT_STATE_DIR", shared_s.as_str()),
            ("DRCOCKPIT_SIM_URL", url.as_str()),
        ]
    };
    let posts = || {
        http_get(port, "/webhooks/slack")
            .matches("watch-test-failover")
            .count()
    };

    let mut alice = Cockpit::spawn(&["live", &plan_s], &home_a, &env("alice"));
    alice.wait_screen("LIVE", Duration::from_secs(20));
    let journal = wait_for_journal(&shared);
    let mut bob = Cockpit::spawn(&["live", &plan_s], &home_b, &env("bob"));
    bob.wait_screen("MONITOR", Duration::from_secs(20));
    bob.wait_screen("driven by alice@", Duration::from_secs(20));

    // The driver runs step 1; the watcher's screen shows it done.
    alice.send("\r");
    alice.send("y");
    wait_event(
        &journal,
        "notify finished",
        Duration::from_secs(30),
        finished_ok("notify"),
    );
    bob.wait_screen("succeeded (alice)", Duration::from_secs(20));
    assert_eq!(posts(), 1);

    watcher_keys_run_nothing(&mut bob, &journal, &marker, posts);
    watcher_note_reaches_the_driver(&mut bob, &alice, &journal);
    hand_over_to_the_watcher(&mut bob, &mut alice, &journal, &marker);
    quit_both_and_report(alice, bob, &journal, port);
    let _ = sim.kill();
    let _ = sim.wait();
}

fn follow_records() -> Vec<drcockpit::journal::Event> {
    use drcockpit::journal::{Event, StepInfo};
    vec![
        Event::SessionStarted {
            plan_name: "Followed plan".into(),
            plan_source: "p.toml".into(),
            plan_hash: "h".into(),
            mode: "live".into(),
            drill: false,
            host: "bastion-1".into(),
            pid: 1,
            version: "0".into(),
            commit: None,
            resumed_from: None,
            rto_secs: Some(3600),
            rpo_secs: Some(900),
            steps: vec![
                StepInfo {
                    id: "switch".into(),
                    title: "Switch the database".into(),
                    kind: "command".into(),
                    mutating: Some(true),
                },
                StepInfo {
                    id: "tell".into(),
                    title: "Tell the team".into(),
                    kind: "http.request".into(),
                    mutating: Some(true),
                },
            ],
        },
        Event::StepStarted {
            step: "switch".into(),
            attempt: 1,
            kind: Some("command".into()),
        },
        Event::StepOutput {
            step: "switch".into(),
            attempt: 1,
            stream: "stdout".into(),
            line: "hello-from-the-driver".into(),
        },
        Event::StepFinished {
            step: "switch".into(),
            attempt: 1,
            ok: true,
            detail: "exit 0".into(),
        },
    ]
}

/// `follow` on a finished journal: no plan file, no probes; the checklist, the log, the end,
/// and the summary when it is left.
#[test]
fn follow_shows_a_finished_journal_and_prints_its_summary() {
    use drcockpit::journal::Event;
    let tmp = tempfile::tempdir().expect("tempdir");
    let journal = tmp.path().join("copy.jsonl");
    let mut w = drcockpit::journal::writer::JournalWriter::create(&journal, "alice").expect("j");
    for ev in follow_records() {
        w.append(ev).expect("append");
    }
    w.append(Event::SessionEnded {
        reason: "completed".into(),
    })
    .expect("append");
    let before = std::fs::read(&journal).expect("read");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(
        &["follow", &j],
        tmp.path(),
        &[("DRCOCKPIT_OPERATOR", "stakeholder")],
    );
    c.wait_screen("Switch the database", Duration::from_secs(20));
    c.wait_screen("hello-from-the-driver", Duration::from_secs(20));
    c.wait_screen("the session ended (completed)", Duration::from_secs(20));
    // Nothing runs, nothing is written: the keys of a driver and of a watcher do nothing.
    c.send("\ry");
    c.send("nsome note\r");
    c.send("\x1bTTAKEOVER\r\x1b");
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(15)), Some(0));
    c.wait_screen("the session ended: completed", Duration::from_secs(10));
    assert_eq!(
        std::fs::read(&journal).expect("read"),
        before,
        "follow wrote to the journal"
    );
}

/// `follow` on a growing journal: each new record shows up while it is open.
#[test]
fn follow_shows_a_growing_journal_as_it_grows() {
    use drcockpit::journal::Event;
    let tmp = tempfile::tempdir().expect("tempdir");
    let journal = tmp.path().join("live.jsonl");
    let mut w = drcockpit::journal::writer::JournalWriter::create(&journal, "alice").expect("j");
    let mut evs = follow_records().into_iter();
    w.append(evs.next().expect("first")).expect("append");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(&["follow", &j], tmp.path(), &[]);
    c.wait_screen("driven by alice@bastion-1", Duration::from_secs(20));
    for ev in evs {
        w.append(ev).expect("append");
    }
    c.wait_screen("succeeded (alice)", Duration::from_secs(20));
    let mut carol =
        drcockpit::journal::writer::JournalWriter::create(&journal, "carol").expect("j");
    carol
        .append(Event::Note {
            step: Some("tell".into()),
            text: "slack is down, phoning".into(),
        })
        .expect("append");
    c.wait_screen(
        "note from carol: slack is down, phoning",
        Duration::from_secs(20),
    );
    w.append(Event::SessionEnded {
        reason: "quit".into(),
    })
    .expect("append");
    c.wait_screen("the session ended (quit)", Duration::from_secs(20));
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(15)), Some(0));
}
