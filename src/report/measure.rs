//! RTO and RPO: which journal events bound each measurement, and what to say when one is
//! missing (never a number, never MET, when the evidence is not there). The rules are spelled
//! out at the top of `report/mod.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::roles::{is_promotion, is_traffic_move, is_verification, verify_kinds};
use super::{Declared, Measure, Verdict, fmt_lag, fmt_secs, redacted, ts};
use crate::journal::StepInfo;

/// A successful completion of a step (finished ok, approved, done by hand, marked done).
pub(super) struct Completion {
    pub(super) at: DateTime<Utc>,
    pub(super) step: String,
    pub(super) how: String,
}

/// One end of the RTO window: when, and which event.
pub(super) struct Bound {
    pub(super) at: DateTime<Utc>,
    pub(super) what: String,
}

pub(super) struct RtoInput<'a> {
    pub(super) target: Option<u64>,
    pub(super) start: Option<Bound>,
    /// The checklist in plan order, with kinds.
    pub(super) plan: &'a [StepInfo],
    pub(super) completions: &'a [Completion],
    /// Each step's final state (as in the steps table), to say what is missing.
    pub(super) states: &'a HashMap<String, (String, u32)>,
    pub(super) last_at: Option<DateTime<Utc>>,
}

pub(super) fn not_measured(target: Option<u64>, note: &str) -> Measure {
    Measure {
        target_secs: target,
        measured_secs: None,
        verdict: Verdict::NotMeasurable,
        from: None,
        to: None,
        lag_bytes: None,
        note: note.into(),
        from_event: None,
        to_event: None,
        missing: Vec::new(),
    }
}

fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    // Round to the nearest second.
    (((b - a).num_milliseconds().max(0) + 500) / 1000) as u64
}

/// Where the RTO window starts: the declaration, else the first approval, else the first
/// started step.
pub(super) fn rto_start(
    declared: Option<&Declared>,
    first_approval: Option<&(DateTime<Utc>, String, String)>,
    first_started: Option<&(DateTime<Utc>, String, String)>,
) -> Option<Bound> {
    if let Some(d) = declared {
        Some(Bound {
            at: d.at,
            what: format!(
                "the incident was declared by {} (`Declared`: {})",
                d.operator, d.note
            ),
        })
    } else if let Some((at, step, op)) = first_approval {
        Some(Bound {
            at: *at,
            what: format!("`{step}` was approved by {op} (no `Declared` event recorded)"),
        })
    } else {
        first_started.map(|(at, step, _)| Bound {
            at: *at,
            what: format!(
                "the first step, `{step}`, started (no `Declared` event or approval recorded)"
            ),
        })
    }
}

