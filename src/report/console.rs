//! The console: a reporter that follows a run as it goes ([`Progress`], nextest
//! style: it consumes the runner's events), and the text printed at the end — a
//! fixed-width summary table over one or more runs, the departures (one line each,
//! with their reproducer), the readings a target implements, and one line per
//! failure. Text is returned as strings; the reporter draws on, and writes to, what
//! the CLI hands it.

use std::collections::BTreeMap;
use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use super::text;
use super::RunReport;
use crate::runner::Event;
use crate::verdict::readings::Witness;
use crate::verdict::{AmbiguityReading, Summary};

/// Follows a run: a progress bar over every planned case with the id of the last
/// failure, the runner's notes, and the verdicts and readings counted per API (a
/// run that keeps only its failing cases is summarized from these counts).
pub struct Progress<W: Write> {
    bar: ProgressBar,
    notes: W,
    counted: Counted,
}

/// What a [`Progress`] counted, per API id.
#[derive(Debug, Default)]
pub struct Counted {
    /// The verdicts of every finished case.
    pub summaries: BTreeMap<String, Summary>,
    /// Which reading of each ambiguity the target implements (the control plane's
    /// and the data plane's, each its own ambiguities).
    pub readings: BTreeMap<String, Vec<AmbiguityReading>>,
    /// The instances the run changed and could not put back, one line each.
    pub not_restored: Vec<String>,
}

