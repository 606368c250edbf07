//! The conformance engine end to end: the whole suite against the embedded
//! emulator conforms, and deliberately broken targets (built here around the
//! emulator) are caught, each with a minimal case.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use imds_conform::emulator::{self, Emulator, EmulatorConfig};
use imds_conform::generate::Phase;
use imds_conform::runner::{self, Event, Restored, RunConfig, Session};
use imds_conform::spec::{self, Spec};
use imds_conform::target::{Signing, Target, TargetConfig};
use imds_conform::verdict::{
    departures, Actual, AmbiguityReading, CaseResult, FindingKind, Summary, Verdict,
};
use imds_conform::wire::{
    ec2_query, sigv4, Answer, Call, Credentials, Endpoint, HttpRequest, HttpResponse, Outcome,
    RawParam,
};

mod common;

fn spec(id: &str) -> Arc<Spec> {
    Arc::new(
        spec::builtin_api(id)
            .expect("tables load")
            .expect("table exists"),
    )
}

/// Where a run is aimed.
struct Aim<'a> {
    url: &'a str,
    region: &'a str,
    instances: &'a [&'a str],
    known: Vec<String>,
    creds: Credentials,
}

fn config(spec: Arc<Spec>, aim: Aim, phases: Vec<Phase>, random: u32) -> RunConfig {
    let Aim {
        url,
        region,
        instances,
        known,
        creds,
    } = aim;
    let target =
        Target::new(TargetConfig::for_spec(&spec, url, region, Some(creds))).expect("client");
    RunConfig {
        spec,
        target: Arc::new(target),
        instances: instances.iter().map(|s| s.to_string()).collect(),
        region: region.into(),
        known_ids: known,
        seed: 7,
        random_cases: random,
        only: None,
        shard: None,
        settle_timeout: Duration::from_secs(10),
        settle_poll: Duration::from_millis(10),
        dry_run_first: false,
        phases,
        cancel: runner::cancel_flag(),
        keep_passing: true,
    }
}

async fn run(cfg: RunConfig) -> Vec<CaseResult> {
    run_with_readings(cfg).await.0
}

/// Run, and keep the readings the runner reports at the end.
async fn run_with_readings(cfg: RunConfig) -> (Vec<CaseResult>, Vec<AmbiguityReading>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move {
        let mut finished = 0;
        let mut readings = Vec::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::CaseFinished(_) => finished += 1,
                Event::ApiFinished { readings: r, .. } => readings = r,
                _ => {}
            }
        }
        (finished, readings)
    });
    let results = runner::run_api(cfg, tx).await.expect("the run completes");
    let (events, readings) = drain.await.expect("drain");
    assert!(events >= results.len(), "every case is announced");
    (results, readings)
}

fn all_phases() -> Vec<Phase> {
    vec![Phase::Coverage, Phase::Auth, Phase::Sequence, Phase::Random]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_conforms_against_the_emulator() {
    let server = common::start_emulator(Duration::from_millis(30)).await;
    let fixtures = emulator::default_fixtures();
    for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
        let spec = spec(api);
        let (instances, keys) = fixtures.for_api(api).expect("fixtures");
        let region = spec.api.default_region.clone();
        let running: Vec<&str> = instances
            .iter()
            .filter(|i| i.is_running() && i.region == region)
            .map(|i| i.id.as_str())
            .collect();
        let creds = Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone());
        let known = instances.iter().map(|i| i.id.clone()).collect();
        let aim = Aim {
            url: &server.url(),
            region: &region,
            instances: &running,
            known,
            creds,
        };
        let results = run(config(spec, aim, all_phases(), 60)).await;
        let summary = Summary::of(&results);
        let failures: Vec<String> = results
            .iter()
            .filter(|r| !r.verdict.is_pass())
            .map(|r| format!("{} {}: {:?}", r.id, r.title, r.verdict))
            .collect();
        assert!(
            summary.conforms(),
            "{api}: {summary:?}\n{}",
            failures.join("\n")
        );
        assert!(summary.total > 150, "{api}: only {} cases", summary.total);
        for phase in ["coverage", "auth", "sequence", "random"] {
            assert!(
                results.iter().any(|r| r.phase == phase),
                "{api}: no {phase} case"
            );
        }
        // Ambiguities are reported, not guessed: some cases pass under a reading.
        assert!(summary.pass_under_reading > 0, "{api}");
    }
    server.shutdown().await;
}

/// A broken EC2: the real emulator behind a proxy that rewrites requests (and
/// re-signs them) before the emulator sees them.
struct Broken {
    emulator: Emulator,
    creds: Credentials,
    rewrite: fn(&mut Call) -> Option<Answer>,
    /// Rewrites the emulator's answer to the (rewritten) call.
    answer: fn(&Call, HttpResponse) -> HttpResponse,
}

impl Broken {
    fn handle(&self, req: HttpRequest) -> HttpResponse {
        let Ok(incoming) = ec2_query::decode_request(&req) else {
            return self.emulator.handle(&req, SystemTime::now());
        };
        let mut call = incoming.call.clone();
        let forced = (self.rewrite)(&mut call);
        let ep = Endpoint {
            url: "http://127.0.0.1".into(),
            region: "us-east-1".into(),
            api_version: incoming
                .version
                .clone()
                .unwrap_or_else(|| "2016-11-15".into()),
            signing_name: "ec2".into(),
            target_prefix: String::new(),
            format: String::new(),
        };
        let mut again = ec2_query::encode_request(&ep, &call).expect("re-encode");
        // Keep unsigned and badly signed requests as they came: auth is not broken.
        if req.header("Authorization").is_some() && call != incoming.call {
            sigv4::sign(&mut again, &ep, &self.creds, SystemTime::now()).expect("re-sign");
        } else {
            again = req.clone();
        }
        let resp = self.emulator.handle(&again, SystemTime::now());
        let resp = match forced {
            Some(answer) => ec2_query::encode_answer(&call.operation, "2016-11-15", &answer),
            None => resp,
        };
        (self.answer)(&call, resp)
    }
}

async fn serve_broken(broken: Arc<Broken>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().fallback(move |req: Request| {
        let broken = broken.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let req = HttpRequest::from_parts(&parts, body.to_vec());
            let resp = broken.handle(req);
            let mut out = Response::builder().status(resp.status);
            for (k, v) in &resp.headers {
                out = out.header(k, v);
            }
            out.body(Body::from(resp.body)).expect("response")
        }
    });
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, handle)
}

async fn run_broken(random: u32, rewrite: fn(&mut Call) -> Option<Answer>) -> Vec<CaseResult> {
    let phases = all_phases();
    run_broken_with(random, phases, Duration::from_secs(10), rewrite, |_, r| r)
        .await
        .0
}

/// A broken target that may also rewrite answers, with the phases and settle
/// timeout given; the readings come back too.
async fn run_broken_with(
    random: u32,
    phases: Vec<Phase>,
    settle_timeout: Duration,
    rewrite: fn(&mut Call) -> Option<Answer>,
    answer: fn(&Call, HttpResponse) -> HttpResponse,
) -> (Vec<CaseResult>, Vec<AmbiguityReading>) {
    let (mut cfg, server) = broken_config(random, phases, rewrite, answer).await;
    cfg.settle_timeout = settle_timeout;
    let out = run_with_readings(cfg).await;
    server.abort();
    out
}

/// A broken EC2 served on a port of its own, and a run aimed at it.
async fn broken_config(
    random: u32,
    phases: Vec<Phase>,
    rewrite: fn(&mut Call) -> Option<Answer>,
    answer: fn(&Call, HttpResponse) -> HttpResponse,
) -> (RunConfig, tokio::task::JoinHandle<()>) {
    let fixtures = emulator::default_fixtures();
    let (instances, keys) = fixtures.for_api("aws-ec2").expect("fixtures");
    let creds = Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone());
    let broken = Arc::new(Broken {
        emulator: Emulator::new(EmulatorConfig {
            apply_delay: Duration::from_millis(10),
            ..EmulatorConfig::default()
        }),
        creds: creds.clone(),
        rewrite,
        answer,
    });
    let (url, server) = serve_broken(broken).await;
    let known = instances.iter().map(|i| i.id.clone()).collect();
    let aim = Aim {
        url: &url,
        region: "us-east-1",
        instances: &["i-0123456789abcdef0"],
        known,
        creds,
    };
    (config(spec("aws-ec2"), aim, phases, random), server)
}

