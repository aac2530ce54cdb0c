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

mod crash;
mod takeover;
mod walkthrough;
mod watchers;
