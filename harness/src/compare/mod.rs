//! `crm-bench compare BASE CURRENT`: per-metric deltas between two results.json, and a
//! regression verdict that stays quiet about noise.
//!
//! # Rules
//! - A sample is one run of one point (a sweep's rate, a scale step, a journeys run): its
//!   achieved throughput, corrected p50 and p99, error rate, and CPU-ms per request. The
//!   scenario's `repeats` give several samples per point ([`SweepPoint::repeats`]).
//! - Throughput, p50, p99 and CPU: the ratio current/base of geometric means with a 95%
//!   confidence interval (Welch's t interval on the logarithms). Error rate: the difference
//!   of means with Welch's 95% interval, in percentage points.
//! - A **regression** is a metric whose *whole* interval lies beyond its tolerance in the bad
//!   direction ([`Tolerances`]; defaults sized for a noisy shared 2-core machine). An
//!   improvement likewise in the good direction (reported, never failing).
//! - With fewer than two samples on either side there is no interval: one sample cannot
//!   separate a change from noise, so the delta is shown and never fails.
//! - **Machine speed**: when both results carry a machine-speed reference
//!   ([`Calibration`], measured in each run on the SUT's CPU), the current run's latency
//!   samples are multiplied by the speed ratio current/base before comparing, so a slower
//!   (or busier) machine is not taken for slower code; the raw change is shown beside the
//!   adjusted one. CPU time per request (which leaves out stolen time), throughput at a fixed
//!   offered rate and the error rate are compared as measured. `--raw` compares every figure
//!   as measured.
//!
//! [`Calibration`]: crate::results::Calibration
//! - Exit codes: [`OK`] no regression, [`REGRESSION`] one or more (listed), [`INPUT_ERROR`]
//!   a missing or malformed file, another schema, or nothing comparable.
//!
//! [`SweepPoint::repeats`]: crate::results::SweepPoint::repeats

mod metric;
mod samples;
mod stats;
mod table;

use std::path::{Path, PathBuf};

use crate::report;
use crate::results::Results;

pub use metric::{Metric, Tolerances};
pub use samples::Series;

/// Exit code: no regression.
pub const OK: i32 = 0;
/// Exit code: at least one regression beyond the noise.
pub const REGRESSION: i32 = 1;
/// Exit code: bad input (missing file, malformed, another schema, nothing comparable).
pub const INPUT_ERROR: i32 = 2;

/// How a metric moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The whole interval lies beyond the tolerance, the bad way.
    Regression,
    /// The whole interval lies beyond the tolerance, the good way.
    Improvement,
    /// The interval reaches inside the tolerance.
    WithinNoise,
    /// Fewer than two samples on a side: no interval, never a regression.
    SingleSample,
    OnlyInBase,
    OnlyInCurrent,
}

/// One metric at one point, base against current.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub key: String,
    pub metric: Metric,
    pub base: Vec<f64>,
    pub current: Vec<f64>,
    /// Ratio current/base (geometric means), or the difference of means for the error rate;
    /// `None` when a side is missing.
    pub change: Option<f64>,
    /// The change's 95% interval, when both sides have two samples or more.
    pub interval: Option<(f64, f64)>,
    /// The change as measured, when `change` was adjusted for the machines' speed.
    pub raw_change: Option<f64>,
    pub status: Status,
}

/// Every delta of two results.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub deltas: Vec<Delta>,
    pub tolerances: Tolerances,
    /// Speed of the current run's machine relative to the base's (their references'
    /// ratio), when both have one.
    pub speed_ratio: Option<f64>,
    /// Whether latency and CPU figures were adjusted by `speed_ratio`.
    pub adjusted: bool,
    /// Which side lacked a machine-speed reference, if one did.
    pub uncalibrated: Option<&'static str>,
    /// How many base runs were pooled.
    pub base_runs: usize,
    /// CPU steal during the runs: the base runs' mean and the current run's, when measured.
    pub steal: (Option<f64>, Option<f64>),
    /// The CRM build profiles (base, current) when they differ.
    pub profiles_differ: Option<(String, String)>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &Delta> {
        self.deltas
            .iter()
            .filter(|d| d.status == Status::Regression)
    }

    /// Some metric was measured on both sides.
    pub fn comparable(&self) -> bool {
        self.deltas.iter().any(|d| d.change.is_some())
    }

    /// [`REGRESSION`] if any, else [`OK`].
    pub fn exit_code(&self) -> i32 {
        if self.regressions().next().is_some() {
            REGRESSION
        } else {
            OK
        }
    }

    /// A plain-text table and summary (for a terminal or a CI log).
    pub fn to_text(&self) -> String {
        table::text(self)
    }

    /// The same as a markdown table (for a PR comment).
    pub fn to_markdown(&self) -> String {
        table::markdown(self)
    }
}

