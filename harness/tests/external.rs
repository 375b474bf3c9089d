//! The external runtime's bad input, end to end through the command line and the runtime: a
//! target file with an unknown action, an action whose command fails, a URL nothing answers.
//! (Against a real deployment: tests/docker/external.rs, under docker-compose.)

use std::path::{Path, PathBuf};
use std::process::Command;

use crm_bench::lifecycle::Env;
use crm_bench::runtime::external::{self, Target, command::Vars};
use crm_bench::runtime::{RuntimeSettings, runtime};
use crm_bench::state::StateFile;
use crm_bench::topology::{Arch, RuntimeKind};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A private state file and work root, and `target` written beside them.
fn env_with(target: &str) -> (Env, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("crm-bench-external-")
        .tempdir()
        .unwrap()
        .keep();
    let file = dir.join("target.toml");
    std::fs::write(&file, target).unwrap();
    let env = Env {
        state: StateFile::new(dir.join("state.json")),
        settings: RuntimeSettings {
            bin_dir: dir.clone(),
            work_root: dir.join("work"),
            durable: false,
            target: Some(file.clone()),
        },
    };
    (env, file)
}

fn crm_bench(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crm-bench"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_target_with_an_unknown_action_is_refused_with_its_line_before_anything_runs() {
    let (_env, file) = env_with(
        "arch = \"micro\"\nurl = \"http://127.0.0.1:1\"\n\n[actions]\nkill = \"true\"\nsclae = \"true\"\n",
    );
    let (ok, stderr) = crm_bench(&[
        "run",
        "scenarios/quick.toml",
        "--runtime",
        "external",
        "--target",
        file.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("line 6: actions.sclae: unknown action (actions: kill, pause"),
        "{stderr}"
    );
    let (ok, stderr) = crm_bench(&["run", "scenarios/quick.toml", "--runtime", "external"]);
    assert!(
        !ok && stderr.contains("--runtime external needs --target FILE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_url_nothing_answers_fails_up_clearly() {
    let port = crm_testkit::net::free_port();
    let (env, file) = env_with(&format!(
        "arch = \"monolith\"\nurl = \"http://127.0.0.1:{port}\"\nready_timeout_s = 1\n"
    ));
    let t = crm_bench::testing::topology(Arch::Monolith, RuntimeKind::External);
    let e = crm_bench::lifecycle::up(&env, &t).await.unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains(&file.display().to_string()), "{e}");
    assert!(
        e.contains(&format!(
            "http://127.0.0.1:{port}/readyz did not answer 200 within 1 s"
        )),
        "{e}"
    );
    assert!(
        env.state.load().unwrap().is_none(),
        "nothing is left recorded"
    );
}

#[tokio::test]
async fn a_failing_action_names_its_command_status_and_stderr() {
    let (env, file) = env_with(
        "arch = \"micro\"\nurl = \"http://127.0.0.1:1\"\n[actions]\nkill = \"echo no such container: crm-{service}-{replica} >&2; exit 4\"\n",
    );
    let t = Target::load(&file).unwrap();
    let d = external::deployment(
        &t,
        &crm_bench::testing::topology(Arch::Micro, RuntimeKind::External),
        &env.settings,
    );
    let rt = runtime(RuntimeKind::External, &env.settings);
    let e = rt.kill(&d, "customers#2").await.unwrap_err();
    let e = format!("{e:#}");
    assert!(e.contains("the target's `kill` action failed"), "{e}");
    assert!(e.contains("exited with status 4"), "{e}");
    assert!(e.contains("no such container: crm-customers-2"), "{e}");
    assert!(
        rt.alive(&d, "customers#2").await,
        "a failed kill killed nothing"
    );
    // An action the target does not give is an error, never a silent success.
    let e = rt.pause(&d, "customers", true).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("the target has no `pause` action"),
        "{e:#}"
    );
    let out = external::act(&d, "kill", &Vars::instance("sales")).await;
    assert!(out.is_err());
}
