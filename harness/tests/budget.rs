//! Equal CPU budgets on both architectures, with real processes, real PostgreSQL and a real
//! nats-server: a tiny scenario gives each the same two budgets (PostgreSQL and NATS inside
//! them), and both must come out with a non-zero max rate under the SLO at each, a split
//! that adds up to the budget, and the verdict rows. A budget that cannot work is refused
//! with its key's path and line. Beneath both: a quota set on a running process holds it
//! to its share, and lifting it frees the process again.

use crm_bench::experiment::{self, RunOptions};
use crm_bench::results::{Budget, Experiment};
use crm_bench::scenario::Scenario;
use crm_bench::topology::Arch;

const BUDGET: &str = r#"
name = "budget"
description = "equal CPU budgets for both architectures"
architectures = ["monolith", "micro"]
[data]
size = "small"
[slo]
p99_ms = 500
max_error_rate = 0.05
[load]
connections = 32
warmup_s = 1
duration_s = 3
[[experiment]]
kind = "budget"
name = "equal-budget"
budgets = [0.5, 1.0]
search = { low = 10, high = 400, iterations = 3, precision = 0.2 }
rate_for_cores = 20
calibration_rate = 20
calibration_s = 3
"#;

#[test]
fn a_budget_that_cannot_work_is_refused_with_its_key_path() {
    let with = |budgets: &str| BUDGET.replace("budgets = [0.5, 1.0]", budgets);
    let err = |text: String| {
        format!(
            "{:#}",
            Scenario::parse(&text, "budget.toml").expect_err("refused")
        )
    };
    // The microservices' 10 processes need 10 × 0.02 cores at least.
    let e = err(with("budgets = [0.1, 1.0]"));
    assert!(e.contains("line 17: experiment[0].budgets[0]"), "{e}");
    assert!(e.contains("minimally need"), "{e}");
    let e = err(with("budgets = [0.5, 0]"));
    assert!(
        e.contains("experiment[0].budgets[1]: must be a positive"),
        "{e}"
    );
    let e = err(BUDGET.replace("[data]", "runtime = \"docker\"\n[data]"));
    assert!(
        e.contains("experiment[0].kind: needs runtime = \"process\""),
        "{e}"
    );
    let e = err(with("budgets = []"));
    assert!(
        e.contains("experiment[0].budgets: needs at least one budget"),
        "{e}"
    );
    // The monolith alone has two processes: 0.1 core is enough for it.
    let mono = with("budgets = [0.1, 1.0]").replace(
        r#"architectures = ["monolith", "micro"]"#,
        r#"architectures = ["monolith"]"#,
    );
    Scenario::parse(&mono, "budget.toml").expect("two processes fit in 0.1 core");
}

#[test]
fn a_quota_set_on_a_running_process_bounds_it_and_lifting_frees_it() {
    use crm_bench::runtime::{cgroup, procfs};
    use std::time::Duration;
    if !cgroup::available() {
        eprintln!("skipped: CPU quotas need write access to /sys/fs/cgroup (root)");
        return;
    }
    let mut busy = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .expect("a busy loop");
    let pid = busy.id();
    let deployment = format!("budget-test-{}", std::process::id());
    let cores_used = |secs: f64| {
        let before = procfs::cpu_seconds(pid, false);
        std::thread::sleep(Duration::from_secs_f64(secs));
        (procfs::cpu_seconds(pid, false) - before) / secs
    };
    cgroup::set_cpu_quota(&deployment, "busy", &[pid], Some(0.1)).expect("a quota");
    std::thread::sleep(Duration::from_millis(200));
    let limited = cores_used(1.5);
    cgroup::set_cpu_quota(&deployment, "busy", &[pid], None).expect("lifted");
    std::thread::sleep(Duration::from_millis(200));
    let free = cores_used(1.5);
    let _ = busy.kill();
    let _ = busy.wait();
    cgroup::remove(&deployment);
    assert!(limited < 0.2, "under 0.1 core: used {limited:.3}");
    assert!(free > 2.0 * limited, "lifted: {free:.3} vs {limited:.3}");
}

fn budget_of(results: &crm_bench::results::Results, arch: Arch) -> &Budget {
    let run = results.runs.iter().find(|r| r.arch == arch).expect("run");
    assert!(run.failures.is_empty(), "{arch}: {:#?}", run.failures);
    run.experiments
        .iter()
        .find_map(|e| match e {
            Experiment::Budget(b) => Some(b),
            _ => None,
        })
        .expect("the budget experiment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_architectures_sustain_a_rate_within_equal_budgets() {
    if !crm_bench::runtime::cgroup::available() {
        eprintln!("skipped: CPU quotas need write access to /sys/fs/cgroup (root)");
        return;
    }
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let scenario = Scenario::parse(BUDGET, "budget.toml").unwrap();
    let opts = RunOptions {
        reports: env.settings.work_root.with_file_name("reports"),
        file: "budget.toml".into(),
        sut_cpus: None,
        load_cpus: None,
        workers: Vec::new(),
    };
    let (dir, results) = experiment::run(&env, &scenario, &opts)
        .await
        .expect("the run");
    assert!(env.state.load().unwrap().is_none(), "torn down");
    for arch in [Arch::Monolith, Arch::Micro] {
        let b = budget_of(&results, arch);
        let budgets: Vec<f64> = b.points.iter().map(|p| p.budget_cpus).collect();
        assert_eq!(budgets, [0.5, 1.0], "{arch}");
        assert!(
            b.calibration.cpu_s["postgres"] > 0.0,
            "{arch}: postgres measured"
        );
        for p in &b.points {
            let rate = p.max_rate_under_slo.unwrap_or(0.0);
            assert!(rate > 0.0, "{arch} at {} CPU: {rate}", p.budget_cpus);
            assert!(p.max_rate_per_cpu.unwrap_or(0.0) > 0.0);
            // Every process is inside the budget, PostgreSQL (and NATS) included.
            assert!(p.split.contains_key("postgres"), "{:?}", p.split);
            if arch == Arch::Micro {
                assert!(p.split.contains_key("nats"), "{:?}", p.split);
                assert!(p.split.contains_key("gateway"), "{:?}", p.split);
            }
            let total: f64 = p.split.values().sum();
            assert!((total - p.budget_cpus).abs() < 1e-6, "{arch}: {total}");
            assert!(p.split.values().all(|c| *c >= b.min_cpus - 1e-9));
        }
        assert!(!b.cores_for_rate.how.is_empty());
    }
    assert!(
        results.verdicts.iter().any(
            |v| v.measure.contains("per CPU at an equal budget of 1 CPU")
                && v.monolith.is_some()
                && v.micro.is_some()
        ),
        "{:#?}",
        results.verdicts
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("Equal CPU budget"), "{summary}");
}
