//! Distributions of times, as written in the input files (µs) and as sampled (ns).
//!
//! A measured distribution is given by its quantiles, `q = [[0.0, 80.0], [0.5, 120.0], …,
//! [1.0, 2400.0]]`, and sampled by inverting the piecewise-linear distribution function
//! through those points: exact at every given quantile, and never outside the measured
//! minimum and maximum. `fixed` and `exp` exist for the closed-form tests and for
//! what-if edits.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A distribution of a time in µs: exactly one of `q`, `fixed` or `exp`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistSpec {
    /// The measured mean, kept for the reader and for cross-checks; sampling uses `q`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// `[quantile, µs]` pairs from quantile 0 to quantile 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<Vec<(f64, f64)>>,
    /// Always this many µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<f64>,
    /// Exponential with this mean in µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<f64>,
}

impl DistSpec {
    pub fn fixed(us: f64) -> Self {
        DistSpec {
            fixed: Some(us),
            ..Default::default()
        }
    }

    pub fn exp(mean_us: f64) -> Self {
        DistSpec {
            exp: Some(mean_us),
            ..Default::default()
        }
    }

    /// What is wrong with it, if anything (the caller adds the key's path).
    pub(crate) fn problem(&self) -> Option<String> {
        let given = [self.q.is_some(), self.fixed.is_some(), self.exp.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Some("give exactly one of `q`, `fixed` or `exp`".into());
        }
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if let Some(v) = self.fixed.filter(|v| !ok(*v)) {
            return Some(format!("`fixed` must be zero or more µs, got {v}"));
        }
        if let Some(v) = self.exp.filter(|v| !(ok(*v) && *v > 0.0)) {
            return Some(format!("`exp` must be a positive mean in µs, got {v}"));
        }
        if let Some(m) = self.mean.filter(|v| !ok(*v)) {
            return Some(format!("`mean` must be zero or more µs, got {m}"));
        }
        let q = self.q.as_ref()?;
        if q.len() < 2 || q[0].0 != 0.0 || q[q.len() - 1].0 != 1.0 {
            return Some(
                "`q` needs at least two [quantile, µs] pairs, from quantile 0 to quantile 1".into(),
            );
        }
        for w in q.windows(2) {
            if w[1].0 <= w[0].0 || w[1].0.is_nan() {
                return Some(format!(
                    "`q` quantiles must increase: {} then {}",
                    w[0].0, w[1].0
                ));
            }
            if w[1].1 < w[0].1 {
                return Some(format!(
                    "`q` times must not decrease: {} µs at {} then {} µs at {}",
                    w[0].1, w[0].0, w[1].1, w[1].0
                ));
            }
        }
        q.iter()
            .find(|(_, v)| !ok(*v))
            .map(|(p, v)| format!("`q` time at quantile {p} must be zero or more µs, got {v}"))
    }

    /// The sampler; call only on a spec without [`DistSpec::problem`].
    pub(crate) fn compile(&self) -> Dist {
        if let Some(us) = self.fixed {
            Dist::Fixed(us * 1e3)
        } else if let Some(us) = self.exp {
            Dist::Exp(us * 1e3)
        } else {
            let q = self.q.as_deref().unwrap_or(&[]);
            Dist::Quantiles {
                p: q.iter().map(|(p, _)| *p).collect(),
                ns: q.iter().map(|(_, v)| v * 1e3).collect(),
            }
        }
    }
}

/// A compiled distribution; samples are nanoseconds.
#[derive(Clone, Debug)]
pub(crate) enum Dist {
    Fixed(f64),
    Exp(f64),
    Quantiles { p: Box<[f64]>, ns: Box<[f64]> },
}

impl Dist {
    pub(crate) fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Exp(mean) => -mean * (1.0 - rng.r#gen::<f64>()).ln(),
            Dist::Quantiles { p, ns } => {
                let u: f64 = rng.r#gen();
                // The segment [p[i], p[i+1]) holding u.
                let i = p.partition_point(|x| *x <= u).clamp(1, p.len() - 1) - 1;
                let (p0, p1) = (p[i], p[i + 1]);
                ns[i] + (ns[i + 1] - ns[i]) * (u - p0) / (p1 - p0)
            }
        }
    }

    /// The mean this sampler draws.
    #[cfg(test)]
    pub(crate) fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(v) | Dist::Exp(v) => *v,
            Dist::Quantiles { p, ns } => p
                .windows(2)
                .zip(ns.windows(2))
                .map(|(p, v)| (p[1] - p[0]) * (v[0] + v[1]) / 2.0)
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn quantiles(q: &[(f64, f64)]) -> DistSpec {
        DistSpec {
            q: Some(q.to_vec()),
            ..Default::default()
        }
    }

    #[test]
    fn quantile_samples_hit_the_given_quantiles() {
        let d = quantiles(&[(0.0, 100.0), (0.5, 200.0), (0.9, 1000.0), (1.0, 5000.0)]);
        assert_eq!(d.problem(), None);
        let d = d.compile();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut xs: Vec<f64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        // The share of samples at or below each given time is its quantile.
        let below = |ns: f64| xs.partition_point(|x| *x <= ns) as f64 / xs.len() as f64;
        assert!((below(200e3) - 0.5).abs() < 0.005, "{}", below(200e3));
        assert!((below(1000e3) - 0.9).abs() < 0.005, "{}", below(1000e3));
        assert!(xs[0] >= 100e3 && xs[xs.len() - 1] <= 5000e3);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean / d.mean() - 1.0).abs() < 0.01);
    }

    #[test]
    fn exponential_samples_have_the_mean() {
        let d = DistSpec::exp(250.0).compile();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mean = (0..200_000).map(|_| d.sample(&mut rng)).sum::<f64>() / 200_000.0;
        assert!((mean / 250e3 - 1.0).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn malformed_distributions_say_what_is_wrong() {
        let p = |d: DistSpec| d.problem().unwrap_or_default();
        assert!(p(DistSpec::default()).contains("exactly one"));
        assert!(p(quantiles(&[(0.1, 1.0), (1.0, 2.0)])).contains("quantile 0"));
        assert!(
            p(quantiles(&[(0.0, 1.0), (0.5, 3.0), (0.5, 4.0), (1.0, 5.0)])).contains("increase")
        );
        assert!(p(quantiles(&[(0.0, 5.0), (1.0, 2.0)])).contains("not decrease"));
        assert!(p(DistSpec::fixed(-1.0)).contains("zero or more"));
        assert!(p(DistSpec::exp(0.0)).contains("positive"));
    }
}
