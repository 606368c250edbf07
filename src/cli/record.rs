//! `imds-conform record --target T --out DIR`: run the coverage phase against one
//! target (the embedded emulator, or an endpoint such as a real cloud) and write
//! the normalized outcome of every case, one file per API (`DIR/<api>.json`).
//! `imds-conform verify` compares another target with such a recording.
//!
//! The target options ([`TargetArgs`]) and the coverage run are shared with `verify`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use imds_conform::generate::Phase;
use imds_conform::report::recording::{self, Recording};
use imds_conform::runner::{self, Event, RunConfig};
use imds_conform::spec::Spec;
use imds_conform::verdict::{redact, CaseResult};

use super::exit;
use super::setup::{self, Embedded, Job};

/// Which target to run the coverage phase against.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A short name for the target (`aws`, `moto`…). `emulator` without --endpoint
    /// is the embedded emulator.
    #[arg(long = "target", value_name = "NAME", default_value = "emulator")]
    pub target: String,
    /// The target's endpoint (needs exactly one --api and --instance).
    #[arg(long, value_parser = super::EndpointParser)]
    pub endpoint: Option<String>,
    /// APIs (default: all, or the recording's). Repeatable.
    #[arg(long = "api", value_name = "API")]
    pub apis: Vec<String>,
    /// The instance the cases may change (read first, restored at the end).
    #[arg(long, value_name = "ID")]
    pub instance: Option<String>,
    /// Region (default: the table's default region).
    #[arg(long)]
    pub region: Option<String>,
    /// Requests per second (default: unpaced against the emulator and loopback
    /// endpoints, 5 against any other endpoint). At least 0.01.
    #[arg(long, allow_negative_numbers = true, value_parser = super::parse_rate)]
    pub rate: Option<f64>,
    /// Read the spec tables from this folder instead of the built-in ones.
    #[arg(long)]
    pub specs: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write `<api>.json` recordings here.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// One API's coverage phase against the target.
pub struct Coverage {
    pub spec: Arc<Spec>,
    pub instance: String,
    /// The region the cases were sent in.
    pub region: String,
    /// The instances the run could not put back as it found them, in words.
    pub not_restored: Vec<String>,
    pub cases: Vec<CaseResult>,
}

impl Coverage {
    pub fn api(&self) -> &str {
        &self.spec.api.id
    }

    pub fn recording(&self, target: &str) -> Recording {
        Recording::from_cases(&self.spec, target, &self.instance, &self.cases)
            .in_region(&self.region)
    }
}

/// Run the coverage phase for `apis` (all when empty) against the target, one
/// instance per API, so the case order and the instance's history are fixed.
pub async fn run_coverage(args: &TargetArgs, apis: &[String]) -> Result<Vec<Coverage>, u8> {
    let selected = setup::select(args.specs.as_ref(), apis)?;
    match &args.endpoint {
        Some(url) => {
            let [spec] = selected.as_slice() else {
                eprintln!("error: --endpoint needs exactly one --api");
                return Err(exit::USAGE);
            };
            let Some(instance) = args.instance.clone() else {
                eprintln!(
                    "error: --endpoint needs --instance ID (the instance the suite may change)"
                );
                return Err(exit::USAGE);
            };
            let job = Job::endpoint(spec, url, args.region.as_ref(), vec![instance])?;
            cover(vec![job], setup::endpoint_rate(args.rate, url)).await
        }
        None => {
            let server = Embedded::start().await?;
            let result = match emulator_jobs(args, &selected, &server) {
                Ok(jobs) => cover(jobs, args.rate).await,
                Err(code) => Err(code),
            };
            server.shutdown().await;
            result
        }
    }
}

/// A job per API the embedded emulator serves: `--instance`, or its first running
/// instance in the region.
fn emulator_jobs(args: &TargetArgs, selected: &[Spec], server: &Embedded) -> Result<Vec<Job>, u8> {
    let mut jobs = Vec::new();
    for spec in selected {
        let mut none_running = None;
        let job = server.job(spec, args.region.as_ref(), |instances, region| {
            let chosen = match &args.instance {
                Some(i) => vec![i.clone()],
                None => setup::running_in(instances, region, 1),
            };
            if chosen.is_empty() {
                none_running = Some(setup::no_running_instance(&spec.api.id, region, instances));
            }
            chosen
        });
        if let Some(why) = none_running {
            eprintln!("error: {why}");
            return Err(exit::USAGE);
        }
        let Some(job) = job else {
            eprintln!(
                "note: the embedded emulator does not serve {}; skipped",
                spec.api.id
            );
            continue;
        };
        jobs.push(job);
    }
    Ok(jobs)
}

