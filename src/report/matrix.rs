//! The conformance matrix: several runs side by side, for a person to read.
//!
//! Per target (a report's `meta.target`, e.g. `moto 5.2.5`, `emulator`): its name,
//! its version where the name carries one, and per API a score (cases passed /
//! run, departures found); its **departures** (title, rule, count, a link to the
//! reproducer); the **readings** it implements of each ambiguity
//! (ambiguity × target: the reading, `a | b` while no case told them apart,
//! `inconsistent` with its witnesses, or `—`); and the **rules grid**, rules down
//! and targets across, each cell `pass`, `fail (n)` (linked to the first failing
//! case's reproducer) or `—`. Rendered as Markdown ([`to_markdown`]) and as one
//! self-contained HTML page with an inline SVG bar chart of departures per target
//! and API ([`to_html`]: inline CSS, no script, no external resource).
//!
//! Targets, APIs and rules are in order of first appearance. Several reports of one
//! target (one per API, say, or a run's top-level report and its per-API copies)
//! fill the same column: a case id counts once, a departure (by fingerprint) once,
//! and the readings of one ambiguity are intersected.

mod chart;
mod html;

use std::collections::BTreeSet;

use super::repro::{file_stem, unique_names};
use super::text::markdown as md;
use super::{text, RunReport};
use crate::verdict::readings::Witness;
use crate::verdict::AmbiguityReading;

pub use html::to_html;

/// One report and where its reproducers are, as seen from the matrix page.
#[derive(Debug, Clone)]
pub struct MatrixInput {
    pub report: RunReport,
    /// `(api, link to the folder holding <stem>.sh)`, e.g. `("aws-ec2",
    /// "../moto-report/aws-ec2/repro")`. An API without an entry gets no links.
    pub repro_dirs: Vec<(String, String)>,
}

/// One column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The reports' `meta.target`, as given: the column's key.
    pub label: String,
    /// The label without its version (`moto`).
    pub name: String,
    /// The version the label ends with (`5.2.5`), if any.
    pub version: Option<String>,
    /// Per API of [`Matrix::apis`], in that order; `None` where no case of it ran.
    pub scores: Vec<Option<Score>>,
    /// Its departures, per API and largest first, as the reports list them.
    pub departures: Vec<DepartureLine>,
}

/// How a target did on one API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Cases that passed (outright or under a reading).
    pub passed: usize,
    pub total: usize,
    /// Distinct departures found.
    pub departures: usize,
    /// Ambiguities whose readings the target's answers contradict.
    pub inconsistent: usize,
    /// The run stopped early (interrupted, or an error): the cases are those
    /// judged before it.
    pub incomplete: bool,
}

impl Score {
    /// The run finished, every case passed, nothing departs, every reading is
    /// consistent.
    pub fn clean(&self) -> bool {
        !self.incomplete
            && self.passed == self.total
            && self.departures == 0
            && self.inconsistent == 0
    }
}

/// A departure as the matrix shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartureLine {
    /// `aws-ec2/D01`.
    pub id: String,
    pub api: String,
    pub title: String,
    pub rule: String,
    /// The rule's citations.
    pub cite: Vec<String>,
    /// How many cases show it.
    pub count: usize,
    /// Its reproducer: the smallest case that shows it alone (failing that, the
    /// smallest that shows it).
    pub reproducer: String,
    /// Link to its reproducer script, relative to the page.
    pub repro: Option<String>,
}

/// One target's reading of one ambiguity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadingCell {
    /// No case of this target touched the ambiguity.
    None,
    /// The target implements one of these (several: no case told them apart).
    Consistent { readings: Vec<String> },
    /// Its answers need two readings; the witnesses, in words.
    Inconsistent { witnesses: Vec<String> },
}

/// One row of the Readings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingRow {
    pub api: String,
    pub ambiguity: String,
    /// One per target.
    pub cells: Vec<ReadingCell>,
}

