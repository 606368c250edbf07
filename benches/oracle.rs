//! Oracle judgement: for every coverage case with the emulator's real answer,
//! `oracle::expect` (every acceptable outcome) plus `verdict::judge`, in verdicts per
//! second; and `judge` alone.
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use criterion::{black_box, Criterion, Throughput};
use imds_conform::oracle;
use imds_conform::verdict;
use imds_conform::wire::client;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("oracle");
    for api in common::APIS {
        let s = common::setup(api);
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
    }
    g.finish();
}

common::bench_main!(bench);
