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

use std::path::Path;

use super::Record;

#[derive(Debug, Clone, Default)]
pub struct ReadJournal {
    pub records: Vec<Record>,
    /// The last line, if it was cut by a crash (ignored).
    pub torn_tail: Option<String>,
    /// 1-based line numbers of torn records in the middle of the file (a crash, then a resume).
    pub torn_lines: Vec<usize>,
}

pub fn read(path: &Path) -> Result<ReadJournal, String> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{}: no such journal file", path.display()),
        _ => format!("{}: cannot read the journal: {e}", path.display()),
    })?;
    parse(&bytes, &path.display().to_string())
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