/// One cell of the rules grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// The target ran no case of this rule.
    None,
    /// Every case passed (outright or under a reading: which reading the target
    /// implements is the Readings table's business, not the rule's).
    Pass { cases: usize },
    Fail {
        cases: usize,
        failing: usize,
        /// The first failing case.
        first: String,
        /// Link to its reproducer script.
        repro: Option<String>,
    },
}

/// One row of the rules grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub api: String,
    pub rule: String,
    /// One per target.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// The tool version(s) the reports were made with, distinct ones joined by `, `.
    pub tool_version: String,
    /// The date (`YYYY-MM-DD`) the latest run finished, or empty.
    pub date: String,
    pub apis: Vec<String>,
    pub targets: Vec<Target>,
    pub readings: Vec<ReadingRow>,
    pub rows: Vec<Row>,
}

/// `("moto", Some("5.2.5"))` from `moto 5.2.5`: the last word is a version when
/// it starts with a digit (or `v` and a digit) and holds only version characters.
pub fn split_version(label: &str) -> (String, Option<String>) {
    let label = text::one_line(label);
    if let Some((name, last)) = label.rsplit_once(' ') {
        let digits = last.strip_prefix('v').unwrap_or(last);
        let versionish = digits.starts_with(|c: char| c.is_ascii_digit())
            && last
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
        if versionish && !name.trim().is_empty() {
            return (name.trim().to_string(), Some(last.to_string()));
        }
    }
    (label, None)
}

