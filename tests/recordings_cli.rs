//! `record`, `verify --against` and `replay` with files a user edited, truncated
//! or wrote with another version: each is a clear error (exit 2) naming the file,
//! or a difference verify reports; never "no differences" nor a silent skip.
use std::path::Path;

mod common;
use common::{bin, exits_with, serve_answering, show, with_default_aws_keys, Answering};

fn save(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).expect("json")).expect("write");
}

fn verify(dir: &Path) -> std::process::Output {
    bin()
        .args(["verify", "--target", "emu", "--against"])
        .arg(dir)
        .output()
        .expect("runs")
}

/// A recording of a format this version does not read is an error saying so and
/// naming the format it reads, not "no recording in DIR".
#[test]
fn a_recording_of_another_format_is_named_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("aws-ec2.json");
    save(
        &file,
        &serde_json::json!({"format": "imds-conform.recording/2", "api": "aws-ec2",
            "target": "emu", "tool_version": "9.0.0", "cases": []}),
    );
    let out = verify(dir.path());
    exits_with(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string())
            && err.contains("unknown format \"imds-conform.recording/2\"")
            && err.contains("this version reads \"imds-conform.recording/1\"")
            && !err.contains("no recording"),
        "{}",
        show(&out)
    );
    // Another tool's JSON is passed over, and the "no recording" error says so.
    save(&file, &serde_json::json!({"format": "someone-else/1"}));
    let out = verify(dir.path());
    exits_with(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no recording in")
            && err.contains("aws-ec2.json: not a recording: `format` is \"someone-else/1\""),
        "{}",
        show(&out)
    );
}

/// `record --target emu --api aws-ec2 --out DIR` against the embedded emulator;
/// the recording's path.
fn record_ec2(dir: &Path) -> std::path::PathBuf {
    let out = bin()
        .args(["record", "--target", "emu", "--api", "aws-ec2", "--out"])
        .arg(dir)
        .output()
        .expect("runs");
    exits_with(&out, 0);
    dir.join("aws-ec2.json")
}

fn load(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// A case id twice in a recording: refused, naming the file and the id (which
/// of the two would be compared is anyone's guess), not "no differences".
#[test]
fn a_recording_with_a_case_twice_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = record_ec2(dir.path());
    let mut rec = load(&file);
    let cases = rec["cases"].as_array_mut().expect("cases");
    let twin = cases[12].clone();
    cases.push(twin);
    save(&file, &rec);
    let out = verify(dir.path());
    exits_with(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string())
            && err.contains("case aws-ec2/coverage/0013 is recorded more than once"),
        "{}",
        show(&out)
    );
}

/// A recording whose `api` is not its cases' API, or not the API its file is
/// named for, is refused (exit 2): never compared as that other API's run (it
/// read "aws-lightsail: 171 cases, 364 differ" with `aws-ec2/…` ids).
#[test]
fn a_recording_of_another_api_than_it_says_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = record_ec2(dir.path());
    let mut rec = load(&file);
    rec["api"] = "aws-lightsail".into();
    save(&file, &rec);
    let out = verify(dir.path());
    exits_with(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string())
            && err.contains("`api` is \"aws-lightsail\" but it holds case aws-ec2/coverage/0001")
            && !String::from_utf8_lossy(&out.stdout).contains("differ"),
        "{}",
        show(&out)
    );
    // The cases renamed too: the file is still named for aws-ec2.
    for c in rec["cases"].as_array_mut().expect("cases") {
        let id = c["id"]
            .as_str()
            .expect("id")
            .replace("aws-ec2/", "aws-lightsail/");
        c["id"] = id.into();
    }
    save(&file, &rec);
    let out = verify(dir.path());
    exits_with(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string())
            && err.contains("`api` is \"aws-lightsail\" but the file is named for another API")
            && err.contains("(aws-lightsail.json)"),
        "{}",
        show(&out)
    );
}

