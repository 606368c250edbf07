//! The signature-verifier targets: SigV4 and Alibaba V1/V3 verification of an
//! arbitrary request never panic, and a verified Alibaba request is refused as a
//! replay the second time.

use std::time::Duration;

use super::epoch;
use super::framing::request_from_bytes;
use crate::emulator::{default_fixtures, KeyPair};
use crate::wire::{aliyun_sign, sigv4, Secret};

/// The secret of a default fixture's key pair with this access key id.
fn secret_in(keys: &[KeyPair], id: &str) -> Option<Secret> {
    keys.iter()
        .find(|k| k.access_key_id == id)
        .map(|k| Secret::new(k.secret.clone()))
}

pub(super) fn aws_secret(id: &str) -> Option<Secret> {
    secret_in(&default_fixtures().credentials.aws, id)
}

fn aliyun_secret(id: &str) -> Option<Secret> {
    secret_in(&default_fixtures().credentials.aliyun, id)
}

/// SigV4 verification of an arbitrary request (header and presigned forms).
pub fn sigv4_verify(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = sigv4::verify(&req, &aws_secret, epoch(), Duration::from_secs(300));
}

/// Alibaba V1 and V3 verification of an arbitrary request; a fresh nonce cache.
pub fn aliyun_verify(data: &[u8]) {
    let req = request_from_bytes(data);
    let mut seen: Vec<String> = Vec::new();
    let mut fresh = |n: &str| {
        if seen.iter().any(|s| s == n) {
            false
        } else {
            seen.push(n.to_string());
            true
        }
    };
    let mut verify = || {
        aliyun_sign::verify(
            &req,
            &aliyun_secret,
            epoch(),
            Duration::from_secs(900),
            &mut fresh,
        )
    };
    let first = verify();
    // A request that verified once is a replay the second time.
    if first.is_ok() {
        let second = verify();
        assert!(
            second.is_err(),
            "a verified request verified again (nonce not checked)"
        );
    }
}
