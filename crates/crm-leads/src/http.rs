//! Routes of the leads context and their OpenAPI operations.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crm_core::{Action, Object, SearchHit, db};
use crm_http::client::{DataList, SearchParams};
use crm_http::extract::MaybeIfMatch;
use crm_http::openapi::{ApiDoc, Op};
use crm_http::{ApiResult, Caller, Json, PathId, Query, Versioned, resource};

use crate::assign::{self, AssignRequest, DisqualifyRequest};
use crate::convert::{Conversion, ConvertRequest};
use crate::{Lead, Leads, LeadsApi, Status};

/// Routes under `/api/v1`.
pub fn router(svc: Arc<Leads>) -> Router {
    Router::new()
        .merge(resource::routes::<Lead, Leads>())
        .route("/leads/{id}/assign", post(assign_lead))
        .route("/leads/{id}/qualify", post(qualify))
        .route("/leads/{id}/disqualify", post(disqualify))
        .route("/leads/{id}/recycle", post(recycle))
        .route("/leads/{id}/convert", post(convert))
        .with_state(svc)
}

/// Routes for other services only, at the root (the gateway never exposes `/internal`):
/// `GET /internal/v1/search/leads?q=&types=&limit=` → `{data: [SearchHit]}`, and
/// `POST /internal/v1/live/leads` (which leads exist).
pub fn internal_router(svc: Arc<Leads>) -> Router {
    Router::new()
        .route(
            &format!("/internal/v1/search/{}", crate::CONTEXT),
            get(search),
        )
        .with_state(svc.clone())
        .merge(crm_http::refs::router(crate::CONTEXT, svc))
}

async fn search(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<DataList<SearchHit>>> {
    let data = svc.search(&actor, p.q(), &p.types(), p.limit()).await?;
    Ok(Json(DataList { data }))
}

/// `X-Skip-Duplicate-Check: true` converts despite possible duplicates.
pub const SKIP_DUPLICATE_CHECK: &str = "x-skip-duplicate-check";

async fn convert(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    headers: axum::http::HeaderMap,
    Json(req): Json<ConvertRequest>,
) -> ApiResult<Json<Conversion>> {
    let skip = headers
        .get(SKIP_DUPLICATE_CHECK)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(Json(svc.converter().convert(&actor, id, req, skip).await?))
}

async fn assign_lead(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    MaybeIfMatch(version): MaybeIfMatch,
    Json(req): Json<AssignRequest>,
) -> ApiResult<Versioned<Lead>> {
    actor.require(Action::Update, Object::Lead)?;
    let mut tx = svc.pool().begin().await?;
    if req.owner_id.is_some() {
        svc.check_owner(&actor, req.owner_id).await?;
    }
    let lead = assign::assign(&mut tx, svc.identity(), &actor, id, version, req).await?;
    db::commit(tx).await?;
    Ok(Versioned(lead))
}

async fn transition(
    svc: &Leads,
    actor: &crm_core::Actor,
    id: uuid::Uuid,
    version: Option<i64>,
    to: Status,
    reason: Option<String>,
) -> ApiResult<Versioned<Lead>> {
    actor.require(Action::Update, Object::Lead)?;
    let mut tx = svc.pool().begin().await?;
    let lead = assign::move_to(&mut tx, actor, id, version, to, reason).await?;
    db::commit(tx).await?;
    Ok(Versioned(lead))
}

async fn qualify(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    MaybeIfMatch(v): MaybeIfMatch,
) -> ApiResult<Versioned<Lead>> {
    transition(&svc, &actor, id, v, Status::Working, None).await
}

async fn recycle(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    MaybeIfMatch(v): MaybeIfMatch,
) -> ApiResult<Versioned<Lead>> {
    transition(&svc, &actor, id, v, Status::Recycled, None).await
}

async fn disqualify(
    State(svc): State<Arc<Leads>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    MaybeIfMatch(v): MaybeIfMatch,
    Json(req): Json<DisqualifyRequest>,
) -> ApiResult<Versioned<Lead>> {
    actor.require(Action::Update, Object::Lead)?;
    let reason = crm_core::validate::text("reason", &req.reason, 1, 500)
        .map_err(|e| crm_core::Error::Validation(vec![e]))?;
    transition(&svc, &actor, id, v, Status::Disqualified, Some(reason)).await
}

pub fn openapi(doc: &mut ApiDoc) {
    resource::document::<Lead, Leads>(doc, "leads");
    let lead = doc.schema::<Lead>();
    let assign = doc.schema::<AssignRequest>();
    doc.add(
        "post",
        "/leads/{id}/assign",
        Op::new(
            "leads",
            "Assign a lead to an owner, or round-robin to the next active rep",
        )
        .path_id("id")
        .if_match(false)
        .idempotent()
        .body(assign)
        .response(200, "The assigned lead", Some(lead.clone())),
    );
    for (path, summary) in [
        ("qualify", "Start working a lead (assigned → working)"),
        ("recycle", "Recycle an open lead"),
    ] {
        doc.add(
            "post",
            &format!("/leads/{{id}}/{path}"),
            Op::new("leads", summary)
                .path_id("id")
                .if_match(false)
                .idempotent()
                .response(200, "The lead", Some(lead.clone())),
        );
    }
    let (cr, cv) = (doc.schema::<ConvertRequest>(), doc.schema::<Conversion>());
    doc.add(
        "post",
        "/leads/{id}/convert",
        Op::new("leads", "Convert a lead into company, contact and optionally an opportunity")
            .describe(
                "All or nothing. Possible duplicates of the company (domain, name) or contact (e-mail, name) answer 409 \
                 duplicates-found with the candidates, unless X-Skip-Duplicate-Check: true. Attaching ({id}) fills only \
                 empty fields. The lead's activities are linked to the new records; lead.converted is emitted.",
            )
            .path_id("id")
            .header("X-Skip-Duplicate-Check", "true to convert despite possible duplicates", false)
            .idempotent()
            .body(cr)
            .response(200, "The converted lead and the records it became", Some(cv)),
    );
    let dq = doc.schema::<DisqualifyRequest>();
    doc.add(
        "post",
        "/leads/{id}/disqualify",
        Op::new("leads", "Disqualify an open lead, with a reason")
            .path_id("id")
            .if_match(false)
            .idempotent()
            .body(dq)
            .response(200, "The lead", Some(lead)),
    );
}
