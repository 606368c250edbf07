//! Case generation: the deterministic coverage phase and the random phase's
//! proptest strategy, in cases per second, per API.
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use criterion::{black_box, Criterion, Throughput};
use imds_conform::generate::{self, random};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const RANDOM_BATCH: u64 = 1000;

fn bench(c: &mut Criterion) {
    common::per_api(c, "generate", |g, api, s| {
        let n = generate::coverage(&s.spec, &s.subject).len() as u64;
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("coverage/{api}"), |b| {
            b.iter(|| generate::coverage(black_box(&s.spec), black_box(&s.subject)));
        });
        let strategy = random::calls(&s.spec, &s.subject);
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        );
        g.throughput(Throughput::Elements(RANDOM_BATCH));
        g.bench_function(format!("random/{api}"), |b| {
            b.iter(|| {
                for _ in 0..RANDOM_BATCH {
                    let tree = strategy.new_tree(&mut runner).expect("a value");
                    black_box(tree.current());
                }
            });
        });
    });
}

common::bench_main!(bench);
