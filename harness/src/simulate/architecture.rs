//! The parts of a calibrated architecture besides its trees: shapes of several points
//! pooled, the processes the trees name, the event path, the call policies of the code, and
//! which operations may be retried.

use std::collections::BTreeMap;

use crm_sim::input::calibration::{Events, Operation, Process, Shape};

use super::dists::{pool, spec};
use crate::results::breakdown::{Dist, Shape as MeasuredShape, ShapeNode};
use crate::topology::Arch;

/// Database connections per replica in both builds (`db_max_connections`).
pub const POOL: u32 = 16;

/// One shape measured at several points, pooled node by node (the members have the same
/// (process, name) sequence), weighted by their traces.
pub fn merge_shapes(members: &[&MeasuredShape]) -> MeasuredShape {
    let first = members[0];
    let w = |s: &MeasuredShape| s.traces as f64;
    let nodes = (0..first.nodes.len())
        .map(|i| {
            let of = |f: fn(&ShapeNode) -> &Dist| -> Dist {
                let parts: Vec<(&Dist, f64)> =
                    members.iter().map(|s| (f(&s.nodes[i]), w(s))).collect();
                pool(&parts)
            };
            let total: f64 = members.iter().map(|s| w(s)).sum::<f64>().max(1.0);
            ShapeNode {
                self_us: of(|n| &n.self_us),
                db_us: of(|n| &n.db_us),
                wire_us: of(|n| &n.wire_us),
                wait_us: of(|n| &n.wait_us),
                db_statements: members
                    .iter()
                    .map(|s| s.nodes[i].db_statements * w(s))
                    .sum::<f64>()
                    / total,
                ..first.nodes[i].clone()
            }
        })
        .collect();
    MeasuredShape {
        probability: first.probability,
        traces: members.iter().map(|s| s.traces).sum(),
        nodes,
    }
}

/// Every process the trees name (and the broker), as the two builds run them: `postgres` a
/// database, `nats` the broker, the gateway and the monolith by name, the rest services;
/// processes with statements get the builds' pool of [`POOL`] on `postgres`.
pub fn processes(ops: &BTreeMap<String, Operation>, broker: bool) -> BTreeMap<String, Process> {
    let mut out = BTreeMap::new();
    let mut with_db = std::collections::BTreeSet::new();
    for n in ops.values().flat_map(|o| &o.shapes).flat_map(|s| &s.nodes) {
        out.insert(n.process.clone(), ());
        if n.db_us.is_some() {
            with_db.insert(n.process.clone());
        }
    }
    let mut procs: BTreeMap<String, Process> = out
        .into_keys()
        .map(|name| {
            let db = with_db.contains(&name);
            let p = Process {
                kind: kind(&name).to_owned(),
                pool: if db { POOL } else { 0 },
                database: db.then(|| "postgres".to_owned()),
                pool_timeout_ms: 5000.0,
                max_in_flight: 0,
                background: 0.0,
                unspanned_us: 0.0,
                idle_wake: None,
            };
            (name, p)
        })
        .collect();
    if !with_db.is_empty() {
        procs
            .entry("postgres".into())
            .or_insert_with(|| bare("database"));
    }
    if broker {
        procs.entry("nats".into()).or_insert_with(|| bare("broker"));
    }
    procs
}

fn bare(kind: &str) -> Process {
    Process {
        kind: kind.to_owned(),
        pool: 0,
        database: None,
        pool_timeout_ms: 5000.0,
        max_in_flight: 0,
        background: 0.0,
        unspanned_us: 0.0,
        idle_wake: None,
    }
}

/// The kind of a process, by its name.
pub fn kind(name: &str) -> &'static str {
    match name {
        "postgres" => "database",
        "nats" => "broker",
        "gateway" => "gateway",
        "monolith" => "monolith",
        _ => "service",
    }
}

/// The event path, when some operation has asynchronous nodes: relay and broker costs
/// pooled over every folded relay and publish span (weighted by their shapes' traces); the
/// relay is woken at commit, as the code does; a broker in the microservices only. The
/// relay's time is a wait (`relay_cpu` 0): its span is its transaction — claiming the rows,
/// marking them published, the commit — whose round trips and flush hold no core of the
/// producer; whatever CPU the relay burns, the utilisation law finds outside the spans.
pub fn events(
    arch: Arch,
    ops: &BTreeMap<String, Operation>,
    relay: &[(Dist, f64)],
    broker: &[(Dist, f64)],
) -> Option<Events> {
    let any_async = ops
        .values()
        .flat_map(|o| &o.shapes)
        .flat_map(|s| &s.nodes)
        .any(|n| n.asynchronous);
    if !any_async {
        return None;
    }
    let pooled = |v: &[(Dist, f64)]| {
        let parts: Vec<(&Dist, f64)> = v.iter().map(|(d, w)| (d, *w)).collect();
        spec(&pool(&parts))
    };
    let micro = arch == Arch::Micro;
    Some(Events {
        relay_poll_ms: 0.0,
        relay_us: pooled(relay),
        relay_cpu: Some(0.0),
        broker: micro.then(|| "nats".to_owned()),
        broker_us: if micro { pooled(broker) } else { None },
        redeliver_ms: 30_000.0,
    })
}

/// The gateway forwards a request to one service through its proxy policy; calls it makes
/// itself (composition: customer 360, search) and calls between services use the client
/// policy, the architecture's default. A root with one remote synchronous child is a
/// forwarded request.
pub fn set_policies(arch: Arch, ops: &mut BTreeMap<String, Operation>) {
    if arch != Arch::Micro {
        return;
    }
    for shape in ops.values_mut().flat_map(|o| &mut o.shapes) {
        let Some(root) = shape.nodes.first().map(|n| n.process.clone()) else {
            continue;
        };
        if root != "gateway" {
            continue;
        }
        let children: Vec<usize> = (1..shape.nodes.len())
            .filter(|&i| {
                let n = &shape.nodes[i];
                n.parent == Some(0) && !n.asynchronous && n.process != root
            })
            .collect();
        if let [only] = children[..] {
            shape.nodes[only].policy = Some("proxy".to_owned());
        }
    }
}

/// Whether an operation may be retried: reads, and writes sent with an Idempotency-Key
/// (the conversion). An operation the workload does not know: by its root's HTTP method.
pub fn idempotent(name: &str, shapes: &[Shape]) -> bool {
    match crate::workload::catalog::find(name) {
        Some(op) => !op.writes || op.name == "convert_lead",
        None => shapes
            .first()
            .and_then(|s| s.nodes.first())
            .is_some_and(|n| n.name.starts_with("GET")),
    }
}
