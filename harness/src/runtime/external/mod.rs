//! The external runtime: a deployment crm-bench did not start — on a cluster, under
//! docker-compose — reached at the public URL of its target file, and acted on by the shell
//! commands the target gives per action (kill, pause, restart, rolling restart, scale,
//! stats). `up` only connects (waits for `/readyz`) and `down` stops nothing. An action the
//! target does not define is never faked: the experiments needing it are skipped
//! ([`needs`]), and calling it is an error naming the missing action.
//!
//! # Layout
//! - [`target`]: the target file, checked with key paths and lines.
//! - [`command`]: running an action's command; the `stats` output format.
//! - [`needs`]: what each experiment needs of a target, and why one is skipped.

pub mod command;
pub mod needs;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_trait::async_trait;

use super::{Credentials, Deployment, Instance, ResourceSample, Runtime, RuntimeSettings};
use crate::topology::{Arch, MICRO_SERVICES, RuntimeKind, Topology, services};
use command::{Cpu, Vars};
pub use target::Target;

/// How often readiness is polled (the deploy experiment's time to healthy is read from the
/// per-request log, not from this).
const POLL: Duration = Duration::from_millis(200);

/// Drives a deployment through its target's commands.
pub struct ExternalRuntime {
    settings: RuntimeSettings,
    /// What this harness broke and has not healed yet: `alive` and `unpause` go by it.
    broken: Mutex<Broken>,
}

#[derive(Default)]
struct Broken {
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    /// Per service: CPU seconds integrated from rate samples, and when last sampled.
    integrated: BTreeMap<String, (Instant, f64)>,
}

impl ExternalRuntime {
    pub fn new(settings: RuntimeSettings) -> Self {
        ExternalRuntime {
            settings,
            broken: Mutex::new(Broken::default()),
        }
    }

