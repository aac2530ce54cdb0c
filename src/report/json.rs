//! `drcockpit report --format json`: the model as pretty JSON, redacted twice over (every
//! string value, then the whole text).

use super::ReportModel;

/// The report as pretty JSON (redacted).
pub fn render_json(m: &ReportModel) -> Result<String, String> {
    let mut v = serde_json::to_value(m).map_err(|e| format!("cannot serialise the report: {e}"))?;
    crate::journal::writer::redact_value(&mut v);
    serde_json::to_string_pretty(&v)
        .map(crate::redact::redact_string)
        .map_err(|e| format!("cannot serialise the report: {e}"))
}
