//! The library API: run the suite from another crate's tests.
//!
//! [`Suite`] aims one API's cases at a target (an endpoint, or the embedded
//! emulator) and returns a [`Report`]; [`Emulator`] starts the reference emulator
//! for a test. The `harness` submodule holds what `tests/conformance.rs` (one
//! `cargo test` per case) needs; it is not part of the documented surface.

mod emulator;
#[doc(hidden)]
pub mod harness;
mod report;

use std::sync::Arc;
use std::time::Duration;

use globset::{Glob, GlobSetBuilder};

pub use emulator::Emulator;
pub use report::Report;

use crate::generate::Phase;
use crate::report::{RunMeta, RunReport, SigningMeta};
use crate::runner::{self, Event, RunConfig, RunError};
use crate::spec::Spec;
use crate::target::{self, Target, TargetConfig, TargetError};
use crate::wire::Credentials;

/// The seed of the random phase unless [`Suite::seed`] says otherwise: a fixed
/// seed, so a test sends the same cases on every run.
pub const DEFAULT_SEED: u64 = 20_261_122;

/// The size of the random phase per instance unless [`Suite::random_cases`]
/// says otherwise.
pub const DEFAULT_RANDOM_CASES: u32 = 50;

/// The phases a suite runs unless told otherwise, in the order a run takes them.
pub(crate) const ALL_PHASES: [Phase; 4] =
    [Phase::Coverage, Phase::Auth, Phase::Sequence, Phase::Random];

/// Why a suite could not run. A target that answers wrongly is not an error: it
/// is a [`Report`] that does not conform.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use imds_conform::{Suite, SuiteError};
///
/// let err = Suite::new("aws-nothing").run().await.unwrap_err();
/// assert!(matches!(err, SuiteError::UnknownApi { .. }));
/// assert!(err.to_string().contains("aws-ec2"), "{err}"); // names the known APIs
/// # });
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// No spec table has this id.
    #[error("unknown API {api:?} (known: {known})")]
    UnknownApi {
        /// The id asked for.
        api: String,
        /// The ids there are, comma-separated.
        known: String,
    },
    /// A setting is not usable (a bad glob, rate, region…).
    #[error("{0}")]
    Config(String),
    /// An endpoint was given without an instance the suite may change.
    #[error(
        "{api}: an endpoint needs at least one instance the suite may change (Suite::instance)"
    )]
    NoInstance {
        /// The API.
        api: String,
    },
    /// No credentials were given and the environment has none.
    #[error("{api}: no credentials: call Suite::credentials or set {vars}")]
    NoCredentials {
        /// The API.
        api: String,
        /// The environment variables that would do.
        vars: String,
    },
    /// The embedded emulator did not start.
    #[error("cannot start the embedded emulator: {0}")]
    Emulator(String),
    /// The target could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The run stopped (an instance could not be read back, a DryRun check refused…).
    #[error("{0}")]
    Run(String),
    /// The run went to its end but changed instances it could not put back as
    /// they were: whatever the verdict, they are left changed. `report` is the
    /// run's, as [`Suite::run`] would have returned it (departures included); the
    /// message shows both, the instances first.
    #[error("not put back as found: {}\n{report}", .not_restored.join("; "))]
    NotRestored {
        /// The complete run's report.
        report: Box<Report>,
        /// The instances left changed, one line each, with their options before
        /// the run.
        not_restored: Vec<String>,
    },
    /// The run stopped early on `error`, after judging some cases or changing an
    /// instance: `report` holds the cases (departures found before the error
    /// included) and reads incomplete, so it never conforms. A target that stays
    /// down cannot have its instances put back either: `not_restored` names them as
    /// [`SuiteError::NotRestored`] does (and the report's incomplete reason too).
    #[error(
        "{error} (the run stopped after {} cases; the report holds them){}",
        .report.cases(),
        not_restored_suffix(.not_restored)
    )]
    Stopped {
        /// Why it stopped: [`SuiteError::Unreachable`] or [`SuiteError::Run`].
        error: Box<SuiteError>,
        /// The cases judged before it.
        report: Box<Report>,
        /// The instances left changed, one line each (empty when all were put back).
        not_restored: Vec<String>,
    },
}

