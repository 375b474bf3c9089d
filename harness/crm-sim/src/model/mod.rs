//! The model a run executes: the calibration and the scenario resolved into indices, times
//! in nanoseconds and compiled distributions, so that the event loop never looks up a name.

pub(crate) mod placement;

use crate::dist::Dist;
use crate::engine::{Time, millis, secs};
use crate::input::calibration::{Architecture, Calibration, FailureKind, Policy};
use crate::input::scenario::{Arrival, FaultKind, Scenario};
use placement::Machines;

pub(crate) struct ProcDef {
    pub(crate) name: String,
    pub(crate) pool: u32,
    pub(crate) pool_timeout: Time,
    pub(crate) database: Option<usize>,
    pub(crate) max_in_flight: u32,
    pub(crate) replicas: u32,
    /// CFS quota in cores per replica.
    pub(crate) quota: Option<f64>,
    pub(crate) eligible: Vec<usize>,
    /// CPU outside requests, cores per replica.
    pub(crate) background: f64,
    /// CPU per visit outside its spans, ns.
    pub(crate) unspanned: f64,
    /// A visit's extra cost after its replica idled: (cost, cooling time) in ns, and the
    /// share of it on a core.
    pub(crate) wake: Option<(f64, f64, f64)>,
}

pub(crate) struct BreakerDef {
    pub(crate) failures: u32,
    pub(crate) open: Time,
    pub(crate) max_open: Time,
}

pub(crate) struct PolicyDef {
    pub(crate) timeout: Time,
    pub(crate) retries: u32,
    pub(crate) retry_on: Vec<FailureKind>,
    pub(crate) backoff: Time,
    pub(crate) max_backoff: Time,
    pub(crate) jitter: bool,
    pub(crate) concurrency: u32,
    pub(crate) breaker: Option<BreakerDef>,
}

pub(crate) struct NodeDef {
    pub(crate) proc: usize,
    /// Reached over the network through a balancer (else an in-process call).
    pub(crate) remote: bool,
    pub(crate) policy: usize,
    pub(crate) self_cost: Option<Dist>,
    /// The share of the self time on a core; the rest is a pure wait.
    pub(crate) self_cpu: f64,
    /// Total statement time and mean statement count.
    pub(crate) db: Option<(Dist, f64)>,
    /// The share of a statement's time on the database's cores; the rest is a wait.
    pub(crate) db_cpu: f64,
    pub(crate) wire: Option<Dist>,
    /// Synchronous children: groups run one after another, a group's members in parallel.
    pub(crate) groups: Vec<Vec<u16>>,
    pub(crate) asyncs: Vec<u16>,
}

pub(crate) struct OpDef {
    pub(crate) name: String,
    pub(crate) idempotent: bool,
    /// Cumulative probabilities of the shapes.
    pub(crate) shape_cum: Vec<f64>,
    pub(crate) shapes: Vec<Vec<NodeDef>>,
}

pub(crate) struct EventsDef {
    pub(crate) relay_poll: Time,
    pub(crate) relay: Option<Dist>,
    /// The relay's share on a core; the rest of its time is a wait.
    pub(crate) relay_cpu: f64,
    pub(crate) broker: Option<usize>,
    pub(crate) broker_cost: Option<Dist>,
    pub(crate) redeliver: Time,
}

pub(crate) struct OpenDef {
    pub(crate) poisson: bool,
    /// (from, rps, ramp) steps.
    pub(crate) steps: Vec<(Time, f64, bool)>,
    pub(crate) connections: u32,
    pub(crate) policy: usize,
    pub(crate) mix_cum: Vec<f64>,
    pub(crate) mix_ops: Vec<usize>,
}

pub(crate) struct ClosedDef {
    pub(crate) users: u32,
    pub(crate) think: Dist,
    pub(crate) ramp: Time,
    pub(crate) policy: usize,
    pub(crate) journey_cum: Vec<f64>,
    pub(crate) journeys: Vec<Vec<usize>>,
}

pub(crate) struct FaultDef {
    pub(crate) kind: FaultKind,
    pub(crate) proc: usize,
    pub(crate) replica: Option<u32>,
    pub(crate) at: Time,
    pub(crate) span: Time,
    pub(crate) restart: Time,
    pub(crate) delay: Time,
}

pub(crate) struct AutoDef {
    pub(crate) target: f64,
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) sync: Time,
    pub(crate) tolerance: f64,
    pub(crate) stabilisation: Time,
    pub(crate) startup: Time,
}

