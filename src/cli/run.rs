//! `imds-conform run`: the suite against the embedded emulator (default) or any
//! endpoint. Consumes the runner's events for the progress bar, prints the seed and
//! the summary, writes reports, and maps the result to an exit code.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use globset::{Glob, GlobSetBuilder};
use imds_conform::emulator::{self, EmulatorConfig};
use imds_conform::generate::Phase;
use imds_conform::report::{RunMeta, RunReport, SigningMeta};
use imds_conform::runner::{self, Event, RunConfig, RunError};
use imds_conform::spec::Spec;
use imds_conform::target::{self, Target, TargetConfig, TargetError};
use imds_conform::verdict::Summary;
use imds_conform::wire::Credentials;
use indicatif::{ProgressBar, ProgressStyle};

use super::exit;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// APIs to run (default: all). Repeatable.
    #[arg(long = "api", value_name = "API")]
    apis: Vec<String>,
    /// An endpoint to test instead of the embedded emulator (moto, LocalStack, a
    /// real cloud). Needs exactly one --api and at least one --instance.
    #[arg(long, conflicts_with = "cloud")]
    endpoint: Option<String>,
    /// Test the real cloud: the endpoint the spec table gives for --region
    /// (needs one --api, --instance and credentials in the environment).
    #[arg(long)]
    cloud: bool,
    /// Region (default: the table's default region, or the fixtures').
    #[arg(long)]
    region: Option<String>,
    /// The instance(s) the suite may change (id, or name for Lightsail). Their
    /// options are read first and restored at the end. Repeatable.
    #[arg(long = "instance", value_name = "ID")]
    instances: Vec<String>,
    /// Seed of the random phase (default: random; always printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Size of the random phase, per instance.
    #[arg(long, default_value_t = 100)]
    cases: u32,
    /// Instances worked on at once, per API (embedded emulator: running fixtures).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    concurrency: u32,
    /// Requests per second (default: unpaced against the emulator, 5 against an endpoint).
    #[arg(long)]
    rate: Option<f64>,
    /// Keep only cases whose rule matches this glob (`HttpTokens.*`). Repeatable.
    #[arg(long = "only", value_name = "GLOB")]
    only: Vec<String>,
    /// Run one shard of the deterministic cases: K/N (1-based), for CI matrices.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Write report.json, junit.xml, report.md and reproducers here.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Confirm permissions with a DryRun before changing anything (APIs with DryRun).
    #[arg(long)]
    dry_run_first: bool,
    /// Phases to run (default: all). Repeatable.
    #[arg(long = "phase", value_enum)]
    phases: Vec<PhaseArg>,
    /// A short name for the target in reports and matrices (default: emulator,
    /// or the endpoint's host).
    #[arg(long)]
    target_name: Option<String>,
    /// How long a change may stay pending before a settle sequence fails.
    #[arg(long, default_value_t = 60)]
    settle_timeout_secs: u64,
    /// Read the spec tables from this folder instead of the built-in ones.
    #[arg(long)]
    specs: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PhaseArg {
    Coverage,
    Auth,
    Sequence,
    Random,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/4")?;
    let k: usize = k.parse().map_err(|_| "K is not a number")?;
    let n: usize = n.parse().map_err(|_| "N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("{k}/{n}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

/// One API's job: its table and where and what to run it against.
struct Job {
    spec: Arc<Spec>,
    url: String,
    region: String,
    instances: Vec<String>,
    known: Vec<String>,
    credentials: Option<Credentials>,
}

pub fn execute(args: RunArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: RunArgs) -> u8 {
    let specs = match super::spec::load_specs(args.specs.as_ref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let selected: Vec<Spec> = if args.apis.is_empty() {
        specs
    } else {
        let mut out = Vec::new();
        for id in &args.apis {
            match specs.iter().find(|s| &s.api.id == id) {
                Some(s) => out.push(s.clone()),
                None => {
                    let known: Vec<_> = specs.iter().map(|s| s.api.id.as_str()).collect();
                    eprintln!("error: unknown --api {id:?} (known: {})", known.join(", "));
                    return exit::USAGE;
                }
            }
        }
        out
    };
    let only = match build_globs(&args.only) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: --only: {e}");
            return exit::USAGE;
        }
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let phases: Vec<Phase> = if args.phases.is_empty() {
        vec![Phase::Coverage, Phase::Auth, Phase::Sequence, Phase::Random]
    } else {
        args.phases
            .iter()
            .map(|p| match p {
                PhaseArg::Coverage => Phase::Coverage,
                PhaseArg::Auth => Phase::Auth,
                PhaseArg::Sequence => Phase::Sequence,
                PhaseArg::Random => Phase::Random,
            })
            .collect()
    };

    // The embedded emulator, unless an endpoint is given.
    let mut server = None;
    let endpoint = match (&args.endpoint, args.cloud, selected.as_slice()) {
        (Some(url), _, _) => Some(url.clone()),
        (None, true, [spec]) => {
            Some(spec.endpoint_for(args.region.as_deref().unwrap_or(&spec.api.default_region)))
        }
        (None, true, _) => {
            eprintln!("error: --cloud needs exactly one --api");
            return exit::USAGE;
        }
        (None, false, _) => None,
    };
    let (jobs, target_name, rate) = match &endpoint {
        Some(url) => {
            let [spec] = selected.as_slice() else {
                eprintln!("error: --endpoint and --cloud need exactly one --api");
                return exit::USAGE;
            };
            if args.instances.is_empty() {
                eprintln!(
                    "error: --endpoint and --cloud need --instance ID (the instance the suite may change)"
                );
                return exit::USAGE;
            }
            let Some(creds) = target::credentials_from_env(spec) else {
                eprintln!(
                    "error: no credentials for {} in the environment ({})",
                    spec.api.id,
                    spec.api.credentials.required()
                );
                return exit::USAGE;
            };
            let job = Job {
                spec: Arc::new(spec.clone()),
                url: url.clone(),
                region: args
                    .region
                    .clone()
                    .unwrap_or_else(|| spec.api.default_region.clone()),
                instances: args.instances.clone(),
                known: args.instances.clone(),
                credentials: Some(creds),
            };
            let name = args.target_name.clone().unwrap_or_else(|| host_of(url));
            (vec![job], name, Some(args.rate.unwrap_or(5.0)))
        }
        None => {
            let config = EmulatorConfig {
                // Short enough for the settle sequences to run in seconds.
                apply_delay: Duration::from_millis(50),
                ..EmulatorConfig::default()
            };
            let fixtures = config.fixtures.clone();
            let running = match emulator::start(config).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the embedded emulator: {e}");
                    return exit::USAGE;
                }
            };
            let url = running.url();
            let mut jobs = Vec::new();
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
                let chosen: Vec<String> = if args.instances.is_empty() {
                    instances
                        .iter()
                        .filter(|i| i.is_running() && i.region == region)
                        .take(args.concurrency as usize)
                        .map(|i| i.id.clone())
                        .collect()
                } else {
                    args.instances.clone()
                };
                jobs.push(Job {
                    spec: Arc::new(spec.clone()),
                    url: url.clone(),
                    region,
                    instances: chosen,
                    known: instances.iter().map(|i| i.id.clone()).collect(),
                    credentials: keys
                        .first()
                        .map(|k| Credentials::new(k.access_key_id.clone(), k.secret.clone())),
                });
            }
            server = Some(running);
            (
                jobs,
                args.target_name
                    .clone()
                    .unwrap_or_else(|| "emulator".into()),
                args.rate,
            )
        }
    };

    println!(
        "imds-conform {} — seed {seed} (rerun with --seed {seed})",
        env!("CARGO_PKG_VERSION")
    );
    let cancel = runner::cancel_flag();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: finishing the current case and restoring the instances…");
                cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let started_at = chrono::Utc::now();
    let mut configs = Vec::new();
    for job in &jobs {
        let mut tcfg =
            TargetConfig::for_spec(&job.spec, &job.url, &job.region, job.credentials.clone());
        tcfg.rate = rate;
        let target = match Target::new(tcfg) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        };
        configs.push(RunConfig {
            spec: job.spec.clone(),
            target,
            instances: job.instances.clone(),
            region: job.region.clone(),
            known_ids: job.known.clone(),
            seed,
            random_cases: args.cases,
            only: only.clone(),
            shard: args.shard,
            settle_timeout: Duration::from_secs(args.settle_timeout_secs),
            settle_poll: Duration::from_millis(if server.is_some() { 20 } else { 1000 }),
            dry_run_first: args.dry_run_first,
            phases: phases.clone(),
            cancel: cancel.clone(),
            // Without a report only the failures are needed: passing cases are
            // counted from the events and dropped, so memory stays flat however
            // many cases run.
            keep_passing: args.report.is_some(),
        });
    }
    let runs =
        futures::future::join_all(configs.into_iter().map(|c| runner::run_api(c, tx.clone())));
    drop(tx);
    let progress = progress_bar();
    let mut tally: std::collections::HashMap<String, Summary> = Default::default();
    let consume = async {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::ApiStarted { planned, .. } => progress.inc_length(planned as u64),
                Event::CaseFinished(r) => {
                    progress.inc(1);
                    tally.entry(r.api.clone()).or_default().add(&r.verdict);
                    if !r.verdict.is_pass() {
                        progress.set_message(format!("last failure: {}", r.id));
                    }
                }
                Event::Note { api, message } => {
                    // A hidden bar (not a terminal) swallows println: use stderr.
                    if progress.is_hidden() {
                        eprintln!("{api}: {message}");
                    } else {
                        progress.println(format!("{api}: {message}"));
                    }
                }
                Event::ApiFinished { .. } => {}
            }
        }
    };
    let (results, ()) = tokio::join!(runs, consume);
    progress.finish_and_clear();
    if let Some(s) = server {
        s.shutdown().await;
    }

    let finished_at = chrono::Utc::now();
    let mut reports = Vec::new();
    let mut code = exit::OK;
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(cases) => reports.push(with_summary(
                RunReport::new(
                    RunMeta {
                        tool_version: env!("CARGO_PKG_VERSION").into(),
                        api: job.spec.api.id.clone(),
                        target: target_name.clone(),
                        endpoint: job.url.clone(),
                        region: job.region.clone(),
                        instance: job.instances.join(","),
                        seed,
                        started_at: started_at.to_rfc3339(),
                        finished_at: finished_at.to_rfc3339(),
                        signing: Some(SigningMeta::of(&job.spec.api)),
                    },
                    cases,
                ),
                tally.remove(&job.spec.api.id),
            )),
            Err(RunError::Target(e @ TargetError::Unreachable { .. })) => {
                eprintln!("error: {e}");
                code = code.max(exit::UNREACHABLE);
            }
            Err(e @ RunError::Target(TargetError::NoCredentials(_))) => {
                eprintln!("error: {e}");
                code = code.max(exit::USAGE);
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = code.max(exit::USAGE);
            }
        }
    }
    if !reports.is_empty() {
        print!("{}", summary(&reports));
    }
    if let Some(dir) = &args.report {
        match imds_conform::report::write::write_run(dir, &reports) {
            Ok(_) => println!("reports written to {}", dir.display()),
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                code = code.max(exit::USAGE);
            }
        }
    }
    if code == exit::OK && reports.iter().any(|r| !r.summary.conforms()) {
        code = exit::NONCONFORMANCE;
    }
    code
}

/// The report with the verdicts counted from the events: without `--report` the
/// runner keeps only the failing cases, so the cases alone undercount.
fn with_summary(mut report: RunReport, counted: Option<Summary>) -> RunReport {
    if let Some(s) = counted {
        if s.total >= report.summary.total {
            report.summary = s;
        }
    }
    report
}

fn build_globs(patterns: &[String]) -> Result<Option<globset::GlobSet>, globset::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p)?);
    }
    b.build().map(Some)
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or(url)
        .to_string()
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} cases {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn summary(reports: &[RunReport]) -> String {
    let mut out = imds_conform::report::console::summary_table(reports);
    for r in reports {
        out.push_str(&imds_conform::report::console::failure_lines(r, 20));
    }
    out
}
