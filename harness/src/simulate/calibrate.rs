//! `crm-bench calibrate`: a crm-sim calibration derived from a measured report — per
//! operation the tree of work from the breakdown's shapes, the event path from its
//! asynchronous spans, processes and call policies as the code configures them — using only
//! the held-in points (by default each architecture's three lowest-rate traced sweep points), the
//! utilisation law's cross-check of every process's service demand, every process's
//! background CPU (measured CPU beyond the trees' work, [`super::background`]), and the
//! model's own queueing taken out of the measured waits ([`super::queueing`]).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use crm_sim::input::calibration::{Architecture, Balancer, Calibration, Operation, Policy, Shape};

use super::architecture::{events, idempotent, merge_shapes, processes, set_policies};
pub use super::calibration_text::{demand_table, file_text};
use super::dists::pool;
use super::tree;
use super::{background, demand, idle_cpu, overlap, queueing, warm};
use crate::results::breakdown::{Breakdown, Dist, Shape as MeasuredShape};
use crate::results::model::{DemandCheck, PointRef};
use crate::results::{ArchRun, Experiment, LoadRun, Results};
use crate::topology::Arch;

/// Which points to calibrate on.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only this architecture (else every one the report has).
    pub arch: Option<Arch>,
    /// How many traced sweep points per architecture, lowest rates first.
    pub points: usize,
    /// Fit each process's idle wake ([`super::warm`]; experimental, off by default): the
    /// span times are then scaled to their warm part.
    pub idle_wake: bool,
    /// Fit each process's CPU wake ([`super::idle_cpu`]): its CPU per request falling as
    /// its idle time does; needs four held-in rates.
    pub idle_cpu: bool,
    /// Keep the held-in points' waits as measured, the model's own queueing counted twice
    /// ([`super::queueing`] off): only to compare against.
    pub measured_waits: bool,
}

/// Held-in points by default: the three lowest traced rates. The utilisation law's slope
/// (each process's CPU per request, [`demand::target_ms`]) needs a spread of rates: over two
/// close light-load points the sampled CPU's noise moves it by a quarter or more.
pub const DEFAULT_POINTS: usize = 3;

impl Default for Options {
    fn default() -> Self {
        Options {
            arch: None,
            points: DEFAULT_POINTS,
            idle_wake: false,
            idle_cpu: false,
            measured_waits: false,
        }
    }
}

/// A calibration with where it came from and how far its demands agree with the CPU
/// measured.
#[derive(Clone, Debug)]
pub struct Calibrated {
    pub calibration: Calibration,
    pub held_in: Vec<PointRef>,
    pub demand: Vec<(Arch, Vec<DemandCheck>)>,
    pub notes: Vec<String>,
}

impl Calibrated {
    /// Whether `arch`'s sweep point at `rate` of `experiment` is one it was calibrated on.
    pub fn holds_in(&self, arch: Arch, experiment: &str, rate: f64) -> bool {
        self.held_in
            .iter()
            .any(|p| p.arch == arch && p.experiment == experiment && p.offered_rps == rate)
    }
}

/// A calibration of `a` alone, as `arch` (for replaying held-in points in the model).
pub fn alone(arch: Arch, a: Architecture, source: &str) -> Calibration {
    let mut cal = Calibration {
        schema: crm_sim::CALIBRATION_SCHEMA.to_owned(),
        source: source.to_owned(),
        monolith: None,
        micro: None,
    };
    set_architecture(&mut cal, arch, a);
    cal
}

/// Puts `a` in `cal` as `arch`'s architecture.
pub fn set_architecture(cal: &mut Calibration, arch: Arch, a: Architecture) {
    match arch {
        Arch::Monolith => cal.monolith = Some(a),
        Arch::Micro => cal.micro = Some(a),
    }
}

/// A traced sweep point: its experiment's name and its run.
#[derive(Clone, Copy)]
pub struct Traced<'a> {
    pub experiment: &'a str,
    /// The sweep point's offered rate (as the sweep names its points).
    pub rate: f64,
    pub run: &'a LoadRun,
    pub breakdown: &'a Breakdown,
}

