//! Cores shared by processor sharing, with CFS quotas.
//!
//! Every runnable job on a node gets an equal share of its cores, at most one core each:
//! with `n` jobs on `c` cores each runs at `min(1, c/n)` of a core (Linux's CFS gives every
//! runnable thread an equal share; small bursts interleave rather than queue). A replica
//! with a quota of `q` cores may use `q × period` of CPU time per CFS period; once it has,
//! its jobs stop (throttled) until the next period begins. A paused replica's jobs stop too.
//!
//! All runnable jobs of a node progress at the same rate, so each replica keeps a virtual
//! clock of work done per job since it started; a job finishes when its replica's clock
//! reaches the job's tag (clock at submission + work). A job's completion is then the
//! smallest tag among the node's runnable replicas, found without touching every job.
//!
//! A replica may also burn **background** CPU outside any job (health checks, pollers,
//! relays, metrics): `b` cores while it is not paused. Background is served first: a node
//! whose replicas ask `B` cores of background gives them `min(B, cores)` (each its part of
//! it) and shares the rest among the jobs, so one core with background `b` serves requests
//! as a processor of capacity `1 − b`. Under a quota `q` the background (at most `q`) is
//! charged at each period's start, leaving its jobs `(q − b) × period`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::Time;

/// What finishes when a job's work is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Job {
    Frame(super::slab::Id),
    Flow(super::slab::Id),
    /// Work no one waits for (a process's CPU outside its spans).
    Detached,
}

struct Queued {
    tag: f64,
    seq: u64,
    job: Job,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    /// Reversed: the heap's top is the smallest tag, the earliest submitted among equals.
    fn cmp(&self, o: &Self) -> Ordering {
        o.tag.total_cmp(&self.tag).then(o.seq.cmp(&self.seq))
    }
}

/// Work (ns at speed 1) below which a job counts as done: absorbs floating-point rounding.
const EPS: f64 = 1e-3;

struct Rep {
    node: usize,
    /// Work done per job since the replica started (ns at speed 1).
    clock: f64,
    jobs: BinaryHeap<Queued>,
    /// CPU time allowed per period (ns), if quota'd.
    quota: Option<f64>,
    used: f64,
    period: u64,
    throttled: bool,
    paused: bool,
    cpu_ns: f64,
    /// Background CPU asked, in cores (at most the quota).
    bg: f64,
    /// When its last job finished (its threads idle since).
    idle_since: Time,
}

impl Rep {
    fn runnable(&self) -> bool {
        !self.throttled && !self.paused && !self.jobs.is_empty()
    }

    /// Background CPU it asks now, in cores.
    fn bg_now(&self) -> f64 {
        if self.paused { 0.0 } else { self.bg }
    }
}

struct Node {
    cores: f64,
    speed: f64,
    last: Time,
    /// Jobs of runnable replicas.
    running: usize,
    members: Vec<usize>,
    epoch: u32,
    dirty: bool,
    busy_ns: f64,
}

impl Node {
    /// `(share, scale, background)`: the CPU share of each running job in cores, the part of
    /// its ask each replica's background gets, and the cores background takes in all.
    fn load(&self, reps: &[Rep]) -> (f64, f64, f64) {
        let asked: f64 = self.members.iter().map(|r| reps[*r].bg_now()).sum();
        let bg = asked.min(self.cores);
        let scale = if asked > 0.0 { bg / asked } else { 0.0 };
        let share = if self.running > 0 {
            ((self.cores - bg) / self.running as f64).min(1.0)
        } else {
            0.0
        };
        (share, scale, bg)
    }
}

pub(crate) struct Cpu {
    nodes: Vec<Node>,
    reps: Vec<Rep>,
    period: Time,
    seq: u64,
    dirty: Vec<usize>,
}

