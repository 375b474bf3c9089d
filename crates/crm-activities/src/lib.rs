//! The activities context: tasks, notes, calls and meetings linked to any CRM record, and
//! the per-record timeline fed by events, in schema `crm_activities`.
//!
//! Linked records (companies, contacts, leads, opportunities) belong to other contexts and
//! may live in other databases: links are typed ids, checked on write through their owners
//! (`crm_core::refs`; in-process in the monolith, over HTTP in the microservices), as is a
//! task's `assignee_id`. A list of a record's activities or timeline is simply empty for a
//! record this context has never heard of.
//!
//! # Layout
//! - [`domain`]: kinds and their fields, the task status machine, record types (no I/O).
//! - [`activity`]: the record and its create/patch bodies; `write` holds their rules
//!   (the [`Writer`] implementation and the `activity.completed` event).
//! - [`links`]: link sets, a record's activities, [`links::relink`] for lead conversion.
//! - [`timeline`], [`summary`]: timeline entries and the sentences they carry.
//! - [`events`]: [`events::TimelineHandler`] and [`events::ActivitiesEvents`].
//! - [`http`]: the REST routes and their OpenAPI operations.
//! - [`ActivitiesApi`]: what other contexts may ask of this one; [`Activities`] implements
//!   it in-process over PostgreSQL, [`client::ActivitiesClient`] over HTTP.
//!
//! [`Writer`]: crm_core::record::Writer

pub mod activity;
pub mod client;
pub mod domain;
pub mod events;
pub mod http;
pub mod links;
mod schema;
pub mod summary;
pub mod timeline;
mod write;

use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use crm_core::migrate::Migration;
use crm_core::query::ListQuery;
use crm_core::record::Resource;
use crm_core::refs::Owners;
use crm_core::{Action, Actor, Object, Result, db};

pub use activity::{Activity, ActivityPatch, Link, LinkInput, NewActivity};
pub use domain::{Direction, Kind, Priority, RecordRef, RecordType, TaskStatus};
pub use events::{ActivitiesEvents, TimelineHandler};
pub use links::relink;
pub use timeline::TimelineEntry;
pub use write::{create, update};

pub const CONTEXT: &str = "activities";

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "activities, links and timeline",
    sql: include_str!("../migrations/0001_activities.sql"),
}];

/// What other contexts may ask of the activities context. The monolith calls
/// [`Activities`] directly; the microservices call the same trait over HTTP
/// (`GET /{collection}/{id}/activities`, `GET /{collection}/{id}/timeline`,
/// `POST /activities/relink`).
#[async_trait]
pub trait ActivitiesApi: Send + Sync {
    /// The newest live activities linked to a record (at most `limit`, 1 to 200).
    async fn recent(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Activity>>;

    /// The newest timeline entries of a record (at most `limit`, 1 to 200).
    async fn timeline(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<TimelineEntry>>;

    /// Links every activity of `from` to the `to` records too, in its own transaction;
    /// returns how many activities changed. In-process callers that need it inside their
    /// own transaction (lead conversion in the monolith) call [`links::relink`].
    async fn relink(&self, actor: &Actor, from: RecordRef, to: &[RecordRef]) -> Result<u64>;
}

/// The context over its PostgreSQL schema.
pub struct Activities {
    pool: PgPool,
    owners: Owners,
}

impl Activities {
    pub fn new(pool: PgPool) -> Self {
        Activities {
            pool,
            owners: Owners::new(),
        }
    }

    /// Checks links and assignees through `owners` (companies and contacts: customers;
    /// leads; opportunities: sales; users: identity).
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.owners = self.owners.merge(owners);
        self
    }

    pub(crate) fn owners(&self) -> &Owners {
        &self.owners
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }
}

#[async_trait]
impl ActivitiesApi for Activities {
    async fn recent(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Activity>> {
        actor.require(Action::Read, Object::Activity)?;
        let q = ListQuery::first(Activity::FIELDS, None, limit)?;
        let mut conn = self.pool.acquire().await?;
        Ok(
            links::list_linked(&mut conn, actor.tenant_id, record_type, record_id, q)
                .await?
                .data,
        )
    }

    async fn timeline(
        &self,
        actor: &Actor,
        record_type: RecordType,
        record_id: Uuid,
        limit: i64,
    ) -> Result<Vec<TimelineEntry>> {
        actor.require(Action::Read, record_type.permission())?;
        let q = timeline::TimelineParams::first(limit)?;
        let mut conn = self.pool.acquire().await?;
        Ok(
            timeline::page(&mut conn, actor.tenant_id, record_type, record_id, q)
                .await?
                .data,
        )
    }

    async fn relink(&self, actor: &Actor, from: RecordRef, to: &[RecordRef]) -> Result<u64> {
        actor.require(Action::Update, Object::Activity)?;
        let mut tx = self.pool.begin().await?;
        let n = links::relink(&mut tx, actor, from, to).await?;
        db::commit(tx).await?;
        Ok(n)
    }
}
