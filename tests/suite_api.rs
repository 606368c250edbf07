//! The library's `Suite` against targets that fail partway: a run cut short by a
//! transport failure hands back what it judged, and instances it could not put
//! back are named.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use imds_conform::emulator::{self, EmulatorConfig};
use imds_conform::wire::{HttpRequest, HttpResponse};
use imds_conform::{Phase, Suite, SuiteError};

mod common;

/// An EC2 instance of the default fixtures, the first key, and an emulator.
fn ec2() -> (String, String, String, emulator::Emulator) {
    let fixtures = emulator::default_fixtures();
    let (instances, keys) = fixtures.for_api("aws-ec2").expect("fixtures");
    let instance = instances
        .iter()
        .find(|i| i.is_running() && i.region == "us-east-1")
        .expect("a running instance")
        .id
        .clone();
    let emulator = emulator::Emulator::new(EmulatorConfig {
        apply_delay: Duration::from_millis(5),
        ..EmulatorConfig::default()
    });
    (
        instance,
        keys[0].access_key_id.clone(),
        keys[0].secret.clone(),
        emulator,
    )
}

fn is_modify(req: &HttpRequest) -> bool {
    String::from_utf8_lossy(&req.body).contains("Action=ModifyInstanceMetadataOptions")
}

fn internal_error() -> HttpResponse {
    HttpResponse {
        status: 500,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: b"<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors><RequestID>r-1</RequestID></Response>".to_vec(),
    }
}

fn coverage(url: &str, instance: &str, key: &str, secret: &str) -> Suite {
    Suite::new("aws-ec2")
        .endpoint(url)
        .region("us-east-1")
        .instance(instance)
        .credentials(key, secret)
        .phases([Phase::Coverage])
        .random_cases(0)
}

/// Modify calls 20–39 are answered 500 (a departure), the 46th loses its
/// connection (the run stops there), and the target is back for the restore: the
/// error comes with a report of the cases judged before it, departure included,
/// reading incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_short_hands_back_what_it_judged() {
    let (instance, key, secret, emulator) = ec2();
    let modifies = Arc::new(AtomicUsize::new(0));
    let answer: common::Answering = Arc::new(move |req: &HttpRequest| {
        if is_modify(req) {
            match modifies.fetch_add(1, SeqCst) {
                20..40 => return Some(internal_error()),
                45 => return None,
                _ => {}
            }
        }
        Some(emulator.handle(req, SystemTime::now()))
    });
    let url = common::serve_answering(answer).await;
    let err = coverage(&url, &instance, &key, &secret)
        .run()
        .await
        .expect_err("the run stops at the lost connection");
    let shown = err.to_string();
    let SuiteError::Stopped {
        error,
        report,
        not_restored,
    } = err
    else {
        panic!("not Stopped: {shown}");
    };
    assert!(not_restored.is_empty(), "{not_restored:?}");
    assert!(
        matches!(*error, SuiteError::Unreachable(_) | SuiteError::Run(_)),
        "{error:?}"
    );
    assert!(report.cases() >= 10, "{} cases", report.cases());
    assert!(
        shown.contains(&format!("after {} cases", report.cases())),
        "{shown}"
    );
    assert!(!report.conforms());
    let why = report.incomplete().expect("marked incomplete");
    assert!(why.starts_with("stopped by an error"), "{why}");
    assert!(
        !report.departures().is_empty(),
        "the 500s judged before the error are lost"
    );
    assert!(report.to_string().contains("INCOMPLETE"), "{report}");
}

/// A target that goes down for good mid-run: the cases judged come back, and the
/// instance it could not put back is named beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stays_down_is_stopped_and_not_restored() {
    let (instance, key, secret, emulator) = ec2();
    let modifies = Arc::new(AtomicUsize::new(0));
    let answer: common::Answering = Arc::new(move |req: &HttpRequest| {
        if modifies.load(SeqCst) >= 30 {
            return None;
        }
        if is_modify(req) {
            modifies.fetch_add(1, SeqCst);
        }
        Some(emulator.handle(req, SystemTime::now()))
    });
    let url = common::serve_answering(answer).await;
    let err = coverage(&url, &instance, &key, &secret)
        .run()
        .await
        .expect_err("the target went down");
    let SuiteError::Stopped {
        report,
        not_restored,
        ..
    } = &err
    else {
        panic!("not Stopped: {err}");
    };
    assert!(report.cases() >= 10, "{} cases", report.cases());
    assert_eq!(not_restored.len(), 1, "{not_restored:?}");
    assert!(not_restored[0].starts_with(&instance), "{not_restored:?}");
    assert!(err.to_string().contains("not put back as found"), "{err}");
}

