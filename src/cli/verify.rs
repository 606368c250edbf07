//! `imds-conform verify`: compare against what is known.
//!
//! * `verify --against DIR --target U [target options]` runs the coverage phase
//!   against target U and compares each case's normalized outcome with the
//!   recording in DIR (`imds-conform record`), printing a diff per difference.
//! * `verify --report REPORT.json` takes the failing cases of a run's report.
//!
//! With `--baseline FILE` (the known differences, `baselines/<target>.json`) it
//! exits 0 when the differences are exactly the known ones and 1 listing the new
//! ones and the ones that went away; `--write-baseline` writes FILE from this run.
//! Without a baseline it exits 1 on any difference (or failing case).
use std::path::PathBuf;

use clap::Args;
use imds_conform::report::baseline::{self, Baseline, Entry};
use imds_conform::report::recording::{self, Divergence};
use imds_conform::report::{self, text};

use super::exit;
use super::record::{run_coverage, say_not_restored, TargetArgs};
use super::setup::runtime;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A folder of recordings (`record --out DIR`) to compare the target with.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "report",
        required_unless_present = "report"
    )]
    against: Option<PathBuf>,
    /// Check a run's report (report.json, or the folder holding it) instead: its
    /// failing cases against the baseline.
    #[arg(long, value_name = "REPORT")]
    report: Option<PathBuf>,
    #[command(flatten)]
    target: TargetArgs,
    /// Known differences (`baselines/<target>.json`): fail only on a change.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the differences found to --baseline FILE (and exit 0).
    #[arg(long, requires = "baseline")]
    write_baseline: bool,
    /// Print at most this many diffs (0: none; every difference is still listed).
    #[arg(long, default_value_t = 200, allow_negative_numbers = true)]
    max_diffs: usize,
}

pub fn execute(args: VerifyArgs) -> u8 {
    let (found, not_restored) = match &args.report {
        Some(path) => (from_report(path, args.target.specs.as_ref()), Vec::new()),
        None => match against(&args) {
            Ok((found, left)) => (Ok(found), left),
            Err(code) => (Err(code), Vec::new()),
        },
    };
    let code = match found {
        Ok(found) => decide(&args, found),
        Err(code) => code,
    };
    // An instance left changed is said last, and its code outranks the others.
    if say_not_restored(&not_restored) {
        exit::NOT_RESTORED
    } else {
        code
    }
}

/// The differences found, against the baseline if there is one: the exit code.
fn decide(args: &VerifyArgs, (target, kind, entries): Found) -> u8 {
    let Some(path) = &args.baseline else {
        return if entries.is_empty() {
            outln!("no differences");
            exit::OK
        } else {
            outln!("{} difference(s)", entries.len());
            exit::NONCONFORMANCE
        };
    };
    if args.write_baseline {
        let b = Baseline::new(&target, kind, entries);
        return match baseline::write(path, &b) {
            Ok(()) => {
                outln!(
                    "baseline written to {} ({} entries)",
                    path.display(),
                    b.entries.len()
                );
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::USAGE
            }
        };
    }
    let known = match baseline::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if known.kind != kind {
        eprintln!(
            "error: {} holds {} entries, this check makes {kind} entries",
            path.display(),
            known.kind
        );
        return exit::USAGE;
    }
    let check = baseline::check(&known, &entries);
    out!("{}", baseline::describe(&check));
    if check.unchanged() {
        outln!(
            "UNCHANGED: the differences are the known ones ({})",
            path.display()
        );
        exit::OK
    } else {
        outln!(
            "CHANGED: {} new, {} gone; if intended, rerun with --write-baseline",
            check.new.len(),
            check.gone.len()
        );
        exit::NONCONFORMANCE
    }
}

