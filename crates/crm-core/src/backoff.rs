//! The one backoff policy of every retry loop: exponential from a first delay, doubling per
//! retry, capped, and optionally jittered so that callers that failed together do not retry
//! together.
//!
//! Loops count their own failures and ask for the delay of the n-th retry
//! ([`Backoff::delay`]): a saga or a webhook delivery stores its attempt count and is resumed
//! later, and a worker loop resets its count when a round succeeds. Retry combinators take
//! the same delays as an iterator ([`Backoff::delays`], which `backon` accepts as a backoff).

use std::time::Duration;

use rand::Rng;

/// Delays `first × 2^(n−1)` for the n-th retry, at most `max`, each then scaled by a factor
/// drawn uniformly from `jitter` (`1.0..=1.0`: no jitter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The delay before the first retry.
    pub first: Duration,
    /// The cap before jitter; a cap below `first` counts as `first`.
    pub max: Duration,
    /// The lowest and highest factor applied to a delay.
    pub jitter: (f64, f64),
}

impl Backoff {
    /// A background worker (outbox relay, event consumer, webhook deliverer) whose database
    /// or broker failed: 100 ms doubling to 5 s, short enough to notice a recovery quickly.
    pub const WORKER: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

    /// Doubling from `first` up to `max`, without jitter.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            jitter: (1.0, 1.0),
        }
    }

    /// Each delay scaled by a factor drawn uniformly between `low` and `high`
    /// (`0.8, 1.2`: ±20%; `1.0, 2.0`: up to twice as long).
    pub const fn with_jitter(self, low: f64, high: f64) -> Self {
        assert!(0.0 <= low && low <= high, "jitter needs 0 <= low <= high");
        Backoff {
            jitter: (low, high),
            ..self
        }
    }

    /// The delay before the `retry`-th retry (counted from 1; 0 counts as 1), before jitter.
    pub fn base(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.first
            .saturating_mul(factor)
            .min(self.max.max(self.first))
    }

    /// The delay before the `retry`-th retry (counted from 1; 0 counts as 1), jittered.
    pub fn delay(&self, retry: u32) -> Duration {
        let base = self.base(retry);
        let (low, high) = self.jitter;
        if (low, high) == (1.0, 1.0) {
            return base;
        }
        base.mul_f64(rand::thread_rng().gen_range(low..=high))
    }

    /// The delays of the first, second, ... retry, without end (`take(n)` for at most n).
    pub fn delays(self) -> Delays {
        Delays {
            backoff: self,
            retries: 0,
        }
    }
}

/// [`Backoff::delays`]: an endless iterator, cloned to start over (as a breaker does).
#[derive(Clone, Debug)]
pub struct Delays {
    backoff: Backoff,
    retries: u32,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.retries = self.retries.saturating_add(1);
        Some(self.backoff.delay(self.retries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_from_the_first_up_to_the_cap() {
        let b = Backoff::new(MS * 100, MS * 1000);
        let ms: Vec<u128> = (0..=6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(ms, [100, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX), b.max);
        let from_iter: Vec<Duration> = b.delays().take(3).collect();
        assert_eq!(from_iter, [MS * 100, MS * 200, MS * 400]);
    }

    #[test]
    fn a_cap_below_the_first_delay_keeps_the_first() {
        let b = Backoff::new(MS * 50, MS * 10);
        assert_eq!(b.delay(1), MS * 50);
        assert_eq!(b.delay(5), MS * 50);
    }

    #[test]
    fn jitter_stays_within_its_factors_and_varies() {
        let b = Backoff::new(MS * 100, MS * 400).with_jitter(0.8, 1.2);
        for retry in 1..=5 {
            let base = b.base(retry).as_secs_f64();
            let seen: Vec<f64> = (0..200).map(|_| b.delay(retry).as_secs_f64()).collect();
            assert!(
                seen.iter()
                    .all(|d| *d >= base * 0.8 - 1e-9 && *d <= base * 1.2 + 1e-9),
                "retry {retry}: {seen:?} vs {base}"
            );
            assert!(seen.iter().any(|d| (d - seen[0]).abs() > 1e-9));
        }
    }

    #[test]
    #[should_panic(expected = "jitter needs")]
    fn jitter_factors_out_of_order_are_refused() {
        let _ = Backoff::new(MS, MS).with_jitter(1.2, 0.8);
    }
}
