//! `crm-bench compare`: exit codes and what it prints, from variations of the fixture
//! results.json (made-up numbers, see tests/fixtures/README.md). Its sweep points have three
//! runs each (the first and two repeats), so each metric has three samples per side.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crm_bench::report;
use crm_bench::results::{Calibration, Experiment, LoadRun, Results};
use crm_bench::topology::Arch;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fixture-results.json")
}

fn fixture() -> Results {
    report::load(&fixture_path()).expect("the fixture loads")
}

/// Applies `f` to every run (first and repeats) of every sweep point of `arch`.
fn each_sweep_run(r: &mut Results, arch: Arch, mut f: impl FnMut(usize, &mut LoadRun)) {
    for run in r.runs.iter_mut().filter(|x| x.arch == arch) {
        for e in &mut run.experiments {
            if let Experiment::Sweep(s) = e {
                for p in &mut s.points {
                    f(0, &mut p.run);
                    for (i, rep) in p.repeats.iter_mut().enumerate() {
                        f(i + 1, rep);
                    }
                }
            }
        }
    }
}

fn scale_p99(run: &mut LoadRun, k: f64) {
    run.total.corrected.p99_us = (run.total.corrected.p99_us as f64 * k) as u64;
}

/// Latency (corrected p50 and p99) of a run multiplied by `k`: what the same code does on a
/// machine whose CPU is `k` times slower in wall-clock time (stolen, shared), its CPU time
/// per request unchanged.
fn slow_down(run: &mut LoadRun, k: f64) {
    run.total.corrected.p50_us = (run.total.corrected.p50_us as f64 * k) as u64;
    scale_p99(run, k);
}

fn calibrated(r: &mut Results, speed: f64) {
    r.machine.calibration = Some(Calibration {
        json_round_trips_per_s: vec![40_000.0 * speed, 41_000.0 * speed],
        loopback_round_trips_per_s: vec![30_000.0 * speed, 29_000.0 * speed],
        cpu: Some(1),
    });
}

fn strip_repeats(r: &mut Results) {
    for run in &mut r.runs {
        for e in &mut run.experiments {
            if let Experiment::Sweep(s) = e {
                for p in &mut s.points {
                    p.repeats.clear();
                }
            }
        }
    }
}

/// Writes `r` as a results.json in a fresh directory.
fn save(r: &Results) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(r).unwrap()).unwrap();
    (dir, path)
}

