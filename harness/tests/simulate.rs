//! crm-bench calibrate / simulate: calibrating on a report generated from a known
//! calibration gives the known parameters back and predictions near its figures; bad input
//! is refused clearly; the shipped simulation files in `simulate/files.rs`.

use std::collections::BTreeMap;
use std::process::Command;

use crm_bench::results::Results;
use crm_bench::simulate::dists::sampled_mean;
use crm_bench::simulate::{self, Options, synthetic};
use crm_sim::Calibration;

#[path = "simulate/background.rs"]
mod background;
#[path = "simulate/files.rs"]
mod files;
#[path = "simulate/idle_cpu.rs"]
mod idle_cpu;
#[path = "simulate/overlap.rs"]
mod overlap;
#[path = "simulate/queueing.rs"]
mod queueing;
#[path = "simulate/warm.rs"]
mod warm;

/// The known model (tests/fixtures/known-calibration.toml): a monolith and microservices
/// with a read (gateway → customers, one statement), a fan-out (customers and sales in
/// parallel) and a write whose commit feeds an asynchronous consumer; quantiles only at
/// levels the breakdown lists.
const KNOWN: &str = include_str!("fixtures/known-calibration.toml");

fn known() -> Calibration {
    Calibration::parse(KNOWN, "known.toml").expect("the known calibration parses")
}

fn spec(traced: bool) -> synthetic::Spec {
    synthetic::Spec {
        rates: vec![50.0, 200.0, 400.0, 700.0],
        mix: BTreeMap::from([
            ("get_company".to_owned(), 5.0),
            ("overview".to_owned(), 3.0),
            ("create_lead".to_owned(), 2.0),
        ]),
        cores: 1.0,
        warmup_s: 2.0,
        duration_s: 58.0,
        slo_p99_us: 20_000,
        traced,
    }
}

fn synthetic_report(traced: bool) -> Results {
    synthetic::report(&known(), &spec(traced)).expect("the synthetic report simulates")
}

/// Every sweep point's breakdown of the monolith in `results` (a synthetic report: every
/// point is traced), for the tests that change what the traces say.
pub fn monolith_breakdowns(
    results: &mut Results,
) -> impl Iterator<Item = &mut crm_bench::results::Breakdown> {
    results
        .runs
        .iter_mut()
        .filter(|r| r.arch.to_string() == "monolith")
        .flat_map(|r| &mut r.experiments)
        .filter_map(|e| match e {
            crm_bench::results::Experiment::Sweep(s) => Some(&mut s.points),
            _ => None,
        })
        .flatten()
        .map(|p| &mut **p.run.breakdown.as_mut().expect("a traced point"))
}

/// Calibrated on each architecture's lowest rate only (the default holds in three).
pub fn one_point() -> Options {
    Options {
        points: 1,
        ..Options::default()
    }
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1e-9);
    assert!(
        err <= tol,
        "{what}: got {got}, want {want} (error {:.1}% > {:.0}%)",
        err * 100.0,
        tol * 100.0
    );
}

fn mean(d: &Option<crm_sim::DistSpec>) -> f64 {
    d.as_ref().map_or(0.0, sampled_mean)
}