/// The traced sweep points of one architecture, lowest offered rate first.
pub fn traced_points(run: &ArchRun) -> Vec<Traced<'_>> {
    let mut out: Vec<Traced<'_>> = run
        .experiments
        .iter()
        .filter_map(|e| match e {
            Experiment::Sweep(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            s.points.iter().filter_map(|p| {
                p.run.breakdown.as_deref().map(|b| Traced {
                    experiment: &s.name,
                    rate: p.offered_rps,
                    run: &p.run,
                    breakdown: b,
                })
            })
        })
        .filter(|t| !t.breakdown.ops.is_empty())
        .collect();
    out.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    out
}

/// The held-in points of one architecture.
pub fn held_in<'a>(run: &'a ArchRun, opts: &Options) -> Vec<Traced<'a>> {
    traced_points(run)
        .into_iter()
        .take(opts.points.max(1))
        .collect()
}

/// Derives the calibration of `results` (the report at `report`, named in the file).
pub fn calibrate(results: &Results, report: &str, opts: &Options) -> anyhow::Result<Calibrated> {
    let archs: Vec<&ArchRun> = match opts.arch {
        Some(a) => match results.runs.iter().find(|r| r.arch == a) {
            Some(r) => vec![r],
            None => bail!(
                "{report} has no {a} run (it has: {})",
                results
                    .runs
                    .iter()
                    .map(|r| r.arch.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        None => results.runs.iter().collect(),
    };
    let mut cal = Calibration {
        schema: crm_sim::CALIBRATION_SCHEMA.to_owned(),
        source: String::new(),
        monolith: None,
        micro: None,
    };
    let mut out = Calibrated {
        calibration: cal.clone(),
        held_in: Vec::new(),
        demand: Vec::new(),
        notes: Vec::new(),
    };
    let mut sources = Vec::new();
    for run in archs {
        let points =
            background::set_aside(held_in(run, opts), &run.arch.to_string(), &mut out.notes);
        if points.is_empty() {
            out.notes.push(format!(
                "{}: no traced sweep point, not calibrated",
                run.arch
            ));
            continue;
        }
        let mut arch = architecture(run.arch, &points, &mut out.notes)
            .with_context(|| format!("calibrate {}", run.arch))?;
        overlap::fit_overlap(&run.arch.to_string(), &mut arch, &points, &mut out.notes);
        if opts.idle_wake {
            warm::fit_idle_wake(&run.arch.to_string(), &mut arch, &points, &mut out.notes);
        }
        let mut checks = demand::check(&arch, &points);
        demand::scale_to_measured(&mut arch, &mut checks, &points);
        demand::fill_unspanned(&mut arch, &mut checks, &points);
        background::estimate(&mut arch, &mut checks, &points);
        let load = super::replay::load_echo(results);
        let cores = super::replay::sut_cores(&results.machine);
        if opts.idle_cpu {
            let fitted =
                idle_cpu::fit_idle_cpu(run.arch, &mut arch, &mut checks, &points, &mut out.notes);
            let held = idle_cpu::Held {
                points: &points,
                load: &load,
                cores,
            };
            let notes = &mut out.notes;
            idle_cpu::replay_wakes(run.arch, &mut arch, &mut checks, &fitted, &held, notes);
        }
        if !opts.measured_waits {
            queueing::fit_queueing(run.arch, &mut arch, &points, &load, cores, &mut out.notes);
        }
        out.demand.push((run.arch, checks));
        for p in &points {
            out.held_in.push(PointRef {
                arch: run.arch,
                experiment: p.experiment.to_owned(),
                offered_rps: p.rate,
            });
        }
        sources.push(format!(
            "{} from {} ({} traces)",
            run.arch,
            points
                .iter()
                .map(|p| format!("{} at {} req/s", p.experiment, p.rate))
                .collect::<Vec<_>>()
                .join(", "),
            points.iter().map(|p| p.breakdown.traces).sum::<u64>()
        ));
        set_architecture(&mut cal, run.arch, arch);
    }
    if sources.is_empty() {
        bail!(
            "{report} has no per-hop breakdown (no traced sweep point): run the scenario with \
             `crm-bench run SCENARIO --trace` (or `[tracing]` in it), then calibrate from that report"
        );
    }
    cal.source = format!("{report}: {}", sources.join("; "));
    cal.validate()
        .context("the derived calibration is not valid (a bug: please report it)")?;
    out.calibration = cal;
    Ok(out)
}

/// One architecture's processes, policies, event path and operations from its held-in points.
fn architecture(
    arch: Arch,
    points: &[Traced<'_>],
    notes: &mut Vec<String>,
) -> anyhow::Result<Architecture> {
    let mut ops = BTreeMap::new();
    let mut relay: Vec<(Dist, f64)> = Vec::new();
    let mut broker: Vec<(Dist, f64)> = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        points.iter().flat_map(|p| p.breakdown.ops.keys()).collect();
    for name in names {
        // Shapes of every held-in point, pooled by their (process, name) sequence.
        let mut groups: BTreeMap<Vec<(String, String)>, Vec<&MeasuredShape>> = BTreeMap::new();
        let mut wires: Vec<(&Dist, f64)> = Vec::new();
        let mut all_traces = 0.0;
        for p in points {
            let Some(op) = p.breakdown.ops.get(name) else {
                continue;
            };
            all_traces += op.traces as f64;
            if let Some(u) = op.parts.get("unaccounted") {
                wires.push((u, op.traces as f64));
            }
            for s in &op.shapes {
                let key = s
                    .nodes
                    .iter()
                    .map(|n| (n.process.clone(), n.name.clone()))
                    .collect();
                groups.entry(key).or_default().push(s);
            }
        }
        let root_wire = pool(&wires);
        let kept: f64 = groups.values().flatten().map(|s| s.traces as f64).sum();
        if kept <= 0.0 {
            continue;
        }
        if kept < all_traces {
            notes.push(format!(
                "{arch} {name}: the breakdown's shapes cover {:.0}% of its traces; the model's shapes are rescaled to 100%",
                100.0 * kept / all_traces
            ));
        }
        let mut shapes = Vec::new();
        for members in groups.values() {
            let merged = merge_shapes(members);
            let c = tree::convert(&merged, Some(&root_wire));
            if c.lost_wire_us > 0.0 {
                notes.push(format!(
                    "{arch} {name}: {:.0} µs of wire to a callee that sent no span is left out",
                    c.lost_wire_us
                ));
            }
            let w = merged.traces as f64;
            relay.extend(c.relay.into_iter().map(|d| (d, w)));
            broker.extend(c.broker.into_iter().map(|d| (d, w)));
            if c.nodes.is_empty() {
                continue;
            }
            shapes.push(Shape {
                probability: w,
                traces: merged.traces,
                nodes: c.nodes,
            });
        }
        let total: f64 = shapes.iter().map(|s| s.probability).sum();
        for s in &mut shapes {
            s.probability /= total;
        }
        ops.insert(
            name.clone(),
            Operation {
                idempotent: idempotent(name, &shapes),
                shapes,
            },
        );
    }
    if ops.is_empty() {
        bail!("no operation of the held-in points has a span tree");
    }
    set_policies(arch, &mut ops);
    Ok(Architecture {
        default_policy: (arch == Arch::Micro).then(|| "client".to_owned()),
        balancer: Balancer::default(),
        events: events(arch, &ops, &relay, &broker),
        policies: if arch == Arch::Micro {
            BTreeMap::from([
                ("client".to_owned(), Policy::service_client()),
                ("proxy".to_owned(), Policy::gateway_proxy()),
            ])
        } else {
            BTreeMap::new()
        },
        processes: processes(&ops, arch == Arch::Micro && has_async(&ops)),
        ops,
    })
}

fn has_async(ops: &BTreeMap<String, Operation>) -> bool {
    ops.values()
        .flat_map(|o| &o.shapes)
        .flat_map(|s| &s.nodes)
        .any(|n| n.asynchronous)
}
