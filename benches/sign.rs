//! Signing and verification, in operations per second: SigV4 (EC2 Query and
//! Lightsail JSON requests), Alibaba V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256); and a
//! target handle preparing a request (encode and sign) the first time and again
//! within the second, as a worker's read-backs repeat (SigV4 signs it alike then,
//! and the handle keeps what it signed).
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use std::time::{Duration, SystemTime};

use criterion::{black_box, BatchSize, Criterion, Throughput};
use imds_conform::target::Signing;
use imds_conform::wire::{aliyun_sign, sigv4, Secret};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));
    let now = SystemTime::now();
    let skew = Duration::from_secs(300);
    for api in ["aws-ec2", "aws-lightsail"] {
        let s = common::setup(api);
        let ep = s.target.config().endpoint.clone();
        let unsigned = common::unsigned_modify(&s);
        g.bench_function(format!("sigv4/sign/{api}"), |b| {
            b.iter_batched_ref(
                || unsigned.clone(),
                |req| sigv4::sign(req, &ep, &s.creds, now).expect("signs"),
                BatchSize::SmallInput,
            );
        });
        // A request new to the handle each time (the read-back with a parameter of
        // its own)…
        let fresh = s.target.for_worker().expect("handle");
        let mut n = 0u64;
        g.bench_function(format!("prepare/new/{api}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let mut call = common::readback_call(&s);
                    call.params
                        .push(imds_conform::wire::RawParam::text("Noise", n.to_string()));
                    call
                },
                |call| fresh.prepare(&call, Signing::Valid).expect("signs"),
                BatchSize::SmallInput,
            );
        });
        // …and the read-back again, alike within the second.
        let again = s.target.for_worker().expect("handle");
        let readback = common::readback_call(&s);
        g.bench_function(format!("prepare/again/{api}"), |b| {
            b.iter(|| {
                again
                    .prepare(black_box(&readback), Signing::Valid)
                    .expect("signs")
            });
        });
        let mut signed = unsigned.clone();
        sigv4::sign(&mut signed, &ep, &s.creds, now).expect("signs");
        let secret = s.creds.secret.expose().to_string();
        let secret_for = |_: &str| Some(Secret::new(secret.clone()));
        assert!(sigv4::verify(&signed, &secret_for, now, skew).is_ok());
        g.bench_function(format!("sigv4/verify/{api}"), |b| {
            b.iter(|| sigv4::verify(black_box(&signed), &secret_for, now, skew));
        });
    }
    let s = common::setup("aliyun-ecs");
    let unsigned = common::unsigned_modify(&s);
    let secret = s.creds.secret.expose().to_string();
    let secret_for = |_: &str| Some(Secret::new(secret.clone()));
    let skew = Duration::from_secs(900);
    type Signer = fn(
        &mut imds_conform::wire::HttpRequest,
        &imds_conform::wire::Credentials,
        SystemTime,
        &str,
    ) -> Result<(), imds_conform::wire::EncodeError>;
    let schemes: [(&str, Signer); 2] = [
        ("aliyun-v1", aliyun_sign::sign_v1),
        ("aliyun-v3", aliyun_sign::sign_v3),
    ];
    for (name, sign) in schemes {
        g.bench_function(format!("{name}/sign"), |b| {
            b.iter_batched_ref(
                || unsigned.clone(),
                |req| sign(req, &s.creds, now, "nonce-1").expect("signs"),
                BatchSize::SmallInput,
            );
        });
        let mut signed = unsigned.clone();
        sign(&mut signed, &s.creds, now, "nonce-1").expect("signs");
        let mut fresh = |_: &str| true;
        assert!(aliyun_sign::verify(&signed, &secret_for, now, skew, &mut fresh).is_ok());
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| aliyun_sign::verify(black_box(&signed), &secret_for, now, skew, &mut fresh));
        });
    }
    g.finish();
}

common::bench_main!(bench);
