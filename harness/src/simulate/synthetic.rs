//! Test support: a report generated FROM a known calibration, so that calibrating on it must
//! give the known parameters back and the model's predictions must land near its "measured"
//! figures. Its breakdown is the known trees written as the tracing summary writes them (a
//! client span before every remote node carrying its wire, the relay or publish before every
//! consumer, the root's wire as `unaccounted`); its latencies, rates and CPU seconds are the
//! known model's, simulated with another seed than the validation's. It is labelled
//! synthetic in its scenario's name and description: nothing in it was measured.

use std::collections::BTreeMap;

use crm_sim::input::calibration::{Architecture, Node};
use crm_sim::input::scenario::{Arrival, NodeGroup, Open};
use crm_sim::{Calibration, DistSpec, OpOutcome, Outputs, SCENARIO_SCHEMA, Scenario};

use super::dists::{quantile, sampled_mean};
use crate::results::breakdown::{Breakdown, Dist, OpBreakdown, QUANTILES, Shape, ShapeNode};
use crate::results::{
    ArchRun, Experiment, InstanceUsage, LatencyStats, LoadRun, Machine, OpStats, Results,
    ScenarioEcho, Sweep, SweepPoint,
};
use crate::topology::{Arch, RuntimeKind};

/// The seed of the synthetic "measurements" (the validation replays with another).
pub const SEED: u64 = 99;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Offered rates of the sweep points, lowest first (the lowest is held in).
    pub rates: Vec<f64>,
    pub mix: BTreeMap<String, f64>,
    /// Cores of the system under test.
    pub cores: f64,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub slo_p99_us: u64,
    /// Whether the points carry a breakdown (false: an untraced run).
    pub traced: bool,
}

/// A distribution as the breakdown lists it: its sampled mean and its value at each of
/// [`QUANTILES`].
pub fn dist(d: &DistSpec) -> Dist {
    Dist {
        mean: sampled_mean(d),
        q: QUANTILES.iter().map(|p| (*p, quantile(d, *p))).collect(),
    }
}

fn opt(d: &Option<DistSpec>) -> Dist {
    d.as_ref().map(dist).unwrap_or_default()
}

/// The known tree of one shape, as the tracing summary would have written it.
pub fn measured_shape(arch: &Architecture, nodes: &[Node], traces: u64, p: f64) -> Shape {
    let mut out: Vec<ShapeNode> = Vec::new();
    let mut at: Vec<usize> = Vec::new();
    let events = arch.events.as_ref();
    for (i, n) in nodes.iter().enumerate() {
        let mut parent = n.parent.map(|q| at[q]);
        let parent_proc = n.parent.map(|q| nodes[q].process.clone());
        if n.asynchronous {
            let (process, kind, cost) = match events.and_then(|e| e.broker.clone()) {
                Some(b) => (b, "client", events.and_then(|e| e.broker_us.clone())),
                None => (
                    parent_proc.clone().unwrap_or_default(),
                    "internal",
                    events.and_then(|e| e.relay_us.clone()),
                ),
            };
            out.push(ShapeNode {
                process,
                name: format!("relay {i}"),
                parent,
                kind: kind.into(),
                is_async: true,
                self_us: opt(&cost),
                wire_us: if kind == "client" {
                    opt(&cost)
                } else {
                    Dist::default()
                },
                ..Default::default()
            });
            parent = Some(out.len() - 1);
        } else if i > 0 && parent_proc.as_deref() != Some(n.process.as_str()) {
            let wire = opt(&n.wire_us);
            out.push(ShapeNode {
                process: parent_proc.unwrap_or_default(),
                name: format!("call {}", n.process),
                parent,
                kind: "client".into(),
                concurrent: n.concurrent,
                self_us: wire.clone(),
                wire_us: wire,
                ..Default::default()
            });
            parent = Some(out.len() - 1);
        }
        out.push(ShapeNode {
            process: n.process.clone(),
            name: if n.name.is_empty() {
                format!("{} {i}", n.process)
            } else {
                n.name.clone()
            },
            parent,
            kind: n.kind.clone(),
            concurrent: n.concurrent
                && !(i > 0 && !n.asynchronous && nodes[n.parent.unwrap_or(0)].process != n.process),
            is_async: n.asynchronous,
            self_us: opt(&n.self_us),
            db_us: opt(&n.db_us),
            db_statements: if n.db_us.is_some() {
                n.db_statements.unwrap_or(1.0)
            } else {
                0.0
            },
            wire_us: Dist::default(),
            wait_us: Dist::default(),
        });
        at.push(out.len() - 1);
    }
    Shape {
        probability: p,
        traces,
        nodes: out,
    }
}

