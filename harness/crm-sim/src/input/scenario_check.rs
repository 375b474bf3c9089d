//! What the types of a scenario cannot check, against the calibration it will run with.

use std::collections::BTreeSet;

use super::Problems;
use super::calibration::{Architecture, Calibration};
use super::scenario::{FaultKind, Scenario};
use crate::model::placement::{Machines, Placer};

impl Scenario {
    pub(crate) fn check(&self, cal: &Calibration, p: &mut Problems) {
        p.positive(self.duration_s, "duration_s");
        p.check(
            self.warmup_s.is_finite() && self.warmup_s >= 0.0 && self.warmup_s < self.duration_s,
            "warmup_s",
            || {
                format!(
                    "must be zero or more and below duration_s, got {}",
                    self.warmup_s
                )
            },
        );
        p.positive(self.bucket_s, "bucket_s");
        p.positive(self.cfs_period_ms, "cfs_period_ms");
        let Some(arch) = cal.architecture(&self.architecture) else {
            let have: Vec<&str> = [("monolith", &cal.monolith), ("micro", &cal.micro)]
                .iter()
                .filter(|(_, a)| a.is_some())
                .map(|(n, _)| *n)
                .collect();
            p.add(
                "architecture",
                format!(
                    "\"{}\" is not in the calibration (it has: {})",
                    self.architecture,
                    have.join(", ")
                ),
            );
            return;
        };
        self.check_nodes(p);
        let procs = self.check_processes(arch, p);
        self.check_load(arch, p);
        self.check_faults(&procs, p);
        for (name, a) in &self.autoscale {
            let at = format!("autoscale.{name}");
            p.check(procs.contains(name.as_str()), &at, || {
                unknown_process(name, &procs)
            });
            p.positive(a.target, &format!("{at}.target"));
            p.check(a.min >= 1, &format!("{at}.min"), || {
                "must be at least 1".into()
            });
            p.check(a.max >= a.min, &format!("{at}.max"), || {
                format!("must be at least min ({})", a.min)
            });
            p.positive(a.sync_s, &format!("{at}.sync_s"));
            p.non_negative(a.tolerance, &format!("{at}.tolerance"));
            p.non_negative(a.stabilisation_s, &format!("{at}.stabilisation_s"));
            p.non_negative(a.startup_s, &format!("{at}.startup_s"));
        }
        if p.is_empty() {
            self.check_placement(arch, p);
        }
    }

