//! The equal-budget question: how many cores does each architecture need to hold the SLO at
//! a rate? For each rate, replicas are provisioned in proportion to each process's service
//! demand under the calibration (`demand::model_demand` for the scenario's mix) so that each
//! replica of `replica_cpus` cores would run at a target utilisation, its background CPU
//! included; the replicas are packed on nodes of `node_cores`; the target is lowered step by step (0.9, 0.8, …) until the
//! simulated p99 and error rate meet the SLO. The answer is the cores of quota allocated.
//!
//! ```toml
//! [cores]
//! rates = [10000, 100000, 1000000]   # req/s, open loop with the scenario's mix
//! slo_p99_ms = 200
//! max_error_rate = 0.001
//! node_cores = 16
//! replica_cpus = 2                   # CFS quota of each replica
//! targets = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
//! duration_s = 6                     # simulated seconds per try, warm-up included
//! warmup_s = 2
//! ```

use std::collections::BTreeMap;

use anyhow::Context;
use crm_sim::input::scenario::{NodeGroup, Placement};
use crm_sim::{Calibration, Scenario};
use serde::Deserialize;

use super::demand::model_demand;
use super::quick::Quick;
use crate::topology::Arch;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoresSpec {
    pub rates: Vec<f64>,
    pub slo_p99_ms: f64,
    #[serde(default = "d_errors")]
    pub max_error_rate: f64,
    #[serde(default = "d_node_cores")]
    pub node_cores: f64,
    #[serde(default = "d_replica_cpus")]
    pub replica_cpus: f64,
    #[serde(default = "d_targets")]
    pub targets: Vec<f64>,
    #[serde(default = "d_duration")]
    pub duration_s: f64,
    #[serde(default = "d_warmup")]
    pub warmup_s: f64,
}

fn d_errors() -> f64 {
    0.001
}
fn d_node_cores() -> f64 {
    16.0
}
fn d_replica_cpus() -> f64 {
    2.0
}
fn d_targets() -> Vec<f64> {
    vec![0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
}
fn d_duration() -> f64 {
    6.0
}
fn d_warmup() -> f64 {
    2.0
}

impl CoresSpec {
    /// The `--quick` version: rates × scale, tries shortened (not below a second).
    pub fn shrunk(&self, q: &Quick) -> CoresSpec {
        let mut s = self.clone();
        s.rates = s.rates.iter().map(|r| r * q.scale).collect();
        s.duration_s = (s.duration_s * q.time).max(1.5);
        s.warmup_s = (s.warmup_s * q.time).max(0.5).min(s.duration_s / 2.0);
        s
    }
}

/// The answer at one rate for one architecture.
#[derive(Clone, Debug)]
pub struct CoresResult {
    pub arch: Arch,
    pub rate: f64,
    /// Cores of quota allocated at the first target that held the SLO; `None` if none did.
    pub cores: Option<f64>,
    pub target: Option<f64>,
    /// Simulated p99 (µs) and error rate there (or at the last try).
    pub p99_us: f64,
    pub error_rate: f64,
    pub replicas: BTreeMap<String, u32>,
    pub nodes: u32,
}

/// Searches each rate of `spec` for `arch`, starting from `base` (its mix and arrivals).
pub fn search(
    cal: &Calibration,
    base: &Scenario,
    arch: Arch,
    spec: &CoresSpec,
) -> anyhow::Result<Vec<CoresResult>> {
    let a = cal
        .architecture(&arch.to_string())
        .with_context(|| format!("the calibration has no [{arch}]"))?;
    let open = base
        .open
        .as_ref()
        .context("[cores] needs the scenario's [open] load (its mix and arrivals)")?;
    let demand = model_demand(a, &open.mix);
    let per_node = (spec.node_cores / spec.replica_cpus).floor().max(1.0) as u32;
    let mut out = Vec::new();
    for &rate in &spec.rates {
        let mut found = None;
        let mut last = (0.0, 0.0, BTreeMap::new(), 0);
        for &target in &spec.targets {
            // Each replica also burns its background: what is left of its share at the
            // target carries the requests; a target that leaves none is skipped.
            let room = |b: f64| spec.replica_cpus * target - b;
            if a.processes.values().any(|p| room(p.background) <= 0.0) {
                continue;
            }
            let replicas: BTreeMap<String, u32> = a
                .processes
                .iter()
                .map(|(p, proc)| {
                    let cores = rate * demand.get(p).copied().unwrap_or(0.0) / 1e6;
                    let n = (cores / room(proc.background)).ceil().max(1.0);
                    (p.clone(), n as u32)
                })
                .collect();
            let total: u32 = replicas.values().sum();
            let nodes = total.div_ceil(per_node);
            let mut s = base.clone();
            s.name = format!("{arch}: cores at {rate} req/s, target {target}");
            s.duration_s = spec.duration_s;
            s.warmup_s = spec.warmup_s;
            s.bucket_s = (spec.duration_s / 10.0).max(0.01);
            s.nodes = vec![NodeGroup {
                name: "node".into(),
                cores: spec.node_cores,
                count: nodes,
                speed: 1.0,
            }];
            s.processes = replicas
                .iter()
                .map(|(p, n)| {
                    let place = Placement {
                        replicas: *n,
                        cpus: Some(spec.replica_cpus),
                        nodes: vec!["node".into()],
                        like: None,
                        database: None,
                        pool: None,
                    };
                    (p.clone(), place)
                })
                .collect();
            let mut o = open.clone();
            o.rate = Some(rate);
            o.profile.clear();
            s.open = Some(o);
            s.closed = None;
            s.faults.clear();
            s.autoscale.clear();
            let r = crm_sim::simulate(cal, &s).with_context(|| format!("simulate {}", s.name))?;
            let p99 = r.total.latency_us.value_at_quantile(0.99) as f64;
            let errors = r.total.failed() as f64 / r.total.requests().max(1) as f64;
            last = (p99, errors, replicas.clone(), nodes);
            if r.total.ok > 0 && p99 <= spec.slo_p99_ms * 1000.0 && errors <= spec.max_error_rate {
                found = Some((total as f64 * spec.replica_cpus, target));
                break;
            }
        }
        out.push(CoresResult {
            arch,
            rate,
            cores: found.map(|f| f.0),
            target: found.map(|f| f.1),
            p99_us: last.0,
            error_rate: last.1,
            replicas: last.2,
            nodes: last.3,
        });
    }
    Ok(out)
}
