//! `imds-conform run` as a user runs it: the main job against the embedded
//! emulator, and `--endpoint` against a served emulator, with reports, restore and
//! exit codes; `replay` on a recorded case.
use std::process::{Command, Output};
use std::time::Duration;

use common::{bin, exits_with};

mod common;

/// `run --seed SEED --cases CASES --report DIR`, the main job over every API.
fn main_job(seed: &str, cases: &str, dir: &std::path::Path) -> Output {
    bin()
        .args(["run", "--seed", seed, "--cases", cases, "--report"])
        .arg(dir)
        .output()
        .expect("runs")
}

/// `run --api aws-ec2 --endpoint URL --instance ID` with the key id the
/// emulator knows and `secret`.
fn endpoint_run(url: &str, secret: &str) -> Command {
    let mut cmd = bin();
    cmd.args(["run", "--api", "aws-ec2", "--endpoint", url])
        .args(["--instance", "i-0123456789abcdef0"])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", secret);
    cmd
}

#[test]
fn the_main_job_conforms_and_writes_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = main_job("1", "5", dir.path());
    exits_with(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("seed 1"), "the seed is printed: {stdout}");
    for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
        assert!(stdout.contains(api), "{stdout}");
        for f in ["report.json", "junit.xml", "report.md"] {
            assert!(dir.path().join(api).join(f).is_file(), "{api}/{f}");
        }
    }
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("aws-ec2/report.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(report["format"], "imds-conform.report/1");
    assert_eq!(report["meta"]["seed"], 1);
    assert!(report["cases"].as_array().is_some_and(|c| c.len() > 100));
    // A recorded case replays against a fresh emulator: it passed, so it is not
    // "fixed", it still passes.
    let replay = bin()
        .arg("replay")
        .arg(dir.path())
        .arg("aws-ec2/coverage/0001")
        .output()
        .expect("runs");
    exits_with(&replay, 0);
    let said = String::from_utf8_lossy(&replay.stdout);
    assert!(
        said.contains("STILL PASSES") && !said.contains("FIXED"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_run_restores_the_instance_and_exit_codes_say_what_happened() {
    let server = common::start_emulator(Duration::from_millis(20)).await;
    let url = server.url();
    let run = move |extra: &[&str], secret: &str| {
        endpoint_run(&url, secret)
            .args(["--phase", "coverage"])
            .args(extra)
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .expect("runs")
    };
    let good =
        tokio::task::spawn_blocking(move || run(&[], "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
            .await
            .expect("join");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(good.status.code(), Some(0), "{all}");
    assert!(
        all.contains("restored"),
        "the instance's options are put back: {all}"
    );

    // A wrong secret: the instance cannot even be read, a configuration error.
    let url2 = server.url();
    let bad =
        tokio::task::spawn_blocking(move || endpoint_run(&url2, "wrong").output().expect("runs"))
            .await
            .expect("join");
    exits_with(&bad, 2);
    assert!(
        !String::from_utf8_lossy(&bad.stderr).contains("wrong"),
        "the secret is not echoed"
    );
    server.shutdown().await;

    // Nobody listening: unreachable, and the report says the run stopped before
    // its first case (it holds none, and reads INCOMPLETE, not CONFORMS).
    let dir = tempfile::tempdir().expect("tempdir");
    let gone = endpoint_run("http://127.0.0.1:9", "x")
        .arg("--report")
        .arg(dir.path())
        .output()
        .expect("runs");
    exits_with(&gone, 3);
    let report = report_json(&dir.path().join("aws-ec2"));
    let why = report["incomplete"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("stopped by an error: cannot reach"),
        "{report}"
    );
    assert_eq!(report["cases"].as_array().map(Vec::len), Some(0));
    let md = std::fs::read_to_string(dir.path().join("aws-ec2/report.md")).expect("md");
    assert!(md.contains("**Verdict: INCOMPLETE**"), "{md}");
}

#[test]
fn a_bad_rate_exits_2_with_a_message() {
    for cmd in ["run", "record"] {
        for bad in ["0", "-1", "NaN", "inf", "1e-20", "0.001", "abc", "2e6"] {
            let out = bin()
                .args([cmd, &format!("--rate={bad}")])
                .output()
                .expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} --rate {bad}: {stderr}");
            assert!(stderr.contains("--rate"), "{cmd} --rate {bad}: {stderr}");
        }
    }
}

/// `--imds` names a target's metadata services: without `--endpoint` the
/// embedded emulator's instances would be changed while another server's were
/// probed (the reference "failed"). A usage error.
#[test]
fn imds_without_an_endpoint_exits_2() {
    let out = bin()
        .args([
            "run",
            "--api",
            "aws-ec2",
            "--phase",
            "data-plane",
            "--imds",
            "i-0123456789abcdef0=http://127.0.0.1:9",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--imds") && stderr.contains("--endpoint"),
        "{stderr}"
    );
}

#[test]
fn a_concurrency_past_the_cap_exits_2_with_a_message() {
    let cap = imds_conform::target::MAX_CONCURRENCY;
    for bad in [
        "0".to_string(),
        (cap + 1).to_string(),
        "-1".into(),
        "many".into(),
    ] {
        let out = bin()
            .args(["run", &format!("--concurrency={bad}")])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--concurrency {bad}: {stderr}");
        assert!(
            stderr.contains("--concurrency"),
            "--concurrency {bad}: {stderr}"
        );
    }
    // The cap itself is taken: the flag that fails next is another.
    let out = bin()
        .args(["run", &format!("--concurrency={cap}"), "--cases=many"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--cases") && !stderr.contains("--concurrency"),
        "{stderr}"
    );
}

#[test]
fn the_main_job_reports_one_reading_per_touched_ambiguity() {
    let dir = tempfile::tempdir().expect("tempdir");
    exits_with(&main_job("3", "20", dir.path()), 0);
    for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(api).join("report.json")).expect("read"),
        )
        .expect("json");
        let readings = report["readings"].as_array().expect("readings");
        let touched: std::collections::BTreeSet<&str> = report["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .flat_map(|c| c["ambiguities"].as_array().into_iter().flatten())
            .filter_map(|a| a.as_str())
            .collect();
        assert!(!touched.is_empty(), "{api}: the run touches ambiguities");
        for amb in &touched {
            let r = readings
                .iter()
                .find(|r| r["ambiguity"] == *amb)
                .unwrap_or_else(|| panic!("{api}: no reading for {amb}"));
            assert_eq!(r["status"], "consistent", "{api}: {r}");
            assert!(
                !r["readings"].as_array().expect("list").is_empty(),
                "{api}: {r}"
            );
        }
        assert_eq!(report["departures"].as_array().map(Vec::len), Some(0));
    }
}

/// Ctrl-C stops a run that has found nothing wrong so far: the instances are put
/// back and what was judged is summarized, but the exit is 130, never 0 (a partial
/// run is no verdict).
#[test]
fn an_interrupted_run_never_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The embedded emulator conforms: run to the end, this exits 0.
    let child = started(
        bin()
            .args(["run", "--api", "aws-lightsail", "--phase", "random"])
            .args(["--cases", "1000000", "--seed", "1", "--report"])
            .arg(dir.path()),
    );
    std::thread::sleep(Duration::from_millis(500));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGINT sent");
    // A run that ignored the interrupt would go on for many minutes: kill it.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let out = child.wait_with_output().expect("ends");
    exits_with(&out, 130);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("interrupted: the summary and reports cover only"),
        "{stderr}"
    );
    // The summary of what was judged is still printed, and written, both marked
    // incomplete: no verdict on the target.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"),
        "{}",
        common::show(&out)
    );
    let report = report_json(&dir.path().join("aws-lightsail"));
    assert_eq!(report["incomplete"], "interrupted");
    assert!(report["cases"].as_array().is_some_and(|c| !c.is_empty()));
    let md = std::fs::read_to_string(dir.path().join("aws-lightsail/report.md")).expect("md");
    assert!(md.contains("**Verdict: INCOMPLETE**"), "{md}");
    // Nor is it checked against a baseline, or written as one: its departures are
    // only those found before it stopped.
    let baseline = dir.path().join("baseline.json");
    for write in [false, true] {
        let mut verify = bin();
        verify
            .args(["verify", "--report"])
            .arg(dir.path().join("aws-lightsail"))
            .arg("--baseline")
            .arg(&baseline);
        if write {
            verify.arg("--write-baseline");
        }
        let out = verify.output().expect("runs");
        exits_with(&out, 1);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("INCOMPLETE"),
            "{}",
            common::show(&out)
        );
        assert!(!baseline.exists(), "no baseline written from it");
    }
}

