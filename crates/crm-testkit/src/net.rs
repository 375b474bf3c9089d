//! Ports and readiness.

use std::net::TcpListener;
use std::time::Duration;

/// A port that was free a moment ago on 127.0.0.1, and that no earlier call in this process
/// handed out.
///
/// Ports come from below the kernel's ephemeral range (`ip_local_port_range`), where neither
/// outgoing connections' source ports nor `bind(0)` land: a port picked with `bind(0)` and
/// released could be handed out again, or taken by a connection, before the server meant
/// for it binds — and a CRM service whose port another CRM service holds exits while the
/// other answers its readiness check (seen once: the gateway's analytics traffic went to
/// another service, which answered 404 "route not found").
pub fn free_port() -> u16 {
    use rand::Rng;
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let lo = 10_000u16;
    let hi = ephemeral_start().saturating_sub(1);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    if hi > lo + 1000 {
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let port = rng.gen_range(lo..=hi);
            if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
                given.insert(port);
                return port;
            }
        }
    }
    // No room below the ephemeral range: the kernel's choice, still never twice.
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral port");
        if given.insert(port) {
            return port;
        }
    }
}

/// The first port of the kernel's ephemeral range (32768 when unknown).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Waits until something accepts connections on `127.0.0.1:port`.
pub async fn wait_for_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("nothing listened on port {port} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_never_handed_out_twice_and_stay_below_the_ephemeral_range() {
        let ports: Vec<u16> = (0..500).map(|_| free_port()).collect();
        let unique: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        assert!(ports.iter().all(|&p| p >= 10_000 && p < ephemeral_start()));
    }
}
