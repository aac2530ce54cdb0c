//! `command` steps as processes: what the child sees (environment), where it runs (its own
//! session), how it is stopped (its whole process group), how a resumed cockpit recognises it
//! (pid + start time), and how its secrets are passed (`secret_env`, never the command line).

use std::sync::Arc;
use std::time::Duration;

use drcockpit::clients::http::HttpClient;
use drcockpit::plan::{CommandSpec, LoadOptions, StepAction};
use drcockpit::steps::command::{self, ProcessIdentity};
use drcockpit::steps::{StepContext, StepEvent};

mod common;

const PLAN: &str = r#"
[plan]
name = "procs"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "run"
title = "Run it"
kind = "command"
command = ["sh", "-c", "env"]
"#;

fn plan() -> Arc<drcockpit::plan::Plan> {
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:9".into()),
        run_commands: false,
    };
    Arc::new(drcockpit::steps::load_str(PLAN, "<test>", &opts).expect("test plan"))
}

fn spec(script: &str) -> CommandSpec {
    CommandSpec {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: None,
        env: vec![],
        secret_env: vec![],
        inherit_env: false,
        timeout: Duration::from_secs(30),
    }
}

fn new_ctx() -> (StepContext, common::steps::Heard) {
    let (mut ctx, rx) = common::steps::context(plan(), HttpClient::new(true));
    ctx.allow_spawn = true;
    (ctx, rx)
}

