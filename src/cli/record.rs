//! `imds-conform record --target T --out DIR`: run the coverage phase against one
//! target (the embedded emulator, or an endpoint such as a real cloud) and write
//! the normalized outcome of every case, one file per API (`DIR/<api>.json`).
//! `imds-conform verify` compares another target with such a recording.
//!
//! The target options ([`TargetArgs`]) and the coverage run are shared with `verify`.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use imds_conform::emulator::{self, EmulatorConfig};
use imds_conform::generate::Phase;
use imds_conform::report::recording::{self, Recording};
use imds_conform::runner::{self, RunConfig, RunError};
use imds_conform::spec::Spec;
use imds_conform::target::{self, Target, TargetConfig, TargetError};
use imds_conform::verdict::CaseResult;
use imds_conform::wire::Credentials;

use super::exit;

/// Which target to run the coverage phase against.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A short name for the target (`aws`, `moto`…). `emulator` without --endpoint
    /// is the embedded emulator.
    #[arg(long = "target", value_name = "NAME", default_value = "emulator")]
    pub target: String,
    /// The target's endpoint (needs exactly one --api and --instance).
    #[arg(long)]
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
    /// Requests per second (default: unpaced against the emulator, 5 against an endpoint).
    #[arg(long)]
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
    pub cases: Vec<CaseResult>,
}

impl Coverage {
    pub fn api(&self) -> &str {
        &self.spec.api.id
    }

    pub fn recording(&self, target: &str) -> Recording {
        Recording::from_cases(&self.spec, target, &self.instance, &self.cases)
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::USAGE
        })
}

/// One API's coverage run: its table, where, and on which instance.
struct Job {
    spec: Arc<Spec>,
    url: String,
    region: String,
    instance: String,
    /// Ids that exist at the target.
    known: Vec<String>,
    creds: Option<Credentials>,
}

/// Select the spec tables for `apis` (all when empty).
fn select(args: &TargetArgs, apis: &[String]) -> Result<Vec<Spec>, u8> {
    let specs = super::spec::load_specs(args.specs.as_ref())?;
    if apis.is_empty() {
        return Ok(specs);
    }
    let mut out = Vec::new();
    for id in apis {
        match specs.iter().find(|s| &s.api.id == id) {
            Some(s) => out.push(s.clone()),
            None => {
                let known: Vec<_> = specs.iter().map(|s| s.api.id.as_str()).collect();
                eprintln!("error: unknown --api {id:?} (known: {})", known.join(", "));
                return Err(exit::USAGE);
            }
        }
    }
    Ok(out)
}

/// Run the coverage phase for `apis` (all when empty) against the target, one
/// instance per API, so the case order and the instance's history are fixed.
pub async fn run_coverage(args: &TargetArgs, apis: &[String]) -> Result<Vec<Coverage>, u8> {
    let selected = select(args, apis)?;
    let mut server = None;
    let mut jobs: Vec<Job> = Vec::new();
    let rate;
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
            let Some(creds) = target::credentials_from_env(spec) else {
                eprintln!(
                    "error: no credentials for {} in the environment",
                    spec.api.id
                );
                return Err(exit::USAGE);
            };
            let region = args
                .region
                .clone()
                .unwrap_or_else(|| spec.api.default_region.clone());
            jobs.push(Job {
                spec: Arc::new(spec.clone()),
                url: url.clone(),
                region,
                instance: instance.clone(),
                known: vec![instance],
                creds: Some(creds),
            });
            rate = Some(args.rate.unwrap_or(5.0));
        }
        None => {
            let config = EmulatorConfig {
                apply_delay: Duration::from_millis(50),
                ..EmulatorConfig::default()
            };
            let fixtures = config.fixtures.clone();
            let running = emulator::start(config).await.map_err(|e| {
                eprintln!("error: cannot start the embedded emulator: {e}");
                exit::USAGE
            })?;
            for spec in &selected {
                let Some((instances, keys)) = fixtures.for_api(&spec.api.id) else {
                    eprintln!(
                        "note: the embedded emulator does not serve {}; skipped",
                        spec.api.id
                    );
                    continue;
                };
                let region = args
                    .region
                    .clone()
                    .unwrap_or_else(|| spec.api.default_region.clone());
                let instance = match &args.instance {
                    Some(i) => i.clone(),
                    None => match instances
                        .iter()
                        .find(|i| i.is_running() && i.region == region)
                    {
                        Some(i) => i.id.clone(),
                        None => {
                            eprintln!(
                                "error: the emulator has no running {} instance in {region}",
                                spec.api.id
                            );
                            return Err(exit::USAGE);
                        }
                    },
                };
                jobs.push(Job {
                    spec: Arc::new(spec.clone()),
                    url: running.url(),
                    region,
                    instance,
                    known: instances.iter().map(|i| i.id.clone()).collect(),
                    creds: keys
                        .first()
                        .map(|k| Credentials::new(k.access_key_id.clone(), k.secret.clone())),
                });
            }
            server = Some(running);
            rate = args.rate;
        }
    }
    let mut out = Vec::new();
    let mut code = exit::OK;
    for Job {
        spec,
        url,
        region,
        instance,
        known,
        creds,
    } in jobs
    {
        let mut tcfg = TargetConfig::for_spec(&spec, &url, &region, creds);
        tcfg.rate = rate;
        let target = match Target::new(tcfg) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::USAGE;
                break;
            }
        };
        let cfg = RunConfig {
            spec: spec.clone(),
            target,
            instances: vec![instance.clone()],
            region,
            known_ids: known,
            seed: 0,
            random_cases: 0,
            only: None,
            shard: None,
            settle_timeout: Duration::from_secs(60),
            settle_poll: Duration::from_millis(if server.is_some() { 20 } else { 1000 }),
            dry_run_first: false,
            phases: vec![Phase::Coverage],
            cancel: runner::cancel_flag(),
            keep_passing: true,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let result = runner::run_api(cfg, tx).await;
        let _ = drain.await;
        match result {
            Ok(cases) => out.push(Coverage {
                spec,
                instance,
                cases,
            }),
            Err(RunError::Target(e @ TargetError::Unreachable { .. })) => {
                eprintln!("error: {e}");
                code = exit::UNREACHABLE;
                break;
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = exit::USAGE;
                break;
            }
        }
    }
    if let Some(s) = server {
        s.shutdown().await;
    }
    if code == exit::OK {
        Ok(out)
    } else {
        Err(code)
    }
}

pub fn execute(args: RecordArgs) -> u8 {
    let rt = match runtime() {
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
            Ok(path) => println!(
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
    exit::OK
}