fn latency(o: &OpOutcome) -> LatencyStats {
    let h = &o.latency_us;
    LatencyStats {
        count: o.ok,
        min_us: h.min(),
        mean_us: o.mean_us,
        p50_us: h.value_at_quantile(0.5),
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
        ci: None,
    }
}

fn op_stats(o: &OpOutcome) -> OpStats {
    OpStats {
        requests: o.requests(),
        failed: o.failed(),
        corrected: latency(o),
        uncorrected: latency(o),
        ..Default::default()
    }
}

fn simulate(cal: &Calibration, arch: Arch, rate: f64, spec: &Spec) -> anyhow::Result<Outputs> {
    let s = Scenario {
        schema: SCENARIO_SCHEMA.into(),
        name: format!("synthetic {arch} at {rate}"),
        architecture: arch.to_string(),
        duration_s: spec.warmup_s + spec.duration_s,
        warmup_s: spec.warmup_s,
        seed: SEED,
        bucket_s: 1.0,
        cfs_period_ms: 100.0,
        nodes: vec![NodeGroup {
            name: "sut".into(),
            cores: spec.cores,
            count: 1,
            speed: 1.0,
        }],
        processes: BTreeMap::new(),
        open: Some(Open {
            arrival: Arrival::Poisson,
            rate: Some(rate),
            profile: Vec::new(),
            connections: 0,
            timeout_ms: 5000.0,
            mix: spec.mix.clone(),
        }),
        closed: None,
        faults: Vec::new(),
        autoscale: BTreeMap::new(),
    };
    Ok(crm_sim::simulate(cal, &s)?)
}

fn breakdown(a: &Architecture, out: &Outputs) -> Breakdown {
    let ops = a
        .ops
        .iter()
        .filter_map(|(name, op)| {
            let o = out.ops.get(name)?;
            let traces = o.ok.max(1);
            let root_wire = op.shapes[0].nodes[0].wire_us.clone();
            let shapes = op
                .shapes
                .iter()
                .map(|s| {
                    let t = (traces as f64 * s.probability).round() as u64;
                    let mut m = measured_shape(a, &s.nodes, t.max(1), s.probability);
                    woken(a, &mut m, out);
                    m
                })
                .collect();
            let e2e = Dist {
                mean: o.mean_us,
                q: QUANTILES
                    .iter()
                    .map(|p| (*p, o.latency_us.value_at_quantile(*p) as f64))
                    .collect(),
            };
            Some((
                name.clone(),
                OpBreakdown {
                    traces,
                    end_to_end: e2e,
                    parts: BTreeMap::from([("unaccounted".to_owned(), opt(&root_wire))]),
                    accounted_share: 1.0,
                    accounted_with_edge: None,
                    shapes,
                    exemplars: Vec::new(),
                    critical_path: Vec::new(),
                },
            ))
        })
        .collect();
    Breakdown {
        sample_ratio: 1.0,
        spans: 0,
        traces: out.total.ok,
        spans_file: String::new(),
        sampled_requests: out.total.ok,
        rejected_exports: 0,
        edge_us: None,
        ops,
    }
}

/// A known process's idle wake as its spans would show it: on average `W·(1 − u) / (1 + λT)`
/// more on the first visit of each request (its replica idle with probability `1 − u`, its
/// requests a Poisson stream of rate `λ` per replica), on that node's self time — a
/// database's, on the statements of the first node that runs some on it.
fn woken(a: &Architecture, shape: &mut Shape, out: &Outputs) {
    let x = out.total.achieved_rps;
    for (name, proc) in &a.processes {
        let Some(w) = proc.idle_wake.as_ref() else {
            continue;
        };
        let Some(used) = out.processes.get(name) else {
            continue;
        };
        let replicas = f64::from(used.replicas_at_end.max(1));
        let idle = (1.0 - used.cores_used / replicas).clamp(0.0, 1.0);
        let lambda = x * visited_share(a, name, out) / replicas;
        let extra = w.us * idle / (1.0 + lambda * w.tau_ms / 1e3);
        let db_of = |p: &str| a.processes.get(p).and_then(|p| p.database.as_deref());
        let is_db = |n: &ShapeNode| n.db_statements > 0.0 && db_of(&n.process) == Some(name);
        let first = shape
            .nodes
            .iter_mut()
            .find(|n| !n.is_async && n.kind != "client" && (n.process == *name || is_db(n)));
        if let Some(n) = first {
            let d = if n.process == *name {
                &mut n.self_us
            } else {
                &mut n.db_us
            };
            d.mean += extra;
            d.q.iter_mut().for_each(|(_, v)| *v += extra);
        }
    }
}

