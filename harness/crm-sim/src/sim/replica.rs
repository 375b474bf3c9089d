//! Replicas and how callers choose among them, as `crates/crm-http/src/client/upstream.rs`
//! does: the healthy replica with the fewest outstanding requests, ties in turn; when none
//! is healthy, all are candidates. Health comes from active checks (`unhealthy_after` failed
//! checks take a replica out, one success brings it back) and passive reports (that many
//! failures in a row eject it for `ejection`). One view of health and outstanding counts per
//! process is shared by all callers (the code keeps one per calling process; with one
//! gateway the two agree).
//!
//! Breakers (failsafe's consecutive-failures machine, as `service.rs` and the gateway's
//! `proxy.rs` configure it) are kept per caller replica, callee and policy, and start afresh
//! when a health check sees a callee replica come back (`FreshBreaker`).

use super::Sim;
use super::slab::Id;
use super::timers::Sem;
use crate::engine::Time;
use crate::model::BreakerDef;

/// News for a frame of a paused replica, delivered when it resumes (a stopped process reads
/// its sockets and its database's answers only then).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Held {
    Cpu,
    Child(Result<(), crate::output::FailureClass>),
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Breaker {
    failures: u32,
    open_until: Option<Time>,
    half_open: bool,
    next_open: Time,
}

impl Breaker {
    pub(crate) fn permits(&mut self, now: Time) -> bool {
        match self.open_until {
            Some(until) if now <= until => false,
            Some(_) => {
                self.open_until = None;
                self.half_open = true;
                true
            }
            None => true,
        }
    }

    pub(crate) fn success(&mut self, def: &BreakerDef) {
        self.half_open = false;
        self.failures = 0;
        self.next_open = def.open;
    }

    pub(crate) fn failure(&mut self, now: Time, def: &BreakerDef) {
        if self.next_open == 0 {
            self.next_open = def.open;
        }
        self.failures += 1;
        if self.half_open || self.failures >= def.failures {
            self.open_until = Some(now + self.next_open);
            self.next_open = (self.next_open * 2).min(def.max_open);
            self.half_open = false;
            self.failures = 0;
        }
    }
}

pub(crate) struct Replica {
    pub(crate) proc: usize,
    pub(crate) quota: Option<f64>,
    /// In the balancer's list (the registry).
    pub(crate) registered: bool,
    /// The process is running and accepts connections.
    pub(crate) up: bool,
    pub(crate) paused: bool,
    /// Bumped when the process dies: its work in progress is gone.
    pub(crate) incarnation: u32,
    /// Calls sent to it and not yet answered (the balancer's count).
    pub(crate) in_flight: u32,
    /// Requests it is serving (for `max_in_flight`).
    pub(crate) serving: u32,
    checked_healthy: bool,
    check_failures: u32,
    passive_failures: u32,
    ejected_until: Option<Time>,
    pub(crate) pool: Sem<Id>,
    /// Calls that arrived while it was paused: (call, attempt).
    pub(crate) parked: Vec<(Id, u8)>,
    /// What its frames were told while it was paused, for when it resumes.
    pub(crate) held: Vec<(Id, Held)>,
    /// Extra delay of every call to it (a slow fault).
    pub(crate) slow: Time,
    pub(crate) breakers: Vec<Breaker>,
    pub(crate) slots: Vec<Sem<(Id, u8)>>,
    /// CPU ns and time at the autoscaler's last look.
    pub(crate) hpa_mark: (f64, Time),
}

impl Replica {
    pub(crate) fn new(proc: usize, quota: Option<f64>, pool: u32) -> Replica {
        Replica {
            proc,
            quota,
            registered: false,
            up: false,
            paused: false,
            incarnation: 0,
            in_flight: 0,
            serving: 0,
            checked_healthy: true,
            check_failures: 0,
            passive_failures: 0,
            ejected_until: None,
            pool: Sem::new(pool),
            parked: Vec::new(),
            held: Vec::new(),
            slow: 0,
            breakers: Vec::new(),
            slots: Vec::new(),
            hpa_mark: (0.0, 0),
        }
    }

    fn healthy(&self, now: Time) -> bool {
        self.checked_healthy && self.ejected_until.is_none_or(|t| now >= t)
    }

    /// A passive report from a caller: `false` for a failure that says something about the
    /// replica (refused, timed out, 502–504).
    pub(crate) fn report(&mut self, now: Time, ok: bool, unhealthy_after: u32, ejection: Time) {
        if ok {
            self.passive_failures = 0;
        } else {
            self.passive_failures += 1;
            if self.passive_failures >= unhealthy_after {
                self.ejected_until = Some(now + ejection);
            }
        }
    }

    /// A readiness check; true when it brought an unhealthy or ejected replica back.
    fn checked(&mut self, ok: bool, unhealthy_after: u32) -> bool {
        if ok {
            self.check_failures = 0;
            self.passive_failures = 0;
            let was_ejected = self.ejected_until.take().is_some();
            let was_down = !self.checked_healthy;
            self.checked_healthy = true;
            return was_down || was_ejected;
        }
        self.check_failures += 1;
        if self.check_failures >= unhealthy_after {
            self.checked_healthy = false;
        }
        false
    }

    /// A fresh process: new health, no breakers, no call slots.
    pub(crate) fn restarted(&mut self) {
        self.checked_healthy = true;
        self.check_failures = 0;
        self.passive_failures = 0;
        self.ejected_until = None;
        self.breakers.clear();
        self.slots.clear();
    }

    /// The process died: nothing it held is held any more.
    pub(crate) fn died(&mut self, pool: u32) {
        self.restarted();
        self.pool = Sem::new(pool);
        self.serving = 0;
        self.parked.clear();
        self.held.clear();
    }
}

