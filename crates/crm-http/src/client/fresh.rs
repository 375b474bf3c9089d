//! A circuit breaker that starts afresh when the upstream's active health checks see a
//! replica come back. A breaker alone learns of a recovery only by letting a trial call
//! through once its open period ends — a period that grows while the outage lasts (up to
//! 10 s in the gateway) — so after a restart it would keep refusing a service that is
//! already healthy again. The readiness checks know sooner; this lets them say so.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::upstream::Upstream;

/// A breaker `B` (cheap to clone: failsafe's state machines share their state) bound to the
/// health of one upstream.
pub struct FreshBreaker<B: Clone> {
    upstream: Arc<Upstream>,
    make: Box<dyn Fn() -> B + Send + Sync>,
    seen: AtomicU64,
    current: RwLock<B>,
}

impl<B: Clone> FreshBreaker<B> {
    pub fn new(upstream: Arc<Upstream>, make: impl Fn() -> B + Send + Sync + 'static) -> Self {
        let seen = AtomicU64::new(upstream.recoveries());
        let current = RwLock::new(make());
        FreshBreaker {
            upstream,
            make: Box::new(make),
            seen,
            current,
        }
    }

    /// The breaker to consult and report to for one call: a new, closed one if a replica
    /// has come back since the last call.
    pub fn get(&self) -> B {
        let now = self.upstream.recoveries();
        if self.seen.load(Ordering::Relaxed) != now {
            let mut current = self.current.write().expect("breaker lock");
            if self.seen.swap(now, Ordering::Relaxed) != now {
                *current = (self.make)();
            }
            return current.clone();
        }
        self.current.read().expect("breaker lock").clone()
    }
}
