//! Faster under moderate load than alone: each process's **idle wake** from the held-in
//! points. A lone request wakes parked threads and halted cores and meets cold caches; at a
//! higher rate the next request finds its process recently busy. Measured, a process's time
//! per request falls with the rate before queueing raises it (the monolith's median 1.42 ms
//! at 20 req/s, 0.96 at 150), while span times pooled over the held-in points carry their
//! cold cost at every rate.
//!
//! The model's mechanism ([`crm_sim::input::calibration::IdleWake`]): a visit finding its
//! replica without CPU work for τ waits `W·(1 − e^(−τ/T))` more, off-core. For requests
//! arriving as a Poisson stream of rate `λ` that find the replica idle with probability
//! `1 − u`, the mean extra wait is `W·(1 − u) / (1 + λT)`. So per process, over the held-in
//! points `i`, its time per request that visits it (span self time; statement time for a
//! database) is fitted as `y_i = a + c·g_i(T)` with `g_i = (1 − u_i) / (1 + q·X_i·T)`
//! (`X_i` the achieved rate per replica, `q` the share of requests that visit it, `u_i` its
//! measured utilisation per replica), `c ≥ 0`, one cooling time `T` per architecture (the
//! best of a grid by the relative squared error over all processes). Then the process's
//! times are scaled to the warm `a` (keeping their shape) and it gets
//! `idle_wake = { us = c, tau_ms = T }`.
//! Needs three held-in points at distinct rates (two parameters per process and `T`);
//! with fewer the times stay as measured.

use std::collections::BTreeMap;

use crm_sim::input::calibration::{Architecture, IdleWake};

use super::background::usage;
use super::calibrate::Traced;
use super::dists::scaled;

/// Cooling times tried, ms.
const TAUS_MS: [f64; 12] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
];

/// The warm time is kept at least this share of the lowest measured one: a fit through
/// three noisy points may not explain a process's whole time as waking up.
const MIN_WARM_SHARE: f64 = 0.25;

/// A fitted wake whose effect over the held-in points is smaller than this share of the
/// process's mean time is taken for noise and dropped.
const MIN_EFFECT: f64 = 0.05;

/// One process's time per request at the held-in points.
struct Series {
    process: String,
    /// `(achieved rate X per replica, time per request µs, idle probability 1 − u, trace
    /// weight)`.
    points: Vec<(f64, f64, f64, f64)>,
    /// Share of requests that visit it (the mean over the points).
    q: f64,
}