/// The share of the requests in `out` whose response path visits `process` (itself or
/// its database).
fn visited_share(a: &Architecture, process: &str, out: &Outputs) -> f64 {
    let touches = |n: &Node| {
        !n.asynchronous
            && (n.process == process
                || a.processes
                    .get(&n.process)
                    .and_then(|p| p.database.as_deref())
                    == Some(process))
    };
    let mut sum = 0.0;
    let mut all = 0.0;
    for (name, op) in &a.ops {
        let ok = out.ops.get(name).map_or(0.0, |o| o.ok as f64);
        all += ok;
        sum += ok
            * op.shapes
                .iter()
                .filter(|s| s.nodes.iter().any(touches))
                .map(|s| s.probability)
                .sum::<f64>();
    }
    if all > 0.0 { sum / all } else { 0.0 }
}

/// The synthetic report of `cal` (every architecture it has).
pub fn report(cal: &Calibration, spec: &Spec) -> anyhow::Result<Results> {
    let mut runs = Vec::new();
    for arch in [Arch::Monolith, Arch::Micro] {
        let Some(a) = cal.architecture(&arch.to_string()) else {
            continue;
        };
        let mut points = Vec::new();
        for &rate in &spec.rates {
            let out = simulate(cal, arch, rate, spec)?;
            let whole = (spec.warmup_s + spec.duration_s) / out.window_s;
            let run = LoadRun {
                mode: "open".into(),
                offered_rps: rate,
                achieved_rps: out.total.achieved_rps,
                warmup_s: spec.warmup_s,
                duration_s: spec.duration_s,
                requests: out.total.requests(),
                failed: out.total.failed(),
                total: op_stats(&out.total),
                ops: out
                    .ops
                    .iter()
                    .map(|(k, o)| (k.clone(), op_stats(o)))
                    .collect(),
                resources: out
                    .processes
                    .iter()
                    .map(|(p, u)| InstanceUsage {
                        instance: p.clone(),
                        cpu_s: u.cpu_seconds * whole,
                        peak_rss_bytes: 0,
                    })
                    .collect(),
                breakdown: spec.traced.then(|| Box::new(breakdown(a, &out))),
                ..Default::default()
            };
            let p99 = run.total.corrected.p99_us;
            points.push(SweepPoint {
                offered_rps: rate,
                achieved_rps: run.achieved_rps,
                error_rate: run.failed as f64 / run.requests.max(1) as f64,
                latency: run.total.corrected.clone(),
                meets_slo: p99 <= spec.slo_p99_us && run.failed == 0,
                run,
                repeats: Vec::new(),
            });
        }
        let max_rate_under_slo = points
            .iter()
            .filter(|p| p.meets_slo)
            .map(|p| p.offered_rps)
            .reduce(f64::max);
        runs.push(ArchRun {
            arch,
            runtime: RuntimeKind::Process,
            up_s: 0.0,
            seed: None,
            experiments: vec![Experiment::Sweep(Sweep {
                name: "sweep".into(),
                slo_p99_us: spec.slo_p99_us,
                slo_max_error_rate: 0.01,
                points,
                max_rate_under_slo,
                knee: None,
            })],
            failures: Vec::new(),
            skipped: Vec::new(),
            trace_overhead: Vec::new(),
        });
    }
    let now = chrono::Utc::now();
    let cores = spec.cores.max(1.0) as usize;
    Ok(Results {
        schema: crate::results::SCHEMA.into(),
        scenario: ScenarioEcho {
            name: "synthetic".into(),
            description: "SYNTHETIC: generated from a known calibration by crm-sim; nothing here was measured".into(),
            file: "(synthetic)".into(),
            config: serde_json::json!({ "load": crate::scenario::Load::default() }),
        },
        machine: Machine {
            cpus: cores + 1,
            sut_cpus: Some(if cores == 1 { "1".into() } else { format!("1-{cores}") }),
            load_cpus: Some("0".into()),
            memory_bytes: 0,
            kernel: "synthetic".into(),
            git_commit: None,
            build_profile: "release".into(),
            calibration: None,
            cpu_steal: None,
        },
        started_at: now,
        finished_at: now,
        runs,
        verdicts: Vec::new(),
        reconciliation_passed: true,
        model: None,
    })
}
