//! Recordings: the normalized outcomes of one target's coverage phase, per API
//! (`DIR/<api>.json`, format `imds-conform.recording/1`), and comparing another
//! target with them case by case (`imds-conform record` / `verify`).
//!
//! ```json
//! {
//!   "format": "imds-conform.recording/1",
//!   "api": "aws-ec2",
//!   "target": "aws",
//!   "tool_version": "0.1.0",
//!   "cases": [
//!     { "id": "aws-ec2/coverage/0001", "rule": "baseline", "title": "the baseline call",
//!       "request": [{"name": "InstanceId", "value": {"kind": "text", "value": "<instance-id:1>"}}],
//!       "outcome": {"kind": "success", "status": 200, "request_id": "<request-id:1>", "body": {…}} }
//!   ]
//! }
//! ```
//! Each case is normalized on its own (`verdict::normalize::case`, with the API
//! table's `[volatile]` facts), the instance under test being `<instance-id:1>`, so
//! two targets' recordings line up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::diff::unified;
use super::ReportError;
use crate::spec::Spec;
use crate::verdict::normalize::{self, Normalized};
use crate::verdict::redact;
use crate::verdict::CaseResult;
use crate::wire::RawParam;

/// The `format` of recording files; bumped on any incompatible change.
pub const RECORDING_FORMAT: &str = "imds-conform.recording/1";

/// One target's normalized coverage outcomes for one API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Always [`RECORDING_FORMAT`].
    pub format: String,
    /// The API id.
    pub api: String,
    /// The target's name.
    pub target: String,
    /// The imds-conform version that recorded it.
    pub tool_version: String,
    /// The region the cases were sent in (absent in recordings of older builds;
    /// see [`region_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The cases in order.
    pub cases: Vec<RecordedCase>,
}

/// One recorded case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCase {
    /// The case id.
    pub id: String,
    /// The case's rule.
    pub rule: String,
    /// The case title, instance ids normalized.
    pub title: String,
    /// The request as sent, instance ids normalized.
    pub request: Vec<RawParam>,
    /// The normalized outcome.
    pub outcome: Normalized,
}

impl Recording {
    /// A recording of the cases of `spec`'s API run against `instance`,
    /// normalized as the table's `[volatile]` facts say.
    pub fn from_cases(spec: &Spec, target: &str, instance: &str, cases: &[CaseResult]) -> Self {
        let api = spec.api.id.as_str();
        let rules = &spec.volatile;
        Recording {
            format: RECORDING_FORMAT.into(),
            api: api.into(),
            target: target.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            region: None,
            cases: cases
                .iter()
                .filter(|c| c.api == api)
                .map(|c| {
                    let (mut request, mut outcome) =
                        normalize::case(rules, instance, &c.request, &c.actual);
                    redact::params(&mut request);
                    redact::normalized(&mut outcome);
                    RecordedCase {
                        id: c.id.clone(),
                        rule: c.rule.clone(),
                        title: normalize::title(rules, instance, &c.title),
                        request,
                        outcome,
                    }
                })
                .collect(),
        }
    }
}

impl Recording {
    /// The same recording, saying the region its cases were sent in.
    pub fn in_region(self, region: &str) -> Self {
        Recording {
            region: Some(region.to_string()),
            ..self
        }
    }
}

