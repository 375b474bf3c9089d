//! What the types of a calibration cannot check, each problem named by its key's path.

use super::Problems;
use super::calibration::{Architecture, Calibration, Node, Operation};

/// Process kinds; `database` and `broker` processes serve statements and events.
pub(crate) const PROCESS_KINDS: [&str; 5] =
    ["gateway", "service", "monolith", "database", "broker"];
const NODE_KINDS: [&str; 3] = ["server", "internal", "consumer"];

impl Calibration {
    pub(crate) fn check(&self, p: &mut Problems) {
        p.check(self.monolith.is_some() || self.micro.is_some(), "", || {
            "describes no architecture: add [monolith] or [micro]".into()
        });
        for (name, arch) in [("monolith", &self.monolith), ("micro", &self.micro)] {
            if let Some(a) = arch {
                a.check(name, p);
            }
        }
    }
}

fn list(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    names
        .map(|n| n.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Architecture {
    fn check(&self, at: &str, p: &mut Problems) {
        let b = &self.balancer;
        p.positive(b.health_check_ms, &format!("{at}.balancer.health_check_ms"));
        p.check(
            b.unhealthy_after >= 1,
            &format!("{at}.balancer.unhealthy_after"),
            || "must be at least 1".into(),
        );
        p.non_negative(b.ejection_ms, &format!("{at}.balancer.ejection_ms"));
        if let Some(d) = &self.default_policy {
            self.policy_known(d, &format!("{at}.default_policy"), p);
        }
        for (name, pol) in &self.policies {
            let at = format!("{at}.policies.{name}");
            p.positive(pol.timeout_ms, &format!("{at}.timeout_ms"));
            p.non_negative(pol.backoff_ms, &format!("{at}.backoff_ms"));
            p.check(
                pol.max_backoff_ms.is_finite() && pol.max_backoff_ms >= pol.backoff_ms,
                &format!("{at}.max_backoff_ms"),
                || format!("must be at least backoff_ms ({})", pol.backoff_ms),
            );
            if let Some(br) = &pol.breaker {
                p.check(br.failures >= 1, &format!("{at}.breaker.failures"), || {
                    "must be at least 1".into()
                });
                p.positive(br.open_ms, &format!("{at}.breaker.open_ms"));
                p.check(
                    br.max_open_ms.is_finite() && br.max_open_ms >= br.open_ms,
                    &format!("{at}.breaker.max_open_ms"),
                    || format!("must be at least open_ms ({})", br.open_ms),
                );
            }
        }
        for (name, proc) in &self.processes {
            let at = format!("{at}.processes.{name}");
            p.check(
                PROCESS_KINDS.contains(&proc.kind.as_str()),
                &format!("{at}.kind"),
                || {
                    format!(
                        "unknown kind \"{}\" (kinds: {})",
                        proc.kind,
                        PROCESS_KINDS.join(", ")
                    )
                },
            );
            p.positive(proc.pool_timeout_ms, &format!("{at}.pool_timeout_ms"));
            p.non_negative(proc.background, &format!("{at}.background"));
            p.non_negative(proc.unspanned_us, &format!("{at}.unspanned_us"));
            if let Some(w) = &proc.idle_wake {
                p.non_negative(w.us, &format!("{at}.idle_wake.us"));
                p.positive(w.tau_ms, &format!("{at}.idle_wake.tau_ms"));
                p.check(
                    (0.0..=1.0).contains(&w.cpu),
                    &format!("{at}.idle_wake.cpu"),
                    || {
                        format!(
                            "a share of the cost spent on a core: between 0 and 1, got {}",
                            w.cpu
                        )
                    },
                );
            }
            match &proc.database {
                Some(db) => self.process_of_kind(db, "database", &format!("{at}.database"), p),
                None => p.check(proc.pool == 0, &format!("{at}.pool"), || {
                    "a pool needs a `database` to connect to".into()
                }),
            }
        }
        if let Some(ev) = &self.events {
            let at = format!("{at}.events");
            p.non_negative(ev.relay_poll_ms, &format!("{at}.relay_poll_ms"));
            p.positive(ev.redeliver_ms, &format!("{at}.redeliver_ms"));
            if let Some(d) = &ev.relay_us {
                p.dist(d, &format!("{at}.relay_us"));
            }
            if let Some(v) = ev.relay_cpu {
                p.check((0.0..=1.0).contains(&v), &format!("{at}.relay_cpu"), || {
                    format!("a share of the time spent on a core: between 0 and 1, got {v}")
                });
            }
            if let Some(d) = &ev.broker_us {
                p.dist(d, &format!("{at}.broker_us"));
            }
            if let Some(b) = &ev.broker {
                self.process_of_kind(b, "broker", &format!("{at}.broker"), p);
            }
        }
        p.check(!self.ops.is_empty(), &format!("{at}.ops"), || {
            "needs at least one operation".into()
        });
        for (name, op) in &self.ops {
            self.check_op(op, &format!("{at}.ops.{name}"), p);
        }
    }

    fn policy_known(&self, name: &str, at: &str, p: &mut Problems) {
        p.check(self.policies.contains_key(name), at, || {
            format!(
                "unknown policy \"{name}\" (policies: {})",
                list(self.policies.keys())
            )
        });
    }

    fn process_of_kind(&self, name: &str, kind: &str, at: &str, p: &mut Problems) {
        match self.processes.get(name) {
            None => p.add(
                at,
                format!(
                    "unknown process \"{name}\" (processes: {})",
                    list(self.processes.keys())
                ),
            ),
            Some(proc) => p.check(proc.kind == kind, at, || {
                format!("process \"{name}\" is a {}, not a {kind}", proc.kind)
            }),
        }
    }

    fn check_op(&self, op: &Operation, at: &str, p: &mut Problems) {
        p.check(!op.shapes.is_empty(), &format!("{at}.shapes"), || {
            "needs at least one shape".into()
        });
        let mut total = 0.0;
        for (s, shape) in op.shapes.iter().enumerate() {
            let at = format!("{at}.shapes[{s}]");
            let pr = shape.probability;
            p.check(
                pr.is_finite() && pr > 0.0 && pr <= 1.0,
                &format!("{at}.probability"),
                || format!("must be above 0 and at most 1, got {pr}"),
            );
            total += pr;
            p.check(!shape.nodes.is_empty(), &format!("{at}.nodes"), || {
                "needs at least the root node".into()
            });
            for (i, node) in shape.nodes.iter().enumerate() {
                self.check_node(&shape.nodes, i, node, &format!("{at}.nodes[{i}]"), p);
            }
        }
        if !op.shapes.is_empty() {
            p.check((total - 1.0).abs() <= 1e-6, &format!("{at}.shapes"), || {
                format!("the shapes' probabilities must sum to 1, they sum to {total}")
            });
        }
    }

    fn check_node(&self, nodes: &[Node], i: usize, n: &Node, at: &str, p: &mut Problems) {
        let proc = self.processes.get(&n.process);
        p.check(proc.is_some(), &format!("{at}.process"), || {
            format!(
                "unknown process \"{}\" (processes: {})",
                n.process,
                list(self.processes.keys())
            )
        });
        p.check(NODE_KINDS.contains(&n.kind.as_str()), &format!("{at}.kind"), || {
            match n.kind.as_str() {
                "client" => "a client span is not a node: add its time beyond the server's to the called node's `wire_us`".into(),
                "db" => "a db span is not a node: add its time to its parent's `db_us` and count it in `db_statements`".into(),
                k => format!("unknown kind \"{k}\" (kinds: {})", NODE_KINDS.join(", ")),
            }
        });
        match n.parent {
            None => p.check(i == 0, &format!("{at}.parent"), || {
                "missing: only node 0, the root, has no parent".into()
            }),
            Some(parent) if i == 0 => p.add(
                format!("{at}.parent"),
                format!("node 0 is the root and has no parent, got {parent}"),
            ),
            Some(parent) if parent >= nodes.len() => p.add(
                format!("{at}.parent"),
                format!("no node {parent}: the shape has {} nodes", nodes.len()),
            ),
            Some(_) => {
                if cycles(nodes, i) {
                    p.add(
                        format!("{at}.parent"),
                        format!(
                            "makes a cycle: following parents from node {i} never reaches the root"
                        ),
                    );
                }
            }
        }
        p.check(!(i == 0 && n.asynchronous), &format!("{at}.async"), || {
            "the root is the response path; it cannot be asynchronous".into()
        });
        if n.asynchronous {
            p.check(self.events.is_some(), &format!("{at}.async"), || {
                "an asynchronous node needs the architecture's [events] section".into()
            });
        }
        for (key, d) in [
            ("self_us", &n.self_us),
            ("db_us", &n.db_us),
            ("wire_us", &n.wire_us),
        ] {
            if let Some(d) = d {
                p.dist(d, &format!("{at}.{key}"));
            }
        }
        for (key, share) in [("self_cpu", n.self_cpu), ("db_cpu", n.db_cpu)] {
            if let Some(v) = share {
                p.check((0.0..=1.0).contains(&v), &format!("{at}.{key}"), || {
                    format!("a share of the time spent on a core: between 0 and 1, got {v}")
                });
            }
        }
        if let Some(k) = n.db_statements {
            p.non_negative(k, &format!("{at}.db_statements"));
            p.check(
                k == 0.0 || n.db_us.is_some(),
                &format!("{at}.db_us"),
                || "statements need their time: add `db_us`".into(),
            );
        }
        if n.db_us.is_some()
            && n.db_statements != Some(0.0)
            && let Some(proc) = proc
        {
            p.check(proc.pool > 0, &format!("{at}.db_us"), || {
                format!(
                    "process \"{}\" has no database pool (`pool` = 0)",
                    n.process
                )
            });
        }
        if let Some(pol) = &n.policy {
            self.policy_known(pol, &format!("{at}.policy"), p);
        }
        let parent_proc = n.parent.and_then(|q| nodes.get(q)).map(|q| &q.process);
        let remote = parent_proc.is_some_and(|pp| *pp != n.process) && !n.asynchronous;
        if remote && n.policy.is_none() {
            p.check(self.default_policy.is_some(), &format!("{at}.policy"), || {
                format!(
                    "a call from \"{}\" to \"{}\" needs a policy: name one here or set default_policy",
                    parent_proc.map_or("", |s| s.as_str()),
                    n.process
                )
            });
        }
    }
}

/// Whether following parents from node `i` loops before reaching a root.
fn cycles(nodes: &[Node], i: usize) -> bool {
    let mut at = i;
    for _ in 0..=nodes.len() {
        match nodes.get(at).and_then(|n| n.parent) {
            None => return false,
            Some(q) if q == i => return true,
            Some(q) => at = q,
        }
    }
    true
}
