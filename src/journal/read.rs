//! Reading a journal back (resume, report). A torn last line (crash mid-write) is tolerated.
//!
//! Rules:
//! * blank lines are ignored;
//! * a malformed **last** line is the torn tail of a crash: reported in
//!   [`ReadJournal::torn_tail`] and otherwise ignored;
//! * a **middle** line that is a JSON record cut short (it parses up to its end and then needs
//!   more) is a torn write that the writer continued after on a fresh line: its line number goes
//!   to [`ReadJournal::torn_lines`] and it is skipped;
//! * any other malformed middle line is an error naming the file and the line number: the journal
//!   was damaged or edited, and a resume or report built on it could lie.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::{Event, Record};

/// How much of a file's first line [`check_target`] reads before deciding it is not a journal.
pub const FIRST_LINE_MAX: u64 = 256 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ReadJournal {
    pub records: Vec<Record>,
    /// The last line, if it was cut by a crash (ignored).
    pub torn_tail: Option<String>,
    /// 1-based line numbers of torn records in the middle of the file (a crash, then a resume).
    pub torn_lines: Vec<usize>,
}

pub fn read(path: &Path) -> Result<ReadJournal, String> {
    let cannot = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{}: no such journal file", path.display()),
        _ => format!("{}: cannot read the journal: {e}", path.display()),
    };
    // A device (`/dev/zero`, `/dev/full`) would be read to exhaustion and a FIFO would block:
    // look at the file type before opening, and open without blocking.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let mut file = open_nonblocking(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(64 << 20) as usize);
    file.read_to_end(&mut bytes).map_err(cannot)?;
    parse(&bytes, &path.display().to_string())
}

/// What `--journal PATH` points at, once checked (see [`check_target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing there yet, or an empty file: a new journal.
    New,
    /// A drcockpit journal of this plan: it is continued (resumed).
    Journal,
}

/// May a session of plan `plan_name` write its journal at `path`? Only a new (absent or empty)
/// file, or a regular file whose first record is a drcockpit `session_started` for the same plan
/// (by name: a newer version of the plan continues its journal). Anything else is refused before
/// anything runs, with a message saying what the path is: a device (`/dev/full` would be read to
/// exhaustion), a FIFO (would block forever), a directory, or a text file that is not a journal
/// (appending to it would corrupt it and steps would run unrecorded).
pub fn check_target(path: &Path, plan_name: &str) -> Result<Target, String> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::New),
        Err(e) => return Err(format!("{shown}: cannot use it as the journal: {e}")),
    };
    let hint = " — give --journal a new file or a journal of this plan";
    if !meta.is_file() {
        return Err(not_regular(path, &meta) + hint);
    }
    let file = open_nonblocking(path)
        .map_err(|e| format!("{shown}: cannot open the journal to check it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{shown}: cannot check the journal: {e}"))?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta) + hint);
    }
    if meta.len() == 0 {
        return Ok(Target::New);
    }
    let mut head = Vec::new();
    file.take(FIRST_LINE_MAX)
        .read_to_end(&mut head)
        .map_err(|e| format!("{shown}: cannot read the journal: {e}"))?;
    let first = head
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace));
    let not_journal = |why: &str| {
        format!(
            "{shown}: not a drcockpit journal of plan \"{plan_name}\" ({why}); refusing to write to it — give --journal a new file or a journal of this plan"
        )
    };
    let Some(first) = first else {
        if head.len() as u64 >= FIRST_LINE_MAX {
            return Err(not_journal(
                "its first line is longer than any journal record",
            ));
        }
        // Only whitespace: nothing was ever recorded in it.
        return Err(not_journal("it holds only blank lines"));
    };
    if head.len() as u64 >= FIRST_LINE_MAX && !head.contains(&b'\n') {
        return Err(not_journal(
            "its first line is longer than any journal record",
        ));
    }
    match serde_json::from_slice::<Record>(first) {
        Ok(Record {
            event: Event::SessionStarted { plan_name: n, .. },
            ..
        }) if n == plan_name => Ok(Target::Journal),
        Ok(Record {
            event: Event::SessionStarted { plan_name: n, .. },
            ..
        }) => Err(crate::redact::redact_string(format!(
            "{shown}: this journal belongs to plan \"{n}\", not \"{plan_name}\"; refusing to mix two plans in one journal"
        ))),
        Ok(_) => Err(not_journal("its first record is not session_started")),
        Err(_) => Err(not_journal("its first line is not a journal record")),
    }
}

/// Open for reading without ever blocking (a FIFO swapped in after the type check).
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn not_regular(path: &Path, meta: &std::fs::Metadata) -> String {
    let ft = meta.file_type();
    let what = if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (it would block forever)"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device, not a file"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    format!("{}: {what}; a journal is a regular file", path.display())
}

/// Parse journal text; `name` is used in error messages.
pub fn parse(bytes: &[u8], name: &str) -> Result<ReadJournal, String> {
    let mut lines: Vec<(usize, &[u8])> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let mut out = ReadJournal::default();
    let last = lines.pop();
    for (n, line) in lines {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => out.records.push(r),
            Err(e) if e.is_eof() && line.first() == Some(&b'{') => out.torn_lines.push(n),
            Err(e) => {
                return Err(crate::redact::redact_string(format!(
                    "{name}:{n}: malformed journal line ({e}); the journal is damaged — fix or remove that line to use it"
                )));
            }
        }
    }
    if let Some((_, line)) = last {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => out.records.push(r),
            Err(_) => {
                out.torn_tail = Some(crate::redact::redact_string(
                    String::from_utf8_lossy(line).into_owned(),
                ))
            }
        }
    }
    Ok(out)
}

/// Issue 15: output lines `start..start + count` (0 = the attempt's first) of `step`'s `attempt`,
/// as (stream, text), read from the journal file a line at a time: the detail pane's older lines.
/// Memory holds one journal line and the page, whatever the journal's size.
pub fn output_page(
    path: &Path,
    step: &str,
    attempt: u32,
    start: usize,
    count: usize,
) -> Result<Vec<(String, String)>, String> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("{}: cannot read the journal: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let (mut idx, mut out, mut buf) = (0usize, Vec::new(), Vec::new());
    while out.len() < count {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("{}: cannot read the journal: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        // Cheap filter first: most lines are not this step's output.
        if !contains(&buf, b"\"step_output\"") {
            continue;
        }
        let Ok(rec) = serde_json::from_slice::<Record>(&buf) else {
            continue;
        };
        if let Event::StepOutput {
            step: s,
            attempt: a,
            stream,
            line,
        } = rec.event
            && s == step
            && a == attempt
        {
            if idx >= start {
                out.push((stream, line));
            }
            idx += 1;
        }
    }
    Ok(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
