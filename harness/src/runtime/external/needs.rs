//! What each experiment needs of a target, so that one the target cannot perform is skipped
//! with its reason in the report ("target has no `kill` action") instead of being faked or
//! failing half-way.

use super::Target;
use crate::scenario::{Action, DeployMode, ExperimentSpec};
use crate::topology::Arch;

/// Why `spec` cannot run against `t` on `arch`; `None` when it can.
pub fn skip_reason(t: &Target, arch: Arch, spec: &ExperimentSpec) -> Option<String> {
    let holder = |service: &str| match arch {
        Arch::Micro => service.to_owned(),
        Arch::Monolith => "monolith".to_owned(),
    };
    let result = match spec {
        ExperimentSpec::Sweep(_)
        | ExperimentSpec::NoisyNeighbour(_)
        | ExperimentSpec::Journeys(_) => Ok(()),
        ExperimentSpec::Fault(f) => {
            let replicated = f.replicas > 1;
            let action = match arch {
                Arch::Micro => f.action,
                Arch::Monolith if replicated => f.action,
                Arch::Monolith => f.monolith.unwrap_or(f.action.monolith_equivalent()),
            };
            let scale = if replicated { has(t, "scale") } else { Ok(()) };
            scale.and_then(|()| action_needs(t, arch, action, &holder(&f.target)))
        }
        ExperimentSpec::Deploy(d) => {
            if d.replicas > 1 {
                has(t, "scale").and_then(|()| match d.mode {
                    DeployMode::Rolling => has(t, "rolling-restart"),
                    DeployMode::Restart => has(t, "restart"),
                })
            } else {
                has(t, "restart")
            }
        }
        ExperimentSpec::Scale(_) => has(t, "scale"),
        ExperimentSpec::Budget(_) => Err(
            "the external runtime cannot set CPU quotas (the deployment's own limits hold)"
                .to_owned(),
        ),
        ExperimentSpec::Consistency(_) => {
            if t.databases.is_empty() {
                Err("target has no `databases` (the reconciliation reads the source tables)".into())
            } else {
                Ok(())
            }
        }
        ExperimentSpec::Resources(_) => has(t, "stats"),
        ExperimentSpec::Steps(s) => s
            .steps
            .iter()
            .try_for_each(|st| action_needs(t, arch, st.action, &holder(&st.target))),
    };
    result.err()
}

fn has(t: &Target, action: &str) -> Result<(), String> {
    match t.action(action) {
        Some(_) => Ok(()),
        None => Err(format!("target has no `{action}` action")),
    }
}

/// What applying `action` (and healing it) to `service` needs.
fn action_needs(t: &Target, arch: Arch, action: Action, service: &str) -> Result<(), String> {
    let service = service.split('#').next().unwrap_or(service);
    match action {
        Action::Kill => has(t, "kill").and_then(|()| has(t, "restart")),
        Action::Restart => has(t, "restart"),
        Action::Pause | Action::Unpause => has(t, "pause").and_then(|()| has(t, "unpause")),
        Action::RollingRestart => has(t, "rolling-restart"),
        Action::Scale => has(t, "scale"),
        Action::Slow | Action::Unslow if arch == Arch::Micro => Err(
            "the external runtime cannot put a latency proxy between the gateway and a service"
                .to_owned(),
        ),
        Action::Slow
        | Action::Unslow
        | Action::Panic
        | Action::CpuHog
        | Action::SlowQuery
        | Action::Heal => {
            if t.internal_secret.is_some() && t.instances.contains_key(service) {
                Ok(())
            } else {
                Err(format!(
                    "target has no `instances.{service}` URL and `internal_secret` (module faults go through the service's fault admin API)"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn target(actions: &str) -> Target {
        Target::parse(
            &format!("arch = \"micro\"\nurl = \"http://127.0.0.1:1\"\n[actions]\n{actions}"),
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn experiments_are_skipped_for_the_actions_they_lack() {
        let s = Scenario::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/paper.toml"
        )))
        .unwrap();
        let none = target("");
        let all = target(
            "kill = \"k\"\npause = \"p\"\nunpause = \"u\"\nrestart = \"r\"\nrolling-restart = \"rr\"\nscale = \"s\"\nstats = \"st\"\n",
        );
        let mut skipped_without = 0;
        for spec in &s.experiments {
            let without = skip_reason(&none, Arch::Micro, spec);
            let with = skip_reason(&all, Arch::Micro, spec);
            match spec {
                ExperimentSpec::Sweep(_) => assert_eq!(without, None),
                ExperimentSpec::Fault(f) if f.action == Action::Kill => {
                    // One replica of several is killed: scaling comes first.
                    let first = if f.replicas > 1 { "scale" } else { "kill" };
                    assert_eq!(without, Some(format!("target has no `{first}` action")));
                    assert_eq!(with, None);
                }
                ExperimentSpec::Budget(_) => assert!(with.unwrap().contains("CPU quotas")),
                _ => {}
            }
            skipped_without += usize::from(without.is_some());
        }
        assert!(skipped_without > 0, "paper.toml breaks things");
    }
}
