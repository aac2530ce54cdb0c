//! End-to-end: the real binary in a pseudo-terminal. Keys go in as bytes, the screen is read
//! back through a VT100 parser, and the journal on disk is the ground truth for what happened.
//! Timeouts here only bound how long a failing test waits; nothing asserts a duration.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

struct Cockpit {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
}

impl Cockpit {
    fn spawn(args: &[&str], state_home: &Path, extra_env: &[(&str, &str)]) -> Cockpit {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: 40,
                cols: 150,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_drcockpit"));
        cmd.args(args);
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        cmd.env("XDG_STATE_HOME", state_home);
        // Hermetic even on a host with /var/lib/drcockpit: the same directory XDG would give.
        cmd.env(
            "DRCOCKPIT_STATE_DIR",
            state_home.join("drcockpit").join("journal"),
        );
        cmd.env("XDG_CONFIG_HOME", state_home.join("config"));
        cmd.env("DRCOCKPIT_OPERATOR", "e2e");
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn drcockpit");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 150, 0)));
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = p2.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        Cockpit {
            child,
            writer,
            parser,
            _master: pair.master,
        }
    }

    fn screen(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).expect("write to pty");
        self.writer.flush().expect("flush pty");
        std::thread::sleep(Duration::from_millis(60));
    }

    fn wait_screen(&self, what: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.screen().contains(what) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("screen never showed {what:?}; it shows:\n{}", self.screen());
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<u32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.exit_code());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn pid(&self) -> i32 {
        self.child.process_id().map(|p| p as i32).unwrap_or(0)
    }
}