/// The report.json in `dir`.
fn report_json(dir: &std::path::Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("report.json")).expect("report.json written");
    serde_json::from_slice(&bytes).expect("json")
}

/// A target that goes away mid-run leaves the instance changed: the run exits 4
/// (not 3, unreachable: the user's instance is not as it was) and says so after the
/// summary, with the options to put back by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_restore_the_instance_exits_4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::start_emulator(Duration::from_millis(1)).await;
    let child = started(
        endpoint_run(&server.url(), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
            .args(["--phase", "random", "--cases", "1000000", "--seed", "1"])
            .arg("--report")
            .arg(dir.path())
            .env_remove("AWS_SESSION_TOKEN"),
    );
    // Cases are changing the instance; then the target goes away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.shutdown().await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("ends"))
        .await
        .expect("join");
    exits_with(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: aws-ec2: i-0123456789abcdef0 was NOT put back as it was")
            && stderr.contains("its options before the run: "),
        "{}",
        common::show(&out)
    );
    // The cases judged before the target went away are reported, marked incomplete
    // with the error that stopped the run.
    let report = report_json(&dir.path().join("aws-ec2"));
    let why = report["incomplete"].as_str().unwrap_or_default();
    assert!(why.starts_with("stopped by an error: "), "{report}");
    assert!(report["cases"].as_array().is_some_and(|c| !c.is_empty()));
}

