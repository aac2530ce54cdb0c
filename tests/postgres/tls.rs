//! TLS to PostgreSQL, following sslmode.

use super::*;

/// A primary with TLS on: a test CA and a server certificate for `localhost` only (no IP SAN).
fn tls_primary() -> (Pg, PathBuf) {
    require_binaries();
    let tmp = tempdir();
    let d = tmp.path();
    let ssl = |args: &[&str], what: &str| {
        let mut c = Command::new("openssl");
        c.current_dir(d).args(args);
        run(c, what);
    };
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    ssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=drcockpit test CA",
        ],
        "openssl CA",
    );
    ssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        "openssl CSR",
    );
    ssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
        "openssl sign",
    );
    if is_root() {
        let mut c = Command::new("chown");
        c.arg("postgres:postgres")
            .arg(d.join("server.key"))
            .arg(d.join("server.crt"));
        run(c, "chown key");
    }
    let mut c = Command::new("chmod");
    c.arg("600").arg(d.join("server.key"));
    run(c, "chmod key");
    let data = d.join("tls");
    initdb(&data, "initdb");
    let tls = format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        d.join("server.crt").display(),
        d.join("server.key").display()
    );
    let ca = d.join("ca.crt");
    (start_cluster(tmp, data, &tls), ca)
}

async fn uses_tls(url: &str) -> Result<bool, PgError> {
    let s = postgres::connect(url, &ConnectOptions::probe()).await?;
    let v = s
        .scalar("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .await?;
    Ok(v.as_deref() == Some("true"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_follows_sslmode() {
    let (p, ca) = tls_primary();
    let ca = ca.display().to_string();
    let at = |host: &str, q: &str| format!("postgresql://postgres@{host}:{}/postgres?{q}", p.port);
    // prefer (the default) and require encrypt without verifying.
    assert!(
        uses_tls(&format!(
            "postgresql://postgres@127.0.0.1:{}/postgres",
            p.port
        ))
        .await
        .expect("prefer")
    );
    assert!(
        uses_tls(&at("127.0.0.1", "sslmode=require"))
            .await
            .expect("require")
    );
    assert!(
        !uses_tls(&at("127.0.0.1", "sslmode=disable"))
            .await
            .expect("disable")
    );
    // verify-full: the built-in roots do not know the test CA.
    let e = uses_tls(&at("localhost", "sslmode=verify-full"))
        .await
        .expect_err("unknown CA");
    assert_eq!(e.short(), "unreachable", "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // With the CA: the right name passes, an IP not in the certificate does not.
    assert!(
        uses_tls(&at(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}")
        ))
        .await
        .expect("verify-full")
    );
    let e = uses_tls(&at(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .expect_err("name mismatch");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // verify-ca checks the chain only.
    assert!(
        uses_tls(&at(
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        ))
        .await
        .expect("verify-ca")
    );
}
