//! Unit and property tests of the arrival schedules.

use super::*;
use proptest::prelude::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn a_constant_schedule_is_exactly_evenly_spaced() {
    let arrivals: Vec<_> = Schedule::constant(1000.0, secs(2.0)).arrivals().collect();
    assert_eq!(arrivals.len(), 2000);
    for (k, a) in arrivals.iter().enumerate() {
        assert_eq!(a.seq, k as u64);
        let want = Duration::from_micros(k as u64 * 1000);
        let diff = a.at.abs_diff(want);
        assert!(diff <= Duration::from_nanos(1), "arrival {k} at {:?}", a.at);
    }
}

#[test]
fn a_poisson_schedule_has_the_right_mean_and_dispersion() {
    let rate = 2000.0;
    let duration = 50.0;
    let times: Vec<f64> = Schedule::poisson(rate, secs(duration), 42)
        .arrivals()
        .map(|a| a.at.as_secs_f64())
        .collect();
    let n = times.len() as f64;
    let expected = rate * duration;
    // The count is Poisson(100 000): σ ≈ 316; 5σ bounds.
    assert!((n - expected).abs() < 5.0 * expected.sqrt(), "count {n}");

    // Inter-arrival gaps are Exp(rate): mean 1/rate, coefficient of variation 1.
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (gaps.len() - 1) as f64;
    let cv = var.sqrt() / mean;
    assert!((mean * rate - 1.0).abs() < 0.02, "mean gap {mean}");
    assert!((cv - 1.0).abs() < 0.03, "coefficient of variation {cv}");

    // Counts in 100 ms windows: variance / mean ≈ 1 (a uniform schedule would give 0).
    let mut counts = vec![0f64; (duration * 10.0) as usize];
    let last = counts.len() - 1;
    for t in &times {
        counts[((t * 10.0) as usize).min(last)] += 1.0;
    }
    let m = counts.iter().sum::<f64>() / counts.len() as f64;
    let v = counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (counts.len() - 1) as f64;
    assert!((v / m - 1.0).abs() < 0.3, "index of dispersion {}", v / m);
}

#[test]
fn the_same_seed_gives_the_same_poisson_arrivals_and_another_seed_others() {
    let a: Vec<_> = Schedule::poisson(500.0, secs(1.0), 7).arrivals().collect();
    let b: Vec<_> = Schedule::poisson(500.0, secs(1.0), 7).arrivals().collect();
    let c: Vec<_> = Schedule::poisson(500.0, secs(1.0), 8).arrivals().collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn a_linear_ramp_puts_a_quarter_of_its_requests_in_its_first_half() {
    // 0 → 1000/s over 2 s: 1000 requests, 250 of them in the first second.
    let profile = RateProfile::new().ramp(secs(2.0), 0.0, 1000.0);
    assert!((profile.expected_count() - 1000.0).abs() < 1e-9);
    let arrivals: Vec<_> = Schedule::new(profile, Spacing::Uniform)
        .arrivals()
        .collect();
    assert_eq!(arrivals.len(), 1000);
    let first_half = arrivals.iter().filter(|a| a.at < secs(1.0)).count();
    assert!((249..=251).contains(&first_half), "{first_half}");
}

#[test]
fn zero_rate_segments_send_nothing() {
    let profile = RateProfile::new()
        .step(secs(1.0), 0.0)
        .step(secs(1.0), 100.0)
        .step(secs(1.0), 0.0);
    let arrivals: Vec<_> = Schedule::new(profile, Spacing::Uniform)
        .arrivals()
        .collect();
    assert_eq!(arrivals.len(), 100);
    assert!(
        arrivals
            .iter()
            .all(|a| a.at >= secs(1.0) && a.at < secs(2.0))
    );
}

#[test]
fn invalid_profiles_are_refused() {
    assert!(RateProfile::new().validate().is_err());
    assert!(RateProfile::constant(-1.0, secs(1.0)).validate().is_err());
    assert!(
        RateProfile::constant(f64::NAN, secs(1.0))
            .validate()
            .is_err()
    );
    assert!(
        RateProfile::constant(1.0, Duration::ZERO)
            .validate()
            .is_err()
    );
    assert!(RateProfile::constant(1.0, secs(1.0)).validate().is_ok());
}

fn segment() -> impl Strategy<Value = Segment> {
    let duration = (100u64..3000).prop_map(Duration::from_millis);
    prop_oneof![
        (duration.clone(), 0.0..500.0f64)
            .prop_map(|(duration, rate)| Segment::Step { duration, rate }),
        (duration, 0.0..500.0f64, 0.0..500.0f64).prop_map(|(duration, from, to)| Segment::Ramp {
            duration,
            from,
            to
        }),
    ]
}

proptest! {
    #[test]
    fn an_evenly_spaced_profile_sends_its_integral(segments in prop::collection::vec(segment(), 1..6)) {
        let profile = RateProfile { segments };
        let total = profile.expected_count();
        let end = profile.duration();
        let arrivals: Vec<_> = Schedule::new(profile.clone(), Spacing::Uniform).arrivals().collect();
        prop_assert!((arrivals.len() as f64 - total).abs() <= 1.0, "{} vs {total}", arrivals.len());
        prop_assert!(arrivals.windows(2).all(|w| w[0].at <= w[1].at));
        prop_assert!(arrivals.iter().all(|a| a.at <= end));
        // Each arrival k is where the profile's integral reaches k.
        for a in arrivals.iter().step_by(17) {
            let y = profile.cumulative(a.at);
            prop_assert!((y - a.seq as f64).abs() < 1e-6 * (1.0 + y), "Λ({:?}) = {y}, k = {}", a.at, a.seq);
        }
    }

    #[test]
    fn a_poisson_profile_sends_about_its_integral(segments in prop::collection::vec(segment(), 1..6), seed in any::<u64>()) {
        let profile = RateProfile { segments };
        let total = profile.expected_count();
        let n = Schedule::new(profile, Spacing::Poisson { seed }).arrivals().count() as f64;
        // 6σ of a Poisson count, plus slack for tiny totals.
        prop_assert!((n - total).abs() <= 6.0 * total.sqrt() + 3.0, "{n} vs {total}");
    }
}
