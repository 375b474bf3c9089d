//! The verdict table: per paper metric, which architecture did better and by how much,
//! derived from the experiments present by the rules in [`RULES`].

mod budget;
mod events;
mod rows;

use crate::results::{ArchRun, Ci, Verdict};
use crate::topology::Arch;

use super::format;
use super::style::arch_label;

/// A difference within this fraction of the larger value is a tie (single runs on a shared
/// 2-core machine move by about this much from one run to the next).
pub const NOISE_BAND: f64 = 0.10;

/// How verdicts are decided, in words; the report prints these in its footer.
pub const RULES: &[&str] = &[
    "Response time: p99 and p50 (corrected for coordinated omission) of each sweep at the \
     highest offered rate at which both architectures met the SLO; if no common rate met it \
     on both, at the lowest rate both ran (noted). Lower wins.",
    "Throughput: the highest offered rate whose point met the SLO (p99 and error rate), per \
     sweep; an architecture that met it at no tested rate loses to one that did. Closed-loop \
     journeys: journeys completed per second with the same number of users. Higher wins.",
    "Fault tolerance: per fault, the success rate of the operations that do not need the \
     broken part during the fault (higher wins), their p99 during the fault (lower wins), and \
     the time until the affected operations succeed again after it ends (lower wins; never \
     recovering within the run loses). Noisy neighbour: interactive p99 beside heavy \
     analytics divided by p99 alone (lower wins).",
    "Resource use: CPU milliseconds per request and the sum of every instance's peak RSS over \
     the resources experiment (lower wins); cores needed at a rate, when both were measured at \
     the same rate. Equal budget: both get the same total CPU of the system under test \
     (PostgreSQL and NATS included), split by cgroup quotas by measured demand; the max rate \
     under the SLO per CPU (higher wins, judged by the knee's interval) and the cores needed \
     for the configured rate, interpolated linearly between the budgets measured (lower \
     wins; none when outside them).",
    "Scalability: scaling efficiency thr(N) / (N · thr(1)) at the largest N measured (higher \
     wins). The microservices replicate one service behind the gateway; the monolith scales \
     only as a whole: N monolith replicas behind its balancer (the gateway in balancer mode), \
     the same CPU quota per replica and the same requests. Reports from before monolith \
     replicas have no monolith figure, hence no winner.",
    "Deployment: per redeploy, the time from the stop signal until healthy again and the \
     requests that failed meanwhile (lower wins). `rolling` with N replicas: both sides roll \
     replica by replica, each drained from the gateway or the monolith's balancer first; \
     `restart` of the monolith: its one process restarts whole (nothing serves meanwhile).",
    "A winner needs both sides measured. Where both figures carry a 95% confidence interval \
     (percentiles: order statistics widened by batch means over time slices of the run; \
     success rates likewise; the max rate under the SLO: the isotonic fit's band; recovery and \
     redeploy timings: Student's t over the repeated cycles), a winner is named only when \
     the two intervals do not overlap (note: \"intervals\"). Where one side has no interval, \
     a difference within the noise band (10% of the larger value, and at least 0.1 ms, \
     1 req/s, 10 ms of recovery (1 s in v1 reports), 20 ms to healthy, 0.01 CPU-ms, 2 MiB, 0.05 of efficiency or \
     ratio, 0.1 journeys/s; success rates: 0.5 percentage points) is a tie (note: \"no \
     interval\"). \"by\" compares the winner with the loser: \"N× lower/higher\" from 1.5× \
     on, otherwise a percentage of the loser's value (success rates: percentage points).",
];

