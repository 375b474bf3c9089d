//! One span as the harness keeps it: ids, process, name, kind, times and the few attributes
//! the breakdown reads (the CRM sets them; see `crm_telemetry::names`).

use serde::{Deserialize, Serialize};

/// OpenTelemetry's span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Server,
    Client,
    Producer,
    Consumer,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// Empty for a root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent_id: String,
    /// The exporting process's `service.name` (`gateway`, `leads`, `monolith`, …).
    pub service: String,
    pub name: String,
    pub kind: Kind,
    /// Unix time, nanoseconds.
    pub start_ns: u64,
    pub end_ns: u64,
    /// A SQL statement (`db.system.name` = postgresql).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub db: bool,
    /// `crm.wait`: pool, backoff, queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// `peer.service` of a client or producer span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// `crm.lag_us` of a consumer span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_us: Option<i64>,
    /// `http.response.status_code` of a server span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
}

impl SpanRecord {
    pub fn duration_us(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1000.0
    }

    /// The process the breakdown charges: the database for SQL statements, NATS for a
    /// publish, else the exporting process.
    pub fn process(&self) -> &str {
        if self.db {
            "postgres"
        } else if self.kind == Kind::Producer && self.peer.as_deref() == Some("nats") {
            "nats"
        } else {
            &self.service
        }
    }

    /// The node kind of a shape: `server`, `client`, `db`, `consumer`, `internal`.
    pub fn node_kind(&self) -> &'static str {
        match self.kind {
            _ if self.db => "db",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer if self.peer.is_some() => "client",
            Kind::Consumer => "consumer",
            Kind::Producer | Kind::Internal => "internal",
        }
    }

    /// Not on the response path: the event relay, publishing, consuming.
    pub fn starts_async(&self) -> bool {
        matches!(self.kind, Kind::Producer | Kind::Consumer)
    }

    /// The part its own time is charged to.
    pub fn part(&self) -> String {
        if self.db {
            return "postgres".into();
        }
        if self.wait.is_some() {
            return "wait".into();
        }
        if matches!(self.kind, Kind::Client) {
            return "wire".into();
        }
        match self.service.as_str() {
            "gateway" => "gateway".into(),
            "monolith" => "monolith".into(),
            s => format!("service:{s}"),
        }
    }
}
