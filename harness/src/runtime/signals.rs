//! The process runtime's hold on what it started: the `Child` handles it keeps so that a
//! killed process is also reaped (no zombies during long experiments), and signals.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::procfs;

/// Children spawned by this process, by pid.
static CHILDREN: Mutex<Option<HashMap<u32, Child>>> = Mutex::new(None);

/// Keeps `child` so that stopping it later also reaps it.
pub fn keep(child: Child) {
    CHILDREN
        .lock()
        .expect("children lock")
        .get_or_insert_with(HashMap::new)
        .insert(child.id(), child);
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

pub fn reap(pid: u32) {
    let child = CHILDREN
        .lock()
        .expect("children lock")
        .get_or_insert_with(HashMap::new)
        .remove(&pid);
    if let Some(mut c) = child {
        let _ = c.wait();
    }
}

/// Stops a process: SIGTERM, then SIGKILL if it is still there after `grace`.
pub async fn stop(pid: u32, grace: Duration) {
    signal(pid, "TERM");
    let deadline = tokio::time::Instant::now() + grace;
    while procfs::alive(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if procfs::alive(pid) {
        signal(pid, "KILL");
    }
    reap(pid);
}
