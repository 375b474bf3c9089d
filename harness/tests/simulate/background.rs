//! Background CPU (work no request span covers): a report made from a known model that
//! burns some gives it back, and the model's CPU per request falls with the rate as the
//! "measured" one does.

use crm_bench::results::model::ModelRow;
use crm_bench::simulate::{self, Options, synthetic};
use crm_sim::Calibration;

use super::{close, known, one_point, spec};

/// The known model with background CPU (cores per replica) where the real system burns it:
/// the monolith's pollers, the gateway's health checks, the services' relays and samplers.
fn known_with_background() -> Calibration {
    let mut k = known();
    let set = [
        ("monolith", "monolith", 0.04),
        ("micro", "gateway", 0.02),
        ("micro", "leads", 0.015),
        ("micro", "analytics", 0.02),
    ];
    for (arch, process, cores) in set {
        let a = match arch {
            "monolith" => k.monolith.as_mut(),
            _ => k.micro.as_mut(),
        };
        a.unwrap().processes.get_mut(process).unwrap().background = cores;
    }
    k
}

#[test]
fn background_cpu_is_recovered_and_the_cpu_per_request_falls_with_the_rate() {
    let k = known_with_background();
    let results = synthetic::report(&k, &spec(true)).expect("the synthetic report simulates");
    let recovered = |cal: &simulate::Calibrated, tol: f64| {
        for arch in ["monolith", "micro"] {
            let got = cal.calibration.architecture(arch).unwrap();
            for (name, want) in &k.architecture(arch).unwrap().processes {
                let b = got.processes[name].background;
                assert!(
                    (b - want.background).abs() <= tol + 0.05 * want.background,
                    "{arch} {name}: background {b}, known {}",
                    want.background
                );
            }
        }
    };
    // One held-in point: measured CPU rate − trees × achieved rate.
    let one = simulate::calibrate(&results, "synthetic", &one_point()).unwrap();
    recovered(&one, 0.002);
    assert!(
        one.demand
            .iter()
            .flat_map(|(_, d)| d)
            .all(|d| d.background.as_ref().is_some_and(|b| b.fit_cores.is_none())),
        "one point: no line to fit"
    );
    // Two held-in points: the least-squares line, both fits recorded in the header.
    let opts = Options {
        points: 2,
        ..Options::default()
    };
    let two = simulate::calibrate(&results, "synthetic", &opts).unwrap();
    recovered(&two, 0.004);
    for (arch, rows) in &two.demand {
        for d in rows {
            let b = d.background.as_ref().expect("sampled");
            let slope = b.fit_ms.expect("two points: a line");
            // The line's slope is the trees' demand per request (the CPU is their work).
            assert!(
                (slope - d.model_ms).abs() <= 0.1 * d.model_ms + 0.01,
                "{arch} {}: slope {slope} ms, trees {} ms",
                d.process,
                d.model_ms
            );
        }
    }
    let text = simulate::calibrate::file_text(&two);
    assert!(
        text.contains("background 0.0") && text.contains("fit CPU ="),
        "{text}"
    );
    assert_eq!(
        Calibration::parse(&text, "written.toml").unwrap(),
        two.calibration
    );
    // Validation on the lowest point: the predicted CPU per request carries the background,
    // so it falls with the rate as the "measured" one does, and lands near it.
    let check = simulate::validate(&results, "synthetic", &one_point()).unwrap();
    eprintln!("{}", crm_bench::cli::simulate::validation_text(&check));
    for a in &check.archs {
        let mut cpu: Vec<_> = a
            .rows
            .iter()
            .filter(|r| r.metric == "CPU per request")
            .collect();
        cpu.sort_by(|x, y| x.offered_rps.total_cmp(&y.offered_rps));
        assert_eq!(cpu.len(), 4, "{}", a.arch);
        for r in &cpu {
            close(
                r.predicted.unwrap(),
                r.measured.unwrap(),
                0.05,
                &format!("{} CPU at {}", a.arch, r.point),
            );
        }
        let (lo, hi) = (cpu[0], cpu[cpu.len() - 1]);
        let fell = |r: fn(&ModelRow) -> Option<f64>| r(lo).unwrap() / r(hi).unwrap();
        let (measured, predicted) = (fell(|r| r.measured), fell(|r| r.predicted));
        assert!(measured > 1.1, "{}: measured fell by {measured}", a.arch);
        close(predicted, measured, 0.05, &format!("{} CPU fall", a.arch));
    }
}

#[test]
fn cpu_no_span_covers_is_recovered_from_the_slope_and_kept_off_the_response_path() {
    // The known gateway burns 0.2 ms per visit outside its spans (the synthetic breakdown
    // cannot see it; its CPU samples do). Over three held-in rates the slope finds it;
    // the response times are left to the spans.
    let mut k = known();
    let gw = k
        .micro
        .as_mut()
        .unwrap()
        .processes
        .get_mut("gateway")
        .unwrap();
    gw.unspanned_us = 200.0;
    let results = synthetic::report(&k, &spec(true)).expect("the synthetic report simulates");
    let three = simulate::calibrate(&results, "synthetic", &Options::default()).unwrap();
    let got = &three.calibration.micro.as_ref().unwrap().processes["gateway"];
    close(
        got.unspanned_us,
        200.0,
        0.10,
        "gateway µs outside its spans per visit",
    );
    let row = three
        .demand
        .iter()
        .flat_map(|(_, d)| d)
        .find(|d| d.process == "gateway")
        .unwrap();
    assert!(row.unspanned_ms.is_some(), "{row:?}");
    // One held-in point cannot tell it from background: nothing is added.
    let one = simulate::calibrate(&results, "synthetic", &one_point()).unwrap();
    let one_gw = &one.calibration.micro.as_ref().unwrap().processes["gateway"];
    assert_eq!(one_gw.unspanned_us, 0.0);
    assert!(one_gw.background > 0.0, "the difference becomes background");
}
