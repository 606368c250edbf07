//! Setting up where cases go, shared by the commands that run them (`run`,
//! `record`, `verify`, `replay`; `serve` and `selftest` take the runtime and the
//! table selection): the async runtime, choosing the tables, the
//! embedded emulator or an endpoint, and one [`Job`] per API with its target and
//! runner configuration. Errors are printed here and become exit codes.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use imds_conform::emulator::{InstanceFixture, RunningEmulator};
use imds_conform::runner::{self, RunConfig, RunError};
use imds_conform::spec::Spec;
use imds_conform::target::{self, Target, TargetConfig, TargetError};
use imds_conform::wire::Credentials;
use imds_conform::Emulator;

use super::exit;

/// A multi-threaded runtime for the async commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::USAGE
        })
}

/// The tables (built in, or from `--specs DIR`) for `apis`, in the order given;
/// all of them when `apis` is empty.
pub fn select(dir: Option<&PathBuf>, apis: &[String]) -> Result<Vec<Spec>, u8> {
    let specs = super::spec::load_specs(dir)?;
    if apis.is_empty() {
        return Ok(specs);
    }
    apis.iter()
        .map(|id| {
            specs
                .iter()
                .find(|s| &s.api.id == id)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<_> = specs.iter().map(|s| s.api.id.as_str()).collect();
                    eprintln!("error: unknown --api {id:?} (known: {})", known.join(", "));
                    exit::USAGE
                })
        })
        .collect()
}

/// One API's cases: its table, where they go, and the instances they may change.
pub struct Job {
    pub spec: Arc<Spec>,
    pub url: String,
    pub region: String,
    /// The instances cases may change: one worker each.
    pub instances: Vec<String>,
    /// Ids that exist at the target (so "absent" ids avoid them).
    pub known: Vec<String>,
    pub credentials: Option<Credentials>,
    /// The target is the embedded emulator (changes settle in milliseconds).
    pub embedded: bool,
}

/// The instances a command may leave changed if it stopped without restoring
/// them (`aws-ec2 i-0abc…`): those of every job but the embedded emulator's.
pub fn at_risk(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .filter(|j| !j.embedded)
        .flat_map(|j| j.instances.iter().map(|i| format!("{} {i}", j.spec.api.id)))
        .collect()
}

impl Job {
    /// A job against an endpoint: credentials from the variables the table names.
    pub fn endpoint(
        spec: &Spec,
        url: &str,
        region: Option<&String>,
        instances: Vec<String>,
    ) -> Result<Job, u8> {
        let Some(credentials) = target::credentials_from_env(spec) else {
            eprintln!(
                "error: no credentials for {} in the environment ({})",
                spec.api.id,
                spec.api.credentials.required()
            );
            return Err(exit::USAGE);
        };
        Ok(Job {
            spec: Arc::new(spec.clone()),
            url: url.to_string(),
            region: region_or_default(region, spec),
            known: instances.clone(),
            instances,
            credentials: Some(credentials),
            embedded: false,
        })
    }

    /// The target for this job, paced at `rate` requests per second.
    pub fn target(&self, rate: Option<f64>) -> Result<Arc<Target>, u8> {
        let mut cfg = TargetConfig::for_spec(
            &self.spec,
            &self.url,
            &self.region,
            self.credentials.clone(),
        );
        cfg.rate = rate;
        Target::new(cfg).map(Arc::new).map_err(|e| {
            eprintln!("error: {e}");
            exit::USAGE
        })
    }

    /// A runner configuration for this job: no phases, no random cases, every case
    /// kept; callers set what their command needs.
    pub fn config(&self, target: Arc<Target>) -> RunConfig {
        RunConfig {
            spec: self.spec.clone(),
            target,
            instances: self.instances.clone(),
            region: self.region.clone(),
            known_ids: self.known.clone(),
            seed: 0,
            random_cases: 0,
            only: None,
            shard: None,
            settle_timeout: Duration::from_secs(60),
            settle_poll: Duration::from_millis(if self.embedded { 20 } else { 1000 }),
            dry_run_first: false,
            phases: Vec::new(),
            cancel: runner::cancel_flag(),
            keep_passing: true,
        }
    }
}

