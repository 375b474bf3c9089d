//! Doing things to a running deployment at given moments: faults (kill, pause, slow, and
//! the module failures of `crm_http::faults`), their healing, redeploys and replica
//! changes. One [`Injector`] per load run keeps what it needs between a fault and its
//! healing (a latency proxy, say).

pub mod proxy;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::runtime::{Deployment, Runtime};
use crate::scenario::Action;
use crate::topology::{Arch, RuntimeKind};
use proxy::SlowProxy;

/// How long a latency proxy outlives its fault: the gateway's default upstream timeout.
const PROXY_DRAIN: Duration = Duration::from_secs(10);

/// Applies actions to one deployment.
pub struct Injector<'a> {
    rt: &'a dyn Runtime,
    http: reqwest::Client,
    proxies: HashMap<String, SlowProxy>,
}

impl<'a> Injector<'a> {
    pub fn new(rt: &'a dyn Runtime) -> Injector<'a> {
        Injector {
            rt,
            http: reqwest::Client::new(),
            proxies: HashMap::new(),
        }
    }

    /// Applies `action` to `target` — an instance or service of the microservices, or a
    /// module of the monolith (whose process takes kills, pauses and restarts) — and says
    /// how it was done.
    pub async fn apply(
        &mut self,
        d: &mut Deployment,
        action: Action,
        target: &str,
        delay: Duration,
        replicas: Option<u32>,
    ) -> anyhow::Result<String> {
        let runtime = d.runtime;
        // In the monolith a process-level action aimed at a module hits the (first) process;
        // one aimed at a replica (`monolith`, `monolith#2`, `balancer`) hits that one.
        let instance = if d.arch == Arch::Monolith && d.instance(target).is_none() {
            "monolith".to_owned()
        } else {
            target.to_owned()
        };
        let how = match action {
            Action::Kill => {
                self.rt.kill(d, &instance).await?;
                match runtime {
                    RuntimeKind::External => {
                        format!("{instance} killed by the target's `kill` command")
                    }
                    _ => format!("SIGKILL of {instance} ({runtime} runtime)"),
                }
            }
            Action::Pause => {
                self.rt.pause(d, &instance, true).await?;
                match runtime {
                    RuntimeKind::External => {
                        format!("{instance} paused by the target's `pause` command")
                    }
                    _ => format!("{instance} paused (SIGSTOP / docker pause)"),
                }
            }
            Action::Unpause => {
                self.rt.pause(d, &instance, false).await?;
                format!("{instance} resumed")
            }
            Action::Restart => {
                self.rt.restart(d, &instance).await?;
                format!("{instance} started again and ready")
            }
            Action::RollingRestart => self.rolling_restart(d, target).await?,
            Action::Scale => {
                let n = replicas.context("a scale action needs a replica count")?;
                self.rt.scale(d, target, n).await?;
                format!("{target} scaled to {n} replicas")
            }
            Action::Slow => self.slow(d, target, delay).await?,
            Action::Unslow => self.unslow(d, target).await?,
            Action::Panic | Action::CpuHog | Action::SlowQuery | Action::Heal => {
                self.module_fault(d, action, target, delay).await?
            }
        };
        tracing::info!(%target, action = action.as_str(), "{how}");
        Ok(how)
    }

    /// The monolith: slow queries in the module (there is no network hop to slow). The
    /// microservices: a latency proxy between the gateway and every replica of the service.
    async fn slow(
        &mut self,
        d: &Deployment,
        target: &str,
        delay: Duration,
    ) -> anyhow::Result<String> {
        if d.arch == Arch::Monolith {
            return self.module_fault(d, Action::SlowQuery, target, delay).await;
        }
        let mut urls = Vec::new();
        for inst in d.replicas(target) {
            let addr: SocketAddr = format!("127.0.0.1:{}", inst.port).parse()?;
            let p = SlowProxy::start(addr, delay).await?;
            urls.push(p.url());
            self.proxies.insert(inst.name.clone(), p);
        }
        if urls.is_empty() {
            bail!("no replicas of {target} to slow");
        }
        self.set_registry(d, target, &urls).await?;
        Ok(format!(
            "+{} ms per request between the gateway and {target} (user-space proxy)",
            delay.as_millis()
        ))
    }

    async fn unslow(&mut self, d: &Deployment, target: &str) -> anyhow::Result<String> {
        if d.arch == Arch::Monolith {
            return self
                .module_fault(d, Action::Heal, target, Duration::ZERO)
                .await;
        }
        let urls: Vec<String> = d
            .replicas(target)
            .iter()
            .filter_map(|i| i.url.clone())
            .collect();
        // The delay goes first, so requests already inside a proxy hurry; then new requests
        // go direct. Closing a proxy at once would fail the requests still passing through
        // it (the end of a slow fault is not a fault): each stays up for the longest a
        // request through it may take, the gateway's upstream timeout.
        let mut draining = Vec::new();
        for inst in d.replicas(target) {
            if let Some(p) = self.proxies.remove(&inst.name) {
                p.set_delay(Duration::ZERO);
                draining.push(p);
            }
        }
        self.set_registry(d, target, &urls).await?;
        tokio::spawn(async move {
            tokio::time::sleep(PROXY_DRAIN).await;
            drop(draining);
        });
        Ok(format!("{target} reached directly again"))
    }

    /// Each replica in turn: out of the gateway's registry, a pause for in-flight requests
    /// to finish, a graceful restart, ready, back in.
    async fn rolling_restart(
        &mut self,
        d: &mut Deployment,
        service: &str,
    ) -> anyhow::Result<String> {
        // The monolith rolls like a service when it has replicas behind its balancer.
        let service = if d.arch == Arch::Monolith {
            "monolith"
        } else {
            service
        };
        if let Some(how) = self.rt.rolling_restart(d, service).await? {
            return Ok(how);
        }
        if d.arch == Arch::Monolith && d.replicas(service).len() < 2 {
            self.rt.restart(d, "monolith").await?;
            return Ok("the monolith restarted whole (one instance: nothing to roll)".into());
        }
        let names: Vec<String> = d.replicas(service).iter().map(|i| i.name.clone()).collect();
        for name in &names {
            let others: Vec<String> = d
                .replicas(service)
                .iter()
                .filter(|i| &i.name != name)
                .filter_map(|i| i.url.clone())
                .collect();
            if !others.is_empty() {
                self.set_registry(d, service, &others).await?;
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            self.rt.restart(d, name).await?;
            let all: Vec<String> = d
                .replicas(service)
                .iter()
                .filter_map(|i| i.url.clone())
                .collect();
            self.set_registry(d, service, &all).await?;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        Ok(format!(
            "rolling restart of {} replicas of {service}, each drained from the {} first",
            names.len(),
            if d.arch == Arch::Monolith {
                "balancer"
            } else {
                "gateway"
            }
        ))
    }

    /// Tells the gateway (or the monolith's balancer) which replicas serve `service`, at
    /// once (its admin API).
    pub async fn set_registry(
        &self,
        d: &Deployment,
        service: &str,
        urls: &[String],
    ) -> anyhow::Result<()> {
        let gw = d
            .balancer()
            .and_then(|g| g.url.clone())
            .context("no gateway or balancer")?;
        let r = self
            .http
            .put(format!("{gw}/admin/registry/{service}"))
            .header("x-internal-secret", &d.internal_secret)
            .json(&json!({ "replicas": urls }))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .context("the gateway's registry API")?;
        if !r.status().is_success() {
            bail!("the gateway refused the registry change: {}", r.status());
        }
        Ok(())
    }

    /// A module failure through the process's fault admin API.
    async fn module_fault(
        &self,
        d: &Deployment,
        action: Action,
        target: &str,
        delay: Duration,
    ) -> anyhow::Result<String> {
        let body = match action {
            Action::Panic => json!({"action": "panic"}),
            Action::CpuHog => json!({"action": "cpu-hog", "threads": 1}),
            Action::SlowQuery => {
                json!({"action": "slow-query", "delay_ms": delay.as_millis() as u64})
            }
            _ => json!({"action": "heal"}),
        };
        let module = target.split('#').next().unwrap_or(target);
        // Every replica of the process that holds the module.
        let holder = if d.arch == Arch::Monolith {
            "monolith"
        } else {
            module
        };
        let instances: Vec<String> = d
            .replicas(holder)
            .iter()
            .filter_map(|i| i.url.clone())
            .collect();
        anyhow::ensure!(!instances.is_empty(), "no instance holds {module}");
        for url in &instances {
            let r = self
                .http
                .put(format!("{url}/admin/faults/{module}"))
                .header("x-internal-secret", &d.internal_secret)
                .json(&body)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .with_context(|| format!("the fault admin API of {url}"))?;
            if !r.status().is_success() {
                bail!(
                    "{url} refused the fault: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
            }
        }
        let place = if d.arch == Arch::Monolith {
            "in the monolith"
        } else {
            "in its service"
        };
        Ok(match action {
            Action::Panic => format!(
                "every request of the {module} module panics and its event handlers fail ({place})"
            ),
            Action::CpuHog => format!("a busy thread beside the {module} module ({place})"),
            Action::SlowQuery => format!(
                "each {module} request first holds a connection of its pool in a {} ms query ({place})",
                delay.as_millis()
            ),
            _ => format!("the {module} module healed"),
        })
    }
}
