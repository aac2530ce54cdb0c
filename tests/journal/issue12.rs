//! Issue 12: the lock and the journal under failures.

use super::*;

// ---------------------------------------------------------------- issue 12: lock and journal

mod lock_and_journal {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use drcockpit::app::update::{Effect, Msg, update};
    use drcockpit::app::{Mode, Operator, State};
    use drcockpit::journal::paths::{StateSource, plan_key, state_dir_from};
    use drcockpit::journal::read::{Target, check_target};
    use drcockpit::journal::writer::{JournalStatus, spawn_writer_with_status};

    const PLAN: &str = r#"
[plan]
name = "Shop: fr-par → eu-west-1"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"

[sites.prod]
label = "Prod"

[sites.dr]
label = "DR"

[[step]]
id = "switch"
title = "A mutating command"
kind = "command"
command = ["sh", "-c", "echo switched"]
"#;

    fn plan() -> Arc<drcockpit::plan::Plan> {
        Arc::new(
            drcockpit::steps::load_str(PLAN, "t.toml", &Default::default()).expect("plan loads"),
        )
    }

    fn live(lock: Option<Lock>) -> State {
        let op = Operator {
            name: "alice".into(),
            host: "h1".into(),
        };
        let mut s = State::new(plan(), Mode::Live, op, t0());
        s.lock = lock.map(Arc::new);
        s
    }

    fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
        update(
            state,
            Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            t0(),
        )
    }

    /// Effects that would change the world or start a step.
    fn mutations(fx: &[Effect]) -> usize {
        fx.iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::RunStep { .. }
                        | Effect::Record(Event::StepStarted { .. })
                        | Effect::Record(Event::Approved { .. })
                        | Effect::Record(Event::ManualDone { .. })
                )
            })
            .count()
    }

    fn started_rec(seq: u64) -> Record {
        rec(
            seq,
            1,
            "alice",
            Event::StepStarted {
                step: "switch".into(),
                attempt: 1,
                kind: Some("command".into()),
            },
        )
    }

    #[test]
    fn the_driver_confirms_and_runs_while_it_holds_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock =
            Lock::acquire(&dir.path().join("p.lock"), "alice", &host(), false).expect("lock");
        let mut a = live(Some(lock));
        assert_eq!(mutations(&key(&mut a, KeyCode::Enter)), 0);
        assert_eq!(mutations(&key(&mut a, KeyCode::Char('y'))), 1);
        let fx = update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert!(fx.iter().any(|e| matches!(e, Effect::RunStep { .. })));
    }

    #[test]
    fn after_a_take_over_the_old_driver_runs_nothing_and_becomes_a_watcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        let b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        assert!(b.check().is_ok());
        assert!(a.lock.as_ref().expect("lock").check().is_err());

        // Enter / y on the step: the check at dispatch catches it before anything is recorded.
        let mut fx = key(&mut a, KeyCode::Enter);
        fx.extend(key(&mut a, KeyCode::Char('y')));
        fx.extend(key(&mut a, KeyCode::Enter));
        fx.extend(key(&mut a, KeyCode::Char('y')));
        assert_eq!(mutations(&fx), 0, "{fx:?}");
        assert_eq!(a.mode, Mode::Monitor);
        let note = a.mode_note.clone().expect("says why");
        assert!(
            note.contains("lost the plan's lock") && note.contains("bob"),
            "{note}"
        );
        // Said on screen (flash), in the log and in the journal.
        assert!(fx.iter().any(|e| matches!(e, Effect::Log { target, line, .. } if target == "safety" && line.contains("watcher"))));
        assert!(fx.iter().any(
            |e| matches!(e, Effect::Record(Event::Note { text, .. }) if text.contains("bob"))
        ));
        drop(b);
    }

    #[test]
    fn the_clock_tick_turns_a_taken_over_driver_into_a_watcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        assert!(update(&mut a, Msg::Tick, t0()).is_empty() || a.mode == Mode::Live);
        assert_eq!(a.mode, Mode::Live);
        let _b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        let fx = update(&mut a, Msg::Tick, t0());
        assert_eq!(a.mode, Mode::Monitor);
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Record(Event::Note { .. })))
        );
        // Only once.
        assert!(update(&mut a, Msg::Tick, t0()).is_empty());
    }

    #[test]
    fn a_take_over_between_confirm_and_dispatch_records_the_step_as_not_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let mut a = live(Some(
            Lock::acquire(&path, "alice", &host(), false).expect("lock"),
        ));
        key(&mut a, KeyCode::Enter);
        assert_eq!(mutations(&key(&mut a, KeyCode::Char('y'))), 1);
        // The StepStarted is on disk when the newcomer takes over: the run itself never starts.
        let _b = Lock::acquire(&path, "bob", &host(), true).expect("take-over");
        let fx = update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::RunStep { .. })),
            "{fx:?}"
        );
        assert!(fx.iter().any(|e| matches!(e, Effect::Record(Event::StepFinished { ok: false, detail, .. }) if detail.starts_with("not run"))), "{fx:?}");
    }

    #[test]
    fn a_removed_lock_file_is_a_lost_lock_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.lock");
        let a = Lock::acquire(&path, "alice", &host(), false).expect("lock");
        std::fs::remove_file(&path).expect("rm");
        let err = a.check().expect_err("lost");
        assert!(err.contains("removed"), "{err}");
    }

    #[test]
    fn two_writers_on_one_journal_never_repeat_a_seq() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut a = JournalWriter::create(&path, "alice").expect("a");
        let mut b = JournalWriter::create(&path, "bob").expect("b (take-over resumes it)");
        for i in 0..5 {
            a.append(note(&format!("a{i}"))).expect("a append");
            b.append(note(&format!("b{i}"))).expect("b append");
            b.append(note(&format!("b{i}'"))).expect("b append");
        }
        let read = read::read(&path).expect("read");
        let seqs: Vec<u64> = read.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs.len(), 15);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert!(read.torn_lines.is_empty() && read.torn_tail.is_none());
    }

    #[test]
    fn writers_in_several_threads_keep_seq_strictly_increasing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Arc::new(dir.path().join("j.jsonl"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut w = JournalWriter::create(&path, &format!("op{t}")).expect("open");
                    for i in 0..25 {
                        w.append(note(&format!("{t}-{i}"))).expect("append");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("join");
        }
        let seqs: Vec<u64> = read::read(&path)
            .expect("read")
            .records
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs.len(), 100);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }

    // ------------------------------------------------------------ item 9: where the lock lives

    #[test]
    fn the_state_directory_is_chosen_plan_then_env_then_system_then_user() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let system = tmp.path().join("var-lib-drcockpit");
        let user = tmp.path().join("home/.local/state/drcockpit/journal");
        let plan_dir = tmp.path().join("plan-dir");
        let env = Some(tmp.path().join("env-dir").into_os_string());

        let d = state_dir_from(Some(&plan_dir), env.clone(), &system, user.clone());
        assert_eq!(
            (d.dir.clone(), d.source),
            (plan_dir.clone(), StateSource::Plan)
        );
        assert!(d.shared() && d.warning().is_none());
        let d = state_dir_from(None, env.clone(), &system, user.clone());
        assert_eq!(d.source, StateSource::Env);
        // No system directory: the per-user one, with a warning that the lock is not shared.
        let d = state_dir_from(None, None, &system, user.clone());
        assert_eq!((d.dir.clone(), d.source), (user.clone(), StateSource::User));
        let w = d.warning().expect("warned");
        assert!(
            w.contains("per user") && w.contains("/var/lib/drcockpit"),
            "{w}"
        );
        std::fs::create_dir_all(&system).expect("mkdir");
        let d = state_dir_from(None, None, &system, user.clone());
        assert_eq!((d.dir, d.source), (system, StateSource::System));
    }

    #[test]
    fn the_lock_is_keyed_by_the_plan_name_not_the_checkout() {
        let k = plan_key("Shop: fr-par → eu-west-1");
        assert!(k.starts_with("shop-fr-par-eu-west-1-"), "{k}");
        assert_eq!(k.len(), "shop-fr-par-eu-west-1-".len() + 8);
        assert_eq!(k, plan_key("Shop: fr-par → eu-west-1"));
        // Names that slug alike are still two plans.
        assert_ne!(plan_key("shop eu"), plan_key("Shop/EU"));
    }

    #[test]
    fn a_shared_lock_file_is_group_writable_whatever_the_umask() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shared/p.lock");
        let _l = Lock::acquire_shared(&path, "alice", &host(), false).expect("lock");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let dmode = std::fs::metadata(dir.path().join("shared"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(dmode, 0o2770);
        let j = dir.path().join("shared/j.jsonl");
        JournalWriter::create_shared(&j, "alice").expect("journal");
        let mode = std::fs::metadata(&j).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
    }

    #[test]
    fn journal_dir_in_the_plan_must_be_absolute() {
        let with = |dir: &str| format!("{PLAN}\n[journal]\ndir = \"{dir}\"\n");
        let ok = with("/srv/drcockpit");
        drcockpit::steps::load_str(&ok, "t.toml", &Default::default()).expect("absolute is fine");
        assert_eq!(
            drcockpit::plan::load::journal_dir(&ok),
            Some(std::path::PathBuf::from("/srv/drcockpit"))
        );
        let err = drcockpit::steps::load_str(&with("state"), "t.toml", &Default::default())
            .expect_err("relative is refused")
            .to_string();
        assert!(
            err.contains("journal.dir") && err.contains("absolute"),
            "{err}"
        );
        assert_eq!(drcockpit::plan::load::journal_dir(PLAN), None);
    }

    // ------------------------------------------------------------ item 10: what --journal may be

    #[test]
    fn journal_targets_other_than_a_new_file_or_this_plans_journal_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = "Shop: fr-par → eu-west-1";
        assert_eq!(
            check_target(&dir.path().join("new.jsonl"), name),
            Ok(Target::New)
        );
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, "").expect("write");
        assert_eq!(check_target(&empty, name), Ok(Target::New));

        // A device: refused without reading it (it used to be read to EOF).
        if Path::new("/dev/full").exists() {
            let e = check_target(Path::new("/dev/full"), name).expect_err("device");
            assert!(e.contains("device"), "{e}");
            let e = read::read(Path::new("/dev/zero")).expect_err("device");
            assert!(e.contains("device"), "{e}");
        }
        // A FIFO: refused, and never blocks (it used to hang forever).
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstr");
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = check_target(&fifo, name).expect_err("fifo");
        assert!(e.contains("FIFO"), "{e}");
        assert!(JournalWriter::create(&fifo, "alice").is_err());
        assert!(read::read(&fifo).is_err());
        // A directory.
        assert!(check_target(dir.path(), name).is_err());

        // A one-line text file that is not a journal: refused, and left as it was.
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "remember the milk\n").expect("write");
        let e = check_target(&text, name).expect_err("text");
        assert!(e.contains("not a drcockpit journal"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&text).expect("read"),
            "remember the milk\n"
        );
        // A journal record that is not session_started first.
        let odd = dir.path().join("odd.jsonl");
        write_lines(&odd, &[rec(0, 0, "alice", note("x"))]);
        assert!(check_target(&odd, name).is_err());
        // A huge first line is not read whole.
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 1 << 20]).expect("write");
        assert!(
            check_target(&big, name)
                .expect_err("big")
                .contains("longer")
        );

        // Another plan's journal is refused; this plan's journal is continued.
        let mut other = started("live", false, "hash");
        if let Event::SessionStarted { plan_name, .. } = &mut other {
            *plan_name = "another plan".into();
        }
        let theirs = dir.path().join("theirs.jsonl");
        write_lines(&theirs, &[rec(0, 0, "bob", other)]);
        let e = check_target(&theirs, name).expect_err("other plan");
        assert!(e.contains("another plan"), "{e}");
        let mut mine = started("live", false, "hash");
        if let Event::SessionStarted { plan_name, .. } = &mut mine {
            *plan_name = name.into();
        }
        let ours = dir.path().join("ours.jsonl");
        write_lines(&ours, &[rec(0, 0, "bob", mine)]);
        assert_eq!(check_target(&ours, name), Ok(Target::Journal));
    }

    // ------------------------------------------------------------ item 11: a full disk

    fn assert_clean_journal(path: &Path) -> Vec<u64> {
        let bytes = std::fs::read(path).expect("read");
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"));
        let read = read::read(path).expect("parses");
        assert!(
            read.torn_lines.is_empty(),
            "torn lines {:?}",
            read.torn_lines
        );
        assert!(read.torn_tail.is_none(), "{:?}", read.torn_tail);
        read.records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_short_write_is_cut_back_and_the_event_can_be_written_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        w.append(note("before")).expect("first");
        let len = std::fs::metadata(&path).expect("meta").len();
        let faults = Arc::new(AtomicUsize::new(2));
        w.inject_faults(faults.clone());
        let e = w.append(note("during")).expect_err("ENOSPC");
        assert_eq!(e.raw_os_error(), None);
        assert!(e.to_string().contains("No space left"), "{e}");
        assert!(w.append(note("during")).is_err());
        // No torn line: the half-written lines were cut back.
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), len);
        assert_eq!(faults.load(Ordering::SeqCst), 0);
        // Space is back: the same writer works again, seq continues without a gap or repeat.
        w.append(note("during")).expect("after");
        w.append(note("after")).expect("after");
        assert_eq!(assert_clean_journal(&path), vec![0, 1, 2]);
    }

    #[test]
    fn the_writer_thread_keeps_events_retries_and_reports_blocked_then_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        let faults = Arc::new(AtomicUsize::new(3));
        w.inject_faults(faults);
        let done: Arc<Mutex<Vec<Result<Record, String>>>> = Arc::default();
        let status: Arc<Mutex<Vec<JournalStatus>>> = Arc::default();
        let (d, s) = (done.clone(), status.clone());
        let h = spawn_writer_with_status(
            w,
            move |r| d.lock().expect("lock").push(r),
            move |st| s.lock().expect("lock").push(st),
        );
        for i in 0..4 {
            h.send(note(&format!("n{i}")));
        }
        assert!(h.close_within(Duration::from_secs(30)));
        let done = done.lock().expect("lock");
        assert_eq!(done.len(), 4, "{done:?}");
        let texts: Vec<String> = done
            .iter()
            .map(|r| match &r.as_ref().expect("written").event {
                Event::Note { text, .. } => text.clone(),
                e => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(texts, ["n0", "n1", "n2", "n3"]);
        let status = status.lock().expect("lock");
        assert!(
            matches!(status.first(), Some(JournalStatus::Blocked { waiting, .. }) if *waiting >= 1),
            "{status:?}"
        );
        assert_eq!(status.last(), Some(&JournalStatus::Durable));
        assert_eq!(h.lost(), 0);
        assert_eq!(assert_clean_journal(&path), vec![0, 1, 2, 3]);
    }

    #[test]
    fn events_that_can_never_be_written_are_counted_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").expect("open");
        w.inject_faults(Arc::new(AtomicUsize::new(usize::MAX)));
        let done: Arc<Mutex<Vec<Result<Record, String>>>> = Arc::default();
        let d = done.clone();
        let h = spawn_writer_with_status(w, move |r| d.lock().expect("lock").push(r), |_| {});
        h.send(note("a"));
        h.send(note("b"));
        assert!(h.close_within(Duration::from_secs(30)));
        assert_eq!(h.lost(), 2);
        let done = done.lock().expect("lock");
        assert!(
            done.iter()
                .all(|r| r.as_ref().is_err_and(|e| e.contains("never be written")))
        );
        assert_clean_journal(&path);
    }

    #[test]
    fn a_blocked_journal_refuses_new_steps_and_the_running_step_finishes_once_written() {
        let mut a = live(None);
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Char('y'));
        update(&mut a, Msg::Recorded(started_rec(0)), t0());
        assert_eq!(a.status(0), drcockpit::app::state::StepStatus::Running);
        // The step finishes while the disk is full: its StepFinished waits in memory.
        let fx = update(
            &mut a,
            Msg::StepDone {
                step: 0,
                attempt: 1,
                result: Ok("switched".into()),
            },
            t0(),
        );
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Record(Event::StepFinished { .. })))
        );
        update(
            &mut a,
            Msg::JournalBlocked {
                waiting: 2,
                error: "No space left on device".into(),
            },
            t0(),
        );
        // Nothing new may start.
        let mut fx = key(&mut a, KeyCode::Char('s'));
        fx.extend(key(&mut a, KeyCode::Char('D')));
        for c in "an incident".chars() {
            fx.extend(key(&mut a, KeyCode::Char(c)));
        }
        fx.extend(key(&mut a, KeyCode::Enter));
        assert!(
            !fx.iter()
                .any(|e| matches!(e, Effect::Record(_) | Effect::RunStep { .. })),
            "{fx:?}"
        );
        // The header says so.
        let theme = drcockpit::ui::Theme::builtin("dark").unwrap_or_default();
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("term");
        term.draw(|f| drcockpit::ui::draw(f, &a, &drcockpit::ui::View::new(&theme, None)))
            .expect("draw");
        let buf = term.backend().buffer();
        let screen: String = buf.content().iter().map(|c| c.symbol()).collect();
        assert!(
            screen.contains("JOURNAL BLOCKED: 2 events waiting"),
            "{screen}"
        );
        // Space is back: the finish is written and applied; the step is not running forever.
        let fin = rec(
            1,
            2,
            "alice",
            Event::StepFinished {
                step: "switch".into(),
                attempt: 1,
                ok: true,
                detail: "switched".into(),
            },
        );
        update(&mut a, Msg::Recorded(fin), t0());
        update(&mut a, Msg::JournalDurable, t0());
        assert!(a.journal_blocked.is_none());
        assert_eq!(a.status(0), drcockpit::app::state::StepStatus::Succeeded);
    }
}

#[test]
fn session_started_records_the_build_commit_and_the_report_names_the_build() {
    let mut ev = started("live", true, "abc123");
    if let Event::SessionStarted { commit, .. } = &mut ev {
        *commit = Some(Box::new("0123456789ab".into()));
    }
    let line = serde_json::to_string(&rec(1, 0, "ana", ev)).expect("serialise");
    assert!(line.contains(r#""commit":"0123456789ab""#), "{line}");
    // Journals written before the field existed still read, without a commit.
    let old = line.replace(r#","commit":"0123456789ab""#, "");
    let back: Record = serde_json::from_str(&old).expect("old journal line");
    assert!(matches!(
        back.event,
        Event::SessionStarted { commit: None, .. }
    ));

    let records = vec![
        serde_json::from_str::<Record>(&line).expect("parse"),
        rec(2, 10, "ana", note("drill begins")),
    ];
    let md = report::render_markdown(&report::build(&records));
    assert!(
        md.contains("| Build | drcockpit 0.1.0 (commit 0123456789ab) |"),
        "{md}"
    );
    let json = report::render_json(&report::build(&records)).expect("json");
    assert!(json.contains("0123456789ab"), "{json}");
}