fn not_restored_suffix(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; not put back as found: {}", lines.join("; "))
    }
}

/// The error's words are redacted: a target's message can quote a string to sign.
impl From<RunError> for SuiteError {
    fn from(e: RunError) -> Self {
        let shown = |e: &dyn std::fmt::Display| crate::verdict::redact::text(&e.to_string());
        match e {
            RunError::Target(t @ TargetError::Unreachable { .. }) => {
                SuiteError::Unreachable(shown(&t))
            }
            other => SuiteError::Run(shown(&other)),
        }
    }
}

/// One API's conformance run, configured with a builder and started with
/// [`Suite::run`].
///
/// Without [`Suite::endpoint`] (or [`Suite::emulator`]) the run starts the
/// embedded emulator for itself. Against an endpoint, the instances named with
/// [`Suite::instance`] are read first and get their options back at the end;
/// requests are unpaced on loopback endpoints and paced at 5 per second elsewhere
/// (see [`Suite::rate`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), imds_conform::SuiteError> {
/// use imds_conform::Suite;
///
/// let report = Suite::new("aws-ec2")
///     .endpoint("http://127.0.0.1:5000")
///     .region("us-east-1")
///     .instance("i-0123456789abcdef0")
///     .credentials("AKIDEXAMPLE", "secret")
///     .run()
///     .await?;
/// report.assert_conforms();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Suite {
    api: String,
    endpoint: Option<String>,
    region: Option<String>,
    instances: Vec<String>,
    known: Vec<String>,
    credentials: Option<Credentials>,
    seed: u64,
    random_cases: u32,
    phases: Vec<Phase>,
    only: Vec<String>,
    rate: Option<f64>,
    settle_timeout: Option<Duration>,
    answer_timeout: Option<Duration>,
    target_name: Option<String>,
}

impl Suite {
    /// A suite for the API whose spec table has this id: `aws-ec2`,
    /// `aws-lightsail` or `aliyun-ecs`. The coverage, auth, sequence and random
    /// phases, [`DEFAULT_SEED`], [`DEFAULT_RANDOM_CASES`].
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-lightsail");
    /// # let _ = suite;
    /// ```
    pub fn new(api: &str) -> Self {
        Suite {
            api: api.to_string(),
            endpoint: None,
            region: None,
            instances: Vec::new(),
            known: Vec::new(),
            credentials: None,
            seed: DEFAULT_SEED,
            random_cases: DEFAULT_RANDOM_CASES,
            phases: ALL_PHASES.to_vec(),
            only: Vec::new(),
            rate: None,
            settle_timeout: None,
            answer_timeout: None,
            target_name: None,
        }
    }

    /// Test this endpoint (an emulator, moto, LocalStack, a real cloud) instead
    /// of the embedded emulator.
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").endpoint("http://127.0.0.1:5000");
    /// # let _ = suite;
    /// ```
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Test a running [`Emulator`]: its URL, its running instances of this API
    /// (two at most) and its credentials.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use imds_conform::{Emulator, Suite};
    ///
    /// let emulator = Emulator::start().await.unwrap();
    /// let report = Suite::new("aws-ec2")
    ///     .emulator(&emulator)
    ///     .only("HttpTokens.*")
    ///     .run()
    ///     .await
    ///     .unwrap();
    /// report.assert_conforms();
    /// # });
    /// ```
    pub fn emulator(mut self, emulator: &Emulator) -> Self {
        self.endpoint = Some(emulator.url());
        self.region = Some(emulator.region(&self.api).unwrap_or_default());
        self.instances = emulator.instances(&self.api).into_iter().take(2).collect();
        self.known = emulator.all_instances(&self.api);
        self.credentials = emulator
            .credentials(&self.api)
            .map(|(id, secret)| Credentials::new(id, secret));
        self
    }

