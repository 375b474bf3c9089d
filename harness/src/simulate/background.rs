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
    sampled(p, |instance| process_of(instance) == process)
}

/// [`usage`] of the instances `keep` accepts.
fn sampled(p: &Traced<'_>, keep: impl Fn(&str) -> bool) -> Option<(f64, f64, usize)> {
    let r = p.run;
    let wall = r.warmup_s + r.duration_s;
    if r.duration_s <= 0.0 || wall <= 0.0 {
        return None;
    }
    let mine: Vec<_> = r.resources.iter().filter(|u| keep(&u.instance)).collect();
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

/// A held-in point whose CPU stands this share of the points' mean CPU off the line through
/// the others is set aside, as long as it also stands `OUTLIER_SPREAD` times the others'
/// own scatter (root mean square) off it.
const OUTLIER_SHARE: f64 = 0.3;
const OUTLIER_SPREAD: f64 = 3.0;

/// Held-in points needed to judge one of them.
const MIN_POINTS: usize = 5;

/// The held-in `points` less at most one whose measured CPU (all processes) stands far off
/// the least-squares line through the others — a point disturbed by something outside the
/// load (measured: one point of five at +40%, the monolith and PostgreSQL alike, its p99
/// 2.8× its neighbours') would tilt every CPU fit; it is named in `notes`. Needs five
/// points: with four, the three others' line says too little of their scatter, and a
/// real bend (the microservices' CPU per request rising from 4.1 to 4.6 ms between 100
/// and 150 req/s, confirmed at 200) would be taken for a disturbance.
pub fn set_aside<'a>(
    points: Vec<Traced<'a>>,
    arch: &str,
    notes: &mut Vec<String>,
) -> Vec<Traced<'a>> {
    // Every process's CPU together: a disturbance need not stay in one process.
    let Some(xy) = points
        .iter()
        .map(|p| sampled(p, |_| true).map(|(x, cores, _)| (x, cores)))
        .collect::<Option<Vec<(f64, f64)>>>()
    else {
        return points;
    };
    let Some((i, predicted)) = outlier(&xy) else {
        return points;
    };
    notes.push(format!(
        "{arch}: held-in point at {:.0} req/s set aside: its CPU ({:.3} cores) stands {:+.0}% off \
         the line through the other held-in points ({:.3}); it is predicted like a held-out one",
        points[i].rate,
        xy[i].1,
        (xy[i].1 / predicted - 1.0) * 100.0,
        predicted
    ));
    points
        .into_iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, p)| p)
        .collect()
}

/// The point of `xy` (rate, cores) that stands off the line through the others (see
/// [`set_aside`]), with that line's value there.
fn outlier(xy: &[(f64, f64)]) -> Option<(usize, f64)> {
    if xy.len() < MIN_POINTS || xy.iter().any(|p| p.1 <= 0.0) {
        return None;
    }
    let mean = xy.iter().map(|p| p.1).sum::<f64>() / xy.len() as f64;
    // The point whose removal leaves the others closest to a line: one far-off point tilts
    // the line through any set that holds it, so it is judged against the rest.
    let mut best: Option<(usize, f64, f64)> = None;
    for i in 0..xy.len() {
        let others: Vec<(f64, f64)> = xy
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| *p)
            .collect();
        let Some((a, b)) = least_squares(&others) else {
            continue;
        };
        let scatter = (others
            .iter()
            .map(|(x, y)| (y - a - b * x).powi(2))
            .sum::<f64>()
            / others.len() as f64)
            .sqrt();
        if best.is_none_or(|w| scatter < w.1) {
            best = Some((i, scatter, a + b * xy[i].0));
        }
    }
    let (i, scatter, predicted) = best?;
    let off = (xy[i].1 - predicted).abs();
    (off > OUTLIER_SHARE * mean && off > OUTLIER_SPREAD * scatter).then_some((i, predicted))
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
    use super::{least_squares, outlier};

    #[test]
    fn one_disturbed_point_is_found_and_a_falling_cost_per_request_is_not() {
        // The measured monolith run: +40% at 197 req/s, the rest near a line.
        let run = [
            (21.3, 0.065),
            (50.7, 0.137),
            (97.7, 0.211),
            (146.0, 0.260),
            (197.1, 0.490),
            (405.7, 0.600),
        ];
        let (i, predicted) = outlier(&run[..5]).expect("the 197 req/s point stands off");
        assert_eq!(i, 4);
        assert!((predicted - 0.35).abs() < 0.01, "{predicted}");
        // With a point at a higher rate, it is still that one, not the far point it tilts.
        assert_eq!(outlier(&run).map(|o| o.0), Some(4));
        // A CPU wake's concave CPU (less per request as the rate rises) and noise of a few
        // per cent are kept.
        let concave: Vec<(f64, f64)> = [20.0, 50.0, 100.0, 150.0, 200.0]
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let wake = 1e-3 / (1.0 + x * 5e-3);
                (
                    *x,
                    (0.02 + x * (1.2e-3 + wake)) * (1.0 + 0.03 * (k % 2) as f64),
                )
            })
            .collect();
        assert_eq!(outlier(&concave), None);
        // Four points cannot judge one: the measured microservices' CPU bends up at 150
        // req/s (confirmed at 200), which the line through 20–100 req/s would call +21%.
        let micro = [(21.2, 0.163), (50.8, 0.256), (97.5, 0.398), (145.8, 0.663)];
        assert_eq!(outlier(&micro), None);
        let micro5 = [micro[0], micro[1], micro[2], micro[3], (150.4, 0.699)];
        assert_eq!(outlier(&micro5), None);
    }

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
