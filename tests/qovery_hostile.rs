//! Qovery deployments against a world that disagrees with us (issue "Never a false green"):
//! the simulator keeps the ground truth of every deployment apart from what it answers, and
//! answers the status fields in every order the spec allows. Every step's verdict must match the
//! ground truth; no sequence of observations may yield "succeeded" before the truth got there.

use std::sync::Arc;
use std::time::Duration;

use drcockpit::clients::http::{HttpClient, HttpError, RequestSpec};
use drcockpit::clients::qovery::State;
use drcockpit::clients::qovery::follow::{
    Expectation, Goal, Observation, ServiceObservation, Verdict, verdict,
};
use drcockpit::plan::raw::RawStep;
use drcockpit::plan::{Plan, StepAction};
use drcockpit::sim::qovery::{FieldOrder, QoveryWorld, ids};
use drcockpit::steps::{StepContext, StepSink};
use proptest::prelude::*;

mod common;
use common::qovery::serve;

/// A hostile world answering every deployment's fields in `order`, lagging 250 ms behind.
async fn hostile(order: FieldOrder) -> (Arc<QoveryWorld>, String) {
    drcockpit::clients::qovery::set_env_overrides(false);
    let w = Arc::new(
        QoveryWorld::new("hostile", 11)
            .with_phase(Duration::from_millis(120))
            .with_lag(Duration::from_millis(250))
            .with_late_reads(false)
            .with_field_order(order),
    );
    let url = serve(w.clone()).await;
    (w, url)
}

fn plan(url: &str) -> Plan {
    common::qovery::plan("hostile qovery test", url)
}

fn step(p: &Plan, kind: &str, extra: &str) -> StepAction {
    let interval = if kind == "qovery.set_variables" {
        ""
    } else {
        "interval = \"50ms\"\n"
    };
    let r: RawStep = toml::from_str(&format!(
        "id = \"s\"\ntitle = \"t\"\nkind = \"{kind}\"\nsite = \"dr\"\n{interval}{extra}"
    ))
    .expect("valid step TOML");
    common::qovery::build_step(p, &r)
}

struct Run {
    result: Result<String, String>,
    lines: Vec<String>,
}

/// Run a step; `None` if it had not ended after `limit` (the step's own timeout would fail it).
async fn run(p: &Plan, action: &StepAction, limit: Duration) -> Option<Run> {
    let (ctx, mut heard) = common::steps::context(Arc::new(p.clone()), HttpClient::new(false));
    let result = tokio::time::timeout(limit, drcockpit::steps::run(action, ctx))
        .await
        .ok()?;
    let lines = heard
        .lines()
        .into_iter()
        .map(|line| format!("[{}] {}", line.stream, line.text))
        .collect();
    Some(Run { result, lines })
}

const LIMIT: Duration = Duration::from_secs(20);

/// The step's verdict matches the ground truth at the moment it returned.
fn assert_truth(w: &QoveryWorld, run: &Run, want_state: &str, order: FieldOrder) {
    let truth = w.ground_truth(ids::DR_ENV).expect("DR environment");
    let all = run.lines.join("\n");
    match &run.result {
        Ok(summary) => {
            assert!(
                !truth.running,
                "{order:?}: said {summary:?} while the deployment still runs:\n{all}"
            );
            assert_eq!(truth.state, want_state, "{order:?}: {summary}\n{all}");
            assert!(
                truth.services.iter().all(|(_, s)| s == want_state),
                "{order:?}: {summary} but services are {:?}\n{all}",
                truth.services
            );
            let n = truth.services.len();
            assert!(
                summary.contains(&format!("{n}/{n}")),
                "{order:?}: {summary}\n{all}"
            );
        }
        Err(e) => panic!("{order:?}: failed ({e}) but the truth is {truth:?}:\n{all}"),
    }
}

#[tokio::test]
async fn deploy_from_stopped_matches_the_truth_in_every_field_order() {
    for order in FieldOrder::HOSTILE {
        let (w, url) = hostile(order).await;
        let p = plan(&url);
        let action = step(&p, "qovery.deploy", "");
        let run = run(&p, &action, LIMIT).await.expect("ends");
        assert_truth(&w, &run, "DEPLOYED", order);
    }
}

