//! The event path of a calibration (`events` of an architecture): outbox, relay, broker,
//! redelivery. Re-exported from [`super::calibration`].

use serde::{Deserialize, Serialize};

use crate::dist::DistSpec;

/// Events after a commit: outbox → relay → broker → consumer (`crates/crm-core/src/outbox.rs`,
/// `crm-micro/runtime/src/events/consume.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    /// The relay's polling interval; 0 = woken at commit, as the code does
    /// (`crm_core::db` wakes the relay on commit; the 250 ms poll is only a fallback).
    #[serde(default)]
    pub relay_poll_ms: f64,
    /// Time of the relay per event, on the producing process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_us: Option<DistSpec>,
    /// Share of `relay_us` on a core (default 1); the rest a wait on the event's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_cpu: Option<f64>,
    /// The broker process every event crosses (`nats`); none in the monolith, whose relay
    /// calls its handlers in-process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// CPU of the broker per event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_us: Option<DistSpec>,
    /// When no consumer replica is up, the broker redelivers after this (`ACK_WAIT` = 30 s).
    #[serde(default = "d_redeliver_ms")]
    pub redeliver_ms: f64,
}

impl Events {
    /// The relay's share on a core (`relay_cpu`, default 1).
    pub fn relay_share(&self) -> f64 {
        self.relay_cpu.unwrap_or(1.0)
    }
}

fn d_redeliver_ms() -> f64 {
    30_000.0
}
