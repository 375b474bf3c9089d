//! Remote calls, as a caller's client makes them (`crates/crm-http/src/client/service.rs`,
//! `crm-micro/gateway/src/proxy.rs`): per attempt, the breaker is asked, a call slot is
//! taken (waiting for one counts against the attempt's timeout), a replica is picked, and
//! the request crosses the wire. The attempt ends with the callee's answer, a refused
//! connection, or its timeout, whichever comes first; a late answer is ignored, while the
//! callee's work goes on (as it does: nobody tells the server). Failures the policy names are
//! retried after a doubling backoff, for idempotent operations only.
//!
//! The whole wire time of a hop is spent on the way in: the model needs only the sum of
//! both directions, and one event per hop instead of two.

use rand::Rng;

use super::slab::Id;
use super::timers::Token;
use super::{Ev, Sim};
use crate::engine::Time;
use crate::input::calibration::FailureKind;
use crate::output::FailureClass;

/// Who waits for a call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Caller {
    Frame(Id),
    Req(Id),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Slot,
    Sent(usize),
    Backoff,
}

pub(crate) struct Call {
    caller: Caller,
    /// The calling replica; none for the load generator.
    from: Option<usize>,
    op: u16,
    shape: u16,
    node: u16,
    policy: u16,
    attempt: u8,
    state: State,
    holds_slot: bool,
}

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    Refused,
    Timeout,
    /// The callee answered 503.
    Unavailable,
    /// The callee answered 500.
    Error,
    Open,
    Saturated,
    NoReplica,
}

impl Fail {
    fn kind(self) -> Option<FailureKind> {
        match self {
            Fail::Refused => Some(FailureKind::Refused),
            Fail::Timeout => Some(FailureKind::Timeout),
            Fail::Unavailable => Some(FailureKind::Unavailable),
            Fail::Error => Some(FailureKind::Error),
            Fail::Open | Fail::Saturated | Fail::NoReplica => None,
        }
    }

    /// What the caller answers its own caller.
    pub(crate) fn class(self) -> FailureClass {
        match self {
            Fail::Timeout => FailureClass::Timeout,
            Fail::Error => FailureClass::Error,
            _ => FailureClass::Unavailable,
        }
    }

    pub(crate) fn from_class(c: FailureClass) -> Fail {
        match c {
            FailureClass::Timeout => Fail::Timeout,
            FailureClass::Unavailable => Fail::Unavailable,
            FailureClass::Error => Fail::Error,
        }
    }

    /// Only attempts that reached (or tried to reach) the callee count for its breaker.
    fn counts_for_breaker(self) -> bool {
        self.kind().is_some()
    }
}

