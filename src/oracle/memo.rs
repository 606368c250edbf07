//! [`Oracle`]: `expect` with memory. Random calls repeat, so the part of an
//! expectation that does not depend on the instance's current options (a
//! [`Plan`]) is kept by (call, region, instance, instance state) in a bounded LRU
//! map; a repeated call costs only laying the current options under the plan's
//! successes. As pure as `expect`: the same inputs give the same answer whether
//! the plan is remembered or not.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;

use super::plan::Plan;
use super::{expect, Auth, Expectation, World};
use crate::spec::Spec;
use crate::wire::Call;

/// One table's oracle with a memory of its plans. Shareable between threads; the
/// lock is held only to look up and to store, never while evaluating.
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
    call: Call,
    region: String,
    instance: String,
    state: String,
    plan: Arc<Plan>,
}

impl Remembered {
    fn is_for(&self, world: &World, call: &Call) -> bool {
        self.call == *call
            && self.region == world.region
            && self.instance == world.instance.id
            && self.state == world.instance.state
    }
}

/// How the memory has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
    /// Plans remembered now (never more than the capacity).
    pub len: usize,
    pub capacity: usize,
}

impl Oracle {
    /// Plans remembered by default. A plan holds a call's outcomes once per
    /// distinct set of parameter rows (a few kilobytes, tens for the largest), so
    /// the memory stays within a few megabytes.
    pub const DEFAULT_CAPACITY: usize = 512;

    pub fn new(spec: Arc<Spec>) -> Self {
        Self::with_capacity(spec, Self::DEFAULT_CAPACITY)
    }

    /// An oracle remembering at most `capacity` plans (at least one).
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

    /// What [`expect`] answers for this table.
    pub fn expect(&self, world: &World, call: &Call, auth: Auth) -> Expectation {
        if auth != Auth::Valid {
            // A refused signature is answered whatever the call: nothing to keep.
            return expect(&self.spec, world, call, auth);
        }
        let key = key(world, call);
        let found = {
            let mut memo = self.lock();
            let found = memo
                .entries
                .get(&key)
                .filter(|r| r.is_for(world, call))
                .map(|r| r.plan.clone());
            match found {
                Some(_) => memo.hits += 1,
                None => memo.misses += 1,
            }
            found
        };
        let plan = match found {
            Some(plan) => plan,
            None => {
                let plan = Arc::new(Plan::new(&self.spec, world, call));
                self.lock().entries.put(
                    key,
                    Remembered {
                        call: call.clone(),
                        region: world.region.clone(),
                        instance: world.instance.id.clone(),
                        state: world.instance.state.clone(),
                        plan: plan.clone(),
                    },
                );
                plan
            }
        };
        plan.expectation(&world.instance.options)
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

/// The inputs a plan depends on: everything but the instance's options.
fn key(world: &World, call: &Call) -> u64 {
    let mut h = DefaultHasher::new();
    call.hash(&mut h);
    world.region.hash(&mut h);
    world.instance.id.hash(&mut h);
    world.instance.state.hash(&mut h);
    h.finish()
}