/// A target whose answers `answer` rewrites (the calls pass unchanged): no random
/// cases, the phases and settle timeout given.
async fn run_rewriting_answers(
    phases: Vec<Phase>,
    settle_timeout: Duration,
    answer: fn(&Call, HttpResponse) -> HttpResponse,
) -> Vec<CaseResult> {
    run_broken_with(0, phases, settle_timeout, |_| None, answer)
        .await
        .0
}

/// `edit`'s rewrite of `resp` when it answers `DescribeInstances`, else `resp`.
fn if_describe(
    call: &Call,
    resp: HttpResponse,
    edit: impl FnOnce(HttpResponse) -> HttpResponse,
) -> HttpResponse {
    if call.operation == "DescribeInstances" {
        edit(resp)
    } else {
        resp
    }
}

/// Accepts a hop limit of 65 (as if 64): a range check off by one.
fn hop_limit_65_as_64(call: &mut Call) -> Option<Answer> {
    if call
        .get("HttpPutResponseHopLimit")
        .map(|v| v.as_query_text())
        == Some("65")
    {
        set(call, "HttpPutResponseHopLimit", "64");
    }
    None
}

fn set(call: &mut Call, name: &str, value: &str) {
    call.params.retain(|p| p.name != name);
    call.params
        .push(imds_conform::wire::RawParam::text(name, value));
}

fn failures(results: &[CaseResult]) -> Vec<&CaseResult> {
    results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail { .. }))
        .collect()
}

/// The random phase found it too, and shrank it: the minimal case is small and
/// was sent again and judged before it was reported.
fn assert_shrunk(results: &[CaseResult], must_have: &str) {
    let shrunk: Vec<&CaseResult> = failures(results)
        .into_iter()
        .filter(|r| r.phase == "random")
        .collect();
    assert!(!shrunk.is_empty(), "the random phase found nothing");
    let minimal = shrunk.iter().min_by_key(|r| r.request.len()).expect("one");
    assert!(
        minimal.notes.iter().any(|n| n.starts_with("shrunk in")),
        "{:?}",
        minimal.notes
    );
    assert!(
        minimal.request.len() <= 3,
        "not minimal: {:?}",
        minimal.request
    );
    assert!(
        minimal.request.iter().any(|p| p.name == must_have),
        "{:?}",
        minimal.request
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_check_off_by_one_is_caught() {
    // Accepts 65 (as if 64).
    let results = run_broken(40, hop_limit_65_as_64).await;
    let f = failures(&results);
    assert!(
        f.iter()
            .any(|r| r.rule == "HttpPutResponseHopLimit.range" && r.title.contains("65")),
        "{:#?}",
        f.iter().map(|r| (&r.id, &r.title)).collect::<Vec<_>>()
    );
    // Nothing else is blamed.
    assert!(
        f.iter().all(|r| r
            .request
            .iter()
            .any(|p| p.name == "HttpPutResponseHopLimit" && p.value.as_query_text() == "65")),
        "{:#?}",
        f.iter().map(|r| (&r.id, &r.title)).collect::<Vec<_>>()
    );
}

/// A run that keeps only its failures (`run` without `--report`) still records
/// each failure in full, exchanges and citations, in the list and in its event;
/// a passing case is announced without them (it is only counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeping_only_failures_records_them_in_full() {
    let (cfg, server) = broken_config(
        40,
        vec![Phase::Coverage, Phase::Random],
        hop_limit_65_as_64,
        |_, r| r,
    )
    .await;
    let cfg = RunConfig {
        keep_passing: false,
        ..cfg
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move {
        let mut announced = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let Event::CaseFinished(r) = ev {
                announced.push(*r);
            }
        }
        announced
    });
    let kept = runner::run_api(cfg, tx).await.expect("the run completes");
    let announced = drain.await.expect("drain");
    server.abort();
    let (passed, failed): (Vec<_>, Vec<_>) = announced.iter().partition(|r| r.verdict.is_pass());
    assert!(
        !failed.is_empty() && passed.len() > 50,
        "{} passed, {} failed",
        passed.len(),
        failed.len()
    );
    assert_eq!(
        kept.iter().map(|r| &r.id).collect::<Vec<_>>(),
        failed.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "the failures, and only they, are kept"
    );
    for r in kept.iter().chain(failed.iter().copied()) {
        assert!(
            !r.exchanges.is_empty() && r.exchanges.iter().all(|e| e.response.is_some()),
            "{}: a failure without its exchanges",
            r.id
        );
        assert!(
            !r.citation.is_empty(),
            "{}: a failure without its citations",
            r.id
        );
    }
    for r in passed {
        assert!(
            r.exchanges.is_empty() && r.citation.is_empty(),
            "{}: a passing case recorded in full",
            r.id
        );
    }
}

/// Each case's id and verdict, for an assertion's message.
fn verdicts<'a>(cases: &[&'a CaseResult]) -> Vec<(&'a str, &'a Verdict)> {
    cases.iter().map(|r| (r.id.as_str(), &r.verdict)).collect()
}

/// Assert every one of `cases` failed.
#[track_caller]
fn all_fail(cases: &[&CaseResult]) {
    for r in cases {
        assert!(
            matches!(r.verdict, Verdict::Fail { .. }),
            "{}: {:?}\n{:#?}",
            r.id,
            r.verdict,
            r.notes
        );
    }
}

/// The calls a broken target has seen (one static per test: tests run at once).
type Seen = std::sync::Mutex<Vec<String>>;

/// Whether `call` is new to `seen` (it is remembered from now on).
fn first_time(seen: &Seen, call: &Call) -> bool {
    let key = format!("{:?}", call.params);
    let mut seen = seen.lock().expect("lock");
    let new = !seen.contains(&key);
    if new {
        seen.push(key);
    }
    new
}

/// The answer a broken target gives a call the first time it sees it.
fn first_time_500() -> Answer {
    Answer::Error {
        status: 500,
        code: "InternalError".into(),
        message: "first time".into(),
        request_id: "broken".into(),
    }
}

/// Twenty random cases against a broken EC2 that rewrites calls only.
async fn run_random(rewrite: fn(&mut Call) -> Option<Answer>) -> Vec<CaseResult> {
    run_broken_with(
        20,
        vec![Phase::Random],
        Duration::from_secs(10),
        rewrite,
        |_, r| r,
    )
    .await
    .0
}

/// A target that fails a call only the first time it sees it: a random case's
/// shrunk form, already seen during the shrink, passes when sent again. The
/// departure is still reported, as first sent, not turned into a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_does_not_repeat_is_still_a_failure() {
    static SEEN: Seen = Seen::new(Vec::new());
    let results = run_random(|call| {
        if call.operation != "ModifyInstanceMetadataOptions" || !first_time(&SEEN, call) {
            return None;
        }
        Some(first_time_500())
    })
    .await;
    let random: Vec<_> = results.iter().filter(|r| r.phase == "random").collect();
    // Every random call is new to the target, so each fails when first sent…
    assert!(random.len() >= 20, "{} random cases", random.len());
    all_fail(&random);
    // …and those whose shrunk form was sent during the shrink passed when sent
    // again: they are reported as first sent, and say so.
    let flaky: Vec<_> = random
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.starts_with("not reproducible")))
        .collect();
    assert!(!flaky.is_empty(), "no case whose shrunk form passed");
    for r in flaky {
        assert!(
            r.notes.iter().all(|n| !n.starts_with("shrunk in")),
            "{}: reported as first sent, not as shrunk: {:#?}",
            r.id,
            r.notes
        );
    }
}

/// A target that answers 500 to a call it has not seen, and sets another hop limit
/// than asked on a call it has: a random case's shrunk form fails otherwise when
/// sent again. The first departure is reported, not swapped for the other one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shrunk_case_failing_otherwise_does_not_replace_the_failure() {
    static SEEN: Seen = Seen::new(Vec::new());
    let results = run_random(|call| {
        if call.operation != "ModifyInstanceMetadataOptions" {
            return None;
        }
        if first_time(&SEEN, call) {
            return Some(first_time_500());
        }
        let other = match call.get("HttpPutResponseHopLimit") {
            Some(v) if v.as_query_text() == "7" => "8",
            _ => "7",
        };
        set(call, "HttpPutResponseHopLimit", other);
        None
    })
    .await;
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.phase == "random" && matches!(r.verdict, Verdict::Fail { .. }))
        .collect();
    assert!(failed.len() >= 10, "{} random failures", failed.len());
    // Each failure reported is the 500 its call met when first sent.
    for r in &failed {
        let status = r.exchanges[0].response.as_ref().map(|a| a.status);
        assert_eq!(
            status,
            Some(500),
            "{}: {:?}\n{:#?}",
            r.id,
            r.verdict,
            r.notes
        );
    }
    assert!(
        failed
            .iter()
            .any(|r| r.notes.iter().any(|n| n.contains("failed otherwise"))),
        "no shrunk case failed otherwise when sent again"
    );
}

