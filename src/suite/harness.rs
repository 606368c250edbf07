//! The machinery of `tests/conformance.rs`: every generated case of every
//! selected API as a named test (`aws-ec2::coverage::0042-httptokens-valid-required`),
//! aimed by environment variables, each run alone from a known state.
//!
//! A case's verdict must not depend on which cases ran before it (a filter, a
//! shard or cargo-nextest's one process per test may run it alone), so every
//! case starts from a state set just before it: the options as found, except
//! that each option the case sets starts at another valid value (the change is
//! visible) and each option it omits or sets invalidly starts away from its
//! default (keeping and resetting differ). Only values valid under every reading
//! of the docs are used, and options some reading rejects or restricts by
//! region are left alone. Sequences are single cases that run whole.
//!
//! Nothing here prints: the test binary does.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use super::emulator::Emulator;
use super::report::{explain, inconsistent};
use super::{env_credentials, load_spec, Aim, SuiteError, DEFAULT_RANDOM_CASES, DEFAULT_SEED};
use crate::emulator::default_fixtures;
use crate::generate::{self, Builder, Case, Phase, Subject};
use crate::oracle::Options;
use crate::report::{repro, RunMeta};
use crate::runner::{Restored, RunConfig, Session};
use crate::spec::{Role, Spec};
use crate::verdict::{departures, CaseResult, Verdict};
use crate::wire::{Call, Credentials};

/// The environment variables the harness reads.
pub const ENV_VARS: [&str; 6] = [
    "IMDS_CONFORM_ENDPOINT",
    "IMDS_CONFORM_API",
    "IMDS_CONFORM_REGION",
    "IMDS_CONFORM_INSTANCE",
    "IMDS_CONFORM_SEED",
    "IMDS_CONFORM_CASES",
];

/// One test: a case of one API, by phase and number.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// `aws-ec2::coverage::0042-httptokens-valid-required`.
    pub name: String,
    api: usize,
    phase: Phase,
    seq: usize,
}

/// What a whole run leaves to say at the end.
#[derive(Debug, Default)]
pub struct Finish {
    /// What was restored.
    pub notes: Vec<String>,
    /// What fails the run beyond its tests: an instance not restored, a target
    /// implementing two readings of one ambiguity.
    pub problems: Vec<String>,
}

/// How a test process's run ended: what the test runner returned, or that it
/// panicked, and what finishing said.
#[derive(Debug)]
pub struct Ended<T> {
    /// The runner's result; `Err` with its panic's message when it panicked (its
    /// printer writing to a closed pipe: `… | head`).
    pub outcome: Result<T, String>,
    /// What was restored, and what fails the run beyond its tests.
    pub finish: Finish,
}

/// One API as planned from the environment (nothing contacted yet).
struct Plan {
    spec: Arc<Spec>,
    region: String,
    instances: Vec<String>,
    known: Vec<String>,
    credentials: Option<Credentials>,
}

/// One API once started: its configuration and a pool of sessions, one per
/// instance; a test borrows one for its case.
struct Live {
    cfg: RunConfig,
    meta: RunMeta,
    pool: Mutex<Vec<Session>>,
    returned: Condvar,
    sessions: usize,
}

struct Started {
    emulator: Option<Emulator>,
    apis: Vec<Live>,
}

/// The harness of one test process.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    endpoint: Option<String>,
    plans: Vec<Plan>,
    seed: u64,
    random_cases: u32,
    started: OnceLock<Result<Started, String>>,
    cancel: Arc<AtomicBool>,
}

impl Harness {
    /// Plan from the environment; nothing is started or contacted until the
    /// first test runs (listing needs neither).
    pub fn from_env() -> Result<Harness, SuiteError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Plan from these variables (`var(name)`: the value, if set).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Harness, SuiteError> {
        let seed = parse(&var, "IMDS_CONFORM_SEED", DEFAULT_SEED)?;
        let random_cases = parse(&var, "IMDS_CONFORM_CASES", DEFAULT_RANDOM_CASES)?;
        let endpoint = var("IMDS_CONFORM_ENDPOINT").map(|e| e.trim().to_string());
        let apis: Vec<String> = var("IMDS_CONFORM_API")
            .map(|a| list(&a))
            .unwrap_or_default();
        let region = var("IMDS_CONFORM_REGION").map(|r| r.trim().to_string());
        let instances = var("IMDS_CONFORM_INSTANCE")
            .map(|i| list(&i))
            .unwrap_or_default();
        let plans = match &endpoint {
            Some(url) => vec![endpoint_plan(url, &apis, region, instances, &var)?],
            None if !instances.is_empty() => {
                return Err(SuiteError::Config(
                    "IMDS_CONFORM_INSTANCE needs IMDS_CONFORM_ENDPOINT (the embedded emulator uses its own instances)".into(),
                ))
            }
            None => emulator_plans(&apis, region.as_deref())?,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| SuiteError::Config(format!("cannot start the async runtime: {e}")))?;
        Ok(Harness {
            runtime,
            endpoint,
            plans,
            seed,
            random_cases,
            started: OnceLock::new(),
            cancel: crate::runner::cancel_flag(),
        })
    }

