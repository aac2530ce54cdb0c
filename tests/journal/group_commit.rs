//! Issue 15: group commit (one fsync per batch), a flood of output, and the lock's host.

use super::*;

// ---- Group commit (issue 15, item 1) ----

fn output(n: usize) -> Event {
    Event::StepOutput {
        step: "restore".into(),
        attempt: 1,
        stream: "stdout".into(),
        line: format!("line {n}"),
    }
}

/// Holds an exclusive `flock` on the journal (as another cockpit appending would) until dropped.
// The file is only held: closing it releases the lock.
struct HeldLock(#[allow(dead_code)] std::fs::File);

impl HeldLock {
    fn take(path: &Path) -> HeldLock {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::File::open(path).expect("open journal");
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        HeldLock(f)
    }
}

#[test]
fn a_batch_is_written_with_one_fsync_and_consecutive_seqs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let syncs = Arc::new(AtomicUsize::new(0));
    w.count_syncs(syncs.clone());
    let recs = w
        .append_batch((0..500).map(output).collect())
        .expect("batch");
    assert_eq!(syncs.load(Ordering::SeqCst), 1, "one fsync for 500 records");
    assert_eq!(
        recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..500).collect::<Vec<u64>>()
    );
    let on_disk = read::read(&path).expect("read").records;
    assert_eq!(on_disk, recs);
    // A single append still works and continues the sequence.
    assert_eq!(w.append(note("after")).expect("append").seq, 500);
    assert_eq!(syncs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_burst_sent_to_the_writer_thread_costs_far_fewer_fsyncs_than_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    let syncs = Arc::new(AtomicUsize::new(0));
    w.count_syncs(syncs.clone());
    // Each acknowledgement notes the fsyncs done so far and the journal's length at that moment.
    let acks: Arc<Mutex<Vec<(u64, usize, u64)>>> = Arc::default();
    let (a, s, p) = (acks.clone(), syncs.clone(), path.clone());
    let handle = spawn_writer(w, move |r| {
        let Ok(rec) = r else { return };
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        if let Ok(mut a) = a.lock() {
            a.push((rec.seq, s.load(Ordering::SeqCst), len));
        }
    });
    const N: usize = 2000;
    {
        // Another writer holds the journal: the burst queues up behind it.
        let _held = HeldLock::take(&path);
        for i in 0..N {
            handle.send(output(i));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            acks.lock().expect("lock").is_empty(),
            "nothing is acknowledged before it is written"
        );
    }
    handle.close();
    let acks = acks.lock().expect("lock");
    assert_eq!(acks.len(), N);
    assert_eq!(
        acks.iter().map(|a| a.0).collect::<Vec<_>>(),
        (0..N as u64).collect::<Vec<_>>(),
        "acknowledged in order"
    );
    // Where each record's line ends in the file: its acknowledgement saw at least that much.
    let text = std::fs::read_to_string(&path).expect("read");
    let mut ends = Vec::new();
    let mut offset = 0u64;
    for line in text.split_inclusive('\n') {
        offset += line.len() as u64;
        ends.push(offset);
    }
    assert!(
        acks.iter()
            .all(|&(seq, syncs, len)| syncs >= 1 && len >= ends[seq as usize]),
        "every acknowledgement comes after the write and fsync of its line"
    );
    let total = syncs.load(Ordering::SeqCst);
    // The first record may be written alone; everything queued behind the lock goes together.
    assert!(total <= 2, "{total} fsyncs for {N} records");
    assert_eq!(read::read(&path).expect("read").records.len(), N);
}

#[test]
fn a_failed_batch_hands_every_event_back_and_leaves_the_journal_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.jsonl");
    let mut w = JournalWriter::create(&path, "alice").expect("create");
    w.append(note("before")).expect("append");
    let len = std::fs::metadata(&path).expect("meta").len();
    let faults = Arc::new(AtomicUsize::new(1));
    w.inject_faults(faults.clone());
    let events: Vec<Event> = (0..50).map(output).collect();
    let (back, e) = w.append_batch(events.clone()).expect_err("ENOSPC");
    assert!(e.to_string().contains("No space left"), "{e}");
    assert_eq!(back, events, "every event back, in order");
    assert_eq!(
        std::fs::metadata(&path).expect("meta").len(),
        len,
        "cut back"
    );
    let recs = w.append_batch(back).expect("retry");
    assert_eq!(recs.first().map(|r| r.seq), Some(1));
    let on_disk = read::read(&path).expect("read");
    assert_eq!(on_disk.records.len(), 51);
    assert_eq!(on_disk.records.last().map(|r| r.seq), Some(50));
}

#[test]
fn a_flood_of_output_keeps_only_the_newest_lines_in_state_and_every_other_event() {
    use drcockpit::app::update::{OUTPUT_KEPT, apply};
    use drcockpit::app::{Mode, Operator, State};
    let opts = drcockpit::plan::LoadOptions {
        sim_url: Some("http://127.0.0.1:0".into()),
        run_commands: false,
    };
    let loaded = drcockpit::steps::load_str_with_notes(drcockpit::plan::DEMO_PLAN, "<demo>", &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let op = Operator {
        name: "alice".into(),
        host: "h1".into(),
    };
    let mut state = State::new(Arc::new(loaded.plan), Mode::Live, op, t0());
    apply(
        &mut state,
        &rec(0, 0, "alice", started("live", false, "h1")),
    );
    const N: u64 = 30_000;
    for i in 0..N {
        apply(&mut state, &rec(i + 1, 1, "alice", output(i as usize)));
    }
    apply(&mut state, &rec(N + 1, 2, "alice", note("after the flood")));
    let outputs: Vec<&Record> = state
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::StepOutput { .. }))
        .collect();
    assert!(
        outputs.len() <= 2 * OUTPUT_KEPT && outputs.len() >= OUTPUT_KEPT,
        "{} output lines kept",
        outputs.len()
    );
    assert_eq!(
        outputs.last().map(|r| r.seq),
        Some(N),
        "the newest lines are kept"
    );
    assert_eq!(
        state.records.first().map(|r| r.seq),
        Some(0),
        "the session start stays"
    );
    assert_eq!(state.records.last().map(|r| r.seq), Some(N + 1));
}

#[test]
fn the_lock_records_the_host_the_runtime_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prod.lock");
    let l = Lock::acquire(&path, "alice", "bastion-7", false).expect("lock");
    assert_eq!(l.info().host, "bastion-7");
    match Lock::acquire(&path, "bob", "laptop", false) {
        Err(LockError::Held { host, operator, .. }) => {
            assert_eq!((host.as_str(), operator.as_str()), ("bastion-7", "alice"));
        }
        Err(e) => panic!("expected Held, got {e}"),
        Ok(_) => panic!("a second lock was granted"),
    }
}