/// The coverage phase of each job in turn, on its one instance.
/// Ctrl-C finishes the current case and puts the instance back, as in `run`; the
/// coverage is then incomplete, so nothing is recorded or compared (exit 130).
async fn cover(jobs: Vec<Job>, rate: Option<f64>) -> Result<Vec<Coverage>, u8> {
    let put_back = Arc::new(AtomicBool::new(false));
    let cancel = super::run::cancel_on_ctrl_c(setup::at_risk(&jobs), put_back.clone());
    let covered = cover_each(jobs, rate, &cancel).await;
    put_back.store(true, Ordering::SeqCst);
    match covered {
        Ok(runs) if cancel.load(Ordering::SeqCst) => {
            eprintln!(
                "interrupted: the coverage phase is incomplete; nothing recorded or compared"
            );
            // An instance it could not put back outranks the interruption (exit 4).
            let left: Vec<String> = runs.into_iter().flat_map(|r| r.not_restored).collect();
            Err(if say_not_restored(&left) {
                exit::NOT_RESTORED
            } else {
                exit::INTERRUPTED
            })
        }
        other => other,
    }
}

async fn cover_each(
    jobs: Vec<Job>,
    rate: Option<f64>,
    cancel: &Arc<AtomicBool>,
) -> Result<Vec<Coverage>, u8> {
    let mut out = Vec::new();
    for job in jobs {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let cfg = RunConfig {
            phases: vec![Phase::Coverage],
            cancel: cancel.clone(),
            ..job.config(job.target(rate)?)
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // The instances the run could not put back (the rest of its events are
        // for a console this command does not show).
        let drain = tokio::spawn(async move {
            let mut left = Vec::new();
            while let Some(event) = rx.recv().await {
                if let Some(line) = not_put_back(event) {
                    left.push(line);
                }
            }
            left
        });
        let result = runner::run_api(cfg, tx).await;
        let not_restored = drain.await.unwrap_or_default();
        let cases = match result {
            Ok(cases) => cases,
            Err(e) => {
                let code = setup::run_error(&e);
                return Err(if say_not_restored(&not_restored) {
                    exit::NOT_RESTORED
                } else {
                    code
                });
            }
        };
        let instance = job.instances.into_iter().next().unwrap_or_default();
        out.push(Coverage {
            spec: job.spec,
            instance,
            region: job.region,
            not_restored,
            cases,
        });
    }
    Ok(out)
}

/// An instance the run could not put back, in words (as `run` says it).
fn not_put_back(event: Event) -> Option<String> {
    match event {
        Event::NotRestored {
            api,
            instance,
            reason,
            original,
        } => Some(redact::text(&format!(
            "{api}: {instance} was NOT put back as it was ({reason}); its options before \
             the run: {original}"
        ))),
        _ => None,
    }
}

/// Say each instance left changed; whether there was one (exit 4, which outranks
/// every other code).
pub fn say_not_restored(lines: &[String]) -> bool {
    for line in lines {
        eprintln!("error: {line}");
    }
    !lines.is_empty()
}

pub fn execute(args: RecordArgs) -> u8 {
    let rt = match setup::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let runs = match rt.block_on(run_coverage(&args.target, &args.target.apis)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    for run in &runs {
        let rec = run.recording(&args.target.target);
        match recording::write(&args.out, &rec) {
            Ok(path) => outln!(
                "{}: {} coverage cases of {} recorded to {}",
                run.api(),
                rec.cases.len(),
                args.target.target,
                path.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    }
    let left: Vec<String> = runs.iter().flat_map(|r| r.not_restored.clone()).collect();
    if say_not_restored(&left) {
        return exit::NOT_RESTORED;
    }
    exit::OK
}
