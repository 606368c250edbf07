//! Shared by the integration tests (`mod common;`): the binary as a user runs it,
//! what a command printed when an assertion about it fails, and a fresh embedded
//! emulator with a run aimed at it.
// Each test crate compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use imds_conform::emulator::{self, Emulator, EmulatorConfig, RunningEmulator};
use imds_conform::generate::Phase;
use imds_conform::runner::{self, RunConfig};
use imds_conform::spec::{self, check};
use imds_conform::target::{Target, TargetConfig};
use imds_conform::wire::Credentials;

/// The `imds-conform` binary this test crate was built with.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imds-conform"))
}

/// The `../shared` folder beside the project when it holds every one of `needs`
/// (paths in it); otherwise none, and the test says it is skipped.
pub fn shared(needs: &[&str]) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if needs.iter().all(|n| p.join(n).exists()) {
        Some(p)
    } else {
        println!("skipped: ../shared ({}) absent", needs.join(", "));
        None
    }
}

/// The sources `spec check` reads (`seeds/`, `reference/`) in `../shared`, when
/// it holds every one of `needs`.
pub fn shared_sources(needs: &[&str]) -> Option<check::Sources> {
    let shared = shared(needs)?;
    Some(check::Sources::new(
        &shared.join("seeds"),
        &shared.join("reference"),
    ))
}

/// The binary run with `args`, its output once it has finished.
pub fn cli(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

/// A command's exit status and what it printed, for an assertion's message.
pub fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Assert the exit code, showing what the command printed when it differs.
#[track_caller]
pub fn exits_with(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
}

/// Sets the emulator's default AWS key pair (and no session token) on `cmd`.
pub fn with_default_aws_keys(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "AWS_ACCESS_KEY_ID",
        emulator::fixtures::DEFAULT_AWS_ACCESS_KEY_ID,
    )
    .env(
        "AWS_SECRET_ACCESS_KEY",
        emulator::fixtures::DEFAULT_AWS_SECRET,
    )
    .env_remove("AWS_SESSION_TOKEN")
}

/// A fresh emulator (default fixtures) serving on a port of its own, applying a
/// change `apply_delay` after it is asked for.
pub async fn start_emulator(apply_delay: Duration) -> RunningEmulator {
    emulator::start(EmulatorConfig {
        apply_delay,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// A fresh emulator and a run configuration aimed at it.
pub struct EmulatorRun {
    pub server: RunningEmulator,
    pub cfg: RunConfig,
}

/// A fresh emulator and a coverage run of `api` against it: up to `instances`
/// running instances of the table's default region (in fixture order, at least
/// one), the fixtures' first key, seed 0, no random cases. Callers change what
/// their run needs with `RunConfig { .., ..run.cfg }`.
pub async fn emulator_run(api: &str, apply_delay: Duration, instances: usize) -> EmulatorRun {
    let spec = Arc::new(spec::builtin_api(api).expect("tables load").expect("table"));
    let server = start_emulator(apply_delay).await;
    let fixtures = emulator::default_fixtures();
    let (all, keys) = fixtures.for_api(api).expect("fixtures");
    let region = spec.api.default_region.clone();
    let chosen: Vec<String> = all
        .iter()
        .filter(|i| i.is_running() && i.region == region)
        .take(instances)
        .map(|i| i.id.clone())
        .collect();
    assert!(!chosen.is_empty(), "{api}: a running instance");
    let creds = Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone());
    let target = Target::new(TargetConfig::for_spec(
        &spec,
        &server.url(),
        &region,
        Some(creds),
    ))
    .expect("client");
    let cfg = RunConfig {
        spec,
        target: Arc::new(target),
        instances: chosen,
        region,
        known_ids: all.iter().map(|i| i.id.clone()).collect(),
        seed: 0,
        random_cases: 0,
        only: None,
        shard: None,
        settle_timeout: Duration::from_secs(10),
        settle_poll: Duration::from_millis(10),
        dry_run_first: false,
        phases: vec![Phase::Coverage],
        cancel: runner::cancel_flag(),
        keep_passing: true,
    };
    EmulatorRun { server, cfg }
}

/// What a hand-made target answers a request: `None` drops the connection
/// without an answer (the client sees a transport failure).
pub type Answering = Arc<
    dyn Fn(&imds_conform::wire::HttpRequest) -> Option<imds_conform::wire::HttpResponse>
        + Send
        + Sync,
>;

/// Serve `answer` over HTTP/1.1 on a port of its own (usually an in-process
/// emulator's `handle`, bent somewhere); its URL.
pub async fn serve_answering(answer: Answering) -> String {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let answer = answer.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map_err(std::io::Error::other)?;
                        let req = imds_conform::wire::HttpRequest::from_parts(
                            &parts,
                            body.to_bytes().to_vec(),
                        );
                        // An error from the service: hyper closes the connection
                        // without an answer.
                        let resp = answer(&req).ok_or_else(|| std::io::Error::other("dropped"))?;
                        let mut out = hyper::Response::builder().status(resp.status);
                        for (k, v) in &resp.headers {
                            out = out.header(k, v);
                        }
                        out.body(Full::new(bytes::Bytes::from(resp.body)))
                            .map_err(std::io::Error::other)
                    }
                });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    url
}

/// What a target says when it refuses a signature, as AWS says it: the canonical
/// request it computed, session token header included.
pub const ECHOED_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENFORTHETEST";

pub fn signature_error_echoing_a_token() -> imds_conform::wire::HttpResponse {
    let message = format!(
        "The request signature we calculated does not match the signature you provided. \
         The Canonical String for this request should have been\n'POST\n/\n\n\
         host:127.0.0.1\nx-amz-date:20261130T000000Z\nx-amz-security-token:{ECHOED_TOKEN}\n\n\
         host;x-amz-date;x-amz-security-token\n'"
    );
    imds_conform::wire::HttpResponse {
        status: 403,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: format!(
            "<Response><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
        )
        .into_bytes(),
    }
}

/// A coverage run of `api` (as [`emulator_run`]) aimed at a hand-made target:
/// `answering` gets a fresh emulator (changes apply after 5 ms) and returns what
/// the target answers.
pub async fn run_answering(api: &str, answering: impl FnOnce(Emulator) -> Answering) -> RunConfig {
    let EmulatorRun { server, cfg } = emulator_run(api, Duration::from_millis(5), 1).await;
    server.shutdown().await;
    let emulator = Emulator::new(EmulatorConfig {
        apply_delay: Duration::from_millis(5),
        ..EmulatorConfig::default()
    });
    let url = serve_answering(answering(emulator)).await;
    let mut tcfg = cfg.target.config().clone();
    tcfg.endpoint.url = url;
    RunConfig {
        target: Arc::new(Target::new(tcfg).expect("client")),
        ..cfg
    }
}

/// An EC2 target that is the emulator until its third modify, then answers every
/// request (read-backs too) with [`signature_error_echoing_a_token`].
pub fn echoing_a_token_after_three_modifies(emulator: Emulator) -> Answering {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let modifies = AtomicUsize::new(0);
    Arc::new(move |req: &imds_conform::wire::HttpRequest| {
        let modify =
            String::from_utf8_lossy(&req.body).contains("Action=ModifyInstanceMetadataOptions");
        // One count per modify, taken and checked at once: never a fourth let through.
        let earlier = if modify {
            modifies.fetch_add(1, SeqCst)
        } else {
            modifies.load(SeqCst)
        };
        if earlier >= 3 {
            return Some(signature_error_echoing_a_token());
        }
        Some(emulator.handle(req, std::time::SystemTime::now()))
    })
}
