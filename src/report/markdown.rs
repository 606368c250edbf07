//! The Markdown report (`report.md`): meta, summary, a table by rule with failing
//! rules first, every failure with its reproducer links, and the ambiguity readings
//! the target implements. Text from the run (titles, reasons, target messages) is
//! escaped, so a hostile answer cannot inject markup or HTML into a published report.

use super::repro;
use super::text;
use super::text::markdown as esc;
use super::{scrubbed, RunReport, REPORT_FORMAT};
use crate::verdict::{CaseResult, Summary, Verdict};

pub fn to_markdown(report: &RunReport) -> String {
    let report = scrubbed(report);
    let mut out = String::new();
    header(&mut out, &report);
    by_rule(&mut out, &report);
    failures(&mut out, &report, "repro/");
    ambiguities(&mut out, &report);
    out
}

/// The index page of a multi-API run directory: one row per report, linking to
/// each report's own `report.md` under `subdirs[i]`.
pub fn run_index(reports: &[RunReport], subdirs: &[String]) -> String {
    let mut out = String::from("# imds-conform run\n\n");
    let all = super::combine(reports);
    out.push_str(&format!(
        "**Verdict: {}** — {} cases over {} report(s). Combined data: [`report.json`](report.json), [`junit.xml`](junit.xml).\n\n",
        text::verdict_word(&all.summary),
        all.summary.total,
        reports.len()
    ));
    out.push_str(
        "| API | Target | Cases | Pass | Pass under reading | Fail | Error | Verdict | Report |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for (r, dir) in reports.iter().zip(subdirs) {
        let s = Summary::of(&r.cases);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | [`{dir}/report.md`]({dir}/report.md) |\n",
            code(&r.meta.api, true),
            cell(&r.meta.target),
            s.total,
            s.pass,
            s.pass_under_reading,
            s.fail,
            s.error,
            text::verdict_word(&s),
        ));
    }
    let s = &all.summary;
    out.push_str(&format!(
        "| **Total** | | {} | {} | {} | {} | {} | {} | |\n",
        s.total,
        s.pass,
        s.pass_under_reading,
        s.fail,
        s.error,
        text::verdict_word(s)
    ));
    out
}

fn header(out: &mut String, r: &RunReport) {
    let m = &r.meta;
    out.push_str(&format!(
        "# imds-conform report: {} @ {}\n\n",
        esc(&m.api),
        esc(&m.target)
    ));
    out.push_str(&format!(
        "**Verdict: {}**\n\n",
        text::verdict_word(&r.summary)
    ));
    out.push_str("| | |\n|---|---|\n");
    let rows: [(&str, String); 11] = [
        ("Tool version", cell(&m.tool_version)),
        ("API", code(&m.api, true)),
        ("Target", cell(&m.target)),
        ("Endpoint", code(&m.endpoint, true)),
        ("Region", code(&m.region, true)),
        ("Instance", code(&m.instance, true)),
        ("Seed", m.seed.to_string()),
        ("Started", cell(&m.started_at)),
        ("Finished", cell(&m.finished_at)),
        ("Duration", duration(&m.started_at, &m.finished_at)),
        ("Report format", code(REPORT_FORMAT, true)),
    ];
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    let s = &r.summary;
    out.push_str("\n## Summary\n\n");
    out.push_str("| Cases | Pass | Pass under reading | Fail | Error |\n");
    out.push_str("|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} |\n\n",
        s.total, s.pass, s.pass_under_reading, s.fail, s.error
    ));
}

fn duration(start: &str, end: &str) -> String {
    match (
        chrono::DateTime::parse_from_rfc3339(start),
        chrono::DateTime::parse_from_rfc3339(end),
    ) {
        (Ok(a), Ok(b)) => {
            let ms = (b - a).num_milliseconds();
            format!("{:.1} s", ms as f64 / 1000.0)
        }
        _ => "—".to_string(),
    }
}

