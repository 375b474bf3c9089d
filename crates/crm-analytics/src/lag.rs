//! Event → projection lag: a fixed-bucket, lock-free histogram of how long events took from
//! `occurred_at` at their source to being committed into the projections here.
//!
//! Buckets are log-linear (as in HdrHistogram, without the dependency): every power of two
//! of microseconds is split into 32 equal buckets, so a reported percentile is at most ~3%
//! above the true value, and recording is one atomic add. Values are kept up to 2^36 µs
//! (~19 h); anything longer lands in the last bucket, its exact maximum still tracked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Sub-buckets per power of two: 2^5 = 32, i.e. ≤ 1/32 relative error.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Highest power of two tracked (2^36 µs ≈ 19 h).
const TOP_BIT: u32 = 36;
const BUCKETS: usize = (SUB + (TOP_BIT - SUB_BITS + 1) as u64 * SUB) as usize;
const MAX_TRACKED: u64 = (1 << (TOP_BIT + 1)) - 1;

/// The lag figures `GET /analytics/lag` answers with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LagReport {
    /// Events projected since the process started (or the last reset).
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Counts of lags per bucket, shared by the handler (writer) and the endpoints (readers).
pub struct LagHistogram {
    buckets: Box<[AtomicU64]>,
    max_micros: AtomicU64,
}

impl Default for LagHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn index(micros: u64) -> usize {
    let v = micros.min(MAX_TRACKED);
    if v < SUB {
        return v as usize;
    }
    let k = 63 - v.leading_zeros(); // the highest set bit, ≥ SUB_BITS
    let sub = (v >> (k - SUB_BITS)) - SUB; // 0..SUB within this power of two
    (SUB + u64::from(k - SUB_BITS) * SUB + sub) as usize
}

/// The highest value that falls into bucket `i`.
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let j = i - SUB;
    let shift = j / SUB;
    let lower = (SUB + j % SUB) << shift;
    lower + (1 << shift) - 1
}

impl LagHistogram {
    pub fn new() -> Self {
        LagHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_micros: AtomicU64::new(0),
        }
    }

    /// Records one lag.
    pub fn record(&self, lag: Duration) {
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.buckets[index(micros)].fetch_add(1, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// Forgets everything recorded, e.g. between two benchmark runs.
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
        self.max_micros.store(0, Ordering::Relaxed);
    }

    /// Count, p50, p99 and max. Reads race with concurrent records; each figure is still
    /// one that was true at some instant during the read, which is all a dashboard needs.
    pub fn report(&self) -> LagReport {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let max = self.max_micros.load(Ordering::Relaxed);
        let ms = |micros: u64| micros as f64 / 1000.0;
        LagReport {
            count,
            p50_ms: ms(percentile(&counts, count, 0.50).min(max)),
            p99_ms: ms(percentile(&counts, count, 0.99).min(max)),
            max_ms: ms(max),
        }
    }
}

/// The highest value of the bucket holding the `q`-th ranked sample (0 when empty).
fn percentile(counts: &[u64], total: u64, q: f64) -> u64 {
    if total == 0 {
        return 0;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return upper(i);
        }
    }
    upper(counts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_into_a_bucket_whose_bounds_hold_it() {
        let mut v = 0u64;
        while v < MAX_TRACKED {
            let i = index(v);
            assert!(i < BUCKETS, "{v} → {i}");
            assert!(
                upper(i) >= v,
                "{v} above its bucket's upper bound {}",
                upper(i)
            );
            assert!(
                i == 0 || upper(i - 1) < v,
                "{v} belongs to an earlier bucket"
            );
            // Relative width stays within 1/32.
            assert!((upper(i) - v) as f64 <= (v as f64 / SUB as f64).max(0.0) + 1.0);
            v = v * 9 / 8 + 1;
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        assert_eq!(upper(BUCKETS - 1), MAX_TRACKED);
    }

    #[test]
    fn percentiles_come_within_three_percent() {
        let h = LagHistogram::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let r = h.report();
        assert_eq!(r.count, 1000);
        assert!((500.0..=500.0 * 1.035).contains(&r.p50_ms), "{r:?}");
        assert!((990.0..=1000.0).contains(&r.p99_ms), "{r:?}");
        assert_eq!(r.max_ms, 1000.0);
        h.reset();
        assert_eq!(
            h.report(),
            LagReport {
                count: 0,
                p50_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0
            }
        );
    }

    #[test]
    fn small_lags_are_exact() {
        let h = LagHistogram::new();
        h.record(Duration::from_micros(7));
        let r = h.report();
        assert_eq!((r.count, r.p50_ms, r.p99_ms), (1, 0.007, 0.007));
    }
}