/// A target that stops answering holds the run: the case waits for its answer
/// (30 s) and the restore after it would wait again. The first Ctrl-C asks for the
/// restore; a second one stops the process at once, exits 4 (the instance may be
/// left changed) and names the instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_at_once_and_names_the_instance() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;
    let server = common::start_emulator(Duration::from_millis(1)).await;
    let hold = Arc::new(AtomicBool::new(false));
    let url = relay(server.url(), hold.clone()).await;
    let child = started(
        endpoint_run(&url, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
            .args(["--phase", "random", "--cases", "1000000", "--seed", "1"])
            .env_remove("AWS_SESSION_TOKEN"),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    hold.store(true, SeqCst);
    let pid = child.id().to_string();
    let interrupt = || {
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.expect("kill runs").success(), "SIGINT sent");
    };
    interrupt();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = std::time::Instant::now();
    interrupt();
    // Without the second Ctrl-C heard, the run ends only when its requests time out.
    let watchdog = pid.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        let _ = Command::new("kill").args(["-KILL", &watchdog]).status();
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("ends"))
        .await
        .expect("join");
    let took = asked.elapsed();
    server.shutdown().await;
    exits_with(&out, 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Ctrl-C again stops at once")
            && stderr.contains("interrupted again: stopped at once, without restoring")
            && stderr.contains("aws-ec2 i-0123456789abcdef0"),
        "{}",
        common::show(&out)
    );
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
}

/// A TCP relay to `upstream` (a URL) that stops passing requests on once `hold`
/// is set, keeping every connection open: a target that no longer answers.
async fn relay(upstream: String, hold: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    use std::sync::atomic::Ordering::SeqCst;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let to = upstream.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (to, hold) = (to.clone(), hold.clone());
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&to).await else {
                    return;
                };
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = from_client.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    while hold.load(SeqCst) {
                        // Held: the request is never passed on (the connection stays open).
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// `cmd` (a run with `--seed 1`) started, once it has printed its first line: its
/// cases are under way.
fn started(cmd: &mut Command) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut first)
        .expect("reads");
    assert!(first.contains("seed 1"), "{first}");
    child
}

/// A negative number given to a numeric flag as its own word (`--cases -1`)
/// reaches the flag's value parser, which names the flag; clap would otherwise
/// take `-1` for an unknown flag.
#[test]
fn a_negative_number_is_an_invalid_value_of_its_flag() {
    for (cmd, flag) in [
        ("run", "--cases"),
        ("run", "--seed"),
        ("run", "--concurrency"),
        ("run", "--rate"),
        ("run", "--settle-timeout-secs"),
        ("record", "--rate"),
        ("verify", "--max-diffs"),
        ("serve", "--apply-delay"),
        ("selftest", "--seed"),
        ("selftest", "--concurrency"),
    ] {
        let out = bin().args([cmd, flag, "-1"]).output().expect("runs");
        exits_with(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("invalid value '-1' for '{flag}")),
            "{cmd} {flag} -1: {stderr}"
        );
    }
}

