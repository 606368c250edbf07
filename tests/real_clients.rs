//! Proof with real clients: boto3 (`ec2`, `lightsail`), the aws CLI and the
//! `alibabacloud-ecs20140526` SDK, from the project-local `.venv` that
//! `scripts/test` creates, pointed at the emulator on a free loopback port. They sign
//! as the real SDKs do, so this proves signature verification too; each also checks
//! that a wrong secret is rejected.
//!
//! Without `.venv` (or without the clients in it) every test here says so plainly
//! and passes. The clients never reach a real cloud: the endpoint is loopback, the
//! config and credentials files are empty temp files, IMDS lookups are disabled.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::show;
use imds_conform::emulator::RunningEmulator;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_bin(name: &str) -> PathBuf {
    root().join(".venv").join("bin").join(name)
}

/// `true` when `.venv` has every client; otherwise prints the skip line.
fn clients_present() -> bool {
    let python = venv_bin("python");
    let ok = python.exists()
        && venv_bin("aws").exists()
        && Command::new(&python)
            .args([
                "-c",
                "import boto3, awscli, alibabacloud_ecs20140526, alibabacloud_tea_openapi",
            ])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if !ok {
        println!("skipped: .venv with boto3/awscli/alibabacloud SDK absent — run scripts/test");
    }
    ok
}

async fn start() -> RunningEmulator {
    common::start_emulator(Duration::from_millis(300)).await
}

/// A command with an environment that cannot reach a real cloud or a user's config.
fn isolated(program: &Path, scratch: &Path) -> Command {
    let config = scratch.join("aws-config");
    let creds = scratch.join("aws-credentials");
    std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
    std::fs::write(&creds, "").unwrap();
    let mut cmd = Command::new(program);
    cmd.current_dir(root().join("tests").join("clients"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN")
        .env_remove("ALIBABA_CLOUD_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1");
    common::with_default_aws_keys(&mut cmd)
        .env("AWS_PAGER", "")
        .env(
            "ALIBABA_CLOUD_CREDENTIALS_FILE",
            scratch.join("aliyun-credentials"),
        )
        .env("HOME", scratch)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

async fn run(cmd: Command) -> Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().expect("client runs"))
        .await
        .unwrap()
}

async fn python_script(script: &str) {
    if !clients_present() {
        return;
    }
    let running = start().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut cmd = isolated(&venv_bin("python"), scratch.path());
    cmd.arg(script).arg(running.url());
    let out = run(cmd).await;
    running.shutdown().await;
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{script} failed:\n{}", show(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_ec2() {
    python_script("boto3_ec2.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_lightsail() {
    python_script("boto3_lightsail.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alibabacloud_ecs_sdk() {
    python_script("aliyun_ecs.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_ec2() {
    if !clients_present() {
        return;
    }
    let running = start().await;
    let url = running.url();
    let scratch = tempfile::tempdir().unwrap();
    let aws = |args: &[&str]| {
        let mut cmd = isolated(&venv_bin("aws"), scratch.path());
        cmd.args(["--endpoint-url", &url, "--output", "json", "ec2"])
            .args(args);
        cmd
    };
    let id = "i-0123456789abcdef1";

    let out = run(aws(&[
        "modify-instance-metadata-options",
        "--instance-id",
        id,
        "--http-tokens",
        "required",
        "--http-put-response-hop-limit",
        "4",
    ]))
    .await;
    assert!(out.status.success(), "modify:\n{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["InstanceMetadataOptions"]["State"], "pending", "{v}");
    assert_eq!(v["InstanceMetadataOptions"]["HttpTokens"], "required");
    assert_eq!(v["InstanceMetadataOptions"]["HttpPutResponseHopLimit"], 4);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let out = run(aws(&["describe-instances", "--instance-ids", id])).await;
    assert!(out.status.success(), "describe:\n{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &v["Reservations"][0]["Instances"][0]["MetadataOptions"];
    assert_eq!(o["State"], "applied", "{v}");
    assert_eq!(o["HttpTokens"], "required");
    assert_eq!(o["HttpPutResponseHopLimit"], 4);

    let out = run(aws(&[
        "modify-instance-metadata-options",
        "--instance-id",
        "not-an-id",
        "--http-endpoint",
        "disabled",
    ]))
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InvalidInstanceID.Malformed"),
        "{}",
        show(&out)
    );

    let out = run(aws(&[
        "modify-instance-metadata-options",
        "--instance-id",
        id,
        "--dry-run",
    ]))
    .await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DryRunOperation"),
        "{}",
        show(&out)
    );

    let mut wrong = aws(&["describe-instances"]);
    wrong.env("AWS_SECRET_ACCESS_KEY", "wrong-secret");
    let out = run(wrong).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SignatureDoesNotMatch"),
        "{}",
        show(&out)
    );
    running.shutdown().await;
    println!("aws cli ec2: all ok");
}