fn by_rule(out: &mut String, r: &RunReport) {
    let mut groups = text::by_rule(&r.cases);
    // Failing rules first; otherwise the order cases ran in (stable sort).
    groups.sort_by_key(|g| g.summary.conforms());
    let several_apis = groups.iter().any(|g| g.api != groups[0].api);
    out.push_str("## By rule\n\nFailing rules first.\n\n");
    if groups.is_empty() {
        out.push_str("No cases were run.\n\n");
        return;
    }
    if several_apis {
        out.push_str("| API | Rule | Cases | Pass | Pass under reading | Fail | Error |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    } else {
        out.push_str("| Rule | Cases | Pass | Pass under reading | Fail | Error |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|\n");
    }
    for g in &groups {
        let s = &g.summary;
        let api = if several_apis {
            format!("{} | ", code(g.api, true))
        } else {
            String::new()
        };
        let rule = if s.conforms() {
            code(g.rule, true)
        } else {
            format!("**{}**", code(g.rule, true))
        };
        out.push_str(&format!(
            "| {api}{rule} | {} | {} | {} | {} | {} |\n",
            s.total, s.pass, s.pass_under_reading, s.fail, s.error
        ));
    }
    out.push('\n');
}

fn failures(out: &mut String, r: &RunReport, repro_prefix: &str) {
    let stems = repro::case_stems(&r.cases);
    let failing: Vec<(usize, &CaseResult)> = r
        .cases
        .iter()
        .enumerate()
        .filter(|(_, c)| text::is_failure(&c.verdict))
        .collect();
    out.push_str("## Failures\n\n");
    if failing.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    for (i, c) in failing {
        out.push_str(&format!(
            "### {} — {}\n\n",
            code(&c.id, false),
            esc(&c.title)
        ));
        out.push_str(&format!(
            "- **Verdict:** {}\n",
            match &c.verdict {
                Verdict::Error { .. } => "error (could not be judged)",
                _ => "fail",
            }
        ));
        out.push_str(&format!(
            "- **Rule:** {} (phase {}, operation {}, auth {})\n",
            code(&c.rule, false),
            esc(&c.phase),
            esc(&c.operation),
            text::auth(c.auth)
        ));
        let params: Vec<String> = c
            .request
            .iter()
            .map(|p| code(&text::param(p), false))
            .collect();
        out.push_str(&format!(
            "- **Request:** {}\n",
            if params.is_empty() {
                "(no parameters)".to_string()
            } else {
                params.join(", ")
            }
        ));
        out.push_str("- **Expected (any of):**\n");
        if c.expected.is_empty() {
            out.push_str("  - (none recorded)\n");
        }
        for a in &c.expected {
            out.push_str(&format!("  - {}\n", code(&text::expected(a), false)));
        }
        out.push_str(&format!(
            "- **Actual:** {}\n",
            code(&text::actual(&c.actual), false)
        ));
        if let Some(reason) = text::reason(&c.verdict) {
            out.push_str(&format!("- **Reason:** {}\n", esc(reason)));
        }
        if !c.ambiguities.is_empty() {
            let a: Vec<String> = c.ambiguities.iter().map(|a| code(a, false)).collect();
            out.push_str(&format!("- **Ambiguities touched:** {}\n", a.join(", ")));
        }
        if !c.citation.is_empty() {
            out.push_str("- **Citations:**\n");
            for cite in &c.citation {
                out.push_str(&format!("  - {}\n", esc(cite)));
            }
        }
        for n in &c.notes {
            out.push_str(&format!("- **Note:** {}\n", esc(n)));
        }
        let stem = &stems[i];
        out.push_str(&format!(
            "- **Reproduce:** [`{p}{stem}.sh`]({p}{stem}.sh) · [`{p}{stem}.http`]({p}{stem}.http) · `imds-conform replay <dir> {}`\n\n",
            c.id.replace('`', "'"),
            p = repro_prefix,
        ));
    }
}

fn ambiguities(out: &mut String, r: &RunReport) {
    // (ambiguity, [(reading, count)]) in order of first appearance.
    let mut seen: Vec<(String, Vec<(String, usize)>)> = Vec::new();
    for c in &r.cases {
        let Verdict::PassUnderReading { readings, .. } = &c.verdict else {
            continue;
        };
        for label in readings {
            let i = match seen.iter().position(|(a, _)| *a == label.ambiguity) {
                Some(i) => i,
                None => {
                    seen.push((label.ambiguity.clone(), Vec::new()));
                    seen.len() - 1
                }
            };
            match seen[i].1.iter_mut().find(|(rd, _)| *rd == label.reading) {
                Some((_, n)) => *n += 1,
                None => seen[i].1.push((label.reading.clone(), 1)),
            }
        }
    }
    out.push_str("## Ambiguity readings this target implements\n\n");
    if seen.is_empty() {
        out.push_str("No case passed only under some readings: every passing case passed under every reading.\n");
        return;
    }
    out.push_str(
        "Where the docs disagree or are silent, a case can pass only under some readings. ",
    );
    out.push_str("For each such ambiguity: the readings the target's answers matched, with the number of cases.\n\n");
    out.push_str("| Ambiguity | Reading matched | Cases | Cases touching the ambiguity |\n");
    out.push_str("|---|---|---:|---:|\n");
    for (amb, readings) in &seen {
        let touching = r
            .cases
            .iter()
            .filter(|c| c.ambiguities.contains(amb))
            .count();
        for (reading, n) in readings {
            out.push_str(&format!(
                "| {} | {} | {n} | {touching} |\n",
                code(amb, true),
                code(reading, true)
            ));
        }
    }
    let mixed: Vec<String> = seen
        .iter()
        .filter(|(_, rs)| rs.len() > 1)
        .map(|(a, _)| code(a, false))
        .collect();
    if !mixed.is_empty() {
        out.push_str(&format!(
            "\nThe target matched more than one reading of {}: its behaviour differs between cases.\n",
            mixed.join(", ")
        ));
    }
}

/// Text for a table cell.
fn cell(s: &str) -> String {
    if s.is_empty() {
        "—".to_string()
    } else {
        esc(s)
    }
}

/// An inline code span on one line; `|` escaped when inside a table.
fn code(s: &str, in_table: bool) -> String {
    let s = text::one_line(s);
    if s.is_empty() {
        return if in_table {
            "—".into()
        } else {
            "(empty)".into()
        };
    }
    let s = if in_table { s.replace('|', "\\|") } else { s };
    let mut longest = 0;
    let mut run = 0;
    for ch in s.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}