/// A recorded request that is not the one this version sends (a recording of
/// another generator version; here edited by hand) is a difference of its own,
/// per case, even where the answers are alike; verify exits 1 as for any other.
#[test]
fn a_recorded_request_unlike_the_one_sent_is_a_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = record_ec2(dir.path());
    let mut rec = load(&file);
    let case = &mut rec["cases"][12];
    assert_eq!(case["id"], "aws-ec2/coverage/0013");
    let tokens = case["request"]
        .as_array_mut()
        .expect("request")
        .iter_mut()
        .find(|p| p["name"] == "HttpTokens")
        .expect("HttpTokens");
    tokens["value"]["value"] = "bogus".into();
    save(&file, &rec);
    let out = verify(dir.path());
    exits_with(&out, 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(" cases, 1 differ from emu")
            && stdout.contains(
                "DIFFERS  aws-ec2/coverage/0013  HttpTokens = valid \"required\"  [HttpTokens.values]  \
                 the recorded request differs from the one this version sends: regenerate the recording"
            )
            && stdout.contains("\n  -HttpTokens=\"bogus\"\n  +HttpTokens=\"required\"\n"),
        "{}",
        show(&out)
    );
}

/// `replay` with a truncated report.json says it cannot be read and why (file,
/// line and column), exit 2; not "no report.json in DIR".
#[test]
fn replay_of_a_truncated_report_says_why_it_cannot_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.json");
    std::fs::write(
        &file,
        "{\n  \"format\": \"imds-conform.report/1\",\n  \"meta\": {\n    \"api\": \"aws-",
    )
    .expect("write");
    for path in [dir.path(), file.as_path()] {
        let out = bin()
            .arg("replay")
            .arg(path)
            .arg("aws-ec2/coverage/0013")
            .output()
            .expect("runs");
        exits_with(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "cannot read the report {}: not JSON: EOF",
                file.display()
            )) && err.contains("at line 4 column")
                && !err.contains("no report.json"),
            "{}",
            show(&out)
        );
    }
}

/// A report that cannot be read beside the one holding the case is said, not in
/// the way: the case replays. Only when the case is found nowhere readable is the
/// unreadable report the error (the case may be in it).
#[test]
fn replay_passes_over_an_unreadable_report_when_the_case_is_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["run", "--api", "aws-ec2", "--phase", "auth", "--report"])
        .arg(dir.path().join("good"))
        .output()
        .expect("runs");
    exits_with(&out, 0);
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("report.json"), "{\n  \"format\": \"imds-").expect("write");
    let replay = |case: &str| {
        bin()
            .arg("replay")
            .arg(dir.path())
            .arg(case)
            .output()
            .expect("runs")
    };
    let out = replay("aws-ec2/auth/0001");
    exits_with(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: cannot read the report") && err.contains("bad"),
        "{}",
        show(&out)
    );
    let out = replay("aws-ec2/auth/9999");
    exits_with(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error: cannot read the report"),
        "{}",
        show(&out)
    );
}

/// A report of the embedded emulator holding the case `HttpEndpoint = valid
/// "disabled"` (a change to put back), and that case's id.
fn report_with_a_change(dir: &Path) -> String {
    let out = bin()
        .args(["run", "--api", "aws-ec2", "--phase", "coverage"])
        .args(["--only", "HttpEndpoint.values", "--report"])
        .arg(dir)
        .output()
        .expect("runs");
    exits_with(&out, 0);
    let report = load(&dir.join("report.json"));
    let cases = report["cases"].as_array().expect("cases");
    let case = cases
        .iter()
        .find(|c| c["title"] == "HttpEndpoint = valid \"disabled\"")
        .expect("the case is in the report");
    case["id"].as_str().expect("id").to_string()
}

/// An EC2 target that is the emulator for its first `n` modify calls, then
/// answers `after` (`None`: drops the connection) to every modify, or to every
/// request when `everything`.
fn after_modifies(
    n: usize,
    everything: bool,
    after: fn() -> Option<imds_conform::wire::HttpResponse>,
) -> Answering {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let emulator = imds_conform::emulator::Emulator::new(Default::default());
    let modifies = AtomicUsize::new(0);
    std::sync::Arc::new(move |req: &imds_conform::wire::HttpRequest| {
        let modify =
            String::from_utf8_lossy(&req.body).contains("Action=ModifyInstanceMetadataOptions");
        let earlier = if modify {
            modifies.fetch_add(1, SeqCst)
        } else {
            modifies.load(SeqCst)
        };
        if earlier >= n && (modify || everything) {
            return after();
        }
        Some(emulator.handle(req, std::time::SystemTime::now()))
    })
}

