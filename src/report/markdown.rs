//! The Markdown report (`report.md`): meta, summary, the departures (distinct
//! causes, each with its rule, citation, count and smallest reproducer), the readings
//! the target implements, a table by rule with failing rules first, and every
//! failure with its reproducer links. Text from the run (titles, reasons, target messages) is
//! escaped, so a hostile answer cannot inject markup or HTML into a published report.

use super::repro;
use super::text;
use super::text::markdown as esc;
use super::{scrubbed, RunReport, REPORT_FORMAT};
use crate::verdict::{CaseResult, Verdict};

pub fn to_markdown(report: &RunReport) -> String {
    let report = scrubbed(report);
    let mut out = String::new();
    header(&mut out, &report);
    departures(&mut out, &report, "repro/");
    readings(&mut out, &report);
    by_rule(&mut out, &report);
    failures(&mut out, &report, "repro/");
    out
}

/// The departures of a report as one Markdown table (no heading): id, title, rule,
/// what the docs say (the first source), case count and the
/// reproducer under `repro_prefix` (`{api}` in it becomes the departure's API).
/// The README's peer tables are this output.
pub fn departure_table(r: &RunReport, repro_prefix: &str) -> String {
    let mut out = String::from(
        "| # | Departure | Rule | The docs | Cases | Reproducer |\n|---|---|---|---|---:|---|\n",
    );
    for d in &r.departures {
        let stem = repro::file_stem(&d.reproducer);
        let prefix = repro_prefix.replace("{api}", &d.api);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | [{}]({prefix}{stem}.sh) |\n",
            code(&d.id, true),
            cell(&d.title),
            code(&d.rule, true),
            cell(d.cite.first().map(String::as_str).unwrap_or("—")),
            d.count,
            code(&d.reproducer, true),
        ));
    }
    out
}

fn departures(out: &mut String, r: &RunReport, repro_prefix: &str) {
    out.push_str("## Departures\n\n");
    if r.departures.is_empty() {
        out.push_str("None: no case failed.\n\n");
        return;
    }
    out.push_str(&format!(
        "{} failing case(s) come from {} distinct departure(s), largest first.\n\n",
        r.summary.fail,
        r.departures.len()
    ));
    out.push_str(&departure_table(r, repro_prefix));
    out.push('\n');
    for d in &r.departures {
        out.push_str(&format!("### {} {}\n\n", esc(&d.id), esc(&d.title)));
        out.push_str(&format!(
            "- **Rule:** {} — expected {}, got {}{}\n",
            code(&d.rule, false),
            esc(&d.expected),
            esc(&d.got),
            d.field
                .as_deref()
                .map(|f| format!(" (field {})", code(f, false)))
                .unwrap_or_default()
        ));
        for c in &d.cite {
            out.push_str(&format!("- **Source:** {}\n", esc(c)));
        }
        out.push_str(&format!("- **Reproducer:** {}\n", esc(&d.example)));
        if !d.readings.is_empty() {
            out.push_str(&format!(
                "- **Ambiguities touched:** {}\n",
                d.readings
                    .iter()
                    .map(|a| code(a, false))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let shown: Vec<String> = d.cases.iter().take(12).map(|c| code(c, false)).collect();
        out.push_str(&format!(
            "- **Cases ({}):** {}{}\n\n",
            d.count,
            shown.join(", "),
            if d.count > shown.len() { ", …" } else { "" }
        ));
    }
}

/// The ambiguities a report found read inconsistently, one line each with its
/// witnesses (empty when none): beside [`departure_table`], the other way a
/// target fails.
pub fn inconsistent_list(r: &RunReport) -> String {
    let bad: Vec<_> = r.readings.iter().filter(|a| !a.is_consistent()).collect();
    if bad.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nand {} ambiguity(ies) read inconsistently (one target, two readings):\n\n",
        bad.len()
    );
    for a in bad {
        out.push_str(&format!(
            "- {} {}: {}\n",
            code(&a.api, true),
            code(&a.ambiguity, true),
            witnesses(a)
        ));
    }
    out
}

/// An inconsistent ambiguity's witnesses, as one Markdown cell.
fn witnesses(a: &crate::verdict::AmbiguityReading) -> String {
    a.witnesses
        .iter()
        .map(|w| {
            format!(
                "{} passes only under {}",
                code(&w.case, true),
                cell(&w.passes_under.join(" or "))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn readings(out: &mut String, r: &RunReport) {
    out.push_str("## Readings\n\n");
    if r.readings.is_empty() {
        out.push_str("No case touched an ambiguity of the docs.\n\n");
        return;
    }
    out.push_str("Where the docs disagree or are silent, the reading of each ambiguity this target implements, from every case of the run (a target must implement one reading, the same in every call). Several readings: no case told them apart.\n\n");
    out.push_str("| API | Ambiguity | Reading implemented |\n|---|---|---|\n");
    for a in &r.readings {
        let what = if a.is_consistent() {
            a.readings
                .iter()
                .map(|x| code(x, true))
                .collect::<Vec<_>>()
                .join(" or ")
        } else {
            format!("**inconsistent**: {}", witnesses(a))
        };
        out.push_str(&format!(
            "| {} | {} | {what} |\n",
            code(&a.api, true),
            code(&a.ambiguity, true)
        ));
    }
    out.push('\n');
}

/// The index page of a multi-API run directory: one row per report, linking to
/// each report's own `report.md` under `subdirs[i]`.
pub fn run_index(reports: &[RunReport], subdirs: &[String]) -> String {
    let mut out = String::from("# imds-conform run\n\n");
    let all = super::combine(reports);
    out.push_str(&format!(
        "**Verdict: {}** — {} cases over {} report(s). Combined data: [`report.json`](report.json), [`junit.xml`](junit.xml).\n\n",
        text::report_verdict(&all),
        all.summary.total,
        reports.len()
    ));
    out.push_str(
        "| API | Target | Cases | Pass | Pass under reading | Fail | Error | Verdict | Report |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for (r, dir) in reports.iter().zip(subdirs) {
        // The report's own summary: its cases may be only the failing ones, and
        // only it counts departures and inconsistent readings.
        let s = &r.summary;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | [`{dir}/report.md`]({dir}/report.md) |\n",
            code(&r.meta.api, true),
            cell(&r.meta.target),
            s.total,
            s.pass,
            s.pass_under_reading,
            s.fail,
            s.error,
            text::report_verdict(r),
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
        text::report_verdict(&all)
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
    out.push_str(&format!("**Verdict: {}**\n\n", text::report_verdict(r)));
    if let Some(why) = &r.incomplete {
        out.push_str(&format!(
            "**Incomplete:** {}. This report covers only the cases judged before it.\n\n",
            esc(why.trim_end_matches('.'))
        ));
    }
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