    fn check_nodes(&self, p: &mut Problems) {
        p.check(!self.nodes.is_empty(), "nodes", || {
            "needs at least one node".into()
        });
        let mut seen = BTreeSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let at = format!("nodes[{i}]");
            p.check(seen.insert(n.name.as_str()), &format!("{at}.name"), || {
                format!("\"{}\" is used twice", n.name)
            });
            p.positive(n.cores, &format!("{at}.cores"));
            p.positive(n.speed, &format!("{at}.speed"));
            p.check(n.count >= 1, &format!("{at}.count"), || {
                "must be at least 1".into()
            });
        }
    }

    /// Checks the placements; returns every process name the run will have.
    fn check_processes<'a>(
        &'a self,
        arch: &'a Architecture,
        p: &mut Problems,
    ) -> BTreeSet<&'a str> {
        let mut procs: BTreeSet<&str> = arch.processes.keys().map(String::as_str).collect();
        procs.extend(
            self.processes
                .iter()
                .filter(|(_, pl)| pl.like.is_some())
                .map(|(n, _)| n.as_str()),
        );
        let machines = Machines::new(&self.nodes);
        for (name, pl) in &self.processes {
            let at = format!("processes.{name}");
            match &pl.like {
                Some(like) => {
                    p.check(
                        !arch.processes.contains_key(name),
                        &format!("{at}.like"),
                        || format!("\"{name}\" is calibrated already; `like` is for new processes"),
                    );
                    p.check(
                        arch.processes.contains_key(like),
                        &format!("{at}.like"),
                        || format!("unknown process \"{like}\" in the calibration"),
                    );
                }
                None => p.check(arch.processes.contains_key(name), &at, || {
                    unknown_process(name, &procs)
                }),
            }
            p.check(pl.replicas >= 1, &format!("{at}.replicas"), || {
                "must be at least 1".into()
            });
            if let Some(c) = pl.cpus {
                p.positive(c, &format!("{at}.cpus"));
            }
            if let Some(k) = pl.pool {
                p.check(k >= 1, &format!("{at}.pool"), || {
                    "must be at least 1".into()
                });
            }
            for (i, n) in pl.nodes.iter().enumerate() {
                p.check(
                    machines.resolve(n).is_some(),
                    &format!("{at}.nodes[{i}]"),
                    || format!("unknown node \"{n}\""),
                );
            }
            if let Some(db) = &pl.database {
                let kind = self
                    .processes
                    .get(db)
                    .and_then(|d| d.like.as_ref())
                    .unwrap_or(db);
                let is_db = arch
                    .processes
                    .get(kind)
                    .is_some_and(|d| d.kind == "database");
                p.check(is_db, &format!("{at}.database"), || {
                    format!("\"{db}\" is not a database process")
                });
            }
        }
        procs
    }

    fn check_load(&self, arch: &Architecture, p: &mut Problems) {
        p.check(self.open.is_some() || self.closed.is_some(), "", || {
            "no load: add [open] or [closed]".into()
        });
        let op_known = |p: &mut Problems, op: &str, at: &str| {
            p.check(arch.ops.contains_key(op), at, || {
                let ops: Vec<&str> = arch.ops.keys().map(String::as_str).collect();
                format!(
                    "unknown operation \"{op}\" (operations: {})",
                    ops.join(", ")
                )
            });
        };
        if let Some(o) = &self.open {
            match (o.rate, o.profile.is_empty()) {
                (Some(r), true) => p.positive(r, "open.rate"),
                (None, false) => {
                    let mut prev = 0.0;
                    for (i, s) in o.profile.iter().enumerate() {
                        let at = format!("open.profile[{i}]");
                        p.check(
                            s.at_s.is_finite() && s.at_s >= prev,
                            &format!("{at}.at_s"),
                            || {
                                format!(
                                    "steps must be in time order from 0, got {} after {prev}",
                                    s.at_s
                                )
                            },
                        );
                        prev = s.at_s.max(prev);
                        p.non_negative(s.rps, &format!("{at}.rps"));
                    }
                    p.check(
                        o.profile.iter().any(|s| s.rps > 0.0),
                        "open.profile",
                        || "needs a step with a positive rate".into(),
                    );
                }
                _ => p.add("open", "give either `rate` or `profile`"),
            }
            p.positive(o.timeout_ms, "open.timeout_ms");
            for (op, w) in &o.mix {
                op_known(p, op, &format!("open.mix.{op}"));
                p.non_negative(*w, &format!("open.mix.{op}"));
            }
            p.check(o.mix.values().any(|w| *w > 0.0), "open.mix", || {
                "needs an operation with a positive weight".into()
            });
        }
        if let Some(c) = &self.closed {
            p.check(c.users >= 1, "closed.users", || "must be at least 1".into());
            p.dist(&c.think_us, "closed.think_us");
            p.non_negative(c.ramp_s, "closed.ramp_s");
            p.positive(c.timeout_ms, "closed.timeout_ms");
            p.check(
                c.journeys.iter().any(|j| j.weight > 0.0),
                "closed.journeys",
                || "needs a journey with a positive weight".into(),
            );
            for (i, j) in c.journeys.iter().enumerate() {
                let at = format!("closed.journeys[{i}]");
                p.non_negative(j.weight, &format!("{at}.weight"));
                p.check(!j.ops.is_empty(), &format!("{at}.ops"), || {
                    "needs an operation".into()
                });
                for (k, op) in j.ops.iter().enumerate() {
                    op_known(p, op, &format!("{at}.ops[{k}]"));
                }
            }
        }
    }

    fn check_faults(&self, procs: &BTreeSet<&str>, p: &mut Problems) {
        for (i, f) in self.faults.iter().enumerate() {
            let at = format!("faults[{i}]");
            p.check(
                procs.contains(f.process.as_str()),
                &format!("{at}.process"),
                || unknown_process(&f.process, procs),
            );
            let replicas = self.processes.get(&f.process).map_or(1, |pl| pl.replicas);
            if let Some(r) = f.replica {
                p.check(r < replicas, &format!("{at}.replica"), || {
                    format!(
                        "\"{}\" has {replicas} replica(s), numbered from 0",
                        f.process
                    )
                });
            }
            p.check(
                f.at_s.is_finite() && f.at_s >= 0.0 && f.at_s < self.duration_s,
                &format!("{at}.at_s"),
                || {
                    format!(
                        "must fall within the run (0 to {} s), got {}",
                        self.duration_s, f.at_s
                    )
                },
            );
            if f.kind != FaultKind::Redeploy {
                p.positive(f.for_s, &format!("{at}.for_s"));
            }
            p.non_negative(f.restart_s, &format!("{at}.restart_s"));
            if f.kind == FaultKind::Slow {
                p.positive(f.delay_ms, &format!("{at}.delay_ms"));
            }
        }
    }

    /// Places every replica as the run will, refusing what does not fit.
    fn check_placement(&self, arch: &Architecture, p: &mut Problems) {
        let machines = Machines::new(&self.nodes);
        let mut placer = Placer::new(&machines);
        let mut names: Vec<&str> = arch.processes.keys().map(String::as_str).collect();
        names.extend(
            self.processes
                .iter()
                .filter(|(_, pl)| pl.like.is_some())
                .map(|(n, _)| n.as_str()),
        );
        names.sort_unstable();
        for name in names {
            let pl = self.processes.get(name);
            let eligible = machines.eligible(pl.map_or(&[][..], |pl| &pl.nodes));
            let (replicas, quota) = pl.map_or((1, 0.0), |pl| (pl.replicas, pl.cpus.unwrap_or(0.0)));
            let mut cursor = 0;
            for r in 0..replicas {
                if placer.place(&eligible, &mut cursor, quota).is_none() {
                    let nodes: Vec<String> = eligible
                        .iter()
                        .map(|n| {
                            format!(
                                "{} ({:.2} of {} cores free)",
                                machines.names[*n],
                                placer.free(*n),
                                machines.cores[*n]
                            )
                        })
                        .collect();
                    p.add(
                        format!("processes.{name}.cpus"),
                        format!(
                            "cannot place replica {r} of \"{name}\": {quota} cores do not fit on {}",
                            nodes.join(", ")
                        ),
                    );
                    break;
                }
            }
        }
    }
}

fn unknown_process(name: &str, procs: &BTreeSet<&str>) -> String {
    let list: Vec<&str> = procs.iter().copied().collect();
    format!(
        "unknown process \"{name}\" (processes: {})",
        list.join(", ")
    )
}