/// A target that dies after the instance was read, before any case was judged:
/// the error still comes back (it was lost behind NotRestored), with the instance
/// the run may have changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_dies_before_the_first_answer_keeps_its_error() {
    let (instance, key, secret, emulator) = ec2();
    let requests = Arc::new(AtomicUsize::new(0));
    let answer: common::Answering = Arc::new(move |req: &HttpRequest| {
        if requests.fetch_add(1, SeqCst) >= 1 {
            return None;
        }
        Some(emulator.handle(req, SystemTime::now()))
    });
    let url = common::serve_answering(answer).await;
    let err = coverage(&url, &instance, &key, &secret)
        .run()
        .await
        .expect_err("the target died");
    let SuiteError::Stopped {
        error,
        report,
        not_restored,
    } = &err
    else {
        panic!("not Stopped: {err}");
    };
    assert!(
        matches!(**error, SuiteError::Unreachable(_) | SuiteError::Run(_)),
        "{error:?}"
    );
    assert_eq!(report.cases(), 0);
    assert_eq!(not_restored.len(), 1, "{not_restored:?}");
    let why = report.incomplete().expect("incomplete");
    assert!(why.contains("not put back as found"), "{why}");
}

/// A target down from the start: the error alone, as before (no cases, no report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_judged_nothing_is_only_an_error() {
    let (instance, key, secret, _) = ec2();
    let answer: common::Answering = Arc::new(|_: &HttpRequest| None);
    let url = common::serve_answering(answer).await;
    let err = coverage(&url, &instance, &key, &secret)
        .run()
        .await
        .expect_err("nothing answers");
    assert!(
        matches!(err, SuiteError::Unreachable(_) | SuiteError::Run(_)),
        "{err:?}"
    );
}

/// After its first three modify calls the target answers every modify as done
/// but changes nothing (they go to a shadow emulator): the instance, changed by
/// the first ones, cannot be put back, and the run says so, naming it — beside
/// the report of the run, whose departures (the changes that never show) are
/// told too (the error held the restore lines alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_left_changed_is_named_with_the_report() {
    let (instance, key, secret, emulator) = ec2();
    let (.., shadow) = ec2();
    let modifies = Arc::new(AtomicUsize::new(0));
    let answer: common::Answering = Arc::new(move |req: &HttpRequest| {
        if is_modify(req) && modifies.fetch_add(1, SeqCst) >= 3 {
            return Some(shadow.handle(req, SystemTime::now()));
        }
        Some(emulator.handle(req, SystemTime::now()))
    });
    let url = common::serve_answering(answer).await;
    let err = coverage(&url, &instance, &key, &secret)
        .only("HttpTokens.*")
        .run()
        .await
        .expect_err("the instance stays changed");
    let SuiteError::NotRestored {
        report,
        not_restored: lines,
    } = &err
    else {
        panic!("not NotRestored: {err:?}");
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&instance), "{lines:?}");
    // The run went to its end: its report is whole, and does not conform.
    assert!(report.incomplete().is_none(), "{report}");
    assert!(report.cases() > 3, "{} cases", report.cases());
    assert!(!report.conforms(), "{report}");
    let rule = &report
        .departures()
        .first()
        .expect("the changes that never show are departures")
        .rule;
    // What a test prints of the error (`{err}`, or `{err:?}` from unwrap() and `?`)
    // shows both: the instance left changed and the departures, with a reproducer.
    let shown = err.to_string();
    assert!(shown.contains("not put back as found"), "{shown}");
    for shown in [shown, format!("{err:?}")] {
        assert!(shown.contains(&format!("{instance} (")), "{shown}");
        assert!(shown.contains(&format!("rule: {rule}")), "{shown}");
        assert!(shown.contains("curl"), "{shown}");
    }
}

