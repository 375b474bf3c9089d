//! crm-sim against closed forms, its own behaviours, and bad input.
//!
//! The closed-form tests run 10⁶ requests each; the crate is compiled with opt-level 3 even
//! in debug builds (workspace `Cargo.toml`) so that they take seconds.

mod bad_input;
mod calls;
mod capacity;
mod closed_forms;

use crm_sim::{Calibration, Outputs, Scenario};

pub(crate) fn calibration(text: &str) -> Calibration {
    Calibration::parse(text, "calibration.toml").unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn scenario(text: &str, cal: &Calibration) -> Scenario {
    Scenario::parse(text, "scenario.toml", cal).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn run(cal: &str, sc: &str) -> Outputs {
    let cal = calibration(cal);
    let sc = scenario(sc, &cal);
    crm_sim::simulate(&cal, &sc).unwrap_or_else(|e| panic!("{e}"))
}

/// `|measured / expected − 1|`.
pub(crate) fn rel(measured: f64, expected: f64) -> f64 {
    (measured / expected - 1.0).abs()
}
