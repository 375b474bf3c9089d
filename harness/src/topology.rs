//! What to bring up: an architecture, a runtime, and per-service replicas and limits.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Monolith,
    Micro,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Process,
    Docker,
    /// A deployment crm-bench did not start, driven through a target file's commands.
    External,
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::Monolith => "monolith",
            Arch::Micro => "micro",
        })
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuntimeKind::Process => "process",
            RuntimeKind::Docker => "docker",
            RuntimeKind::External => "external",
        })
    }
}

/// The microservices, in start order (identity first: everyone verifies its tokens).
pub const MICRO_SERVICES: [&str; 7] = [
    "identity",
    "customers",
    "sales",
    "activities",
    "leads",
    "analytics",
    "notifications",
];

/// The CRM's processes of an architecture (infrastructure — postgres, nats — not included).
pub fn services(arch: Arch) -> Vec<&'static str> {
    match arch {
        Arch::Monolith => vec!["monolith"],
        Arch::Micro => MICRO_SERVICES.iter().copied().chain(["gateway"]).collect(),
    }
}

/// The load balancer in front of monolith replicas: the microservices' gateway binary in
/// balancer mode (`CRM_GATEWAY_MODE=balancer`), so both architectures' replicas are balanced,
/// health-checked, broken and retried by the same code. A request to the monolith then takes
/// one extra local HTTP hop: client → balancer → monolith replica.
pub const BALANCER: &str = "balancer";

/// Limits and replicas of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub replicas: u32,
    /// CPU quota in cores (docker `--cpus`); in process mode only reported.
    pub cpus: Option<f64>,
    /// Memory limit in bytes (docker); in process mode only reported.
    pub memory: Option<u64>,
}

/// Everything `up` needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    pub arch: Arch,
    pub runtime: RuntimeKind,
    /// Service (or `postgres`, `nats`) → spec; absent ones run one replica, no limits.
    pub specs: BTreeMap<String, ServiceSpec>,
    /// CPUs the system under test may use (`taskset` list / docker cpuset), e.g. "1".
    pub sut_cpus: Option<String>,
    /// Where the CRM's processes export spans (`CRM_OTLP_ENDPOINT`); `None`: tracing off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceExport>,
}

/// Span export for every CRM process of a deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceExport {
    /// The OTLP/HTTP receiver's base URL (crm-bench's own, on 127.0.0.1).
    pub endpoint: String,
    /// `CRM_TRACE_SAMPLE_RATIO`: the share of traces the CRM starts itself (requests without
    /// a `traceparent`); the load generator's requests carry their own decision.
    pub sample_ratio: f64,
}

impl Topology {
    pub fn spec(&self, service: &str) -> ServiceSpec {
        let mut s = self.specs.get(service).cloned().unwrap_or_default();
        s.replicas = s.replicas.max(1);
        s
    }

