//! The runner: drives one API's cases against a target, one worker per named
//! instance, and emits events (the CLI's reporters consume them; nothing here
//! prints). Each case is sent, judged against the oracle, and followed by a
//! read-back that checks what the answer implied: a success shows the expected
//! options, an error or a refused signature changed nothing. At the end (and on
//! cancellation) every instance gets its original options back.

pub mod data_plane;
mod readback;
mod shrink;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use globset::GlobSet;
use tokio::sync::mpsc::UnboundedSender;

use crate::generate::{self, Case, Check, Phase, Subject};
use crate::oracle::{self, Acceptable, Expectation, Expected, Instance, Options, Oracle, World};
use crate::spec::{Condition, Role, Spec};
use crate::target::{Signing, Target, TargetError};
use crate::verdict::{
    self, Actual, AmbiguityReading, CaseResult, Exchange, Finding, FindingKind, ReadingTracker,
    Verdict,
};
use crate::wire::{Call, Outcome, RawParam};

pub use readback::{call_for as readback_call, observe_in, Observed, ReadbackError};

/// Everything one API's run needs.
#[derive(Clone)]
pub struct RunConfig {
    pub spec: Arc<Spec>,
    pub target: Arc<Target>,
    /// The instances cases may change: one worker each.
    pub instances: Vec<String>,
    pub region: String,
    /// Ids that exist at the target (so "absent" ids avoid them).
    pub known_ids: Vec<String>,
    pub seed: u64,
    /// Size of the random phase (per worker).
    pub random_cases: u32,
    /// Keep only cases whose rule matches.
    pub only: Option<GlobSet>,
    /// `(k, n)`: keep every case whose index ≡ k-1 (mod n).
    pub shard: Option<(usize, usize)>,
    pub settle_timeout: Duration,
    pub settle_poll: Duration,
    /// Confirm permissions with a DryRun before changing anything.
    pub dry_run_first: bool,
    pub phases: Vec<Phase>,
    pub cancel: Arc<AtomicBool>,
    /// Keep the records of passing cases in the returned list. `false`: every case is
    /// still sent as an event, but only failures and errors are kept, so a long run's
    /// memory stays flat (the caller counts verdicts from the events); and a passing
    /// case is recorded without its exchanges and citations, which nothing reads.
    pub keep_passing: bool,
}

/// What the runner reports as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    ApiStarted {
        api: String,
        planned: usize,
    },
    /// A case was judged. Without `keep_passing`, a passing case's record has no
    /// exchanges and no citations.
    CaseFinished(Box<CaseResult>),
    Note {
        api: String,
        message: String,
    },
    /// An instance the run changed could not be put back as it was: the user's
    /// instance is left changed (`original`: its options before the run).
    NotRestored {
        api: String,
        instance: String,
        reason: String,
        original: String,
    },
    /// The API's cases are done; `readings` says which reading of each ambiguity
    /// the target implements (from every case, kept or not).
    ApiFinished {
        api: String,
        readings: Vec<AmbiguityReading>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{api}: cannot read instance {instance} back: {reason}")]
    Readback {
        api: String,
        instance: String,
        reason: String,
    },
    #[error(
        "{api}: the DryRun check before the run answered {answer}; refusing to change {instance}"
    )]
    DryRunRefused {
        api: String,
        instance: String,
        answer: String,
    },
}

/// One worker's view: the instance and what the run last saw of it, and what the
/// API's workers share.
struct Worker {
    world: World,
    original: Options,
    subject: Subject,
    shared: Shared,
    /// The API's oracle, with its memory, shared by the workers.
    oracle: Arc<Oracle>,
    /// The change state the read-back right after the last answer showed.
    first_state: Option<String>,
    /// Whether the run has sent the instance a call that may have changed it.
    touched: bool,
    /// The last read-back failed, so `world`'s options may not be the instance's:
    /// the next case reads them first, rather than be judged against options the
    /// instance may no longer have (when it cannot, the case is not judged).
    stale: bool,
    /// Options the table's read-back shows but the first read-back did not (so
    /// the restore cannot put them back, nor tell whether they are as before) that
    /// a call answered with a success named: the run may have changed them.
    set_unseen: Vec<String>,
}

/// What one API's workers share: the readings so far, and whether a change has
/// already failed to settle (then later settles are not waited for: a target that
/// never applies costs one settle timeout, not one per case).
#[derive(Clone)]
struct Shared {
    readings: Arc<Mutex<ReadingTracker>>,
    never_settles: Arc<AtomicBool>,
    /// Whether a read-back right after a change ever showed it unsettled, and how
    /// many changes were settled at once (see [`never_pending`]).
    pending_seen: Arc<AtomicBool>,
    settled_at_once: Arc<AtomicUsize>,
}

