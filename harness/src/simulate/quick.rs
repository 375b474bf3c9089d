//! `--quick`: the same study smaller and shorter, so that every shipped simulation file runs
//! in seconds (in the tests, and to try an edit): rates, users, node counts, replicas and
//! autoscaler bounds multiplied by `scale`, every duration and time by `time`.

use crm_sim::Scenario;
use serde::Deserialize;

/// The factors of `--quick` (a simulation file's `quick = { … }`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quick {
    #[serde(default = "d_scale")]
    pub scale: f64,
    #[serde(default = "d_time")]
    pub time: f64,
}

fn d_scale() -> f64 {
    0.01
}
fn d_time() -> f64 {
    0.1
}

impl Default for Quick {
    fn default() -> Self {
        Quick {
            scale: d_scale(),
            time: d_time(),
        }
    }
}

/// `n × k`, rounded up, at least `floor`.
pub fn count(n: u32, k: f64, floor: u32) -> u32 {
    ((n as f64 * k).ceil() as u32).max(floor)
}

/// `s` with its load and sizes multiplied by `q.scale` and its times by `q.time`.
pub fn shrink(s: &Scenario, q: &Quick) -> Scenario {
    let (k, t) = (q.scale, q.time);
    let mut s = s.clone();
    s.name = format!("{} (quick: load ×{k}, time ×{t})", s.name);
    s.duration_s *= t;
    s.warmup_s *= t;
    s.bucket_s = (s.bucket_s * t).max(0.01);
    for n in &mut s.nodes {
        n.count = count(n.count, k, 1);
    }
    let mut replicas = std::collections::BTreeMap::new();
    for (name, p) in &mut s.processes {
        p.replicas = count(p.replicas, k, 1);
        replicas.insert(name.clone(), p.replicas);
    }
    if let Some(o) = &mut s.open {
        o.rate = o.rate.map(|r| r * k);
        for step in &mut o.profile {
            step.rps *= k;
            step.at_s *= t;
        }
        if o.connections > 0 {
            o.connections = count(o.connections, k, 1);
        }
    }
    if let Some(c) = &mut s.closed {
        c.users = count(c.users, k, 1);
        c.ramp_s *= t;
    }
    for f in &mut s.faults {
        f.at_s *= t;
        f.for_s *= t;
        f.restart_s *= t;
        if let (Some(r), Some(n)) = (f.replica, replicas.get(&f.process)) {
            f.replica = Some(r.min(n.saturating_sub(1)));
        }
    }
    for a in s.autoscale.values_mut() {
        a.min = count(a.min, k, 1);
        a.max = count(a.max, k, a.min);
        a.sync_s *= t;
        a.stabilisation_s *= t;
        a.startup_s *= t;
    }
    s
}
