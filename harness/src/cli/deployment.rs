//! The commands about one deployment: `up`, `down`, `status`, `logs`.

use std::time::Duration;

use anyhow::{Context, bail};

use super::UpArgs;
use crate::lifecycle::{self, Env};
use crate::runtime::runtime;
use crate::topology::RuntimeKind;

/// `crm-bench up`: starts the architecture and prints where it answers and who can log in.
pub(super) async fn up(mut env: Env, args: &UpArgs) -> anyhow::Result<()> {
    let topology = args.topology()?;
    env.settings.durable = args.durable;
    env.settings.target = args.target.clone();
    let guard_env = env.clone();
    let up = lifecycle::guarded(
        &guard_env,
        async move { lifecycle::up(&env, &topology).await },
    )
    .await?;
    let d = &up.deployment;
    let admin = d.admin.as_ref().context("admin")?;
    println!(
        "{} is up ({} runtime) in {:.1} s",
        d.arch,
        d.runtime,
        up.ready_after.as_secs_f64()
    );
    println!("  API:      {}/api/v1", d.public_url);
    println!("  path:     {}", d.request_path());
    println!("  admin:    {} / {}", admin.email, admin.password);
    println!("  state:    {}", guard_env.state.path().display());
    println!("  stop it:  crm-bench down");
    Ok(())
}

/// `crm-bench down [--keep]`.
pub(super) async fn down(env: &Env, keep: bool) -> anyhow::Result<()> {
    match lifecycle::down_keeping(env, keep).await? {
        Some(d) if keep => {
            println!("{} ({} runtime) is down", d.arch, d.runtime);
            println!("  kept:     {}", d.work_dir.display());
            println!("  logs:     {}", lifecycle::log_hint(&d));
        }
        Some(d) if d.runtime == RuntimeKind::External => {
            println!(
                "{} at {} forgotten: crm-bench stopped nothing (it did not start it)",
                d.arch, d.public_url
            );
        }
        Some(d) => {
            println!("{} ({} runtime) is down", d.arch, d.runtime);
            println!("  removed:  {}", d.work_dir.display());
        }
        None => println!("nothing is up"),
    }
    Ok(())
}

/// `crm-bench status [--json]`: every instance, whether it runs and answers `/readyz`.
pub(super) async fn status(env: &Env, json: bool) -> anyhow::Result<()> {
    let Some(d) = env.state.load()? else {
        println!("nothing is up");
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    let rt = runtime(d.runtime, &env.settings);
    println!(
        "{} ({} runtime), up since {}: {}",
        d.arch,
        d.runtime,
        d.started_at.format("%F %T UTC"),
        d.public_url
    );
    println!("  path: {}", d.request_path());
    if d.runtime == RuntimeKind::External {
        let ready = crate::runtime::external::wait_url(&d.public_url, Duration::ZERO).await;
        println!(
            "  public URL: {}",
            ready.map_or_else(|e| format!("not ready ({e:#})"), |()| "ready".to_owned())
        );
        let t = crate::runtime::external::target_of(&d)?;
        let actions: Vec<&str> = t.actions.keys().map(String::as_str).collect();
        println!(
            "  actions: {}",
            if actions.is_empty() {
                "none".to_owned()
            } else {
                actions.join(", ")
            }
        );
    }
    let http = reqwest::Client::new();
    for inst in &d.instances {
        let alive = rt.alive(&d, &inst.name).await;
        let ready = match &inst.url {
            Some(u) if alive => match http
                .get(format!("{u}/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => "ready",
                Ok(_) => "not ready",
                Err(_) => "unreachable",
            },
            Some(_) => "-",
            None => "",
        };
        let place = match (&inst.url, d.runtime) {
            (Some(u), _) => u.clone(),
            (None, RuntimeKind::External) => "(through the target's commands)".to_owned(),
            (None, _) => format!("127.0.0.1:{}", inst.port),
        };
        println!(
            "  {:<16} {:<8} {:<11} {}",
            inst.name,
            if alive { "running" } else { "stopped" },
            ready,
            place
        );
    }
    Ok(())
}

/// `crm-bench logs INSTANCE`.
pub(super) async fn logs(env: &Env, instance: &str, lines: usize) -> anyhow::Result<()> {
    let d = env.state.load()?.context("nothing is up")?;
    if d.instance(instance).is_none() {
        let names: Vec<&str> = d.instances.iter().map(|i| i.name.as_str()).collect();
        bail!("no instance '{instance}' (instances: {})", names.join(", "));
    }
    println!(
        "{}",
        runtime(d.runtime, &env.settings)
            .logs(&d, instance, lines)
            .await?
    );
    Ok(())
}
