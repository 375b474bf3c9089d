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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_shrinks_load_and_sizes_by_scale_and_times_by_time() {
        let cal = crm_sim::Calibration::parse(
            "schema = \"crm-sim/calibration/v1\"\n[monolith.processes.monolith]\nkind = \"monolith\"\n[[monolith.ops.ping.shapes]]\nprobability = 1.0\nnodes = [{ process = \"monolith\", self_us = { exp = 100.0 } }]\n",
            "c.toml",
        )
        .unwrap();
        let s = Scenario::parse(
            "schema = \"crm-sim/scenario/v1\"\narchitecture = \"monolith\"\nduration_s = 100\nwarmup_s = 10\nnodes = [{ name = \"n\", cores = 4, count = 10 }]\n[processes.monolith]\nreplicas = 8\n[open]\nrate = 1000.0\nmix = { ping = 1.0 }\n[[faults]]\nkind = \"kill\"\nprocess = \"monolith\"\nreplica = 7\nat_s = 50\nfor_s = 10\n",
            "s.toml",
            &cal,
        )
        .unwrap();
        let q = shrink(
            &s,
            &Quick {
                scale: 0.25,
                time: 0.1,
            },
        );
        assert_eq!(q.duration_s, 10.0);
        assert_eq!(q.nodes[0].count, 3);
        assert_eq!(q.processes["monolith"].replicas, 2);
        assert_eq!(q.open.as_ref().unwrap().rate, Some(250.0));
        assert_eq!(
            q.faults[0].replica,
            Some(1),
            "a replica that no longer exists: the last"
        );
        assert_eq!((q.faults[0].at_s, q.faults[0].for_s), (5.0, 1.0));
        q.validate(&cal).unwrap();
    }
}
