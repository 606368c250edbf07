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
use imds_conform::runner::{self, Event, RunConfig};
use imds_conform::spec::{self, Spec};
use imds_conform::target::{Target, TargetConfig};
use imds_conform::verdict::{CaseResult, Summary, Verdict};
use imds_conform::wire::{
    ec2_query, sigv4, Answer, Call, Credentials, Endpoint, HttpRequest, HttpResponse,
};

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
    }
}

async fn run(cfg: RunConfig) -> Vec<CaseResult> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move {
        let mut finished = 0;
        while let Some(ev) = rx.recv().await {
            if let Event::CaseFinished(_) = ev {
                finished += 1;
            }
        }
        finished
    });
    let results = runner::run_api(cfg, tx).await.expect("the run completes");
    let events = drain.await.expect("drain");
    assert!(events >= results.len(), "every case is announced");
    results
}

fn all_phases() -> Vec<Phase> {
    vec![Phase::Coverage, Phase::Auth, Phase::Sequence, Phase::Random]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_conforms_against_the_emulator() {
    let server = emulator::start(EmulatorConfig {
        apply_delay: Duration::from_millis(30),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
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
        match forced {
            Some(answer) => ec2_query::encode_answer(&call.operation, "2016-11-15", &answer),
            None => resp,
        }
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
            let req = HttpRequest {
                method: parts.method.to_string(),
                path_and_query: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "/".into()),
                headers: parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: body.to_vec(),
            };
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
    let results = run(config(spec("aws-ec2"), aim, all_phases(), random)).await;
    server.abort();
    results
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
    let results = run_broken(40, |call| {
        if call
            .get("HttpPutResponseHopLimit")
            .map(|v| v.as_query_text())
            == Some("65")
        {
            set(call, "HttpPutResponseHopLimit", "64");
        }
        None
    })
    .await;
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