/// Items in order of first appearance.
fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) -> usize {
    match list.iter().position(|x| *x == item) {
        Some(i) => i,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

/// One case as the grid keeps it.
struct Seen {
    passed: bool,
    id: String,
    repro: Option<String>,
}

/// Everything gathered per target while reading the inputs.
#[derive(Default)]
struct Column {
    ids: BTreeSet<String>,
    /// `(api, fingerprint)` of departures already listed.
    departure_keys: BTreeSet<(String, String)>,
    departures: Vec<DepartureLine>,
    /// `(api, ambiguity)` → cell, in order of first appearance.
    readings: Vec<((String, String), ReadingCell)>,
    /// The APIs of its reports that stopped early.
    incomplete: BTreeSet<String>,
}

/// The layout being built: row keys and per row, per target, the cases.
#[derive(Default)]
struct Builder {
    labels: Vec<String>,
    apis: Vec<String>,
    rules: Vec<(String, String)>,
    grid: Vec<Vec<Vec<Seen>>>,
    columns: Vec<Column>,
    ambiguities: Vec<(String, String)>,
}

/// Build the matrix from reports.
pub fn build(inputs: &[MatrixInput]) -> Matrix {
    let mut b = Builder::default();
    for i in inputs {
        push_new(&mut b.labels, i.report.meta.target.clone());
    }
    b.columns = b.labels.iter().map(|_| Column::default()).collect();
    for i in inputs {
        let t = push_new(&mut b.labels, i.report.meta.target.clone());
        let links = repro_links(i);
        b.add_cases(t, i, &links);
        b.add_departures(t, i, &links);
        b.add_readings(t, &i.report);
        if i.report.incomplete.is_some() {
            let incomplete = &mut b.columns[t].incomplete;
            incomplete.extend(i.report.cases.iter().map(|c| c.api.clone()));
            // A run that stopped before its first case still has its API's
            // column (a combined report's `all` is none).
            let api = &i.report.meta.api;
            if api != super::ALL_APIS {
                incomplete.insert(api.clone());
                push_new(&mut b.apis, api.clone());
            }
        }
    }
    b.finish(inputs)
}

impl Builder {
    /// Each case, once per target, into its rule's row.
    fn add_cases(&mut self, t: usize, input: &MatrixInput, links: &[Option<String>]) {
        for (c, repro) in input.report.cases.iter().zip(links) {
            push_new(&mut self.apis, c.api.clone());
            if !self.columns[t].ids.insert(c.id.clone()) {
                continue;
            }
            let r = push_new(&mut self.rules, (c.api.clone(), c.rule.clone()));
            if r == self.grid.len() {
                self.grid
                    .push((0..self.labels.len()).map(|_| Vec::new()).collect());
            }
            self.grid[r][t].push(Seen {
                passed: !text::is_failure(&c.verdict),
                id: c.id.clone(),
                repro: repro.clone(),
            });
        }
    }

    fn add_departures(&mut self, t: usize, input: &MatrixInput, links: &[Option<String>]) {
        for d in &input.report.departures {
            push_new(&mut self.apis, d.api.clone());
            let key = (d.api.clone(), d.fingerprint.clone());
            if !self.columns[t].departure_keys.insert(key) {
                continue;
            }
            let repro = input
                .report
                .cases
                .iter()
                .zip(links)
                .find(|(c, _)| c.api == d.api && c.id == d.reproducer)
                .and_then(|(_, link)| link.clone());
            self.columns[t].departures.push(DepartureLine {
                id: d.id.clone(),
                api: d.api.clone(),
                title: d.title.clone(),
                rule: d.rule.clone(),
                cite: d.cite.clone(),
                count: d.count,
                reproducer: d.reproducer.clone(),
                repro,
            });
        }
    }

    fn add_readings(&mut self, t: usize, report: &RunReport) {
        for a in &report.readings {
            push_new(&mut self.apis, a.api.clone());
            let key = (a.api.clone(), a.ambiguity.clone());
            push_new(&mut self.ambiguities, key.clone());
            let cells = &mut self.columns[t].readings;
            match cells.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cell)) => *cell = merge_reading(cell, a),
                None => cells.push((key, reading_cell(a))),
            }
        }
    }

    fn finish(self, inputs: &[MatrixInput]) -> Matrix {
        let Builder {
            labels,
            apis,
            rules,
            grid,
            columns,
            ambiguities,
        } = self;
        let rows: Vec<Row> = rules
            .into_iter()
            .zip(grid)
            .map(|((api, rule), per_target)| Row {
                api,
                rule,
                cells: per_target.into_iter().map(cell_of).collect(),
            })
            .collect();
        let readings = ambiguities
            .into_iter()
            .map(|(api, ambiguity)| ReadingRow {
                cells: columns
                    .iter()
                    .map(|c| {
                        c.readings
                            .iter()
                            .find(|(k, _)| k.0 == api && k.1 == ambiguity)
                            .map(|(_, cell)| cell.clone())
                            .unwrap_or(ReadingCell::None)
                    })
                    .collect(),
                api,
                ambiguity,
            })
            .collect::<Vec<_>>();
        let targets = labels
            .into_iter()
            .zip(columns)
            .enumerate()
            .map(|(t, (label, column))| target(t, label, column, &apis, &rows))
            .collect();
        Matrix {
            tool_version: distinct(inputs.iter().map(|i| i.report.meta.tool_version.as_str())),
            date: latest_date(inputs),
            apis,
            targets,
            readings,
            rows,
        }
    }
}

/// The reproducer link of each case of the report, in order: stems as
/// `write_all` gives them (per API, one report per API), under the API's folder.
fn repro_links(input: &MatrixInput) -> Vec<Option<String>> {
    let cases = &input.report.cases;
    let mut links = vec![None; cases.len()];
    for (api, dir) in &input.repro_dirs {
        let of_api: Vec<usize> = (0..cases.len()).filter(|i| cases[*i].api == *api).collect();
        let stems = unique_names(of_api.iter().map(|i| file_stem(&cases[*i].id)));
        let dir = dir.trim_end_matches('/');
        for (i, stem) in of_api.into_iter().zip(stems) {
            links[i] = Some(format!("{dir}/{stem}.sh"));
        }
    }
    links
}

fn cell_of(seen: Vec<Seen>) -> Cell {
    if seen.is_empty() {
        return Cell::None;
    }
    let failing: Vec<&Seen> = seen.iter().filter(|s| !s.passed).collect();
    match failing.first() {
        Some(first) => Cell::Fail {
            cases: seen.len(),
            failing: failing.len(),
            first: first.id.clone(),
            repro: first.repro.clone(),
        },
        None => Cell::Pass { cases: seen.len() },
    }
}

