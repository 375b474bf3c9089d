//! Reference look-ups between services: `POST /internal/v1/live/{context}` answers which of
//! the given ids name live records of a type the context owns ([`router`]); [`live`] is its
//! client side, which every context's HTTP client uses to implement
//! [`crm_core::refs::Lookup`]. Over HTTP as in-process, one call answers a whole batch of ids.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::refs::Lookup;
use crm_core::{Actor, Error, Result};

use crate::client::ServiceClient;
use crate::{ApiResult, Caller, Json};

/// Most ids one look-up may carry (a batch of 100 items with a few references each).
pub const MAX_IDS: usize = 1000;

/// The body of a look-up.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRequest {
    /// The record type, e.g. `company`.
    pub object: String,
    pub ids: Vec<Uuid>,
}

/// The answer: the ids that name live records of the caller's tenant.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LiveIds {
    pub ids: Vec<Uuid>,
}

fn path(context: &str) -> String {
    format!("/internal/v1/live/{context}")
}

/// The internal look-up route of `context` (the gateway never exposes `/internal`). Any
/// authenticated caller may ask about its own tenant: whoever may write a reference may read
/// the record it names.
pub fn router(context: &str, lookup: Arc<dyn Lookup>) -> Router {
    Router::new()
        .route(&path(context), post(live_route))
        .with_state(lookup)
}

async fn live_route(
    State(lookup): State<Arc<dyn Lookup>>,
    Caller(actor): Caller,
    Json(req): Json<LiveRequest>,
) -> ApiResult<Json<LiveIds>> {
    if req.ids.len() > MAX_IDS {
        return Err(Error::invalid("ids", format!("at most {MAX_IDS} ids")).into());
    }
    let ids = if req.ids.is_empty() {
        Vec::new()
    } else {
        lookup.live(&actor, &req.object, &req.ids).await?
    };
    Ok(Json(LiveIds { ids }))
}

/// Asks the service behind `http` (which owns `context`) which of `ids` are live records of
/// `object`. Repeating the question changes nothing, so it is retried like a read; a service
/// that is down answers 503 naming it.
pub async fn live(
    http: &ServiceClient,
    context: &str,
    actor: &Actor,
    object: &str,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_IDS) {
        let req = LiveRequest {
            object: object.to_owned(),
            ids: chunk.to_vec(),
        };
        let answer: LiveIds = http.post_idempotent(actor, &path(context), &req).await?;
        found.extend(answer.ids);
    }
    Ok(found)
}
