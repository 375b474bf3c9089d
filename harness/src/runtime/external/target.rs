//! Target files (TOML): a deployment crm-bench did not start, and the shell command for each
//! thing the harness may do to it. Checked as scenario files are: an unknown key, action or
//! placeholder is an error naming its key path and line.
//!
//! ```toml
//! arch = "micro"
//! url = "http://127.0.0.1:18080"
//! [actions]
//! kill = "docker-compose -p crm kill {service}"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::scenario::lines;
use crate::topology::{Arch, MICRO_SERVICES, services};

/// The actions a target may define, with the placeholders each may use.
pub const ACTIONS: [(&str, &[&str], &str); 8] = [
    ("kill", COMMON, "kill a replica at once (SIGKILL)"),
    ("pause", COMMON, "freeze a replica (SIGSTOP, docker pause)"),
    ("unpause", COMMON, "resume a paused replica"),
    (
        "restart",
        COMMON,
        "start a killed replica again, or stop and start it (a redeploy)",
    ),
    (
        "rolling-restart",
        &["service"],
        "replace every replica of a service in turn, without downtime",
    ),
    (
        "scale",
        &["service", "replicas"],
        "set a service's replicas",
    ),
    (
        "stats",
        &["service"],
        "print `CPU MEMORY` per replica: CPU as `12.5s` (cumulative), `250m` or `3.5%` (now)",
    ),
    (
        "ready",
        COMMON,
        "exit 0 when the replica is ready (polled after restarts and scaling)",
    ),
];

const COMMON: &[&str] = &["service", "replica"];

/// A deployment to drive, as its target file gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Which build the deployment runs.
    pub arch: Arch,
    /// The public API's root (the gateway, or the monolith's load balancer).
    pub url: String,
    /// The benchmark tenant's admin; absent: a fresh tenant is signed up for each run.
    #[serde(default)]
    pub admin: Option<Admin>,
    /// PostgreSQL URL per context (`identity`, `customers`, ...), reachable from here: for
    /// the bulk seeding path, the checksum and the reconciliation. In the monolith one URL
    /// under `all`.
    #[serde(default)]
    pub databases: BTreeMap<String, String>,
    /// The cluster's superuser URL (database `postgres`); for pgbench.
    #[serde(default)]
    pub postgres_admin_url: Option<String>,
    /// Each service's own URL, reachable from here: with `internal_secret`, the module
    /// faults (panic, cpu-hog, slow-query) through its fault admin API.
    #[serde(default)]
    pub instances: BTreeMap<String, String>,
    /// `CRM_INTERNAL_SECRET` of the deployment (the admin APIs').
    #[serde(default)]
    pub internal_secret: Option<String>,
    /// Replicas each service runs with when the run starts (default 1); scaling experiments
    /// put them back to this.
    #[serde(default)]
    pub replicas: BTreeMap<String, u32>,
    /// Seconds to wait for readiness (at the start, after a restart or scaling).
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_s: f64,
    /// Seconds an action's command may take before it is killed and the action fails.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_s: f64,
    /// Action name → shell command (`sh -c`), with `{service}`, `{replica}` (1, 2, ...),
    /// `{replicas}` replaced.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
}

/// Credentials of an existing admin of an otherwise empty tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub email: String,
    pub password: String,
}

fn default_ready_timeout() -> f64 {
    120.0
}
fn default_command_timeout() -> f64 {
    300.0
}

impl Target {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Target> {
        let t: Target = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let problems = t.problems();
        if !problems.is_empty() {
            anyhow::bail!(
                "{origin}: invalid target\n{}",
                lines::locate(text, &problems.join("\n"))
            );
        }
        Ok(t)
    }

