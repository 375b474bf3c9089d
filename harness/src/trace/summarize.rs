//! From a run's spans and the load generator's sampled requests to the results'
//! [`Breakdown`]: per operation, the parts of each request's latency, the most common span
//! tree shapes with per-node distributions, the slowest traces and a critical path.

use std::collections::{BTreeMap, HashMap};

use crm_load::TracedRequest;

use super::span::SpanRecord;
use super::tree::{self, Trace};
use crate::results::breakdown::{
    Breakdown, Dist, Exemplar, OpBreakdown, PathStep, Shape, ShapeNode, quantile_sorted,
};

/// Shapes kept per operation.
const SHAPES: usize = 5;
/// Slowest traces kept per operation.
const EXEMPLARS: usize = 3;
/// Lines of an exemplar's tree.
const TREE_LINES: usize = 120;

/// What the run gives the summary besides its spans.
pub struct RunTrace<'a> {
    pub spans: &'a [SpanRecord],
    pub traced: &'a [TracedRequest],
    pub sample_ratio: f64,
    pub spans_file: String,
    pub rejected_exports: u64,
    /// The HTTP edge measured after the run ([`super::edge`]), µs.
    pub edge_us: Option<f64>,
}

/// One node's figures in one trace.
struct NodeFigures {
    self_us: f64,
    db_us: f64,
    db_statements: f64,
    wire_us: f64,
    wait_us: f64,
}

/// The nodes of a trace (SQL statements and waits folded into their nearest node), in
/// depth-first order by start time: (span index, parent node index) and figures.
fn nodes(t: &Trace<'_>) -> Vec<(usize, Option<usize>, NodeFigures)> {
    let mut out: Vec<(usize, Option<usize>, NodeFigures)> = Vec::new();
    let Some(root) = t.root else { return out };
    let mut stack = vec![(root, None::<usize>)];
    while let Some((i, parent_node)) = stack.pop() {
        let s = t.spans[i];
        let folded = s.db || s.wait.is_some();
        let me = if folded {
            if let Some(p) = parent_node {
                let f = &mut out[p].2;
                if s.db {
                    f.db_us += t.duration_us(i);
                    f.db_statements += 1.0;
                } else {
                    f.wait_us += t.duration_us(i);
                }
            }
            parent_node
        } else {
            let self_us = t.self_us(i);
            out.push((
                i,
                parent_node,
                NodeFigures {
                    self_us,
                    db_us: 0.0,
                    db_statements: 0.0,
                    wire_us: if s.node_kind() == "client" {
                        self_us
                    } else {
                        0.0
                    },
                    wait_us: 0.0,
                },
            ));
            Some(out.len() - 1)
        };
        for &c in t.children[i].iter().rev() {
            stack.push((c, me));
        }
    }
    out
}

/// A shape: the (process, name) of a trace's nodes in order.
type ShapeKey = Vec<(String, String)>;

fn shape_key(t: &Trace<'_>, ns: &[(usize, Option<usize>, NodeFigures)]) -> ShapeKey {
    ns.iter()
        .map(|(i, _, _)| (t.spans[*i].process().to_owned(), t.spans[*i].name.clone()))
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5)
}