#[tokio::test]
async fn a_retry_from_deployed_waits_for_the_new_deployment_in_every_field_order() {
    for order in FieldOrder::HOSTILE {
        let (w, url) = hostile(order).await;
        let p = plan(&url);
        let first = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
            .await
            .expect("ends");
        assert_truth(&w, &first, "DEPLOYED", order);
        // Let the answers catch up: the environment now reads DEPLOYED everywhere.
        tokio::time::sleep(Duration::from_millis(400)).await;
        for kind in ["qovery.deploy", "qovery.redeploy"] {
            let again = run(&p, &step(&p, kind, ""), LIMIT).await.expect("ends");
            assert_truth(&w, &again, "DEPLOYED", order);
            let rid = w
                .ground_truth(ids::DR_ENV)
                .and_then(|t| t.deployment_request_id)
                .expect("a request id");
            assert_eq!(
                w.request_outcome(&rid).as_deref(),
                Some("DEPLOYED"),
                "{order:?} {kind}"
            );
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
}

#[tokio::test]
async fn deploy_services_and_stop_match_the_truth_in_every_field_order() {
    for order in FieldOrder::HOSTILE {
        let (w, url) = hostile(order).await;
        let p = plan(&url);
        let run1 = run(
            &p,
            &step(
                &p,
                "qovery.deploy_services",
                "services = [\"web\", \"api\"]\ntag = \"v9\"\n",
            ),
            LIMIT,
        )
        .await
        .expect("ends");
        let summary = run1.result.clone().unwrap_or_else(|e| {
            panic!("{order:?}: {e}\n{}", run1.lines.join("\n"));
        });
        assert!(summary.contains("2/2"), "{order:?}: {summary}");
        let truth = w.ground_truth(ids::DR_ENV).expect("DR");
        assert!(!truth.running, "{order:?}: {summary} while running");
        for id in [ids::DR_WEB, ids::DR_API] {
            let st = truth.services.iter().find(|(i, _)| i == id).map(|s| &s.1);
            assert_eq!(st.map(String::as_str), Some("DEPLOYED"), "{order:?}");
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let deployed = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
            .await
            .expect("ends");
        assert_truth(&w, &deployed, "DEPLOYED", order);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let stopped = run(&p, &step(&p, "qovery.stop", ""), LIMIT)
            .await
            .expect("ends");
        assert_truth(&w, &stopped, "STOPPED", order);
    }
}

#[tokio::test]
async fn a_failed_deployment_fails_in_every_field_order() {
    for order in FieldOrder::HOSTILE {
        let (w, url) = hostile(order).await;
        let p = plan(&url);
        w.fail_next_deployment_of("worker");
        let r = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
            .await
            .expect("ends");
        let truth = w.ground_truth(ids::DR_ENV).expect("DR");
        let err = r.result.expect_err("the truth is DEPLOYMENT_ERROR");
        assert_eq!(truth.state, "DEPLOYMENT_ERROR", "{order:?}: {err}");
        assert!(err.contains("DEPLOYMENT_ERROR"), "{order:?}: {err}");
        assert!(err.contains("worker"), "{order:?}: {err}");
        // The retry succeeds even though the answers may still show the failed deployment.
        let again = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
            .await
            .expect("ends");
        assert_truth(&w, &again, "DEPLOYED", order);
    }
}

#[tokio::test]
async fn a_stalled_deployment_is_never_called_succeeded() {
    for order in [FieldOrder::Truthful]
        .into_iter()
        .chain(FieldOrder::HOSTILE)
    {
        let (w, url) = hostile(order).await;
        let p = plan(&url);
        w.stall_next_deployment();
        let r = run(
            &p,
            &step(&p, "qovery.deploy", ""),
            Duration::from_millis(1500),
        )
        .await;
        let truth = w.ground_truth(ids::DR_ENV).expect("DR");
        assert!(
            truth.running,
            "{order:?}: the stalled deployment still runs"
        );
        if let Some(r) = r {
            assert!(
                r.result.is_err(),
                "{order:?}: a stalled deployment ended as {:?}",
                r.result
            );
        }
    }
}

/// The first report: from STOPPED, the new `deployment_request_id` came with the old
/// `last_deployment_state` (STOPPED), and the step said "failed: ended in STOPPED". The
/// contradiction is logged once.
#[tokio::test]
async fn a_fresh_request_id_with_a_stale_last_state_is_still_running_and_logged_once() {
    let (w, url) = hostile(FieldOrder::RequestIdFirst).await;
    let p = plan(&url);
    let r = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
        .await
        .expect("ends");
    assert_truth(&w, &r, "DEPLOYED", FieldOrder::RequestIdFirst);
    let notes: Vec<&String> = r
        .lines
        .iter()
        .filter(|l| l.contains("may still be the previous one's"))
        .collect();
    assert!(notes.len() <= 1, "logged once: {notes:#?}");
}

#[tokio::test]
async fn wait_if_busy_waits_for_every_field_to_be_idle() {
    let (w, url) = hostile(FieldOrder::LastStateFirst).await;
    let p = plan(&url);
    let c = drcockpit::clients::qovery::QoveryClient::from_plan(
        p.qovery.as_ref().expect("qovery"),
        HttpClient::new(false),
    );
    c.redeploy_environment(ids::DR_ENV)
        .await
        .expect("someone else's redeploy");
    let r = run(
        &p,
        &step(&p, "qovery.deploy", "wait_if_busy = true\n"),
        LIMIT,
    )
    .await
    .expect("ends");
    assert_truth(&w, &r, "DEPLOYED", FieldOrder::LastStateFirst);
    // The stale `state` (STOPPED) did not pass for idle: one 409, then one accepted POST.
    let posts = w.mutations().len();
    assert_eq!(posts, 3, "{:#?}", r.lines);
}

#[tokio::test]
async fn the_hostile_scenario_never_shows_a_false_green() {
    for seed in 1..=4u64 {
        drcockpit::clients::qovery::set_env_overrides(false);
        let w = Arc::new(
            QoveryWorld::new("hostile", seed)
                .with_phase(Duration::from_millis(100))
                .with_lag(Duration::from_millis(220))
                .with_late_reads(false),
        );
        let url = serve(w.clone()).await;
        let p = plan(&url);
        for kind in ["qovery.deploy", "qovery.redeploy", "qovery.stop"] {
            let want = if kind == "qovery.stop" {
                "STOPPED"
            } else {
                "DEPLOYED"
            };
            let r = run(&p, &step(&p, kind, ""), LIMIT).await.expect("ends");
            assert_truth(&w, &r, want, FieldOrder::Truthful);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

// ---- defect 10: a 5xx to a mutation may have been applied --------------------------------------

#[tokio::test]
async fn a_5xx_to_deploy_after_the_work_started_says_may_or_may_not() {
    let (w, url) = hostile(FieldOrder::Truthful).await;
    let p = plan(&url);
    w.fail_after_applying("POST", "/deploy", 502, "Bad Gateway", 1);
    let r = run(&p, &step(&p, "qovery.deploy", ""), LIMIT)
        .await
        .expect("ends");
    let err = r.result.expect_err("502");
    assert!(err.contains("may or may not"), "{err}");
    assert!(
        err.contains("deploymentHistory"),
        "names what to check: {err}"
    );
    assert!(!err.contains("not accepted"), "{err}");
    // It had in fact been applied, and the step did not send it again.
    assert!(w.ground_truth(ids::DR_ENV).expect("DR").running);
    assert_eq!(w.mutations().len(), 1);
}

#[tokio::test]
async fn a_5xx_to_a_variable_write_says_may_or_may_not() {
    let (w, url) = hostile(FieldOrder::Truthful).await;
    let p = plan(&url);
    w.fail_after_applying(
        "PUT",
        "/environmentVariable/",
        503,
        "Service Unavailable",
        1,
    );
    let r = run(
        &p,
        &step(
            &p,
            "qovery.set_variables",
            "variables = { LOG_LEVEL = \"debug\" }\n",
        ),
        LIMIT,
    )
    .await
    .expect("ends");
    let err = r.result.expect_err("503");
    assert!(err.contains("may or may not"), "{err}");
    assert!(err.contains("LOG_LEVEL"), "{err}");
    assert!(!err.contains("not accepted"), "{err}");
    assert_eq!(
        w.variable(ids::DR_ENV, "LOG_LEVEL").as_deref(),
        Some("debug")
    );
}

#[tokio::test]
async fn the_shared_transport_reports_a_5xx_to_a_mutation_as_maybe_applied() {
    let (w, url) = hostile(FieldOrder::Truthful).await;
    w.fail_after_applying("POST", "/stop", 504, "upstream request timeout", 1);
    w.inject_status("GET", "/statuses", 503, "busy", 1);
    let http = HttpClient::new(false).with_read_retries(0);
    let spec = |method: &str, path: &str| RequestSpec {
        method: method.into(),
        url: format!("{url}/environment/{}/{path}", ids::PROD_ENV),
        headers: vec![("Authorization".into(), format!("Token {}", ids::DEMO_TOKEN))],
        body: None,
    };
    let e = http
        .send(&spec("POST", "stop"), Duration::from_secs(5))
        .await
        .expect_err("504 to a POST");
    assert!(
        matches!(e, HttpError::MaybeApplied { status: 504, .. }),
        "{e:?}"
    );
    assert!(e.may_have_been_applied());
    let text = e.to_string();
    assert!(text.contains("may or may not have been applied"), "{text}");
    assert!(text.contains("before retrying"), "{text}");
    // A read keeps its status: it changed nothing.
    let r = http
        .send(&spec("GET", "statuses"), Duration::from_secs(5))
        .await
        .expect("a 5xx to a GET is an answer");
    assert_eq!(r.status, 503);
    assert_eq!(w.mutations().len(), 1);
}

// ---- the end condition against every sequence of observations ----------------------------------

/// One instant of the ground truth of a deployment of `n` services, in the simulator's model:
/// queued, then service by service, ending DEPLOYED, or in DEPLOYMENT_ERROR at `fail`, or stalled.
#[derive(Debug, Clone)]
struct Truth {
    state: State,
    last: State,
    rid: Option<String>,
    services: Vec<(State, Option<String>)>,
    reached: bool,
}

const OLD: &str = "old-request";
const NEW: &str = "new-request";

fn trace(n: usize, from: State, fail: Option<usize>, stall: Option<usize>) -> Vec<Truth> {
    let mut out = vec![Truth {
        state: from.clone(),
        last: from.clone(),
        rid: Some(OLD.into()),
        services: vec![(from.clone(), Some(OLD.into())); n],
        reached: false,
    }];
    let mut cur = Truth {
        state: State::DeploymentQueued,
        last: State::DeploymentQueued,
        rid: Some(NEW.into()),
        services: vec![(State::Queued, Some(NEW.into())); n],
        reached: false,
    };
    out.push(cur.clone());
    for i in 0..n {
        if stall == Some(i) {
            return out;
        }
        cur.state = State::Deploying;
        cur.last = State::Deploying;
        cur.services[i].0 = State::Deploying;
        out.push(cur.clone());
        if fail == Some(i) {
            cur.services[i].0 = State::DeploymentError;
            cur.state = State::DeploymentError;
            cur.last = State::DeploymentError;
            for s in cur.services.iter_mut().skip(i + 1) {
                s.0 = from.clone();
            }
            out.push(cur.clone());
            return out;
        }
        cur.services[i].0 = State::Deployed;
        if i + 1 == n {
            cur.state = State::Deployed;
            cur.last = State::Deployed;
            cur.reached = true;
        }
        out.push(cur.clone());
    }
    out
}

/// Build observations: at each read `k` the truth is at `now[k]` (non-decreasing); every field
/// answers the truth at its own non-decreasing position `≤ now[k]` (any order, any lag).
fn observe(
    tr: &[Truth],
    reads: &[(usize, [usize; 5])],
    ids: &[String],
    request_status: bool,
) -> Vec<(usize, Observation)> {
    let mut pos = [0usize; 5];
    let mut now = 0usize;
    let mut out = Vec::new();
    for (adv, lags) in reads {
        now = (now + adv).min(tr.len() - 1);
        for f in 0..5 {
            // Each field moves forward only, never past the truth.
            pos[f] = pos[f].max(now.saturating_sub(lags[f])).min(now);
        }
        let t = |f: usize| &tr[pos[f]];
        let obs = Observation {
            state: t(0).state.clone(),
            last_deployment_state: t(1).last.clone(),
            deployment_request_id: t(2).rid.clone(),
            services: ids
                .iter()
                .enumerate()
                .map(|(i, id)| ServiceObservation {
                    id: id.clone(),
                    name: id.clone(),
                    state: t(3).services[i].0.clone(),
                    deployment_request_id: t(3).services[i].1.clone(),
                })
                .collect(),
            // The request's own status: unknown before it exists, then its truth (lagging too).
            request_status: (request_status && pos[4] >= 1).then(|| {
                let r = &tr[pos[4]];
                if r.reached {
                    State::Deployed
                } else if r.last.is_error() {
                    r.last.clone()
                } else {
                    State::DeploymentQueued
                }
            }),
        };
        out.push((now, obs));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_sequence_of_observations_yields_success_before_the_truth(
        n in 1usize..4,
        from in prop_oneof![Just(State::Stopped), Just(State::Deployed), Just(State::DeploymentError)],
        fail in proptest::option::of(0usize..4),
        stall in proptest::option::of(0usize..4),
        knows_rid in any::<bool>(),
        request_status in any::<bool>(),
        scoped in any::<bool>(),
        reads in proptest::collection::vec((0usize..3, [0usize..4, 0usize..4, 0usize..4, 0usize..4, 0usize..4]), 1..30),
    ) {
        let tr = trace(n, from, fail, stall);
        let ids: Vec<String> = (0..n).map(|i| format!("svc-{i}")).collect();
        let expect = Expectation {
            goal: Goal::Reach(vec![State::Deployed, State::Restarted]),
            request_id: knows_rid.then(|| NEW.to_string()),
            previous_request_id: Some(OLD.into()),
            services: scoped.then(|| ids.clone()),
        };
        let seq = observe(&tr, &reads, &ids, request_status);
        let mut history = Vec::new();
        for (now, obs) in seq {
            history.push(obs);
            match verdict(&expect, &history) {
                Verdict::Succeeded => prop_assert!(
                    tr[now].reached,
                    "succeeded while the truth is {:?}\nhistory: {:#?}", tr[now], history
                ),
                Verdict::Failed(why) => prop_assert!(
                    !tr[now].reached,
                    "failed ({why}) while the truth reached the target"
                ),
                Verdict::Running(_) => {}
            }
        }
    }

    #[test]
    fn idle_is_never_claimed_while_a_field_still_moves(
        env in prop_oneof![Just(State::Deploying), Just(State::Deployed), Just(State::Queued)],
        last in prop_oneof![Just(State::Deploying), Just(State::Deployed), Just(State::DeploymentError)],
        svcs in proptest::collection::vec(prop_oneof![Just(State::Deploying), Just(State::Deployed), Just(State::Stopped)], 0..4),
    ) {
        let obs = Observation {
            state: env.clone(),
            last_deployment_state: last.clone(),
            deployment_request_id: None,
            services: svcs.iter().enumerate().map(|(i, s)| ServiceObservation {
                id: format!("s{i}"), name: format!("s{i}"), state: s.clone(), deployment_request_id: None,
            }).collect(),
            request_status: None,
        };
        let expect = Expectation { goal: Goal::Idle, request_id: None, previous_request_id: None, services: None };
        let idle = env.is_terminal() && last.is_terminal() && svcs.iter().all(State::is_terminal);
        prop_assert_eq!(verdict(&expect, &[obs]) == Verdict::Succeeded, idle);
    }
}

// ---- defect 11: old values are never shown in clear --------------------------------------------

fn sha8(v: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(v.as_bytes()))[..8].to_string()
}

async fn preflight(p: &Plan, action: &StepAction) -> Vec<drcockpit::journal::PreflightCheck> {
    let ctx = StepContext::read_only(Arc::new(p.clone()), 0, StepSink::discard());
    match action {
        StepAction::Qovery(q) => drcockpit::steps::qovery::preflight(q, &ctx).await,
        _ => vec![],
    }
}

#[tokio::test]
async fn set_variables_masks_a_url_password_and_secret_named_values_everywhere() {
    let (w, url) = hostile(FieldOrder::Truthful).await;
    let p = plan(&url);
    let old = "postgres://shop:OldPassw0rd-9f2@old-db.fr-par.internal:5432/shop";
    let new = "postgres://shop:NewPassw0rd-7c1@db.eu-west-1.internal:5432/shop";
    // Someone left a password in a plain variable.
    let setup = step(
        &p,
        "qovery.set_variables",
        &format!(
            "variables = {{ DATABASE_URL = \"{old}\", SESSION_SIGNING_KEY = \"k-old-1234\" }}\ncreate_missing = true\n"
        ),
    );
    let r = run(&p, &setup, LIMIT).await.expect("ends");
    r.result.expect("set");
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some(old)
    );
    let action = step(
        &p,
        "qovery.set_variables",
        &format!(
            "variables = {{ DATABASE_URL = \"{new}\", SESSION_SIGNING_KEY = \"k-new-5678\", LOG_LEVEL = \"warn\" }}\n"
        ),
    );
    let leaks = ["OldPassw0rd", "NewPassw0rd", "k-old-1234", "k-new-5678"];
    // Review mode.
    let described = drcockpit::steps::describe(&action).join("\n");
    // check --online: the preflight results.
    let checks = preflight(&p, &action).await;
    let shown: String = checks
        .iter()
        .map(|c| format!("{}: {}", c.what, c.detail))
        .collect::<Vec<_>>()
        .join("\n");
    let db = checks
        .iter()
        .find(|c| c.what == "variable DATABASE_URL exists")
        .expect("DATABASE_URL check");
    assert_eq!(
        db.detail,
        format!(
            "‹masked sha256:{}› → ‹masked sha256:{}›",
            sha8(old),
            sha8(new)
        )
    );
    assert!(
        shown.contains("\"info\" → \"warn\""),
        "plain values stay readable: {shown}"
    );
    // The run: screen, journal and report all take the step's lines and summary.
    let r = run(&p, &action, LIMIT).await.expect("ends");
    let summary = r.result.clone().expect("set");
    let all = format!("{described}\n{shown}\n{}\n{summary}", r.lines.join("\n"));
    for leak in leaks {
        assert!(!all.contains(leak), "{leak} shown in clear:\n{all}");
    }
    assert!(
        all.contains(&format!(
            "DATABASE_URL: ‹masked sha256:{}› → ‹masked sha256:{}›",
            sha8(old),
            sha8(new)
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "read back DATABASE_URL = ‹masked sha256:{}› ✓",
            sha8(new)
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!("‹masked sha256:{}›", sha8("k-old-1234"))),
        "{all}"
    );
    assert_eq!(
        w.variable(ids::DR_ENV, "DATABASE_URL").as_deref(),
        Some(new)
    );
}

#[test]
fn sensitive_names_and_url_passwords_are_recognised() {
    use drcockpit::steps::qovery::is_sensitive;
    for (k, v) in [
        ("DB_PASSWORD", "x"),
        ("stripe_secret", "x"),
        ("GithubToken", "x"),
        ("API_KEY", "x"),
        ("DATABASE_URL", "postgres://shop:pw@db:5432/shop"),
        ("REDIS", "rediss://:pw@cache:6379"),
        ("DSN", "host=a url=amqp://u:p@mq/vhost"),
    ] {
        assert!(is_sensitive(k, v), "{k}={v}");
    }
    for (k, v) in [
        ("DATABASE_URL", "postgres://shop@db:5432/shop"),
        ("LOG_LEVEL", "info"),
        ("HOMEPAGE", "https://example.com/a:b@c"),
    ] {
        assert!(!is_sensitive(k, v), "{k}={v}");
    }
}

// ---- the two reports, as observations ----------------------------------------------------

fn obs(state: State, last: State, rid: &str, svcs: (State, &str)) -> Observation {
    Observation {
        state,
        last_deployment_state: last,
        deployment_request_id: Some(rid.into()),
        // Three services, all in the same state.
        services: (0..3)
            .map(|i| ServiceObservation {
                id: format!("s{i}"),
                name: format!("s{i}"),
                state: svcs.0.clone(),
                deployment_request_id: Some(svcs.1.into()),
            })
            .collect(),
        request_status: None,
    }
}

fn deploy_expectation() -> Expectation {
    Expectation {
        goal: Goal::Reach(vec![State::Deployed, State::Restarted]),
        request_id: Some(NEW.into()),
        previous_request_id: Some(OLD.into()),
        services: None,
    }
}

/// "failed: shop-dr ended in STOPPED after 3.0s" while `state` was DEPLOYING.
#[test]
fn from_stopped_a_stale_last_state_with_a_deploying_state_is_running() {
    let o = obs(State::Deploying, State::Stopped, NEW, (State::Stopped, OLD));
    assert_eq!(verdict(&deploy_expectation(), &[o]), Verdict::Running(None));
}

/// "succeeded: shop-dr DEPLOYED after 3.0s; 0/3 services deployed" while the new deployment ran:
/// the new request id came with the previous `last_deployment_state`.
#[test]
fn a_fresh_request_id_with_the_previous_result_is_not_success() {
    let stale = obs(
        State::Deployed,
        State::Deployed,
        NEW,
        (State::Deployed, OLD),
    );
    let v = verdict(&deploy_expectation(), std::slice::from_ref(&stale));
    assert!(matches!(v, Verdict::Running(Some(_))), "{v:?}");
    // Even once something moved, services of an earlier request do not count.
    let moving = obs(
        State::Deploying,
        State::Deploying,
        NEW,
        (State::Queued, NEW),
    );
    let v = verdict(&deploy_expectation(), &[moving.clone(), stale]);
    assert!(matches!(v, Verdict::Running(Some(_))), "{v:?}");
    // 0/3 deployed is never success, whatever the environment says.
    let zero = obs(State::Deployed, State::Deployed, NEW, (State::Stopped, NEW));
    let v = verdict(&deploy_expectation(), &[moving.clone(), zero]);
    assert!(!matches!(v, Verdict::Succeeded), "{v:?}");
    let done = obs(
        State::Deployed,
        State::Deployed,
        NEW,
        (State::Deployed, NEW),
    );
    assert_eq!(
        verdict(&deploy_expectation(), &[moving, done]),
        Verdict::Succeeded
    );
}

/// `hostile`: an answer that arrives after the client's timeout, for a change that WAS applied.
#[tokio::test]
async fn an_answer_after_the_timeout_is_reported_as_maybe_applied_and_was_applied() {
    let (w, url) = hostile(FieldOrder::Truthful).await;
    let p = plan(&url);
    w.answer_late_after_applying("POST", "/redeploy", Duration::from_secs(3), 1);
    let c = drcockpit::clients::qovery::QoveryClient::from_plan(
        p.qovery.as_ref().expect("qovery"),
        HttpClient::new(false),
    )
    .with_timeout(Duration::from_millis(300));
    let e = c
        .redeploy_environment(ids::DR_ENV)
        .await
        .expect_err("answered too late");
    assert!(e.may_have_been_applied(), "{e}");
    assert!(
        w.ground_truth(ids::DR_ENV).expect("DR").running,
        "the redeploy was applied"
    );
    assert_eq!(w.mutations().len(), 1);
}
