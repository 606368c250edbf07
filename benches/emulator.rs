//! The emulator's hot path without the network: `Emulator::handle` on a signed,
//! valid modify of a running instance (the request wrk replays: it changes state
//! and answers a success), per API, in requests per second; and on the read-back.
//! Each request is signed afresh outside the measurement (Alibaba refuses a reused
//! nonce).
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use std::time::SystemTime;

use criterion::{black_box, BatchSize, Criterion, Throughput};
use imds_conform::emulator::{Emulator, EmulatorConfig};
use imds_conform::target::Signing;

fn bench(c: &mut Criterion) {
    common::per_api(c, "emulator", |g, api, s| {
        g.throughput(Throughput::Elements(1));
        let emulator = Emulator::new(EmulatorConfig::default());
        let modify = {
            let b = imds_conform::generate::Builder::new(&s.spec, &s.subject);
            b.call(b.base())
        };
        let readback = common::readback_call(&s);
        let signed = |call| s.target.prepare(call, Signing::Valid).expect("signs");
        let first = emulator.handle(&signed(&modify), SystemTime::now());
        assert!(
            (200..300).contains(&first.status),
            "{api}: the modify is answered {}",
            first.status
        );
        for (name, call) in [("modify", &modify), ("readback", &readback)] {
            g.bench_function(format!("handle-{name}/{api}"), |b| {
                b.iter_batched(
                    || signed(call),
                    |req| black_box(emulator.handle(&req, SystemTime::now())),
                    BatchSize::SmallInput,
                );
            });
        }
    });
}

common::bench_main!(bench);
