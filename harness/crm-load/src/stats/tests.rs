use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

const TRIALS: usize = 1000;

fn exponential(rng: &mut ChaCha8Rng) -> f64 {
    -(1.0 - rng.r#gen::<f64>()).ln()
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let (u, v): (f64, f64) = (1.0 - rng.r#gen::<f64>(), rng.r#gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn covered(i: &QuantileInterval, truth: f64) -> bool {
    i.lo <= truth && truth <= i.hi
}

#[test]
fn quantile_intervals_cover_an_exponential_distributions_quantiles_at_their_nominal_level() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for q in [0.5f64, 0.99] {
        let truth = -(1.0 - q).ln();
        let mut hits = 0;
        for _ in 0..TRIALS {
            let xs: Vec<f64> = (0..2000).map(|_| exponential(&mut rng)).collect();
            let i = quantile_interval(&xs, q, LEVEL).unwrap();
            assert!(i.batched && !i.open);
            hits += usize::from(covered(&i, truth));
        }
        let coverage = hits as f64 / TRIALS as f64;
        // 95% nominal; 1000 trials put ±1.4 points of sampling noise on it. The interval is
        // conservative by construction (the wider of two), but must not be uselessly so.
        assert!(
            (0.935..=0.995).contains(&coverage),
            "q {q}: coverage {coverage}"
        );
    }
}

#[test]
fn correlated_samples_fool_the_independent_interval_but_not_the_batched_one() {
    // Log-normal latencies driven by an AR(1) process (a slow request makes the next ones
    // slow): stationary log-latency N(0, 1), so the true q-quantile is exp(z_q).
    let phi: f64 = 0.95;
    let q = 0.99;
    let truth = normal_quantile(q).exp();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (mut independent, mut batched) = (0, 0);
    for _ in 0..TRIALS {
        let mut x = standard_normal(&mut rng);
        let xs: Vec<f64> = (0..4000)
            .map(|_| {
                x = phi * x + (1.0 - phi * phi).sqrt() * standard_normal(&mut rng);
                x.exp()
            })
            .collect();
        let i = quantile_interval(&xs, q, LEVEL).unwrap();
        batched += usize::from(covered(&i, truth));
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        let (l, u) = binomial_ranks(xs.len() as u64, q, LEVEL);
        let at = |r: u64| sorted[(r.clamp(1, 4000) - 1) as usize];
        independent += usize::from(at(l) <= truth && truth <= at(u));
    }
    let (independent, batched) = (
        independent as f64 / TRIALS as f64,
        batched as f64 / TRIALS as f64,
    );
    assert!(independent < 0.8, "independent coverage {independent}");
    assert!(batched >= 0.9, "batched coverage {batched}");
}

#[test]
fn the_exact_ranks_of_a_median_match_the_published_table() {
    // n = 100: the 95% interval of the median is [X(40), X(61)].
    assert_eq!(binomial_ranks(100, 0.5, 0.95), (40, 61));
    // Too few samples to bound a p99 from above.
    let (_, u) = binomial_ranks(50, 0.99, 0.95);
    assert_eq!(u, 51);
}

#[test]
fn a_p99_of_too_few_samples_says_its_upper_end_is_open() {
    let xs: Vec<f64> = (1..=50).map(f64::from).collect();
    let i = quantile_interval(&xs, 0.99, LEVEL).unwrap();
    assert!(i.open && !i.batched);
    assert_eq!((i.value, i.hi), (50.0, 50.0));
    assert!(i.relative_half_width().is_infinite());
    assert!(quantile_interval(&[], 0.5, LEVEL).is_none());
}

#[test]
fn a_stall_in_one_slice_widens_the_interval_beyond_the_independent_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut xs: Vec<f64> = (0..5000).map(|_| exponential(&mut rng)).collect();
    // A stall: 60 consecutive requests delayed by a draining queue.
    for (k, x) in xs[1000..1060].iter_mut().enumerate() {
        *x += 10.0 - k as f64 * 0.15;
    }
    let i = quantile_interval(&xs, 0.99, LEVEL).unwrap();
    assert!(i.n_eff < i.n as f64 / 2.0, "n_eff {}", i.n_eff);
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let (l, u) = binomial_ranks(5000, 0.99, LEVEL);
    let iid = sorted[u as usize - 1] - sorted[l as usize - 1];
    assert!(i.hi - i.lo > 1.5 * iid, "{} vs {iid}", i.hi - i.lo);
}

#[test]
fn share_intervals_cover_a_success_rate_at_their_nominal_level() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let p = 0.98;
    let mut hits = 0;
    for _ in 0..TRIALS {
        let xs: Vec<bool> = (0..1000).map(|_| rng.r#gen::<f64>() < p).collect();
        let s = proportion_interval(&xs, LEVEL).unwrap();
        hits += usize::from(s.lo <= p && p <= s.hi);
    }
    let coverage = hits as f64 / TRIALS as f64;
    assert!((0.935..=0.995).contains(&coverage), "coverage {coverage}");
}

#[test]
fn a_mean_of_repeats_gets_students_t_interval() {
    let (m, i) = mean_interval(&[9.0, 10.0, 11.0], 0.95).unwrap();
    let half = 4.302_65 * (1.0f64 / 3.0).sqrt();
    assert!((m - 10.0).abs() < 1e-12);
    assert!((i.lo - (10.0 - half)).abs() < 1e-3 && (i.hi - (10.0 + half)).abs() < 1e-3);
    assert!(mean_interval(&[1.0], 0.95).is_none());
    assert!((t_quantile(0.975, 1e9) - 1.96).abs() < 1e-3);
    assert!(
        (normal_quantile(0.975) - 1.959_964).abs() < 1e-5,
        "{}",
        normal_quantile(0.975)
    );
    assert!((t_quantile(0.975, 9.0) - 2.262_157).abs() < 1e-5);
}

#[test]
fn the_warm_up_ends_where_the_trend_stops() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Ten windows of a cooling system (latency falling), then a stationary one.
    let windows: Vec<f64> = (0..30)
        .map(|i| {
            let warm = if i < 10 { 40.0 - 3.5 * i as f64 } else { 5.0 };
            warm + exponential(&mut rng)
        })
        .collect();
    assert!(mann_kendall_z(&windows[..10]) < -3.0);
    let end = warmup_end(&windows, 2, 8, LEVEL).unwrap();
    assert!((5..=12).contains(&end), "ended at window {end}");
    let flat: Vec<f64> = (0..12).map(|_| 5.0 + exponential(&mut rng)).collect();
    assert!(warmup_end(&flat, 2, 8, LEVEL).unwrap() <= 4);
    assert_eq!(warmup_end(&flat[..5], 2, 8, LEVEL), None);
}
