//! Fuzzing with a fixed budget, run by every `cargo nextest run` (so by `.ci/run`): the plan
//! loader, conditions, references and the journal reader must never panic, whatever they are
//! given. `check` on 2,000 mutated plans found 3 panics (a giant duration, a giant probe interval
//! that crashed `status`, a giant condition literal that crashed the first frame); this keeps
//! that class closed.
//!
//! Inputs are mutations of real inputs (the shipped plans, the plan fixtures, the journal
//! fixtures): bytes flipped, inserted and deleted, lines duplicated, dropped and swapped, files
//! truncated, and tokens spliced in — huge numbers, durations and sizes past every ceiling,
//! unicode, invalid UTF-8, TOML and JSON punctuation, references. A plan that still loads is
//! drawn once (first frame, every section observed), where the last of the three panics was.
//!
//! The seed is fixed so CI is reproducible; `PROPTEST_CASES=N` and `FUZZ_SEED=N` widen a local
//! run (e.g. `PROPTEST_CASES=20000 FUZZ_SEED=$RANDOM cargo nextest run --test fuzz`). `${cmd:…}`
//! references are only ever parsed, never run: a command that would leave a marker file is among
//! the tokens, and each test checks the marker never appears.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use drcockpit::app::{Level, Mode, Observation, Operator, ProbeError, Reading, Section, State};
use drcockpit::plan::condition::{Condition, Lookup, Value};
use drcockpit::plan::refs::{self, RefContext};
use drcockpit::plan::{self, LoadOptions, SiteId};
use drcockpit::ui::{self, Theme, View};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The budget: small enough that the whole file runs in seconds in a debug build.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0d5c_0c41);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// Where `${cmd:…}` would leave its mark if the fuzzer ever ran one.
fn marker() -> &'static Path {
    static M: OnceLock<PathBuf> = OnceLock::new();
    M.get_or_init(|| {
        std::env::temp_dir().join(format!("drcockpit-fuzz-cmd-ran-{}", std::process::id()))
    })
}

fn assert_no_command_ran() {
    assert!(
        !marker().exists(),
        "a ${{cmd:…}} reference was run by the fuzzer ({})",
        marker().display()
    );
}

/// Tokens spliced into inputs: the values that broke things before, and their relatives.
fn tokens() -> &'static [Vec<u8>] {
    static T: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t: Vec<Vec<u8>> = [
            "99999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "-9223372036854775808",
            "4294967295",
            "-1",
            "0",
            "1e308",
            "1e999",
            "NaN",
            "inf",
            "-0.0",
            "0.000000001",
            "1.5.5",
            "99999999999999999999d",
            "18446744073709551615s",
            "2562047788015215h",
            "30d",
            "31d",
            "0ms",
            ".s",
            "1h1h1h1h",
            "99999999999999999999GiB",
            "1024GiB",
            "16MiB",
            "\"99999999999999999999d\"",
            "\"2562047788015215h\"",
            "interval = \"2562047788015215h\"\n",
            "timeout = \"18446744073709551615s\"\n",
            "requires = [\"dr.health.down_for < 99999999999999999999d\"]\n",
            "requires = [\"dr.database.lag < 99999999999999999999GiB\"]\n",
            "conditions = [\"prod.health.latency >= 18446744073709551615s\"]\n",
            "stale_after = 4294967295\n",
            "concurrency = 9223372036854775807\n",
            "expect_status = [0, 65535]\n",
            "wait_seconds = 4294967295\n",
            "[[step]]\nid = \"x\"\ntitle = \"x\"\nkind = \"manual\"\n",
            "[[step]]\n",
            "[probes]\n",
            "[sites.dr]\n",
            "[",
            "]",
            "[[",
            "{",
            "}",
            "=",
            ",",
            "\"",
            "'",
            "\"\"\"",
            "'''",
            "\\",
            "\\u{0}",
            "\\uD800",
            "\\ud83d",
            "#",
            "\n",
            "\r\n",
            "\t",
            " ",
            "é",
            "🚨",
            "\u{202e}",
            "\u{feff}",
            "\u{0}",
            "\u{7f}",
            "ﬁ",
            "Ω",
            "${",
            "$${",
            "${env:",
            "${file:",
            "${cmd:",
            "${sim}",
            "${sim_dns}",
            "${sim_dns2}",
            "${env:HOME}",
            "${env:DRCOCKPIT_FUZZ_UNSET}",
            "${file:secret.txt}",
            "${file:.}",
            "${}",
            "${:}",
            "${cmd:}",
            "postgresql://u:p%40ss@h:99999/db?sslmode=verify-full",
            "postgresql://u@[::1:5432/db",
            "host= port=99999999999999999999",
            "http://u:p@[::1]:99999/x",
            "http://\u{0}/",
            "null",
            "true",
            "{}",
            "[]",
            "\"seq\": 18446744073709551615",
            "\"seq\": -1",
            "\"at\": \"+262143-12-31T23:59:59.999999999Z\"",
            "\"at\": \"-262143-01-01T00:00:00Z\"",
            "\"at\": \"9999-12-31T23:59:59Z\"",
            "\"at\": \"1970-01-01T00:00:00Z\"",
            "\"rto_secs\": 18446744073709551615",
            "\"rpo_secs\": 18446744073709551615",
            "\"attempt\": 4294967295",
            "\"attempt\": 0",
            "\"pid\": 4294967295",
            "\"type\": \"session_started\"",
            "\"type\": \"step_finished\"",
            "\"type\": \"nope\"",
            "\"exit_code\": -2147483648",
            "\"duration_ms\": 18446744073709551615",
            "\"step\": \"\"",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        // Invalid UTF-8: a lone continuation byte, a cut sequence, an overlong form, Latin-1.
        t.extend([
            vec![0x80],
            vec![0xff],
            vec![0xc3],
            vec![0xe2, 0x82],
            vec![0xf0, 0x9f, 0x9a],
            vec![0xc0, 0xaf],
            vec![0xed, 0xa0, 0x80],
            b"caf\xe9".to_vec(),
        ]);
        t.push(format!("${{cmd:touch {}}}", marker().display()).into_bytes());
        t
    })
}

