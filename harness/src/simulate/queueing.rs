//! Queueing counted once. A span measured at a held-in point already holds the wait for a
//! core behind concurrent work — other requests, and the consumers that start when a
//! transaction commits — and, at the higher held-in rates, queueing proper. The calibration
//! keeps that time as an off-core wait, and the model then adds its own queueing on top: it
//! counts it twice. The monolith's `convert_lead`, say: its tree adds up to 6.3 ms (6.6 ms
//! measured), yet the model answers in 10.7 ms alone at 5 req/s, because the ten consumers
//! its commit wakes share the core with the request's last statement in the model as they
//! did in the measured spans.
//!
//! So, once the utilisation law has set every node's CPU, each held-in point is replayed in
//! the model; per operation, the model's mean over the held-in points (weighted by their
//! requests) is set against the measured mean of all its requests there, and the difference
//! is taken from (or, where the model is faster, added to) the tree's off-core waits — the
//! self times' and statements' waits and the wires — in proportion to their size, never
//! below zero. The CPU stays as it was: only time that holds no core moves. Two rounds: the
//! waits hold no core, so the model's contention barely changes after the first.

use std::collections::BTreeMap;

use crm_sim::DistSpec;
use crm_sim::input::calibration::{Architecture, Node, Operation, Shape};

use super::calibrate::{Traced, alone};
use super::dists::{sampled_mean, scaled};
use super::overlap::op_time;
use super::replay::{self, LoadEcho};
use crate::topology::Arch;

/// Rounds of replay and correction.
const ROUNDS: usize = 2;
/// Corrections smaller than this share of the measured mean are left alone (replay noise).
const NOISE: f64 = 0.03;

/// The operation means of the model at the held-in points against the measured ones, and the
/// waits moved by the difference (see the module's documentation).
pub fn fit_queueing(
    arch_kind: Arch,
    arch: &mut Architecture,
    points: &[Traced<'_>],
    load: &LoadEcho,
    cores: f64,
    notes: &mut Vec<String>,
) {
    // Per operation moved: its tree before the first round, and the measured mean.
    let mut moved: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for _ in 0..ROUNDS {
        let Some(gaps) = gaps(arch_kind, arch, points, load, cores) else {
            notes.push(format!(
                "{arch_kind}: a held-in point did not replay; the measured waits are kept"
            ));
            return;
        };
        for (op_name, (measured, modelled)) in gaps {
            let Some(op) = arch.ops.get_mut(&op_name) else {
                continue;
            };
            let delta = measured - modelled;
            if measured <= 0.0 || delta.abs() < NOISE * measured {
                continue;
            }
            let (before, waits) = tree_and_waits(op);
            if waits <= 0.0 {
                continue;
            }
            let k = (1.0 + delta / waits).max(0.0);
            for s in &mut op.shapes {
                scale_waits(s, k);
            }
            moved.entry(op_name).or_insert((before, measured)).1 = measured;
        }
    }
    for (op_name, (before, measured)) in moved {
        let after = arch
            .ops
            .get(&op_name)
            .map_or(0.0, |op| tree_and_waits(op).0);
        notes.push(format!(
            "{arch_kind} {op_name}: its waits set so that the model, queueing included, \
             answers the held-in points as measured: tree {before:.0} → {after:.0} µs (all \
             its requests there: {measured:.0} µs)"
        ));
    }
}

/// Per operation with requests at the held-in points: (measured mean, modelled mean), each
/// weighted by the point's requests of that operation. `None` when a replay fails.
fn gaps(
    arch_kind: Arch,
    arch: &Architecture,
    points: &[Traced<'_>],
    load: &LoadEcho,
    cores: f64,
) -> Option<BTreeMap<String, (f64, f64)>> {
    let cal = alone(arch_kind, arch.clone(), "held-in replay");
    let known = |op: &str| arch.ops.contains_key(op);
    let mut sums: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for p in points {
        let s = replay::open_point(arch_kind, p.run, load, cores, &known)?;
        let out = crm_sim::simulate(&cal, &s).ok()?;
        for (name, stats) in &p.run.ops {
            let ok = stats.requests.saturating_sub(stats.failed) as f64;
            let Some(sim) = out.ops.get(name).filter(|o| o.ok > 0) else {
                continue;
            };
            if ok <= 0.0 || !known(name) {
                continue;
            }
            let e = sums.entry(name.clone()).or_default();
            e.0 += ok * stats.corrected.mean_us;
            e.1 += ok * sim.mean_us;
            e.2 += ok;
        }
    }
    Some(
        sums.into_iter()
            .filter(|(_, (_, _, w))| *w > 0.0)
            .map(|(k, (m, s, w))| (k, (m / w, s / w)))
            .collect(),
    )
}

/// The operation's tree time and how much of it is off-core waiting (the tree with every
/// wait at zero, subtracted).
fn tree_and_waits(op: &Operation) -> (f64, f64) {
    let mut bare = op.clone();
    for s in &mut bare.shapes {
        scale_waits(s, 0.0);
    }
    let tree = op_time(op);
    (tree, tree - op_time(&bare))
}

/// Multiplies the off-core waits of a shape's nodes on the response path by `k`, keeping
/// their CPU: the self time's and the statements' waits, and every wire.
fn scale_waits(s: &mut Shape, k: f64) {
    for n in s.nodes.iter_mut().filter(|n| !n.asynchronous) {
        scale_node(n, k);
    }
}

fn scale_node(n: &mut Node, k: f64) {
    if let Some((d, share)) = n.self_us.as_ref().and_then(|d| keep_cpu(d, n.self_cpu, k)) {
        n.self_us = Some(d);
        n.self_cpu = Some(share);
    }
    if let Some((d, share)) = n.db_us.as_ref().and_then(|d| keep_cpu(d, n.db_cpu, k)) {
        n.db_us = Some(d);
        n.db_cpu = Some(share);
    }
    if let Some(d) = &n.wire_us {
        n.wire_us = Some(scaled(d, k));
    }
}

/// A time whose `cpu` share is on a core, its wait multiplied by `k`: the new time and the
/// new share that keeps the same CPU. `None` when there is no wait to move.
fn keep_cpu(d: &DistSpec, cpu: Option<f64>, k: f64) -> Option<(DistSpec, f64)> {
    let cpu = cpu.unwrap_or(1.0).clamp(0.0, 1.0);
    if cpu >= 1.0 || sampled_mean(d) <= 0.0 {
        return None;
    }
    let f = cpu + k * (1.0 - cpu);
    let share = if f > 0.0 { (cpu / f).min(1.0) } else { 1.0 };
    Some((scaled(d, f), share))
}