/// The region `r` was recorded in: its `region`, else (a recording of an older
/// build) the value its requests give most often the parameter that names the
/// region in `spec`'s API (Alibaba's `RegionId`: every valid call carries it);
/// `None` when neither tells.
pub fn region_of(r: &Recording, spec: &Spec) -> Option<String> {
    if r.region.is_some() {
        return r.region.clone();
    }
    let name = &spec.param_with_role(crate::spec::Role::Region)?.name;
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in r.cases.iter().flat_map(|c| &c.request) {
        if &p.name == name {
            *counts.entry(p.value.as_query_text()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v.to_string())
}

/// A recording verified in another region than its own: each request that names
/// the region differs, and the cases of a region's values are another region's,
/// so every case would read as a difference. `Some(why)` when `region` (the one
/// verified in) is not `r`'s and `spec`'s API names the region in its requests.
pub fn other_region(r: &Recording, spec: &Spec, region: &str) -> Option<String> {
    spec.param_with_role(crate::spec::Role::Region)?;
    let recorded = region_of(r, spec)?;
    (recorded != region).then(|| {
        format!(
            "the recording of {} was made in region {recorded}, this target is verified in \
             {region}: {}'s requests name the region, so none would be the recorded one; \
             verify with --region {recorded}",
            r.api, r.api
        )
    })
}

/// The recording as pretty JSON with a final newline.
pub fn to_json(r: &Recording) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("a recording serializes");
    s.push('\n');
    s
}

/// Write `DIR/<api>.json`; returns the path.
pub fn write(dir: &Path, r: &Recording) -> Result<PathBuf, ReportError> {
    let path = dir.join(format!("{}.json", super::repro::file_stem(&r.api)));
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    super::write::write_whole(&path, &to_json(r)).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Why a recording cannot be read (or a folder of them used).
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file or folder cannot be read.
    #[error("{}: cannot read the recording: {source}", .path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON (truncated, say).
    #[error("{}: cannot read the recording: not JSON: {source}", .path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// Where (line and column) and why.
        source: serde_json::Error,
    },
    /// JSON that is not a recording (another tool's file, a report…).
    #[error(
        "{}: not a recording: `format` is {}, a recording's is {RECORDING_FORMAT:?}",
        .path.display(),
        .found.as_deref().map(|f| format!("{f:?}")).unwrap_or_else(|| "missing".to_string())
    )]
    NotARecording {
        /// The file.
        path: PathBuf,
        /// Its `format`, if any.
        found: Option<String>,
    },
    /// A recording of a format this version does not read.
    #[error(
        "{}: a recording of an unknown format {found:?}: this version reads {RECORDING_FORMAT:?}; record it again with this version",
        .path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its `format`.
        found: String,
    },
    /// The format is right but not the shape.
    #[error("{}: malformed recording: {source}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where (line and column) and why.
        source: serde_json::Error,
    },
    /// A case id recorded more than once: which one would be compared is anyone's
    /// guess.
    #[error(
        "{}: case {id} is recorded more than once; a recording holds each case once (record it again)",
        .path.display()
    )]
    DuplicateCase {
        /// The file.
        path: PathBuf,
        /// The case id.
        id: String,
    },
    /// A case of another API than the recording's `api`.
    #[error(
        "{}: `api` is {api:?} but it holds case {case}, not one of {api}'s (ids `{api}/…`): a recording holds the cases of its own API",
        .path.display()
    )]
    ForeignCase {
        /// The file.
        path: PathBuf,
        /// The recording's `api`.
        api: String,
        /// The first case id of another API.
        case: String,
    },
    /// A file of a folder of recordings named for another API than its `api`.
    #[error(
        "{}: `api` is {api:?} but the file is named for another API; `record` writes each API's recording to <api>.json ({expected})",
        .path.display()
    )]
    Misnamed {
        /// The file.
        path: PathBuf,
        /// The recording's `api`.
        api: String,
        /// The name it should have.
        expected: String,
    },
}

/// The `format` prefix of every version of recording files.
const RECORDING_FAMILY: &str = "imds-conform.recording/";

