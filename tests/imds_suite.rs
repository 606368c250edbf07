//! The data-plane phase of `imds-conform run`: against a deliberately broken
//! metadata service — one that does not enforce tokens after `HttpTokens=required`
//! is applied (a proxy in front of the emulator's real one that adds a token to
//! every tokenless GET) — the run fails with a departure on exactly that rule and
//! writes a curl reproducer of the metadata request; the same run against the real
//! one conforms. `--self` finds the instance's id through the metadata service and
//! refuses bad combinations of flags.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use common::show;
use imds_conform::emulator::RunningEmulator;
use imds_conform::runner::data_plane::discover_instance_id;
use imds_conform::spec;

mod common;
mod imds_common;
use imds_common::imds_of;

const ID: &str = "i-0123456789abcdef0";
const OTHER: &str = "i-0123456789abcdef1";
const TTL: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN: &str = "X-aws-ec2-metadata-token";

async fn start() -> RunningEmulator {
    common::start_emulator(Duration::from_millis(50)).await
}

/// Forwards to the real metadata service; a GET without a token gets one added.
async fn broken(State(real): State<String>, req: Request) -> Response {
    let client = reqwest::Client::new();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 16)
        .await
        .unwrap_or_default();
    let mut fwd = client.request(parts.method.clone(), format!("{real}{}", parts.uri));
    for (k, v) in &parts.headers {
        if k != "host" {
            fwd = fwd.header(k, v);
        }
    }
    if parts.method == "GET" && !parts.headers.contains_key(TOKEN) {
        let token = client
            .put(format!("{real}/latest/api/token"))
            .header(TTL, "60")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        fwd = fwd.header(TOKEN, token);
    }
    match fwd.body(body).send().await {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            out.body(Body::from(resp.bytes().await.unwrap_or_default()))
                .unwrap()
        }
        Err(_) => Response::builder()
            .status(502)
            .body(Body::from("the real metadata service did not answer"))
            .unwrap(),
    }
}

