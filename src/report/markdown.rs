//! `drcockpit report` in Markdown: one function per section, in the order the report reads,
//! plus the summary paragraph the model carries. Everything here renders the model; nothing
//! reads the journal.

use super::model::*;
use super::{fmt_lag, fmt_secs, ts, ts_opt};

pub(super) fn summary_text(m: &ReportModel) -> String {
    let kind = match m.kind.as_str() {
        "review" => "**Review** — a read-only walk through the plan; nothing was executed.",
        "demo" => {
            "**Drill (demo)** — a rehearsal against the embedded simulator; nothing real was touched."
        }
        "drill" => "**Drill** — a rehearsal run with `--drill`, not an outage.",
        _ => "**Incident** — a live failover.",
    };
    let plan = if m.plan.name.is_empty() {
        "(unknown plan)"
    } else {
        &m.plan.name
    };
    let mut out = format!(
        "{kind} Plan *{plan}*, run by {} on {}, from {} {}",
        if m.operators.is_empty() {
            "(unknown)".to_string()
        } else {
            m.operators.join(", ")
        },
        if m.hosts.is_empty() {
            "(unknown host)".to_string()
        } else {
            m.hosts.join(", ")
        },
        ts_opt(m.started),
        m.ended
            .map(|t| format!("to {}", ts(t)))
            .unwrap_or_else(|| "— the record never ends (interrupted, or still running)".into()),
    );
    if let Some(reason) = &m.end_reason {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('.');
    if m.kind == "review" {
        let reviewed = m.review.iter().filter(|x| x.reviewed).count();
        out.push_str(&format!(
            " {reviewed} of {} step(s) reviewed.",
            m.review.len()
        ));
        let checks = m.review.iter().flat_map(|x| x.preflight.iter());
        let (mut ok, mut failed, mut unknown) = (0, 0, 0);
        for c in checks {
            match c.ok {
                Some(true) => ok += 1,
                Some(false) => failed += 1,
                None => unknown += 1,
            }
        }
        if ok + failed + unknown > 0 {
            out.push_str(&format!(
                " Preflight checks: ✓ {ok} passed, ✗ {failed} failed, ? {unknown} not evaluated."
            ));
        }
        return out;
    }
    out.push_str(&format!(
        " RTO: {}. RPO: {}.",
        measure_phrase(&m.rto),
        measure_phrase(&m.rpo)
    ));
    let count =
        |pred: &dyn Fn(&FailureRow) -> bool| m.what_failed.iter().filter(|f| pred(f)).count();
    let parts: Vec<String> = [
        (
            count(&|f| f.what.starts_with("failed")),
            "failed attempt(s)",
        ),
        (count(&|f| f.what == "skipped"), "skip(s)"),
        (count(&|f| f.what == "override"), "override(s)"),
        (count(&|f| f.what == "interrupted"), "interrupted step(s)"),
        (count(&|f| f.what == "aborted"), "abort(s)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        out.push_str(" Nothing failed, was skipped or was overridden.");
    } else {
        out.push_str(&format!(" {} — see *What failed*.", parts.join(", ")));
    }
    out
}

fn measure_phrase(x: &Measure) -> String {
    let target = x
        .target_secs
        .map(|t| format!("the {} target", fmt_secs(t)))
        .unwrap_or_else(|| "no target set".into());
    match (x.measured_secs, x.lag_bytes, x.verdict) {
        (Some(s), _, Verdict::NotMeasurable) => format!("{} ({target})", fmt_secs(s)),
        (Some(s), _, v) => format!("{} against {target} — **{}**", fmt_secs(s), v.label()),
        (None, _, Verdict::Missed) => {
            format!("not measured, but already past {target} — **MISSED**")
        }
        (None, _, Verdict::NotReached) => format!(
            "**NOT REACHED** ({target}): {}",
            x.missing.first().map(String::as_str).unwrap_or("see below")
        ),
        (None, _, Verdict::Unknown) => format!(
            "**UNKNOWN** — the primary was unreachable at promotion, data loss cannot be measured ({target})"
        ),
        (None, Some(b), _) => format!(
            "{} behind at promotion, time window unknown — not measurable against {target}",
            fmt_lag(b)
        ),
        (None, None, _) if x.target_secs.is_some() => {
            format!("not measurable against {target} — see what is missing below")
        }
        (None, None, _) => "not measurable — see what is missing below".into(),
    }
}

fn fmt_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        fmt_secs(((ms + 500) / 1000) as u64)
    }
}

fn check_mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓ ok —",
        Some(false) => "✗ FAILED —",
        None => "? not evaluated —",
    }
}

/// A Markdown table cell: no newlines, pipes escaped.
fn cell(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if s.is_empty() { "—".into() } else { s }
}

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
}

