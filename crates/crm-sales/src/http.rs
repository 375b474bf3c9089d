//! REST routes of the sales context and their OpenAPI operations.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crm_core::record;
use crm_core::{Action, Object, SearchHit, db};
use crm_http::client::{DataList, SearchParams};
use crm_http::extract::RawJson;
use crm_http::openapi::{ApiDoc, Op};
use crm_http::resource;
use crm_http::{ApiResult, Caller, IfMatch, Json, PathId, Query, Versioned};

use crate::history::{self, StageHistory};
use crate::opportunity::{MoveRequest, Opportunity, ReopenRequest};
use crate::pipeline::Pipeline;
use crate::stage::{self, Stage};
use crate::{Sales, SalesApi};

/// `GET /pipelines/{id}/stages`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StageList {
    /// Live stages by position.
    pub data: Vec<Stage>,
}

/// `GET /internal/v1/sales/default-pipeline`: the tenant's default pipeline (created on first
/// use) and its stages.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DefaultPipeline {
    pub pipeline: Pipeline,
    /// Live stages by position.
    pub stages: Vec<Stage>,
}

/// Where [`internal_router`] serves [`DefaultPipeline`].
pub const DEFAULT_PIPELINE: &str = "/internal/v1/sales/default-pipeline";

/// Routes for other services only, at the root (the gateway never exposes `/internal`):
/// `GET /internal/v1/search/sales?q=&types=&limit=` → `{data: [SearchHit]}`, and
/// [`DEFAULT_PIPELINE`], and `POST /internal/v1/live/sales` (which opportunities, pipelines
/// and stages exist).
pub fn internal_router(svc: Arc<Sales>) -> Router {
    Router::new()
        .route(
            &format!("/internal/v1/search/{}", crate::CONTEXT),
            get(search),
        )
        .route(DEFAULT_PIPELINE, get(default_pipeline))
        .with_state(svc.clone())
        .merge(crm_http::refs::router(crate::CONTEXT, svc))
}

async fn search(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<DataList<SearchHit>>> {
    let data = svc.search(&actor, p.q(), &p.types(), p.limit()).await?;
    Ok(Json(DataList { data }))
}

/// A GET that may create: the default pipeline is made once (`ON CONFLICT DO NOTHING`), so
/// asking again, or retrying, changes nothing.
async fn default_pipeline(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
) -> ApiResult<Json<DefaultPipeline>> {
    let (pipeline, stages) = svc.default_pipeline(&actor).await?;
    Ok(Json(DefaultPipeline { pipeline, stages }))
}

/// Routes under `/api/v1` (the caller nests them).
pub fn router(svc: Arc<Sales>) -> Router {
    Router::new()
        .merge(resource::routes::<Pipeline, Sales>())
        .merge(resource::routes::<Stage, Sales>())
        .merge(resource::routes::<Opportunity, Sales>())
        .route("/pipelines/{id}/stages", get(pipeline_stages))
        .route("/opportunities/{id}/move", post(move_opportunity))
        .route("/opportunities/{id}/reopen", post(reopen_opportunity))
        .route("/opportunities/{id}/stage-history", get(stage_history))
        .with_state(svc)
}

async fn pipeline_stages(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Json<StageList>> {
    actor.require(Action::Read, Object::Pipeline)?;
    let mut conn = svc.pool().acquire().await?;
    record::get::<Pipeline>(&mut conn, actor.tenant_id, id).await?;
    let data = stage::stages_of(&mut conn, actor.tenant_id, id).await?;
    Ok(Json(StageList { data }))
}

async fn move_opportunity(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    IfMatch(version): IfMatch,
    body: RawJson,
) -> ApiResult<Versioned<Opportunity>> {
    actor.require(Action::Update, Object::Opportunity)?;
    let req: MoveRequest = body.parse()?;
    let mut tx = svc.pool().begin().await?;
    let r = svc
        .move_opportunity(&mut tx, &actor, id, Some(version), req)
        .await?;
    db::commit(tx).await?;
    Ok(Versioned(r))
}

async fn reopen_opportunity(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    IfMatch(version): IfMatch,
    body: RawJson,
) -> ApiResult<Versioned<Opportunity>> {
    actor.require(Action::Update, Object::Opportunity)?;
    let req: ReopenRequest = body.parse()?;
    let mut tx = svc.pool().begin().await?;
    let r = svc
        .reopen_opportunity(&mut tx, &actor, id, Some(version), req)
        .await?;
    db::commit(tx).await?;
    Ok(Versioned(r))
}

async fn stage_history(
    State(svc): State<Arc<Sales>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Json<StageHistory>> {
    actor.require(Action::Read, Object::Opportunity)?;
    let mut conn = svc.pool().acquire().await?;
    record::get::<Opportunity>(&mut conn, actor.tenant_id, id).await?;
    let data = history::of(&mut conn, actor.tenant_id, id).await?;
    Ok(Json(StageHistory { data }))
}

/// The context's operations in the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    resource::document::<Pipeline, Sales>(doc, "pipelines");
    resource::document::<Stage, Sales>(doc, "pipelines");
    resource::document::<Opportunity, Sales>(doc, "opportunities");
    let stages = doc.schema::<StageList>();
    doc.add(
        "get",
        "/pipelines/{id}/stages",
        Op::new("pipelines", "List a pipeline's stages")
            .describe("Live stages by position, the first being where new opportunities start.")
            .path_id("id")
            .response(200, "The stages", Some(stages)),
    );
    let (mv, reopen, opp) = (
        doc.schema::<MoveRequest>(),
        doc.schema::<ReopenRequest>(),
        doc.schema::<Opportunity>(),
    );
    doc.add(
        "post",
        "/opportunities/{id}/move",
        Op::new("opportunities", "Move an opportunity to another stage")
            .describe(
                "Stage by id or key within the opportunity's pipeline. Won sets probability 100 \
                 and closed_at; lost requires loss_reason (422) and sets probability 0; a closed \
                 opportunity answers 409 invalid-transition until reopened. Appends to the stage \
                 history and emits opportunity.stage_changed (and .won or .lost).",
            )
            .path_id("id")
            .if_match(true)
            .idempotent()
            .body(mv)
            .response(200, "Moved", Some(opp.clone())),
    );
    doc.add(
        "post",
        "/opportunities/{id}/reopen",
        Op::new("opportunities", "Reopen a won or lost opportunity")
            .describe(
                "Into an open stage of its pipeline; clears closed_at and loss_reason, takes the \
                 stage's probability, and emits opportunity.stage_changed and opportunity.reopened. \
                 An open opportunity answers 409 invalid-transition.",
            )
            .path_id("id")
            .if_match(true)
            .idempotent()
            .body(reopen)
            .response(200, "Reopened", Some(opp)),
    );
    let history = doc.schema::<StageHistory>();
    doc.add(
        "get",
        "/opportunities/{id}/stage-history",
        Op::new("opportunities", "An opportunity's stage history")
            .describe(
                "Every stage it entered, oldest first, starting with the one it was created in.",
            )
            .path_id("id")
            .response(200, "The stage changes", Some(history)),
    );
}
