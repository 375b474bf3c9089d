//! A node of a request tree at work on one replica: its own CPU (and the off-core rest of its
//! self time, a pure wait), then its statements (holding one of its replica's pool
//! connections, each statement CPU on the database's replica and the rest a wait), then its
//! children, group after group (a group's members in parallel: the
//! group lasts as long as its slowest), then its answer. A child's failure fails the frame
//! at once (the remaining siblings' answers are ignored, as `try_join` drops them).
//!
//! When a frame succeeds, its asynchronous children start their event flows: wait for the
//! relay (its poll, or at once when woken at commit), the relay's CPU on the producing
//! replica, the broker's CPU, the wire, then the consumer's work; the time from the commit
//! to the consumer's completion is the event lag. A consumer that is down or fails gets the
//! event again after the broker's redelivery delay.

use rand::Rng;

use super::call::{Caller, Fail};
use super::cpu::Job;
use super::replica::Held;
use super::slab::Id;
use super::timers::Token;
use super::{Ev, Sim};
use crate::engine::Time;
use crate::output::FailureClass;

/// Where a frame's answer goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ret {
    /// A remote call's attempt.
    Call(Id, u8),
    /// The parent frame, in the same process.
    Local(Id),
    /// An event flow (the frame is a consumer's work).
    Flow(Id),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Cpu,
    /// The off-core rest of the self time.
    CpuWait,
    Pool,
    Statement,
    /// The off-core rest of a statement, holding the connection.
    StatementWait,
    Children,
}

pub(crate) struct Frame {
    op: u16,
    shape: u16,
    node: u16,
    pub(crate) replica: usize,
    ret: Ret,
    phase: Phase,
    statements: u32,
    statement_ns: f64,
    /// The self time's off-core rest, waited after the CPU.
    wait_ns: f64,
    /// The current statement's wait for its database replica to wake.
    db_wake_ns: f64,
    /// Whether its next statement is its first (the one that may find the database idle).
    first_statement: bool,
    since: Time,
    group: u16,
    pending: u16,
}

