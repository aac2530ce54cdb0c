//! Issue 16, item 4: the `notify.slack`, `notify.teams`, `notify.pagerduty` and
//! `notify.opsgenie` step kinds against the simulator's sinks (which check each service's
//! documented format), the PagerDuty dedup key carried through a real journal file and a resume,
//! `required` deciding whether a failed notification stops the checklist, and secrets never
//! reaching the log or the journal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use drcockpit::app::state::{Mode, Operator, State, StepPhase};
use drcockpit::app::update::{Effect, Msg, update};
use drcockpit::journal::writer::JournalWriter;
use drcockpit::journal::{Event, Record};
use drcockpit::plan::{LoadOptions, Plan, StepAction};
use drcockpit::sim::{self, SimHandle, SimOptions};
use drcockpit::steps::{self, StepContext};
use serde_json::Value;

async fn start() -> SimHandle {
    sim::start(SimOptions {
        scenario: "all-good".into(),
        seed: 16,
        listen: None,
        time_scale: 1,
    })
    .await
    .expect("simulator starts")
}

/// A secret in a file the plan references (`${file:…}`): resolved and registered with the
/// redactor by the loader, like `${env:…}`.
fn secret_file(dir: &Path, name: &str, value: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, value).expect("write secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    p
}

fn plan_text(steps: &str) -> String {
    format!(
        r#"
[plan]
name = "Shop failover"
strategy = "pilot-light"
rto = "30m"
rpo = "5m"

[sites.prod]
label = "Paris"

[sites.dr]
label = "Amsterdam"

[[step]]
id = "promote"
title = "Promote the DR database"
kind = "manual"
instructions = "promote it"
{steps}
"#
    )
}

fn load(text: &str) -> Plan {
    steps::load_str(text, "notify.toml", &LoadOptions::default()).expect("the plan loads")
}

/// Run step `i` as the executor does (after the journal hand-off), returning its result and
/// the output messages it sent.
async fn run_step(plan: &Plan, i: usize, records: &[Record]) -> (Result<String, String>, Vec<Msg>) {
    let mut action = plan.steps[i].action.clone();
    steps::hand_off_journal(&mut action, records);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = StepContext {
        plan: Arc::new(plan.clone()),
        http: drcockpit::clients::http::HttpClient::new(false),
        allow_spawn: false,
        step: i,
        attempt: 1,
        out: drcockpit::steps::StepSink::channel(tx),
        probes: Arc::default(),
    };
    let result = steps::run(&action, ctx).await;
    let mut msgs = Vec::new();
    while let Ok(m) = rx.try_recv() {
        msgs.push(m);
    }
    (result, msgs)
}

/// The engine's journaling of a step's run: its output and end go through `update` (which turns
/// `evidence:*` lines into evidence records) and every recorded event into a real journal file.
fn journal_run(
    plan: &Plan,
    i: usize,
    msgs: Vec<Msg>,
    result: Result<String, String>,
    journal: &Path,
) -> Vec<Event> {
    let op = Operator {
        name: "alice".into(),
        host: "bastion-1".into(),
    };
    let now = Utc::now();
    let mut state = State::new(Arc::new(plan.clone()), Mode::Live, op, now);
    state.steps[i].phase = StepPhase::Running {
        attempt: 1,
        since: now,
    };
    let mut events = Vec::new();
    let mut msgs = msgs;
    msgs.push(Msg::StepDone {
        step: i,
        attempt: 1,
        result,
    });
    for m in msgs {
        for fx in update(&mut state, m, now) {
            if let Effect::Record(ev) = fx {
                events.push(ev);
            }
        }
    }
    // `create` appends to an existing journal (a resumed session does the same).
    let mut w = JournalWriter::create(journal, "alice").expect("journal");
    for ev in &events {
        w.append(ev.clone()).expect("append");
    }
    events
}

fn read_journal(p: &Path) -> Vec<Record> {
    drcockpit::journal::read::read(p)
        .expect("journal reads")
        .records
}