/// Compares every metric of `current` with the same metric at the same point of the base
/// runs (their samples pooled); with `adjust`, latency and CPU figures are first put in the
/// units of the base machine's speed (the geometric mean of the base runs' references).
pub fn compare(
    bases: &[Results],
    current: &Results,
    tolerances: &Tolerances,
    adjust: bool,
) -> Comparison {
    let speed = |r: &Results| r.machine.calibration.as_ref().and_then(|c| c.speed());
    let base_speeds: Option<Vec<f64>> = bases.iter().map(speed).collect();
    let sb = base_speeds
        .filter(|v| !v.is_empty())
        .map(|v| geometric_mean(&v));
    let sc = speed(current);
    let speed_ratio = sb.zip(sc).map(|(b, c)| c / b);
    let uncalibrated = match (sb, sc) {
        (None, None) => Some("either side"),
        (None, Some(_)) => Some("the base"),
        (Some(_), None) => Some("the current run"),
        _ => None,
    };
    let adjusting = adjust && speed_ratio.is_some();
    // A run's figures in the base machine's units: times its speed over the base's.
    let factor = |s: Option<f64>| match (adjusting, s, sb) {
        (true, Some(s), Some(b)) => s / b,
        _ => 1.0,
    };
    let (mut b_raw, mut b_adj) = (Vec::new(), Vec::new());
    for r in bases {
        let series = samples::collect(r);
        pool(&mut b_adj, scaled(series.clone(), factor(speed(r))));
        pool(&mut b_raw, series);
    }
    let c_raw = samples::collect(current);
    let c_adj = scaled(c_raw.clone(), factor(sc));
    let find = |v: &[Series], s: &Series| {
        v.iter()
            .position(|x| x.key == s.key && x.metric == s.metric)
    };
    let mut deltas = Vec::new();
    for (i, s) in b_adj.iter().enumerate() {
        let d = match find(&c_adj, s) {
            Some(j) => {
                let raw =
                    (adjusting && s.metric.scales_with_speed()).then(|| (&b_raw[i], &c_raw[j]));
                delta(s, &c_adj[j], raw, tolerances)
            }
            None => Delta {
                key: s.key.clone(),
                metric: s.metric,
                base: b_raw[i].values.clone(),
                current: Vec::new(),
                change: None,
                interval: None,
                raw_change: None,
                status: Status::OnlyInBase,
            },
        };
        deltas.push(d);
    }
    for s in &c_raw {
        if find(&b_raw, s).is_none() {
            deltas.push(Delta {
                key: s.key.clone(),
                metric: s.metric,
                base: Vec::new(),
                current: s.values.clone(),
                change: None,
                interval: None,
                raw_change: None,
                status: Status::OnlyInCurrent,
            });
        }
    }
    Comparison {
        deltas,
        tolerances: tolerances.clone(),
        speed_ratio,
        adjusted: adjusting,
        uncalibrated,
        base_runs: bases.len(),
        steal: (
            bases
                .iter()
                .map(|b| b.machine.cpu_steal)
                .collect::<Option<Vec<f64>>>()
                .filter(|v| !v.is_empty())
                .map(|v| stats::mean(&v)),
            current.machine.cpu_steal,
        ),
        profiles_differ: bases
            .iter()
            .find(|b| b.machine.build_profile != current.machine.build_profile)
            .map(|b| {
                (
                    b.machine.build_profile.clone(),
                    current.machine.build_profile.clone(),
                )
            }),
    }
}

/// Adds `from`'s samples to the series of the same point and metric in `into`.
fn pool(into: &mut Vec<Series>, from: Vec<Series>) {
    for s in from {
        match into
            .iter_mut()
            .find(|x| x.key == s.key && x.metric == s.metric)
        {
            Some(x) => x.values.extend(s.values),
            None => into.push(s),
        }
    }
}

/// `series` with its speed-dependent values multiplied by `k`.
fn scaled(mut series: Vec<Series>, k: f64) -> Vec<Series> {
    for s in series.iter_mut().filter(|s| s.metric.scales_with_speed()) {
        for v in &mut s.values {
            *v *= k;
        }
    }
    series
}

