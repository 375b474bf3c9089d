//! What every architecture of a scenario needs on this machine, checked before anything is
//! measured: the CRM's binaries, PostgreSQL, nats-server (nothing for an external target,
//! whose file `up` reads and checks).

use crate::lifecycle::Env;
use crate::scenario::{ExperimentSpec, Scenario};
use crate::topology::{Arch, RuntimeKind};

/// What every architecture of the scenario needs, checked before anything is measured, so a
/// missing binary fails the run at once rather than after the first architecture's minutes.
pub(super) fn check(env: &Env, scenario: &Scenario) -> anyhow::Result<()> {
    if scenario.runtime == RuntimeKind::External {
        // Nothing is started here; the target file is read (and checked) by `up`.
        return Ok(());
    }
    let mut missing = Vec::new();
    // Monolith replicas run behind the balancer, the gateway's binary.
    let replicated = scenario.experiments.iter().any(|e| match e {
        ExperimentSpec::Deploy(d) => d.replicas > 1,
        ExperimentSpec::Fault(f) => f.replicas > 1,
        ExperimentSpec::Scale(_) => true,
        _ => false,
    });
    for arch in &scenario.architectures {
        let mut processes = crate::topology::services(*arch);
        if *arch == Arch::Monolith && replicated {
            processes.push(crate::topology::BALANCER);
        }
        for service in processes {
            let bin = env
                .settings
                .bin_dir
                .join(crate::runtime::launch::binary(service));
            if !bin.exists() && !missing.contains(&bin.display().to_string()) {
                missing.push(bin.display().to_string());
            }
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "the CRM's binaries are missing: {} (cargo build --release --workspace --bins, or --bin-dir)",
            missing.join(", ")
        );
    }
    if scenario.runtime == RuntimeKind::Process {
        let postgres = crm_testkit::pg::bin_dir().join("postgres");
        anyhow::ensure!(
            postgres.exists(),
            "{} not found: PostgreSQL 15 is needed (scripts/install-deps.sh)",
            postgres.display()
        );
        if scenario.architectures.contains(&Arch::Micro) {
            crm_testkit::nats::binary()?;
        }
    }
    Ok(())
}
