//! The shared kernel every CRM context builds on.
//!
//! Nothing here knows about a particular context or about HTTP frameworks: contexts describe
//! their records with [`record::Resource`] and get listing, filtering, keyset pagination,
//! optimistic locking, soft delete and events from the generic pieces below.
//!
//! # Layout
//! - [`actor`]: who is calling (tenant, user, role) and the role/permission matrix.
//! - [`backoff`]: the one backoff policy of every retry loop.
//! - [`error`]: the one error type of the domain and its RFC 9457 problem form.
//! - [`money`], [`patch`], [`validate`]: value types and input validation helpers;
//!   [`schema`]: the same rules stated in the request bodies' JSON Schemas.
//! - [`query`]: the filter / order_by / cursor language and its compilation to SQL.
//! - [`record`]: generic, tenant-scoped reads and writes of a context's records.
//! - [`refs`]: references between records, checked on write through their owners.
//! - [`event`], [`outbox`]: domain event envelopes, the transactional outbox and its relay.
//! - [`idempotency`]: stored responses for `Idempotency-Key` requests.
//! - [`ids`]: ids, derived inside keyed requests so a re-run after a crash repeats them.
//! - [`migrate`]: per-context schema migrations in one shared history table.
//! - [`db`]: pool construction and the commit helper that wakes the outbox relay.
//! - [`sqlstate`]: the catalogue of database errors a request can provoke and their answers.

pub mod actor;
pub mod backoff;
pub mod columns;
pub mod db;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod migrate;
pub mod money;
pub mod outbox;
pub mod patch;
pub mod query;
pub mod record;
pub mod refs;
pub mod schema;
pub mod sqlstate;
pub mod validate;

pub use actor::{Action, Actor, Object, Role};
pub use backoff::Backoff;
pub use error::{Error, FieldError, Problem, Result};
pub use event::EventEnvelope;
pub use money::Money;
pub use patch::Patch;

/// One hit of the cross-record full-text search.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SearchHit {
    /// `company`, `contact`, `lead` or `opportunity`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: uuid::Uuid,
    pub title: String,
    pub subtitle: Option<String>,
    /// `ts_rank` of the match; hits of all types are merged by it.
    pub rank: f32,
}

/// A new record or event id: UUID v7 (time-ordered), or derived inside a keyed request so a
/// re-run after a crash repeats it (see [`ids`]).
pub fn new_id() -> uuid::Uuid {
    ids::new_id()
}