fn geometric_mean(xs: &[f64]) -> f64 {
    stats::mean(&xs.iter().map(|x| x.max(1e-9).ln()).collect::<Vec<_>>()).exp()
}

/// One metric's delta from the compared samples `base` and `current` (adjusted for the
/// machines when `raw` holds the samples as measured, which the table then shows).
fn delta(
    base: &Series,
    current: &Series,
    raw: Option<(&Series, &Series)>,
    tol: &Tolerances,
) -> Delta {
    let m = base.metric;
    let (b, c) = (&base.values, &current.values);
    let (change, interval) = if m.absolute() {
        (
            stats::mean(c) - stats::mean(b),
            stats::welch(b, c).map(|i| (i.lo, i.hi)),
        )
    } else {
        (
            geometric_mean(c) / geometric_mean(b),
            stats::ratio(b, c).map(|i| (i.lo, i.hi)),
        )
    };
    let status = match interval {
        None => Status::SingleSample,
        Some((lo, hi)) => classify(m, lo, hi, tol.get(m)),
    };
    let (shown_b, shown_c) = raw.unwrap_or((base, current));
    Delta {
        key: base.key.clone(),
        metric: m,
        base: shown_b.values.clone(),
        current: shown_c.values.clone(),
        change: Some(change),
        interval,
        raw_change: raw.map(|(rb, rc)| geometric_mean(&rc.values) / geometric_mean(&rb.values)),
        status,
    }
}

/// Regression or improvement only when the whole interval `[lo, hi]` is past the tolerance.
fn classify(m: Metric, lo: f64, hi: f64, tol: f64) -> Status {
    let (worse, better) = if m.absolute() {
        (lo > tol, hi < -tol)
    } else if m.lower_is_better() {
        (lo > 1.0 + tol, hi < 1.0 / (1.0 + tol))
    } else {
        (hi < 1.0 - tol, lo > 1.0 / (1.0 - tol).max(1e-9))
    };
    if worse {
        Status::Regression
    } else if better {
        Status::Improvement
    } else {
        Status::WithinNoise
    }
}

/// The command: loads every file, prints the comparison (markdown if asked) and returns the
/// exit code; input problems go to stderr with [`INPUT_ERROR`].
pub fn main(
    bases: &[PathBuf],
    current: &Path,
    tolerances: &Tolerances,
    markdown: bool,
    raw: bool,
) -> i32 {
    let loaded: Result<Vec<Results>, _> = bases
        .iter()
        .map(|p| report::load(p))
        .chain(std::iter::once(report::load(current)))
        .collect();
    let mut all = match loaded {
        Ok(all) => all,
        Err(e) => {
            eprintln!("crm-bench compare: {e}");
            return INPUT_ERROR;
        }
    };
    let c = all.pop().expect("the current run was loaded");
    let cmp = compare(&all, &c, tolerances, !raw);
    if !cmp.comparable() {
        eprintln!(
            "crm-bench compare: nothing comparable: no point of {} was measured in {} (same \
             architecture, experiment name and rate)",
            report::results_path(current).display(),
            bases
                .iter()
                .map(|b| report::results_path(b).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return INPUT_ERROR;
    }
    print!(
        "{}",
        if markdown {
            cmp.to_markdown()
        } else {
            cmp.to_text()
        }
    );
    cmp.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_interval_wholly_past_the_tolerance_is_a_regression() {
        // p99 tolerance +50%: [1.4, 1.7] reaches inside it, [1.6, 1.7] does not.
        assert_eq!(classify(Metric::P99, 1.4, 1.7, 0.5), Status::WithinNoise);
        assert_eq!(classify(Metric::P99, 1.6, 1.7, 0.5), Status::Regression);
        // Throughput tolerance −25%: the whole interval must lie below 0.75.
        assert_eq!(
            classify(Metric::Throughput, 0.6, 0.8, 0.25),
            Status::WithinNoise
        );
        assert_eq!(
            classify(Metric::Throughput, 0.6, 0.7, 0.25),
            Status::Regression
        );
        assert_eq!(
            classify(Metric::Throughput, 1.4, 1.5, 0.25),
            Status::Improvement
        );
        // Error rate: percentage points.
        assert_eq!(
            classify(Metric::ErrorRate, 0.02, 0.03, 0.01),
            Status::Regression
        );
    }
}
