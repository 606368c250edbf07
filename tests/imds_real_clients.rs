//! botocore's `InstanceMetadataFetcher` against the emulator's metadata service,
//! from the project-local `.venv` that `scripts/test` builds (see
//! `tests/clients/imds_botocore.py`). Without `.venv` the test says so and passes.
//! Loopback only: the API endpoint and the metadata endpoint are the emulator's.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use imds_conform::emulator::imds as em_imds;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> Option<PathBuf> {
    let python = root().join(".venv").join("bin").join("python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import boto3, botocore.utils"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if !ok {
        println!("skipped: .venv with boto3/botocore absent — run scripts/test");
    }
    ok.then_some(python)
}

#[tokio::test]
async fn botocore_fetches_the_instance_id_and_credentials_and_imdsv1_is_refused() {
    let Some(python) = python() else { return };
    let running = common::start_emulator(Duration::from_millis(200)).await;
    let em = running.emulator();
    let imds = em_imds::start_imds(
        em,
        em.find_instance("i-0123456789abcdef0").unwrap(),
        &["127.0.0.1:0".parse().unwrap()],
    )
    .await
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("aws-config");
    std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
    let mut cmd = Command::new(python);
    cmd.current_dir(root().join("tests").join("clients"))
        .arg("imds_botocore.py")
        .arg(running.url())
        .arg(&imds.urls()[0])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", scratch.path())
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", scratch.path().join("none"))
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.urls()[0])
        .env("NO_PROXY", "127.0.0.1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("python runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("botocore imds: all ok"),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    imds.shutdown().await;
    running.shutdown().await;
}