/// A `## heading` and its table, or nothing when there are no items.
fn section<T>(
    out: &mut String,
    heading: &str,
    header: &[&str],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("## {heading}\n\n"));
    table(out, header, items.iter().map(row).collect());
}

/// `**MET**`, `**MISSED**`, `not measurable`.
fn verdict_md(v: Verdict) -> String {
    match v {
        Verdict::NotMeasurable => v.label().to_string(),
        v => format!("**{}**", v.label()),
    }
}

fn measure_row(name: &str, m: &Measure) -> Vec<String> {
    let measured = match (m.measured_secs, m.lag_bytes) {
        (Some(s), _) => fmt_secs(s),
        (None, Some(b)) => fmt_lag(b),
        (None, None) => "—".into(),
    };
    let verdict = verdict_md(m.verdict);
    vec![
        name.into(),
        m.target_secs
            .map(fmt_secs)
            .unwrap_or_else(|| "none set".into()),
        measured,
        verdict,
        m.note.clone(),
    ]
}

fn kind_label(m: &ReportModel) -> String {
    match m.kind.as_str() {
        "review" => "review (read-only; nothing executed)".into(),
        "demo" => "drill — demo against the embedded simulator".into(),
        "drill" => "**drill** (`--drill`: a rehearsal, not an outage)".into(),
        _ => "**incident** (live failover)".into(),
    }
}

fn measure_cell(x: &Measure) -> String {
    let target = x
        .target_secs
        .map(fmt_secs)
        .unwrap_or_else(|| "none set".into());
    let measured = match (x.measured_secs, x.lag_bytes) {
        (Some(s), _) => format!("measured {}", fmt_secs(s)),
        (None, Some(b)) => format!("{} behind, time unknown", fmt_lag(b)),
        (None, None) => "not measured".into(),
    };
    let verdict = verdict_md(x.verdict);
    format!("target {target} · {measured} · {verdict}")
}

pub fn render_markdown(m: &ReportModel) -> String {
    let mut out = String::new();
    render_header(&mut out, m);
    if m.kind != "review" {
        render_objectives(&mut out, m);
        render_declaration(&mut out, m);
        render_sessions(&mut out, m);
    }
    if m.kind == "review" {
        render_review(&mut out, m);
    } else {
        render_steps(&mut out, m);
    }
    render_records(&mut out, m);
    render_review_marks(&mut out, m);
    render_what_failed(&mut out, m);
    render_timeline(&mut out, m);
    crate::redact::redact_string(out)
}

/// The title, the summary paragraph, the facts table and the journal's own warnings.
fn render_header(out: &mut String, m: &ReportModel) {
    let name = if m.plan.name.is_empty() {
        "(unknown plan)"
    } else {
        m.plan.name.as_str()
    };
    out.push_str(&format!("# {} — {}\n\n", m.title, name));
    if !m.summary.is_empty() {
        out.push_str(&m.summary);
        out.push_str("\n\n");
    }

    let mut facts = vec![
        vec![
            "Plan".to_string(),
            format!(
                "{name} — source `{}`, hash `{:.12}`",
                if m.plan.source.is_empty() {
                    "?"
                } else {
                    &m.plan.source
                },
                if m.plan.hash.is_empty() {
                    "?"
                } else {
                    &m.plan.hash
                }
            ),
        ],
        vec!["Kind".into(), kind_label(m)],
        vec!["Operator(s)".into(), m.operators.join(", ")],
        vec!["Host(s)".into(), m.hosts.join(", ")],
        vec!["Started (UTC)".into(), ts_opt(m.started)],
        vec!["Ended (UTC)".into(), ts_opt(m.ended)],
        vec![
            "End reason".into(),
            m.end_reason
                .clone()
                .unwrap_or_else(|| "never ended (interrupted, or still running)".into()),
        ],
    ];
    if m.kind != "review" {
        facts.push(vec!["RTO".into(), measure_cell(&m.rto)]);
        facts.push(vec!["RPO".into(), measure_cell(&m.rpo)]);
    }
    let builds: Vec<String> = m
        .sessions
        .iter()
        .filter_map(|s| {
            let c = s.commit.as_deref()?;
            Some(format!("drcockpit {} (commit {c})", s.version))
        })
        .fold(Vec::new(), |mut v, b| {
            if !v.contains(&b) {
                v.push(b);
            }
            v
        });
    if !builds.is_empty() {
        facts.push(vec!["Build".into(), builds.join(", ")]);
    }
    if m.sessions.len() > 1 {
        facts.push(vec![
            "Sessions".into(),
            format!(
                "{} (resumed {} time(s))",
                m.sessions.len(),
                m.sessions.len() - 1
            ),
        ]);
    }
    if let Some(a) = m.aborted.last() {
        facts.push(vec![
            "Aborted".into(),
            format!("{} by {} — {}", ts(a.at), a.operator, a.reason),
        ]);
    }
    table(out, &["", ""], facts);

    if !m.warnings.is_empty() {
        for w in &m.warnings {
            out.push_str(&format!("> ⚠ {w}\n"));
        }
        out.push('\n');
    }
}

