//! The span names and attributes that the harness's per-hop breakdown keys on; the CRM's
//! spans and crm-bench's analysis both use these constants, so a rename cannot split them.
//!
//! Every span also carries the OpenTelemetry span kind (server, client, producer, consumer,
//! internal) and, in its resource, `service.name` = the process (`gateway`, `customers`, …,
//! `monolith`).

/// A statement sent to PostgreSQL (span kind client). Its name is a short summary of the
/// statement (`SELECT crm_leads.leads`, `COMMIT`).
pub const DB_SYSTEM: &str = "db.system.name";
/// [`DB_SYSTEM`]'s value.
pub const POSTGRESQL: &str = "postgresql";
/// The statement's rows (returned or affected).
pub const DB_ROWS: &str = "db.response.returned_rows";

/// Marks a span whose whole duration is waiting rather than work; the value says for what:
/// [`WAIT_POOL`], [`WAIT_BACKOFF`], [`WAIT_QUEUE`].
pub const WAIT: &str = "crm.wait";
/// Waiting for a database connection from the pool.
pub const WAIT_POOL: &str = "pool";
/// A retry's backoff sleep.
pub const WAIT_BACKOFF: &str = "backoff";
/// Waiting for a call slot of a service client (its concurrency limit).
pub const WAIT_QUEUE: &str = "queue";

/// Span names.
pub const SPAN_POOL_ACQUIRE: &str = "db.acquire";
pub const SPAN_BACKOFF: &str = "backoff";
pub const SPAN_QUEUE: &str = "queue";
/// The outbox relay publishing one event (producer), and a consumer applying one.
pub const SPAN_PUBLISH: &str = "publish";
pub const SPAN_CONSUME: &str = "consume";

/// On consume spans: microseconds from the event's commit (its outbox row) to the start of
/// its handling — the consumer's lag for this event.
pub const LAG_US: &str = "crm.lag_us";
/// On client spans: the attempt number (1 = first) and the breaker's state before it.
pub const ATTEMPT: &str = "crm.attempt";
pub const BREAKER: &str = "crm.breaker";
/// On server spans: the route template and the response status.
pub const HTTP_ROUTE: &str = "http.route";
pub const HTTP_STATUS: &str = "http.response.status_code";
/// On client spans: the called service (`customers`, `postgres`, `nats`).
pub const PEER_SERVICE: &str = "peer.service";
