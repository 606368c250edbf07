//! `report.json`: the run as stable, pretty-printed JSON (fields in declaration
//! order; see `docs/report-format.md`), and reading it back.

use std::path::Path;

use super::{scrubbed, ReportError, RunReport, REPORT_FORMAT};

/// The report as pretty JSON with a final newline. Secrets are redacted again on
/// the way out (see [`scrubbed`]).
pub fn to_json(report: &RunReport) -> String {
    // Serializing these types cannot fail: every map has string keys and
    // non-finite floats were replaced by `scrubbed`.
    let mut s = serde_json::to_string_pretty(&scrubbed(report))
        .expect("a RunReport always serializes to JSON");
    s.push('\n');
    s
}

/// Read a `report.json`. Errors name the file and say what is wrong: missing,
/// unreadable, not JSON, another `format`, or not the shape of a report.
pub fn read(path: &Path) -> Result<RunReport, ReportError> {
    from_str(path, &super::read_text(path)?)
}

/// Parse report text; `path` is only used to name the source in errors. What it
/// holds is redacted again (see [`scrubbed`]): a report written by an older
/// version may quote a target's secrets, and every command that reads one shows it.
pub fn from_str(path: &Path, text: &str) -> Result<RunReport, ReportError> {
    super::parse_format(path, text, REPORT_FORMAT).map(|r: RunReport| scrubbed(&r))
}