    /// The endpoint under test (`None`: the embedded emulator).
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// A line saying what the tests run against.
    pub fn describe(&self) -> String {
        let apis: Vec<String> = self
            .plans
            .iter()
            .map(|p| {
                format!(
                    "{} ({}, {})",
                    p.spec.api.id,
                    p.region,
                    p.instances.join(",")
                )
            })
            .collect();
        format!(
            "imds-conform: {} against {}; random phase: seed {}, {} cases per API",
            apis.join(", "),
            self.endpoint.as_deref().unwrap_or("the embedded emulator"),
            self.seed,
            self.random_cases
        )
    }

    /// Every test, in order: per API the coverage, auth, sequence and random cases.
    pub fn tests(&self) -> Vec<TestCase> {
        let mut out = Vec::new();
        for (api, plan) in self.plans.iter().enumerate() {
            let Some(first) = plan.instances.first() else {
                continue;
            };
            let subject = Subject::new(&plan.spec, first, &plan.region, &plan.known);
            for phase in [Phase::Coverage, Phase::Auth, Phase::Sequence] {
                for case in cases_of(&plan.spec, phase, &subject) {
                    out.push(TestCase {
                        name: test_name(&plan.spec.api.id, &case, first),
                        api,
                        phase,
                        seq: case.seq,
                    });
                }
            }
            for seq in 1..=self.random_cases as usize {
                out.push(TestCase {
                    name: format!("{}::random::{seq:04}", plan.spec.api.id),
                    api,
                    phase: Phase::Random,
                    seq,
                });
            }
        }
        out
    }

