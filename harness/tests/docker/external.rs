//! The external runtime for real: docker-compose.yml brought up with the images the docker
//! runtime builds (retagged, no registry), then a short scenario through
//! scenarios/targets/compose.toml's own commands — a sweep point, a kill fault healed by a
//! restart, a redeploy, resources through `stats`, consistency through the target's
//! databases — and a scale experiment the target cannot perform, skipped with its reason.
//! crm-bench leaves the deployment up (it did not start it); the test takes it down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crm_bench::experiment::{self, RunOptions};
use crm_bench::results::Experiment;
use crm_bench::runtime::docker::client::Engine;
use crm_bench::runtime::docker::images::{CRM_BINARIES, Images};
use crm_bench::scenario::Scenario;
use crm_bench::topology::{Arch, RuntimeKind};

/// The compose project of this test (not the default `crm-bench`, a user's).
const PROJECT: &str = "crm-bench-external-test";
/// The tag the test gives the CRM images for docker-compose.yml's `CRM_TAG`.
const TAG: &str = "external-test";

const SCENARIO: &str = r#"
name = "external-compose"
architectures = ["micro"]
runtime = "external"
[data]
size = "small"
[load]
warmup_s = 1
duration_s = 4
[[experiment]]
kind = "sweep"
name = "mixed"
rates = [50]
[[experiment]]
kind = "fault"
name = "kill-analytics"
target = "analytics"
action = "kill"
rate = 50
at_s = 1
for_s = 2
duration_s = 6
[[experiment]]
kind = "deploy"
name = "redeploy-customers"
service = "customers"
mode = "restart"
rate = 50
at_s = 1
duration_s = 8
[[experiment]]
kind = "scale"
service = "customers"
replicas = [1, 2]
cpus_per_replica = 0.5
duration_s = 3
[[experiment]]
kind = "resources"
rate = 50
duration_s = 4
[[experiment]]
kind = "consistency"
rate = 50
probes = 5
duration_s = 4
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn compose(args: &[&str]) -> std::process::Output {
    Command::new("docker-compose")
        .args(["-p", PROJECT, "-f"])
        .arg(repo().join("docker-compose.yml"))
        .args(args)
        .env("CRM_TAG", TAG)
        .output()
        .expect("docker-compose")
}

/// Takes the project down (containers and volumes) however the test ends.
struct Down;
impl Drop for Down {
    fn drop(&mut self) {
        // The monolith's profile too, should a run of the monolith have left it up.
        let out = compose(&[
            "--profile",
            "monolith",
            "down",
            "-v",
            "--remove-orphans",
            "-t",
            "5",
        ]);
        if !out.status.success() {
            eprintln!(
                "docker-compose down: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The shipped compose target, pointed at this test's project and compose file.
fn target_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("scenarios/targets/compose.toml")).unwrap();
    let text = text
        .replace("${CRM_COMPOSE_PROJECT:-crm-bench}", PROJECT)
        .replace(
            "${CRM_COMPOSE_FILE:-docker-compose.yml}",
            &repo().join("docker-compose.yml").display().to_string(),
        );
    let file = dir.join("compose.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test]
async fn a_short_scenario_runs_against_docker_compose_through_the_target_commands() {
    let mut env = super::env();
    let started = Instant::now();
    let images = Images::new(Engine::connect().await.expect("engine"), false);
    let base = images.base().await.expect("base image");
    images.postgres(&base).await.expect("postgres image");
    images.nats(&base).await.expect("nats image");
    // The images docker-compose.yml runs for the microservices: every CRM binary's but the
    // monolith's.
    for bin in CRM_BINARIES.iter().filter(|b| **b != "crm-monolith") {
        let built = images
            .crm(&env.settings.bin_dir, bin, &base)
            .await
            .expect("image");
        let tagged = format!("crm-bench/{bin}:{TAG}");
        let out = Command::new("docker")
            .args(["tag", &built.image, &tagged])
            .output()
            .unwrap();
        assert!(out.status.success(), "docker tag: {out:?}");
    }
    let images_s = started.elapsed().as_secs_f64();

    let _down = Down;
    let up = Instant::now();
    let out = compose(&["up", "-d", "--no-build"]);
    assert!(
        out.status.success(),
        "docker-compose up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = env.state.path().parent().unwrap().to_owned();
    let target = target_file(&dir);
    env.settings.target = Some(target.clone());
    crm_bench::runtime::external::wait_url("http://127.0.0.1:18080", Duration::from_secs(180))
        .await
        .expect("compose ready");
    let up_s = up.elapsed().as_secs_f64();

    let scenario = Scenario::parse(SCENARIO, "external-compose").expect("scenario");
    let opts = RunOptions {
        reports: dir.join("reports"),
        file: "external-compose".into(),
        sut_cpus: None,
        load_cpus: None,
        workers: Vec::new(),
    };
    let run = Instant::now();
    let (report, results) = experiment::run(&env, &scenario, &opts)
        .await
        .expect("the scenario runs");
    let run_s = run.elapsed().as_secs_f64();
    println!(
        "external runtime against docker-compose: images {images_s:.0} s, compose up to ready {up_s:.0} s, scenario {run_s:.0} s"
    );

    let r = &results.runs[0];
    assert_eq!((results.runs.len(), r.arch), (1, Arch::Micro));
    assert_eq!(r.runtime, RuntimeKind::External);
    assert!(r.failures.is_empty(), "failures: {:?}", r.failures);
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    assert_eq!(r.skipped[0].kind, "scale");
    assert_eq!(r.skipped[0].error, "target has no `scale` action");
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        summary.contains("skipped: target has no `scale` action"),
        "the report says so"
    );
    let mut seen = Vec::new();
    for e in &r.experiments {
        match e {
            Experiment::Sweep(s) => {
                assert!(s.points[0].achieved_rps > 0.0);
                seen.push("sweep");
            }
            Experiment::Fault(f) => {
                assert!(
                    f.method
                        .contains("analytics killed by the target's `kill` command"),
                    "{}",
                    f.method
                );
                seen.push("fault");
            }
            Experiment::Deploy(d) => {
                assert!(d.time_to_healthy_s > 0.0);
                seen.push("deploy");
            }
            Experiment::Resources(res) => {
                assert!(res.total_cpu_s > 0.0 && res.total_peak_rss_bytes > 0);
                seen.push("resources");
            }
            Experiment::Consistency(c) => {
                assert!(c.passed, "reconciliation through the target's databases");
                seen.push("consistency");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        ["sweep", "fault", "deploy", "resources", "consistency"]
    );
    // crm-bench stopped nothing: the deployment still answers, and the killed service is
    // back (the target's `restart` healed the fault).
    crm_bench::runtime::external::wait_url("http://127.0.0.1:18080", Duration::from_secs(5))
        .await
        .expect("still up after the run");
    let healthy = || {
        let id = compose(&["ps", "-q", "analytics"]);
        let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
        let out = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Health.Status}}", &id])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "healthy"
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while !healthy() {
        assert!(
            Instant::now() < deadline,
            "analytics healthy again after the fault"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        env.state.load().unwrap().is_none(),
        "the state file is cleared"
    );
    super::remove_env(&env);
}
