//! What happens to replicas from outside: faults (kill, pause, slow), rolling redeploys and
//! the horizontal autoscaler.
//!
//! The autoscaler is Kubernetes' HPA algorithm: every `sync`, the mean CPU utilisation of
//! the ready replicas over the last period (as a share of each one's quota, or of one core)
//! gives desired = ceil(current × utilisation / target), unchanged when the ratio is within
//! the tolerance of 1, clamped to [min, max]; a scale-down takes the highest recommendation
//! of the stabilisation window (so a dip does not shed replicas that a peak needs again).
//! New replicas take their start-up time before their first request; removed ones leave
//! the rotation and finish what they hold.

use super::call::Fail;
use super::replica::Held;
use super::{Ev, Sim};
use crate::engine::Time;
use crate::input::scenario::FaultKind;

impl Sim<'_> {
    /// The replicas a fault names: one by its index at start, or all.
    fn targets(&self, idx: usize) -> Vec<usize> {
        let f = &self.m.faults[idx];
        let members = &self.procs[f.proc].members;
        match f.replica {
            Some(i) => members.get(i as usize).copied().into_iter().collect(),
            None => members.clone(),
        }
    }

    pub(crate) fn fault(&mut self, now: Time, idx: usize, end: bool) {
        let m = self.m;
        let f = &m.faults[idx];
        let targets = self.targets(idx);
        if !end {
            self.q.after(
                f.span,
                Ev::Fault {
                    idx: idx as u16,
                    end: true,
                },
            );
        }
        for r in targets {
            match (f.kind, end) {
                (FaultKind::Kill, false) => self.kill(now, r),
                (FaultKind::Kill, true) => {
                    let incarnation = self.replicas[r].incarnation;
                    self.q.after(
                        f.restart,
                        Ev::ReplicaUp {
                            replica: r as u32,
                            incarnation,
                            redeploy: None,
                        },
                    );
                }
                (FaultKind::Pause, paused) => self.pause(now, r, !paused),
                (FaultKind::Slow, false) => self.replicas[r].slow = f.delay,
                (FaultKind::Slow, true) => self.replicas[r].slow = 0,
                (FaultKind::Redeploy, _) => {}
            }
        }
    }

    /// The process dies: its work is lost, its connections reset.
    fn kill(&mut self, now: Time, r: usize) {
        let rep = &mut self.replicas[r];
        if !rep.up {
            return;
        }
        rep.up = false;
        rep.paused = false;
        rep.incarnation = rep.incarnation.wrapping_add(1);
        let parked = std::mem::take(&mut rep.parked);
        self.cpu.set_paused(now, r, false, &mut self.completed);
        self.cpu.clear(now, r, &mut self.completed);
        self.cpu.set_background(now, r, 0.0, &mut self.completed);
        self.frames_lost_with(now, r);
        for (call, attempt) in parked {
            self.attempt_ends(now, call, attempt, Err(Fail::Refused));
        }
        self.calls_lost_with(now, r);
        let pool = self.m.procs[self.replicas[r].proc].pool;
        self.replicas[r].died(pool);
        self.recount(now, self.replicas[r].proc);
    }

    fn pause(&mut self, now: Time, r: usize, paused: bool) {
        if !self.replicas[r].up || self.replicas[r].paused == paused {
            return;
        }
        self.replicas[r].paused = paused;
        self.cpu.set_paused(now, r, paused, &mut self.completed);
        if !paused {
            for (frame, news) in std::mem::take(&mut self.replicas[r].held) {
                match news {
                    Held::Cpu => self.frame_cpu_done(now, frame),
                    Held::Child(res) => self.child_done(now, frame, res),
                }
            }
            for (call, attempt) in std::mem::take(&mut self.replicas[r].parked) {
                self.call_arrives(now, call, attempt);
            }
        }
    }

    /// Step `step` of a rolling redeploy: the replica leaves the rotation, finishes what it
    /// holds, and is back after the restart time; then the next one goes.
    pub(crate) fn redeploy(&mut self, now: Time, idx: usize, step: usize) {
        let Some(&r) = self.targets(idx).get(step) else {
            return;
        };
        let rep = &mut self.replicas[r];
        rep.registered = false;
        rep.up = false;
        let incarnation = rep.incarnation;
        let proc = rep.proc;
        self.recount(now, proc);
        self.q.after(
            self.m.faults[idx].restart,
            Ev::ReplicaUp {
                replica: r as u32,
                incarnation,
                redeploy: Some((idx as u16, step as u16)),
            },
        );
    }

    pub(crate) fn replica_up(
        &mut self,
        now: Time,
        r: usize,
        incarnation: u32,
        redeploy: Option<(u16, u16)>,
    ) {
        if self.replicas[r].incarnation != incarnation
            || !self.procs[self.replicas[r].proc].members.contains(&r)
        {
            return;
        }
        let background = self.m.procs[self.replicas[r].proc].background;
        self.cpu
            .set_background(now, r, background, &mut self.completed);
        let cpu = self.cpu.cpu_ns(r);
        let rep = &mut self.replicas[r];
        rep.up = true;
        rep.registered = true;
        rep.restarted();
        rep.hpa_mark = (cpu, now);
        self.recount(now, self.replicas[r].proc);
        if let Some((idx, step)) = redeploy {
            self.q.after(
                0,
                Ev::Redeploy {
                    idx,
                    step: step + 1,
                },
            );
        }
    }

    pub(crate) fn autoscale(&mut self, now: Time, p: usize) {
        let m = self.m;
        let Some(a) = &m.autoscale[p] else { return };
        self.q.after(a.sync, Ev::Autoscale(p as u16));
        let members = self.procs[p].members.clone();
        let (mut used, mut capacity) = (0.0, 0.0);
        for &r in &members {
            let node = self.cpu.node_of(r);
            self.cpu.advance(node, now, &mut self.completed);
            let cpu = self.cpu.cpu_ns(r);
            let rep = &mut self.replicas[r];
            if rep.registered && rep.up {
                used += cpu - rep.hpa_mark.0;
                capacity += rep.quota.unwrap_or(1.0) * (now - rep.hpa_mark.1) as f64;
            }
            rep.hpa_mark = (cpu, now);
        }
        if capacity <= 0.0 {
            return;
        }
        let current = members.len() as u32;
        let ratio = used / capacity / a.target;
        let desired = if (ratio - 1.0).abs() <= a.tolerance {
            current
        } else {
            (current as f64 * ratio).ceil() as u32
        }
        .clamp(a.min, a.max);
        let recs = &mut self.procs[p].recommendations;
        recs.retain(|(t, _)| now.saturating_sub(*t) < a.stabilisation);
        recs.push((now, desired));
        let target = if desired < current {
            recs.iter()
                .map(|(_, d)| *d)
                .max()
                .unwrap_or(desired)
                .min(current)
        } else {
            desired
        };
        for _ in current..target {
            let Some(r) = self.spawn(p) else { break };
            let incarnation = self.replicas[r].incarnation;
            self.q.after(
                a.startup,
                Ev::ReplicaUp {
                    replica: r as u32,
                    incarnation,
                    redeploy: None,
                },
            );
        }
        for _ in target..current {
            let Some(r) = self.procs[p].members.pop() else {
                break;
            };
            self.replicas[r].registered = false;
            let node = self.cpu.node_of(r);
            self.placer
                .release(node, self.replicas[r].quota.unwrap_or(0.0));
        }
        self.recount(now, p);
    }
}
