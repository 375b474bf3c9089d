//! Intervals for a share (a success rate), batched as quantiles are, and for the mean of a
//! few repeated measurements (Student's t).

use serde::{Deserialize, Serialize};

use super::{BATCHES, Interval, MIN_BATCH, batch_half_width, block, normal_quantile};

/// A share of outcomes with its interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    pub n: u64,
}

/// The share of `true` among `outcomes` (in time order) at `level`: Wilson's interval for
/// independent outcomes, widened by the batch-means interval when failures come in clumps
/// (they do: a fault fails a burst of requests). `None` without outcomes.
pub fn proportion_interval(outcomes: &[bool], level: f64) -> Option<Share> {
    let n = outcomes.len();
    if n == 0 {
        return None;
    }
    let p = outcomes.iter().filter(|o| **o).count() as f64 / n as f64;
    let z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    let nf = n as f64;
    let centre = (p + z * z / (2.0 * nf)) / (1.0 + z * z / nf);
    let half = z / (1.0 + z * z / nf) * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt();
    let (mut lo, mut hi) = (centre - half, centre + half);
    if n >= BATCHES * MIN_BATCH {
        let shares: Vec<f64> = (0..BATCHES)
            .map(|b| {
                let r = block(n, BATCHES, b);
                let len = r.len() as f64;
                outcomes[r].iter().filter(|o| **o).count() as f64 / len
            })
            .collect();
        if let Some(h) = batch_half_width(&shares, level) {
            lo = lo.min(p - h);
            hi = hi.max(p + h);
        }
    }
    Some(Share {
        value: p,
        lo: lo.clamp(0.0, 1.0),
        hi: hi.clamp(0.0, 1.0),
        n: n as u64,
    })
}

/// The mean of repeated measurements with Student's t interval at `level`; `None` for fewer
/// than two (one measurement says nothing about its noise).
pub fn mean_interval(xs: &[f64], level: f64) -> Option<(f64, Interval)> {
    if xs.len() < 2 {
        return None;
    }
    let m = super::mean(xs);
    // The t interval of a mean is the batch-means interval with one measurement per block.
    let h = batch_half_width(xs, level)?;
    Some((
        m,
        Interval {
            lo: m - h,
            hi: m + h,
        },
    ))
}
