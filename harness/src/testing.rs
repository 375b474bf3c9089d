//! Support for the harness's own integration tests: an [`Env`] with a private state file and
//! work root, finding the CRM binaries next to the test's `crm-bench`.

use std::path::{Path, PathBuf};

use crate::lifecycle::Env;
use crate::runtime::RuntimeSettings;
use crate::state::StateFile;
use crate::topology::{Arch, RuntimeKind, Topology};

/// An environment of its own for one test: state file and work root in a fresh temp dir.
/// `crm_bench_exe` is `env!("CARGO_BIN_EXE_crm-bench")`; the CRM's binaries are expected in
/// the same directory (`cargo build --bins` puts them there).
pub fn env(crm_bench_exe: &str) -> Env {
    let bin_dir = Path::new(crm_bench_exe)
        .parent()
        .expect("crm-bench's directory")
        .to_owned();
    for bin in ["crm-monolith", "gateway", "customers-svc"] {
        assert!(
            bin_dir.join(bin).exists(),
            "{} is missing: build the CRM's binaries first (cargo build --workspace --bins)",
            bin_dir.join(bin).display()
        );
    }
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("crm-bench-test-")
        .tempdir()
        .expect("temp dir")
        .keep();
    Env {
        state: StateFile::new(dir.join("state.json")),
        settings: RuntimeSettings {
            bin_dir,
            work_root: dir.join("work"),
            durable: false,
            target: None,
        },
    }
}

/// One replica of everything, no CPU pinning (tests share the machine's CPUs).
pub fn topology(arch: Arch, runtime: RuntimeKind) -> Topology {
    Topology {
        arch,
        runtime,
        specs: Default::default(),
        sut_cpus: None,
        tracing: None,
    }
}
