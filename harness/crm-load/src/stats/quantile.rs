//! The interval of a quantile of recorded samples: exact binomial order statistics, widened
//! by batch means when the samples are correlated (see the module above).

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

use super::{BATCHES, MIN_BATCH, batch_half_width, block};

/// A sample quantile with its confidence interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantileInterval {
    /// The quantile, 0..1 (0.99 for p99).
    pub q: f64,
    /// The estimate: the sample at rank ⌈q·n⌉.
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    /// Too few samples above the quantile to bound it: `hi` is the largest sample and the
    /// true upper limit may lie beyond it.
    #[serde(default)]
    pub open: bool,
    /// Samples it rests on.
    pub n: u64,
    /// The batch-means interval was computed (enough samples per block).
    #[serde(default)]
    pub batched: bool,
    /// How many independent samples the interval is worth: `n` over the design effect
    /// (variance between blocks ÷ the variance independence implies); `n` when independent.
    #[serde(default)]
    pub n_eff: f64,
}

impl QuantileInterval {
    /// The interval as a pair.
    pub fn interval(&self) -> super::Interval {
        super::Interval {
            lo: self.lo,
            hi: self.hi,
        }
    }

    /// Half the width relative to the estimate; infinite when the upper end is open.
    pub fn relative_half_width(&self) -> f64 {
        if self.open {
            f64::INFINITY
        } else {
            self.interval().relative_half_width(self.value)
        }
    }
}

/// The ranks `(l, u)` (1-based, of `n` sorted samples) whose order statistics bound the
/// `q`-quantile with probability ≥ `level` for independent samples: the number of samples
/// below the true quantile is Binomial(n, q), and `[X(l), X(u)]` misses it only when that
/// count is below `l` or at least `u`, each at most (1 − level)/2 likely. `l` may be 0 (no
/// lower bound among the samples) and `u` may be `n + 1` (no upper bound).
pub fn binomial_ranks(n: u64, q: f64, level: f64) -> (u64, u64) {
    let tail = (1.0 - level) / 2.0;
    let Ok(b) = Binomial::new(q.clamp(0.0, 1.0), n) else {
        return (0, n + 1);
    };
    // P(B ≤ r) is non-decreasing in r: binary searches over 0..=n.
    let cdf = |r: i64| if r < 0 { 0.0 } else { b.cdf(r as u64) };
    // Largest l with P(B ≤ l − 1) ≤ tail.
    let (mut lo, mut hi) = (0i64, n as i64 + 1);
    while lo < hi {
        let mid = (lo + hi + 1) / 2;
        if cdf(mid - 1) <= tail {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let l = lo as u64;
    // Smallest u with P(B ≤ u − 1) ≥ 1 − tail.
    let (mut lo, mut hi) = (1i64, n as i64 + 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if cdf(mid - 1) >= 1.0 - tail {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (l, lo as u64)
}

/// The `q`-quantile of `samples` (in the order they were taken: time order) with its
/// interval at `level`; `None` without samples.
pub fn quantile_interval(samples: &[f64], q: f64, level: f64) -> Option<QuantileInterval> {
    let n = samples.len();
    if n == 0 {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    let value = sorted[rank - 1];
    let (mut l, mut u) = binomial_ranks(n as u64, q, level);
    let mut batched = false;
    let mut n_eff = n as f64;
    if n >= BATCHES * MIN_BATCH {
        // The share of each time block at or below the estimate.
        let shares: Vec<f64> = (0..BATCHES)
            .map(|b| {
                let r = block(n, BATCHES, b);
                let len = r.len() as f64;
                samples[r].iter().filter(|v| **v <= value).count() as f64 / len
            })
            .collect();
        if let Some(h) = batch_half_width(&shares, level) {
            batched = true;
            let centre = rank as f64 / n as f64;
            let lo_rank = ((centre - h) * n as f64).floor().max(0.0) as u64;
            let hi_rank = ((centre + h) * n as f64).ceil().min(n as f64 + 1.0) as u64;
            l = l.min(lo_rank);
            u = u.max(hi_rank);
            let iid = q * (1.0 - q) / n as f64;
            let between = super::variance(&shares) / BATCHES as f64;
            if iid > 0.0 && between > iid {
                n_eff = n as f64 * iid / between;
            }
        }
    }
    let at = |r: u64| sorted[(r.clamp(1, n as u64) - 1) as usize];
    Some(QuantileInterval {
        q,
        value,
        lo: at(l),
        hi: at(u),
        open: u > n as u64,
        n: n as u64,
        batched,
        n_eff,
    })
}
