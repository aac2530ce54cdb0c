//! Issue 13 leftover: a watcher that takes over (`T` + TAKEOVER) starts again as the driver with
//! the display options its operator started it with (it used to drop `--theme`, `--log-file`…).

use super::*;

const PLAN: &str = r#"
[plan]
name = "take-over options test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "noop"
title = "Nothing to do"
kind = "command"
command = ["true"]
"#;

/// Bob watches with `--log-file` and `--theme`, then takes over: the driver he becomes writes
/// its first words (the take-over) into the debug log he asked for.
#[test]
fn a_watcher_that_takes_over_keeps_its_display_options() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let shared = tmp.path().join("shared");
    let shared_s = shared.to_string_lossy().to_string();
    let plan = tmp.path().join("takeover.toml");
    std::fs::write(&plan, PLAN).expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let log = tmp.path().join("bob-debug.log");
    let log_s = log.to_string_lossy().to_string();
    let env = |who: &'static str| {
        vec![
            ("DRCOCKPIT_OPERATOR", who),
            ("DRCOCKPIT_STATE_DIR", shared_s.as_str()),
        ]
    };
    let mut alice = Cockpit::spawn(&["live", &plan_s], &tmp.path().join("alice"), &env("alice"));
    alice.wait_screen("LIVE", Duration::from_secs(20));
    super::watchers::wait_for_journal(&shared);
    let mut bob = Cockpit::spawn(
        &[
            "--log-file",
            &log_s,
            "--theme",
            "high-contrast",
            "live",
            &plan_s,
        ],
        &tmp.path().join("bob"),
        &env("bob"),
    );
    bob.wait_screen("driven by alice@", Duration::from_secs(20));
    bob.send("T");
    bob.send("TAKEOVER\r");
    bob.wait_screen("LIVE", Duration::from_secs(30));
    let start = Instant::now();
    let said = "took over the plan's lock from alice@";
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(said)
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the driver bob became did not keep --log-file; the log has:\n{}\nthe screen:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            bob.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    bob.send("q");
    bob.wait_exit(Duration::from_secs(15));
    alice.send("q");
    alice.wait_exit(Duration::from_secs(15));
}
