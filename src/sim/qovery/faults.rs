//! Fault injection: the hooks tests use to make the simulated API fail, stall or answer late,
//! the `flaky-api` and `hostile` scenarios' seeded misbehaviour, and the gate every request
//! passes before it is routed.

use std::time::Duration;

use axum::response::Response;

use super::routes::text;
use super::world::Inner;
use super::{QoveryWorld, ids};

#[derive(Debug, Clone)]
pub(super) struct Fault {
    pub(super) method: String,
    pub(super) path_contains: String,
    pub(super) status: Option<(u16, String)>,
    pub(super) delay: Option<Duration>,
    pub(super) times: u32,
    /// Apply the request first, then answer with `status`/after `delay` (a gateway failing after
    /// the work started, an answer arriving after the client gave up).
    pub(super) apply: bool,
}

/// In which order the ANSWERED status fields catch up with the ground truth. The spec says
/// nothing about it, so every order is allowed; the lagging fields answer the truth as it was
/// [`QoveryWorld::with_lag`] ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    /// Every field answers the truth (every scenario but `hostile`).
    Truthful,
    /// `deployment_request_id` first; `state`, `last_deployment_state` and the services lag.
    RequestIdFirst,
    /// `state` first; `deployment_request_id`, `last_deployment_state` and the services lag.
    StateFirst,
    /// `last_deployment_state` first; `deployment_request_id`, `state` and the services lag.
    LastStateFirst,
    /// The environment's fields are current; every service's status lags.
    ServicesLagging,
}

impl FieldOrder {
    /// The orders `hostile` draws from (seeded, one per deployment).
    pub const HOSTILE: [FieldOrder; 4] = [
        FieldOrder::RequestIdFirst,
        FieldOrder::StateFirst,
        FieldOrder::LastStateFirst,
        FieldOrder::ServicesLagging,
    ];
}

pub(super) enum Gate {
    Pass,
    Answer(Response),
    Delay(Duration, Option<Response>),
    /// Apply the request, then (after the delay) answer this instead of the real answer.
    AfterApply(Option<Duration>, Option<Response>),
}

pub(super) fn gate(g: &mut Inner, method: &str, path: &str, auth: Option<&str>) -> Gate {
    let ok = match auth.map(str::trim) {
        Some(a) => {
            a == format!("Token {}", ids::DEMO_TOKEN) || a == format!("Bearer {}", ids::DEMO_JWT)
        }
        None => false,
    };
    if !ok {
        return Gate::Answer(text(401, "Access token is missing or invalid"));
    }
    if let Some(i) = g
        .faults
        .iter()
        .position(|f| f.method == method && path.contains(&f.path_contains) && f.times > 0)
    {
        let f = &mut g.faults[i];
        f.times -= 1;
        let answer = f.status.clone().map(|(s, b)| text(s, &b));
        let delay = f.delay;
        let apply = f.apply;
        if f.times == 0 {
            g.faults.remove(i);
        }
        if apply {
            return Gate::AfterApply(delay, answer);
        }
        return match (delay, answer) {
            (Some(d), a) => Gate::Delay(d, a),
            (None, Some(a)) => Gate::Answer(a),
            (None, None) => Gate::Pass,
        };
    }
    // `hostile`: a status read that answers after the client's timeout (30 s).
    if g.late_reads && method == "GET" && path.ends_with("/statuses") && g.rng.f64() < 0.05 {
        return Gate::Delay(Duration::from_secs(35), None);
    }
    if g.flaky {
        let r = g.rng.f64();
        if r < 0.12 {
            return Gate::Answer(text(
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
            ));
        }
        if r < 0.14 {
            return Gate::Answer(text(502, "Bad Gateway"));
        }
        if r < 0.24 {
            let ms = g.rng.u64(400..2500);
            return Gate::Delay(Duration::from_millis(ms), None);
        }
        if r < 0.27 {
            return Gate::Delay(
                Duration::from_secs(15),
                Some(text(504, "upstream request timeout")),
            );
        }
    }
    Gate::Pass
}

impl QoveryWorld {
    /// When the region outage hits (default 5 s after start in `region-outage`; any scenario).
    pub fn with_outage_after(self, after: Duration) -> QoveryWorld {
        self.lock().outage_after = Some(after);
        self
    }

    /// Answer every deployment's status fields in this order (any scenario), instead of the
    /// truth (or `hostile`'s seeded draw).
    pub fn with_field_order(self, order: FieldOrder) -> QoveryWorld {
        self.lock().forced_order = Some(order);
        self
    }

    /// How far behind the truth the lagging fields answer (default two phases).
    pub fn with_lag(self, lag: Duration) -> QoveryWorld {
        self.lock().lag = lag;
        self
    }

    /// Turn `hostile`'s late status reads (answers after the client's timeout) on or off.
    pub fn with_late_reads(self, late: bool) -> QoveryWorld {
        self.lock().late_reads = late;
        self
    }

    /// The next deployment stalls for good on its first service (its truth stays DEPLOYING).
    pub fn stall_next_deployment(&self) {
        self.lock().stall_next = true;
    }

    /// The next `times` matching requests are APPLIED, then answered with `status` and `body`
    /// (a gateway 5xx after the work started).
    pub fn fail_after_applying(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
    ) {
        self.push_status_fault(method, path_contains, status, body, times, true);
    }

    /// One status fault; `apply`: the request is carried out before the fault answers.
    fn push_status_fault(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
        apply: bool,
    ) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: Some((status, body.into())),
            delay: None,
            times,
            apply,
        });
    }

    /// The next `times` matching requests are APPLIED, then answered only after `delay` (after the
    /// client's timeout, when `delay` is longer).
    pub fn answer_late_after_applying(
        &self,
        method: &str,
        path_contains: &str,
        delay: Duration,
        times: u32,
    ) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: None,
            delay: Some(delay),
            times,
            apply: true,
        });
    }

    /// Injected delays (flaky slow answers and stalls, `hostile`'s late reads, delayed faults)
    /// last `1/scale` as long (`simulate --time-scale`).
    pub fn with_time_scale(self, scale: u32) -> QoveryWorld {
        self.lock().time_scale = scale.max(1);
        self
    }

    /// Turn the flaky-api faults on or off.
    pub fn with_flaky(self, flaky: bool) -> QoveryWorld {
        self.lock().flaky = flaky;
        self
    }

    /// Answer the next `times` requests matching `method` and a path containing `path_contains`
    /// with `status` and a plain-text `body`.
    pub fn inject_status(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        body: &str,
        times: u32,
    ) {
        self.push_status_fault(method, path_contains, status, body, times, false);
    }

    /// Delay the next `times` matching requests by `delay` before answering.
    pub fn inject_delay(&self, method: &str, path_contains: &str, delay: Duration, times: u32) {
        self.lock().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.into(),
            status: None,
            delay: Some(delay),
            times,
            apply: false,
        });
    }

    /// The next deployment that includes the service named `name` fails on it
    /// (`DEPLOYMENT_ERROR`).
    pub fn fail_next_deployment_of(&self, name: &str) {
        self.lock().fail_next.push(name.into());
    }
}