impl Sim<'_> {
    /// Starts a call of node `node` of a request tree from `caller`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call(
        &mut self,
        now: Time,
        caller: Caller,
        from: Option<usize>,
        op: usize,
        shape: usize,
        node: usize,
        policy: usize,
    ) {
        let id = self.calls.insert(Call {
            caller,
            from,
            op: op as u16,
            shape: shape as u16,
            node: node as u16,
            policy: policy as u16,
            attempt: 0,
            state: State::Slot,
            holds_slot: false,
        });
        self.attempt_start(now, id);
    }

    fn attempt_start(&mut self, now: Time, id: Id) {
        let c = self.calls.get(id).expect("live call");
        let (from, policy, attempt) = (c.from, c.policy as usize, c.attempt);
        let callee = self.m.ops[c.op as usize].shapes[c.shape as usize][c.node as usize].proc;
        let pol = &self.m.policies[policy];
        if let (Some(from), Some(_)) = (from, &pol.breaker)
            && !self.breaker(from, callee, policy).permits(now)
        {
            return self.attempt_ends(now, id, attempt, Err(Fail::Open));
        }
        if let Some((q, at)) = self
            .timers
            .arm(now, pol.timeout, Token::Attempt(id, attempt))
        {
            self.q.schedule(at, Ev::Timer(q as u16));
        }
        if let (Some(from), true) = (from, pol.concurrency > 0) {
            let slots = self.slots(from, callee, policy);
            if !slots.try_acquire() {
                slots.waiters.push_back((id, attempt));
                return;
            }
            self.calls.get_mut(id).expect("live call").holds_slot = true;
        }
        self.send(now, id);
    }

    fn send(&mut self, now: Time, id: Id) {
        let c = self.calls.get(id).expect("live call");
        let node = &self.m.ops[c.op as usize].shapes[c.shape as usize][c.node as usize];
        let attempt = c.attempt;
        let Some(r) = self.pick(now, node.proc) else {
            return self.attempt_ends(now, id, attempt, Err(Fail::NoReplica));
        };
        self.replicas[r].in_flight += 1;
        self.calls.get_mut(id).expect("live call").state = State::Sent(r);
        let wire = node.wire.as_ref().map_or(0.0, |d| d.sample(&mut self.rng));
        let delay = wire as Time + self.replicas[r].slow;
        self.q.after(delay, Ev::CallArrive { call: id, attempt });
    }

    /// The request reaches the replica: served, refused, parked (paused) or turned away.
    pub(crate) fn call_arrives(&mut self, now: Time, id: Id, attempt: u8) {
        let Some(c) = self.calls.get(id) else { return };
        let State::Sent(r) = c.state else { return };
        if c.attempt != attempt {
            return;
        }
        let (op, shape, node) = (c.op as usize, c.shape as usize, c.node as usize);
        let rep = &mut self.replicas[r];
        if !rep.up {
            return self.attempt_ends(now, id, attempt, Err(Fail::Refused));
        }
        if rep.paused {
            rep.parked.push((id, attempt));
            return;
        }
        let limit = self.m.procs[rep.proc].max_in_flight;
        if limit > 0 && rep.serving >= limit {
            return self.attempt_ends(now, id, attempt, Err(Fail::Unavailable));
        }
        rep.serving += 1;
        self.start_frame(
            now,
            op,
            shape,
            node,
            r,
            super::frame::Ret::Call(id, attempt),
        );
    }

    pub(crate) fn attempt_times_out(&mut self, now: Time, id: Id, attempt: u8) {
        let Some(c) = self.calls.get(id) else { return };
        let fail = match c.state {
            State::Slot => Fail::Saturated,
            State::Sent(_) => Fail::Timeout,
            State::Backoff => return,
        };
        self.attempt_ends(now, id, attempt, Err(fail));
    }

    /// The end of an attempt: the answer, or why there is none.
    pub(crate) fn attempt_ends(&mut self, now: Time, id: Id, attempt: u8, res: Result<(), Fail>) {
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        if c.attempt != attempt || c.state == State::Backoff {
            return;
        }
        let (from, policy, state, held) = (c.from, c.policy as usize, c.state, c.holds_slot);
        let (op, callee) = (
            c.op as usize,
            self.m.ops[c.op as usize].shapes[c.shape as usize][c.node as usize].proc,
        );
        c.state = State::Backoff;
        c.holds_slot = false;
        if let State::Sent(r) = state {
            let rep = &mut self.replicas[r];
            rep.in_flight -= 1;
            let bad = matches!(res, Err(Fail::Refused | Fail::Timeout | Fail::Unavailable));
            rep.report(now, !bad, self.m.unhealthy_after, self.m.ejection);
        }
        if held && let Some(from) = from {
            self.release_slot(now, from, callee, policy);
        }
        let pol = &self.m.policies[policy];
        if let (Some(from), Some(def)) = (from, &pol.breaker) {
            match res {
                Ok(()) => self.breaker(from, callee, policy).success(def),
                Err(f) if f.counts_for_breaker() => {
                    self.breaker(from, callee, policy).failure(now, def)
                }
                Err(_) => {}
            }
        }
        let retry = match res {
            Ok(()) => false,
            Err(f) => {
                self.m.ops[op].idempotent
                    && (attempt as u32) < pol.retries
                    && f.kind().is_some_and(|k| pol.retry_on.contains(&k))
            }
        };
        if retry {
            let base = pol
                .backoff
                .saturating_mul(1 << attempt.min(30))
                .min(pol.max_backoff.max(pol.backoff));
            let jitter = if pol.jitter {
                (base as f64 * self.rng.r#gen::<f64>()) as Time
            } else {
                0
            };
            self.q.after(base + jitter, Ev::CallRetry(id));
            return;
        }
        let c = self.calls.remove(id).expect("live call");
        self.deliver(now, c.caller, res.map_err(Fail::class));
    }

    pub(crate) fn retry(&mut self, now: Time, id: Id) {
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        c.attempt = c.attempt.saturating_add(1);
        c.state = State::Slot;
        self.attempt_start(now, id);
    }

    fn release_slot(&mut self, now: Time, from: usize, to: usize, policy: usize) {
        loop {
            let next = self.slots(from, to, policy).waiters.pop_front();
            let Some((id, attempt)) = next else {
                self.slots(from, to, policy).free += 1;
                return;
            };
            let waiting = self
                .calls
                .get(id)
                .is_some_and(|c| c.attempt == attempt && c.state == State::Slot);
            if waiting {
                self.calls.get_mut(id).expect("live call").holds_slot = true;
                return self.send(now, id);
            }
        }
    }

    fn deliver(&mut self, now: Time, caller: Caller, res: Result<(), FailureClass>) {
        match caller {
            Caller::Frame(f) => self.child_done(now, f, res),
            Caller::Req(r) => self.request_done(now, r, res),
        }
    }

    /// A replica died: every call sent to it, and every call it made, ends now.
    pub(crate) fn calls_lost_with(&mut self, now: Time, r: usize) {
        let to = self.calls.ids_where(|c| c.state == State::Sent(r));
        for id in to {
            let attempt = self.calls.get(id).map_or(0, |c| c.attempt);
            self.attempt_ends(now, id, attempt, Err(Fail::Refused));
        }
        let from = self.calls.ids_where(|c| c.from == Some(r));
        for id in from {
            if let Some(c) = self.calls.remove(id)
                && let State::Sent(to) = c.state
            {
                self.replicas[to].in_flight -= 1;
            }
        }
    }
}
