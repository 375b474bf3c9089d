//! Runtimes bring a topology up and down and act on its parts: processes on 127.0.0.1
//! ([`process`]), Docker containers with host networking ([`docker`]), or a deployment
//! crm-bench did not start, through a target file's commands ([`external`]). All produce the
//! same [`Deployment`], which the state file keeps, so `down`, `status`, `seed`, the experiments and
//! the fault injection work the same whichever runtime started it.

pub mod balancer;
pub mod cgroup;
pub mod docker;
pub mod external;
pub mod launch;
pub mod process;
pub mod procfs;
pub mod signals;

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::topology::{Arch, RuntimeKind, Topology};

/// One running part: a replica of a CRM service, or `postgres`, or `nats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Unique: `customers`, `customers#2`, `gateway`, `monolith`, `monolith#2`, `balancer`,
    /// `postgres`, `nats`.
    pub name: String,
    /// The service it is a replica of (`customers` for `customers#2`).
    pub service: String,
    /// HTTP base URL of CRM instances (`http://127.0.0.1:7001`); none for postgres and nats.
    pub url: Option<String>,
    pub port: u16,
    /// Process id (process runtime; for postgres the postmaster).
    pub pid: Option<u32>,
    /// Container id (docker runtime).
    pub container: Option<String>,
    /// Its log file (process runtime) — docker logs come from the engine.
    pub log: Option<PathBuf>,
}

/// An admin of the benchmark tenant, signed up by `up`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// What `up` started, kept in the state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub arch: Arch,
    pub runtime: RuntimeKind,
    pub topology: Topology,
    /// The public API's root (the monolith, or the gateway): `<root>/api/v1/...`.
    pub public_url: String,
    pub admin: Option<Credentials>,
    /// PostgreSQL URL per context (`identity`, `customers`, ...); in the monolith every context
    /// maps to the same database.
    pub databases: BTreeMap<String, String>,
    /// The cluster's superuser URL of database `postgres` (for pgbench and reconciliation).
    pub postgres_admin_url: String,
    pub nats_url: Option<String>,
    pub internal_secret: String,
    pub instances: Vec<Instance>,
    /// Logs, PostgreSQL data, NATS store, the gateway's registry file.
    pub work_dir: PathBuf,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The target file an external deployment was reached through (its actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<external::Target>,
}

impl Deployment {
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// What balances replicas: the gateway, or the balancer in front of monolith replicas
    /// (`None` for a monolith reached directly).
    pub fn balancer(&self) -> Option<&Instance> {
        self.instance("gateway")
            .or_else(|| self.instance(crate::topology::BALANCER))
    }

    /// The request path from a client to the CRM, for the report: its hops.
    pub fn request_path(&self) -> String {
        match (self.arch, self.instance(crate::topology::BALANCER)) {
            (Arch::Micro, _) => "client → gateway → service".to_owned(),
            (Arch::Monolith, None) => "client → monolith (direct)".to_owned(),
            (Arch::Monolith, Some(_)) => format!(
                "client → balancer → one of {} monolith replicas (one extra local HTTP hop)",
                self.replicas("monolith").len()
            ),
        }
    }

    /// Replicas of a service.
    pub fn replicas(&self, service: &str) -> Vec<&Instance> {
        self.instances
            .iter()
            .filter(|i| i.service == service)
            .collect()
    }
}

/// CPU time and memory of one instance at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    pub instance: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Cumulative CPU seconds (user + system; postgres includes its backends).
    pub cpu_seconds: f64,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// Which process the counter belongs to (its pid), where the runtime knows: under the
    /// same process a counter that went down is a sampling dip — a PostgreSQL backend reaped
    /// between reading the postmaster and its children — not a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<u32>,
}

/// What a runtime can do. `up` records every part it starts in the deployment as soon as it
/// has started it, so a failure part-way (or ctrl-c) can still be cleaned up by `down`.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// Starts postgres (and nats for micro) and the CRM, waits until every instance answers
    /// `/readyz`. `on_started` is called after each part starts (to persist the state file).
    async fn up(
        &self,
        topology: &Topology,
        on_started: &(dyn for<'a> Fn(&'a Deployment) + Send + Sync),
    ) -> anyhow::Result<Deployment>;

    /// Stops and removes everything of the deployment; idempotent.
    async fn down(&self, d: &Deployment) -> anyhow::Result<()>;

    /// Whether the instance's process or container is running (paused counts as running).
    async fn alive(&self, d: &Deployment, instance: &str) -> bool;

    /// SIGKILL / `docker kill`.
    async fn kill(&self, d: &Deployment, instance: &str) -> anyhow::Result<()>;

    /// SIGSTOP/SIGCONT / `docker pause`/`unpause`.
    async fn pause(&self, d: &Deployment, instance: &str, paused: bool) -> anyhow::Result<()>;

    /// Starts a stopped or killed instance again (same port, same database; a rebuilt binary
    /// or image is picked up) and waits until it is ready.
    async fn restart(&self, d: &mut Deployment, instance: &str) -> anyhow::Result<()>;

    /// Replaces every replica of `service` in turn by the runtime's own means; `None` when
    /// the runtime has none and the harness rolls replica by replica through the gateway.
    async fn rolling_restart(
        &self,
        _d: &mut Deployment,
        _service: &str,
    ) -> anyhow::Result<Option<String>> {
        Ok(None)
    }

    /// Sets the number of replicas of a microservice, or of the monolith when the balancer
    /// is in front of it; the registry of the gateway or balancer follows.
    async fn scale(&self, d: &mut Deployment, service: &str, replicas: u32) -> anyhow::Result<()>;

    /// Puts a running instance (postgres: with its backends; nats too) under a CPU quota of
    /// `cpus` cores, or lifts it (`None`), without restarting it.
    async fn set_cpu_quota(
        &self,
        d: &Deployment,
        instance: &str,
        cpus: Option<f64>,
    ) -> anyhow::Result<()>;

    /// CPU seconds and memory of every instance now.
    async fn sample(&self, d: &Deployment) -> anyhow::Result<Vec<ResourceSample>>;

    /// The last `lines` of an instance's log.
    async fn logs(&self, d: &Deployment, instance: &str, lines: usize) -> anyhow::Result<String>;
}

/// The runtime of a kind.
pub fn runtime(kind: RuntimeKind, settings: &RuntimeSettings) -> Box<dyn Runtime> {
    match kind {
        RuntimeKind::Process => Box::new(process::ProcessRuntime::new(settings.clone())),
        RuntimeKind::Docker => Box::new(docker::DockerRuntime::new(settings.clone())),
        RuntimeKind::External => Box::new(external::ExternalRuntime::new(settings.clone())),
    }
}

/// Where things are and how the system under test is placed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuntimeSettings {
    /// Directory of the release binaries (`crm-monolith`, `*-svc`, `gateway`).
    pub bin_dir: PathBuf,
    /// Parent of each deployment's work dir.
    pub work_root: PathBuf,
    /// Durable PostgreSQL (fsync, synchronous commit) as in production; off for quick tests.
    pub durable: bool,
    /// The external runtime's target file (`--target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PathBuf>,
}
