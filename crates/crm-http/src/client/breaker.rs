//! The circuit breaker of every call edge, the service client's and the gateway's alike:
//! [`BreakerSettings`] say when it opens and for how long (the open periods follow the one
//! [`Backoff`] policy), and a [`FreshBreaker`] starts afresh when the upstream's active
//! health checks see a replica come back. A breaker alone learns of a recovery only by
//! letting a trial call through once its open period ends — a period that grows while the
//! outage lasts — so after a restart it would keep refusing a service that is already
//! healthy again. The readiness checks know sooner; this lets them say so.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crm_core::Backoff;
use crm_core::backoff::Delays;
use failsafe::failure_policy::{self, ConsecutiveFailures};
use failsafe::{Config, StateMachine};

use super::upstream::Upstream;

/// When the breaker opens and how long it stays open.
#[derive(Clone, Debug)]
pub struct BreakerSettings {
    /// Failures in a row (transport errors, timeouts, 5xx) that open it.
    pub consecutive_failures: u32,
    /// How long it stays open the first time; then it lets calls through (half-open).
    pub open_for: Duration,
    /// Each failed half-open trial doubles the time open, up to this.
    pub max_open_for: Duration,
}

/// A failsafe breaker whose open periods are [`BreakerSettings`]' backoff. (failsafe's own
/// backoffs count whole seconds; services fail and recover faster.)
pub type Breaker = StateMachine<ConsecutiveFailures<Delays>, ()>;

impl BreakerSettings {
    /// The open periods: doubling from `open_for` to `max_open_for`, without jitter.
    pub fn open_periods(&self) -> Backoff {
        Backoff::new(self.open_for, self.max_open_for)
    }

    /// A closed breaker.
    pub fn breaker(&self) -> Breaker {
        Config::new()
            .failure_policy(failure_policy::consecutive_failures(
                self.consecutive_failures.max(1),
                self.open_periods().delays(),
            ))
            .build()
    }

    /// A closed breaker bound to `upstream`'s health, started afresh on each recovery.
    pub fn fresh(&self, upstream: Arc<Upstream>) -> FreshBreaker<Breaker> {
        let settings = self.clone();
        FreshBreaker::new(upstream, move || settings.breaker())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_periods_double_from_open_for_up_to_the_cap() {
        let s = BreakerSettings {
            consecutive_failures: 1,
            open_for: Duration::from_millis(300),
            max_open_for: Duration::from_millis(1000),
        };
        let ms: Vec<u128> = s
            .open_periods()
            .delays()
            .take(4)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms, [300, 600, 1000, 1000]);
    }
}
