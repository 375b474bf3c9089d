//! crm-sim: a deterministic discrete-event model of crm-bench's two architectures, to carry
//! what is measured on one small machine to sizes no one can run here.
//!
//! A **calibration** ([`Calibration`], `crm-sim/calibration/v1`) says what the measured
//! system costs: per architecture its processes (pools, databases), how they call each other
//! (timeouts, retries, breakers, the balancer) and, per operation, the shapes of its request
//! tree (μqSim's idea): at each node a process spends CPU (self time), runs statements on its
//! database while holding a pool connection, and calls children in sequence or in parallel
//! over the network; asynchronous children run after the commit through the outbox, the
//! broker and a consumer, which gives the consistency lag. A **scenario** ([`Scenario`],
//! `crm-sim/scenario/v1`) says what to simulate: nodes and cores, placement, replicas, CFS
//! quotas, open- or closed-loop load, faults, an autoscaler, duration and seed. [`simulate`]
//! runs one and returns [`Outputs`], bounded by histograms.
//!
//! ```
//! let cal = crm_sim::Calibration::parse(r#"
//! schema = "crm-sim/calibration/v1"
//! [monolith.processes.monolith]
//! kind = "monolith"
//! [[monolith.ops.ping.shapes]]
//! probability = 1.0
//! nodes = [{ process = "monolith", self_us = { exp = 500.0 } }]
//! "#, "calibration.toml")?;
//! let scenario = crm_sim::Scenario::parse(r#"
//! schema = "crm-sim/scenario/v1"
//! architecture = "monolith"
//! duration_s = 20.0
//! nodes = [{ name = "node", cores = 1 }]
//! open = { rate = 1000.0, mix = { ping = 1.0 } }
//! "#, "scenario.toml", &cal)?;
//! let out = crm_sim::simulate(&cal, &scenario)?;
//! // M/M/1 at ρ = 0.5: a mean response time of 2 × 500 µs.
//! assert!((out.total.mean_us / 1000.0 - 1.0).abs() < 0.1);
//! # Ok::<(), crm_sim::Error>(())
//! ```
//!
//! # The model
//! - **CPU**: every node's cores are shared by processor sharing among the runnable jobs
//!   of all processes placed on it, at most one core per job — closest to Linux's CFS for
//!   the short bursts of a request, and exact for the closed forms that matter here:
//!   M/M/1 and M/M/c mean response times equal FCFS's under processor sharing with
//!   exponential work. A replica's CFS quota is enforced per period: once it has used
//!   `quota × period` of CPU it is throttled until the next period.
//! - **Pools and slots** are FIFO: a database pool of k connections is an M/M/k station in
//!   front of its database (Erlang C; M/D/1's Pollaczek–Khinchine with one connection).
//! - **Calls** between processes pick a replica like the gateway's balancer (least
//!   outstanding, health checks, passive ejection), cross the wire, and are bounded by the
//!   caller's policy (timeout per attempt, retries with backoff for idempotent operations,
//!   a consecutive-failures breaker), with the settings the code uses as defaults.
//! - **Monolith and microservices** differ in the model only through their calibrations:
//!   in the monolith the tree's nodes all sit in the one process (an in-process call has no
//!   wire, no balancer, no policy and shares the replica), its statements go through one
//!   pool to one database, and its events go straight from the relay to the in-process
//!   handlers (no broker); in the microservices the gateway and each service are separate
//!   processes, each call between them is remote, each service has its own pool and
//!   database, and events cross the broker (NATS).
//!
//! # Why no DES crate
//! The engine is a `BinaryHeap` of `(time, seq)` keys with integer nanoseconds
//! ([`engine`]), about a hundred lines. The maintained Rust DES crates (`nexosim`,
//! `desim`, `sim`-style process libraries) model processes as async tasks or coroutines and
//! pay for a scheduler and boxing per event; the model here is a state machine whose events
//! are small `Copy` values, needs ≥ 5 million events per second on one core, and must be
//! bit-for-bit deterministic for a seed, which a plain heap with a sequence number gives
//! for free. Randomness is `rand_chacha`'s ChaCha8 (seedable, portable); the two
//! distributions needed (exponential, piecewise-linear quantiles) are sampled by inversion
//! from uniform draws, so `rand_distr` is not needed.
//!
//! # Layout
//! - [`engine`]: the event queue and time units.
//! - [`dist`]: distributions of times (quantiles, fixed, exponential).
//! - [`input`]: the calibration and scenario files, validation with paths and lines.
//! - `model`: calibration + scenario resolved into indices; placement of replicas.
//! - `sim`: the run itself (CPU, replicas and balancing, calls, frames and events, faults
//!   and autoscaler, workload).
//! - [`output`]: histograms, counts, utilisation and the timeline.

pub mod dist;
pub mod engine;
pub mod input;
mod model;
pub mod output;
mod sim;

pub use dist::DistSpec;
pub use input::Error;
pub use input::Problem;
pub use input::calibration::{CALIBRATION_SCHEMA, Calibration};
pub use input::scenario::{SCENARIO_SCHEMA, Scenario};
pub use output::{Bucket, FailureClass, NodeOutcome, OpOutcome, Outputs, ProcessOutcome};

/// Runs `scenario` with the costs of `calibration`. Both are validated first (a value built
/// in code has not been through `parse`).
pub fn simulate(calibration: &Calibration, scenario: &Scenario) -> Result<Outputs, Error> {
    calibration.validate()?;
    scenario.validate(calibration)?;
    let model = model::Model::build(calibration, scenario);
    Ok(sim::Sim::new(&model).run())
}