#[test]
fn calibrating_a_report_made_from_a_known_model_recovers_the_model() {
    let results = synthetic_report(true);
    let cal = simulate::calibrate(&results, "synthetic", &one_point()).unwrap();
    // Only the lowest-rate point is held in, per architecture.
    assert_eq!(cal.held_in.len(), 2);
    assert!(cal.held_in.iter().all(|p| p.offered_rps == 50.0));
    assert!(cal.calibration.source.contains("synthetic"));
    let k = known();
    for arch in ["monolith", "micro"] {
        let want = k.architecture(arch).unwrap();
        let got = cal.calibration.architecture(arch).unwrap();
        assert_eq!(
            got.ops.keys().collect::<Vec<_>>(),
            want.ops.keys().collect::<Vec<_>>()
        );
        for (name, op) in &want.ops {
            let g = &got.ops[name];
            assert_eq!(g.shapes.len(), 1, "{arch} {name}");
            let (gn, wn) = (&g.shapes[0].nodes, &op.shapes[0].nodes);
            assert_eq!(gn.len(), wn.len(), "{arch} {name}: nodes");
            for (i, (a, b)) in gn.iter().zip(wn).enumerate() {
                let at = format!("{arch} {name} node {i}");
                assert_eq!(a.process, b.process, "{at}");
                assert_eq!(a.parent, b.parent, "{at}");
                assert_eq!(a.asynchronous, b.asynchronous, "{at}");
                assert_eq!(a.concurrent, b.concurrent, "{at}");
                close(
                    mean(&a.self_us),
                    mean(&b.self_us),
                    0.02,
                    &format!("{at} self"),
                );
                if b.db_us.is_some() {
                    close(mean(&a.db_us), mean(&b.db_us), 0.02, &format!("{at} db"));
                    close(
                        a.db_statements.unwrap(),
                        b.db_statements.unwrap_or(1.0),
                        1e-9,
                        &format!("{at} statements"),
                    );
                }
                // A remote call's wire (and the root's, from `unaccounted`) comes back.
                if b.wire_us.is_some()
                    && (i == 0 || b.process != wn[b.parent.unwrap()].process)
                    && !b.asynchronous
                {
                    close(
                        mean(&a.wire_us),
                        mean(&b.wire_us),
                        0.02,
                        &format!("{at} wire"),
                    );
                }
                // p90 of the listed quantiles, not only means.
                let p90 = |d: &Option<crm_sim::DistSpec>| {
                    simulate::dists::quantile(d.as_ref().unwrap(), 0.9)
                };
                close(
                    p90(&a.self_us),
                    p90(&b.self_us),
                    0.02,
                    &format!("{at} self p90"),
                );
            }
        }
    }
    let ev = |a: &str| {
        cal.calibration
            .architecture(a)
            .unwrap()
            .events
            .clone()
            .unwrap()
    };
    let known_events = |a: &str| k.architecture(a).unwrap().events.clone().unwrap();
    close(
        mean(&ev("monolith").relay_us),
        mean(&known_events("monolith").relay_us),
        0.02,
        "monolith relay",
    );
    assert_eq!(ev("micro").broker.as_deref(), Some("nats"));
    close(
        mean(&ev("micro").broker_us),
        mean(&known_events("micro").broker_us),
        0.02,
        "micro broker",
    );
    // The forwarded reads go through the proxy policy; the fan-out through the client's.
    let micro = cal.calibration.architecture("micro").unwrap();
    assert_eq!(
        micro.ops["get_company"].shapes[0].nodes[1]
            .policy
            .as_deref(),
        Some("proxy")
    );
    assert_eq!(micro.ops["overview"].shapes[0].nodes[1].policy, None);
    // The utilisation law agrees with the trees when the CPU really is the trees' work.
    for (arch, rows) in &cal.demand {
        for d in rows {
            let e = d
                .disagreement()
                .unwrap_or_else(|| panic!("{arch} {}: no measured CPU", d.process));
            assert!(
                e.abs() < 0.08,
                "{arch} {}: model {} vs measured {:?}",
                d.process,
                d.model_ms,
                d.measured_ms
            );
        }
    }
    // The file written reads back as the same calibration, header and all.
    let text = simulate::calibrate::file_text(&cal);
    assert!(text.starts_with("# crm-sim calibration"));
    assert!(text.contains("held-in points") && text.contains("50 req/s"));
    assert_eq!(
        Calibration::parse(&text, "written.toml").unwrap(),
        cal.calibration
    );
}

