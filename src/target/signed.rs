//! The requests a target handle signed this second, by what they signed: where a
//! scheme's signature depends on nothing but the request and the second
//! ([`client::signs_alike_within_a_second`](crate::wire::client::signs_alike_within_a_second)),
//! a request alike to one signed this second gets the same signed form without
//! signing again. A worker's read-backs repeat so (the same request for the same
//! instance, case after case); signing is a tenth of a case's cost against a
//! local emulator. Nothing changes on the wire: the signature is the one signing
//! would have made.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::wire::HttpRequest;

/// Signed requests a handle keeps: between two read-backs of one worker, each other
/// worker of the handle signs a call (which rarely repeats) and its own read-back,
/// so at the largest concurrency twice as many as the handle's workers keep every
/// read-back. (A handle with more workers than that signs the excess anew.)
const KEPT: usize = 2 * super::MAX_CONCURRENCY as usize;

/// The handle's signed requests of the current second, least recently used
/// dropped first.
pub(super) struct Signed {
    inner: Mutex<Inner>,
}

struct Inner {
    /// The second (since the epoch) the entries were signed in.
    second: u64,
    /// By a hash of the unsigned request: (the unsigned request, its signed
    /// form). A hash alike for unlike requests is a miss, never a wrong answer.
    entries: LruCache<u64, (HttpRequest, HttpRequest)>,
}

impl Default for Signed {
    fn default() -> Self {
        Signed {
            inner: Mutex::new(Inner {
                second: 0,
                entries: LruCache::new(NonZeroUsize::new(KEPT).unwrap_or(NonZeroUsize::MIN)),
            }),
        }
    }
}

impl Signed {
    /// `unsigned` signed in `second`: the form kept for an alike request, or
    /// `sign`'s, which is then kept. The lock is not held while signing.
    pub(super) fn get_or_sign<E>(
        &self,
        unsigned: HttpRequest,
        second: u64,
        sign: impl FnOnce(HttpRequest) -> Result<HttpRequest, E>,
    ) -> Result<HttpRequest, E> {
        let hash = hash(&unsigned);
        if let Some(signed) = self.found(hash, &unsigned, second) {
            return Ok(signed);
        }
        let signed = sign(unsigned.clone())?;
        self.keep(hash, unsigned, &signed, second);
        Ok(signed)
    }

    /// The signed form of a request alike to `unsigned`, signed in `second`.
    #[cfg(test)]
    fn get(&self, unsigned: &HttpRequest, second: u64) -> Option<HttpRequest> {
        self.found(hash(unsigned), unsigned, second)
    }

    /// Keep `signed`, the form of `unsigned` signed in `second`.
    #[cfg(test)]
    fn put(&self, unsigned: HttpRequest, signed: &HttpRequest, second: u64) {
        self.keep(hash(&unsigned), unsigned, signed, second);
    }

    fn found(&self, hash: u64, unsigned: &HttpRequest, second: u64) -> Option<HttpRequest> {
        let mut inner = self.lock();
        inner.at(second);
        match inner.entries.get(&hash) {
            Some((kept, signed)) if kept == unsigned => Some(signed.clone()),
            _ => None,
        }
    }

    fn keep(&self, hash: u64, unsigned: HttpRequest, signed: &HttpRequest, second: u64) {
        let mut inner = self.lock();
        inner.at(second);
        inner.entries.put(hash, (unsigned, signed.clone()));
    }

    /// Each step leaves the entries whole, so a poisoned lock is taken as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Forget the entries of any second but `second`.
    fn at(&mut self, second: u64) {
        if self.second != second {
            self.entries.clear();
            self.second = second;
        }
    }
}

fn hash(req: &HttpRequest) -> u64 {
    let mut h = DefaultHasher::new();
    req.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::{Signed, KEPT};
    use crate::wire::HttpRequest;

    fn request(body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![("Host".into(), "h".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn signed(body: &str, sig: &str) -> HttpRequest {
        let mut r = request(body);
        r.headers.push(("Authorization".into(), sig.into()));
        r
    }

    #[test]
    fn an_alike_request_in_the_same_second_gets_the_kept_form_and_no_other() {
        let memo = Signed::default();
        assert_eq!(memo.get(&request("a"), 10), None);
        memo.put(request("a"), &signed("a", "s1"), 10);
        assert_eq!(memo.get(&request("a"), 10), Some(signed("a", "s1")));
        // Another body, another header, another path: not alike.
        assert_eq!(memo.get(&request("b"), 10), None);
        let mut other = request("a");
        other.headers.push(("X-Token".into(), "t".into()));
        assert_eq!(memo.get(&other, 10), None);
        let mut other = request("a");
        other.path_and_query = "/?x".into();
        assert_eq!(memo.get(&other, 10), None);
        // Another second: signed anew (the signed time has moved on).
        assert_eq!(memo.get(&request("a"), 11), None);
        // …and the old second's entries are gone for good.
        assert_eq!(memo.get(&request("a"), 10), None);
    }

    #[test]
    fn a_request_used_again_outlives_calls_that_pass_through() {
        let memo = Signed::default();
        memo.put(request("read"), &signed("read", "r"), 5);
        for i in 0..10 * KEPT {
            let body = format!("call {i}");
            memo.put(request(&body), &signed(&body, "c"), 5);
            if i % (KEPT / 2) == 0 {
                assert_eq!(
                    memo.get(&request("read"), 5),
                    Some(signed("read", "r")),
                    "{i}"
                );
            }
        }
        // Never more than KEPT, the oldest dropped first.
        assert_eq!(memo.get(&request("call 0"), 5), None);
        assert_eq!(memo.lock().entries.len(), KEPT);
        assert!(memo
            .get(&request(&format!("call {}", 10 * KEPT - 1)), 5)
            .is_some());
    }
}
