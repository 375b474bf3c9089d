//! Background CPU per process: what a process burns outside any request span (health
//! checks, pollers, outbox relays, metrics sampling). The trees know only the work per
//! request, so a process's measured CPU per request falls as the rate rises (the background
//! is spread over more requests) while the model's stays flat. Per process, from the
//! held-in points only: its measured CPU rate less the trees' demand per request × the
//! achieved rate, floored at 0; with two or more held-in points at different rates, the
//! least-squares line CPU = a + b·X instead, whose intercept `a` is the background. Both
//! are recorded (the calibration file's header, the report's demand table); the calibration
//! gets the background per replica (`processes.NAME.background`, cores).

use std::collections::{BTreeMap, BTreeSet};

use crm_sim::input::calibration::Architecture;

use super::calibrate::Traced;
use super::demand::process_of;
use crate::results::model::{Background, DemandCheck};

/// One held-in point as one process's utilisation law sees it.
struct Sample {
    /// Achieved requests per second.
    x: f64,
    /// CPU seconds per second over the whole run (warm-up included, as sampled).
    cores: f64,
    instances: usize,
}

/// The samples of `process` at `points` (points that sampled no CPU for it are left out).
fn samples(points: &[Traced<'_>], process: &str) -> Vec<Sample> {
    points
        .iter()
        .filter_map(|p| usage(p, process))
        .map(|(x, cores, instances)| Sample {
            x,
            cores,
            instances,
        })
        .collect()
}

/// `process` at point `p`: the achieved rate, its CPU seconds per second over the whole run
/// (warm-up included, as sampled) and its instances; `None` when no CPU was sampled for it.
pub fn usage(p: &Traced<'_>, process: &str) -> Option<(f64, f64, usize)> {
    let r = p.run;
    let wall = r.warmup_s + r.duration_s;
    if r.duration_s <= 0.0 || wall <= 0.0 {
        return None;
    }
    let mine: Vec<_> = r
        .resources
        .iter()
        .filter(|u| process_of(&u.instance) == process)
        .collect();
    if mine.is_empty() {
        return None;
    }
    let instances: BTreeSet<&str> = mine.iter().map(|u| u.instance.as_str()).collect();
    Some((
        r.requests as f64 / r.duration_s,
        mine.iter().map(|u| u.cpu_s).sum::<f64>() / wall,
        instances.len(),
    ))
}

/// The least-squares line `y = a + b·x`; `None` with fewer than two distinct `x`.
pub fn least_squares(xy: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = xy.len() as f64;
    if xy.len() < 2 {
        return None;
    }
    let mx = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let my = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 1e-12 * (mx * mx).max(1.0) {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

/// The slope `b` of `process`'s CPU = a + b·X over `points`, in CPU ms per request;
/// `None` with fewer than two points at different rates.
pub fn slope_ms(points: &[Traced<'_>], process: &str) -> Option<f64> {
    let xy: Vec<(f64, f64)> = samples(points, process)
        .iter()
        .map(|p| (p.x, p.cores))
        .collect();
    least_squares(&xy).map(|(_, b)| b * 1000.0)
}

/// Estimates every process's background from the held-in `points`, records it in its
/// `checks` row and sets it in `arch` (per replica). Call after the trees' times are final
/// (after `demand::scale_to_measured`): the subtraction uses the demand the model charges.
pub fn estimate(arch: &mut Architecture, checks: &mut [DemandCheck], points: &[Traced<'_>]) {
    let mut set: BTreeMap<String, f64> = BTreeMap::new();
    for c in checks.iter_mut() {
        if !arch.processes.contains_key(&c.process) {
            continue;
        }
        let s = samples(points, &c.process);
        if s.is_empty() {
            continue;
        }
        let demand_s = c.charged_ms() / 1000.0;
        let subtracted = s.iter().map(|p| p.cores - demand_s * p.x).sum::<f64>() / s.len() as f64;
        let xy: Vec<(f64, f64)> = s.iter().map(|p| (p.x, p.cores)).collect();
        let fit = least_squares(&xy);
        let cores = fit.map_or(subtracted, |f| f.0).max(0.0);
        let instances = (s.iter().map(|p| p.instances).sum::<usize>() as f64 / s.len() as f64)
            .round()
            .max(1.0) as usize;
        c.background = Some(Background {
            subtracted_cores: subtracted,
            fit_cores: fit.map(|f| f.0),
            fit_ms: fit.map(|f| f.1 * 1000.0),
            cores,
            instances,
        });
        set.insert(c.process.clone(), cores / instances as f64);
    }
    for (name, per_replica) in set {
        if let Some(p) = arch.processes.get_mut(&name) {
            p.background = per_replica;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::least_squares;

    #[test]
    fn the_least_squares_line_through_exact_points_is_that_line() {
        let (a, b) = least_squares(&[(20.0, 0.3), (50.0, 0.45), (80.0, 0.6)]).unwrap();
        assert!(
            (a - 0.2).abs() < 1e-12 && (b - 0.005).abs() < 1e-12,
            "{a} {b}"
        );
        assert_eq!(least_squares(&[(20.0, 0.3)]), None);
        assert_eq!(least_squares(&[(20.0, 0.3), (20.0, 0.4)]), None);
    }
}