    /// Watch for Ctrl-C: the case in flight finishes, the tests left fail at
    /// once, and [`finish`](Harness::finish) restores the instances.
    pub fn stop_on_interrupt(&self) {
        let cancel = self.cancel.clone();
        self.runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::SeqCst);
            }
        });
    }

    /// Run one test: `Err` carries the message a failing test prints.
    pub fn run(&self, test: &TestCase) -> Result<(), String> {
        let started = self
            .started
            .get_or_init(|| self.runtime.block_on(self.start()))
            .as_ref()
            .map_err(|e| format!("the suite could not start: {e}"))?;
        if self.cancel.load(Ordering::SeqCst) {
            return Err("stopped (Ctrl-C, or the test runner failed): not run".into());
        }
        let live = &started.apis[test.api];
        let mut lease = Lease::take(live);
        let session = lease.session();
        let instance = session.instance().to_string();
        let spec = live.cfg.spec.clone();
        let result = self.runtime.block_on(async {
            if test.phase == Phase::Random {
                let subject = session.subject().clone();
                let original = session.original().clone();
                let state = |call: &Call| starting_state(&spec, &subject, &original, call);
                return session
                    .run_random(&live.cfg, state, self.seed, test.seq)
                    .await;
            }
            let case = cases_of(&spec, test.phase, session.subject())
                .into_iter()
                .find(|c| c.seq == test.seq);
            let Some(case) = case else {
                return Ok(None);
            };
            let state = starting_state(&spec, session.subject(), session.original(), &case.call);
            session.run_case(&live.cfg, &state, &case).await.map(Some)
        });
        match result {
            Ok(Some(r)) if r.verdict.is_pass() => Ok(()),
            Ok(Some(r)) => Err(explain_case(&r, &live.meta, &instance)),
            Ok(None) => Err(format!("{}: no such case was generated", test.name)),
            Err(e) => Err(format!("the suite could not run this case: {e}")),
        }
    }

    /// Run the tests with `run` (the test runner, holding the tests and their
    /// clones of the harness), then [`finish`](Harness::finish) whatever became of
    /// it: a panic in the runner (its printer on a closed pipe) is caught and
    /// handed back in [`Ended::outcome`] after the instances were restored, instead
    /// of ending the process with them left changed.
    pub fn run_then_finish<T>(harness: Arc<Harness>, run: impl FnOnce() -> T) -> Ended<T> {
        // A panic on this thread (the runner's printer) cancels the tests not yet
        // run, as Ctrl-C does: the runner waits for its test threads before the
        // panic reaches us, and against a real account they would otherwise go
        // on, unseen, to the last test. Panics elsewhere (a test's) are the
        // runner's to report.
        let previous = Arc::new(std::panic::take_hook());
        {
            let (previous, cancel) = (previous.clone(), harness.cancel.clone());
            let caller = std::thread::current().id();
            std::panic::set_hook(Box::new(move |info| {
                if std::thread::current().id() == caller {
                    cancel.store(true, Ordering::SeqCst);
                }
                previous(info);
            }));
        }
        // `run` and the tests it holds are dropped here, panic or not, so their
        // clones of the harness are gone.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(run));
        drop(std::panic::take_hook());
        if let Ok(previous) = Arc::try_unwrap(previous) {
            std::panic::set_hook(previous);
        }
        let outcome = outcome.map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into())
        });
        let finish = match Arc::into_inner(harness) {
            Some(harness) => harness.finish(),
            None => Finish {
                notes: Vec::new(),
                problems: vec![
                    "tests still hold the targets; the instances were not restored".into(),
                ],
            },
        };
        Ended { outcome, finish }
    }

    /// After the tests: restore every instance, check that each API's target
    /// implements one reading of each ambiguity, stop the emulator.
    pub fn finish(self) -> Finish {
        let mut out = Finish::default();
        let Some(Ok(started)) = self.started.into_inner() else {
            return out;
        };
        // The embedded emulator stops with the process: nothing to restore there.
        let restore = started.emulator.is_none();
        self.runtime.block_on(async {
            for live in started.apis {
                let api = live.cfg.spec.api.id.clone();
                let mut sessions = live.pool.into_inner().unwrap_or_else(|e| e.into_inner());
                if sessions.len() < live.sessions {
                    out.problems.push(format!(
                        "{api}: {} instance(s) never came back from their tests and were not restored",
                        live.sessions - sessions.len()
                    ));
                }
                for session in sessions.iter_mut().filter(|_| restore) {
                    match session.restore(&live.cfg).await {
                        Ok(Some(Restored::Done(note))) => out.notes.push(format!("{api}: {note}")),
                        Ok(Some(not_back)) => out.problems.push(not_restored(
                            &api,
                            session,
                            &not_back.not_back().unwrap_or_default(),
                        )),
                        Ok(None) => {}
                        Err(e) => out.problems.push(not_restored(
                            &api,
                            session,
                            &crate::verdict::redact::text(&e.to_string()),
                        )),
                    }
                }
                if let Some(s) = sessions.first() {
                    for r in s.readings().iter().filter(|r| !r.is_consistent()) {
                        out.problems.push(inconsistent(r).trim().to_string());
                    }
                }
            }
            if let Some(emulator) = started.emulator {
                emulator.shutdown().await;
            }
        });
        out
    }

    /// Start the emulator (without an endpoint) and open every API's sessions.
    async fn start(&self) -> Result<Started, String> {
        let emulator = match &self.endpoint {
            Some(_) => None,
            None => Some(Emulator::start().await.map_err(|e| e.to_string())?),
        };
        let mut apis = Vec::new();
        for plan in &self.plans {
            let api = plan.spec.api.id.as_str();
            let (url, credentials, target) = match (&emulator, &self.endpoint) {
                (Some(e), _) => {
                    let (id, secret) = e.credentials(api).unwrap_or_default();
                    (
                        e.url(),
                        Credentials::new(id, secret),
                        "emulator".to_string(),
                    )
                }
                (None, Some(url)) => (
                    url.clone(),
                    plan.credentials.clone().ok_or("no credentials")?,
                    crate::target::default_name(url),
                ),
                (None, None) => return Err("no target".into()),
            };
            let aim = Aim {
                spec: plan.spec.clone(),
                url,
                region: plan.region.clone(),
                instances: plan.instances.clone(),
                known: plan.known.clone(),
                credentials,
                rate: None,
                settle_timeout: None,
                answer_timeout: None,
            };
            let mut cfg = aim
                .config(self.seed, self.random_cases, super::ALL_PHASES.to_vec())
                .map_err(|e| e.to_string())?;
            cfg.cancel = self.cancel.clone();
            let sessions = Session::open(&cfg).await.map_err(|e| e.to_string())?;
            apis.push(Live {
                meta: aim.meta(target, self.seed),
                sessions: sessions.len(),
                pool: Mutex::new(sessions),
                returned: Condvar::new(),
                cfg,
            });
        }
        Ok(Started { emulator, apis })
    }
}

/// A session borrowed from an API's pool, given back when dropped (also when
/// the test panics).
struct Lease<'a> {
    live: &'a Live,
    session: Option<Session>,
}

