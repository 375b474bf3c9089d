//! REST routes of the activities context and their OpenAPI operations.
//!
//! - `/activities`: the generic resource (list, get, create, patch, delete, restore, batch);
//! - `GET /{companies|contacts|leads|opportunities}/{id}/activities`: a record's activities;
//! - `GET /{companies|contacts|leads|opportunities|activities}/{id}/timeline`;
//! - `POST /activities/relink`: [`crate::links::relink`] for remote callers.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::json;

use crm_core::query::{ListParams, ListQuery, Page};
use crm_core::record::{self, Resource};
use crm_core::{Action, Object, db};
use crm_http::extract::RawJson;
use crm_http::openapi::{ApiDoc, Op};
use crm_http::resource;
use crm_http::{ApiResult, Caller, Json, PathId, Query};

use crate::links::{self, RelinkRequest, Relinked};
use crate::timeline::{self, TimelineEntry, TimelineParams};
use crate::{Activities, Activity, RecordType};

type Svc = State<Arc<Activities>>;

/// Routes under `/api/v1` (the caller nests them).
pub fn router(svc: Arc<Activities>) -> Router {
    let mut r = Router::new()
        .merge(resource::routes::<Activity, Activities>())
        .route("/activities/relink", post(relink));
    for &rt in RecordType::ALL {
        let base = format!("/{}/{{id}}", rt.collection());
        r = r.route(
            &format!("{base}/timeline"),
            get(
                move |s: Svc, c: Caller, p: PathId, q: Query<TimelineParams>| {
                    timeline_of(rt, s, c, p, q)
                },
            ),
        );
        if rt.is_linkable() {
            r = r.route(
                &format!("{base}/activities"),
                get(move |s: Svc, c: Caller, p: PathId, q: Query<ListParams>| {
                    activities_of(rt, s, c, p, q)
                }),
            );
        }
    }
    r.with_state(svc)
}

async fn activities_of(
    rt: RecordType,
    State(svc): Svc,
    Caller(actor): Caller,
    PathId(id): PathId,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Page<Activity>>> {
    actor.require(Action::Read, rt.permission())?;
    actor.require(Action::Read, Object::Activity)?;
    let q = ListQuery::parse(&p, Activity::FIELDS)?;
    let mut conn = svc.pool().acquire().await?;
    Ok(Json(
        links::list_linked(&mut conn, actor.tenant_id, rt, id, q).await?,
    ))
}

async fn timeline_of(
    rt: RecordType,
    State(svc): Svc,
    Caller(actor): Caller,
    PathId(id): PathId,
    Query(p): Query<TimelineParams>,
) -> ApiResult<Json<Page<TimelineEntry>>> {
    actor.require(Action::Read, rt.permission())?;
    let q = p.query()?;
    let mut conn = svc.pool().acquire().await?;
    // An activity is ours to know: unknown or foreign ones are 404, as on GET. Other
    // records belong to other contexts; their timelines are just empty until events come.
    if rt == RecordType::Activity {
        record::get::<Activity>(&mut conn, actor.tenant_id, id).await?;
    }
    Ok(Json(
        timeline::page(&mut conn, actor.tenant_id, rt, id, q).await?,
    ))
}

async fn relink(
    State(svc): Svc,
    Caller(actor): Caller,
    body: RawJson,
) -> ApiResult<Json<Relinked>> {
    actor.require(Action::Update, Object::Activity)?;
    let (from, to) = body.parse::<RelinkRequest>()?.check()?;
    let mut tx = svc.pool().begin().await?;
    let relinked = links::relink(&mut tx, &actor, from, &to).await?;
    db::commit(tx).await?;
    Ok(Json(Relinked { relinked }))
}

/// The context's operations in the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    resource::document::<Activity, Activities>(doc, "activities");
    let page = doc.schema::<Page<Activity>>();
    let entries = doc.schema::<Page<TimelineEntry>>();
    let text = json!({"type": "string"});
    for &rt in RecordType::ALL {
        let base = format!("/{}/{{id}}", rt.collection());
        if rt.is_linkable() {
            doc.add(
                "get",
                &format!("{base}/activities"),
                Op::new("activities", &format!("List the activities linked to a {rt}"))
                    .describe("The list language of /activities (filter, order_by, cursors) over this record's activities. The record is not looked up: an unknown id has no activities.")
                    .path_id("id")
                    .list_params()
                    .response(200, "One page, by keyset", Some(page.clone())),
            );
        }
        doc.add(
            "get",
            &format!("{base}/timeline"),
            Op::new("timeline", &format!("A {rt}'s timeline, newest first"))
                .describe("Entries written from events: the record's own, its activities', and for records made by a lead conversion, the conversion.")
                .path_id("id")
                .query(
                    "limit",
                    "Page size, 1 to 200 (default 50)",
                    serde_json::json!({"type": "integer", "minimum": 1, "maximum": crm_core::query::MAX_LIMIT}),
                    false,
                )
                .query("starting_after", "Cursor: the entries older than this one", text.clone(), false)
                .query("ending_before", "Cursor: the entries newer than this one", text.clone(), false)
                .response(200, "One page, by keyset over (occurred_at, id)", Some(entries.clone())),
        );
    }
    let (req, res) = (doc.schema::<RelinkRequest>(), doc.schema::<Relinked>());
    doc.add(
        "post",
        "/activities/relink",
        Op::new("activities", "Link a record's activities to more records")
            .describe("Every activity linked to `from` is also linked to each `to` record (the old link stays), with an activity.updated event each. Lead conversion uses it.")
            .idempotent()
            .body(req)
            .response(200, "How many activities gained a link", Some(res)),
    );
}
