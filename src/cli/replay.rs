//! `imds-conform replay DIR CASE_ID`: send a recorded case again (re-signed now)
//! and say whether it is FIXED or STILL FAILING. A run against the embedded
//! emulator is replayed against a fresh embedded emulator; any other run against
//! its endpoint, with credentials from the environment.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use imds_conform::emulator::{self, EmulatorConfig};
use imds_conform::generate::{Case, Check, Phase};
use imds_conform::oracle::Auth;
use imds_conform::report::{self, RunReport};
use imds_conform::runner::{self, RunConfig, RunError};
use imds_conform::target::{self, Signing, Target, TargetConfig, TargetError};
use imds_conform::verdict::CaseResult;
use imds_conform::wire::{Call, Credentials};

use super::exit;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A report folder written by `run --report DIR` (or a report.json).
    dir: PathBuf,
    /// The case id, e.g. `aws-ec2/coverage/0042`.
    case: String,
    /// Send to this endpoint instead of the recorded one.
    #[arg(long)]
    endpoint: Option<String>,
}

/// Every report.json under `dir` (the folder itself and one level down).
fn reports(dir: &Path) -> Result<Vec<RunReport>, String> {
    if dir.is_file() {
        return report::json::read(dir)
            .map(|r| vec![r])
            .map_err(|e| e.to_string());
    }
    let mut paths = vec![dir.join("report.json")];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("report.json"))
            .collect();
        subs.sort();
        paths.extend(subs);
    }
    let found: Vec<RunReport> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| report::json::read(p).ok())
        .collect();
    if found.is_empty() {
        Err(format!("no report.json in {}", dir.display()))
    } else {
        Ok(found)
    }
}

fn signing_of(auth: Auth) -> Signing {
    match auth {
        Auth::Valid | Auth::NonceReused => Signing::Valid,
        Auth::Unsigned => Signing::Unsigned,
        Auth::BadSignature => Signing::CorruptSignature,
        Auth::UnknownAccessKey => Signing::UnknownKey,
        Auth::Expired => Signing::Expired,
    }
}

fn case_of(c: &CaseResult) -> Case {
    let phase = match c.phase.as_str() {
        "auth" => Phase::Auth,
        "sequence" => Phase::Sequence,
        "random" => Phase::Random,
        _ => Phase::Coverage,
    };
    let check = match (c.rule.as_str(), phase) {
        ("auth.nonce-reused", _) => Check::ReplayNonce,
        (_, Phase::Sequence) => Check::Settle,
        _ => Check::Single,
    };
    let seq =
        c.id.rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
    Case {
        seq,
        phase,
        rule: c.rule.clone(),
        title: c.title.clone(),
        call: Call {
            operation: c.operation.clone(),
            params: c.request.clone(),
        },
        signing: signing_of(c.auth),
        check,
    }
}

pub fn execute(args: ReplayArgs) -> u8 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(replay(args)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::USAGE
        }
    }
}

async fn replay(args: ReplayArgs) -> u8 {
    let found = match reports(&args.dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let Some((meta, recorded)) = found.iter().filter(|r| r.meta.api != "all").find_map(|r| {
        r.cases
            .iter()
            .find(|c| c.id == args.case)
            .map(|c| (r.meta.clone(), c.clone()))
    }) else {
        eprintln!("error: no case {:?} in {}", args.case, args.dir.display());
        return exit::USAGE;
    };
    if recorded.phase == "data-plane" {
        eprintln!(
            "error: {} probes a metadata service, not the API: run its reproducer (repro/*.sh) where that service is reachable",
            recorded.id
        );
        return exit::USAGE;
    }
    let spec = match imds_conform::spec::builtin_api(&meta.api) {
        Ok(Some(s)) => Arc::new(s),
        Ok(None) => {
            eprintln!("error: no spec table for {}", meta.api);
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    // The instance the case was aimed at: its target parameter when that names one
    // of the run's instances, else the run's first instance.
    let run_instances: Vec<&str> = meta.instance.split(',').collect();
    let named = spec
        .param_with_role(imds_conform::spec::Role::Target)
        .and_then(|p| recorded.request.iter().find(|q| q.name == p.name))
        .map(|q| q.value.as_query_text().to_string())
        .filter(|v| run_instances.contains(&v.as_str()));
    let instance = named.unwrap_or_else(|| {
        run_instances
            .first()
            .copied()
            .unwrap_or_default()
            .to_string()
    });
    let mut server = None;
    let (url, creds, known) = match (&args.endpoint, meta.target.as_str()) {
        (None, "emulator") => {
            let config = EmulatorConfig {
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
            let Some((instances, keys)) = fixtures.for_api(&meta.api) else {
                eprintln!("error: the embedded emulator does not serve {}", meta.api);
                return exit::USAGE;
            };
            let creds = keys
                .first()
                .map(|k| Credentials::new(k.access_key_id.clone(), k.secret.clone()));
            let known = instances.iter().map(|i| i.id.clone()).collect();
            let url = running.url();
            server = Some(running);
            (url, creds, known)
        }
        (endpoint, _) => (
            endpoint.clone().unwrap_or_else(|| meta.endpoint.clone()),
            target::credentials_from_env(&spec),
            vec![instance.clone()],
        ),
    };
    let target = match Target::new(TargetConfig::for_spec(&spec, &url, &meta.region, creds)) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let cfg = RunConfig {
        spec,
        target,
        instances: vec![instance.clone()],
        region: meta.region.clone(),
        known_ids: known,
        seed: meta.seed,
        random_cases: 0,
        only: None,
        shard: None,
        settle_timeout: Duration::from_secs(60),
        settle_poll: Duration::from_millis(200),
        dry_run_first: false,
        phases: Vec::new(),
        cancel: runner::cancel_flag(),
        keep_passing: true,
    };
    let result = runner::replay(&cfg, &instance, &case_of(&recorded)).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    match result {
        Ok(now) => {
            println!("{} {} [{}]", now.id, now.title, now.rule);
            println!(
                "  was: {} {}",
                recorded.verdict.name(),
                report::text::reason(&recorded.verdict).unwrap_or("")
            );
            println!("  now: {}", report::text::actual(&now.actual));
            if now.verdict.is_pass() {
                println!("FIXED");
                exit::OK
            } else {
                println!(
                    "STILL FAILING: {}",
                    report::text::reason(&now.verdict).unwrap_or("could not be judged")
                );
                exit::NONCONFORMANCE
            }
        }
        Err(RunError::Target(e @ TargetError::Unreachable { .. })) => {
            eprintln!("error: {e}");
            exit::UNREACHABLE
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}