/// The breakdown of one traced load run.
pub fn breakdown(run: &RunTrace<'_>) -> Breakdown {
    let by_trace = tree::group(run.spans);
    let mut per_op: BTreeMap<&str, Vec<(&TracedRequest, Trace<'_>)>> = BTreeMap::new();
    for req in run.traced {
        if let Some(spans) = by_trace.get(req.trace_id.as_str()) {
            let t = Trace::new(spans.clone());
            if t.root.is_some() {
                per_op.entry(req.op.as_str()).or_default().push((req, t));
            }
        }
    }
    let traces = per_op.values().map(Vec::len).sum::<usize>() as u64;
    Breakdown {
        sample_ratio: run.sample_ratio,
        spans: run.spans.len() as u64,
        traces,
        spans_file: run.spans_file.clone(),
        sampled_requests: run.traced.len() as u64,
        rejected_exports: run.rejected_exports,
        edge_us: run.edge_us,
        ops: per_op
            .into_iter()
            .map(|(op, reqs)| (op.to_owned(), op_breakdown(&reqs, run.edge_us)))
            .collect(),
    }
}

fn op_breakdown(reqs: &[(&TracedRequest, Trace<'_>)], edge_us: Option<f64>) -> OpBreakdown {
    let e2e: Vec<f64> = reqs.iter().map(|(r, _)| r.uncorrected_us as f64).collect();
    let attributed: Vec<BTreeMap<String, f64>> = reqs.iter().map(|(_, t)| t.attribute()).collect();
    let mut names: Vec<String> = attributed.iter().flat_map(|p| p.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let mut parts: BTreeMap<String, Dist> = names
        .iter()
        .map(|n| {
            let v: Vec<f64> = attributed
                .iter()
                .map(|p| p.get(n).copied().unwrap_or(0.0))
                .collect();
            (n.clone(), Dist::of(&v))
        })
        .collect();
    let accounted: Vec<f64> = attributed.iter().map(|p| p.values().sum()).collect();
    let unaccounted: Vec<f64> = e2e.iter().zip(&accounted).map(|(e, a)| e - a).collect();
    parts.insert("unaccounted".into(), Dist::of(&unaccounted));
    let median_e2e = median(&e2e);
    let accounted_share = if median_e2e > 0.0 {
        median(&accounted) / median_e2e
    } else {
        0.0
    };
    let accounted_with_edge = edge_us.map(|e| super::edge::accounted_share(&e2e, &accounted, e));

    // Shapes: traces grouped by their nodes' (process, name) sequence.
    let per_trace: Vec<_> = reqs.iter().map(|(_, t)| nodes(t)).collect();
    let mut groups: HashMap<ShapeKey, Vec<usize>> = HashMap::new();
    for (k, (_, t)) in reqs.iter().enumerate() {
        groups
            .entry(shape_key(t, &per_trace[k]))
            .or_default()
            .push(k);
    }
    let mut groups: Vec<(ShapeKey, Vec<usize>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let shapes = groups
        .into_iter()
        .take(SHAPES)
        .map(|(_, members)| shape(reqs, &per_trace, &members))
        .collect();

    // Exemplars: the slowest requests.
    let mut order: Vec<usize> = (0..reqs.len()).collect();
    order.sort_by(|a, b| e2e[*b].total_cmp(&e2e[*a]));
    let exemplars = order
        .iter()
        .take(EXEMPLARS)
        .map(|&k| Exemplar {
            trace_id: reqs[k].0.trace_id.clone(),
            end_to_end_us: e2e[k],
            parts: attributed[k].clone(),
            tree: reqs[k].1.render(TREE_LINES),
        })
        .collect();

    // The critical path of the request nearest the median.
    let nearest = (0..reqs.len()).min_by(|a, b| {
        (e2e[*a] - median_e2e)
            .abs()
            .total_cmp(&(e2e[*b] - median_e2e).abs())
    });
    let critical_path = nearest
        .map(|k| {
            let t = &reqs[k].1;
            t.critical_path()
                .into_iter()
                .map(|(i, depth)| PathStep {
                    process: t.spans[i].process().to_owned(),
                    name: t.spans[i].name.clone(),
                    depth,
                    duration_us: t.duration_us(i),
                    self_us: t.self_us(i),
                })
                .collect()
        })
        .unwrap_or_default();

    OpBreakdown {
        traces: reqs.len() as u64,
        end_to_end: Dist::of(&e2e),
        parts,
        accounted_share,
        accounted_with_edge,
        shapes,
        exemplars,
        critical_path,
    }
}

fn shape(
    reqs: &[(&TracedRequest, Trace<'_>)],
    per_trace: &[Vec<(usize, Option<usize>, NodeFigures)>],
    members: &[usize],
) -> Shape {
    let first = members[0];
    let t0 = &reqs[first].1;
    let template = &per_trace[first];
    let total = reqs.len() as f64;
    let nodes = template
        .iter()
        .enumerate()
        .map(|(n, (i, parent, _))| {
            let s = t0.spans[*i];
            // Parallel with the preceding sibling node: starts before that one ended.
            let concurrent = template[..n]
                .iter()
                .rev()
                .find(|(_, p, _)| p == parent)
                .is_some_and(|(j, _, _)| s.start_ns < t0.spans[*j].end_ns);
            let col = |f: &dyn Fn(&NodeFigures) -> f64| -> Vec<f64> {
                members.iter().map(|&m| f(&per_trace[m][n].2)).collect()
            };
            let statements = col(&|f| f.db_statements);
            ShapeNode {
                process: s.process().to_owned(),
                name: s.name.clone(),
                parent: *parent,
                kind: s.node_kind().to_owned(),
                concurrent,
                is_async: t0.is_async[*i],
                self_us: Dist::of(&col(&|f| f.self_us)),
                db_us: Dist::of(&col(&|f| f.db_us)),
                db_statements: statements.iter().sum::<f64>() / statements.len() as f64,
                wire_us: Dist::of(&col(&|f| f.wire_us)),
                wait_us: Dist::of(&col(&|f| f.wait_us)),
            }
        })
        .collect();
    Shape {
        probability: members.len() as f64 / total,
        traces: members.len() as u64,
        nodes,
    }
}

#[cfg(test)]
#[path = "summarize_tests.rs"]
mod tests;
