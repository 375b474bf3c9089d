//! Bringing a deployment up and down around the state file, so that whatever happens — an
//! error part-way, ctrl-c, a panic — nothing `up` started is left behind.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::runtime::{Credentials, Deployment, RuntimeSettings, runtime};
use crate::state::StateFile;
use crate::topology::{RuntimeKind, Topology};

/// The benchmark tenant's admin, signed up by [`up`].
pub const ADMIN_EMAIL: &str = "admin@bench.crm";

/// Where a harness command keeps its state and finds its binaries.
#[derive(Clone, Debug)]
pub struct Env {
    pub state: StateFile,
    pub settings: RuntimeSettings,
}

/// A deployment that is up, and how long `up` took to make it ready.
#[derive(Clone, Debug)]
pub struct Up {
    pub deployment: Deployment,
    /// From the start of `up` until every instance answered `/readyz` and the benchmark
    /// tenant was signed up.
    pub ready_after: Duration,
}

/// Starts `topology`, records each part in the state file as it starts, signs up the
/// benchmark tenant. On failure everything started so far is torn down again.
pub async fn up(env: &Env, topology: &Topology) -> anyhow::Result<Up> {
    if let Some(d) = env.state.load()? {
        bail!(
            "a {} deployment ({} runtime, {}) is already recorded in {}; run `crm-bench down` first",
            d.arch,
            d.runtime,
            d.public_url,
            env.state.path().display()
        );
    }
    let started = Instant::now();
    let rt = runtime(topology.runtime, &env.settings);
    let state = env.state.clone();
    let save = move |d: &Deployment| {
        if let Err(e) = state.save(d) {
            tracing::error!("could not write the state file: {e:#}");
        }
    };
    let result = async {
        let mut d = rt.up(topology, &save).await?;
        if d.admin.is_none() {
            // A deployment crm-bench did not start may hold earlier runs' tenants: each run
            // signs up a tenant of its own.
            let email = match d.runtime {
                RuntimeKind::External => format!(
                    "admin-{}@bench.crm",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
                _ => ADMIN_EMAIL.to_owned(),
            };
            d.admin = Some(sign_up(&d.public_url, &email).await?);
        }
        env.state.save(&d)?;
        anyhow::Ok(d)
    }
    .await;
    match result {
        Ok(deployment) => Ok(Up {
            deployment,
            ready_after: started.elapsed(),
        }),
        Err(e) => {
            if let Err(down_err) = down(env).await {
                tracing::error!("cleanup after a failed up: {down_err:#}");
            }
            Err(e)
        }
    }
}

/// Stops and removes whatever the state file records, its work directory included; fine if
/// nothing is.
pub async fn down(env: &Env) -> anyhow::Result<Option<Deployment>> {
    down_keeping(env, false).await
}

/// Stops whatever the state file records; its work directory (PostgreSQL data, NATS store,
/// logs: some 100 MB per `up`) is removed unless `keep`.
pub async fn down_keeping(env: &Env, keep: bool) -> anyhow::Result<Option<Deployment>> {
    let Some(d) = env.state.load()? else {
        return Ok(None);
    };
    runtime(d.runtime, &env.settings).down(&d).await?;
    env.state.clear()?;
    if !keep {
        remove_work_dir(&d.work_dir, &env.settings.work_root).await?;
    }
    Ok(Some(d))
}

/// Removes a deployment's work directory, only ever one inside `root` (never `root` itself
/// or anything a state file from elsewhere points at). A server still writing its last
/// files as it exits can make one attempt fail, so it tries a few times.
async fn remove_work_dir(dir: &std::path::Path, root: &std::path::Path) -> anyhow::Result<()> {
    if !dir.starts_with(root) || dir == root || !dir.exists() {
        return Ok(());
    }
    let mut last = None;
    for _ in 0..5 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last.expect("an attempt failed")).with_context(|| {
        format!(
            "remove the work directory {} (remove it by hand)",
            dir.display()
        )
    })
}

/// Where a kept deployment's logs are.
pub fn log_hint(d: &Deployment) -> String {
    let dir = d.work_dir.display();
    match d.runtime {
        RuntimeKind::Process => {
            format!("{dir}/<instance>.log, {dir}/nats.log, {dir}/pg/server.log (PostgreSQL)")
        }
        RuntimeKind::Docker => format!(
            "the containers' logs went with them (`crm-bench logs` before `down`); {dir} holds the gateway's registry"
        ),
        RuntimeKind::External => {
            "where the deployment runs (docker logs, kubectl logs): crm-bench started nothing"
                .to_owned()
        }
    }
}

/// Runs `work`; if it fails, panics or ctrl-c arrives first, tears down what the state file
/// records before returning the error. Used by commands that own a deployment's lifetime.
pub async fn guarded<T, F>(env: &Env, work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    let outcome = tokio::select! {
        joined = &mut task => match joined {
            Ok(r) => r,
            Err(e) if e.is_panic() => Err(anyhow::anyhow!("the harness panicked: {e}")),
            Err(e) => Err(anyhow::anyhow!("the harness task failed: {e}")),
        },
        _ = tokio::signal::ctrl_c() => {
            task.abort();
            let _ = task.await;
            Err(anyhow::anyhow!("interrupted"))
        }
    };
    if outcome.is_err() {
        eprintln!("tearing down what was started ...");
        if let Err(e) = down(env).await {
            eprintln!("cleanup failed: {e:#}; run `crm-bench down`");
        }
    }
    outcome
}

/// Signs up the benchmark tenant and its admin through the public API.
pub async fn sign_up_admin(public_url: &str) -> anyhow::Result<Credentials> {
    sign_up(public_url, ADMIN_EMAIL).await
}

/// Signs up a benchmark tenant whose admin is `email`.
pub async fn sign_up(public_url: &str, email: &str) -> anyhow::Result<Credentials> {
    let password = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let r = reqwest::Client::new()
        .post(format!("{public_url}/api/v1/auth/signup"))
        .json(&json!({
            "tenant_name": "crm-bench",
            "name": "Bench Admin",
            "email": email,
            "password": password,
        }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .context("sign up the benchmark tenant")?;
    if !r.status().is_success() {
        bail!(
            "signing up the benchmark tenant answered {}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    Ok(Credentials {
        email: email.to_owned(),
        password,
    })
}

/// Logs in as the deployment's admin and returns an access token.
pub async fn admin_token(d: &Deployment) -> anyhow::Result<String> {
    let admin = d
        .admin
        .as_ref()
        .context("the deployment has no admin credentials")?;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", d.public_url))
        .json(&json!({"email": admin.email, "password": admin.password}))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .context("log in")?;
    if !r.status().is_success() {
        bail!("log-in answered {}", r.status());
    }
    let body: serde_json::Value = r.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the log-in response")
}
