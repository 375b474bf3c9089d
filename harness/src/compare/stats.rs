//! Welch's t interval for a difference of means (two samples of possibly different sizes
//! and variances), on the same statistics as every other interval of crm-bench
//! (`crm_load::stats`: Student's t quantile from `statrs`, means, variances).

pub(crate) use crm_load::stats::{mean, variance};

/// Student's t(0.975) at `df` degrees of freedom (Welch's df need not be whole).
pub(crate) fn t975(df: f64) -> f64 {
    crm_load::stats::t_quantile(0.975, df.max(1.0))
}

/// An estimate with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    pub(crate) estimate: f64,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}

impl Interval {
    pub(crate) fn map(self, f: impl Fn(f64) -> f64) -> Interval {
        Interval {
            estimate: f(self.estimate),
            lo: f(self.lo),
            hi: f(self.hi),
        }
    }
}

/// Welch's 95% interval for `mean(current) − mean(base)`; `None` unless both sides have at
/// least two samples (one sample says nothing about the noise).
pub(crate) fn welch(base: &[f64], current: &[f64]) -> Option<Interval> {
    if base.len() < 2 || current.len() < 2 {
        return None;
    }
    let (nb, nc) = (base.len() as f64, current.len() as f64);
    let (vb, vc) = (variance(base) / nb, variance(current) / nc);
    let d = mean(current) - mean(base);
    let se = (vb + vc).sqrt();
    if se == 0.0 {
        return Some(Interval {
            estimate: d,
            lo: d,
            hi: d,
        });
    }
    let df = (vb + vc).powi(2) / (vb.powi(2) / (nb - 1.0) + vc.powi(2) / (nc - 1.0));
    let half = t975(df) * se;
    Some(Interval {
        estimate: d,
        lo: d - half,
        hi: d + half,
    })
}

/// The ratio `current / base` of geometric means with its 95% interval: Welch's interval
/// on the logarithms, transformed back (latencies and rates are positive and skewed, and a
/// ratio is what the tolerances are stated in).
pub(crate) fn ratio(base: &[f64], current: &[f64]) -> Option<Interval> {
    let ln = |xs: &[f64]| -> Vec<f64> { xs.iter().map(|x| x.max(1e-9).ln()).collect() };
    welch(&ln(base), &ln(current)).map(|i| i.map(f64::exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_t_quantile_falls_from_small_samples_to_the_normal() {
        // Published table values.
        assert!((t975(1.0) - 12.706).abs() < 1e-3);
        assert!((t975(4.0) - 2.776).abs() < 1e-3);
        assert!((t975(30.0) - 2.042).abs() < 1e-3);
        assert!((t975(1e9) - 1.960).abs() < 1e-3);
        // Welch's fractional df lies between its neighbours.
        assert!(t975(2.5) < t975(2.0) && t975(2.5) > t975(3.0));
    }

    #[test]
    fn welch_matches_a_hand_computed_interval() {
        // means 10 and 12, variances 1 and 1, n = 3 each: se = sqrt(2/3), df = 4.
        let i = welch(&[9.0, 10.0, 11.0], &[11.0, 12.0, 13.0]).unwrap();
        let half = 2.776_445 * (2.0f64 / 3.0).sqrt();
        assert!((i.estimate - 2.0).abs() < 1e-9);
        assert!((i.lo - (2.0 - half)).abs() < 1e-5 && (i.hi - (2.0 + half)).abs() < 1e-5);
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
    }

    #[test]
    fn identical_samples_give_a_ratio_of_exactly_one() {
        let i = ratio(&[5.0, 5.0], &[5.0, 5.0]).unwrap();
        assert_eq!((i.lo, i.estimate, i.hi), (1.0, 1.0, 1.0));
    }
}