    /// The region (default: the spec table's default region).
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aliyun-ecs").region("cn-shanghai");
    /// # let _ = suite;
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// An instance the suite may change (an id; a name for Lightsail). Repeat it
    /// to work on several at once. Each is read first and restored at the end.
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-lightsail").instance("web-1").instance("web-2");
    /// # let _ = suite;
    /// ```
    pub fn instance(mut self, id: impl Into<String>) -> Self {
        self.instances.push(id.into());
        self
    }

    /// The credentials to sign with (default: the standard environment
    /// variables of the API's cloud, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    /// or `ALIBABA_CLOUD_ACCESS_KEY_ID`/`ALIBABA_CLOUD_ACCESS_KEY_SECRET`). The
    /// secret never reaches a report.
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").credentials("AKIDEXAMPLE", "secret");
    /// # let _ = suite;
    /// ```
    pub fn credentials(mut self, access_key_id: &str, secret: &str) -> Self {
        self.credentials = Some(Credentials::new(access_key_id, secret));
        self
    }

    /// The seed of the random phase (default [`DEFAULT_SEED`]).
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").seed(42);
    /// # let _ = suite;
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of random cases per instance (default
    /// [`DEFAULT_RANDOM_CASES`]; 0 skips the random phase).
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").random_cases(500);
    /// # let _ = suite;
    /// ```
    pub fn random_cases(mut self, n: u32) -> Self {
        self.random_cases = n;
        self
    }

    /// Run only these phases (default: coverage, auth, sequence, random).
    ///
    /// ```
    /// use imds_conform::{Phase, Suite};
    /// let suite = Suite::new("aws-ec2").phases([Phase::Coverage, Phase::Sequence]);
    /// # let _ = suite;
    /// ```
    pub fn phases(mut self, phases: impl IntoIterator<Item = Phase>) -> Self {
        self.phases = phases.into_iter().collect();
        self
    }

    /// Keep only the cases whose rule matches this glob (`HttpTokens.*`,
    /// `auth.*`, `HttpPutResponseHopLimit.range`). Repeat it to keep several.
    /// Random cases have the rule `random`: the random phase runs only when a
    /// glob matches it.
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").only("HttpPutResponseHopLimit.*");
    /// # let _ = suite;
    /// ```
    pub fn only(mut self, glob: &str) -> Self {
        self.only.push(glob.to_string());
        self
    }

    /// Requests per second, at least 0.01 (default: unpaced on the emulator and
    /// loopback endpoints, 5 elsewhere).
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").rate(2.0);
    /// # let _ = suite;
    /// ```
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// How long a change may stay pending (default: 5 s on loopback, 60 s
    /// elsewhere). A target that never applies costs this once, not per case.
    ///
    /// ```
    /// use std::time::Duration;
    /// let suite = imds_conform::Suite::new("aws-ec2").settle_timeout(Duration::from_secs(2));
    /// # let _ = suite;
    /// ```
    pub fn settle_timeout(mut self, timeout: Duration) -> Self {
        self.settle_timeout = Some(timeout);
        self
    }

    /// How long to wait for each answer of the target before it counts as
    /// unreachable (default 30 s). A fake that hangs then stops the run after
    /// this long, not after half a minute per request.
    ///
    /// ```
    /// use std::time::Duration;
    /// let suite = imds_conform::Suite::new("aws-ec2").answer_timeout(Duration::from_secs(2));
    /// # let _ = suite;
    /// ```
    pub fn answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = Some(timeout);
        self
    }

    /// The target's name in the report (default: `emulator`, or the endpoint's host
    /// and port, `127.0.0.1:5000`).
    ///
    /// ```
    /// let suite = imds_conform::Suite::new("aws-ec2").target_name("my-emulator");
    /// # let _ = suite;
    /// ```
    pub fn target_name(mut self, name: impl Into<String>) -> Self {
        self.target_name = Some(name.into());
        self
    }

