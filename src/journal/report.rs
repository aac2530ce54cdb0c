//! `drcockpit report JOURNAL`: an incident, drill or review report in Markdown or JSON.

use std::path::Path;

pub fn run_report_cli(journal: &Path, format: &str) -> i32 {
    eprintln!("report {} ({format}): not implemented", journal.display());
    crate::exit::FAILURE
}