/// One edit of an input. Positions are taken modulo the input's length, so every edit applies.
#[derive(Debug, Clone)]
enum Mutation {
    FlipByte {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        token: usize,
    },
    /// Replace the content of the n-th quoted string (or the n-th number) with a token.
    ReplaceValue {
        nth: usize,
        token: usize,
    },
    Delete {
        at: usize,
        len: usize,
    },
    DuplicateLine {
        line: usize,
    },
    DropLine {
        line: usize,
    },
    SwapLines {
        a: usize,
        b: usize,
    },
    Truncate {
        at: usize,
    },
    RepeatLine {
        line: usize,
        times: usize,
    },
    /// Replace the content of the n-th quoted string with a value that keeps the TOML valid:
    /// edge values that should load (and then be drawn) or be refused cleanly.
    Plausible {
        nth: usize,
        value: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = tokens().len();
    prop_oneof![
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::FlipByte { at, byte }),
        3 => (any::<usize>(), 0..n).prop_map(|(at, token)| Mutation::Insert { at, token }),
        3 => (0usize..64, 0..n).prop_map(|(nth, token)| Mutation::ReplaceValue { nth, token }),
        1 => (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        1 => any::<usize>().prop_map(|line| Mutation::DropLine { line }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        4 => (0usize..64, 0..PLAUSIBLE.len()).prop_map(|(nth, value)| Mutation::Plausible { nth, value }),
        1 => (any::<usize>(), 2usize..50).prop_map(|(line, times)| Mutation::RepeatLine { line, times }),
    ]
}

/// Values for [`Mutation::Plausible`]: no quote, no newline.
const PLAUSIBLE: &[&str] = &[
    "30d",
    "29d23h59m59s",
    "30d1ms",
    "100ms",
    "99ms",
    "1ms",
    "0",
    "0s",
    "1024GiB",
    "1025GiB",
    "0B",
    "16MiB",
    "dr.health.down_for < 30d",
    "dr.health.down_for < 31d",
    "dr.database.lag < 1024GiB",
    "prod.health.latency >= 0ms",
    "dr.health.status == 99999999999999999999",
    "dr.dns.ttl > 1e308",
    "!prod.health.ok",
    "dr.cluster.state == DÉPLOYÉ 🚨",
    "é🚨\u{202e} mixed ﬁ text",
    "${env:HOME}",
    "$${literal}",
    "http://127.0.0.1:9/healthz",
    "https://[::1]:443/x?y=%zz",
    "postgresql://u:p%40ss@127.0.0.1:5432/db?sslmode=require",
    "manual",
    "wait",
    "check",
    "dr",
    "prod",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

fn split_lines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split_inclusive(|c| *c == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn apply(input: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = input.to_vec();
    let len = b.len().max(1);
    match *m {
        Mutation::FlipByte { at, byte } => {
            if !b.is_empty() {
                b[at % len] = byte;
            }
        }
        Mutation::Insert { at, token } => {
            let at = at % (b.len() + 1);
            b.splice(at..at, tokens()[token].iter().copied());
        }
        Mutation::ReplaceValue { nth, token } => {
            // Spans of `"…"` strings and of digit runs, in order.
            let mut spans = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'"' {
                    if let Some(end) = b[i + 1..].iter().position(|c| *c == b'"' || *c == b'\n') {
                        spans.push(i + 1..i + 1 + end);
                        i += end + 2;
                        continue;
                    }
                } else if b[i].is_ascii_digit() {
                    let end = b[i..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .unwrap_or(b.len() - i);
                    spans.push(i..i + end);
                    i += end;
                    continue;
                }
                i += 1;
            }
            if !spans.is_empty() {
                let s = spans[nth % spans.len()].clone();
                b.splice(s, tokens()[token].iter().copied());
            }
        }
        Mutation::Delete { at, len: n } => {
            let at = at % len;
            let end = (at + n).min(b.len());
            if at < end {
                b.drain(at..end);
            }
        }
        Mutation::DuplicateLine { line } | Mutation::RepeatLine { line, .. } => {
            let times = match *m {
                Mutation::RepeatLine { times, .. } => times,
                _ => 1,
            };
            let mut lines = split_lines(&b);
            if !lines.is_empty() {
                let i = line % lines.len();
                let l = lines[i].clone();
                for _ in 0..times {
                    lines.insert(i, l.clone());
                }
                b = lines.concat();
            }
        }
        Mutation::DropLine { line } => {
            let mut lines = split_lines(&b);
            if !lines.is_empty() {
                lines.remove(line % lines.len());
                b = lines.concat();
            }
        }
        Mutation::SwapLines { a, b: c } => {
            let mut lines = split_lines(&b);
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, c % n);
                b = lines.concat();
            }
        }
        Mutation::Truncate { at } => b.truncate(at % len),
        Mutation::Plausible { nth, value } => {
            let mut spans = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'"'
                    && let Some(end) = b[i + 1..].iter().position(|c| *c == b'"' || *c == b'\n')
                {
                    if b[i + 1 + end] == b'"' {
                        spans.push(i + 1..i + 1 + end);
                    }
                    i += end + 2;
                    continue;
                }
                i += 1;
            }
            if !spans.is_empty() {
                let s = spans[nth % spans.len()].clone();
                b.splice(s, PLAUSIBLE[value].bytes());
            }
        }
    }
    b
}

fn read_dir_files(dir: &Path, ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect();
    out.sort();
    out
}

/// The shipped plans and the plan fixtures (valid and invalid ones alike).
fn plan_seeds() -> &'static [(String, Vec<u8>)] {
    static S: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = read_dir_files(&root().join("plans"), "toml");
        s.extend(read_dir_files(&root().join("tests/fixtures/plans"), "toml"));
        assert!(s.len() >= 3, "no plan seeds found");
        s
    })
}

