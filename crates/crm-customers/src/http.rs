//! REST routes of the customers context and their OpenAPI operations.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crm_core::{Action, Object, SearchHit, db};
use crm_http::client::{DataList, SearchParams};
use crm_http::openapi::{ApiDoc, Op};
use crm_http::resource;
use crm_http::{ApiResult, Caller, Json, Query, Versioned};

use crate::dedupe::{self, Candidates, MergeRequest};
use crate::{Company, Contact, Customers, CustomersApi, NewCompany, NewContact};

/// Routes under `/api/v1` (the caller nests them).
pub fn router(svc: Arc<Customers>) -> Router {
    Router::new()
        .merge(resource::routes::<Company, Customers>())
        .merge(resource::routes::<Contact, Customers>())
        .route("/companies/duplicates", post(company_duplicates))
        .route("/companies/merge", post(merge_companies))
        .route("/contacts/duplicates", post(contact_duplicates))
        .route("/contacts/merge", post(merge_contacts))
        .with_state(svc)
}

/// Routes for other services only, at the root (the gateway never exposes `/internal`):
/// `GET /internal/v1/search/customers?q=&types=&limit=` → `{data: [SearchHit]}`.
/// `POST /internal/v1/live/customers` answers which companies and contacts exist.
pub fn internal_router(svc: Arc<Customers>) -> Router {
    Router::new()
        .route(
            &format!("/internal/v1/search/{}", crate::CONTEXT),
            get(search),
        )
        .with_state(svc.clone())
        .merge(crm_http::refs::router(crate::CONTEXT, svc))
}

async fn search(
    State(svc): State<Arc<Customers>>,
    Caller(actor): Caller,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<DataList<SearchHit>>> {
    let data = svc.search(&actor, p.q(), &p.types(), p.limit()).await?;
    Ok(Json(DataList { data }))
}

async fn company_duplicates(
    State(svc): State<Arc<Customers>>,
    Caller(actor): Caller,
    Json(input): Json<NewCompany>,
) -> ApiResult<Json<Candidates<Company>>> {
    actor.require(Action::Read, Object::Company)?;
    // The rules of a create, but every field optional (any part may find candidates).
    crate::CompanyPatch::from(input.clone()).columns(false)?;
    let mut conn = svc.pool().acquire().await?;
    let data = dedupe::company_candidates(&mut conn, actor.tenant_id, &input, None).await?;
    Ok(Json(Candidates { data }))
}

async fn contact_duplicates(
    State(svc): State<Arc<Customers>>,
    Caller(actor): Caller,
    Json(input): Json<NewContact>,
) -> ApiResult<Json<Candidates<Contact>>> {
    actor.require(Action::Read, Object::Contact)?;
    crate::ContactPatch::from(input.clone()).columns(false)?;
    let mut conn = svc.pool().acquire().await?;
    let data = dedupe::contact_candidates(&mut conn, actor.tenant_id, &input, None).await?;
    Ok(Json(Candidates { data }))
}

async fn merge_companies(
    State(svc): State<Arc<Customers>>,
    Caller(actor): Caller,
    Json(req): Json<MergeRequest>,
) -> ApiResult<Versioned<Company>> {
    actor.require(Action::Update, Object::Company)?;
    actor.require(Action::Delete, Object::Company)?;
    let mut tx = svc.pool().begin().await?;
    let merged = dedupe::merge_companies(&mut tx, &actor, &req).await?;
    db::commit(tx).await?;
    Ok(Versioned(merged))
}

async fn merge_contacts(
    State(svc): State<Arc<Customers>>,
    Caller(actor): Caller,
    Json(req): Json<MergeRequest>,
) -> ApiResult<Versioned<Contact>> {
    actor.require(Action::Update, Object::Contact)?;
    actor.require(Action::Delete, Object::Contact)?;
    let mut tx = svc.pool().begin().await?;
    let merged = dedupe::merge_contacts(&mut tx, &actor, &req).await?;
    db::commit(tx).await?;
    Ok(Versioned(merged))
}

/// A create body's schema with no field required (what the duplicate checks take).
fn optional_fields(mut schema: serde_json::Value) -> serde_json::Value {
    if let Some(o) = schema.as_object_mut() {
        o.remove("required");
        if let Some(props) = o.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for p in props.values_mut() {
                if let Some(t) = p.get("type").and_then(|t| t.as_str()).map(str::to_owned) {
                    p["type"] = serde_json::json!([t, "null"]);
                }
            }
        }
    }
    schema
}

/// The context's operations in the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    resource::document::<Company, Customers>(doc, "companies");
    resource::document::<Contact, Customers>(doc, "contacts");
    // The body of a create with every field optional.
    let nc = doc.schema::<NewCompany>();
    let nc = optional_fields(doc.resolve(&nc));
    let cc = doc.schema::<Candidates<Company>>();
    doc.add(
        "post",
        "/companies/duplicates",
        Op::new("companies", "Find companies that look like the given data")
            .describe("Matches on the normalised domain and on trigram name similarity.")
            .body(nc)
            .response(200, "Candidates, most likely first", Some(cc)),
    );
    let nct = doc.schema::<NewContact>();
    let nct = optional_fields(doc.resolve(&nct));
    let ccc = doc.schema::<Candidates<Contact>>();
    doc.add(
        "post",
        "/contacts/duplicates",
        Op::new("contacts", "Find contacts that look like the given data")
            .describe("Matches on any shared e-mail address and on the same full name.")
            .body(nct)
            .response(200, "Candidates, most likely first", Some(ccc)),
    );
    let (mr, company, contact) = (
        doc.schema::<MergeRequest>(),
        doc.schema::<Company>(),
        doc.schema::<Contact>(),
    );
    doc.add(
        "post",
        "/companies/merge",
        Op::new("companies", "Merge duplicate companies into one")
            .describe("Fills the primary's empty fields, moves contacts, deletes the duplicates (merged_into) and emits company.merged.")
            .body(mr.clone())
            .response(200, "The merged primary company", Some(company)),
    );
    doc.add(
        "post",
        "/contacts/merge",
        Op::new("contacts", "Merge duplicate contacts into one")
            .describe("Fills the primary's empty fields, unites e-mails and phones, deletes the duplicates and emits contact.merged.")
            .body(mr)
            .response(200, "The merged primary contact", Some(contact)),
    );
}
