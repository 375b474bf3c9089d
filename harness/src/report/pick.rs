//! Finding things in a [`Results`]: an architecture's run, its experiments of one kind, the
//! same experiment on both architectures, and the sweep rate both can be compared at.

use crate::results::{
    ArchRun, Budget, Consistency, Deploy, Experiment, Fault, Journeys, NoisyNeighbour, Resources,
    Results, Scale, Sweep, SweepPoint,
};
use crate::topology::Arch;

/// The architectures in report order.
pub(crate) const ARCHS: [Arch; 2] = [Arch::Monolith, Arch::Micro];

pub(crate) fn run(results: &Results, arch: Arch) -> Option<&ArchRun> {
    results.runs.iter().find(|r| r.arch == arch)
}

/// The run of `arch` among `runs`.
pub(crate) fn run_in(runs: &[ArchRun], arch: Arch) -> Option<&ArchRun> {
    runs.iter().find(|r| r.arch == arch)
}

macro_rules! of_kind {
    ($fn:ident, $variant:ident, $ty:ty) => {
        /// The run's experiments of this kind, in order.
        pub(crate) fn $fn(run: &ArchRun) -> Vec<&$ty> {
            run.experiments
                .iter()
                .filter_map(|e| match e {
                    Experiment::$variant(x) => Some(x),
                    _ => None,
                })
                .collect()
        }
    };
}

of_kind!(sweeps, Sweep, Sweep);
of_kind!(faults, Fault, Fault);
of_kind!(deploys, Deploy, Deploy);
of_kind!(scales, Scale, Scale);
of_kind!(budgets, Budget, Budget);
of_kind!(noisy, NoisyNeighbour, NoisyNeighbour);
of_kind!(consistency, Consistency, Consistency);
of_kind!(resources, Resources, Resources);
of_kind!(journeys, Journeys, Journeys);

/// An experiment by name on each architecture.
pub(crate) struct Pair<'a, T> {
    pub(crate) name: String,
    pub(crate) monolith: Option<&'a T>,
    pub(crate) micro: Option<&'a T>,
}

impl<'a, T> Pair<'a, T> {
    pub(crate) fn get(&self, arch: Arch) -> Option<&'a T> {
        match arch {
            Arch::Monolith => self.monolith,
            Arch::Micro => self.micro,
        }
    }
}

/// The experiments of one kind on both architectures, matched by name (the scenario names
/// an experiment once and runs it on each architecture); names in first-seen order.
pub(crate) fn pairs<'a, T>(
    runs: &'a [ArchRun],
    of: fn(&'a ArchRun) -> Vec<&'a T>,
    name: fn(&T) -> &str,
) -> Vec<Pair<'a, T>> {
    let mono = run_in(runs, Arch::Monolith).map(of).unwrap_or_default();
    let micro = run_in(runs, Arch::Micro).map(of).unwrap_or_default();
    let mut out: Vec<Pair<'a, T>> = Vec::new();
    for x in mono.iter().chain(micro.iter()) {
        let n = name(x);
        if out.iter().any(|p| p.name == n) {
            continue;
        }
        out.push(Pair {
            name: n.to_owned(),
            monolith: mono.iter().copied().find(|m| name(m) == n),
            micro: micro.iter().copied().find(|m| name(m) == n),
        });
    }
    out
}

/// Two offered rates are the same step of a sweep when within 1%.
pub(crate) fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.01 * a.abs().max(b.abs())
}

/// The rate two sweeps are compared at.
pub(crate) struct Common<'a> {
    pub(crate) rate: f64,
    pub(crate) monolith: &'a SweepPoint,
    pub(crate) micro: &'a SweepPoint,
    /// Both met the SLO there (otherwise no common rate met it on both, and this is the
    /// lowest common rate).
    pub(crate) both_met: bool,
}

/// The highest offered rate both sweeps ran and both met the SLO at; failing that, the
/// lowest rate both ran.
pub(crate) fn common_point<'a>(mono: &'a Sweep, micro: &'a Sweep) -> Option<Common<'a>> {
    let mut common: Vec<(&SweepPoint, &SweepPoint)> = mono
        .points
        .iter()
        .filter_map(|m| {
            micro
                .points
                .iter()
                .find(|u| same_rate(m.offered_rps, u.offered_rps))
                .map(|u| (m, u))
        })
        .collect();
    common.sort_by(|a, b| a.0.offered_rps.total_cmp(&b.0.offered_rps));
    let met = common
        .iter()
        .rev()
        .find(|(m, u)| m.meets_slo && u.meets_slo);
    let (pick, both_met) = match met {
        Some(p) => (*p, true),
        None => (*common.first()?, false),
    };
    Some(Common {
        rate: pick.0.offered_rps,
        monolith: pick.0,
        micro: pick.1,
        both_met,
    })
}

/// The highest-rate point of a sweep that met the SLO, else its lowest-rate point.
pub(crate) fn best_point(sweep: &Sweep) -> Option<&SweepPoint> {
    let by_rate = |a: &&SweepPoint, b: &&SweepPoint| a.offered_rps.total_cmp(&b.offered_rps);
    sweep
        .points
        .iter()
        .filter(|p| p.meets_slo)
        .max_by(by_rate)
        .or_else(|| sweep.points.iter().min_by(by_rate))
}

/// The highest-rate point of a sweep.
pub(crate) fn top_point(sweep: &Sweep) -> Option<&SweepPoint> {
    sweep
        .points
        .iter()
        .max_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps))
}