fn journal_seeds() -> &'static [(String, Vec<u8>)] {
    static S: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let s = read_dir_files(&root().join("tests/fixtures/journals"), "jsonl");
        assert!(!s.is_empty(), "no journal seeds found");
        s
    })
}

/// A seed and the edits to make to it.
fn mutated(seeds: &'static [(String, Vec<u8>)]) -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0..seeds.len(), prop::collection::vec(mutation(), 1..8))
}

/// A plan seed, most often one that loads as it is (so that a few edits still leave a plan to
/// draw), and a few edits.
fn mutated_plan() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    let loadable: Vec<usize> = plan_seeds()
        .iter()
        .enumerate()
        .filter(|(_, (_, bytes))| {
            std::str::from_utf8(bytes).is_ok_and(|t| {
                drcockpit::steps::load_str_with_notes(t, "<seed>", &check_options()).is_ok()
            })
        })
        .map(|(i, _)| i)
        .collect();
    assert!(!loadable.is_empty(), "no plan seed loads");
    let seed = prop_oneof![
        3 => prop::sample::select(loadable),
        1 => 0..plan_seeds().len(),
    ];
    (seed, prop::collection::vec(mutation(), 1..5))
}

fn check_options() -> LoadOptions {
    LoadOptions {
        sim_url: Some("http://127.0.0.1:7400".into()),
        // Never run `${cmd:…}`: the fuzzer exercises the parser only.
        run_commands: false,
    }
}

