//! `imds-conform selftest`: the engine's mutation score. Runs every deviation of the
//! catalogue derived from the tables against its faulty model target, and a faithful
//! model for every reading of every ambiguity; prints each deviation caught or
//! missed (with what caught it, and any departure its fault does not explain), each
//! faithful target flagged or not, then the score, the misnamed count and the
//! false-positive count. Exit 0 only with 100 % caught, none misnamed and no false
//! positive.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use imds_conform::report::write::write_whole;
use imds_conform::selftest::{catalogue, check, Deviation, Expect, Options, Report};
use imds_conform::spec::Spec;

use super::exit;

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Only these APIs' tables (default: all). Repeatable.
    #[arg(long = "api", value_name = "API")]
    apis: Vec<String>,
    /// Only deviations whose id contains this text (the readings check is skipped).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// List the catalogue without running it.
    #[arg(long)]
    list: bool,
    /// Seed of the random phases.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Runs at once.
    #[arg(long, default_value_t = 4, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=32))]
    concurrency: u32,
    /// Also write the full result (every run's departures and readings) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Read the spec tables from this folder instead of the built-in ones.
    #[arg(long)]
    specs: Option<PathBuf>,
}

pub fn execute(args: SelftestArgs) -> u8 {
    let chosen: Vec<Arc<Spec>> = match super::setup::select(args.specs.as_ref(), &args.apis) {
        Ok(specs) => specs.into_iter().map(Arc::new).collect(),
        Err(code) => return code,
    };
    let deviations: Vec<Deviation> = chosen
        .iter()
        .flat_map(|s| catalogue(s))
        .filter(|d| args.only.as_ref().is_none_or(|t| d.id.contains(t.as_str())))
        .collect();
    if args.list {
        for d in &deviations {
            outln!(
                "{:<60} {}  [{}]",
                d.id,
                d.fault.describe(),
                expect(&d.expect)
            );
        }
        outln!("{} deviations", deviations.len());
        return exit::OK;
    }
    let opts = Options {
        seed: args.seed,
        concurrency: args.concurrency as usize,
        ..Options::default()
    };
    let started = Instant::now();
    let readings = args.only.is_none();
    let report = check::run_all(&chosen, &deviations, readings, &opts);
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: the self-test could not run: {e}");
            return exit::USAGE;
        }
    };
    out!("{}", render(&report));
    outln!("({:.1} s)", started.elapsed().as_secs_f64());
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|j| write_whole(path, &(j + "\n")).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit::USAGE;
        }
    }
    if report.passed() {
        exit::OK
    } else {
        exit::NONCONFORMANCE
    }
}

fn expect(e: &Expect) -> String {
    match e {
        Expect::Departure { rule } => format!("departure {rule}"),
        Expect::Inconsistent { ambiguity } => format!("{ambiguity} inconsistent"),
    }
}

/// The printed result: each deviation, each faithful target, the score.
fn render(report: &Report) -> String {
    let mut out = String::from("Deviations (each a fault in a model target):\n");
    for d in &report.deviations {
        let (mark, by) = match &d.caught_by {
            Some(by) => ("caught", by.clone()),
            None => {
                let seen: Vec<String> = d
                    .observed
                    .departures
                    .iter()
                    .map(|x| format!("{} [{}]", x.title, x.rule))
                    .take(3)
                    .collect();
                let seen = if seen.is_empty() {
                    "no departure".to_string()
                } else {
                    seen.join("; ")
                };
                (
                    "MISSED",
                    format!("wanted {}; saw {seen}", expect(&d.expect)),
                )
            }
        };
        let mark = if d.caught() && d.misnamed() {
            "EXTRA"
        } else {
            mark
        };
        out.push_str(&format!(
            "  {mark:<6}  {}  ({})\n          {by}\n",
            d.id,
            d.fault.describe()
        ));
        for x in &d.extra {
            out.push_str(&format!(
                "          and a departure the fault does not explain: {x}\n"
            ));
        }
    }
    out.push_str("\nFaithful targets (one reading of one ambiguity, in every call):\n");
    for r in &report.readings {
        let mark = if r.false_positive() { "FLAGGED" } else { "ok" };
        out.push_str(&format!(
            "  {mark:<7} {} {}={}: {}\n",
            r.api, r.ambiguity, r.reading, r.shown
        ));
        for why in r.flagged.iter().take(5) {
            out.push_str(&format!("          {why}\n"));
        }
    }
    out.push_str(&format!(
        "\nmutation score: {}/{} deviations caught ({:.1} %)\nmisnamed: {} of them showed a departure their fault does not explain\nfalse positives: {} of {} faithful targets flagged\n",
        report.caught(),
        report.deviations.len(),
        report.score(),
        report.misnamed(),
        report.false_positives(),
        report.readings.len()
    ));
    out
}