/// What a target whose read-back (describe) is down answers it.
fn describe_down() -> HttpResponse {
    HttpResponse {
        status: 503,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: b"describe is down".to_vec(),
    }
}

/// The cases whose read-back failed.
fn read_back_failed(results: &[CaseResult]) -> Vec<&CaseResult> {
    results
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.starts_with("read-back failed")))
        .collect()
}

/// A read-back that fails leaves the change unverified: the case is an error,
/// never a pass, however well the call was answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_whose_read_back_fails_is_not_a_pass() {
    static DESCRIBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let results = run_rewriting_answers(
        vec![Phase::Coverage],
        Duration::from_secs(10),
        |call, resp| {
            use std::sync::atomic::Ordering::SeqCst;
            // The run's first read-backs (the instance as found) go through.
            if call.operation == "DescribeInstances" && DESCRIBES.fetch_add(1, SeqCst) >= 5 {
                return describe_down();
            }
            resp
        },
    )
    .await;
    let unverified = read_back_failed(&results);
    assert!(unverified.len() > 20, "{} cases", unverified.len());
    for r in &unverified {
        assert!(!r.verdict.is_pass(), "{}: {:?}", r.id, r.verdict);
    }
    // A call answered as documented is an error (unjudged), not a failure of the
    // target's answer; so is every case after it, whose starting options the run
    // could not read: none fails, none passes.
    assert!(
        unverified.iter().any(|r| matches!(&r.verdict,
            Verdict::Error { reason } if reason.contains("read-back failed"))),
        "{:#?}",
        verdicts(&unverified)
    );
    let not_judged = results
        .iter()
        .filter(
            |r| matches!(&r.verdict, Verdict::Error { reason } if reason.starts_with("not judged")),
        )
        .count();
    assert!(not_judged > 20, "{not_judged} cases not judged");
    assert!(
        failures(&results).is_empty(),
        "{:#?}",
        verdicts(&failures(&results))
    );
}

/// After a failed read-back the worker does not know the instance's options: the
/// next case reads them again before it is judged. Against a conforming target
/// whose read-back fails now and then, no case fails; judged from the options
/// before the unread change, later cases found departures that are not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_back_is_read_again_before_the_next_case() {
    static DESCRIBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let results = run_rewriting_answers(
        vec![Phase::Coverage],
        Duration::from_secs(10),
        |call, resp| {
            use std::sync::atomic::Ordering::SeqCst;
            // Every fifth request fails when it is a read-back (after the run's
            // first ones, the instance as found); the request after it, the
            // worker's read-back before its next case, goes through.
            let n = DESCRIBES.fetch_add(1, SeqCst);
            if call.operation == "DescribeInstances" && n > 3 && n % 5 == 0 {
                return describe_down();
            }
            resp
        },
    )
    .await;
    let unverified = read_back_failed(&results).len();
    assert!(unverified > 5, "{unverified} cases with a failed read-back");
    let failed = failures(&results);
    assert!(failed.is_empty(), "{:#?}", verdicts(&failed));
}

/// A failure found just before the run stops (here the read-back goes down while
/// the failing case is being shrunk) is still reported, as first sent: the run's
/// partial result keeps it beside the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_whose_shrinking_is_cut_short_is_kept() {
    static BROKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let (cfg, server) = broken_config(
        20,
        vec![Phase::Random],
        |call| {
            // Every change of HttpTokens is refused: a departure.
            (call.operation == "ModifyInstanceMetadataOptions" && call.get("HttpTokens").is_some())
                .then(first_time_500)
        },
        |call, resp| {
            use std::sync::atomic::Ordering::SeqCst;
            if call.operation == "ModifyInstanceMetadataOptions" && call.get("HttpTokens").is_some()
            {
                BROKEN.store(true, SeqCst);
            }
            if call.operation == "DescribeInstances" && BROKEN.load(SeqCst) {
                return describe_down();
            }
            resp
        },
    )
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let run = runner::run_api_partial(cfg, tx).await;
    drain.await.expect("drain");
    server.abort();
    assert!(
        matches!(run.stopped_by, Some(runner::RunError::Readback { .. })),
        "{:?}",
        run.stopped_by
    );
    let failed = failures(&run.cases);
    assert_eq!(
        failed.len(),
        1,
        "{:#?}",
        verdicts(&run.cases.iter().collect::<Vec<_>>())
    );
    assert!(
        failed[0]
            .notes
            .iter()
            .any(|n| n.starts_with("not shrunk: the run stopped")),
        "{:#?}",
        failed[0].notes
    );
}

/// A failure that depends on the instance's state, met right after a read-back
/// that failed, shrinks from the state it met: the worker reads the options again
/// before it takes them as the shrink's starting point. The target loses the
/// read-back right after a change to HttpTokens=required, and from then on, while
/// HttpTokens stays required, refuses any call with a DryRun (a 500). Shrunk from
/// the options known before that change (optional), the shrink steps would pass
/// and the failure would be reported as not reproducible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_a_failed_read_back_shrinks_from_the_state_it_met() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    /// The instance's HttpTokens is required (as of the last answer that tells).
    static REQUIRED: AtomicBool = AtomicBool::new(false);
    /// A change to required was answered: the next read-back is lost.
    static LOSE_NEXT_READ: AtomicBool = AtomicBool::new(false);
    /// A read-back was lost since HttpTokens last became required.
    static REFUSING: AtomicBool = AtomicBool::new(false);
    let (cfg, server) = broken_config(
        300,
        vec![Phase::Random],
        |call| {
            let modify = call.operation == "ModifyInstanceMetadataOptions";
            let refusing = REFUSING.load(SeqCst) && REQUIRED.load(SeqCst);
            (modify && call.get("DryRun").is_some() && refusing).then(first_time_500)
        },
        |call, resp| {
            if call.operation == "DescribeInstances" {
                let body = String::from_utf8_lossy(&resp.body);
                let required = body.contains("<httpTokens>required</httpTokens>");
                REQUIRED.store(required, SeqCst);
                REFUSING.fetch_and(required, SeqCst);
                if LOSE_NEXT_READ.swap(false, SeqCst) {
                    REFUSING.store(true, SeqCst);
                    return describe_down();
                }
            } else if call.operation == "ModifyInstanceMetadataOptions" && resp.status == 200 {
                if let Some(tokens) = call.get("HttpTokens") {
                    let required = tokens.as_query_text() == "required";
                    let was = REQUIRED.swap(required, SeqCst);
                    REFUSING.fetch_and(required, SeqCst);
                    // Not after the runner's own restoring calls: their read-back is
                    // not a case's, and losing it stops the run.
                    if required && !was && !restoring(call) {
                        LOSE_NEXT_READ.store(true, SeqCst);
                    }
                }
            }
            resp
        },
    )
    .await;
    let results = run(cfg).await;
    server.abort();
    // The cases right after a lost read-back that failed (a DryRun refused).
    let after_lost: Vec<&CaseResult> = results
        .windows(2)
        .filter(|w| w[0].notes.iter().any(|n| n.starts_with("read-back failed")))
        .map(|w| &w[1])
        .filter(|r| matches!(r.verdict, Verdict::Fail { .. }))
        .collect();
    assert!(
        !after_lost.is_empty(),
        "no failure right after a lost read-back: {} cases, {} lost read-backs",
        results.len(),
        read_back_failed(&results).len()
    );
    for r in &after_lost {
        assert!(
            r.notes.iter().any(|n| n.starts_with("shrunk in")),
            "{}: not shrunk from the state it met: {:#?}",
            r.id,
            r.notes
        );
    }
}

