//! The `[[experiment]]` tables of a scenario, one variant per `kind`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One experiment; `kind` selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExperimentSpec {
    /// Offered-rate steps → achieved rate and percentiles; the highest rate within the SLO.
    Sweep(SweepSpec),
    /// Break one part during a load run; blast radius and recovery.
    Fault(FaultSpec),
    /// Redeploy one service (or the monolith) under load.
    Deploy(DeploySpec),
    /// Replicas 1..N of one service under a CPU quota each.
    Scale(ScaleSpec),
    /// The same total CPU budgets for both architectures: max rate under the SLO per CPU.
    Budget(super::budget::BudgetSpec),
    /// Interactive traffic alone, then beside heavy analytics queries.
    NoisyNeighbour(NoisySpec),
    /// Event → projection lag under load, then reconciliation.
    Consistency(ConsistencySpec),
    /// CPU and memory per process at a fixed rate; CPU-ms per request.
    Resources(ResourcesSpec),
    /// Closed-loop user journeys with think time (goose).
    Journeys(JourneysSpec),
    /// A load run with arbitrary actions at given times.
    Steps(StepsSpec),
}

impl ExperimentSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            ExperimentSpec::Sweep(_) => "sweep",
            ExperimentSpec::Fault(_) => "fault",
            ExperimentSpec::Deploy(_) => "deploy",
            ExperimentSpec::Scale(_) => "scale",
            ExperimentSpec::Budget(_) => "budget",
            ExperimentSpec::NoisyNeighbour(_) => "noisy-neighbour",
            ExperimentSpec::Consistency(_) => "consistency",
            ExperimentSpec::Resources(_) => "resources",
            ExperimentSpec::Journeys(_) => "journeys",
            ExperimentSpec::Steps(_) => "steps",
        }
    }

    /// The experiment's name: given, or its kind.
    pub fn name(&self) -> String {
        let given = match self {
            ExperimentSpec::Sweep(s) => &s.name,
            ExperimentSpec::Fault(s) => &s.name,
            ExperimentSpec::Deploy(s) => &s.name,
            ExperimentSpec::Scale(s) => &s.name,
            ExperimentSpec::Budget(s) => &s.name,
            ExperimentSpec::NoisyNeighbour(s) => &s.name,
            ExperimentSpec::Consistency(s) => &s.name,
            ExperimentSpec::Resources(s) => &s.name,
            ExperimentSpec::Journeys(s) => &s.name,
            ExperimentSpec::Steps(s) => &s.name,
        };
        given.clone().unwrap_or_else(|| self.kind().to_owned())
    }
}

/// Binary search for the highest rate that meets the SLO.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSearch {
    pub low: f64,
    pub high: f64,
    /// Points measured by the search at most (after the explicit `rates`).
    #[serde(default = "five")]
    pub iterations: u32,
    /// The search stops early once the knee's interval is within ± this fraction of it.
    #[serde(default = "knee_precision")]
    pub precision: f64,
}

