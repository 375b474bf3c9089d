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

/// The weight of a mix's operations that the calibration has.
pub(crate) fn mix_total(arch: &Architecture, mix: &BTreeMap<String, f64>) -> f64 {
    mix.iter()
        .filter(|(op, _)| arch.ops.contains_key(*op))
        .map(|(_, w)| *w)
        .sum()
}

/// CPU µs per request of each process the calibration charges (the on-core share of its
/// times), for a mix (operation →
/// weight; operations not in the calibration are left out).
pub fn model_demand(arch: &Architecture, mix: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    let total = mix_total(arch, mix);
    if total <= 0.0 {
        return out;
    }
    let events = arch.events.as_ref();
    let relay = events
        .and_then(|e| e.relay_us.as_ref())
        .map_or(0.0, sampled_mean)
        * events.map_or(1.0, |e| e.relay_share());
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
            for (n, visit) in shape.nodes.iter().zip(visits(shape)) {
                if visit && let Some(proc) = arch.processes.get(&n.process) {
                    *out.entry(n.process.clone()).or_default() += k * proc.unspanned_us;
                }
                let own = n.self_us.as_ref().map_or(0.0, sampled_mean) * n.self_cpu.unwrap_or(1.0);
                *out.entry(n.process.clone()).or_default() += k * own;
                if let (Some(db), Some(proc)) = (&n.db_us, arch.processes.get(&n.process))
                    && let Some(database) = &proc.database
                {
                    *out.entry(database.clone()).or_default() +=
                        k * sampled_mean(db) * n.db_cpu.unwrap_or(1.0);
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

/// Which nodes of a shape are visits to their process: the root, and every node whose
/// parent runs in another process (a call or an event reaching it).
fn visits(shape: &crm_sim::input::calibration::Shape) -> Vec<bool> {
    shape
        .nodes
        .iter()
        .map(|n| {
            n.parent
                .and_then(|p| shape.nodes.get(p))
                .is_none_or(|p| p.process != n.process)
        })
        .collect()
}

/// Visits per request of every process, for a mix (as [`model_demand`] weighs it).
pub(crate) fn visits_per_request(
    arch: &Architecture,
    mix: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    let total = mix_total(arch, mix);
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (name, w) in mix {
        let Some(op) = arch.ops.get(name) else {
            continue;
        };
        for shape in &op.shapes {
            let k = w / total * shape.probability;
            for (n, visit) in shape.nodes.iter().zip(visits(shape)) {
                if visit {
                    *out.entry(n.process.clone()).or_default() += k;
                }
            }
        }
    }
    out
}

/// Where the trees charge a process clearly less than the slope of its CPU over two or more
/// held-in rates (below it by more than [`SCALE_ABOVE`]), adds the difference as CPU
/// outside its spans (`unspanned_us` per visit: reading and parsing a request before the
/// first span, writing the answer after the last, exporting spans), burnt beside each visit
/// and waited for by no one, so the model's CPU follows the utilisation law while the
/// response time keeps the measured spans. Records it in each row's `unspanned_ms`. Call
/// after [`scale_to_measured`]. With one held-in point nothing is added: its U/X cannot tell
/// work per request from background, and the difference becomes background.
pub fn fill_unspanned(arch: &mut Architecture, checks: &mut [DemandCheck], points: &[Traced<'_>]) {
    let visits = visits_per_request(arch, &held_in_mix(points));
    for c in checks.iter_mut() {
        let slope = super::background::slope_ms(points, &c.process).filter(|b| *b > 0.0);
        let (Some(t), Some(v)) = (slope, visits.get(&c.process)) else {
            continue;
        };
        let charged = c.charged_ms();
        if *v <= 0.0 || charged * SCALE_ABOVE >= t {
            continue;
        }
        if let Some(proc) = arch.processes.get_mut(&c.process) {
            proc.unspanned_us = (t - charged) * 1000.0 / v;
            c.unspanned_ms = Some(t - charged);
        }
    }
}

/// The requests of every operation over the held-in points together (a mix by count).
pub(crate) fn held_in_mix(points: &[Traced<'_>]) -> BTreeMap<String, f64> {
    let mut mix: BTreeMap<String, f64> = BTreeMap::new();
    for p in points {
        for (op, s) in &p.run.ops {
            *mix.entry(op.clone()).or_default() += s.requests as f64;
        }
    }
    mix
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
    let model = model_demand(arch, &held_in_mix(points));
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
            scaled_by: None,
            unspanned_ms: None,
            background: None,
            wake_ms: None,
        })
        .collect()
}

/// Puts only the share `f` of what `process`'s trees put on a core there (the rest becomes a
/// wait): its own self times (`self_cpu`), the statements on it if it is a database
/// (`db_cpu`), its cost per event if it is the broker.
pub(crate) fn scale_on_core(arch: &mut Architecture, process: &str, f: f64) {
    let is_db_of: Vec<String> = arch
        .processes
        .iter()
        .filter(|(_, proc)| proc.database.as_deref() == Some(process))
        .map(|(k, _)| k.clone())
        .collect();
    for n in arch
        .ops
        .values_mut()
        .flat_map(|o| &mut o.shapes)
        .flat_map(|s| &mut s.nodes)
    {
        if n.process == process && n.self_us.is_some() {
            n.self_cpu = Some(n.self_cpu.unwrap_or(1.0) * f);
        }
        if is_db_of.contains(&n.process) && n.db_us.is_some() {
            n.db_cpu = Some(n.db_cpu.unwrap_or(1.0) * f);
        }
    }
    if let Some(ev) = &mut arch.events
        && ev.broker.as_deref() == Some(process)
    {
        ev.broker_us = ev.broker_us.as_ref().map(|d| super::dists::scaled(d, f));
    }
}

/// Split a process's times when the trees charge it more than this (10%) above its target.
pub const SCALE_ABOVE: f64 = 1.10;

/// The CPU ms per request a process's trees should charge at the held-in `points`: the
/// slope `b` of its CPU = a + b·X when the points are two or more at different rates (the
/// background `a` is the intercept, [`super::background`]), else the utilisation law's
/// D = U/X of the points, which counts the background in.
pub fn target_ms(check: &DemandCheck, points: &[Traced<'_>]) -> Option<f64> {
    match super::background::slope_ms(points, &check.process) {
        Some(b) if b > 0.0 => Some(b),
        _ => check.measured_ms,
    }
}

/// Where the trees charge a process clearly more than its target CPU per request
/// ([`target_ms`], by more than [`SCALE_ABOVE`]), puts only the target's share of its times
/// on a core and leaves the rest as a wait that queues on nothing: span self time (and a
/// statement's time as its client saw it) counts the wait for a core, wake-ups, the round
/// trip to the database, while the model adds the queueing for cores by itself. So the
/// response time at the held-in points keeps every measured µs while the CPU follows the
/// utilisation law, and the model saturates where the CPU does. Its own self times
/// (`self_cpu`), the statements on it (a database: `db_cpu`); the broker's cost per event is
/// scaled down (it is CPU on the broker), the relay's share on a core (`relay_cpu`) by the
/// producers' shares averaged over the events each sends. Processes charged less than their target (CPU outside any span:
/// parsing before the first span, exporting spans) are left as they are. Records the share
/// in each row's `scaled_by`.
pub fn scale_to_measured(
    arch: &mut Architecture,
    checks: &mut [DemandCheck],
    points: &[Traced<'_>],
) {
    for c in checks.iter_mut() {
        let Some(m) = target_ms(c, points) else {
            continue;
        };
        if c.model_ms <= 0.0 || m <= 0.0 || c.model_ms <= m * SCALE_ABOVE {
            continue;
        }
        let f = m / c.model_ms;
        c.scaled_by = Some(f);
        scale_on_core(arch, &c.process, f);
    }
    let factor = |p: &str| {
        checks
            .iter()
            .find(|c| c.process == p)
            .and_then(|c| c.scaled_by)
            .unwrap_or(1.0)
    };
    let producers: Vec<f64> = arch
        .ops
        .values()
        .flat_map(|o| &o.shapes)
        .flat_map(|s| {
            s.nodes
                .iter()
                .filter(|n| n.asynchronous)
                .filter_map(|n| n.parent.and_then(|q| s.nodes.get(q)))
                .map(|q| factor(&q.process))
                .collect::<Vec<_>>()
        })
        .collect();
    if !producers.is_empty()
        && let Some(ev) = &mut arch.events
    {
        let f = producers.iter().sum::<f64>() / producers.len() as f64;
        if f < 1.0 {
            ev.relay_cpu = Some(ev.relay_share() * f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::dists::sampled_mean;

    #[test]
    fn times_charged_clearly_above_the_measured_cpu_put_only_its_share_on_a_core() {
        let cal = crm_sim::Calibration::parse(
            "schema = \"crm-sim/calibration/v1\"\n[monolith.processes.monolith]\nkind = \"monolith\"\npool = 4\ndatabase = \"postgres\"\n[monolith.processes.postgres]\nkind = \"database\"\n[[monolith.ops.ping.shapes]]\nprobability = 1.0\nnodes = [{ process = \"monolith\", self_us = { q = [[0.0, 100.0], [1.0, 300.0]] }, db_us = { q = [[0.0, 50.0], [1.0, 150.0]] } }]\n",
            "c.toml",
        )
        .unwrap();
        let mut arch = cal.monolith.unwrap();
        let mix = BTreeMap::from([("ping".to_owned(), 1.0)]);
        let model = model_demand(&arch, &mix);
        assert_eq!((model["monolith"], model["postgres"]), (200.0, 100.0));
        let mut checks = vec![
            DemandCheck {
                process: "monolith".into(),
                model_ms: 0.2,
                measured_ms: Some(0.1),
                scaled_by: None,
                unspanned_ms: None,
                background: None,
                wake_ms: None,
            },
            DemandCheck {
                process: "postgres".into(),
                model_ms: 0.1,
                measured_ms: Some(0.105),
                scaled_by: None,
                unspanned_ms: None,
                background: None,
                wake_ms: None,
            },
        ];
        scale_to_measured(&mut arch, &mut checks, &[]);
        assert_eq!(checks[0].scaled_by, Some(0.5));
        assert_eq!(checks[1].scaled_by, None, "within the noise: left as it is");
        let n = &arch.ops["ping"].shapes[0].nodes[0];
        assert_eq!(
            sampled_mean(n.self_us.as_ref().unwrap()),
            200.0,
            "the measured time is kept"
        );
        assert_eq!((n.self_cpu, n.db_cpu), (Some(0.5), None));
        let model = model_demand(&arch, &mix);
        assert_eq!((model["monolith"], model["postgres"]), (100.0, 100.0));
    }
}
