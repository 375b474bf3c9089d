//! A private NATS server with JetStream: Debian's `nats-server` on a free port on 127.0.0.1,
//! storing its streams in a temp dir that is removed afterwards.
//!
//! As in [`crate::pg`], a shell watchdog owns the server: it stops the server and removes the
//! directory when the owning process exits, even if that process dies without running
//! destructors (a killed test binary). The watchdog also takes two signals so tests can take
//! the server away and bring it back on the same port with the same streams
//! ([`NatsServer::halt`], [`NatsServer::restart`]); [`NatsServer::pid`] is there for
//! harsher faults (SIGSTOP, SIGKILL).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// The `nats-server` binary: `CRM_NATS_BIN`, else Debian's `/usr/sbin/nats-server`, else the
/// first one on `PATH`.
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("CRM_NATS_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.exists() {
            bail!(
                "CRM_NATS_BIN points at {}, which does not exist",
                bin.display()
            );
        }
        return Ok(bin);
    }
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        return Ok(debian);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("nats-server"))
                .find(|bin| bin.exists())
        })
        .context("nats-server not found (apt-get install nats-server, or set CRM_NATS_BIN)")
}

/// A running server; dropping it stops the server and deletes its files.
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl NatsServer {
    /// Starts a server with JetStream enabled and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<NatsServer> {
        let bin = binary()?;
        let dir = tempfile::Builder::new()
            .prefix("crm-nats-")
            .tempdir()
            .context("create nats dir")?
            .keep();
        let port = crate::net::free_port();
        let owner = std::process::id();
        let d = shell_quote(&dir.to_string_lossy());
        // USR1 stops the server and keeps its store; USR2 starts it again. Only the owner's
        // death (or TERM) ends the watchdog, so a server killed by a test can be restarted.
        // CONT first: a server stopped with SIGSTOP would otherwise never see the TERM.
        let script = format!(
            "run() {{ {bin} -js -sd {d}/store -a 127.0.0.1 -p {port} -P {d}/nats.pid >>{d}/server.log 2>&1 & srv=$!; }}
             halt() {{ if [ -n \"$srv\" ]; then kill -TERM $srv 2>/dev/null; kill -CONT $srv 2>/dev/null; wait $srv 2>/dev/null; fi; srv=; rm -f {d}/nats.pid; }}
             stop() {{ halt; rm -rf {d}; exit 0; }}
             trap stop TERM INT HUP
             trap halt USR1
             trap 'halt; run' USR2
             srv=
             run
             while kill -0 {owner} 2>/dev/null; do sleep 0.2; done
             stop",
            bin = shell_quote(&bin.to_string_lossy()),
        );
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start nats-server")?;
        let server = NatsServer {
            port,
            dir,
            watchdog: Some(watchdog),
        };
        server.wait_ready(None).await?;
        Ok(server)
    }

    /// Waits until a server (other than `old`) wrote its pid and accepts connections.
    async fn wait_ready(&self, old: Option<u32>) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let fresh = self.pid().is_some_and(|p| Some(p) != old);
            if fresh
                && tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("nats-server did not become ready:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One server per test process, started on first use on its own thread and runtime (so
    /// it outlives each test's runtime). The watchdog removes it when the process exits.
    /// Tests that halt or kill the server start their own instead.
    pub fn shared() -> &'static NatsServer {
        static SHARED: std::sync::OnceLock<NatsServer> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(NatsServer::start())
                    .expect("start the shared nats-server")
            })
            .join()
            .expect("nats thread")
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the JetStream store and `server.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id while it runs (for fault injection: SIGSTOP / SIGKILL).
    pub fn pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("nats.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn signal_watchdog(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self
            .watchdog
            .as_ref()
            .map(Child::id)
            .context("nats-server already stopped")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("signal the nats watchdog")?;
        if !status.success() {
            bail!("the nats watchdog {pid} is gone");
        }
        Ok(())
    }

    /// Stops the server but keeps its port reserved and its store, so that [`restart`]
    /// brings the same streams and consumers back. Returns once the port is closed.
    ///
    /// [`restart`]: NatsServer::restart
    pub async fn halt(&self) -> anyhow::Result<()> {
        let old = self.pid();
        self.signal_watchdog("USR1")?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let gone = old.is_none_or(|p| !Path::new(&format!("/proc/{p}")).exists());
            if gone
                && tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_err()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("nats-server did not stop");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the server again on the same port and store (stopping it first if it runs,
    /// e.g. after a SIGKILL or SIGSTOP), and waits until it accepts connections.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let old = self.pid();
        self.signal_watchdog("USR2")?;
        self.wait_ready(old).await
    }

    /// Stops the server and removes its files.
    pub async fn stop(mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(w.id().to_string())
                .status();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while matches!(w.try_wait(), Ok(None)) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(w) = self.watchdog.take() {
            // Synchronous: ask the watchdog to stop the server; it cleans up on its own.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(w.id().to_string())
                .status();
        }
    }
}
