//! How a CRM instance is started, shared by both runtimes so that a restart or a new replica
//! starts exactly like `up` started the others, whichever runtime runs it: its binary and
//! environment ([`launch_spec`]), its port ([`new_instance`]) and the registry file of the
//! gateway or of the balancer in front of monolith replicas ([`write_registry`]).

use std::collections::BTreeMap;

use anyhow::Context;

use crm_testkit::net::free_port;

use super::{Deployment, Instance};
use crate::topology::Arch;

/// A new deployment's id: time, architecture and a random suffix. It names the work dir
/// (`<work_root>/<id>`), and in the docker runtime labels and names the containers.
pub fn new_deployment_id(arch: Arch) -> String {
    format!(
        "{}-{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        arch,
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    )
}

/// Replica `replica` (1-based) of `service` on a free 127.0.0.1 port.
pub fn new_instance(service: &str, replica: u32) -> Instance {
    let name = if replica <= 1 {
        service.to_owned()
    } else {
        format!("{service}#{replica}")
    };
    let port = free_port();
    Instance {
        name,
        service: service.to_owned(),
        url: Some(format!("http://127.0.0.1:{port}")),
        port,
        pid: None,
        container: None,
        log: None,
    }
}

/// The binary a service runs: `crm-monolith`, `gateway`, or `<context>-svc`.
pub fn binary(service: &str) -> String {
    match service {
        "monolith" => "crm-monolith".to_owned(),
        "gateway" | crate::topology::BALANCER => "gateway".to_owned(),
        svc => format!("{svc}-svc"),
    }
}

/// Creates the CRM's databases in a fresh cluster (`crm` for the monolith, one per context
/// for the microservices) and records each context's URL; `url_of(db)` is the URL of a
/// database of the cluster.
pub async fn create_databases(
    d: &mut Deployment,
    url_of: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let dbs: Vec<&str> = match d.arch {
        Arch::Monolith => vec!["crm"],
        Arch::Micro => crate::topology::MICRO_SERVICES.to_vec(),
    };
    let mut admin: sqlx::PgConnection = sqlx::Connection::connect(&d.postgres_admin_url)
        .await
        .context("connect to postgres as its superuser")?;
    for db in &dbs {
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE \"{db}\"").as_str())
            .await
            .with_context(|| format!("create database {db}"))?;
    }
    for ctx in crate::topology::MICRO_SERVICES {
        let db = if d.arch == Arch::Monolith { "crm" } else { ctx };
        d.databases.insert(ctx.to_owned(), url_of(db));
    }
    Ok(())
}

/// The binary and environment an instance runs with, derived from the deployment.
pub fn launch_spec(
    d: &Deployment,
    inst: &Instance,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let urls = |service: &str| -> String {
        d.replicas(service)
            .iter()
            .filter_map(|i| i.url.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut env = vec![
        ("CRM_LISTEN".to_owned(), format!("127.0.0.1:{}", inst.port)),
        (
            "RUST_LOG".to_owned(),
            std::env::var("CRM_SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    // Span export only when the scenario traces: otherwise the CRM runs with no exporter and
    // sends no extra header, exactly as untraced.
    if let Some(t) = &d.topology.tracing {
        env.push(("CRM_OTLP_ENDPOINT".into(), t.endpoint.clone()));
        env.push(("CRM_TRACE_SAMPLE_RATIO".into(), t.sample_ratio.to_string()));
    }
    // A benchmark's tokens must outlive its longest scenario (the default is 15 minutes).
    if matches!(inst.service.as_str(), "monolith" | "identity") {
        env.push(("CRM_ACCESS_TTL_SECS".into(), "14400".into()));
    }
    match inst.service.as_str() {
        "monolith" => {
            env.push(("CRM_DATABASE_URL".into(), d.databases["customers"].clone()));
            // The fault experiments switch its modules through /admin/faults.
            env.push(("CRM_INTERNAL_SECRET".into(), d.internal_secret.clone()));
        }
        "gateway" | crate::topology::BALANCER => {
            if inst.service == crate::topology::BALANCER {
                env.push(("CRM_GATEWAY_MODE".into(), "balancer".into()));
            }
            env.push((
                "CRM_REGISTRY".into(),
                registry_path(d).to_string_lossy().into_owned(),
            ));
            env.push(("CRM_INTERNAL_SECRET".into(), d.internal_secret.clone()));
        }
        svc => {
            env.push((
                "CRM_DATABASE_URL".into(),
                d.databases.get(svc).context("database of service")?.clone(),
            ));
            env.push((
                "CRM_NATS_URL".into(),
                d.nats_url.clone().context("nats url")?,
            ));
            env.push(("CRM_INTERNAL_SECRET".into(), d.internal_secret.clone()));
            for dep in ["identity", "customers", "sales", "activities", "leads"] {
                env.push((format!("CRM_{}_URLS", dep.to_uppercase()), urls(dep)));
            }
        }
    }
    Ok((binary(&inst.service), env))
}

/// Where the gateway's registry lives: `registry.json` in the work dir.
pub fn registry_path(d: &Deployment) -> std::path::PathBuf {
    d.work_dir.join("registry.json")
}

/// The gateway's registry: replicas per service, watched by the gateway. Written to a temp
/// file and renamed, so the gateway never reads half a file.
pub fn write_registry(d: &Deployment) -> anyhow::Result<()> {
    let services: &[&str] = match d.arch {
        Arch::Micro => &crate::topology::MICRO_SERVICES,
        Arch::Monolith if d.balancer().is_some() => &["monolith"],
        Arch::Monolith => return Ok(()),
    };
    let mut reg: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for &s in services {
        reg.insert(
            s,
            d.replicas(s).iter().filter_map(|i| i.url.clone()).collect(),
        );
    }
    let tmp = d.work_dir.join("registry.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&reg)?)?;
    std::fs::rename(tmp, registry_path(d))?;
    Ok(())
}

/// Whether `service`'s replica count can change in `d`: a context service of the
/// microservices, or the monolith once the balancer is in front of it.
pub fn check_scalable(d: &Deployment, service: &str) -> anyhow::Result<()> {
    let ok = match d.arch {
        Arch::Micro => crate::topology::MICRO_SERVICES.contains(&service),
        Arch::Monolith => service == "monolith" && d.balancer().is_some(),
    };
    anyhow::ensure!(
        ok,
        "only the microservices' context services, and the monolith behind its balancer, scale (not {service})"
    );
    Ok(())
}

/// The instance the public URL points to: the gateway, the balancer in front of monolith
/// replicas, or the one monolith.
pub fn public_instance(d: &Deployment) -> &'static str {
    match d.arch {
        Arch::Micro => "gateway",
        Arch::Monolith if d.balancer().is_some() => crate::topology::BALANCER,
        Arch::Monolith => "monolith",
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let mut last: Vec<&str> = text.lines().rev().take(lines).collect();
    last.reverse();
    last.join("\n")
}

/// The deployment's id: its work dir's name (what `up` made with [`new_deployment_id`]).
pub fn deployment_dir_name(d: &Deployment) -> String {
    d.work_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