/// RTO and RPO: the table, the window, the bounding events and what is missing.
fn render_objectives(out: &mut String, m: &ReportModel) {
    out.push_str("## Recovery objectives\n\n");
    table(
        out,
        &["objective", "target", "measured", "result", "how"],
        vec![measure_row("RTO", &m.rto), measure_row("RPO", &m.rpo)],
    );
    match (m.rto.from, m.rto.to) {
        (Some(from), Some(to)) => {
            out.push_str(&format!("- **RTO window**: {} → {}.\n", ts(from), ts(to)))
        }
        (Some(from), None) => {
            out.push_str(&format!("- **RTO window**: from {} — no end.\n", ts(from)))
        }
        _ => {}
    }
    if let Some(e) = &m.rto.from_event {
        out.push_str(&format!("- **RTO starts** when {e}.\n"));
    }
    if let Some(e) = &m.rto.to_event {
        out.push_str(&format!("- **RTO ends** when {e}.\n"));
    }
    if let Some(e) = &m.rpo.from_event {
        out.push_str(&format!("- **RPO read from** {e}.\n"));
    }
    for x in m
        .rto
        .missing
        .iter()
        .map(|x| ("RTO", x))
        .chain(m.rpo.missing.iter().map(|x| ("RPO", x)))
    {
        out.push_str(&format!("- **{} — missing**: {}.\n", x.0, x.1));
    }
    out.push('\n');
}

fn render_declaration(out: &mut String, m: &ReportModel) {
    if !m.declared.is_empty() {
        out.push_str("## Declaration\n\n");
        for d in &m.declared {
            out.push_str(&format!(
                "- {} — declared by {}: {}\n",
                ts(d.at),
                d.operator,
                d.note
            ));
        }
        out.push('\n');
    }
}

/// Only when the session was resumed: one row per `SessionStarted`.
fn render_sessions(out: &mut String, m: &ReportModel) {
    if m.sessions.len() > 1 {
        out.push_str("## Sessions\n\n");
        let rows = m
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    ts(s.started),
                    ts_opt(s.ended),
                    s.end_reason.clone().unwrap_or_else(|| "never ended".into()),
                    format!("{}{}", s.mode, if s.drill { " (drill)" } else { "" }),
                    format!("{}@{} (pid {})", s.operator, s.host, s.pid),
                ]
            })
            .collect();
        table(
            out,
            &["#", "started", "ended", "end reason", "mode", "by"],
            rows,
        );
    }
}

fn render_steps(out: &mut String, m: &ReportModel) {
    out.push_str("## Steps\n\n");
    if m.steps.is_empty() {
        out.push_str("No step recorded.\n\n");
    } else {
        let rows = m
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    format!("`{}`", s.id),
                    s.title.clone(),
                    s.kind.clone(),
                    s.state.clone(),
                    if s.attempts > 0 {
                        s.attempts.to_string()
                    } else {
                        String::new()
                    },
                    s.duration_ms.map(fmt_ms).unwrap_or_default(),
                    s.detail.clone(),
                ]
            })
            .collect();
        table(
            out,
            &[
                "#", "id", "title", "kind", "state", "attempts", "duration", "detail",
            ],
            rows,
        );
    }
}

/// Approvals, overrides, skips, manual steps, notes and refusals: one section each, when any.
fn render_records(out: &mut String, m: &ReportModel) {
    section(
        out,
        "Approvals",
        &["step", "operator", "host", "time", "word typed"],
        &m.approvals,
        |a| {
            vec![
                format!("`{}`", a.step),
                a.operator.clone(),
                a.host.clone(),
                ts(a.at),
                format!("`{}`", a.word),
            ]
        },
    );
    section(
        out,
        "Overrides (break glass)",
        &["step", "operator", "time", "unmet preconditions", "reason"],
        &m.overrides,
        |o| {
            vec![
                format!("`{}`", o.step),
                o.operator.clone(),
                ts(o.at),
                o.unmet.join("; "),
                o.reason.clone(),
            ]
        },
    );
    section(
        out,
        "Skipped steps",
        &["step", "operator", "time", "reason"],
        &m.skips,
        |s| {
            vec![
                format!("`{}`", s.step),
                s.operator.clone(),
                ts(s.at),
                s.reason.clone(),
            ]
        },
    );
    section(
        out,
        "Done by hand",
        &["step", "how", "operator", "time", "note"],
        &m.manual,
        |x| {
            vec![
                format!("`{}`", x.step),
                x.how.clone(),
                x.operator.clone(),
                ts(x.at),
                x.note.clone(),
            ]
        },
    );
    if !m.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in &m.notes {
            let on = n
                .step
                .as_ref()
                .map(|s| format!(" on `{s}`"))
                .unwrap_or_default();
            out.push_str(&format!(
                "- {} — {}{on}: {}\n",
                ts(n.at),
                n.operator,
                n.text
            ));
        }
        out.push('\n');
    }
    // Issue 13 hook: who drove, who handed over to whom, who wrote notes.
    for line in &m.people {
        out.push_str(line);
        out.push('\n');
    }
    section(
        out,
        "Refused actions",
        &["time", "operator", "mode", "what"],
        &m.refusals,
        |x| vec![ts(x.at), x.operator.clone(), x.mode.clone(), x.what.clone()],
    );
}

