//! Session tokens of one instance's metadata service: issued by the token `PUT`
//! with a TTL, valid on that instance only until they expire.
//!
//! A token is 32 random bytes, base64url: unguessable, and meaningless to any other
//! instance's store (so a token carried to another instance is refused there). The
//! store holds at most [`MAX_TOKENS`] live tokens; past that the one expiring first
//! is dropped, so a client minting tokens in a loop cannot grow it without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine;
use rand::RngCore;

/// The most live tokens one instance keeps.
pub const MAX_TOKENS: usize = 10_000;

/// Why a presented token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued by this instance (or issued by another one).
    Unknown,
    /// Issued here, but its TTL has run out.
    Expired,
}

#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, SystemTime>>,
}

impl TokenStore {
    /// Issue a token valid for `ttl` from `now`.
    pub fn issue(&self, ttl: Duration, now: SystemTime) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut tokens = self.lock();
        tokens.retain(|_, expires| *expires > now);
        if tokens.len() >= MAX_TOKENS {
            if let Some(first) = tokens
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(t, _)| t.clone())
            {
                tokens.remove(&first);
            }
        }
        tokens.insert(token.clone(), now + ttl);
        token
    }

    /// Is `token` one of ours and still valid at `now`?
    pub fn check(&self, token: &str, now: SystemTime) -> Result<(), TokenProblem> {
        match self.lock().get(token) {
            None => Err(TokenProblem::Unknown),
            Some(expires) if *expires <= now => Err(TokenProblem::Expired),
            Some(_) => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SystemTime>> {
        // Every write is one insert or removal: a poisoned map is still whole.
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_belong_to_their_store() {
        let here = TokenStore::default();
        let there = TokenStore::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let token = here.issue(Duration::from_secs(60), t0);
        assert_eq!(here.check(&token, t0 + Duration::from_secs(59)), Ok(()));
        assert_eq!(
            here.check(&token, t0 + Duration::from_secs(60)),
            Err(TokenProblem::Expired)
        );
        assert_eq!(there.check(&token, t0), Err(TokenProblem::Unknown));
        assert_ne!(here.issue(Duration::from_secs(1), t0), token);
    }

    #[test]
    fn the_store_stays_bounded() {
        let s = TokenStore::default();
        let t0 = SystemTime::UNIX_EPOCH;
        let first = s.issue(Duration::from_secs(1), t0);
        for i in 0..MAX_TOKENS {
            s.issue(Duration::from_secs(10 + i as u64), t0);
        }
        assert_eq!(s.lock().len(), MAX_TOKENS);
        assert_eq!(s.check(&first, t0), Err(TokenProblem::Unknown));
    }
}