/// Could `call` be one of the runner's restoring calls: the instance and options
/// only, each once (random calls add a DryRun, unknown or repeated parameters)?
fn restoring(call: &Call) -> bool {
    const OPTIONS: [&str; 6] = [
        "InstanceId",
        "HttpTokens",
        "HttpPutResponseHopLimit",
        "HttpEndpoint",
        "HttpProtocolIpv6",
        "InstanceMetadataTags",
    ];
    let names: Vec<&str> = call.params.iter().map(|p| p.name.as_str()).collect();
    let once = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    once && names.iter().all(|n| OPTIONS.contains(n))
}

/// A random modify that sends a hop limit other than the instance's own (1): the
/// restoring calls of a session never do.
fn sets_another_hop_limit(call: &Call) -> bool {
    call.operation == "ModifyInstanceMetadataOptions"
        && call
            .get("HttpPutResponseHopLimit")
            .is_some_and(|v| *v != imds_conform::wire::RawValue::text("1"))
}

/// The library's one-case-at-a-time sessions (the `cargo test` harness) keep a
/// failure cut short the same way: the departure comes back, with the note (the
/// error comes at the next case if it lasts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_a_failure_whose_shrinking_is_cut_short() {
    static BROKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let (cfg, server) = broken_config(
        20,
        vec![Phase::Random],
        |call| sets_another_hop_limit(call).then(first_time_500),
        |call, resp| {
            use std::sync::atomic::Ordering::SeqCst;
            if sets_another_hop_limit(call) {
                BROKEN.store(true, SeqCst);
            }
            if call.operation == "DescribeInstances" && BROKEN.load(SeqCst) {
                return describe_down();
            }
            resp
        },
    )
    .await;
    let mut sessions = Session::open(&cfg).await.expect("opens");
    let session = &mut sessions[0];
    let original = session.original().clone();
    let mut kept = None;
    for index in 1..=40 {
        let state = original.clone();
        match session.run_random(&cfg, |_| state, 1, index).await {
            Ok(Some(r)) if matches!(r.verdict, Verdict::Fail { .. }) => {
                kept = Some(r);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("case {index}: the error, not the failure: {e}"),
        }
    }
    server.abort();
    let kept = kept.expect("a random call with another hop limit in 40");
    assert!(
        kept.notes
            .iter()
            .any(|n| n.starts_with("not shrunk: the run stopped")),
        "{:#?}",
        kept.notes
    );
}

/// A change shown right after the answer but gone once it settles (the applied
/// read-back shows another hop limit) fails its settle case: a pass must survive
/// the whole read-back, not only its first look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_reverts_once_settled_is_caught() {
    let results = run_rewriting_answers(
        vec![Phase::Sequence],
        Duration::from_secs(10),
        |call, resp| {
            let body = String::from_utf8_lossy(&resp.body).into_owned();
            if call.operation != "DescribeInstances" || !body.contains("<state>applied</state>") {
                return resp;
            }
            // Once applied, the hop limit shown is one more than the one stored.
            let tag = "<httpPutResponseHopLimit>";
            let Some(at) = body.find(tag).map(|i| i + tag.len()) else {
                return resp;
            };
            let end = at + body[at..].find('<').expect("closing tag");
            let n: u32 = body[at..end].parse().expect("a number");
            let body = format!("{}{}{}", &body[..at], n + 1, &body[end..]);
            HttpResponse {
                body: body.into_bytes(),
                ..resp
            }
        },
    )
    .await;
    let settles: Vec<_> = results
        .iter()
        .filter(|r| r.rule == "state.settles")
        .collect();
    assert!(settles.len() >= 5, "{} settle cases", settles.len());
    all_fail(&settles);
    assert!(
        settles.iter().any(|r| r
            .findings
            .iter()
            .any(|f| f.rule == "state_machine.settles_to" && f.detail.starts_with("once settled"))),
        "{:#?}",
        verdicts(&settles)
    );
}

/// Refusing 65 with the wrong error while storing it (as 64) is two departures: the
/// error, and a change made by an error. The wrong error must not hide the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_error_that_changes_the_instance_shows_both() {
    let results = run_broken(0, |call| {
        if call.operation != "ModifyInstanceMetadataOptions"
            || call
                .get("HttpPutResponseHopLimit")
                .map(|v| v.as_query_text())
                != Some("65")
        {
            return None;
        }
        set(call, "HttpPutResponseHopLimit", "64");
        // A server error where the docs want a client error (any 400 code would do).
        Some(Answer::Error {
            status: 500,
            code: "InternalError".into(),
            message: "wrong status".into(),
            request_id: "broken".into(),
        })
    })
    .await;
    let case = results
        .iter()
        .find(|r| {
            r.phase == "coverage"
                && r.rule == "HttpPutResponseHopLimit.range"
                && r.title.contains("65")
        })
        .expect("the hop limit 65 case");
    let kinds: Vec<&str> = case.findings.iter().map(|f| f.kind.name()).collect();
    assert!(
        matches!(case.verdict, Verdict::Fail { .. })
            && kinds.len() == 2
            && kinds.contains(&"read-back"),
        "{:?}\n{:#?}",
        case.verdict,
        case.findings
    );
}

