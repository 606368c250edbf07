//! Baselines: the known differences of one target, committed
//! (`baselines/<target>.json`, format `imds-conform.baseline/1`), so CI fails only
//! on a change — a new difference, or a known one that went away.
//!
//! Two kinds of entry, by where they come from:
//! * `divergence` — `imds-conform verify --against DIR`: a case whose normalized
//!   outcome differs from the recording; the fingerprint is of both outcomes;
//! * `departure` — `imds-conform verify --report report.json`: a departure of the
//!   run (failing cases grouped by cause) or an inconsistent reading; the
//!   fingerprint is of the departure's grouping key (rule, kind, normalized
//!   expectation and answer, field), so the count of cases may change and nothing
//!   fails, while a new cause or one that went away does;
//! * `failure` — the same for a report without departures (written by an older
//!   version): a case the suite judged `fail`/`error`; the fingerprint is of its
//!   rule, title and normalized actual outcome.
//!
//! An entry matches when its `case` and `fingerprint` are equal; `summary` is for
//! the reader only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::recording::Divergence;
use super::{text, ReportError, RunReport};
use crate::spec::{Spec, Volatile};
use crate::verdict::readings::Witness;
use crate::verdict::{normalize, CaseResult};

/// The `format` of baseline files; bumped on any incompatible change.
pub const BASELINE_FORMAT: &str = "imds-conform.baseline/1";

/// The known differences of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`BASELINE_FORMAT`].
    pub format: String,
    /// The target's name.
    pub target: String,
    /// `divergence` or `failure`.
    pub kind: String,
    /// The entries, sorted by case id.
    pub entries: Vec<Entry>,
}

/// One known difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The case id.
    pub case: String,
    /// The case's rule.
    pub rule: String,
    /// The case's title, instance ids normalized.
    pub title: String,
    /// A fingerprint of what differs (see the module docs).
    pub fingerprint: String,
    /// What differs, in words (not compared).
    pub summary: String,
}

impl Baseline {
    /// A baseline of `entries` for `target`; `kind` is `divergence` or `failure`.
    pub fn new(target: &str, kind: &str, mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.case.cmp(&b.case));
        Baseline {
            format: BASELINE_FORMAT.into(),
            target: target.into(),
            kind: kind.into(),
            entries,
        }
    }
}

/// Entries for divergences found by `verify --against`.
pub fn from_divergences(divergences: &[Divergence]) -> Vec<Entry> {
    divergences
        .iter()
        .map(|d| Entry {
            case: d.id.clone(),
            rule: d.rule.clone(),
            title: d.title.clone(),
            fingerprint: d.fingerprint(),
            summary: d.short(),
        })
        .collect()
}

/// Entries for every failing (`fail`/`error`) case of a report, each normalized
/// against the report's first instance with its API's `[volatile]` facts (from
/// `specs`; a case of an API without a table gets only the shape-based rules).
pub fn from_failures(report: &RunReport, specs: &[Spec]) -> Vec<Entry> {
    let instance = report.meta.instance.split(',').next().unwrap_or("");
    let none = Volatile::default();
    let rules_of = |c: &CaseResult| volatile_of(specs, report, c).unwrap_or(&none);
    report
        .cases
        .iter()
        .filter(|c| text::is_failure(&c.verdict))
        .map(|c| {
            let rules = rules_of(c);
            let (_, actual) = normalize::case(rules, instance, &c.request, &c.actual);
            let title = normalize::title(rules, instance, &c.title);
            let reason = normalize::title(rules, instance, text::reason(&c.verdict).unwrap_or(""));
            Entry {
                case: c.id.clone(),
                rule: c.rule.clone(),
                fingerprint: normalize::fingerprint(&(&c.rule, &title, &actual)),
                title,
                summary: text::cut(
                    &text::one_line(&format!("{}: {reason}", c.verdict.name())),
                    300,
                ),
            }
        })
        .collect()
}

/// The `[volatile]` facts of a case's API (the report's API for a case that
/// names none), when `specs` holds its table.
fn volatile_of<'a>(specs: &'a [Spec], report: &RunReport, c: &CaseResult) -> Option<&'a Volatile> {
    let api = if c.api.is_empty() {
        &report.meta.api
    } else {
        &c.api
    };
    specs.iter().find(|s| &s.api.id == api).map(|s| &s.volatile)
}

