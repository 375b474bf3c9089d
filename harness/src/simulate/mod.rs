//! The simulator connected to the measurements: a crm-sim calibration derived from a
//! measured report, the report's own scenario replayed in the model and set beside what was
//! measured, and simulation studies at sizes no machine here can run. Everything this module
//! produces is *simulated*, and says so wherever it is shown.
//!
//! # Layout
//! - [`calibrate`]: `crm-bench calibrate` — a calibration from a report's held-in points
//!   ([`calibration_text`]: the file and table it prints);
//!   [`tree`] converts one measured span-tree shape, [`architecture`] the rest of an
//!   architecture (processes, events, policies), [`dists`] the distributions; [`overlap`]
//!   cuts statements that ran in parallel inside one span to their wall time.
//! - [`demand`]: service demand per process, from the trees and by the utilisation law;
//!   [`background`] the CPU a process burns outside any request span (and a
//!   held-in point whose CPU stands off the others', set aside); [`warm`] how much
//!   faster a process is when recently busy than when found idle; [`idle_cpu`] how much
//!   less CPU it spends per request when it is.
//! - [`replay`]: a measured point (sweep rate, scale step, fault window) as a crm-sim
//!   scenario; [`validate`]: predicted vs measured for every point of a report.
//! - [`study`]: `crm-bench simulate FILE` — simulation files run on both architectures;
//!   [`cores`] the cores needed to hold the SLO; [`quick`] `--quick`.
//! - [`synthetic`]: a report generated from a known calibration, for the tests.

pub mod architecture;
pub mod background;
pub mod calibrate;
pub mod calibration_text;
pub mod cores;
pub mod demand;
pub mod dists;
pub mod idle_cpu;
pub mod overlap;
pub mod queueing;
pub mod quick;
pub mod replay;
pub mod study;
pub mod synthetic;
pub mod tree;
pub mod validate;
pub mod warm;

pub use calibrate::{Calibrated, Options, calibrate};
pub use validate::validate;

use crate::results::{ModelCheck, Results};

/// Whether any sweep point of `results` has a per-hop breakdown to calibrate from.
pub fn has_breakdown(results: &Results) -> bool {
    results
        .runs
        .iter()
        .any(|r| !calibrate::traced_points(r).is_empty())
}

/// The "model vs measurement" of a finished run (the report at `report`): `None` when it has
/// no breakdown; when the model cannot be built, a section that says why.
pub fn model_section(results: &Results, report: &str) -> Option<ModelCheck> {
    if !has_breakdown(results) {
        return None;
    }
    Some(
        validate(results, report, &Options::default()).unwrap_or_else(|e| ModelCheck {
            notes: vec![format!("the model could not be built: {e:#}")],
            ..Default::default()
        }),
    )
}
