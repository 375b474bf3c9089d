//! The calibration file: what each architecture's processes and operations cost, as
//! measured. Written by `crm-bench calibrate` from a report's per-hop breakdown, readable
//! and editable by hand; documented field by field in the crate's README.
//!
//! The defaults of the call policies, the balancer and the event relay are the settings of
//! the code, each cited where it is defined.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Error, Problems};
use crate::dist::DistSpec;

pub use super::events::Events;

/// The `schema` this version reads and writes.
pub const CALIBRATION_SCHEMA: &str = "crm-sim/calibration/v1";

/// A whole calibration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub schema: String,
    /// Where the figures came from (a report directory, the runs used).
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monolith: Option<Architecture>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro: Option<Architecture>,
}

/// One architecture: its processes, how they call each other, and its operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// The policy of a remote call whose node names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_policy: Option<String>,
    #[serde(default)]
    pub balancer: Balancer,
    /// The asynchronous path of events; needed when an operation has `async` nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Events>,
    /// Named call policies (timeouts, retries, breaker), used by remote calls.
    #[serde(default)]
    pub policies: BTreeMap<String, Policy>,
    pub processes: BTreeMap<String, Process>,
    pub ops: BTreeMap<String, Operation>,
}

/// Replica choice and health, as `crates/crm-http/src/client/upstream.rs` does it: least
/// outstanding requests among healthy replicas, ties in turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balancer {
    /// Active readiness checks of every replica (`HEALTH_CHECKS` in
    /// `crm-micro/runtime/src/service.rs`, `--health-check-ms` of the gateway: 1 s).
    #[serde(default = "d_health_check_ms")]
    pub health_check_ms: f64,
    /// Failed checks, or passive failures in a row, before a replica gets no traffic
    /// (`UNHEALTHY_AFTER` = 2).
    #[serde(default = "d_unhealthy_after")]
    pub unhealthy_after: u32,
    /// How long passive failures keep a replica out (`EJECTION` = 5 s).
    #[serde(default = "d_ejection_ms")]
    pub ejection_ms: f64,
}

fn d_health_check_ms() -> f64 {
    1000.0
}
fn d_unhealthy_after() -> u32 {
    2
}
fn d_ejection_ms() -> f64 {
    5000.0
}

impl Default for Balancer {
    fn default() -> Self {
        Balancer {
            health_check_ms: d_health_check_ms(),
            unhealthy_after: d_unhealthy_after(),
            ejection_ms: d_ejection_ms(),
        }
    }
}

/// Why a call attempt failed, as a policy's `retry_on` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// Nothing answered: the replica is down or its connection was reset.
    Refused,
    /// No answer within the attempt's timeout.
    Timeout,
    /// The callee answered 503 (its breaker open, its dependency unavailable, overloaded).
    Unavailable,
    /// The callee answered 500 (e.g. its pool timed out).
    Error,
}

/// How a caller calls a process: `CallPolicy` in `crates/crm-http/src/client/service.rs`
/// (service to service, the gateway's composition) and the gateway's proxy
/// (`crm-micro/gateway/src/proxy.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Per attempt, waiting for a call slot included.
    pub timeout_ms: f64,
    /// Extra attempts, for idempotent operations only.
    #[serde(default)]
    pub retries: u32,
    /// Failures that may be retried.
    #[serde(default = "d_retry_on")]
    pub retry_on: Vec<FailureKind>,
    /// First backoff before a retry; doubles per retry up to `max_backoff_ms`.
    #[serde(default)]
    pub backoff_ms: f64,
    #[serde(default)]
    pub max_backoff_ms: f64,
    /// Adds a uniform random share of up to 100% to each backoff (backon's jitter).
    #[serde(default)]
    pub jitter: bool,
    /// Calls in flight at once from one caller replica; 0 = no limit.
    #[serde(default)]
    pub concurrency: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
}

fn d_retry_on() -> Vec<FailureKind> {
    vec![FailureKind::Refused]
}

impl Policy {
    /// `CallPolicy::default()` in `crates/crm-http/src/client/service.rs`: calls between
    /// services and the gateway's composition (customer 360, search). Retryable there:
    /// connect errors, timeouts, 502–504.
    pub fn service_client() -> Policy {
        Policy {
            timeout_ms: 5000.0,
            retries: 2,
            retry_on: vec![
                FailureKind::Refused,
                FailureKind::Timeout,
                FailureKind::Unavailable,
            ],
            backoff_ms: 25.0,
            max_backoff_ms: 500.0,
            jitter: true,
            concurrency: 256,
            breaker: Some(BreakerSpec {
                failures: 5,
                open_ms: 1000.0,
                max_open_ms: 30_000.0,
            }),
        }
    }

    /// The gateway's forwarding, `crm-micro/gateway/src/proxy.rs`: `--upstream-timeout-ms`
    /// (10 s), one more attempt for an idempotent request that could not be delivered (not
    /// after a timeout), a breaker per service opening after 5 failures for 1 s, up to 10 s.
    pub fn gateway_proxy() -> Policy {
        Policy {
            timeout_ms: 10_000.0,
            retries: 1,
            retry_on: vec![FailureKind::Refused],
            backoff_ms: 0.0,
            max_backoff_ms: 0.0,
            jitter: false,
            concurrency: 0,
            breaker: Some(BreakerSpec {
                failures: 5,
                open_ms: 1000.0,
                max_open_ms: 10_000.0,
            }),
        }
    }
}