    /// Run the suite and return its report. `Err` only when the suite itself
    /// cannot run (unknown API, no instance or credentials, target unreachable).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let report = imds_conform::Suite::new("aws-lightsail")
    ///     .only("httpTokens.*")
    ///     .run()
    ///     .await
    ///     .unwrap();
    /// assert!(report.conforms(), "{report}");
    /// # });
    /// ```
    pub async fn run(self) -> Result<Report, SuiteError> {
        let spec = Arc::new(load_spec(&self.api)?);
        match &self.endpoint {
            Some(_) => self.run_against(spec).await,
            None => {
                let emulator = Emulator::start().await?;
                let name = self
                    .target_name
                    .clone()
                    .unwrap_or_else(|| "emulator".into());
                let report = self
                    .emulator(&emulator)
                    .target_name(name)
                    .run_against(spec)
                    .await;
                emulator.shutdown().await;
                report
            }
        }
    }

    async fn run_against(self, spec: Arc<Spec>) -> Result<Report, SuiteError> {
        let url = self.endpoint.clone().unwrap_or_default();
        if self.instances.is_empty() {
            return Err(SuiteError::NoInstance {
                api: spec.api.id.clone(),
            });
        }
        let aim = Aim {
            region: self
                .region
                .clone()
                .unwrap_or_else(|| spec.api.default_region.clone()),
            credentials: match self.credentials.clone() {
                Some(c) => c,
                None => env_credentials(&spec, |k| std::env::var(k).ok())?,
            },
            known: if self.known.is_empty() {
                self.instances.clone()
            } else {
                self.known.clone()
            },
            instances: self.instances.clone(),
            rate: self.rate,
            settle_timeout: self.settle_timeout,
            answer_timeout: self.answer_timeout,
            url,
            spec,
        };
        let only = globs(&self.only)?;
        // (`only` keeps the random phase by its rule, `random`: the runner's to apply.)
        let mut cfg = aim.config(self.seed, self.random_cases, self.phases.clone())?;
        cfg.only = only;
        let meta = aim.meta(
            self.target_name
                .clone()
                .unwrap_or_else(|| target::default_name(&aim.url)),
            self.seed,
        );
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let drain = async {
            let (mut readings, mut not_restored) = (Vec::new(), Vec::new());
            while let Some(ev) = rx.recv().await {
                match ev {
                    Event::ApiFinished { readings: r, .. } => readings.extend(r),
                    Event::NotRestored {
                        instance,
                        reason,
                        original,
                        ..
                    } => not_restored.push(crate::verdict::redact::text(&format!(
                        "{instance} ({reason}; it had {original})"
                    ))),
                    _ => {}
                }
            }
            (readings, not_restored)
        };
        let (run, (readings, not_restored)) = tokio::join!(runner::run_api_partial(cfg, tx), drain);
        let mut meta = meta;
        meta.finished_at = chrono::Utc::now().to_rfc3339();
        let judged = !run.cases.is_empty();
        let report = RunReport::new(meta, run.cases).with_readings(readings);
        match run.stopped_by {
            // The error is told with what it leaves: the cases judged before it and
            // the instances it left changed.
            Some(e) if judged || !not_restored.is_empty() => {
                let error = SuiteError::from(e);
                let why = format!(
                    "stopped by an error: {error}{}",
                    not_restored_suffix(&not_restored)
                );
                Err(SuiteError::Stopped {
                    report: Box::new(Report::new(report.stopped_early(why))),
                    error: Box::new(error),
                    not_restored,
                })
            }
            _ if !not_restored.is_empty() => Err(SuiteError::NotRestored {
                report: Box::new(Report::new(report)),
                not_restored,
            }),
            Some(e) => Err(e.into()),
            None => Ok(Report::new(report)),
        }
    }
}

