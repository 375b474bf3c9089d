//! The verdict rows of response time, throughput and resource use (see [`super::RULES`]),
//! and the helpers every row builder shares.

use crate::results::{ArchRun, Sweep, Verdict};

use super::super::format;
use super::super::pick::{self, Pair, pairs};
use super::super::style::arch_label;
use super::{Side, Spec, decide};

pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub(super) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub(super) fn side<T>(x: Option<&T>, f: impl Fn(&T) -> Side) -> Side {
    x.map_or(Side::Missing, f)
}

/// Notes the two sides' descriptions when both ran (`monolith: …; microservices: …`).
pub(super) fn both<T>(pair: &Pair<'_, T>, f: impl Fn(&T) -> String) -> String {
    let parts: Vec<String> = pick::ARCHS
        .iter()
        .filter_map(|&a| pair.get(a).map(|x| format!("{}: {}", arch_label(a), f(x))))
        .collect();
    parts.join("; ")
}

pub(super) fn response_time(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::sweeps, |s: &Sweep| &s.name) {
        type Get = fn(&crate::results::LatencyStats) -> u64;
        let stats: [(&str, &'static str, Get); 2] =
            [("p99", "p99", |l| l.p99_us), ("p50", "p50", |l| l.p50_us)];
        let (m_pt, u_pt, at, note) = match (pair.monolith, pair.micro) {
            (Some(m), Some(u)) => match pick::common_point(m, u) {
                Some(c) => {
                    let note = if c.both_met {
                        "the highest rate both met the SLO at".to_owned()
                    } else {
                        "no common rate met the SLO on both: the lowest rate both ran".to_owned()
                    };
                    (Some(c.monolith), Some(c.micro), Some(c.rate), note)
                }
                None => (
                    None,
                    None,
                    None,
                    "the two sweeps share no offered rate".to_owned(),
                ),
            },
            (m, u) => {
                let p = m.or(u).and_then(pick::best_point);
                let (mp, up) = if m.is_some() { (p, None) } else { (None, p) };
                (mp, up, p.map(|p| p.offered_rps), String::new())
            }
        };
        for (label, short, get) in stats {
            let measure = match at {
                Some(r) => format!("{label} at {} ({})", format::rps(r), pair.name),
                None => format!("{label} ({})", pair.name),
            };
            let spec = Spec {
                metric: "response time",
                measure,
                unit: "ms",
                short,
                lower_is_better: true,
                floor: 0.1,
            };
            let ci_of = |l: &crate::results::LatencyStats| {
                let c = l.ci.as_ref()?;
                if short == "p99" { c.p99 } else { c.p50 }
            };
            let s = |p: Option<&crate::results::SweepPoint>| {
                p.map_or(Side::Missing, |p| {
                    Side::of(
                        ms(get(&p.latency)),
                        ci_of(&p.latency).map(|c| c.scaled(1e-3)),
                    )
                })
            };
            out.push(decide(spec, s(m_pt), s(u_pt), note.clone()));
        }
    }
    out
}

pub(super) fn throughput(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::sweeps, |s: &Sweep| &s.name) {
        let s = |x: Option<&Sweep>| {
            side(x, |s| {
                s.max_rate_under_slo
                    .map_or(Side::Failed("met the SLO at no tested rate"), |r| {
                        Side::of(r, s.knee.as_ref().map(|k| k.ci))
                    })
            })
        };
        let slo = |s: &Sweep| {
            format!(
                "SLO p99 ≤ {}, errors ≤ {}",
                format::us(s.slo_p99_us),
                format::pct(s.slo_max_error_rate)
            )
        };
        let slos: Vec<String> = pick::ARCHS
            .iter()
            .filter_map(|&a| pair.get(a).map(slo))
            .collect();
        let note = if slos.windows(2).all(|w| w[0] == w[1]) {
            slos.first().cloned().unwrap_or_default()
        } else {
            both(&pair, slo)
        };
        let spec = Spec {
            metric: "throughput",
            measure: format!("max rate under the SLO ({})", pair.name),
            unit: "req/s",
            short: "throughput",
            lower_is_better: false,
            floor: 1.0,
        };
        out.push(decide(spec, s(pair.monolith), s(pair.micro), note));
    }
    for pair in pairs(runs, pick::journeys, |j| &j.name) {
        let users: Vec<u32> = pick::ARCHS
            .iter()
            .filter_map(|&a| pair.get(a).map(|j| j.users))
            .collect();
        let same_users = users.windows(2).all(|w| w[0] == w[1]);
        let s = |j: Option<&crate::results::Journeys>| {
            side(j, |j| {
                if j.run.duration_s > 0.0 && same_users {
                    Side::Value(j.journeys_completed as f64 / j.run.duration_s)
                } else {
                    Side::Missing
                }
            })
        };
        let note = if same_users {
            String::new()
        } else {
            "different numbers of users: not comparable".to_owned()
        };
        let spec = Spec {
            metric: "throughput",
            measure: format!(
                "journeys per second, {} users, closed loop ({})",
                users.first().copied().unwrap_or(0),
                pair.name
            ),
            unit: "journeys/s",
            short: "journeys/s",
            lower_is_better: false,
            floor: 0.1,
        };
        out.push(decide(spec, s(pair.monolith), s(pair.micro), note));
    }
    out
}

pub(super) fn resource_use(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::resources, |r| &r.name) {
        let cpu = |x| {
            side(x, |r: &crate::results::Resources| {
                if r.requests == 0 {
                    Side::Failed("served no requests")
                } else {
                    Side::Value(r.cpu_ms_per_request)
                }
            })
        };
        out.push(decide(
            Spec {
                metric: "resource use",
                measure: format!("CPU time per request ({})", pair.name),
                unit: "CPU-ms/req",
                short: "CPU per request",
                lower_is_better: true,
                floor: 0.01,
            },
            cpu(pair.monolith),
            cpu(pair.micro),
            both(&pair, |r| plural(r.instances.len(), "instance")),
        ));
        let rss = |x| {
            side(x, |r: &crate::results::Resources| {
                Side::Value(r.total_peak_rss_bytes as f64 / (1024.0 * 1024.0))
            })
        };
        out.push(decide(
            Spec {
                metric: "resource use",
                measure: format!("peak RSS, all instances summed ({})", pair.name),
                unit: "MiB",
                short: "memory",
                lower_is_better: true,
                floor: 2.0,
            },
            rss(pair.monolith),
            rss(pair.micro),
            String::new(),
        ));
        if let (Some(m), Some(u)) = (pair.monolith, pair.micro)
            && m.at_rps > 0.0
            && pick::same_rate(m.at_rps, u.at_rps)
        {
            out.push(decide(
                Spec {
                    metric: "resource use",
                    measure: format!("cores needed at {} ({})", format::rps(m.at_rps), pair.name),
                    unit: "cores",
                    short: "cores",
                    lower_is_better: true,
                    floor: 0.05,
                },
                Side::Value(m.cores_at_rate),
                Side::Value(u.cores_at_rate),
                String::new(),
            ));
        }
    }
    out
}