/// Derives the verdict rows from the experiments in `runs`, metric by metric, by the rules
/// in [`RULES`]:
///
/// - **response time**: p99 and p50 (corrected) of each sweep at the highest offered rate
///   both architectures met the SLO at (else the lowest common rate, noted); lower wins.
/// - **throughput**: each sweep's highest rate under the SLO (meeting it at no rate loses);
///   closed-loop journeys per second at the same number of users; higher wins.
/// - **fault tolerance**: per fault, success rate (higher wins) and p99 (lower wins) of the
///   unaffected operations during the fault, and recovery time (lower wins; never recovering
///   loses); noisy neighbour p99 ratio (lower wins).
/// - **resource use**: CPU-ms per request, total peak RSS, cores at a common rate; lower wins.
///   At equal CPU budgets: max rate under the SLO per CPU (higher wins) and cores needed for
///   the configured rate (lower wins).
/// - **scalability**: efficiency at the largest N; the monolith replicates as a whole behind
///   its balancer (older reports have no monolith figure, hence no winner).
/// - **deployment**: time to healthy and failed requests per redeploy; lower wins.
///
/// A winner needs both sides measured. With an interval on both sides, a winner only when
/// the intervals are disjoint; otherwise a difference within [`NOISE_BAND`] of the larger
/// value (or under the unit's floor; success rates: 0.5 percentage points) is a tie.
pub fn verdicts(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    out.extend(rows::response_time(runs));
    out.extend(rows::throughput(runs));
    out.extend(events::fault_tolerance(runs));
    out.extend(rows::resource_use(runs));
    out.extend(budget::equal_budget(runs));
    out.extend(events::scalability(runs));
    out.extend(events::deployment(runs));
    out
}

/// A verdict's figure for one architecture as a table shows it: the value in its unit,
/// `not measured`, or `—` when it ran and failed outright (the note says how).
pub(crate) fn shown(v: &Verdict, arch: Arch) -> String {
    let (value, ci) = match arch {
        Arch::Monolith => (v.monolith, v.monolith_ci),
        Arch::Micro => (v.micro, v.micro_ci),
    };
    match value {
        Some(x) => match ci {
            Some(c) => format!(
                "{} [{}–{}{}]",
                format::value(x, &v.unit),
                format::bare(c.lo, &v.unit),
                format::bare(c.hi, &v.unit),
                if c.open { "+" } else { "" }
            ),
            None => format::value(x, &v.unit),
        },
        None if v
            .note
            .contains(&format!("{}: {}", arch_label(arch), format::NOT_MEASURED)) =>
        {
            format::NOT_MEASURED.to_owned()
        }
        None => "—".to_owned(),
    }
}

/// The winner as a table shows it: the architecture, `tie`, or `—` (not compared).
pub(crate) fn winner_text(v: &Verdict) -> String {
    match v.winner {
        Some(a) => arch_label(a).to_owned(),
        None if v.by.starts_with("tie") => "tie".to_owned(),
        None if v.by.starts_with(UNDECIDED) => UNDECIDED.to_owned(),
        None => "—".to_owned(),
    }
}

/// One side's figure for a verdict.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Side {
    /// The experiment did not run on this architecture.
    Missing,
    /// A figure without an interval (one measurement): judged by the noise band.
    Value(f64),
    /// A figure with its 95% interval: judged by whether the intervals separate.
    Ranged(f64, Ci),
    /// It ran and failed outright (no rate met the SLO, never recovered): loses to a value.
    Failed(&'static str),
}

impl Side {
    fn value(self) -> Option<f64> {
        match self {
            Side::Value(v) | Side::Ranged(v, _) => Some(v),
            _ => None,
        }
    }

    fn ci(self) -> Option<Ci> {
        match self {
            Side::Ranged(_, c) => Some(c),
            _ => None,
        }
    }

    /// A figure with its interval when it has one.
    pub(crate) fn of(v: f64, ci: Option<Ci>) -> Side {
        match ci {
            Some(c) => Side::Ranged(v, c),
            None => Side::Value(v),
        }
    }
}

/// What a verdict row compares.
pub(crate) struct Spec {
    pub(crate) metric: &'static str,
    pub(crate) measure: String,
    pub(crate) unit: &'static str,
    /// A short name for "by" (`p99`, `throughput`).
    pub(crate) short: &'static str,
    pub(crate) lower_is_better: bool,
    /// The smallest difference that is not noise, in `unit`.
    pub(crate) floor: f64,
}

/// A row whose intervals would separate but for a side's open upper bound: neither a tie
/// nor a winner.
const UNDECIDED: &str = "undecided";