/// A target's header: name, version, and per API its score from the grid.
fn target(t: usize, label: String, column: Column, apis: &[String], rows: &[Row]) -> Target {
    let scores = apis
        .iter()
        .map(|api| {
            let mut s = Score::default();
            for r in rows.iter().filter(|r| r.api == *api) {
                match &r.cells[t] {
                    Cell::None => {}
                    Cell::Pass { cases } => {
                        s.passed += cases;
                        s.total += cases;
                    }
                    Cell::Fail { cases, failing, .. } => {
                        s.passed += cases - failing;
                        s.total += cases;
                    }
                }
            }
            s.departures = column.departures.iter().filter(|d| d.api == *api).count();
            s.inconsistent = column
                .readings
                .iter()
                .filter(|((a, _), c)| a == api && matches!(c, ReadingCell::Inconsistent { .. }))
                .count();
            s.incomplete = column.incomplete.contains(api);
            (s.total > 0 || s.departures > 0 || s.incomplete).then_some(s)
        })
        .collect();
    let (name, version) = split_version(&label);
    Target {
        label,
        name,
        version,
        scores,
        departures: column.departures,
    }
}

fn reading_cell(a: &AmbiguityReading) -> ReadingCell {
    if a.is_consistent() {
        ReadingCell::Consistent {
            readings: a.readings.clone(),
        }
    } else {
        ReadingCell::Inconsistent {
            witnesses: a.witnesses.iter().map(Witness::long).collect(),
        }
    }
}

/// Two runs of one target: an inconsistency stays; consistent readings intersect,
/// and two runs that allow no common reading are inconsistent with each other.
fn merge_reading(cell: &ReadingCell, a: &AmbiguityReading) -> ReadingCell {
    let next = reading_cell(a);
    match (cell, next) {
        (ReadingCell::Inconsistent { .. }, _) => cell.clone(),
        (ReadingCell::None, next) => next,
        (ReadingCell::Consistent { .. }, next @ ReadingCell::Inconsistent { .. }) => next,
        // No reading named: any reading, which constrains nothing.
        (ReadingCell::Consistent { readings: had }, next) if had.is_empty() => next,
        (ReadingCell::Consistent { .. }, ReadingCell::Consistent { readings: new })
            if new.is_empty() =>
        {
            cell.clone()
        }
        (ReadingCell::Consistent { readings: had }, ReadingCell::Consistent { readings: new }) => {
            let both: Vec<String> = had.iter().filter(|r| new.contains(r)).cloned().collect();
            if both.is_empty() {
                ReadingCell::Inconsistent {
                    witnesses: vec![
                        format!("one run reads {}", had.join(" | ")),
                        format!("another run reads {}", new.join(" | ")),
                    ],
                }
            } else {
                ReadingCell::Consistent { readings: both }
            }
        }
        (ReadingCell::Consistent { .. }, ReadingCell::None) => cell.clone(),
    }
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for i in items {
        push_new(&mut seen, i);
    }
    seen.join(", ")
}

/// The date of the latest `finished_at` that parses as RFC 3339.
fn latest_date(inputs: &[MatrixInput]) -> String {
    inputs
        .iter()
        .filter_map(|i| chrono::DateTime::parse_from_rfc3339(&i.report.meta.finished_at).ok())
        .max()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl Cell {
    /// The cell's class: `none`, `pass`, `fail`.
    pub fn class(&self) -> &'static str {
        match self {
            Cell::None => "none",
            Cell::Pass { .. } => "pass",
            Cell::Fail { .. } => "fail",
        }
    }

    /// The cell's text: `pass`, `fail (2)`, `—`.
    pub fn label(&self) -> String {
        match self {
            Cell::None => "—".into(),
            Cell::Pass { .. } => "pass".into(),
            Cell::Fail { failing, .. } => format!("fail ({failing})"),
        }
    }

    /// Longer text for a tooltip.
    pub fn detail(&self) -> String {
        match self {
            Cell::None => "no case of this rule ran".into(),
            Cell::Pass { cases } => format!("{cases} case(s), all pass"),
            Cell::Fail {
                cases,
                failing,
                first,
                ..
            } => format!("{failing} of {cases} case(s) fail; first: {first}"),
        }
    }
}

