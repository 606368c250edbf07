//! A small inline SVG bar chart of departures per target and API: one group of
//! horizontal bars per target, one bar per API (a colour each, with a legend), the
//! count at the end of each bar. No script: each bar's `<title>` is its tooltip,
//! and `data-target`, `data-api` and `data-departures` say what it shows.

use super::html::esc;
use super::{text, Matrix};

/// One colour per API, in order (repeating past six).
const COLOURS: [&str; 6] = [
    "#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e",
];
const LABEL_W: usize = 170;
const BAR_W: usize = 420;
const WIDTH: usize = LABEL_W + BAR_W + 60;
const LEGEND_H: usize = 26;
const BAR_H: usize = 14;
const BAR_GAP: usize = 4;
const GROUP_GAP: usize = 12;

/// The chart as a `<figure>` holding the `<svg>`.
pub(super) fn departures_chart(m: &Matrix) -> String {
    let apis = m.apis.len().max(1);
    let group_h = apis * (BAR_H + BAR_GAP) - BAR_GAP;
    let height = LEGEND_H + m.targets.len() * (group_h + GROUP_GAP) + 4;
    let max = m
        .targets
        .iter()
        .flat_map(|t| t.scores.iter().flatten().map(|s| s.departures))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = format!(
        "<figure id=\"chart\">\n<svg id=\"departures-chart\" role=\"img\" \
         aria-labelledby=\"chart-title\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" style=\"max-width:100%;height:auto\">\n\
         <title id=\"chart-title\">Departures per target and API</title>\n"
    );
    legend(&mut out, m);
    for (t, target) in m.targets.iter().enumerate() {
        let top = LEGEND_H + t * (group_h + GROUP_GAP);
        out.push_str(&format!(
            "<text x=\"0\" y=\"{}\" dominant-baseline=\"middle\">{}</text>\n",
            top + group_h / 2,
            esc(&text::cut(&target.label, 26))
        ));
        for (a, (api, score)) in m.apis.iter().zip(&target.scores).enumerate() {
            let y = top + a * (BAR_H + BAR_GAP);
            let mid = y + BAR_H / 2;
            let Some(s) = score else {
                out.push_str(&format!(
                    "<text class=\"muted\" x=\"{LABEL_W}\" y=\"{mid}\" \
                     dominant-baseline=\"middle\">{}: not run</text>\n",
                    esc(api)
                ));
                continue;
            };
            let w = s.departures * BAR_W / max;
            out.push_str(&format!(
                "<rect class=\"bar\" data-target=\"{}\" data-api=\"{}\" data-departures=\"{}\" \
                 x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{BAR_H}\" fill=\"{}\">\
                 <title>{}: {} departure(s) on {}</title></rect>\n\
                 <text x=\"{}\" y=\"{mid}\" dominant-baseline=\"middle\">{}</text>\n",
                esc(&target.label),
                esc(api),
                s.departures,
                COLOURS[a % COLOURS.len()],
                esc(&target.label),
                s.departures,
                esc(api),
                LABEL_W + w + 6,
                s.departures
            ));
        }
    }
    out.push_str(
        "</svg>\n<figcaption>Departures (distinct causes of failing cases) per target \
         and API.</figcaption>\n</figure>\n",
    );
    out
}

/// A swatch and the name of each API, in one line above the bars.
fn legend(out: &mut String, m: &Matrix) {
    let mut x = LABEL_W;
    for (a, api) in m.apis.iter().enumerate() {
        let name = text::cut(api, 22);
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{}\"></rect>\
             <text x=\"{}\" y=\"10\" dominant-baseline=\"middle\">{}</text>\n",
            COLOURS[a % COLOURS.len()],
            x + 16,
            esc(&name)
        ));
        x += 16 + 7 * name.chars().count() + 16;
    }
}