/// A target that resets an omitted HttpTokens (a reading the EC2 table keeps open):
/// putting back an instance whose tokens were required, after only its hop limit
/// changed, must send HttpTokens too, or the restore itself changes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_sends_the_options_an_omission_may_reset() {
    let (cfg, server) = broken_config(
        0,
        vec![Phase::Coverage],
        |call| {
            if call.operation == "ModifyInstanceMetadataOptions" && call.get("HttpTokens").is_none()
            {
                set(call, "HttpTokens", "optional");
            }
            None
        },
        |_, r| r,
    )
    .await;
    let id = cfg.instances[0].clone();
    let modify = |params: &[(&str, &str)]| Call {
        operation: "ModifyInstanceMetadataOptions".into(),
        params: std::iter::once(("InstanceId", id.as_str()))
            .chain(params.iter().copied())
            .map(|(k, v)| RawParam::text(k, v))
            .collect(),
    };
    let send = |call: Call| {
        let target = cfg.target.clone();
        async move {
            let sent = target.send(&call, Signing::Valid).await.expect("sent");
            assert!(
                matches!(sent.outcome, Ok(Outcome::Success { .. })),
                "{:?}",
                sent.outcome
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // As found: tokens required.
    send(modify(&[
        ("HttpTokens", "required"),
        ("HttpPutResponseHopLimit", "1"),
    ]))
    .await;
    let mut sessions = Session::open(&cfg).await.expect("opens");
    let session = &mut sessions[0];
    assert_eq!(
        session.original().get("http_tokens").map(String::as_str),
        Some("required")
    );
    // Only the hop limit changes (the tokens sent as they are).
    send(modify(&[
        ("HttpTokens", "required"),
        ("HttpPutResponseHopLimit", "5"),
    ]))
    .await;
    let restored = session.restore(&cfg).await.expect("restores");
    assert!(
        matches!(&restored, Some(Restored::Done(_))),
        "{:?}",
        restored.as_ref().map(|r| r.not_back())
    );
    server.abort();
}

/// Alibaba's replay check sends one signed call twice and wants the second refused.
/// A target that answers the first with a 500 (while storing its nonce, so the
/// replay is refused) has not passed it: the case is judged on its first send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_check_whose_first_send_fails_is_not_a_pass() {
    let cfg = common::run_answering("aliyun-ecs", |emulator| {
        let seen = std::sync::Mutex::new(Vec::<String>::new());
        Arc::new(move |req: &HttpRequest| {
            let resp = emulator.handle(req, SystemTime::now());
            let key = format!("{req:?}");
            let mut seen = seen.lock().expect("lock");
            if key.contains("ModifyInstanceMetadataOptions") && !seen.contains(&key) {
                seen.push(key);
                return Some(HttpResponse {
                    status: 500,
                    headers: vec![("Content-Type".into(), "text/plain".into())],
                    body: b"try again".to_vec(),
                });
            }
            Some(resp)
        })
    })
    .await;
    let cfg = RunConfig {
        phases: vec![Phase::Auth],
        ..cfg
    };
    let results = run(cfg).await;
    let replay = results
        .iter()
        .find(|r| r.title == "the same signed request sent twice")
        .expect("the replay case");
    assert!(
        matches!(replay.verdict, Verdict::Fail { .. })
            && replay.notes.iter().any(|n| n.contains("judged on it")),
        "{:?}\n{:#?}",
        replay.verdict,
        replay.notes
    );
}

/// A target that drops the connection on the replay (no answer at all): the case
/// is the suite's error, and it keeps the first send's exchange, which changed the
/// instance; the run goes on (it stopped at that send, the first one lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_without_an_answer_keeps_the_first_send() {
    let cfg = common::run_answering("aliyun-ecs", |emulator| {
        let seen = std::sync::Mutex::new(Vec::<String>::new());
        Arc::new(move |req: &HttpRequest| {
            let key = format!("{req:?}");
            let mut seen = seen.lock().expect("lock");
            if key.contains("ModifyInstanceMetadataOptions") && seen.contains(&key) {
                return None;
            }
            seen.push(key);
            Some(emulator.handle(req, SystemTime::now()))
        })
    })
    .await;
    let cfg = RunConfig {
        phases: vec![Phase::Auth, Phase::Sequence],
        ..cfg
    };
    let results = run(cfg).await;
    let replay = results
        .iter()
        .find(|r| r.title == "the same signed request sent twice")
        .expect("the replay case");
    assert!(
        matches!(&replay.verdict, Verdict::Error { reason } if reason.contains("replay")),
        "{:?}",
        replay.verdict
    );
    assert_eq!(replay.exchanges.len(), 2, "{:#?}", replay.exchanges);
    assert!(
        replay.exchanges[0].response.is_some() && replay.exchanges[1].response.is_none(),
        "{:#?}",
        replay.exchanges
    );
    assert!(
        results.iter().any(|r| r.id.contains("/sequence/")),
        "the run stopped at the replay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_drops_omitted_fields_is_caught() {
    // An omitted HttpEndpoint is reset to disabled instead of kept.
    let results = run_broken(40, |call| {
        if call.operation == "ModifyInstanceMetadataOptions" && call.get("HttpEndpoint").is_none() {
            set(call, "HttpEndpoint", "disabled");
        }
        None
    })
    .await;
    let f = failures(&results);
    assert!(f.iter().any(|r| matches!(&r.verdict, Verdict::Fail { reason } if reason.contains("http_endpoint") || reason.contains("httpEndpoint"))), "{:#?}", f.iter().map(|r| (&r.id, &r.verdict)).collect::<Vec<_>>());
    assert_shrunk(&results, "InstanceId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_that_applies_the_change_is_caught() {
    // DryRun answers DryRunOperation, but the change is made anyway.
    // A DryRun with a real change is a small share of random calls: draw more.
    let results = run_broken(200, |call| {
        let dry = call
            .get("DryRun")
            .map(|v| v.as_query_text().eq_ignore_ascii_case("true"))
            == Some(true);
        if call.operation == "ModifyInstanceMetadataOptions" && dry {
            call.params.retain(|p| p.name != "DryRun");
            return Some(Answer::Error {
                status: 412,
                code: "DryRunOperation".into(),
                message: "Request would have succeeded, but DryRun flag is set.".into(),
                request_id: "broken".into(),
            });
        }
        None
    })
    .await;
    let f = failures(&results);
    assert!(
        f.iter().any(|r| r.rule == "dry-run.changes-nothing" && matches!(&r.verdict, Verdict::Fail { reason } if reason.contains("must change nothing"))),
        "{:#?}",
        f.iter().map(|r| (&r.id, &r.rule, &r.verdict)).collect::<Vec<_>>()
    );
    assert_shrunk(&results, "DryRun");
}

/// Refuses `HttpEndpoint = disabled` (a valid value) with a 400.
fn refusing_endpoint_disabled(call: &mut Call) -> Option<Answer> {
    let disabled = call.get("HttpEndpoint").map(|v| v.as_query_text()) == Some("disabled");
    (call.operation == "ModifyInstanceMetadataOptions" && disabled).then(|| Answer::Error {
        status: 400,
        code: "InvalidParameterValue".into(),
        message: "no".into(),
        request_id: "broken".into(),
    })
}

/// A target refusing a valid value is one departure named by that value, though
/// every call sending it happens to leave another parameter out: calls the target
/// took without that parameter show its omission is not what it refuses (the
/// departure read "400 InvalidParameterValue when HttpPutResponseHopLimit is
/// omitted", cited by an omission rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_valid_value_is_named_by_the_value_not_an_omission() {
    let (results, _) = run_broken_with(
        0,
        vec![Phase::Coverage, Phase::Sequence],
        Duration::from_secs(10),
        refusing_endpoint_disabled,
        |_, r| r,
    )
    .await;
    let d = departures(&results);
    let refused: Vec<_> = d
        .iter()
        .filter(|d| d.kind == FindingKind::RefusedValid)
        .collect();
    assert_eq!(refused.len(), 1, "{d:#?}");
    assert!(
        refused[0]
            .title
            .contains("when HttpEndpoint = \"disabled\"")
            && !refused[0].title.contains("omitted")
            && !refused[0].rule.ends_with(".absent"),
        "{:#?}",
        refused[0]
    );
}

/// Answers 500 to every modify.
fn refusing_every_modify(call: &mut Call) -> Option<Answer> {
    (call.operation == "ModifyInstanceMetadataOptions").then(|| Answer::Error {
        status: 500,
        code: "InternalError".into(),
        message: "down".into(),
        request_id: "broken".into(),
    })
}

/// A target that takes no call at all is not refusing "InstanceId = …": with
/// nothing taken to compare with, no value is named (every value the cases share
/// would qualify, the instance's id first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_taking_nothing_is_not_said_to_refuse_its_instance_id() {
    let (results, _) = run_broken_with(
        0,
        vec![Phase::Coverage],
        Duration::from_secs(10),
        refusing_every_modify,
        |_, r| r,
    )
    .await;
    let d = departures(&results);
    let refused: Vec<_> = d
        .iter()
        .filter(|d| d.kind == FindingKind::RefusedValid)
        .collect();
    assert!(!refused.is_empty(), "{d:#?}");
    assert!(
        refused.iter().all(|d| !d.title.contains(" when ")),
        "{refused:#?}"
    );
}

/// Answers 500 to a hop limit that is not a number (as moto's server error).
fn failing_on_a_non_numeric_hop_limit(call: &mut Call) -> Option<Answer> {
    let hop = call
        .get("HttpPutResponseHopLimit")
        .map(|v| v.as_query_text().to_string());
    let bad = hop.is_some_and(|h| h.trim().parse::<i64>().is_err());
    (call.operation == "ModifyInstanceMetadataOptions" && bad).then(|| Answer::Error {
        status: 500,
        code: "InternalError".into(),
        message: "invalid literal for int()".into(),
        request_id: "broken".into(),
    })
}

/// One cause, one departure: a call with a bad HttpTokens and a bad hop limit,
/// answered with the 500 the bad hop limit gets alone, is that departure, not
/// one of HttpTokens' (moto: "HttpTokens.values: 500 (HTML page)" beside
/// "HttpPutResponseHopLimit.type: 500 (HTML page)").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_error_two_bad_values_could_explain_is_the_one_shown_alone() {
    let (results, _) = run_broken_with(
        0,
        vec![Phase::Coverage],
        Duration::from_secs(10),
        failing_on_a_non_numeric_hop_limit,
        |_, r| r,
    )
    .await;
    let d = departures(&results);
    let wrong: Vec<_> = d
        .iter()
        .filter(|d| d.kind == FindingKind::WrongError)
        .map(|d| (d.rule.as_str(), d.count))
        .collect();
    assert!(
        wrong
            .iter()
            .all(|(r, _)| r.starts_with("HttpPutResponseHopLimit.")),
        "{wrong:?}"
    );
    // The case with both bad values is among the hop limit's.
    let both = results
        .iter()
        .find(|r| {
            r.title.contains("HttpTokens = \"bogus\"")
                && r.title.contains("HttpPutResponseHopLimit = \"bogus\"")
        })
        .expect("a case with both values bad");
    assert!(
        d.iter()
            .any(|d| d.rule == "HttpPutResponseHopLimit.type" && d.cases.contains(&both.id)),
        "{d:#?}"
    );
}