    fn broken(&self) -> std::sync::MutexGuard<'_, Broken> {
        self.broken.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The target a deployment was reached through.
pub fn target_of(d: &Deployment) -> anyhow::Result<&Target> {
    d.target
        .as_ref()
        .context("the deployment records no target (not an external one)")
}

/// Runs `action` of the target for `vars`; an error when the target does not define it.
pub async fn act(d: &Deployment, action: &str, vars: &Vars) -> anyhow::Result<String> {
    let t = target_of(d)?;
    let command = t
        .action(action)
        .with_context(|| format!("the target has no `{action}` action"))?;
    command::run(
        action,
        command,
        vars,
        Duration::from_secs_f64(t.command_timeout_s),
    )
    .await
}

/// Waits until `url/readyz` answers 200; a clear error when it cannot be reached in time.
pub async fn wait_url(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    loop {
        let last = match http
            .get(format!("{url}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("it answered {}", r.status()),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() > deadline {
            bail!(
                "{url}/readyz did not answer 200 within {:.0} s: {last}",
                timeout.as_secs_f64()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `instance` is ready: the target's `ready` command succeeds (polled), else the
/// public URL (and the instance's own URL, when known) answers `/readyz`.
async fn wait_ready(d: &Deployment, instance: &str) -> anyhow::Result<()> {
    let t = target_of(d)?;
    let timeout = Duration::from_secs_f64(t.ready_timeout_s);
    if t.action("ready").is_none() {
        wait_url(&d.public_url, timeout).await?;
        if let Some(url) = d.instance(instance).and_then(|i| i.url.clone()) {
            wait_url(&url, timeout).await?;
        }
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    loop {
        match act(d, "ready", &Vars::instance(instance)).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).with_context(|| {
                    format!(
                        "{instance} was not ready within {:.0} s",
                        timeout.as_secs_f64()
                    )
                });
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// The instances of `service` at `n` replicas: `service`, `service#2`, ...; the first has
/// the service's own URL when the target gives one.
fn replicas_of(t: &Target, service: &str, n: u32) -> Vec<Instance> {
    (1..=n.max(1))
        .map(|r| Instance {
            name: if r == 1 {
                service.to_owned()
            } else {
                format!("{service}#{r}")
            },
            service: service.to_owned(),
            url: (r == 1)
                .then(|| t.instances.get(service).cloned())
                .flatten(),
            port: 0,
            pid: None,
            container: None,
            log: None,
        })
        .collect()
}

/// The deployment as its target describes it.
pub fn deployment(t: &Target, topology: &Topology, settings: &RuntimeSettings) -> Deployment {
    let mut topology = topology.clone();
    topology.runtime = RuntimeKind::External;
    let mut instances = Vec::new();
    for s in services(t.arch) {
        let n = t.initial_replicas(s);
        topology.specs.entry(s.to_owned()).or_default().replicas = n;
        instances.extend(replicas_of(t, s, n));
    }
    let databases = match (t.arch, t.databases.get("all")) {
        (Arch::Monolith, Some(url)) => MICRO_SERVICES
            .iter()
            .map(|c| ((*c).to_owned(), url.clone()))
            .collect(),
        _ => t.databases.clone(),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    Deployment {
        arch: t.arch,
        runtime: RuntimeKind::External,
        topology,
        public_url: t.url.trim_end_matches('/').to_owned(),
        admin: t.admin.as_ref().map(|a| Credentials {
            email: a.email.clone(),
            password: a.password.clone(),
        }),
        databases,
        postgres_admin_url: t.postgres_admin_url.clone().unwrap_or_default(),
        nats_url: None,
        internal_secret: t.internal_secret.clone().unwrap_or_default(),
        instances,
        work_dir: settings.work_root.join(format!("external-{}", &id[..8])),
        started_at: chrono::Utc::now(),
        target: Some(t.clone()),
    }
}

#[async_trait]
impl Runtime for ExternalRuntime {
    async fn up(
        &self,
        topology: &Topology,
        on_started: &(dyn for<'a> Fn(&'a Deployment) + Send + Sync),
    ) -> anyhow::Result<Deployment> {
        let path = self
            .settings
            .target
            .as_ref()
            .context("the external runtime needs a target file (--target FILE)")?;
        let t = Target::load(path)?;
        anyhow::ensure!(
            t.arch == topology.arch,
            "{} describes a {} deployment, not a {}",
            path.display(),
            t.arch,
            topology.arch
        );
        let d = deployment(&t, topology, &self.settings);
        std::fs::create_dir_all(&d.work_dir)
            .with_context(|| format!("create {}", d.work_dir.display()))?;
        on_started(&d);
        wait_url(&d.public_url, Duration::from_secs_f64(t.ready_timeout_s))
            .await
            .with_context(|| format!("the target's url ({}) is not ready", path.display()))?;
        Ok(d)
    }

    /// Stops nothing: the deployment is not crm-bench's to stop.
    async fn down(&self, _d: &Deployment) -> anyhow::Result<()> {
        Ok(())
    }

    async fn alive(&self, _d: &Deployment, instance: &str) -> bool {
        !self.broken().killed.contains(instance)
    }

    async fn kill(&self, d: &Deployment, instance: &str) -> anyhow::Result<()> {
        act(d, "kill", &Vars::instance(instance)).await?;
        self.broken().killed.insert(instance.to_owned());
        Ok(())
    }

    async fn pause(&self, d: &Deployment, instance: &str, paused: bool) -> anyhow::Result<()> {
        if paused {
            act(d, "pause", &Vars::instance(instance)).await?;
            self.broken().paused.insert(instance.to_owned());
        } else if self.broken().paused.contains(instance) {
            // Only what this harness paused is resumed (unpausing a running container
            // is an error to docker).
            act(d, "unpause", &Vars::instance(instance)).await?;
            self.broken().paused.remove(instance);
        }
        Ok(())
    }

    async fn restart(&self, d: &mut Deployment, instance: &str) -> anyhow::Result<()> {
        act(d, "restart", &Vars::instance(instance)).await?;
        {
            let mut b = self.broken();
            b.killed.remove(instance);
            b.paused.remove(instance);
        }
        wait_ready(d, instance).await
    }

    async fn rolling_restart(
        &self,
        d: &mut Deployment,
        service: &str,
    ) -> anyhow::Result<Option<String>> {
        act(d, "rolling-restart", &Vars::instance(service)).await?;
        wait_ready(d, service).await?;
        Ok(Some(format!(
            "rolling restart of {service} by the target's `rolling-restart` command"
        )))
    }

    async fn scale(&self, d: &mut Deployment, service: &str, replicas: u32) -> anyhow::Result<()> {
        if d.replicas(service).len() == replicas as usize {
            return Ok(());
        }
        let vars = Vars {
            replicas: Some(replicas),
            ..Vars::instance(service)
        };
        act(d, "scale", &vars).await?;
        let t = target_of(d)?.clone();
        d.instances.retain(|i| i.service != service);
        d.instances.extend(replicas_of(&t, service, replicas));
        d.topology
            .specs
            .entry(service.to_owned())
            .or_default()
            .replicas = replicas;
        for r in replicas_of(&t, service, replicas) {
            wait_ready(d, &r.name).await?;
        }
        Ok(())
    }

    async fn set_cpu_quota(
        &self,
        _d: &Deployment,
        instance: &str,
        _cpus: Option<f64>,
    ) -> anyhow::Result<()> {
        bail!(
            "the external runtime cannot change {instance}'s CPU quota: the deployment's own limits hold"
        )
    }

    /// Each service's replicas summed, as the target's `stats` action reads them; rates
    /// (millicores, percent) are integrated into CPU seconds from one sample to the next.
    async fn sample(&self, d: &Deployment) -> anyhow::Result<Vec<ResourceSample>> {
        let names = services(d.arch);
        let outputs = futures::future::join_all(
            names
                .iter()
                .map(|s| async move { act(d, "stats", &Vars::instance(s)).await }),
        )
        .await;
        let now = Instant::now();
        let mut samples = Vec::new();
        for (service, out) in names.iter().zip(outputs) {
            let usage = command::parse_stats(&out?)
                .with_context(|| format!("the target's `stats` action for {service}"))?;
            let memory: u64 = usage.iter().map(|u| u.memory_bytes).sum();
            let counted: f64 = usage
                .iter()
                .filter_map(|u| match u.cpu {
                    Cpu::Seconds(s) => Some(s),
                    Cpu::Cores(_) => None,
                })
                .sum();
            let cores: f64 = usage
                .iter()
                .filter_map(|u| match u.cpu {
                    Cpu::Cores(c) => Some(c),
                    Cpu::Seconds(_) => None,
                })
                .sum();
            let mut b = self.broken();
            let (last, total) = b
                .integrated
                .entry((*service).to_owned())
                .or_insert((now, 0.0));
            *total += cores * now.duration_since(*last).as_secs_f64();
            *last = now;
            samples.push(ResourceSample {
                instance: (*service).to_owned(),
                at: chrono::Utc::now(),
                cpu_seconds: counted + *total,
                rss_bytes: memory,
                process: None,
            });
        }
        Ok(samples)
    }

    async fn logs(&self, _d: &Deployment, instance: &str, _lines: usize) -> anyhow::Result<String> {
        bail!(
            "the external runtime keeps no logs of {instance}: read them where it runs (docker logs, kubectl logs)"
        )
    }
}
