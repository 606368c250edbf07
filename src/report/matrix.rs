//! The conformance matrix: rules down, targets across. Each cell says how the
//! target did on the rule's cases: `pass`, `fail (n)` (linked to the first failing
//! case's reproducer), or — where every case passed but some only under a reading
//! of an ambiguity — the reading(s) the target implements (`keep`), with the
//! ambiguity in the cell's title. Rendered as Markdown and as one self-contained
//! HTML page (inline CSS, no script, no external resource).
//!
//! Rows are `(api, rule)` in order of first appearance; columns are the reports'
//! `meta.target` in order of first appearance. Several reports of one target (one
//! per API, say) fill the same column; a case id seen twice for one target counts
//! once.

use std::collections::BTreeSet;

use super::repro::case_stems;
use super::text::markdown as md;
use super::{text, RunReport};
use crate::oracle::ReadingLabel;
use crate::verdict::Verdict;

/// One report and where its reproducers are, as seen from the matrix page.
#[derive(Debug, Clone)]
pub struct MatrixInput {
    pub report: RunReport,
    /// `(api, link to the folder holding <stem>.sh)`, e.g. `("aws-ec2",
    /// "../moto-report/aws-ec2/repro")`. An API without an entry gets no links.
    pub repro_dirs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// The target ran no case of this rule.
    None,
    Pass {
        cases: usize,
    },
    /// Every case passed, some only under these readings.
    Readings {
        cases: usize,
        readings: Vec<ReadingLabel>,
    },
    Fail {
        cases: usize,
        failing: usize,
        /// The first failing case.
        first: String,
        /// Link to its reproducer script.
        repro: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub api: String,
    pub rule: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub targets: Vec<String>,
    pub rows: Vec<Row>,
}

/// Build the matrix from reports.
pub fn build(inputs: &[MatrixInput]) -> Matrix {
    let mut targets: Vec<String> = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    for i in inputs {
        if !targets.contains(&i.report.meta.target) {
            targets.push(i.report.meta.target.clone());
        }
        for c in &i.report.cases {
            let key = (c.api.clone(), c.rule.clone());
            if !rows.contains(&key) {
                rows.push(key);
            }
        }
    }
    // Per target, per row: the cases in order, with their reproducer link.
    let mut grid: Vec<Vec<Vec<Seen>>> = (0..rows.len())
        .map(|_| (0..targets.len()).map(|_| Vec::new()).collect())
        .collect();
    let mut ids: Vec<BTreeSet<String>> = vec![BTreeSet::new(); targets.len()];
    for i in inputs {
        let t = targets
            .iter()
            .position(|t| *t == i.report.meta.target)
            .unwrap_or(0);
        // Stems as `write_all` gives them: per API (one report per API).
        let mut apis: Vec<&str> = Vec::new();
        for c in &i.report.cases {
            if !apis.contains(&c.api.as_str()) {
                apis.push(&c.api);
            }
        }
        for api in apis {
            let cases: Vec<_> = i
                .report
                .cases
                .iter()
                .filter(|c| c.api == api)
                .cloned()
                .collect();
            let stems = case_stems(&cases);
            let dir = i
                .repro_dirs
                .iter()
                .find(|(a, _)| a == api)
                .map(|(_, d)| d.trim_end_matches('/').to_string());
            for (c, stem) in cases.iter().zip(stems) {
                if !ids[t].insert(c.id.clone()) {
                    continue;
                }
                let r = rows
                    .iter()
                    .position(|(a, rule)| *a == c.api && *rule == c.rule)
                    .unwrap_or(0);
                grid[r][t].push(Seen {
                    verdict: c.verdict.clone(),
                    id: c.id.clone(),
                    repro: dir.as_ref().map(|d| format!("{d}/{stem}.sh")),
                });
            }
        }
    }
    let rows = rows
        .into_iter()
        .zip(grid)
        .map(|((api, rule), per_target)| Row {
            api,
            rule,
            cells: per_target.into_iter().map(cell_of).collect(),
        })
        .collect();
    Matrix { targets, rows }
}

/// One case of a matrix cell: its verdict, id and reproducer link.
struct Seen {
    verdict: Verdict,
    id: String,
    repro: Option<String>,
}

/// The cell for the cases one target ran of one rule.
fn cell_of(seen: Vec<Seen>) -> Cell {
    if seen.is_empty() {
        return Cell::None;
    }
    let failing: Vec<&Seen> = seen
        .iter()
        .filter(|s| text::is_failure(&s.verdict))
        .collect();
    if let Some(first) = failing.first() {
        return Cell::Fail {
            cases: seen.len(),
            failing: failing.len(),
            first: first.id.clone(),
            repro: first.repro.clone(),
        };
    }
    let mut readings: Vec<ReadingLabel> = seen
        .iter()
        .flat_map(|s| match &s.verdict {
            Verdict::PassUnderReading { readings, .. } => readings.clone(),
            _ => Vec::new(),
        })
        .collect();
    readings.sort();
    readings.dedup();
    if readings.is_empty() {
        Cell::Pass { cases: seen.len() }
    } else {
        Cell::Readings {
            cases: seen.len(),
            readings,
        }
    }
}

impl Cell {
    /// The cell's class: `none`, `pass`, `reading`, `fail`.
    pub fn class(&self) -> &'static str {
        match self {
            Cell::None => "none",
            Cell::Pass { .. } => "pass",
            Cell::Readings { .. } => "reading",
            Cell::Fail { .. } => "fail",
        }
    }

