//! An event flow: when a frame succeeds, each asynchronous child waits for the relay (its
//! poll, or at once when woken at commit), the relay's CPU on the producing replica and the
//! rest of its time off core, the broker's CPU, the wire, then the consumer's work; the time from the commit to the
//! consumer's completion is the event lag. A consumer that is down or fails gets the event
//! again after the broker's redelivery delay.

use super::cpu::Job;
use super::frame::Ret;
use super::slab::Id;
use super::{Ev, Sim};
use crate::engine::Time;
use crate::output::FailureClass;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Relay,
    /// The relay's off-core rest, after its CPU.
    RelayWait,
    Broker,
    Deliver,
    Consume(usize),
}

pub(crate) struct Flow {
    op: u16,
    shape: u16,
    node: u16,
    producer: usize,
    committed: Time,
    stage: Stage,
    /// The relay's off-core rest (ns), waited after its CPU.
    relay_wait: f64,
}

impl Sim<'_> {
    pub(super) fn publish(
        &mut self,
        now: Time,
        op: usize,
        shape: usize,
        node: usize,
        producer: usize,
    ) {
        let Some(ev) = &self.m.events else { return };
        let flow = self.flows.insert(Flow {
            op: op as u16,
            shape: shape as u16,
            node: node as u16,
            producer,
            committed: now,
            stage: Stage::Relay,
            relay_wait: 0.0,
        });
        let wait = if ev.relay_poll > 0 {
            ev.relay_poll - now % ev.relay_poll
        } else {
            0
        };
        self.q.after(wait, Ev::Flow(flow));
    }

    pub(crate) fn flow_step(&mut self, now: Time, id: Id) {
        let m = self.m;
        let Some(ev) = &m.events else { return };
        let Some(flow) = self.flows.get(id) else {
            return;
        };
        let (op, shape, node, producer, stage) = (
            flow.op as usize,
            flow.shape as usize,
            flow.node as usize,
            flow.producer,
            flow.stage,
        );
        let set = |sim: &mut Self, stage: Stage| {
            if let Some(f) = sim.flows.get_mut(id) {
                f.stage = stage;
            }
        };
        match stage {
            Stage::Relay => {
                set(self, Stage::RelayWait);
                match &ev.relay {
                    Some(d) => {
                        let time = d.sample(&mut self.rng);
                        if let Some(f) = self.flows.get_mut(id) {
                            f.relay_wait = time * (1.0 - ev.relay_cpu);
                        }
                        let cpu = time * ev.relay_cpu;
                        if cpu > 0.0 {
                            self.cpu
                                .submit(now, producer, cpu, Job::Flow(id), &mut self.completed);
                        } else {
                            self.flow_step(now, id);
                        }
                    }
                    None => self.flow_step(now, id),
                }
            }
            Stage::RelayWait => {
                set(self, Stage::Broker);
                let wait = self.flows.get(id).map_or(0.0, |f| f.relay_wait);
                if wait > 0.0 {
                    self.q.after(wait as Time, Ev::Flow(id));
                } else {
                    self.flow_step(now, id);
                }
            }
            Stage::Broker => match ev.broker.map(|b| self.pick_up(b)) {
                // The broker is down: the relay tries again later.
                Some(None) => self.q.after(ev.redeliver, Ev::Flow(id)),
                Some(Some(b)) => {
                    set(self, Stage::Deliver);
                    let work = ev
                        .broker_cost
                        .as_ref()
                        .map_or(0.0, |d| d.sample(&mut self.rng));
                    self.cpu
                        .submit(now, b, work, Job::Flow(id), &mut self.completed);
                }
                None => {
                    set(self, Stage::Deliver);
                    self.flow_step(now, id);
                }
            },
            Stage::Deliver => {
                let def = &m.ops[op].shapes[shape][node];
                match self.pick(now, def.proc).filter(|r| self.replicas[*r].up) {
                    Some(r) => {
                        let wire = def.wire.as_ref().map_or(0.0, |d| d.sample(&mut self.rng));
                        set(self, Stage::Consume(r));
                        self.q
                            .after(wire as Time + self.replicas[r].slow, Ev::Flow(id));
                    }
                    None => self.redeliver(now, id),
                }
            }
            Stage::Consume(r) => {
                if self.replicas[r].up && !self.replicas[r].paused {
                    self.start_frame(now, op, shape, node, r, Ret::Flow(id));
                } else {
                    self.redeliver(now, id);
                }
            }
        }
    }

    pub(crate) fn flow_cpu_done(&mut self, now: Time, id: Id) {
        self.flow_step(now, id);
    }

    pub(super) fn redeliver(&mut self, _now: Time, id: Id) {
        let Some(ev) = &self.m.events else { return };
        if let Some(flow) = self.flows.get_mut(id) {
            flow.stage = Stage::Deliver;
            self.q.after(ev.redeliver, Ev::Flow(id));
        }
    }

    pub(super) fn flow_done(&mut self, now: Time, id: Id, res: Result<(), FailureClass>) {
        if res.is_err() {
            return self.redeliver(now, id);
        }
        if let Some(flow) = self.flows.remove(id) {
            self.rec.lag(flow.op as usize, now - flow.committed);
        }
    }
}
