//! Reports: the run as data (`RunReport`, the stable `report.json`), and its
//! renderings — JUnit XML, Markdown, reproducers, console text. Writers return
//! strings or write files; nothing here prints.
//!
//! Every renderer works on a *scrubbed* copy of the report (see [`scrubbed`]): the
//! recorder already redacts secrets, and the renderers apply the same redaction
//! again so a hand-built or foreign `RunReport` cannot carry a signature or a token
//! into an artifact. The file layout is described in `docs/report-format.md`.

pub mod baseline;
pub mod console;
pub mod diff;
pub mod json;
// junit, markdown and matrix are the lead's (issue 11): their item docs are added
// there.
#[allow(missing_docs)]
pub mod junit;
#[allow(missing_docs)]
pub mod markdown;
#[allow(missing_docs)]
pub mod matrix;
pub mod recording;
pub mod repro;
pub mod text;
pub mod write;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::spec::Api;
use crate::verdict::redact;
use crate::verdict::{
    departures, AmbiguityReading, CaseResult, Departure, ReadingTracker, Summary,
};
use crate::wire::credentials::EnvNames;
use crate::wire::SigningScheme;

pub use write::{write_all, write_run, Written};

/// The `format` field of report.json; bumped on any incompatible change.
pub const REPORT_FORMAT: &str = "imds-conform.report/1";

/// `meta.api` of a combined report over several APIs.
pub const ALL_APIS: &str = "all";

/// One run against one target and API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// What was run, where and when.
    pub meta: RunMeta,
    /// Counts by verdict.
    pub summary: Summary,
    /// The failing cases grouped by cause, largest first.
    #[serde(default)]
    pub departures: Vec<Departure>,
    /// Per API and ambiguity the run touched: the reading(s) the target implements,
    /// or `inconsistent` with two witnesses.
    #[serde(default)]
    pub readings: Vec<AmbiguityReading>,
    /// The cases in order (a run without `--report` keeps only the failing ones).
    pub cases: Vec<CaseResult>,
    /// Why the run stopped before its last case (interrupted, or an error): the
    /// report covers only the cases judged before it, and does not conform
    /// whatever they show. Absent when the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// What was run, where and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    /// The imds-conform version that ran the cases.
    pub tool_version: String,
    /// The API id, or `all` in a combined report.
    pub api: String,
    /// A short name for the target (`emulator`, `moto`, `aws`…), used by matrices.
    pub target: String,
    /// The endpoint URL the run went to.
    pub endpoint: String,
    /// The region the requests were made in.
    pub region: String,
    /// The instance(s) the cases changed, joined with `,`.
    pub instance: String,
    /// The random phase's seed.
    pub seed: u64,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// How the requests were signed (absent in reports of older builds, and in
    /// combined reports of APIs that sign differently).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningMeta>,
}

/// How a run's requests were signed: what a reproducer needs to sign them again.
/// Names only, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningMeta {
    /// The signing scheme.
    pub scheme: SigningScheme,
    /// The signing name (SigV4's service); empty where the scheme has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The environment variables the credentials are read from.
    pub credentials: EnvNames,
}

impl SigningMeta {
    /// The signing facts of an API's table.
    pub fn of(api: &Api) -> Self {
        SigningMeta {
            scheme: api.signing,
            name: api.signing_name.clone(),
            credentials: api.credentials.clone(),
        }
    }
}

impl RunReport {
    /// A report of these cases: departures grouped from the failing ones, readings
    /// from the cases as kept (see [`RunReport::with_readings`] for a run's own).
    pub fn new(meta: RunMeta, cases: Vec<CaseResult>) -> Self {
        let mut apis: Vec<&str> = cases.iter().map(|c| c.api.as_str()).collect();
        apis.sort_unstable();
        apis.dedup();
        let readings = apis
            .iter()
            .flat_map(|api| ReadingTracker::of_cases(api, &cases))
            .collect();
        // A departure's words name no instance: the same departure reads the same
        // against another instance (or a peer's random ids).
        let mut departures = departures(&cases);
        for d in &mut departures {
            for id in meta.instance.split(',').filter(|i| !i.is_empty()) {
                d.title = d.title.replace(id, "<instance>");
                d.example = d.example.replace(id, "<instance>");
            }
        }
        let mut r = RunReport {
            format: REPORT_FORMAT.to_string(),
            summary: Summary::of(&cases),
            departures,
            readings: Vec::new(),
            meta,
            cases,
            incomplete: None,
        };
        r = r.with_readings(readings);
        r
    }

    /// The same report, of a run that stopped early for `why`.
    #[must_use]
    pub fn stopped_early(mut self, why: impl Into<String>) -> Self {
        self.incomplete = Some(why.into());
        self
    }

    /// The readings the runner folded from every case (kept or not).
    pub fn with_readings(mut self, readings: Vec<AmbiguityReading>) -> Self {
        self.summary.departures = self.departures.len();
        self.summary.inconsistent_readings = readings.iter().filter(|r| !r.is_consistent()).count();
        self.readings = readings;
        self
    }

    /// The run finished, every case conforms and the target implements one reading
    /// of each ambiguity.
    pub fn conforms(&self) -> bool {
        self.incomplete.is_none() && self.summary.conforms()
    }
}

/// Why a report could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file does not exist.
    #[error("{}: no such report file", .path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: not JSON: {source}", .path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: serde_json::Error,
    },
    /// The file is JSON of another (or no) format.
    #[error(
        "{}: not an imds-conform report of this version: `format` is {}, this build reads {expected:?}",
        .path.display(),
        .found.as_deref().map(|f| format!("{f:?}")).unwrap_or_else(|| "missing".to_string())
    )]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// Its `format`, if any.
        found: Option<String>,
        /// The format this build reads.
        expected: &'static str,
    },
    /// The file has the format but not its shape.
    #[error("{}: malformed report: {source}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: serde_json::Error,
    },
    /// The file (or its folder) cannot be written.
    #[error("{}: cannot write: {source}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The text of one of our files (a report, a recording, a baseline); a missing
