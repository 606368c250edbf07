//! The runner end to end: the random phase of one API against the emulator served
//! on loopback (generation, signing, HTTP, the oracle, verdicts, the read-back and
//! the events), in cases per second, with 2 instances (the defaults) and with 8
//! (one worker each, on threads of their own), and at 8 over each transport (a
//! worker's own connection, reqwest's pool). The hot paths of a run that the
//! per-function benches do not cover: worker threads, their HTTP clients, event
//! batching and the case records.
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use imds_conform::emulator::{self, EmulatorConfig, InstanceFixture};
use imds_conform::generate::Phase;
use imds_conform::runner::{self, RunConfig};
use imds_conform::spec::builtin_api;
use imds_conform::target::{Target, TargetConfig, Transport};
use imds_conform::wire::Credentials;

const API: &str = "aws-lightsail";
/// Random cases per run, split between the instances.
const CASES: u32 = 400;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = EmulatorConfig::default();
    let names: Vec<String> = (1..=8).map(|i| format!("bench-{i}")).collect();
    config.fixtures.lightsail.extend(
        names
            .iter()
            .map(|n| InstanceFixture::new(n, "us-east-1", "running")),
    );
    let keys = config.fixtures.credentials.aws.clone();
    let server = runtime
        .block_on(emulator::start(config))
        .expect("emulator starts");
    let spec = Arc::new(builtin_api(API).expect("tables load").expect("table"));
    let creds = Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone());
    let target_cfg = TargetConfig::for_spec(&spec, &server.url(), "us-east-1", Some(creds));
    let mut g = c.benchmark_group("runner");
    g.throughput(Throughput::Elements(u64::from(CASES)));
    // The two transports at 8 instances: a worker's own connection (the default for
    // a local endpoint) and reqwest's pool (what TLS and proxies take).
    for (workers, transport) in [
        (2u32, Transport::Auto),
        (8, Transport::Auto),
        (8, Transport::Pooled),
    ] {
        let target = Arc::new(
            Target::new(TargetConfig {
                transport,
                ..target_cfg.clone()
            })
            .expect("client"),
        );
        let via = match transport {
            Transport::Auto => "own-connection",
            Transport::Pooled => "reqwest",
        };
        let cfg = RunConfig {
            spec: spec.clone(),
            target: target.clone(),
            instances: names[..workers as usize].to_vec(),
            region: "us-east-1".into(),
            known_ids: names.clone(),
            seed: 1,
            random_cases: CASES / workers,
            only: None,
            shard: None,
            settle_timeout: Duration::from_secs(10),
            settle_poll: Duration::from_millis(5),
            dry_run_first: false,
            phases: vec![Phase::Random],
            cancel: runner::cancel_flag(),
            keep_passing: false,
        };
        g.bench_function(format!("random/{API}/{workers}-instances/{via}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
                    let failed = runner::run_api(cfg.clone(), tx).await.expect("the run");
                    drain.await.expect("drain");
                    assert!(failed.is_empty(), "the emulator conforms");
                });
            });
        });
    }
    g.finish();
    runtime.block_on(server.shutdown());
}

common::bench_main!(bench);