fn status_of(s: &SimHandle, sink: &str) -> Vec<u16> {
    s.state()
        .webhook_requests(sink)
        .iter()
        .map(|r| r.status)
        .collect()
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("the sink got JSON")
}

#[tokio::test]
async fn slack_step_posts_text_and_blocks_that_the_sink_accepts() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let url = secret_file(
        dir.path(),
        "slack",
        &format!("{}/notify/slack/T0-B0-slacksecret1", s.url),
    );
    let plan = load(&plan_text(&format!(
        r#"
[[step]]
id = "tell"
title = "Tell the team"
kind = "notify.slack"
url = "${{file:{}}}"
message = "{{plan}}: failing over from {{prod}} to {{dr}}, {{done}}/{{total}} done, failed: {{failed}} ({{elapsed}} of RTO {{rto}})"
link = "https://runbooks.example.com/{{step}}"
"#,
        url.display()
    )));
    let (result, _) = run_step(&plan, 1, &[]).await;
    let summary = result.expect("sent");
    assert!(summary.starts_with("sent: slack post"), "{summary}");
    assert_eq!(status_of(&s, "notify-slack"), [200]);
    let body = json(&s.state().webhooks("notify-slack")[0]);
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with(
            "Shop failover: failing over from Paris to Amsterdam, 0/2 done, failed: none"
        ),
        "{text}"
    );
    assert_eq!(body["blocks"][0]["type"], "section");
    assert_eq!(body["blocks"][0]["text"]["type"], "mrkdwn");
    assert!(
        body["blocks"][1]["elements"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("https://runbooks.example.com/tell")),
        "{body}"
    );
}

#[tokio::test]
async fn teams_step_posts_an_adaptive_card_message_that_the_sink_accepts() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let url = secret_file(
        dir.path(),
        "teams",
        &format!("{}/notify/teams/sig-teams1", s.url),
    );
    let plan = load(&plan_text(&format!(
        r#"
[[step]]
id = "tell"
title = "Tell the team"
kind = "notify.teams"
url = "${{file:{}}}"
link = "https://status.example.com"
"#,
        url.display()
    )));
    let (result, _) = run_step(&plan, 1, &[]).await;
    assert!(result.expect("sent").starts_with("sent: teams post"));
    assert_eq!(status_of(&s, "notify-teams"), [202]);
    let body = s.state().webhooks("notify-teams")[0].clone();
    assert_eq!(sim::notify::teams_problem(&body), None);
    let v = json(&body);
    assert_eq!(v["type"], "message");
    assert_eq!(
        v["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        v["attachments"][0]["content"]["body"][0]["text"],
        "Shop failover"
    );
    assert_eq!(
        v["attachments"][0]["content"]["actions"][0]["url"],
        "https://status.example.com"
    );
}