impl RtoInput<'_> {
    /// A step's kind, from the checklist ("" when the step is not in it).
    fn kind_of(&self, id: &str) -> &str {
        self.plan
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.kind.as_str())
            .unwrap_or("")
    }

    /// What became of a step, as a phrase for "what is missing".
    fn state_phrase(&self, id: &str) -> String {
        let state = self
            .states
            .get(id)
            .map(|(s, _)| s.as_str())
            .unwrap_or("not started");
        match state {
            "not started" => format!("`{id}` never ran"),
            s if s.starts_with("unknown") => format!("step `{id}` interrupted"),
            "failed" => format!("step `{id}` failed"),
            "skipped" => format!("step `{id}` was skipped"),
            other => format!("step `{id}` {other}"),
        }
    }

    /// Why no verification after the (first) traffic switch in the plan ended the window.
    fn verifications_missing(&self) -> String {
        let first_switch = self.plan.iter().position(|s| is_traffic_move(&s.kind));
        let later_verifications: Vec<&StepInfo> = first_switch
            .map(|i| {
                self.plan[i + 1..]
                    .iter()
                    .filter(|s| is_verification(&s.kind))
                    .collect()
            })
            .unwrap_or_default();
        if later_verifications.is_empty() {
            format!(
                "the plan has no verification ({}) after its traffic switch",
                verify_kinds()
            )
        } else {
            later_verifications
                .iter()
                .map(|v| self.state_phrase(&v.id))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

/// RTO: from the declaration to the first passing verification after traffic moved.
pub(super) fn measure_rto(input: &RtoInput) -> Measure {
    let Some(start) = &input.start else {
        let mut m = not_measured(
            input.target,
            "NOT REACHED: no `Declared` event, no approval and no started step were recorded",
        );
        m.verdict = Verdict::NotReached;
        m.missing
            .push("a start: a `Declared` event, an approval or a started step".into());
        return m;
    };
    match rto_end(input, start) {
        Ok((to, how)) => rto_measured(input.target, start, to, &how),
        Err(missing) => rto_not_reached(input, start, missing),
    }
}

/// (end bound, description of what bounded it) or what is missing. RTO is measured only
/// when traffic moved (a traffic switch succeeded) and a verification passed after it:
/// anything else is NOT REACHED, never a number.
fn rto_end(input: &RtoInput, start: &Bound) -> Result<(Bound, String), String> {
    let after_start: Vec<(usize, &Completion)> = input
        .completions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.at >= start.at)
        .collect();
    let switches: Vec<&StepInfo> = input
        .plan
        .iter()
        .filter(|s| is_traffic_move(&s.kind))
        .collect();
    if switches.is_empty() {
        return Err(
            "the plan has no traffic-switch step (dns.switch), so when traffic moved was never recorded"
                .to_string(),
        );
    }
    let Some((i, moved)) = after_start
        .iter()
        .find(|(_, c)| is_traffic_move(input.kind_of(&c.step)))
    else {
        return Err(format!(
            "traffic never moved: {}; {}",
            switches
                .iter()
                .map(|s| input.state_phrase(&s.id))
                .collect::<Vec<_>>()
                .join("; "),
            input.verifications_missing()
        ));
    };
    let first_verification_after = after_start
        .iter()
        .find(|(j, c)| *j > *i && is_verification(input.kind_of(&c.step)))
        .map(|(_, c)| *c);
    match first_verification_after {
        None => Err(format!(
            "traffic moved at {} (`{}` {}) but no verification ({}) passed after it: {}",
            ts(moved.at),
            moved.step,
            moved.how,
            verify_kinds(),
            input.verifications_missing()
        )),
        Some(v) => Ok((
            Bound {
                at: v.at,
                what: format!(
                    "`{}` ({}) {}: the first verification after traffic moved",
                    v.step,
                    input.kind_of(&v.step),
                    v.how
                ),
            },
            format!(
                "traffic moved when `{}` (dns.switch) {} at {}",
                moved.step,
                moved.how,
                ts(moved.at)
            ),
        )),
    }
}

/// The RTO window closed: its length against the target.
fn rto_measured(target: Option<u64>, start: &Bound, to: Bound, how: &str) -> Measure {
    let secs = secs_between(start.at, to.at);
    let (verdict, against) = match target {
        Some(t) if secs <= t => (Verdict::Met, format!("within the {} target", fmt_secs(t))),
        Some(t) => (
            Verdict::Missed,
            format!("{} over the {} target", fmt_secs(secs - t), fmt_secs(t)),
        ),
        None => (Verdict::NotMeasurable, "the plan sets no RTO target".into()),
    };
    Measure {
        target_secs: target,
        measured_secs: Some(secs),
        verdict,
        from: Some(start.at),
        to: Some(to.at),
        lag_bytes: None,
        note: format!("from when {} to {}; {how}; {against}", start.what, to.what),
        from_event: Some(start.what.clone()),
        to_event: Some(to.what),
        missing: Vec::new(),
    }
}

/// Not measurable: at most a lower bound, which may already miss the target.
fn rto_not_reached(input: &RtoInput, start: &Bound, missing: String) -> Measure {
    let target = input.target;
    let elapsed = input
        .last_at
        .map(|t| secs_between(start.at, t))
        .unwrap_or(0);
    let tail = match target {
        Some(t) if elapsed > t => format!(
            "; already {} after the start at the last record, over the {} target",
            fmt_secs(elapsed),
            fmt_secs(t)
        ),
        _ => format!(" ({} elapsed at the last record)", fmt_secs(elapsed)),
    };
    Measure {
        target_secs: target,
        measured_secs: None,
        verdict: Verdict::NotReached,
        from: Some(start.at),
        to: None,
        lag_bytes: None,
        note: format!("NOT REACHED: {missing}{tail}; started when {}", start.what),
        from_event: Some(start.what.clone()),
        to_event: None,
        missing: vec![missing],
    }
}

/// The first number found under any of `keys`, searching nested objects depth-first.
fn find_number(v: &serde_json::Value, keys: &[&str]) -> Option<f64> {
    match v {
        serde_json::Value::Object(o) => {
            for k in keys {
                if let Some(n) = o.get(*k).and_then(|x| {
                    x.as_f64()
                        .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
                }) {
                    return Some(n);
                }
            }
            o.values().find_map(|x| find_number(x, keys))
        }
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_number(x, keys)),
        _ => None,
    }
}

