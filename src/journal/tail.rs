//! Following a journal as it grows (issue 13: watchers, `drcockpit follow`).
//!
//! Several cockpits share one journal: the driver appends, watchers append notes, a take-over
//! continues it. Each of them follows the file to see what the others wrote. A cheap poll is
//! enough (one `stat` per tick; the file is read only when it grew): the writers append whole
//! lines under `flock`, so the reader only ever has to hold back the last line until its newline
//! arrives — a line is never handed out half-written.
//!
//! * Records are returned in file order, which is `seq` order (every append re-reads `seq`
//!   under the lock, see `writer`).
//! * A writer's own records are skipped through [`OwnSeqs`]: the writer notes a seq before its
//!   bytes reach the file, so the follower never applies a record twice (once from its own
//!   writer, once from the file).
//! * A malformed complete line (a torn write that a later append continued after) is skipped
//!   and counted, like `read::parse` does for the middle of a file.
//! * A file that shrank (a failed write cut back) is re-read from its new end; one that was
//!   replaced (another inode) is followed from its start, skipping seqs already seen.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::Record;

/// The seqs one writer appended (shared between the writer thread and the follower).
#[derive(Debug, Clone, Default)]
pub struct OwnSeqs(Arc<Mutex<BTreeSet<u64>>>);

impl OwnSeqs {
    pub fn insert_range(&self, first: u64, n: u64) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.extend(first..first.saturating_add(n));
    }

    /// Was `seq` written by us? Forgets it (each seq is asked about once).
    pub fn take(&self, seq: u64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&seq)
    }
}

/// A reader positioned in a journal file.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    inode: Option<(u64, u64)>,
    /// Bytes of a line whose newline has not arrived yet.
    partial: Vec<u8>,
    /// The highest seq handed out (a replaced file is not replayed twice).
    pub last_seq: Option<u64>,
    /// Complete lines that were not records (skipped).
    pub skipped: usize,
    own: Option<OwnSeqs>,
}

impl Tail {
    /// Follow `path` from its start.
    pub fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            inode: None,
            partial: Vec::new(),
            last_seq: None,
            skipped: 0,
            own: None,
        }
    }

    /// Skip the records a writer of this process appended.
    pub fn skipping_own(mut self, own: OwnSeqs) -> Tail {
        self.own = Some(own);
        self
    }

    /// Records up to and including `seq` were already seen (a resume read them): skip them.
    pub fn after_seq(mut self, seq: Option<u64>) -> Tail {
        self.last_seq = seq;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// New complete records since the last poll (none when the file did not grow). An error
    /// means the file cannot be read now; the next poll tries again.
    pub fn poll(&mut self) -> std::io::Result<Vec<Record>> {
        let meta = std::fs::metadata(&self.path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let id = (meta.dev(), meta.ino());
        if self.inode.is_some_and(|i| i != id) {
            // Replaced (copied over, rotated): read it from its start; `last_seq` skips the rest.
            self.offset = 0;
            self.partial.clear();
        }
        self.inode = Some(id);
        let size = meta.len();
        if size < self.offset {
            // Cut back (a failed write): what we held back was never a record.
            self.offset = size;
            self.partial.clear();
            return Ok(Vec::new());
        }
        if size == self.offset {
            return Ok(Vec::new());
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::with_capacity((size - self.offset).min(16 << 20) as usize);
        file.take(size - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        let mut out = Vec::new();
        let mut rest: &[u8] = &buf;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            let line = std::mem::take(&mut self.partial);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Record>(&line) {
                Ok(r) => {
                    if self.last_seq.is_some_and(|s| r.seq <= s) {
                        continue;
                    }
                    self.last_seq = Some(r.seq);
                    if self.own.as_ref().is_some_and(|o| o.take(r.seq)) {
                        continue;
                    }
                    out.push(r);
                }
                Err(_) => self.skipped += 1,
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Event;
    use crate::journal::writer::JournalWriter;
    use std::io::Write;

    fn note(text: &str) -> Event {
        Event::Note {
            step: None,
            text: text.into(),
        }
    }

    #[test]
    fn a_half_written_line_is_held_back_until_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut w = JournalWriter::create(&path, "alice").unwrap();
        w.append(note("one")).unwrap();
        let mut t = Tail::new(&path);
        assert_eq!(t.poll().unwrap().len(), 1);
        let line = serde_json::to_string(&Record {
            seq: 1,
            at: chrono::Utc::now(),
            operator: "bob".into(),
            event: note("two"),
        })
        .unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&line.as_bytes()[..10]).unwrap();
        assert!(t.poll().unwrap().is_empty(), "half a line is not a record");
        f.write_all(&line.as_bytes()[10..]).unwrap();
        f.write_all(b"\n").unwrap();
        let got = t.poll().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].operator, "bob");
    }

    #[test]
    fn a_writers_own_records_are_skipped_and_others_kept_in_seq_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let own = OwnSeqs::default();
        let mut mine = JournalWriter::create(&path, "alice").unwrap();
        mine.share_own_seqs(own.clone());
        let mut theirs = JournalWriter::create(&path, "bob").unwrap();
        let mut t = Tail::new(&path).skipping_own(own);
        mine.append(note("a1")).unwrap();
        theirs.append(note("b1")).unwrap();
        mine.append(note("a2")).unwrap();
        theirs.append(note("b2")).unwrap();
        let got = t.poll().unwrap();
        let seqs: Vec<(u64, &str)> = got.iter().map(|r| (r.seq, r.operator.as_str())).collect();
        assert_eq!(seqs, vec![(1, "bob"), (3, "bob")]);
    }
}