/// Review marks and preflight results recorded during a run (review sessions have their own
/// record, [`render_review`]).
fn render_review_marks(out: &mut String, m: &ReportModel) {
    if m.kind != "review" && (!m.preflight.is_empty() || !m.reviewed.is_empty()) {
        out.push_str("## Review\n\n");
        if !m.reviewed.is_empty() {
            let rows = m
                .reviewed
                .iter()
                .map(|x| {
                    vec![
                        format!("`{}`", x.step),
                        x.operator.clone(),
                        ts(x.at),
                        x.note.clone(),
                    ]
                })
                .collect();
            table(out, &["step", "reviewed by", "time", "note"], rows);
        }
        for p in &m.preflight {
            out.push_str(&format!("Preflight of `{}` at {}:\n\n", p.step, ts(p.at)));
            for c in &p.checks {
                out.push_str(&format!(
                    "- {} {}: {}\n",
                    check_mark(c.ok),
                    c.what,
                    c.detail
                ));
            }
            out.push('\n');
        }
    }
}

/// Drills and demos always have it (the runbook learns from them); incidents when something
/// failed.
fn render_what_failed(out: &mut String, m: &ReportModel) {
    if m.kind != "review" && (!m.what_failed.is_empty() || m.kind != "incident") {
        out.push_str("## What failed\n\n");
        if m.what_failed.is_empty() {
            out.push_str("Nothing failed, was skipped or was overridden.\n\n");
        } else {
            out.push_str(
                "Each row is something to fix or to write into the runbook before the next test.\n\n",
            );
            let rows = m
                .what_failed
                .iter()
                .map(|f| {
                    vec![
                        ts(f.at),
                        f.step
                            .as_ref()
                            .map(|s| format!("`{s}`"))
                            .unwrap_or_default(),
                        f.what.clone(),
                        f.operator.clone(),
                        f.detail.clone(),
                        f.outcome.clone(),
                    ]
                })
                .collect();
            table(
                out,
                &["time", "step", "what", "operator", "detail", "then"],
                rows,
            );
        }
    }
}

fn render_timeline(out: &mut String, m: &ReportModel) {
    out.push_str("## Timeline\n\n```text\n");
    for e in &m.timeline {
        let line = format!(
            "{}  {:<12} {}\n",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.operator,
            e.text
        );
        out.push_str(&line.replace("```", "ˋˋˋ"));
    }
    out.push_str("```\n");
}

fn render_review(out: &mut String, m: &ReportModel) {
    out.push_str("## Review record\n\n");
    let rows = m
        .review
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let count = |v: Option<bool>| x.preflight.iter().filter(|c| c.ok == v).count();
            vec![
                (i + 1).to_string(),
                format!("`{}`", x.id),
                x.title.clone(),
                x.kind.clone(),
                if x.reviewed {
                    "reviewed".into()
                } else {
                    "not reviewed".into()
                },
                x.reviewed_by.join("; "),
                x.notes.join("; "),
                if x.preflight.is_empty() {
                    "not run".into()
                } else {
                    format!(
                        "✓ {} · ✗ {} · ? {}",
                        count(Some(true)),
                        count(Some(false)),
                        count(None)
                    )
                },
            ]
        })
        .collect();
    table(
        out,
        &[
            "#",
            "id",
            "title",
            "kind",
            "state",
            "reviewed by",
            "notes",
            "preflight",
        ],
        rows,
    );
    let with_pf: Vec<&ReviewStepRow> = m
        .review
        .iter()
        .filter(|x| !x.preflight.is_empty())
        .collect();
    if !with_pf.is_empty() {
        out.push_str("### Preflight results\n\n");
        for x in with_pf {
            out.push_str(&format!(
                "`{}` — {}:\n\n",
                x.id,
                x.preflight_at.map(ts).unwrap_or_default()
            ));
            for c in &x.preflight {
                out.push_str(&format!(
                    "- {} {}: {}\n",
                    check_mark(c.ok),
                    c.what,
                    c.detail
                ));
            }
            out.push('\n');
        }
    }
}
