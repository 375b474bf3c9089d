//! The sales context: pipelines and their stages, opportunities moving through them, the
//! stage history, and full-text search over opportunities, in schema `crm_sales`.
//!
//! # Layout
//! - [`domain`]: the stage rules (won, lost, closed, reopen) without I/O.
//! - [`pipeline`], [`stage`]: pipelines, their stages, the lazily created default pipeline;
//!   `stage_plan` the stages a new pipeline starts with, `stage/body.rs` a stage's bodies.
//! - [`opportunity`]: the record and its bodies; `write` holds its [`Writer`] rules and the
//!   move/reopen actions (`write/columns.rs` the columns a write stores and its 422),
//!   `resolve` the pipeline, stage and customer references they check.
//! - [`history`]: the append-only stage history.
//! - [`events`]: the stage events, and [`SalesEvents`], the handler re-pointing references
//!   when customers are merged.
//! - [`http`]: the REST routes and their OpenAPI operations, and the internal routes (search,
//!   default pipeline).
//! - [`SalesApi`]: what other contexts may ask of this one; [`Sales`] implements it
//!   in-process over PostgreSQL, [`client::SalesClient`] over HTTP.
//!
//! [`Writer`]: crm_core::record::Writer

pub mod client;
pub mod domain;
pub mod events;
pub mod history;
pub mod http;
pub mod opportunity;
pub mod pipeline;
mod resolve;
pub mod stage;
mod stage_plan;
mod write;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crm_core::migrate::Migration;
use crm_core::query::ListQuery;
use crm_core::record::{self, Resource};
use crm_core::refs::{Lookup, Owners};
use crm_core::{Action, Actor, Error, Object, Result, SearchHit, db, validate};
use crm_customers::CustomersApi;

pub use domain::Status;
pub use events::SalesEvents;
pub use history::{StageChange, StageHistory};
pub use opportunity::{MoveRequest, NewOpportunity, Opportunity, OpportunityPatch, ReopenRequest};
pub use pipeline::{NewPipeline, Pipeline, PipelinePatch, ensure_default_pipeline};
pub use stage::{NewStage, Stage, StagePatch, StageSpec, stages_of};

pub const CONTEXT: &str = "sales";

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "pipelines, stages, opportunities, stage history",
    sql: include_str!("../migrations/0001_sales.sql"),
}];

/// What other contexts may ask of the sales context. The monolith calls [`Sales`]
/// directly; the microservices call the same trait over HTTP. As a [`Lookup`] it answers
/// which opportunities, pipelines and stages exist (activity links).
#[async_trait]
pub trait SalesApi: Lookup {
    async fn opportunity(&self, actor: &Actor, id: Uuid) -> Result<Opportunity>;
    /// Live open opportunities of a company, soonest expected close first.
    async fn open_opportunities_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Opportunity>>;
    /// The tenant's default pipeline (created on first use) and its stages by position.
    async fn default_pipeline(&self, actor: &Actor) -> Result<(Pipeline, Vec<Stage>)>;
    /// Opportunities whose name matches `q` (word prefixes), best first.
    async fn search(
        &self,
        actor: &Actor,
        q: &str,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>>;

    /// Creates an opportunity (lead conversion). `key` is the Idempotency-Key over HTTP.
    async fn create_opportunity(
        &self,
        actor: &Actor,
        input: NewOpportunity,
        key: &str,
    ) -> Result<Opportunity>;
    /// Soft-deletes (a saga's compensation); one already deleted is fine.
    async fn delete_opportunity(&self, actor: &Actor, id: Uuid, key: &str) -> Result<()>;
}

/// The context over its PostgreSQL schema; company and contact references are checked
/// through the customers context's API, owners through whatever [`Owners`] adds (identity).
pub struct Sales {
    pool: PgPool,
    owners: Owners,
}

impl Sales {
    pub fn new(pool: PgPool, customers: Arc<dyn CustomersApi>) -> Self {
        let customers: Arc<dyn Lookup> = customers;
        Sales {
            pool,
            owners: Owners::new().with(&["company", "contact"], customers),
        }
    }

