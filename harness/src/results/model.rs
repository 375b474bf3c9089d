//! The *simulated* side of a report: what the calibrated model (crm-sim) predicts for the
//! run's own points, beside what was measured. Written by `crate::simulate::validate` when
//! a run has a per-hop breakdown; optional in results.json (`Results::model`), so results
//! written before it existed, and untraced runs, read as they are.
//!
//! Nothing here is a measurement: every `predicted` figure came out of the simulator, every
//! `measured` one is copied from the run it sits beside.

use serde::{Deserialize, Serialize};

use crate::topology::Arch;

/// Predicted against measured, per architecture, with the calibration used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCheck {
    /// Where the calibration came from, in words (report, architecture, points).
    pub source: String,
    /// The points calibrated on (held in); every other point is a prediction.
    pub held_in: Vec<PointRef>,
    /// The calibration itself (`crm-sim/calibration/v1` TOML), so the figures can be
    /// reproduced with `crm-bench simulate`.
    pub calibration_toml: String,
    pub archs: Vec<ArchModel>,
    /// What the model could not replay, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One measured point, by architecture, experiment and offered rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRef {
    pub arch: Arch,
    pub experiment: String,
    pub offered_rps: f64,
}

/// One architecture's comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchModel {
    pub arch: Arch,
    /// The utilisation law per process at the held-in point(s).
    pub demand: Vec<DemandCheck>,
    /// Predicted against measured, one row per point and metric.
    pub rows: Vec<ModelRow>,
}

/// Service demand of one process: the model's (from the calibrated self times) against the
/// utilisation law's `D = U / X` from its measured CPU seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemandCheck {
    pub process: String,
    /// CPU ms per request the calibrated trees charge to it.
    pub model_ms: f64,
    /// Its measured CPU ms per request (`None` when the run sampled no CPU for it).
    pub measured_ms: Option<f64>,
    /// The share of this process's span times the calibration puts on a core (the rest is a
    /// wait that queues on nothing): its target CPU per request (the slope of CPU over the
    /// held-in rates, or U/X at one rate) over the trees' times, when these are more than
    /// 10% above it (span self time counts the wait for a core, which the model adds back by
    /// itself), else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled_by: Option<f64>,
    /// CPU ms per request the calibration adds outside the trees' spans, where they charge
    /// the process clearly less than its target (work before the first span and after the
    /// last: parsing, writing the answer, exporting spans), else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unspanned_ms: Option<f64>,
    /// CPU it burns outside any request span, as calibrated (`None`: not sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
    /// CPU ms per request it spends waking up when every request finds it idle, where the
    /// calibration fitted a CPU wake (`calibrate --idle-cpu`), else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_ms: Option<f64>,
}

/// A process's background CPU (health checks, pollers, relays, metrics sampling): what its
/// measured CPU has beyond the trees' work per request, in cores (CPU-seconds per second),
/// over all its instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Background {
    /// Measured CPU rate − the trees' demand × the achieved rate, averaged over the held-in
    /// points (before the floor at 0).
    pub subtracted_cores: f64,
    /// The least-squares line CPU = a + b·X over two or more held-in points at different
    /// rates: `a` in cores…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_cores: Option<f64>,
    /// …and `b` in CPU ms per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_ms: Option<f64>,
    /// What the calibration uses: the line's intercept when there is one, else the
    /// subtraction, floored at 0.
    pub cores: f64,
    /// Instances it was measured over (the calibration's `background` is per replica).
    pub instances: usize,
}

impl Background {
    /// A one-line account: `0.052 cores (measured − trees × X: 0.052; fit 0.050 + 0.210 ms × X)`.
    pub fn describe(&self) -> String {
        let fit = match (self.fit_cores, self.fit_ms) {
            (Some(a), Some(b)) => format!("; fit CPU = {a:.4} + {b:.3} ms × X"),
            _ => String::new(),
        };
        let per = if self.instances > 1 {
            format!(" over {} instances", self.instances)
        } else {
            String::new()
        };
        format!(
            "{:.4} cores{per} (measured − trees × X: {:.4}{fit})",
            self.cores, self.subtracted_cores
        )
    }
}

impl DemandCheck {
    /// `(model − measured) / measured`.
    pub fn disagreement(&self) -> Option<f64> {
        relative_error(self.model_ms, self.measured_ms?)
    }

    /// CPU ms per request the calibrated model charges: the on-core share of the trees'
    /// times and the CPU added outside them.
    pub fn charged_ms(&self) -> f64 {
        self.model_ms * self.scaled_by.unwrap_or(1.0) + self.unspanned_ms.unwrap_or(0.0)
    }
}

/// One metric at one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    /// The experiment (`sweep`, a fault's name, `scale customers`).
    pub experiment: String,
    /// The point (`50 req/s`, `3 replicas`, `whole sweep`).
    pub point: String,
    /// Offered rate of the point (0 for a whole-experiment figure such as the knee).
    pub offered_rps: f64,
    /// `achieved rate`, `mean`, `p50`, `p99`, `max rate under the SLO`, `CPU per request`,
    /// `unaffected p99 during the fault`, `consistency lag p50`.
    pub metric: String,
    /// `req/s`, `µs`, `ms`.
    pub unit: String,
    pub measured: Option<f64>,
    pub predicted: Option<f64>,
    /// Calibrated on this point: not a prediction.
    pub held_in: bool,
    /// The model's utilisation of the busiest core of the system under test at this point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<f64>,
    /// The accuracy target this row is held to (0.10 = within 10%), when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
}

impl ModelRow {
    /// `(predicted − measured) / measured`, when both exist and measured is not zero.
    pub fn error(&self) -> Option<f64> {
        relative_error(self.predicted?, self.measured?)
    }

    /// Whether the row meets its target (`None` without a target or a figure).
    pub fn meets_target(&self) -> Option<bool> {
        Some(self.error()?.abs() <= self.target?)
    }
}

/// `(predicted − measured) / measured`; `None` when measured is zero or not finite.
pub fn relative_error(predicted: f64, measured: f64) -> Option<f64> {
    (measured.is_finite() && measured != 0.0 && predicted.is_finite())
        .then(|| (predicted - measured) / measured)
}