/// Why intervals that do not separate are not a tie: one side's sits wholly below the
/// other's but is open above (too few samples to bound that percentile from above), so the
/// order is unknown rather than within noise.
fn undecided(monolith: Side, micro: Side, spec: &Spec) -> Option<String> {
    let (Some(a), Some(b)) = (monolith.ci(), micro.ci()) else {
        return None;
    };
    let closed = |c: Ci| Ci { open: false, ..c };
    if !closed(a).separated_from(&closed(b)) {
        return None;
    }
    let (arch, _) = [(Arch::Monolith, a), (Arch::Micro, b)]
        .into_iter()
        .find(|(_, c)| c.open)?;
    Some(format!(
        "{UNDECIDED}: too few samples to bound the {}'s {} from above",
        arch_label(arch),
        spec.short
    ))
}

/// Decides a row from both sides' figures.
pub(crate) fn decide(spec: Spec, monolith: Side, micro: Side, note: String) -> Verdict {
    let mut notes: Vec<String> = Vec::new();
    if !note.is_empty() {
        notes.push(note);
    }
    for (arch, side) in [(Arch::Monolith, monolith), (Arch::Micro, micro)] {
        match side {
            Side::Missing => notes.push(format!("{}: {}", arch_label(arch), format::NOT_MEASURED)),
            Side::Failed(why) => notes.push(format!("{}: {why}", arch_label(arch))),
            Side::Value(_) | Side::Ranged(..) => {}
        }
    }
    let (winner, by) = match (monolith.value(), micro.value()) {
        (Some(m), Some(u)) => {
            // Success rates near 100% differ by little in relative terms however large the
            // difference in failures: their band is absolute (percentage points).
            let band = if spec.unit == "%" {
                spec.floor
            } else {
                (NOISE_BAND * m.abs().max(u.abs())).max(spec.floor)
            };
            let tie = match (monolith.ci(), micro.ci()) {
                (Some(a), Some(b)) => {
                    notes.push("intervals".to_owned());
                    !a.separated_from(&b) || (m - u).abs() <= spec.floor
                }
                _ => {
                    notes.push("no interval: noise band".to_owned());
                    (m - u).abs() <= band
                }
            };
            if tie {
                (
                    None,
                    undecided(monolith, micro, &spec)
                        .unwrap_or_else(|| "tie (within noise)".to_owned()),
                )
            } else {
                let mono_better = (m < u) == spec.lower_is_better;
                let (w, l, arch) = if mono_better {
                    (m, u, Arch::Monolith)
                } else {
                    (u, m, Arch::Micro)
                };
                (Some(arch), by_text(w, l, &spec))
            }
        }
        _ => match (monolith, micro) {
            (Side::Value(_) | Side::Ranged(..), Side::Failed(why)) => (
                Some(Arch::Monolith),
                format!("{} {why}", arch_label(Arch::Micro)),
            ),
            (Side::Failed(why), Side::Value(_) | Side::Ranged(..)) => (
                Some(Arch::Micro),
                format!("{} {why}", arch_label(Arch::Monolith)),
            ),
            (Side::Failed(_), Side::Failed(_)) => (None, "neither".to_owned()),
            _ => (None, "n/a".to_owned()),
        },
    };
    Verdict {
        metric: spec.metric.to_owned(),
        measure: spec.measure,
        unit: spec.unit.to_owned(),
        monolith: monolith.value(),
        micro: micro.value(),
        monolith_ci: monolith.ci(),
        micro_ci: micro.ci(),
        lower_is_better: spec.lower_is_better,
        winner,
        by,
        note: notes.join("; "),
    }
}

/// `2.1× lower p99`, `35% lower p99`, `+35% throughput`, `none vs 12 requests`.
fn by_text(winner: f64, loser: f64, spec: &Spec) -> String {
    if spec.unit == "%" {
        return format!("{:+.1} pp {}", winner - loser, spec.short);
    }
    if spec.lower_is_better {
        if winner <= 0.0 {
            return format!("none vs {}", format::value(loser, spec.unit));
        }
        let r = loser / winner;
        if r >= 1.5 {
            format!("{r:.1}× lower {}", spec.short)
        } else {
            format!(
                "{:.0}% lower {}",
                (loser - winner) / loser * 100.0,
                spec.short
            )
        }
    } else {
        if loser <= 0.0 {
            return format!("{} vs none", format::value(winner, spec.unit));
        }
        let r = winner / loser;
        if r >= 1.5 {
            format!("{r:.1}× higher {}", spec.short)
        } else {
            format!("+{:.0}% {}", (winner - loser) / loser * 100.0, spec.short)
        }
    }
}

#[cfg(test)]
mod tests;