/// After its third modify the target refuses everything (read-backs too) with a
/// signature error that quotes a session token: the run cannot read the instance
/// back nor put it back, and what it says of that — the error, the instances
/// left changed, the report — shows the error without the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_echoing_a_token_while_the_run_fails_keeps_it_out_of_what_the_run_says() {
    let (instance, key, secret, emulator) = ec2();
    let url = common::serve_answering(common::echoing_a_token_after_three_modifies(emulator)).await;
    let err = coverage(&url, &instance, &key, &secret)
        .only("HttpTokens.*")
        .run()
        .await
        .expect_err("the instance cannot be put back");
    let mut said = vec![err.to_string(), format!("{err:?}")];
    match &err {
        SuiteError::NotRestored {
            report,
            not_restored,
        } => {
            said.extend(not_restored.iter().cloned());
            said.push(report.to_string());
            said.push(report.to_json());
        }
        SuiteError::Stopped {
            error,
            report,
            not_restored,
        } => {
            said.push(error.to_string());
            said.extend(not_restored.iter().cloned());
            said.push(report.to_string());
            said.push(report.to_json());
            said.extend(report.incomplete().map(str::to_string));
        }
        other => panic!("neither NotRestored nor Stopped: {other:?}"),
    }
    // The target's error is told…
    assert!(
        said.iter().any(|s| s.contains("SignatureDoesNotMatch")),
        "{said:#?}"
    );
    // …without what it quoted.
    for s in &said {
        assert!(!s.contains(common::ECHOED_TOKEN), "the token leaked: {s}");
    }
}

/// A run whose --only matches no rule judged nothing: no verdict, so it does not
/// conform (a run of no case said CONFORMS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_no_case_does_not_conform() {
    let (instance, key, secret, emulator) = ec2();
    let answer: common::Answering =
        Arc::new(move |req: &HttpRequest| Some(emulator.handle(req, std::time::SystemTime::now())));
    let url = common::serve_answering(answer).await;
    let report = coverage(&url, &instance, &key, &secret)
        .only("nomatch*")
        .run()
        .await
        .expect("runs");
    assert!(!report.conforms(), "{report}");
    assert!(!report.to_string().contains("CONFORMS"), "{report}");
}

/// `.only()` matching no rule: the report reads NO CASES, as the command line
/// says, with a hint that nothing matched (it read DOES NOT CONFORM).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_matching_nothing_reads_no_cases() {
    let report = Suite::new("aws-ec2")
        .only("NoSuchRule.*")
        .run()
        .await
        .expect("runs");
    assert_eq!(report.cases(), 0);
    assert!(!report.conforms(), "{report}");
    let shown = report.to_string();
    assert!(shown.contains("— NO CASES"), "{shown}");
    assert!(shown.contains("nothing matched"), "{shown}");
    assert!(!shown.contains("CONFORM"), "{shown}");
    let panic = std::panic::catch_unwind(|| report.assert_conforms()).expect_err("no verdict");
    let said = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(said.contains("NO CASES"), "{said}");
}

/// `.only()` keeps the random phase by its rule, `random`, as `run --only` does
/// (the runner applies it, for the library too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_keeps_the_random_phase_by_its_rule() {
    let random = |glob: &str| {
        Suite::new("aws-ec2")
            .phases([Phase::Random])
            .random_cases(5)
            .seed(7)
            .only(glob)
    };
    let kept = random("random").run().await.expect("runs");
    assert!(kept.cases() >= 5, "{kept}");
    let dropped = random("HttpTokens.*").run().await.expect("runs");
    assert_eq!(dropped.cases(), 0, "{dropped}");
}

/// A fake that hangs (accepts, never answers) is given up after the suite's
/// `answer_timeout`, and the error says after how long (it was 30 s per request,
/// minutes for a run, with no way to shorten it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_hangs_is_given_up_after_the_answer_timeout() {
    let (instance, key, secret, _) = ec2();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream); // kept open, never answered
        }
    });
    let err = coverage(&url, &instance, &key, &secret)
        .answer_timeout(Duration::from_millis(300))
        .run()
        .await
        .expect_err("nothing answers");
    assert!(err.to_string().contains("no answer within 300ms"), "{err}");
}