    /// The CRM's processes to start: the architecture's services, and for a monolith of two
    /// or more replicas the [`BALANCER`] in front of them. One monolith replica runs alone,
    /// reached directly, exactly as before replicas existed.
    pub fn processes(&self) -> Vec<&'static str> {
        let mut all = services(self.arch);
        if self.arch == Arch::Monolith && self.spec("monolith").replicas > 1 {
            all.push(BALANCER);
        }
        all
    }

    /// Applies `--replicas SERVICE=N`, `--cpus SERVICE=X`, `--memory SERVICE=SIZE` flags.
    pub fn apply_flags(
        &mut self,
        replicas: &[String],
        cpus: &[String],
        memory: &[String],
    ) -> anyhow::Result<()> {
        let known = |name: &str| -> anyhow::Result<()> {
            if services(self.arch).contains(&name) || name == "postgres" || name == "nats" {
                Ok(())
            } else {
                bail!(
                    "unknown service '{name}' for the {} (services: {}, postgres, nats)",
                    self.arch,
                    services(self.arch).join(", ")
                )
            }
        };
        for (flag, values) in [
            ("--replicas", replicas),
            ("--cpus", cpus),
            ("--memory", memory),
        ] {
            for v in values {
                let (name, value) = v
                    .split_once('=')
                    .with_context(|| format!("{flag} takes SERVICE=VALUE, got '{v}'"))?;
                known(name)?;
                let spec = self.specs.entry(name.to_owned()).or_default();
                match flag {
                    "--replicas" => {
                        let n: u32 = value
                            .parse()
                            .with_context(|| format!("{flag} {name}: '{value}' is not a count"))?;
                        if n == 0 || n > 16 {
                            bail!("{flag} {name}: 1 to 16 replicas");
                        }
                        // Replicas need a balancer in front: the gateway for the context
                        // services, the gateway in balancer mode for the monolith.
                        let scalable = match self.arch {
                            Arch::Micro => MICRO_SERVICES.contains(&name),
                            Arch::Monolith => name == "monolith",
                        };
                        if n > 1 && !scalable {
                            bail!(
                                "{flag}: only the microservices' context services and the monolith scale out, not {name}"
                            );
                        }
                        spec.replicas = n;
                    }
                    "--cpus" => {
                        let c: f64 = value.parse().with_context(|| {
                            format!("{flag} {name}: '{value}' is not a number of cores")
                        })?;
                        if !(0.05..=64.0).contains(&c) {
                            bail!("{flag} {name}: 0.05 to 64 cores");
                        }
                        spec.cpus = Some(c);
                    }
                    _ => {
                        spec.memory =
                            Some(parse_size(value).with_context(|| format!("{flag} {name}"))?)
                    }
                }
            }
        }
        Ok(())
    }
}

/// `512m`, `2g`, `1048576` → bytes.
pub fn parse_size(s: &str) -> anyhow::Result<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let m = match &s[i..] {
                "k" | "kb" | "kib" => 1u64 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                other => bail!("unknown size unit '{other}' (use k, m or g)"),
            };
            (&s[..i], m)
        }
        None => (s.as_str(), 1),
    };
    let n: f64 = num
        .parse()
        .with_context(|| format!("'{s}' is not a size"))?;
    anyhow::ensure!(n > 0.0, "a size must be positive");
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(
            parse_size("1.5g").unwrap(),
            (1.5 * (1u64 << 30) as f64) as u64
        );
        assert!(parse_size("12x").is_err());
    }

    #[test]
    fn flags_are_checked_against_the_architecture() {
        let mut t = Topology {
            arch: Arch::Micro,
            runtime: RuntimeKind::Process,
            specs: BTreeMap::new(),
            sut_cpus: None,
            tracing: None,
        };
        t.apply_flags(
            &["customers=3".into()],
            &["customers=0.5".into()],
            &["customers=256m".into()],
        )
        .unwrap();
        assert_eq!(t.spec("customers").replicas, 3);
        assert_eq!(t.spec("sales").replicas, 1);
        assert!(t.apply_flags(&["monolith=2".into()], &[], &[]).is_err());
        assert!(t.apply_flags(&["gateway=2".into()], &[], &[]).is_err());
        assert!(t.apply_flags(&["customers".into()], &[], &[]).is_err());
        assert!(t.apply_flags(&["customers=0".into()], &[], &[]).is_err());
        assert_eq!(
            t.processes(),
            services(Arch::Micro),
            "no balancer for micro"
        );
    }

    #[test]
    fn monolith_replicas_put_the_balancer_in_front() {
        let mut t = Topology {
            arch: Arch::Monolith,
            runtime: RuntimeKind::Process,
            specs: BTreeMap::new(),
            sut_cpus: None,
            tracing: None,
        };
        t.apply_flags(&["monolith=1".into()], &[], &[]).unwrap();
        assert_eq!(t.processes(), ["monolith"], "one replica: reached directly");
        t.apply_flags(&["monolith=3".into()], &[], &[]).unwrap();
        assert_eq!(t.spec("monolith").replicas, 3);
        assert_eq!(t.processes(), ["monolith", BALANCER]);
        let zero = t.apply_flags(&["monolith=0".into()], &[], &[]).unwrap_err();
        assert!(zero.to_string().contains("1 to 16"), "{zero}");
        let unknown = t.apply_flags(&["monolit=2".into()], &[], &[]).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown service 'monolit'"),
            "{unknown}"
        );
        assert!(t.apply_flags(&["customers=2".into()], &[], &[]).is_err());
    }
}
