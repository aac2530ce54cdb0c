//! Real PostgreSQL 15 servers for the integration tests: a primary, a streaming standby
//! (`pg_basebackup -R`), each on loopback in a temporary directory on a free port. When the
//! server binaries are missing, tests FAIL and say how to install them
//! (`scripts/install-test-deps.sh`). Taken from tests/postgres.rs's harness so the failback
//! tests (tests/failback.rs) start servers the same way; the primary can be made with data
//! checksums, which `pg_rewind` needs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use drcockpit::clients::postgres::{self, ConnectOptions};

use super::free_port;

pub fn bin_dir() -> PathBuf {
    std::env::var_os("DRCOCKPIT_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

pub fn require_binaries() {
    for b in ["initdb", "pg_ctl", "pg_basebackup", "postgres", "pg_rewind"] {
        let p = bin_dir().join(b);
        assert!(
            p.exists(),
            "PostgreSQL 15 server binary {} is missing: run `scripts/install-test-deps.sh` (as root) \
             to install postgresql-15, or point DRCOCKPIT_PG_BIN at its bin directory",
            p.display()
        );
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The argv that runs PostgreSQL program `name` (as user `postgres` when the tests run as root).
pub fn pg_argv(name: &str) -> Vec<String> {
    let bin = bin_dir().join(name).display().to_string();
    if is_root() {
        vec![
            "runuser".into(),
            "-u".into(),
            "postgres".into(),
            "--".into(),
            bin,
        ]
    } else {
        vec![bin]
    }
}

/// A PostgreSQL command, as user `postgres` when the tests run as root.
pub fn pg_cmd(name: &str) -> Command {
    let argv = pg_argv(name);
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]);
    c
}

pub fn run(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Pg {
    pub data: PathBuf,
    pub port: u16,
    _tmp: Option<tempfile::TempDir>,
}

impl Pg {
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
    pub fn log(&self) -> PathBuf {
        self.data.with_extension("log")
    }
    pub fn start(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D").arg(&self.data).arg("-l").arg(self.log());
        c.args(["-w", "-t", "60", "start"]);
        run(c, "pg_ctl start");
    }
    /// A clean shutdown (`-m fast`), as an operator stops an old primary before rewinding it.
    pub fn stop_fast(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]);
        run(c, "pg_ctl stop");
    }
    pub fn stop_immediate(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.output();
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}

pub fn tempdir() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("drcockpit-pg-")
        .tempdir()
        .expect("temp dir");
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.arg("postgres:postgres").arg(t.path());
                c
            },
            "chown the temp dir to postgres",
        );
    }
    t
}

pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("append config");
}

pub fn common_conf(port: u16, dir: &Path) -> String {
    format!(
        "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\nfsync = off\n\
         shared_buffers = 16MB\nmax_connections = 40\nwal_receiver_status_interval = 1s\n",
        dir.display()
    )
}

/// `initdb` a trust-auth cluster (superuser `postgres`) at `data`; `checksums` adds
/// `--data-checksums` (what lets `pg_rewind` work without `wal_log_hints`).
pub fn initdb(data: &Path, checksums: bool, what: &str) {
    let mut c = pg_cmd("initdb");
    c.arg("-D")
        .arg(data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
    if checksums {
        c.arg("--data-checksums");
    }
    run(c, what);
}

/// Configure the cluster at `data` (in `tmp`) on a free port, plus `extra` settings, and start
/// it; the returned server owns `tmp`.
pub fn start_cluster(tmp: tempfile::TempDir, data: PathBuf, extra: &str) -> Pg {
    let port = free_port();
    append(
        &data.join("postgresql.conf"),
        &format!("{}{extra}", common_conf(port, tmp.path())),
    );
    let pg = Pg {
        data,
        port,
        _tmp: Some(tmp),
    };
    pg.start();
    pg
}

/// A fresh primary (initdb, wal_level=logical, replication allowed from loopback, WAL kept).
pub fn primary(checksums: bool) -> Pg {
    require_binaries();
    let tmp = tempdir();
    let data = tmp.path().join("primary");
    initdb(&data, checksums, "initdb");
    append(
        &data.join("pg_hba.conf"),
        "\nhost replication all 127.0.0.1/32 trust\n",
    );
    // pg_rewind reads the rewound server's own WAL back to the last checkpoint before the fork:
    // keep it (a real setup keeps it with wal_keep_size or gives pg_rewind a restore_command).
    start_cluster(tmp, data, "wal_keep_size = '256MB'\n")
}

/// A streaming standby of `p` (`pg_basebackup -R -C -S <slot>`).
pub fn standby(p: &Pg, slot: &str) -> Pg {
    let tmp = tempdir();
    let data = tmp.path().join("standby");
    let mut c = pg_cmd("pg_basebackup");
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &p.port.to_string(),
        "-U",
        "postgres",
        "-D",
    ])
    .arg(&data)
    .args(["-R", "-X", "stream", "-C", "-S", slot]);
    run(c, "pg_basebackup");
    start_cluster(tmp, data, "")
}

pub async fn admin(url: &str) -> postgres::PgSession {
    postgres::connect(url, &ConnectOptions::mutating(Duration::from_secs(60)))
        .await
        .unwrap_or_else(|e| panic!("admin session: {e}"))
}

pub async fn sql(url: &str, q: &str) {
    admin(url)
        .await
        .simple(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}
