//! RPO evidence on the panel when the primary is unreachable.

use super::*;

/// A managed promotion step (`scaleway.promote_replica`), built as the plan loader does.
fn scw_promote_step() -> Step {
    let raw: drcockpit::plan::raw::RawStep = toml::from_str(
        "id = \"promote-db\"\ntitle = \"Promote\"\nkind = \"scaleway.promote_replica\"\nsite = \"dr\"\nregion = \"nl-ams\"\nread_replica_id = \"5e1d2c3b-4a59-4f6e-8d7c-0b1a2f3e4d5c\"\ntoken = \"tok\"\napi_url = \"http://127.0.0.1:9\"\n",
    )
    .expect("raw step");
    let mut resolve = |v: &str, _key: &str| -> Result<String, String> { Ok(v.to_string()) };
    let action = drcockpit::steps::scaleway::build("scaleway.promote_replica", &raw, &mut resolve)
        .expect("build");
    let mut s = step("promote-db", action);
    s.site = Some(SiteId::Dr);
    s.confirm = Some("PROMOTE".into());
    s
}

/// Issue 11 defect 4: the panels' RPO evidence at a managed promotion, taken while the PROD
/// database does not answer, says the RPO is unknown (its "0 B behind" is against a position
/// seen before PROD died) — and the report built from the journal says UNKNOWN, never MET.
#[test]
fn panel_rpo_evidence_with_the_primary_unreachable_is_unknown() {
    use drcockpit::report::{self, Verdict as RV};
    let mut p = test_plan();
    p.sites[0].database = Some(DatabaseConfig::default());
    p.sites[1].database = Some(DatabaseConfig::default());
    p.steps = vec![scw_promote_step()];
    let mut h = Harness::new(Mode::Live);
    h.state = State::new(Arc::new(p), Mode::Live, h.state.operator.clone(), t0());
    let db = |h: &mut Harness, site: SiteId, outcome: Result<Reading, ProbeError>| {
        let at = h.now;
        h.send(Msg::Observed(Observation {
            site,
            section: Section::Database,
            at,
            outcome,
        }));
    };
    db(
        &mut h,
        SiteId::Prod,
        Ok(Reading::new("primary", Level::Good)),
    );
    h.advance(33);
    db(
        &mut h,
        SiteId::Prod,
        Err(ProbeError::new("unreachable", "connection refused")),
    );
    db(
        &mut h,
        SiteId::Dr,
        Ok(Reading::new("standby · 0 B behind", Level::Good)
            .field("lag", Value::Bytes(0))
            .field("replay_age", Value::Duration(Duration::ZERO))),
    );
    h.key(KeyCode::Enter);
    h.type_str("PROMOTE");
    h.key(KeyCode::Enter);
    assert_eq!(h.run_steps(), vec![(0, 1)]);
    let detail = h
        .events()
        .iter()
        .find_map(|e| match e {
            Event::Evidence { what, detail, .. } if what.contains("rpo") => Some(detail.clone()),
            _ => None,
        })
        .expect("panel rpo evidence");
    assert_eq!(detail["rpo"], "unknown", "{detail}");
    assert_eq!(detail["primary_reachable"], false, "{detail}");
    assert!(
        detail["primary"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "{detail}"
    );
    h.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Ok("read replica promoted".into()),
    });
    let m = report::build(&h.journal);
    assert_eq!(m.rpo.verdict, RV::Unknown, "{:?}", m.rpo);

    // With PROD answering at the moment of promotion, the panels' lag is evidence.
    let mut p = test_plan();
    p.sites[0].database = Some(DatabaseConfig::default());
    p.sites[1].database = Some(DatabaseConfig::default());
    p.steps = vec![scw_promote_step()];
    let mut h2 = Harness::new(Mode::Live);
    h2.state = State::new(Arc::new(p), Mode::Live, h2.state.operator.clone(), t0());
    db(
        &mut h2,
        SiteId::Prod,
        Ok(Reading::new("primary", Level::Good)),
    );
    db(
        &mut h2,
        SiteId::Dr,
        Ok(Reading::new("standby · 0 B behind", Level::Good)
            .field("lag", Value::Bytes(0))
            .field("replay_age", Value::Duration(Duration::ZERO))),
    );
    h2.key(KeyCode::Enter);
    h2.type_str("PROMOTE");
    h2.key(KeyCode::Enter);
    h2.send(Msg::StepDone {
        step: 0,
        attempt: 1,
        result: Ok("read replica promoted".into()),
    });
    let m = report::build(&h2.journal);
    // Measured (this journal has no session record, so no target to be MET against).
    assert_eq!(
        (m.rpo.measured_secs, m.rpo.verdict),
        (Some(0), RV::NotMeasurable),
        "{:?}",
        m.rpo
    );
}
