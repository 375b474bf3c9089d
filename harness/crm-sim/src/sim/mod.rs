//! The run: the state of every replica, request, call, frame and event flow, and the loop
//! that takes events off the queue and hands them to the part of the model they concern.
//!
//! # Layout
//! - [`cpu`]: nodes' cores, processor sharing, CFS quotas, pauses.
//! - [`replica`]: replicas, the balancer, health checks, breakers.
//! - [`call`]: remote calls: slots, wire, timeouts, retries.
//! - [`frame`]: a node of a request tree at work: CPU and off-core waits, pool, statements,
//!   children.
//! - [`flow`]: the asynchronous event path: relay, broker, consumer, redelivery.
//! - [`control`]: faults, redeploys and the autoscaler.
//! - [`workload`]: open-loop arrivals, closed-loop users, requests.
//! - [`timers`], [`slab`]: timeouts in FIFOs; records addressed by generation.

mod call;
mod control;
mod cpu;
mod flow;
mod frame;
mod replica;
pub(crate) mod slab;
mod timers;
mod workload;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::{Queue, SEC, Time};
use crate::model::Model;
use crate::model::placement::Placer;
use crate::output::{NodeOutcome, Outputs, ProcessOutcome, Recorder};
use cpu::{Cpu, Job};
use replica::{ProcState, Replica};
use slab::{Id, Slab};
use timers::{Sem, Timers, Token};

/// Everything that can happen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ev {
    Arrival,
    UserWake(u32),
    NodeWake {
        node: u32,
        epoch: u32,
    },
    CallArrive {
        call: Id,
        attempt: u8,
    },
    CallRetry(Id),
    Timer(u16),
    Flow(Id),
    /// A frame's off-core wait is over.
    FrameWait(Id),
    Fault {
        idx: u16,
        end: bool,
    },
    Redeploy {
        idx: u16,
        step: u16,
    },
    ReplicaUp {
        replica: u32,
        incarnation: u32,
        redeploy: Option<(u16, u16)>,
    },
    HealthCheck(u16),
    Autoscale(u16),
    Bucket,
    WarmupEnd,
    End,
}

pub(crate) struct Sim<'m> {
    m: &'m Model,
    q: Queue<Ev>,
    /// Service times and choices inside the system.
    rng: ChaCha8Rng,
    /// Arrivals, the mix and think times: the same for both architectures at one seed.
    load_rng: ChaCha8Rng,
    cpu: Cpu,
    completed: Vec<Job>,
    wakes: Vec<(usize, Time, u32)>,
    replicas: Vec<Replica>,
    procs: Vec<ProcState>,
    placer: Placer,
    reqs: Slab<workload::Req>,
    calls: Slab<call::Call>,
    frames: Slab<frame::Frame>,
    flows: Slab<flow::Flow>,
    timers: Timers,
    due: Vec<Token>,
    conns: Sem<Id>,
    users: Vec<workload::User>,
    rec: Recorder,
    ended: bool,
    cpu_mark: Vec<f64>,
    busy_mark: Vec<f64>,
    cpu_window: Vec<f64>,
    busy_window: Vec<f64>,
    /// Where the timeline's open bucket starts.
    last_bucket: Time,
}

