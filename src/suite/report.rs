//! What a [`Suite`](super::Suite) run found, for assertions in a test: the
//! departures, the readings, and a message that explains each departure with its
//! rule, its citations and a curl reproducer.

use std::fmt;
use std::path::Path;

use crate::report::{self, repro, RunMeta, RunReport};
use crate::verdict::readings::Witness;
use crate::verdict::{AmbiguityReading, CaseResult, Departure};

/// The report of one API's run against one target.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = imds_conform::Suite::new("aws-ec2")
///     .only("HttpEndpoint.*")
///     .run()
///     .await
///     .unwrap();
/// assert!(report.departures().is_empty());
/// assert!(report.cases() > 10);
/// # });
/// ```
#[derive(Clone)]
pub struct Report {
    run: RunReport,
}

impl Report {
    pub(crate) fn new(run: RunReport) -> Self {
        Report { run }
    }

    /// Every case conforms and the target implements one reading of each
    /// ambiguity the run touched.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let report = imds_conform::Suite::new("aws-ec2").only("baseline").run().await.unwrap();
    /// assert!(report.conforms());
    /// # });
    /// ```
    pub fn conforms(&self) -> bool {
        self.run.conforms()
    }

    /// The failing cases grouped by cause, largest first: each with a title, the
    /// rule it breaks and that rule's citations, its cases and a reproducer.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let report = imds_conform::Suite::new("aws-ec2").only("baseline").run().await.unwrap();
    /// for d in report.departures() {
    ///     println!("{} ({} cases): rule {}", d.title, d.count, d.rule);
    /// }
    /// # });
    /// ```
    pub fn departures(&self) -> &[Departure] {
        &self.run.departures
    }

    /// For each ambiguity of the docs the run touched, the reading(s) the target
    /// implements, or `inconsistent` with two witness cases.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let report = imds_conform::Suite::new("aws-ec2").only("HttpTokens.*").run().await.unwrap();
    /// let omitted = report
    ///     .readings()
    ///     .iter()
    ///     .find(|r| r.ambiguity == "ec2-http-tokens-omitted")
    ///     .unwrap();
    /// assert!(omitted.is_consistent());
    /// # });
    /// ```
    pub fn readings(&self) -> &[AmbiguityReading] {
        &self.run.readings
    }

    /// How many cases ran.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let report = imds_conform::Suite::new("aws-ec2").only("baseline").run().await.unwrap();
    /// assert_eq!(report.cases(), 1); // the baseline call, sent once
    /// # });
    /// ```
    pub fn cases(&self) -> usize {
        self.run.summary.total
    }

    /// Why the run stopped before its last case (`stopped by an error: …`), if it
    /// did: see [`SuiteError::Stopped`](crate::SuiteError::Stopped). An incomplete
    /// report never conforms.
    pub fn incomplete(&self) -> Option<&str> {
        self.run.incomplete.as_deref()
    }

    /// Panic unless the target [conforms](Report::conforms); the message lists
    /// every departure with its rule, the docs it cites and a curl reproducer,
    /// and every inconsistent reading with its witnesses.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// imds_conform::Suite::new("aws-ec2")
    ///     .only("HttpPutResponseHopLimit.*")
    ///     .run()
    ///     .await
    ///     .unwrap()
    ///     .assert_conforms();
    /// # });
    /// ```
    #[track_caller]
    pub fn assert_conforms(&self) {
        if !self.conforms() {
            panic!("{self}");
        }
    }

    /// `report.json` (format `imds-conform.report/1`, see docs/report-format.md).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let report = imds_conform::Suite::new("aws-ec2").only("baseline").run().await.unwrap();
    /// assert!(report.to_json().contains("imds-conform.report/1"));
    /// # });
    /// ```
    pub fn to_json(&self) -> String {
        report::json::to_json(&self.run)
    }

    /// Write `report.json`, `junit.xml`, `report.md` and the reproducers into
    /// `dir` (created if missing), as `imds-conform run --report DIR` does.
    ///
    /// ```no_run
    /// # async fn demo(report: imds_conform::Report) -> std::io::Result<()> {
    /// report.write_to(std::path::Path::new("target/conformance"))?;
    /// # Ok(()) }
    /// ```
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        report::write_run(dir, std::slice::from_ref(&self.run))
            .map(|_| ())
            .map_err(std::io::Error::other)
    }
}

/// The summary line, then each departure explained (see
/// [`assert_conforms`](Report::assert_conforms)).
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.run;
        // The verdict word is the command line's (CONFORMS, 2 DEPARTURES, NO CASES,
        // INCOMPLETE…), with why when the run stopped early or judged nothing.
        let why = match &r.incomplete {
            Some(why) => format!(" ({why})"),
            None if r.summary.total == 0 => format!(
                " (nothing matched: the phases and .only() globs chose no case of {})",
                r.meta.api
            ),
            None => String::new(),
        };
        writeln!(
            f,
            "{} against {} ({}): {} cases, {} failed, {} errors; {} departures — {}{why}",
            r.meta.api,
            r.meta.target,
            r.meta.endpoint,
            r.summary.total,
            r.summary.fail,
            r.summary.error,
            r.departures.len(),
            report::text::report_verdict(r),
        )?;
        f.write_str(&explain(&r.departures, &r.cases, &r.meta, true))?;
        for c in r.cases.iter().filter(|c| c.verdict.name() == "error") {
            writeln!(f, "error in {} ({}): {:?}", c.id, c.title, c.verdict)?;
        }
        for reading in r.readings.iter().filter(|x| !x.is_consistent()) {
            f.write_str(&inconsistent(reading))?;
        }
        Ok(())
    }
}

/// The [`Display`](fmt::Display) text: what `unwrap()` or a test's `?` shows of a
/// [`SuiteError`](crate::SuiteError) holding a report is its departures explained,
/// not a dump of every case (that is [`to_json`](Report::to_json)).
impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Each departure: its title, rule, expected and actual, citations, how many
/// cases show it, and (with `curls`) the curl reproducer of its smallest case.
pub(crate) fn explain(
    departures: &[Departure],
    cases: &[CaseResult],
    meta: &RunMeta,
    curls: bool,
) -> String {
    let mut out = String::new();
    for d in departures {
        let head = if curls {
            format!(
                "{} — {} ({} case{})",
                d.id,
                d.title,
                d.count,
                if d.count == 1 { "" } else { "s" }
            )
        } else {
            format!("departure: {}", d.title)
        };
        out.push_str(&format!(
            "\n{head}\n  rule: {}\n  expected {}, got {}{}\n",
            d.rule,
            d.expected,
            d.got,
            d.field
                .as_deref()
                .map(|f| format!(" (field {f})"))
                .unwrap_or_default(),
        ));
        for c in &d.cite {
            out.push_str(&format!("  cites {c}\n"));
        }
        if !d.readings.is_empty() {
            out.push_str(&format!("  readings involved: {}\n", d.readings.join(", ")));
        }
        if !curls {
            continue;
        }
        if let Some(case) = cases.iter().find(|c| c.id == d.reproducer) {
            out.push_str(&format!("  reproducer: {} ({})\n", case.id, case.title));
            for line in repro::curl(case, meta).lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

/// An inconsistent reading and its two witnesses.
pub(crate) fn inconsistent(r: &AmbiguityReading) -> String {
    let witnesses: Vec<String> = r.witnesses.iter().map(Witness::long).collect();
    format!(
        "\n{}: the target implements more than one reading of {}: {}\n",
        r.api,
        r.ambiguity,
        witnesses.join("; ")
    )
}