#[tokio::test]
async fn malformed_bodies_are_refused_by_each_sink_in_the_services_shape() {
    let s = start().await;
    let c = reqwest::Client::new();
    let post = |path: &str, body: &str, auth: Option<&str>| {
        let mut r = c
            .post(format!("{}{path}", s.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let r = post("/notify/slack/x", r#"{"blocks":[]}"#, None)
        .await
        .expect("slack");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.text().await.expect("body"), "no_text");

    let r = post("/notify/teams/x", r#"{"text":"plain"}"#, None)
        .await
        .expect("teams");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "InvalidRequestContent");

    let r = post(
        "/notify/pagerduty/v2/enqueue",
        r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"x","source":"y","severity":"loud"}}"#,
        None,
    )
    .await
    .expect("pd");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status"], "invalid event");
    assert!(
        v["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("severity")),
        "{v}"
    );

    let r = post(
        "/notify/pagerduty/v2/enqueue",
        r#"{"routing_key":"k","event_action":"resolve"}"#,
        None,
    )
    .await
    .expect("pd");
    assert_eq!(r.status().as_u16(), 400, "resolve without a dedup_key");

    let r = post(
        "/notify/opsgenie/v2/alerts",
        "{not json",
        Some("GenieKey k"),
    )
    .await
    .expect("og");
    assert_eq!(r.status().as_u16(), 400);
    let r = post(
        "/notify/opsgenie/v2/alerts",
        r#"{"message":""}"#,
        Some("GenieKey k"),
    )
    .await
    .expect("og");
    assert_eq!(r.status().as_u16(), 422);
    let v: Value = r.json().await.expect("json");
    assert!(
        v["errors"]["message"].is_string() && v["requestId"].is_string(),
        "{v}"
    );
    let r = post("/notify/opsgenie/v2/alerts", r#"{"message":"m"}"#, None)
        .await
        .expect("og");
    assert_eq!(r.status().as_u16(), 401, "no GenieKey");
    let r = post(
        "/notify/opsgenie/v2/alerts",
        r#"{"message":"m"}"#,
        Some("GenieKey ratelimited"),
    )
    .await
    .expect("og");
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Every body is recorded, refused or not.
    assert_eq!(status_of(&s, "notify-opsgenie"), [400, 422, 401, 429]);
}

fn pd_steps(key: &Path) -> String {
    format!(
        r#"
[[step]]
id = "page"
title = "Page the on-call"
kind = "notify.pagerduty"
routing_key = "${{file:{k}}}"
api_url = "${{sim}}/notify/pagerduty/v2/enqueue"
severity = "critical"
message = "{{plan}}: failover started by {{operator}}"
link = "https://runbooks.example.com"

[[step]]
id = "resolve"
title = "Resolve the page"
kind = "notify.pagerduty"
action = "resolve"
routing_key = "${{file:{k}}}"
api_url = "${{sim}}/notify/pagerduty/v2/enqueue"
"#,
        k = key.display()
    )
}

#[tokio::test]
async fn pagerduty_trigger_then_resolve_use_the_same_dedup_key_through_the_journal_and_a_resume() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let key = secret_file(dir.path(), "pd", "R0UTINGKEYpdsecret0000000000000000");
    let text = plan_text(&pd_steps(&key));
    let plan = steps::load_str(
        &text,
        "notify.toml",
        &LoadOptions {
            sim_url: Some(s.url.clone()),
            ..Default::default()
        },
    )
    .expect("loads");
    let journal = dir.path().join("journal.jsonl");

    let (result, msgs) = run_step(&plan, 1, &[]).await;
    let summary = result.clone().expect("triggered");
    let events = journal_run(&plan, 1, msgs, result, &journal);
    let pd = s.state().webhooks("notify-pagerduty");
    let trigger = json(&pd[0]);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "drcockpit");
    assert!(
        trigger.get("dedup_key").is_none(),
        "PagerDuty makes the key"
    );
    // The key PagerDuty answered with is journaled as evidence.
    let evidence = events
        .iter()
        .find_map(|e| match e {
            Event::Evidence { what, detail, .. } if what == "notify" => Some(detail.clone()),
            _ => None,
        })
        .expect("evidence:notify journaled");
    let dedup = evidence["key"].as_str().expect("key").to_string();
    assert_eq!(dedup.len(), 32, "{evidence}");
    assert!(summary.contains(&dedup), "{summary}");

    // A new process (`--resume`): only what the journal file holds.
    let records = read_journal(&journal);
    let (result, _) = run_step(&plan, 2, &records).await;
    assert!(
        result
            .expect("resolved")
            .starts_with("sent: pagerduty resolve")
    );
    let pd = s.state().webhooks("notify-pagerduty");
    let resolve = json(&pd[1]);
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], dedup.as_str());
    assert_eq!(status_of(&s, "notify-pagerduty"), [202, 202]);

    // Without the journal there is nothing to resolve: said, not sent, and not required.
    let (result, msgs) = run_step(&plan, 2, &[]).await;
    let summary = result.expect("not required");
    assert!(summary.starts_with("NOT SENT"), "{summary}");
    assert!(summary.contains("no dedup_key"), "{summary}");
    assert_eq!(
        s.state().webhooks("notify-pagerduty").len(),
        2,
        "nothing posted"
    );
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Msg::StepOutput { line, .. } if line.stream == "stderr"))
    );
}