    /// The cell's text: `pass`, `fail (2)`, `keep`, `—`.
    pub fn label(&self) -> String {
        match self {
            Cell::None => "—".into(),
            Cell::Pass { .. } => "pass".into(),
            Cell::Fail { failing, .. } => format!("fail ({failing})"),
            Cell::Readings { readings, .. } => {
                let mut ids: Vec<&str> = readings.iter().map(|r| r.reading.as_str()).collect();
                ids.dedup();
                ids.join(", ")
            }
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
            Cell::Readings { cases, readings } => format!(
                "{cases} case(s) pass; the target implements {}",
                readings
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
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

pub fn to_markdown(m: &Matrix) -> String {
    let mut out = String::from("# imds-conform conformance matrix\n\n");
    out.push_str(
        "Rules down, targets across. `pass`: every case passed; `fail (n)`: n cases \
         failed (linked to the first one's reproducer); a reading id (`keep`): every case \
         passed, some only under that reading of an ambiguity — the reading the target \
         implements; `—`: no case ran.\n\n",
    );
    out.push_str("| API | rule |");
    for t in &m.targets {
        out.push_str(&format!(" {} |", md(t)));
    }
    out.push_str("\n|---|---|");
    for _ in &m.targets {
        out.push_str("---|");
    }
    out.push('\n');
    for r in &m.rows {
        out.push_str(&format!("| {} | {} |", md(&r.api), md(&r.rule)));
        for c in &r.cells {
            let cell = match c {
                Cell::Fail {
                    repro: Some(link), ..
                } => format!("[**{}**]({})", md(&c.label()), href(link)),
                Cell::Fail { .. } => format!("**{}**", md(&c.label())),
                Cell::Readings { readings, .. } => format!(
                    "{} ({})",
                    md(&c.label()),
                    md(&readings
                        .iter()
                        .map(|r| r.ambiguity.as_str())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", "))
                ),
                _ => md(&c.label()),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str(&totals_line(m));
    out
}

fn totals_line(m: &Matrix) -> String {
    let mut out = String::from("\nRules per target (pass / under a reading / fail):");
    for (i, t) in m.targets.iter().enumerate() {
        let count = |class: &str| {
            m.rows
                .iter()
                .filter(|r| r.cells[i].class() == class)
                .count()
        };
        out.push_str(&format!(
            " {}: {} / {} / {};",
            md(t),
            count("pass"),
            count("reading"),
            count("fail")
        ));
    }
    out.pop();
    out.push_str(".\n");
    out
}

fn html(s: &str) -> String {
    let mut out = String::new();
    for ch in text::one_line(s).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1b1f24;background:#fff}\
h1{font-size:20px;margin:0 0 8px}\
p.legend{font-size:13px;color:#444;max-width:900px}\
table{border-collapse:collapse;font-size:13px}\
th,td{border:1px solid #c9d1d9;padding:4px 10px;text-align:left;white-space:nowrap}\
thead th{background:#f0f3f6;position:sticky;top:0}\
th.api{color:#57606a;font-weight:normal}\
th.rule{font-family:ui-monospace,monospace;font-weight:normal}\
td{text-align:center;font-weight:600}\
td.pass{background:#dafbe1;color:#116329}\
td.fail{background:#ffebe9;color:#a40e26}\
td.fail a{color:#a40e26}\
td.reading{background:#fff8c5;color:#7d4e00}\
td.none{color:#8c959f;font-weight:normal}\
tfoot td{font-weight:normal;color:#444;background:#f6f8fa}";

pub fn to_html(m: &Matrix) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>imds-conform conformance matrix</title>\n<style>",
    );
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<h1>imds-conform conformance matrix</h1>\n");
    out.push_str(
        "<p class=\"legend\">Rules down, targets across. <b>pass</b>: every case passed; \
         <b>fail (n)</b>: n cases failed — the link opens the first one's reproducer; a \
         reading id such as <b>keep</b>: every case passed, some only under that reading of \
         an ambiguity (hover for which), i.e. the reading the target implements; \
         <b>—</b>: no case ran.</p>\n",
    );
    out.push_str("<table id=\"matrix\">\n<thead><tr><th>API</th><th>rule</th>");
    for t in &m.targets {
        out.push_str(&format!("<th class=\"target\">{}</th>", html(t)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &m.rows {
        out.push_str(&format!(
            "<tr data-api=\"{}\" data-rule=\"{}\"><th class=\"api\">{}</th><th class=\"rule\">{}</th>",
            html(&r.api),
            html(&r.rule),
            html(&r.api),
            html(&r.rule)
        ));
        for (c, t) in r.cells.iter().zip(&m.targets) {
            let inner = match c {
                Cell::Fail {
                    repro: Some(link), ..
                } => format!("<a href=\"{}\">{}</a>", html(&href(link)), html(&c.label())),
                _ => html(&c.label()),
            };
            out.push_str(&format!(
                "<td class=\"{}\" data-target=\"{}\" title=\"{}\">{inner}</td>",
                c.class(),
                html(t),
                html(&c.detail())
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n<tfoot><tr><td colspan=\"2\">rules: pass / reading / fail</td>");
    for i in 0..m.targets.len() {
        let count = |class: &str| {
            m.rows
                .iter()
                .filter(|r| r.cells[i].class() == class)
                .count()
        };
        out.push_str(&format!(
            "<td>{} / {} / {}</td>",
            count("pass"),
            count("reading"),
            count("fail")
        ));
    }
    out.push_str("</tr></tfoot>\n</table>\n</body>\n</html>\n");
    out
}
