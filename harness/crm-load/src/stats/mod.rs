//! Confidence intervals for what a run measures, shared by everything that reports or
//! judges a figure: percentiles of latency samples ([`quantile_interval`]), shares such as a
//! success rate ([`proportion_interval`]), means of repeated measurements
//! ([`mean_interval`]), and the stationarity test that ends a warm-up ([`warmup_end`]).
//!
//! # Why batches
//! Latencies of one open-loop run are not independent: a stall of the server delays a whole
//! burst of requests, so tail samples come in clumps. An interval that assumes independent
//! samples (the exact order-statistic interval, from the binomial distribution) is then too
//! narrow. Every interval here is therefore the wider of two:
//! - the **exact interval for independent samples** (binomial order statistics for a
//!   quantile, Wilson's interval for a share), right when samples are independent and never
//!   too wide then;
//! - a **batch-means interval**: the samples, in the order they were taken, are cut into
//!   [`BATCHES`] consecutive blocks (time slices of the run); the spread of a statistic
//!   between blocks measures its variance *including* the correlation inside each block,
//!   and Student's t with `BATCHES − 1` degrees of freedom turns it into an interval. For a
//!   quantile the batched statistic is the share of each block at or below the estimate
//!   (the empirical distribution function at the quantile, a mean, so unbiased however small
//!   the block), and the interval for that share is mapped back through the sorted samples
//!   (inverting the empirical distribution, as the Bahadur representation of a sample
//!   quantile allows).
//!
//! When the blocks disagree no more than independent samples would, the two agree; when a
//! stall puts most tail samples in one block, the batch interval is the wider and wins. Blocks
//! must be long compared with the correlation (a stall, its queue draining): with ten blocks
//! of a ≥ 5 s point each block is ≥ 0.5 s, long against the tens of milliseconds a queue takes
//! to drain below the knee. A point with fewer than [`MIN_BATCH`] samples per block gets
//! the independent interval only, and says so (`batched = false`).
//!
//! The alternatives considered: Lancet's test of independence with subsampling throws most
//! samples away at the rates here (a few hundred per second); a bootstrap over repeated runs
//! needs repeats that the time budget cannot pay for at every point.
//!
//! # Layout
//! - `quantile`: [`quantile_interval`], exact binomial ranks.
//! - `proportion`: [`proportion_interval`], [`mean_interval`].
//! - `trend`: the Mann–Kendall trend test and [`warmup_end`].

mod proportion;
mod quantile;
mod trend;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

pub use proportion::{Share, mean_interval, proportion_interval};
pub use quantile::{QuantileInterval, binomial_ranks, quantile_interval};
pub use trend::{Warmup, mann_kendall_z, warmup_end};

/// Blocks of the batch-means interval: the usual advice is 10 to 30; ten keeps blocks long
/// (≥ 0.5 s of a 5 s point), and t with 9 degrees of freedom costs 15% of width over the
/// normal quantile.
pub const BATCHES: usize = 10;

/// Fewest samples per block for the batch-means interval; below, blocks are too short to
/// carry the correlation and the interval for independent samples is used alone.
pub const MIN_BATCH: usize = 30;

/// The confidence level every interval of crm-bench is reported at.
pub const LEVEL: f64 = 0.95;

/// A two-sided interval `[lo, hi]` around an estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// True when the two intervals share no value: the only case a difference is called.
    pub fn separated_from(&self, other: &Interval) -> bool {
        self.hi < other.lo || other.hi < self.lo
    }

    /// Half the width relative to `estimate` (0 for a zero estimate).
    pub fn relative_half_width(&self, estimate: f64) -> f64 {
        if estimate == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / 2.0 / estimate.abs()
        }
    }
}

/// The standard normal quantile at `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Student's t quantile at `p` with `df` (> 0, need not be whole) degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    // Beyond this many degrees of freedom t is the normal to five digits (and statrs's
    // inversion slows down without bound as df grows).
    const NORMAL_FROM: f64 = 1e5;
    if !df.is_finite() || df >= NORMAL_FROM {
        return normal_quantile(p);
    }
    match StudentsT::new(0.0, 1.0, df.max(1e-9)) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => normal_quantile(p),
    }
}

/// Sample mean.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance (n − 1 in the denominator); 0 for fewer than two values.
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// The half-width of a batch-means interval for the mean of `blocks` (one value per block),
/// at `level`; `None` for fewer than two blocks.
fn batch_half_width(blocks: &[f64], level: f64) -> Option<f64> {
    if blocks.len() < 2 {
        return None;
    }
    let k = blocks.len() as f64;
    let t = t_quantile(1.0 - (1.0 - level) / 2.0, k - 1.0);
    Some(t * (variance(blocks) / k).sqrt())
}

/// `n` items cut into `k` consecutive blocks of nearly equal size: the bounds of block `b`.
fn block(n: usize, k: usize, b: usize) -> std::ops::Range<usize> {
    b * n / k..(b + 1) * n / k
}

#[cfg(test)]
mod tests;