impl<'a> Lease<'a> {
    fn take(live: &'a Live) -> Self {
        let mut pool = live.pool.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(session) = pool.pop() {
                return Lease {
                    live,
                    session: Some(session),
                };
            }
            pool = live.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn session(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .expect("a lease holds its session until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // A test that panicked mid-case left the instance in an unknown state:
        // the session goes back all the same (the next case sets its own state).
        if let Some(s) = self.session.take() {
            self.live
                .pool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s);
            self.live.returned.notify_one();
        }
    }
}

/// The deterministic cases of one phase against `subject`.
fn cases_of(spec: &Spec, phase: Phase, subject: &Subject) -> Vec<Case> {
    match phase {
        Phase::Coverage => generate::coverage(spec, subject),
        Phase::Auth => generate::auth(spec, subject),
        Phase::Sequence => generate::sequences(spec, subject),
        // Random cases are made by index; data-plane probes are the runner's own
        // phase (after a change settles), not cases of the control plane.
        Phase::Random | Phase::DataPlane => Vec::new(),
    }
}

/// `api::phase::NNNN-slug-of-the-title`, the instance's id replaced by `instance`
/// so that the name is the same whichever instance the list was made for.
pub fn test_name(api: &str, case: &Case, instance: &str) -> String {
    let slug = slug(&case.title.replace(instance, "instance"));
    format!("{api}::{}::{:04}-{slug}", case.phase.name(), case.seq)
}

/// A title as lower-case words joined by `-` (at most about 60 characters),
/// keeping what tells values apart: a sign before a number is a word of its own
/// (`-1` → `minus1`, not read as 1; `+1` → `plus1`) and a decimal point between
/// digits is `p` (`1.5` → `1p5`, not `1-5`). A hyphen inside a word
/// (`i-0123…`, `cn-hangzhou`) separates words as before.
fn slug(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    let digit = |c: Option<&char>| c.is_some_and(char::is_ascii_digit);
    let mut slug = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        let sign = !before.is_some_and(char::is_ascii_alphanumeric) && digit(after);
        match c {
            c if c.is_ascii_alphanumeric() => slug.push(c.to_ascii_lowercase()),
            '-' if sign => slug.push_str("minus"),
            '+' if sign => slug.push_str("plus"),
            '.' if digit(before) && digit(after) => slug.push('p'),
            _ if !slug.is_empty() && !slug.ends_with('-') => slug.push('-'),
            _ => {}
        }
        if slug.len() >= 60 {
            break;
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// The state a case starts from (see the module's documentation).
pub fn starting_state(spec: &Spec, subject: &Subject, original: &Options, call: &Call) -> Options {
    let b = Builder::new(spec, subject);
    let mut state = original.clone();
    for p in spec.params.iter().map(|p| p.get_ref()) {
        let Some(option) = &p.option else { continue };
        if p.role != Role::Option || !p.regions.is_empty() || !original.contains_key(option) {
            continue;
        }
        let Some(safe) = safe_values(spec, &p.name, b.valid_values(p)) else {
            continue;
        };
        let sent: Vec<&str> = call
            .params
            .iter()
            .filter(|q| q.name == p.name)
            .map(|q| q.value.as_query_text())
            .collect();
        let avoid = match sent.as_slice() {
            [one] if b.valid_values(p).iter().any(|v| v == one) => one.to_string(),
            _ => p
                .default
                .clone()
                .unwrap_or_else(|| original[option].clone()),
        };
        if let Some(v) = safe.into_iter().find(|v| *v != avoid) {
            state.insert(option.clone(), v);
        }
    }
    state
}

/// The values of a parameter valid under every reading of every ambiguity
/// (`None`: some reading rejects, ignores or region-restricts it).
fn safe_values(spec: &Spec, param: &str, mut values: Vec<String>) -> Option<Vec<String>> {
    let patches = spec
        .ambiguities
        .iter()
        .flat_map(|a| &a.get_ref().readings)
        .flat_map(|r| &r.set)
        .filter(|patch| patch.param.as_deref() == Some(param));
    for patch in patches {
        if patch.rejected.is_some() || patch.ignored || patch.regions.is_some() {
            return None;
        }
        if let Some(range) = patch.range {
            values.retain(|v| {
                v.parse::<i64>()
                    .is_ok_and(|n| n >= range.min && n <= range.max)
            });
        }
        if let Some(allowed) = &patch.values {
            values.retain(|v| allowed.contains(v));
        }
    }
    Some(values)
}

/// What a failing test prints: the case, its verdict, each departure it shows
/// (title, rule, citations, curl reproducer) and the runner's notes.
fn explain_case(r: &CaseResult, meta: &RunMeta, instance: &str) -> String {
    let mut out = format!("{} — {} (rule {})\n", r.id, r.title, r.rule);
    match &r.verdict {
        Verdict::Error { reason } => {
            out.push_str(&format!(
                "error (the suite's own trouble, not a verdict): {reason}\n"
            ));
        }
        Verdict::Fail { reason } => out.push_str(&format!("FAIL: {reason}\n")),
        other => out.push_str(&format!("{other:?}\n")),
    }
    let meta = RunMeta {
        instance: instance.to_string(),
        ..meta.clone()
    };
    let one = std::slice::from_ref(r);
    out.push_str(&explain(&departures(one), one, &meta, false));
    for note in &r.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str("\nreproducer:\n");
    out.push_str(&repro::curl(r, &meta));
    out
}

fn parse<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, SuiteError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            SuiteError::Config(format!("{name}={v:?}: not a non-negative whole number"))
        }),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One API at an endpoint: the API, the instances and the credentials must be given.
fn endpoint_plan(
    url: &str,
    apis: &[String],
    region: Option<String>,
    instances: Vec<String>,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Plan, SuiteError> {
    let [api] = apis else {
        return Err(SuiteError::Config(format!(
            "IMDS_CONFORM_ENDPOINT={url:?} needs IMDS_CONFORM_API set to exactly one API (aws-ec2, aws-lightsail or aliyun-ecs)"
        )));
    };
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(SuiteError::Config(format!(
            "IMDS_CONFORM_ENDPOINT={url:?}: not an http:// or https:// URL"
        )));
    }
    let spec = load_spec(api)?;
    if instances.is_empty() {
        return Err(SuiteError::Config(
            "IMDS_CONFORM_ENDPOINT needs IMDS_CONFORM_INSTANCE: the instance(s) the suite may change, comma-separated (read first, restored at the end)".into(),
        ));
    }
    let credentials = env_credentials(&spec, var)?;
    Ok(Plan {
        region: region.unwrap_or_else(|| spec.api.default_region.clone()),
        known: instances.clone(),
        instances,
        credentials: Some(credentials),
        spec: Arc::new(spec),
    })
}

/// The selected APIs (default: all) on the embedded emulator's fixtures: the
/// running instances in the region (default: each table's).
fn emulator_plans(apis: &[String], region: Option<&str>) -> Result<Vec<Plan>, SuiteError> {
    let specs = crate::spec::builtin().map_err(|e| SuiteError::Config(e.to_string()))?;
    for api in apis {
        if !specs.iter().any(|s| &s.api.id == api) {
            load_spec(api)?;
        }
    }
    let fixtures = default_fixtures();
    let mut plans = Vec::new();
    for spec in specs {
        if !apis.is_empty() && !apis.contains(&spec.api.id) {
            continue;
        }
        let Some((instances, _)) = fixtures.for_api(&spec.api.id) else {
            continue;
        };
        let region = region.unwrap_or(&spec.api.default_region).to_string();
        let running: Vec<String> = instances
            .iter()
            .filter(|i| i.is_running() && i.region == region)
            .map(|i| i.id.clone())
            .collect();
        if running.is_empty() {
            continue;
        }
        plans.push(Plan {
            known: instances.iter().map(|i| i.id.clone()).collect(),
            instances: running,
            region,
            credentials: None,
            spec: Arc::new(spec),
        });
    }
    if plans.is_empty() {
        return Err(SuiteError::Config(format!(
            "the embedded emulator has no running instance of the selected APIs in region {}",
            region.unwrap_or("(default)")
        )));
    }
    Ok(plans)
}

/// An instance the harness could not put back, why, and the options it had when
/// the tests began (to put it back by hand), as `run` says it.
fn not_restored(api: &str, session: &Session, why: &str) -> String {
    let had = session
        .original()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{api}: could not restore {}: {why}; it had {had}",
        session.instance()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        match Harness::from_vars(vars(pairs)) {
            Ok(_) => panic!("{pairs:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn options(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ec2() -> (Spec, Subject, Options) {
        let spec = load_spec("aws-ec2").unwrap();
        let subject = Subject::new(&spec, "i-0123456789abcdef0", "us-east-1", &[]);
        let original = options(&[
            ("http_tokens", "optional"),
            ("hop_limit", "1"),
            ("http_endpoint", "enabled"),
            ("http_protocol_ipv6", "disabled"),
            ("instance_metadata_tags", "disabled"),
        ]);
        (spec, subject, original)
    }

    fn case_titled(spec: &Spec, subject: &Subject, title: &str) -> Case {
        generate::coverage(spec, subject)
            .into_iter()
            .find(|c| c.title == title)
            .unwrap_or_else(|| panic!("no case {title:?}"))
    }

    #[test]
    fn names_are_slugs_of_the_title_without_the_instance() {
        let (spec, subject, _) = ec2();
        let case = case_titled(&spec, &subject, "HttpTokens = valid \"required\"");
        let name = test_name("aws-ec2", &case, &subject.instance);
        assert_eq!(
            name,
            format!(
                "aws-ec2::coverage::{:04}-httptokens-valid-required",
                case.seq
            )
        );
        let by_id = case_titled(
            &spec,
            &subject,
            "InstanceId = valid \"i-0123456789abcdef0\"",
        );
        let name = test_name("aws-ec2", &by_id, &subject.instance);
        assert!(name.ends_with("-instanceid-valid-instance"), "{name}");
    }

    #[test]
    fn names_keep_a_value_s_sign_and_decimal_point() {
        let (spec, subject, _) = ec2();
        let name = |title: &str| {
            let case = case_titled(&spec, &subject, title);
            let name = test_name("aws-ec2", &case, &subject.instance);
            let prefix = format!("aws-ec2::coverage::{:04}-", case.seq);
            name.strip_prefix(&prefix).unwrap_or(&name).to_string()
        };
        // -1 is not the hop limit 1, and "1.5" is not "1-5".
        assert_eq!(
            name("HttpPutResponseHopLimit = integer -1"),
            "httpputresponsehoplimit-integer-minus1"
        );
        assert_eq!(
            name("HttpPutResponseHopLimit = wrong type \"1.5\""),
            "httpputresponsehoplimit-wrong-type-1p5"
        );
        // A hyphen inside a word still separates words.
        assert_eq!(
            name("InstanceId = malformed id \"i-xyz!\""),
            "instanceid-malformed-id-i-xyz"
        );
        assert_eq!(
            slug("JSON float 1.5, x=+2, -0.25"),
            "json-float-1p5-x-plus2-minus0p25"
        );
        assert_eq!(slug("ip-10-0-1-55, 3.x"), "ip-10-0-1-55-3-x");
    }

    #[test]
    fn a_case_starts_where_its_change_shows() {
        let (spec, subject, original) = ec2();
        // It sets HttpTokens=required: it starts from optional. It omits the
        // others: each starts away from its default (or from the value found).
        let sets = case_titled(&spec, &subject, "HttpTokens = valid \"required\"");
        let state = starting_state(&spec, &subject, &original, &sets.call);
        assert_eq!(state["http_tokens"], "optional");
        assert_eq!(state["hop_limit"], "2");
        assert_eq!(state["http_endpoint"], "disabled");
        // It omits HttpTokens: keeping and resetting to optional must differ.
        let omits = case_titled(&spec, &subject, "HttpTokens missing");
        let state = starting_state(&spec, &subject, &original, &omits.call);
        assert_eq!(state["http_tokens"], "required");
        let top = case_titled(&spec, &subject, "HttpPutResponseHopLimit = valid \"64\"");
        let state = starting_state(&spec, &subject, &original, &top.call);
        assert_eq!(state["hop_limit"], "1");
        // An option the read-back does not show is not set.
        let mut partial = original.clone();
        partial.remove("instance_metadata_tags");
        let state = starting_state(&spec, &subject, &partial, &omits.call);
        assert!(!state.contains_key("instance_metadata_tags"));
    }

    #[test]
    fn starting_states_hold_under_every_reading() {
        // Alibaba: the hop limit is a preview parameter some reading rejects, so it
        // stays as found; its range differs between readings (1-64, 2-63).
        let spec = load_spec("aliyun-ecs").unwrap();
        let subject = Subject::new(&spec, "i-bp67acfmxaz1234abcd", "cn-hangzhou", &[]);
        let original = options(&[("http_tokens", "optional"), ("hop_limit", "1")]);
        let base = generate::Builder::new(&spec, &subject);
        let state = starting_state(&spec, &subject, &original, &base.call(base.base()));
        assert_eq!(state["hop_limit"], "1");
        assert_eq!(state["http_tokens"], "required");
        let hop = spec
            .params
            .iter()
            .map(|p| p.get_ref())
            .find(|p| p.name == "HttpPutResponseHopLimit")
            .unwrap();
        let values = base.valid_values(hop);
        assert_eq!(values, ["1", "2", "32", "64"]);
        assert_eq!(safe_values(&spec, "HttpPutResponseHopLimit", values), None);
        // Lightsail: httpProtocolIpv6 exists in one region only: left alone.
        let spec = load_spec("aws-lightsail").unwrap();
        let subject = Subject::new(&spec, "web-1", "us-east-1", &[]);
        let original = options(&[("http_protocol_ipv6", "disabled")]);
        let base = generate::Builder::new(&spec, &subject);
        let state = starting_state(&spec, &subject, &original, &base.call(base.base()));
        assert_eq!(state["http_protocol_ipv6"], "disabled");
    }

    #[test]
    fn the_plan_is_every_case_of_every_api_once() {
        let h = Harness::from_vars(vars(&[("IMDS_CONFORM_CASES", "7")])).unwrap();
        let tests = h.tests();
        let mut names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tests.len(), "names are unique");
        assert!(tests.len() > 500, "{}", tests.len());
        for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
            for phase in ["coverage", "auth", "sequence"] {
                let prefix = format!("{api}::{phase}::");
                assert!(names.iter().any(|n| n.starts_with(&prefix)), "{prefix}");
            }
            let random = format!("{api}::random::");
            assert_eq!(names.iter().filter(|n| n.starts_with(&random)).count(), 7);
        }
        // A region narrows the APIs to those with instances there.
        let h = Harness::from_vars(vars(&[("IMDS_CONFORM_REGION", "eu-north-1")])).unwrap();
        assert!(h
            .tests()
            .iter()
            .all(|t| t.name.starts_with("aws-lightsail::")));
        assert!(h.describe().contains("nordic-1"), "{}", h.describe());
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        let url = ("IMDS_CONFORM_ENDPOINT", "http://127.0.0.1:5000");
        let e = error_of(&[url]);
        assert!(e.contains("IMDS_CONFORM_API"), "{e}");
        let e = error_of(&[url, ("IMDS_CONFORM_API", "aws-ec2")]);
        assert!(e.contains("IMDS_CONFORM_INSTANCE"), "{e}");
        let e = error_of(&[
            url,
            ("IMDS_CONFORM_API", "aws-ec2"),
            ("IMDS_CONFORM_INSTANCE", "i-1"),
        ]);
        assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
        let e = error_of(&[
            ("IMDS_CONFORM_ENDPOINT", "ftp://x"),
            ("IMDS_CONFORM_API", "aws-ec2"),
        ]);
        assert!(e.contains("http://"), "{e}");
        let e = error_of(&[("IMDS_CONFORM_INSTANCE", "i-1")]);
        assert!(e.contains("IMDS_CONFORM_ENDPOINT"), "{e}");
        let e = error_of(&[("IMDS_CONFORM_SEED", "-3")]);
        assert!(e.contains("IMDS_CONFORM_SEED"), "{e}");
        let e = error_of(&[("IMDS_CONFORM_CASES", "many")]);
        assert!(e.contains("IMDS_CONFORM_CASES"), "{e}");
        let e = error_of(&[("IMDS_CONFORM_API", "aws-ec2,gcp")]);
        assert!(e.contains("gcp") && e.contains("aliyun-ecs"), "{e}");
        let e = error_of(&[("IMDS_CONFORM_REGION", "mars-1")]);
        assert!(e.contains("mars-1"), "{e}");
    }

