//! Views composed from several contexts, written once against their traits: the monolith
//! passes in-process implementations, the gateway passes HTTP clients and so fans out to
//! the services in parallel.
//!
//! - `GET /companies/{id}/overview`: the company, its contacts, open opportunities, recent
//!   activities and latest timeline entries. A part whose context is unavailable is left
//!   out and named in `unavailable`; the company itself is required.
//! - `GET /search?q=&types=&limit=`: full-text hits of every context merged by rank.
//!
//! [`document`] assembles the OpenAPI document of the whole API from every context, so the
//! monolith and the gateway serve the very same document.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_activities::{ActivitiesApi, Activity, RecordType, TimelineEntry};
use crm_core::{Actor, Error, Result, SearchHit};
use crm_customers::{Company, Contact, CustomersApi};
use crm_http::openapi::{ApiDoc, Op};
use crm_http::{ApiResult, Caller, Json, PathId, Query};
use crm_leads::LeadsApi;
use crm_sales::{Opportunity, SalesApi};

pub const OVERVIEW_CONTACTS: i64 = 25;
pub const OVERVIEW_OPPORTUNITIES: i64 = 25;
pub const OVERVIEW_ACTIVITIES: i64 = 10;
pub const OVERVIEW_TIMELINE: i64 = 20;
pub const SEARCH_TYPES: &[&str] = &["company", "contact", "lead", "opportunity"];

/// The contexts a composed view reads.
#[derive(Clone)]
pub struct Compose {
    pub customers: Arc<dyn CustomersApi>,
    pub sales: Arc<dyn SalesApi>,
    pub activities: Arc<dyn ActivitiesApi>,
    pub leads: Arc<dyn LeadsApi>,
}

/// The customer 360 view of a company.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Overview {
    pub company: Company,
    pub contacts: Vec<Contact>,
    pub open_opportunities: Vec<Opportunity>,
    pub recent_activities: Vec<Activity>,
    pub timeline: Vec<TimelineEntry>,
    /// Parts left out because their context did not answer (only in the microservices).
    pub unavailable: Vec<String>,
}