impl ReadingCell {
    /// `none`, `reading` or `inconsistent`.
    pub fn class(&self) -> &'static str {
        match self {
            ReadingCell::None => "none",
            ReadingCell::Consistent { .. } => "reading",
            ReadingCell::Inconsistent { .. } => "inconsistent",
        }
    }

    /// The reading, `a | b` while undecided, `inconsistent`, or `—`; `any` when
    /// the report names no reading (cases touched the ambiguity, none constrained it).
    pub fn label(&self) -> String {
        match self {
            ReadingCell::None => "—".into(),
            ReadingCell::Consistent { readings } if readings.is_empty() => "any".into(),
            ReadingCell::Consistent { readings } => readings.join(" | "),
            ReadingCell::Inconsistent { .. } => "inconsistent".into(),
        }
    }

    /// Longer text for a tooltip.
    pub fn detail(&self) -> String {
        match self {
            ReadingCell::None => "no case touched this ambiguity".into(),
            ReadingCell::Consistent { readings } if readings.is_empty() => {
                "cases touched it; none told the readings apart".into()
            }
            ReadingCell::Consistent { readings } if readings.len() == 1 => {
                format!("implements {} in every call", readings[0])
            }
            ReadingCell::Consistent { readings } => format!(
                "consistent with {} (no case told them apart)",
                readings.join(", ")
            ),
            ReadingCell::Inconsistent { witnesses } => witnesses.join("; "),
        }
    }
}

/// `passed / total` cases and the departures (and inconsistent readings) found.
fn score_text(s: &Score) -> String {
    let mut out = format!(
        "{} / {} cases pass · {} departure{}",
        s.passed,
        s.total,
        s.departures,
        if s.departures == 1 { "" } else { "s" }
    );
    if s.inconsistent > 0 {
        out.push_str(&format!(" · {} inconsistent reading(s)", s.inconsistent));
    }
    if s.incomplete {
        out.push_str(" · INCOMPLETE (the run stopped early)");
    }
    out
}

/// A link target: only relative paths and http(s) URLs, spaces and the like
/// percent-encoded, so a hostile name cannot break out of the link.
fn href(link: &str) -> String {
    let mut out = String::new();
    for b in link.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.contains(':') && !(out.starts_with("http://") || out.starts_with("https://")) {
        out = out.replace(':', "%3A");
    }
    out
}

/// The page's one-line subtitle: tool version, date, size.
fn byline(m: &Matrix) -> String {
    let mut out = format!("imds-conform {}", text::one_line(&m.tool_version));
    if !m.date.is_empty() {
        out.push_str(&format!(" · runs finished by {}", m.date));
    }
    out.push_str(&format!(
        " · {} target(s) × {} API(s) · {} rules",
        m.targets.len(),
        m.apis.len(),
        m.rows.len()
    ));
    out
}

/// The matrix as Markdown: targets and scores, departures, readings, the rules.
pub fn to_markdown(m: &Matrix) -> String {
    let mut out = String::from("# imds-conform conformance matrix\n\n");
    out.push_str(&format!("{}\n\n", md(&byline(m))));
    out.push_str("## Targets\n\n");
    out.push_str(&scores_markdown(m));
    md_departures(&mut out, m);
    md_readings(&mut out, m);
    md_rules(&mut out, m);
    out
}

/// The targets table alone: one row per target, its version, and per API its
/// score. Stands on its own (a README can show it).
pub fn scores_markdown(m: &Matrix) -> String {
    let mut out = String::from("| Target | Version |");
    for api in &m.apis {
        out.push_str(&format!(" {} |", md(api)));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(m.apis.len()));
    out.push('\n');
    for t in &m.targets {
        out.push_str(&format!(
            "| {} | {} |",
            md(&t.name),
            t.version.as_deref().map(md).unwrap_or_else(|| "—".into())
        ));
        for s in &t.scores {
            let cell = s.as_ref().map(score_text).unwrap_or_else(|| "—".into());
            out.push_str(&format!(" {} |", md(&cell)));
        }
        out.push('\n');
    }
    out.push_str(
        "\nScore per API: cases passed / cases run, and the distinct departures \
         (causes) the failing cases come from.\n\n",
    );
    out
}

