//! End to end: a tiny scenario on both architectures (real processes, PostgreSQL, NATS)
//! produces a report whose figures are measured (non-zero) and whose reconciliation passed.

use crm_bench::experiment::{self, RunOptions};
use crm_bench::results::Experiment;
use crm_bench::scenario::Scenario;

const TINY: &str = r#"
name = "tiny"
description = "CI: the smallest run that exercises the whole pipeline"
architectures = ["monolith", "micro"]
[data]
size = "small"
[load]
connections = 16
warmup_s = 1
duration_s = 3
[[experiment]]
kind = "sweep"
name = "mixed"
rates = [40]
[[experiment]]
kind = "fault"
name = "kill-analytics"
target = "analytics"
action = "kill"
rate = 40
at_s = 1
for_s = 1.5
duration_s = 5
[[experiment]]
kind = "consistency"
rate = 40
probes = 3
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_scenario_on_both_architectures_writes_a_measured_and_reconciled_report() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let scenario = Scenario::parse(TINY, "tiny.toml").unwrap();
    let reports = env.settings.work_root.with_file_name("reports");
    let opts = RunOptions {
        reports: reports.clone(),
        file: "tiny.toml".into(),
        sut_cpus: None,
        load_cpus: None,
        workers: Vec::new(),
    };
    let (dir, results) = experiment::run(&env, &scenario, &opts)
        .await
        .expect("the run");
    assert!(
        env.state.load().unwrap().is_none(),
        "everything was torn down"
    );
    for f in ["results.json", "summary.md", "index.html"] {
        assert!(dir.join(f).exists(), "{f} written");
    }
    assert_eq!(results.runs.len(), 2);
    for run in &results.runs {
        let seeded: u64 = run.seed.as_ref().expect("seeded").rows.values().sum();
        assert!(seeded > 0, "{}: seeded rows", run.arch);
        assert!(run.up_s > 0.0);
        let mut kinds = Vec::new();
        for e in &run.experiments {
            match e {
                Experiment::Sweep(s) => {
                    let p = &s.points[0];
                    assert!(
                        p.run.requests > 0 && p.achieved_rps > 0.0,
                        "{}: {p:?}",
                        run.arch
                    );
                    assert!(p.latency.p50_us > 0 && p.latency.p99_us >= p.latency.p50_us);
                    assert!(p.run.ops.len() > 5, "the mix reached many operations");
                    assert!(
                        p.run.resources.iter().any(|r| r.cpu_s > 0.0),
                        "CPU was sampled"
                    );
                    kinds.push("sweep");
                }
                Experiment::Fault(f) => {
                    assert!(f.window.end_s > f.window.start_s);
                    assert!(f.unaffected_during.requests > 0, "{}: {f:?}", run.arch);
                    assert!(!f.method.is_empty());
                    kinds.push("fault");
                }
                Experiment::Consistency(c) => {
                    assert!(c.passed, "{}: reconciliation: {:?}", run.arch, c.mismatches);
                    assert!(c.lag_samples == 3 && c.lag.p50_us > 0, "{c:?}");
                    assert!(c.acknowledged_writes.values().sum::<u64>() > 0);
                    kinds.push("consistency");
                }
                other => panic!("unexpected experiment {other:?}"),
            }
        }
        assert_eq!(kinds, ["sweep", "fault", "consistency"], "{}", run.arch);
    }
    assert!(results.reconciliation_passed);
    assert!(!results.verdicts.is_empty());
    let _ = std::fs::remove_dir_all(&reports);
}
