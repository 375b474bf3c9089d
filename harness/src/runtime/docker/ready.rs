//! Waiting until a container's service answers: `/readyz` over HTTP for CRM instances, a
//! PostgreSQL connection for postgres, a TCP connection for nats. A container that exits, or
//! a timeout, fails with the container's last log lines.

use std::time::Duration;

use anyhow::bail;

use super::client::Engine;
use crate::runtime::Instance;

/// How an instance shows it is ready.
#[derive(Clone, Debug)]
pub enum Probe {
    /// `GET <url>/readyz` answers 200.
    Http(String),
    /// A connection to this PostgreSQL URL succeeds.
    Postgres(String),
    /// Something accepts TCP connections on `127.0.0.1:<port>`.
    Tcp(u16),
}

impl Probe {
    /// The probe of an instance: HTTP for CRM instances, TCP otherwise.
    pub fn of(inst: &Instance) -> Probe {
        match &inst.url {
            Some(url) => Probe::Http(url.clone()),
            None => Probe::Tcp(inst.port),
        }
    }

    async fn passes(&self, http: &reqwest::Client) -> bool {
        let quick = Duration::from_secs(1);
        match self {
            Probe::Http(url) => http
                .get(format!("{url}/readyz"))
                .timeout(quick)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200),
            Probe::Postgres(url) => {
                let connect = <sqlx::PgConnection as sqlx::Connection>::connect(url);
                match tokio::time::timeout(Duration::from_secs(2), connect).await {
                    Ok(Ok(c)) => {
                        let _ = sqlx::Connection::close(c).await;
                        true
                    }
                    _ => false,
                }
            }
            Probe::Tcp(port) => {
                tokio::time::timeout(quick, tokio::net::TcpStream::connect(("127.0.0.1", *port)))
                    .await
                    .is_ok_and(|r| r.is_ok())
            }
        }
    }
}

/// Waits until `probe` passes for the instance running in `container`.
pub async fn wait_ready(
    engine: &Engine,
    inst: &Instance,
    container: &str,
    probe: &Probe,
    timeout: Duration,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut checks = 0u32;
    loop {
        if probe.passes(&http).await {
            return Ok(());
        }
        // Checking the container costs an engine call: every few probes is enough.
        checks += 1;
        let exited = if checks.is_multiple_of(5) {
            match engine.status(container).await? {
                Some(s) if s.running => None,
                Some(s) => Some(format!("its container exited (code {:?})", s.exit_code)),
                None => Some("its container is gone".to_owned()),
            }
        } else {
            None
        };
        let timed_out = tokio::time::Instant::now() > deadline;
        if exited.is_some() || timed_out {
            let why = exited.unwrap_or_else(|| format!("not ready after {}s", timeout.as_secs()));
            let logs = engine
                .logs(container, 20)
                .await
                .unwrap_or_else(|e| format!("(no logs: {e})"));
            bail!(
                "{} did not become ready: {why}; its last log lines:\n{logs}",
                inst.name
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