fn incorrect_instance_state() -> Option<imds_conform::wire::HttpResponse> {
    Some(imds_conform::wire::HttpResponse {
        status: 400,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: b"<Response><Errors><Error><Code>IncorrectInstanceState</Code>\
<Message>no</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
            .to_vec(),
    })
}

/// Replay `case` of `dir` against `target`, with the emulator's keys.
async fn replay_against(dir: &Path, case: &str, target: Answering) -> std::process::Output {
    let url = serve_answering(target).await;
    let mut cmd = bin();
    with_default_aws_keys(&mut cmd)
        .arg("replay")
        .arg(dir)
        .arg(case)
        .args(["--endpoint", &url]);
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joins")
}

/// `replay` puts the instance back as it found it, and one it could not put back
/// is said (with the options it had) and exits 4, as `run` does: a target that
/// takes the case's change and then refuses every modify was reported FIXED,
/// exit 0, leaving HttpEndpoint disabled without a word.
#[tokio::test(flavor = "multi_thread")]
async fn replay_says_an_instance_it_could_not_put_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = report_with_a_change(dir.path());
    let target = after_modifies(1, false, incorrect_instance_state);
    let out = replay_against(dir.path(), &case, target).await;
    exits_with(&out, 4);
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("STILL PASSES")
            && err.contains("i-0123456789abcdef0 was not put back as found")
            && err.contains("still shows other values for http_endpoint")
            && err.contains("it had ")
            && err.contains("http_endpoint=enabled"),
        "{}",
        show(&out)
    );
}

/// A target that goes away once the case is sent: what came of the case is still
/// said, and that the instance could not be put back (exit 4); the error of the
/// restore took the case's place (exit 3, no verdict).
#[tokio::test(flavor = "multi_thread")]
async fn replay_keeps_the_case_when_the_restore_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = report_with_a_change(dir.path());
    let target = after_modifies(1, true, || None);
    let out = replay_against(dir.path(), &case, target).await;
    exits_with(&out, 4);
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains(&format!("{case} HttpEndpoint = valid \"disabled\""))
            && stdout.contains("NOW FAILING")
            && err.contains("was not put back as found"),
        "{}",
        show(&out)
    );
}

/// An Alibaba recording verified in another region is one clear error naming
/// both regions and the flag (exit 2, before the target is touched), not a
/// "request differs" for every case; a recording of an older build, without
/// `region`, is placed by the `RegionId` its requests carry.
#[test]
fn an_alibaba_recording_verified_in_another_region_is_one_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["record", "--target", "emu", "--api", "aliyun-ecs", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    exits_with(&out, 0);
    let file = dir.path().join("aliyun-ecs.json");
    let mut rec = load(&file);
    assert_eq!(rec["region"], "cn-hangzhou", "the region is recorded");
    let verify_in = |region: &str| {
        bin()
            .args(["verify", "--target", "emu", "--region", region, "--against"])
            .arg(dir.path())
            .output()
            .expect("runs")
    };
    for older in [false, true] {
        if older {
            rec.as_object_mut().expect("object").remove("region");
            save(&file, &rec);
        }
        let out = verify_in("cn-shanghai");
        exits_with(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("made in region cn-hangzhou")
                && err.contains("verified in cn-shanghai")
                && err.contains("verify with --region cn-hangzhou")
                && err.lines().count() == 1
                && !String::from_utf8_lossy(&out.stdout).contains("DIFFERS"),
            "older: {older}\n{}",
            show(&out)
        );
        exits_with(&verify_in("cn-hangzhou"), 0);
    }
}

/// `record` and `verify --against` put the instance back as `run` does, and one
/// they could not put back is said with its options before the run, exit 4: a
/// target that refuses every modify after its 20th (the instance then changed)
/// exited 0, and one gone mid-run 3, without a word of the instance.
#[tokio::test(flavor = "multi_thread")]
async fn record_and_verify_say_an_instance_they_could_not_put_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = dir.path().join("reference");
    record_ec2(&reference);
    let cases: [(&str, Answering); 3] = [
        (
            "record",
            after_modifies(20, false, incorrect_instance_state),
        ),
        (
            "verify",
            after_modifies(20, false, incorrect_instance_state),
        ),
        ("verify", after_modifies(20, true, || None)),
    ];
    for (command, target) in cases {
        let url = serve_answering(target).await;
        let mut cmd = bin();
        with_default_aws_keys(&mut cmd)
            .args([command, "--target", "bent", "--api", "aws-ec2"])
            .args(["--endpoint", &url, "--instance", "i-0123456789abcdef0"]);
        if command == "record" {
            cmd.arg("--out").arg(dir.path().join("bent"));
        } else {
            cmd.args(["--max-diffs", "0", "--against"]).arg(&reference);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
            .await
            .expect("joins");
        exits_with(&out, 4);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("aws-ec2: i-0123456789abcdef0 was NOT put back as it was")
                && err.contains("its options before the run: hop_limit=1"),
            "{command}: {}",
            show(&out)
        );
    }
}

