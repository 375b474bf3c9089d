//! Service demand per process, two ways: what the calibrated trees charge each process per
//! request (self times, statements on the database, relay and broker per event), and what
//! the utilisation law says from the measured CPU: `D = U / X`, a process's CPU seconds per
//! second over the run's requests per second. They should agree; where they do not, span
//! self time is not CPU (waiting for a core counts as self time; work outside any span,
//! such as parsing a request before its first span or exporting spans, counts only as CPU).

use std::collections::BTreeMap;

use crm_sim::input::calibration::Architecture;

use super::calibrate::Traced;
use super::dists::sampled_mean;
use crate::results::LoadRun;
use crate::results::model::DemandCheck;

/// CPU µs per request of each process the calibration charges, for a mix (operation →
/// weight; operations not in the calibration are left out).
pub fn model_demand(arch: &Architecture, mix: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    let total: f64 = mix
        .iter()
        .filter(|(op, _)| arch.ops.contains_key(*op))
        .map(|(_, w)| *w)
        .sum();
    if total <= 0.0 {
        return out;
    }
    let events = arch.events.as_ref();
    let relay = events
        .and_then(|e| e.relay_us.as_ref())
        .map_or(0.0, sampled_mean);
    let broker = events.and_then(|e| e.broker.clone());
    let broker_us = events
        .and_then(|e| e.broker_us.as_ref())
        .map_or(0.0, sampled_mean);
    for (name, w) in mix {
        let Some(op) = arch.ops.get(name) else {
            continue;
        };
        let share = w / total;
        for shape in &op.shapes {
            let k = share * shape.probability;
            for n in &shape.nodes {
                let own = n.self_us.as_ref().map_or(0.0, sampled_mean);
                *out.entry(n.process.clone()).or_default() += k * own;
                if let (Some(db), Some(proc)) = (&n.db_us, arch.processes.get(&n.process))
                    && let Some(database) = &proc.database
                {
                    *out.entry(database.clone()).or_default() += k * sampled_mean(db);
                }
                if n.asynchronous
                    && let Some(parent) = n.parent.and_then(|p| shape.nodes.get(p))
                {
                    *out.entry(parent.process.clone()).or_default() += k * relay;
                    if let Some(b) = &broker {
                        *out.entry(b.clone()).or_default() += k * broker_us;
                    }
                }
            }
        }
    }
    out
}

/// The mix a run actually sent: operation → its share of the requests.
pub fn mix_of(run: &LoadRun) -> BTreeMap<String, f64> {
    let total: u64 = run.ops.values().map(|o| o.requests).sum();
    run.ops
        .iter()
        .filter(|(_, o)| o.requests > 0)
        .map(|(k, o)| (k.clone(), o.requests as f64 / total.max(1) as f64))
        .collect()
}

/// The process an instance belongs to: `customers#2` → `customers`.
pub fn process_of(instance: &str) -> &str {
    instance.split('#').next().unwrap_or(instance)
}

/// Measured CPU ms per request of each process over `runs` (the sampler covers warm-up and
/// measurement, so the requests are scaled to that whole time).
pub fn measured_demand(runs: &[&LoadRun]) -> BTreeMap<String, f64> {
    let mut cpu: BTreeMap<String, f64> = BTreeMap::new();
    let mut requests = 0.0;
    for r in runs {
        if r.duration_s <= 0.0 {
            continue;
        }
        requests += r.requests as f64 * (r.warmup_s + r.duration_s) / r.duration_s;
        for u in &r.resources {
            *cpu.entry(process_of(&u.instance).to_owned()).or_default() += u.cpu_s;
        }
    }
    if requests <= 0.0 {
        return BTreeMap::new();
    }
    cpu.into_iter()
        .map(|(p, s)| (p, s * 1000.0 / requests))
        .collect()
}

/// Model against measured demand at the held-in points, one row per process either names.
pub fn check(arch: &Architecture, points: &[Traced<'_>]) -> Vec<DemandCheck> {
    let runs: Vec<&LoadRun> = points.iter().map(|p| p.run).collect();
    let mut mix: BTreeMap<String, f64> = BTreeMap::new();
    for r in &runs {
        for (op, s) in &r.ops {
            *mix.entry(op.clone()).or_default() += s.requests as f64;
        }
    }
    let model = model_demand(arch, &mix);
    let measured = measured_demand(&runs);
    let mut names: Vec<&String> = model.keys().chain(measured.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|p| DemandCheck {
            process: p.clone(),
            model_ms: model.get(p).copied().unwrap_or(0.0) / 1000.0,
            measured_ms: measured.get(p).copied(),
        })
        .collect()
}
