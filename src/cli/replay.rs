//! `imds-conform replay DIR CASE_ID`: send a recorded case again (re-signed now)
//! and say whether it is FIXED or STILL FAILING. A run against the embedded
//! emulator is replayed against a fresh embedded emulator; any other run against
//! its endpoint, with credentials from the environment.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use imds_conform::generate::{Case, Check, Phase};
use imds_conform::oracle::Auth;
use imds_conform::oracle::Options;
use imds_conform::report::{self, RunMeta, RunReport};
use imds_conform::runner::{Restored, RunConfig, RunError, Session};
use imds_conform::spec::{Role, Spec};
use imds_conform::target::{self, Signing};
use imds_conform::verdict::{redact, CaseResult};
use imds_conform::wire::Call;

use super::exit;
use super::setup::{self, Embedded, Job};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A report folder written by `run --report DIR` (or a report.json).
    dir: PathBuf,
    /// The case id, e.g. `aws-ec2/coverage/0042`.
    case: String,
    /// Send to this endpoint instead of the recorded one.
    #[arg(long, value_parser = super::EndpointParser)]
    endpoint: Option<String>,
}

/// Every report.json under `dir` (the folder itself and one level down), and why
/// each one that cannot be read (truncated, another format) could not be.
fn reports(dir: &Path) -> (Vec<RunReport>, Vec<String>) {
    let read = |p: &Path| report::json::read(p).map_err(|e| format!("cannot read the report {e}"));
    let mut paths = vec![dir.to_path_buf()];
    if !dir.is_file() {
        paths = vec![dir.join("report.json")];
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut subs: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("report.json"))
                .collect();
            subs.sort();
            paths.extend(subs);
        }
    }
    let (mut found, mut unreadable) = (Vec::new(), Vec::new());
    for p in paths.iter().filter(|p| p.is_file()) {
        match read(p) {
            Ok(r) => found.push(r),
            Err(e) => unreadable.push(e),
        }
    }
    (found, unreadable)
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
    match setup::runtime() {
        Ok(rt) => rt.block_on(replay(args)).unwrap_or_else(|code| code),
        Err(code) => code,
    }
}

/// Find the case, set up its target, send it again and say FIXED or STILL FAILING.
async fn replay(args: ReplayArgs) -> Result<u8, u8> {
    let (meta, recorded) = find_case(&args)?;
    if recorded.phase == "data-plane" {
        eprintln!(
            "error: {} probes a metadata service, not the API: run its reproducer (repro/*.sh) where that service is reachable",
            recorded.id
        );
        return Err(exit::USAGE);
    }
    let spec = table(&meta.api)?;
    let instance = instance_of(&spec, &meta, &recorded);
    let mut server = None;
    let job = match (&args.endpoint, meta.target.as_str()) {
        (None, "emulator") => {
            let embedded = Embedded::start().await?;
            let job = embedded.job(&spec, Some(&meta.region), |_, _| vec![instance.clone()]);
            server = Some(embedded);
            job
        }
        (endpoint, _) => Some(Job {
            url: endpoint.clone().unwrap_or_else(|| meta.endpoint.clone()),
            region: meta.region.clone(),
            instances: vec![instance.clone()],
            known: vec![instance.clone()],
            credentials: target::credentials_from_env(&spec),
            embedded: false,
            spec: Arc::new(spec),
        }),
    };
    let result = match job {
        Some(job) => {
            // Ctrl-C lets the one case finish and the instance be put back first.
            let put_back = Arc::new(AtomicBool::new(false));
            let at_risk = setup::at_risk(std::slice::from_ref(&job));
            let _cancel = super::run::cancel_on_ctrl_c(at_risk, put_back.clone());
            let result = send_again(&job, &meta, &recorded).await;
            put_back.store(true, Ordering::SeqCst);
            result
        }
        None => {
            eprintln!("error: the embedded emulator does not serve {}", meta.api);
            Err(exit::USAGE)
        }
    };
    if let Some(s) = server {
        s.shutdown().await;
    }
    result
}

