//! A whole microservice CRM for tests: a private PostgreSQL cluster with one database per
//! service, a private nats-server, the seven services and the gateway as real processes on
//! 127.0.0.1, each of which can be killed (SIGKILL), paused (SIGSTOP) and started again on
//! the same port.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crm_testkit::nats::NatsServer;
use crm_testkit::net::free_port;
use crm_testkit::pg::PgCluster;

pub const SERVICES: [&str; 7] = [
    "identity",
    "customers",
    "sales",
    "activities",
    "leads",
    "analytics",
    "notifications",
];

/// The internal secret the test cluster's processes share.
pub const SECRET: &str = "test-internal-secret-0123456789";

struct Node {
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

pub struct Cluster {
    bin: String,
    pub nats: NatsServer,
    nodes: BTreeMap<String, Node>,
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl Cluster {
    /// Starts everything; `bin` is the path of `crm-micro-node`
    /// (`env!("CARGO_BIN_EXE_crm-micro-node")` in the tests).
    pub async fn start(bin: &str) -> anyhow::Result<Cluster> {
        let pg = PgCluster::shared();
        let nats = NatsServer::start().await?;
        let ports: BTreeMap<&str, u16> = SERVICES
            .iter()
            .chain(&["gateway"])
            .map(|s| (*s, free_port()))
            .collect();
        let urls = |s: &str| url(ports[s]);
        let mut nodes = BTreeMap::new();
        for s in SERVICES {
            let db = pg.fresh_database(s).await?;
            let env = vec![
                ("CRM_DATABASE_URL".into(), db),
                ("CRM_LISTEN".into(), format!("127.0.0.1:{}", ports[s])),
                ("CRM_NATS_URL".into(), nats.url()),
                ("CRM_INTERNAL_SECRET".into(), SECRET.into()),
                ("CRM_IDENTITY_URLS".into(), urls("identity")),
                ("CRM_CUSTOMERS_URLS".into(), urls("customers")),
                ("CRM_SALES_URLS".into(), urls("sales")),
                ("CRM_ACTIVITIES_URLS".into(), urls("activities")),
                ("CRM_LEADS_URLS".into(), urls("leads")),
                ("CRM_DB_MAX_CONNECTIONS".into(), "8".into()),
                // A short request timeout keeps the idempotency lease (timeout + 5 s) short,
                // so keys a killed process left in flight are recovered within a test.
                ("CRM_REQUEST_TIMEOUT_MS".into(), "5000".into()),
            ];
            nodes.insert(
                s.to_owned(),
                Node {
                    port: ports[s],
                    env,
                    child: None,
                },
            );
        }
        let mut gw = vec![
            (
                "CRM_LISTEN".into(),
                format!("127.0.0.1:{}", ports["gateway"]),
            ),
            ("CRM_INTERNAL_SECRET".into(), SECRET.into()),
            ("CRM_HEALTH_CHECK_MS".into(), "250".into()),
        ];
        for s in SERVICES {
            gw.push((format!("CRM_{}_URLS", s.to_uppercase()), urls(s)));
        }
        nodes.insert(
            "gateway".to_owned(),
            Node {
                port: ports["gateway"],
                env: gw,
                child: None,
            },
        );
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            nats,
            nodes,
        };
        for s in SERVICES.iter().chain(&["gateway"]) {
            cluster.spawn(s)?;
        }
        for s in SERVICES.iter().chain(&["gateway"]) {
            cluster.wait_ready(s).await?;
        }
        Ok(cluster)
    }

    fn spawn(&mut self, name: &str) -> anyhow::Result<()> {
        let node = self.nodes.get_mut(name).context("unknown node")?;
        let log = std::env::var("TEST_LOG").is_ok();
        // "customers#2" is a second replica of customers.
        let service = name.split('#').next().unwrap_or(name);
        let child = Command::new(&self.bin)
            .arg(service)
            .envs(node.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", if log { "info" } else { "error" })
            .stdout(Stdio::null())
            .stderr(if log { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .with_context(|| format!("start {name}"))?;
        node.child = Some(child);
        Ok(())
    }

    /// Waits until `/readyz` answers 200 (the gateway's when every service has a healthy replica).
    pub async fn wait_ready(&self, name: &str) -> anyhow::Result<()> {
        let u = format!("{}/readyz", self.url(name));
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(r) = http.get(&u).timeout(Duration::from_secs(1)).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{name} not ready")
    }

    pub fn url(&self, name: &str) -> String {
        url(self.nodes[name].port)
    }

    /// The gateway's base URL (the public API's root).
    pub fn root(&self) -> String {
        self.url("gateway")
    }

    /// Starts another replica of `service` on a new port (same database); returns its name
    /// (`service#n`) once it is ready. The gateway learns of it only through its registry.
    pub async fn add_replica(&mut self, service: &str) -> anyhow::Result<String> {
        let n = self
            .nodes
            .keys()
            .filter(|k| k.split('#').next() == Some(service))
            .count()
            + 1;
        let name = format!("{service}#{n}");
        let port = free_port();
        let mut env = self.nodes[service].env.clone();
        for (k, v) in env.iter_mut() {
            if k == "CRM_LISTEN" {
                *v = format!("127.0.0.1:{port}");
            }
        }
        self.nodes.insert(
            name.clone(),
            Node {
                port,
                env,
                child: None,
            },
        );
        self.spawn(&name)?;
        self.wait_ready(&name).await?;
        Ok(name)
    }

    /// SIGKILL: the process dies with whatever it was doing.
    pub fn kill(&mut self, name: &str) {
        if let Some(mut c) = self.nodes.get_mut(name).and_then(|n| n.child.take()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a killed node again on the same port and waits until it is ready.
    pub async fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        self.kill(name);
        self.spawn(name)?;
        self.wait_ready(name).await
    }

    /// SIGSTOP / SIGCONT: the process hangs with its sockets open.
    pub fn pause(&self, name: &str, paused: bool) {
        if let Some(c) = self.nodes.get(name).and_then(|n| n.child.as_ref()) {
            let _ = Command::new("kill")
                .arg(if paused { "-STOP" } else { "-CONT" })
                .arg(c.id().to_string())
                .status();
        }
    }

    /// The database URL of a service (for reconciliation checks).
    pub fn database(&self, name: &str) -> String {
        self.nodes[name]
            .env
            .iter()
            .find(|(k, _)| k == "CRM_DATABASE_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in self.nodes.values_mut() {
            if let Some(mut c) = n.child.take() {
                let _ = Command::new("kill")
                    .arg("-CONT")
                    .arg(c.id().to_string())
                    .status();
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