/// The time keys an RPO evidence detail may carry, in order of preference.
pub const RPO_TIME_KEYS: &[&str] = &["data_loss_secs", "replay_age_secs", "rpo_secs", "lag_secs"];

fn rpo_verdict(m: &mut Measure, secs: u64, target: Option<u64>) {
    m.measured_secs = Some(secs);
    m.verdict = match target {
        Some(t) if secs <= t => Verdict::Met,
        Some(_) => Verdict::Missed,
        None => Verdict::NotMeasurable,
    };
}

pub(super) fn measure_rpo(
    target: Option<u64>,
    evidence: Option<(DateTime<Utc>, String, serde_json::Value)>,
) -> Measure {
    let Some((at, what, detail)) = evidence else {
        let mut m = not_measured(target, "not measured (no database promotion recorded)");
        m.missing
            .push("`rpo` evidence recorded at promotion".into());
        return m;
    };
    if rpo_unknown(&detail) {
        return rpo_unknown_measure(target, at, &what, &detail);
    }
    let secs = find_number(&detail, RPO_TIME_KEYS).map(|s| s.max(0.0).round() as u64);
    let bytes = find_number(&detail, &["lag_bytes"]).map(|b| b.max(0.0).round() as u64);
    let mut m = not_measured(target, "");
    m.from = Some(at);
    m.lag_bytes = bytes;
    m.from_event = Some(format!("evidence \"{what}\" recorded at {}", ts(at)));
    let bytes_txt = bytes
        .map(|b| format!(", {b} byte(s) not replicated"))
        .unwrap_or_default();
    let no_target = if target.is_none() {
        "; the plan sets no RPO target"
    } else {
        ""
    };
    match (secs, bytes) {
        (Some(s), _) if detail.get("backup_age_secs").is_some() => {
            // A backup-restore strategy: what is lost is everything since the backup restored.
            rpo_verdict(&mut m, s, target);
            m.note = format!(
                "backup age {} at the restore check: the restored backup was created {} (evidence \"{what}\" at {}){no_target}",
                fmt_secs(s),
                detail
                    .get("backup_created_at")
                    .and_then(|v| v.as_str())
                    .unwrap_or("at an unrecorded time"),
                ts(at)
            );
        }
        (Some(s), _) => {
            rpo_verdict(&mut m, s, target);
            m.note = format!(
                "replication lag at promotion (evidence \"{what}\" at {}){bytes_txt}{no_target}",
                ts(at)
            );
        }
        (None, Some(0)) => {
            rpo_verdict(&mut m, 0, target);
            m.note = format!(
                "0 bytes not replicated at promotion (evidence \"{what}\" at {}): no data lost{no_target}",
                ts(at)
            );
        }
        (None, Some(b)) => {
            m.note = format!(
                "{b} byte(s) not replicated at promotion (evidence \"{what}\" at {}); the time-based RPO could not be computed: the evidence has no {}",
                ts(at),
                RPO_TIME_KEYS.join(" / ")
            );
            m.missing
                .push(format!("a time figure ({})", RPO_TIME_KEYS.join(" / ")));
        }
        (None, None) => {
            m.note = format!(
                "not measured: evidence \"{what}\" at {} recorded no lag figures (lag_bytes, {})",
                ts(at),
                RPO_TIME_KEYS.join(", ")
            );
            m.missing.push(format!(
                "lag figures in the evidence (lag_bytes, {})",
                RPO_TIME_KEYS.join(", ")
            ));
        }
    }
    m
}

/// Does the evidence say data loss could not be measured (the primary was unreachable)?
pub fn rpo_unknown(detail: &serde_json::Value) -> bool {
    detail.get("rpo").and_then(|v| v.as_str()) == Some("unknown")
        || detail.get("primary_reachable").and_then(|v| v.as_bool()) == Some(false)
}

pub use crate::journal::RPO_UNKNOWN_NEEDED;