/// The first frame of a cockpit on `plan`, with every section observed carrying a value of
/// every type, so that each `requires` is evaluated against something.
fn draw_first_frame(plan: plan::Plan, terminal: &mut Terminal<TestBackend>) {
    let t0 = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let op = Operator {
        name: "fuzz".into(),
        host: "fuzz".into(),
    };
    let mut state = State::new(Arc::new(plan), Mode::Live, op, t0);
    for site in SiteId::ALL {
        for sec in Section::ALL {
            let outcome = if sec == Section::Health && site == SiteId::Prod {
                Err(ProbeError::new("unreachable", "connection refused"))
            } else {
                Ok(Reading::new(format!("{} fuzzed", sec.title()), Level::Bad)
                    .field("ok", Value::Bool(false))
                    .field("lag", Value::Bytes(u64::MAX))
                    .field("latency", Value::Duration(Duration::MAX))
                    .field("replay_age", Value::Duration(Duration::from_secs(3)))
                    .field("status", Value::Num(f64::NAN))
                    .field("state", Value::Text("DEPLOYED".into())))
            };
            state.sections[site.index()][sec.index()].observe(&Observation {
                site,
                section: sec,
                at: t0,
                outcome,
            });
        }
    }
    state.now = t0 + chrono::Duration::seconds(90);
    let theme = Theme::builtin("dark").unwrap_or_default();
    terminal
        .draw(|f| ui::draw(f, &state, &View::new(&theme, None)))
        .expect("draw");
}

#[test]
fn mutated_plans_never_panic_the_loader_or_the_first_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `${file:secret.txt}` in the fixtures resolves next to the plan.
    std::fs::write(dir.path().join("secret.txt"), "fuzz-secret\n").expect("write");
    let path = dir.path().join("plan.toml");
    let terminal = RefCell::new(Terminal::new(TestBackend::new(120, 36)).expect("terminal"));
    let seeds = plan_seeds();
    let loaded = Cell::new(0u32);
    proptest!(config(600), |((seed, edits) in mutated_plan())| {
        let mut bytes = seeds[seed].1.clone();
        for m in &edits {
            bytes = apply(&bytes, m);
        }
        std::fs::write(&path, &bytes).expect("write");
        match drcockpit::steps::load_file_with_notes(&path, &check_options()) {
            Ok(l) => {
                loaded.set(loaded.get() + 1);
                draw_first_frame(l.plan, &mut terminal.borrow_mut());
            }
            Err(e) => {
                // Every refusal says where, unless the file could not be read at all.
                prop_assert!(!e.message.is_empty());
                if std::str::from_utf8(&bytes).is_err() {
                    prop_assert!(e.line.is_some() && e.col.is_some(), "{}", e.message);
                }
            }
        }
    });
    // The budget is not spent only on plans refused at the first byte.
    eprintln!("{} mutated plans loaded and were drawn", loaded.get());
    assert!(loaded.get() > 0, "no mutated plan loaded");
    assert_no_command_ran();
}

#[test]
fn the_unmutated_seeds_load_or_are_refused_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.txt"), "fuzz-secret\n").expect("write");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    for (name, bytes) in plan_seeds() {
        let path = dir.path().join("plan.toml");
        std::fs::write(&path, bytes).expect("write");
        if let Ok(l) = drcockpit::steps::load_file_with_notes(&path, &check_options()) {
            draw_first_frame(l.plan, &mut terminal);
        } else {
            eprintln!("{name}: refused (as some fixtures are meant to be)");
        }
    }
}

const SITES: &[&str] = &["prod", "dr", "!prod", "not dr", "staging", "", "dr.", "ДР"];
const SECTIONS: &[&str] = &[
    "health", "database", "cluster", "env", "images", "dns", "databse", "", "💥",
];
const FIELDS: &[&str] = &[
    "ok",
    "down_for",
    "latency",
    "lag",
    "status",
    "state",
    "is_deployed",
    "",
    "ok.ok",
];
const OPS: &[&str] = &[
    "<", "<=", ">", ">=", "==", "!=", "=", "<<", "=>", "", " < <",
];