async fn serve_broken(real: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(broken).with_state(real);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn run_suite(running: &RunningEmulator, imds: &str, other: &str, report: &Path) -> Output {
    let mut cmd = common::bin();
    cmd.args([
        "run",
        "--api",
        "aws-ec2",
        "--phase",
        "data-plane",
        "--rate",
        "1000",
    ])
    .args(["--settle-timeout-secs", "10", "--endpoint", &running.url()])
    .args(["--instance", ID, "--only", "data_plane.*"])
    .args(["--imds", &format!("{ID}={imds}")])
    .args(["--imds", &format!("{OTHER}={other}")])
    .arg("--report")
    .arg(report);
    common::with_default_aws_keys(&mut cmd);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metadata_service_that_ignores_required_tokens_is_caught_with_a_reproducer() {
    let running = start().await;
    let real = imds_of(&running, ID).await;
    let other = imds_of(&running, OTHER).await;
    let proxy = serve_broken(real.urls()[0].clone()).await;
    let dir = tempfile::tempdir().unwrap();

    let out = run_suite(&running, &proxy, &other.urls()[0], dir.path()).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let cases = report["cases"].as_array().expect("cases");
    let failing: Vec<&serde_json::Value> = cases
        .iter()
        .filter(|c| c["verdict"]["verdict"] == "fail")
        .collect();
    assert!(!failing.is_empty(), "{}", show(&out));
    for c in &failing {
        assert_eq!(c["rule"], "data_plane.tokens-required.no-token", "{c}");
        assert_eq!(c["phase"], "data-plane");
        let reason = c["verdict"]["reason"].as_str().unwrap();
        assert!(reason.contains("answered 200, expected 401"), "{reason}");
    }
    // Everything else the proxy passes through conforms, the foreign token (from
    // the second --imds instance) included.
    assert!(cases.len() > failing.len() + 20, "{} cases", cases.len());
    assert!(
        cases.iter().any(|c| c["rule"] == "data_plane.token.invalid"
            && c["title"]
                .as_str()
                .unwrap()
                .contains("another instance's token")
            && c["verdict"]["verdict"] == "pass"),
        "no foreign-token probe ran"
    );
    // The reproducer is the metadata request as curl, not a signed API call.
    let stem = failing[0]["id"].as_str().unwrap().replace('/', "_");
    let script = std::fs::read_to_string(dir.path().join("repro").join(format!("{stem}.sh")))
        .or_else(|_| {
            std::fs::read_to_string(
                dir.path()
                    .join("aws-ec2")
                    .join("repro")
                    .join(format!("{stem}.sh")),
            )
        })
        .expect("a reproducer script");
    assert!(
        script.contains(&format!("'{proxy}/latest/meta-data/instance-id'")),
        "{script}"
    );
    assert!(script.contains("--request 'GET'"), "{script}");
    assert!(!script.contains("aws-sigv4"), "{script}");
    assert!(
        !script.contains(TOKEN),
        "a tokenless request carries no token header:\n{script}"
    );

    // The real metadata service conforms to the same run.
    let dir = tempfile::tempdir().unwrap();
    let out = run_suite(&running, &real.urls()[0], &other.urls()[0], dir.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CONFORMS"));
}

#[tokio::test]
async fn self_discovery_reads_the_id_from_the_metadata_service() {
    let running = start().await;
    let imds = imds_of(&running, ID).await;
    let ec2 = spec::builtin_api("aws-ec2").unwrap().unwrap();
    let dp = ec2.data_plane.as_ref().unwrap();
    assert_eq!(
        discover_instance_id(dp, &imds.urls()[0]).await.as_deref(),
        Ok(ID)
    );
    // With tokens required the discovery takes a token first.
    imds_common::modify(&running.url(), "aws-ec2", ID, &[("HttpTokens", "required")]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        discover_instance_id(dp, &imds.urls()[0]).await.as_deref(),
        Ok(ID)
    );
    let lightsail = spec::builtin_api("aws-lightsail").unwrap().unwrap();
    let e = discover_instance_id(lightsail.data_plane.as_ref().unwrap(), &imds.urls()[0])
        .await
        .unwrap_err();
    assert!(e.contains("--instance"), "{e}");
    let e = discover_instance_id(dp, "http://127.0.0.1:9")
        .await
        .unwrap_err();
    assert!(e.contains("no metadata service"), "{e}");
}

#[test]
fn self_flags_are_checked_before_anything_is_sent() {
    let bin = env!("CARGO_BIN_EXE_imds-conform");
    let run = |args: &[&str]| {
        Command::new(bin)
            .arg("run")
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .output()
            .unwrap()
    };
    // Without --cloud/--endpoint there is no real instance to be.
    let o = run(&["--self", "--api", "aws-ec2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--self needs --cloud"),
        "{}",
        show(&o)
    );
    // --self names the instance itself.
    let o = run(&["--self", "--cloud", "--api", "aws-ec2", "--instance", ID]);
    assert_eq!(o.status.code(), Some(2));
    // Only self=URL may override where the metadata service is.
    let o = run(&[
        "--self",
        "--endpoint",
        "http://127.0.0.1:9",
        "--api",
        "aws-ec2",
        "--imds",
        "i-1=http://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("self=URL"),
        "{}",
        show(&o)
    );
    let o = run(&["--imds", "no-url-here"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("INSTANCE=URL"),
        "{}",
        show(&o)
    );
}

#[tokio::test]
async fn self_mode_finds_its_instance_then_wants_credentials() {
    let running = start().await;
    let imds = imds_of(&running, ID).await;
    let url = running.url();
    let imds_url = imds.urls()[0].clone();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_imds-conform"))
            .args(["run", "--self", "--api", "aws-ec2", "--endpoint", &url])
            .args(["--imds", &format!("self={imds_url}")])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("--self: this is instance {ID}")),
        "{}",
        show(&o)
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no credentials"),
        "{}",
        show(&o)
    );
}

#[test]
fn run_without_arguments_includes_the_data_plane_and_conforms() {
    let bin = env!("CARGO_BIN_EXE_imds-conform");
    let o = Command::new(bin).arg("run").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        all.contains("CONFORMS") && all.contains("data-plane: restored"),
        "{all}"
    );
    // The phase alone, with a report: data-plane cases for every API, all passing.
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(bin)
        .args(["run", "--phase", "data-plane", "--report"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
        let text = std::fs::read_to_string(dir.path().join(api).join("report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = report["cases"].as_array().unwrap();
        let rules: std::collections::BTreeSet<&str> =
            cases.iter().filter_map(|c| c["rule"].as_str()).collect();
        assert!(cases.len() >= 30, "{api}: {} cases", cases.len());
        assert!(cases.iter().all(|c| c["phase"] == "data-plane"));
        for rule in [
            "data_plane.tokens-required.no-token",
            "data_plane.endpoint-disabled",
            "data_plane.token.bad-ttl",
        ] {
            assert!(rules.contains(rule), "{api}: {rule} not probed: {rules:?}");
        }
        // No issued token reaches the report: token headers and token answers are
        // redacted (only the made-up invalid token is shown as sent).
        for ex in cases
            .iter()
            .flat_map(|c| c["exchanges"].as_array().unwrap())
        {
            for h in ex["request"]["headers"].as_array().unwrap() {
                let (k, v) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
                if k.ends_with("-metadata-token") {
                    assert!(
                        v == "<redacted>" || v.starts_with("imds-conform-invalid-token"),
                        "{v}"
                    );
                }
            }
            if ex["request"]["method"] == "PUT" && ex["response"]["status"] == 200 {
                assert_eq!(ex["response"]["body"], "<redacted>");
            }
        }
    }
}

/// A control plane whose changes never settle within the run's patience: the data
/// plane cannot bring the instance to its states, and each such state is an error
/// in the report (its probes unjudged), never a silent skip that conforms.
#[tokio::test(flavor = "multi_thread")]
async fn a_state_the_instance_cannot_reach_is_an_error_not_a_skip() {
    // Changes take a minute to apply; the run waits one second for each.
    let running = common::start_emulator(Duration::from_secs(60)).await;
    let real = imds_of(&running, ID).await;
    let other = imds_of(&running, OTHER).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::bin();
    cmd.args(["run", "--api", "aws-ec2", "--phase", "data-plane"])
        .args(["--settle-timeout-secs", "1", "--endpoint", &running.url()])
        .args(["--instance", ID])
        .args(["--imds", &format!("{ID}={}", real.urls()[0])])
        .args(["--imds", &format!("{OTHER}={}", other.urls()[0])])
        .arg("--report")
        .arg(dir.path());
    common::with_default_aws_keys(&mut cmd);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let unreached: Vec<&serde_json::Value> = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["rule"] == "data_plane.state")
        .collect();
    assert!(!unreached.is_empty(), "{}", show(&out));
    for c in &unreached {
        assert_eq!(c["verdict"]["verdict"], "error", "{c}");
        let reason = c["verdict"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("could not bring the instance to")
                && reason.contains("did not settle within 1s"),
            "{reason}"
        );
    }
}