/// A part that may be missing when its context is down; other errors still fail the view.
fn optional<T>(part: &str, r: Result<Vec<T>>, unavailable: &mut Vec<String>) -> Result<Vec<T>> {
    match r {
        Ok(v) => Ok(v),
        Err(Error::Unavailable(_) | Error::Timeout(_)) => {
            unavailable.push(part.to_owned());
            Ok(Vec::new())
        }
        Err(e) if e.status().as_u16() == 503 || e.status().as_u16() == 504 => {
            unavailable.push(part.to_owned());
            Ok(Vec::new())
        }
        Err(Error::Forbidden(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

impl Compose {
    /// Fetches every part at once and joins them.
    pub async fn overview(&self, actor: &Actor, id: Uuid) -> Result<Overview> {
        let (company, contacts, opportunities, activities, timeline) = tokio::join!(
            self.customers.company(actor, id),
            self.customers
                .contacts_of_company(actor, id, OVERVIEW_CONTACTS),
            self.sales
                .open_opportunities_of_company(actor, id, OVERVIEW_OPPORTUNITIES),
            self.activities
                .recent(actor, RecordType::Company, id, OVERVIEW_ACTIVITIES),
            self.activities
                .timeline(actor, RecordType::Company, id, OVERVIEW_TIMELINE),
        );
        let company = company?;
        let mut unavailable = Vec::new();
        Ok(Overview {
            contacts: optional("contacts", contacts, &mut unavailable)?,
            open_opportunities: optional("open_opportunities", opportunities, &mut unavailable)?,
            recent_activities: optional("recent_activities", activities, &mut unavailable)?,
            timeline: optional("timeline", timeline, &mut unavailable)?,
            company,
            unavailable,
        })
    }

    /// Searches every context at once and merges the hits by rank.
    pub async fn search(&self, actor: &Actor, q: &SearchParams) -> Result<SearchResults> {
        let limit = match q.limit.as_deref() {
            None => 20,
            Some(l) => Some(l)
                .filter(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|l| l.parse::<i64>().ok())
                .filter(|l| (1..=100).contains(l))
                .ok_or_else(|| Error::bad_request("limit", "must be an integer from 1 to 100"))?,
        };
        let Some(text) = q.q.as_deref().map(str::trim) else {
            return Err(Error::bad_request("q", "is required"));
        };
        let types: Vec<String> = match q.types.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Vec::new(),
            // Blank items between commas are skipped, as the document's pattern allows.
            Some(t) => t
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if SEARCH_TYPES.contains(&s) {
                        Ok(s.to_owned())
                    } else {
                        Err(Error::bad_request(
                            "types",
                            format!("unknown type '{s}'; types: {}", SEARCH_TYPES.join(", ")),
                        ))
                    }
                })
                .collect::<Result<_>>()?,
        };
        // Text without a word (letters or digits) matches nothing; no context is asked.
        if crm_core::validate::prefix_tsquery(text).is_none() {
            return Ok(SearchResults {
                data: Vec::new(),
                unavailable: Vec::new(),
            });
        }
        let (customers, sales, leads) = tokio::join!(
            self.customers.search(actor, text, &types, limit),
            self.sales.search(actor, text, &types, limit),
            self.leads.search(actor, text, &types, limit),
        );
        let mut unavailable = Vec::new();
        let mut hits = Vec::new();
        hits.extend(optional("customers", customers, &mut unavailable)?);
        hits.extend(optional("sales", sales, &mut unavailable)?);
        hits.extend(optional("leads", leads, &mut unavailable)?);
        hits.sort_by(|a, b| b.rank.total_cmp(&a.rank).then(a.id.cmp(&b.id)));
        hits.truncate(limit as usize);
        Ok(SearchResults {
            data: hits,
            unavailable,
        })
    }
}

/// What `types` accepts: record types separated by commas, blanks around them ignored.
const TYPES_PATTERN: &str = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*((company|contact|lead|opportunity)[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)?(,[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*((company|contact|lead|opportunity)[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)?)*$";

/// `GET /search` parameters.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words to find (prefix match).
    pub q: Option<String>,
    /// Comma-separated: company, contact, lead, opportunity (default: all).
    pub types: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchResults {
    pub data: Vec<SearchHit>,
    /// Contexts that did not answer (only in the microservices).
    pub unavailable: Vec<String>,
}

/// Routes under `/api/v1`.
pub fn router(compose: Compose) -> Router {
    Router::new()
        .route("/companies/{id}/overview", get(overview))
        .route("/search", get(search))
        .with_state(Arc::new(compose))
}

async fn overview(
    State(c): State<Arc<Compose>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Json<Overview>> {
    Ok(Json(c.overview(&actor, id).await?))
}

async fn search(
    State(c): State<Arc<Compose>>,
    Caller(actor): Caller,
    Query(q): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(c.search(&actor, &q).await?))
}

/// The OpenAPI 3.1 document of the whole public API.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::new();
    crm_identity::http::openapi(&mut doc);
    crm_customers::http::openapi(&mut doc);
    crm_sales::http::openapi(&mut doc);
    crm_activities::http::openapi(&mut doc);
    crm_leads::http::openapi(&mut doc);
    crm_analytics::http::openapi(&mut doc);
    crm_notifications::http::openapi(&mut doc);
    openapi(&mut doc);
    doc.finish("CRM API", env!("CARGO_PKG_VERSION"))
}

pub fn openapi(doc: &mut ApiDoc) {
    let overview = doc.schema::<Overview>();
    doc.add(
        "get",
        "/companies/{id}/overview",
        Op::new(
            "companies",
            "Customer 360: the company with its contacts, open deals, activities and timeline",
        )
        .path_id("id")
        .response(200, "The composed view", Some(overview)),
    );
    let results = doc.schema::<SearchResults>();
    doc.add(
        "get",
        "/search",
        Op::new(
            "search",
            "Full-text search across companies, contacts, leads and opportunities",
        )
        .query(
            "q",
            "Words to find (prefix match); text without a word finds nothing",
            serde_json::json!({"type": "string"}),
            true,
        )
        .query(
            "types",
            "Comma-separated record types (default: all)",
            serde_json::json!({"type": "string", "pattern": TYPES_PATTERN}),
            false,
        )
        .query(
            "limit",
            "1 to 100 (default 20)",
            serde_json::json!({"type": "integer", "minimum": 1, "maximum": 100}),
            false,
        )
        .response(200, "Hits merged by rank", Some(results)),
    );
}