/// Entries for the departures and inconsistent readings of a report, and for its
/// errors (normalized as in [`from_failures`]).
pub fn from_departures(report: &RunReport, specs: &[Spec]) -> Vec<Entry> {
    let mut out: Vec<Entry> = report
        .departures
        .iter()
        .map(|d| {
            let head = d.title.split(" — ").next().unwrap_or(&d.title);
            Entry {
                case: format!("{}: {}", d.api, d.rule),
                rule: d.rule.clone(),
                title: text::one_line(head),
                fingerprint: d.fingerprint.clone(),
                summary: text::cut(
                    &text::one_line(&format!("{} case(s), reproducer {}", d.count, d.reproducer)),
                    300,
                ),
            }
        })
        .collect();
    // Errors are the suite's own trouble (unreachable, timed out): each is listed,
    // so a new one fails the check.
    let instance = report.meta.instance.split(',').next().unwrap_or("");
    let none = Volatile::default();
    for c in report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, crate::verdict::Verdict::Error { .. }))
    {
        let rules = volatile_of(specs, report, c).unwrap_or(&none);
        let title = normalize::title(rules, instance, &c.title);
        out.push(Entry {
            case: c.id.clone(),
            rule: c.rule.clone(),
            fingerprint: normalize::fingerprint(&("error", &c.rule, &title)),
            title,
            summary: text::cut(
                &text::one_line(&normalize::title(
                    rules,
                    instance,
                    text::reason(&c.verdict).unwrap_or(""),
                )),
                300,
            ),
        });
    }
    for r in report.readings.iter().filter(|r| !r.is_consistent()) {
        out.push(Entry {
            case: format!("{}: readings", r.api),
            rule: r.ambiguity.clone(),
            title: format!("inconsistent reading of {}", r.ambiguity),
            fingerprint: crate::verdict::departure::fingerprint(&format!(
                "{}|inconsistent|{}",
                r.api, r.ambiguity
            )),
            summary: r
                .witnesses
                .iter()
                .map(Witness::short)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    out
}

/// How the current entries differ from the baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// In the current run, not in the baseline.
    pub new: Vec<Entry>,
    /// In the baseline, not in the current run.
    pub gone: Vec<Entry>,
    /// In both.
    pub known: usize,
}

impl Check {
    /// Are the differences exactly the known ones?
    pub fn unchanged(&self) -> bool {
        self.new.is_empty() && self.gone.is_empty()
    }
}

/// Compare the current entries with the baseline (by case and fingerprint).
pub fn check(baseline: &Baseline, current: &[Entry]) -> Check {
    let same = |a: &Entry, b: &Entry| a.case == b.case && a.fingerprint == b.fingerprint;
    let mut out = Check::default();
    for c in current {
        if baseline.entries.iter().any(|b| same(b, c)) {
            out.known += 1;
        } else {
            out.new.push(c.clone());
        }
    }
    for b in &baseline.entries {
        if !current.iter().any(|c| same(b, c)) {
            out.gone.push(b.clone());
        }
    }
    out
}

/// The baseline as pretty JSON with a final newline.
pub fn to_json(b: &Baseline) -> String {
    let mut s = serde_json::to_string_pretty(b).expect("a baseline serializes");
    s.push('\n');
    s
}

/// Write the baseline to `path` (its folder created if needed).
pub fn write(path: &Path, b: &Baseline) -> Result<(), ReportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    super::write::write_whole(path, &to_json(b)).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Read a baseline file (errors name the file and what is wrong).
pub fn read(path: &Path) -> Result<Baseline, ReportError> {
    super::parse_format(path, &super::read_text(path)?, BASELINE_FORMAT)
}

/// The check in words: new and gone entries, one per line.
pub fn describe(check: &Check) -> String {
    let mut out = String::new();
    for e in &check.new {
        out.push_str(&format!(
            "NEW   {}  {}  [{}]  {}\n",
            e.case, e.title, e.rule, e.summary
        ));
    }
    for e in &check.gone {
        out.push_str(&format!(
            "GONE  {}  {}  [{}]  {} (no longer seen: update the baseline)\n",
            e.case, e.title, e.rule, e.summary
        ));
    }
    // `known` counts the baseline's entries seen again: with the gone ones, all
    // of it ("0 known" of a baseline of 16 read as an empty baseline).
    out.push_str(&format!(
        "baseline: {} of its {} known still seen, {} new, {} gone\n",
        check.known,
        check.known + check.gone.len(),
        check.new.len(),
        check.gone.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::{check, describe, Baseline, Entry};

    fn entry(case: &str) -> Entry {
        Entry {
            case: case.into(),
            rule: "r".into(),
            title: "t".into(),
            fingerprint: "f".into(),
            summary: "s".into(),
        }
    }

    /// Every known difference gone: the summary says how many the baseline
    /// knew, not "0 known".
    #[test]
    fn the_summary_says_how_many_the_baseline_knows() {
        let known = Baseline::new("t", "divergence", vec![entry("a"), entry("b")]);
        let text = describe(&check(&known, &[]));
        assert!(
            text.ends_with("baseline: 0 of its 2 known still seen, 0 new, 2 gone\n"),
            "{text}"
        );
        let text = describe(&check(&known, &[entry("a"), entry("c")]));
        assert!(
            text.ends_with("baseline: 1 of its 2 known still seen, 1 new, 1 gone\n"),
            "{text}"
        );
    }
}