impl Shared {
    fn new(spec: &Spec) -> Self {
        Shared {
            readings: Arc::new(Mutex::new(ReadingTracker::new(spec))),
            never_settles: Arc::new(AtomicBool::new(false)),
            pending_seen: Arc::new(AtomicBool::new(false)),
            settled_at_once: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The readings folded from every case, as the API's last event.
    fn send_readings(&self, api: String, events: &UnboundedSender<Event>) {
        let readings = self.readings.lock().map(|t| t.finish()).unwrap_or_default();
        let _ = events.send(Event::ApiFinished { api, readings });
    }

    /// The workers' cases in order (the first error instead, if any); on success
    /// the readings go out as the API's last event.
    fn finish(
        &self,
        api: String,
        results: Vec<Result<Vec<CaseResult>, RunError>>,
        events: &UnboundedSender<Event>,
    ) -> Result<Vec<CaseResult>, RunError> {
        let mut all = Vec::new();
        for r in results {
            all.extend(r?);
        }
        self.send_readings(api, events);
        Ok(all)
    }
}

impl Worker {
    /// Remember the options a `call` answered with a success may have changed
    /// that the table's read-back shows but the first read-back did not: those it
    /// names, and those it leaves out that an omission may reset (under the table or
    /// a reading), when settable in this region. A success for another instance
    /// changed nothing here. (An option the table's read-back has no field for, the
    /// API cannot show: that is the table's limit, said in its citations, not the
    /// target's.)
    fn accepted(&mut self, spec: &Spec, call: &Call) {
        let elsewhere = spec
            .param_with_role(Role::Target)
            .and_then(|t| call.get(&t.name))
            .is_some_and(|v| v.as_query_text() != self.world.instance.id);
        if elsewhere {
            return;
        }
        for p in spec.params.iter().map(|p| p.get_ref()) {
            let Some(option) = &p.option else { continue };
            let unseen = spec.readback.fields.contains_key(option)
                && !self.original.contains_key(option)
                && !self.set_unseen.contains(option);
            if !unseen || !settable_in(p, &self.world.region) {
                continue;
            }
            if call.get(&p.name).is_some() || may_reset(spec, p) {
                self.set_unseen.push(option.clone());
            }
        }
    }

    /// The instance's options, as a read-back just showed them.
    fn saw(&mut self, options: Options) {
        self.world.instance.options = options;
        self.stale = false;
    }

    /// Read `instance` and remember its options, to restore them at the end.
    async fn open(cfg: &RunConfig, instance: &str, shared: Shared) -> Result<Self, RunError> {
        let observed = readback::read(cfg, instance).await?;
        Ok(Worker {
            world: World {
                region: cfg.region.clone(),
                instance: Instance {
                    id: instance.to_string(),
                    state: observed
                        .run_state
                        .clone()
                        .unwrap_or_else(|| "running".into()),
                    options: observed.options.clone(),
                },
            },
            original: observed.options,
            subject: Subject::new(&cfg.spec, instance, &cfg.region, &cfg.known_ids),
            shared,
            oracle: Arc::new(Oracle::new(cfg.spec.clone())),
            first_state: None,
            touched: false,
            stale: false,
            set_unseen: Vec::new(),
        })
    }
}

/// Report a finished case and keep its record (passing ones only with
/// `keep_passing`); fold it into the readings.
fn finished(
    cfg: &RunConfig,
    events: &UnboundedSender<Event>,
    results: &mut Vec<CaseResult>,
    r: CaseResult,
    shared: &Shared,
) {
    if let Ok(mut t) = shared.readings.lock() {
        t.add(&r);
    }
    if cfg.keep_passing || !r.verdict.is_pass() {
        let _ = events.send(Event::CaseFinished(Box::new(r.clone())));
        results.push(r);
    } else {
        let _ = events.send(Event::CaseFinished(Box::new(r)));
    }
}

/// Run every phase for one API. Returns the judged cases in order (without the
/// passing ones unless `keep_passing`), or the error that stopped the run (see
/// [`run_api_partial`] to keep the cases judged before it).
pub async fn run_api(
    cfg: RunConfig,
    events: UnboundedSender<Event>,
) -> Result<Vec<CaseResult>, RunError> {
    let run = run_api_partial(cfg, events).await;
    match run.stopped_by {
        Some(e) => Err(e),
        None => Ok(run.cases),
    }
}

/// What a run of one API gave: the judged cases, in order, and the error that
/// stopped it early, if one did. The cases are then those judged before it: a
/// departure found before a late transport failure is still a departure.
#[derive(Debug)]
pub struct ApiRun {
    /// The judged cases (without the passing ones unless `keep_passing`).
    pub cases: Vec<CaseResult>,
    /// Why the run stopped before its last case.
    pub stopped_by: Option<RunError>,
    /// The run was cancelled (`RunConfig::cancel`) before its last case.
    pub interrupted: bool,
}

impl ApiRun {
    fn stopped(e: RunError) -> Self {
        ApiRun {
            cases: Vec::new(),
            stopped_by: Some(e),
            interrupted: false,
        }
    }
}

/// [`run_api`], keeping the cases judged before an error stopped the run.
pub async fn run_api_partial(cfg: RunConfig, events: UnboundedSender<Event>) -> ApiRun {
    let api = cfg.spec.api.id.clone();
    let shared = Shared::new(&cfg.spec);
    let mut workers = Vec::new();
    for instance in &cfg.instances {
        match Worker::open(&cfg, instance, shared.clone()).await {
            Ok(w) => workers.push(w),
            Err(e) => return ApiRun::stopped(e),
        }
    }
    if cfg.dry_run_first {
        for w in &workers {
            if let Err(e) = dry_run_check(&cfg, w, &events).await {
                return ApiRun::stopped(e);
            }
        }
    }
    let mut planned: Vec<(usize, Case)> = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        let mut cases = Vec::new();
        for phase in &cfg.phases {
            cases.extend(match phase {
                Phase::Coverage => generate::coverage(&cfg.spec, &w.subject),
                Phase::Auth => generate::auth(&cfg.spec, &w.subject),
                Phase::Sequence => generate::sequences(&cfg.spec, &w.subject),
                Phase::Random | Phase::DataPlane => Vec::new(),
            });
        }
        // Workers split the deterministic cases between them.
        planned.extend(
            cases
                .into_iter()
                .enumerate()
                .filter(|(n, _)| n % workers.len() == i)
                .map(|(_, c)| (i, c)),
        );
    }
    let planned: Vec<(usize, Case)> = planned
        .into_iter()
        .enumerate()
        .filter(|(n, (_, c))| keep(&cfg, *n, c))
        .map(|(_, wc)| wc)
        .collect();
    // The random phase's cases have the rule `random`: `--only` keeps them when
    // it matches that, as it keeps any other case by its rule.
    let random = cfg.phases.contains(&Phase::Random) && keeps_rule(&cfg, RANDOM_RULE);
    let random_total = if random {
        cfg.random_cases as usize * workers.len()
    } else {
        0
    };
    let _ = events.send(Event::ApiStarted {
        api: api.clone(),
        planned: planned.len() + random_total,
    });
    let mut by_worker: Vec<Vec<Case>> = vec![Vec::new(); workers.len()];
    for (i, c) in planned {
        by_worker[i].push(c);
    }
    let mut run = run_workers(&cfg, &events, workers, by_worker, random).await;
    // Cut short by a cancel, not by another worker's error (`stopped_by` says so).
    run.interrupted = run.interrupted && cancelled(&cfg);
    shared.send_readings(api, &events);
    run
}

/// Run the workers, each serially on its own instance, concurrently. They are
/// spread over one thread per core, each with a runtime and an HTTP client of its
/// own (the random phase's value trees are not `Send`, so a worker's future is made
/// and driven there; its connections live there too, so an answer wakes no other
/// thread, and while one worker waits for its answer another on the same thread
/// goes on: no thread switch per request). Results are gathered in worker order,
/// so the report does not depend on scheduling; so is the error told when more
/// than one worker failed.
async fn run_workers(
    cfg: &RunConfig,
    events: &UnboundedSender<Event>,
    workers: Vec<Worker>,
    by_worker: Vec<Vec<Case>>,
    random: bool,
) -> ApiRun {
    let threads = worker_threads(workers.len());
    let mut groups: Vec<Vec<(usize, Worker, Vec<Case>)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, (w, cases)) in workers.into_iter().zip(by_worker).enumerate() {
        groups[i % threads].push((i, w, cases));
    }
    // The workers stop on `stop`: set when a worker fails (so the error is told
    // without waiting for the others' cases; each still restores its instance) and
    // when the run is cancelled (copied from `cancel` by each thread's forwarder).
    let (cancel, stop) = (cfg.cancel.clone(), cancel_flag());
    let handles: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let (mut cfg, events) = (cfg.clone(), events.clone());
            let cancel = cancel.clone();
            cfg.cancel = stop.clone();
            tokio::task::spawn_blocking(move || {
                let setup = || -> Result<_, RunError> {
                    let target = cfg.target.for_worker()?;
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| TargetError::Client(e.to_string()))?;
                    Ok((target, runtime))
                };
                let runtime = match setup() {
                    Ok((target, runtime)) => {
                        cfg.target = Arc::new(target);
                        runtime
                    }
                    Err(e) => {
                        // This thread's workers never start (their instances are
                        // untouched); the others stop, as after a worker's error.
                        cfg.cancel.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                    let forward =
                        tokio::spawn(forward_in_batches(rx, events, cancel, cfg.cancel.clone()));
                    let tasks: Vec<_> = group
                        .into_iter()
                        .map(|(i, w, cases)| {
                            let (cfg, tx) = (cfg.clone(), tx.clone());
                            (
                                i,
                                tokio::task::spawn_local(work(cfg, tx, w, cases, i, random)),
                            )
                        })
                        .collect();
                    drop(tx);
                    let mut done = Vec::new();
                    for (i, task) in tasks {
                        done.push((i, task.await));
                    }
                    // Every `work` dropped its sender: the forwarder sends the rest
                    // and ends.
                    let _ = forward.await;
                    Ok::<_, RunError>(done)
                })
            })
        })
        .collect();
    let mut by_index = Vec::new();
    let mut thread_error = None;
    for handle in handles {
        match joined(handle.await).and_then(|r| r) {
            Ok(done) => by_index.extend(done),
            Err(e) => thread_error = thread_error.or(Some(e)),
        }
    }
    by_index.sort_by_key(|(i, _)| *i);
    let mut run = ApiRun {
        cases: Vec::new(),
        stopped_by: None,
        interrupted: false,
    };
    for (_, done) in by_index {
        match joined(done) {
            Ok((cases, error, cut)) => {
                run.cases.extend(cases);
                run.stopped_by = run.stopped_by.or(error);
                run.interrupted |= cut;
            }
            Err(e) => run.stopped_by = run.stopped_by.or(Some(e)),
        }
    }
    run.stopped_by = run.stopped_by.or(thread_error);
    run
}

/// What a joined thread or task gave. One that panicked: the panic goes on, as
/// within one task. One cancelled (only when the runtime shuts down under the
/// run): an error.
fn joined<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, RunError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(RunError::Target(TargetError::Client(e.to_string()))),
    }
}

/// How many threads `n` workers run on: one per core, never more than workers.
fn worker_threads(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    n.clamp(1, cores)
}

