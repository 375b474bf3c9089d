//! The base image, `crm-bench/base:bookworm`: a Debian root file system that
//! deploy/base-image.sh (compiled in) makes with `debootstrap`, kept as a tarball in the
//! cache directory and imported into the engine.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::{BASE, BUILDING, Built, Images, RECIPE_LABEL};

const BASE_SCRIPT: &str = include_str!("../../../../../deploy/base-image.sh");

/// `CRM_BENCH_CACHE`, else `$XDG_CACHE_HOME/crm-bench`, else `~/.cache/crm-bench`: where the
/// base image's root file system tarball is kept.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CRM_BENCH_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("crm-bench");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/crm-bench"),
        None => std::env::temp_dir().join("crm-bench-cache"),
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

impl Images {
    /// `crm-bench/base:bookworm`: reused, imported from the cached tarball, or debootstrapped.
    pub async fn base(&self) -> anyhow::Result<Built> {
        let _one_at_a_time = BUILDING.lock().await;
        let started = Instant::now();
        // The script's own hash, as the script labels an image it imports itself (so the
        // harness reuses that one too).
        let recipe = hex::encode(Sha256::digest(BASE_SCRIPT.as_bytes()));
        if let Some(b) = self.reusable(BASE, &recipe).await? {
            return Ok(Built {
                took: started.elapsed(),
                ..b
            });
        }
        std::fs::create_dir_all(&self.cache_dir)
            .with_context(|| format!("create {}", self.cache_dir.display()))?;
        let tarball = self
            .cache_dir
            .join(format!("base-bookworm-{}.tar", &recipe[..12]));
        if self.rebuild || !tarball.exists() {
            self.debootstrap(&recipe, &tarball).await?;
        }
        let changes = [
            format!("LABEL {RECIPE_LABEL}={recipe}"),
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            r#"CMD ["/bin/bash"]"#.to_owned(),
        ];
        let replaced = self.current_id(BASE).await?;
        self.engine.import(&tarball, BASE, &changes).await?;
        let built = self.described(BASE, true, started.elapsed()).await?;
        self.drop_replaced(replaced, &built).await;
        Ok(built)
    }

    /// Runs deploy/base-image.sh (compiled in) to write the root file system tarball.
    async fn debootstrap(&self, recipe: &str, tarball: &Path) -> anyhow::Result<()> {
        let script = self
            .cache_dir
            .join(format!("base-image-{}.sh", &recipe[..12]));
        std::fs::write(&script, BASE_SCRIPT)?;
        // A name of its own, so two processes doing this at once do not write one file.
        let partial = tempfile::Builder::new()
            .prefix("base-bookworm-")
            .suffix(".tar")
            .tempfile_in(&self.cache_dir)?
            .into_temp_path();
        let mut cmd = if is_root() {
            tokio::process::Command::new("sh")
        } else {
            let mut c = tokio::process::Command::new("sudo");
            c.args(["-n", "sh"]);
            c
        };
        tracing::info!(
            "building the base image's root file system with debootstrap (about a minute)"
        );
        let out = cmd
            .arg(&script)
            .arg("--tarball")
            .arg(&*partial)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("run deploy/base-image.sh")?;
        let _ = std::fs::remove_file(&script);
        if !out.status.success() {
            bail!(
                "deploy/base-image.sh failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        partial
            .persist(tarball)
            .with_context(|| format!("keep {}", tarball.display()))?;
        Ok(())
    }
}
