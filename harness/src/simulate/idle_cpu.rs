//! Less CPU per request near saturation than at light load: each process's **CPU wake**
//! from the held-in points' measured CPU. A request that finds a process idle pays for
//! waking it (a parked thread's futex and scheduler round, a halted virtual core's exit,
//! cold caches and TLB) and that cost is CPU time; under load the next request finds the
//! process busy and pays nothing. Measured on the monolith (model.toml, 20–800 req/s), its
//! and PostgreSQL's CPU per request falls steadily with the rate, from ~2.3 ms at 200 req/s
//! to ~1.3 ms at 800, where the core is never idle; a straight line `CPU = B + b·X` through
//! the light-load points charges the light-load cost at every rate and saturates far too
//! early (the knee −46% on that run, README "Simulation").
//!
//! The model's mechanism is the idle wake ([`crm_sim::input::calibration::IdleWake`]) with
//! its whole cost on a core (`cpu = 1`): a visit finding its replica idle for τ burns
//! `W·(1 − e^(−τ/T))` more. For visits arriving at a rate `v` per replica that find it idle
//! with probability `1 − u`, the mean extra CPU per visit is `W·(1 − u) / (1 + v·T)`. So per
//! process, over the held-in points `i`, its measured CPU rate is fitted as
//! `U_i = B + X_i·(a + c·g_i(T))`, `g_i = (1 − u_i) / (1 + v_i·T)` (`X_i` the achieved
//! rate, `u_i` its utilisation per replica, `v_i` its visits per second per replica), by
//! least squares for `B ≥ 0` (background, cores), `a > 0` (the warm CPU per request) and
//! `c ≥ 0` (the wake's CPU per request when always found idle), with one cooling time `T`
//! per architecture (the best of a grid by the summed relative squared error). Its on-core
//! shares are then scaled so that the trees charge `a`, its background set to `B`, and its
//! `idle_wake = { us = c / visits per request, tau_ms = T, cpu = 1 }`.
//! Needs four held-in points at distinct rates (three parameters and `T`), and a spread of
//! utilisation to tell the wake from the background: calibrate on the sweep's points up to
//! a moderate load (`crm-bench calibrate REPORT --points 5`). A process whose fit has no
//! wake, or a negative part, keeps the straight line.
//!
//! The closed form's idle gaps are Poisson gaps between visits; in the model a visit finds
//! its replica idle only since its last CPU work ended, a request's own statements and
//! calls in between. So the held-in points are then replayed in the model ([`replay_wakes`])
//! and each fitted wake scaled until the model's CPU of that process there matches the
//! measured (two rounds).

use std::collections::BTreeMap;

use crm_sim::input::calibration::{Architecture, IdleWake};

use super::background::usage;
use super::calibrate::{Traced, alone};
use super::demand::{held_in_mix, mix_total, scale_on_core, visits_per_request};
use super::replay::{self, LoadEcho};
use crate::results::model::DemandCheck;
use crate::topology::Arch;

/// Cooling times tried, ms.
const TAUS_MS: [f64; 10] = [0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];

/// Distinct held-in rates needed (three parameters and the cooling time).
pub const MIN_RATES: usize = 4;

/// A wake whose CPU over the held-in points is smaller than this share of the process's
/// CPU per request is taken for noise and dropped.
const MIN_EFFECT: f64 = 0.05;

/// One held-in point as one process's CPU sees it.
#[derive(Clone, Copy)]
struct Point {
    /// Achieved requests per second.
    x: f64,
    /// Its CPU seconds per second, all replicas.
    cores: f64,
    /// Its utilisation per replica.
    u: f64,
    /// Visits per second per replica.
    v: f64,
}

/// One process's fit: background (cores), warm and wake CPU per request (s), error.
#[derive(Clone, Copy, Debug)]
struct Fit {
    b: f64,
    a: f64,
    c: f64,
    err: f64,
}

/// Solves the 3×3 system `m·z = r` by Cramer's rule; `None` when singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    let scale: f64 = m.iter().flatten().map(|v| v.abs()).fold(0.0, f64::max);
    if d.abs() <= 1e-12 * scale.powi(3).max(1e-300) {
        return None;
    }
    let mut z = [0.0; 3];
    for (k, zk) in z.iter_mut().enumerate() {
        let mut mk = m;
        for (row, rv) in mk.iter_mut().zip(r) {
            row[k] = rv;
        }
        *zk = det(&mk) / d;
    }
    Some(z)
}