/// `--endpoint` is checked before anything is sent: an http or https URL with a
/// host. Anything else is a usage error naming the flag (exit 2), for every
/// command that takes one; not "cannot sign request" nor an unreachable target.
#[test]
fn an_endpoint_that_is_not_an_http_url_is_a_usage_error() {
    let commands: [&[&str]; 4] = [
        &[
            "run",
            "--api",
            "aws-ec2",
            "--instance",
            "i-0123456789abcdef0",
        ],
        &[
            "record",
            "--api",
            "aws-ec2",
            "--instance",
            "i-0123456789abcdef0",
        ],
        &["verify", "--against", "/nonexistent", "--api", "aws-ec2"],
        &["replay", "/nonexistent", "aws-ec2/coverage/0001"],
    ];
    for args in commands {
        for bad in [
            "notaurl",
            "ftp://127.0.0.1:1",
            "http://",
            "http://zqx:SECRETPW@127.0.0.1:1",
        ] {
            let out = bin()
                .args(args)
                .args(["--endpoint", bad])
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "secret")
                .output()
                .expect("runs");
            exits_with(&out, 2);
            let stderr = String::from_utf8_lossy(&out.stderr);
            // The value is not repeated: a URL's password would be with it.
            assert!(
                stderr.contains("invalid value for '--endpoint")
                    && !stderr.contains("SECRETPW")
                    && !stderr.contains("cannot sign")
                    && !stderr.contains("cannot reach"),
                "{} --endpoint {bad}: {stderr}",
                args[0]
            );
        }
    }
}

/// A region where the embedded emulator runs no instance of an API leaves that
/// API nothing to run: a usage error naming the regions that have some, never
/// an empty run that reads CONFORMS.
#[test]
fn a_region_without_running_instances_is_a_usage_error() {
    let ec2 = "no running aws-ec2 instance in mars-1; it has some in eu-west-1, us-east-1";
    for (args, says) in [
        (&["run", "--api", "aws-ec2", "--region", "mars-1"][..], ec2),
        // Every API: Lightsail has instances in eu-north-1, the others none.
        (
            &["run", "--region", "eu-north-1", "--phase", "coverage"],
            "no running aliyun-ecs instance in eu-north-1; it has some in cn-hangzhou",
        ),
        (
            &[
                "record",
                "--api",
                "aws-ec2",
                "--region",
                "mars-1",
                "--out",
                "/nonexistent",
            ],
            ec2,
        ),
    ] {
        let out = bin().args(args).output().expect("runs");
        exits_with(&out, 2);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says) && !stdout.contains("CONFORMS"),
            "{args:?}: {}",
            common::show(&out)
        );
    }
    // Tables of APIs the embedded emulator does not serve: nothing at all to run.
    let specs = tempfile::tempdir().expect("tempdir");
    let acme = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/specs/acme-vm.toml"
    );
    std::fs::copy(acme, specs.path().join("acme-vm.toml")).expect("copy");
    let out = bin()
        .arg("run")
        .arg("--specs")
        .arg(specs.path())
        .output()
        .expect("runs");
    exits_with(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the embedded emulator serves none of the APIs to run (acme-vm)"),
        "{}",
        common::show(&out)
    );
}

/// `--specs DIR` with no table in it has nothing to run: exit 2 saying so, not
/// the seed line alone and exit 0. A folder that cannot be read says so plainly
/// (no line number, no field).
#[test]
fn a_specs_folder_without_tables_is_a_usage_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::write(empty.path().join("README.md"), "not a table").expect("write");
    let missing = empty.path().join("nonexistent");
    for cmd in [
        &["run"][..],
        &["selftest", "--list"],
        &["spec", "ambiguities"],
    ] {
        let out = bin()
            .args(cmd)
            .arg("--specs")
            .arg(empty.path())
            .output()
            .expect("runs");
        exits_with(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "error: no spec tables (*.toml) in {}",
                empty.path().display()
            )),
            "{cmd:?}: {}",
            common::show(&out)
        );
        let out = bin()
            .args(cmd)
            .arg("--specs")
            .arg(&missing)
            .output()
            .expect("runs");
        exits_with(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!(
                "error: {}: cannot read the spec folder: ",
                missing.display()
            )),
            "{cmd:?}: {}",
            common::show(&out)
        );
    }
}

