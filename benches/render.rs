//! Time to draw one full frame of a busy cockpit (every section observed, a step running, a
//! failed and a skipped step, review marks, notes) into a TestBackend at 200×50, 160×48 and 80×24.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use drcockpit::app::state::StepPhase;
use drcockpit::app::{Level, Mode, Observation, Operator, ProbeError, Reading, Section, State};
use drcockpit::plan::*;
use drcockpit::ui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn busy_state() -> State {
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let site = |label: &str| Site {
        label: label.into(),
        health: Some(HealthConfig {
            url: "http://127.0.0.1:9/healthz".into(),
            expect_status: vec![200],
            timeout: Duration::from_secs(2),
        }),
        ..Site::default()
    };
    let steps: Vec<Step> = (0..14)
        .map(|i| Step {
            id: format!("step-{i}"),
            title: format!("Step number {i} of the failover runbook"),
            description: Some("A longer description of what this step is for.".into()),
            action: StepAction::Command(CommandSpec {
                program: "psql".into(),
                args: vec!["-c".into(), "SELECT pg_promote(true, 60)".into()],
                cwd: None,
                env: vec![],
                secret_env: vec![],
                inherit_env: false,
                timeout: Duration::from_secs(60),
            }),
            requires: vec![
                Condition::parse("dr.health.ok").unwrap_or_else(|e| panic!("{e}")),
                Condition::parse("dr.database.lag < 16MiB").unwrap_or_else(|e| panic!("{e}")),
            ],
            confirm: Some("FAILOVER".into()),
            timeout: None,
            site: Some(SiteId::Dr),
        })
        .collect();
    let plan = Plan {
        name: "shop".into(),
        strategy: Strategy::WarmStandby,
        rto: Duration::from_secs(1800),
        rpo: Duration::from_secs(300),
        description: None,
        source: "<bench>".into(),
        hash: "abc".into(),
        parity: None,
        sites: [site("Scaleway fr-par"), site("AWS eu-west-1")],
        qovery: None,
        images: None,
        dns: None,
        probes: ProbeSettings::default(),
        steps,
    };
    let op = Operator {
        name: "alice".into(),
        host: "bastion-1".into(),
    };
    let mut s = State::new(Arc::new(plan), Mode::Live, op, t0);
    for site in SiteId::ALL {
        for sec in Section::ALL {
            let st = &mut s.sections[site.index()][sec.index()];
            st.configured = true;
            let outcome = if site == SiteId::Prod && sec == Section::Database {
                Err(ProbeError::new("unreachable", "connection refused"))
            } else {
                Ok(
                    Reading::new(format!("{} looks fine · 42 ms", sec.title()), Level::Good)
                        .field("ok", Value::Bool(true))
                        .field("lag", Value::Bytes(1024)),
                )
            };
            st.observe(&Observation {
                site,
                section: sec,
                at: t0,
                outcome,
            });
        }
    }
    s.now = t0 + chrono::Duration::seconds(7);
    for i in 0..4 {
        s.steps[i].phase = StepPhase::Succeeded {
            at: t0,
            detail: "ok".into(),
        };
    }
    s.steps[4].phase = StepPhase::Skipped {
        reason: "not needed in this drill".into(),
    };
    s.steps[5].phase = StepPhase::Failed {
        at: t0,
        error: "exit 2: could not connect".into(),
        attempt: 1,
    };
    s.steps[6].phase = StepPhase::Running {
        attempt: 2,
        since: t0,
    };
    s.steps[6].last_output = Some("SELECT pg_is_in_recovery() → true".into());
    s.steps[6].notes.push("checked with the DBA".into());
    s.selected = 6;
    s.flash = Some(("step 6 is running".into(), t0));
    s
}

fn bench(c: &mut Criterion) {
    let state = busy_state();
    let theme = Theme::builtin("dark").unwrap_or_default();
    for (w, h) in [(200u16, 50u16), (160, 48), (80, 24)] {
        let mut term = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => panic!("test backend: {e}"),
        };
        c.bench_function(&format!("draw_busy_{w}x{h}"), |b| {
            b.iter(|| {
                // Force a full redraw each time: a fresh frame is compared to a cleared buffer.
                let _ = term.clear();
                let r = term.draw(|f| ui::draw(f, black_box(&state), &View::new(&theme, None)));
                black_box(r.is_ok())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
