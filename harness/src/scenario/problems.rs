//! The problems a scenario check collects, each `path: message`, and the checks several keys
//! share (numbers, durations, operation mixes, service names, CPU lists).

use std::collections::BTreeMap;

use crate::topology::MICRO_SERVICES;
use crate::workload::catalog;

/// Problems found so far, each `path: message`.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    pub(super) fn check(&mut self, ok: bool, path: &str, msg: impl FnOnce() -> String) {
        if !ok {
            self.0.push(format!("{path}: {}", msg()));
        }
    }

    pub(super) fn positive(&mut self, v: f64, path: &str) {
        self.check(v.is_finite() && v > 0.0, path, || {
            format!("must be a positive number, got {v}")
        });
    }

    pub(super) fn duration(&mut self, v: Option<f64>, path: &str) {
        if let Some(v) = v {
            self.check(v.is_finite() && v >= 1.0, path, || {
                format!("must be at least 1 second, got {v}")
            });
        }
    }

    pub(super) fn warmup(&mut self, v: Option<f64>, path: &str) {
        if let Some(v) = v {
            self.check(v.is_finite() && v >= 0.0, path, || {
                format!("must be zero or more seconds, got {v}")
            });
        }
    }

    pub(super) fn mix(&mut self, mix: &BTreeMap<String, f64>, path: &str) {
        for (op, w) in mix {
            self.check(catalog::find(op).is_some(), &format!("{path}.{op}"), || {
                format!(
                    "unknown operation (operations: {})",
                    catalog::names().join(", ")
                )
            });
            self.check(w.is_finite() && *w >= 0.0, &format!("{path}.{op}"), || {
                format!("a weight must be zero or more, got {w}")
            });
        }
        self.check(mix.values().any(|w| *w > 0.0), path, || {
            "needs at least one operation with a positive weight".into()
        });
    }

    pub(super) fn service(&mut self, name: &str, path: &str, gateway_ok: bool) {
        let ok = MICRO_SERVICES.contains(&name) || (gateway_ok && name == "gateway");
        self.check(ok, path, || {
            format!(
                "unknown service '{name}' (services: {}{})",
                MICRO_SERVICES.join(", "),
                if gateway_ok { ", gateway" } else { "" }
            )
        });
    }

    pub(super) fn cpus(&mut self, list: &Option<String>, path: &str) {
        if let Some(l) = list {
            self.check(valid_cpu_list(l), path, || {
                format!("'{l}' is not a CPU list such as \"1\", \"0,2\" or \"1-3\"")
            });
        }
    }
}

/// A taskset-style CPU list: numbers and ranges separated by commas.
pub(crate) fn valid_cpu_list(l: &str) -> bool {
    !l.is_empty()
        && l.split(',').all(|part| {
            let mut ends = part.splitn(2, '-').map(|n| n.trim().parse::<u32>());
            match (ends.next(), ends.next()) {
                (Some(Ok(_)), None) => true,
                (Some(Ok(a)), Some(Ok(b))) => a <= b,
                _ => false,
            }
        })
}
