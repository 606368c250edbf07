//! JUnit XML: first, for a run that stopped early, a `run` suite whose one
//! `<testcase>` is in error (why it stopped); a `departures` suite (one failing
//! `<testcase>` per departure, its cases listed), then a `readings` suite (one
//! `<testcase>` per ambiguity the run touched, failing when the target reads it
//! inconsistently), then one `<testsuite>` per rule (per API), one `<testcase>`
//! per case.
//!
//! ```text
//! <testsuites name="imds-conform {api} @ {target}" tests failures errors time>
//!   <testsuite name="{api}: run" tests="1" failures="0" errors="1">   (only when incomplete)
//!     <testcase classname="{api}.run" name="the run finished">
//!       <error message="{why it stopped}" type="incomplete">…</error>
//!   <testsuite name="{api}: departures" tests failures errors="0">
//!     <testcase classname="{api}.departures" name="{D01} {title}">
//!       <failure message="{title}" type="departure">rule, sources, cases</failure>
//!   <testsuite name="{api}: readings" tests failures errors="0">
//!     <testcase classname="{api}.readings" name="{ambiguity}">
//!       <system-out>implements: {reading}</system-out>   (or, when inconsistent:)
//!       <failure message="{ambiguity}: inconsistent" type="inconsistent-reading">witnesses</failure>
//!   <testsuite name="{api}: {rule}" tests failures errors skipped="0" time>
//!     <testcase classname="{api}.{rule}" name="{id} {title}" time="0.012">
//!       <failure message="{reason}" type="fail">expected / actual / citations</failure>
//!       <error message="{reason}" type="error">…</error>
//!       <system-out>passed under readings …</system-out>
//! ```
//! Text is escaped with quick-xml; characters XML 1.0 cannot carry at all (NUL and
//! other C0 controls, lone surrogates cannot occur in `str`) are written as `\u{…}`.

use quick_xml::escape::escape;

use super::repro;
use super::text;
use super::{scrubbed, RunReport};
use crate::verdict::{CaseResult, Summary, Verdict};

pub fn to_junit(report: &RunReport) -> String {
    let report = scrubbed(report);
    let stems = repro::case_stems(&report.cases);
    let total_ms: f64 = report.cases.iter().map(|c| c.duration_ms).sum();
    let s = &report.summary;
    let incomplete = report.incomplete.is_some();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n",
        attr(&format!(
            "imds-conform {} @ {}",
            report.meta.api, report.meta.target
        )),
        s.total + report.departures.len() + report.readings.len() + usize::from(incomplete),
        s.fail + report.departures.len() + inconsistent(&report),
        s.error + usize::from(incomplete),
        secs(total_ms)
    ));
    if let Some(why) = &report.incomplete {
        let api = &report.meta.api;
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n",
            attr(&format!("{api}: run"))
        ));
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"the run finished\" time=\"0.000\">\n      <error message=\"{}\" type=\"incomplete\">{}</error>\n    </testcase>\n  </testsuite>\n",
            attr(&format!("{api}.run")),
            attr(why),
            body_text(&format!(
                "{why}\nthis report covers only the cases judged before it\n"
            ))
        ));
    }
    departures(&mut out, &report);
    readings(&mut out, &report);
    for group in text::by_rule(&report.cases) {
        let g: &Summary = &group.summary;
        let ms: f64 = group
            .indices
            .iter()
            .map(|&i| report.cases[i].duration_ms)
            .sum();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\"",
            attr(&format!("{}: {}", group.api, group.rule)),
            g.total,
            g.fail,
            g.error,
            secs(ms)
        ));
        if !report.meta.started_at.is_empty() {
            out.push_str(&format!(" timestamp=\"{}\"", attr(&report.meta.started_at)));
        }
        out.push_str(">\n");
        for &i in &group.indices {
            testcase(&mut out, &report.cases[i], &stems[i]);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// One failing testcase per departure, grouped per API.
fn departures(out: &mut String, report: &RunReport) {
    let mut apis: Vec<&str> = report.departures.iter().map(|d| d.api.as_str()).collect();
    apis.dedup();
    for api in apis {
        let ds: Vec<_> = report.departures.iter().filter(|d| d.api == api).collect();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n",
            attr(&format!("{api}: departures")),
            ds.len(),
            ds.len()
        ));
        for d in ds {
            let mut body = format!(
                "rule: {}\nexpected: {}\ngot: {}\n",
                d.rule, d.expected, d.got
            );
            if let Some(f) = &d.field {
                body.push_str(&format!("field: {f}\n"));
            }
            for c in &d.cite {
                body.push_str(&format!("source: {c}\n"));
            }
            body.push_str(&format!("reproducer: {}\n", d.example));
            let stem = repro::file_stem(&d.reproducer);
            body.push_str(&format!("reproduce: repro/{stem}.sh, repro/{stem}.http\n"));
            body.push_str(&format!("cases ({}):\n", d.count));
            for c in &d.cases {
                body.push_str(&format!("  {c}\n"));
            }
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <failure message=\"{}\" type=\"departure\">{}</failure>\n    </testcase>\n",
                attr(&format!("{api}.departures")),
                attr(&format!("{} {}", d.id, text::one_line(&d.title))),
                attr(&text::one_line(&d.title)),
                body_text(&body)
            ));
        }
        out.push_str("  </testsuite>\n");
    }
}

