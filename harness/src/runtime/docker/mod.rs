//! The Docker runtime: the same deployment as the process runtime, each part in a container
//! built locally (no registry): PostgreSQL, nats-server (microservices) and one container per
//! CRM instance, all with host networking on 127.0.0.1 ports the harness chose, so URLs,
//! databases and everything downstream are the same as in process mode.
//!
//! Every container is labelled `crm-bench.deployment=<id>`, `crm-bench.instance=<name>` and
//! `crm-bench.service=<service>`; `down` removes whatever carries the deployment's label, so
//! even a container started just before a crash (not yet in the state file) is found.
//!
//! The gateway's registry: the work dir is mounted read-only into the gateway's container at
//! the same path, and the gateway watches `registry.json` there, as in process mode.
//!
//! # Layout
//! - [`client`]: the engine client (bollard), API version negotiated; [`error`]: its errors,
//!   one per operation.
//! - [`images`]: the base image (debootstrap, `images/base.rs`), postgres, nats and CRM images.
//! - [`containers`]: names, labels, commands, limits of each container; stats as samples.
//! - [`ready`]: waiting until a container's service answers.

pub mod client;
pub mod containers;
pub mod error;
pub mod images;
pub mod ready;
mod tar;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;

use crm_testkit::net::free_port;
use crm_testkit::pg::PgOptions;

use self::client::Engine;
use self::containers::{container_name, deployment_filter, deployment_id};
use self::images::{Built, Images};
use self::ready::{Probe, wait_ready};
use super::launch::{
    binary, create_databases, launch_spec, new_deployment_id, new_instance, write_registry,
};
use super::{Deployment, Instance, ResourceSample, Runtime, RuntimeSettings};
use crate::topology::{Arch, RuntimeKind, Topology};

/// How long an instance may take to answer after its container started.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct DockerRuntime {
    settings: RuntimeSettings,
    engine: tokio::sync::OnceCell<Engine>,
}

impl DockerRuntime {
    pub fn new(settings: RuntimeSettings) -> Self {
        DockerRuntime {
            settings,
            engine: tokio::sync::OnceCell::new(),
        }
    }

    /// The engine, connected on first use.
    pub async fn engine(&self) -> anyhow::Result<&Engine> {
        Ok(self.engine.get_or_try_init(Engine::connect).await?)
    }

    fn container_of<'d>(d: &'d Deployment, instance: &str) -> anyhow::Result<&'d str> {
        d.instance(instance)
            .with_context(|| format!("no instance {instance}"))?
            .container
            .as_deref()
            .with_context(|| format!("no container for {instance}"))
    }

    /// Creates and starts `inst`'s container from the current image of its binary (building
    /// it if the binary changed), replacing a container of the same name.
    async fn start_crm(
        &self,
        engine: &Engine,
        base: &Built,
        d: &Deployment,
        inst: &mut Instance,
    ) -> anyhow::Result<()> {
        let (bin, env) = launch_spec(d, inst)?;
        let image = Images::new(engine.clone(), false)
            .crm(&self.settings.bin_dir, &bin, base)
            .await?;
        let body = containers::crm(d, inst, &image.image, &env);
        inst.container = Some(create_and_start(engine, d, inst, body).await?);
        Ok(())
    }
}

/// Creates and starts a container for `inst` (removing a leftover of the same name); its id.
async fn create_and_start(
    engine: &Engine,
    d: &Deployment,
    inst: &Instance,
    body: bollard::models::ContainerCreateBody,
) -> anyhow::Result<String> {
    let name = container_name(&deployment_id(d), &inst.name);
    engine.remove(&name).await?;
    let id = engine.create(&name, body).await?;
    engine.start(&id).await?;
    Ok(id)
}

fn infrastructure(service: &str, port: u16) -> Instance {
    Instance {
        name: service.to_owned(),
        service: service.to_owned(),
        url: None,
        port,
        pid: None,
        container: None,
        log: None,
    }
}