/// A spec table by its API id.
pub(crate) fn load_spec(api: &str) -> Result<Spec, SuiteError> {
    let specs = crate::spec::builtin().map_err(|e| SuiteError::Config(e.to_string()))?;
    let known = specs
        .iter()
        .map(|s| s.api.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    specs
        .into_iter()
        .find(|s| s.api.id == api)
        .ok_or_else(|| SuiteError::UnknownApi {
            api: api.to_string(),
            known,
        })
}

/// The credentials from the environment variables the API's table names
/// (`var(name)`: the variable's value).
pub(crate) fn env_credentials(
    spec: &Spec,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, SuiteError> {
    let names = &spec.api.credentials;
    Credentials::from_lookup(names, var).ok_or_else(|| SuiteError::NoCredentials {
        api: spec.api.id.clone(),
        vars: names.required(),
    })
}

/// Rule globs as a set (none: every case).
pub(crate) fn globs(patterns: &[String]) -> Result<Option<globset::GlobSet>, SuiteError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| SuiteError::Config(format!("rule glob {p:?}: {e}")))?);
    }
    b.build()
        .map(Some)
        .map_err(|e| SuiteError::Config(e.to_string()))
}

/// Where one API's cases go, with the same safety as `imds-conform run`.
pub(crate) struct Aim {
    pub spec: Arc<Spec>,
    pub url: String,
    pub region: String,
    pub instances: Vec<String>,
    pub known: Vec<String>,
    pub credentials: Credentials,
    pub rate: Option<f64>,
    pub settle_timeout: Option<Duration>,
    /// How long an answer may take (`None`: the target's default).
    pub answer_timeout: Option<Duration>,
}

impl Aim {
    /// The runner's configuration: unpaced on loopback unless a rate is given, 5
    /// requests per second elsewhere; settle waits of seconds on loopback.
    pub fn config(
        &self,
        seed: u64,
        random_cases: u32,
        phases: Vec<Phase>,
    ) -> Result<RunConfig, SuiteError> {
        let loopback = target::is_loopback(&self.url);
        let rate = match self.rate {
            Some(r) if !(0.01..=1e6).contains(&r) => {
                return Err(SuiteError::Config(format!(
                    "rate {r}: must be between 0.01 and 1000000 requests per second"
                )))
            }
            Some(r) => Some(r),
            None if loopback => None,
            None => Some(5.0),
        };
        let mut tcfg = TargetConfig::for_spec(
            &self.spec,
            &self.url,
            &self.region,
            Some(self.credentials.clone()),
        );
        tcfg.rate = rate;
        if let Some(t) = self.answer_timeout {
            tcfg.timeout = t;
        }
        let target = Target::new(tcfg).map_err(|e| SuiteError::Config(e.to_string()))?;
        Ok(RunConfig {
            spec: self.spec.clone(),
            target: Arc::new(target),
            instances: self.instances.clone(),
            region: self.region.clone(),
            known_ids: self.known.clone(),
            seed,
            random_cases,
            only: None,
            shard: None,
            settle_timeout: self
                .settle_timeout
                .unwrap_or(Duration::from_secs(if loopback { 5 } else { 60 })),
            settle_poll: Duration::from_millis(if loopback { 20 } else { 1000 }),
            dry_run_first: false,
            phases,
            cancel: runner::cancel_flag(),
            keep_passing: true,
        })
    }

    /// The report's description of this run, started now.
    pub fn meta(&self, target: String, seed: u64) -> RunMeta {
        let now = chrono::Utc::now().to_rfc3339();
        RunMeta {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            api: self.spec.api.id.clone(),
            target,
            endpoint: self.url.clone(),
            region: self.region.clone(),
            instance: self.instances.join(","),
            seed,
            started_at: now.clone(),
            finished_at: now,
            signing: Some(SigningMeta::of(&self.spec.api)),
        }
    }
}