impl<W: Write> Progress<W> {
    /// A reporter drawing its bar on `target`. Notes are printed above the bar, or
    /// written to `notes` when the bar is hidden (not a terminal).
    pub fn new(target: ProgressDrawTarget, notes: W) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} cases {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            notes,
            counted: Counted::default(),
        }
    }

    /// Take one event into account.
    pub fn event(&mut self, event: Event) {
        match event {
            Event::ApiStarted { planned, .. } => self.bar.inc_length(planned as u64),
            Event::CaseFinished(r) => {
                self.bar.inc(1);
                let summaries = &mut self.counted.summaries;
                summaries.entry(r.api.clone()).or_default().add(&r.verdict);
                if !r.verdict.is_pass() {
                    self.bar.set_message(format!("last failure: {}", r.id));
                }
            }
            Event::Note { api, message } => self.note(&format!("{api}: {message}")),
            Event::NotRestored {
                api,
                instance,
                reason,
                original,
            } => {
                let line = format!(
                    "{api}: {instance} was NOT put back as it was ({reason}); its options \
                     before the run: {original}"
                );
                self.note(&line);
                self.counted.not_restored.push(line);
            }
            Event::ApiFinished { api, readings } => {
                self.counted
                    .readings
                    .entry(api)
                    .or_default()
                    .extend(readings);
            }
        }
    }

    /// A line above the bar, or to `notes` when the bar is hidden.
    fn note(&mut self, line: &str) {
        if self.bar.is_hidden() {
            // A note that cannot be written is not worth failing the run.
            let _ = writeln!(self.notes, "{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Take every event until the runners are done (the channel closes).
    pub async fn consume(&mut self, mut events: UnboundedReceiver<Event>) {
        while let Some(event) = events.recv().await {
            self.event(event);
        }
    }

    /// Clear the bar; what was counted.
    pub fn finish(self) -> Counted {
        self.bar.finish_and_clear();
        self.counted
    }
}

/// One row per report (API @ target) and a total row:
///
/// ```text
/// API            TARGET    CASES  PASS  UNDER-READING  FAIL  ERROR  VERDICT
/// aws-ec2        emulator    120   110              8     2      0  2 FAILURES
/// ```
pub fn summary_table(reports: &[RunReport]) -> String {
    let header = [
        "API",
        "TARGET",
        "CASES",
        "PASS",
        "UNDER-READING",
        "FAIL",
        "ERROR",
        "VERDICT",
    ];
    let row = |api: &str, target: &str, s: &Summary, incomplete: bool| -> Vec<String> {
        vec![
            api.to_string(),
            target.to_string(),
            s.total.to_string(),
            s.pass.to_string(),
            s.pass_under_reading.to_string(),
            s.fail.to_string(),
            s.error.to_string(),
            text::verdict_of(s, incomplete),
        ]
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut total = Summary::default();
    for r in reports {
        // The report's summary, not a recount of its cases: a streaming run keeps
        // only the failing cases but counts every verdict.
        let s = r.summary.clone();
        total.merge(&s);
        // Distinct within each API, so distinct across them.
        total.departures += s.departures;
        total.inconsistent_readings += s.inconsistent_readings;
        rows.push(row(
            &text::one_line(&r.meta.api),
            &text::one_line(&r.meta.target),
            &s,
            r.incomplete.is_some(),
        ));
    }
    let incomplete = reports.iter().any(|r| r.incomplete.is_some());
    let total_row = row("TOTAL", "", &total, incomplete);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows.iter().chain(std::iter::once(&total_row)) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = |i: usize| (2..=6).contains(&i);
    let render = |cells: &[String]| -> String {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w - cell.chars().count());
            if numeric(i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        line.push('\n');
        line
    };
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = render(&head);
    let rule_len = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let rule = format!("{}\n", "-".repeat(rule_len));
    out.push_str(&rule);
    for r in &rows {
        out.push_str(&render(r));
    }
    out.push_str(&rule);
    out.push_str(&render(&total_row));
    out
}

/// One line per failing or erroring case, at most `max` lines, then a line saying
/// how many were left out: `FAIL  <id>  <rule>  <reason>`.
pub fn failure_lines(report: &RunReport, max: usize) -> String {
    let failing: Vec<_> = report
        .cases
        .iter()
        .filter(|c| text::is_failure(&c.verdict))
        .collect();
    let mut out = String::new();
    for c in failing.iter().take(max) {
        let tag = if c.verdict.name() == "fail" {
            "FAIL "
        } else {
            "ERROR"
        };
        out.push_str(&format!(
            "{tag} {}  {}  {}\n",
            text::one_line(&c.id),
            text::one_line(&c.rule),
            text::cut(&text::one_line(text::reason(&c.verdict).unwrap_or("")), 200)
        ));
    }
    if failing.len() > max {
        out.push_str(&format!(
            "… and {} more (see report.md)\n",
            failing.len() - max
        ));
    }
    out
}

/// The departures of a run, largest first, at most `max`, each as
/// `D01  <count> cases  <title>` with its rule and reproducer under it; then any
/// inconsistent readings with their two witnesses.
pub fn departure_lines(report: &RunReport, max: usize) -> String {
    let mut out = String::new();
    for d in report.departures.iter().take(max) {
        out.push_str(&format!(
            "{}  {:>4} case{}  {}\n      rule {} · reproducer {}\n",
            text::one_line(&d.id),
            d.count,
            if d.count == 1 { " " } else { "s" },
            text::cut(&text::one_line(&d.title), 200),
            text::one_line(&d.rule),
            text::one_line(&d.reproducer),
        ));
    }
    if report.departures.len() > max {
        out.push_str(&format!(
            "… and {} more departures (see report.md)\n",
            report.departures.len() - max
        ));
    }
    for r in report.readings.iter().filter(|r| !r.is_consistent()) {
        out.push_str(&format!(
            "INCONSISTENT {}: {}\n",
            text::one_line(&r.ambiguity),
            r.witnesses
                .iter()
                .map(Witness::short)
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    out
}

/// The readings a target implements, one line per ambiguity:
/// `aws-ec2  ec2-http-tokens-omitted = keep`.
pub fn reading_lines(report: &RunReport) -> String {
    let mut out = String::new();
    for r in &report.readings {
        out.push_str(&format!(
            "{}  {} = {}\n",
            text::one_line(&r.api),
            text::one_line(&r.ambiguity),
            text::one_line(&r.cell())
        ));
    }
    out
}
