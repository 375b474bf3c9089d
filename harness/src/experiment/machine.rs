//! Facts about the machine a run happened on, and the CPU split between the system under
//! test and the load generator (METHOD.md: the generator never shares the SUT's CPUs
//! without the report saying so).

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::results::Machine;

/// Pins this process (every thread, present and future) to `cpus` with `taskset`.
pub fn pin_self(cpus: &str) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-c", "-p", cpus, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("run taskset")?;
    anyhow::ensure!(status.success(), "taskset -a -c -p {cpus} failed");
    Ok(())
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `release` or `debug`, from the directory the CRM's binaries are in.
pub fn build_profile(bin_dir: &Path) -> String {
    bin_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// Jiffies of every CPU from /proc/stat: (stolen by the hypervisor, all).
pub fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    Some((*v.get(7)?, v.iter().take(8).sum()))
}

/// The fraction of CPU time stolen between two [`cpu_jiffies`] readings.
pub fn steal_between(start: Option<(u64, u64)>, end: Option<(u64, u64)>) -> Option<f64> {
    let ((s0, t0), (s1, t1)) = (start?, end?);
    (t1 > t0).then(|| s1.saturating_sub(s0) as f64 / (t1 - t0) as f64)
}

pub fn describe(sut_cpus: Option<String>, load_cpus: Option<String>, bin_dir: &Path) -> Machine {
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        sut_cpus,
        load_cpus,
        memory_bytes: memory_bytes(),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        git_commit: git_commit(),
        build_profile: build_profile(bin_dir),
        calibration: None,
        cpu_steal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_stolen_share_of_the_jiffies_between_two_readings() {
        assert_eq!(
            steal_between(Some((10, 1000)), Some((30, 2000))),
            Some(0.02)
        );
        assert_eq!(steal_between(Some((10, 1000)), Some((10, 1000))), None);
        assert_eq!(steal_between(None, Some((10, 1000))), None);
        let (steal, total) = cpu_jiffies().expect("/proc/stat has a cpu line");
        assert!(total > 0 && steal <= total);
    }
}
