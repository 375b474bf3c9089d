//! What the types cannot check: every problem found, each named by the key's path.

use std::collections::BTreeMap;

use super::Scenario;
use super::experiment::{Action, DeployMode, ExperimentSpec};
use super::problems::Problems;

impl Scenario {
    /// Checks everything the types cannot; the error lists every problem found.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut p = Problems::default();
        p.check(!self.name.trim().is_empty(), "name", || {
            "must not be empty".into()
        });
        p.check(!self.architectures.is_empty(), "architectures", || {
            "must name at least one of monolith, micro".into()
        });
        let mut archs = self.architectures.clone();
        archs.dedup();
        p.check(
            archs.len() == self.architectures.len(),
            "architectures",
            || "names an architecture twice".into(),
        );
        p.check((1..=20).contains(&self.repeats), "repeats", || {
            format!("must be 1 to 20, got {}", self.repeats)
        });
        p.positive(self.slo.p99_ms, "slo.p99_ms");
        p.check(
            (0.0..1.0).contains(&self.slo.max_error_rate),
            "slo.max_error_rate",
            || format!("must be in [0, 1), got {}", self.slo.max_error_rate),
        );
        if let Some(t) = &self.tracing {
            p.check(
                t.sample_ratio > 0.0 && t.sample_ratio <= 1.0,
                "tracing.sample_ratio",
                || format!("must be in (0, 1], got {}", t.sample_ratio),
            );
        }
        p.cpus(&self.cpus.sut, "cpus.sut");
        p.cpus(&self.cpus.load, "cpus.load");
        let l = &self.load;
        p.check(
            (1..=4096).contains(&l.connections),
            "load.connections",
            || format!("must be 1 to 4096, got {}", l.connections),
        );
        p.check(l.timeout_ms > 0, "load.timeout_ms", || {
            "must be positive".into()
        });
        p.warmup(Some(l.warmup_s), "load.warmup_s");
        p.duration(Some(l.duration_s), "load.duration_s");
        p.check((0.0..=1.0).contains(&l.steal_max), "load.steal_max", || {
            format!("must be a share in [0, 1], got {}", l.steal_max)
        });
        if let Some(a) = &l.adaptive {
            p.check(
                a.precision > 0.0 && a.precision < 1.0,
                "load.adaptive.precision",
                || {
                    format!(
                        "must be a fraction in (0, 1) such as 0.1, got {}",
                        a.precision
                    )
                },
            );
            p.duration(Some(a.min_s), "load.adaptive.min_s");
            p.check(a.max_s >= a.min_s, "load.adaptive.max_s", || {
                format!("must be at least min_s ({}), got {}", a.min_s, a.max_s)
            });
            p.warmup(Some(a.warmup_min_s), "load.adaptive.warmup_min_s");
            p.check(
                a.warmup_max_s >= a.warmup_min_s,
                "load.adaptive.warmup_max_s",
                || format!("must be at least warmup_min_s ({})", a.warmup_min_s),
            );
        }
        for (i, step) in l.profile.iter().enumerate() {
            let path = format!("load.profile[{i}]");
            p.check(
                step.rps.is_finite() && step.rps >= 0.0,
                &format!("{path}.rps"),
                || format!("must be zero or more, got {}", step.rps),
            );
            let prev = if i == 0 { None } else { l.profile.get(i - 1) };
            p.check(
                step.at_s >= 0.0 && prev.is_none_or(|pr| step.at_s > pr.at_s),
                &format!("{path}.at_s"),
                || "steps must start at 0 or later, in increasing order".into(),
            );
        }
        if !self.mix.is_empty() {
            p.mix(&self.mix, "mix");
        }
        for (i, e) in self.experiments.iter().enumerate() {
            self.validate_experiment(&mut p, &format!("experiment[{i}]"), e);
        }
        if p.0.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", p.0.join("\n"))
        }
    }

    fn validate_experiment(&self, p: &mut Problems, at: &str, e: &ExperimentSpec) {
        let duration_of = |d: Option<f64>| d.unwrap_or(self.load.duration_s);
        let mix = |p: &mut Problems, m: &Option<BTreeMap<String, f64>>| {
            if let Some(m) = m {
                p.mix(m, &format!("{at}.mix"));
            }
        };
        match e {
            ExperimentSpec::Sweep(s) => {
                p.check(!s.rates.is_empty() || s.search.is_some(), at, || {
                    "a sweep needs `rates`, a `search`, or both".into()
                });
                for (j, r) in s.rates.iter().enumerate() {
                    p.positive(*r, &format!("{at}.rates[{j}]"));
                }
                if let Some(search) = &s.search {
                    p.positive(search.low, &format!("{at}.search.low"));
                    p.check(
                        search.high > search.low,
                        &format!("{at}.search.high"),
                        || "must be above search.low".into(),
                    );
                    p.check(
                        (1..=20).contains(&search.iterations),
                        &format!("{at}.search.iterations"),
                        || "must be 1 to 20".into(),
                    );
                    p.check(
                        search.precision > 0.0 && search.precision < 1.0,
                        &format!("{at}.search.precision"),
                        || "must be a fraction in (0, 1) such as 0.05".into(),
                    );
                }
                p.duration(s.duration_s, &format!("{at}.duration_s"));
                p.warmup(s.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &s.mix);
            }
            ExperimentSpec::Fault(f) => {
                p.service(&f.target, &format!("{at}.target"), true);
                p.check(f.action.is_fault(), &format!("{at}.action"), || {
                    format!(
                        "'{}' is not a fault (kill, pause, slow, panic, cpu-hog, slow-query)",
                        f.action.as_str()
                    )
                });
                if let Some(m) = f.monolith {
                    p.check(m.is_fault(), &format!("{at}.monolith"), || {
                        format!("'{}' is not a fault", m.as_str())
                    });
                }
                p.check(
                    (1..=16).contains(&f.replicas),
                    &format!("{at}.replicas"),
                    || format!("must be 1 to 16, got {}", f.replicas),
                );
                if f.replicas > 1 {
                    p.check(
                        matches!(f.action, Action::Kill | Action::Pause),
                        &format!("{at}.action"),
                        || "one replica of several is killed or paused (kill, pause)".into(),
                    );
                    p.check(f.target != "gateway", &format!("{at}.replicas"), || {
                        "the gateway runs as one instance".into()
                    });
                    p.check(f.monolith.is_none(), &format!("{at}.monolith"), || {
                        "with replicas, both sides get the same process fault".into()
                    });
                }
                p.positive(f.rate, &format!("{at}.rate"));
                p.check(f.at_s >= 0.0, &format!("{at}.at_s"), || {
                    "must be zero or more".into()
                });
                p.positive(f.for_s, &format!("{at}.for_s"));
                let d = duration_of(f.duration_s);
                p.check(f.at_s + f.for_s < d, &format!("{at}.for_s"), || {
                    format!(
                        "the fault (at_s {} + for_s {}) must end before the run does ({d} s), so recovery can be seen",
                        f.at_s, f.for_s
                    )
                });
                p.check(
                    (1..=20).contains(&f.cycles),
                    &format!("{at}.cycles"),
                    || format!("must be 1 to 20, got {}", f.cycles),
                );
                if let Some(g) = f.gap_s {
                    p.positive(g, &format!("{at}.gap_s"));
                }
                p.check(f.last_end_s() < d, &format!("{at}.cycles"), || {
                    format!(
                        "{} cycles end at {} s, after the run ({d} s)",
                        f.cycles,
                        f.last_end_s()
                    )
                });
                if matches!(f.action, Action::Slow | Action::SlowQuery) {
                    p.check(f.delay_ms > 0, &format!("{at}.delay_ms"), || {
                        "must be positive".into()
                    });
                }
                p.duration(f.duration_s, &format!("{at}.duration_s"));
                p.warmup(f.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &f.mix);
            }
            ExperimentSpec::Deploy(d) => {
                p.service(&d.service, &format!("{at}.service"), true);
                p.check(
                    d.mode != DeployMode::Rolling || d.replicas >= 2,
                    &format!("{at}.replicas"),
                    || "a rolling restart needs at least 2 replicas".into(),
                );
                p.check(
                    (1..=16).contains(&d.replicas),
                    &format!("{at}.replicas"),
                    || "must be 1 to 16".into(),
                );
                p.check(
                    d.replicas == 1 || d.service != "gateway",
                    &format!("{at}.replicas"),
                    || "the gateway runs as one instance".into(),
                );
                p.positive(d.rate, &format!("{at}.rate"));
                p.check(
                    d.at_s >= 0.0 && d.at_s < duration_of(d.duration_s),
                    &format!("{at}.at_s"),
                    || "must fall within the run".into(),
                );
                p.check(
                    (1..=20).contains(&d.cycles),
                    &format!("{at}.cycles"),
                    || format!("must be 1 to 20, got {}", d.cycles),
                );
                p.positive(d.every_s, &format!("{at}.every_s"));
                let last = d.at_s + f64::from(d.cycles.max(1) - 1) * d.every_s;
                p.check(
                    last < duration_of(d.duration_s),
                    &format!("{at}.cycles"),
                    || format!("the last redeploy (at {last} s) must fall within the run"),
                );
                p.duration(d.duration_s, &format!("{at}.duration_s"));
                p.warmup(d.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &d.mix);
            }
            ExperimentSpec::Scale(s) => {
                p.service(&s.service, &format!("{at}.service"), false);
                p.check(
                    s.replicas.first() == Some(&1),
                    &format!("{at}.replicas"),
                    || "must start with 1 (efficiency is relative to one replica)".into(),
                );
                p.check(
                    s.replicas.windows(2).all(|w| w[0] < w[1])
                        && s.replicas.iter().all(|r| (1..=16).contains(r)),
                    &format!("{at}.replicas"),
                    || "must increase, each 1 to 16".into(),
                );
                p.check(
                    (0.05..=64.0).contains(&s.cpus_per_replica),
                    &format!("{at}.cpus_per_replica"),
                    || "must be 0.05 to 64 cores".into(),
                );
                p.check(
                    (1..=4096).contains(&s.connections),
                    &format!("{at}.connections"),
                    || "must be 1 to 4096".into(),
                );
                p.duration(s.duration_s, &format!("{at}.duration_s"));
                p.warmup(s.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &s.mix);
            }
            ExperimentSpec::Budget(b) => super::budget::validate(p, at, b, self),
            ExperimentSpec::NoisyNeighbour(n) => {
                p.positive(n.rate, &format!("{at}.rate"));
                p.positive(n.neighbour_rate, &format!("{at}.neighbour_rate"));
                if let Some(m) = &n.neighbour_mix {
                    p.mix(m, &format!("{at}.neighbour_mix"));
                }
                p.duration(n.duration_s, &format!("{at}.duration_s"));
                p.warmup(n.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &n.mix);
            }
            ExperimentSpec::Consistency(c) => {
                p.positive(c.rate, &format!("{at}.rate"));
                p.check(c.probes <= 1000, &format!("{at}.probes"), || {
                    "must be at most 1000".into()
                });
                p.duration(c.duration_s, &format!("{at}.duration_s"));
                p.warmup(c.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &c.mix);
            }
            ExperimentSpec::Resources(r) => {
                p.positive(r.rate, &format!("{at}.rate"));
                p.duration(r.duration_s, &format!("{at}.duration_s"));
                p.warmup(r.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &r.mix);
            }
            ExperimentSpec::Journeys(j) => {
                p.check(
                    (1..=1000).contains(&j.users),
                    &format!("{at}.users"),
                    || "must be 1 to 1000".into(),
                );
                p.positive(j.hatch_rate, &format!("{at}.hatch_rate"));
                p.duration(j.duration_s, &format!("{at}.duration_s"));
            }
            ExperimentSpec::Steps(s) => {
                p.positive(s.rate, &format!("{at}.rate"));
                let d = duration_of(s.duration_s);
                for (j, step) in s.steps.iter().enumerate() {
                    let sp = format!("{at}.steps[{j}]");
                    p.check(
                        step.at_s >= 0.0 && step.at_s < d,
                        &format!("{sp}.at_s"),
                        || format!("must fall within the run (0 to {d} s)"),
                    );
                    let service = step.target.split('#').next().unwrap_or_default();
                    p.service(service, &format!("{sp}.target"), true);
                    p.check(
                        step.action != Action::Scale || step.replicas.is_some(),
                        &format!("{sp}.replicas"),
                        || "a scale step needs `replicas`".into(),
                    );
                }
                p.duration(s.duration_s, &format!("{at}.duration_s"));
                p.warmup(s.warmup_s, &format!("{at}.warmup_s"));
                mix(p, &s.mix);
            }
        }
    }
}