impl Drop for Cockpit {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn journals(state_home: &Path) -> Vec<PathBuf> {
    let dir = state_home.join("drcockpit").join("journal");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn has_event(path: &Path, f: impl Fn(&serde_json::Value) -> bool) -> bool {
    events(path).iter().any(f)
}

fn wait_event(path: &Path, what: &str, limit: Duration, f: impl Fn(&serde_json::Value) -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if has_event(path, &f) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "journal {} never recorded {what}; it has:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

fn is(v: &serde_json::Value, ty: &str, step: &str) -> bool {
    v["type"] == ty && v["step"] == step
}

fn finished_ok(step: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |v| is(v, "step_finished", step) && v["ok"] == true
}

#[test]
fn demo_walks_its_whole_checklist_with_the_keyboard() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut c = Cockpit::spawn(&[], tmp.path(), &[]);
    c.wait_screen("DEMO", Duration::from_secs(10));
    c.wait_screen("Detect failure", Duration::from_secs(5));
    let j = journals(tmp.path())
        .pop()
        .expect("the demo writes a journal");

    // 1. detect: a check that passes once prod health has failed long enough. ⏎ runs it once;
    // a failed attempt is retried with `r` (⏎ never re-runs a step that already ran).
    let start = Instant::now();
    while !has_event(&j, finished_ok("detect")) {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "detect never passed:\n{}",
            c.screen()
        );
        let failed_once = has_event(&j, |v| is(v, "step_finished", "detect"));
        c.send(if failed_once { "r" } else { "\r" });
        std::thread::sleep(Duration::from_millis(900));
    }
    // 2. approve with the typed word. Each key waits for the screen it acts on, so a slow
    // machine only makes the test slower, never wrong.
    c.wait_screen("Step 2 · approval", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Type FAILOVER to approve", Duration::from_secs(5));
    c.send("FAILOVER\r");
    wait_event(&j, "the approval", Duration::from_secs(5), |v| {
        is(v, "approved", "approve") && v["operator"] == "e2e"
    });
    // 3. manual step, done with a note.
    c.wait_screen("Step 3 · manual", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("What was done", Duration::from_secs(5));
    c.send("fenced in the provider console\r");
    wait_event(&j, "the manual step", Duration::from_secs(5), |v| {
        is(v, "manual_done", "fence-old-primary")
    });
    // 4. a command: confirm, output streams into the log, it succeeds.
    c.wait_screen("Step 4 · command", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&j, "command output", Duration::from_secs(10), |v| {
        is(v, "step_output", "record-bastion")
    });
    wait_event(
        &j,
        "the command",
        Duration::from_secs(20),
        finished_ok("record-bastion"),
    );
    c.wait_screen("bastion=", Duration::from_secs(5)); // the output reached the log pane
    // 5. Promote the DR database (managed, over the Scaleway API; typed word; RPO evidence).
    c.wait_screen("Step 5 · scaleway.promote_replica", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Type PROMOTE to run it", Duration::from_secs(5));
    c.send("PROMOTE\r");
    wait_event(
        &j,
        "the promotion",
        Duration::from_secs(60),
        finished_ok("promote-db"),
    );
    // 6. Qovery: point DATABASE_URL at DR (old → new, read back), through the real client.
    // A double ⏎ opens the confirmation and does not answer it (issue 11: two ⏎ sent two PUTs).
    c.wait_screen("Step 6 · qovery.set_variables", Duration::from_secs(10));
    c.send("\r\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.wait_screen("press y to run it", Duration::from_secs(5));
    assert!(
        !has_event(&j, |v| is(v, "step_started", "point-db-at-dr")),
        "⏎ confirmed a mutating step"
    );
    c.send("y");
    wait_event(
        &j,
        "the variable change",
        Duration::from_secs(30),
        finished_ok("point-db-at-dr"),
    );
    // Back on the finished step (the selection moved on), ⏎ and y dispatch nothing more.
    c.wait_screen("Step 7 · qovery.set_image", Duration::from_secs(10));
    c.send("k\r\ry\rj");
    // 7. Qovery: point the DR containers at the DR registry (images checked, PUT, read back).
    c.wait_screen("Step 7 · qovery.set_image", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(
        &j,
        "the image switch",
        Duration::from_secs(30),
        finished_ok("point-images-at-dr"),
    );
    // 8. Qovery: deploy the DR environment (typed word), followed to DEPLOYED.
    c.wait_screen("Step 8 · qovery.deploy", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Type DEPLOY to run it", Duration::from_secs(5));
    c.send("DEPLOY\r");
    wait_event(&j, "deployment progress", Duration::from_secs(20), |v| {
        is(v, "step_output", "deploy-dr")
    });
    wait_event(
        &j,
        "the deployment",
        Duration::from_secs(90),
        finished_ok("deploy-dr"),
    );
    // 9–10. http.check and wait against the simulator's DR health.
    c.wait_screen("Step 9 · http.check", Duration::from_secs(10));
    c.send("\r");
    wait_event(
        &j,
        "the DR health check",
        Duration::from_secs(20),
        finished_ok("dr-health"),
    );
    c.wait_screen("Step 10 · wait", Duration::from_secs(10));
    c.send("\r");
    wait_event(
        &j,
        "the wait",
        Duration::from_secs(40),
        finished_ok("dr-stable"),
    );
    // 11–12. Switch DNS to DR (typed word) and verify every nameserver answers it.
    c.wait_screen("Step 11 · dns.switch", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Type SWITCH to run it", Duration::from_secs(5));
    c.send("SWITCH\r");
    wait_event(
        &j,
        "the DNS switch",
        Duration::from_secs(30),
        finished_ok("switch-dns"),
    );
    c.wait_screen("Step 12 · dns.verify", Duration::from_secs(10));
    c.send("\r");
    wait_event(
        &j,
        "the DNS verification",
        Duration::from_secs(60),
        finished_ok("verify-dns"),
    );
    // 13. the webhook.
    c.wait_screen("Step 13 · http.request", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(
        &j,
        "the notification",
        Duration::from_secs(20),
        finished_ok("notify"),
    );
    let started = |id: &str| {
        events(&j)
            .iter()
            .filter(|v| is(v, "step_started", id))
            .count()
    };
    assert_eq!(started("point-db-at-dr"), 1, "the variables were set twice");
    c.send("q");
    let code = c.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "q did not quit:\n{}", c.screen());
    assert!(has_event(&j, |v| v["type"] == "session_ended"
        && v["reason"] == "completed"));
    // The journal becomes the record: RTO and RPO measured against the plan's targets.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args(["report", &j.to_string_lossy()])
        .output()
        .expect("drcockpit report");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{md}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rto = md
        .lines()
        .find(|l| l.starts_with("| RTO | target"))
        .unwrap_or_default();
    assert!(rto.contains("**MET**"), "RTO measured and met:\n{md}");
    let rpo = md
        .lines()
        .find(|l| l.starts_with("| RPO | target"))
        .unwrap_or_default();
    // The demo's PROD database is down at promotion: the replica's "0 B behind" is against a
    // position seen before it died, so data loss cannot be known (issue 11) — never MET.
    assert!(
        rpo.contains("**UNKNOWN**"),
        "RPO unknown with the primary gone:\n{md}"
    );
}

#[test]
fn monitor_mode_changes_nothing_whatever_keys_are_pressed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .args([
            "simulate",
            "--listen",
            &listen,
            "--scenario",
            "region-outage",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the simulator");
    let url = format!("http://{listen}");
    let mut c = Cockpit::spawn(
        &["monitor", "plans/demo.toml"],
        tmp.path(),
        &[("DRCOCKPIT_SIM_URL", &url)],
    );
    c.wait_screen("MONITOR", Duration::from_secs(10));
    for round in 0..2 {
        for ch in (b' '..=b'~').map(char::from).filter(|c| *c != 'q') {
            c.send(&format!("{ch}\rFAILOVER\ry"));
        }
        c.send("\t\x1b[B\r\x1b[A\r");
        let _ = round;
    }
    c.wait_screen("read-only", Duration::from_secs(5));
    assert!(
        journals(tmp.path()).is_empty(),
        "monitor mode must not write a journal"
    );
    let received = http_get(port, "/webhooks/slack");
    assert!(
        received.contains("[]"),
        "the webhook sink received something in monitor mode: {received}"
    );
    // A barrier: a debug build on a loaded machine draws slower than keys arrive, so wait
    // until the cockpit has worked through the barrage (the help it opens last is on screen)
    // before asking it to quit.
    // (Esc first closes whatever overlay the barrage left open.)
    c.send("\x1b");
    c.send("?");
    c.wait_screen("Keys for the ", Duration::from_secs(120));
    c.send("\x1b");
    c.send("q");
    let code = c.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "q did not quit:\n{}", c.screen());
    let _ = sim.kill();
    let _ = sim.wait();
}

/// A plain HTTP/1.0 GET over loopback (the test's own view of the simulator).
fn http_get(port: u16, path: &str) -> String {
    let mut s =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the simulator");
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

const CRASH_PLAN: &str = r#"
[plan]
name = "crash test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "long"
title = "A long command"
kind = "command"
command = ["sh", "-c", "echo started; sleep 60"]

[[step]]
id = "after"
title = "After the long one"
kind = "manual"
instructions = "nothing"
"#;

#[test]
fn kill_9_mid_step_then_resume_marks_it_unknown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("crash.toml");
    std::fs::write(&plan, CRASH_PLAN).expect("write plan");
    let journal = tmp.path().join("j.jsonl");
    let plan_s = plan.to_string_lossy().to_string();
    let journal_s = journal.to_string_lossy().to_string();

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.send("y");
    wait_event(
        &journal,
        "the step's process",
        Duration::from_secs(10),
        |v| is(v, "process_started", "long"),
    );
    unsafe { libc::kill(c.pid(), libc::SIGKILL) };
    // The child survives the cockpit (its own session); here it is stopped before the resume, so
    // the step is left unknown (`resume_follows_a_command_that_outlived_a_kill_9` covers the
    // still-running case).
    stop_recorded_child(&journal, "long");
    c.wait_exit(Duration::from_secs(5));
    let ev = events(&journal);
    assert!(ev.iter().any(|v| is(v, "step_started", "long")));
    assert!(!ev.iter().any(|v| is(v, "step_finished", "long")));

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "a resumed session", Duration::from_secs(5), |v| {
        v["type"] == "session_started" && v["resumed_from"].is_string()
    });
    // `d` only acts on a step left unknown by a crash.
    c.send("d");
    c.send("checked by hand: it finished\r");
    wait_event(
        &journal,
        "the step marked done",
        Duration::from_secs(5),
        |v| is(v, "marked_done", "long"),
    );
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn second_live_cockpit_opens_read_only_and_signals_end_cleanly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("lock.toml");
    std::fs::write(&plan, CRASH_PLAN).expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let j1 = tmp.path().join("one.jsonl").to_string_lossy().to_string();
    let mut first = Cockpit::spawn(&["live", &plan_s, "--journal", &j1], tmp.path(), &[]);
    first.wait_screen("LIVE", Duration::from_secs(10));
    let mut second = Cockpit::spawn(&["live", &plan_s], tmp.path(), &[]);
    second.wait_screen("MONITOR", Duration::from_secs(10));
    second.wait_screen("locked by", Duration::from_secs(5));
    second.send("q");
    assert_eq!(second.wait_exit(Duration::from_secs(10)), Some(0));

    unsafe { libc::kill(first.pid(), libc::SIGHUP) };
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(130));
    assert!(has_event(Path::new(&j1), |v| v["type"] == "session_ended"
        && v["reason"].as_str().is_some_and(|r| r.contains("SIGHUP"))));
    // The lock is released: a new live cockpit drives the plan.
    let mut third = Cockpit::spawn(&["live", &plan_s, "--journal", &j1], tmp.path(), &[]);
    third.wait_screen("LIVE", Duration::from_secs(10));
    unsafe { libc::kill(third.pid(), libc::SIGTERM) };
    assert_eq!(third.wait_exit(Duration::from_secs(10)), Some(130));
}

const SECRET_PLAN: &str = r#"
[plan]
name = "redaction"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "leaky"
title = "A command that prints its token"
kind = "command"
command = ["sh", "-c", "echo token=$TOKEN; echo rejected $TOKEN >&2; exit 3"]
env = { TOKEN = "${env:E2E_SECRET_TOKEN}" }
"#;

#[test]
fn a_secret_from_the_environment_never_reaches_screen_journal_or_report() {
    let secret = "s3cr3t-e2e-value-9f8a7b";
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("secret.toml");
    std::fs::write(&plan, SECRET_PLAN).expect("write plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &journal_s],
        tmp.path(),
        &[("E2E_SECRET_TOKEN", secret)],
    );
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the failed step", Duration::from_secs(10), |v| {
        is(v, "step_finished", "leaky")
    });
    c.wait_screen("FAILED", Duration::from_secs(5));
    c.send("t"); // the timeline shows every journaled line
    std::thread::sleep(Duration::from_millis(300));
    let screen = c.screen();
    assert!(
        !screen.contains(secret),
        "the secret is on screen:\n{screen}"
    );
    c.send("\x1b");
    // A lone ESC followed at once by `x` reads as Alt-x: let the ESC arrive on its own.
    std::thread::sleep(Duration::from_millis(300));
    c.send("x"); // expanded panels and full errors
    std::thread::sleep(Duration::from_millis(300));
    assert!(!c.screen().contains(secret));
    c.send("q");
    let code = c.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "screen:\n{}", c.screen());

    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(text.contains("token="), "the output was journaled");
    assert!(
        text.contains("‹secret step leaky: env TOKEN›"),
        "redacted in place: {text}"
    );
    assert!(!text.contains(secret), "the secret is in the journal");
    for format in ["md", "json"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
            .args(["report", &journal_s, "--format", format])
            .output()
            .expect("report");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        assert!(
            !all.contains(secret),
            "the secret is in the {format} report"
        );
    }
}

const TAKEOVER_PLAN: &str = r#"
[plan]
name = "take-over test"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "mutate"
title = "Append to the marker file"
kind = "command"
command = ["sh", "-c", "echo ran >> MARKER"]
"#;

#[test]
fn after_a_take_over_the_old_cockpit_runs_nothing_and_seq_never_repeats() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("takeover.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();

    let mut old = Cockpit::spawn(&["live", &plan_s, "--journal", &j], tmp.path(), &[]);
    old.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "the first session", Duration::from_secs(5), |v| {
        v["type"] == "session_started"
    });
    let mut new = Cockpit::spawn(
        &["live", &plan_s, "--take-over", "--journal", &j],
        tmp.path(),
        &[],
    );
    new.wait_screen("LIVE", Duration::from_secs(10));
    wait_event(&journal, "the take-over", Duration::from_secs(5), |v| {
        v["type"] == "note" && v["text"].as_str().is_some_and(|t| t.contains("took over"))
    });
    // The old cockpit notices within a second (clock tick) or at the latest on the keypress.
    old.send("\r");
    old.send("y");
    old.wait_screen("lost the plan's lock", Duration::from_secs(5));
    old.wait_screen("MONITOR", Duration::from_secs(5));
    old.send("\r");
    old.send("y");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !marker.exists(),
        "the old cockpit ran the step after the take-over"
    );
    assert!(!has_event(&journal, |v| v["type"] == "step_started"));

