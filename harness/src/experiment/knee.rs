//! The knee: the highest rate whose p99 (and error rate) meets the SLO, found so that noise
//! cannot fool it. Apart from HTTP: a search over a [`Probe`] (`rate → observation`), which
//! the sweep implements with real load and the tests with a simulated queue.
//!
//! # Method
//! - "Meets the SLO" is a noisy observation, so no single point decides. Every observation
//!   carries its p99 with a confidence interval (and its error rate with one). Each becomes a
//!   *badness* `y = max(ln(p99 / SLO p99), ln(errors / SLO errors))` — `y ≤ 0` meets the SLO —
//!   with a lower and an upper bound from the intervals.
//! - The badness is fitted against the rate by **isotonic regression** (pool-adjacent-
//!   violators, weighted by each observation's precision): the only shape assumed is that a
//!   system does not get faster when it is offered more. A lucky point above the knee or an
//!   unlucky one below it is pooled with its neighbours instead of moving the answer.
//! - The knee is where the fit crosses zero (linear between rates). Its interval needs no
//!   shape beyond monotony: from the highest rate *shown* to meet the SLO (the monotone fit
//!   of the upper bounds is under it) to the lowest rate shown to miss it (the fit of the
//!   lower bounds is over it). A rate whose interval straddles the SLO decides nothing; the
//!   bounds are taken at 99% for these decisions ([`DECISION_Z`]), as the interval rests on
//!   several of them at once.
//! - **Repeat near the boundary**: the search brackets the knee (halving or doubling from
//!   what it has), then bisects the undecided interval until it is within the target or the
//!   budget is spent. A probe that cannot decide is repeated at the same rate next time (the
//!   interval has not moved), and observations at one rate pool until it decides.

use std::future::Future;

/// How many standard errors a rate's bound must clear for the rate to count as shown to
/// meet or miss the SLO. The knee's interval rests on every such decision at once, so each is
/// taken at 99% (two-sided) rather than the points' 95%: Bonferroni over the five or so rates
/// a search probes near the knee keeps the whole interval's error under 5%.
const DECISION_Z: f64 = 2.58;

/// What one probe at one rate saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// The offered rate.
    pub rate: f64,
    /// p99 and its interval, µs (`p99_hi_us` infinite when open above).
    pub p99_us: f64,
    pub p99_lo_us: f64,
    pub p99_hi_us: f64,
    /// Error rate and its interval.
    pub errors: f64,
    pub errors_lo: f64,
    pub errors_hi: f64,
}

impl Observation {
    /// What a measured run (with its intervals, see `experiment::intervals`) tells the
    /// search about `rate`.
    pub fn of(rate: f64, run: &crate::results::LoadRun) -> Observation {
        let p99 = run.total.corrected.p99_us as f64;
        let ci = run.total.corrected.ci.as_ref().and_then(|c| c.p99);
        let errors = if run.requests == 0 {
            0.0
        } else {
            run.failed as f64 / run.requests as f64
        };
        let errors_ci = run.point.as_ref().and_then(|i| i.errors_ci);
        Observation {
            rate,
            p99_us: p99,
            p99_lo_us: ci.map_or(p99, |c| c.lo),
            p99_hi_us: ci.map_or(p99, |c| if c.open { f64::INFINITY } else { c.hi }),
            errors,
            errors_lo: errors_ci.map_or(errors, |c| c.lo),
            errors_hi: errors_ci.map_or(errors, |c| c.hi),
        }
    }
}

/// The service-level objective.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    pub p99_us: f64,
    pub max_error_rate: f64,
}

/// The knee estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knee {
    /// Highest rate under the SLO; `None` when even the lowest probed rate missed it.
    pub rate: Option<f64>,
    /// Its interval. `lo` 0 when the lowest rate could not be shown to meet the SLO;
    /// `hi_open` when the highest probed rate could not be shown to miss it.
    pub lo: f64,
    pub hi: f64,
    pub hi_open: bool,
}

/// Something that can be loaded at a rate and observed.
pub trait Probe {
    fn probe(&mut self, rate: f64) -> impl Future<Output = anyhow::Result<Observation>> + Send;
}

/// Where to search and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub low: f64,
    pub high: f64,
    /// Probes at most.
    pub budget: u32,
    /// Stop once the knee's interval is within ± this fraction of it.
    pub precision: f64,
}

/// Runs the search from `prior` observations (the sweep's fixed rates); returns the knee
/// and every observation, the prior ones first.
pub async fn search<P: Probe>(
    probe: &mut P,
    slo: Slo,
    s: Search,
    prior: Vec<Observation>,
) -> anyhow::Result<(Knee, Vec<Observation>)> {
    let mut obs = prior;
    for _ in 0..s.budget {
        let Some(rate) = next_rate(&obs, slo, &s) else {
            break;
        };
        obs.push(probe.probe(rate).await?);
    }
    Ok((estimate(&obs, slo), obs))
}

/// The next rate to probe, or `None` when done.
fn next_rate(obs: &[Observation], slo: Slo, s: &Search) -> Option<f64> {
    let round = |r: f64| r.clamp(s.low, s.high).round().max(1.0);
    if obs.is_empty() {
        return Some(round((s.low * s.high).sqrt()));
    }
    let k = estimate(obs, slo);
    let min = obs.iter().map(|o| o.rate).fold(f64::INFINITY, f64::min);
    let max = obs.iter().map(|o| o.rate).fold(0.0, f64::max);
    match k.rate {
        // Not even the lowest rate met it: halve, down to the search's low end.
        None if min > s.low * 1.01 => Some(round(min / 2.0)),
        None => None,
        // No rate was shown to miss it: double, up to the high end.
        Some(_) if k.hi_open && max < s.high * 0.99 => Some(round(max * 2.0)),
        Some(r) => {
            if k.hi - k.lo <= 2.0 * s.precision * r {
                return None;
            }
            // Bisect what is still undecided; a rate whose interval straddles the SLO is
            // probed again there, and the repeats pool until it is decided.
            Some(round((k.lo.max(s.low) + k.hi) / 2.0))
        }
    }
}