fn five() -> u32 {
    5
}
fn knee_precision() -> f64 {
    0.05
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: Option<String>,
    /// Offered rates measured first, in order.
    #[serde(default)]
    pub rates: Vec<f64>,
    pub search: Option<SweepSearch>,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

/// What is done to a part, at a step or as a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// SIGKILL / docker kill (healed by `restart`).
    Kill,
    /// SIGSTOP / docker pause (healed by `unpause`).
    Pause,
    Unpause,
    /// Start again (after a kill), or stop gracefully and start (a redeploy).
    Restart,
    /// Replica by replica: drained from the gateway, stopped gracefully, started, ready,
    /// put back (a redeploy that should fail nothing).
    RollingRestart,
    /// Latency added in front of a service (a user-space proxy); healed by `unslow`.
    Slow,
    Unslow,
    /// Set the number of replicas (`replicas`).
    Scale,
    /// The monolith's module failures (healed by `heal`): every request of the module
    /// panics and its event handlers fail; a CPU hog beside it; its queries slowed.
    Panic,
    CpuHog,
    SlowQuery,
    Heal,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Restart => "restart",
            Action::RollingRestart => "rolling-restart",
            Action::Slow => "slow",
            Action::Unslow => "unslow",
            Action::Scale => "scale",
            Action::Panic => "panic",
            Action::CpuHog => "cpu-hog",
            Action::SlowQuery => "slow-query",
            Action::Heal => "heal",
        }
    }

    /// The action that ends this fault.
    pub fn heal(self) -> Option<Action> {
        match self {
            Action::Kill => Some(Action::Restart),
            Action::Pause => Some(Action::Unpause),
            Action::Slow => Some(Action::Unslow),
            Action::Panic | Action::CpuHog | Action::SlowQuery => Some(Action::Heal),
            _ => None,
        }
    }

    /// The monolith's counterpart of breaking one service this way: its module fails while
    /// the process lives on (a kill becomes a panic loop, a slow service slow queries); a
    /// pause cannot stop one module, so the whole process is paused.
    pub fn monolith_equivalent(self) -> Action {
        match self {
            Action::Kill => Action::Panic,
            Action::Slow => Action::SlowQuery,
            other => other,
        }
    }

    pub fn is_fault(self) -> bool {
        self.heal().is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub name: Option<String>,
    /// The service (micro) / module (monolith) to break.
    pub target: String,
    pub action: Action,
    /// What to do to the monolith instead; default: [`Action::monolith_equivalent`].
    pub monolith: Option<Action>,
    /// Replicas during the run (default 1). With 2 or more, the fault is a process fault
    /// (kill or pause) of one replica of N on both sides: of the target service behind the
    /// gateway, and of the monolith behind its balancer.
    #[serde(default = "one_replica")]
    pub replicas: u32,
    /// Added latency for `slow` / `slow-query`, milliseconds.
    #[serde(default = "delay_ms")]
    pub delay_ms: u64,
    pub rate: f64,
    /// Fault from `at_s` (after warm-up) for `for_s` seconds; the run lasts `duration_s`.
    pub at_s: f64,
    pub for_s: f64,
    /// The fault is applied this many times in the run (recovery gets an interval from
    /// two or more); cycle `c` starts at `at_s + c · (for_s + gap_s)`.
    #[serde(default = "one_cycle")]
    pub cycles: u32,
    /// Seconds from one healing to the next fault (default: `for_s`).
    pub gap_s: Option<f64>,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

fn delay_ms() -> u64 {
    200
}
fn one_cycle() -> u32 {
    1
}

impl FaultSpec {
    /// Seconds between the starts of two cycles.
    pub fn period_s(&self) -> f64 {
        self.for_s + self.gap_s.unwrap_or(self.for_s)
    }

    /// When the last cycle's fault ends, seconds after warm-up.
    pub fn last_end_s(&self) -> f64 {
        self.at_s + f64::from(self.cycles.max(1) - 1) * self.period_s() + self.for_s
    }
}

/// How a service is redeployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployMode {
    /// Stop (gracefully) and start the one instance.
    Restart,
    /// Replica by replica, each drained from the gateway first (needs 2+ replicas).
    Rolling,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    pub name: Option<String>,
    /// The microservice to redeploy; the monolith always redeploys as a whole.
    pub service: String,
    pub mode: DeployMode,
    #[serde(default = "one_replica")]
    pub replicas: u32,
    pub rate: f64,
    /// Redeploy at `at_s` (after warm-up).
    pub at_s: f64,
    /// Redeploys in the run (time to healthy gets an interval from two or more), every
    /// `every_s` seconds from `at_s`.
    #[serde(default = "one_cycle")]
    pub cycles: u32,
    #[serde(default = "every_s")]
    pub every_s: f64,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

fn one_replica() -> u32 {
    1
}
fn every_s() -> f64 {
    6.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSpec {
    pub name: Option<String>,
    pub service: String,
    /// Replica counts to measure, e.g. `[1, 2, 3]`.
    pub replicas: Vec<u32>,
    /// CPU quota of each replica, in cores.
    pub cpus_per_replica: f64,
    /// Connections of the saturating closed-loop load.
    #[serde(default = "scale_connections")]
    pub connections: u32,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

fn scale_connections() -> u32 {
    32
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoisySpec {
    pub name: Option<String>,
    /// Rate of the interactive mix.
    pub rate: f64,
    /// Rate of the heavy analytics neighbour.
    pub neighbour_rate: f64,
    /// The neighbour's operations (default: the analytics dashboards).
    pub neighbour_mix: Option<BTreeMap<String, f64>>,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencySpec {
    pub name: Option<String>,
    pub rate: f64,
    /// Lag probes (a write, then polling analytics until it shows) during the run.
    #[serde(default = "probes")]
    pub probes: u32,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

fn probes() -> u32 {
    40
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    pub name: Option<String>,
    pub rate: f64,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneysSpec {
    pub name: Option<String>,
    pub users: u32,
    /// Users started per second.
    #[serde(default = "hatch_rate")]
    pub hatch_rate: f64,
    /// Think time between a user's steps, milliseconds.
    #[serde(default = "think_ms")]
    pub think_ms: u64,
    pub duration_s: Option<f64>,
}

fn hatch_rate() -> f64 {
    10.0
}
fn think_ms() -> u64 {
    500
}

/// One action of a `steps` experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Seconds after warm-up.
    pub at_s: f64,
    pub action: Action,
    /// An instance (`customers`, `customers#2`) or service; for the monolith a module.
    pub target: String,
    pub delay_ms: Option<u64>,
    pub replicas: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsSpec {
    pub name: Option<String>,
    pub rate: f64,
    pub steps: Vec<Step>,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}