#[test]
fn the_calibrated_model_predicts_the_held_out_points_of_the_known_model() {
    let results = synthetic_report(true);
    let check = simulate::validate(&results, "synthetic", &one_point()).unwrap();
    // Shown with --nocapture: the table `crm-bench simulate --validate` prints.
    eprintln!("{}", crm_bench::cli::simulate::validation_text(&check));
    assert_eq!(check.archs.len(), 2);
    for a in &check.archs {
        let rows = |metric: &'static str| a.rows.iter().filter(move |r| r.metric == metric);
        assert_eq!(
            rows("p99").count(),
            4,
            "{}: every sweep point replayed",
            a.arch
        );
        assert_eq!(rows("p99").filter(|r| r.held_in).count(), 1);
        // Two Poisson streams of different seeds: held to the target itself, 10%.
        for r in rows("achieved rate") {
            close(
                r.predicted.unwrap(),
                r.measured.unwrap(),
                0.10,
                &format!("{} achieved at {}", a.arch, r.point),
            );
        }
        for r in rows("p50")
            .chain(rows("mean"))
            .filter(|r| r.utilisation.unwrap() < 0.7)
        {
            close(
                r.predicted.unwrap(),
                r.measured.unwrap(),
                0.10,
                &format!("{} {} at {}", a.arch, r.metric, r.point),
            );
        }
        for r in rows("CPU per request") {
            close(
                r.predicted.unwrap(),
                r.measured.unwrap(),
                0.10,
                &format!("{} CPU at {}", a.arch, r.point),
            );
        }
        let knee = rows("max rate under the SLO").next().expect("a knee row");
        assert!(
            knee.predicted.is_some(),
            "{}: the model finds a knee: {knee:?}",
            a.arch
        );
    }
    // The model section goes into results.json and the report, labelled simulated.
    let mut results = results;
    results.model = simulate::model_section(&results, "synthetic");
    let dir = tempfile::tempdir().unwrap();
    crm_bench::report::write(dir.path(), &results).unwrap();
    let back = crm_bench::report::load(dir.path()).unwrap();
    assert_eq!(back.model, results.model);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("## Model vs measurement (simulated)"), "{md}");
    assert!(md.contains("SIMULATED") && md.contains("held in (calibrated)"));
    assert!(
        dir.path().join("model-vs-measurement.png").exists()
            || !md.contains("model-vs-measurement.png")
    );
}

#[test]
fn an_untraced_report_has_no_model_section_and_cannot_be_calibrated() {
    let results = synthetic_report(false);
    assert!(simulate::model_section(&results, "untraced").is_none());
    let err = simulate::calibrate(&results, "untraced", &one_point()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("no per-hop breakdown") && msg.contains("--trace"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    crm_bench::report::write(dir.path(), &results).unwrap();
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("Omitted: this run has no per-hop breakdown"),
        "{md}"
    );
    // results.json without the field (an older run) still reads.
    let json = std::fs::read_to_string(dir.path().join("results.json")).unwrap();
    assert!(!json.contains("\"model\""));
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crm-bench"))
}

fn run(args: &[&str]) -> (bool, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn bad_inputs_are_refused_clearly() {
    let (ok, msg) = run(&["calibrate", "/nonexistent/report-dir"]);
    assert!(
        !ok && msg.contains("/nonexistent/report-dir: no such report directory"),
        "{msg}"
    );
    let (ok, msg) = run(&["simulate", "--validate", "/nonexistent/report-dir"]);
    assert!(!ok && msg.contains("no such report directory"), "{msg}");
    let (ok, msg) = run(&["calibrate", "x", "--arch", "mainframe"]);
    assert!(
        !ok && msg.contains("invalid value 'mainframe'") && msg.contains("monolith"),
        "{msg}"
    );

    let dir = tempfile::tempdir().unwrap();
    crm_bench::report::write(dir.path(), &synthetic_report(false)).unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, msg) = run(&["calibrate", d]);
    assert!(
        !ok && msg.contains("no per-hop breakdown") && msg.contains("--trace"),
        "{msg}"
    );

    let mut one = synthetic_report(true);
    one.runs
        .retain(|r| r.arch == crm_bench::topology::Arch::Monolith);
    let dir2 = tempfile::tempdir().unwrap();
    crm_bench::report::write(dir2.path(), &one).unwrap();
    let d2 = dir2.path().to_str().unwrap();
    let (ok, msg) = run(&["calibrate", d2, "--arch", "micro"]);
    assert!(
        !ok && msg.contains("has no micro run (it has: monolith)"),
        "{msg}"
    );
    let out = dir2.path().join("cal.toml");
    let (ok, msg) = run(&["calibrate", d2, "--out", out.to_str().unwrap()]);
    assert!(ok, "{msg}");
    assert!(Calibration::load(&out).is_ok());
    let (ok, msg) = run(&["simulate", "--validate", d2]);
    assert!(
        ok && msg.contains("SIMULATED") && msg.contains("held out"),
        "{msg}"
    );
}
