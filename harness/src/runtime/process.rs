//! The process runtime: a private PostgreSQL cluster, a private nats-server (microservices)
//! and the CRM's release binaries, each on a free 127.0.0.1 port, pinned with `taskset` to
//! the system-under-test CPUs. Processes are detached (their own process group), so they
//! outlive `crm-bench up`; the deployment in the state file is how `down` finds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;

use crm_testkit::net::free_port;
use crm_testkit::pg::{DetachedPg, PgOptions};

use super::launch::{
    create_databases, launch_spec, new_deployment_id, new_instance, tail, write_registry,
};
use super::{Deployment, Instance, ResourceSample, Runtime, RuntimeSettings};
use super::{procfs, signals};
use crate::topology::{Arch, RuntimeKind, Topology};

pub struct ProcessRuntime {
    settings: RuntimeSettings,
}

impl ProcessRuntime {
    pub fn new(settings: RuntimeSettings) -> Self {
        ProcessRuntime { settings }
    }

    fn binary(&self, name: &str) -> anyhow::Result<PathBuf> {
        let p = self.settings.bin_dir.join(name);
        if !p.exists() {
            bail!(
                "{} not found; build the release binaries first (cargo build --release --workspace --bins), or pass --bin-dir",
                p.display()
            );
        }
        Ok(p)
    }
}

