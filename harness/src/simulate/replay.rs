//! A measured report's own points as crm-sim scenarios: the machine as one node with the
//! system under test's cores, every process with one replica on it (as `crm-bench run`
//! starts them), and the point's load — a sweep point's offered rate and the mix it actually
//! sent, a scale step's replicas and CPU quotas under the same saturating connections, a
//! fault's window with the measured window set to the fault's so that the simulated
//! histograms are those of requests sent during it.

use std::collections::BTreeMap;

use crm_sim::input::scenario::{
    Arrival, Closed, Fault as SimFault, FaultKind, Journey, NodeGroup, Open, Placement,
};
use crm_sim::{DistSpec, SCENARIO_SCHEMA, Scenario};

use super::demand::mix_of;
use crate::results::{Fault, LoadRun, Machine, Results};
use crate::topology::Arch;

/// Simulated seconds of a replayed point at most (warm-up included): the model's figures
/// settle long before, and a report's check must stay quick.
pub const MAX_SIM_S: f64 = 60.0;

/// The seed of every replay (one seed for all: the validation is not tuned by picking one).
pub const SEED: u64 = 1;

/// The load settings a report's scenario ran with.
#[derive(Clone, Debug)]
pub struct LoadEcho {
    pub poisson: bool,
    pub connections: u32,
    pub timeout_ms: f64,
}

/// The scenario's `[load]` from the report's echo of it (the defaults where it cannot be
/// read: a report of an older layout).
pub fn load_echo(results: &Results) -> LoadEcho {
    let load: crate::scenario::Load = results
        .scenario
        .config
        .get("load")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    LoadEcho {
        poisson: load.arrival == crate::scenario::Arrival::Poisson,
        connections: load.connections,
        timeout_ms: load.timeout_ms as f64,
    }
}

/// The connections of the scale experiment named `name` in the report's scenario.
pub fn scale_connections(results: &Results, name: &str, service: &str) -> Option<u32> {
    let exps = results.scenario.config.get("experiment")?.as_array()?;
    exps.iter()
        .filter(|e| e.get("kind").and_then(|k| k.as_str()) == Some("scale"))
        .find(|e| {
            e.get("name").and_then(|n| n.as_str()) == Some(name)
                || e.get("service").and_then(|n| n.as_str()) == Some(service)
        })
        .and_then(|e| e.get("connections")?.as_u64())
        .map(|c| c as u32)
}

/// Cores of the system under test: its CPU list's length, else every CPU of the machine.
pub fn sut_cores(m: &Machine) -> f64 {
    let Some(list) = &m.sut_cpus else {
        return m.cpus.max(1) as f64;
    };
    let n: usize = list
        .split(',')
        .map(|part| {
            let mut ends = part.splitn(2, '-').map(|x| x.trim().parse::<usize>().ok());
            match (ends.next().flatten(), ends.next().flatten()) {
                (Some(a), Some(b)) if b >= a => b - a + 1,
                _ => 1,
            }
        })
        .sum();
    n.max(1) as f64
}

fn base(arch: Arch, name: String, cores: f64, warmup_s: f64, duration_s: f64) -> Scenario {
    Scenario {
        schema: SCENARIO_SCHEMA.to_owned(),
        name,
        architecture: arch.to_string(),
        duration_s,
        warmup_s,
        seed: SEED,
        bucket_s: 1.0,
        cfs_period_ms: 100.0,
        nodes: vec![NodeGroup {
            name: "sut".into(),
            cores,
            count: 1,
            speed: 1.0,
        }],
        processes: BTreeMap::new(),
        open: None,
        closed: None,
        faults: Vec::new(),
        autoscale: BTreeMap::new(),
    }
}

/// Warm-up and length of a replay of `run`, within [`MAX_SIM_S`].
fn times(run: &LoadRun) -> (f64, f64) {
    let warm = run.warmup_s.clamp(1.0, 10.0);
    let measured = run.duration_s.clamp(5.0, MAX_SIM_S - warm);
    (warm, warm + measured)
}

/// The mix `run` sent, restricted to the operations `known` calibrates.
fn mix(run: &LoadRun, known: &dyn Fn(&str) -> bool) -> BTreeMap<String, f64> {
    mix_of(run).into_iter().filter(|(k, _)| known(k)).collect()
}

/// The share of `run`'s requests whose operation `known` calibrates (an operation no traced
/// request of the held-in points sampled is not in the model; the replay offers only the
/// calibrated share of the rate).
pub fn known_share(run: &LoadRun, known: &dyn Fn(&str) -> bool) -> f64 {
    mix(run, known).values().sum()
}

/// The measured achieved rate of the calibrated operations only.
pub fn known_achieved(run: &LoadRun, known: &dyn Fn(&str) -> bool) -> f64 {
    if run.duration_s <= 0.0 {
        return 0.0;
    }
    run.ops
        .iter()
        .filter(|(k, _)| known(k))
        .map(|(_, o)| o.requests.saturating_sub(o.failed) as f64)
        .sum::<f64>()
        / run.duration_s
}

/// An open-loop point at its offered rate.
pub fn open_point(
    arch: Arch,
    run: &LoadRun,
    load: &LoadEcho,
    cores: f64,
    known: &dyn Fn(&str) -> bool,
) -> Option<Scenario> {
    let mix = mix(run, known);
    let share: f64 = mix.values().sum();
    if mix.is_empty() || run.offered_rps <= 0.0 {
        return None;
    }
    let (warm, dur) = times(run);
    let mut s = base(
        arch,
        format!("{arch} at {} req/s", run.offered_rps),
        cores,
        warm,
        dur,
    );
    s.open = Some(Open {
        arrival: if load.poisson {
            Arrival::Poisson
        } else {
            Arrival::Constant
        },
        rate: Some(run.offered_rps * share),
        profile: Vec::new(),
        connections: load.connections,
        timeout_ms: load.timeout_ms,
        mix,
    });
    Some(s)
}