fn condition_text() -> impl Strategy<Value = String> {
    let n = tokens().len();
    // Mostly well-formed paths and operators, so that the literal is reached and evaluated.
    let pick = |valid: &'static [&'static str], all: &'static [&'static str]| prop_oneof![3 => prop::sample::select(valid), 1 => prop::sample::select(all)];
    let structured = (
        pick(&["prod", "dr"], SITES),
        pick(&["health", "database", "dns"], SECTIONS),
        prop::sample::select(FIELDS),
        pick(&["<", "<=", ">", ">=", "==", "!="], OPS),
        0..n,
        "[0-9a-zA-Z .\"é]{0,12}",
        any::<bool>(),
    )
        .prop_map(|(site, sec, field, op, token, tail, use_token)| {
            let lit = if use_token {
                String::from_utf8_lossy(&tokens()[token]).into_owned()
            } else {
                tail
            };
            format!("{site}.{sec}.{field} {op} {lit}")
        });
    prop_oneof![3 => structured, 1 => "\\PC{0,40}"]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Num),
        Just(Value::Num(f64::NAN)),
        Just(Value::Num(f64::INFINITY)),
        any::<u64>().prop_map(Value::Bytes),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Value::Duration(Duration::new(s, n))),
        "\\PC{0,20}".prop_map(Value::Text),
    ]
}

#[test]
fn conditions_never_panic_when_parsed_or_evaluated() {
    proptest!(config(2_000), |(text in condition_text(), v in value(), age_s in any::<u64>(), stale in any::<bool>())| {
        if let Ok(c) = Condition::parse(&text) {
            // The literal meets a value of every type: it is only interpreted at evaluation.
            let every_type = [
                v.clone(),
                Value::Bool(true),
                Value::Num(1.0),
                Value::Bytes(1024),
                Value::Duration(Duration::from_secs(5)),
                Value::Text("DEPLOYED".into()),
            ];
            for value in every_type {
                for lookup in [
                    Lookup::Value { value: value.clone(), age: Duration::from_secs(age_s), stale },
                    Lookup::Value { value, age: Duration::ZERO, stale: false },
                ] {
                    let r = c.evaluate(&lookup);
                    let _ = (r.known(), r.evidence().len());
                }
            }
            let _ = c.evaluate(&Lookup::Error("timeout".into()));
            let _ = c.evaluate(&Lookup::Missing("not configured".into()));
        }
        // The display of any value must not panic either (it is on every panel).
        let _ = v.to_string();
    });
}

fn reference_text() -> impl Strategy<Value = String> {
    const PARTS: &[&str] = &[
        "${",
        "$${",
        "}",
        "$",
        "{",
        ":",
        " ",
        "env:",
        "file:",
        "cmd:",
        "sim",
        "sim_dns",
        "sim_dns2",
        "HOME",
        "PATH",
        "DRCOCKPIT_FUZZ_UNSET",
        "secret.txt",
        "missing.txt",
        ".",
        "..",
        "é",
        "🚨",
        "\u{0}",
        "\n",
        "echo hi",
        "${env:PATH}",
        "${file:secret.txt}",
        "${cmd:echo x}",
        "${sim}",
        "${ sim }",
        "${sim_dns2}",
        "${env:}",
        "${file:.}",
        "${:}",
        "${}",
        "%",
        "%zz",
        "%ff",
        "x",
    ];
    let n = tokens().len();
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(PARTS), 0..14).prop_map(|v| v.concat()),
        1 => prop::collection::vec(0..n, 0..6).prop_map(|v| {
            v.iter()
                .map(|i| String::from_utf8_lossy(&tokens()[*i]).into_owned())
                .collect::<String>()
        }),
        1 => "\\PC{0,40}",
    ]
}

#[test]
fn references_never_panic_and_commands_are_never_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.txt"), "fuzz-secret\n").expect("write");
    const SIM_URLS: &[Option<&str>] = &[
        None,
        Some("http://127.0.0.1:7400"),
        Some("http://[::1]:0"),
        Some("http://127.0.0.1:99999"),
        Some("not a url"),
        Some(""),
        Some("http://é:1/"),
    ];
    proptest!(config(2_000), |(text in reference_text(), sim in prop::sample::select(SIM_URLS))| {
        let mut cx = RefContext::new(sim.map(str::to_string), false, dir.path().to_path_buf());
        let _ = refs::resolve(&text, &mut cx);
        let _ = refs::literal(&text);
        let _ = refs::has_reference(&text);
    });
    assert_no_command_ran();
}

#[test]
fn mutated_journals_never_panic_the_reader_or_the_report() {
    let seeds = journal_seeds();
    proptest!(config(500), |((seed, edits) in mutated(seeds))| {
        let mut bytes = seeds[seed].1.clone();
        for m in &edits {
            bytes = apply(&bytes, m);
        }
        if let Ok(read) = drcockpit::journal::read::parse(&bytes, "<fuzz>") {
            let model = drcockpit::report::build(&read.records);
            let _ = drcockpit::report::render_markdown(&model);
            let _ = drcockpit::report::render_json(&model);
        }
    });
}