/// The fitted `(a, c)` of `s` at cooling time `tau_s`, and its relative squared error.
fn fit(s: &Series, tau_s: f64) -> (f64, f64, f64) {
    let g: Vec<f64> = s
        .points
        .iter()
        .map(|(x, _, idle, _)| idle / (1.0 + s.q * x * tau_s))
        .collect();
    let y: Vec<f64> = s.points.iter().map(|p| p.1).collect();
    let n = y.len() as f64;
    let (mg, my) = (g.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sgg: f64 = g.iter().map(|v| (v - mg).powi(2)).sum();
    let sgy: f64 = g.iter().zip(&y).map(|(a, b)| (a - mg) * (b - my)).sum();
    let mut c = if sgg > 1e-18 {
        (sgy / sgg).max(0.0)
    } else {
        0.0
    };
    let mut a = my - c * mg;
    let floor = MIN_WARM_SHARE * y.iter().copied().fold(f64::INFINITY, f64::min);
    if a < floor {
        a = floor;
        let gg: f64 = g.iter().map(|v| v * v).sum();
        c = (g.iter().zip(&y).map(|(gv, yv)| gv * (yv - a)).sum::<f64>() / gg).max(0.0);
    }
    let err = g
        .iter()
        .zip(&y)
        .map(|(gv, yv)| ((yv - a - c * gv) / my.max(1e-9)).powi(2))
        .sum();
    (a, c, err)
}

/// Time of every process per request that visits it, at one held-in point (µs; a
/// database's is the time of the statements run on it), with the share of requests that
/// visit it. Per visiting request, so that the mix's sampling noise does not move it.
fn per_request(arch: &Architecture, p: &Traced<'_>) -> BTreeMap<String, (f64, f64)> {
    let mut time: BTreeMap<String, f64> = BTreeMap::new();
    let mut visited: BTreeMap<String, f64> = BTreeMap::new();
    let mut traces = 0.0;
    for (name, op) in &p.breakdown.ops {
        if !arch.ops.contains_key(name) {
            continue;
        }
        for s in &op.shapes {
            let w = s.traces as f64;
            traces += w;
            let mut seen = std::collections::BTreeSet::new();
            for n in s.nodes.iter().filter(|n| !n.is_async && n.kind != "client") {
                *time.entry(n.process.clone()).or_default() += w * n.self_us.mean;
                seen.insert(n.process.clone());
                let db = arch
                    .processes
                    .get(&n.process)
                    .and_then(|q| q.database.clone());
                if let Some(db) = db.filter(|_| n.db_statements > 0.0) {
                    *time.entry(db.clone()).or_default() += w * n.db_us.mean;
                    seen.insert(db);
                }
            }
            for s in seen {
                *visited.entry(s).or_default() += w;
            }
        }
    }
    if traces <= 0.0 {
        return BTreeMap::new();
    }
    time.into_iter()
        .filter_map(|(k, t)| {
            let v = visited.get(&k).copied().filter(|v| *v > 0.0)?;
            Some((k, (t / v, v / traces)))
        })
        .collect()
}

/// Fits every process's idle wake over `points` and applies it to `arch` (see the module's
/// documentation); says what it did in `notes`. Call before the demand checks.
pub fn fit_idle_wake(
    name: &str,
    arch: &mut Architecture,
    points: &[Traced<'_>],
    notes: &mut Vec<String>,
) {
    let rates: Vec<f64> = points.iter().map(|p| p.rate).collect();
    let distinct = rates.windows(2).filter(|w| w[1] > w[0] * 1.05).count() + 1;
    if distinct < 3 {
        notes.push(format!(
            "{name}: idle wake not fitted ({distinct} distinct held-in rates; it needs 3)"
        ));
        return;
    }
    let per_point: Vec<_> = points.iter().map(|p| per_request(arch, p)).collect();
    let mut series: Vec<Series> = Vec::new();
    for name in arch.processes.keys() {
        let mut s = Series {
            process: name.clone(),
            points: Vec::new(),
            q: 0.0,
        };
        for (p, times) in points.iter().zip(&per_point) {
            let (Some(&(y, q)), Some((x, cores, instances))) = (times.get(name), usage(p, name))
            else {
                continue;
            };
            let idle = (1.0 - cores / instances.max(1) as f64).clamp(0.0, 1.0);
            s.points.push((
                x / instances.max(1) as f64,
                y,
                idle,
                p.breakdown.traces as f64,
            ));
            s.q += q;
        }
        if s.points.len() >= 3 && s.q > 0.0 {
            s.q /= s.points.len() as f64;
            series.push(s);
        }
    }
    if series.is_empty() {
        return;
    }
    let score = |tau_ms: f64| -> f64 { series.iter().map(|s| fit(s, tau_ms / 1e3).2).sum() };
    let tau_ms = TAUS_MS
        .into_iter()
        .min_by(|a, b| score(*a).total_cmp(&score(*b)))
        .expect("a grid");
    for s in &series {
        let (a, c, _) = fit(s, tau_ms / 1e3);
        let g = |p: &(f64, f64, f64, f64)| p.2 / (1.0 + s.q * p.0 * tau_ms / 1e3);
        let spread = s.points.iter().map(g).fold(f64::NEG_INFINITY, f64::max)
            - s.points.iter().map(g).fold(f64::INFINITY, f64::min);
        let mean_y = s.points.iter().map(|p| p.1).sum::<f64>() / s.points.len() as f64;
        if c * spread < MIN_EFFECT * mean_y {
            continue;
        }
        let weight: f64 = s.points.iter().map(|p| p.3.max(1.0)).sum();
        let pooled = s.points.iter().map(|p| p.1 * p.3.max(1.0)).sum::<f64>() / weight;
        let factor = (a / pooled).min(1.0);
        scale_times(arch, &s.process, factor);
        let us = c;
        if let Some(p) = arch.processes.get_mut(&s.process) {
            p.idle_wake = Some(IdleWake {
                us,
                tau_ms,
                cpu: 0.0,
            });
        }
        notes.push(format!(
            "{name} {}: idle wake, {:.0} µs per visiting request warm (its times × {factor:.2}), up to {us:.0} µs \
             more when found idle, cooling in {tau_ms} ms (held-in: {})",
            s.process,
            a,
            s.points
                .iter()
                .map(|p| format!("{:.0} µs at {:.0} req/s", p.1, p.0))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Multiplies the times `process` spends (its nodes' self times; a database's, the
/// statements run on it) by `factor`.
fn scale_times(arch: &mut Architecture, process: &str, factor: f64) {
    let dbs: BTreeMap<String, Option<String>> = arch
        .processes
        .iter()
        .map(|(k, p)| (k.clone(), p.database.clone()))
        .collect();
    for n in arch
        .ops
        .values_mut()
        .flat_map(|o| o.shapes.iter_mut())
        .flat_map(|s| s.nodes.iter_mut())
        .filter(|n| !n.asynchronous)
    {
        if n.process == process
            && let Some(d) = &n.self_us
        {
            n.self_us = Some(scaled(d, factor));
        }
        if dbs.get(&n.process).and_then(|d| d.as_deref()) == Some(process)
            && let Some(d) = &n.db_us
        {
            n.db_us = Some(scaled(d, factor));
        }
    }
}