    old.send("q");
    assert_eq!(old.wait_exit(Duration::from_secs(10)), Some(0));
    unsafe { libc::kill(new.pid(), libc::SIGTERM) };
    new.wait_exit(Duration::from_secs(10));
    let seqs: Vec<u64> = events(&journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(seqs.len() >= 5, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq must be strictly increasing: {seqs:?}"
    );
    assert!(has_event(&journal, |v| v["type"] == "note"
        && v["text"]
            .as_str()
            .is_some_and(|t| t.contains("lost the plan's lock"))));
}

#[test]
fn a_journal_that_can_never_write_blocks_steps_and_exits_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("full.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &j],
        tmp.path(),
        &[("DRCOCKPIT_FAULT_JOURNAL_ENOSPC", "1000000")],
    );
    c.wait_screen("JOURNAL BLOCKED: 1 events waiting", Duration::from_secs(10));
    c.send("\r");
    c.send("y");
    c.wait_screen("cannot run step mutate", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "a step ran while the journal was blocked");
    c.send("q");
    assert_eq!(
        c.wait_exit(Duration::from_secs(15)),
        Some(1),
        "events that could never be written must not exit 0"
    );
    // Every failed write was cut back: no torn line is left.
    assert_eq!(std::fs::read(&journal).expect("read").len(), 0);
}

#[test]
fn a_journal_that_recovers_writes_every_waiting_event_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("marker");
    let plan = tmp.path().join("recover.toml");
    std::fs::write(
        &plan,
        TAKEOVER_PLAN.replace("MARKER", &marker.to_string_lossy()),
    )
    .expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let journal = tmp.path().join("j.jsonl");
    let j = journal.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(
        &["live", &plan_s, "--journal", &j],
        tmp.path(),
        &[("DRCOCKPIT_FAULT_JOURNAL_ENOSPC", "4")],
    );
    wait_event(
        &journal,
        "the session start",
        Duration::from_secs(15),
        |v| v["type"] == "session_started",
    );
    c.send("\r");
    c.send("y");
    wait_event(
        &journal,
        "the step's result",
        Duration::from_secs(10),
        finished_ok("mutate"),
    );
    assert!(marker.exists());
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
    let seqs: Vec<u64> = events(&journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let read = drcockpit::journal::read::read(&journal).expect("parses");
    assert!(read.torn_lines.is_empty() && read.torn_tail.is_none());
}

#[test]
fn a_cockpit_that_cannot_take_the_plans_lock_refuses_to_drive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The plan's [journal] dir cannot exist (its parent is a file): no lock can be taken there.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("write");
    let plan = tmp.path().join("nolock.toml");
    let text = format!(
        "{}\n[journal]\ndir = \"{}\"\n",
        TAKEOVER_PLAN.replace("MARKER", &tmp.path().join("m").to_string_lossy()),
        blocker.join("state").to_string_lossy()
    );
    std::fs::write(&plan, text).expect("write plan");
    let plan_s = plan.to_string_lossy().to_string();
    let mut c = Cockpit::spawn(&["live", &plan_s], tmp.path(), &[]);
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(1));
    c.wait_screen(
        "cannot take or read the plan's lock",
        Duration::from_secs(2),
    );
}

