//! The matrix as one self-contained HTML page: inline CSS and an inline SVG
//! chart, no script, no external resource. Every table fits the page's width (long
//! names wrap), so three targets need no horizontal scrolling at 1400 px; with many
//! targets the rules grid keeps a minimum width, the page scrolls, and its first
//! column stays in view (sticky).
//!
//! Hooks for tools and tests: the scores are `<table id="scores">` with one
//! `<tr data-target>` per target and a `<td class="score …" data-api
//! data-passed data-total data-departures>` per API; each target's departures are
//! a `<section class="departures" data-target>` with one `<tr data-departure>` per
//! departure; the readings are `<table id="readings">` with `<tr data-api
//! data-ambiguity>` rows; the rules grid is `<table id="matrix">` with `<tr
//! data-api data-rule>` rows; cells carry `class` and `data-target`.

use super::{byline, chart, href, rule_counts, score_text, text, Cell, Matrix};

/// Text for HTML content and attribute values, on one line.
pub(super) fn esc(s: &str) -> String {
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
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:14px;margin:24px;color:#1b1f24;background:#fff}\
h1{font-size:22px;margin:0 0 4px}\
h2{font-size:17px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid #d0d7de}\
h3{font-size:15px;margin:20px 0 6px}\
p{max-width:1000px}\
p.byline{color:#57606a;margin:0 0 16px}\
p.legend{font-size:13px;color:#444}\
table{border-collapse:collapse;font-size:13px}\
th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
thead th{background:#f0f3f6}\
.overview{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}\
.overview>div{flex:1 1 560px}\
.overview>figure{flex:0 1 660px;margin:0}\
figcaption{font-size:12px;color:#57606a}\
td.score{white-space:normal}\
td.score b{font-size:14px}\
td.clean{background:#dafbe1;color:#116329}\
td.departs{background:#ffebe9;color:#82071e}\
span.version{font-weight:normal;color:#57606a}\
table.departures,table#readings,table#matrix,table#scores{width:100%;table-layout:fixed}\
col.id{width:10em}col.count{width:4.5em}col.dep-rule{width:20em}col.repro{width:17em}col.key{width:32%}col.name{width:10em}col.version{width:6em}\
td.count{text-align:right}\
th.key{position:sticky;left:0;z-index:1;background:#fff;font-family:ui-monospace,monospace;font-weight:normal}\
thead th.key{background:#f0f3f6;font-family:inherit;font-weight:600}\
table#matrix thead th{position:sticky;top:0;z-index:2}\
table#matrix thead th:first-child{left:0;z-index:3}\
tr.group th{background:#f6f8fa;font-weight:600;position:static}\
table#matrix td,table#readings td{text-align:center;font-weight:600}\
td.pass{background:#dafbe1;color:#116329}\
td.fail{background:#ffebe9;color:#a40e26}\
td.fail a{color:#a40e26}\
td.reading{background:#fff8c5;color:#6a4400;font-family:ui-monospace,monospace;font-weight:normal}\
td.inconsistent{background:#ffebe9;color:#a40e26;text-decoration:underline dotted;cursor:help}\
td.none{color:#8c959f;font-weight:normal}\
tfoot td{font-weight:normal;color:#444;background:#f6f8fa}\
svg text{font:12px system-ui,sans-serif;fill:#1b1f24}\
svg text.muted{fill:#8c959f}";

/// The matrix as one self-contained HTML page.
pub fn to_html(m: &Matrix) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>imds-conform conformance matrix</title>\n<style>",
    );
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<h1>imds-conform conformance matrix</h1>\n");
    out.push_str(&format!("<p class=\"byline\">{}</p>\n", esc(&byline(m))));
    out.push_str("<h2 id=\"h-targets\">Targets</h2>\n<div class=\"overview\">\n");
    scores(&mut out, m);
    out.push_str(&chart::departures_chart(m));
    out.push_str("</div>\n");
    departures(&mut out, m);
    readings(&mut out, m);
    rules(&mut out, m);
    out.push_str("</body>\n</html>\n");
    out
}

/// A target's column heading: its name, and its version below.
fn target_heading(m: &Matrix, t: usize) -> String {
    let t = &m.targets[t];
    match &t.version {
        Some(v) => format!("{} <span class=\"version\">{}</span>", esc(&t.name), esc(v)),
        None => esc(&t.name),
    }
}

fn scores(out: &mut String, m: &Matrix) {
    out.push_str("<div><table id=\"scores\"><colgroup><col class=\"name\"><col class=\"version\">");
    out.push_str(&"<col>".repeat(m.apis.len()));
    out.push_str("</colgroup>\n<thead><tr><th>target</th><th>version</th>");
    for api in &m.apis {
        out.push_str(&format!("<th>{}</th>", esc(api)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for t in &m.targets {
        out.push_str(&format!(
            "<tr data-target=\"{}\"><th>{}</th><td>{}</td>",
            esc(&t.label),
            esc(&t.name),
            esc(t.version.as_deref().unwrap_or("—"))
        ));
        for (api, s) in m.apis.iter().zip(&t.scores) {
            match s {
                Some(s) => out.push_str(&format!(
                    "<td class=\"score {}\" data-api=\"{}\" data-passed=\"{}\" data-total=\"{}\" \
                     data-departures=\"{}\" title=\"{}\"><b>{} / {}</b> cases pass<br>{} departure{}{}</td>",
                    if s.clean() { "clean" } else { "departs" },
                    esc(api),
                    s.passed,
                    s.total,
                    s.departures,
                    esc(&score_text(s)),
                    s.passed,
                    s.total,
                    s.departures,
                    if s.departures == 1 { "" } else { "s" },
                    [
                        (s.inconsistent > 0)
                            .then(|| format!("<br>{} inconsistent reading(s)", s.inconsistent)),
                        s.incomplete
                            .then(|| "<br><b>INCOMPLETE</b>: the run stopped early".to_string()),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<String>()
                )),
                None => out.push_str(&format!(
                    "<td class=\"score none\" data-api=\"{}\">not run</td>",
                    esc(api)
                )),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn departures(out: &mut String, m: &Matrix) {
    out.push_str(
        "<h2 id=\"h-departures\">Departures</h2>\n<p class=\"legend\">The failing cases of \
         each target grouped by cause, largest first: the rule broken (hover for the \
         docs), how many cases show it, and the reproducer script of the smallest case \
         that shows it alone.</p>\n",
    );
    for (i, t) in m.targets.iter().enumerate() {
        out.push_str(&format!(
            "<section class=\"departures\" data-target=\"{}\">\n<h3>{} — {} departure{}</h3>\n",
            esc(&t.label),
            target_heading(m, i),
            t.departures.len(),
            if t.departures.len() == 1 { "" } else { "s" }
        ));
        if t.departures.is_empty() {
            out.push_str("<p>None: no case failed.</p>\n</section>\n");
            continue;
        }
        out.push_str(
            "<table class=\"departures\"><colgroup><col class=\"id\"><col><col class=\"dep-rule\">\
             <col class=\"count\"><col class=\"repro\"></colgroup>\n<thead><tr><th>#</th>\
             <th>departure</th><th>rule</th><th>cases</th><th>reproducer</th></tr></thead>\n<tbody>\n",
        );
        for d in &t.departures {
            let repro = match &d.repro {
                Some(link) => format!(
                    "<a href=\"{}\">{}</a>",
                    esc(&href(link)),
                    esc(&d.reproducer)
                ),
                None => esc(&d.reproducer),
            };
            out.push_str(&format!(
                "<tr data-departure=\"{}\"><td>{}</td><td>{}</td><td title=\"{}\"><code>{}</code></td>\
                 <td class=\"count\">{}</td><td>{repro}</td></tr>\n",
                esc(&d.id),
                esc(&d.id),
                esc(&d.title),
                esc(&d.cite.join(" · ")),
                esc(&d.rule),
                d.count
            ));
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// `<colgroup>` and `<thead>` of a table with a key column and one per target.
fn target_columns(out: &mut String, m: &Matrix, key: &str) {
    out.push_str("<colgroup><col class=\"key\">");
    out.push_str(&"<col>".repeat(m.targets.len()));
    out.push_str(&format!(
        "</colgroup>\n<thead><tr><th class=\"key\">{key}</th>"
    ));
    for i in 0..m.targets.len() {
        out.push_str(&format!(
            "<th class=\"target\">{}</th>",
            target_heading(m, i)
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
}

/// A row naming the API of the rows below it.
fn group_row(out: &mut String, m: &Matrix, api: &str) {
    out.push_str(&format!(
        "<tr class=\"group\"><th colspan=\"{}\">{}</th></tr>\n",
        m.targets.len() + 1,
        esc(api)
    ));
}

fn readings(out: &mut String, m: &Matrix) {
    out.push_str(
        "<h2 id=\"h-readings\">Readings</h2>\n<p class=\"legend\">Where the docs disagree or \
         are silent: the reading of each ambiguity a target implements, the same in every \
         call. <b>a | b</b>: no case told them apart; <b>inconsistent</b>: its answers \
         need two readings (hover for the two cases); <b>—</b>: no case touched it.</p>\n",
    );
    if m.readings.is_empty() {
        out.push_str("<p>No case touched an ambiguity of the docs.</p>\n");
        return;
    }
    out.push_str("<table id=\"readings\">");
    target_columns(out, m, "ambiguity");
    let rows = m.readings.iter().map(|r| GridRow {
        api: &r.api,
        key: &r.ambiguity,
        cells: r
            .cells
            .iter()
            .map(|c| (c.class(), c.detail(), esc(&c.label())))
            .collect(),
    });
    grid_rows(out, m, "data-ambiguity", rows);
    out.push_str("</tbody>\n</table>\n");
}

/// One row of a grid of targets: its API, its key (rule or ambiguity), and per
/// target the cell's class, tooltip and inner HTML.
struct GridRow<'a> {
    api: &'a str,
    key: &'a str,
    cells: Vec<(&'static str, String, String)>,
}

/// The rows of a grid, a group row before each API's first.
fn grid_rows<'a>(
    out: &mut String,
    m: &Matrix,
    attr: &str,
    rows: impl Iterator<Item = GridRow<'a>>,
) {
    let mut api = None;
    for r in rows {
        if api != Some(r.api) {
            group_row(out, m, r.api);
            api = Some(r.api);
        }
        out.push_str(&format!(
            "<tr data-api=\"{}\" {attr}=\"{}\"><th class=\"key\">{}</th>",
            esc(r.api),
            esc(r.key),
            esc(r.key)
        ));
        for ((class, title, inner), t) in r.cells.iter().zip(&m.targets) {
            out.push_str(&format!(
                "<td class=\"{class}\" data-target=\"{}\" title=\"{}\">{inner}</td>",
                esc(&t.label),
                esc(title)
            ));
        }
        out.push_str("</tr>\n");
    }
}

fn rules(out: &mut String, m: &Matrix) {
    out.push_str(
        "<h2 id=\"h-rules\">Rules</h2>\n<p class=\"legend\">Rules down, targets across. \
         <b>pass</b>: every case of the rule passed; <b>fail (n)</b>: n cases failed — the \
         link opens the first one's reproducer; <b>—</b>: no case ran.</p>\n",
    );
    out.push_str(&format!(
        "<table id=\"matrix\" style=\"min-width:{}px\">",
        280 + 110 * m.targets.len()
    ));
    target_columns(out, m, "rule");
    let rows = m.rows.iter().map(|r| GridRow {
        api: &r.api,
        key: &r.rule,
        cells: r
            .cells
            .iter()
            .map(|c| {
                let inner = match c {
                    Cell::Fail {
                        repro: Some(link), ..
                    } => format!("<a href=\"{}\">{}</a>", esc(&href(link)), esc(&c.label())),
                    _ => esc(&c.label()),
                };
                (c.class(), c.detail(), inner)
            })
            .collect(),
    });
    grid_rows(out, m, "data-rule", rows);
    out.push_str("</tbody>\n<tfoot><tr><td>rules: pass / fail</td>");
    for i in 0..m.targets.len() {
        let (pass, fail) = rule_counts(m, i);
        out.push_str(&format!("<td>{pass} / {fail}</td>"));
    }
    out.push_str("</tr></tfoot>\n</table>\n");
}
