//! Reading processes from /proc: liveness, CPU seconds, memory, children.

use std::path::Path;

/// Whether `pid` is a running (not zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => state(&stat) != Some('Z'),
        Err(_) => false,
    }
}

/// Fields after the `(comm)` part of /proc/<pid>/stat (comm may contain spaces).
fn fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

fn state(stat: &str) -> Option<char> {
    fields(stat).first().and_then(|s| s.chars().next())
}

/// CPU seconds of `pid`: user + system, plus those of children it has reaped when
/// `with_reaped` (a postmaster reaps its backends).
pub fn cpu_seconds(pid: u32, with_reaped: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let f = fields(&stat);
    // After the comm: state is field 3; utime 14, stime 15, cutime 16, cstime 17 (1-based).
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut ticks = get(14) + get(15);
    if with_reaped {
        ticks += get(16) + get(17);
    }
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    // CLK_TCK is 100 on every Linux this runs on; getconf confirms when available.
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Proportional set size in bytes (shared pages split among their users, so a postmaster and
/// its backends do not count shared buffers many times); RSS when PSS is unavailable.
pub fn memory_bytes(pid: u32) -> u64 {
    let read_kb = |path: &str, key: &str| -> Option<u64> {
        std::fs::read_to_string(path)
            .ok()?
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    read_kb(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
        .or_else(|| read_kb(&format!("/proc/{pid}/status"), "VmRSS:"))
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds and memory of `pid` with its direct children: for PostgreSQL, the
/// postmaster and its backends (those it has reaped count in its cutime).
pub fn tree_usage(pid: u32) -> (f64, u64) {
    let kids = children(pid);
    (
        cpu_seconds(pid, true) + kids.iter().map(|k| cpu_seconds(*k, false)).sum::<f64>(),
        memory_bytes(pid) + kids.iter().map(|k| memory_bytes(*k)).sum::<u64>(),
    )
}

/// Direct children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(Path::new(&path))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_measured() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(memory_bytes(me) > 0);
        let _ = cpu_seconds(me, false);
        assert!(!alive(u32::MAX - 1));
    }

    #[test]
    fn comm_with_spaces_does_not_shift_fields() {
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 300 200 11 12";
        assert_eq!(state(stat), Some('S'));
        assert_eq!(fields(stat)[14 - 3], "300");
    }
}