/// The pid a step's child was journaled with.
fn recorded_pid(journal: &Path, step: &str) -> i32 {
    events(journal)
        .iter()
        .rev()
        .find(|v| is(v, "process_started", step))
        .and_then(|v| v["pid"].as_i64())
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or_else(|| panic!("no process_started for {step} in {}", journal.display()))
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            let rest = t[t.rfind(')')? + 1..].to_string();
            rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

/// Kill a step's child process group (it leads its own session) and wait until it is gone.
fn stop_recorded_child(journal: &Path, step: &str) {
    let pid = recorded_pid(journal, step);
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let start = Instant::now();
    while alive(pid) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one_command_plan(name: &str, script: &str) -> String {
    format!(
        r#"
[plan]
name = "{name}"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "mutate"
title = "A half-done mutation must not be cut"
kind = "command"
command = ["sh", "-c", "{script}"]
timeout = "1m"
"#
    )
}

#[test]
fn sighup_while_a_command_runs_waits_for_it_then_journals_and_exits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("hup.toml");
    std::fs::write(&plan, one_command_plan("hangup", "sleep 2; echo done")).expect("plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the child's pid", Duration::from_secs(10), |v| {
        is(v, "process_started", "mutate") && v["start_ticks"].is_u64()
    });
    // The SSH session drops: the cockpit gets SIGHUP (its child, in its own session, does not).
    unsafe { libc::kill(c.pid(), libc::SIGHUP) };
    assert_eq!(
        c.wait_exit(Duration::from_secs(30)),
        Some(130),
        "the cockpit exits once the step has ended"
    );
    let ev = events(&journal);
    let pos = |f: &dyn Fn(&serde_json::Value) -> bool| ev.iter().position(f);
    let finished = pos(&|v| finished_ok("mutate")(v)).expect("the step succeeded");
    let ended = pos(&|v| {
        v["type"] == "session_ended" && v["reason"].as_str().is_some_and(|r| r.contains("SIGHUP"))
    })
    .expect("the session ended on SIGHUP");
    assert!(finished < ended, "the outcome is journaled before the end");
    assert!(
        ev.iter()
            .any(|v| is(v, "step_output", "mutate") && v["line"] == "done")
    );
    assert!(ev.iter().any(|v| {
        is(v, "note", "mutate")
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("stays without a terminal"))
    }));
}