#[tokio::test]
async fn opsgenie_create_then_close_by_alias_with_a_geniekey() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let key = secret_file(dir.path(), "og", "0a1b2c3d-genie-secret-key");
    let steps = format!(
        r#"
[[step]]
id = "alert"
title = "Alert the on-call"
kind = "notify.opsgenie"
api_key = "${{file:{k}}}"
api_url = "${{sim}}/notify/opsgenie"
priority = "P2"

[[step]]
id = "close"
title = "Close the alert"
kind = "notify.opsgenie"
action = "close"
api_key = "${{file:{k}}}"
api_url = "${{sim}}/notify/opsgenie"
message = "closed by {{operator}}"
"#,
        k = key.display()
    );
    let plan = steps::load_str(
        &plan_text(&steps),
        "notify.toml",
        &LoadOptions {
            sim_url: Some(s.url.clone()),
            ..Default::default()
        },
    )
    .expect("loads");
    let journal = dir.path().join("journal.jsonl");
    let (result, msgs) = run_step(&plan, 1, &[]).await;
    assert!(
        result
            .clone()
            .expect("created")
            .starts_with("sent: opsgenie create")
    );
    journal_run(&plan, 1, msgs, result, &journal);
    let create = json(&s.state().webhooks("notify-opsgenie")[0]);
    assert_eq!(create["alias"], "drcockpit-shop-failover");
    assert_eq!(create["priority"], "P2");
    assert!(
        create["message"]
            .as_str()
            .is_some_and(|m| m.chars().count() <= 130)
    );

    let (result, _) = run_step(&plan, 2, &read_journal(&journal)).await;
    assert!(result.expect("closed").starts_with("sent: opsgenie close"));
    let close = json(&s.state().webhooks("notify-opsgenie-close")[0]);
    assert_eq!(close["identifier"], "drcockpit-shop-failover");
    assert_eq!(close["identifierType"], "alias");
    assert_eq!(status_of(&s, "notify-opsgenie-close"), [202]);
}

fn slack_step(url: &Path, required: bool) -> String {
    format!(
        r#"
[[step]]
id = "tell"
title = "Tell the team"
kind = "notify.slack"
url = "${{file:{}}}"
required = {required}
"#,
        url.display()
    )
}

#[tokio::test]
async fn a_failed_notification_does_not_block_unless_required() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    // A revoked webhook: Slack answers 403 invalid_token.
    let url = secret_file(
        dir.path(),
        "slack",
        &format!("{}/notify/slack/bad-revoked", s.url),
    );
    let journal = dir.path().join("j1.jsonl");

    let plan = load(&plan_text(&slack_step(&url, false)));
    let (result, msgs) = run_step(&plan, 1, &[]).await;
    let events = journal_run(&plan, 1, msgs, result, &journal);
    let finished = events.iter().find_map(|e| match e {
        Event::StepFinished { ok, detail, .. } => Some((*ok, detail.clone())),
        _ => None,
    });
    let (ok, detail) = finished.expect("finished");
    assert!(ok, "not required: the checklist goes on");
    assert!(
        detail.starts_with("NOT SENT"),
        "never reported as sent: {detail}"
    );
    assert!(
        detail.contains("403") && detail.contains("invalid_token"),
        "{detail}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Evidence { detail, .. } if detail["sent"] == false)),
        "{events:?}"
    );

    let plan = load(&plan_text(&slack_step(&url, true)));
    let (result, msgs) = run_step(&plan, 1, &[]).await;
    let events = journal_run(&plan, 1, msgs, result, &dir.path().join("j2.jsonl"));
    let finished = events.iter().find_map(|e| match e {
        Event::StepFinished { ok, detail, .. } => Some((*ok, detail.clone())),
        _ => None,
    });
    let (ok, detail) = finished.expect("finished");
    assert!(!ok, "required: the step fails and blocks");
    assert!(detail.contains("NOT SENT (required)"), "{detail}");
    assert_eq!(
        status_of(&s, "notify-slack"),
        [403, 403],
        "posted once each, never retried"
    );
}