/// The answer's body with `from` replaced by `to`.
fn replace_body(mut resp: HttpResponse, from: &str, to: &str) -> HttpResponse {
    let text = String::from_utf8_lossy(&resp.body).replace(from, to);
    resp.body = text.into_bytes();
    resp.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
    resp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_off_by_one_range_is_one_departure_naming_its_rule() {
    let results = run_broken(40, hop_limit_65_as_64).await;
    let d = departures(&results);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].rule, "HttpPutResponseHopLimit.range");
    assert_eq!(d[0].kind, FindingKind::AcceptedInvalid);
    assert!(
        d[0].cite
            .iter()
            .any(|c| c.contains("Integers from 1 to 64")),
        "{d:#?}"
    );
    assert_eq!(d[0].count, failures(&results).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_html_page_is_a_departure_not_an_error() {
    // moto's answer to a call without InstanceId: a 500 HTML page.
    let results = run_rewriting_answers(
        vec![Phase::Coverage],
        Duration::from_secs(10),
        |call, resp| {
            if call.operation == "ModifyInstanceMetadataOptions" && call.get("InstanceId").is_none()
            {
                HttpResponse {
                    status: 500,
                    headers: vec![("Content-Type".into(), "text/html".into())],
                    body:
                        b"<!doctype html><html><body><h1>Internal Server Error</h1></body></html>"
                            .to_vec(),
                }
            } else {
                resp
            }
        },
    )
    .await;
    assert!(
        results
            .iter()
            .all(|r| !matches!(r.verdict, Verdict::Error { .. })),
        "an answer that arrived is judged, not an error"
    );
    let html: Vec<&CaseResult> = results
        .iter()
        .filter(|r| matches!(r.actual, Actual::Undecodable { status: 500, .. }))
        .collect();
    assert!(!html.is_empty());
    assert!(html
        .iter()
        .all(|r| matches!(r.verdict, Verdict::Fail { .. })));
    let d = departures(&results);
    let not_protocol = d
        .iter()
        .find(|d| d.kind == FindingKind::NotProtocol)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(not_protocol.got, "HTML page");
    let status = d
        .iter()
        .find(|d| d.kind == FindingKind::WrongError)
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(status.rule, "InstanceId.required", "{d:#?}");
    assert_eq!(status.got, "500 (HTML page)");
    assert!(
        status.expected.starts_with("400 MissingParameter"),
        "{d:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_never_settles_costs_one_timeout() {
    let results = run_rewriting_answers(vec![Phase::Sequence], Duration::from_secs(2), |c, r| {
        if_describe(c, r, |r| {
            replace_body(r, "<state>applied</state>", "<state>pending</state>")
        })
    })
    .await;
    let stuck: Vec<&CaseResult> = results
        .iter()
        .filter(|r| {
            r.findings
                .iter()
                .any(|f| f.kind == FindingKind::NeverSettles)
        })
        .collect();
    assert!(stuck.len() >= 3, "several settle cases: {}", stuck.len());
    // Only the first waited the whole timeout; the others were read once.
    let waited = stuck
        .iter()
        .filter(|r| match &r.verdict {
            Verdict::Fail { reason } => !reason.contains("not waited for"),
            _ => false,
        })
        .count();
    assert_eq!(
        waited,
        1,
        "{:#?}",
        stuck.iter().map(|r| &r.verdict).collect::<Vec<_>>()
    );
    let d = departures(&results);
    let never: Vec<_> = d
        .iter()
        .filter(|d| d.kind == FindingKind::NeverSettles)
        .collect();
    assert_eq!(never.len(), 1, "{d:#?}");
    assert_eq!(never[0].expected, "applied");
    assert_eq!(never[0].got, "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_back_that_lacks_a_field_is_a_departure() {
    let results = run_rewriting_answers(vec![Phase::Coverage], Duration::from_secs(10), |c, r| {
        if_describe(c, r, |r| {
            let r = replace_body(r, "<httpProtocolIpv6>disabled</httpProtocolIpv6>", "");
            replace_body(r, "<httpProtocolIpv6>enabled</httpProtocolIpv6>", "")
        })
    })
    .await;
    let d = departures(&results);
    let lacks = d
        .iter()
        .find(|d| d.kind == FindingKind::Readback && d.rule == "readback.fields")
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(lacks.field.as_deref(), Some("httpProtocolIpv6"));
    assert_eq!(lacks.got, "missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omission_read_two_ways_is_an_inconsistent_reading() {
    // An omitted HttpTokens is reset to optional when the call sets HttpEndpoint and
    // kept otherwise: each call passes under one reading, the target implements
    // neither.
    let (_, readings) = run_broken_with(
        80,
        vec![Phase::Coverage, Phase::Sequence, Phase::Random],
        Duration::from_secs(10),
        |call| {
            if call.operation == "ModifyInstanceMetadataOptions"
                && call.get("HttpTokens").is_none()
                && call.get("HttpEndpoint").is_some()
            {
                set(call, "HttpTokens", "optional");
            }
            None
        },
        |_, r| r,
    )
    .await;
    let r = readings
        .iter()
        .find(|r| r.ambiguity == "ec2-http-tokens-omitted")
        .unwrap_or_else(|| panic!("{readings:#?}"));
    assert_eq!(r.status, "inconsistent", "{r:#?}");
    assert_eq!(r.witnesses.len(), 2, "{r:#?}");
    assert_ne!(
        r.witnesses[0].passes_under, r.witnesses[1].passes_under,
        "{r:#?}"
    );
}

/// A target that echoes secrets in its answers (a signature error quoting the
/// canonical request, a success carrying a credential document): the run's case
/// records, exchanges and all, hold none of them, whatever they fail on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_a_target_echoes_stay_out_of_the_case_records() {
    let results = run_rewriting_answers(
        vec![Phase::Coverage],
        Duration::from_secs(10),
        |call, resp| {
            if call.operation != "ModifyInstanceMetadataOptions" {
                return resp;
            }
            let body = if call.get("HttpTokens").is_some() {
                "<Response><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The canonical string should have been 'POST\n/\n\nhost:127.0.0.1\nx-amz-security-token:TOKEN-ECHOED-1\n' (Authorization: AWS4-HMAC-SHA256 Credential=AKID-ECHOED-1/20250102/us-east-1/ec2/aws4_request, Signature=SIG-ECHOED-1)</Message></Error></Errors><RequestID>r-1</RequestID></Response>".to_string()
            } else {
                let ok = String::from_utf8_lossy(&resp.body).into_owned();
                ok.replace(
                    "</requestId>",
                    "</requestId><credentials><Token>TOKEN-ECHOED-2</Token><SecretAccessKey>KEY-ECHOED-2</SecretAccessKey></credentials>",
                )
            };
            let status = if body.contains("<Errors>") { 403 } else { resp.status };
            HttpResponse {
                status,
                headers: resp.headers,
                body: body.into_bytes(),
            }
        },
    )
    .await;
    assert!(
        results.iter().any(|r| r.exchanges.iter().any(|e| e
            .response
            .as_ref()
            .is_some_and(|a| a.body.contains("SignatureDoesNotMatch")))),
        "no echoing answer was recorded"
    );
    assert!(
        results.iter().any(|r| matches!(&r.actual,
            Actual::Outcome { outcome: Outcome::Success { body, .. } } if body.get("credentials").is_some())),
        "no success carrying credentials was recorded"
    );
    let mut signed = 0;
    for r in &results {
        let shown = serde_json::to_string(r).expect("serializes");
        assert!(!shown.contains("ECHOED"), "{}: {shown}", r.id);
        // The run's own signatures are redacted too.
        for (_, v) in r.exchanges.iter().flat_map(|e| &e.request.headers) {
            if v.starts_with("AWS4-HMAC-SHA256") {
                signed += 1;
                assert!(v.ends_with("Signature=<redacted>"), "{}: {v}", r.id);
            }
        }
    }
    assert!(signed > 0, "no signed request was recorded");
}

/// The nonce-replay check reads the instance between its two sends. When that
/// read fails, the replay is sent but not judged and the run goes on, as after
/// any failed read-back (it stopped the whole run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_back_inside_the_replay_check_does_not_stop_the_run() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let api = "aliyun-ecs";
    let spec = spec(api);
    let fixtures = emulator::default_fixtures();
    let (instances, keys) = fixtures.for_api(api).expect("fixtures");
    let region = spec.api.default_region.clone();
    let instance = instances
        .iter()
        .find(|i| i.is_running() && i.region == region)
        .expect("a running instance")
        .id
        .clone();
    let emulator = Emulator::new(EmulatorConfig {
        apply_delay: Duration::from_millis(10),
        ..EmulatorConfig::default()
    });
    // The run holds the replay case alone: the instance as found (read 0), the
    // first send, the read between the sends (read 1: answered 503), the second
    // send, its read-back, the restore. Only the read between the sends fails.
    let describes = Arc::new(AtomicUsize::new(0));
    let answer: common::Answering = Arc::new(move |req: &HttpRequest| {
        let describe = req.path_and_query.contains("Action=DescribeInstances")
            || String::from_utf8_lossy(&req.body).contains("Action=DescribeInstances");
        if describe && describes.fetch_add(1, SeqCst) == 1 {
            return Some(describe_down());
        }
        Some(emulator.handle(req, SystemTime::now()))
    });
    let url = common::serve_answering(answer).await;
    let aim = Aim {
        url: &url,
        region: &region,
        instances: &[instance.as_str()],
        known: instances.iter().map(|i| i.id.clone()).collect(),
        creds: Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone()),
    };
    let mut cfg = config(spec, aim, vec![Phase::Auth], 0);
    cfg.only = Some(only("auth.nonce-reused"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let run = runner::run_api_partial(cfg, tx).await;
    drain.await.expect("drain");
    assert!(
        run.stopped_by.is_none(),
        "the run stopped: {:?}",
        run.stopped_by
    );
    let replay: Vec<&CaseResult> = run
        .cases
        .iter()
        .filter(|c| {
            c.notes
                .iter()
                .any(|n| n.starts_with("read-back after the first send failed"))
        })
        .collect();
    assert_eq!(replay.len(), 1, "{:#?}", run.cases);
    assert!(
        matches!(&replay[0].verdict, Verdict::Error { reason } if reason.starts_with("not judged")),
        "{:?}",
        replay[0].verdict
    );
}

/// A target whose read-back always shows the hop limit and the tokens setting as
/// they were: a case that changes both shows both in its finding's detail (the
/// first names the finding, so its rule and departure are as with one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_back_wrong_in_two_fields_shows_both() {
    let results = run_rewriting_answers(vec![Phase::Coverage], Duration::from_secs(10), |c, r| {
        if_describe(c, r, |r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let hop = regex::Regex::new(r"<httpPutResponseHopLimit>\d+</httpPutResponseHopLimit>")
                .unwrap();
            let tokens = regex::Regex::new(r"<httpTokens>\w+</httpTokens>").unwrap();
            let body = hop.replace_all(
                &body,
                "<httpPutResponseHopLimit>1</httpPutResponseHopLimit>",
            );
            let body = tokens.replace_all(&body, "<httpTokens>optional</httpTokens>");
            HttpResponse {
                body: body.into_owned().into_bytes(),
                ..r
            }
        })
    })
    .await;
    let both: Vec<&CaseResult> = results
        .iter()
        .filter(|r| {
            r.findings.iter().any(|f| {
                f.kind == FindingKind::Readback
                    && f.field.as_deref() == Some("hop_limit")
                    && f.detail.contains("hop_limit = \"1\"")
                    && f.detail.contains("http_tokens = \"optional\"")
            })
        })
        .collect();
    assert!(
        !both.is_empty(),
        "{:#?}",
        results
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| f.kind == FindingKind::Readback)
            .map(|f| (&f.field, &f.detail))
            .collect::<Vec<_>>()
    );
}