/// Ctrl-C during `record` finishes the current case and puts the instance back,
/// as `run` does, and records nothing (the coverage is incomplete): exit 130. It
/// killed the process at once, leaving the options of the case it was in.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_record_puts_the_instance_back_and_writes_nothing() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = imds_conform::emulator::Emulator::new(Default::default());
    // The options as the modifies the target took left them, from the fixture's.
    let found: Vec<(String, String)> = [
        ("HttpPutResponseHopLimit", "1"),
        ("HttpTokens", "optional"),
        ("HttpEndpoint", "enabled"),
        ("HttpProtocolIpv6", "disabled"),
        ("InstanceMetadataTags", "disabled"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    let options = Arc::new(Mutex::new(found.clone()));
    let seen = options.clone();
    let target: Answering = Arc::new(move |req: &imds_conform::wire::HttpRequest| {
        let resp = emulator.handle(req, std::time::SystemTime::now());
        let body = String::from_utf8_lossy(&req.body).into_owned();
        if body.contains("Action=ModifyInstanceMetadataOptions") && resp.status == 200 {
            let mut now = seen.lock().expect("lock");
            for (name, value) in body.split('&').filter_map(|kv| kv.split_once('=')) {
                if let Some(o) = now.iter_mut().find(|(k, _)| k == name) {
                    o.1 = value.to_string();
                }
            }
        }
        Some(resp)
    });
    let url = serve_answering(target).await;
    let out = interrupted_record(&url, dir.path()).await;
    exits_with(&out, 130);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("restoring the instances") && err.contains("nothing recorded"),
        "{}",
        show(&out)
    );
    assert!(!dir.path().join("slow").join("aws-ec2.json").exists());
    // Every option is back as it was found.
    assert_eq!(*options.lock().expect("lock"), found);
}

/// `record --rate 20` against `url`, interrupted (SIGINT) after 1.5 s.
async fn interrupted_record(url: &str, dir: &Path) -> std::process::Output {
    let mut cmd = bin();
    with_default_aws_keys(&mut cmd)
        .args([
            "record", "--target", "slow", "--api", "aws-ec2", "--rate", "20",
        ])
        .args(["--endpoint", url, "--instance", "i-0123456789abcdef0"])
        .arg("--out")
        .arg(dir.join("slow"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("starts");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGINT sent");
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
    });
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("ends"))
        .await
        .expect("joins")
}

/// An interrupted record whose instance could not be put back says so, with its
/// options, and exits 4: that outranks the interruption (it said only "nothing
/// recorded", exit 130).
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_record_that_cannot_put_back_says_so() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = imds_conform::emulator::Emulator::new(Default::default());
    // From the first change it takes that leaves an option unlike the fixture's,
    // every modify is refused: the instance stays changed, the restore fails.
    let refusing = AtomicBool::new(false);
    let target: Answering = Arc::new(move |req: &imds_conform::wire::HttpRequest| {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let modify = body.contains("Action=ModifyInstanceMetadataOptions");
        if modify && refusing.load(SeqCst) {
            return incorrect_instance_state();
        }
        let resp = emulator.handle(req, std::time::SystemTime::now());
        let unlike = ["HttpTokens=required", "HttpEndpoint=disabled"]
            .iter()
            .any(|p| body.split('&').any(|kv| kv == *p));
        if modify && resp.status == 200 && unlike {
            refusing.store(true, SeqCst);
        }
        Some(resp)
    });
    let url = serve_answering(target).await;
    let out = interrupted_record(&url, dir.path()).await;
    exits_with(&out, 4);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("i-0123456789abcdef0 was NOT put back as it was")
            && err.contains("its options before the run: hop_limit=1"),
        "{}",
        show(&out)
    );
}
