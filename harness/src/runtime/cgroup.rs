//! CPU quotas and memory limits for the process runtime's processes, through the kernel's
//! cgroups (v1 `cpu` and `memory` hierarchies, or the v2 unified one): one group per
//! instance under `crm-bench/<deployment>/`, so `--cpus customers=0.25` means the same in
//! process mode as `docker --cpus` does in containers. Needs write access to /sys/fs/cgroup
//! (root); without it, asking for a limit fails clearly instead of running unlimited.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

const ROOT: &str = "/sys/fs/cgroup";
const PERIOD_US: u64 = 100_000;

fn unified() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

fn group(hierarchy: &str, deployment: &str, instance: &str) -> PathBuf {
    let base = if unified() {
        PathBuf::from(ROOT)
    } else {
        Path::new(ROOT).join(hierarchy)
    };
    base.join("crm-bench")
        .join(deployment)
        .join(instance.replace('#', "-"))
}

fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    std::fs::write(path, value).with_context(|| format!("write {value} to {}", path.display()))
}

fn enter(dir: &Path, pid: u32) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "create the cgroup {} (CPU and memory limits in the process runtime need root, or use --runtime docker)",
            dir.display()
        )
    })?;
    write(&dir.join("cgroup.procs"), &pid.to_string())
}

/// Puts `pid` under a CPU quota of `cpus` cores and/or a memory limit of `memory` bytes.
pub fn limit(
    deployment: &str,
    instance: &str,
    pid: u32,
    cpus: Option<f64>,
    memory: Option<u64>,
) -> anyhow::Result<()> {
    if unified() {
        let dir = unified_group(deployment, instance)?;
        enter(&dir, pid)?;
        if let Some(c) = cpus {
            write(
                &dir.join("cpu.max"),
                &format!("{} {PERIOD_US}", (c * PERIOD_US as f64) as u64),
            )?;
        }
        if let Some(m) = memory {
            write(&dir.join("memory.max"), &m.to_string())?;
        }
        return Ok(());
    }
    if let Some(c) = cpus {
        let dir = group("cpu", deployment, instance);
        enter(&dir, pid)?;
        write(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
        write(
            &dir.join("cpu.cfs_quota_us"),
            &((c * PERIOD_US as f64) as u64).to_string(),
        )?;
    }
    if let Some(m) = memory {
        let dir = group("memory", deployment, instance);
        enter(&dir, pid)?;
        write(&dir.join("memory.limit_in_bytes"), &m.to_string())?;
    }
    Ok(())
}

/// The v2 group of an instance, with the CPU and memory controllers enabled down the path
/// (a leaf has only the controllers its parents hand down); not yet created itself.
fn unified_group(deployment: &str, instance: &str) -> anyhow::Result<PathBuf> {
    let dir = group("", deployment, instance);
    if let Some(parent) = dir.parent() {
        let mut p = PathBuf::from(ROOT);
        for part in parent.strip_prefix(ROOT).unwrap_or(parent).components() {
            let _ = std::fs::write(p.join("cgroup.subtree_control"), "+cpu +memory");
            p = p.join(part);
            std::fs::create_dir_all(&p)?;
        }
        let _ = std::fs::write(p.join("cgroup.subtree_control"), "+cpu +memory");
    }
    Ok(dir)
}

/// Sets the CPU quota of running processes — every one of `pids` moves into the group of
/// `instance` — or lifts it (`None`: unlimited, the processes stay in the group). A quota
/// changed this way takes effect at once, without a restart; children forked later (a
/// PostgreSQL backend) inherit the group.
pub fn set_cpu_quota(
    deployment: &str,
    instance: &str,
    pids: &[u32],
    cpus: Option<f64>,
) -> anyhow::Result<()> {
    let quota = cpus.map(|c| ((c * PERIOD_US as f64) as u64).max(1000));
    if unified() {
        let dir = unified_group(deployment, instance)?;
        for pid in pids {
            enter(&dir, *pid)?;
        }
        let max = quota.map_or("max".to_owned(), |q| q.to_string());
        return write(&dir.join("cpu.max"), &format!("{max} {PERIOD_US}"));
    }
    let dir = group("cpu", deployment, instance);
    for pid in pids {
        enter(&dir, *pid)?;
    }
    write(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
    let q = quota.map_or("-1".to_owned(), |q| q.to_string());
    write(&dir.join("cpu.cfs_quota_us"), &q)
}

/// Removes the deployment's groups (their processes must have exited); fine if none exist.
pub fn remove(deployment: &str) {
    for hierarchy in ["cpu", "memory", ""] {
        let dir = group(hierarchy, deployment, "x");
        let Some(dep) = dir.parent() else { continue };
        if let Ok(entries) = std::fs::read_dir(dep) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(dep);
    }
}

/// Whether limits can be set here at all: a group can be made under our hierarchy.
pub fn available() -> bool {
    let base = if unified() {
        PathBuf::from(ROOT)
    } else {
        Path::new(ROOT).join("cpu")
    };
    std::fs::create_dir_all(base.join("crm-bench")).is_ok()
}

/// Refuses a limit the process runtime cannot apply.
pub fn check(cpus: Option<f64>, memory: Option<u64>) -> anyhow::Result<()> {
    if (cpus.is_some() || memory.is_some()) && !available() {
        bail!(
            "CPU and memory limits in the process runtime need root (cgroups); run as root or use --runtime docker"
        );
    }
    Ok(())
}
