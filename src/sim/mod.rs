//! The embedded simulator: a fake but faithful world on loopback.

pub mod dns;

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub scenario: String,
    pub seed: u64,
    /// `None`: an ephemeral loopback port.
    pub listen: Option<SocketAddr>,
}

/// A running simulator.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub addr: SocketAddr,
}

impl SimHandle {
    pub async fn shutdown(self) {}
}

pub fn scenario_names() -> &'static [&'static str] {
    &["all-good", "region-outage", "flaky-api"]
}

pub async fn start(opts: SimOptions) -> Result<SimHandle, String> {
    let _ = opts;
    Err("simulator not implemented".into())
}

pub async fn serve_forever(opts: SimOptions) -> Result<(), String> {
    let _ = start(opts).await?;
    Ok(())
}