fn compare(base: &Path, current: &Path, extra: &[&str]) -> (i32, String, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_crm-bench"))
        .arg("compare")
        .arg(base)
        .arg(current)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn identical_results_compare_clean_with_exit_0() {
    let (code, out, err) = compare(&fixture_path(), &fixture_path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No regression beyond the noise."), "{out}");
    assert!(out.contains("monolith · sweep mixed · 200 req/s"), "{out}");
}

#[test]
fn a_clear_p99_regression_with_repeats_exits_1_and_names_the_metric() {
    let mut cur = fixture();
    each_sweep_run(&mut cur, Arch::Monolith, |_, run| scale_p99(run, 5.0));
    let (_d, cur) = save(&cur);
    let (code, out, err) = compare(&fixture_path(), &cur, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("REGRESSION: 4 metric(s) beyond the tolerance:"),
        "{out}"
    );
    assert!(
        out.contains("  - p99 at monolith · sweep mixed · 200 req/s: +"),
        "{out}"
    );
    // Only p99 moved: nothing else is called a regression.
    for line in out.lines().filter(|l| l.contains("REGRESSION (")) {
        assert!(line.starts_with("p99 "), "{line}");
    }
    // A wider tolerance lets the same change through.
    let (code, out, _) = compare(&fixture_path(), &cur, &["--tolerance", "p99=600"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn noise_within_the_tolerance_exits_0() {
    let mut cur = fixture();
    for arch in [Arch::Monolith, Arch::Micro] {
        each_sweep_run(&mut cur, arch, |i, run| {
            // Run-to-run wobble well inside the tolerances: ±8% p99, −3% throughput.
            scale_p99(run, [1.08, 0.93, 1.04][i]);
            run.achieved_rps *= 0.97;
        });
    }
    let (_d, cur) = save(&cur);
    let (code, out, err) = compare(&fixture_path(), &cur, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No regression beyond the noise."), "{out}");
    assert!(out.contains("within noise"), "{out}");
}

#[test]
fn single_samples_never_fail_and_say_why() {
    let mut base = fixture();
    strip_repeats(&mut base);
    let mut cur = base.clone();
    each_sweep_run(&mut cur, Arch::Monolith, |_, run| scale_p99(run, 3.0));
    let (_b, base) = save(&base);
    let (_c, cur) = save(&cur);
    let (code, out, err) = compare(&base, &cur, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("single sample: cannot separate noise"),
        "{out}"
    );
    assert!(
        out.contains(
            "one sample cannot separate a change from noise, so they are shown but never fail"
        ),
        "{out}"
    );
    assert!(out.contains("+200.0%"), "the change is still shown: {out}");
}

#[test]
fn a_slower_machine_is_not_taken_for_slower_code_but_a_regression_on_top_still_fails() {
    let mut base = fixture();
    calibrated(&mut base, 1.0);
    // The same code on a machine whose reference ran at a quarter of the speed: every
    // latency four times as long.
    let mut slow = base.clone();
    calibrated(&mut slow, 0.25);
    for arch in [Arch::Monolith, Arch::Micro] {
        each_sweep_run(&mut slow, arch, |_, run| slow_down(run, 4.0));
    }
    let (_b, base_path) = save(&base);
    let (_s, slow_path) = save(&slow);
    let (code, out, err) = compare(&base_path, &slow_path, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ran at 0.25× the base's"), "{out}");
    assert!(out.contains("(raw +300.0%)"), "{out}");
    // As measured, the same figures are regressions.
    let (code, out, _) = compare(&base_path, &slow_path, &["--raw"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("compared as measured (--raw)"), "{out}");

    // Slower code on the slower machine: p99 five times the machine's share still fails.
    let mut worse = slow.clone();
    each_sweep_run(&mut worse, Arch::Monolith, |_, run| scale_p99(run, 5.0));
    let (_w, worse_path) = save(&worse);
    let (code, out, _) = compare(&base_path, &worse_path, &[]);
    assert_eq!(code, 1, "{out}");
    for line in out.lines().filter(|l| l.contains("REGRESSION (")) {
        assert!(
            line.starts_with("p99 ") && line.contains("monolith"),
            "{line}"
        );
    }

    // Without a reference on one side nothing is adjusted, and the output says so.
    let (code, out, _) = compare(&fixture_path(), &slow_path, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("No machine-speed reference in the base"),
        "{out}"
    );
}

#[test]
fn several_base_runs_pool_their_samples() {
    let (code, out, err) = compare(
        &fixture_path(),
        &fixture_path(),
        &[fixture_path().to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("The base pools 2 runs"), "{out}");
    assert!(out.contains("(n=6)"), "{out}");
    // A base run measured on a twice-as-fast machine, pooled with one on the base machine:
    // in the base machine's units (their mean speed) both agree with the same code.
    let mut fast = fixture();
    calibrated(&mut fast, 2.0);
    for arch in [Arch::Monolith, Arch::Micro] {
        each_sweep_run(&mut fast, arch, |_, run| slow_down(run, 0.5));
    }
    let mut plain = fixture();
    calibrated(&mut plain, 1.0);
    let (_f, fast) = save(&fast);
    let (_p, plain) = save(&plain);
    let (code, out, err) = compare(&fast, &plain, &[plain.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("within noise"), "{out}");
}

#[test]
fn markdown_output_is_a_table() {
    let (code, out, _) = compare(&fixture_path(), &fixture_path(), &["--markdown"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("| metric | point | base | current | change | 95% interval | status |"),
        "{out}"
    );
    assert!(out.contains("|---|---|---:|"), "{out}");
}

#[test]
fn bad_inputs_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let (code, _, err) = compare(&missing, &fixture_path(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");

    let v9 = dir.path().join("v9.json");
    std::fs::write(
        &v9,
        std::fs::read_to_string(fixture_path())
            .unwrap()
            .replace("crm-bench/results/v1", "crm-bench/results/v9"),
    )
    .unwrap();
    let (code, _, err) = compare(&fixture_path(), &v9, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("crm-bench/results/v9"), "{err}");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "not json").unwrap();
    assert_eq!(compare(&junk, &fixture_path(), &[]).0, 2);

    let mut empty = fixture();
    empty.runs.clear();
    let (_e, empty) = save(&empty);
    let (code, _, err) = compare(&fixture_path(), &empty, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing comparable"), "{err}");

    let (code, _, err) = compare(
        &fixture_path(),
        &fixture_path(),
        &["--tolerance", "latency=5"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown metric 'latency'"), "{err}");
}

#[test]
fn a_v1_baseline_compares_with_a_v2_run() {
    // The committed CI baseline is v1; a run of this build writes v2 with intervals.
    let mut current = fixture();
    current.schema = "crm-bench/results/v2".to_owned();
    for run in &mut current.runs {
        for e in &mut run.experiments {
            if let Experiment::Sweep(s) = e {
                for p in &mut s.points {
                    p.latency.ci = Some(crm_bench::results::LatencyCis::default());
                }
            }
        }
    }
    let (_d, current) = save(&current);
    let (code, out, err) = compare(&fixture_path(), &current, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baseline/ci");
    for run in ["run-1", "run-2"] {
        report::load(&baseline.join(run)).expect("the committed v1 baseline loads");
    }
}

#[test]
fn a_report_directory_is_accepted_as_well_as_its_results_json() {
    let (dir, _) = save(&fixture());
    let (code, out, err) = compare(dir.path(), &fixture_path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
}