fn stdout_of(rx: &mut common::steps::Heard) -> Vec<String> {
    rx.lines()
        .into_iter()
        .filter(|line| line.stream == "stdout")
        .map(|line| line.text)
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A variable of this test process that the child must not see (any one not in the base set).
fn a_cockpit_only_variable() -> (String, String) {
    std::env::vars()
        .find(|(k, v)| {
            !command::BASE_ENV.contains(&k.as_str())
                && !v.is_empty()
                && !v.contains('\n')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .expect("the test process has some environment variable outside PATH/HOME/…")
}

#[test]
fn a_child_gets_a_minimal_environment_plus_its_env_and_secret_env() {
    let (leak, _) = a_cockpit_only_variable();
    let rt = runtime();
    let mut c = spec("env");
    c.env = vec![("REGION".into(), "eu-west-1".into())];
    c.secret_env = vec![("TOKEN".into(), "tok-0123456789".into())];
    let (ctx, mut rx) = new_ctx();
    rt.block_on(command::run(&c, &ctx)).expect("env runs");
    let lines = stdout_of(&mut rx);
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    assert!(
        !names.contains(&leak.as_str()),
        "{leak} from the cockpit's environment reached the child: {names:?}"
    );
    for n in &names {
        assert!(
            command::BASE_ENV.contains(n) || ["REGION", "TOKEN", "PWD", "SHLVL", "_"].contains(n),
            "unexpected variable {n} in the child's environment"
        );
    }
    assert!(names.contains(&"PATH"), "PATH is passed: {names:?}");
    assert!(lines.iter().any(|l| l == "REGION=eu-west-1"));
    assert!(lines.iter().any(|l| l == "TOKEN=tok-0123456789"));

    // inherit_env = true opts back in.
    c.inherit_env = true;
    let (ctx, mut rx) = new_ctx();
    rt.block_on(command::run(&c, &ctx)).expect("env runs");
    let lines = stdout_of(&mut rx);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{leak}="))),
        "inherit_env passes {leak}"
    );
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

fn gone(pid: u32) -> bool {
    !matches!(stat_field(pid, 3).as_deref(), Some(s) if s != "Z" && s != "X")
}

#[test]
fn a_child_runs_in_its_own_session_and_a_stop_kills_its_grandchildren() {
    let rt = runtime();
    // sh prints the pid of a grandchild `sleep`, then waits for it.
    let c = spec("sleep 300 & echo $!; wait");
    let (ctx, mut rx) = new_ctx();
    let (child, grandchild) = rt.block_on(async {
        let run = command::run(&c, &ctx);
        tokio::pin!(run);
        let mut child = None;
        let mut grandchild = None;
        // Drive the step until both pids are known, then drop it: what a timeout or the
        // operator's abort does.
        for _ in 0..200 {
            tokio::select! {
                r = &mut run => panic!("the step ended early: {r:?}"),
                m = rx.recv() => match m {
                    Some(StepEvent::ProcessStarted { pid, start_ticks, .. }) => {
                        assert!(start_ticks.is_some(), "Linux: the start time is recorded");
                        child = Some(pid);
                    }
                    Some(StepEvent::Output { line, .. }) if line.stream == "stdout" => {
                        grandchild = line.text.trim().parse::<u32>().ok();
                    }
                    _ => {}
                },
            }
            if child.is_some() && grandchild.is_some() {
                break;
            }
        }
        let child = child.expect("child pid");
        // Its own session: the session id (field 6) is its own pid, not the test's session.
        // Read while the step still runs: dropping it below stops (and reaps) the child.
        assert_eq!(stat_field(child, 6), Some(child.to_string()));
        assert_ne!(stat_field(child, 6), stat_field(std::process::id(), 6));
        (child, grandchild.expect("grandchild pid"))
    });
    let mut waited = 0;
    while !(gone(child) && gone(grandchild)) && waited < 200 {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    assert!(
        gone(grandchild),
        "the grandchild sleep {grandchild} survived the stop"
    );
    assert!(gone(child), "the child {child} survived the stop");
}

#[test]
fn a_process_is_recognised_by_pid_and_start_time() {
    let me = ProcessIdentity::of(std::process::id());
    assert!(me.start_ticks.is_some());
    assert!(me.is_alive());
    let reused = ProcessIdentity {
        start_ticks: me.start_ticks.map(|t| t + 1),
        ..me.clone()
    };
    assert!(!reused.is_alive(), "same pid, another start time: not it");
    let rebooted = ProcessIdentity {
        boot_id: Some("another-boot".into()),
        ..me.clone()
    };
    assert!(
        !rebooted.is_alive(),
        "same pid and ticks after a reboot: not it"
    );
    let unknown = ProcessIdentity {
        start_ticks: None,
        ..me
    };
    assert!(!unknown.is_alive(), "a pid alone proves nothing");
}

const SECRET_PLAN: &str = r#"
[plan]
name = "secrets in commands"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "push"
title = "Push with a token"
kind = "command"
command = ["sh", "-c", "curl -H \"Authorization: Bearer $TOKEN\" https://example.com"]
secret_env = { TOKEN = "${env:DRC_PROCS_TEST_TOKEN}" }

[[step]]
id = "leaky"
title = "Token on the command line"
kind = "command"
command = ["curl", "-H", "Authorization: Bearer ${env:DRC_PROCS_TEST_TOKEN}", "https://example.com"]
"#;

#[test]
fn secret_env_is_redacted_and_check_warns_about_references_in_arguments() {
    let secret = "procs-secret-7f3a9c21";
    // SAFETY: set before anything in this test binary reads the environment concurrently; the
    // name is unique to this test.
    unsafe { std::env::set_var("DRC_PROCS_TEST_TOKEN", secret) };
    let opts = LoadOptions {
        sim_url: Some("http://127.0.0.1:9".into()),
        run_commands: false,
    };
    let loaded = drcockpit::steps::load_str_with_notes(SECRET_PLAN, "<test>", &opts)
        .expect("the plan loads");
    let StepAction::Command(push) = &loaded.plan.steps[0].action else {
        panic!("a command step");
    };
    assert_eq!(
        push.secret_env,
        vec![("TOKEN".to_string(), secret.to_string())]
    );
    assert!(!push.args.iter().any(|a| a.contains(secret)));
    // Review mode shows the variable and a label, never the value.
    let described = drcockpit::steps::describe(&loaded.plan.steps[0].action)
        .into_iter()
        .map(drcockpit::redact::redact_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(described.contains("TOKEN=‹secret"), "{described}");
    assert!(!described.contains(secret), "{described}");

    let warnings: Vec<&String> = loaded
        .notes
        .iter()
        .filter(|n| n.contains("secret_env") && n.contains("ps"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, for `leaky`: {:?}",
        loaded.notes
    );
    assert!(warnings[0].contains("leaky") && !warnings[0].contains(secret));

    // A key in both maps is ambiguous.
    let both = SECRET_PLAN.replace(
        "secret_env = { TOKEN",
        "env = { TOKEN = \"x\" }\nsecret_env = { TOKEN",
    );
    let Err(e) = drcockpit::steps::load_str_with_notes(&both, "<test>", &opts) else {
        panic!("a key in both env and secret_env is refused");
    };
    assert!(
        e.to_string().contains("both in `env` and `secret_env`"),
        "{e}"
    );
}

#[test]
fn the_schema_knows_secret_env_and_inherit_env() {
    let schema = drcockpit::steps::schema_json();
    assert!(schema.contains("\"secret_env\""));
    assert!(schema.contains("\"inherit_env\""));
}