impl Sim<'_> {
    pub(crate) fn start_frame(
        &mut self,
        now: Time,
        op: usize,
        shape: usize,
        node: usize,
        replica: usize,
        ret: Ret,
    ) {
        let f = self.frames.insert(Frame {
            op: op as u16,
            shape: shape as u16,
            node: node as u16,
            replica,
            ret,
            phase: Phase::Cpu,
            statements: 0,
            statement_ns: 0.0,
            wait_ns: 0.0,
            db_wake_ns: 0.0,
            first_statement: false,
            since: now,
            group: 0,
            pending: 0,
        });
        // A wake is paid on entering the process (the root, a call, an event), not by a
        // node it runs itself right after its parent.
        let (wake_cpu, wake_wait) = if self.m.ops[op].shapes[shape][node].remote {
            self.wake(now, replica)
        } else {
            (0.0, 0.0)
        };
        let def = &self.m.ops[op].shapes[shape][node];
        let unspanned = self.m.procs[self.replicas[replica].proc].unspanned;
        if def.remote && unspanned > 0.0 {
            self.cpu
                .submit(now, replica, unspanned, Job::Detached, &mut self.completed);
        }
        match &def.self_cost {
            Some(d) => {
                let time = d.sample(&mut self.rng);
                let work = time * def.self_cpu;
                self.frames.get_mut(f).expect("live frame").wait_ns = time - work + wake_wait;
                self.cpu.submit(
                    now,
                    replica,
                    work + wake_cpu,
                    Job::Frame(f),
                    &mut self.completed,
                );
            }
            // No work of its own: only waking up, on a core.
            None if wake_cpu >= 1.0 => {
                self.frames.get_mut(f).expect("live frame").wait_ns = wake_wait;
                self.cpu
                    .submit(now, replica, wake_cpu, Job::Frame(f), &mut self.completed);
            }
            None => self.statements(now, f),
        }
    }

    pub(crate) fn frame_cpu_done(&mut self, now: Time, f: Id) {
        let Some(fr) = self.frames.get(f) else { return };
        if self.replicas[fr.replica].paused {
            return self.replicas[fr.replica].held.push((f, Held::Cpu));
        }
        let def = &self.m.ops[fr.op as usize].shapes[fr.shape as usize][fr.node as usize];
        let wait = match fr.phase {
            Phase::Cpu => fr.wait_ns,
            Phase::Statement => fr.statement_ns * (1.0 - def.db_cpu) + fr.db_wake_ns,
            _ => 0.0,
        };
        let fr = self.frames.get_mut(f).expect("live frame");
        match fr.phase {
            Phase::Cpu | Phase::Statement if wait >= 1.0 => {
                fr.phase = if fr.phase == Phase::Cpu {
                    Phase::CpuWait
                } else {
                    Phase::StatementWait
                };
                self.q.after(wait as Time, Ev::FrameWait(f));
            }
            Phase::Cpu | Phase::CpuWait => self.statements(now, f),
            Phase::Statement | Phase::StatementWait => {
                fr.phase = Phase::Statement;
                self.next_statement(now, f)
            }
            Phase::Pool | Phase::Children => {}
        }
    }

    fn statements(&mut self, now: Time, f: Id) {
        let fr = self.frames.get_mut(f).expect("live frame");
        let def = &self.m.ops[fr.op as usize].shapes[fr.shape as usize][fr.node as usize];
        let Some((_, mean)) = &def.db else {
            return self.children(now, f);
        };
        let k = mean.floor() as u32 + u32::from(self.rng.r#gen::<f64>() < mean.fract());
        if k == 0 {
            return self.children(now, f);
        }
        fr.statements = k;
        fr.first_statement = true;
        fr.phase = Phase::Pool;
        fr.since = now;
        let r = fr.replica;
        if self.replicas[r].pool.try_acquire() {
            return self.connected(now, f);
        }
        self.replicas[r].pool.waiters.push_back(f);
        let timeout = self.m.procs[self.replicas[r].proc].pool_timeout;
        if let Some((q, at)) = self.timers.arm(now, timeout, Token::Pool(f)) {
            self.q.schedule(at, Ev::Timer(q as u16));
        }
    }

    fn connected(&mut self, now: Time, f: Id) {
        let fr = self.frames.get_mut(f).expect("live frame");
        let def = &self.m.ops[fr.op as usize].shapes[fr.shape as usize][fr.node as usize];
        let proc = self.replicas[fr.replica].proc;
        self.rec.pool_wait[proc].saturating_record(((now - fr.since) / 1_000).max(1));
        let total = def
            .db
            .as_ref()
            .expect("has statements")
            .0
            .sample(&mut self.rng);
        fr.statement_ns = total / fr.statements as f64;
        fr.phase = Phase::Statement;
        self.next_statement(now, f);
    }

    fn next_statement(&mut self, now: Time, f: Id) {
        let fr = self.frames.get_mut(f).expect("live frame");
        let r = fr.replica;
        if fr.statements == 0 {
            self.release_connection(now, r);
            return self.children(now, f);
        }
        fr.statements -= 1;
        let def = &self.m.ops[fr.op as usize].shapes[fr.shape as usize][fr.node as usize];
        let work = fr.statement_ns * def.db_cpu;
        let db = self.m.procs[self.replicas[r].proc]
            .database
            .and_then(|p| self.pick_up(p));
        match db {
            Some(d) => {
                // Only a node's first statement may find the database idle: the next ones
                // follow it within a round trip.
                let first = std::mem::take(
                    &mut self.frames.get_mut(f).expect("live frame").first_statement,
                );
                let (wake_cpu, wake_wait) = if first { self.wake(now, d) } else { (0.0, 0.0) };
                self.frames.get_mut(f).expect("live frame").db_wake_ns = wake_wait;
                self.cpu
                    .submit(now, d, work + wake_cpu, Job::Frame(f), &mut self.completed)
            }
            None => {
                self.release_connection(now, r);
                self.frame_ends(now, f, Err(FailureClass::Error));
            }
        }
    }

    /// The extra cost of a visit to replica `r` at `now`, `(on a core, waited)` in ns: its
    /// process's `idle_wake` after the time the replica has had no CPU work (none while it
    /// has some).
    fn wake(&mut self, now: Time, r: usize) -> (f64, f64) {
        let Some((cost, tau, cpu)) = self.m.procs[self.replicas[r].proc].wake else {
            return (0.0, 0.0);
        };
        match self.cpu.idle_for(now, r, &mut self.completed) {
            Some(idle) => {
                let c = cost * (1.0 - (-(idle as f64) / tau).exp());
                (c * cpu, c * (1.0 - cpu))
            }
            None => (0.0, 0.0),
        }
    }

    fn release_connection(&mut self, now: Time, r: usize) {
        while let Some(w) = self.replicas[r].pool.waiters.pop_front() {
            if self
                .frames
                .get(w)
                .is_some_and(|fr| fr.phase == Phase::Pool && fr.replica == r)
            {
                return self.connected(now, w);
            }
        }
        self.replicas[r].pool.free += 1;
    }

    pub(crate) fn pool_times_out(&mut self, now: Time, f: Id) {
        if self.frames.get(f).is_some_and(|fr| fr.phase == Phase::Pool) {
            self.frame_ends(now, f, Err(FailureClass::Error));
        }
    }

    fn children(&mut self, now: Time, f: Id) {
        let fr = self.frames.get_mut(f).expect("live frame");
        let (op, shape) = (fr.op as usize, fr.shape as usize);
        let def = &self.m.ops[op].shapes[shape][fr.node as usize];
        let Some(group) = def.groups.get(fr.group as usize) else {
            return self.frame_ends(now, f, Ok(()));
        };
        fr.phase = Phase::Children;
        fr.pending = group.len() as u16;
        let r = fr.replica;
        for &c in group {
            let child = &self.m.ops[op].shapes[shape][c as usize];
            if child.remote {
                self.call(
                    now,
                    Caller::Frame(f),
                    Some(r),
                    op,
                    shape,
                    c as usize,
                    child.policy,
                );
            } else {
                self.start_frame(now, op, shape, c as usize, r, Ret::Local(f));
            }
        }
    }

    pub(crate) fn child_done(&mut self, now: Time, f: Id, res: Result<(), FailureClass>) {
        let Some(fr) = self.frames.get_mut(f) else {
            return;
        };
        if fr.phase != Phase::Children {
            return;
        }
        if self.replicas[fr.replica].paused {
            return self.replicas[fr.replica].held.push((f, Held::Child(res)));
        }
        if res.is_err() {
            return self.frame_ends(now, f, res);
        }
        fr.pending -= 1;
        if fr.pending == 0 {
            fr.group += 1;
            self.children(now, f);
        }
    }

    fn frame_ends(&mut self, now: Time, f: Id, res: Result<(), FailureClass>) {
        let fr = self.frames.remove(f).expect("live frame");
        let (op, shape) = (fr.op as usize, fr.shape as usize);
        if res.is_ok() {
            for &a in &self.m.ops[op].shapes[shape][fr.node as usize].asyncs {
                self.publish(now, op, shape, a as usize, fr.replica);
            }
        }
        match fr.ret {
            Ret::Call(call, attempt) => {
                let rep = &mut self.replicas[fr.replica];
                rep.serving = rep.serving.saturating_sub(1);
                self.attempt_ends(now, call, attempt, res.map_err(Fail::from_class));
            }
            Ret::Local(parent) => self.child_done(now, parent, res),
            Ret::Flow(flow) => self.flow_done(now, flow, res),
        }
    }

    /// The frames of replica `r` vanish (it died); consumers' events will come again.
    pub(crate) fn frames_lost_with(&mut self, now: Time, r: usize) {
        for f in self.frames.ids_where(|fr| fr.replica == r) {
            if let Some(Frame {
                ret: Ret::Flow(flow),
                ..
            }) = self.frames.remove(f)
            {
                self.redeliver(now, flow);
            }
        }
    }
}