pub(crate) struct Model {
    pub(crate) architecture: String,
    pub(crate) name: String,
    pub(crate) procs: Vec<ProcDef>,
    pub(crate) policies: Vec<PolicyDef>,
    pub(crate) ops: Vec<OpDef>,
    pub(crate) machines: Machines,
    pub(crate) health_check: Time,
    pub(crate) unhealthy_after: u32,
    pub(crate) ejection: Time,
    pub(crate) events: Option<EventsDef>,
    pub(crate) open: Option<OpenDef>,
    pub(crate) closed: Option<ClosedDef>,
    pub(crate) faults: Vec<FaultDef>,
    pub(crate) autoscale: Vec<Option<AutoDef>>,
    pub(crate) duration: Time,
    pub(crate) warmup: Time,
    pub(crate) seed: u64,
    pub(crate) bucket: Time,
    pub(crate) cfs_period: Time,
}

fn policy(p: &Policy) -> PolicyDef {
    PolicyDef {
        timeout: millis(p.timeout_ms),
        retries: p.retries,
        retry_on: p.retry_on.clone(),
        backoff: millis(p.backoff_ms),
        max_backoff: millis(p.max_backoff_ms),
        jitter: p.jitter,
        concurrency: p.concurrency,
        breaker: p.breaker.as_ref().map(|b| BreakerDef {
            failures: b.failures,
            open: millis(b.open_ms),
            max_open: millis(b.max_open_ms),
        }),
    }
}

/// The load generator's policy: its timeout, no retries, no breaker.
fn client(timeout_ms: f64) -> PolicyDef {
    PolicyDef {
        timeout: millis(timeout_ms),
        retries: 0,
        retry_on: Vec::new(),
        backoff: 0,
        max_backoff: 0,
        jitter: false,
        concurrency: 0,
        breaker: None,
    }
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    let total = acc.max(f64::MIN_POSITIVE);
    out.iter_mut().for_each(|c| *c /= total);
    out
}

