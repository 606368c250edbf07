//! `imds-conform run`: the suite against the embedded emulator (default) or any
//! endpoint. Builds the run (a [`Plan`]: jobs, metadata endpoints for the data
//! plane), starts the reporters (the console [`Progress`] consumes the runner's
//! events), prints the seed and the summary, writes reports, and maps the outcome
//! to an exit code.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use globset::{Glob, GlobSet, GlobSetBuilder};
use imds_conform::emulator::imds::RunningImds;
use imds_conform::generate::Phase;
use imds_conform::report::console::{self, Counted, Progress};
use imds_conform::report::{RunMeta, RunReport, SigningMeta};
use imds_conform::runner::data_plane::ImdsEndpoints;
use imds_conform::runner::{self, ApiRun, RunConfig};
use imds_conform::spec::Spec;
use imds_conform::target;
use imds_conform::verdict::Summary;
use indicatif::ProgressDrawTarget;

use super::setup::{self, Embedded, Job};
use super::{exit, run_imds};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// APIs to run (default: all). Repeatable.
    #[arg(long = "api", value_name = "API")]
    apis: Vec<String>,
    /// An endpoint to test instead of the embedded emulator (moto, LocalStack, a
    /// real cloud): an http(s) URL. Needs exactly one --api and at least one --instance.
    #[arg(long, conflicts_with = "cloud", value_parser = super::EndpointParser)]
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
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Size of the random phase, per instance.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    cases: u32,
    /// Instances worked on at once, per API (embedded emulator: running fixtures).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(imds_conform::target::MAX_CONCURRENCY)))]
    concurrency: u32,
    /// Requests per second (default: unpaced against the emulator and loopback
    /// endpoints, 5 against any other endpoint). At least 0.01.
    #[arg(long, allow_negative_numbers = true, value_parser = super::parse_rate)]
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
    /// or the endpoint's host and port, `127.0.0.1:5000`).
    #[arg(long)]
    target_name: Option<String>,
    /// How long a change may stay pending before a settle sequence fails (default:
    /// 5 s on the emulator and loopback endpoints, 60 s elsewhere). A target whose
    /// changes never settle costs one timeout per API, not one per case.
    #[arg(long, allow_negative_numbers = true)]
    settle_timeout_secs: Option<u64>,
    /// Read the spec tables from this folder instead of the built-in ones.
    #[arg(long)]
    specs: Option<PathBuf>,
    /// The metadata endpoint of an instance under test, for the data-plane phase
    /// (`i-0123=http://127.0.0.1:8081`; an IPv6 host is its IPv6 endpoint).
    /// Repeatable. Automatic against the embedded emulator.
    #[arg(long = "imds", value_name = "INSTANCE=URL")]
    imds: Vec<String>,
    /// Run on a real instance, against itself: its id comes from its own metadata
    /// service; default phase data-plane (needs --cloud or --endpoint, one --api).
    #[arg(long = "self", conflicts_with = "instances")]
    self_instance: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PhaseArg {
    Coverage,
    Auth,
    Sequence,
    Random,
    DataPlane,
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

/// What one `run` does: the jobs (one per API), the target's name and pace, what
/// every job runs, and the metadata endpoints the data plane probes. Owns the
/// embedded emulator and its metadata listeners when there are some.
struct Plan {
    jobs: Vec<Job>,
    target_name: String,
    rate: Option<f64>,
    seed: u64,
    phases: Vec<Phase>,
    only: Option<GlobSet>,
    imds: ImdsEndpoints,
    server: Option<Embedded>,
    listeners: Vec<RunningImds>,
}

pub fn execute(args: RunArgs) -> u8 {
    match setup::runtime() {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(code) => code,
    }
}

/// Build the run, start the reporters, and map the outcome to an exit code.
async fn run(args: RunArgs) -> u8 {
    let mut plan = match Plan::build(&args).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let seed = plan.seed;
    outln!(
        "imds-conform {} — seed {seed} (rerun with --seed {seed})",
        env!("CARGO_PKG_VERSION")
    );
    let started_at = Utc::now();
    let put_back = Arc::new(AtomicBool::new(false));
    let cancel = cancel_on_ctrl_c(plan.at_risk(), put_back.clone());
    let results = plan.execute(&args, cancel.clone()).await;
    // Every worker has restored its instance (or said it could not).
    put_back.store(true, Ordering::SeqCst);
    for l in std::mem::take(&mut plan.listeners) {
        l.shutdown().await;
    }
    if let Some(server) = plan.server.take() {
        server.shutdown().await;
    }
    let (results, mut counted) = match results {
        Ok(r) => r,
        Err(code) => return code,
    };
    let not_restored = std::mem::take(&mut counted.not_restored);
    let interrupted = cancel.load(Ordering::SeqCst);
    let (reports, code) = plan.reports(results, counted, started_at, Utc::now());
    let code = finish(&args, &reports, code);
    if interrupted {
        // A partial run that found nothing wrong has not shown the target conforms.
        eprintln!("interrupted: the summary and reports cover only the cases judged before it");
    }
    if !not_restored.is_empty() {
        // Said again after the summary, where it cannot scroll away: the user's
        // instances are left changed. That outranks every other outcome.
        for line in &not_restored {
            eprintln!("error: {line}");
        }
        return exit::NOT_RESTORED;
    }
    if interrupted {
        return exit::INTERRUPTED;
    }
    code
}

impl Plan {
    /// The instances a run may leave changed if it stopped without restoring
    /// them (`aws-ec2 i-0abc…`): those of every job but the embedded emulator's.
    fn at_risk(&self) -> Vec<String> {
        setup::at_risk(&self.jobs)
    }

    async fn build(args: &RunArgs) -> Result<Plan, u8> {
        let selected = setup::select(args.specs.as_ref(), &args.apis)?;
        let only = build_globs(&args.only).map_err(|e| {
            eprintln!("error: --only: {e}");
            exit::USAGE
        })?;
        let imds = run_imds::endpoints_from_args(&args.imds).map_err(|e| {
            // A binding's URL as given may carry a password: not echoed.
            eprintln!("error: --imds: {}", imds_conform::verdict::redact::text(&e));
            exit::USAGE
        })?;
        let mut plan = Plan {
            jobs: Vec::new(),
            target_name: String::new(),
            rate: args.rate,
            seed: args.seed.unwrap_or_else(rand::random),
            phases: phases(&args.phases, args.self_instance),
            only,
            imds,
            server: None,
            listeners: Vec::new(),
        };
        match endpoint(args, &selected)? {
            Some(url) => {
                let instances = plan.discover_self(args, &selected).await?;
                plan.at_endpoint(args, &selected, &url, instances)?;
            }
            None if args.self_instance => {
                eprintln!("error: --self needs --cloud (or --endpoint) and exactly one --api");
                return Err(exit::USAGE);
            }
            // Probes sent to another server's metadata service while the embedded
            // emulator's instances are changed would fail the reference itself.
            None if !args.imds.is_empty() => {
                eprintln!(
                    "error: --imds names the metadata services of the instances at --endpoint \
                     (or --cloud); the embedded emulator's instances have their own, used \
                     automatically: drop --imds, or give the server those instances belong to \
                     with --endpoint"
                );
                return Err(exit::USAGE);
            }
            None => plan.on_emulator(args, &selected).await?,
        }
        Ok(plan)
    }

    /// The instances to change: `--instance`, or with `--self` the instance the
    /// suite runs on (its metadata service gives its id and becomes the endpoint
    /// the data plane probes).
    async fn discover_self(
        &mut self,
        args: &RunArgs,
        selected: &[Spec],
    ) -> Result<Vec<String>, u8> {
        if !args.self_instance {
            return Ok(args.instances.clone());
        }
        let [spec] = selected else {
            eprintln!("error: --self needs --cloud (or --endpoint) and exactly one --api");
            return Err(exit::USAGE);
        };
        let (id, endpoints) = run_imds::discover_self(spec, &args.imds)
            .await
            .map_err(|e| {
                eprintln!("error: --self: cannot find this instance's id: {e}");
                exit::USAGE
            })?;
        outln!("--self: this is instance {id}");
        self.imds = endpoints;
        Ok(vec![id])
    }

    /// One job against `url` (an endpoint or the real cloud) on `instances`;
    /// paced unless the endpoint is on this machine.
    fn at_endpoint(
        &mut self,
        args: &RunArgs,
        selected: &[Spec],
        url: &str,
        instances: Vec<String>,
    ) -> Result<(), u8> {
        let [spec] = selected else {
            eprintln!("error: --endpoint and --cloud need exactly one --api");
            return Err(exit::USAGE);
        };
        if instances.is_empty() {
            eprintln!(
                "error: --endpoint and --cloud need --instance ID (the instance the suite may change)"
            );
            return Err(exit::USAGE);
        }
        let mut job = Job::endpoint(spec, url, args.region.as_ref(), instances)?;
        // Instances with a metadata endpoint exist at the target too.
        job.known.extend(self.imds.0.keys().cloned());
        self.jobs.push(job);
        self.target_name = args
            .target_name
            .clone()
            .unwrap_or_else(|| target::default_name(url));
        self.rate = setup::endpoint_rate(args.rate, url);
        Ok(())
    }

    /// A job per API the embedded emulator serves, on its running instances.
    async fn on_emulator(&mut self, args: &RunArgs, selected: &[Spec]) -> Result<(), u8> {
        let server = Embedded::start().await?;
        for spec in selected {
            let mut none_running = None;
            let job = server.job(spec, args.region.as_ref(), |instances, region| {
                let chosen = if args.instances.is_empty() {
                    setup::running_in(instances, region, args.concurrency as usize)
                } else {
                    args.instances.clone()
                };
                if chosen.is_empty() {
                    none_running =
                        Some(setup::no_running_instance(&spec.api.id, region, instances));
                }
                chosen
            });
            if let Some(why) = none_running {
                // No case would run: an empty run must not read CONFORMS.
                eprintln!("error: {why}");
                return Err(exit::USAGE);
            }
            match job {
                Some(job) => self.jobs.push(job),
                None => eprintln!(
                    "note: the embedded emulator does not serve {}; skipped",
                    spec.api.id
                ),
            }
        }
        if self.jobs.is_empty() {
            let asked: Vec<&str> = selected.iter().map(|s| s.api.id.as_str()).collect();
            eprintln!(
                "error: the embedded emulator serves none of the APIs to run ({}); \
                 test them with --endpoint",
                asked.join(", ")
            );
            return Err(exit::USAGE);
        }
        if self.imds.0.is_empty() && self.phases.contains(&Phase::DataPlane) {
            let apis: Vec<&str> = self.jobs.iter().map(|j| j.spec.api.id.as_str()).collect();
            let (listeners, endpoints) = run_imds::embedded_listeners(server.running(), &apis)
                .await
                .map_err(|e| {
                    eprintln!("error: cannot start the embedded metadata services: {e}");
                    exit::USAGE
                })?;
            self.listeners = listeners;
            self.imds = endpoints;
        }
        self.server = Some(server);
        self.target_name = args
            .target_name
            .clone()
            .unwrap_or_else(|| "emulator".into());
        Ok(())
    }

    /// Run every job at once (its API's phases, then the data plane), the console
    /// reporter consuming their events. The results in job order, and what the
    /// reporter counted per API.
    async fn execute(
        &self,
        args: &RunArgs,
        cancel: Arc<AtomicBool>,
    ) -> Result<(Vec<ApiRun>, Counted), u8> {
        let mut configs = Vec::new();
        for job in &self.jobs {
            // The emulator and loopback endpoints settle in moments.
            let local = job.embedded || target::is_loopback(&job.url);
            configs.push(RunConfig {
                seed: self.seed,
                random_cases: args.cases,
                only: self.only.clone(),
                shard: args.shard,
                settle_timeout: Duration::from_secs(args.settle_timeout_secs.unwrap_or(if local {
                    5
                } else {
                    60
                })),
                settle_poll: Duration::from_millis(match (job.embedded, local) {
                    (true, _) => 20,
                    (false, true) => 100,
                    (false, false) => 1000,
                }),
                dry_run_first: args.dry_run_first,
                phases: self.phases.clone(),
                cancel: cancel.clone(),
                // Without a report only the failures are needed: passing cases are
                // counted from the events and dropped, so memory stays flat however
                // many cases run.
                keep_passing: args.report.is_some(),
                ..job.config(job.target(self.rate)?)
            });
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let data_plane = self.phases.contains(&Phase::DataPlane);
        let imds = &self.imds;
        let runs = futures::future::join_all(configs.into_iter().map(|c| {
            let tx = tx.clone();
            async move {
                // The cases judged before an error are kept: the report shows them,
                // marked incomplete.
                let mut run = runner::run_api_partial(c.clone(), tx.clone()).await;
                if data_plane && run.stopped_by.is_none() && !run.interrupted {
                    match runner::data_plane::run(&c, imds, &tx).await {
                        Ok(cases) => run.cases.extend(cases),
                        Err(e) => run.stopped_by = Some(e),
                    }
                    run.interrupted = runner::cancelled(&c);
                }
                run
            }
        }));
        drop(tx);
        let mut progress = Progress::new(ProgressDrawTarget::stderr(), std::io::stderr());
        let (results, ()) = tokio::join!(runs, progress.consume(rx));
        Ok((results, progress.finish()))
    }

    /// A report per job, marked incomplete when its run stopped early (an error, or
    /// Ctrl-C before its last case); the exit code of the errors.
    fn reports(
        &self,
        results: Vec<ApiRun>,
        mut counted: Counted,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> (Vec<RunReport>, u8) {
        let mut reports = Vec::new();
        let mut code = exit::OK;
        for (job, run) in self.jobs.iter().zip(results) {
            let meta = RunMeta {
                tool_version: env!("CARGO_PKG_VERSION").into(),
                api: job.spec.api.id.clone(),
                target: self.target_name.clone(),
                endpoint: job.url.clone(),
                region: job.region.clone(),
                instance: job.instances.join(","),
                seed: self.seed,
                started_at: started_at.to_rfc3339(),
                finished_at: finished_at.to_rfc3339(),
                signing: Some(SigningMeta::of(&job.spec.api)),
            };
            let api = &job.spec.api.id;
            let mut report = RunReport::new(meta, run.cases)
                .with_readings(counted.readings.remove(api).unwrap_or_default());
            if let Some(e) = &run.stopped_by {
                code = code.max(setup::run_error(e));
                // The error can echo the target's message (a string-to-sign…).
                let e = imds_conform::verdict::redact::text(&e.to_string());
                report = report.stopped_early(format!("stopped by an error: {e}"));
            } else if run.interrupted {
                report = report.stopped_early("interrupted");
            }
            reports.push(with_summary(report, counted.summaries.remove(api)));
        }
        // Nothing judged is no verdict. An API the phases and --only left no case
        // of is left out (a glob names one API's rules); when none has a case, the
        // run is a usage error.
        let judged_nothing = |r: &RunReport| r.summary.total == 0 && r.incomplete.is_none();
        if reports.iter().all(judged_nothing) {
            for r in &mut reports {
                eprintln!(
                    "error: {}: no case was judged: the phases and --only chose none that \
                     could run",
                    r.meta.api
                );
                r.incomplete = Some("no case was judged".into());
            }
            code = code.max(exit::USAGE);
        } else {
            reports.retain(|r| {
                if judged_nothing(r) {
                    eprintln!(
                        "{}: no case was judged (the phases and --only chose none): left out",
                        r.meta.api
                    );
                }
                !judged_nothing(r)
            });
        }
        (reports, code)
    }
}

/// Print the summary, write the reports, and the exit code: `code`, or
/// nonconformance when a report does not conform.
fn finish(args: &RunArgs, reports: &[RunReport], mut code: u8) -> u8 {
    if !reports.is_empty() {
        out!("{}", summary(reports));
    }
    if let Some(dir) = &args.report {
        match imds_conform::report::write::write_run(dir, reports) {
            Ok(_) => outln!("reports written to {}", dir.display()),
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                code = code.max(exit::USAGE);
            }
        }
    }
    if code == exit::OK && reports.iter().any(|r| !r.conforms()) {
        code = exit::NONCONFORMANCE;
    }
    code
}

/// The endpoint to test: `--endpoint`, the real cloud's for `--cloud`, or none
/// (the embedded emulator).
fn endpoint(args: &RunArgs, selected: &[Spec]) -> Result<Option<String>, u8> {
    match (&args.endpoint, args.cloud, selected) {
        (Some(url), _, _) => Ok(Some(url.clone())),
        (None, true, [spec]) => Ok(Some(
            spec.endpoint_for(&setup::region_or_default(args.region.as_ref(), spec)),
        )),
        (None, true, _) => {
            eprintln!("error: --cloud needs exactly one --api");
            Err(exit::USAGE)
        }
        (None, false, _) => Ok(None),
    }
}

/// `--phase`; by default every phase, or the data plane alone with `--self`.
fn phases(args: &[PhaseArg], self_instance: bool) -> Vec<Phase> {
    if args.is_empty() && self_instance {
        return vec![Phase::DataPlane];
    }
    if args.is_empty() {
        return vec![
            Phase::Coverage,
            Phase::Auth,
            Phase::Sequence,
            Phase::Random,
            Phase::DataPlane,
        ];
    }
    args.iter()
        .map(|p| match p {
            PhaseArg::Coverage => Phase::Coverage,
            PhaseArg::Auth => Phase::Auth,
            PhaseArg::Sequence => Phase::Sequence,
            PhaseArg::Random => Phase::Random,
            PhaseArg::DataPlane => Phase::DataPlane,
        })
        .collect()
}

/// A cancel flag raised by Ctrl-C: the runners finish the current case and
/// restore the instances. A second Ctrl-C (a restore waiting on a target that no
/// longer answers) stops the process at once, naming the instances `at_risk`
/// that may then keep options the run set — unless they were all `put_back`
/// already (the reports were being written): then it exits 130.
pub(super) fn cancel_on_ctrl_c(at_risk: Vec<String>, put_back: Arc<AtomicBool>) -> Arc<AtomicBool> {
    let cancel = runner::cancel_flag();
    let flag = cancel.clone();
    tokio::spawn(async move {
        let mut interrupts = Interrupts::listen();
        if !interrupts.next().await {
            return;
        }
        eprintln!(
            "\ninterrupted: finishing the current case and restoring the instances… \
             (Ctrl-C again stops at once, without restoring)"
        );
        flag.store(true, Ordering::SeqCst);
        if !interrupts.next().await {
            return;
        }
        if put_back.load(Ordering::SeqCst) {
            eprintln!(
                "interrupted again: stopped at once (the instances were already put back; \
                 the reports may be unwritten)"
            );
            std::process::exit(exit::INTERRUPTED.into());
        }
        if at_risk.is_empty() {
            eprintln!(
                "interrupted again: stopped at once (the embedded emulator's instances go with it)"
            );
            std::process::exit(exit::INTERRUPTED.into());
        }
        eprintln!(
            "interrupted again: stopped at once, without restoring; these instances may keep \
             options the run set: {}",
            at_risk.join(", ")
        );
        std::process::exit(exit::NOT_RESTORED.into());
    });
    cancel
}

/// Ctrl-C, as often as it comes. On Unix one SIGINT stream, so a second Ctrl-C
/// right after the first is not lost between two listeners.
struct Interrupts {
    #[cfg(unix)]
    stream: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    fn listen() -> Self {
        Interrupts {
            #[cfg(unix)]
            stream: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    /// Wait for the next Ctrl-C; `false` when none can be heard.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match &mut self.stream {
                Some(s) => s.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// The report with the verdicts counted from the events: without `--report` the
/// runner keeps only the failing cases, so the cases alone undercount.
fn with_summary(mut report: RunReport, counted: Option<Summary>) -> RunReport {
    if let Some(mut s) = counted {
        if s.total >= report.summary.total {
            s.departures = report.summary.departures;
            s.inconsistent_readings = report.summary.inconsistent_readings;
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

fn summary(reports: &[RunReport]) -> String {
    let mut out = console::summary_table(reports);
    for r in reports {
        out.push_str(&console::departure_lines(r, 30));
    }
    let readings: String = reports.iter().map(console::reading_lines).collect();
    if !readings.is_empty() {
        out.push_str("readings implemented:\n");
        out.push_str(&readings);
    }
    out
}