    #[test]
    fn cases_run_alone_against_the_emulator_and_pass() {
        let h = Harness::from_vars(vars(&[("IMDS_CONFORM_API", "aws-ec2")])).unwrap();
        let tests = h.tests();
        let wanted = [
            "httptokens-missing",
            "integer-65",
            "auth::0001",
            "random::0003",
        ];
        for w in wanted {
            let t = tests.iter().find(|t| t.name.contains(w)).unwrap();
            h.run(t).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        }
        let finish = h.finish();
        assert!(finish.problems.is_empty(), "{:?}", finish.problems);
    }

    /// The options the read-back shows for `instance` at an EC2 endpoint.
    fn options_at(
        rt: &tokio::runtime::Runtime,
        url: &str,
        instance: &str,
        key: (&str, &str),
    ) -> Options {
        let spec = Arc::new(load_spec("aws-ec2").unwrap());
        let aim = Aim {
            spec: spec.clone(),
            url: url.to_string(),
            region: spec.api.default_region.clone(),
            instances: vec![instance.to_string()],
            known: vec![instance.to_string()],
            credentials: Credentials::new(key.0, key.1),
            rate: None,
            settle_timeout: None,
            answer_timeout: None,
        };
        let cfg = aim.config(1, 0, Vec::new()).unwrap();
        let call = crate::runner::readback_call(&spec, &cfg.region, instance);
        let sent = rt
            .block_on(cfg.target.send(&call, crate::target::Signing::Valid))
            .unwrap();
        match sent.outcome {
            Ok(crate::wire::Outcome::Success { body, .. }) => {
                crate::runner::observe_in(&spec, instance, &body)
                    .unwrap()
                    .options
            }
            other => panic!("read-back of {instance}: {other:?}"),
        }
    }