/// How many ambiguities the target reads inconsistently.
fn inconsistent(report: &RunReport) -> usize {
    report
        .readings
        .iter()
        .filter(|r| !r.is_consistent())
        .count()
}

/// One testcase per ambiguity the run touched: passing with the reading(s) the
/// target implements, failing when its answers need two (a nonconformance, as the
/// exit code says).
fn readings(out: &mut String, report: &RunReport) {
    if report.readings.is_empty() {
        return;
    }
    let api = &report.meta.api;
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n",
        attr(&format!("{api}: readings")),
        report.readings.len(),
        inconsistent(report)
    ));
    for r in &report.readings {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n",
            attr(&format!("{api}.readings")),
            attr(&r.ambiguity)
        ));
        if r.is_consistent() {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                body_text(&format!("implements: {}\n", r.cell()))
            ));
        } else {
            let mut body = String::from("the answers need two readings:\n");
            for w in &r.witnesses {
                body.push_str(&format!("  {}\n", w.short()));
            }
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"inconsistent-reading\">{}</failure>\n",
                attr(&format!("{}: inconsistent", r.ambiguity)),
                body_text(&body)
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

fn testcase(out: &mut String, case: &CaseResult, stem: &str) {
    out.push_str(&format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        attr(&format!("{}.{}", case.api, case.rule)),
        attr(&format!("{} {}", case.id, case.title)),
        secs(case.duration_ms)
    ));
    match &case.verdict {
        Verdict::Pass => out.push_str("/>\n"),
        Verdict::PassUnderReading {
            readings,
            combinations,
        } => {
            out.push_str(">\n");
            let mut body = format!(
                "passed under reading(s): {}\n",
                readings
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for c in combinations {
                let c: Vec<String> = c.iter().map(|r| r.to_string()).collect();
                body.push_str(&format!("  acceptable under: {}\n", c.join(" & ")));
            }
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                body_text(&body)
            ));
            out.push_str("    </testcase>\n");
        }
        Verdict::Fail { reason } | Verdict::Error { reason } => {
            let tag = if matches!(case.verdict, Verdict::Fail { .. }) {
                "failure"
            } else {
                "error"
            };
            out.push_str(">\n");
            out.push_str(&format!(
                "      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n",
                attr(&text::one_line(reason)),
                case.verdict.name(),
                body_text(&failure_body(case, stem))
            ));
            out.push_str("    </testcase>\n");
        }
    }
}

fn failure_body(case: &CaseResult, stem: &str) -> String {
    let mut b = String::new();
    b.push_str(&format!("case: {}\n", case.id));
    b.push_str(&format!("phase: {}\n", case.phase));
    b.push_str(&format!("operation: {}\n", case.operation));
    b.push_str(&format!("request: {}\n", text::params(&case.request)));
    b.push_str(&format!("auth: {}\n", text::auth(case.auth)));
    b.push_str("expected (any of):\n");
    if case.expected.is_empty() {
        b.push_str("  (none recorded)\n");
    }
    for a in &case.expected {
        b.push_str(&format!("  - {}\n", text::expected(a)));
    }
    b.push_str(&format!("actual: {}\n", text::actual(&case.actual)));
    if let Some(r) = text::reason(&case.verdict) {
        b.push_str(&format!("reason: {r}\n"));
    }
    if !case.citation.is_empty() {
        b.push_str("citations:\n");
        for c in &case.citation {
            b.push_str(&format!("  {c}\n"));
        }
    }
    for n in &case.notes {
        b.push_str(&format!("note: {n}\n"));
    }
    b.push_str(&format!("reproduce: repro/{stem}.sh, repro/{stem}.http\n"));
    b
}

/// Seconds with millisecond precision.
fn secs(ms: f64) -> String {
    let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
    format!("{:.3}", ms / 1000.0)
}

/// Replace characters XML 1.0 forbids even as references.
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c.to_string(),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => format!("\\u{{{:x}}}", c as u32),
            _ => c.to_string(),
        })
        .collect()
}

/// Element text.
fn body_text(s: &str) -> String {
    escape(xml_safe(s)).into_owned()
}

/// An attribute value: escaped, with whitespace controls as references so parsers
/// do not normalize them away.
fn attr(s: &str) -> String {
    escape(xml_safe(s))
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}