/// file is its own error.
pub(crate) fn read_text(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| {
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
    })
}

/// Parse `text` as a file of the format `expected` (its `format` field). Errors
/// name `path` and say what is wrong: not JSON, another (or no) `format`, or not
/// the shape of the format.
pub(crate) fn parse_format<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    expected: &'static str,
) -> Result<T, ReportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ReportError::NotJson {
            path: path.to_path_buf(),
            source,
        })?;
    let found = value.get("format");
    if found.and_then(serde_json::Value::as_str) != Some(expected) {
        return Err(ReportError::WrongFormat {
            path: path.to_path_buf(),
            found: found.map(|f| match f {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            expected,
        });
    }
    // Parse the text again (not the value) so the error carries a line and column.
    serde_json::from_str(text).map_err(|source| ReportError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Several runs as one report: all cases in order, the summary over all of them,
/// and meta merged — `api` is the one API or `all` when there are several; other
/// text fields are the common value or the distinct values joined with `,`;
/// `started_at` is the earliest start and `finished_at` the latest finish.
pub fn combine(reports: &[RunReport]) -> RunReport {
    let join = |f: fn(&RunMeta) -> &str| -> String {
        let mut seen: Vec<&str> = Vec::new();
        for r in reports {
            let v = f(&r.meta);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen.join(",")
    };
    let api = {
        let mut apis: Vec<&str> = reports.iter().map(|r| r.meta.api.as_str()).collect();
        apis.dedup();
        if apis.len() == 1 {
            apis[0].to_string()
        } else {
            ALL_APIS.to_string()
        }
    };
    let started_at = extreme(reports.iter().map(|r| r.meta.started_at.as_str()), false);
    let finished_at = extreme(reports.iter().map(|r| r.meta.finished_at.as_str()), true);
    let meta = RunMeta {
        tool_version: join(|m| &m.tool_version),
        api,
        target: join(|m| &m.target),
        endpoint: join(|m| &m.endpoint),
        region: join(|m| &m.region),
        instance: join(|m| &m.instance),
        seed: reports.first().map(|r| r.meta.seed).unwrap_or_default(),
        started_at,
        finished_at,
        signing: common(reports.iter().map(|r| &r.meta.signing)).flatten(),
    };
    let cases = reports
        .iter()
        .flat_map(|r| r.cases.iter().cloned())
        .collect();
    let readings = reports
        .iter()
        .flat_map(|r| r.readings.iter().cloned())
        .collect();
    let mut out = RunReport::new(meta, cases).with_readings(readings);
    let incomplete: Vec<String> = reports
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.meta.api, r.incomplete.as_ref()?)))
        .collect();
    if !incomplete.is_empty() {
        out.incomplete = Some(incomplete.join("; "));
    }
    // Counted from events, a run's summary can exceed its kept cases.
    let mut s = Summary::default();
    for r in reports {
        s.merge(&r.summary);
    }
    if s.total >= out.summary.total {
        s.departures = out.departures.len();
        s.inconsistent_readings = out.summary.inconsistent_readings;
        out.summary = s;
    }
    out
}

/// The one value every item has, or `None` when they differ (or there are none).
fn common<'a, T: PartialEq + Clone + 'a>(mut items: impl Iterator<Item = &'a T>) -> Option<T> {
    let first = items.next()?;
    items.all(|x| x == first).then(|| first.clone())
}

/// The earliest (or latest) RFC 3339 time; when none parses, the first (or last) text.
fn extreme<'a>(times: impl Iterator<Item = &'a str> + Clone, latest: bool) -> String {
    let parsed = times
        .clone()
        .filter_map(|s| chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| (t, s)));
    let pick = if latest {
        parsed.max_by_key(|(t, _)| *t)
    } else {
        parsed.min_by_key(|(t, _)| *t)
    };
    match pick {
        Some((_, s)) => s.to_string(),
        None if latest => times.last().unwrap_or_default().to_string(),
        None => times.into_iter().next().unwrap_or_default().to_string(),
    }
}

/// A copy of `report` with the recorder's redaction applied again (idempotent):
/// every case as [`redact::case`] leaves it, and what the departures and the
/// reason of an incomplete run quote. Non-finite durations become 0 (JSON has no
/// NaN). The summary is recomputed from the cases.
pub fn scrubbed(report: &RunReport) -> RunReport {
    let mut out = report.clone();
    for case in &mut out.cases {
        scrub_case(case);
    }
    // What a departure or the reason of an incomplete run quotes of the target.
    for d in &mut out.departures {
        redact::in_place(&mut d.title);
        redact::in_place(&mut d.got);
        redact::in_place(&mut d.example);
    }
    if let Some(why) = &mut out.incomplete {
        redact::in_place(why);
    }
    // The endpoint as given: a URL's userinfo is a credential.
    redact::in_place(&mut out.meta.endpoint);
    let (departures, inconsistent) = (out.summary.departures, out.summary.inconsistent_readings);
    let counted = out.summary.clone();
    out.summary = Summary::of(&out.cases);
    if counted.total > out.summary.total {
        // Passing cases dropped from a long run are counted, not kept.
        out.summary = counted;
    }
    out.summary.departures = departures;
    out.summary.inconsistent_readings = inconsistent;
    out
}

pub(crate) fn scrub_case(case: &mut CaseResult) {
    redact::case(case);
    if !case.duration_ms.is_finite() {
        case.duration_ms = 0.0;
    }
}