fn md_departures(out: &mut String, m: &Matrix) {
    out.push_str("## Departures\n\n");
    for t in &m.targets {
        out.push_str(&format!(
            "### {} — {} departure(s)\n\n",
            md(&t.label),
            t.departures.len()
        ));
        if t.departures.is_empty() {
            out.push_str("None: no case failed.\n\n");
            continue;
        }
        out.push_str("| # | Departure | Rule | Cases | Reproducer |\n|---|---|---|---:|---|\n");
        for d in &t.departures {
            let repro = match &d.repro {
                Some(link) => format!("[{}]({})", md(&d.reproducer), href(link)),
                None => md(&d.reproducer),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {repro} |\n",
                md(&d.id),
                md(&d.title),
                md(&d.rule),
                d.count
            ));
        }
        out.push('\n');
    }
}

fn md_readings(out: &mut String, m: &Matrix) {
    out.push_str("## Readings\n\n");
    readings_markdown(out, m);
}

/// The summary a README shows: the byline (tool version, date), the targets with
/// their versions and scores, and the readings table — no links, so it reads the
/// same wherever it is pasted.
pub fn summary_markdown(m: &Matrix) -> String {
    let mut out = format!("{}\n\n", md(&byline(m)));
    out.push_str(&scores_markdown(m));
    readings_markdown(&mut out, m);
    out
}

/// The readings table: ambiguity × target.
fn readings_markdown(out: &mut String, m: &Matrix) {
    if m.readings.is_empty() {
        out.push_str("No case touched an ambiguity of the docs.\n\n");
        return;
    }
    out.push_str(
        "Where the docs disagree or are silent: the reading each target implements (the \
         same in every call), `a | b` while no case told them apart, `inconsistent` when \
         its answers need two readings (the witnesses follow), `—` when no case touched \
         the ambiguity.\n\n| API | Ambiguity |",
    );
    for t in &m.targets {
        out.push_str(&format!(" {} |", md(&t.label)));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(m.targets.len()));
    out.push('\n');
    for r in &m.readings {
        out.push_str(&format!("| {} | {} |", md(&r.api), md(&r.ambiguity)));
        for c in &r.cells {
            let cell = match c {
                ReadingCell::Inconsistent { .. } => {
                    format!("**inconsistent**: {}", md(&c.detail()))
                }
                _ => md(&c.label()),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push('\n');
}

fn md_rules(out: &mut String, m: &Matrix) {
    out.push_str(
        "## Rules\n\n`pass`: every case of the rule passed; `fail (n)`: n cases failed \
         (linked to the first one's reproducer); `—`: no case ran.\n\n| API | Rule |",
    );
    for t in &m.targets {
        out.push_str(&format!(" {} |", md(&t.label)));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(m.targets.len()));
    out.push('\n');
    for r in &m.rows {
        out.push_str(&format!("| {} | {} |", md(&r.api), md(&r.rule)));
        for c in &r.cells {
            let cell = match c {
                Cell::Fail {
                    repro: Some(link), ..
                } => format!("[**{}**]({})", md(&c.label()), href(link)),
                Cell::Fail { .. } => format!("**{}**", md(&c.label())),
                _ => md(&c.label()),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str("\nRules per target (pass / fail):");
    let parts: Vec<String> = (0..m.targets.len())
        .map(|i| {
            let (pass, fail) = rule_counts(m, i);
            format!(" {}: {pass} / {fail}", md(&m.targets[i].label))
        })
        .collect();
    out.push_str(&parts.join(";"));
    out.push_str(".\n");
}

/// How many rules a target passes and fails.
fn rule_counts(m: &Matrix, target: usize) -> (usize, usize) {
    let count = |class: &str| {
        m.rows
            .iter()
            .filter(|r| r.cells[target].class() == class)
            .count()
    };
    (count("pass"), count("fail"))
}