impl Model {
    /// Resolves a validated calibration and scenario.
    pub(crate) fn build(cal: &Calibration, sc: &Scenario) -> Model {
        let arch: &Architecture = cal
            .architecture(&sc.architecture)
            .expect("validated: the architecture is calibrated");
        let machines = Machines::new(&sc.nodes);
        let mut names: Vec<&str> = arch.processes.keys().map(String::as_str).collect();
        names.extend(
            sc.processes
                .iter()
                .filter(|(_, p)| p.like.is_some())
                .map(|(n, _)| n.as_str()),
        );
        names.sort_unstable();
        let index = |n: &str| names.iter().position(|x| *x == n);
        let procs: Vec<ProcDef> = names
            .iter()
            .map(|name| {
                let pl = sc.processes.get(*name);
                let base = pl.and_then(|p| p.like.as_deref()).unwrap_or(name);
                let cp = &arch.processes[base];
                let db = pl
                    .and_then(|p| p.database.as_deref())
                    .or(cp.database.as_deref());
                ProcDef {
                    name: name.to_string(),
                    pool: pl.and_then(|p| p.pool).unwrap_or(cp.pool),
                    pool_timeout: millis(cp.pool_timeout_ms),
                    database: db.and_then(index),
                    max_in_flight: cp.max_in_flight,
                    replicas: pl.map_or(1, |p| p.replicas),
                    quota: pl.and_then(|p| p.cpus),
                    eligible: machines.eligible(pl.map_or(&[][..], |p| &p.nodes)),
                    background: cp.background,
                    unspanned: cp.unspanned_us * 1e3,
                    wake: cp
                        .idle_wake
                        .as_ref()
                        .filter(|w| w.us > 0.0)
                        .map(|w| (w.us * 1e3, w.tau_ms * 1e6, w.cpu)),
                }
            })
            .collect();
        let mut policies: Vec<PolicyDef> = arch.policies.values().map(policy).collect();
        let policy_index = |n: &str| arch.policies.keys().position(|k| k == n).unwrap_or(0);
        let default_policy = arch
            .default_policy
            .as_deref()
            .map(policy_index)
            .unwrap_or(0);
        let open_policy = policies.len();
        policies.push(client(sc.open.as_ref().map_or(5000.0, |o| o.timeout_ms)));
        let closed_policy = policies.len();
        policies.push(client(sc.closed.as_ref().map_or(5000.0, |c| c.timeout_ms)));

        let ops: Vec<OpDef> = arch
            .ops
            .iter()
            .map(|(name, op)| OpDef {
                name: name.clone(),
                idempotent: op.idempotent,
                shape_cum: cumulative(op.shapes.iter().map(|s| s.probability)),
                shapes: op
                    .shapes
                    .iter()
                    .map(|s| {
                        s.nodes
                            .iter()
                            .enumerate()
                            .map(|(i, n)| {
                                let parent = n.parent.map(|p| &s.nodes[p]);
                                let mut groups: Vec<Vec<u16>> = Vec::new();
                                let mut asyncs = Vec::new();
                                for (c, child) in s.nodes.iter().enumerate() {
                                    if child.parent != Some(i) {
                                        continue;
                                    }
                                    if child.asynchronous {
                                        asyncs.push(c as u16);
                                    } else if child.concurrent && !groups.is_empty() {
                                        groups.last_mut().expect("non-empty").push(c as u16);
                                    } else {
                                        groups.push(vec![c as u16]);
                                    }
                                }
                                let stmts = n.db_statements.unwrap_or(1.0);
                                NodeDef {
                                    proc: index(&n.process).expect("validated process"),
                                    remote: parent.is_none_or(|p| p.process != n.process),
                                    policy: n
                                        .policy
                                        .as_deref()
                                        .map_or(default_policy, policy_index),
                                    self_cost: n.self_us.as_ref().map(|d| d.compile()),
                                    self_cpu: n.self_cpu.unwrap_or(1.0),
                                    db_cpu: n.db_cpu.unwrap_or(1.0),
                                    db: n
                                        .db_us
                                        .as_ref()
                                        .filter(|_| stmts > 0.0)
                                        .map(|d| (d.compile(), stmts)),
                                    wire: n.wire_us.as_ref().map(|d| d.compile()),
                                    groups,
                                    asyncs,
                                }
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect();
        let op_index = |n: &str| ops.iter().position(|o| o.name == n).expect("validated op");

        let open = sc.open.as_ref().map(|o| {
            let steps = match o.rate {
                Some(r) => vec![(0, r, false)],
                None => o
                    .profile
                    .iter()
                    .map(|s| (secs(s.at_s), s.rps, s.ramp))
                    .collect(),
            };
            OpenDef {
                poisson: o.arrival == Arrival::Poisson,
                steps,
                connections: o.connections,
                policy: open_policy,
                mix_cum: cumulative(o.mix.values().copied()),
                mix_ops: o.mix.keys().map(|k| op_index(k)).collect(),
            }
        });
        let closed = sc.closed.as_ref().map(|c| ClosedDef {
            users: c.users,
            think: c.think_us.compile(),
            ramp: secs(c.ramp_s),
            policy: closed_policy,
            journey_cum: cumulative(c.journeys.iter().map(|j| j.weight)),
            journeys: c
                .journeys
                .iter()
                .map(|j| j.ops.iter().map(|o| op_index(o)).collect())
                .collect(),
        });
        let events = arch.events.as_ref().map(|e| EventsDef {
            relay_poll: millis(e.relay_poll_ms),
            relay: e.relay_us.as_ref().map(|d| d.compile()),
            relay_cpu: e.relay_share(),
            broker: e.broker.as_deref().and_then(index),
            broker_cost: e.broker_us.as_ref().map(|d| d.compile()),
            redeliver: millis(e.redeliver_ms),
        });
        let faults = sc
            .faults
            .iter()
            .map(|f| FaultDef {
                kind: f.kind,
                proc: index(&f.process).expect("validated process"),
                replica: f.replica,
                at: secs(f.at_s),
                span: secs(f.for_s),
                restart: secs(f.restart_s),
                delay: millis(f.delay_ms),
            })
            .collect();
        let autoscale = names
            .iter()
            .map(|n| {
                sc.autoscale.get(*n).map(|a| AutoDef {
                    target: a.target,
                    min: a.min,
                    max: a.max,
                    sync: secs(a.sync_s),
                    tolerance: a.tolerance,
                    stabilisation: secs(a.stabilisation_s),
                    startup: secs(a.startup_s),
                })
            })
            .collect();
        Model {
            architecture: sc.architecture.clone(),
            name: sc.name.clone(),
            procs,
            policies,
            ops,
            machines,
            health_check: millis(arch.balancer.health_check_ms),
            unhealthy_after: arch.balancer.unhealthy_after,
            ejection: millis(arch.balancer.ejection_ms),
            events,
            open,
            closed,
            faults,
            autoscale,
            duration: secs(sc.duration_s),
            warmup: secs(sc.warmup_s),
            seed: sc.seed,
            bucket: secs(sc.bucket_s),
            cfs_period: millis(sc.cfs_period_ms),
        }
    }
}