/// The least-squares `U = B + X·(a + c·g)` over `pts` at cooling time `tau_s`; `None` when
/// the points cannot separate the three parts or a part comes out negative.
fn fit(pts: &[Point], tau_s: f64) -> Option<Fit> {
    let rows: Vec<([f64; 3], f64)> = pts
        .iter()
        .map(|p| {
            let g = (1.0 - p.u).clamp(0.0, 1.0) / (1.0 + p.v * tau_s);
            ([1.0, p.x, p.x * g], p.cores)
        })
        .collect();
    let mut m = [[0.0; 3]; 3];
    let mut r = [0.0; 3];
    for (f, y) in &rows {
        for i in 0..3 {
            r[i] += f[i] * y;
            for j in 0..3 {
                m[i][j] += f[i] * f[j];
            }
        }
    }
    let [b, a, c] = solve3(m, r)?;
    if b < 0.0 || a <= 0.0 || c < 0.0 {
        return None;
    }
    let mean = rows.iter().map(|(_, y)| y).sum::<f64>() / rows.len() as f64;
    let err = rows
        .iter()
        .map(|(f, y)| ((y - b - a * f[1] - c * f[2]) / mean.max(1e-9)).powi(2))
        .sum();
    Some(Fit { b, a, c, err })
}

/// Visits per request at which the model checks a process for a wake: its own visits, and
/// for a database the nodes that run statements on it.
fn wake_visits(arch: &Architecture, points: &[Traced<'_>]) -> BTreeMap<String, f64> {
    let mix = held_in_mix(points);
    let mut out = visits_per_request(arch, &mix);
    let total = mix_total(arch, &mix);
    if total <= 0.0 {
        return out;
    }
    for (name, w) in &mix {
        let Some(op) = arch.ops.get(name) else {
            continue;
        };
        for shape in &op.shapes {
            for n in shape.nodes.iter().filter(|n| n.db_us.is_some()) {
                if let Some(db) = arch
                    .processes
                    .get(&n.process)
                    .and_then(|p| p.database.clone())
                {
                    *out.entry(db).or_default() += w / total * shape.probability;
                }
            }
        }
    }
    out
}

/// Fits every process's CPU wake over `points` and applies it to `arch` and its `checks`
/// rows (see the module's documentation); says what it did in `notes`. Call after
/// [`super::background::estimate`]: it replaces the straight line's demand and background
/// where a wake fits.
/// Returns the processes given a wake, with their warm CPU per request (s).
pub fn fit_idle_cpu(
    kind: Arch,
    arch: &mut Architecture,
    checks: &mut [DemandCheck],
    points: &[Traced<'_>],
    notes: &mut Vec<String>,
) -> BTreeMap<String, f64> {
    let name = kind.to_string();
    let mut fitted = BTreeMap::new();
    let rates: Vec<f64> = points.iter().map(|p| p.rate).collect();
    let distinct = rates.windows(2).filter(|w| w[1] > w[0] * 1.05).count() + 1;
    if distinct < MIN_RATES {
        notes.push(format!(
            "{name}: CPU wake not fitted ({distinct} distinct held-in rates; it needs {MIN_RATES}: \
             calibrate with `--points 5`)"
        ));
        return fitted;
    }
    let visits = wake_visits(arch, points);
    let mut series: Vec<(String, f64, Vec<Point>)> = Vec::new();
    for process in arch.processes.keys() {
        let Some(q) = visits.get(process).copied().filter(|q| *q > 0.0) else {
            continue;
        };
        let pts: Vec<Point> = points
            .iter()
            .filter_map(|p| usage(p, process))
            .map(|(x, cores, instances)| {
                let n = instances.max(1) as f64;
                Point {
                    x,
                    cores,
                    u: cores / n,
                    v: x * q / n,
                }
            })
            .collect();
        if pts.len() >= MIN_RATES {
            series.push((process.clone(), q, pts));
        }
    }
    // One cooling time for the architecture: a process that cannot fit at a time scores as
    // its straight line would (its mean squared error, unweighted), so it does not steer T.
    let score = |tau_ms: f64| -> f64 {
        series
            .iter()
            .map(|(_, _, pts)| fit(pts, tau_ms / 1e3).map_or(1.0, |f| f.err))
            .sum()
    };
    let Some(tau_ms) = TAUS_MS
        .into_iter()
        .filter(|t| series.iter().any(|(_, _, pts)| fit(pts, t / 1e3).is_some()))
        .min_by(|a, b| score(*a).total_cmp(&score(*b)))
    else {
        notes.push(format!(
            "{name}: CPU wake not fitted (no process's CPU separates into background, warm and wake parts)"
        ));
        return fitted;
    };
    for (process, q, pts) in &series {
        let Some(f) = fit(pts, tau_ms / 1e3) else {
            continue;
        };
        let g = |p: &Point| (1.0 - p.u).clamp(0.0, 1.0) / (1.0 + p.v * tau_ms / 1e3);
        let mean_g = pts.iter().map(g).sum::<f64>() / pts.len() as f64;
        if f.c * mean_g < MIN_EFFECT * (f.a + f.c * mean_g) {
            continue;
        }
        let Some(check) = checks.iter_mut().find(|c| &c.process == process) else {
            continue;
        };
        let warm_ms = f.a * 1e3;
        let before = check.charged_ms();
        set_charged(arch, check, process, warm_ms, *q);
        let instances = check.background.as_ref().map_or(1, |b| b.instances.max(1));
        if let Some(bg) = &mut check.background {
            bg.cores = f.b;
        }
        check.wake_ms = Some(f.c * 1e3);
        fitted.insert(process.clone(), f.a);
        if let Some(p) = arch.processes.get_mut(process) {
            p.background = f.b / instances as f64;
            p.idle_wake = Some(IdleWake {
                us: f.c * 1e6 / q,
                tau_ms,
                cpu: 1.0,
            });
        }
        notes.push(format!(
            "{name} {process}: CPU wake, {warm_ms:.3} CPU-ms per request warm (was {before:.3} from \
             the straight line), up to {:.3} ms more found idle ({:.0} µs per visit, cooling in \
             {tau_ms} ms), background {:.3} cores (held-in: {})",
            f.c * 1e3,
            f.c * 1e6 / q,
            f.b,
            pts.iter()
                .map(|p| format!("{:.0} req/s {:.3} cores", p.x, p.cores))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    fitted
}

/// The held-in points and how to replay them.
pub struct Held<'a> {
    pub points: &'a [Traced<'a>],
    pub load: &'a LoadEcho,
    pub cores: f64,
}

/// Rounds of replay and scaling.
const ROUNDS: usize = 2;

/// Replays `held` in the model and scales each `fitted` process's wake (and its `checks`
/// row's `wake_ms`) (`fitted`: its warm
/// CPU per request, s) so that the model's CPU of it there matches the measured: the wake's
/// part of the measured CPU (beyond background and warm work) over the model's, weighted by
/// the points' rates, within ×¼…×4.
pub fn replay_wakes(
    kind: Arch,
    arch: &mut Architecture,
    checks: &mut [DemandCheck],
    fitted: &BTreeMap<String, f64>,
    held: &Held<'_>,
    notes: &mut Vec<String>,
) {
    if fitted.is_empty() {
        return;
    }
    let mut total: BTreeMap<&str, f64> = fitted.keys().map(|k| (k.as_str(), 1.0)).collect();
    for _ in 0..ROUNDS {
        let cal = alone(kind, arch.clone(), "held-in replay");
        let known = |op: &str| arch.ops.contains_key(op);
        // Per process: Σ measured wake CPU, Σ modelled wake CPU (cores).
        let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for p in held.points {
            let Some(s) = replay::open_point(kind, p.run, held.load, held.cores, &known) else {
                notes.push(format!(
                    "{kind}: a held-in point did not replay; the CPU wakes stay as fitted"
                ));
                return;
            };
            let Ok(out) = crm_sim::simulate(&cal, &s) else {
                return;
            };
            for (process, warm) in fitted {
                let (Some((x, cores, _)), Some(sim), Some(proc)) = (
                    usage(p, process),
                    out.processes.get(process),
                    arch.processes.get(process),
                ) else {
                    continue;
                };
                let replicas = f64::from(sim.replicas_at_end.max(1));
                let base = proc.background * replicas + warm * x;
                let e = sums.entry(process.as_str()).or_default();
                e.0 += cores - base;
                e.1 += sim.cores_used - base;
            }
        }
        for (process, (measured, modelled)) in sums {
            if modelled <= 1e-9 || measured <= 0.0 {
                continue;
            }
            let k = (measured / modelled).clamp(0.25, 4.0);
            if let Some(w) = arch
                .processes
                .get_mut(process)
                .and_then(|p| p.idle_wake.as_mut())
            {
                w.us *= k;
                *total.entry(process).or_default() *= k;
            }
        }
    }
    for (process, k) in total {
        if let Some(c) = checks.iter_mut().find(|c| c.process == process) {
            c.wake_ms = c.wake_ms.map(|w| w * k);
        }
        notes.push(format!(
            "{kind} {process}: CPU wake × {k:.2} after replaying the held-in points"
        ));
    }
}

/// Makes the trees charge `process` `target_ms` CPU per request: its on-core shares (and
/// the CPU outside its spans) scaled down, or that CPU raised; a database's statements are
/// only scaled down.
fn set_charged(
    arch: &mut Architecture,
    check: &mut DemandCheck,
    process: &str,
    target_ms: f64,
    visits: f64,
) {
    let charged = check.charged_ms();
    if charged <= 0.0 {
        return;
    }
    let is_db = arch
        .processes
        .values()
        .any(|p| p.database.as_deref() == Some(process));
    if target_ms > charged {
        if !is_db && let Some(p) = arch.processes.get_mut(process) {
            let extra = target_ms - charged;
            p.unspanned_us += extra * 1e3 / visits.max(1e-9);
            check.unspanned_ms = Some(check.unspanned_ms.unwrap_or(0.0) + extra);
        }
        return;
    }
    let f = target_ms / charged;
    scale_on_core(arch, process, f);
    if let Some(p) = arch.processes.get_mut(process) {
        p.unspanned_us *= f;
    }
    check.scaled_by = Some(check.scaled_by.unwrap_or(1.0) * f);
    check.unspanned_ms = check.unspanned_ms.map(|u| u * f);
}

#[cfg(test)]
#[path = "idle_cpu_tests.rs"]
mod tests;