    /// `cargo test --test conformance … | head -3`: the test runner's printer
    /// panics on the closed pipe. The instance a test changed is restored all the
    /// same, and the panic comes back after (it ended the process first, leaving
    /// the instance changed without a word).
    /// The runner's printer failing on the caller's thread cancels the tests its
    /// other threads have not run yet (they fail at once), as Ctrl-C does: piped
    /// into `head`, a run against a real account stops there instead of going on
    /// unseen.
    #[test]
    fn a_runner_that_panics_cancels_the_tests_left() {
        let h = Harness::from_vars(vars(&[("IMDS_CONFORM_API", "aws-ec2")])).unwrap();
        let test = h.tests().into_iter().next().unwrap();
        let h = Arc::new(h);
        let in_test = Arc::clone(&h);
        let left = std::sync::Mutex::new(None);
        let ended = Harness::run_then_finish(h, || {
            let harness = in_test;
            std::thread::scope(|s| {
                s.spawn(|| {
                    let waited = std::time::Instant::now();
                    while !harness.cancel.load(Ordering::SeqCst)
                        && waited.elapsed() < std::time::Duration::from_secs(5)
                    {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    *left.lock().unwrap() = Some(harness.run(&test));
                });
                panic!("failed printing to stdout: Broken pipe (os error 32)");
            });
        });
        assert!(ended.outcome.is_err());
        let left = left.lock().unwrap().take().expect("the test left ran");
        assert!(
            left.as_ref().is_err_and(|e| e.contains("not run")),
            "{left:?}"
        );
    }

    #[test]
    fn a_runner_that_panics_still_restores_the_instances() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt.block_on(Emulator::start()).unwrap();
        let url = emulator.url();
        let instance = emulator.instances("aws-ec2")[0].clone();
        let (key, secret) = emulator.credentials("aws-ec2").unwrap();
        let h = Harness::from_vars(vars(&[
            ("IMDS_CONFORM_ENDPOINT", &url),
            ("IMDS_CONFORM_API", "aws-ec2"),
            ("IMDS_CONFORM_INSTANCE", &instance),
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ]))
        .unwrap();
        let found = options_at(&rt, &url, &instance, (&key, &secret));
        let test = h
            .tests()
            .into_iter()
            .find(|t| t.name.ends_with("-httpputresponsehoplimit-valid-32"))
            .unwrap();
        let h = Arc::new(h);
        let in_test = Arc::clone(&h);
        let ended = Harness::run_then_finish(h, || {
            // The runner holds the tests' clones of the harness, and drops them.
            let harness = in_test;
            harness.run(&test).unwrap();
            assert_ne!(options_at(&rt, &url, &instance, (&key, &secret)), found);
            panic!("failed printing to stdout: Broken pipe (os error 32)");
        });
        let panic = ended.outcome.expect_err("the runner panicked");
        assert!(panic.contains("Broken pipe"), "{panic}");
        assert!(
            ended.finish.problems.is_empty(),
            "{:?}",
            ended.finish.problems
        );
        assert!(
            ended.finish.notes.iter().any(|n| n.contains("restored")),
            "{:?}",
            ended.finish.notes
        );
        assert_eq!(options_at(&rt, &url, &instance, (&key, &secret)), found);
    }

