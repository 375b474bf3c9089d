//! Where a run happened: the machine, its CPU split, and the machine-speed reference that
//! lets `compare` put two machines side by side.

use serde::{Deserialize, Serialize};

/// Where it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    /// CPUs of the system under test (taskset list / cpuset), `None` = shared with the load.
    pub sut_cpus: Option<String>,
    /// CPUs of the load generator.
    pub load_cpus: Option<String>,
    pub memory_bytes: u64,
    pub kernel: String,
    pub git_commit: Option<String>,
    /// `release` or `debug`: how the CRM binaries were built.
    pub build_profile: String,
    /// The machine-speed reference measured in this run (absent in results written before
    /// it existed): what `crm-bench compare` scales by between two machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Share of all CPUs' time the hypervisor gave to other guests during the run (/proc/stat
    /// steal): on a shared virtual machine, latency the CRM did not cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_steal: Option<f64>,
}

/// A machine-speed reference: fixed work measured on the system under test's CPU while the
/// CRM was down, once before each architecture and once after the last (see
/// `experiment::calibrate`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// JSON encode-and-decode round trips of a 20-record page per second of working time
    /// (short bursts after 1 ms idle), one per measurement.
    pub json_round_trips_per_s: Vec<f64>,
    /// 128-byte request/response round trips over loopback TCP between two threads on the
    /// same CPU, per second of working time (bursts after idling), one per measurement.
    pub loopback_round_trips_per_s: Vec<f64>,
    /// The CPU it ran on (`None`: not pinned).
    pub cpu: Option<usize>,
}

impl Calibration {
    /// Median JSON round trips per second over the run's measurements.
    pub fn json_median(&self) -> Option<f64> {
        median(&self.json_round_trips_per_s)
    }

    /// Median loopback round trips per second over the run's measurements.
    pub fn loopback_median(&self) -> Option<f64> {
        median(&self.loopback_round_trips_per_s)
    }

    /// The speed index: geometric mean of the two references' medians (only ratios of two
    /// indexes mean anything). `None` without a measurement.
    pub fn speed(&self) -> Option<f64> {
        Some((self.json_median()? * self.loopback_median()?).sqrt())
    }
}

/// The median of the positive values of `xs` (the upper one of an even count); `None`
/// when there is none.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| *x > 0.0).collect();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}
