//! A cluster that outlives the process that started it (`crm-bench up`): `pg_ctl` as a
//! daemon, stopped by directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::process::Command;

use super::{PgOptions, Prepared, bin_dir, is_root, prepare, shell_quote};

/// A cluster that is not tied to this process (the harness's `up` exits, the cluster stays):
/// started with `pg_ctl` as a daemon, stopped with [`DetachedPg::stop`].
#[derive(Clone, Debug)]
pub struct DetachedPg {
    pub port: u16,
    pub dir: PathBuf,
    /// The postmaster's process id.
    pub pid: u32,
}

impl DetachedPg {
    /// Initialises `dir` and starts the server; `dir` must not hold a cluster yet.
    pub async fn start(dir: &Path, opts: &PgOptions) -> anyhow::Result<DetachedPg> {
        let Prepared {
            as_user,
            data,
            args,
            taskset,
            port,
        } = prepare(dir, opts).await?;
        let pg_ctl = bin_dir().join("pg_ctl");
        let d = shell_quote(&dir.to_string_lossy());
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{taskset}{as_user}{} -D {} -l {d}/server.log -w -t 60 -o {} start",
                shell_quote(&pg_ctl.to_string_lossy()),
                shell_quote(&data.to_string_lossy()),
                shell_quote(&format!("-p {port}{args}")),
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .context("run pg_ctl start")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            bail!(
                "pg_ctl start failed: {}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pidfile =
            std::fs::read_to_string(data.join("postmaster.pid")).context("postmaster.pid")?;
        let pid = pidfile
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .parse()
            .context("postmaster pid")?;
        Ok(DetachedPg {
            port,
            dir: dir.to_owned(),
            pid,
        })
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server in `dir` (fast shutdown); fine if it is not running.
    pub async fn stop(dir: &Path) -> anyhow::Result<()> {
        let data = dir.join("data");
        if !data.join("postmaster.pid").exists() {
            return Ok(());
        }
        let as_user = if is_root() {
            "setpriv --reuid=postgres --regid=postgres --init-groups -- "
        } else {
            ""
        };
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{as_user}{} -D {} -m fast -w -t 60 stop",
                shell_quote(&bin_dir().join("pg_ctl").to_string_lossy()),
                shell_quote(&data.to_string_lossy())
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        Ok(())
    }
}
