//! Faster under moderate load than alone: a report made from a known model whose processes
//! wake slower the longer they idled gives the wake back from three held-in rates, and the
//! model then predicts the held-out point's mean and median as the "measured" run has them.

use crm_bench::simulate::{self, Options, synthetic};
use crm_sim::Calibration;
use crm_sim::input::calibration::IdleWake;

use super::{close, known, spec};

/// The known model with idle wakes where the real system has them: a monolith that takes
/// up to 0.8 ms longer after a long idle time, a gateway and a customers service 0.4 ms;
/// all cool in 20 ms.
fn known_with_wake() -> Calibration {
    let mut k = known();
    let set = [
        ("monolith", "monolith", 800.0),
        ("micro", "gateway", 400.0),
        ("micro", "customers", 400.0),
    ];
    for (arch, process, us) in set {
        let a = match arch {
            "monolith" => k.monolith.as_mut(),
            _ => k.micro.as_mut(),
        };
        a.unwrap().processes.get_mut(process).unwrap().idle_wake = Some(IdleWake {
            us,
            tau_ms: 20.0,
            cpu: 0.0,
        });
    }
    k
}

#[test]
fn an_idle_wake_is_recovered_and_the_held_out_median_follows_it() {
    let k = known_with_wake();
    let results = synthetic::report(&k, &spec(true)).expect("the synthetic report simulates");
    let with_wake = Options {
        idle_wake: true,
        ..Options::default()
    };
    let cal = simulate::calibrate(&results, "synthetic", &with_wake).unwrap();
    for note in &cal.notes {
        eprintln!("note: {note}");
    }
    for arch in ["monolith", "micro"] {
        let got = cal.calibration.architecture(arch).unwrap();
        for (name, want) in &k.architecture(arch).unwrap().processes {
            let w = got.processes[name].idle_wake.as_ref();
            match &want.idle_wake {
                Some(want) => {
                    let w = w.unwrap_or_else(|| panic!("{arch} {name}: no idle wake fitted"));
                    close(w.us, want.us, 0.15, &format!("{arch} {name} wake"));
                    assert!(
                        (10.0..=50.0).contains(&w.tau_ms),
                        "{arch} {name}: cooling {} ms, known 20",
                        w.tau_ms
                    );
                }
                None => assert!(w.is_none(), "{arch} {name}: a wake where there is none"),
            }
        }
    }
    // The "measured" median falls from 50 to 200 req/s, and the model, held in at 50, 200
    // and 400 req/s, predicts it at 700.
    let check = simulate::validate(&results, "synthetic", &with_wake).unwrap();
    eprintln!("{}", crm_bench::cli::simulate::validation_text(&check));
    for a in &check.archs {
        let row = |metric: &str, rate: f64| {
            a.rows
                .iter()
                .find(|r| r.metric == metric && r.offered_rps == rate && r.experiment == "sweep")
                .unwrap_or_else(|| panic!("{} {metric} at {rate}", a.arch))
        };
        let (lo, hi) = (row("p50", 50.0), row("p50", 200.0));
        assert!(
            lo.measured.unwrap() > 1.1 * hi.measured.unwrap(),
            "{}: the measured p50 does not fall with the rate",
            a.arch
        );
        for metric in ["mean", "p50"] {
            let r = row(metric, 700.0);
            assert!(!r.held_in);
            close(
                r.predicted.unwrap(),
                r.measured.unwrap(),
                0.10,
                &format!("{} {metric} at 700 req/s", a.arch),
            );
        }
    }
}