/// Read one recording file. Each case must be one of its API's (an id
/// `<api>/…`) and recorded once.
/// What it holds is redacted again: a recording made by an older version may quote
/// a target's secrets (and would differ from a fresh one only there).
pub fn read(path: &Path) -> Result<Recording, RecordingError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordingError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| RecordingError::NotJson {
            path: path.to_path_buf(),
            source,
        })?;
    match value.get("format") {
        Some(serde_json::Value::String(f)) if f == RECORDING_FORMAT => {}
        Some(serde_json::Value::String(f)) if f.starts_with(RECORDING_FAMILY) => {
            return Err(RecordingError::UnknownFormat {
                path: path.to_path_buf(),
                found: f.clone(),
            })
        }
        found => {
            return Err(RecordingError::NotARecording {
                path: path.to_path_buf(),
                found: found.map(|f| match f {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
            })
        }
    }
    // Parse the text again (not the value) so the error carries a line and column.
    let mut r: Recording =
        serde_json::from_str(&text).map_err(|source| RecordingError::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
    let prefix = format!("{}/", r.api);
    if let Some(c) = r.cases.iter().find(|c| !c.id.starts_with(&prefix)) {
        return Err(RecordingError::ForeignCase {
            path: path.to_path_buf(),
            api: r.api.clone(),
            case: c.id.clone(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(c) = r.cases.iter().find(|c| !seen.insert(c.id.as_str())) {
        return Err(RecordingError::DuplicateCase {
            path: path.to_path_buf(),
            id: c.id.clone(),
        });
    }
    for c in &mut r.cases {
        redact::params(&mut c.request);
        redact::normalized(&mut c.outcome);
    }
    Ok(r)
}

/// The recordings of a folder, and the JSON files in it that are not recordings.
#[derive(Debug, Default)]
pub struct Folder {
    /// The recordings, sorted by API.
    pub recordings: Vec<Recording>,
    /// Why each other `*.json` file was passed over (not a recording).
    pub skipped: Vec<String>,
}

/// Every recording in `dir` (`*.json` with the recording format), sorted by API.
pub fn read_dir(dir: &Path) -> Result<Vec<Recording>, RecordingError> {
    read_folder(dir).map(|f| f.recordings)
}

/// Every recording in `dir`, and the other JSON files passed over. A file of a
/// recording format this version does not read is an error, not passed over, and
/// so is a recording not named for its API (`<api>.json`, as `record` writes it).
pub fn read_folder(dir: &Path) -> Result<Folder, RecordingError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RecordingError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut out = Folder::default();
    for p in paths {
        match read(&p) {
            Ok(r) => {
                let expected = format!("{}.json", super::repro::file_stem(&r.api));
                if p.file_name().is_none_or(|n| *n != *expected) {
                    return Err(RecordingError::Misnamed {
                        path: p,
                        api: r.api,
                        expected,
                    });
                }
                out.recordings.push(r);
            }
            // Other JSON files in the folder are not ours.
            Err(e @ RecordingError::NotARecording { .. }) => out.skipped.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    out.recordings.sort_by(|a, b| a.api.cmp(&b.api));
    Ok(out)
}

/// One case whose normalized outcome differs between two recordings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The case id.
    pub id: String,
    /// The case's rule.
    pub rule: String,
    /// The case's title, instance ids normalized.
    pub title: String,
    /// The request as sent, instance ids normalized.
    pub request: Vec<RawParam>,
    /// The recorded (reference) outcome; `None` when the reference has no such case.
    pub expected: Option<Normalized>,
    /// The compared target's outcome; `None` when it has no such case.
    pub actual: Option<Normalized>,
    /// The request sent now, when it is not the recorded one (`request`): the
    /// recording was made by another version of the generator (or with another
    /// `--region`), so the two outcomes answer different requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Vec<RawParam>>,
}

/// What a divergence whose request differs says.
pub const REQUEST_DIFFERS: &str =
    "the recorded request differs from the one this version sends: regenerate the recording \
     (or, for one made in another region or on another instance, verify with its --region and \
     --instance)";

impl Divergence {
    /// A stable fingerprint of the pair of outcomes (for baselines), and of the
    /// pair of requests when they differ.
    pub fn fingerprint(&self) -> String {
        match &self.sent {
            None => normalize::fingerprint(&(&self.expected, &self.actual)),
            Some(sent) => {
                normalize::fingerprint(&(&self.expected, &self.actual, &self.request, sent))
            }
        }
    }

    /// Is the request sent now not the recorded one?
    pub fn request_differs(&self) -> bool {
        self.sent.is_some()
    }

    /// A readable diff of the two requests, one parameter a line, `-` the
    /// recording, `+` this version; `None` when they are the same.
    pub fn request_diff(&self, expected_name: &str, actual_name: &str) -> Option<String> {
        let show = |ps: &[RawParam]| {
            ps.iter()
                .map(|p| super::text::param(p) + "\n")
                .collect::<String>()
        };
        self.sent.as_ref().map(|sent| {
            unified(
                &show(&self.request),
                &show(sent),
                expected_name,
                actual_name,
            )
        })
    }

    /// A readable diff of the two outcomes, `-` the recording, `+` the target.
    pub fn diff(&self, expected_name: &str, actual_name: &str) -> String {
        let show = |o: &Option<Normalized>| match o {
            Some(o) => serde_json::to_string_pretty(o).unwrap_or_default(),
            None => "(no such case)".to_string(),
        };
        unified(
            &show(&self.expected),
            &show(&self.actual),
            expected_name,
            actual_name,
        )
    }

    /// One line: `status code` of each side.
    pub fn short(&self) -> String {
        let one = |o: &Option<Normalized>| match o {
            Some(Normalized::Success { status, .. }) => format!("success ({status})"),
            Some(Normalized::Error { status, code, .. }) => format!("{code} ({status})"),
            Some(Normalized::Undecodable { status, .. }) => format!("undecodable ({status})"),
            Some(Normalized::Unjudgeable { .. }) => "unjudgeable".to_string(),
            None => "no such case".to_string(),
        };
        let outcomes = format!("{} vs {}", one(&self.expected), one(&self.actual));
        match &self.sent {
            None => outcomes,
            Some(_) if self.expected == self.actual => REQUEST_DIFFERS.to_string(),
            Some(_) => format!("{REQUEST_DIFFERS} (and the answers differ: {outcomes})"),
        }
    }
}

/// Compare `actual` with the reference recording `expected`, case by case (cases
/// are matched by id; a case whose title differs counts as missing from both). A
/// case whose request is not the recorded one differs whatever its outcome.
pub fn compare(expected: &Recording, actual: &Recording) -> Vec<Divergence> {
    let mut out = Vec::new();
    for e in &expected.cases {
        let a = actual
            .cases
            .iter()
            .find(|a| a.id == e.id && a.title == e.title);
        match a {
            Some(a) if a.outcome == e.outcome && a.request == e.request => {}
            _ => out.push(Divergence {
                id: e.id.clone(),
                rule: e.rule.clone(),
                title: e.title.clone(),
                request: e.request.clone(),
                expected: Some(e.outcome.clone()),
                actual: a.map(|a| a.outcome.clone()),
                sent: a
                    .filter(|a| a.request != e.request)
                    .map(|a| a.request.clone()),
            }),
        }
    }
    for a in &actual.cases {
        if !expected
            .cases
            .iter()
            .any(|e| e.id == a.id && e.title == a.title)
        {
            out.push(Divergence {
                id: a.id.clone(),
                rule: a.rule.clone(),
                title: a.title.clone(),
                request: a.request.clone(),
                expected: None,
                actual: Some(a.outcome.clone()),
                sent: None,
            });
        }
    }
    out
}
