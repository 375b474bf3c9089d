//! One measured span-tree shape (the breakdown's `Shape`) as a crm-sim request tree: the
//! nodes that do work stay, with their self time, statements and the wire of the call that
//! reached them; the spans that only carry time between processes are folded away.
//!
//! - A `client` span is not a node: its time beyond the server span it called (the
//!   breakdown's `wire_us` on it) becomes the called node's `wire_us`, and its `concurrent`
//!   flag passes to that node.
//! - An asynchronous span that is not a consumer (the outbox relay, a publish to NATS) is not
//!   a node either: its own time is the event path's cost — `broker_us` when it is charged to
//!   `nats`, `relay_us` otherwise — and the consumers under it hang, `async`, from the node
//!   whose commit started them.
//! - The root's wire is the hop from the load generator to the first process: the
//!   breakdown's `unaccounted` part of the operation.
//! - `db` spans never reach a shape (the breakdown folds them into their parent's `db_us`).

use crm_sim::input::calibration::Node;

use super::dists::spec;
use crate::results::breakdown::{Dist, Shape};

/// A shape converted, with what it adds to the event path and what it could not keep.
#[derive(Debug, Default)]
pub struct Converted {
    pub nodes: Vec<Node>,
    /// Own times of relay spans (on the producing process), per event.
    pub relay: Vec<Dist>,
    /// Own times of publishes to the broker, per event.
    pub broker: Vec<Dist>,
    /// Mean wire time (µs) of client spans whose callee sent no span: the model cannot
    /// place it and leaves it out.
    pub lost_wire_us: f64,
}

/// Where a dropped span's children attach, and what they inherit.
#[derive(Clone)]
struct Carry {
    parent: Option<usize>,
    wire: Option<Dist>,
    concurrent: bool,
    is_async: bool,
    used: bool,
}

