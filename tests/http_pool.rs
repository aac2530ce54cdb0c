//! The HTTP transport's connection pool is bounded: a burst of concurrent requests to one host
//! (the image probe's fan-out against a registry, 500 services against the Qovery API) must not
//! leave every connection it opened idle in the pool, each holding its buffers, until the pool's
//! idle timeout (90 s) — that kept 60-90 connections and ~8 MB against the 500-service simulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use drcockpit::clients::http::{HttpClient, POOL_IDLE_PER_HOST};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback HTTP/1.1 server that answers every request after `delay` (so a burst opens one
/// connection per request) and counts the connections open right now.
async fn counting_server(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let open = Arc::new(AtomicUsize::new(0));
    let counter = open.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let open = counter.clone();
            open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    // One answer per complete request head (GETs have no body).
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        tokio::time::sleep(delay).await;
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if sock.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (url, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_leaves_at_most_the_bound_of_idle_connections_open() {
    let burst = POOL_IDLE_PER_HOST * 3;
    let (url, open) = counting_server(Duration::from_millis(300)).await;
    let client = HttpClient::new(true);
    let asks = (0..burst).map(|i| {
        let c = client.clone();
        let u = format!("{url}/v2/svc-{i}/manifests/1.0");
        async move { c.get(&u, Duration::from_secs(20)).await }
    });
    let answers = futures::future::join_all(asks).await;
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Ok(r) if r.status == 200))
    );
    let peak = open.load(Ordering::SeqCst);
    assert!(
        peak > POOL_IDLE_PER_HOST,
        "the burst opened {peak} connections"
    );
    // The client drops what its pool does not keep; the server sees those close. Without a
    // bound all `burst` stay open (idle) for 90 s.
    let mut left = open.load(Ordering::SeqCst);
    for _ in 0..200 {
        if left <= POOL_IDLE_PER_HOST {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = open.load(Ordering::SeqCst);
    }
    assert!(
        left <= POOL_IDLE_PER_HOST,
        "{left} of {burst} connections still open after the burst (bound {POOL_IDLE_PER_HOST})"
    );
    // The kept ones are reused: a second, smaller burst opens no new connection.
    let before = open.load(Ordering::SeqCst);
    let again = (0..before).map(|i| {
        let c = client.clone();
        let u = format!("{url}/again/{i}");
        async move { c.get(&u, Duration::from_secs(20)).await }
    });
    let answers = futures::future::join_all(again).await;
    assert!(answers.iter().all(|a| a.is_ok()));
    assert!(open.load(Ordering::SeqCst) <= POOL_IDLE_PER_HOST);
}