/// RPO UNKNOWN: the primary was unreachable at promotion. Says what was seen and what is needed.
fn rpo_unknown_measure(
    target: Option<u64>,
    at: DateTime<Utc>,
    what: &str,
    detail: &serde_json::Value,
) -> Measure {
    let text = |k: &str| -> Option<String> {
        match detail.get(k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let nr = || "not recorded".to_string();
    let seen = match (
        text("primary_last_seen_lsn"),
        find_number(detail, &["primary_last_seen_age_secs"]),
    ) {
        (Some(lsn), Some(age)) => format!(
            "the primary was last seen at {lsn}, {} before the promotion{}",
            fmt_secs(age.max(0.0).round() as u64),
            text("primary_last_seen_at")
                .map(|t| format!(" (at {t})"))
                .unwrap_or_default()
        ),
        (Some(lsn), None) => format!("the primary was last seen at {lsn} (age not recorded)"),
        _ => match text("primary") {
            Some(p) => format!("{p}; its last WAL position was not recorded"),
            None => "the primary's position was never seen".to_string(),
        },
    };
    let standby = match (text("receive_lsn"), text("replay_lsn")) {
        (None, None) => format!(
            "the standby's received and replayed LSN were not recorded{}",
            find_number(detail, &["lag_bytes"])
                .map(|b| format!(
                    " (the panels showed {} behind the primary's last seen position)",
                    fmt_lag(b.max(0.0) as u64)
                ))
                .unwrap_or_default()
        ),
        (rx, rp) => format!(
            "the standby had received {} and replayed {}{}{}",
            rx.unwrap_or_else(nr),
            rp.unwrap_or_else(nr),
            text("receiver_end_lsn")
                .map(|l| format!(" (its WAL receiver was last told the primary was at {l})"))
                .unwrap_or_default(),
            find_number(detail, &["lag_bytes"])
                .filter(|b| *b > 0.0)
                .map(|b| format!(
                    "; at least {} were not replayed (against the last seen position)",
                    fmt_lag(b as u64)
                ))
                .unwrap_or_default()
        ),
    };
    let needed = text("needed").unwrap_or_else(|| RPO_UNKNOWN_NEEDED.to_string());
    let mut m = not_measured(target, "");
    m.verdict = Verdict::Unknown;
    m.from = Some(at);
    m.from_event = Some(format!("evidence \"{what}\" recorded at {}", ts(at)));
    m.note = format!(
        "UNKNOWN: the primary was unreachable at promotion, so data loss cannot be measured; {seen}; {standby}; to know: {needed}"
    );
    m.missing.push(needed);
    m
}

/// No `rpo` evidence: say what is missing, and use the lag a promotion step's precondition
/// check read just before it started, if there is one.
pub(super) fn rpo_without_evidence(
    target: Option<u64>,
    plan: &[StepInfo],
    completions: &[Completion],
    precondition_lag: &[(DateTime<Utc>, String, String)],
) -> Measure {
    let promotions: Vec<&StepInfo> = plan.iter().filter(|s| is_promotion(&s.kind)).collect();
    if promotions.is_empty() {
        let mut m = measure_rpo(target, None);
        m.note = "not measured (no database promotion recorded): the plan has no promotion step (postgres.promote, scaleway.promote_replica) and no `rpo` evidence was recorded".into();
        return m;
    }
    let done = completions
        .iter()
        .rev()
        .find(|c| promotions.iter().any(|p| p.id == c.step));
    let mut m = not_measured(target, "");
    let Some(done) = done else {
        m.note = format!(
            "not measured: the promotion step {} never completed, and no `rpo` evidence was recorded",
            promotions
                .iter()
                .map(|p| format!("`{}` ({})", p.id, p.kind))
                .collect::<Vec<_>>()
                .join(", ")
        );
        m.missing.push("a completed database promotion".into());
        m.missing
            .push("`rpo` evidence recorded at promotion".into());
        return m;
    };
    let kind = promotions
        .iter()
        .find(|p| p.id == done.step)
        .map(|p| p.kind.as_str())
        .unwrap_or("");
    m.missing.push(format!(
        "`rpo` evidence from `{}` ({kind}): lag_bytes and {}",
        done.step,
        RPO_TIME_KEYS.join(" / ")
    ));
    let lag = precondition_lag
        .iter()
        .rev()
        .find(|(at, step, _)| *step == done.step && *at <= done.at);
    match lag.and_then(|(at, step, ev)| parse_lag(ev).map(|b| (at, step, ev, b))) {
        Some((at, step, ev, bytes)) => {
            m.from = Some(*at);
            m.lag_bytes = Some(bytes);
            m.from_event = Some(format!(
                "the precondition check of `{step}` at {}: {}",
                ts(*at),
                redacted(ev)
            ));
            // Read before the promotion, possibly against a primary already gone: a figure
            // for the record, never a verdict.
            if bytes == 0 {
                m.note = format!(
                    "`{}` ({kind}) recorded no `rpo` evidence; its precondition check at {} read a replication lag of 0 bytes before the promotion — not a measurement at promotion (the primary may have written since)",
                    done.step,
                    ts(*at)
                );
            } else {
                m.note = format!(
                    "`{}` ({kind}) completed at {} without `rpo` evidence; its precondition check at {} read `{}` (≈{bytes} bytes, rounded); the time-based RPO could not be computed",
                    done.step,
                    ts(done.at),
                    ts(*at),
                    redacted(ev)
                );
            }
        }
        None => {
            m.note = format!(
                "not measured: `{}` ({kind}) completed at {} but recorded no `rpo` evidence (lag_bytes, {}), and no replication lag was read before it",
                done.step,
                ts(done.at),
                RPO_TIME_KEYS.join(", ")
            );
        }
    }
    m
}

/// `dr.database.lag = 1.2 MiB (0.9s ago)` → bytes.
fn parse_lag(evidence: &str) -> Option<u64> {
    let (_, rest) = evidence.split_once(" = ")?;
    let value = rest.split(" (").next()?.trim();
    crate::plan::units::parse_bytes(value).ok()
}

/// Kinds that make the old primary a standby again: their presence makes a plan a failback.
const REJOIN_KINDS: &[&str] = &["postgres.rejoin", "scaleway.create_read_replica"];

/// The kind that fences a PostgreSQL primary (its evidence carries `fenced_lsn`).
pub(super) const FENCE_KIND: &str = "postgres.fence";

/// Is this a planned switchover — a plan that claims RPO 0 or rejoins the old primary (a
/// failback)? Its RPO is 0 only when shown: the old primary fenced, then the promotion
/// measured at lag 0 against it live. Anything less is UNKNOWN, never a number.
pub(super) fn is_planned_switchover(target: Option<u64>, plan: &[StepInfo]) -> bool {
    target == Some(0) && plan.iter().any(|s| is_promotion(&s.kind))
        || plan.iter().any(|s| REJOIN_KINDS.contains(&s.kind.as_str()))
}

/// What a planned switchover's RPO is read from.
pub(super) struct SwitchoverInput<'a> {
    pub(super) target: Option<u64>,
    pub(super) plan: &'a [StepInfo],
    pub(super) completions: &'a [Completion],
    pub(super) states: &'a HashMap<String, (String, u32)>,
    /// The fence step's evidence: (at, step, detail with `fenced_lsn`).
    pub(super) fence: Option<&'a (DateTime<Utc>, String, serde_json::Value)>,
    /// The promotion's `rpo` evidence.
    pub(super) promotion: Option<(DateTime<Utc>, String, serde_json::Value)>,
}

fn lsn_of(detail: &serde_json::Value, key: &str) -> Option<crate::clients::postgres::Lsn> {
    detail
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(crate::clients::postgres::Lsn::parse)
}

/// RPO of a planned switchover: 0 with its proof ("fenced at LSN X, promoted at LSN X, 0 bytes
/// lost"), or UNKNOWN naming each piece of the proof that is missing.
pub(super) fn measure_switchover_rpo(i: &SwitchoverInput) -> Measure {
    let mut missing: Vec<String> = Vec::new();
    let state = |id: &str| {
        i.states
            .get(id)
            .map(|(s, _)| s.clone())
            .unwrap_or_else(|| "never ran".into())
    };
    let promoted_at = i.promotion.as_ref().map(|(at, _, _)| *at);
    let fences: Vec<&StepInfo> = i.plan.iter().filter(|s| s.kind == FENCE_KIND).collect();
    let fenced = i
        .completions
        .iter()
        .find(|c| fences.iter().any(|f| f.id == c.step) && promoted_at.is_none_or(|p| c.at <= p));
    if fences.is_empty() {
        missing.push(format!(
            "a fence of the old primary before the promotion: the plan has no {FENCE_KIND} step"
        ));
    } else if fenced.is_none() {
        missing.push(format!(
            "the old primary fenced before the promotion: {}",
            fences
                .iter()
                .map(|f| format!("`{}` ({FENCE_KIND}) {}", f.id, state(&f.id)))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let Some((at, what, detail)) = &i.promotion else {
        let promotions: Vec<String> = i
            .plan
            .iter()
            .filter(|s| is_promotion(&s.kind))
            .map(|s| format!("`{}` ({}) {}", s.id, s.kind, state(&s.id)))
            .collect();
        missing.push(format!(
            "the promotion's `rpo` evidence (lag_bytes and replay_age_secs at promotion){}",
            if promotions.is_empty() {
                String::new()
            } else {
                format!(": {}", promotions.join("; "))
            }
        ));
        return switchover_unknown(i.target, None, missing);
    };
    let evidence = format!("evidence \"{what}\" recorded at {}", ts(*at));
    if rpo_unknown(detail) {
        missing.push("the old primary's position at promotion: it did not answer".into());
    }
    let bytes = find_number(detail, &["lag_bytes"]).map(|b| b.max(0.0).round() as u64);
    let secs = find_number(detail, RPO_TIME_KEYS);
    match bytes {
        Some(0) => {}
        Some(b) => missing.push(format!(
            "lag 0 at promotion: the standby was {} behind",
            fmt_lag(b)
        )),
        None => missing.push("the lag in bytes at promotion (lag_bytes)".into()),
    }
    match secs {
        Some(s) if s <= 0.0 => {}
        Some(s) => missing.push(format!("lag 0 at promotion: the replay was {s:.1}s behind")),
        None => missing.push(format!(
            "the lag in time at promotion ({})",
            RPO_TIME_KEYS.join(" / ")
        )),
    }
    let promoted_lsn = lsn_of(detail, "replay_lsn");
    let fenced_lsn = i
        .fence
        .filter(|(f_at, _, _)| *f_at <= *at)
        .and_then(|(_, _, d)| lsn_of(d, "fenced_lsn"));
    // Without the fence's own record, the fenced primary's position read live at promotion.
    let (fence_lsn, fence_basis) = match fenced_lsn {
        Some(l) => (Some(l), ""),
        None => (
            lsn_of(detail, "primary_lsn"),
            " (read from the fenced primary at promotion)",
        ),
    };
    match (fence_lsn, promoted_lsn) {
        (Some(f), Some(p)) if p < f => missing.push(format!(
            "the promoted standby had replayed only {p}, {} before the fence position {f}",
            fmt_lag(f.bytes_after(p))
        )),
        (Some(_), Some(_)) => {}
        (None, _) => missing.push("the old primary's WAL position at the fence".into()),
        (_, None) => missing.push("the promoted standby's replayed LSN (replay_lsn)".into()),
    }
    if !missing.is_empty() {
        return switchover_unknown(i.target, Some((*at, evidence)), missing);
    }
    let (Some(f), Some(p)) = (fence_lsn, promoted_lsn) else {
        return switchover_unknown(i.target, Some((*at, evidence)), missing);
    };
    let step = fenced.map(|c| c.step.as_str()).unwrap_or("?");
    let mut m = not_measured(i.target, "");
    rpo_verdict(&mut m, 0, i.target);
    m.from = Some(*at);
    m.lag_bytes = Some(0);
    m.from_event = Some(evidence.clone());
    m.note = format!(
        "planned switchover: fenced at LSN {f}{fence_basis} by `{step}`, promoted at LSN {p}, 0 bytes lost ({evidence}){}",
        if i.target.is_none() {
            "; the plan sets no RPO target"
        } else {
            ""
        }
    );
    m
}

fn switchover_unknown(
    target: Option<u64>,
    evidence: Option<(DateTime<Utc>, String)>,
    missing: Vec<String>,
) -> Measure {
    let mut m = not_measured(target, "");
    m.verdict = Verdict::Unknown;
    if let Some((at, what)) = evidence {
        m.from = Some(at);
        m.from_event = Some(what);
    }
    m.note = format!(
        "UNKNOWN: a planned switchover loses nothing only if the old primary was fenced and the promotion measured lag 0 against it; not shown: {}",
        missing.join("; ")
    );
    m.missing = missing;
    m
}
