//! Shared inputs for the criterion benches: the built-in tables, their default
//! emulator fixture, and real requests and answers produced by the emulator.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use imds_conform::emulator::{default_fixtures, Emulator, EmulatorConfig};
use imds_conform::generate::{self, Case, Subject};
use imds_conform::oracle::{Instance, Options, World};
use imds_conform::runner;
use imds_conform::spec::{builtin_api, Spec};
use imds_conform::target::{Signing, Target, TargetConfig};
use imds_conform::wire::{client, Call, Credentials, HttpRequest, HttpResponse};

pub const APIS: [&str; 3] = ["aws-ec2", "aws-lightsail", "aliyun-ecs"];
pub const URL: &str = "http://127.0.0.1:8080";

/// Short runs: `cargo bench` finishes in a few minutes on two cores.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// The bench binary's `main`: `bench` in a criterion group with the short runs of
/// [`criterion`].
macro_rules! bench_main {
    ($bench:path) => {
        criterion::criterion_group! {
            name = benches;
            config = common::criterion();
            targets = $bench
        }
        criterion::criterion_main!(benches);
    };
}
pub(crate) use bench_main;

/// The criterion group `name` with `bench` run once per API, given the API's
/// [`Setup`].
pub fn per_api(
    c: &mut Criterion,
    name: &str,
    mut bench: impl FnMut(&mut BenchmarkGroup<'_, WallTime>, &str, Setup),
) {
    let mut g = c.benchmark_group(name);
    for api in APIS {
        bench(&mut g, api, setup(api));
    }
    g.finish();
}

/// One API ready to bench: its table, subject and target (for signing).
pub struct Setup {
    pub spec: Spec,
    pub subject: Subject,
    pub target: Target,
    pub region: String,
    pub instance: String,
    pub creds: Credentials,
}

pub fn setup(api: &str) -> Setup {
    let spec = builtin_api(api)
        .expect("built-in tables load")
        .expect("known API");
    let fixtures = default_fixtures();
    let (instances, keys) = fixtures.for_api(api).expect("emulator serves the API");
    let region = spec.api.default_region.clone();
    let instance = instances
        .iter()
        .find(|i| i.is_running() && i.region == region)
        .expect("a running fixture")
        .id
        .clone();
    let known: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    let creds = Credentials::new(keys[0].access_key_id.clone(), keys[0].secret.clone());
    let subject = Subject::new(&spec, &instance, &region, &known);
    let target = Target::new(TargetConfig::for_spec(
        &spec,
        URL,
        &region,
        Some(creds.clone()),
    ))
    .expect("client");
    Setup {
        spec,
        subject,
        target,
        region,
        instance,
        creds,
    }
}

/// The default fixture's options, keyed as the oracle keys them.
pub fn world(s: &Setup) -> World {
    let defaults = [
        ("http_tokens", "optional"),
        ("hop_limit", "1"),
        ("http_endpoint", "enabled"),
        ("http_protocol_ipv6", "disabled"),
        ("instance_metadata_tags", "disabled"),
    ];
    let options: Options = defaults
        .iter()
        .filter(|(k, _)| s.spec.readback.fields.contains_key(*k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    World {
        region: s.region.clone(),
        instance: Instance {
            id: s.instance.clone(),
            state: "running".into(),
            options,
        },
    }
}

/// Every validly signed coverage case with the answer a fresh default emulator
/// gives it.
pub fn answered_cases(s: &Setup) -> Vec<(Case, HttpResponse)> {
    let now = SystemTime::now();
    generate::coverage(&s.spec, &s.subject)
        .into_iter()
        .filter(|c| c.signing == Signing::Valid)
        .filter_map(|c| {
            let req = s.target.prepare(&c.call, c.signing).ok()?;
            let emulator = Emulator::new(EmulatorConfig::default());
            let resp = emulator.handle(&req, now);
            Some((c, resp))
        })
        .collect()
}

/// A valid modify of the subject (the baseline call), encoded but not signed.
pub fn unsigned_modify(s: &Setup) -> HttpRequest {
    let b = generate::Builder::new(&s.spec, &s.subject);
    let call = b.call(b.base());
    let cfg = s.target.config();
    client::encode(cfg.protocol, &cfg.endpoint, &call).expect("encodes")
}

/// The read-back call for the subject.
pub fn readback_call(s: &Setup) -> Call {
    runner::readback_call(&s.spec, &s.region, &s.instance)
}

/// Answers to decode: every coverage case's answer (successes and errors) and the
/// read-back answer (the largest one the suite decodes, once per case).
pub fn answers(s: &Setup) -> Vec<HttpResponse> {
    let mut out: Vec<HttpResponse> = answered_cases(s).into_iter().map(|(_, r)| r).collect();
    let emulator = Emulator::new(EmulatorConfig::default());
    let req = s
        .target
        .prepare(&readback_call(s), Signing::Valid)
        .expect("signs");
    out.push(emulator.handle(&req, SystemTime::now()));
    out
}
