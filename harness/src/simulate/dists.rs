//! Distributions between the breakdown's form (`Dist{mean, q}` at fixed quantiles) and
//! crm-sim's (`DistSpec`): conversion, pooling several measurements of one thing, and the
//! mean the simulator will actually sample.

use crm_sim::DistSpec;

use crate::results::breakdown::Dist;

/// A measured distribution as crm-sim reads it: the same quantiles, made valid (times below
/// zero raised to zero, non-decreasing, quantile 0 and 1 present). `None` when it is all
/// zeros (nothing to spend).
pub fn spec(d: &Dist) -> Option<DistSpec> {
    let mut q: Vec<(f64, f64)> =
        d.q.iter()
            .filter(|(p, v)| p.is_finite() && v.is_finite() && (0.0..=1.0).contains(p))
            .map(|(p, v)| (*p, v.max(0.0)))
            .collect();
    q.sort_by(|a, b| a.0.total_cmp(&b.0));
    q.dedup_by(|b, a| a.0 == b.0);
    if q.is_empty() || q.iter().all(|(_, v)| *v == 0.0) {
        return None;
    }
    let mut top = 0.0f64;
    for p in &mut q {
        top = top.max(p.1);
        p.1 = top;
    }
    if q[0].0 > 0.0 {
        q.insert(0, (0.0, q[0].1));
    }
    if q[q.len() - 1].0 < 1.0 {
        let last = q[q.len() - 1].1;
        q.push((1.0, last));
    }
    Some(DistSpec {
        mean: Some(d.mean.max(0.0)),
        q: Some(q),
        ..Default::default()
    })
}

/// Several measurements of one distribution pooled into one, weighted: each quantile is the
/// weighted mean of theirs (quantile averaging keeps the shape where a mixture of a few
/// listed quantiles could not), the mean the weighted mean.
pub fn pool(parts: &[(&Dist, f64)]) -> Dist {
    let total: f64 = parts.iter().map(|(_, w)| *w).sum();
    if parts.is_empty() || total <= 0.0 {
        return Dist::default();
    }
    if parts.len() == 1 {
        return parts[0].0.clone();
    }
    let levels: Vec<f64> = parts[0].0.q.iter().map(|(p, _)| *p).collect();
    let q = levels
        .iter()
        .map(|&p| {
            let v: f64 = parts.iter().map(|(d, w)| d.at(p) * w).sum::<f64>() / total;
            (p, v)
        })
        .collect();
    Dist {
        mean: parts.iter().map(|(d, w)| d.mean * w).sum::<f64>() / total,
        q,
    }
}

/// The mean crm-sim samples from `d`: for quantiles, the piecewise-linear distribution's
/// (which is what the model spends, not the listed `mean`).
pub fn sampled_mean(d: &DistSpec) -> f64 {
    if let Some(v) = d.fixed {
        return v;
    }
    if let Some(v) = d.exp {
        return v;
    }
    match &d.q {
        Some(q) => q
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum(),
        None => 0.0,
    }
}

/// `d` with every time multiplied by `f`.
pub fn scaled(d: &DistSpec, f: f64) -> DistSpec {
    DistSpec {
        mean: d.mean.map(|v| v * f),
        q: d.q
            .as_ref()
            .map(|q| q.iter().map(|(p, v)| (*p, v * f)).collect()),
        fixed: d.fixed.map(|v| v * f),
        exp: d.exp.map(|v| v * f),
    }
}

/// The time at quantile `p` of `d` (linear between listed quantiles; the mean of `exp` and
/// the value of `fixed` are returned as they are for any `p`).
pub fn quantile(d: &DistSpec, p: f64) -> f64 {
    if let Some(v) = d.fixed.or(d.exp) {
        return v;
    }
    let Some(q) = &d.q else { return 0.0 };
    for w in q.windows(2) {
        if p <= w[1].0 {
            let span = w[1].0 - w[0].0;
            let t = if span > 0.0 { (p - w[0].0) / span } else { 1.0 };
            return w[0].1 + t * (w[1].1 - w[0].1);
        }
    }
    q.last().map_or(0.0, |x| x.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(mean: f64, q: &[(f64, f64)]) -> Dist {
        Dist {
            mean,
            q: q.to_vec(),
        }
    }

    #[test]
    fn a_measured_distribution_is_made_valid_for_the_simulator() {
        let d = dist(10.0, &[(0.0, -5.0), (0.5, 12.0), (0.9, 11.0), (1.0, 30.0)]);
        let s = spec(&d).unwrap();
        assert_eq!(
            s.q.unwrap(),
            vec![(0.0, 0.0), (0.5, 12.0), (0.9, 12.0), (1.0, 30.0)]
        );
        assert!(spec(&dist(0.0, &[(0.0, 0.0), (1.0, 0.0)])).is_none());
    }

    #[test]
    fn pooling_averages_quantiles_by_weight_and_the_sampled_mean_integrates() {
        let a = dist(10.0, &[(0.0, 0.0), (1.0, 20.0)]);
        let b = dist(40.0, &[(0.0, 20.0), (1.0, 60.0)]);
        let p = pool(&[(&a, 3.0), (&b, 1.0)]);
        assert_eq!(p.q, vec![(0.0, 5.0), (1.0, 30.0)]);
        assert!((p.mean - 17.5).abs() < 1e-9);
        let s = spec(&p).unwrap();
        assert!((sampled_mean(&s) - 17.5).abs() < 1e-9);
        assert!((quantile(&s, 0.5) - 17.5).abs() < 1e-9);
    }
}
