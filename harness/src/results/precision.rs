//! How precise each figure is (added in schema v2, every field optional so v1 files still
//! load): confidence intervals of percentiles and shares, how each point was measured
//! (adaptive length, warm-up by a stationarity test, CPU steal and machine speed), the
//! knee's interval, and repeated timings of faults and redeploys.

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// A 95% confidence interval, in the unit of the figure it belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ci {
    pub lo: f64,
    pub hi: f64,
    /// Too few samples to bound it from above: `hi` is the largest sample.
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
}

impl Ci {
    /// Scaled (µs → ms, say).
    pub fn scaled(self, k: f64) -> Ci {
        Ci {
            lo: self.lo * k,
            hi: self.hi * k,
            open: self.open,
        }
    }

    /// No common value: a difference that is not noise.
    pub fn separated_from(&self, other: &Ci) -> bool {
        (self.hi < other.lo && !self.open) || (other.hi < self.lo && !other.open)
    }

    /// Half the width relative to `estimate`.
    pub fn relative_half_width(&self, estimate: f64) -> f64 {
        if self.open {
            f64::INFINITY
        } else if estimate == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / 2.0 / estimate.abs()
        }
    }
}

impl From<crm_load::stats::QuantileInterval> for Ci {
    fn from(q: crm_load::stats::QuantileInterval) -> Self {
        Ci {
            lo: q.lo,
            hi: q.hi,
            open: q.open,
        }
    }
}

/// The intervals of a latency distribution's percentiles (µs), from its samples in time
/// order (batched: see `crm_load::stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyCis {
    pub p50: Option<Ci>,
    pub p90: Option<Ci>,
    pub p99: Option<Ci>,
    pub p999: Option<Ci>,
    /// The batch-means widening was computed (enough samples per time slice); false: the
    /// intervals assume independent samples.
    pub batched: bool,
    /// Independent samples p99's interval is worth (samples ÷ the design effect).
    pub p99_n_eff: f64,
}

/// How a load run (a point) was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointInfo {
    /// Ran until precise enough (else a fixed duration).
    pub adaptive: bool,
    /// `precise` (p99's interval reached the target), `time cap`, or `fixed`.
    pub stop: String,
    /// The warm-up ended by the stationarity test (false: at its cap, or fixed).
    pub warmup_stationary: bool,
    /// The target relative half-width of p99's interval, when adaptive.
    pub target_precision: Option<f64>,
    /// p99's interval's relative half-width as measured.
    pub p99_precision: Option<f64>,
    /// Share of CPU time stolen by the hypervisor during the point.
    pub cpu_steal: Option<f64>,
    /// The machine-speed reference (speed index) just before the point.
    pub speed: Option<f64>,
    /// Runs taken (2: the first saw heavy steal and was run again).
    pub attempts: u32,
    /// 95% interval of the share of failed requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_ci: Option<Ci>,
    /// Why the point is not to be trusted, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// The engines that gave the load, when it was distributed (`run --workers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<LoadSource>,
}

/// One engine's share of a distributed point.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSource {
    /// `local`, or the worker's address.
    pub engine: String,
    /// Its scheduled rate, req/s.
    pub offered_rps: f64,
    /// What it achieved; `None` when its results were lost (its share is missing).
    pub achieved_rps: Option<f64>,
    /// Operations it recorded after the warm-up.
    pub requests: u64,
    /// Why its results are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The knee of a sweep: the highest rate under the SLO with its interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    pub rate: Option<f64>,
    pub ci: Ci,
    /// How it was found, in words.
    pub method: String,
}

/// A figure measured several times (per fault cycle, per redeploy), their mean and its
/// interval (Student's t over the repeats; none from a single one). The figures are
/// durations and counts, never negative: a t interval reaching below zero (two or three
/// repeats far apart) is cut at zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Repeated {
    pub mean: f64,
    pub ci: Option<Ci>,
    pub values: Vec<f64>,
}

impl Repeated {
    /// The mean and interval of `values`; `None` when empty.
    pub fn of(values: Vec<f64>) -> Option<Repeated> {
        if values.is_empty() {
            return None;
        }
        let (mean, ci) = match crm_load::stats::mean_interval(&values, crm_load::stats::LEVEL) {
            Some((m, i)) => (
                m,
                Some(Ci {
                    lo: i.lo.max(0.0),
                    hi: i.hi,
                    open: false,
                }),
            ),
            None => (values[0], None),
        };
        Some(Repeated { mean, ci, values })
    }
}

/// One cycle of a fault: its window and what the per-request log timed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultCycle {
    pub start_s: f64,
    pub end_s: f64,
    /// From the start of healing until the affected operations were served continuously
    /// (ms resolution: the first served request after the last failure).
    pub recovery_s: Option<f64>,
}

/// One redeploy of a deploy experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployCycle {
    pub start_s: f64,
    /// Until the redeployed part answered `/readyz` (polled every 10 ms).
    pub time_to_healthy_s: f64,
    /// Until every operation was served continuously again (from the request log).
    pub served_again_s: Option<f64>,
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::Repeated;

    #[test]
    fn repeats_far_apart_give_an_interval_cut_at_zero_not_below() {
        // Two recoveries of 10 ms and 900 ms: Student's t reaches far below zero.
        let r = Repeated::of(vec![0.01, 0.9]).unwrap();
        let ci = r.ci.unwrap();
        assert_eq!(ci.lo, 0.0);
        assert!(ci.hi > r.mean && r.mean > 0.4, "{r:?}");
        // Close repeats keep their own lower bound.
        let r = Repeated::of(vec![0.50, 0.52, 0.51]).unwrap();
        assert!(r.ci.unwrap().lo > 0.45, "{r:?}");
        assert_eq!(Repeated::of(vec![0.3]).unwrap().ci, None);
    }
}
