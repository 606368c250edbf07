//! Each answer decoder on the emulator's real answers (every coverage case's answer
//! and the read-back): MB/s (`bytes`) and responses/s (`responses`).
// criterion_group! makes an undocumented `pub fn`; a bench has no API.
#![allow(missing_docs)]
mod common;

use criterion::{black_box, Criterion, Throughput};
use imds_conform::wire::{aliyun_rpc, aws_json, ec2_query, DecodeError, HttpResponse, Outcome};

type Decoder = fn(&HttpResponse) -> Result<Outcome, DecodeError>;

fn bench(c: &mut Criterion) {
    let decoders: [(&str, &str, Decoder); 3] = [
        ("ec2_query", "aws-ec2", ec2_query::decode_response),
        ("aws_json", "aws-lightsail", aws_json::decode_response),
        ("aliyun_rpc", "aliyun-ecs", aliyun_rpc::decode_response),
    ];
    let mut g = c.benchmark_group("decode");
    for (name, api, decode) in decoders {
        let answers = common::answers(&common::setup(api));
        let bytes: u64 = answers.iter().map(|a| a.body.len() as u64).sum();
        let run = |b: &mut criterion::Bencher| {
            b.iter(|| {
                for a in &answers {
                    let _ = black_box(decode(black_box(a)));
                }
            });
        };
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(format!("{name}/bytes"), run);
        g.throughput(Throughput::Elements(answers.len() as u64));
        g.bench_function(format!("{name}/responses"), run);
    }
    g.finish();
}

common::bench_main!(bench);
