//! Running the self-test: each deviation against its own faulty model target, and
//! each reading of each ambiguity against a model that implements it, through the
//! normal runner over HTTP; then whether the engine caught the deviation (by the
//! departure or inconsistency it must) and left the faithful targets alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globset::{Glob, GlobSetBuilder};
use serde::Serialize;

use super::catalogue::{first_readings, Deviation, Expect, Family};
use super::fault::Fault;
use super::model::{Assignment, Model};
use super::serve::serve;
use crate::generate::Phase;
use crate::runner::{self, Event, RunConfig, RunError};
use crate::spec::Spec;
use crate::target::{Target, TargetConfig, TargetError};
use crate::verdict::{departures, AmbiguityReading, CaseResult, Departure, Verdict};

/// How the self-test runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the random phases.
    pub seed: u64,
    /// How long a model's change stays pending.
    pub apply_delay: Duration,
    /// The runner's settle timeout (a never-settling fault costs one).
    pub settle_timeout: Duration,
    /// Random cases per instance in the readings check.
    pub random_cases: u32,
    /// Runs at once.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            // Long enough that the read-back right after a change sees it pending
            // even on a loaded machine (a faithful target must not look never-pending).
            apply_delay: Duration::from_millis(250),
            settle_timeout: Duration::from_secs(2),
            random_cases: 30,
            concurrency: 4,
        }
    }
}

/// Why the self-test could not run (not a missed deviation: the suite's trouble).
#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    /// A model target could not be served.
    #[error("cannot serve a model target: {0}")]
    Serve(#[from] std::io::Error),
    /// The model target could not be reached.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("bad rule glob {glob:?}: {reason}")]
    /// A catalogue rule glob does not compile.
    Glob {
        /// The glob.
        glob: String,
        /// Why it does not compile.
        reason: String,
    },
}

/// What one run against a model showed.
#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    /// Cases run.
    pub cases: usize,
    /// Cases the suite could not judge.
    pub errors: usize,
    /// The departures found.
    pub departures: Vec<Departure>,
    /// The readings the model's answers show.
    pub readings: Vec<AmbiguityReading>,
}

/// One deviation's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DeviationResult {
    /// The deviation's id.
    pub id: String,
    /// The API id.
    pub api: String,
    /// Its rule family.
    pub family: Family,
    /// The deviation.
    pub fault: Fault,
    /// What had to catch it.
    pub expect: Expect,
    /// What caught it: the departure's id and title, or the inconsistent ambiguity.
    pub caught_by: Option<String>,
    /// What the fault does not account for (neither what must catch it nor what
    /// [`Fault::may_also_show`] allows): each is the engine naming something
    /// wrongly — a departure as `[rule] title`, an ambiguity it made inconsistent.
    pub extra: Vec<String>,
    /// What the run showed.
    pub observed: Observed,
}

impl DeviationResult {
    /// Was it caught?
    pub fn caught(&self) -> bool {
        self.caught_by.is_some()
    }

    /// Did the run show a departure the fault does not account for?
    pub fn misnamed(&self) -> bool {
        !self.extra.is_empty()
    }
}

/// One faithful target: a model implementing one reading of one ambiguity.
#[derive(Debug, Clone, Serialize)]
pub struct ReadingResult {
    /// The API id.
    pub api: String,
    /// The ambiguity's id.
    pub ambiguity: String,
    /// The reading the model implements.
    pub reading: String,
    /// What the run says of that ambiguity (`consistent: a | b`, `not touched`…).
    pub shown: String,
    /// Why the faithful target was flagged (empty: it was not).
    pub flagged: Vec<String>,
    /// What the run showed.
    pub observed: Observed,
}

impl ReadingResult {
    /// Was the faithful target flagged?
    pub fn false_positive(&self) -> bool {
        !self.flagged.is_empty()
    }
}

/// The whole self-test.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One per deviation of the catalogue.
    pub deviations: Vec<DeviationResult>,
    /// One per faithful target.
    pub readings: Vec<ReadingResult>,
}