/// A consecutive-failures circuit breaker (failsafe's `consecutive_failures`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Failures in a row (refused, timeouts, 5xx) that open it.
    pub failures: u32,
    /// Open this long the first time; each failed half-open trial doubles it.
    pub open_ms: f64,
    pub max_open_ms: f64,
}

/// A process (each of its replicas alike).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// gateway | service | monolith | database | broker.
    pub kind: String,
    /// Database connections per replica (`db_max_connections`: 16 in both builds).
    #[serde(default)]
    pub pool: u32,
    /// The database process its statements run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Longest wait for a connection (`acquire_timeout` in `crates/crm-core/src/db.rs`: 5 s).
    #[serde(default = "d_pool_timeout_ms")]
    pub pool_timeout_ms: f64,
    /// Requests served at once per replica, beyond which it answers 503; 0 = no limit
    /// (the CRM's servers have none).
    #[serde(default)]
    pub max_in_flight: u32,
    /// CPU the process burns outside any request (health checks, pollers, outbox relays,
    /// metrics sampling), in cores per replica (CPU-seconds per second of wall time); it is
    /// served ahead of request work on its node and counts against the replica's quota.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub background: f64,
    /// CPU µs per visit that no span covers (reading and parsing a request before its first
    /// span, writing the answer after its last, exporting spans): burnt on the replica beside
    /// each call or event it serves, waited for by no one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unspanned_us: f64,
    /// The cost of finding a replica cold: see [`IdleWake`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_wake: Option<IdleWake>,
}

/// A visit (a node entering the process — the root, a call, an event — or the first
/// statement of a node on a database) that finds its replica with no CPU work for τ costs
/// `us × (1 − e^(−τ / tau_ms))` more: a lone request wakes parked threads and halted cores
/// and meets cold caches, so the real system is faster under moderate load than alone, and
/// spends less CPU per request near saturation, where its replicas are never idle, than at
/// light load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleWake {
    /// The cost after a long idle time, µs.
    pub us: f64,
    /// How fast the replica cools, ms.
    pub tau_ms: f64,
    /// The share of the cost spent on the replica's core, before the visit's own work
    /// (default 0: all of it a wait that holds no core).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cpu: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn d_pool_timeout_ms() -> f64 {
    5000.0
}

/// One operation of the mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Whether repeating it is harmless (reads; writes with an Idempotency-Key), and so
    /// whether its calls may be retried.
    #[serde(default = "yes")]
    pub idempotent: bool,
    /// The shapes its request tree takes, with their probabilities (summing to 1).
    pub shapes: Vec<Shape>,
}

fn yes() -> bool {
    true
}

/// One shape of an operation's request tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    pub probability: f64,
    /// How many traces it was measured from (for the reader).
    #[serde(default)]
    pub traces: u64,
    /// The tree: node 0 is the root; every other node names its parent.
    pub nodes: Vec<Node>,
}

/// One unit of work in a process: its own CPU, its statements, then its children.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub process: String,
    /// The span's name (for the reader).
    #[serde(default)]
    pub name: String,
    /// The parent's index; absent for the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// server | internal | consumer (client and db spans are folded into `wire_us` and
    /// `db_us` of the node they belong to).
    #[serde(default = "server")]
    pub kind: String,
    /// Runs in parallel with its preceding sibling.
    #[serde(default)]
    pub concurrent: bool,
    /// Not on the response path: runs when the parent's transaction commits, through the
    /// event path.
    #[serde(default, rename = "async")]
    pub asynchronous: bool,
    /// CPU time of the node itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_us: Option<DistSpec>,
    /// The share of `self_us` spent on a core (default 1); the rest is a wait that holds
    /// nothing and queues on nothing (wake-ups, I/O, waits the trace cannot name), taken
    /// after the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_cpu: Option<f64>,
    /// Time of all its statements together, on its process's database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_us: Option<DistSpec>,
    /// The share of each statement's time spent on the database's cores (default 1); the
    /// rest (the round trip, wake-ups) is a wait holding the pool connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_cpu: Option<f64>,
    /// Statements per visit (a mean: 2.5 is 2 or 3 with equal chance); default 1 with `db_us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_statements: Option<f64>,
    /// Network time of the call reaching it (client span − server span).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_us: Option<DistSpec>,
    /// The policy of the call reaching it, when it is remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

fn server() -> String {
    "server".into()
}

impl Calibration {
    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Calibration, Error> {
        let c: Calibration = super::parse(text, origin, CALIBRATION_SCHEMA)?;
        let mut p = Problems::default();
        c.check(&mut p);
        p.finish(text, origin)?;
        Ok(c)
    }

    /// Validates a value built in code (problems carry paths; there are no lines).
    pub fn validate(&self) -> Result<(), Error> {
        let mut p = Problems::default();
        self.check(&mut p);
        p.finish("", "calibration")
    }

    /// Reads, parses and validates a calibration file.
    pub fn load(path: &Path) -> Result<Calibration, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Calibration::parse(&text, &path.display().to_string())
    }

    /// The file's text as `crm-bench calibrate` writes it ([`Calibration::parse`] reads it back).
    pub fn to_toml(&self) -> String {
        // Strings, numbers, bools, arrays and string-keyed tables only: it cannot fail.
        toml::to_string_pretty(self).expect("a calibration always serialises")
    }

    /// The architecture called `name` (`monolith` or `micro`).
    pub fn architecture(&self, name: &str) -> Option<&Architecture> {
        match name {
            "monolith" => self.monolith.as_ref(),
            "micro" => self.micro.as_ref(),
            _ => None,
        }
    }
}
