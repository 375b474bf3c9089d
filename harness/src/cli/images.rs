//! `crm-bench images`: the Docker runtime's images, built locally.

use crate::lifecycle::Env;

pub(super) async fn images(env: &Env, rebuild: bool) -> anyhow::Result<()> {
    use crate::runtime::docker::{client::Engine, images::Images};
    let engine = Engine::connect().await?;
    println!(
        "Docker engine at {} (API {})",
        engine.host(),
        engine.api_version()
    );
    let started = std::time::Instant::now();
    let images = Images::new(engine, rebuild);
    let built = images.all(&env.settings.bin_dir).await?;
    for b in &built {
        println!(
            "  {:<40} {:<7} {:>6.1} s {:>8.1} MB",
            b.image,
            if b.built { "built" } else { "reused" },
            b.took.as_secs_f64(),
            b.size_bytes as f64 / 1e6
        );
    }
    println!("in {:.1} s", started.elapsed().as_secs_f64());
    let removed = images.prune(&built).await?;
    if !removed.is_empty() {
        println!("removed {} images earlier builds left", removed.len());
    }
    Ok(())
}
