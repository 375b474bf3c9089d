//! Settings from flags or `CRM_*` environment variables.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "crm-monolith",
    version,
    about = "The CRM as one process over one PostgreSQL database"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
    /// Log format: text or json.
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

#[derive(Debug, Default, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    #[default]
    Serve,
    /// Apply migrations and exit.
    Migrate,
}

#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// PostgreSQL URL of the one database.
    #[arg(long, env = "CRM_DATABASE_URL")]
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Database connections in the pool.
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", default_value_t = 32)]
    pub db_max_connections: u32,
    /// Per-tenant rate limit in requests per second (0 disables).
    #[arg(long, env = "CRM_RATE_LIMIT_TENANT", default_value_t = 0.0)]
    pub rate_limit_tenant: f64,
    /// Per-API-key rate limit in requests per second (0 disables).
    #[arg(long, env = "CRM_RATE_LIMIT_KEY", default_value_t = 0.0)]
    pub rate_limit_key: f64,
    /// Request time limit in milliseconds.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// How long to drain in-flight requests on shutdown, in milliseconds.
    #[arg(long, env = "CRM_DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,
    /// Allow `POST /auth/signup` to create tenants.
    #[arg(long, env = "CRM_ALLOW_SIGNUP", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_signup: bool,
    /// Create a demo tenant with users and sample data on start (once).
    #[arg(long, env = "CRM_SEED_DEMO", default_value_t = false)]
    pub seed_demo: bool,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "CRM_ACCESS_TTL_SECS", default_value_t = 900)]
    pub access_ttl_secs: i64,
    /// Secret of the admin routes (`/admin/faults`, for the benchmark's fault experiments);
    /// empty disables them.
    #[arg(
        long,
        env = "CRM_INTERNAL_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub internal_secret: String,
}

impl Settings {
    /// Settings for tests: a database URL, a free port, everything else default.
    pub fn for_tests(database_url: String) -> Settings {
        Settings {
            database_url,
            listen: "127.0.0.1:0".parse().expect("valid address"),
            db_max_connections: 16,
            rate_limit_tenant: 0.0,
            rate_limit_key: 0.0,
            request_timeout_ms: 30_000,
            drain_timeout_ms: 5_000,
            allow_signup: true,
            seed_demo: false,
            access_ttl_secs: 900,
            internal_secret: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
