//! Adaptive points: a load run that goes on until its p99 is known precisely enough, with a
//! warm-up ended by a stationarity test. The engine is the measuring instrument and knows
//! nothing of this: it runs a schedule as long as the cap, keeps its per-request log, and is
//! stopped through its handle; the rule lives here, watching the log as it fills.
//!
//! Every [`POLL`]:
//! - **warm-up**: the medians of the [`WINDOW`]s of intended time since the start (each taken
//!   once [`SETTLE`] has passed, so its slow requests are in) are tested with Mann–Kendall
//!   (`crm_load::stats::warmup_end`): the warm-up ends at the first window from which on
//!   there is no trend, at least `warmup_min_s` and at most `warmup_max_s` in;
//! - **stop**: once `min_s` has been measured after it, p99's 95% interval (batched over
//!   time slices) is computed over the settled samples; the run stops when its half-width is
//!   within `precision` of p99, or at `max_s`.
//!
//! The results are then rebuilt from the log with the warm-up found
//! ([`crm_load::RunResults::with_warmup`]).

use std::time::Duration;

use anyhow::Context;
use crm_load::stats::{self, LEVEL};
use crm_load::{LoadRun, RequestLog, RunResults};

use crate::results::PointInfo;
use crate::scenario::Adaptive;

/// How often the rule looks at the log.
const POLL: Duration = Duration::from_millis(250);
/// Width of a warm-up test window.
const WINDOW: f64 = 0.5;
/// Windows after the candidate end of warm-up that the trend test needs (3 s).
const NEED: usize = 6;
/// Samples are judged once this much time has passed since their intended time.
const SETTLE: f64 = 1.0;

/// Records a point's log may hold: twice the cap's requests (16 bytes each), at least 64k.
pub fn log_capacity(rate: f64, secs: f64) -> usize {
    ((rate * secs * 2.0) as usize).clamp(65_536, 16_000_000)
}

/// Seconds of schedule an adaptive point needs: the warm-up's cap, the cap, a settle.
pub fn schedule_s(a: &Adaptive) -> f64 {
    a.warmup_max_s + a.max_s + SETTLE
}

/// Runs `run` (started with warm-up 0 and a schedule of [`schedule_s`]) under the rule of
/// `a`; returns its results with the warm-up found, its log, and how it went.
pub async fn drive(
    mut run: LoadRun,
    a: &Adaptive,
) -> anyhow::Result<(RunResults, RequestLog, PointInfo)> {
    let mut reader = run
        .take_log()
        .context("an adaptive point needs the request log")?;
    let handle = run.handle();
    let mut windows: Vec<Vec<u32>> = Vec::new();
    let mut seen = 0;
    let mut warmup: Option<(f64, bool)> = None;
    let mut stop = "time cap";
    let mut precision = None;
    loop {
        tokio::time::sleep(POLL).await;
        let elapsed = handle.progress().elapsed.as_secs_f64();
        reader.poll();
        for r in &reader.records()[seen..] {
            if r.responded() {
                let w = (f64::from(r.intended_us) / 1e6 / WINDOW) as usize;
                if windows.len() <= w {
                    windows.resize_with(w + 1, Vec::new);
                }
                windows[w].push(r.latency_us);
            }
        }
        seen = reader.records().len();
        let settled = elapsed - SETTLE;
        if warmup.is_none() {
            let complete = ((settled / WINDOW).floor().max(0.0) as usize).min(windows.len());
            let medians: Vec<f64> = windows[..complete].iter_mut().map(|w| median(w)).collect();
            let first = (a.warmup_min_s / WINDOW).ceil() as usize;
            if let Some(c) = stats::warmup_end(&medians, first, NEED, LEVEL) {
                warmup = Some((c as f64 * WINDOW, true));
            } else if settled >= a.warmup_max_s + NEED as f64 * WINDOW {
                warmup = Some((a.warmup_max_s, false));
            }
        }
        let Some((w, _)) = warmup else {
            if elapsed >= schedule_s(a) {
                break;
            }
            continue;
        };
        if elapsed >= w + a.max_s {
            break;
        }
        if settled - w >= a.min_s {
            let mut samples: Vec<(u32, u32)> = reader
                .records()
                .iter()
                .filter(|r| {
                    let t = f64::from(r.intended_us) / 1e6;
                    r.responded() && t >= w && t < settled
                })
                .map(|r| (r.intended_us, r.latency_us))
                .collect();
            samples.sort_unstable();
            let xs: Vec<f64> = samples.iter().map(|s| f64::from(s.1)).collect();
            if let Some(q) = stats::quantile_interval(&xs, 0.99, LEVEL) {
                let h = q.relative_half_width();
                precision = Some(h);
                if h <= a.precision {
                    stop = "precise";
                    break;
                }
            }
        }
    }
    handle.stop();
    let raw = run.wait().await.context("the load run")?;
    let log = reader.finish();
    let (w, stationary) = warmup.unwrap_or((a.warmup_max_s, false));
    let end = raw.warmup_s + raw.measured_s;
    let w = w.min(end - 1.0).max(0.0);
    let rebuilt = raw
        .with_warmup(&log, Duration::from_secs_f64(w))
        .context("rebuild the point's results with its warm-up")?;
    let info = PointInfo {
        adaptive: true,
        stop: stop.to_owned(),
        warmup_stationary: stationary,
        target_precision: Some(a.precision),
        p99_precision: precision,
        attempts: 1,
        ..PointInfo::default()
    };
    Ok((rebuilt, log, info))
}

/// The median of `xs` (sorted in place); 0 when empty.
fn median(xs: &mut [u32]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_unstable();
    f64::from(xs[xs.len() / 2])
}
