//! The generic REST resource of a record type: list, get, create, patch (If-Match), soft
//! delete, restore and batch, with its OpenAPI operations. A context supplies the record
//! type ([`Resource`]) and its write rules ([`Writer`]); everything else is shared.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use schemars::JsonSchema;

use crm_core::query::{ListParams, ListQuery, Page};
use crm_core::record::{self, Resource, Writer};
use crm_core::{Action, db};

use crate::extract::{Caller, IfMatch, MaybeIfMatch, PathId, Query, RawJson};
use crate::openapi::{ApiDoc, Op};
use crate::respond::{Created, Versioned};
use crate::{ApiResult, Json};

mod batch;

pub use batch::{BatchItemResult, BatchMode, BatchRequest, BatchResponse};
use batch::{batch, batch_request_schema};

/// Items in one batch, at most.
pub const MAX_BATCH: usize = 100;

/// The routes of `/{collection}` for `R`, served with the writer as state.
pub fn routes<R, W>() -> Router<Arc<W>>
where
    R: Resource + JsonSchema,
    W: Writer<R>,
{
    let base = format!("/{}", R::COLLECTION);
    Router::new()
        .route(&base, get(list::<R, W>).post(create::<R, W>))
        .route(&format!("{base}/batch"), post(batch::<R, W>))
        .route(
            &format!("{base}/{{id}}"),
            get(fetch::<R, W>)
                .patch(update::<R, W>)
                .delete(remove::<R, W>),
        )
        .route(&format!("{base}/{{id}}/restore"), post(restore::<R, W>))
}

async fn list<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Page<R>>> {
    actor.require(Action::Read, R::PERMISSION)?;
    let q = ListQuery::parse(&p, R::FIELDS)?;
    let mut conn = w.pool().acquire().await?;
    Ok(Json(
        record::list::<R>(&mut conn, actor.tenant_id, q).await?,
    ))
}

async fn fetch<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Versioned<R>> {
    actor.require(Action::Read, R::PERMISSION)?;
    let mut conn = w.pool().acquire().await?;
    Ok(Versioned(
        record::get::<R>(&mut conn, actor.tenant_id, id).await?,
    ))
}

async fn create<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    body: RawJson,
) -> ApiResult<Created<R>> {
    actor.require(Action::Create, R::PERMISSION)?;
    let input: W::Create = body.parse()?;
    let mut tx = w.pool().begin().await?;
    let r = w.create(&mut tx, &actor, input).await?;
    db::commit(tx).await?;
    Ok(Created(r))
}

async fn update<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    IfMatch(version): IfMatch,
    body: RawJson,
) -> ApiResult<Versioned<R>> {
    actor.require(Action::Update, R::PERMISSION)?;
    let patch: W::Patch = body.parse()?;
    let mut tx = w.pool().begin().await?;
    let r = w.update(&mut tx, &actor, id, Some(version), patch).await?;
    db::commit(tx).await?;
    Ok(Versioned(r))
}

async fn remove<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    MaybeIfMatch(version): MaybeIfMatch,
) -> ApiResult<Versioned<R>> {
    actor.require(Action::Delete, R::PERMISSION)?;
    let mut tx = w.pool().begin().await?;
    let r = record::delete::<R>(&mut tx, &actor, id, version).await?;
    db::commit(tx).await?;
    Ok(Versioned(r))
}

async fn restore<R: Resource, W: Writer<R>>(
    State(w): State<Arc<W>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Versioned<R>> {
    actor.require(Action::Delete, R::PERMISSION)?;
    let mut tx = w.pool().begin().await?;
    let r = record::restore::<R>(&mut tx, &actor, id).await?;
    db::commit(tx).await?;
    Ok(Versioned(r))
}

/// `company` → `Company`, for component names.
fn pascal(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Adds the resource's operations to the document under `tag`.
pub fn document<R, W>(doc: &mut ApiDoc, tag: &str)
where
    R: Resource + JsonSchema,
    W: Writer<R>,
{
    let (one, many) = (R::OBJECT, R::COLLECTION);
    let record = doc.schema::<R>();
    let page = doc.schema::<Page<R>>();
    let create = doc.schema::<W::Create>();
    let patch = doc.schema::<W::Patch>();
    let batch_schema = batch_request_schema(doc, &create);
    let batch_req = doc.component(&format!("{}BatchRequest", pascal(one)), batch_schema);
    let batch_res = doc.schema::<BatchResponse<R>>();
    let base = format!("/{many}");
    let item = format!("/{many}/{{id}}");
    doc.add(
        "get",
        &base,
        Op::new(tag, &format!("List {many}"))
            .list_params()
            .response(200, "One page, by keyset", Some(page)),
    );
    doc.add(
        "post",
        &base,
        Op::new(tag, &format!("Create a {one}"))
            .idempotent()
            .problems(409, &["duplicate", "invalid-transition"])
            .problems(422, &["unknown-reference"])
            .body(create)
            .response(201, "Created; Location and ETag set", Some(record.clone())),
    );
    doc.add(
        "get",
        &item,
        Op::new(tag, &format!("Get a {one}"))
            .path_id("id")
            .response(200, "The record; ETag is its version", Some(record.clone())),
    );
    doc.add(
        "patch",
        &item,
        Op::new(tag, &format!("Update a {one} (partial)"))
            .path_id("id")
            .if_match(true)
            .idempotent()
            .problems(409, &["duplicate", "invalid-transition"])
            .problems(422, &["unknown-reference"])
            .body(patch)
            .response(200, "Updated", Some(record.clone())),
    );
    doc.add(
        "delete",
        &item,
        Op::new(tag, &format!("Soft-delete a {one}"))
            .path_id("id")
            .if_match(false)
            .response(200, "Deleted (deleted_at set)", Some(record.clone())),
    );
    doc.add(
        "post",
        &format!("{item}/restore"),
        Op::new(tag, &format!("Restore a deleted {one}"))
            .path_id("id")
            .problems(409, &["duplicate"])
            .response(200, "Restored", Some(record)),
    );
    doc.add(
        "post",
        &format!("{base}/batch"),
        Op::new(tag, &format!("Create, upsert or delete up to 100 {many}"))
            .idempotent()
            .problems(422, &["batch-rejected"])
            .body(batch_req)
            .response(200, "Per-item results in request order", Some(batch_res)),
    );
}