impl Cpu {
    pub(crate) fn new(cores: &[f64], speed: &[f64], period: Time) -> Cpu {
        Cpu {
            nodes: cores
                .iter()
                .zip(speed)
                .map(|(c, s)| Node {
                    cores: *c,
                    speed: *s,
                    last: 0,
                    running: 0,
                    members: Vec::new(),
                    epoch: 0,
                    dirty: false,
                    busy_ns: 0.0,
                })
                .collect(),
            reps: Vec::new(),
            period: period.max(1),
            seq: 0,
            dirty: Vec::new(),
        }
    }

    /// A replica on `node` with an optional quota in cores; its index is the next replica id.
    pub(crate) fn add(&mut self, node: usize, quota: Option<f64>, now: Time) -> usize {
        let id = self.reps.len();
        self.reps.push(Rep {
            node,
            clock: 0.0,
            jobs: BinaryHeap::new(),
            quota: quota.map(|q| q * self.period as f64),
            used: 0.0,
            period: now / self.period,
            throttled: false,
            paused: false,
            cpu_ns: 0.0,
            bg: 0.0,
            idle_since: now,
        });
        self.nodes[node].members.push(id);
        id
    }

    /// Brings `node` to `now`: progress at the old rate, period changes, completions (pushed
    /// to `done` in tag order per replica), throttling.
    pub(crate) fn advance(&mut self, node: usize, now: Time, done: &mut Vec<Job>) {
        let n = &mut self.nodes[node];
        let dt = now.saturating_sub(n.last) as f64;
        if dt > 0.0 {
            let (share, scale, bg) = n.load(&self.reps);
            let work = dt * share * n.speed;
            let cpu = dt * share;
            n.busy_ns += dt * (n.running as f64 * share + bg);
            for &r in &n.members {
                let rep = &mut self.reps[r];
                rep.cpu_ns += dt * rep.bg_now() * scale;
                if rep.runnable() {
                    rep.clock += work;
                    let c = cpu * rep.jobs.len() as f64;
                    rep.used += c;
                    rep.cpu_ns += c;
                }
            }
        }
        n.last = n.last.max(now);
        let period = now / self.period;
        for &r in &n.members {
            let rep = &mut self.reps[r];
            if rep.quota.is_some() && rep.period != period {
                rep.period = period;
                rep.used = rep.bg * self.period as f64;
                if rep.throttled {
                    rep.throttled = false;
                    if rep.runnable() {
                        n.running += rep.jobs.len();
                    }
                }
            }
            if rep.runnable() {
                while rep.jobs.peek().is_some_and(|j| j.tag <= rep.clock + EPS) {
                    let j = rep.jobs.pop().expect("peeked");
                    done.push(j.job);
                    n.running -= 1;
                    rep.idle_since = now;
                }
            }
            if let Some(q) = rep.quota
                && rep.used >= q - EPS
                && rep.runnable()
            {
                n.running -= rep.jobs.len();
                rep.throttled = true;
            }
        }
        if !n.dirty {
            n.dirty = true;
            self.dirty.push(node);
        }
    }

    /// Starts `work_ns` (at speed 1) of CPU for `job` on replica `r`.
    pub(crate) fn submit(
        &mut self,
        now: Time,
        r: usize,
        work_ns: f64,
        job: Job,
        done: &mut Vec<Job>,
    ) {
        let node = self.reps[r].node;
        self.advance(node, now, done);
        let rep = &mut self.reps[r];
        let was_runnable = rep.runnable();
        self.seq += 1;
        rep.jobs.push(Queued {
            tag: rep.clock + work_ns.max(0.0),
            seq: self.seq,
            job,
        });
        let n = &mut self.nodes[node];
        if was_runnable {
            n.running += 1;
        } else if rep.runnable() {
            n.running += rep.jobs.len();
        }
    }

