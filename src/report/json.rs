//! `report.json`: the run as stable, pretty-printed JSON (fields in declaration
//! order; see `docs/report-format.md`), and reading it back.

use std::path::Path;

use serde_json::Value;

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
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ReportError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            ReportError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    from_str(path, &text)
}

/// Parse report text; `path` is only used to name the source in errors.
pub fn from_str(path: &Path, text: &str) -> Result<RunReport, ReportError> {
    let value: Value = serde_json::from_str(text).map_err(|source| ReportError::NotJson {
        path: path.to_path_buf(),
        source,
    })?;
    let found = value.get("format").and_then(Value::as_str);
    if found != Some(REPORT_FORMAT) {
        return Err(ReportError::WrongFormat {
            path: path.to_path_buf(),
            found: value.get("format").map(|f| match f {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            expected: REPORT_FORMAT,
        });
    }
    // Parse the text again (not the value) so the error carries a line and column.
    serde_json::from_str(text).map_err(|source| ReportError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}