impl Report {
    /// Deviations caught.
    pub fn caught(&self) -> usize {
        self.deviations.iter().filter(|d| d.caught()).count()
    }
    /// Caught deviations in percent of the catalogue (100 for an empty one).
    pub fn score(&self) -> f64 {
        if self.deviations.is_empty() {
            100.0
        } else {
            100.0 * self.caught() as f64 / self.deviations.len() as f64
        }
    }
    /// Faithful targets flagged.
    pub fn false_positives(&self) -> usize {
        self.readings.iter().filter(|r| r.false_positive()).count()
    }
    /// Deviations whose run showed a departure their fault does not account for.
    pub fn misnamed(&self) -> usize {
        self.deviations.iter().filter(|d| d.misnamed()).count()
    }
    /// Every deviation caught, by what its fault accounts for alone, and no
    /// faithful target flagged.
    pub fn passed(&self) -> bool {
        self.caught() == self.deviations.len()
            && self.misnamed() == 0
            && self.false_positives() == 0
    }
}

/// What a run is: the model, the phases and cases.
struct Job {
    spec: Arc<Spec>,
    assignment: Assignment,
    faults: Vec<Fault>,
    phases: Vec<Phase>,
    random_cases: u32,
    only: Vec<String>,
}

/// Run `job` against a fresh model served on loopback.
async fn observe(job: Job, opts: &Options) -> Result<Observed, SelftestError> {
    let model = Arc::new(Model::new(
        &job.spec,
        &job.assignment,
        job.faults,
        opts.apply_delay,
    ));
    let served = serve(model.clone()).await?;
    let region = model.region().to_string();
    let target = Target::new(TargetConfig::for_spec(
        &job.spec,
        &served.url(),
        &region,
        Some(model.credentials()),
    ))?;
    let only = if job.only.is_empty() {
        None
    } else {
        let mut b = GlobSetBuilder::new();
        for g in &job.only {
            b.add(Glob::new(g).map_err(|e| SelftestError::Glob {
                glob: g.clone(),
                reason: e.to_string(),
            })?);
        }
        Some(b.build().map_err(|e| SelftestError::Glob {
            glob: job.only.join(","),
            reason: e.to_string(),
        })?)
    };
    let instances = model.instances();
    let cfg = RunConfig {
        spec: job.spec.clone(),
        target: Arc::new(target),
        known_ids: instances.clone(),
        instances,
        region,
        seed: opts.seed,
        random_cases: job.random_cases,
        only,
        shard: None,
        settle_timeout: opts.settle_timeout,
        settle_poll: Duration::from_millis(10),
        dry_run_first: false,
        phases: job.phases,
        cancel: runner::cancel_flag(),
        keep_passing: false,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let collect = async {
        let (mut total, mut readings) = (0, Vec::new());
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::CaseFinished(_) => total += 1,
                Event::ApiFinished { readings: r, .. } => readings.extend(r),
                _ => {}
            }
        }
        (total, readings)
    };
    let (cases, (total, readings)) = tokio::join!(runner::run_api(cfg, tx), collect);
    let cases: Vec<CaseResult> = cases?;
    drop(served);
    Ok(Observed {
        cases: total,
        errors: cases
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Error { .. }))
            .count(),
        departures: departures(&cases),
        readings,
    })
}

/// A `*`-glob match (the rule patterns of [`Expect::Departure`]).
fn rule_matches(pattern: &str, rule: &str) -> bool {
    Glob::new(pattern)
        .map(|g| g.compile_matcher().is_match(rule))
        .unwrap_or(false)
}

/// What caught a deviation in what a run showed, if anything did.
pub fn caught_by(expect: &Expect, observed: &Observed) -> Option<String> {
    match expect {
        Expect::Departure { rule } => observed
            .departures
            .iter()
            .find(|d| rule_matches(rule, &d.rule))
            .map(|d| format!("{}: {}", d.id, d.title)),
        Expect::Inconsistent { ambiguity } => observed
            .readings
            .iter()
            .find(|r| &r.ambiguity == ambiguity && !r.is_consistent())
            .map(|r| {
                let cases: Vec<&str> = r.witnesses.iter().map(|w| w.case.as_str()).collect();
                format!("{ambiguity} inconsistent (witnesses {})", cases.join(", "))
            }),
    }
}

