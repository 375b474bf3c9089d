//! Machines and where replicas go: node groups expand to nodes, and replicas are spread over
//! a process's nodes in turn, each on the next node whose cores its CPU quota still fits
//! (a replica without a quota always fits, as a pod without a CPU request does).

use std::collections::BTreeMap;

use crate::input::scenario::NodeGroup;

/// Every node of a scenario.
pub(crate) struct Machines {
    pub(crate) names: Vec<String>,
    pub(crate) cores: Vec<f64>,
    pub(crate) speed: Vec<f64>,
    /// Group or node name → node indices.
    by_name: BTreeMap<String, Vec<usize>>,
}

impl Machines {
    pub(crate) fn new(groups: &[NodeGroup]) -> Machines {
        let mut m = Machines {
            names: Vec::new(),
            cores: Vec::new(),
            speed: Vec::new(),
            by_name: BTreeMap::new(),
        };
        for g in groups {
            let mut members = Vec::new();
            for i in 0..g.count {
                let name = if g.count == 1 {
                    g.name.clone()
                } else {
                    format!("{}-{i}", g.name)
                };
                members.push(m.names.len());
                m.by_name
                    .entry(name.clone())
                    .or_default()
                    .push(m.names.len());
                m.names.push(name);
                m.cores.push(g.cores);
                m.speed.push(g.speed);
            }
            if g.count != 1 {
                m.by_name.entry(g.name.clone()).or_default().extend(members);
            }
        }
        m
    }

    /// The nodes a group or node name stands for.
    pub(crate) fn resolve(&self, name: &str) -> Option<&[usize]> {
        self.by_name.get(name).map(Vec::as_slice)
    }

    /// The nodes of a placement's list (empty list: the first node).
    pub(crate) fn eligible(&self, names: &[String]) -> Vec<usize> {
        if names.is_empty() {
            return vec![0];
        }
        let mut out: Vec<usize> = Vec::new();
        for n in names {
            for i in self.resolve(n).unwrap_or(&[]) {
                if !out.contains(i) {
                    out.push(*i);
                }
            }
        }
        out
    }
}

/// Cores still free for quotas on each node.
pub(crate) struct Placer {
    free: Vec<f64>,
}

impl Placer {
    pub(crate) fn new(m: &Machines) -> Placer {
        Placer {
            free: m.cores.clone(),
        }
    }

    /// Places one replica asking `quota` cores on the first node from `cursor` on (in turn)
    /// with room; moves the cursor past it.
    pub(crate) fn place(
        &mut self,
        eligible: &[usize],
        cursor: &mut usize,
        quota: f64,
    ) -> Option<usize> {
        let n = eligible.len();
        for k in 0..n {
            let node = eligible[(*cursor + k) % n];
            if self.free[node] + 1e-9 >= quota {
                self.free[node] -= quota;
                *cursor = (*cursor + k + 1) % n;
                return Some(node);
            }
        }
        None
    }

    /// Gives back a stopped replica's quota.
    pub(crate) fn release(&mut self, node: usize, quota: f64) {
        self.free[node] += quota;
    }

    pub(crate) fn free(&self, node: usize) -> f64 {
        self.free[node]
    }
}