fn replace(d: &mut Deployment, inst: Instance) {
    if let Some(slot) = d.instances.iter_mut().find(|i| i.name == inst.name) {
        *slot = inst;
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    async fn up(
        &self,
        topology: &Topology,
        on_started: &(dyn for<'a> Fn(&'a Deployment) + Send + Sync),
    ) -> anyhow::Result<Deployment> {
        let engine = self.engine().await?;
        let id = new_deployment_id(topology.arch);
        let work_dir = self.settings.work_root.join(&id);
        std::fs::create_dir_all(&work_dir)
            .with_context(|| format!("create {}", work_dir.display()))?;
        let mut d = Deployment {
            arch: topology.arch,
            runtime: RuntimeKind::Docker,
            topology: topology.clone(),
            public_url: String::new(),
            admin: None,
            databases: BTreeMap::new(),
            postgres_admin_url: String::new(),
            nats_url: None,
            internal_secret: uuid::Uuid::new_v4().simple().to_string(),
            instances: Vec::new(),
            work_dir,
            started_at: chrono::Utc::now(),
            target: None,
        };
        // Recorded before any container exists, so `down` knows the label to clean up by.
        on_started(&d);

        // Every image first, so starting the containers is not interleaved with builds.
        let images = Images::new(engine.clone(), false);
        let base = images.base().await?;
        let pg_image = images.postgres(&base).await?;
        let nats_image = match topology.arch {
            Arch::Micro => Some(images.nats(&base).await?),
            Arch::Monolith => None,
        };
        for service in topology.processes() {
            images
                .crm(&self.settings.bin_dir, &binary(service), &base)
                .await?;
        }

        let mut pg = infrastructure("postgres", free_port());
        // The cpuset comes from the container's host config, not from `opts.cpus`.
        let opts = if self.settings.durable {
            PgOptions::for_bench()
        } else {
            PgOptions::for_tests()
        };
        let body = containers::postgres(&d, &pg, &pg_image.image, &opts);
        let pg_container = create_and_start(engine, &d, &pg, body).await?;
        pg.container = Some(pg_container.clone());
        d.instances.push(pg.clone());
        on_started(&d);
        let pg_port = pg.port;
        let pg_url = move |db: &str| format!("postgres://postgres@127.0.0.1:{pg_port}/{db}");
        d.postgres_admin_url = format!("postgres://postgres@127.0.0.1:{pg_port}/postgres");
        let probe = Probe::Postgres(d.postgres_admin_url.clone());
        wait_ready(engine, &pg, &pg_container, &probe, READY_TIMEOUT).await?;
        create_databases(&mut d, pg_url).await?;

        if let Some(nats_image) = nats_image {
            let mut nats = infrastructure("nats", free_port());
            let body = containers::nats(&d, &nats, &nats_image.image);
            let container = create_and_start(engine, &d, &nats, body).await?;
            nats.container = Some(container.clone());
            d.instances.push(nats.clone());
            d.nats_url = Some(format!("nats://127.0.0.1:{}", nats.port));
            on_started(&d);
            wait_ready(engine, &nats, &container, &Probe::of(&nats), READY_TIMEOUT).await?;
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
            self.start_crm(engine, &base, &d, &mut inst).await?;
            replace(&mut d, inst);
            on_started(&d);
        }
        let waits =
            d.instances.iter().filter(|i| i.url.is_some()).map(|inst| {
                let container = inst.container.clone().unwrap_or_default();
                async move {
                    wait_ready(engine, inst, &container, &Probe::of(inst), READY_TIMEOUT).await
                }
            });
        futures::future::try_join_all(waits).await?;

        d.public_url = d
            .instance(super::launch::public_instance(&d))
            .and_then(|i| i.url.clone())
            .context("public instance")?;
        on_started(&d);
        Ok(d)
    }

    async fn down(&self, d: &Deployment) -> anyhow::Result<()> {
        let id = deployment_id(d);
        if id.is_empty() {
            bail!("the deployment has no work dir, so no id to find its containers by");
        }
        let engine = self.engine().await?;
        let found = engine.list_labelled(&deployment_filter(&id)).await?;
        let removals = found
            .iter()
            .filter_map(|c| c.id.as_deref())
            .map(|cid| engine.remove(cid));
        futures::future::try_join_all(removals).await?;
        // The work directory is `lifecycle::down`'s to remove or keep (`--keep`).
        Ok(())
    }

    async fn alive(&self, d: &Deployment, instance: &str) -> bool {
        let Ok(container) = Self::container_of(d, instance) else {
            return false;
        };
        match self.engine().await {
            Ok(engine) => matches!(engine.status(container).await, Ok(Some(s)) if s.running),
            Err(_) => false,
        }
    }

    async fn kill(&self, d: &Deployment, instance: &str) -> anyhow::Result<()> {
        let container = Self::container_of(d, instance)?;
        Ok(self.engine().await?.kill(container).await?)
    }

    async fn pause(&self, d: &Deployment, instance: &str, paused: bool) -> anyhow::Result<()> {
        let container = Self::container_of(d, instance)?;
        let engine = self.engine().await?;
        if paused {
            engine.pause(container).await?;
        } else {
            engine.unpause(container).await?;
        }
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
        let engine = self.engine().await?;
        if let Some(old) = &inst.container {
            engine.remove(old).await?;
        }
        let base = Images::new(engine.clone(), false).base().await?;
        self.start_crm(engine, &base, d, &mut inst).await?;
        let container = inst.container.clone().unwrap_or_default();
        replace(d, inst.clone());
        wait_ready(engine, &inst, &container, &Probe::of(&inst), READY_TIMEOUT).await
    }

    async fn scale(&self, d: &mut Deployment, service: &str, replicas: u32) -> anyhow::Result<()> {
        super::launch::check_scalable(d, service)?;
        let engine = self.engine().await?;
        let current = d.replicas(service).len() as u32;
        if replicas > current {
            let base = Images::new(engine.clone(), false).base().await?;
            for r in current + 1..=replicas {
                let mut inst = new_instance(service, r);
                d.instances.push(inst.clone());
                self.start_crm(engine, &base, d, &mut inst).await?;
                replace(d, inst.clone());
                let container = inst.container.clone().unwrap_or_default();
                wait_ready(engine, &inst, &container, &Probe::of(&inst), READY_TIMEOUT).await?;
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
            if let Some(container) = &inst.container {
                engine.remove(container).await?;
            }
        }
        Ok(())
    }

    async fn set_cpu_quota(
        &self,
        _d: &Deployment,
        _instance: &str,
        _cpus: Option<f64>,
    ) -> anyhow::Result<()> {
        bail!(
            "changing a running container's CPU quota is not supported in the docker runtime \
             (the budget experiment needs runtime = \"process\")"
        )
    }

    async fn sample(&self, d: &Deployment) -> anyhow::Result<Vec<ResourceSample>> {
        let engine = self.engine().await?;
        let at = chrono::Utc::now();
        let reads = d.instances.iter().filter_map(|i| {
            let container = i.container.as_deref()?;
            Some(async move {
                engine
                    .stats(container)
                    .await
                    .map(|s| containers::resource_sample(&i.name, at, &s))
            })
        });
        let results = futures::future::join_all(reads).await;
        let mut samples = Vec::new();
        let mut first_err = None;
        for r in results {
            match r {
                Ok(s) => samples.push(s),
                // A container a fault experiment removed has no stats; the rest still count.
                Err(e) => {
                    tracing::debug!("no stats: {e:#}");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) if samples.is_empty() => Err(e.into()),
            _ => Ok(samples),
        }
    }

    async fn logs(&self, d: &Deployment, instance: &str, lines: usize) -> anyhow::Result<String> {
        let container = Self::container_of(d, instance)?;
        Ok(self.engine().await?.logs(container, lines).await?)
    }
}