/// How often a worker hands its events on to the reporters.
const EVENT_BATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Hand a thread's events on to the reporters in batches, every
/// [`EVENT_BATCH_INTERVAL`] and once more when its workers are done (their senders
/// dropped), in the order they came. Sent one by one, every case would wake the
/// reporters' thread; a batch wakes it once. On the same beat, a cancelled run
/// (`cancel`) stops the workers (`stop`).
async fn forward_in_batches(
    mut from: tokio::sync::mpsc::UnboundedReceiver<Event>,
    to: UnboundedSender<Event>,
    cancel: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    use tokio::sync::mpsc::error::TryRecvError;
    loop {
        tokio::time::sleep(EVENT_BATCH_INTERVAL).await;
        if cancel.load(Ordering::SeqCst) {
            stop.store(true, Ordering::SeqCst);
        }
        loop {
            match from.try_recv() {
                Ok(event) => {
                    let _ = to.send(event);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// One worker's cases, then its random phase (its seed is the run's plus its
/// index), then its instance's original options back (also after a failure or a
/// cancellation). The cases judged, the error that stopped it early, and whether
/// a stop (a cancel, another worker's error) cut it short.
async fn work(
    cfg: RunConfig,
    events: UnboundedSender<Event>,
    mut w: Worker,
    cases: Vec<Case>,
    i: usize,
    random: bool,
) -> (Vec<CaseResult>, Option<RunError>, bool) {
    let mut results = Vec::new();
    let run = async {
        for case in &cases {
            if cfg.cancel.load(Ordering::SeqCst) {
                break;
            }
            let r = execute(&cfg, &mut w, case).await?;
            finished(&cfg, &events, &mut results, r, &w.shared);
        }
        if random && !cfg.cancel.load(Ordering::SeqCst) {
            let seed = cfg.seed.wrapping_add(i as u64);
            // Numbered after the earlier workers' random cases, so every case of
            // the run has an id of its own.
            let first = i * cfg.random_cases as usize + 1;
            shrink::random_phase(&cfg, &mut w, (seed, first), &events, &mut results).await?;
        }
        Ok::<(), RunError>(())
    }
    .await;
    // Stopped before its last case (read before the restore: a stop that comes
    // while it restores cuts nothing).
    let cut = cfg.cancel.load(Ordering::SeqCst);
    if run.is_err() {
        // The other workers stop too: the run has failed.
        cfg.cancel.store(true, Ordering::SeqCst);
    }
    put_back(&cfg, &mut w, &events, "").await;
    (results, run.err(), cut)
}

/// The rule of every random case: what `--only` matches to keep the random phase.
pub const RANDOM_RULE: &str = "random";

/// Whether `--only` (when given) keeps cases of `rule`.
fn keeps_rule(cfg: &RunConfig, rule: &str) -> bool {
    cfg.only.as_ref().is_none_or(|only| only.is_match(rule))
}

fn keep(cfg: &RunConfig, index: usize, case: &Case) -> bool {
    if !keeps_rule(cfg, &case.rule) {
        return false;
    }
    match cfg.shard {
        Some((k, n)) if n > 0 => index % n == k.saturating_sub(1),
        _ => true,
    }
}

async fn dry_run_check(
    cfg: &RunConfig,
    w: &Worker,
    events: &UnboundedSender<Event>,
) -> Result<(), RunError> {
    let api = cfg.spec.api.id.clone();
    let Some(dry) = cfg.spec.param_with_role(Role::DryRun) else {
        let _ = events.send(Event::Note {
            api,
            message: "--dry-run-first: this API has no DryRun; skipped".into(),
        });
        return Ok(());
    };
    let b = generate::Builder::new(&cfg.spec, &w.subject);
    let call = b.with(&dry.name, vec![b.value(dry, "true")]);
    let sent = cfg.target.send(&call, Signing::Valid).await?;
    let codes: Vec<String> = cfg
        .spec
        .errors_for(Condition::DryRun)
        .map(|e| e.code.clone())
        .collect();
    match sent.outcome {
        Ok(Outcome::Error { code, .. }) if codes.contains(&code) => Ok(()),
        other => Err(RunError::DryRunRefused {
            api,
            instance: w.world.instance.id.clone(),
            answer: match other {
                Ok(o) => format!("{o:?}"),
                Err(e) => e.to_string(),
            },
        }),
    }
}

/// Send one case, judge it, read back, and return the record.
async fn execute(cfg: &RunConfig, w: &mut Worker, case: &Case) -> Result<CaseResult, RunError> {
    // After a failed read-back, the options this case starts from are read first;
    // when they cannot be, the case is sent (its exchange is worth having) but not
    // judged: its expectation would come from options the instance may not have.
    let mut unknown_start = refresh(cfg, w).await.err();
    let started = Instant::now();
    let spec = &cfg.spec;
    let auth = case.signing.auth();
    let mut exchanges = Vec::new();
    let mut notes = Vec::new();
    let url = cfg.target.config().endpoint.url.clone();
    w.touched = true;
    let (expectation, sent) = match case.check {
        Check::ReplayNonce => {
            // The first send is a valid call; the second, byte for byte the same,
            // must be refused.
            let req = cfg.target.prepare(&case.call, Signing::Valid)?;
            let first = cfg.target.send_raw(&req).await?;
            exchanges.push(Exchange::unredacted(&url, &req, Some(&first)));
            let protocol = cfg.target.config().protocol;
            let first_exp = w.oracle.expect(&w.world, &case.call, Signing::Valid.auth());
            let decoded = crate::wire::client::decode(protocol, &first);
            let accepted = decoded
                .as_ref()
                .is_ok_and(|o| verdict::judge(spec, &first_exp, o, &w.world.instance.id).is_pass());
            if !accepted {
                // Refusing the replay proves nothing when the call itself was not
                // answered as documented: the case is judged on its first send.
                notes.push(
                    "the first send was not answered as documented: judged on it (not replayed)"
                        .into(),
                );
                (first_exp, (decoded, first.status, first.body))
            } else {
                if let Ok(o) = &decoded {
                    notes.push(format!("first send: {}", short_outcome(o)));
                }
                // The first send may have changed the instance; learn it before judging.
                // Unread, the replay is sent but not judged, and the run goes on.
                match readback::read(cfg, &w.world.instance.id).await {
                    Ok(observed) => w.saw(observed.options),
                    Err(e) => {
                        w.stale = true;
                        notes.push(format!(
                            "read-back after the first send failed: {}",
                            crate::verdict::redact::text(&e.to_string())
                        ));
                        unknown_start = unknown_start.or(Some(e));
                    }
                }
                let second = match cfg.target.send_raw(&req).await {
                    Ok(second) => second,
                    Err(e) => {
                        exchanges.push(Exchange::unredacted(&url, &req, None));
                        let lost = (first_exp, exchanges, notes, started.elapsed());
                        return Ok(replay_unanswered(cfg, case, &e, lost));
                    }
                };
                exchanges.push(Exchange::unredacted(&url, &req, Some(&second)));
                let exp = Expectation {
                    outcomes: oracle::expect_condition(spec, &w.world, Condition::NonceReused),
                    ambiguities: Vec::new(),
                };
                let decoded = crate::wire::client::decode(protocol, &second);
                (exp, (decoded, second.status, second.body))
            }
        }
        _ => {
            let exp = w.oracle.expect(&w.world, &case.call, auth);
            let sent = cfg.target.send(&case.call, case.signing).await?;
            if sent.attempts > 1 {
                notes.push(format!("throttled: sent {} times", sent.attempts));
            }
            exchanges.push(Exchange::unredacted(
                &url,
                &sent.request,
                Some(&sent.response),
            ));
            (
                exp,
                (sent.outcome, sent.response.status, sent.response.body),
            )
        }
    };
    let (actual, mut judgement) = judge_answer(cfg, w, case, &expectation, sent, &mut notes).await;
    match unknown_start {
        Some(e) => judgement = from_unknown_start(judgement, case, &e),
        None if case.check == Check::Settle && judgement.verdict.is_pass() => {
            judgement = settle_check(cfg, w, judgement, &mut notes).await;
        }
        None => {}
    }
    let mut result = record(
        cfg,
        case,
        expectation,
        actual,
        judgement.verdict,
        exchanges,
        notes,
        started.elapsed(),
    );
    result.findings = judgement.findings;
    verdict::redact::case(&mut result);
    Ok(result)
}

/// A replay (the second send) that got no answer: the case is the suite's error,
/// keeping the first send's answer (and the change it made) and its exchange.
fn replay_unanswered(
    cfg: &RunConfig,
    case: &Case,
    e: &crate::target::TargetError,
    (first_exp, exchanges, mut notes, elapsed): (Expectation, Vec<Exchange>, Vec<String>, Duration),
) -> CaseResult {
    let e = crate::verdict::redact::text(&e.to_string());
    notes.push("the replay got no answer".into());
    let mut result = record(
        cfg,
        case,
        first_exp,
        Actual::Unjudgeable { reason: e.clone() },
        Verdict::Error {
            reason: format!("the replay (second send) got no answer: {e}"),
        },
        exchanges,
        notes,
        elapsed,
    );
    verdict::redact::case(&mut result);
    result
}

/// Judge the answer (decoded or not) and the read-back after it.
async fn judge_answer(
    cfg: &RunConfig,
    w: &mut Worker,
    case: &Case,
    expectation: &Expectation,
    sent: (Result<Outcome, crate::wire::DecodeError>, u16, Vec<u8>),
    notes: &mut Vec<String>,
) -> (Actual, verdict::Judgement) {
    let spec = &cfg.spec;
    let (decoded, status, body) = sent;
    let before = w.world.instance.options.clone();
    w.first_state = None;
    if let Ok(Outcome::Success { .. }) = &decoded {
        w.accepted(spec, &case.call);
    }
    let outcome = match decoded {
        Ok(o) => o,
        Err(e) => {
            // Judged on what it has: the body is a departure of its own, the status
            // is judged against what was due.
            let protocol = cfg.target.config().protocol;
            let findings = verdict::finding::of_undecodable(
                expectation,
                status,
                &body,
                protocol,
                &e.to_string(),
                &case.rule,
            );
            let reason = findings
                .iter()
                .map(|f| f.detail.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            match readback::read(cfg, &w.world.instance.id).await {
                Ok(obs) => {
                    notes.push(format!(
                        "read-back: {}",
                        show_options(&obs.options, obs.state.as_deref())
                    ));
                    w.saw(obs.options);
                }
                Err(_) => w.stale = true,
            }
            return (
                Actual::Undecodable {
                    status,
                    reason: e.to_string(),
                },
                verdict::Judgement {
                    verdict: Verdict::Fail { reason },
                    findings,
                },
            );
        }
    };
    let observed = readback::read(cfg, &w.world.instance.id).await;
    notes.push(match &observed {
        Err(e) => format!(
            "read-back failed: {}",
            crate::verdict::redact::text(&e.to_string())
        ),
        Ok(obs) => format!(
            "read-back: {}",
            show_options(&obs.options, obs.state.as_deref())
        ),
    });
    let fields: Vec<&String> = spec.readback.fields.keys().collect();
    let applied = observed
        .as_ref()
        .is_ok_and(|obs| shows_as_sent(spec, &case.call, &before, &obs.options, &fields));
    // Without a read-back, only the answer is judged, and at best it is unverified.
    let mut judgement = verdict::judge_full(
        spec,
        expectation,
        &outcome,
        &w.world.instance.id,
        &case.rule,
        applied,
        |a| match &observed {
            Err(_) => Ok(()),
            Ok(obs) => readback_agrees(a, &before, &obs.options, &fields, |field| {
                field_rule(spec, &case.call, field)
            }),
        },
    );
    if let Err(e) = &observed {
        w.stale = true;
        // An answer as documented proves nothing about the change: unverified is
        // not a pass.
        if judgement.verdict.is_pass() {
            judgement.verdict = Verdict::Error {
                reason: format!("the answer is as documented, but the read-back failed: {e}"),
            };
        }
    }
    if let Ok(obs) = observed {
        complete_readback(spec, &obs, &mut judgement);
        w.first_state = obs.state;
        w.saw(obs.options);
    }
    name_omissions(spec, &case.call, &mut judgement.findings);
    (Actual::Outcome { outcome }, judgement)
}

/// Whether the read-back shows the call taken as sent: every option the call
/// sent (that the read-back shows) has the value sent, in the form a target
/// storing it would give it ([`oracle::stored_form`]; enum spellings in any
/// case), and one of them changed. That is a success that took the call,
/// whichever reading it answered under; a read-back showing anything else (an
/// option not applied, a lagging read-back, another value) is no sign of what the
/// target took the call for.
fn shows_as_sent(
    spec: &Spec,
    call: &Call,
    before: &Options,
    after: &Options,
    fields: &[&String],
) -> bool {
    let mut changed = false;
    for f in fields {
        let Some((p, value)) =
            param_of_field(spec, f).and_then(|p| call.get(&p.name).map(|v| (p, v)))
        else {
            continue;
        };
        let Some(shown) = after.get(*f) else {
            continue;
        };
        if !shown.eq_ignore_ascii_case(&oracle::stored_form(p.kind, value)) {
            return false;
        }
        changed |= before.get(*f) != Some(shown);
    }
    changed
}

/// A success that shows another value for an option the call did not send breaks
/// the table's rule for an omitted parameter (`<param>.absent`: keep or reset), not
/// the answer's shape or the call's own change. An answer that lacks the option's
/// field says nothing of what the omission did: that is the answer's shape
/// (`response.fields`), one departure whichever options the calls left out. A
/// parameter sent empty counts as sent: a target that keeps the empty value shows
/// one departure whatever the parameter, not one per parameter's omission rule.
fn name_omissions(spec: &Spec, call: &crate::wire::Call, findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        // (A read-back's findings come named: `readback_agrees` gives an omitted
        // option's its omission rule where one is at stake, and only there.)
        let of_success =
            f.kind == FindingKind::Answer && f.rule == "response.fields" && f.got != "missing";
        let Some(field) = f.field.as_deref().filter(|_| of_success) else {
            continue;
        };
        if let Some(Omission { rule, cite }) = omission(spec, call, field) {
            f.rule = rule;
            f.cite = cite;
        }
    }
}

/// The rule an omitted option answers to, and its citations.
pub struct Omission {
    /// `<param>.absent`.
    pub rule: String,
    /// The parameter's citations for an omission, short form.
    pub cite: Vec<String>,
}

/// The omission rule at stake for `field` (an option, or a member naming one)
/// when `call` did not send its parameter; `None` when it did, or the field names
/// no option.
fn omission(spec: &Spec, call: &crate::wire::Call, field: &str) -> Option<Omission> {
    let p = param_of_field(spec, field)?;
    call.get(&p.name).is_none().then(|| Omission {
        rule: format!("{}.absent", p.name),
        cite: p
            .cite
            .get("absent")
            .map(|c| c.iter().map(|c| c.short()).collect())
            .unwrap_or_default(),
    })
}

/// What a read-back's field answers to after a success on our instance: the
/// call's own change where it sent the field's parameter (cited by the read-back's
/// facts and the parameter's values), the omission rule where it did not.
fn field_rule(spec: &Spec, call: &crate::wire::Call, field: &str) -> FieldRule {
    if let Some(o) = omission(spec, call, field) {
        return FieldRule::Omitted(o);
    }
    let Some(p) = param_of_field(spec, field) else {
        return FieldRule::Unknown;
    };
    let of_readback = ["operation", "fields"]
        .iter()
        .filter_map(|k| spec.readback.cite.get(*k))
        .flatten();
    let of_values = ["values", "range", "type"]
        .iter()
        .find_map(|k| p.cite.get(*k))
        .into_iter()
        .flatten();
    let sent = call
        .get(&p.name)
        .map(|v| oracle::stored_form(p.kind, v))
        .unwrap_or_default();
    FieldRule::Sent {
        cite: of_readback.chain(of_values).map(|c| c.short()).collect(),
        value: sent,
    }
}

/// The rule a read-back's field answers to after a success on our instance.
pub enum FieldRule {
    /// The call left the field's parameter out: its omission rule.
    Omitted(Omission),
    /// The call sent it: the citations that say the value sent shows, and that
    /// value (as a target stores it). They cite a finding only where the outcome
    /// wants that value (not where a reading ignores the parameter, or takes an
    /// empty value as omitted: there the outcome's own citations say why).
    Sent {
        /// The citations.
        cite: Vec<String>,
        /// The value sent, in stored form.
        value: String,
    },
    /// Nothing more is known of the field: the outcome's rule and citations.
    Unknown,
}

/// The option parameter a finding's field names: an option name (read-back
/// findings) or a member of the answer or the read-back (any reading's spelling).
fn param_of_field<'a>(spec: &'a Spec, field: &str) -> Option<&'a crate::spec::Param> {
    let params = || spec.params.iter().map(|p| p.get_ref());
    if let Some(p) = params().find(|p| p.option.as_deref() == Some(field)) {
        return Some(p);
    }
    let patched = spec
        .ambiguities
        .iter()
        .flat_map(|a| a.get_ref().readings.iter())
        .flat_map(|r| r.set.iter())
        .filter_map(|pt| pt.fields.as_ref());
    let option = [&spec.response.fields, &spec.readback.fields]
        .into_iter()
        .chain(patched)
        .flat_map(|m| m.iter())
        .find(|(_, member)| member.as_str() == field)
        .map(|(option, _)| option.clone())?;
    params().find(|p| p.option.as_ref() == Some(&option))
}

/// A field the table says the read-back carries but the answer lacks is a
/// departure of its own, whatever else the case shows.
fn complete_readback(spec: &Spec, obs: &Observed, judgement: &mut verdict::Judgement) {
    let missing: Vec<(&String, &String)> = spec
        .readback
        .fields
        .iter()
        .filter(|(option, _)| !obs.options.contains_key(*option))
        .collect();
    if missing.is_empty() {
        return;
    }
    // The read-back's citations, each once (its facts may share a source).
    let cite = verdict::unique(spec.readback.cite.values().flatten().map(|c| c.short()));
    for (_, field) in missing {
        add_failure(
            judgement,
            Finding {
                kind: FindingKind::Readback,
                rule: "readback.fields".into(),
                expected: "present".into(),
                got: "missing".into(),
                field: Some(field.clone()),
                detail: format!("the read-back ({}) has no {field}", spec.readback.operation),
                cite: cite.clone(),
            },
        );
    }
}

/// After a passing change, read back until it settles. A target whose change never
/// settles costs one settle timeout per API: after the first, later settles are
/// checked once and not waited for.
async fn settle_check(
    cfg: &RunConfig,
    w: &mut Worker,
    judgement: verdict::Judgement,
    notes: &mut Vec<String>,
) -> verdict::Judgement {
    let mut judgement = judgement;
    if let Some(f) = never_pending(cfg, w) {
        add_failure(&mut judgement, f);
    }
    let gave_up = w.shared.never_settles.load(Ordering::SeqCst);
    let waited = if gave_up {
        readback::read(cfg, &w.world.instance.id)
            .await
            .map(|obs| readback::settled(cfg, &obs).then_some(obs))
    } else {
        readback::settle(cfg, &w.world.instance.id).await
    };
    match waited {
        Ok(Some(obs)) => {
            notes.push(format!(
                "settled: {}",
                show_options(&obs.options, obs.state.as_deref())
            ));
            // Right after the answer the read-back showed the change (the case
            // passed): once settled, it must still show it.
            let moved = cfg.spec.readback.fields.keys().find_map(|f| {
                match (w.world.instance.options.get(f), obs.options.get(f)) {
                    (Some(was), Some(now)) if was != now => Some((f, was.clone(), now.clone())),
                    _ => None,
                }
            });
            if let Some((f, was, now)) = moved {
                let detail = format!(
                    "once settled, the read-back shows {f} = {now:?}, where right after the \
                     change it showed {was:?}"
                );
                add_failure(
                    &mut judgement,
                    Finding {
                        kind: FindingKind::Readback,
                        rule: "state_machine.settles_to".into(),
                        expected: "the change, kept once settled".into(),
                        got: "another value once settled".into(),
                        field: Some(f.clone()),
                        detail,
                        cite: settle_cites(cfg),
                    },
                );
            }
            w.saw(obs.options);
            judgement
        }
        Ok(None) => {
            w.shared.never_settles.store(true, Ordering::SeqCst);
            let last = readback::read(cfg, &w.world.instance.id)
                .await
                .ok()
                .and_then(|o| o.state)
                .unwrap_or_else(|| "unknown".into());
            let settles_to = cfg
                .spec
                .state_machine
                .as_ref()
                .map(|sm| sm.settles_to.clone())
                .unwrap_or_default();
            let detail = if gave_up {
                format!(
                    "the change is still {last} (an earlier change never settled: not waited for)"
                )
            } else {
                format!(
                    "the change did not settle within {:?}: still {last}",
                    cfg.settle_timeout
                )
            };
            add_failure(
                &mut judgement,
                Finding {
                    kind: FindingKind::NeverSettles,
                    rule: "state_machine.settles_to".into(),
                    expected: settles_to,
                    got: last,
                    field: None,
                    detail,
                    cite: settle_cites(cfg),
                },
            );
            judgement
        }
        // A failure found already stays one; a change not seen to settle is
        // otherwise unverified.
        Err(e) => {
            w.stale = true;
            let e = crate::verdict::redact::text(&e.to_string());
            if matches!(judgement.verdict, Verdict::Fail { .. }) {
                notes.push(format!("settle read-back failed: {e}"));
                return judgement;
            }
            verdict::Judgement {
                verdict: Verdict::Error { reason: e },
                findings: Vec::new(),
            }
        }
    }
}

/// After a failed read-back, read the instance again before the next case: its
/// expectation is computed from the options it starts from. Still stale when
/// this read fails too.
async fn refresh(cfg: &RunConfig, w: &mut Worker) -> Result<(), RunError> {
    if w.stale {
        let obs = readback::read(cfg, &w.world.instance.id).await?;
        w.saw(obs.options);
    }
    Ok(())
}

/// The judgement of a case whose starting options could not be read: only what
/// does not depend on them stands — a badly signed call's answer (it must be
/// refused, whatever the options: accepted, or refused with another error, or not
/// in the protocol's format). The rest is not judged: its expectation came from
/// options the instance may no longer have.
fn from_unknown_start(
    judgement: verdict::Judgement,
    case: &Case,
    e: &RunError,
) -> verdict::Judgement {
    let standing: Vec<Finding> = if case.signing == Signing::Valid {
        Vec::new()
    } else {
        judgement
            .findings
            .into_iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    FindingKind::AcceptedInvalid
                        | FindingKind::WrongError
                        | FindingKind::NotProtocol
                )
            })
            .collect()
    };
    if standing.is_empty() {
        let e = crate::verdict::redact::text(&e.to_string());
        return verdict::Judgement {
            verdict: Verdict::Error {
                reason: format!(
                    "not judged: the options it started from are unknown (a read-back it \
                     needed failed: {e})"
                ),
            },
            findings: Vec::new(),
        };
    }
    let reason = standing
        .iter()
        .map(|f| f.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    verdict::Judgement {
        verdict: Verdict::Fail { reason },
        findings: standing,
    }
}

/// Fail `judgement` with `f` too: its reason joins any earlier failure's, and
/// every earlier finding stays (each is a departure of its own).
fn add_failure(judgement: &mut verdict::Judgement, f: Finding) {
    judgement.verdict = match std::mem::replace(&mut judgement.verdict, Verdict::Pass) {
        Verdict::Fail { reason } => Verdict::Fail {
            reason: format!("{reason}; {}", f.detail),
        },
        _ => Verdict::Fail {
            reason: f.detail.clone(),
        },
    };
    judgement.findings.push(f);
}

/// The citations of the table's state machine, one line each.
fn settle_cites(cfg: &RunConfig) -> Vec<String> {
    cfg.spec
        .state_machine
        .as_ref()
        .map(|sm| sm.cite.values().flatten().map(|c| c.short()).collect())
        .unwrap_or_default()
}

/// After how many changes, each read back already settled and none ever
/// unsettled, a target counts as never pending.
const NEVER_PENDING_AFTER: usize = 4;

/// Where the table says a change on an instance in this state is first in another
/// state than the one it settles to, and the answer cannot show it (the read-back
/// does): a target whose read-back right after every change is already settled is
/// never pending. Counted over the run, so a target that applies faster than the
/// suite reads back is not mistaken for one that skips the state.
fn never_pending(cfg: &RunConfig, w: &Worker) -> Option<Finding> {
    let sm = cfg.spec.state_machine.as_ref()?;
    let answer_shows =
        cfg.spec.response.options_path.is_some() && cfg.spec.response.state_field.is_some();
    let rule = sm
        .on_modify
        .iter()
        .find(|r| r.instance_state == w.world.instance.state)?;
    if answer_shows || rule.answer.contains(&sm.settles_to) {
        return None;
    }
    let first = w.first_state.as_ref()?;
    if *first != sm.settles_to {
        w.shared.pending_seen.store(true, Ordering::SeqCst);
        return None;
    }
    let n = w.shared.settled_at_once.fetch_add(1, Ordering::SeqCst) + 1;
    if w.shared.pending_seen.load(Ordering::SeqCst) || n < NEVER_PENDING_AFTER {
        return None;
    }
    Some(Finding {
        kind: FindingKind::Readback,
        rule: "state_machine.on_modify".into(),
        expected: rule.answer.join(" or "),
        got: first.clone(),
        field: cfg.spec.readback.state_field.clone(),
        detail: format!(
            "the read-back right after the change shows {first}, as after every change so far ({n}): never {}",
            rule.answer.join(" or ")
        ),
        cite: rule.cite.iter().map(|c| c.short()).collect(),
    })
}

/// A matching outcome must also agree with the read-back: a success shows its
/// options (on the fields the read-back carries), an error changed nothing.
///
/// After a success on our instance, the fields the call set and those of options
/// it omitted answer to different rules (the value sent; the table's rule for an
/// omitted parameter), which `rule_of` gives for a field: the ones it set are one
/// finding under the outcome's rule, named by the first in the table's order with
/// every value in its detail and cited by what says the value sent shows (the
/// outcome's own citations are its omitted options' and states'); each omitted one
/// is a finding of its own, under its omission rule. After an error, or a success
/// elsewhere, every field answers to "changes nothing" (or to the call): one
/// finding.
pub fn readback_agrees(
    a: &Acceptable,
    before: &Options,
    after: &Options,
    fields: &[&String],
    rule_of: impl Fn(&str) -> FieldRule,
) -> Result<(), Vec<Finding>> {
    let (expected, what, want, shown, split) = match &a.expected {
        Expected::Success {
            options,
            targets_instance,
            ..
        } => (
            if *targets_instance { options } else { before },
            "after a success",
            "the value the call set or kept",
            "another value",
            // A success on another instance changes nothing here: no option's
            // omission rule is at stake.
            *targets_instance,
        ),
        Expected::Error { .. } => (
            before,
            "after an error (it must change nothing)",
            "unchanged",
            "changed",
            false,
        ),
    };
    // Every field that disagrees, in the table's order.
    let off: Vec<(&String, &String, &String)> = fields
        .iter()
        .filter_map(|f| match (expected.get(*f), after.get(*f)) {
            (Some(want), Some(got)) if want != got => Some((*f, want, got)),
            _ => None,
        })
        .collect();
    let finding = |off: &[(&String, &String, &String)]| {
        let values = off
            .iter()
            .map(|(f, want, got)| format!("{f} = {got:?}, expected {want:?}"))
            .collect::<Vec<_>>()
            .join("; ");
        Finding {
            kind: FindingKind::Readback,
            rule: a.rule.clone(),
            expected: want.into(),
            got: shown.into(),
            field: Some(off[0].0.clone()),
            detail: format!("read-back {what} shows {values}"),
            cite: verdict::unique(a.cite.iter().map(|c| c.short())),
        }
    };
    let mut set = Vec::new();
    let mut set_cite: Option<Vec<String>> = Some(Vec::new());
    let mut left = Vec::new();
    for one in off {
        match split.then(|| rule_of(one.0)) {
            Some(FieldRule::Omitted(rule)) => left.push((one, rule)),
            Some(FieldRule::Sent { cite, value }) if one.1.eq_ignore_ascii_case(&value) => {
                if let Some(c) = &mut set_cite {
                    c.extend(cite);
                }
                set.push(one);
            }
            _ => {
                set_cite = None;
                set.push(one);
            }
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    if !set.is_empty() {
        let mut f = finding(&set);
        if let Some(cite) = set_cite.filter(|c| !c.is_empty()) {
            f.cite = verdict::unique(cite);
        }
        findings.push(f);
    }
    findings.extend(
        left.into_iter()
            .map(|(one, Omission { rule, cite })| Finding {
                rule,
                cite,
                ..finding(std::slice::from_ref(&one))
            }),
    );
    if findings.is_empty() {
        Ok(())
    } else {
        Err(findings)
    }
}

/// Whether a case with `verdict` is recorded in full, exchanges and citations. A
/// passing case the run does not keep is only counted: they would be dropped
/// unread, and making them is most of a record's cost.
fn in_full(cfg: &RunConfig, verdict: &Verdict) -> bool {
    cfg.keep_passing || !verdict.is_pass()
}

#[allow(clippy::too_many_arguments)]
fn record(
    cfg: &RunConfig,
    case: &Case,
    expectation: Expectation,
    actual: Actual,
    verdict: Verdict,
    exchanges: Vec<Exchange>,
    notes: Vec<String>,
    elapsed: Duration,
) -> CaseResult {
    let full = in_full(cfg, &verdict);
    let exchanges = if full { exchanges } else { Vec::new() };
    // The outcomes share most citations: format each distinct one once.
    let mut cites: Vec<&crate::spec::Citation> = Vec::new();
    if full {
        for c in expectation.outcomes.iter().flat_map(|a| &a.cite) {
            if !cites.contains(&c) {
                cites.push(c);
            }
        }
    }
    let mut citation: Vec<String> = Vec::with_capacity(cites.len());
    for line in cites.into_iter().map(crate::spec::Citation::short) {
        if !citation.contains(&line) {
            citation.push(line);
        }
    }
    CaseResult {
        id: format!("{}/{}/{:04}", cfg.spec.api.id, case.phase.name(), case.seq),
        api: cfg.spec.api.id.clone(),
        phase: case.phase.name().into(),
        rule: case.rule.clone(),
        title: case.title.clone(),
        operation: case.call.operation.clone(),
        request: redacted_params(&case.call.params),
        auth: case.signing.auth(),
        expected: expectation.outcomes,
        ambiguities: expectation.ambiguities,
        actual,
        verdict,
        findings: Vec::new(),
        citation,
        exchanges,
        notes,
        duration_ms: elapsed.as_secs_f64() * 1000.0,
    }
}

pub(crate) fn redacted_params(params: &[RawParam]) -> Vec<RawParam> {
    params
        .iter()
        .map(|p| {
            if verdict::redact::is_secret_param(&p.name) {
                RawParam::text(p.name.clone(), verdict::redact::REDACTED)
            } else {
                p.clone()
            }
        })
        .collect()
}

/// Put back the options the instance had before the run (only those that changed).
/// `Ok(Some(note))` says what was restored.
async fn restore(cfg: &RunConfig, w: &mut Worker) -> Result<Option<Restored>, RunError> {
    let original = w.original.clone();
    let changed = set_options(cfg, w, &original).await?;
    let still: Vec<String> = original
        .iter()
        .filter(|(k, v)| w.world.instance.options.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    if !w.set_unseen.is_empty() {
        // Not as it was, as far as can be told: no read-back shows these, and calls
        // that set them were answered with a success.
        return Ok(Some(Restored::Unseen {
            unseen: w.set_unseen.clone(),
            still,
        }));
    }
    if changed.is_empty() {
        return Ok(None);
    }
    Ok(Some(if still.is_empty() {
        Restored::Done(format!(
            "restored {} on {}",
            changed.join(", "),
            w.world.instance.id
        ))
    } else {
        Restored::Not(still)
    }))
}

/// Put the worker's instance back as it was and tell what came of it: a note
/// (prefixed with `what`) when something was restored, [`Event::NotRestored`] when
/// it could not be.
async fn put_back(cfg: &RunConfig, w: &mut Worker, events: &UnboundedSender<Event>, what: &str) {
    let restored = restore(cfg, w).await;
    let not_restored = |reason: String| Event::NotRestored {
        api: cfg.spec.api.id.clone(),
        instance: w.world.instance.id.clone(),
        reason,
        original: show_options(&w.original, None),
    };
    let event = match restored {
        // Nothing was sent that could have changed it: only unverified.
        Err(e) if !w.touched => Event::Note {
            api: cfg.spec.api.id.clone(),
            message: format!(
                "{what}could not check that {} is as found (nothing was changed): {}",
                w.world.instance.id,
                crate::verdict::redact::text(&e.to_string())
            ),
        },
        Err(e) => not_restored(crate::verdict::redact::text(&e.to_string())),
        Ok(Some(Restored::Done(msg))) => Event::Note {
            api: cfg.spec.api.id.clone(),
            message: format!("{what}{msg}"),
        },
        Ok(Some(not_back)) => not_restored(not_back.not_back().unwrap_or_default()),
        Ok(None) => return,
    };
    let _ = events.send(event);
}

/// What putting an instance back did, when it had to change something.
#[non_exhaustive]
pub enum Restored {
    /// Back as it was (what was changed, in words).
    Done(String),
    /// The options the read-back still shows otherwise.
    Not(Vec<String>),
    /// Options the run set (calls naming them were answered with a success) that
    /// no read-back shows, so whether they are as before cannot be told; and any
    /// the read-back still shows otherwise.
    Unseen {
        unseen: Vec<String>,
        still: Vec<String>,
    },
}

fn still_otherwise(still: &[String]) -> String {
    format!(
        "the read-back after restoring still shows other values for {}",
        still.join(", ")
    )
}

impl Restored {
    /// Why the instance is not back as it was, in words; `None` when it is.
    pub fn not_back(&self) -> Option<String> {
        match self {
            Restored::Done(_) => None,
            Restored::Not(still) => Some(still_otherwise(still)),
            Restored::Unseen { unseen, still } => {
                let mut why = format!(
                    "no read-back shows {}, which calls answered with a success set: whether \
                     the instance is as before the run cannot be told",
                    unseen.join(", ")
                );
                if !still.is_empty() {
                    why = format!("{why}; {}", still_otherwise(still));
                }
                Some(why)
            }
        }
    }
}

/// Bring the instance's options to `wanted` (where they differ) with one valid
/// modify, and read back. Returns what was changed (`name=value`).
async fn set_options(
    cfg: &RunConfig,
    w: &mut Worker,
    wanted: &Options,
) -> Result<Vec<String>, RunError> {
    let now = readback::read(cfg, &w.world.instance.id).await?;
    w.saw(now.options.clone());
    let changed: Vec<String> = wanted
        .iter()
        .filter(|(k, v)| now.options.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if changed.is_empty() {
        return Ok(changed);
    }
    let b = generate::Builder::new(&cfg.spec, &w.subject);
    let mut params = b.base();
    for p in cfg.spec.params.iter().map(|p| p.get_ref()) {
        let Some(opt) = &p.option else { continue };
        // Required options, and those an omission may reset (under the table or
        // any reading), are sent as they are, so nothing else changes.
        let value = wanted.get(opt).or_else(|| now.options.get(opt));
        if let Some(v) = value {
            let settable_here = settable_in(p, &cfg.region);
            let resend = p.required || settable_here && may_reset(&cfg.spec, p);
            if now.options.get(opt) != Some(v) || resend {
                params.retain(|q| q.name != p.name);
                params.push(RawParam {
                    name: p.name.clone(),
                    value: b.value(p, v),
                });
            }
        }
    }
    w.touched = true;
    cfg.target.send(&b.call(params), Signing::Valid).await?;
    w.saw(readback::read(cfg, &w.world.instance.id).await?.options);
    Ok(changed)
}

/// Whether `p` can be set in `region` (a row without regions: anywhere).
fn settable_in(p: &crate::spec::Param, region: &str) -> bool {
    p.regions.is_empty() || p.regions.iter().any(|r| r == region)
}

/// Whether leaving `p` out may change its option: the table or one of the
/// ambiguities' readings says an omission resets it (or is an error).
fn may_reset(spec: &Spec, p: &crate::spec::Param) -> bool {
    let resets = |a: &crate::spec::Absent| !matches!(a, crate::spec::Absent::Keep);
    resets(&p.absent)
        || spec.ambiguities.iter().any(|a| {
            a.get_ref().readings.iter().any(|r| {
                r.set.iter().any(|patch| {
                    patch.param.as_deref() == Some(p.name.as_str())
                        && patch.absent.as_ref().is_some_and(resets)
                })
            })
        })
}

pub fn short_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Success { status, .. } => format!("success ({status})"),
        Outcome::Error { status, code, .. } => format!("{code} ({status})"),
    }
}

fn show_options(options: &Options, state: Option<&str>) -> String {
    let mut s = options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(st) = state {
        s.push_str(&format!(" [{st}]"));
    }
    s
}

/// Send one case again against `instance` (read it first, restore it after) and
/// judge it against the oracle for the instance as it is now: `replay`.
pub async fn replay(cfg: &RunConfig, instance: &str, case: &Case) -> Result<CaseResult, RunError> {
    let mut w = Worker::open(cfg, instance, Shared::new(&cfg.spec)).await?;
    let result = execute(cfg, &mut w, case).await;
    restore(cfg, &mut w).await?;
    result
}

/// One instance driven case by case from outside the runner (the `cargo test`
/// harness, where every case is a test of its own and may run alone): each case
/// starts from a state the caller gives, so its verdict does not depend on which
/// cases ran before it. The sessions of one [`Session::open`] share the API's
/// readings; the caller restores each instance at the end.
pub struct Session {
    worker: Worker,
}

impl Session {
    /// One session per instance of `cfg` (each read once: its options now are
    /// what [`Session::restore`] puts back).
    pub async fn open(cfg: &RunConfig) -> Result<Vec<Session>, RunError> {
        let shared = Shared::new(&cfg.spec);
        let mut sessions = Vec::new();
        for instance in &cfg.instances {
            let worker = Worker::open(cfg, instance, shared.clone()).await?;
            sessions.push(Session { worker });
        }
        Ok(sessions)
    }

    /// The instance this session changes.
    pub fn instance(&self) -> &str {
        &self.worker.world.instance.id
    }

    /// The instance's options when the session was opened.
    pub fn original(&self) -> &Options {
        &self.worker.original
    }

    /// What cases against this instance are built for.
    pub fn subject(&self) -> &Subject {
        &self.worker.subject
    }

    /// Bring the instance to `state` (where it differs), then send, judge and read
    /// back `case`. A state the target would not take is noted on the result; the
    /// case is judged against the state the read-back shows.
    pub async fn run_case(
        &mut self,
        cfg: &RunConfig,
        state: &Options,
        case: &Case,
    ) -> Result<CaseResult, RunError> {
        let missed = self.set_state(cfg, state).await?;
        let mut r = execute(cfg, &mut self.worker, case).await?;
        self.fold(&mut r, missed);
        Ok(r)
    }

    /// The `index`-th call (1-based) of the random phase for `seed`, from the
    /// state `state` gives for that call; a failure is shrunk as in a run. `None`
    /// when the strategy draws nothing.
    pub async fn run_random(
        &mut self,
        cfg: &RunConfig,
        state: impl FnOnce(&crate::wire::Call) -> Options,
        seed: u64,
        index: usize,
    ) -> Result<Option<CaseResult>, RunError> {
        let Some(tree) = shrink::draw(cfg, &self.worker, seed, index) else {
            return Ok(None);
        };
        let state = state(&proptest::strategy::ValueTree::current(&tree));
        let missed = self.set_state(cfg, &state).await?;
        // A failure cut short by an error is still the departure to report; the
        // error comes back at the next case if it lasts.
        let mut r = match shrink::judge_drawn(cfg, &mut self.worker, index, tree).await {
            Ok(r) => r,
            Err(stopped) => stopped.failure.ok_or(stopped.error)?,
        };
        self.fold(&mut r, missed);
        Ok(Some(r))
    }

    /// Put back the options the instance had when the session was opened: `None`
    /// when nothing had to change, else what was done or what could not be.
    pub async fn restore(&mut self, cfg: &RunConfig) -> Result<Option<Restored>, RunError> {
        restore(cfg, &mut self.worker).await
    }

    /// The readings of every case the sessions of this API have run so far.
    pub fn readings(&self) -> Vec<AmbiguityReading> {
        self.worker
            .shared
            .readings
            .lock()
            .map(|t| t.finish())
            .unwrap_or_default()
    }

    /// Set the state; the options it could not set (`name=value`). When one
    /// modify could not set it all, each option left is tried on its own (a
    /// target may refuse one option and with it the whole call).
    async fn set_state(
        &mut self,
        cfg: &RunConfig,
        state: &Options,
    ) -> Result<Vec<String>, RunError> {
        set_options(cfg, &mut self.worker, state).await?;
        let mut missed = self.missed(state);
        if missed.len() > 1 {
            for (k, v) in missed {
                let mut one = self.worker.world.instance.options.clone();
                one.insert(k, v);
                set_options(cfg, &mut self.worker, &one).await?;
            }
            missed = self.missed(state);
        }
        Ok(missed
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect())
    }

    /// The options of `state` the instance does not show.
    fn missed(&self, state: &Options) -> Vec<(String, String)> {
        let now = &self.worker.world.instance.options;
        state
            .iter()
            .filter(|(k, v)| now.get(*k).is_some_and(|got| got != *v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn fold(&self, r: &mut CaseResult, missed: Vec<String>) {
        if !missed.is_empty() {
            r.notes.push(format!(
                "the starting state was not taken ({}): judged from the state read back",
                missed.join(", ")
            ));
        }
        if let Ok(mut t) = self.worker.shared.readings.lock() {
            t.add(r);
        }
    }
}

/// True when the runner was asked to stop.
pub fn cancelled(cfg: &RunConfig) -> bool {
    cfg.cancel.load(Ordering::SeqCst)
}

/// A fresh cancel flag.
pub fn cancel_flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

#[cfg(test)]
mod unknown_start_tests {
    use super::{
        from_unknown_start, Case, Check, Finding, FindingKind, RunError, Signing, Verdict,
    };
    use crate::generate::Phase;
    use crate::verdict::Judgement;
    use crate::wire::Call;

    fn case(signing: Signing) -> Case {
        Case {
            seq: 1,
            phase: Phase::Auth,
            rule: "auth.bad-signature".into(),
            title: "a case".into(),
            call: Call::new("Modify"),
            signing,
            check: Check::Single,
        }
    }

    fn finding(kind: FindingKind, detail: &str) -> Finding {
        Finding {
            kind,
            rule: "r".into(),
            expected: "e".into(),
            got: "g".into(),
            field: None,
            detail: detail.into(),
            cite: Vec::new(),
        }
    }

    fn failed(findings: Vec<Finding>) -> Judgement {
        Judgement {
            verdict: Verdict::Fail {
                reason: "all of it".into(),
            },
            findings,
        }
    }

    fn readback_error() -> RunError {
        RunError::Readback {
            api: "api".into(),
            instance: "i-1".into(),
            reason: "503 SecurityToken=tok".into(),
        }
    }

    /// A badly signed call accepted is a departure whatever the options were; what
    /// the read-back shows next to stale options is not judged, nor is anything of
    /// a validly signed call.
    #[test]
    fn only_what_does_not_depend_on_the_options_stands() {
        let j = from_unknown_start(
            failed(vec![
                finding(
                    FindingKind::AcceptedInvalid,
                    "a corrupt signature was accepted",
                ),
                finding(FindingKind::Readback, "the read-back shows another value"),
            ]),
            &case(Signing::CorruptSignature),
            &readback_error(),
        );
        assert_eq!(
            j.verdict,
            Verdict::Fail {
                reason: "a corrupt signature was accepted".into()
            }
        );
        assert_eq!(j.findings.len(), 1);

        for (signing, findings) in [
            (
                Signing::Valid,
                vec![finding(FindingKind::AcceptedInvalid, "accepted")],
            ),
            (
                Signing::CorruptSignature,
                vec![finding(FindingKind::Readback, "changed")],
            ),
        ] {
            let j = from_unknown_start(failed(findings), &case(signing), &readback_error());
            let Verdict::Error { reason } = &j.verdict else {
                panic!("{signing:?}: {:?}", j.verdict);
            };
            assert!(reason.starts_with("not judged"), "{reason}");
            assert!(!reason.contains("tok"), "redacted: {reason}");
            assert!(j.findings.is_empty());
        }
    }
}

#[cfg(test)]
mod readback_agrees_tests {
    use super::{readback_agrees, Acceptable, Expected, FieldRule, Omission, Options};
    use crate::oracle::AnswerShape;
    use crate::spec::Strength;

    fn options(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn success(options: Options, targets_instance: bool) -> Acceptable {
        Acceptable {
            expected: Expected::Success {
                options,
                states: Vec::new(),
                shape: AnswerShape {
                    options_path: None,
                    state_field: None,
                    fields: Default::default(),
                },
                targets_instance,
            },
            rule: "modify.success".into(),
            strength: Strength::Documented,
            cite: Vec::new(),
            readings: Vec::new(),
        }
    }

    fn fields() -> Vec<String> {
        ["hop_limit", "http_endpoint", "http_tokens"]
            .map(String::from)
            .to_vec()
    }

    /// The call set the hop limit and the tokens setting and left the endpoint out;
    /// the read-back shows all three otherwise.
    fn all_three_wrong(
        targets_instance: bool,
    ) -> Vec<(Option<String>, String, String, Vec<String>)> {
        let before = options(&[
            ("hop_limit", "1"),
            ("http_endpoint", "enabled"),
            ("http_tokens", "optional"),
        ]);
        let set = options(&[
            ("hop_limit", "3"),
            ("http_endpoint", "enabled"),
            ("http_tokens", "required"),
        ]);
        let after = options(&[
            ("hop_limit", "2"),
            ("http_endpoint", "disabled"),
            ("http_tokens", "optional"),
        ]);
        // Against "changes nothing" (another instance), the hop limit and the
        // endpoint differ from before; against the call, all three differ.
        let a = success(set, targets_instance);
        let fields = fields();
        let fields: Vec<&String> = fields.iter().collect();
        readback_agrees(&a, &before, &after, &fields, |f| match f {
            "http_endpoint" => FieldRule::Omitted(Omission {
                rule: "HttpEndpoint.absent".into(),
                cite: vec!["[documented] kept".into()],
            }),
            _ => FieldRule::Sent {
                cite: vec![format!("[documented] {f} takes the value sent")],
                value: if f == "hop_limit" { "3" } else { "required" }.into(),
            },
        })
        .expect_err("the read-back disagrees")
        .into_iter()
        .map(|f| (f.field, f.detail, f.rule, f.cite))
        .collect()
    }

    /// A success's citations gather every parameter row's, so the same source
    /// comes more than once: a read-back finding gives each once.
    #[test]
    fn a_read_back_finding_cites_each_source_once() {
        let cite = crate::spec::Citation {
            doc: Some("002.txt".into()),
            quote: Some(
                "If this parameter is not specified, the existing state is maintained.".into(),
            ),
            reference: None,
            key: None,
            note: None,
            strength: Strength::Documented,
        };
        let mut a = success(options(&[("hop_limit", "3")]), true);
        a.cite = vec![cite.clone(), cite.clone(), cite];
        let fields = fields();
        let fields: Vec<&String> = fields.iter().collect();
        let found = readback_agrees(
            &a,
            &options(&[("hop_limit", "1")]),
            &options(&[("hop_limit", "2")]),
            &fields,
            |_| FieldRule::Unknown,
        )
        .expect_err("the read-back disagrees");
        assert_eq!(found[0].cite.len(), 1, "{:?}", found[0].cite);
    }

    /// The fields the call set are cited by what says they show the value sent,
    /// not by the outcome's citations (its omitted options' and states').
    #[test]
    fn set_fields_are_cited_by_their_own_sources() {
        let found = all_three_wrong(true);
        assert_eq!(
            found[0].3,
            [
                "[documented] hop_limit takes the value sent",
                "[documented] http_tokens takes the value sent"
            ],
            "{found:?}"
        );
        assert_eq!(found[1].3, ["[documented] kept"], "{found:?}");
        // Elsewhere, nothing is known of a field but the outcome.
        assert!(all_three_wrong(false)[0].3.is_empty());
    }

    /// Where the outcome does not want the value sent (a reading ignores the
    /// parameter, or takes an empty value as omitted), the parameter's own
    /// citations do not say why: the outcome's do.
    #[test]
    fn a_set_field_the_outcome_does_not_want_as_sent_keeps_the_outcome_s_citations() {
        let cite = crate::spec::Citation {
            doc: None,
            quote: None,
            reference: None,
            key: None,
            note: Some("the preview parameter is ignored".into()),
            strength: Strength::Inferred,
        };
        let mut a = success(options(&[("hop_limit", "1")]), true);
        a.cite = vec![cite];
        let fields = fields();
        let fields: Vec<&String> = fields.iter().collect();
        let found = readback_agrees(
            &a,
            &options(&[("hop_limit", "1")]),
            &options(&[("hop_limit", "5")]),
            &fields,
            |_| FieldRule::Sent {
                cite: vec!["[documented] Valid values: 1 to 64".into()],
                value: "5".into(),
            },
        )
        .expect_err("the read-back disagrees");
        assert_eq!(
            found[0].cite,
            ["[inferred] the preview parameter is ignored"],
            "{found:?}"
        );
    }

    /// Against the built-in tables: a call that sets one option and omits the
    /// others, read back with that option wrong, is cited by the read-back's facts
    /// and the parameter's values, and by none of the omitted parameters'
    /// `absent` facts the success outcome carries.
    #[test]
    fn a_wrong_set_field_cites_its_parameter_not_the_omitted_ones() {
        for spec in crate::spec::builtin().expect("built-in tables") {
            let p = spec
                .params
                .iter()
                .map(|p| p.get_ref())
                .find(|p| p.option.is_some() && !p.values.is_empty())
                .expect("an enum option parameter");
            let option = p.option.clone().expect("option");
            let call = crate::wire::Call::new("Modify").with(&p.name, &p.values[0]);
            let rule = super::field_rule(&spec, &call, &option);
            let FieldRule::Sent { cite, value } = rule else {
                panic!("{}: {option} is not taken as sent", spec.api.id);
            };
            let absent: Vec<String> = spec
                .params
                .iter()
                .map(|q| q.get_ref())
                .filter(|q| q.name != p.name)
                .flat_map(|q| q.cite.get("absent").into_iter().flatten())
                .map(|c| c.short())
                .collect();
            assert!(value.eq_ignore_ascii_case(&p.values[0]), "{value}");
            let values = p.cite.get("values").expect("a values citation");
            assert!(
                values.iter().all(|c| cite.contains(&c.short())),
                "{}: {cite:?}",
                spec.api.id
            );
            assert!(
                !cite
                    .iter()
                    .any(|c| absent.contains(c) && !values.iter().any(|v| v.short() == *c)),
                "{}: {cite:?}",
                spec.api.id
            );
            let omitted = spec
                .params
                .iter()
                .map(|q| q.get_ref())
                .find(|q| q.name != p.name && q.option.is_some())
                .and_then(|q| q.option.clone())
                .expect("another option");
            assert!(
                matches!(
                    super::field_rule(&spec, &call, &omitted),
                    FieldRule::Omitted(_)
                ),
                "{}",
                spec.api.id
            );
        }
    }

    /// The fields the call set are one finding, named by the first and showing
    /// each; the omitted option's field is one of its own.
    #[test]
    fn set_fields_are_one_finding_and_each_omitted_one_its_own() {
        let found = all_three_wrong(true);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0.as_deref(), Some("hop_limit"));
        assert!(found[0].1.contains("hop_limit = \"2\""), "{found:?}");
        assert!(
            found[0].1.contains("http_tokens = \"optional\""),
            "{found:?}"
        );
        assert!(!found[0].1.contains("http_endpoint"), "{found:?}");
        assert_eq!(found[1].0.as_deref(), Some("http_endpoint"));
        assert!(
            found[1].1.contains("http_endpoint = \"disabled\""),
            "{found:?}"
        );
        assert_eq!(found[0].2, "modify.success");
        assert_eq!(found[1].2, "HttpEndpoint.absent");
    }

    /// A success on another instance must change nothing here: one finding, no
    /// omission rule at stake.
    #[test]
    fn a_success_elsewhere_is_one_finding() {
        let found = all_three_wrong(false);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0.as_deref(), Some("hop_limit"));
        assert!(found[0].1.contains("http_endpoint"), "{found:?}");
        assert_eq!(found[0].2, "modify.success");
    }
}

#[cfg(test)]
mod name_omissions_tests {
    use super::{name_omissions, Finding, FindingKind};
    use crate::wire::Call;

    fn finding(kind: FindingKind, rule: &str, field: &str) -> Finding {
        Finding {
            kind,
            rule: rule.into(),
            expected: "e".into(),
            got: "g".into(),
            field: Some(field.into()),
            detail: String::new(),
            cite: Vec::new(),
        }
    }

    /// An answer's field for an option the call left out is named by the option's
    /// omission rule; a read-back's finding keeps the rule `readback_agrees` gave it
    /// (there, `modify.success` on an omitted option's field is a success elsewhere,
    /// where no omission rule is at stake).
    #[test]
    fn only_an_answers_finding_is_renamed_for_an_omitted_option() {
        for spec in crate::spec::builtin().expect("built-in tables") {
            let p = spec
                .params
                .iter()
                .map(|p| p.get_ref())
                .find(|p| p.option.is_some())
                .expect("an option parameter");
            let option = p.option.clone().expect("option");
            let call = Call::new("Modify");
            let mut findings = vec![
                finding(FindingKind::Answer, "response.fields", &option),
                finding(FindingKind::Readback, "modify.success", &option),
            ];
            name_omissions(&spec, &call, &mut findings);
            assert_eq!(
                findings[0].rule,
                format!("{}.absent", p.name),
                "{}",
                spec.api.id
            );
            assert_eq!(findings[1].rule, "modify.success", "{}", spec.api.id);
            // Sent, the option's finding is the call's own.
            let sent = Call::new("Modify").with(p.name.clone(), "x");
            let mut findings = vec![finding(FindingKind::Answer, "response.fields", &option)];
            name_omissions(&spec, &sent, &mut findings);
            assert_eq!(findings[0].rule, "response.fields", "{}", spec.api.id);
            // Left out, but the answer lacks the field: the answer's shape.
            let mut lacking = finding(FindingKind::Answer, "response.fields", &option);
            lacking.got = "missing".into();
            let mut findings = vec![lacking];
            name_omissions(&spec, &call, &mut findings);
            assert_eq!(findings[0].rule, "response.fields", "{}", spec.api.id);
        }
    }
}

#[cfg(test)]
mod shows_as_sent_tests {
    use super::{shows_as_sent, Options};
    use crate::wire::{Call, RawParam, RawValue};

    fn options(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every option sent must show as sent (in the form a target storing it gives
    /// it), and one must have changed: a call half applied, or a value stored
    /// otherwise, is no call taken as sent.
    #[test]
    fn a_call_shows_as_sent_only_when_every_option_sent_does() {
        let spec = crate::spec::builtin()
            .expect("built-in tables")
            .into_iter()
            .find(|s| s.api.id == "aliyun-ecs")
            .expect("table");
        let fields: Vec<String> = spec.readback.fields.keys().cloned().collect();
        let fields: Vec<&String> = fields.iter().collect();
        let before = options(&[("hop_limit", "1"), ("http_endpoint", "enabled")]);
        let call = |params: &[(&str, RawValue)]| Call {
            operation: "ModifyInstanceMetadataOptions".into(),
            params: params
                .iter()
                .map(|(n, v)| RawParam {
                    name: (*n).into(),
                    value: v.clone(),
                })
                .collect(),
        };
        let both = call(&[
            ("HttpEndpoint", RawValue::text("disabled")),
            ("HttpPutResponseHopLimit", RawValue::text("64")),
        ]);
        let shows = |c: &Call, after: &[(&str, &str)]| {
            shows_as_sent(&spec, c, &before, &options(after), &fields)
        };
        assert!(shows(
            &both,
            &[("hop_limit", "64"), ("http_endpoint", "disabled")]
        ));
        // The endpoint not applied: not taken as sent.
        assert!(!shows(
            &both,
            &[("hop_limit", "64"), ("http_endpoint", "enabled")]
        ));
        // Nothing changed: no sign of anything taken.
        let same = call(&[("HttpPutResponseHopLimit", RawValue::text("1"))]);
        assert!(!shows(
            &same,
            &[("hop_limit", "1"), ("http_endpoint", "enabled")]
        ));
        // A lax integer, stored as its number.
        let lax = call(&[("HttpPutResponseHopLimit", RawValue::text(" +02"))]);
        assert!(shows(
            &lax,
            &[("hop_limit", "2"), ("http_endpoint", "enabled")]
        ));
        assert!(!shows(
            &lax,
            &[("hop_limit", "3"), ("http_endpoint", "enabled")]
        ));
        // An enum in another case, stored in the table's.
        let upper = call(&[("HttpEndpoint", RawValue::text("DISABLED"))]);
        assert!(shows(
            &upper,
            &[("hop_limit", "1"), ("http_endpoint", "disabled")]
        ));
    }
}