impl<'m> Sim<'m> {
    pub(crate) fn new(m: &'m Model) -> Sim<'m> {
        let mut rng = ChaCha8Rng::seed_from_u64(m.seed);
        rng.set_stream(1);
        let mut load_rng = ChaCha8Rng::seed_from_u64(m.seed);
        load_rng.set_stream(2);
        let mut sim = Sim {
            m,
            q: Queue::new(),
            rng,
            load_rng,
            cpu: Cpu::new(&m.machines.cores, &m.machines.speed, m.cfs_period),
            completed: Vec::new(),
            wakes: Vec::new(),
            replicas: Vec::new(),
            procs: (0..m.procs.len()).map(|_| ProcState::default()).collect(),
            placer: Placer::new(&m.machines),
            reqs: Slab::new(),
            calls: Slab::new(),
            frames: Slab::new(),
            flows: Slab::new(),
            timers: Timers::new(),
            due: Vec::new(),
            conns: Sem::new(m.open.as_ref().map_or(0, |o| o.connections)),
            users: Vec::new(),
            rec: Recorder::new(m.warmup, m.duration, m.ops.len(), m.procs.len()),
            ended: false,
            cpu_mark: Vec::new(),
            busy_mark: Vec::new(),
            cpu_window: Vec::new(),
            busy_window: Vec::new(),
            last_bucket: 0,
        };
        for p in 0..m.procs.len() {
            for _ in 0..m.procs[p].replicas {
                let r = sim.spawn(p).expect("validated: every replica fits");
                sim.replicas[r].registered = true;
                sim.replicas[r].up = true;
            }
            sim.recount(0, p);
            sim.q.schedule(m.health_check, Ev::HealthCheck(p as u16));
            if let Some(a) = &m.autoscale[p] {
                sim.q.schedule(a.sync, Ev::Autoscale(p as u16));
            }
        }
        for (i, f) in m.faults.iter().enumerate() {
            let ev = match f.kind {
                crate::input::scenario::FaultKind::Redeploy => Ev::Redeploy {
                    idx: i as u16,
                    step: 0,
                },
                _ => Ev::Fault {
                    idx: i as u16,
                    end: false,
                },
            };
            sim.q.schedule(f.at, ev);
        }
        sim.q.schedule(m.bucket, Ev::Bucket);
        sim.q.schedule(m.warmup, Ev::WarmupEnd);
        sim.q.schedule(m.duration, Ev::End);
        sim.start_load();
        sim
    }

    /// Runs to the end, then lets the requests in flight finish (within their timeouts).
    pub(crate) fn run(mut self) -> Outputs {
        let longest = self
            .m
            .policies
            .iter()
            .map(|p| p.timeout * (p.retries as u64 + 1))
            .max()
            .unwrap_or(0);
        let limit = self.m.duration + 2 * longest + SEC;
        while let Some((now, ev)) = self.q.pop() {
            if now > limit {
                break;
            }
            self.handle(now, ev);
            self.settle(now);
            if self.ended && self.reqs.len() == 0 {
                break;
            }
        }
        self.outputs()
    }

    fn handle(&mut self, now: Time, ev: Ev) {
        match ev {
            Ev::Arrival => self.arrival(now),
            Ev::UserWake(u) => self.user_wakes(now, u as usize),
            Ev::NodeWake { node, epoch } => {
                if self.cpu.epoch(node as usize) == epoch {
                    self.cpu.advance(node as usize, now, &mut self.completed);
                }
            }
            Ev::CallArrive { call, attempt } => self.call_arrives(now, call, attempt),
            Ev::CallRetry(call) => self.retry(now, call),
            Ev::Timer(q) => {
                let next = self.timers.fire(q as usize, now, &mut self.due);
                if let Some(at) = next {
                    self.q.schedule(at, Ev::Timer(q));
                }
                let due = std::mem::take(&mut self.due);
                for t in &due {
                    match *t {
                        Token::Attempt(call, attempt) => self.attempt_times_out(now, call, attempt),
                        Token::Pool(frame) => self.pool_times_out(now, frame),
                    }
                }
                self.due = due;
                self.due.clear();
            }
            Ev::Flow(f) => self.flow_step(now, f),
            Ev::FrameWait(f) => self.frame_cpu_done(now, f),
            Ev::Fault { idx, end } => self.fault(now, idx as usize, end),
            Ev::Redeploy { idx, step } => self.redeploy(now, idx as usize, step as usize),
            Ev::ReplicaUp {
                replica,
                incarnation,
                redeploy,
            } => self.replica_up(now, replica as usize, incarnation, redeploy),
            Ev::HealthCheck(p) => {
                self.health_check(now, p as usize);
                self.q.after(self.m.health_check, Ev::HealthCheck(p));
            }
            Ev::Autoscale(p) => self.autoscale(now, p as usize),
            Ev::Bucket => {
                if now > self.last_bucket {
                    self.close_bucket(now);
                    self.q.after(self.m.bucket, Ev::Bucket);
                }
            }
            Ev::WarmupEnd => {
                self.cpu_mark = self.cpu_snapshot(now);
                self.busy_mark = (0..self.cpu.node_count())
                    .map(|n| self.cpu.busy_ns(n))
                    .collect();
            }
            Ev::End => {
                self.ended = true;
                let cpu = self.cpu_snapshot(now);
                self.cpu_window = cpu
                    .iter()
                    .enumerate()
                    .map(|(r, c)| c - self.cpu_mark.get(r).copied().unwrap_or(0.0))
                    .collect();
                self.busy_window = (0..self.cpu.node_count())
                    .map(|n| self.cpu.busy_ns(n) - self.busy_mark.get(n).copied().unwrap_or(0.0))
                    .collect();
                if now > self.last_bucket {
                    self.close_bucket(now);
                }
            }
        }
    }

    /// Finishes what the event set off: CPU completions (which may start more work), then
    /// one wake-up per node whose load changed.
    fn settle(&mut self, now: Time) {
        loop {
            if !self.completed.is_empty() {
                let jobs = std::mem::take(&mut self.completed);
                for job in &jobs {
                    match *job {
                        Job::Frame(f) => self.frame_cpu_done(now, f),
                        Job::Flow(f) => self.flow_cpu_done(now, f),
                        Job::Detached => {}
                    }
                }
                let mut jobs = jobs;
                jobs.clear();
                if self.completed.is_empty() {
                    self.completed = jobs;
                }
                continue;
            }
            self.cpu.wakes(now, &mut self.wakes);
            if self.wakes.is_empty() {
                return;
            }
            for (node, at, epoch) in self.wakes.drain(..) {
                self.q.schedule(
                    at,
                    Ev::NodeWake {
                        node: node as u32,
                        epoch,
                    },
                );
            }
            if self.completed.is_empty() {
                return;
            }
        }
    }

    /// Every replica's CPU nanoseconds, exact at `now`.
    fn cpu_snapshot(&mut self, now: Time) -> Vec<f64> {
        for n in 0..self.cpu.node_count() {
            self.cpu.advance(n, now, &mut self.completed);
        }
        (0..self.replicas.len())
            .map(|r| self.cpu.cpu_ns(r))
            .collect()
    }

    /// Closes the timeline's bucket ending at `now`.
    fn close_bucket(&mut self, now: Time) {
        let replicas = self.replicas_in_service();
        self.rec.close_bucket(self.last_bucket, replicas);
        self.last_bucket = now;
    }

    fn replicas_in_service(&self) -> BTreeMap<String, u32> {
        self.m
            .procs
            .iter()
            .enumerate()
            .map(|(p, def)| (def.name.clone(), self.in_service(p)))
            .collect()
    }

    fn in_service(&self, p: usize) -> u32 {
        self.procs[p]
            .members
            .iter()
            .filter(|r| self.replicas[**r].registered && self.replicas[**r].up)
            .count() as u32
    }

    fn outputs(self) -> Outputs {
        let m = self.m;
        let window = (m.duration - m.warmup) as f64;
        let names: Vec<String> = m.ops.iter().map(|o| o.name.clone()).collect();
        let in_service: Vec<u32> = (0..m.procs.len()).map(|p| self.in_service(p)).collect();
        let rec = self.rec.finish(&names);
        let mut processes = BTreeMap::new();
        for (p, def) in m.procs.iter().enumerate() {
            let reps: Vec<usize> = (0..self.replicas.len())
                .filter(|r| self.replicas[*r].proc == p)
                .collect();
            let cpu_ns: f64 = reps
                .iter()
                .map(|r| self.cpu_window.get(*r).copied().unwrap_or(0.0))
                .sum();
            let capacity =
                def.quota.unwrap_or(1.0) * self.procs[p].replica_seconds_ns(m.warmup, m.duration);
            processes.insert(
                def.name.clone(),
                ProcessOutcome {
                    cpu_seconds: cpu_ns / SEC as f64,
                    cores_used: cpu_ns / window,
                    utilisation: if capacity > 0.0 {
                        cpu_ns / capacity
                    } else {
                        0.0
                    },
                    pool_wait_us: rec.pool_wait[p].clone(),
                    replicas_at_end: in_service[p],
                    replicas_max: self.procs[p].max_in_service,
                },
            );
        }
        let nodes = (0..self.cpu.node_count())
            .map(|n| NodeOutcome {
                name: m.machines.names[n].clone(),
                cores: m.machines.cores[n],
                utilisation: self.busy_window.get(n).copied().unwrap_or(0.0)
                    / (window * m.machines.cores[n]),
            })
            .collect();
        Outputs {
            architecture: m.architecture.clone(),
            scenario: m.name.clone(),
            window_s: window / SEC as f64,
            events: self.q.processed(),
            offered_rps: rec.offered_rps,
            ops: rec.ops,
            total: rec.total,
            processes,
            nodes,
            lag_us: rec.lag,
            lag_by_op: rec.lag_by_op,
            mean_in_system: rec.mean_in_system,
            timeline: rec.timeline,
        }
    }
}