/// The target's name, the kind of baseline entries, and the entries.
type Found = (String, &'static str, Vec<Entry>);

/// The departures of a report (its failing cases, for a report without them) as
/// baseline entries, normalized with the `[volatile]` facts of the tables.
fn from_report(path: &std::path::Path, specs: Option<&PathBuf>) -> Result<Found, u8> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let r = report::json::read(&file).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    if let Some(why) = &r.incomplete {
        // Its departures are those found before it stopped: compared with a
        // baseline, the missing ones would read as gone; written as one, they
        // would be forgotten.
        eprintln!(
            "error: {}: INCOMPLETE, the run stopped early ({}); it is neither checked \
             against a baseline nor written as one",
            file.display(),
            text::one_line(why)
        );
        return Err(exit::NONCONFORMANCE);
    }
    let specs = super::spec::load_specs(specs)?;
    let failing = r.cases.iter().filter(|c| !c.verdict.is_pass()).count();
    let (kind, entries, what) = if r.departures.is_empty() && failing > 0 {
        let entries = baseline::from_failures(&r, &specs);
        let what = format!(
            "{} failing (no departures: compared case by case)",
            entries.len()
        );
        ("failure", entries, what)
    } else {
        let entries = baseline::from_departures(&r, &specs);
        let what = format!(
            "{failing} failing, {} departure(s) and inconsistent reading(s)",
            entries.len()
        );
        ("departure", entries, what)
    };
    outln!(
        "{}: {} cases of {} @ {}, {what}",
        file.display(),
        r.cases.len(),
        r.meta.api,
        r.meta.target,
    );
    Ok((r.meta.target.clone(), kind, entries))
}

/// Run the target and compare it with the recordings; also the instances the run
/// could not put back, in words.
fn against(args: &VerifyArgs) -> Result<(Found, Vec<String>), u8> {
    let dir = args.against.as_ref().ok_or(exit::USAGE)?;
    let folder = recording::read_folder(dir).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let recorded: Vec<_> = folder
        .recordings
        .into_iter()
        .filter(|r| args.target.apis.is_empty() || args.target.apis.contains(&r.api))
        .collect();
    if recorded.is_empty() {
        eprintln!(
            "error: no recording{} in {}",
            if args.target.apis.is_empty() {
                String::new()
            } else {
                format!(" of {}", args.target.apis.join(", "))
            },
            dir.display()
        );
        for why in &folder.skipped {
            eprintln!("  passed over {why}");
        }
        return Err(exit::USAGE);
    }
    let apis: Vec<String> = recorded.iter().map(|r| r.api.clone()).collect();
    same_regions(args, &recorded, &apis)?;
    let rt = runtime()?;
    let runs = rt.block_on(run_coverage(&args.target, &apis))?;
    let mut entries = Vec::new();
    let mut shown = 0;
    for run in &runs {
        let Some(reference) = recorded.iter().find(|r| r.api == run.api()) else {
            continue;
        };
        let now = run.recording(&args.target.target);
        let divergences = recording::compare(reference, &now);
        outln!(
            "{}: {} cases, {} differ from {} ({})",
            run.api(),
            now.cases.len(),
            divergences.len(),
            reference.target,
            dir.display()
        );
        for d in &divergences {
            print_divergence(
                d,
                &reference.target,
                &args.target.target,
                shown < args.max_diffs,
            );
            shown += 1;
        }
        entries.extend(baseline::from_divergences(&divergences));
    }
    let left = runs.iter().flat_map(|r| r.not_restored.clone()).collect();
    Ok(((args.target.target.clone(), "divergence", entries), left))
}

/// Refuse, before the target is touched, a recording whose requests name another
/// region than the one it would be verified in (each case would differ).
fn same_regions(
    args: &VerifyArgs,
    recorded: &[recording::Recording],
    apis: &[String],
) -> Result<(), u8> {
    let specs = super::setup::select(args.target.specs.as_ref(), apis)?;
    let mut refused = false;
    for (rec, spec) in recorded.iter().zip(&specs) {
        let region = super::setup::region_or_default(args.target.region.as_ref(), spec);
        if let Some(why) = recording::other_region(rec, spec, &region) {
            eprintln!("error: {why}");
            refused = true;
        }
    }
    if refused {
        Err(exit::USAGE)
    } else {
        Ok(())
    }
}

fn print_divergence(d: &Divergence, reference: &str, target: &str, with_diff: bool) {
    outln!(
        "\nDIFFERS  {}  {}  [{}]  {}",
        d.id,
        text::one_line(&d.title),
        d.rule,
        d.short()
    );
    if !with_diff {
        return;
    }
    let recorded = format!("{reference} (recorded)");
    match d.request_diff(&format!("{recorded} request"), "request sent now") {
        Some(diff) => {
            for line in diff.lines() {
                outln!("  {line}");
            }
            if d.expected == d.actual {
                return;
            }
        }
        None => outln!("  request: {}", text::one_line(&text::params(&d.request))),
    }
    for line in d.diff(&recorded, target).lines() {
        outln!("  {line}");
    }
}