#[test]
fn resume_follows_a_command_that_outlived_a_kill_9() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("follow.toml");
    let marker = tmp.path().join("finished");
    // It prints after the cockpit is gone: that write must not kill it (no SIGPIPE).
    let script = format!("sleep 4; echo done; touch {}", marker.display());
    std::fs::write(&plan, one_command_plan("follow", &script)).expect("plan");
    let journal = tmp.path().join("j.jsonl");
    let (plan_s, journal_s) = (
        plan.to_string_lossy().to_string(),
        journal.to_string_lossy().to_string(),
    );
    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen("LIVE", Duration::from_secs(10));
    c.send("\r");
    c.wait_screen("Confirm run", Duration::from_secs(5));
    c.send("y");
    wait_event(&journal, "the child's pid", Duration::from_secs(10), |v| {
        is(v, "process_started", "mutate")
    });
    unsafe { libc::kill(c.pid(), libc::SIGKILL) };
    c.wait_exit(Duration::from_secs(5));
    let pid = recorded_pid(&journal, "mutate");
    assert!(alive(pid), "the child outlives a kill -9 of the cockpit");

    let mut c = Cockpit::spawn(&["live", &plan_s, "--journal", &journal_s], tmp.path(), &[]);
    c.wait_screen(
        &format!("still running (pid {pid}"),
        Duration::from_secs(10),
    );
    // Not offered for retry while it runs.
    c.send("r");
    assert!(
        !events(&journal)
            .iter()
            .any(|v| is(v, "step_started", "mutate") && v["attempt"] == 2)
    );
    wait_event(
        &journal,
        "the followed process's end",
        Duration::from_secs(20),
        |v| {
            is(v, "process_ended", "mutate")
                && v["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("ended while the cockpit was away"))
        },
    );
    c.wait_screen("ended while the cockpit was away", Duration::from_secs(5));
    assert!(
        marker.exists(),
        "the child ran to its end although it printed with no cockpit reading"
    );
    c.send("q");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), Some(0));
}

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
    let journal = {
        let start = Instant::now();
        loop {
            let found: Vec<PathBuf> = std::fs::read_dir(&shared)
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
    };
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

    // Every key in the watcher: nothing reaches the simulator, no step starts.
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
    assert!(!has_event(&journal, |v| v["operator"] == "bob" && v["type"] != "note"));

    // A note from the watcher: on the driver's screen and in the journal after the step.
    bob.send("n");
    bob.send("db replica lag 2s\r");
    alice.wait_screen("note from bob: db replica lag 2s", Duration::from_secs(20));
    let evs = events(&journal);
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

    // Hand-over: bob takes over; alice becomes a watcher whose keys run nothing.
    bob.send("T");
    bob.send("TAKEOVER\r");
    bob.wait_screen("LIVE", Duration::from_secs(30));
    wait_event(&journal, "bob's session", Duration::from_secs(20), |v| {
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
    assert!(!has_event(&journal, |v| v["type"] == "step_started"
        && v["step"] == "mutate"));
    assert!(has_event(&journal, |v| v["type"] == "note"
        && v["operator"] == "bob"
        && v["text"].as_str().is_some_and(
            |t| t.contains("took over") && t.contains("alice")
        )));

    alice.send("q");
    assert_eq!(alice.wait_exit(Duration::from_secs(15)), Some(0));
    bob.send("q");
    bob.wait_exit(Duration::from_secs(15));
    let seqs: Vec<u64> = events(&journal)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq must be strictly increasing: {seqs:?}"
    );
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_drcockpit"))
        .arg("report")
        .arg(&journal)
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