/// A process's replicas and its autoscaler's memory.
#[derive(Default)]
pub(crate) struct ProcState {
    /// Replica ids, in the order they were created (retired ones removed).
    pub(crate) members: Vec<usize>,
    /// Where the next tie-breaking scan starts.
    next: usize,
    /// Where the next replica is placed.
    pub(crate) cursor: usize,
    /// (time, desired) recommendations of the autoscaler, for scale-down stabilisation.
    pub(crate) recommendations: Vec<(Time, u32)>,
    in_service: u32,
    since: Time,
    area_ns: f64,
    pub(crate) max_in_service: u32,
}

impl ProcState {
    fn count(&mut self, now: Time, n: u32, warm: Time, end: Time) {
        let (from, to) = (self.since.max(warm), now.min(end));
        if to > from {
            self.area_ns += self.in_service as f64 * (to - from) as f64;
        }
        self.since = now;
        self.in_service = n;
        self.max_in_service = self.max_in_service.max(n);
    }

    /// Replica-nanoseconds in service over [warm, end].
    pub(crate) fn replica_seconds_ns(&self, warm: Time, end: Time) -> f64 {
        let (from, to) = (self.since.max(warm), end);
        self.area_ns
            + if to > from {
                self.in_service as f64 * (to - from) as f64
            } else {
                0.0
            }
    }
}

impl Sim<'_> {
    /// Creates a replica of `p` on a node with room; `None` when none has.
    pub(crate) fn spawn(&mut self, p: usize) -> Option<usize> {
        let def = &self.m.procs[p];
        let quota = def.quota;
        let mut cursor = self.procs[p].cursor;
        let node = self
            .placer
            .place(&def.eligible, &mut cursor, quota.unwrap_or(0.0))?;
        self.procs[p].cursor = cursor;
        let now = self.q.now();
        let id = self.cpu.add(node, quota, now);
        self.cpu
            .set_background(now, id, def.background, &mut self.completed);
        debug_assert_eq!(id, self.replicas.len());
        self.replicas.push(Replica::new(p, quota, def.pool));
        self.procs[p].members.push(id);
        Some(id)
    }

    /// Recounts `p`'s replicas in service (after any change of `registered` or `up`).
    pub(crate) fn recount(&mut self, now: Time, p: usize) {
        let n = self.in_service(p);
        self.procs[p].count(now, n, self.m.warmup, self.m.duration);
    }

    /// The replica of `p` a new call goes to.
    pub(crate) fn pick(&mut self, now: Time, p: usize) -> Option<usize> {
        let ps = &mut self.procs[p];
        let n = ps.members.len();
        if n == 0 {
            return None;
        }
        let start = ps.next;
        ps.next = ps.next.wrapping_add(1);
        let reps = &self.replicas;
        let scan = |healthy_only: bool| {
            let mut best: Option<(usize, u32)> = None;
            for i in 0..n {
                let r = ps.members[(start + i) % n];
                let rep = &reps[r];
                if !rep.registered || (healthy_only && !rep.healthy(now)) {
                    continue;
                }
                if best.is_none_or(|(_, f)| rep.in_flight < f) {
                    best = Some((r, rep.in_flight));
                    if rep.in_flight == 0 {
                        break;
                    }
                }
            }
            best.map(|(r, _)| r)
        };
        scan(true).or_else(|| scan(false))
    }

    /// A replica of database or broker process `p` that is up, in turn (statements and
    /// events are not balanced by outstanding requests: they go to whichever serves them).
    pub(crate) fn pick_up(&mut self, p: usize) -> Option<usize> {
        let ps = &mut self.procs[p];
        let n = ps.members.len();
        let start = ps.next;
        ps.next = ps.next.wrapping_add(1);
        (0..n)
            .map(|i| ps.members[(start + i) % n])
            .find(|r| self.replicas[*r].up && self.replicas[*r].registered)
    }

    /// One round of readiness checks of `p`'s replicas.
    pub(crate) fn health_check(&mut self, _now: Time, p: usize) {
        let after = self.m.unhealthy_after;
        let mut recovered = false;
        for i in 0..self.procs[p].members.len() {
            let r = self.procs[p].members[i];
            let rep = &mut self.replicas[r];
            if rep.registered {
                let ok = rep.up && !rep.paused;
                recovered |= rep.checked(ok, after);
            }
        }
        if recovered {
            let npol = self.m.policies.len();
            for rep in &mut self.replicas {
                for b in rep.breakers.iter_mut().skip(p * npol).take(npol) {
                    *b = Breaker::default();
                }
            }
        }
    }

    /// The breaker of calls from replica `from` to process `to` under `policy`.
    pub(crate) fn breaker(&mut self, from: usize, to: usize, policy: usize) -> &mut Breaker {
        let npol = self.m.policies.len();
        let b = &mut self.replicas[from].breakers;
        if b.is_empty() {
            b.resize(self.m.procs.len() * npol, Breaker::default());
        }
        &mut b[to * npol + policy]
    }

    /// The call slots of replica `from` towards process `to` under `policy`.
    pub(crate) fn slots(&mut self, from: usize, to: usize, policy: usize) -> &mut Sem<(Id, u8)> {
        let npol = self.m.policies.len();
        let size = self.m.policies[policy].concurrency;
        let s = &mut self.replicas[from].slots;
        if s.is_empty() {
            s.resize_with(self.m.procs.len() * npol, || Sem::new(0));
            for (i, sem) in s.iter_mut().enumerate() {
                sem.free = self.m.policies[i % npol].concurrency;
            }
        }
        debug_assert!(size > 0);
        &mut s[to * npol + policy]
    }
}
