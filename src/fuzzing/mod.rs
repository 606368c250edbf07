//! Fuzzing support: the logic of every `cargo fuzz` target (see `fuzz/`), kept here
//! so that plain `cargo test` runs it too (regressions, seeds, a seeded differential).
//!
//! Byte-level targets frame their input as an HTTP message ([`request_from_bytes`],
//! [`response_from_bytes`]): a first line, `Name: value` header lines, a blank line,
//! the body. Seeds are real messages in that framing ([`seeds`]), so the fuzzer
//! starts from signed requests and well-formed answers.
//!
//! The differential target ([`differential`]) runs a [`Scenario`] — a sequence of
//! calls — against a fresh in-process emulator and checks every answer against the
//! oracle, the same way the runner does (judge, then read back). A disagreement is a
//! [`Finding`] in one of the two.
//!
//! The room: `framing` (bytes ↔ HTTP messages), `decode` (the decoder targets),
//! `verify` (the signature verifiers), `handle` (the whole emulator), `redaction`
//! (what reports show of a target's text), `scenario`
//! (the differential's input), `harness` (one API's in-process emulator, signed as
//! the runner signs), `differential` (emulator vs oracle), `seeds` (seed corpora).
//! Compiled only with the `fuzzing` feature (the fuzz crate; tests and examples
//! get it through the crate's dev-dependency on itself).

mod decode;
mod differential;
mod framing;
mod handle;
mod harness;
mod redaction;
mod scenario;
mod seeds;
mod verify;

use std::time::{Duration, SystemTime};

pub use decode::{
    aliyun_request, aliyun_response, aws_json_request, aws_json_response, ec2_request, ec2_response,
};
pub use differential::{differential, Finding};
pub use framing::{request_from_bytes, request_to_bytes, response_from_bytes, response_to_bytes};
pub use handle::emulator_handle;
pub use redaction::redact_text;
pub use scenario::{Edit, Op, Scenario, Val, MAX_EDITS, MAX_OPS};
pub use seeds::{doc_seeds, seeds};
pub use verify::{aliyun_verify, sigv4_verify};

/// The fuzz targets, by name (each is `fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "ec2_response",
    "aws_json_response",
    "aliyun_response_json",
    "aliyun_response_xml",
    "ec2_request",
    "aws_json_request",
    "aliyun_request",
    "sigv4_verify",
    "aliyun_verify",
    "emulator_handle",
    "differential",
    "redact_text",
];

/// The API ids the differential target picks from.
pub const APIS: [&str; 3] = ["aws-ec2", "aws-lightsail", "aliyun-ecs"];

/// The clock of every fuzz input: 2026-01-01T00:00:00Z. Seeds are signed at this
/// time and verifiers check against it, so fuzzing is reproducible.
pub fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Run the target `name` on `data`. Panics on a finding (that is the fuzzer's
/// signal); `false` when there is no such target.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "ec2_response" => ec2_response(data),
        "aws_json_response" => aws_json_response(data),
        "aliyun_response_json" | "aliyun_response_xml" => aliyun_response(data),
        "ec2_request" => ec2_request(data),
        "aws_json_request" => aws_json_request(data),
        "aliyun_request" => aliyun_request(data),
        "sigv4_verify" => sigv4_verify(data),
        "aliyun_verify" => aliyun_verify(data),
        "emulator_handle" => emulator_handle(data),
        "redact_text" => redact_text(data),
        "differential" => {
            if let Err(f) = differential(&Scenario::from_bytes(data)) {
                panic!("{f}");
            }
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::verify::aws_secret;
    use super::*;
    use crate::wire::{ec2_query, sigv4, HttpRequest, HttpResponse};
    use rand::SeedableRng;

    #[test]
    fn framing_round_trips() {
        let req = HttpRequest {
            method: "POST".into(),
            path_and_query: "/?a=b".into(),
            headers: vec![("Host".into(), "x".into())],
            body: b"Action=X\n\nrest".to_vec(),
        };
        assert_eq!(request_from_bytes(&request_to_bytes(&req)), req);
        let resp = HttpResponse {
            status: 403,
            headers: vec![("A".into(), "b".into())],
            body: b"<x/>".to_vec(),
        };
        assert_eq!(response_from_bytes(&response_to_bytes(&resp)), resp);
    }

    #[test]
    fn every_target_runs_on_its_seeds() {
        for t in TARGETS {
            let seeds = seeds(t, None);
            assert!(!seeds.is_empty(), "no seeds for {t}");
            for s in &seeds {
                assert!(run_target(t, s));
            }
        }
    }

    #[test]
    fn shared_seeds_when_present() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        if !shared.join("seeds").is_dir() {
            eprintln!("skipped: {} is absent", shared.display());
            return;
        }
        for t in TARGETS {
            for s in seeds(t, Some(&shared)) {
                run_target(t, &s);
            }
        }
        let xml = doc_seeds("ec2_response", &shared.join("seeds"));
        assert!(!xml.is_empty(), "the seed docs' XML samples are found");
        for s in &xml {
            assert!(
                ec2_query::decode_response(&response_from_bytes(s)).is_ok(),
                "a doc sample decodes: {}",
                String::from_utf8_lossy(s)
            );
        }
        assert!(!doc_seeds("aliyun_response_json", &shared.join("seeds")).is_empty());
    }

    #[test]
    fn seeded_request_verifies() {
        for s in seeds("sigv4_verify", None) {
            let req = request_from_bytes(&s);
            sigv4::verify(&req, &aws_secret, epoch(), Duration::from_secs(300))
                .expect("a seed is validly signed");
        }
    }

    #[test]
    fn differential_agrees_on_random_scenarios() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261122);
        for _ in 0..30 {
            let s = Scenario::random(&mut rng, 12);
            if let Err(f) = differential(&s) {
                panic!("{f}");
            }
        }
    }
}
