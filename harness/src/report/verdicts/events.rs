//! The verdict rows of what happens to a running system: fault tolerance, scalability and
//! deployment (see [`super::RULES`]).

use crate::results::{ArchRun, Scale, ScalePoint, Verdict};

use super::super::format;
use super::super::pick::{self, pairs};
use super::rows::{both, ms, side};
use super::{Side, Spec, decide};

pub(super) fn fault_tolerance(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::faults, |f| &f.name) {
        let note = both(&pair, |f| f.method.clone());
        let during = |f: &crate::results::Fault, v: f64, ci: Option<crate::results::Ci>| {
            if f.unaffected_during.requests == 0 {
                Side::Failed("sent no unaffected requests during the fault")
            } else {
                Side::of(v, ci)
            }
        };
        let success = |x| {
            side(x, |f: &crate::results::Fault| {
                let u = &f.unaffected_during;
                during(
                    f,
                    u.success_rate * 100.0,
                    u.success_ci.map(|c| c.scaled(100.0)),
                )
            })
        };
        out.push(decide(
            Spec {
                metric: "fault tolerance",
                measure: format!(
                    "success of unaffected operations during the fault ({})",
                    pair.name
                ),
                unit: "%",
                short: "success",
                lower_is_better: false,
                floor: 0.5,
            },
            success(pair.monolith),
            success(pair.micro),
            note.clone(),
        ));
        let p99 = |x| {
            side(x, |f: &crate::results::Fault| {
                let u = &f.unaffected_during;
                during(f, ms(u.p99_us), u.p99_ci.map(|c| c.scaled(1e-3)))
            })
        };
        out.push(decide(
            Spec {
                metric: "fault tolerance",
                measure: format!(
                    "p99 of unaffected operations during the fault ({})",
                    pair.name
                ),
                unit: "ms",
                short: "p99",
                lower_is_better: true,
                floor: 0.1,
            },
            p99(pair.monolith),
            p99(pair.micro),
            String::new(),
        ));
        let recovery = |x| {
            side(x, |f: &crate::results::Fault| {
                f.recovery_s
                    .map_or(Side::Failed("never recovered within the run"), |r| {
                        Side::of(r, f.recovery.as_ref().and_then(|x| x.ci))
                    })
            })
        };
        out.push(decide(
            Spec {
                metric: "fault tolerance",
                measure: format!("recovery after the fault ({})", pair.name),
                unit: "s",
                short: "recovery time",
                lower_is_better: true,
                // Timed from the request log to the request (v2); v1's 0.5 s buckets could
                // not tell apart less than a second.
                floor: if pair
                    .monolith
                    .or(pair.micro)
                    .is_some_and(|f| !f.cycles.is_empty())
                {
                    0.01
                } else {
                    1.0
                },
            },
            recovery(pair.monolith),
            recovery(pair.micro),
            String::new(),
        ));
    }
    for pair in pairs(runs, pick::noisy, |n| &n.name) {
        let s = |x| {
            side(x, |n: &crate::results::NoisyNeighbour| {
                Side::of(n.p99_ratio, n.p99_ratio_ci)
            })
        };
        out.push(decide(
            Spec {
                metric: "fault tolerance",
                measure: format!("p99 beside heavy analytics ÷ p99 alone ({})", pair.name),
                unit: "×",
                short: "p99 inflation",
                lower_is_better: true,
                floor: 0.05,
            },
            s(pair.monolith),
            s(pair.micro),
            both(&pair, |n| {
                format!("neighbour ran {}", format::rps(n.neighbour_rps))
            }),
        ));
    }
    out
}

/// The point with the most replicas.
pub(crate) fn largest(s: &Scale) -> Option<&ScalePoint> {
    s.points.iter().max_by_key(|p| p.replicas)
}

pub(super) fn scalability(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::scales, |s| &s.name) {
        let s = |x: Option<&Scale>| {
            side(x, |s| {
                largest(s).map_or(Side::Failed("no scale point"), |p| {
                    Side::Value(p.efficiency)
                })
            })
        };
        let mut note = both(&pair, |s| match largest(s) {
            Some(p) => format!(
                "{} × {} at {} CPU each: {}{}",
                p.replicas,
                s.service,
                s.cpus_per_replica,
                format::rps(p.throughput_rps),
                s.path
                    .as_ref()
                    .map_or(String::new(), |path| format!(" ({path})"))
            ),
            None => "no points".to_owned(),
        });
        if pair.monolith.is_none() {
            note.push_str("; the monolith scales only as a whole (every module together)");
        }
        let n = pick::ARCHS
            .iter()
            .filter_map(|&a| pair.get(a).and_then(largest).map(|p| p.replicas))
            .max()
            .unwrap_or(0);
        out.push(decide(
            Spec {
                metric: "scalability",
                measure: format!("scaling efficiency at {n} replicas ({})", pair.name),
                unit: "",
                short: "efficiency",
                lower_is_better: false,
                floor: 0.05,
            },
            s(pair.monolith),
            s(pair.micro),
            note,
        ));
    }
    out
}

pub(super) fn deployment(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::deploys, |d| &d.name) {
        let note = both(&pair, |d| {
            let given = if d.replicas > 1 {
                format!(
                    "{} restart of {} ({} replicas)",
                    d.mode, d.service, d.replicas
                )
            } else if d.service == "monolith" {
                // The old row: the one process restarts, nothing serves meanwhile.
                format!("{} of the whole monolith (one process)", d.mode)
            } else {
                format!("{} of {}", d.mode, d.service)
            };
            match &d.path {
                Some(path) => format!("{given}; {path}"),
                None => given,
            }
        });
        let healthy = |x| {
            side(x, |d: &crate::results::Deploy| match &d.healthy {
                Some(h) => Side::of(h.mean, h.ci),
                None => Side::Value(d.time_to_healthy_s),
            })
        };
        out.push(decide(
            Spec {
                metric: "deployment",
                measure: format!("time to healthy ({})", pair.name),
                unit: "s",
                short: "time to healthy",
                lower_is_better: true,
                floor: 0.02,
            },
            healthy(pair.monolith),
            healthy(pair.micro),
            note,
        ));
        let failed = |x| {
            side(x, |d: &crate::results::Deploy| match &d.failed {
                Some(f) => Side::of(f.mean, f.ci),
                None => Side::Value(d.failed_during as f64),
            })
        };
        out.push(decide(
            Spec {
                metric: "deployment",
                measure: format!("requests failed during the redeploy ({})", pair.name),
                unit: "requests",
                short: "failed requests",
                lower_is_better: true,
                floor: 0.0,
            },
            failed(pair.monolith),
            failed(pair.micro),
            String::new(),
        ));
    }
    out
}