/// Converts `shape`; `root_wire` is the operation's `unaccounted` part.
pub fn convert(shape: &Shape, root_wire: Option<&Dist>) -> Converted {
    let mut out = Converted::default();
    let mut kept: Vec<Option<usize>> = vec![None; shape.nodes.len()];
    // Folded relay/publish spans: (index, is broker, own time), and how many kept
    // asynchronous nodes each reaches (the model pays the event path once per consumer).
    let mut events: Vec<(usize, bool, Dist)> = Vec::new();
    let mut consumers = vec![0usize; shape.nodes.len()];
    let mut carry: Vec<Option<Carry>> = vec![None; shape.nodes.len()];
    for (i, n) in shape.nodes.iter().enumerate() {
        // The parent as converted, and what passes through a dropped one.
        let (parent, wire, concurrent, via_async) = match n.parent {
            None => (None, root_wire.cloned(), false, false),
            Some(p) if p < i => match (kept[p], carry[p].as_mut()) {
                (Some(j), _) => (Some(j), None, n.concurrent, false),
                (None, Some(c)) => {
                    let first = !c.used;
                    c.used = true;
                    (
                        c.parent,
                        c.wire.clone(),
                        if first { c.concurrent } else { n.concurrent },
                        c.is_async,
                    )
                }
                (None, None) => (Some(0), None, n.concurrent, false),
            },
            Some(_) => (Some(0), None, n.concurrent, false),
        };
        let is_async = n.is_async || via_async;
        let folded_event = n.is_async && n.kind != "consumer" && n.kind != "server";
        if n.kind == "client" || n.kind == "db" || folded_event {
            if folded_event {
                events.push((i, n.process == "nats", n.self_us.clone()));
            }
            carry[i] = Some(Carry {
                parent,
                wire: (n.kind == "client" && !folded_event).then(|| n.wire_us.clone()),
                concurrent,
                is_async,
                used: false,
            });
            continue;
        }
        let has_db = n.db_statements > 0.0 && spec(&n.db_us).is_some();
        let parent = if out.nodes.is_empty() {
            None
        } else {
            parent.or(Some(0))
        };
        out.nodes.push(Node {
            process: n.process.clone(),
            name: n.name.clone(),
            parent,
            kind: if n.kind == "consumer" {
                "consumer".into()
            } else if n.kind == "internal" {
                "internal".into()
            } else {
                "server".into()
            },
            concurrent: concurrent && parent.is_some(),
            asynchronous: is_async && parent.is_some(),
            self_us: spec(&n.self_us),
            self_cpu: None,
            db_us: if has_db { spec(&n.db_us) } else { None },
            db_cpu: None,
            db_statements: has_db.then_some(n.db_statements),
            wire_us: wire.as_ref().and_then(spec),
            policy: None,
        });
        kept[i] = Some(out.nodes.len() - 1);
        if is_async {
            // Every folded event span above it carries this consumer's event.
            let mut up = n.parent;
            while let Some(q) = up.filter(|&q| q < i && kept[q].is_none()) {
                consumers[q] += 1;
                up = shape.nodes[q].parent;
            }
        }
    }
    // A relay span stays open until its whole batch is published: its own time holds the
    // batch's other events too (the monolith's in-process handlers, the microservices'
    // publishes), which the model has as their own event paths. Each relay keeps its time
    // beyond its siblings' (the relays of the same commit, one batch) work.
    let batch_work = |j: usize| -> f64 {
        let relay = &shape.nodes[j];
        shape
            .nodes
            .iter()
            .filter(|c| c.parent == Some(j))
            .filter(|c| c.process == relay.process || c.process == "nats")
            .map(|c| c.self_us.mean + c.db_us.mean + c.wait_us.mean)
            .sum()
    };
    let relays: Vec<usize> = events.iter().filter(|e| !e.1).map(|e| e.0).collect();
    let events: Vec<(usize, bool, Dist)> = events
        .into_iter()
        .map(|(i, broker, d)| {
            if broker || d.mean <= 0.0 {
                return (i, broker, d);
            }
            let others: f64 = relays
                .iter()
                .filter(|&&j| j != i && shape.nodes[j].parent == shape.nodes[i].parent)
                .map(|&j| batch_work(j))
                .sum();
            let f = ((d.mean - others) / d.mean).clamp(0.0, 1.0);
            let d = Dist {
                mean: d.mean * f,
                q: d.q.iter().map(|(p, v)| (*p, v * f)).collect(),
            };
            (i, broker, d)
        })
        .collect();
    // One publish reaching k consumers: the model's k event paths share its cost.
    for (i, broker, d) in events {
        if consumers[i] == 0 {
            continue;
        }
        let share = 1.0 / consumers[i] as f64;
        let d = Dist {
            mean: d.mean * share,
            q: d.q.iter().map(|(p, v)| (*p, v * share)).collect(),
        };
        if broker {
            out.broker.push(d);
        } else {
            out.relay.push(d);
        }
    }
    out.lost_wire_us = shape
        .nodes
        .iter()
        .zip(&carry)
        .filter(|(n, c)| n.kind == "client" && c.as_ref().is_some_and(|c| !c.used))
        .map(|(n, _)| n.wire_us.mean)
        .sum();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::breakdown::ShapeNode;

    fn node(process: &str, kind: &str, parent: Option<usize>, self_us: f64) -> ShapeNode {
        ShapeNode {
            process: process.into(),
            name: format!("{process} {kind}"),
            parent,
            kind: kind.into(),
            self_us: Dist {
                mean: self_us,
                q: vec![(0.0, self_us), (1.0, self_us)],
            },
            ..Default::default()
        }
    }

    #[test]
    fn client_spans_become_the_wire_of_the_node_they_call_and_events_fold_away() {
        let mut nodes = vec![
            node("gateway", "server", None, 100.0),
            node("gateway", "client", Some(0), 40.0),
            node("leads", "server", Some(1), 300.0),
            node("nats", "client", Some(2), 25.0),
            node("analytics", "consumer", Some(3), 80.0),
        ];
        nodes[1].wire_us = nodes[1].self_us.clone();
        nodes[3].is_async = true;
        nodes[4].is_async = true;
        let shape = Shape {
            probability: 1.0,
            traces: 10,
            nodes,
        };
        let root_wire = Dist {
            mean: 50.0,
            q: vec![(0.0, 50.0), (1.0, 50.0)],
        };
        let c = convert(&shape, Some(&root_wire));
        let procs: Vec<_> = c.nodes.iter().map(|n| n.process.as_str()).collect();
        assert_eq!(procs, ["gateway", "leads", "analytics"]);
        assert_eq!(c.nodes[1].parent, Some(0));
        assert_eq!(c.nodes[1].wire_us.as_ref().unwrap().mean, Some(40.0));
        assert_eq!(c.nodes[0].wire_us.as_ref().unwrap().mean, Some(50.0));
        assert_eq!(c.nodes[2].parent, Some(1));
        assert!(c.nodes[2].asynchronous && !c.nodes[1].asynchronous);
        assert_eq!(c.broker.len(), 1);
        assert_eq!(c.broker[0].mean, 25.0, "one consumer: the whole publish");
        assert_eq!(c.lost_wire_us, 0.0);

        // One publish delivered to two consumers: each of the model's two event paths pays
        // half of it.
        let mut shape = shape;
        let mut second = shape.nodes[4].clone();
        second.process = "notifications".into();
        shape.nodes.push(second);
        let c = convert(&shape, Some(&root_wire));
        assert_eq!(c.nodes.len(), 4);
        assert_eq!(c.broker.len(), 1);
        assert_eq!(c.broker[0].mean, 12.5);
    }

    #[test]
    fn a_relay_keeps_its_time_beyond_the_other_events_of_its_batch() {
        // The monolith commits two events; one relay batch hands both to their in-process
        // handlers (120 and 80 µs), and each event's relay span stays open for the whole
        // batch (500 µs): its self time is 300 µs of the relay's own plus the other handler.
        let mut nodes = vec![
            node("monolith", "server", None, 100.0),
            node("monolith", "internal", Some(0), 380.0),
            node("monolith", "consumer", Some(1), 120.0),
            node("monolith", "internal", Some(0), 420.0),
            node("monolith", "consumer", Some(3), 80.0),
        ];
        for n in &mut nodes[1..] {
            n.is_async = true;
        }
        nodes[3].concurrent = true;
        let shape = Shape {
            probability: 1.0,
            traces: 10,
            nodes,
        };
        let c = convert(&shape, None);
        let relay: Vec<f64> = c.relay.iter().map(|d| d.mean).collect();
        assert_eq!(relay, [300.0, 300.0]);
        // A lone relay keeps its whole time.
        let lone = Shape {
            nodes: shape.nodes[..3].to_vec(),
            ..shape
        };
        assert_eq!(convert(&lone, None).relay[0].mean, 380.0);
    }
}
