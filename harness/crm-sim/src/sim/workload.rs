//! The load: open-loop arrivals (constant or Poisson, at a fixed rate or along a rate
//! profile) with a weighted mix, and closed-loop users running journeys with think time.
//! Latency is measured from the intended send time, so a request waiting for one of the
//! load generator's connections is late, not excused (wrk2's correction).
//!
//! Arrivals along a profile are spaced in "operational time" (the integral of the rate):
//! one unit apart for constant arrivals, exponential units apart for Poisson, which is the
//! exact inhomogeneous Poisson process for steps and ramps alike.

use rand::Rng;

use super::call::Caller;
use super::slab::Id;
use super::{Ev, Sim};
use crate::engine::{SEC, Time};
use crate::model::OpenDef;
use crate::output::FailureClass;

pub(crate) struct Req {
    op: u16,
    shape: u16,
    start: Time,
    user: Option<u32>,
    conn: bool,
}

pub(crate) struct User {
    journey: usize,
    step: usize,
}

/// Index of the first cumulative weight above `u`.
fn choose(cum: &[f64], u: f64) -> usize {
    cum.partition_point(|c| *c <= u).min(cum.len() - 1)
}

/// The time at which `e` requests' worth of the rate profile has passed since `t`: the
/// profile is piecewise linear (steps and ramps), so each piece integrates in closed form.
fn advance_by(o: &OpenDef, t: Time, mut e: f64) -> Option<Time> {
    let mut k = o.steps.partition_point(|s| s.0 <= t);
    let mut t = t as f64 / SEC as f64;
    if k == 0 {
        t = o.steps.first()?.0 as f64 / SEC as f64;
        k = 1;
    }
    loop {
        let (a0, r0, _) = o.steps[k - 1];
        let a0 = a0 as f64 / SEC as f64;
        let next = o.steps.get(k).map(|s| (s.0 as f64 / SEC as f64, s.1, s.2));
        let slope = match next {
            Some((a1, r1, true)) if a1 > a0 => (r1 - r0) / (a1 - a0),
            _ => 0.0,
        };
        let rate = r0 + slope * (t - a0);
        let span = next.map_or(f64::INFINITY, |n| n.0 - t);
        let whole = if span.is_finite() {
            rate * span + slope * span * span / 2.0
        } else {
            f64::INFINITY
        };
        if whole >= e {
            let x = if slope.abs() < 1e-12 {
                e / rate
            } else {
                (-rate + (rate * rate + 2.0 * slope * e).max(0.0).sqrt()) / slope
            };
            return Some(((t + x) * SEC as f64).round() as Time);
        }
        e -= whole;
        t = next?.0;
        k += 1;
    }
}

impl Sim<'_> {
    pub(crate) fn start_load(&mut self) {
        let m = self.m;
        if m.open.is_some()
            && let Some(at) = self.next_arrival(0)
        {
            self.q.schedule(at, Ev::Arrival);
        }
        if let Some(c) = &m.closed {
            for u in 0..c.users {
                let journey = choose(&c.journey_cum, self.load_rng.r#gen());
                self.users.push(User { journey, step: 0 });
                let at = if c.ramp > 0 {
                    c.ramp * u as Time / c.users as Time
                } else {
                    c.think.sample(&mut self.load_rng) as Time
                };
                self.q.schedule(at, Ev::UserWake(u));
            }
        }
    }

    /// The intended time of the arrival after one at `t`; none within the run.
    fn next_arrival(&mut self, t: Time) -> Option<Time> {
        let o = self.m.open.as_ref()?;
        let e = if o.poisson {
            -(1.0 - self.load_rng.r#gen::<f64>()).ln()
        } else {
            1.0
        };
        let at = advance_by(o, t, e)?.max(t + 1);
        (at < self.m.duration).then_some(at)
    }

    pub(crate) fn arrival(&mut self, now: Time) {
        let m = self.m;
        let Some(o) = &m.open else { return };
        if self.ended {
            return;
        }
        if let Some(at) = self.next_arrival(now) {
            self.q.schedule(at, Ev::Arrival);
        }
        let op = o.mix_ops[choose(&o.mix_cum, self.load_rng.r#gen())];
        let shape = choose(&m.ops[op].shape_cum, self.load_rng.r#gen());
        let id = self.reqs.insert(Req {
            op: op as u16,
            shape: shape as u16,
            start: now,
            user: None,
            conn: false,
        });
        self.rec.sent(now);
        if o.connections > 0 {
            if !self.conns.try_acquire() {
                self.conns.waiters.push_back(id);
                return;
            }
            self.reqs.get_mut(id).expect("live request").conn = true;
        }
        self.dispatch(now, id, o.policy);
    }

    fn dispatch(&mut self, now: Time, id: Id, policy: usize) {
        let r = self.reqs.get(id).expect("live request");
        let (op, shape) = (r.op as usize, r.shape as usize);
        self.call(now, Caller::Req(id), None, op, shape, 0, policy);
    }

    pub(crate) fn user_wakes(&mut self, now: Time, u: usize) {
        let m = self.m;
        let Some(c) = &m.closed else { return };
        if self.ended {
            return;
        }
        let user = &self.users[u];
        let op = c.journeys[user.journey][user.step];
        let shape = choose(&m.ops[op].shape_cum, self.load_rng.r#gen());
        let id = self.reqs.insert(Req {
            op: op as u16,
            shape: shape as u16,
            start: now,
            user: Some(u as u32),
            conn: false,
        });
        self.rec.sent(now);
        self.dispatch(now, id, c.policy);
    }

    pub(crate) fn request_done(&mut self, now: Time, id: Id, res: Result<(), FailureClass>) {
        let m = self.m;
        let Some(r) = self.reqs.remove(id) else {
            return;
        };
        self.rec.done(now, r.start, r.op as usize, res);
        if r.conn {
            match self.conns.waiters.pop_front() {
                Some(next) => {
                    self.reqs.get_mut(next).expect("waiting request").conn = true;
                    let policy = m.open.as_ref().map_or(0, |o| o.policy);
                    self.dispatch(now, next, policy);
                }
                None => self.conns.free += 1,
            }
        }
        if let (Some(u), Some(c)) = (r.user, &m.closed) {
            let user = &mut self.users[u as usize];
            user.step += 1;
            if user.step >= c.journeys[user.journey].len() {
                user.journey = choose(&c.journey_cum, self.load_rng.r#gen());
                user.step = 0;
            }
            let think = c.think.sample(&mut self.load_rng) as Time;
            self.q.after(think, Ev::UserWake(u));
        }
    }
}