impl ProcessRuntime {
    fn spawn(&self, d: &Deployment, inst: &mut Instance) -> anyhow::Result<()> {
        let (bin, env) = launch_spec(d, inst)?;
        let binary = self.binary(&bin)?;
        let log = d
            .work_dir
            .join(format!("{}.log", inst.name.replace('#', "-")));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut cmd = match &d.topology.sut_cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let spec = d.topology.spec(&inst.service);
        if spec.cpus.is_some() || spec.memory.is_some() {
            super::cgroup::check(spec.cpus, spec.memory)?;
            let id = super::launch::deployment_dir_name(d);
            if let Err(e) =
                super::cgroup::limit(&id, &inst.name, child.id(), spec.cpus, spec.memory)
            {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        inst.pid = Some(child.id());
        inst.log = Some(log);
        signals::keep(child);
        Ok(())
    }
}

/// Waits until `url/readyz` answers 200, or fails with the instance's last log lines.
pub async fn wait_ready(inst: &Instance, timeout: Duration) -> anyhow::Result<()> {
    let Some(url) = &inst.url else { return Ok(()) };
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(r) = http
            .get(format!("{url}/readyz"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            && r.status() == 200
        {
            return Ok(());
        }
        if inst.pid.is_some_and(|p| !procfs::alive(p)) || tokio::time::Instant::now() > deadline {
            let log = inst
                .log
                .as_ref()
                .and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_default();
            bail!("{} did not become ready:\n{}", inst.name, tail(&log, 20));
        }
        // Time to healthy is reported at millisecond resolution: poll often (a /readyz
        // answer costs the CRM well under a millisecond).
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[async_trait]
impl Runtime for ProcessRuntime {
    async fn up(
        &self,
        topology: &Topology,
        on_started: &(dyn for<'a> Fn(&'a Deployment) + Send + Sync),
    ) -> anyhow::Result<Deployment> {
        let id = new_deployment_id(topology.arch);
        let work_dir = self.settings.work_root.join(&id);
        std::fs::create_dir_all(&work_dir)?;
        let mut d = Deployment {
            arch: topology.arch,
            runtime: RuntimeKind::Process,
            topology: topology.clone(),
            public_url: String::new(),
            admin: None,
            databases: BTreeMap::new(),
            postgres_admin_url: String::new(),
            nats_url: None,
            internal_secret: uuid::Uuid::new_v4().simple().to_string(),
            instances: Vec::new(),
            work_dir: work_dir.clone(),
            started_at: chrono::Utc::now(),
            target: None,
        };
        on_started(&d);

        let mut opts = if self.settings.durable {
            PgOptions::for_bench()
        } else {
            PgOptions::for_tests()
        };
        opts.cpus = topology.sut_cpus.clone();
        let pg = DetachedPg::start(&work_dir.join("pg"), &opts)
            .await
            .context("start postgres")?;
        d.instances.push(Instance {
            name: "postgres".into(),
            service: "postgres".into(),
            url: None,
            port: pg.port,
            pid: Some(pg.pid),
            container: None,
            log: Some(work_dir.join("pg/server.log")),
        });
        d.postgres_admin_url = pg.url("postgres");
        on_started(&d);
        create_databases(&mut d, |db| pg.url(db)).await?;

        if topology.arch == Arch::Micro {
            let port = free_port();
            let store = work_dir.join("nats");
            std::fs::create_dir_all(&store)?;
            let log = work_dir.join("nats.log");
            let out = std::fs::File::create(&log)?;
            let nats_bin = crm_testkit::nats::binary()?;
            let mut cmd = match &topology.sut_cpus {
                Some(cpus) => {
                    let mut c = Command::new("taskset");
                    c.arg("-c").arg(cpus).arg(&nats_bin);
                    c
                }
                None => Command::new(&nats_bin),
            };
            cmd.args(["-js", "-sd"])
                .arg(&store)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()]);
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .context("start nats-server")?;
            d.instances.push(Instance {
                name: "nats".into(),
                service: "nats".into(),
                url: None,
                port,
                pid: Some(child.id()),
                container: None,
                log: Some(log),
            });
            signals::keep(child);
            d.nats_url = Some(format!("nats://127.0.0.1:{port}"));
            crm_testkit::net::wait_for_port(port, Duration::from_secs(30)).await?;
            on_started(&d);
        }

        // Every instance gets its port first, so each knows the others' URLs.
        let mut planned = Vec::new();
        for service in topology.processes() {
            for r in 1..=topology.spec(service).replicas {
                planned.push(new_instance(service, r));
            }
        }
        d.instances.extend(planned.iter().cloned());
        write_registry(&d)?;
        for p in &planned {
            let mut inst = p.clone();
            self.spawn(&d, &mut inst)?;
            if let Some(slot) = d.instances.iter_mut().find(|i| i.name == inst.name) {
                *slot = inst;
            }
            on_started(&d);
        }
        for inst in d.instances.iter().filter(|i| i.url.is_some()) {
            wait_ready(inst, Duration::from_secs(120)).await?;
        }
        d.public_url = d
            .instance(super::launch::public_instance(&d))
            .and_then(|i| i.url.clone())
            .context("public instance")?;
        on_started(&d);
        Ok(d)
    }

    async fn down(&self, d: &Deployment) -> anyhow::Result<()> {
        // The CRM first (it drains), then nats, then postgres.
        for inst in d.instances.iter().rev().filter(|i| i.service != "postgres") {
            if let Some(pid) = inst.pid {
                signals::signal(pid, "CONT");
                signals::stop(pid, Duration::from_secs(5)).await;
            }
        }
        DetachedPg::stop(&d.work_dir.join("pg")).await?;
        if let Some(pid) = d.instance("postgres").and_then(|i| i.pid)
            && procfs::alive(pid)
        {
            signals::signal(pid, "KILL");
        }
        super::cgroup::remove(&super::launch::deployment_dir_name(d));
        // The work directory is `lifecycle::down`'s to remove or keep (`--keep`).
        Ok(())
    }

    async fn alive(&self, d: &Deployment, instance: &str) -> bool {
        d.instance(instance)
            .and_then(|i| i.pid)
            .is_some_and(procfs::alive)
    }

    async fn kill(&self, d: &Deployment, instance: &str) -> anyhow::Result<()> {
        let pid = d
            .instance(instance)
            .and_then(|i| i.pid)
            .with_context(|| format!("no process for {instance}"))?;
        signals::signal(pid, "KILL");
        signals::reap(pid);
        Ok(())
    }

    async fn pause(&self, d: &Deployment, instance: &str, paused: bool) -> anyhow::Result<()> {
        let pid = d
            .instance(instance)
            .and_then(|i| i.pid)
            .with_context(|| format!("no process for {instance}"))?;
        signals::signal(pid, if paused { "STOP" } else { "CONT" });
        Ok(())
    }

    async fn restart(&self, d: &mut Deployment, instance: &str) -> anyhow::Result<()> {
        let mut inst = d
            .instance(instance)
            .cloned()
            .with_context(|| format!("no instance {instance}"))?;
        if inst.service == "postgres" || inst.service == "nats" {
            bail!(
                "restarting {} is not supported; restart a CRM instance",
                inst.service
            );
        }
        if let Some(pid) = inst.pid {
            signals::signal(pid, "CONT");
            signals::stop(pid, Duration::from_secs(10)).await;
        }
        self.spawn(d, &mut inst)?;
        wait_ready(&inst, Duration::from_secs(120)).await?;
        if let Some(slot) = d.instances.iter_mut().find(|i| i.name == instance) {
            *slot = inst;
        }
        Ok(())
    }

    async fn scale(&self, d: &mut Deployment, service: &str, replicas: u32) -> anyhow::Result<()> {
        super::launch::check_scalable(d, service)?;
        let current = d.replicas(service).len() as u32;
        for r in current + 1..=replicas {
            let mut inst = new_instance(service, r);
            d.instances.push(inst.clone());
            self.spawn(d, &mut inst)?;
            wait_ready(&inst, Duration::from_secs(120)).await?;
            if let Some(slot) = d.instances.iter_mut().find(|i| i.name == inst.name) {
                *slot = inst;
            }
        }
        let extra: Vec<Instance> = d
            .replicas(service)
            .into_iter()
            .skip(replicas as usize)
            .cloned()
            .collect();
        d.instances
            .retain(|i| !extra.iter().any(|x| x.name == i.name));
        // The gateway (or balancer) stops sending before the replicas stop.
        write_registry(d)?;
        if !extra.is_empty() {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        for inst in extra {
            if let Some(pid) = inst.pid {
                signals::stop(pid, Duration::from_secs(10)).await;
            }
        }
        Ok(())
    }

    async fn set_cpu_quota(
        &self,
        d: &Deployment,
        instance: &str,
        cpus: Option<f64>,
    ) -> anyhow::Result<()> {
        let inst = d
            .instance(instance)
            .with_context(|| format!("no instance {instance}"))?;
        let pid = inst
            .pid
            .with_context(|| format!("no process for {instance}"))?;
        super::cgroup::check(cpus, None)?;
        // PostgreSQL's backends are the postmaster's children; later ones inherit its group.
        let mut pids = vec![pid];
        if inst.service == "postgres" {
            pids.extend(procfs::children(pid));
        }
        let id = super::launch::deployment_dir_name(d);
        super::cgroup::set_cpu_quota(&id, &inst.name, &pids, cpus)
    }

    async fn sample(&self, d: &Deployment) -> anyhow::Result<Vec<ResourceSample>> {
        let at = chrono::Utc::now();
        Ok(d.instances
            .iter()
            .filter_map(|i| {
                let pid = i.pid?;
                let (cpu, mem) = if i.service == "postgres" {
                    procfs::tree_usage(pid)
                } else {
                    (procfs::cpu_seconds(pid, false), procfs::memory_bytes(pid))
                };
                Some(ResourceSample {
                    instance: i.name.clone(),
                    at,
                    cpu_seconds: cpu,
                    rss_bytes: mem,
                    process: Some(pid),
                })
            })
            .collect())
    }

    async fn logs(&self, d: &Deployment, instance: &str, lines: usize) -> anyhow::Result<String> {
        let inst = d
            .instance(instance)
            .with_context(|| format!("no instance {instance}"))?;
        let path: &Path = inst.log.as_deref().context("no log")?;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Ok(tail(&text, lines))
    }
}
