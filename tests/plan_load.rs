//! Plan loading: the demo and shipped plans load; each kind of mistake gives an error at the
//! right line:col naming the key, with a suggestion; references resolve and are redacted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use drcockpit::plan::load::Loaded;
use drcockpit::plan::refs;
use drcockpit::plan::{self, LoadOptions, Plan, PlanError, StepAction};
use drcockpit::steps::load_str_with_notes;

fn sim() -> LoadOptions {
    LoadOptions {
        sim_url: Some("http://127.0.0.1:7400".into()),
        run_commands: true,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plans")
        .join(name)
}

fn load_fixture(name: &str) -> Result<Plan, PlanError> {
    drcockpit::steps::load_file(&fixture(name), &sim())
}

fn fail(name: &str) -> PlanError {
    match load_fixture(name) {
        Ok(_) => panic!("{name} loaded but should not"),
        Err(e) => {
            eprintln!("{name}:\n{e}\n");
            e
        }
    }
}

/// The error is at `line:col` and the message starts with `origin:line:col:`.
fn assert_at(e: &PlanError, name: &str, line: usize, col: usize) {
    assert_eq!((e.line, e.col), (Some(line), Some(col)), "{e}");
    let prefix = format!("{}:{line}:{col}: ", fixture(name).display());
    assert!(e.message.starts_with(&prefix), "expected {prefix:?}:\n{e}");
}

#[test]
fn the_demo_plan_loads_against_the_simulator() {
    let p = drcockpit::steps::load_str(plan::DEMO_PLAN, "<embedded plans/demo.toml>", &sim())
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = p.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "detect",
            "approve",
            "fence-old-primary",
            "record-bastion",
            "promote-db",
            "point-db-at-dr",
            "point-images-at-dr",
            "deploy-dr",
            "dr-health",
            "dr-stable",
            "switch-dns",
            "verify-dns",
            "notify"
        ]
    );
    let kinds: Vec<&str> = p.steps.iter().map(|s| s.action.kind_name()).collect();
    assert_eq!(
        kinds,
        [
            "check",
            "approval",
            "manual",
            "command",
            "scaleway.promote_replica",
            "qovery.set_variables",
            "qovery.set_image",
            "qovery.deploy",
            "http.check",
            "wait",
            "dns.switch",
            "dns.verify",
            "http.request"
        ]
    );
    assert_eq!(p.steps[0].title, "Detect failure");
    assert_eq!(p.steps[1].confirm.as_deref(), Some("FAILOVER"));
    assert_eq!(p.probes.interval, Duration::from_secs(2));
    let prod = p.sites[0].health.as_ref().expect("prod health");
    assert_eq!(prod.url, "http://127.0.0.1:7400/sites/prod/healthz");
    let dr = p.sites[1].health.as_ref().expect("dr health");
    assert_eq!(dr.url, "http://127.0.0.1:7400/sites/dr/healthz");
    match &p.steps[p.step_index("notify").expect("a notify step")].action {
        StepAction::HttpRequest(r) => {
            assert_eq!(r.method, "POST");
            assert_eq!(r.url, "http://127.0.0.1:7400/webhooks/slack");
            let body: serde_json::Value =
                serde_json::from_str(r.body.as_deref().unwrap_or("")).expect("JSON body");
            assert!(body["text"].is_string());
        }
        other => panic!("notify is {other:?}"),
    }
    assert_eq!(p.source, "<embedded plans/demo.toml>");
    assert_eq!(p.hash.len(), 64);
    assert!(p.hash.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn every_shipped_plan_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    // The example plans take their secrets from the environment, as real ones do.
    for (k, v) in [
        ("QOVERY_API_TOKEN", "qov_example_token_value"),
        (
            "DR_DATABASE_URL",
            "postgres://shop:pw-example@db.dr.internal/shop",
        ),
        ("RELEASE_TAG", "1.4.2"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T000/B000/XXXX",
        ),
    ] {
        // SAFETY: set before any thread of this test reads the environment; the values are
        // the same whichever test sets them.
        unsafe { std::env::set_var(k, v) };
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("plans/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let opts = LoadOptions {
            run_commands: false,
            ..sim()
        };
        drcockpit::steps::load_file(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn a_misspelt_key_suggests_the_right_one() {
    let e = fail("bad_misspelt_key.toml");
    assert_at(&e, "bad_misspelt_key.toml", 9, 1);
    assert_eq!(e.key.as_deref(), Some("enviroment"));
    assert_eq!(e.suggestion.as_deref(), Some("environment"));
    assert!(e.expected.iter().any(|k| k == "label"), "{:?}", e.expected);
    assert!(e.message.contains("did you mean `environment`?"), "{e}");
    assert!(e.message.contains("[sites.prod]"), "{e}");
}

#[test]
fn an_unknown_kind_lists_kinds_and_suggests() {
    let e = fail("bad_unknown_kind.toml");
    assert_at(&e, "bad_unknown_kind.toml", 16, 8);
    assert_eq!(e.key.as_deref(), Some("kind"));
    assert_eq!(e.step.as_deref(), Some("health"));
    assert_eq!(e.suggestion.as_deref(), Some("http.check"));
    assert!(e.expected.iter().any(|k| k == "approval"));
    assert!(e.message.contains("unknown kind `http.chek`"), "{e}");
}

#[test]
fn set_image_without_qovery_or_images_says_what_it_needs() {
    let e = fail("bad_planned_kind.toml");
    assert_at(&e, "bad_planned_kind.toml", 16, 8);
    assert_eq!(e.step.as_deref(), Some("promote-db"));
    assert!(
        e.message
            .contains("qovery.set_image needs a [qovery] section"),
        "{e}"
    );
}

#[test]
fn an_approval_needs_confirm() {
    let e = fail("bad_missing_confirm.toml");
    assert_at(&e, "bad_missing_confirm.toml", 16, 8);
    assert_eq!(e.key.as_deref(), Some("confirm"));
    assert_eq!(e.step.as_deref(), Some("approve"));
    assert!(e.message.contains("needs `confirm`"), "{e}");
}

#[test]
fn a_bad_duration_names_key_and_step() {
    let e = fail("bad_duration.toml");
    assert_at(&e, "bad_duration.toml", 18, 11);
    assert_eq!(e.key.as_deref(), Some("timeout"));
    assert_eq!(e.step.as_deref(), Some("settle"));
    assert!(e.message.contains("step `settle`"), "{e}");
    assert!(e.message.contains("unknown duration unit `y`"), "{e}");
}

#[test]
fn a_duplicate_id_points_at_the_second() {
    let e = fail("bad_duplicate_id.toml");
    assert_at(&e, "bad_duplicate_id.toml", 20, 6);
    assert_eq!(e.key.as_deref(), Some("id"));
    assert!(e.message.contains("duplicate step id `approve`"), "{e}");
    assert!(e.message.contains("first used on line 14"), "{e}");
}

#[test]
fn a_bad_condition_is_shown_with_its_fix() {
    let e = fail("bad_condition.toml");
    assert_at(&e, "bad_condition.toml", 17, 31);
    assert_eq!(e.key.as_deref(), Some("conditions"));
    assert!(e.message.contains("dr.databse.lag < 16MiB"), "{e}");
    assert!(e.message.contains("did you mean `database`"), "{e}");
}

#[test]
fn a_key_that_does_not_apply_names_the_kind() {
    let e = fail("bad_key_for_kind.toml");
    assert_at(&e, "bad_key_for_kind.toml", 18, 1);
    assert_eq!(e.key.as_deref(), Some("url"));
    assert!(
        e.message.contains("`url` does not apply to a manual step"),
        "{e}"
    );
    assert_eq!(e.expected, ["instructions"]);
}

#[test]
fn a_missing_env_names_the_variable_never_a_value() {
    let e = fail("bad_missing_env.toml");
    assert_at(&e, "bad_missing_env.toml", 18, 29);
    assert!(e.message.contains("DRC_FIXTURE_SURELY_UNSET"), "{e}");
    assert!(e.message.contains("is not set"), "{e}");
    assert_eq!(e.key.as_deref(), Some("Authorization"));
}

#[test]
fn a_full_plan_resolves_and_registers_its_secrets() {
    // SAFETY: unique variable names, only read by this test's load.
    unsafe {
        std::env::set_var("DRC_FIXTURE_QOVERY_TOKEN", "qov-token-0123456789");
        std::env::set_var("DRC_FIXTURE_PG_URL", "postgres://app:pg-pass-98765@db/shop");
    }
    let p = load_fixture("good_full.toml").unwrap_or_else(|e| panic!("{e}"));
    let q = p.qovery.as_ref().expect("qovery");
    assert_eq!(q.token, "qov-token-0123456789");
    assert_eq!(q.auth_scheme.as_deref(), Some("token"));
    let reg = p.sites[0].registry.as_ref().expect("registry");
    assert_eq!(reg.password.as_deref(), Some("file-secret-value-xyz"));
    let dr_db = p.sites[1].database.as_ref().expect("dr database");
    assert_eq!(dr_db.max_lag_bytes, Some(16 << 20));
    assert_eq!(p.rto, Duration::from_secs(5400));
    assert_eq!(p.probes.stale_after, 4);
    let images = p.images.as_ref().expect("images");
    assert_eq!(images.services.len(), 2);
    assert_eq!(images.services[1].tag.as_deref(), Some("v1.2.3"));
    match &p.dns.as_ref().and_then(|d| d.provider.clone()) {
        Some(plan::DnsProvider::Cloudflare { token, .. }) => assert_eq!(token, "cf-token-42"),
        other => panic!("provider {other:?}"),
    }
    let shown = drcockpit::redact::redact(
        "q=qov-token-0123456789 pg=postgres://app:pg-pass-98765@db/shop f=file-secret-value-xyz c=cf-token-42",
    )
    .to_string();
    for secret in [
        "qov-token-0123456789",
        "pg-pass-98765",
        "file-secret-value-xyz",
        "cf-token-42",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    // Labelled by where each is used, not by its reference.
    assert!(shown.contains("q=‹secret qovery.token›"), "{shown}");
    assert!(
        shown.contains("f=‹secret sites.prod.registry.password›"),
        "{shown}"
    );
}

#[test]
fn check_mode_does_not_run_commands() {
    unsafe {
        std::env::set_var("DRC_FIXTURE_QOVERY_TOKEN", "qov-token-0123456789");
        std::env::set_var("DRC_FIXTURE_PG_URL", "postgres://app:pg-pass-98765@db/shop");
    }
    let text = std::fs::read_to_string(fixture("good_full.toml")).expect("fixture");
    let opts = LoadOptions {
        run_commands: false,
        ..sim()
    };
    let Loaded {
        plan,
        notes,
        needed,
        ..
    } = load_str_with_notes(
        &text,
        &fixture("good_full.toml").display().to_string(),
        &opts,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    match plan.dns.and_then(|d| d.provider) {
        Some(plan::DnsProvider::Cloudflare { token, .. }) => {
            assert_eq!(token, refs::CMD_PLACEHOLDER)
        }
        other => panic!("provider {other:?}"),
    }
    assert!(notes.is_empty(), "{notes:?}");
    // What it needs at run time names the command's program, never its arguments.
    assert_eq!(needed, vec!["cmd printf …".to_string()]);
}

#[test]
fn dollar_dollar_brace_is_a_literal() {
    let p = load_fixture("good_escape.toml").unwrap_or_else(|e| panic!("{e}"));
    match &p.steps[0].action {
        StepAction::HttpRequest(r) => {
            assert_eq!(
                r.body.as_deref(),
                Some("literal ${env:NOT_A_REF} and cost $5")
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_command_reference_that_times_out_or_fails_never_shows_its_output() {
    let e = refs::run_cmd("printf 'out%s' put-xyz; sleep 30", Duration::from_secs(1))
        .expect_err("times out");
    assert!(e.contains("did not finish within 1s"), "{e}");
    assert!(!e.contains("output-xyz"), "{e}");

    let text = format!(
        "{}\n[qovery]\ntoken = \"${{cmd:printf 'leak%s' ed-value; exit 3}}\"\norganization = \"o\"\n",
        HEADER
    );
    let e = drcockpit::steps::load_str(&text, "inline.toml", &sim()).expect_err("fails");
    eprintln!("{e}");
    assert!(e.message.contains("exited 3"), "{e}");
    assert!(e.message.contains("qovery.token"), "{e}");
    assert!(!e.message.contains("leaked-value"), "{e}");
}

#[test]
fn sim_needs_a_url() {
    if std::env::var_os(refs::SIM_ENV).is_some() {
        return;
    }
    let e = drcockpit::steps::load_str(plan::DEMO_PLAN, "demo.toml", &LoadOptions::default())
        .expect_err("no simulator");
    assert!(e.message.contains("this plan needs the simulator"), "{e}");
    assert!(e.message.contains("DRCOCKPIT_SIM_URL"), "{e}");
}

#[test]
fn a_toml_syntax_error_has_a_position() {
    let text = format!("{HEADER}\n[[step]]\nid = \"a\nkind = \"manual\"\n");
    let e = drcockpit::steps::load_str(&text, "broken.toml", &sim()).expect_err("syntax");
    assert!(e.message.starts_with("broken.toml:14:"), "{e}");
}

#[test]
fn the_schema_is_json() {
    let v: serde_json::Value =
        serde_json::from_str(&drcockpit::steps::schema_json()).expect("schema JSON");
    assert!(v["properties"]["plan"].is_object(), "{v}");
    assert!(v.to_string().contains("RawStep"));
}

const HEADER: &str = r#"[plan]
name = "inline"
strategy = "active-active"
rto = "5m"
rpo = "0"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"
"#;

#[test]
fn a_condition_on_an_unknown_health_field_suggests_the_real_one() {
    let text = format!(
        "{HEADER}health = \"https://dr.example.com/healthz\"\n\n[[step]]\nid = \"detect\"\ntitle = \"t\"\nkind = \"check\"\nconditions = [\"dr.health.up == false\"]\n"
    );
    let e = drcockpit::steps::load_str(&text, "inline.toml", &sim()).expect_err("unknown field");
    eprintln!("{e}");
    assert_eq!((e.line, e.col), (Some(18), Some(15)), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("dr.health.ok"), "{e}");
    assert!(e.message.contains("has no field `up`"), "{e}");
}

#[test]
fn a_condition_on_a_section_the_site_does_not_watch_is_refused() {
    let text = format!(
        "{HEADER}\n[[step]]\nid = \"detect\"\ntitle = \"t\"\nkind = \"check\"\nconditions = [\"prod.health.down_for >= 1m\"]\n"
    );
    let e = drcockpit::steps::load_str(&text, "inline.toml", &sim()).expect_err("not configured");
    eprintln!("{e}");
    assert!(e.message.contains("could never be known"), "{e}");
    assert!(e.message.contains("`[sites.prod]` has no `health`"), "{e}");
}

#[test]
fn malformed_and_too_short_references_are_refused() {
    let step = |body: &str| {
        format!(
            "{HEADER}\n[[step]]\nid = \"n\"\ntitle = \"t\"\nkind = \"http.request\"\nurl = \"https://h.example.com/x\"\nbody = \"{body}\"\n"
        )
    };
    let e = drcockpit::steps::load_str(&step("${evn:HOME}"), "r.toml", &sim()).expect_err("kind");
    assert!(e.message.contains("did you mean `env`?"), "{e}");
    let e =
        drcockpit::steps::load_str(&step("${env:HOME"), "r.toml", &sim()).expect_err("unclosed");
    assert!(e.message.contains("is not closed"), "{e}");
    // SAFETY: a unique variable name, only read here.
    unsafe { std::env::set_var("DRC_FIXTURE_TINY", "ab") };
    let e = drcockpit::steps::load_str(&step("${env:DRC_FIXTURE_TINY}"), "r.toml", &sim())
        .expect_err("short");
    assert!(e.message.contains("too short to hide"), "{e}");
    assert!(!e.message.contains("\"ab\""), "{e}");
    let e = drcockpit::steps::load_str(
        &format!("{HEADER}\n[[step]]\nid = \"n\"\ntitle = \"${{env:HOME}}\"\nkind = \"manual\"\ninstructions = \"x\"\n"),
        "r.toml",
        &sim(),
    )
    .expect_err("no references in titles");
    assert_eq!(e.key.as_deref(), Some("title"), "{e}");
}

#[test]
fn a_malformed_postgres_connection_string_fails_at_load_not_at_promotion() {
    let e = fail("bad_postgres_url.toml");
    assert_at(&e, "bad_postgres_url.toml", 12, 25);
    assert_eq!(e.key.as_deref(), Some("postgres"));
    assert!(
        e.message.contains("not a PostgreSQL connection string"),
        "{e}"
    );
}

#[test]
fn a_credential_written_literally_in_the_plan_is_redacted_too() {
    let text = r#"
[plan]
name = "literal token"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[qovery]
token = "qov_literal_Zx81PqLm2"
organization = "org-1"
api_url = "https://api.qovery.example"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"
"#;
    drcockpit::steps::load_str(text, "literal.toml", &sim()).unwrap_or_else(|e| panic!("{e}"));
    let shown = drcockpit::redact::redact("Authorization: Token qov_literal_Zx81PqLm2");
    assert!(!shown.contains("qov_literal_Zx81PqLm2"), "{shown}");
    assert!(shown.contains("‹secret qovery.token›"), "{shown}");
    // Not every string is a credential: the organization stays readable.
    assert_eq!(drcockpit::redact::redact("org-1"), "org-1");
}

#[test]
fn a_slash_in_a_postgres_password_reference_is_refused_at_load_naming_the_reference() {
    // SAFETY: unique variable names, only read here.
    unsafe {
        std::env::set_var("DRC_PG_PW_SLASH", "8443/secretTail99");
        std::env::set_var("DRC_PG_PW_OK", "pw%2FsecretTail99");
    }
    let plan = |var: &str| {
        format!(
            "{HEADER}database = {{ postgres = \"postgresql://app:${{env:{var}}}@db.example.com:5432/shop\" }}\n"
        )
    };
    let e = drcockpit::steps::load_str(&plan("DRC_PG_PW_SLASH"), "pg.toml", &sim())
        .expect_err("refused");
    eprintln!("{e}");
    assert_eq!(e.key.as_deref(), Some("postgres"), "{e}");
    assert_eq!(e.line, Some(12), "{e}");
    assert!(e.message.contains("`${env:DRC_PG_PW_SLASH}`"), "{e}");
    assert!(e.message.contains("percent-encoded"), "{e}");
    for piece in ["8443", "secretTail99"] {
        assert!(!e.message.contains(piece), "{piece} shown: {e}");
    }
    drcockpit::steps::load_str(&plan("DRC_PG_PW_OK"), "pg.toml", &sim())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_command_reference_is_named_by_its_program_only() {
    let text = format!(
        "{HEADER}\n[[step]]\nid = \"n\"\ntitle = \"t\"\nkind = \"http.request\"\nurl = \"https://h.example.com/x\"\nbody = \"${{cmd:curl -s -H 'X-Vault-Token: hvs.CAESIvault77' https://vault/v1/x; exit 4}}\"\n"
    );
    let e = drcockpit::steps::load_str(&text, "c.toml", &sim()).expect_err("exit 4");
    let detail = &e.detail;
    assert!(detail.contains("`${cmd:curl …}` exited 4"), "{e}");
    assert!(!detail.contains("hvs.CAESIvault77"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Limits: one fixture per value past its ceiling (found by fuzzing `check`: each one panicked,
// or passed `check` and panicked later where it met the clock or the first frame).

/// `(fixture, line, col, words the message must contain)`.
const PAST_THE_CEILING: &[(&str, usize, usize, &str)] = &[
    (
        "limits_rto_giant_days.toml",
        5,
        7,
        "durations go up to 30 days",
    ),
    (
        "limits_timeout_u64_max_seconds.toml",
        20,
        11,
        "durations go up to 30 days",
    ),
    (
        "limits_probe_interval_giant.toml",
        16,
        12,
        "durations go up to 30 days",
    ),
    (
        "limits_condition_literal_giant.toml",
        20,
        29,
        "durations go up to 30 days",
    ),
    ("limits_size_giant.toml", 13, 74, "sizes go up to 1 TiB"),
    (
        "limits_duration_31_days.toml",
        13,
        81,
        "durations go up to 30 days",
    ),
    ("limits_stale_after_giant.toml", 15, 15, "use 1 to 1000"),
    ("limits_concurrency_giant.toml", 15, 15, "use 1 to 256"),
];

#[test]
fn values_past_their_ceiling_are_refused_at_their_line_never_a_panic() {
    for (name, line, col, words) in PAST_THE_CEILING {
        let e = std::panic::catch_unwind(|| fail(name))
            .unwrap_or_else(|_| panic!("{name}: loading panicked"));
        assert_at(&e, name, *line, *col);
        assert!(e.message.contains(words), "{name}: {e}");
    }
}

#[test]
fn thirty_days_and_one_tebibyte_are_still_accepted() {
    let text = std::fs::read_to_string(fixture("limits_duration_31_days.toml"))
        .expect("fixture")
        .replace("30d1s", "30d")
        .replace("max_backup_age", "max_lag = \"1024GiB\", max_backup_age");
    let p = load_str_with_notes(&text, "<limits>", &sim())
        .unwrap_or_else(|e| panic!("{e}"))
        .plan;
    let db = p.sites[1].database.as_ref().expect("database");
    assert_eq!(db.max_backup_age, Some(Duration::from_secs(30 * 86_400)));
    assert_eq!(db.max_lag_bytes, Some(1 << 40));
}

#[test]
fn invalid_utf8_is_reported_at_the_line_and_column_of_the_first_bad_byte() {
    let e = fail("bad_utf8_latin1.toml");
    assert_at(&e, "bad_utf8_latin1.toml", 3, 12);
    assert!(e.message.contains("not valid UTF-8"), "{e}");
    assert!(e.message.contains("0xE9"), "{e}");
    // Columns count characters: the multi-byte `é`s before the cut emoji are one column each.
    let e = fail("bad_utf8_truncated.toml");
    assert_at(&e, "bad_utf8_truncated.toml", 8, 18);
    assert!(e.message.contains("0xF0"), "{e}");
}

#[test]
fn a_duplicate_id_far_down_a_long_plan_still_names_the_first_line() {
    // 5,000 steps: the duplicate-id check is a map lookup per step (it was a scan of every
    // earlier step, which made `check` quadratic; timings in BENCHMARKS.md, none asserted here).
    let mut text = String::from(
        "[plan]\nname = \"long\"\nstrategy = \"warm-standby\"\nrto = \"30m\"\nrpo = \"5m\"\n\n[sites.prod]\nlabel = \"Prod\"\n\n[sites.dr]\nlabel = \"DR\"\n",
    );
    for i in 0..5_000 {
        text.push_str(&format!(
            "\n[[step]]\nid = \"step-{i}\"\ntitle = \"Step {i}\"\nkind = \"manual\"\ninstructions = \"Do {i}.\"\n"
        ));
    }
    text.push_str("\n[[step]]\nid = \"step-7\"\ntitle = \"Again\"\nkind = \"manual\"\ninstructions = \"Do it again.\"\n");
    let e = match load_str_with_notes(&text, "<long>", &sim()) {
        Ok(_) => panic!("a duplicate id loaded"),
        Err(e) => e,
    };
    // Step 7's id is on line 12 + 6 * 7 + 2.
    assert!(
        e.message
            .contains("duplicate step id `step-7` (first used on line 56)"),
        "{e}"
    );
    assert_eq!(e.line, Some(12 + 6 * 5_000 + 2), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Issue 14: `check` without secrets, every error in one run, docs that match the binary.

/// A small Qovery plan whose three references are never set in any test.
const SMALL: &str = r#"version = 1

[plan]
name = "small"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"

[qovery]
token = "${env:DRC_T14_UNSET_TOKEN}"
organization = "1b6e2f6c-8c4c-4a59-9a39-5f0f6a3c1001"

[sites.prod]
label = "Prod"
health = "https://prod.example.com/healthz"

[sites.dr]
label = "DR · AWS eu-west-1"
environment = "3d8a4b8e-ae6e-4c7b-9c5b-7b2b8c5e3002"
health = "https://dr.example.com/healthz"

[[step]]
id = "point-db-at-dr"
title = "Point DATABASE_URL at the promoted database"
kind = "qovery.set_variables"
site = "dr"
variables = { DATABASE_URL = "${env:DRC_T14_UNSET_DB}" }

[[step]]
id = "notify"
title = "Tell the team"
kind = "http.request"
url = "${env:DRC_T14_UNSET_HOOK}"
"#;

/// The error is at `line:col` of `small.toml`, and its message says so first.
fn at_small(e: &PlanError, line: usize, col: usize) {
    assert_eq!((e.line, e.col), (Some(line), Some(col)), "{e}");
    assert!(
        e.message.starts_with(&format!("small.toml:{line}:{col}: ")),
        "{}",
        e.message
    );
}

fn checking() -> LoadOptions {
    LoadOptions {
        sim_url: Some("http://127.0.0.1:0".into()),
        run_commands: false,
    }
}

fn check_str(text: &str, strict: bool) -> Result<Loaded, PlanError> {
    drcockpit::steps::load_checking(text, "small.toml", &checking(), strict)
}

#[test]
fn check_needs_no_secret_and_lists_what_it_needs_at_run_time() {
    let loaded = check_str(SMALL, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.needed,
        vec![
            "env DRC_T14_UNSET_TOKEN".to_string(),
            "env DRC_T14_UNSET_DB".into(),
            "env DRC_T14_UNSET_HOOK".into()
        ]
    );
    // A file that cannot be read is named by its path; a command by its program only.
    let more = SMALL.replace(
        "organization = \"1b6e2f6c-8c4c-4a59-9a39-5f0f6a3c1001\"",
        "organization = \"${file:/nonexistent/drc-t14/org}\"",
    );
    let more = more.replace(
        "${env:DRC_T14_UNSET_HOOK}",
        "${cmd:vault read -field=url secret/hook token=hvs.t14-do-not-show}",
    );
    let loaded = check_str(&more, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.needed,
        vec![
            "env DRC_T14_UNSET_TOKEN".to_string(),
            "file /nonexistent/drc-t14/org".into(),
            "env DRC_T14_UNSET_DB".into(),
            "cmd vault …".into()
        ]
    );
}

#[test]
fn strict_check_makes_each_unresolved_reference_an_error_all_in_one_run() {
    let e = match check_str(SMALL, true) {
        Ok(_) => panic!("--strict accepted unset references"),
        Err(e) => e,
    };
    let lines: Vec<Option<usize>> = e.all().map(|e| e.line).collect();
    assert_eq!(lines, vec![Some(10), Some(27), Some(33)], "{e}");
    let text = e.to_string();
    for name in [
        "DRC_T14_UNSET_TOKEN",
        "DRC_T14_UNSET_DB",
        "DRC_T14_UNSET_HOOK",
    ] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("3 problems in small.toml"), "{text}");
}

#[test]
fn three_independent_mistakes_are_reported_in_one_run() {
    let bad = SMALL
        .replace("rto = \"30m\"", "rto = \"30 parsecs\"")
        .replace(
            "health = \"https://dr.example.com/healthz\"",
            "health = \"dr.example.com/healthz\"",
        )
        .replace("kind = \"http.request\"", "kind = \"http.requets\"");
    let e = match check_str(&bad, false) {
        Ok(_) => panic!("a plan with three mistakes loaded"),
        Err(e) => e,
    };
    let all: Vec<&PlanError> = e.all().collect();
    assert_eq!(all.len(), 3, "{e}");
    at_small(all[0], 6, 7);
    assert_eq!(all[0].key.as_deref(), Some("rto"));
    at_small(all[1], 20, 10);
    at_small(all[2], 32, 8);
    assert_eq!(all[2].suggestion.as_deref(), Some("http.request"));
    let text = e.to_string();
    // Each keeps its caret excerpt.
    assert!(text.matches(" | ").count() >= 3, "{text}");
    assert!(text.contains("3 problems in small.toml"), "{text}");
}

#[test]
fn a_step_error_names_its_step_once() {
    // Loading to drive it: the references must resolve.
    let e = match drcockpit::steps::load_str(SMALL, "small.toml", &sim()) {
        Ok(_) => panic!("unset references loaded"),
        Err(e) => e,
    };
    let vars = e
        .all()
        .find(|e| e.step.as_deref() == Some("point-db-at-dr"))
        .unwrap_or_else(|| panic!("no error for point-db-at-dr: {e}"));
    assert_eq!(
        vars.detail,
        "step `point-db-at-dr`: variables.DATABASE_URL: `${env:DRC_T14_UNSET_DB}`: environment variable DRC_T14_UNSET_DB is not set",
        "{e}"
    );
}

#[test]
fn an_unresolved_url_reference_is_checked_for_shape_with_a_placeholder() {
    let with = |url: &str| SMALL.replace("${env:DRC_T14_UNSET_HOOK}", url);
    check_str(
        &with("https://hooks.slack.com/services/${env:DRC_T14_UNSET_HOOK}"),
        false,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = match check_str(
        &with("hooks.slack.com/services/${env:DRC_T14_UNSET_HOOK}"),
        false,
    ) {
        Ok(_) => panic!("a URL without a scheme passed check"),
        Err(e) => e,
    };
    assert!(e.to_string().contains("http:// or https://"), "{e}");
}

#[test]
fn a_registry_url_without_a_scheme_is_refused_at_load_with_the_fix() {
    let text = SMALL.replace(
        "health = \"https://dr.example.com/healthz\"",
        "health = \"https://dr.example.com/healthz\"\nregistry = { url = \"registry.example.com:5000\" }",
    );
    let e = match check_str(&text, false) {
        Ok(_) => panic!("a registry URL without a scheme loaded"),
        Err(e) => e,
    };
    at_small(&e, 21, 20);
    assert!(e.message.contains("`sites.dr.registry.url`"), "{e}");
    assert!(
        e.message.contains("`https://registry.example.com:5000`")
            && e.message.contains("`http://registry.example.com:5000`"),
        "{e}"
    );
}

#[test]
fn qovery_auth_takes_the_schemes_case_insensitively_and_jwt_as_bearer() {
    let with = |auth: &str| {
        let text = SMALL.replace("[qovery]\n", &format!("[qovery]\nauth = \"{auth}\"\n"));
        check_str(&text, false)
    };
    for (auth, scheme) in [
        ("token", "token"),
        ("Token", "token"),
        ("bearer", "bearer"),
        ("Bearer", "bearer"),
        ("jwt", "bearer"),
        ("JWT", "bearer"),
    ] {
        let loaded = with(auth).unwrap_or_else(|e| panic!("{auth}: {e}"));
        let q = loaded
            .plan
            .qovery
            .unwrap_or_else(|| panic!("{auth}: no [qovery]"));
        assert_eq!(q.auth_scheme.as_deref(), Some(scheme), "{auth}");
    }
    let e = match with("basic") {
        Ok(_) => panic!("auth = basic loaded"),
        Err(e) => e,
    };
    assert_eq!(e.key.as_deref(), Some("auth"), "{e}");
}

/// `schema/plan.v1.json` (what editors read through the plans' `#:schema` line) is exactly what
/// `drcockpit schema` prints: adding a kind or a key without regenerating it fails here.
#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.v1.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = drcockpit::steps::schema_json() + "\n";
    assert!(
        committed == generated,
        "schema/plan.v1.json is not what this build generates; regenerate it with\n  cargo run -q -- schema > schema/plan.v1.json"
    );
}

/// Every kind has its own branch in the schema, and `kind` is an enum of them all.
#[test]
fn the_schema_has_a_branch_per_kind() {
    let v: serde_json::Value =
        serde_json::from_str(&drcockpit::steps::schema_json()).expect("schema JSON");
    let step = &v["$defs"]["RawStep"];
    let kinds: Vec<&str> = step["properties"]["kind"]["enum"]
        .as_array()
        .expect("kind enum")
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(kinds, drcockpit::steps::known_kinds());
    assert!(kinds.contains(&"qovery.set_image"), "{kinds:?}");
    let branches = step["allOf"].as_array().expect("one branch per kind");
    assert_eq!(branches.len(), kinds.len());
    let set_image = branches
        .iter()
        .find(|b| b["if"]["properties"]["kind"]["const"] == "qovery.set_image")
        .expect("qovery.set_image branch");
    assert!(set_image["then"]["properties"]["registry_id"]["description"].is_string());
    assert!(set_image["then"]["properties"]["url"].is_null());
}

/// Every shipped plan validates against the committed schema: top-level sections are known and
/// every step's keys are in its kind's branch (a structural check of the same schema).
#[test]
fn every_shipped_plan_validates_against_the_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schema/plan.v1.json")).expect("schema/plan.v1.json"),
    )
    .expect("schema JSON");
    let top = schema["properties"]
        .as_object()
        .expect("top-level properties");
    let branches = schema["$defs"]["RawStep"]["allOf"]
        .as_array()
        .expect("branches");
    let mut n = 0;
    for entry in std::fs::read_dir(root.join("plans")).expect("plans/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&path).expect("plan");
        assert!(
            text.starts_with("#:schema ../schema/plan.v1.json\n"),
            "{} must begin with `#:schema ../schema/plan.v1.json` (editor completion)",
            path.display()
        );
        let doc: toml::Table = toml::from_str(&text).expect("TOML");
        for key in doc.keys() {
            assert!(top.contains_key(key), "{}: `{key}`", path.display());
        }
        for step in doc
            .get("step")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            let kind = step["kind"].as_str().expect("kind");
            let branch = branches
                .iter()
                .find(|b| b["if"]["properties"]["kind"]["const"] == kind)
                .unwrap_or_else(|| panic!("{}: kind `{kind}` not in the schema", path.display()));
            let keys = branch["then"]["properties"].as_object().expect("keys");
            for key in step.as_table().expect("table").keys() {
                assert!(
                    keys.contains_key(key),
                    "{}: `{key}` is not a key of {kind}",
                    path.display()
                );
            }
            for req in branch["then"]["required"].as_array().into_iter().flatten() {
                let req = req.as_str().expect("key");
                assert!(
                    step.get(req).is_some(),
                    "{}: {kind} needs `{req}`",
                    path.display()
                );
            }
        }
    }
    assert!(n >= 1);
}

/// `plan` is the bottom layer: it names no layer above it (the loader gets the step registry
/// through `plan::load::Catalog`). Doc comments may mention them; code may not.
#[test]
fn the_plan_layer_names_no_layer_above_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan");
    let mut dirs = vec![root];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/plan") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path).expect("source");
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for layer in ["steps", "clients", "probes", "app", "ui", "runtime"] {
                    assert!(
                        !code.contains(&format!("crate::{layer}")),
                        "{}:{}: the plan layer uses crate::{layer}: {line}",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
    }
    assert!(seen >= 5);
}