/// One step of a scale experiment: `replicas` of `service` under `cpus` cores of quota
/// each, saturated by `users` connections.
#[derive(Clone, Copy, Debug)]
pub struct ScaleStep<'a> {
    pub service: &'a str,
    pub replicas: u32,
    pub cpus: f64,
    pub users: u32,
}

/// A scale step, its connections sending back to back (closed loop, no think time).
pub fn scale_point(
    arch: Arch,
    step: ScaleStep<'_>,
    run: &LoadRun,
    cores: f64,
    known: &dyn Fn(&str) -> bool,
) -> Option<Scenario> {
    let ScaleStep {
        service,
        replicas,
        cpus,
        users,
    } = step;
    let mix = mix(run, known);
    if mix.is_empty() || users == 0 {
        return None;
    }
    let (warm, dur) = times(run);
    let mut s = base(arch, format!("{service} x{replicas}"), cores, warm, dur);
    s.processes.insert(
        service.to_owned(),
        Placement {
            replicas,
            cpus: (cpus > 0.0).then_some(cpus),
            nodes: Vec::new(),
            like: None,
            database: None,
            pool: None,
        },
    );
    s.closed = Some(Closed {
        users,
        think_us: DistSpec::fixed(0.0),
        ramp_s: 0.0,
        timeout_ms: 5000.0,
        journeys: mix
            .into_iter()
            .map(|(op, w)| Journey {
                name: op.clone(),
                weight: w,
                ops: vec![op],
            })
            .collect(),
    });
    Some(s)
}

/// A fault under its run's open-loop load; the measured window is the fault's. `None` for
/// what the model has no counterpart of (the monolith's module faults: a panicking module,
/// a CPU hog, a slow query), with the reason.
pub fn fault(
    arch: Arch,
    f: &Fault,
    load: &LoadEcho,
    cores: f64,
    delay_ms: f64,
    known: &dyn Fn(&str) -> bool,
    has_process: &dyn Fn(&str) -> bool,
) -> Result<Scenario, String> {
    let kind = match f.action.as_str() {
        "kill" => FaultKind::Kill,
        "pause" => FaultKind::Pause,
        "slow" => FaultKind::Slow,
        other => return Err(format!("{other} has no counterpart in the model")),
    };
    let process = if arch == Arch::Monolith {
        "monolith"
    } else {
        f.target.as_str()
    };
    if !has_process(process) {
        return Err(format!(
            "{process} is in no calibrated span tree (its operations were not traced)"
        ));
    }
    let mix = mix(&f.run, known);
    if mix.is_empty() || f.run.offered_rps <= 0.0 {
        return Err("its run sent no calibrated operation".into());
    }
    let (start, end) = (f.window.start_s, f.window.end_s);
    if !(end > start && start > 0.0) {
        return Err("its window is empty".into());
    }
    let mut s = base(arch, f.name.clone(), cores, start, end);
    s.open = Some(Open {
        arrival: if load.poisson {
            Arrival::Poisson
        } else {
            Arrival::Constant
        },
        rate: Some(f.run.offered_rps),
        profile: Vec::new(),
        connections: load.connections,
        timeout_ms: load.timeout_ms,
        mix,
    });
    s.faults.push(SimFault {
        kind,
        process: process.to_owned(),
        replica: None,
        // A fault starting at the window's first instant is inside the run (the model
        // refuses faults at its very start or beyond its end).
        at_s: start,
        for_s: end - start,
        restart_s: 0.0,
        delay_ms: if kind == FaultKind::Slow {
            delay_ms
        } else {
            0.0
        },
    });
    // Requests sent before the fault must see the system as it was; the measured window
    // (warm-up = start) covers exactly the requests sent during it.
    s.duration_s = end;
    Ok(s)
}

/// The `delay_ms` of the fault experiment named `name` in the report's scenario (a `slow`
/// fault's added delay).
pub fn fault_delay_ms(results: &Results, name: &str) -> Option<f64> {
    let exps = results.scenario.config.get("experiment")?.as_array()?;
    exps.iter()
        .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(name))
        .and_then(|e| e.get("delay_ms")?.as_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::OpStats;

    #[test]
    fn the_sut_has_the_cores_of_its_cpu_list() {
        let mut m = Machine {
            cpus: 8,
            sut_cpus: Some("1-3,6".into()),
            load_cpus: None,
            memory_bytes: 0,
            kernel: String::new(),
            git_commit: None,
            build_profile: String::new(),
            calibration: None,
            cpu_steal: None,
        };
        assert_eq!(sut_cores(&m), 4.0);
        m.sut_cpus = None;
        assert_eq!(sut_cores(&m), 8.0);
    }

    #[test]
    fn operations_without_a_tree_are_left_out_of_the_rate_and_the_achieved_rate() {
        let op = |requests, failed| OpStats {
            requests,
            failed,
            ..Default::default()
        };
        let run = LoadRun {
            offered_rps: 100.0,
            duration_s: 10.0,
            ops: BTreeMap::from([("a".into(), op(750, 50)), ("b".into(), op(250, 0))]),
            ..Default::default()
        };
        let known = |o: &str| o == "a";
        assert!((known_share(&run, &known) - 0.75).abs() < 1e-12);
        assert!((known_achieved(&run, &known) - 70.0).abs() < 1e-12);
        let load = LoadEcho {
            poisson: true,
            connections: 0,
            timeout_ms: 5000.0,
        };
        let s = open_point(Arch::Micro, &run, &load, 1.0, &known).unwrap();
        assert_eq!(s.open.unwrap().rate, Some(75.0));
    }
}
