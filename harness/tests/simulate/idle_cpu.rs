//! Less CPU per request under load than alone: a report made from a known model whose
//! monolith burns 0.6 ms of CPU waking up when a request finds it idle gives, calibrated on
//! four light-load rates with `idle_cpu`, the held-out CPU per request near saturation as
//! the "measured" run has it; the straight line through the same points charges the
//! light-load cost at every rate and misses it.

use crm_bench::simulate::{self, Options, synthetic};
use crm_sim::input::calibration::IdleWake;

use super::{known, spec};

#[test]
fn a_cpu_wake_is_fitted_and_carries_the_cpu_per_request_to_saturation() {
    let mut k = known();
    k.micro = None;
    k.monolith
        .as_mut()
        .unwrap()
        .processes
        .get_mut("monolith")
        .unwrap()
        .idle_wake = Some(IdleWake {
        us: 600.0,
        tau_ms: 5.0,
        cpu: 1.0,
    });
    let spec = synthetic::Spec {
        rates: vec![100.0, 200.0, 300.0, 450.0, 1000.0],
        duration_s: 38.0,
        slo_p99_us: 50_000,
        ..spec(true)
    };
    let results = synthetic::report(&k, &spec).expect("the synthetic report simulates");
    let cpu_error_at = |idle_cpu: bool, rate: f64| {
        let opts = Options {
            points: 4,
            idle_cpu,
            ..Options::default()
        };
        let cal = simulate::calibrate(&results, "synthetic", &opts).unwrap();
        for note in cal.notes.iter().filter(|n| n.contains("wake")) {
            eprintln!("note: {note}");
        }
        let wake = cal.calibration.monolith.as_ref().unwrap().processes["monolith"]
            .idle_wake
            .clone();
        let check = simulate::validate::check(&results, &cal);
        let row = check.archs[0]
            .rows
            .iter()
            .find(|r| r.metric == "CPU per request" && r.offered_rps == rate)
            .expect("a CPU row")
            .clone();
        assert!(!row.held_in);
        eprintln!(
            "idle_cpu {idle_cpu}: CPU per request at {rate} req/s measured {:?} predicted {:?}",
            row.measured, row.predicted
        );
        (row.error().unwrap(), wake)
    };
    let (line, none) = cpu_error_at(false, 1000.0);
    assert!(none.is_none());
    let (fitted, wake) = cpu_error_at(true, 1000.0);
    let wake = wake.expect("a wake fitted on the monolith");
    assert_eq!(wake.cpu, 1.0);
    // The wake comes back (the monolith is visited once per request).
    assert!((wake.us - 600.0).abs() <= 90.0, "{wake:?}");
    assert!((2.0..=10.0).contains(&wake.tau_ms), "{wake:?}");
    assert!(
        fitted.abs() <= 0.07,
        "with the wake, CPU per request at 1000 req/s off by {:.1}%",
        fitted * 100.0
    );
    assert!(
        line > 0.05 && line > 3.0 * fitted.abs(),
        "the straight line should overcharge it clearly: {:.1}% vs {:.1}%",
        line * 100.0,
        fitted * 100.0
    );
}
