use std::future::Future;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// An M/M/1 queue served at `MU` per second, simulated request by request (Lindley's
/// recursion over Poisson arrivals, so a point's latencies are autocorrelated as a real
/// queue's are), measured with random stalls: in a share of the probes the measuring side
/// stalls once for 50–150 ms (the load generator descheduled, a hiccup of the machine), and
/// every request of that moment is held until it ends. The stalls are noise of the
/// measurement, not of the queue, so the knee stays the queue's.
struct Queue {
    rng: ChaCha8Rng,
    stall_chance: f64,
}

const MU: f64 = 400.0;
const SLO_S: f64 = 0.05;
/// p99 of an M/M/1 sojourn time is ln(100) / (μ − λ): the SLO is met up to this rate.
fn true_knee() -> f64 {
    MU - 100f64.ln() / SLO_S
}

fn slo() -> Slo {
    Slo {
        p99_us: SLO_S * 1e6,
        max_error_rate: 0.01,
    }
}

impl Queue {
    /// A point as the sweep measures one: adaptive, from 4 s until p99's interval is within
    /// ±10% or 20 s, after a 1 s warm-up (checked at 4, 10, 20 s).
    fn observe(&mut self, rate: f64) -> Observation {
        let (warm, min, max) = (1.0, 4.0, 20.0);
        let stall = (self.rng.r#gen::<f64>() < self.stall_chance).then(|| {
            let at = warm + self.rng.r#gen::<f64>() * 8.0;
            (at, at + 0.05 + 0.1 * self.rng.r#gen::<f64>())
        });
        let exp = |rng: &mut ChaCha8Rng, rate: f64| -(1.0 - rng.r#gen::<f64>()).ln() / rate;
        let (mut t, mut wait) = (0.0, 0.0f64);
        // (intended time, latency µs)
        let mut sojourns: Vec<(f64, f64)> = Vec::new();
        while t < warm + max {
            let service = exp(&mut self.rng, MU);
            let held = match stall {
                Some((from, until)) if t >= from && t < until => until - t,
                _ => 0.0,
            };
            if t >= warm {
                sojourns.push((t, (wait + service + held) * 1e6));
            }
            // Lindley: the next arrival waits for what is left of this one's sojourn.
            let gap = exp(&mut self.rng, rate);
            t += gap;
            wait = (wait + service - gap).max(0.0);
        }
        let mut until = warm + min;
        loop {
            let xs: Vec<f64> = sojourns
                .iter()
                .take_while(|s| s.0 < until)
                .map(|s| s.1)
                .collect();
            let precise = crm_load::stats::quantile_interval(&xs, 0.99, 0.95)
                .is_some_and(|q| q.relative_half_width() <= 0.10);
            if precise || until >= warm + max {
                return observation(rate, &xs);
            }
            until = (until * 2.0).min(warm + max);
        }
    }
}

fn observation(rate: f64, samples: &[f64]) -> Observation {
    let q = crm_load::stats::quantile_interval(samples, 0.99, 0.95).expect("samples");
    Observation {
        rate,
        p99_us: q.value,
        p99_lo_us: q.lo,
        p99_hi_us: if q.open { f64::INFINITY } else { q.hi },
        errors: 0.0,
        errors_lo: 0.0,
        errors_hi: 0.0,
    }
}

impl Probe for Queue {
    async fn probe(&mut self, rate: f64) -> anyhow::Result<Observation> {
        Ok(self.observe(rate))
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn isotonic_regression_pools_violators_by_weight() {
    assert_eq!(
        isotonic(&[1.0, 3.0, 2.0, 4.0], &[1.0; 4]),
        [1.0, 2.5, 2.5, 4.0]
    );
    assert_eq!(isotonic(&[5.0, 1.0], &[3.0, 1.0]), [4.0, 4.0]);
    assert_eq!(isotonic(&[], &[]), Vec::<f64>::new());
}

#[test]
fn one_lucky_point_above_the_knee_does_not_move_it() {
    let at = |rate: f64, p99_ms: f64| Observation {
        rate,
        p99_us: p99_ms * 1e3,
        p99_lo_us: p99_ms * 0.9e3,
        p99_hi_us: p99_ms * 1.1e3,
        errors: 0.0,
        errors_lo: 0.0,
        errors_hi: 0.0,
    };
    let obs = [
        at(100.0, 10.0),
        at(200.0, 30.0),
        at(300.0, 80.0),
        at(350.0, 120.0),
        // Lucky: a quiet moment of the machine.
        at(400.0, 40.0),
        at(450.0, 300.0),
    ];
    let k = estimate(&obs, slo());
    let r = k.rate.unwrap();
    assert!(r > 200.0 && r < 300.0, "knee {r}");
    assert!(k.hi < 400.0, "{k:?}");
    let none = estimate(&[at(100.0, 200.0)], slo());
    assert_eq!(none.rate, None);
    let all = estimate(&[at(100.0, 5.0), at(200.0, 6.0)], slo());
    assert!(all.hi_open && all.rate == Some(200.0));
}

#[test]
fn the_knee_of_a_noisy_queue_lies_within_the_reported_interval_in_95_percent_of_trials() {
    let truth = true_knee();
    let trials = 200;
    let (mut covered, mut errors) = (0, Vec::new());
    for seed in 0..trials {
        let mut q = Queue {
            rng: ChaCha8Rng::seed_from_u64(seed),
            stall_chance: 0.3,
        };
        let prior = [100.0, 200.0, 400.0].map(|r| q.observe(r)).to_vec();
        let s = Search {
            low: 50.0,
            high: 800.0,
            budget: 6,
            precision: 0.03,
        };
        let (k, obs) = block_on(search(&mut q, slo(), s, prior)).unwrap();
        assert!(obs.len() <= 9);
        covered += usize::from(k.lo <= truth && truth <= k.hi);
        errors.push((k.rate.unwrap_or(0.0) - truth).abs() / truth);
    }
    let coverage = covered as f64 / trials as f64;
    errors.sort_by(f64::total_cmp);
    eprintln!(
        "coverage {coverage}, median error {}",
        errors[errors.len() / 2]
    );
    assert!(coverage >= 0.95, "coverage {coverage}");
    assert!(
        errors[errors.len() / 2] < 0.05,
        "median error {}",
        errors[errors.len() / 2]
    );
}