/// The badness of an observation and its bounds (`y ≤ 0`: meets the SLO).
fn badness(o: &Observation, slo: Slo) -> (f64, f64, f64) {
    const CAP: f64 = 50.0;
    let ln = |x: f64, limit: f64| (x.max(1e-12) / limit).ln().clamp(-CAP, CAP);
    let err = |x: f64| ln(x.max(1e-9), slo.max_error_rate.max(1e-9));
    (
        ln(o.p99_us, slo.p99_us).max(err(o.errors)),
        ln(o.p99_lo_us, slo.p99_us).max(err(o.errors_lo)),
        ln(o.p99_hi_us, slo.p99_us).max(err(o.errors_hi)),
    )
}

/// The knee from the observations so far (see the module's method).
pub fn estimate(obs: &[Observation], slo: Slo) -> Knee {
    // Each observation's estimate with a standard error per side (its interval's bounds
    // read as 1.96 standard errors away): a stalled point's low bound is far below its
    // estimate, so it weighs little when deciding that a rate misses the SLO.
    let mut pts: Vec<(f64, f64, f64, f64)> = obs
        .iter()
        .map(|o| {
            let (y, lo, hi) = badness(o, slo);
            let se = |d: f64| (d / 1.96).max(0.01);
            (o.rate, y, se(y - lo), se(hi - y))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Observations at one rate (within 1%) pool, side by side, by inverse variance: the low
    // bound from the estimates weighted by their low-side errors, the high bound likewise,
    // so repeats narrow both (by √n for equal ones) and decide a rate.
    let mut groups: Vec<(f64, [(f64, f64); 3])> = Vec::new(); // rate, per fit (Σw, Σwy)
    for (rate, y, s_lo, s_hi) in pts {
        let ws = [
            1.0 / ((s_lo + s_hi) / 2.0).powi(2),
            1.0 / s_lo.powi(2),
            1.0 / s_hi.powi(2),
        ];
        let same = groups
            .last()
            .is_some_and(|g| (rate - g.0).abs() <= 0.01 * rate.max(g.0));
        if !same {
            groups.push((rate, [(0.0, 0.0); 3]));
        }
        let g = groups.last_mut().expect("just pushed");
        for (acc, w) in g.1.iter_mut().zip(ws) {
            acc.0 += w;
            acc.1 += w * y;
        }
    }
    let rates: Vec<f64> = groups.iter().map(|g| g.0).collect();
    // Fit 0: the estimate; 1: the low bound; 2: the high bound.
    let fit = |j: usize| {
        let sign = [0.0, -DECISION_Z, DECISION_Z][j];
        let ys: Vec<f64> = groups
            .iter()
            .map(|g| {
                let (w, wy) = g.1[j];
                wy / w + sign / w.sqrt()
            })
            .collect();
        let ws: Vec<f64> = groups.iter().map(|g| g.1[j].0).collect();
        isotonic(&ys, &ws)
    };
    let (mid, lower, upper) = (fit(0), fit(1), fit(2));
    // The interval needs no shape beyond monotony: the knee lies above the highest rate
    // shown to meet the SLO (its upper bound under it) and below the lowest rate shown to
    // miss it (its lower bound over it).
    let lo = rates
        .iter()
        .zip(&upper)
        .filter(|(_, y)| **y <= 0.0)
        .map(|(r, _)| *r)
        .fold(0.0, f64::max);
    let shown_to_miss = rates.iter().zip(&lower).find(|(_, y)| **y > 0.0);
    let max = rates.last().copied().unwrap_or(0.0);
    let hi_open = shown_to_miss.is_none();
    let hi = shown_to_miss.map_or(max, |(r, _)| *r);
    let rate = crossing(&rates, &mid).map(|r| r.clamp(lo.min(hi), hi));
    Knee {
        rate,
        lo: lo.min(hi),
        hi,
        hi_open,
    }
}

/// The highest rate at which the (non-decreasing) fitted badness is ≤ 0: linear between the
/// last rate at or under zero and the first above; the highest rate when none is above;
/// `None` when the first is already above.
fn crossing(rates: &[f64], fitted: &[f64]) -> Option<f64> {
    let first_above = fitted.iter().position(|y| *y > 0.0);
    match first_above {
        None => rates.last().copied(),
        Some(0) => None,
        Some(i) => {
            let (r0, r1, y0, y1) = (rates[i - 1], rates[i], fitted[i - 1], fitted[i]);
            if y1 - y0 <= 0.0 {
                Some(r0)
            } else {
                Some(r0 + (0.0 - y0) * (r1 - r0) / (y1 - y0))
            }
        }
    }
}

/// Weighted isotonic (non-decreasing) regression by pool-adjacent-violators.
pub fn isotonic(ys: &[f64], ws: &[f64]) -> Vec<f64> {
    // Blocks of (mean, weight, length).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(ys.len());
    for (&y, &w) in ys.iter().zip(ws) {
        blocks.push((y, w, 1));
        while blocks.len() > 1 {
            let n = blocks.len();
            let (m1, w1, l1) = blocks[n - 2];
            let (m2, w2, l2) = blocks[n - 1];
            if m1 <= m2 {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, l1 + l2));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(m, _, l)| std::iter::repeat_n(m, l))
        .collect()
}

#[cfg(test)]
mod tests;
