//! Reports: the run as data (`RunReport`, the stable `report.json`), and its
//! renderings — JUnit XML, Markdown, reproducers. Writers return strings or write
//! files; nothing here prints.

use serde::{Deserialize, Serialize};

use crate::verdict::{CaseResult, Summary};

/// The `format` field of report.json; bumped on any incompatible change.
pub const REPORT_FORMAT: &str = "imds-conform.report/1";

/// One run against one target and API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub format: String,
    pub meta: RunMeta,
    pub summary: Summary,
    pub cases: Vec<CaseResult>,
}

/// What was run, where and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    pub tool_version: String,
    pub api: String,
    /// A short name for the target (`emulator`, `moto`, `aws`…), used by matrices.
    pub target: String,
    pub endpoint: String,
    pub region: String,
    pub instance: String,
    pub seed: u64,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: String,
}

impl RunReport {
    pub fn new(meta: RunMeta, cases: Vec<CaseResult>) -> Self {
        RunReport {
            format: REPORT_FORMAT.to_string(),
            summary: Summary::of(&cases),
            meta,
            cases,
        }
    }
}