    /// A target gone before the end: the instance that could not be put back is
    /// named with the options it had, to put back by hand (they were not said).
    #[test]
    fn an_instance_not_restored_is_named_with_its_options() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt.block_on(Emulator::start()).unwrap();
        let url = emulator.url();
        let instance = emulator.instances("aws-ec2")[0].clone();
        let (key, secret) = emulator.credentials("aws-ec2").unwrap();
        let h = Harness::from_vars(vars(&[
            ("IMDS_CONFORM_ENDPOINT", &url),
            ("IMDS_CONFORM_API", "aws-ec2"),
            ("IMDS_CONFORM_INSTANCE", &instance),
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ]))
        .unwrap();
        let test = h
            .tests()
            .into_iter()
            .find(|t| t.name.ends_with("-httpputresponsehoplimit-valid-32"))
            .unwrap();
        h.run(&test).unwrap();
        rt.block_on(emulator.shutdown());
        let problems = h.finish().problems;
        assert!(
            problems
                .iter()
                .any(|p| p.contains(&format!("could not restore {instance}"))
                    && p.contains("it had ")
                    && p.contains("hop_limit=1")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_unreachable_endpoint_fails_each_test_with_the_reason() {
        let h = Harness::from_vars(vars(&[
            // Port 9 (discard) on loopback: nothing listens there in a sandbox.
            ("IMDS_CONFORM_ENDPOINT", "http://127.0.0.1:9"),
            ("IMDS_CONFORM_API", "aws-ec2"),
            ("IMDS_CONFORM_INSTANCE", "i-0123456789abcdef0"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
        ]))
        .unwrap();
        let tests = h.tests();
        let e = h.run(&tests[0]).unwrap_err();
        assert!(
            e.contains("could not start") && e.contains("127.0.0.1:9"),
            "{e}"
        );
        assert!(!e.contains("not-a-real-secret"), "{e}");
        assert!(h.finish().problems.is_empty());
    }
}