/// `body` with a hop limit above 1 shown one less; `None` when it shows 1 (or none).
fn hop_limit_one_less(body: &str) -> Option<String> {
    let hop =
        regex::Regex::new(r"<httpPutResponseHopLimit>(\d+)</httpPutResponseHopLimit>").unwrap();
    let n = hop
        .captures(body)
        .and_then(|c| c[1].parse::<u32>().ok())
        .filter(|n| *n >= 2)?;
    let shown = format!(
        "<httpPutResponseHopLimit>{}</httpPutResponseHopLimit>",
        n - 1
    );
    Some(hop.replace_all(body, shown.as_str()).into_owned())
}

/// A read-back that, once the hop limit is above 1, shows it one less and the
/// metadata endpoint disabled: a case that raises the hop limit and omits
/// HttpEndpoint (which EC2 keeps, under every reading) sees its value not kept and
/// the omitted option not kept either.
fn lower_hop_limit_and_disable_endpoint(call: &Call, resp: HttpResponse) -> HttpResponse {
    if_describe(call, resp, |r| {
        let Some(body) = hop_limit_one_less(&String::from_utf8_lossy(&r.body)) else {
            return r;
        };
        let endpoint = regex::Regex::new(r"<httpEndpoint>\w+</httpEndpoint>").unwrap();
        let body = endpoint.replace_all(&body, "<httpEndpoint>disabled</httpEndpoint>");
        HttpResponse {
            body: body.into_owned().into_bytes(),
            ..r
        }
    })
}

/// A read-back that shows a hop limit above 1 one less.
fn lower_hop_limit(call: &Call, resp: HttpResponse) -> HttpResponse {
    if_describe(call, resp, |r| {
        match hop_limit_one_less(&String::from_utf8_lossy(&r.body)) {
            Some(body) => HttpResponse {
                body: body.into_bytes(),
                ..r
            },
            None => r,
        }
    })
}

/// Resets an omitted HttpTokens to `required`: one of the readings EC2's docs
/// leave open (kept, or reset to either value).
fn require_omitted_tokens(call: &mut Call) -> Option<Answer> {
    if call.operation == "ModifyInstanceMetadataOptions" && call.get("HttpTokens").is_none() {
        set(call, "HttpTokens", "required");
    }
    None
}

/// A case that sets a hop limit and omits HttpEndpoint, against a target wrong on
/// both, shows both causes: the value it set (its own rule) and the omitted
/// option's rule (`HttpEndpoint.absent`), each a finding of its own, so the case
/// counts in both departures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_back_wrong_under_two_rules_shows_both_rules() {
    let results = run_rewriting_answers(
        vec![Phase::Coverage],
        Duration::from_secs(10),
        lower_hop_limit_and_disable_endpoint,
    )
    .await;
    let both: Vec<&CaseResult> = results
        .iter()
        .filter(|r| {
            let rules = readback_rules(r);
            rules.iter().any(|(rule, field)| {
                rule == "HttpEndpoint.absent" && field.as_deref() == Some("http_endpoint")
            }) && rules.iter().any(|(rule, field)| {
                !rule.ends_with(".absent") && field.as_deref() == Some("hop_limit")
            })
        })
        .collect();
    assert!(
        !both.is_empty(),
        "{:#?}",
        results
            .iter()
            .filter(|r| !r.findings.is_empty())
            .map(|r| (&r.title, readback_rules(r)))
            .collect::<Vec<_>>()
    );
    // The case counts in the omitted option's departure as well as its own, and
    // that departure's example is its own finding.
    let d = departures(&results);
    let absent = d
        .iter()
        .find(|d| d.kind == FindingKind::Readback && d.rule == "HttpEndpoint.absent")
        .expect("an HttpEndpoint.absent departure");
    assert!(absent.cases.contains(&both[0].id), "{absent:#?}");
    assert_eq!(
        absent.field.as_deref(),
        Some("http_endpoint"),
        "{absent:#?}"
    );
    assert!(absent.example.contains("http_endpoint ="), "{absent:#?}");
}

/// An omitted option a reading lets go either way is no departure, even when the
/// case fails otherwise: a target that resets an omitted HttpTokens to `required`
/// (a reading EC2's docs allow) and whose read-back shows a raised hop limit one
/// less fails on the hop limit alone. (Its answers show the reset too, so the
/// readings it departs from are told apart by the answer already; where an answer
/// does not show the options, the read-back's findings must agree across readings:
/// the Alibaba test below, and unit tests in src/verdict/mod.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_omitted_option_some_reading_allows_is_no_departure() {
    let results = run_broken_with(
        0,
        vec![Phase::Coverage],
        Duration::from_secs(10),
        require_omitted_tokens,
        lower_hop_limit,
    )
    .await
    .0;
    assert!(
        read_back_wrong_on(&results, "hop_limit") > 0,
        "the hop limit departure was not found"
    );
    // Cases that send HttpTokens may fail on it (a value not kept); those that
    // omit it may not.
    let tokens: Vec<_> = results
        .iter()
        .filter(|r| !r.request.iter().any(|p| p.name == "HttpTokens"))
        .flat_map(|r| r.findings.iter().map(move |f| (&r.title, f)))
        .filter(|(_, f)| f.rule == "HttpTokens.absent" || f.field.as_deref() == Some("http_tokens"))
        .collect();
    assert!(tokens.is_empty(), "{tokens:#?}");
}