    /// Reads and parses a target file.
    pub fn load(path: &Path) -> anyhow::Result<Target> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read the target file {}", path.display()))?;
        Target::parse(&text, &path.display().to_string())
    }

    /// The command of `action`, if the target defines it.
    pub fn action(&self, action: &str) -> Option<&str> {
        self.actions.get(action).map(String::as_str)
    }

    /// Replicas of `service` at the start.
    pub fn initial_replicas(&self, service: &str) -> u32 {
        self.replicas.get(service).copied().unwrap_or(1).max(1)
    }

    /// Every problem, each `path: message`.
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut check = |ok: bool, path: &str, msg: String| {
            if !ok {
                p.push(format!("{path}: {msg}"));
            }
        };
        let http = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        check(
            http(&self.url),
            "url",
            format!("'{}' is not an http:// or https:// URL", self.url),
        );
        let known = services(self.arch);
        for (name, url) in &self.instances {
            let path = format!("instances.{name}");
            check(
                known.contains(&name.as_str()),
                &path,
                format!("unknown service (services: {})", known.join(", ")),
            );
            check(http(url), &path, format!("'{url}' is not an http:// URL"));
        }
        for (name, n) in &self.replicas {
            let path = format!("replicas.{name}");
            check(
                known.contains(&name.as_str()),
                &path,
                format!("unknown service (services: {})", known.join(", ")),
            );
            check(
                (1..=64).contains(n),
                &path,
                format!("must be 1 to 64, got {n}"),
            );
        }
        let contexts: Vec<&str> = match self.arch {
            Arch::Monolith => vec!["all"],
            Arch::Micro => MICRO_SERVICES.to_vec(),
        };
        for (name, url) in &self.databases {
            let path = format!("databases.{name}");
            check(
                contexts.contains(&name.as_str()),
                &path,
                format!(
                    "unknown database (for the {}: {})",
                    self.arch,
                    contexts.join(", ")
                ),
            );
            check(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                &path,
                format!("'{url}' is not a postgres:// URL"),
            );
        }
        if !self.databases.is_empty() {
            for c in &contexts {
                check(
                    self.databases.contains_key(*c),
                    "databases",
                    format!("gives some databases but not `{c}`: give all or none"),
                );
            }
        }
        for (v, path) in [
            (self.ready_timeout_s, "ready_timeout_s"),
            (self.command_timeout_s, "command_timeout_s"),
        ] {
            check(
                v.is_finite() && v >= 1.0,
                path,
                format!("must be at least 1 second, got {v}"),
            );
        }
        for (name, command) in &self.actions {
            let path = format!("actions.{name}");
            let Some((_, allowed, _)) = ACTIONS.iter().find(|(a, _, _)| a == name) else {
                let names: Vec<&str> = ACTIONS.iter().map(|(a, _, _)| *a).collect();
                check(
                    false,
                    &path,
                    format!("unknown action (actions: {})", names.join(", ")),
                );
                continue;
            };
            check(
                !command.trim().is_empty(),
                &path,
                "the command is empty (leave the action out instead)".into(),
            );
            for word in super::command::placeholders(command) {
                check(
                    allowed.contains(&word),
                    &path,
                    format!(
                        "unknown placeholder {{{word}}} (in `{name}`: {})",
                        allowed
                            .iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "arch = \"micro\"\nurl = \"http://127.0.0.1:18080\"\n\n[actions]\nkill = \"docker kill crm-{service}-{replica}\"\nscale = \"kubectl scale deploy/{service} --replicas={replicas}\"\n";

    fn err(text: &str) -> String {
        format!("{:#}", Target::parse(text, "t.toml").unwrap_err())
    }

    #[test]
    fn a_good_target_parses_with_its_defaults() {
        let t = Target::parse(GOOD, "t.toml").unwrap();
        assert_eq!(t.arch, Arch::Micro);
        assert_eq!(
            t.action("kill"),
            Some("docker kill crm-{service}-{replica}")
        );
        assert_eq!(t.action("pause"), None);
        assert_eq!(t.initial_replicas("customers"), 1);
        assert!(t.admin.is_none() && t.databases.is_empty());
    }

    #[test]
    fn an_unknown_action_is_named_with_its_path_and_line() {
        let e = err(&format!("{GOOD}restrat = \"docker restart x\"\n"));
        assert!(e.contains("line 7: actions.restrat: unknown action"), "{e}");
        assert!(e.contains("rolling-restart"), "lists the actions: {e}");
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let e = err(&GOOD.replace("{replicas}", "{count}"));
        assert!(
            e.contains("line 6: actions.scale: unknown placeholder {count}"),
            "{e}"
        );
        // Shell syntax with braces is no placeholder.
        let shell = format!("{GOOD}stats = \"awk '{{print $1}}' ${{HOME}}/x\"\n");
        Target::parse(&shell, "t.toml").unwrap();
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let e = err(&format!(
            "{GOOD}\n[admin]\nemail = \"a@b.c\"\npasword = \"x\"\n"
        ));
        assert!(e.contains("line 10") && e.contains("pasword"), "{e}");
        let e = err(&format!("urll = \"x\"\n{GOOD}"));
        assert!(e.contains("line 1") && e.contains("urll"), "{e}");
    }

    #[test]
    fn the_shipped_targets_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/targets");
        let load = |f: &str| Target::load(&Path::new(dir).join(f)).unwrap();
        let compose = load("compose.toml");
        assert_eq!(compose.arch, Arch::Micro);
        assert_eq!(compose.databases.len(), MICRO_SERVICES.len());
        for a in ["kill", "pause", "unpause", "restart", "ready", "stats"] {
            assert!(compose.action(a).is_some(), "compose.toml: {a}");
        }
        // Host networking: one replica per fixed port, so neither.
        assert!(compose.action("scale").is_none() && compose.action("rolling-restart").is_none());
        let monolith = load("compose-monolith.toml");
        assert_eq!(monolith.arch, Arch::Monolith);
        assert!(monolith.databases.contains_key("all"));
        let k8s = load("k8s.toml");
        for a in [
            "kill",
            "restart",
            "rolling-restart",
            "scale",
            "stats",
            "ready",
        ] {
            assert!(k8s.action(a).is_some(), "k8s.toml: {a}");
        }
        assert!(
            k8s.action("pause").is_none(),
            "Kubernetes cannot pause a pod"
        );
        assert_eq!(k8s.initial_replicas("customers"), 2);
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(files, 3, "every shipped target is checked here");
    }

    #[test]
    fn bad_values_are_named() {
        let e = err(&GOOD.replace("http://127.0.0.1:18080", "127.0.0.1:18080"));
        assert!(e.contains("line 2: url: '127.0.0.1:18080' is not"), "{e}");
        let e = err(&format!(
            "{}\n[databases]\ncustomers = \"postgres://h/c\"\nbilling = \"postgres://h/b\"\n",
            GOOD.replace("\n[actions]", "replicas = { customers = 0 }\n[actions]")
        ));
        assert!(
            e.contains("replicas.customers: must be 1 to 64, got 0"),
            "{e}"
        );
        assert!(e.contains("databases.billing: unknown database"), "{e}");
        assert!(
            e.contains("databases: gives some databases but not `identity`"),
            "{e}"
        );
    }
}