/// A reader that has gone (`imds-conform selftest --list | head -1`) ends the
/// printing quietly: no "failed printing to stdout: Broken pipe" panic. A run
/// still does its work and exits with its own code.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    for args in [
        &["selftest", "--list"][..],
        &["spec", "show", "aws-ec2"],
        &["spec", "show", "aws-ec2", "--json"],
        &["spec", "ambiguities"],
        &[
            "run", "--api", "aws-ec2", "--phase", "coverage", "--seed", "1",
        ],
    ] {
        // The reader (`true`) is gone before the command starts, so its first
        // write finds the pipe closed; the command's status goes to stderr.
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"{ sleep 0.3; "$0" "$@"; echo "exit=$?" >&2; } | true"#)
            .arg(env!("CARGO_BIN_EXE_imds-conform"))
            .args(args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.ends_with("exit=0\n") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

/// Two endpoints on one host are two targets: a run names its target by the
/// endpoint's host and port (unless --target-name), so a matrix of their reports
/// has a column each instead of one `127.0.0.1` column merging both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_endpoints_on_one_host_are_two_targets_of_a_matrix() {
    let dirs = [
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    ];
    let mut names = Vec::new();
    for dir in &dirs {
        let server = common::start_emulator(Duration::from_millis(1)).await;
        let url = server.url();
        let port = url
            .rsplit(':')
            .next()
            .expect("port")
            .trim_end_matches('/')
            .to_string();
        names.push(format!("127.0.0.1:{port}"));
        let report = dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            endpoint_run(&url, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
                .args(["--phase", "coverage", "--only", "HttpTokens.*", "--report"])
                .arg(report)
                .env_remove("AWS_SESSION_TOKEN")
                .output()
                .expect("runs")
        })
        .await
        .expect("join");
        server.shutdown().await;
        exits_with(&out, 0);
    }
    for (dir, name) in dirs.iter().zip(&names) {
        assert_eq!(
            report_json(&dir.path().join("aws-ec2"))["meta"]["target"],
            *name
        );
    }
    let out = bin()
        .args(["matrix", "--summary"])
        .arg(dirs[0].path())
        .arg(dirs[1].path())
        .output()
        .expect("runs");
    exits_with(&out, 0);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("2 target(s)")
            && names.iter().all(|n| summary.contains(&format!("| {n} |"))),
        "{summary}"
    );
}

/// A run that judges no case is no verdict: `--only` matching no rule exits 2,
/// says why, and its report is incomplete, never "conforms".
#[test]
fn a_run_that_judges_no_case_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["run", "--api", "aws-ec2", "--only", "nomatch*", "--report"])
        .arg(dir.path())
        .output()
        .expect("runs");
    exits_with(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("aws-ec2: no case was judged"),
        "{}",
        common::show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("CONFORMS"), "{stdout}");
    let report = report_json(&dir.path().join("aws-ec2"));
    assert_eq!(report["incomplete"], "no case was judged");
    // Over every API a glob may name one API's rules only (Lightsail's are
    // lower camel case): that API is left out, the others judged as usual.
    let out = bin()
        .args(["run", "--only", "HttpTokens.*", "--seed", "1"])
        .output()
        .expect("runs");
    exits_with(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "aws-lightsail: no case was judged (the phases and --only chose none): left out"
        ),
        "{}",
        common::show(&out)
    );
}

/// Output lost to a failed write (a full disk: /dev/full), unlike a reader that
/// went away, is an error: said, and never exit 0.
#[test]
fn output_lost_to_a_full_disk_is_not_exit_0() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        panic!("this test needs /dev/full (Linux)");
    };
    let out = bin()
        .args(["spec", "show", "aws-ec2", "--json"])
        .stdout(full)
        .output()
        .expect("runs");
    exits_with(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"),
        "{}",
        common::show(&out)
    );
}