    /// Checks references to the types `owners` answers for too (users).
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.owners = self.owners.merge(owners);
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }
}

#[async_trait]
impl Lookup for Sales {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let table = match object {
            Opportunity::OBJECT => Opportunity::TABLE,
            Pipeline::OBJECT => Pipeline::TABLE,
            Stage::OBJECT => Stage::TABLE,
            other => return Err(crm_core::refs::not_owned(CONTEXT, other)),
        };
        let mut conn = self.pool.acquire().await?;
        crm_core::refs::live_ids(&mut conn, table, actor.tenant_id, ids).await
    }
}

#[async_trait]
impl SalesApi for Sales {
    async fn opportunity(&self, actor: &Actor, id: Uuid) -> Result<Opportunity> {
        actor.require(Action::Read, Object::Opportunity)?;
        let mut conn = self.pool.acquire().await?;
        record::get::<Opportunity>(&mut conn, actor.tenant_id, id).await
    }

    async fn open_opportunities_of_company(
        &self,
        actor: &Actor,
        company_id: Uuid,
        limit: i64,
    ) -> Result<Vec<Opportunity>> {
        actor.require(Action::Read, Object::Opportunity)?;
        let q = ListQuery::parse(
            &crm_core::query::ListParams {
                filter: Some(format!(
                    "and(company_id[eq]:\"{company_id}\",status[eq]:\"open\")"
                )),
                order_by: Some("close_date[asc]".into()),
                limit: Some(limit.clamp(1, crm_core::query::MAX_LIMIT).to_string()),
                ..Default::default()
            },
            Opportunity::FIELDS,
        )?;
        let mut conn = self.pool.acquire().await?;
        Ok(record::list::<Opportunity>(&mut conn, actor.tenant_id, q)
            .await?
            .data)
    }

    async fn default_pipeline(&self, actor: &Actor) -> Result<(Pipeline, Vec<Stage>)> {
        actor.require(Action::Read, Object::Pipeline)?;
        let mut tx = self.pool.begin().await?;
        let pipeline = ensure_default_pipeline(&mut tx, actor).await?;
        let stages = stages_of(&mut tx, actor.tenant_id, pipeline.meta.id).await?;
        db::commit(tx).await?;
        Ok((pipeline, stages))
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

    async fn create_opportunity(
        &self,
        actor: &Actor,
        input: NewOpportunity,
        _key: &str,
    ) -> Result<Opportunity> {
        actor.require(Action::Create, Object::Opportunity)?;
        let mut tx = self.pool.begin().await?;
        let o =
            crm_core::record::Writer::<Opportunity>::create(self, &mut tx, actor, input).await?;
        crm_core::db::commit(tx).await?;
        Ok(o)
    }

    async fn delete_opportunity(&self, actor: &Actor, id: Uuid, _key: &str) -> Result<()> {
        actor.require(Action::Delete, Object::Opportunity)?;
        let mut tx = self.pool.begin().await?;
        match record::delete::<Opportunity>(&mut tx, actor, id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        crm_core::db::commit(tx).await
    }
}

/// Full-text search over the names of opportunities the caller may read.
pub async fn search(
    conn: &mut PgConnection,
    actor: &Actor,
    q: &str,
    types: &[String],
    limit: i64,
) -> Result<Vec<SearchHit>> {
    let query = validate::prefix_tsquery(q)
        .ok_or_else(|| Error::bad_request("q", "must contain a word"))?;
    let wanted = types.is_empty() || types.iter().any(|t| t == "opportunity");
    if !wanted || !actor.role.allows(Action::Read, Object::Opportunity) {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid, String, String, f32)> = sqlx::query_as(
        "SELECT id, name, stage_key, ts_rank(search, q)
         FROM crm_sales.opportunities, to_tsquery('simple', $2) q
         WHERE tenant_id = $1 AND deleted_at IS NULL AND search @@ q ORDER BY 4 DESC, id LIMIT $3",
    )
    .bind(actor.tenant_id)
    .bind(&query)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, stage, rank)| SearchHit {
            kind: "opportunity".into(),
            id,
            title,
            subtitle: Some(stage),
            rank,
        })
        .collect())
}
