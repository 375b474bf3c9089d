//! The shipped simulation files (`scenarios/sim-*.toml`): each parses and runs with
//! `--quick` on both architectures, names its calibration in its report, and a bad key is
//! refused with its path and line.

use std::path::{Path, PathBuf};

use crm_bench::simulate::study;

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn every_shipped_simulation_file_parses_and_runs_quickly() {
    let mut seen = 0;
    for name in [
        "sim-day.toml",
        "sim-cores.toml",
        "sim-hot-context.toml",
        "sim-faults.toml",
    ] {
        let file = scenarios().join(name);
        let reports = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let run = study::Run {
            quick: true,
            ..Default::default()
        };
        let (dir, report) = study::run_file(&file, &run, reports.path())
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(
            t.elapsed().as_secs() < 60,
            "{name}: --quick took {:?}",
            t.elapsed()
        );
        assert_eq!(report.runs.len(), 2, "{name}: both architectures");
        for a in &report.runs {
            assert!(a.outputs.total.ok > 0, "{name} {}: nothing served", a.arch);
        }
        let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(
            md.contains("SIMULATED")
                && md.contains("Calibration: ")
                && md.contains("sim-calibration.toml ("),
            "{name}: the report must say it is simulated and name its calibration: {md}"
        );
        assert!(dir.join("simulation.json").exists() && dir.join("index.html").exists());
        if name == "sim-cores.toml" {
            assert_eq!(report.cores.len(), 6, "three rates, two architectures");
        }
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn a_simulation_file_with_a_bad_key_names_it_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        scenarios().join("sim-calibration.toml"),
        dir.path().join("sim-calibration.toml"),
    )
    .unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "schema = \"crm-bench/simulation/v1\"\nname = \"bad\"\ncalibration = \"sim-calibration.toml\"\n\n[scenario]\nduration_s = 10\nnodes = [{ name = \"n\", cores = 4 }]\n[scenario.open]\nrate = -5.0\nmix = { get_company = 1.0 }\n",
    )
    .unwrap();
    let err = study::load(&file, &study::Run::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("scenario.open.rate") && msg.contains("(line 9)"),
        "{msg}"
    );
}
