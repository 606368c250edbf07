//! [`Oracle`]: `expect` with memory. Random calls repeat, and so do the options
//! they meet, so answers are kept by (world, call, auth) in a bounded LRU map; a
//! hit costs a clone of the remembered expectation. As pure as `expect`: the same
//! inputs give the same answer whether it is remembered or not.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;

use super::{expect, Auth, Expectation, World};
use crate::spec::Spec;
use crate::wire::Call;

/// One table's oracle with a memory of its answers. Shareable between threads;
/// the lock is held only to look up and to store, never while evaluating.
pub struct Oracle {
    spec: Arc<Spec>,
    memo: Mutex<Memo>,
}

struct Memo {
    /// By a hash of the inputs; each entry keeps its inputs, so a collision is a
    /// miss, never a wrong answer.
    entries: LruCache<u64, Remembered>,
    hits: u64,
    misses: u64,
}

struct Remembered {
    world: World,
    call: Call,
    auth: Auth,
    expectation: Expectation,
}

/// How the memory has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
    /// Answers remembered now (never more than the capacity).
    pub len: usize,
    pub capacity: usize,
}

impl Oracle {
    /// Answers remembered by default: a random phase's repeats fall within it, and a
    /// remembered answer is a few kilobytes, so the memory stays a few megabytes.
    pub const DEFAULT_CAPACITY: usize = 1024;

    pub fn new(spec: Arc<Spec>) -> Self {
        Self::with_capacity(spec, Self::DEFAULT_CAPACITY)
    }

    /// An oracle remembering at most `capacity` answers (at least one).
    pub fn with_capacity(spec: Arc<Spec>, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Oracle {
            spec,
            memo: Mutex::new(Memo {
                entries: LruCache::new(capacity),
                hits: 0,
                misses: 0,
            }),
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// What [`expect`] answers for this table, remembered.
    pub fn expect(&self, world: &World, call: &Call, auth: Auth) -> Expectation {
        let key = key(world, call, auth);
        {
            let mut memo = self.lock();
            let found = memo
                .entries
                .get(&key)
                .filter(|r| r.auth == auth && r.world == *world && r.call == *call)
                .map(|r| r.expectation.clone());
            if let Some(expectation) = found {
                memo.hits += 1;
                return expectation;
            }
            memo.misses += 1;
        }
        let expectation = expect(&self.spec, world, call, auth);
        self.lock().entries.put(
            key,
            Remembered {
                world: world.clone(),
                call: call.clone(),
                auth,
                expectation: expectation.clone(),
            },
        );
        expectation
    }

    pub fn stats(&self) -> MemoStats {
        let memo = self.lock();
        MemoStats {
            hits: memo.hits,
            misses: memo.misses,
            len: memo.entries.len(),
            capacity: memo.entries.cap().get(),
        }
    }

    /// The memory is consistent whatever a panicking holder was doing (each step
    /// is one map operation), so a poisoned lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(world: &World, call: &Call, auth: Auth) -> u64 {
    let mut h = DefaultHasher::new();
    world.hash(&mut h);
    call.hash(&mut h);
    auth.hash(&mut h);
    h.finish()
}
