//! A private PostgreSQL cluster: `initdb` into a temp dir, `postgres` on a free port on
//! 127.0.0.1, removed afterwards.
//!
//! `initdb` refuses to run as root, so as root both run as the `postgres` OS user (through
//! `setpriv`). A shell watchdog stops the server and removes the directory when the owning
//! process exits, even if it dies without running destructors (a killed test binary).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

mod detached;
pub use detached::DetachedPg;

/// Where Debian's PostgreSQL 15 server binaries live; `CRM_PG_BIN` overrides.
pub fn bin_dir() -> PathBuf {
    std::env::var_os("CRM_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// Settings of a cluster.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Durable (`fsync`, synchronous commit) like production; tests turn it off for speed.
    pub durable: bool,
    pub max_connections: u32,
    pub shared_buffers: String,
    /// Extra `-c name=value` settings.
    pub settings: Vec<(String, String)>,
    /// Run the server under `taskset -c <cpus>` (CPU affinity), e.g. `"1"`.
    pub cpus: Option<String>,
}

impl PgOptions {
    /// Fast, non-durable settings for tests.
    pub fn for_tests() -> Self {
        PgOptions {
            durable: false,
            max_connections: 300,
            shared_buffers: "128MB".into(),
            settings: Vec::new(),
            cpus: None,
        }
    }

    /// Durable settings for benchmarks.
    pub fn for_bench() -> Self {
        PgOptions {
            durable: true,
            max_connections: 300,
            shared_buffers: "1GB".into(),
            settings: Vec::new(),
            cpus: None,
        }
    }
}

/// A running cluster; dropping it stops the server and deletes its files.
pub struct PgCluster {
    port: u16,
    dir: PathBuf,
    watchdog: Option<Child>,
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// An initialised data directory and how to start its server.
struct Prepared {
    /// `setpriv ... -- ` when running as root (initdb and postgres refuse root), else empty.
    as_user: String,
    data: PathBuf,
    /// ` -c name=value ...` for the server.
    args: String,
    taskset: String,
    port: u16,
}

/// `initdb` into `dir/data` (owned by `postgres` when we are root) and the server settings.
async fn prepare(dir: &Path, opts: &PgOptions) -> anyhow::Result<Prepared> {
    let bin = bin_dir();
    if !bin.join("postgres").exists() {
        bail!(
            "PostgreSQL 15 server binaries not found in {} (apt-get install postgresql-15, or set CRM_PG_BIN)",
            bin.display()
        );
    }
    std::fs::create_dir_all(dir).context("create cluster dir")?;
    let data = dir.join("data");
    let as_user = if is_root() {
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .context("chown cluster dir")?;
        if !status.success() {
            bail!(
                "chown of {} to postgres failed (is there a postgres user?)",
                dir.display()
            );
        }
        "setpriv --reuid=postgres --regid=postgres --init-groups -- ".to_owned()
    } else {
        String::new()
    };
    let init = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{as_user}{} -D {} -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync",
            shell_quote(&bin.join("initdb").to_string_lossy()),
            shell_quote(&data.to_string_lossy())
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .context("run initdb")?;
    if !init.status.success() {
        bail!("initdb failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let port = crate::net::free_port();
    let mut settings = vec![
        ("listen_addresses".to_owned(), "127.0.0.1".to_owned()),
        (
            "unix_socket_directories".to_owned(),
            dir.to_string_lossy().into_owned(),
        ),
        (
            "max_connections".to_owned(),
            opts.max_connections.to_string(),
        ),
        ("shared_buffers".to_owned(), opts.shared_buffers.clone()),
        ("log_min_messages".to_owned(), "warning".to_owned()),
    ];
    if !opts.durable {
        for (k, v) in [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ] {
            settings.push((k.to_owned(), v.to_owned()));
        }
    }
    settings.extend(opts.settings.iter().cloned());
    let args: String = settings
        .iter()
        .map(|(k, v)| format!(" -c {}", shell_quote(&format!("{k}={v}"))))
        .collect();
    let taskset = opts
        .cpus
        .as_ref()
        .map(|c| format!("taskset -c {} ", shell_quote(c)))
        .unwrap_or_default();
    Ok(Prepared {
        as_user,
        data,
        args,
        taskset,
        port,
    })
}

impl PgCluster {
    pub async fn start() -> anyhow::Result<PgCluster> {
        Self::start_with(PgOptions::for_tests()).await
    }

    pub async fn start_with(opts: PgOptions) -> anyhow::Result<PgCluster> {
        let dir = tempfile::Builder::new()
            .prefix("crm-pg-")
            .tempdir()
            .context("create cluster dir")?
            .keep();
        let Prepared {
            as_user,
            data,
            args,
            taskset,
            port,
        } = prepare(&dir, &opts).await?;
        let bin = bin_dir();
        let owner = std::process::id();
        let d = shell_quote(&dir.to_string_lossy());
        let script = format!(
            "{taskset}{as_user}{postgres} -D {data} -p {port}{args} >{d}/server.log 2>&1 &
             pg=$!
             stop() {{ kill -INT $pg 2>/dev/null; wait $pg 2>/dev/null; rm -rf {d}; exit 0; }}
             trap stop TERM INT HUP
             while kill -0 {owner} 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.3; done
             stop",
            postgres = shell_quote(&bin.join("postgres").to_string_lossy()),
            data = shell_quote(&data.to_string_lossy()),
        );
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start postgres")?;
        let cluster = PgCluster {
            port,
            dir,
            watchdog: Some(watchdog),
        };
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match <sqlx::postgres::PgConnection as sqlx::Connection>::connect(&self.url("postgres"))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if tokio::time::Instant::now() > deadline => {
                    let log =
                        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                    bail!("postgres did not become ready: {e}\n{log}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// One cluster per test process, started on first use on its own thread and runtime (so
    /// it outlives each test's runtime). The watchdog removes it when the process exits.
    pub fn shared() -> &'static PgCluster {
        static SHARED: std::sync::OnceLock<PgCluster> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(PgCluster::start())
                    .expect("start the shared test cluster")
            })
            .join()
            .expect("cluster thread")
        })
    }

    /// A fresh database with the core migrations and those of the given contexts applied.
    pub async fn migrated_pool(
        &self,
        contexts: &[(&str, &[crm_core::migrate::Migration])],
    ) -> anyhow::Result<sqlx::PgPool> {
        let url = self.fresh_database("t").await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await?;
        crm_core::migrate::run(&pool, "core", crm_core::migrate::CORE).await?;
        for (name, migrations) in contexts {
            crm_core::migrate::run(&pool, name, migrations).await?;
        }
        Ok(pool)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh database and returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        use sqlx::Executor;
        let mut conn =
            <sqlx::postgres::PgConnection as sqlx::Connection>::connect(&self.url("postgres"))
                .await?;
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        Ok(self.url(name))
    }

    /// Creates a database with a unique name (`prefix_<random>`).
    pub async fn fresh_database(&self, prefix: &str) -> anyhow::Result<String> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        self.create_database(&name).await
    }

    /// The server's process id (for fault injection: SIGSTOP / SIGKILL).
    pub fn server_pid(&self) -> Option<u32> {
        let pidfile = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        pidfile.lines().next()?.trim().parse().ok()
    }

    /// Stops the server and removes its files.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            if let Some(pid) = w.id() {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status()
                    .await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(20), w.wait()).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(w) = self.watchdog.take() {
            // Synchronous: ask the watchdog to stop the server; it cleans up on its own.
            if let Some(pid) = w.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
}
