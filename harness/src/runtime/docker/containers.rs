//! What each container of a deployment is: its name, labels, image, command, environment and
//! limits. Every container uses the host's network, listening on a 127.0.0.1 port the harness
//! chose, exactly like the process runtime's processes.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, ContainerStatsResponse, HostConfig};

use crate::runtime::{Deployment, Instance, ResourceSample};
use crate::topology::Topology;

/// Labels every container the harness creates carries.
pub const DEPLOYMENT_LABEL: &str = "crm-bench.deployment";
pub const INSTANCE_LABEL: &str = "crm-bench.instance";
pub const SERVICE_LABEL: &str = "crm-bench.service";

/// Where the postgres image keeps its data (an anonymous volume, removed with the container).
const PGDATA: &str = "/var/lib/postgresql/data";

/// The deployment's id: its work dir's name, as given by `launch::new_deployment_id`.
pub fn deployment_id(d: &Deployment) -> String {
    d.work_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `crm-bench.deployment=<id>`: the filter that finds every container of a deployment.
pub fn deployment_filter(id: &str) -> String {
    format!("{DEPLOYMENT_LABEL}={id}")
}

/// `crm-bench-<deployment>-<instance>` (`#` is not allowed in container names).
pub fn container_name(deployment: &str, instance: &str) -> String {
    format!("crm-bench-{deployment}-{}", instance.replace('#', "-"))
}

fn labels(deployment: &str, inst: &Instance) -> HashMap<String, String> {
    HashMap::from([
        (DEPLOYMENT_LABEL.to_owned(), deployment.to_owned()),
        (INSTANCE_LABEL.to_owned(), inst.name.clone()),
        (SERVICE_LABEL.to_owned(), inst.service.clone()),
    ])
}

/// Host networking, the service's CPU quota and memory limit, and the system under test's
/// cpuset (postgres and nats are part of the system under test too).
fn host_config(topology: &Topology, service: &str) -> HostConfig {
    let spec = topology.spec(service);
    let memory = spec.memory.map(|m| m as i64);
    HostConfig {
        network_mode: Some("host".to_owned()),
        nano_cpus: spec.cpus.map(|c| (c * 1e9) as i64),
        memory,
        // No swap beyond the limit, so the limit means what it says.
        memory_swap: memory,
        cpuset_cpus: topology.sut_cpus.clone(),
        ..Default::default()
    }
}

fn env(pairs: &[(String, String)]) -> Vec<String> {
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A CRM instance: `image` with the environment `launch::launch_spec` gave it. The gateway
/// (and the balancer in front of monolith replicas) also gets the work dir mounted read-only at the same path, so it watches the same
/// registry.json the harness rewrites when it scales.
pub fn crm(
    d: &Deployment,
    inst: &Instance,
    image: &str,
    vars: &[(String, String)],
) -> ContainerCreateBody {
    let mut host = host_config(&d.topology, &inst.service);
    if inst.service == "gateway" || inst.service == crate::topology::BALANCER {
        let dir = d.work_dir.to_string_lossy();
        host.binds = Some(vec![format!("{dir}:{dir}:ro")]);
    }
    ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(env(vars)),
        labels: Some(labels(&deployment_id(d), inst)),
        host_config: Some(host),
        ..Default::default()
    }
}

/// PostgreSQL on `inst.port`: settings as the testkit's clusters (`PgOptions`), non-durable
/// unless `durable`.
pub fn postgres(
    d: &Deployment,
    inst: &Instance,
    image: &str,
    opts: &crm_testkit::pg::PgOptions,
) -> ContainerCreateBody {
    let mut settings = vec![
        ("listen_addresses".to_owned(), "127.0.0.1".to_owned()),
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
    let cmd = settings
        .iter()
        .flat_map(|(k, v)| ["-c".to_owned(), format!("{k}={v}")])
        .collect();
    let mut host = host_config(&d.topology, &inst.service);
    // Parallel queries use /dev/shm; Docker's default of 64 MB is too small for them.
    host.shm_size = Some(256 << 20);
    ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(cmd),
        env: Some(env(&[
            ("PGPORT".to_owned(), inst.port.to_string()),
            ("PGDATA".to_owned(), PGDATA.to_owned()),
        ])),
        labels: Some(labels(&deployment_id(d), inst)),
        host_config: Some(host),
        ..Default::default()
    }
}

/// nats-server with JetStream on `inst.port`, storing in the image's /data volume.
pub fn nats(d: &Deployment, inst: &Instance, image: &str) -> ContainerCreateBody {
    let port = inst.port.to_string();
    let cmd = ["-js", "-sd", "/data", "-a", "127.0.0.1", "-p", &port]
        .map(str::to_owned)
        .to_vec();
    ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(cmd),
        labels: Some(labels(&deployment_id(d), inst)),
        host_config: Some(host_config(&d.topology, &inst.service)),
        ..Default::default()
    }
}

/// A `docker stats` sample as a [`ResourceSample`]: the container's cumulative CPU time, and
/// its memory as `docker stats` shows it (usage less the inactive page cache).
pub fn resource_sample(
    instance: &str,
    at: chrono::DateTime<chrono::Utc>,
    s: &ContainerStatsResponse,
) -> ResourceSample {
    let cpu_ns = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let mem = s.memory_stats.as_ref();
    let usage = mem.and_then(|m| m.usage).unwrap_or(0);
    // cgroup v2 calls it inactive_file, v1 total_inactive_file.
    let inactive = mem
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| {
            st.get("inactive_file")
                .or_else(|| st.get("total_inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    ResourceSample {
        instance: instance.to_owned(),
        at,
        cpu_seconds: cpu_ns as f64 / 1e9,
        rss_bytes: usage.saturating_sub(inactive),
        // A container's counter is its cgroup's: it only goes down when the container
        // starts again.
        process: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Arch, RuntimeKind, ServiceSpec};

    #[test]
    fn limits_and_cpuset_reach_the_host_config() {
        let mut t = Topology {
            arch: Arch::Micro,
            runtime: RuntimeKind::Docker,
            specs: Default::default(),
            sut_cpus: Some("1".into()),
            tracing: None,
        };
        t.specs.insert(
            "customers".into(),
            ServiceSpec {
                replicas: 1,
                cpus: Some(0.5),
                memory: Some(256 << 20),
            },
        );
        let h = host_config(&t, "customers");
        assert_eq!(h.network_mode.as_deref(), Some("host"));
        assert_eq!(h.nano_cpus, Some(500_000_000));
        assert_eq!(h.memory, Some(256 << 20));
        assert_eq!(h.cpuset_cpus.as_deref(), Some("1"));
        let pg = host_config(&t, "postgres");
        assert_eq!((pg.nano_cpus, pg.memory), (None, None));
        assert_eq!(
            pg.cpuset_cpus.as_deref(),
            Some("1"),
            "postgres is in the system under test"
        );
    }

    #[test]
    fn container_names_have_no_hash_sign() {
        assert_eq!(
            container_name("20250101T000000-micro-abc123", "customers#2"),
            "crm-bench-20250101T000000-micro-abc123-customers-2"
        );
    }
}
