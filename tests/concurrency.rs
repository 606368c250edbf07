//! The runner's workers on threads of their own: a run over several instances on a
//! multi-threaded runtime gives the same cases, requests, expectations, verdicts
//! and readings, in the same order, for a seed on every run, whatever the
//! scheduling.
use std::time::Duration;

use imds_conform::generate::Phase;
use imds_conform::runner::{self, Event, RunConfig};
use imds_conform::verdict::{AmbiguityReading, CaseResult};

mod common;

/// As `--concurrency 4` asks (the fixtures have fewer running instances in some
/// regions: as many as there are, at least two).
const WORKERS: usize = 4;

/// One run of every phase but the sequences (whose settle waits add only time)
/// with up to `WORKERS` instances against a fresh emulator: what it judged, as JSON
/// without the timings and exchanges (dates, request ids), and the readings.
async fn run(api: &str, seed: u64) -> (Vec<serde_json::Value>, Vec<AmbiguityReading>) {
    let common::EmulatorRun { server, cfg } =
        common::emulator_run(api, Duration::from_millis(5), WORKERS).await;
    assert!(
        cfg.instances.len() >= 2,
        "{api}: two running instances at least"
    );
    let cfg = RunConfig {
        seed,
        random_cases: 40,
        settle_poll: Duration::from_millis(5),
        phases: vec![Phase::Coverage, Phase::Auth, Phase::Random],
        ..cfg
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move {
        let mut readings = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let Event::ApiFinished { readings: r, .. } = ev {
                readings = r;
            }
        }
        readings
    });
    let results = runner::run_api(cfg, tx).await.expect("the run completes");
    let readings = drain.await.expect("drain");
    server.shutdown().await;
    (results.iter().map(judged).collect(), readings)
}

fn judged(r: &CaseResult) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "rule": r.rule,
        "request": r.request,
        "expected": r.expected,
        "verdict": r.verdict,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_gives_the_same_run_on_several_threads() {
    for api in ["aws-lightsail", "aws-ec2"] {
        let (first, first_readings) = run(api, 11).await;
        let (second, second_readings) = run(api, 11).await;
        assert!(first.len() > 100, "{api}: only {} cases", first.len());
        assert_eq!(first, second, "{api}: the same seed, another run");
        assert_eq!(first_readings, second_readings, "{api}: readings");
        // Another seed draws other random calls.
        let (other, _) = run(api, 12).await;
        assert_ne!(first, other, "{api}: another seed, the same calls");
    }
}