/// The run that holds the case (combined reports are skipped), and the case.
fn find_case(args: &ReplayArgs) -> Result<(RunMeta, CaseResult), u8> {
    let (found, unreadable) = reports(&args.dir);
    let case = found
        .iter()
        .filter(|r| r.meta.api != imds_conform::report::ALL_APIS)
        .find_map(|r| {
            r.cases
                .iter()
                .find(|c| c.id == args.case)
                .map(|c| (r.meta.clone(), c.clone()))
        });
    match case {
        // Found: a report that cannot be read elsewhere in the folder is said, not
        // in the way.
        Some(case) => {
            for e in &unreadable {
                eprintln!("note: {e}");
            }
            Ok(case)
        }
        // The case may be in a report that cannot be read: say why, each.
        None if !unreadable.is_empty() => {
            for e in &unreadable {
                eprintln!("error: {e}");
            }
            Err(exit::USAGE)
        }
        None if found.is_empty() => {
            eprintln!("error: no report.json in {}", args.dir.display());
            Err(exit::USAGE)
        }
        None => {
            eprintln!("error: no case {:?} in {}", args.case, args.dir.display());
            Err(exit::USAGE)
        }
    }
}

/// The built-in table of `api`.
fn table(api: &str) -> Result<Spec, u8> {
    match imds_conform::spec::builtin_api(api) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            eprintln!("error: no spec table for {api}");
            Err(exit::USAGE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(exit::USAGE)
        }
    }
}

/// The instance the case was aimed at: its target parameter when that names one
/// of the run's instances, else the run's first instance.
fn instance_of(spec: &Spec, meta: &RunMeta, recorded: &CaseResult) -> String {
    let run_instances: Vec<&str> = meta.instance.split(',').collect();
    let named = spec
        .param_with_role(Role::Target)
        .and_then(|p| recorded.request.iter().find(|q| q.name == p.name))
        .map(|q| q.value.as_query_text().to_string())
        .filter(|v| run_instances.contains(&v.as_str()));
    named.unwrap_or_else(|| {
        run_instances
            .first()
            .copied()
            .unwrap_or_default()
            .to_string()
    })
}

/// Send the recorded case through `job`'s target and print the verdict then and
/// now: FIXED, STILL FAILING, or for a case that passed when recorded, STILL
/// PASSES or NOW FAILING (the exit code says how it went now). The instance is put
/// back as it was found whatever came of the case, and one that could not be is
/// said after the verdict and exits 4, as `run` does.
async fn send_again(job: &Job, meta: &RunMeta, recorded: &CaseResult) -> Result<u8, u8> {
    let cfg = RunConfig {
        seed: meta.seed,
        settle_poll: Duration::from_millis(200),
        ..job.config(job.target(None)?)
    };
    let mut sessions = Session::open(&cfg)
        .await
        .map_err(|e| setup::run_error(&e))?;
    let Some(session) = sessions.first_mut() else {
        eprintln!("error: no instance to replay {} on", recorded.id);
        return Err(exit::USAGE);
    };
    // Sent from the options as found: the state to start from is the one read.
    let found = session.original().clone();
    let now = session.run_case(&cfg, &found, &case_of(recorded)).await;
    let restored = session.restore(&cfg).await;
    let code = match &now {
        Ok(now) => {
            print_verdict(recorded, now);
            if now.verdict.is_pass() {
                exit::OK
            } else {
                exit::NONCONFORMANCE
            }
        }
        Err(e) => setup::run_error(e),
    };
    match not_put_back(session.instance(), &found, restored) {
        Some(why) => {
            eprintln!("error: {why}");
            Err(exit::NOT_RESTORED)
        }
        None => Ok(code),
    }
}

fn print_verdict(recorded: &CaseResult, now: &CaseResult) {
    outln!("{} {} [{}]", now.id, now.title, now.rule);
    outln!(
        "  was: {} {}",
        recorded.verdict.name(),
        report::text::reason(&recorded.verdict).unwrap_or("")
    );
    outln!("  now: {}", report::text::actual(&now.actual));
    for note in &now.notes {
        outln!("  note: {}", report::text::one_line(note));
    }
    let reason = || report::text::reason(&now.verdict).unwrap_or("could not be judged");
    match (recorded.verdict.is_pass(), now.verdict.is_pass()) {
        (false, true) => outln!("FIXED"),
        (true, true) => outln!("STILL PASSES (it passed when recorded: nothing to fix)"),
        (false, false) => outln!("STILL FAILING: {}", reason()),
        (true, false) => outln!("NOW FAILING (it passed when recorded): {}", reason()),
    }
}

/// Why `instance` is not as it was found after putting it back (`None`: it is, or
/// nothing had to change), with the options it had.
fn not_put_back(
    instance: &str,
    found: &Options,
    restored: Result<Option<Restored>, RunError>,
) -> Option<String> {
    let why = match restored {
        Ok(None) => return None,
        Ok(Some(r)) => r.not_back()?,
        Err(e) => redact::text(&e.to_string()),
    };
    let had = found
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "{instance} was not put back as found: {why} (it had {had})"
    ))
}
