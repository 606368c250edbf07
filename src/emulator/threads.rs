//! The threads that serve the emulator's connections: one single-threaded runtime
//! per core, each connection served from start to end on one of them (taken in
//! turn). A request and its answer then never wake another thread: with a load
//! generator or the suite on the same cores, the multi-threaded scheduler's
//! hand-offs cost more than the spread gives (benches/compare.sh).

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// The connection threads. Dropping it ends them, and with them every connection
/// still served there.
pub struct ConnectionThreads {
    handles: Vec<Handle>,
    next: usize,
    /// Dropped with the pool: each thread's runtime returns and drops its tasks.
    _stop: Vec<oneshot::Sender<()>>,
}

impl ConnectionThreads {
    /// One thread per core this process may use.
    pub fn per_core() -> std::io::Result<Self> {
        let n = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::start(n)
    }

    /// `n` threads (at least one), each with a runtime of its own.
    pub fn start(n: usize) -> std::io::Result<Self> {
        let mut handles = Vec::new();
        let mut stop = Vec::new();
        for i in 0..n.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let (tx, rx) = oneshot::channel::<()>();
            handles.push(runtime.handle().clone());
            stop.push(tx);
            std::thread::Builder::new()
                .name(format!("imds-conform-conn-{i}"))
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = rx.await;
                    });
                })?;
        }
        Ok(ConnectionThreads {
            handles,
            next: 0,
            _stop: stop,
        })
    }

    /// The runtime the next connection goes to.
    pub fn next_handle(&mut self) -> &Handle {
        let i = self.next % self.handles.len();
        self.next = self.next.wrapping_add(1);
        &self.handles[i]
    }
}