/// What a run shows that neither must catch the deviation (`expect`) nor may
/// follow from its fault: departures as `[rule] title`, and ambiguities read
/// inconsistently (other than the one that must be) as `<ambiguity> inconsistent`.
pub fn extra(expect: &Expect, fault: &Fault, observed: &Observed) -> Vec<String> {
    let mut allowed = fault.may_also_show();
    if let Expect::Departure { rule } = expect {
        allowed.push(rule.clone());
    }
    let departures = observed
        .departures
        .iter()
        .filter(|d| !allowed.iter().any(|g| rule_matches(g, &d.rule)))
        .map(|d| format!("[{}] {}", d.rule, d.title));
    let readings = observed
        .readings
        .iter()
        .filter(|r| !r.is_consistent() && !fault.may_confuse_readings())
        .filter(
            |r| !matches!(expect, Expect::Inconsistent { ambiguity } if *ambiguity == r.ambiguity),
        )
        .map(|r| format!("{} inconsistent", r.ambiguity));
    departures.chain(readings).collect()
}

/// Run one deviation.
pub async fn run_deviation(
    spec: Arc<Spec>,
    d: &Deviation,
    opts: &Options,
) -> Result<DeviationResult, SelftestError> {
    let job = Job {
        spec,
        assignment: d.assignment.clone(),
        faults: vec![d.fault.clone()],
        phases: d.phases.clone(),
        random_cases: d.random_cases,
        only: d.only.clone(),
    };
    let observed = observe(job, opts).await?;
    Ok(DeviationResult {
        id: d.id.clone(),
        api: d.api.clone(),
        family: d.family,
        fault: d.fault.clone(),
        expect: d.expect.clone(),
        caught_by: caught_by(&d.expect, &observed),
        extra: extra(&d.expect, &d.fault, &observed),
        observed,
    })
}

/// Every (ambiguity, reading) of a table.
pub fn readings_of(spec: &Spec) -> Vec<(String, String)> {
    // The model target serves no metadata service: an ambiguity the data plane's
    // answers name (`ambiguity=reading`) is the data-plane phase's to check.
    let data_plane = serde_json::to_string(&spec.data_plane).unwrap_or_default();
    let mut out = Vec::new();
    for a in spec
        .ambiguities
        .iter()
        .map(|a| a.get_ref())
        .filter(|a| !data_plane.contains(&format!("{}=", a.id)))
    {
        out.extend(a.readings.iter().map(|r| (a.id.clone(), r.id.clone())));
    }
    out
}

/// Run a faithful model implementing `reading` of `ambiguity` (the first reading of
/// every other), every phase.
pub async fn run_reading(
    spec: Arc<Spec>,
    ambiguity: &str,
    reading: &str,
    opts: &Options,
) -> Result<ReadingResult, SelftestError> {
    let mut assignment = first_readings(&spec);
    assignment.insert(ambiguity.to_string(), reading.to_string());
    let job = Job {
        spec: spec.clone(),
        assignment,
        faults: Vec::new(),
        phases: vec![Phase::Coverage, Phase::Auth, Phase::Sequence, Phase::Random],
        random_cases: opts.random_cases,
        only: Vec::new(),
    };
    let observed = observe(job, opts).await?;
    let mut flagged: Vec<String> = observed
        .departures
        .iter()
        .map(|d| format!("departure {}: {}", d.id, d.title))
        .collect();
    if observed.errors > 0 {
        flagged.push(format!("{} cases could not be judged", observed.errors));
    }
    for r in observed.readings.iter().filter(|r| !r.is_consistent()) {
        flagged.push(format!("{} inconsistent", r.ambiguity));
    }
    let mine = observed.readings.iter().find(|r| r.ambiguity == ambiguity);
    let shown = match mine {
        Some(r) if r.is_consistent() => {
            if !r.readings.iter().any(|x| x == reading) {
                flagged.push(format!("{ambiguity}: shown as {}, not {reading}", r.cell()));
            }
            format!("consistent: {}", r.cell())
        }
        Some(_) => "inconsistent".to_string(),
        None => "not touched".to_string(),
    };
    Ok(ReadingResult {
        api: spec.api.id.clone(),
        ambiguity: ambiguity.to_string(),
        reading: reading.to_string(),
        shown,
        flagged,
        observed,
    })
}

