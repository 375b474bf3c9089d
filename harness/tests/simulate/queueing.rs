//! Queueing counted once: spans that already hold the wait for a core at the held-in points
//! (here: every span and statement of the monolith 40% longer than the work it did, as
//! contention makes them, while the requests' end-to-end times are what they were) would
//! have the model add its own queueing on top; the calibration takes the difference out of
//! the waits, so the model answers the held-in points as measured, with the same CPU.

use crm_bench::simulate::validate::per_op;
use crm_bench::simulate::{self, Options};

use super::{known, monolith_breakdowns, spec};

/// How much longer the spans are than the work in them.
const INFLATED: f64 = 1.4;

/// The monolith's get_company at the held-in points: (simulated, measured) means, µs.
fn held_in_means(results: &crm_bench::results::Results, opts: &Options) -> Vec<(f64, f64)> {
    let cal = simulate::calibrate(results, "synthetic", opts).unwrap();
    per_op::per_op(results, &cal)
        .into_iter()
        .filter(|r| r.held_in && r.arch.to_string() == "monolith" && r.op == "get_company")
        .map(|r| (r.simulated_us.unwrap(), r.all_us))
        .collect()
}

#[test]
fn waits_that_hold_the_models_own_queueing_are_taken_out_at_the_held_in_points() {
    let k = known();
    let mut results =
        crm_bench::simulate::synthetic::report(&k, &spec(true)).expect("the synthetic report");
    for b in monolith_breakdowns(&mut results) {
        for n in b
            .ops
            .values_mut()
            .flat_map(|o| &mut o.shapes)
            .flat_map(|s| &mut s.nodes)
        {
            for d in [&mut n.self_us, &mut n.db_us] {
                d.mean *= INFLATED;
                d.q.iter_mut().for_each(|(_, v)| *v *= INFLATED);
            }
        }
    }
    let as_measured = Options {
        measured_waits: true,
        ..Options::default()
    };
    let counted_twice = held_in_means(&results, &as_measured);
    let once = held_in_means(&results, &Options::default());
    assert_eq!((counted_twice.len(), once.len()), (3, 3));
    let err = |v: &[(f64, f64)]| -> f64 {
        let (s, m) = v.iter().fold((0.0, 0.0), |a, (s, m)| (a.0 + s, a.1 + m));
        s / m - 1.0
    };
    println!(
        "get_company, monolith, held in: kept as measured {:+.1}%, counted once {:+.1}%",
        100.0 * err(&counted_twice),
        100.0 * err(&once)
    );
    // Kept as measured, the model is over the measured mean by the spans' excess.
    assert!(
        err(&counted_twice) > 0.15,
        "kept as measured: {counted_twice:?}"
    );
    // Counted once: the held-in means within 5% (over the three points).
    assert!(err(&once).abs() < 0.05, "taken out: {once:?}");
    // The CPU the utilisation law set is not moved: the model's CPU per request is the same.
    let cpu = |o: &Options| {
        let cal = simulate::calibrate(&results, "synthetic", o).unwrap();
        cal.demand
            .iter()
            .find(|(a, _)| a.to_string() == "monolith")
            .map(|(_, d)| d.iter().map(|c| c.model_ms).sum::<f64>())
            .unwrap()
    };
    let (a, b) = (cpu(&as_measured), cpu(&Options::default()));
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
}