/// The pace against an endpoint: `--rate`, else unpaced for an endpoint on this
/// machine (an emulator) and 5 requests per second for any other (a real cloud).
pub fn endpoint_rate(rate: Option<f64>, url: &str) -> Option<f64> {
    match rate {
        Some(r) => Some(r),
        None if target::is_loopback(url) => None,
        None => Some(5.0),
    }
}

/// `--region`, else the table's default region.
pub fn region_or_default(region: Option<&String>, spec: &Spec) -> String {
    region
        .cloned()
        .unwrap_or_else(|| spec.api.default_region.clone())
}

/// The embedded emulator, started for one command: the library's [`Emulator`]
/// (changes settle after 50 ms, so the settle sequences run in seconds).
pub struct Embedded(Emulator);

impl Embedded {
    /// Start it on a free loopback port.
    pub async fn start() -> Result<Embedded, u8> {
        Emulator::start().await.map(Embedded).map_err(|e| {
            eprintln!("error: {e}");
            exit::USAGE
        })
    }

    /// A job for `spec` on the instances `choose` picks from the emulator's
    /// fixtures for the API (in `region`); `None` when the emulator does not serve
    /// the API.
    pub fn job(
        &self,
        spec: &Spec,
        region: Option<&String>,
        choose: impl FnOnce(&[InstanceFixture], &str) -> Vec<String>,
    ) -> Option<Job> {
        let (server, fixtures) = self.0.parts();
        let (instances, keys) = fixtures.for_api(&spec.api.id)?;
        let region = region_or_default(region, spec);
        Some(Job {
            spec: Arc::new(spec.clone()),
            url: server.url(),
            instances: choose(instances, &region),
            region,
            known: instances.iter().map(|i| i.id.clone()).collect(),
            credentials: keys
                .first()
                .map(|k| Credentials::new(k.access_key_id.clone(), k.secret.clone())),
            embedded: true,
        })
    }

    /// The running server (for the metadata listeners of its instances).
    pub fn running(&self) -> &RunningEmulator {
        self.0.parts().0
    }

    /// Stop the server.
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }
}

/// The running instances of `region`, at most `n`.
pub fn running_in(instances: &[InstanceFixture], region: &str, n: usize) -> Vec<String> {
    instances
        .iter()
        .filter(|i| i.is_running() && i.region == region)
        .take(n)
        .map(|i| i.id.clone())
        .collect()
}

/// Why the embedded emulator has no instance of `api` to work on in `region`,
/// naming the regions that have running ones (from its fixtures `instances`).
pub fn no_running_instance(api: &str, region: &str, instances: &[InstanceFixture]) -> String {
    let mut regions: Vec<&str> = instances
        .iter()
        .filter(|i| i.is_running())
        .map(|i| i.region.as_str())
        .collect();
    regions.sort_unstable();
    regions.dedup();
    let elsewhere = if regions.is_empty() {
        "nor in any other region".to_string()
    } else {
        format!(
            "it has some in {}: pass one with --region",
            regions.join(", ")
        )
    };
    format!("the embedded emulator has no running {api} instance in {region}; {elsewhere}")
}

/// Print why a run stopped; its exit code (an unreachable target has its own).
pub fn run_error(e: &RunError) -> u8 {
    // The error can echo the target's message (a string-to-sign, a header…).
    eprintln!(
        "error: {}",
        imds_conform::verdict::redact::text(&e.to_string())
    );
    match e {
        RunError::Target(TargetError::Unreachable { .. }) => exit::UNREACHABLE,
        _ => exit::USAGE,
    }
}
