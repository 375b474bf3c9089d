//! Statements that ran in parallel inside one span. The monolith's customer 360 and search
//! send their queries at once (`try_join` over several pool connections) from one handler;
//! the breakdown folds every statement span into its node's `db_us`, so the node's
//! statement time is their **sum** while the request waited for about the slowest. crm-sim
//! runs a node's statements one after another on one connection, so such a tree is slower
//! than the requests it came from (customer 360: 11.7 ms simulated alone at 20 req/s against
//! 6.9 ms measured). Per operation, over the held-in points: where the tree's mean time (its
//! critical path: self times, statements, wires, parallel groups by their slowest member)
//! exceeds the measured mean end to end by more than [`TOLERANCE`], the statement time of
//! its nodes with two or more statements is cut to their wall time — by the excess, largest
//! first, never below a `1/k` share of `k` statements (all at once) — and a note says so.
//! The database's CPU is unchanged by it: the utilisation law sets each process's on-core
//! share afterwards ([`super::demand::scale_to_measured`]).

use std::collections::BTreeMap;

use crm_sim::input::calibration::{Architecture, Node, Operation, Shape};

use super::calibrate::Traced;
use super::dists::{sampled_mean, scaled};

/// A tree this much slower than its measured mean has overlapping statements.
pub const TOLERANCE: f64 = 0.10;

fn mean(d: &Option<crm_sim::DistSpec>) -> f64 {
    d.as_ref().map_or(0.0, sampled_mean)
}

/// Mean time of node `i` and what it waits for: its self time, its statements, then its
/// synchronous children group after group (a group as long as its slowest member; a remote
/// child with its wire).
fn node_time(nodes: &[Node], i: usize) -> f64 {
    let n = &nodes[i];
    let mut t = mean(&n.self_us) + mean(&n.db_us);
    let mut group = 0.0;
    let mut first = true;
    for (j, c) in nodes.iter().enumerate() {
        if c.parent != Some(i) || c.asynchronous {
            continue;
        }
        let wire = if c.process != n.process {
            mean(&c.wire_us)
        } else {
            0.0
        };
        let ct = node_time(nodes, j) + wire;
        if c.concurrent && !first {
            group = f64::max(group, ct);
        } else {
            t += group;
            group = ct;
        }
        first = false;
    }
    t + group
}

/// Mean time of a shape's tree, the root's wire included.
pub fn shape_time(s: &Shape) -> f64 {
    if s.nodes.is_empty() {
        return 0.0;
    }
    node_time(&s.nodes, 0) + mean(&s.nodes[0].wire_us)
}

/// Mean time of an operation's tree: its shapes' by their probabilities.
pub fn op_time(op: &Operation) -> f64 {
    op.shapes
        .iter()
        .map(|s| s.probability * shape_time(s))
        .sum()
}

/// Measured mean end to end of every operation over the held-in points (trace-weighted).
fn measured_means(points: &[Traced<'_>]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for p in points {
        for (name, op) in &p.breakdown.ops {
            let w = op.traces as f64;
            let e = sums.entry(name.clone()).or_default();
            e.0 += w * op.end_to_end.mean;
            e.1 += w;
        }
    }
    sums.into_iter()
        .filter(|(_, (_, w))| *w > 0.0)
        .map(|(k, (s, w))| (k, s / w))
        .collect()
}

/// Cuts overlapping statements to their wall time (see the module's documentation).
pub fn fit_overlap(
    name: &str,
    arch: &mut Architecture,
    points: &[Traced<'_>],
    notes: &mut Vec<String>,
) {
    let measured = measured_means(points);
    for (op_name, op) in arch.ops.iter_mut() {
        let Some(&want) = measured.get(op_name) else {
            continue;
        };
        let tree = op_time(op);
        if want <= 0.0 || tree <= want * (1.0 + TOLERANCE) {
            continue;
        }
        let mut cut = 0.0;
        for s in &mut op.shapes {
            let mut excess = shape_time(s) - want;
            let mut order: Vec<usize> = (0..s.nodes.len())
                .filter(|i| {
                    let n = &s.nodes[*i];
                    !n.asynchronous && n.db_us.is_some() && n.db_statements.unwrap_or(1.0) >= 2.0
                })
                .collect();
            order.sort_by(|a, b| mean(&s.nodes[*b].db_us).total_cmp(&mean(&s.nodes[*a].db_us)));
            for i in order {
                if excess <= 0.0 {
                    break;
                }
                let n = &mut s.nodes[i];
                let db = mean(&n.db_us);
                let k = n.db_statements.unwrap_or(1.0);
                let by = excess.min(db * (1.0 - 1.0 / k));
                if by <= 0.0 || db <= 0.0 {
                    continue;
                }
                if let Some(d) = &n.db_us {
                    n.db_us = Some(scaled(d, (db - by) / db));
                }
                excess -= by;
                cut += s.probability * by;
            }
        }
        if cut > 0.0 {
            notes.push(format!(
                "{name} {op_name}: its tree adds up to {tree:.0} µs against {want:.0} µs measured: \
                 statements that ran in parallel, {cut:.0} µs of their summed time taken off"
            ));
        }
    }
}