#[tokio::test]
async fn secrets_never_reach_the_log_the_journal_or_review_mode() {
    let s = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let pd_key = "PDsecretROUTINGkey77777777777777";
    let og_key = "genie-SECRET-key-88888";
    let hook = format!("{}/notify/slack/HOOKsecret999", s.url);
    let pd = secret_file(dir.path(), "pd", pd_key);
    let og = secret_file(dir.path(), "og", og_key);
    let slack = secret_file(dir.path(), "slack", &hook);
    let steps = format!(
        r#"{}
[[step]]
id = "alert"
title = "Alert"
kind = "notify.opsgenie"
api_key = "${{file:{og}}}"
api_url = "${{sim}}/notify/opsgenie"
{}"#,
        pd_steps(&pd).replace("id = \"resolve\"", "id = \"pd-resolve\""),
        slack_step(&slack, false),
        og = og.display()
    );
    let plan = steps::load_str(
        &plan_text(&steps),
        "notify.toml",
        &LoadOptions {
            sim_url: Some(s.url.clone()),
            ..Default::default()
        },
    )
    .expect("loads");
    let journal = dir.path().join("journal.jsonl");
    let mut shown = Vec::new();
    for i in 1..plan.steps.len() {
        let (result, msgs) = run_step(&plan, i, &read_journal_or_empty(&journal)).await;
        journal_run(&plan, i, msgs, result, &journal);
        // Review mode draws the description through the redactor.
        shown.extend(
            steps::describe(&plan.steps[i].action)
                .into_iter()
                .map(drcockpit::redact::redact_string),
        );
    }
    assert_eq!(status_of(&s, "notify-pagerduty"), [202, 202]);
    assert_eq!(status_of(&s, "notify-opsgenie"), [202]);
    assert_eq!(status_of(&s, "notify-slack"), [200]);
    let journal_text = std::fs::read_to_string(&journal).expect("journal");
    let review = shown.join("\n");
    assert!(review.contains("Authorization: GenieKey"), "{review}");
    assert!(review.contains("\"event_action\": \"trigger\""), "{review}");
    for secret in [pd_key, og_key, hook.as_str(), "HOOKsecret999"] {
        assert!(
            !journal_text.contains(secret),
            "{secret} in the journal: {journal_text}"
        );
        assert!(
            !review.contains(secret),
            "{secret} in review mode: {review}"
        );
    }
    // Mutating: a keypress and a confirmation, never retried by itself.
    assert!(
        plan.steps[1..]
            .iter()
            .all(|st| steps::is_mutating(&st.action))
    );
    assert!(matches!(plan.steps[1].action, StepAction::Kind(_)));
}

fn read_journal_or_empty(p: &Path) -> Vec<Record> {
    if p.exists() {
        read_journal(p)
    } else {
        Vec::new()
    }
}

#[test]
fn a_literal_credential_is_refused_at_load() {
    let text = plan_text(
        r#"
[[step]]
id = "page"
title = "Page"
kind = "notify.pagerduty"
routing_key = "R0UTINGKEYliteral"
"#,
    );
    let e = steps::load_str(&text, "notify.toml", &LoadOptions::default()).expect_err("literal");
    assert!(
        e.message.contains("by reference") || e.to_string().contains("by reference"),
        "{e}"
    );
    let text = plan_text(
        r#"
[[step]]
id = "tell"
title = "Tell"
kind = "notify.slack"
url = "https://hooks.slack.com/services/T0/B0/literal"
"#,
    );
    let e = steps::load_str(&text, "notify.toml", &LoadOptions::default()).expect_err("literal");
    assert!(e.to_string().contains("by reference"), "{e}");
}
