//! Clients for the systems the cockpit talks to. No UI types here: plain async Rust with typed
//! results and errors, usable from the cockpit, tests and `drcockpit status`.

pub mod aws;
pub mod cloudwatch;
pub mod datadog;
pub mod dns;
pub mod http;
pub mod postgres;
pub mod qovery;
pub mod registry;
pub mod series;