/// One run of the self-test.
enum Work<'a> {
    Deviation(Arc<Spec>, &'a Deviation),
    Reading(Arc<Spec>, String, String),
}

enum Done {
    Deviation(DeviationResult),
    Reading(ReadingResult),
}

async fn run_one(work: &Work<'_>, opts: &Options) -> Result<Done, SelftestError> {
    match work {
        Work::Deviation(s, d) => run_deviation(s.clone(), d, opts).await.map(Done::Deviation),
        Work::Reading(s, a, r) => run_reading(s.clone(), a, r, opts).await.map(Done::Reading),
    }
}

/// Run every deviation of `catalogue` (whose tables are in `specs`) and, with
/// `readings`, every reading of every table in `specs`. `opts.concurrency` threads
/// take runs in turn, each with its own runtime: the runner's work for one API is
/// one task, so runs on one runtime would share a single core.
pub fn run_all(
    specs: &[Arc<Spec>],
    catalogue: &[Deviation],
    readings: bool,
    opts: &Options,
) -> Result<Report, SelftestError> {
    let spec_of = |api: &str| specs.iter().find(|s| s.api.id == api).cloned();
    let mut work: Vec<Work> = catalogue
        .iter()
        .filter_map(|d| spec_of(&d.api).map(|s| Work::Deviation(s, d)))
        .collect();
    for s in specs.iter().filter(|_| readings) {
        for (a, r) in readings_of(s) {
            work.push(Work::Reading(s.clone(), a, r));
        }
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<Done, SelftestError>>>> =
        Mutex::new(work.iter().map(|_| None).collect());
    let put = |i: usize, r: Result<Done, SelftestError>| {
        if let Ok(mut d) = done.lock() {
            d[i] = Some(r);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..opts.concurrency.clamp(1, work.len().max(1)) {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(w) = work.get(i) else { break };
                    match &runtime {
                        Ok(rt) => put(i, rt.block_on(run_one(w, opts))),
                        Err(e) => put(
                            i,
                            Err(SelftestError::Serve(std::io::Error::other(e.to_string()))),
                        ),
                    }
                }
            });
        }
    });
    let mut report = Report {
        deviations: Vec::new(),
        readings: Vec::new(),
    };
    let done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    for r in done.into_iter().flatten() {
        match r? {
            Done::Deviation(d) => report.deviations.push(d),
            Done::Reading(r) => report.readings.push(r),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::FindingKind;

    fn departure(rule: &str) -> Departure {
        Departure {
            id: "api/D01".into(),
            api: "api".into(),
            title: format!("{rule}: something"),
            kind: FindingKind::AcceptedInvalid,
            rule: rule.into(),
            cite: Vec::new(),
            expected: "400".into(),
            got: "200".into(),
            field: None,
            count: 1,
            cases: vec!["api/coverage/0001".into()],
            reproducer: "api/coverage/0001".into(),
            example: String::new(),
            readings: Vec::new(),
            fingerprint: "0".into(),
        }
    }

    fn seen(departures: Vec<Departure>, readings: Vec<AmbiguityReading>) -> Observed {
        Observed {
            cases: 1,
            errors: 0,
            departures,
            readings,
        }
    }

    #[test]
    fn a_departure_catches_by_its_rule_only() {
        let obs = seen(vec![departure("Hop.range"), departure("auth")], Vec::new());
        let want = |rule: &str| Expect::Departure { rule: rule.into() };
        assert!(caught_by(&want("Hop.range"), &obs).is_some());
        assert!(caught_by(&want("auth*"), &obs).is_some());
        assert_eq!(caught_by(&want("Hop.values"), &obs), None);
        assert_eq!(caught_by(&want("Hop"), &obs), None, "a glob, not a prefix");
        assert_eq!(
            caught_by(&want("Hop.range"), &seen(Vec::new(), Vec::new())),
            None
        );
    }

    /// Beside the departure that must catch it, a run may show only what its
    /// fault explains: an ignored parameter's value rules, the protocol for a 500
    /// page, "another value" and omissions after a lagging read-back. Anything
    /// else is named wrongly, an ambiguity made inconsistent too.
    #[test]
    fn a_departure_the_fault_does_not_explain_is_extra() {
        let want = Expect::Departure {
            rule: "DryRun".into(),
        };
        let ignores = Fault::IgnoreParam {
            param: "DryRun".into(),
        };
        let obs = seen(
            vec![departure("DryRun"), departure("DryRun.values")],
            Vec::new(),
        );
        assert!(extra(&want, &ignores, &obs).is_empty());
        let obs = seen(
            vec![departure("DryRun"), departure("modify.success")],
            Vec::new(),
        );
        assert_eq!(
            extra(&want, &ignores, &obs),
            ["[modify.success] modify.success: something"]
        );
        let html = Fault::ErrorHtml {
            rule: "Hop.range".into(),
        };
        let want = Expect::Departure {
            rule: "Hop.range".into(),
        };
        let obs = seen(
            vec![departure("Hop.range"), departure("protocol.Query XML")],
            Vec::new(),
        );
        assert!(extra(&want, &html, &obs).is_empty());
        let obs = seen(
            vec![departure("Hop.range"), departure("Hop.values")],
            Vec::new(),
        );
        assert_eq!(extra(&want, &html, &obs).len(), 1, "not the fault's own");
        let lagging = seen(
            vec![departure("modify.success"), departure("Hop.absent")],
            Vec::new(),
        );
        assert!(extra(&want, &Fault::ReadbackStale, &lagging).is_empty());
        let obs = seen(vec![departure("Hop.rejected")], Vec::new());
        assert_eq!(extra(&want, &Fault::ReadbackStale, &obs).len(), 1);
        // An ambiguity made inconsistent counts too, but the one that must be.
        let reading = |amb: &str| AmbiguityReading {
            api: "api".into(),
            ambiguity: amb.into(),
            status: "inconsistent".into(),
            readings: Vec::new(),
            witnesses: Vec::new(),
        };
        let obs = seen(vec![departure("Hop.range")], vec![reading("other")]);
        assert_eq!(extra(&want, &html, &obs), ["other inconsistent"]);
        assert!(extra(&want, &Fault::ReadbackStale, &obs).is_empty());
        let must = Expect::Inconsistent {
            ambiguity: "other".into(),
        };
        let alternates = Fault::AlternateOmission {
            param: "Hop".into(),
            to: "1".into(),
        };
        assert!(extra(
            &must,
            &alternates,
            &seen(Vec::new(), vec![reading("other")])
        )
        .is_empty());
    }

    #[test]
    fn an_inconsistent_reading_catches_only_its_ambiguity() {
        let reading = |amb: &str, status: &str| AmbiguityReading {
            api: "api".into(),
            ambiguity: amb.into(),
            status: status.into(),
            readings: Vec::new(),
            witnesses: Vec::new(),
        };
        let obs = seen(
            vec![departure("Hop.absent")],
            vec![reading("a", "inconsistent"), reading("b", "consistent")],
        );
        let want = |amb: &str| Expect::Inconsistent {
            ambiguity: amb.into(),
        };
        assert!(caught_by(&want("a"), &obs).is_some());
        assert_eq!(
            caught_by(&want("b"), &obs),
            None,
            "consistent is not caught"
        );
        assert_eq!(caught_by(&want("c"), &obs), None);
    }
}