/// How many cases have a read-back finding named by `field`.
fn read_back_wrong_on(results: &[CaseResult], field: &str) -> usize {
    results
        .iter()
        .filter(|r| {
            readback_rules(r)
                .iter()
                .any(|(_, f)| f.as_deref() == Some(field))
        })
        .count()
}

fn readback_rules(r: &CaseResult) -> Vec<(String, Option<String>)> {
    r.findings
        .iter()
        .filter(|f| f.kind == FindingKind::Readback)
        .map(|f| (f.rule.clone(), f.field.clone()))
        .collect()
}

/// A target whose read-back never shows one option (httpProtocolIpv6) although
/// its answers do: one departure, the read-back's; the answers are not judged on a
/// value the run cannot know (they showed the instance's own value, and were
/// reported as "not the value the call set or kept"). Cases set the option, so the run
/// cannot tell the instance is back as it was: it must say so, not "restored".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_back_lacking_an_option_is_one_departure_and_no_restore_is_claimed() {
    let (cfg, server) = broken_config(
        0,
        vec![Phase::Coverage],
        |_| None,
        |call, resp| {
            if_describe(call, resp, |r| {
                let body = String::from_utf8_lossy(&r.body).into_owned();
                let start = body.find("<httpProtocolIpv6>").expect("the field");
                let end = body.find("</httpProtocolIpv6>").expect("its end");
                let cut = format!("{}{}", &body[..start], &body[end + 19..]);
                HttpResponse {
                    body: cut.into_bytes(),
                    ..r
                }
            })
        },
    )
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let results = runner::run_api(cfg, tx).await.expect("the run completes");
    server.abort();
    let mut not_restored = Vec::new();
    while let Some(ev) = rx.recv().await {
        if let Event::NotRestored { reason, .. } = ev {
            not_restored.push(reason);
        }
    }
    let d = departures(&results);
    let about_ipv6: Vec<_> = d
        .iter()
        .filter(|d| format!("{d:?}").contains("httpProtocolIpv6"))
        .map(|d| (d.rule.as_str(), d.title.as_str()))
        .collect();
    assert_eq!(
        about_ipv6,
        vec![("readback.fields", about_ipv6.first().map_or("", |t| t.1))],
        "{d:#?}"
    );
    // Its sources, each once (two of the table's read-back facts share one).
    let readback = d.iter().find(|d| d.rule == "readback.fields").expect("one");
    let mut cites = readback.cite.clone();
    cites.dedup();
    cites.sort_unstable();
    cites.dedup();
    assert_eq!(cites.len(), readback.cite.len(), "{:#?}", readback.cite);
    assert_eq!(not_restored.len(), 1, "{not_restored:?}");
    assert!(
        not_restored[0].contains("no read-back shows http_protocol_ipv6"),
        "{not_restored:?}"
    );
}

/// After its third modify the target refuses everything (read-backs too) with a
/// signature error quoting a session token: the runner cannot put the instance
/// back, and what it tells the reporters — the notes, the instance not put back,
/// the cases — names the error without the token (the console prints these
/// events as they come).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_echoing_a_token_while_the_run_fails_keeps_it_out_of_the_events() {
    let cfg = common::run_answering("aws-ec2", common::echoing_a_token_after_three_modifies).await;
    let cfg = RunConfig {
        only: Some(only("HttpTokens.*")),
        ..cfg
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = runner::run_api_partial(cfg, tx).await;
    let mut told: Vec<String> = Vec::new();
    let mut not_restored = Vec::new();
    while let Some(ev) = rx.recv().await {
        match &ev {
            Event::NotRestored { reason, .. } => not_restored.push(reason.clone()),
            Event::Note { message, .. } => told.push(message.clone()),
            _ => {}
        }
        told.push(format!("{ev:?}"));
    }
    told.extend(run.cases.iter().map(|c| format!("{c:?}")));
    told.extend(run.stopped_by.iter().map(|e| e.to_string()));
    assert_eq!(not_restored.len(), 1, "{told:#?}");
    assert!(
        not_restored[0].contains("SignatureDoesNotMatch"),
        "{not_restored:?}"
    );
    for t in told.iter().chain(&not_restored) {
        assert!(!t.contains(common::ECHOED_TOKEN), "the token leaked: {t}");
    }
}

/// Alibaba's modify answer carries no options, so every reading of an omitted
/// HttpTokens matches it and only the read-back tells them apart. The emulator
/// keeps an omitted HttpTokens (one of the two readings the docs allow; the other
/// resets it to optional); with a read-back that shows a raised hop limit one
/// less, a case that raises it and omits HttpTokens fails on the hop limit alone:
/// the reading "reset to optional" sees the tokens setting wrong as well, "keep"
/// does not, so it is no departure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_omitted_option_one_reading_explains_is_no_departure_where_answers_show_nothing() {
    let cfg = common::run_answering("aliyun-ecs", |emulator| {
        Arc::new(move |req: &HttpRequest| {
            let mut resp = emulator.handle(req, SystemTime::now());
            if req.path_and_query.contains("Action=DescribeInstances") {
                let body = String::from_utf8_lossy(&resp.body).into_owned();
                let hop = regex::Regex::new(r#""HttpPutResponseHopLimit":(\d+)"#).unwrap();
                let lowered = hop.replace_all(&body, |c: &regex::Captures| {
                    let n: u32 = c[1].parse().unwrap_or(1);
                    format!(
                        "\"HttpPutResponseHopLimit\":{}",
                        if n >= 2 { n - 1 } else { n }
                    )
                });
                resp.body = lowered.into_owned().into_bytes();
            }
            Some(resp)
        })
    })
    .await;
    let results = run(cfg).await;
    assert!(
        read_back_wrong_on(&results, "hop_limit") > 0,
        "the hop limit departure was not found"
    );
    let tokens: Vec<_> = results
        .iter()
        .flat_map(|r| r.findings.iter().map(move |f| (&r.title, f)))
        .filter(|(_, f)| f.rule == "HttpTokens.absent")
        .collect();
    assert!(tokens.is_empty(), "{tokens:#?}");
}

/// The cases whose rule matches `glob`, as `--only` takes them.
fn only(glob: &str) -> globset::GlobSet {
    globset::GlobSetBuilder::new()
        .add(globset::Glob::new(glob).expect("glob"))
        .build()
        .expect("globs")
}

/// `--only` keeps cases by their rule, the random phase's (`random`) too: a
/// glob for one option's rules runs none of its cases, `random` runs only them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_keeps_the_random_phase_by_its_rule() {
    for (glob, want_random, want_other) in [("HttpTokens.*", false, true), ("random", true, false)]
    {
        let common::EmulatorRun { server, cfg } =
            common::emulator_run("aws-ec2", Duration::from_millis(1), 1).await;
        let cfg = RunConfig {
            only: Some(only(glob)),
            phases: vec![Phase::Coverage, Phase::Random],
            random_cases: 10,
            ..cfg
        };
        let results = run(cfg).await;
        server.shutdown().await;
        let random = results.iter().filter(|r| r.phase == "random").count();
        let other: Vec<&str> = results
            .iter()
            .filter(|r| r.phase != "random")
            .map(|r| r.rule.as_str())
            .collect();
        assert_eq!(random > 0, want_random, "{glob}: {random} random cases");
        assert_eq!(!other.is_empty(), want_other, "{glob}: {other:?}");
        assert!(
            other.iter().all(|r| r.starts_with("HttpTokens.")),
            "{glob}: {other:?}"
        );
    }
}

/// Every case of a run has an id of its own: the random cases of the second
/// instance are numbered after the first's (both were `random/0001`…, so
/// `matrix` counted cases by id short and `replay` picked one of two).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_a_run_on_two_instances_has_its_own_id() {
    let common::EmulatorRun { server, cfg } =
        common::emulator_run("aws-ec2", Duration::from_millis(1), 2).await;
    assert_eq!(cfg.instances.len(), 2);
    let cfg = RunConfig {
        phases: vec![Phase::Coverage, Phase::Random],
        random_cases: 5,
        ..cfg
    };
    let results = run(cfg).await;
    server.shutdown().await;
    let mut ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    let random = ids.iter().filter(|id| id.contains("/random/")).count();
    assert_eq!(random, 10, "{ids:?}");
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "ids repeat");
}
