//! Putting the deployment back into its starting shape between experiments: every module
//! healed, every instance running and ready, one replica of each service, and the monolith
//! as `up` started it (alone and reached directly, unless it was brought up with replicas
//! behind its balancer). An external deployment gets back what crm-bench did to it: killed
//! replicas restarted, paused ones resumed, services at the target's replicas.

use std::time::Duration;

use super::ArchCtx;
use crate::topology::{Arch, RuntimeKind};

impl ArchCtx {
    /// Puts the deployment back to its starting shape after an experiment: every module
    /// healed, every instance running and ready, one replica of each service (the monolith:
    /// as many as `up` started, the balancer in front only if it started one).
    pub async fn restore(&mut self) -> anyhow::Result<()> {
        let external = self.d.runtime == RuntimeKind::External;
        let http = reqwest::Client::new();
        for inst in self.d.instances.clone() {
            // An external deployment's instances are reached through its target's commands.
            if inst.url.is_none() && !external {
                continue;
            }
            if !self.rt.alive(&self.d, &inst.name).await {
                self.rt.restart(&mut self.d, &inst.name).await?;
            } else {
                // Resumes a paused process (a no-op otherwise).
                self.rt.pause(&self.d, &inst.name, false).await?;
            }
            let module = inst.service.as_str();
            let modules: Vec<&str> = if module == "monolith" {
                crate::topology::MICRO_SERVICES.to_vec()
            } else if module == "gateway" || module == crate::topology::BALANCER {
                Vec::new()
            } else {
                vec![module]
            };
            let Some(url) = inst.url.clone() else {
                continue;
            };
            for m in modules {
                let _ = http
                    .put(format!("{url}/admin/faults/{m}"))
                    .header("x-internal-secret", &self.d.internal_secret)
                    .json(&serde_json::json!({"action": "heal"}))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
            }
        }
        if external {
            return self.restore_external().await;
        }
        if self.d.arch == Arch::Monolith && self.d.balancer().is_some() {
            // As `up` left it: one monolith reached directly, unless it was brought up with
            // replicas behind the balancer.
            let wanted = self.d.topology.spec("monolith").replicas;
            self.rt.scale(&mut self.d, "monolith", wanted).await?;
            if wanted == 1 {
                crate::runtime::balancer::take_away(self.rt.as_ref(), &mut self.d).await?;
            } else {
                let urls: Vec<String> = self
                    .d
                    .replicas("monolith")
                    .iter()
                    .filter_map(|i| i.url.clone())
                    .collect();
                crate::faults::Injector::new(self.rt.as_ref())
                    .set_registry(&self.d, "monolith", &urls)
                    .await?;
            }
        }
        if self.d.arch == Arch::Micro {
            for s in crate::topology::MICRO_SERVICES {
                if self.d.replicas(s).len() > 1 {
                    self.rt.scale(&mut self.d, s, 1).await?;
                }
                let urls: Vec<String> = self
                    .d
                    .replicas(s)
                    .iter()
                    .filter_map(|i| i.url.clone())
                    .collect();
                crate::faults::Injector::new(self.rt.as_ref())
                    .set_registry(&self.d, s, &urls)
                    .await?;
            }
        }
        for inst in self.d.instances.iter().filter(|i| i.url.is_some()) {
            crate::runtime::process::wait_ready(inst, Duration::from_secs(60)).await?;
        }
        self.save_state();
        Ok(())
    }

    /// An external deployment: each service back at the replicas it started with (the
    /// orchestrator balances them), the public URL ready.
    async fn restore_external(&mut self) -> anyhow::Result<()> {
        let target = crate::runtime::external::target_of(&self.d)?.clone();
        for s in crate::topology::services(self.d.arch) {
            let wanted = target.initial_replicas(s);
            if self.d.replicas(s).len() != wanted as usize {
                self.rt.scale(&mut self.d, s, wanted).await?;
            }
        }
        crate::runtime::external::wait_url(
            &self.d.public_url,
            Duration::from_secs_f64(target.ready_timeout_s),
        )
        .await?;
        self.save_state();
        Ok(())
    }
}
