//! The state file: what `up` started, written after every part it starts, so that `down`,
//! `status`, `seed`, `logs` — later invocations, or a cleanup after ctrl-c or a panic — find
//! every process and container of the deployment.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::runtime::Deployment;

/// `CRM_BENCH_STATE`, else `.crm-bench/state.json` under the current directory.
pub fn default_path() -> PathBuf {
    std::env::var_os("CRM_BENCH_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".crm-bench/state.json"))
}

/// One deployment's state file.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The deployment recorded, if any.
    pub fn load(&self) -> anyhow::Result<Option<Deployment>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("read the state file {}", self.path.display()))
                .map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(e).with_context(|| format!("read the state file {}", self.path.display()))
            }
        }
    }

    /// Writes `d` atomically (a crash mid-write leaves the previous state).
    pub fn save(&self, d: &Deployment) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(d)?)
            .with_context(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("write the state file {}", self.path.display()))
    }

    /// Removes the file; fine if there is none.
    pub fn clear(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("remove the state file {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }
}
