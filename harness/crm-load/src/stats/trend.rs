//! The end of a warm-up, by a test rather than a fixed time: the Mann–Kendall test for a
//! monotonic trend, applied to the medians of consecutive windows of the run.
//!
//! A warming system (cold caches and connection pools, a JIT-less but page-faulting
//! process, a queue left from seeding) shows a trend in its latency; a stationary one does
//! not. Mann–Kendall is rank-based, so a few slow requests cannot fake or hide a trend, and
//! it needs no model of the latency's distribution. The warm-up ends at the first window
//! whose stretch of the next few windows shows no trend; with little data its power is low,
//! which is the right bias: a trend too small to tell from the noise of a few windows does
//! not matter against that noise either.

use serde::{Deserialize, Serialize};

use super::normal_quantile;

/// How a warm-up ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    /// Seconds from the run's start.
    pub end_s: f64,
    /// False when no stationary stretch was found before the cap (the warm-up then ends at
    /// the cap and the point is flagged).
    pub stationary: bool,
}

/// The Mann–Kendall statistic of `xs` (in time order) as a standard normal score: positive
/// for a rising series, negative for a falling one (continuity-corrected; ties add nothing).
pub fn mann_kendall_z(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 3 {
        return 0.0;
    }
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += match xs[j].partial_cmp(&xs[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let nf = n as f64;
    let var = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let s = s as f64;
    (s - s.signum()) / var.sqrt()
}

/// The first window `c ≥ min_start` such that the `need` windows from `c` on show no trend
/// at `level` (two-sided); `None` while there is no such window yet. A fixed stretch rather
/// than everything since `c`: a long stationary tail would otherwise outvote a transient
/// still inside the stretch.
pub fn warmup_end(windows: &[f64], min_start: usize, need: usize, level: f64) -> Option<usize> {
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let need = need.max(3);
    (min_start..windows.len())
        .take_while(|c| windows.len() - c >= need)
        .find(|&c| mann_kendall_z(&windows[c..c + need]).abs() <= z)
}