    /// Stops or resumes replica `r`'s jobs (SIGSTOP / SIGCONT).
    pub(crate) fn set_paused(&mut self, now: Time, r: usize, paused: bool, done: &mut Vec<Job>) {
        let node = self.reps[r].node;
        self.advance(node, now, done);
        let rep = &mut self.reps[r];
        let before = rep.runnable();
        rep.paused = paused;
        let after = rep.runnable();
        let n = &mut self.nodes[node];
        match (before, after) {
            (true, false) => n.running -= rep.jobs.len(),
            (false, true) => n.running += rep.jobs.len(),
            _ => {}
        }
    }

    /// Sets replica `r`'s background CPU, in cores (0 while the process is down).
    pub(crate) fn set_background(&mut self, now: Time, r: usize, cores: f64, done: &mut Vec<Job>) {
        let node = self.reps[r].node;
        self.advance(node, now, done);
        let period = self.period as f64;
        let rep = &mut self.reps[r];
        let bg = rep.quota.map_or(cores, |q| cores.min(q / period)).max(0.0);
        if rep.quota.is_some() {
            // The rest of this period's background, charged now as a period's start would.
            let left = (rep.period + 1) as f64 * period - now as f64;
            rep.used = (rep.used + (bg - rep.bg) * left).max(0.0);
        }
        rep.bg = bg;
    }

    /// Drops every job of replica `r` (the process died).
    pub(crate) fn clear(&mut self, now: Time, r: usize, done: &mut Vec<Job>) {
        let node = self.reps[r].node;
        self.advance(node, now, done);
        let rep = &mut self.reps[r];
        if rep.runnable() {
            self.nodes[node].running -= rep.jobs.len();
        }
        rep.jobs.clear();
        rep.idle_since = now;
    }

    /// How long replica `r` has had no job at `now` (`None` while it has one).
    pub(crate) fn idle_for(&mut self, now: Time, r: usize, done: &mut Vec<Job>) -> Option<Time> {
        self.advance(self.reps[r].node, now, done);
        let rep = &self.reps[r];
        rep.jobs
            .is_empty()
            .then(|| now.saturating_sub(rep.idle_since))
    }

    /// The nodes changed since the last call, each with its next wake-up `(node, at, epoch)`;
    /// an earlier wake-up of the same node is stale from now on.
    pub(crate) fn wakes(&mut self, now: Time, out: &mut Vec<(usize, Time, u32)>) {
        for node in self.dirty.drain(..) {
            let n = &mut self.nodes[node];
            n.dirty = false;
            n.epoch = n.epoch.wrapping_add(1);
            let mut next = f64::INFINITY;
            let mut boundary = false;
            let (share, _, _) = n.load(&self.reps);
            let rate = share * n.speed;
            for &r in &n.members {
                let rep = &self.reps[r];
                if rep.throttled {
                    boundary = true;
                    continue;
                }
                if !rep.runnable() {
                    continue;
                }
                let top = rep.jobs.peek().expect("runnable has jobs");
                if rate > 0.0 {
                    next = next.min((top.tag - rep.clock) / rate);
                }
                if let Some(q) = rep.quota {
                    if share > 0.0 {
                        next = next.min((q - rep.used) / (share * rep.jobs.len() as f64));
                    }
                    boundary = true;
                }
            }
            let mut at = if next.is_finite() {
                now + next.max(0.0).ceil().max(1.0) as Time
            } else {
                Time::MAX
            };
            if boundary {
                at = at.min((now / self.period + 1) * self.period);
            }
            if at != Time::MAX {
                out.push((node, at, n.epoch));
            }
        }
    }

    pub(crate) fn epoch(&self, node: usize) -> u32 {
        self.nodes[node].epoch
    }

    /// CPU seconds used by replica `r` so far (exact after [`Cpu::advance`] of its node).
    pub(crate) fn cpu_ns(&self, r: usize) -> f64 {
        self.reps[r].cpu_ns
    }

    pub(crate) fn node_of(&self, r: usize) -> usize {
        self.reps[r].node
    }

    /// Core-nanoseconds `node` has been busy.
    pub(crate) fn busy_ns(&self, node: usize) -> f64 {
        self.nodes[node].busy_ns
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests;
