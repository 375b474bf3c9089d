//! The leads context: leads and their status machine, round-robin assignment among reps,
//! an explainable score, and conversion into company, contact and opportunity.
//! Schema `crm_leads`.
//!
//! # Layout
//! - [`domain`]: the status machine and the score, free of I/O.
//! - [`lead`]: the record, its bodies, and how writes derive status and score.
//! - [`assign`]: assignment, qualify, disqualify, recycle.
//! - [`convert`]: conversion into company, contact and opportunity; one transaction in the
//!   monolith ([`convert::local`]), a persisted, compensating saga in the microservices
//!   ([`convert::saga`], table `conversion_sagas`).
//! - [`http`]: routes and OpenAPI operations, and the internal search route.
//! - [`client`]: [`client::LeadsClient`], the [`LeadsApi`] over HTTP.

pub mod assign;
pub mod client;
pub mod convert;
pub mod domain;
pub mod http;
pub mod lead;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crm_core::migrate::Migration;
use crm_core::record::{self, Resource};
use crm_core::refs::{Lookup, Owners, Refs};
use crm_core::{Action, Actor, Error, Object, Result, SearchHit, validate};
use crm_identity::IdentityApi;

pub use domain::{ScoreReason, Status};
pub use lead::{Lead, LeadPatch, NewLead};

pub const CONTEXT: &str = "leads";

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "leads and assignment",
        sql: include_str!("../migrations/0001_leads.sql"),
    },
    Migration {
        version: 2,
        name: "conversion sagas",
        sql: include_str!("../migrations/0002_sagas.sql"),
    },
];

/// What other contexts may ask of the leads context. As a [`Lookup`] it answers which
/// leads exist (activity links).
#[async_trait]
pub trait LeadsApi: Lookup {
    async fn lead(&self, actor: &Actor, id: Uuid) -> Result<Lead>;
    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>>;
}

pub struct Leads {
    pool: PgPool,
    identity: Arc<dyn IdentityApi>,
    converter: Arc<dyn convert::Converter>,
    owners: Owners,
}

impl Leads {
    pub fn new(
        pool: PgPool,
        identity: Arc<dyn IdentityApi>,
        converter: Arc<dyn convert::Converter>,
    ) -> Self {
        Leads {
            pool,
            identity,
            converter,
            owners: Owners::new(),
        }
    }

    /// Checks `owner_id` (users) through `owners`.
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.owners = self.owners.merge(owners);
        self
    }

    /// A lead's reference to its owner, a user of the tenant (the caller needs no check).
    pub(crate) async fn check_owner(&self, actor: &Actor, owner: Option<Uuid>) -> Result<()> {
        let mut refs = Refs::new();
        refs.add("owner_id", "user", owner.filter(|o| *o != actor.user_id));
        refs.require(actor, &self.owners).await
    }

    pub fn converter(&self) -> &dyn convert::Converter {
        self.converter.as_ref()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn identity(&self) -> &dyn IdentityApi {
        self.identity.as_ref()
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }
}

#[async_trait]
impl Lookup for Leads {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        if object != Lead::OBJECT {
            return Err(crm_core::refs::not_owned(CONTEXT, object));
        }
        let mut conn = self.pool.acquire().await?;
        crm_core::refs::live_ids(&mut conn, Lead::TABLE, actor.tenant_id, ids).await
    }
}

#[async_trait]
impl LeadsApi for Leads {
    async fn lead(&self, actor: &Actor, id: Uuid) -> Result<Lead> {
        actor.require(Action::Read, Object::Lead)?;
        let mut conn = self.pool.acquire().await?;
        record::get::<Lead>(&mut conn, actor.tenant_id, id).await
    }

    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        let mut conn = self.pool.acquire().await?;
        search(&mut conn, actor, q, types, limit).await
    }
}

/// Full-text search over leads' names, company names and e-mails.
pub async fn search(
    conn: &mut PgConnection,
    actor: &Actor,
    q: &str,
    types: &[String],
    limit: i64,
) -> Result<Vec<SearchHit>> {
    let query = validate::prefix_tsquery(q)
        .ok_or_else(|| Error::bad_request("q", "must contain a word"))?;
    if !(types.is_empty() || types.iter().any(|t| t == "lead"))
        || !actor.role.allows(Action::Read, Object::Lead)
    {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid, String, Option<String>, f32)> = sqlx::query_as(
        "SELECT id, name, company_name, ts_rank(search, q) FROM crm_leads.leads, to_tsquery('simple', $2) q
         WHERE tenant_id = $1 AND deleted_at IS NULL AND search @@ q ORDER BY 4 DESC, id LIMIT $3",
    )
    .bind(actor.tenant_id)
    .bind(&query)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, subtitle, rank)| SearchHit {
            kind: "lead".into(),
            id,
            title,
            subtitle,
            rank,
        })
        .collect())
}
