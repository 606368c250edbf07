//! `imds-conform serve` as a user runs it: it prints the endpoint, the accepted
//! credentials and the instances, answers requests, and exits 0 on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serve_prints_its_world_answers_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .args(["serve", "--listen", "127.0.0.1:0", "--apply-delay", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !printed.contains("Ctrl-C") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve stopped printing early:\n{printed}");
        }
        printed.push_str(&line);
    }
    for expected in [
        "listening on http://127.0.0.1:",
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "testid",
        "testsecret",
        "i-0123456789abcdef0",
        "web-1",
        "i-bp67acfmxaz1234abcd",
    ] {
        assert!(
            printed.contains(expected),
            "missing {expected:?} in:\n{printed}"
        );
    }
    let url = printed
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_string();
    // An unsigned EC2 call is refused the way EC2 refuses it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("Action=DescribeInstances&Version=2016-11-15")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("MissingAuthenticationToken"), "{body}");

    // Ctrl-C: SIGINT to this child only, by its pid.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    assert!(
        status.success(),
        "exit {status:?}; output after Ctrl-C: {rest}"
    );
    assert!(rest.contains("shutting down"), "{rest}");
}

#[test]
fn serve_refuses_a_bad_fixtures_file_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("fixtures.toml");
    std::fs::write(
        &bad,
        "[[ec2]]\nid = \"i-0123456789abcdef0\"\nregion = \"us-east-1\"\nstate = \"exploded\"\n",
    )
    .unwrap();
    for path in [bad, dir.path().join("missing.toml")] {
        let out = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
            .args(["serve", "--listen", "127.0.0.1:0", "--fixtures"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}
