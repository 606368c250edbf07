//! Oracle judgement: for every coverage case with the emulator's real answer,
//! `oracle::expect` (every acceptable outcome) plus `verdict::judge`, in verdicts per
//! second; `judge` alone; and `expect` (plain, and through an `Oracle` that
//! remembers plans) over a fixed stream of random-phase calls (the runner's hot
//! path: calls repeat, and the instance's options move as a conforming target
//! would move them).
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use criterion::{black_box, Criterion, Throughput};
use imds_conform::generate::random;
use imds_conform::oracle::{self, Auth, Expected, World};
use imds_conform::verdict;
use imds_conform::wire::{client, Call};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Random calls per iteration of the random-stream benches.
const RANDOM_STREAM: usize = 1000;

fn bench(c: &mut Criterion) {
    common::per_api(c, "oracle", |g, api, s| {
        let world = common::world(&s);
        let protocol = s.target.config().protocol;
        let judged: Vec<_> = common::answered_cases(&s)
            .into_iter()
            .filter_map(|(case, resp)| {
                let outcome = client::decode(protocol, &resp).ok()?;
                Some((case, outcome))
            })
            .collect();
        g.throughput(Throughput::Elements(judged.len() as u64));
        g.bench_function(format!("expect+judge/{api}"), |b| {
            b.iter(|| {
                for (case, outcome) in &judged {
                    let exp = oracle::expect(&s.spec, &world, &case.call, case.signing.auth());
                    black_box(verdict::judge(&s.spec, &exp, outcome, &world.instance.id));
                }
            });
        });
        let expected: Vec<_> = judged
            .iter()
            .map(|(case, outcome)| {
                (
                    oracle::expect(&s.spec, &world, &case.call, case.signing.auth()),
                    outcome,
                )
            })
            .collect();
        g.bench_function(format!("judge/{api}"), |b| {
            b.iter(|| {
                for (exp, outcome) in &expected {
                    black_box(verdict::judge(&s.spec, exp, outcome, &world.instance.id));
                }
            });
        });
        let stream = random_stream(&s, &world);
        g.throughput(Throughput::Elements(stream.len() as u64));
        g.bench_function(format!("expect/random/{api}"), |b| {
            b.iter(|| {
                for (w, call) in &stream {
                    black_box(oracle::expect(&s.spec, w, call, Auth::Valid));
                }
            });
        });
        // The runner's way: one `Oracle` for the run, so repeated calls are
        // answered from remembered plans (a fresh memory per pass of the stream).
        let spec = std::sync::Arc::new(s.spec.clone());
        g.bench_function(format!("oracle-memo/random/{api}"), |b| {
            b.iter(|| {
                let memo = oracle::Oracle::new(spec.clone());
                for (w, call) in &stream {
                    black_box(memo.expect(w, call, Auth::Valid));
                }
            });
        });
    });
}

/// `RANDOM_STREAM` calls of the random phase (fixed seed), each with the world it
/// meets: after a call the oracle allows to succeed on the instance, the options
/// move to that success's options, as a conforming target's would.
fn random_stream(s: &common::Setup, start: &World) -> Vec<(World, Call)> {
    let strategy = random::calls(&s.spec, &s.subject);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    let mut world = start.clone();
    let mut out = Vec::with_capacity(RANDOM_STREAM);
    for _ in 0..RANDOM_STREAM {
        let call = strategy.new_tree(&mut runner).expect("a value").current();
        let exp = oracle::expect(&s.spec, &world, &call, Auth::Valid);
        out.push((world.clone(), call));
        let moved = exp.outcomes.iter().find_map(|a| match &a.expected {
            Expected::Success {
                options,
                targets_instance: true,
                ..
            } => Some(options.clone()),
            _ => None,
        });
        if let Some(options) = moved {
            world.instance.options = options;
        }
    }
    out
}

common::bench_main!(bench);
