//! Where the model misses, operation by operation (`crm-bench simulate --validate DIR
//! --per-op`). At every traced sweep point, per operation, four means side by side:
//! - **all**: every request of the operation, as the load generator timed it (from the
//!   actual send, as the breakdown's are);
//! - **traced**: the requests that were traced (the breakdown's end to end), which the
//!   calibration's trees come from — tracing's own cost and the sampling show here;
//! - **tree**: the calibrated tree alone (its critical path: self times, statements, wires,
//!   parallel groups by their slowest member, shapes by their probabilities; no queueing);
//! - **simulated**: the model's mean at the point's rate.
//!
//! tree − traced is what the calibration lost or added; simulated − tree what the model adds
//! (queueing, pools, wake-ups); traced − all what tracing costs a request.

use std::collections::BTreeMap;

use super::super::calibrate::{Calibrated, traced_points};
use super::super::overlap::op_time;
use super::super::replay;
use crate::results::Results;
use crate::topology::Arch;

/// One operation at one traced sweep point.
#[derive(Clone, Debug, PartialEq)]
pub struct OpRow {
    pub arch: Arch,
    pub experiment: String,
    pub rate: f64,
    pub held_in: bool,
    pub op: String,
    pub requests: u64,
    /// Means in µs.
    pub all_us: f64,
    pub traced_us: Option<f64>,
    pub tree_us: Option<f64>,
    pub simulated_us: Option<f64>,
}

/// The rows of every traced sweep point of every calibrated architecture.
pub fn per_op(results: &Results, cal: &Calibrated) -> Vec<OpRow> {
    let load = replay::load_echo(results);
    let cores = replay::sut_cores(&results.machine);
    let mut rows = Vec::new();
    for run in &results.runs {
        let Some(arch) = cal.calibration.architecture(&run.arch.to_string()) else {
            continue;
        };
        let trees: BTreeMap<&str, f64> = arch
            .ops
            .iter()
            .map(|(name, op)| (name.as_str(), op_time(op)))
            .collect();
        let known = |op: &str| trees.contains_key(op);
        for point in traced_points(run) {
            let out = replay::open_point(run.arch, point.run, &load, cores, &known)
                .and_then(|s| crm_sim::simulate(&cal.calibration, &s).ok());
            let held_in = cal.holds_in(run.arch, point.experiment, point.rate);
            for (op, stats) in &point.run.ops {
                let ok = stats.requests.saturating_sub(stats.failed);
                if ok == 0 {
                    continue;
                }
                rows.push(OpRow {
                    arch: run.arch,
                    experiment: point.experiment.to_owned(),
                    rate: point.rate,
                    held_in,
                    op: op.clone(),
                    requests: stats.requests,
                    all_us: stats.uncorrected.mean_us,
                    traced_us: point
                        .breakdown
                        .ops
                        .get(op)
                        .filter(|b| b.traces > 0)
                        .map(|b| b.end_to_end.mean),
                    tree_us: trees.get(op.as_str()).copied(),
                    simulated_us: out
                        .as_ref()
                        .and_then(|o| o.ops.get(op))
                        .filter(|o| o.ok > 0)
                        .map(|o| o.mean_us),
                });
            }
        }
    }
    rows
}

/// The rows as a table, one block per architecture and point, with each mean's error
/// against **all** (the figure the validation compares).
pub fn text(rows: &[OpRow]) -> String {
    let mut out =
        String::from("SIMULATED per operation: means in ms (error against all requests' mean)\n");
    let mut block = None;
    let cell = |v: Option<f64>, all: f64| match v {
        Some(v) if all > 0.0 => format!("{:.2} ({:+.0}%)", v / 1000.0, 100.0 * (v / all - 1.0)),
        Some(v) => format!("{:.2}", v / 1000.0),
        None => "-".into(),
    };
    for r in rows {
        let key = (r.arch, r.experiment.clone(), r.rate.to_bits());
        if block.as_ref() != Some(&key) {
            out.push_str(&format!(
                "\n{} {} at {} req/s{}\n{:<24} {:>8} {:>8} {:>16} {:>16} {:>16}\n",
                r.arch,
                r.experiment,
                r.rate,
                if r.held_in { " (held in)" } else { "" },
                "operation",
                "requests",
                "all",
                "traced",
                "tree",
                "simulated"
            ));
            block = Some(key);
        }
        out.push_str(&format!(
            "{:<24} {:>8} {:>8.2} {:>16} {:>16} {:>16}\n",
            r.op,
            r.requests,
            r.all_us / 1000.0,
            cell(r.traced_us, r.all_us),
            cell(r.tree_us, r.all_us),
            cell(r.simulated_us, r.all_us),
        ));
    }
    out
}
