//! REST routes of the notifications context and their OpenAPI operations.
//!
//! Webhooks are a generic resource (list, get, create, patch, delete, restore, batch); the
//! record type itself keeps the secret out of every response but create's. Deliveries have
//! their own read-only log plus the redeliver action.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crm_core::query::Page;
use crm_core::{Action, Object, db};
use crm_http::openapi::{ApiDoc, Op};
use crm_http::{ApiResult, Caller, Json, PathId, Query, Versioned, resource, respond};

use crate::delivery::{self, DeliveryListParams};
use crate::{Delivery, DeliveryDetail, Notifications, Webhook, webhook};

/// Routes under `/api/v1` (the caller nests them).
pub fn router(svc: Arc<Notifications>) -> Router {
    Router::new()
        .merge(resource::routes::<Webhook, Notifications>())
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/webhooks/{id}/ping", post(ping))
        .route("/webhook-deliveries/{id}", get(get_delivery))
        .route("/webhook-deliveries/{id}/redeliver", post(redeliver))
        .with_state(svc)
}

async fn list_deliveries(
    State(svc): State<Arc<Notifications>>,
    Caller(actor): Caller,
    PathId(id): PathId,
    Query(p): Query<DeliveryListParams>,
) -> ApiResult<Json<Page<Delivery>>> {
    actor.require(Action::Read, Object::Webhook)?;
    let mut conn = svc.pool().acquire().await?;
    Ok(Json(
        delivery::list(&mut conn, actor.tenant_id, id, &p).await?,
    ))
}

async fn get_delivery(
    State(svc): State<Arc<Notifications>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Json<DeliveryDetail>> {
    actor.require(Action::Read, Object::Webhook)?;
    let mut conn = svc.pool().acquire().await?;
    Ok(Json(delivery::get(&mut conn, actor.tenant_id, id).await?))
}

async fn redeliver(
    State(svc): State<Arc<Notifications>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    actor.require(Action::Update, Object::Webhook)?;
    let mut tx = svc.pool().begin().await?;
    let d = delivery::redeliver(&mut tx, &actor, id).await?;
    tx.commit().await?;
    svc.wake();
    Ok(respond::json(StatusCode::ACCEPTED, &d))
}

async fn ping(
    State(svc): State<Arc<Notifications>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    actor.require(Action::Update, Object::Webhook)?;
    let mut tx = svc.pool().begin().await?;
    let d = delivery::enqueue_ping(&mut tx, &actor, id).await?;
    tx.commit().await?;
    svc.wake();
    Ok(respond::json(StatusCode::ACCEPTED, &d))
}

async fn rotate_secret(
    State(svc): State<Arc<Notifications>>,
    Caller(actor): Caller,
    PathId(id): PathId,
) -> ApiResult<Versioned<Webhook>> {
    actor.require(Action::Update, Object::Webhook)?;
    let mut tx = svc.pool().begin().await?;
    let w = webhook::rotate_secret(&mut tx, &actor, id).await?;
    // `db::commit` wakes the outbox relay: rotation writes a `webhook.updated` event.
    db::commit(tx).await?;
    Ok(Versioned(w))
}

/// The context's operations in the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    resource::document::<Webhook, Notifications>(doc, "webhooks");
    // `Delivery` references `WebhookPayload`, the body receivers get, so it is documented too.
    let (webhook, page, detail, one) = (
        doc.schema::<Webhook>(),
        doc.schema::<Page<Delivery>>(),
        doc.schema::<DeliveryDetail>(),
        doc.schema::<Delivery>(),
    );
    let params = schemars::schema_for!(DeliveryListParams).to_value();
    let mut list = Op::new("webhooks", "List a webhook's deliveries, newest first")
        .describe("Keyset pages; the cursors are delivery ids.")
        .path_id("id");
    if let Some(props) = params["properties"].as_object() {
        for (name, s) in props {
            let description = s["description"].as_str().unwrap_or("");
            let schema = match name.as_str() {
                "limit" => {
                    serde_json::json!({"type": "integer", "minimum": 1, "maximum": crm_core::query::MAX_LIMIT})
                }
                "status" => {
                    serde_json::json!({"type": "string", "enum": crate::delivery::STATUSES})
                }
                _ => serde_json::json!({"type": "string", "format": "uuid"}),
            };
            list = list.query(name, description, schema, false);
        }
    }
    doc.add(
        "get",
        "/webhooks/{id}/deliveries",
        list.response(200, "One page of deliveries", Some(page)),
    );
    doc.add(
        "post",
        "/webhooks/{id}/rotate-secret",
        Op::new("webhooks", "Replace a webhook's signing secret")
            .describe("Generates a new secret and shows it in full, this once; later deliveries are signed with it.")
            .path_id("id")
            .response(200, "The webhook with its new `secret`", Some(webhook)),
    );
    doc.add(
        "post",
        "/webhooks/{id}/ping",
        Op::new("webhooks", "Send a test event to a webhook")
            .describe("Queues a `webhook.ping` delivery whatever the webhook's patterns; 409 `webhook-inactive` for an inactive webhook.")
            .path_id("id")
            .response(202, "The queued delivery", Some(one.clone())),
    );
    doc.add(
        "get",
        "/webhook-deliveries/{id}",
        Op::new("webhooks", "Get a delivery with its attempts")
            .describe("The body sent is `payload` (a WebhookPayload), signed with `X-Crm-Signature: hex(HMAC-SHA256(secret, \"{X-Crm-Timestamp}.{body}\"))`.")
            .path_id("id")
            .response(200, "The delivery and its attempt log", Some(detail)),
    );
    doc.add(
        "post",
        "/webhook-deliveries/{id}/redeliver",
        Op::new("webhooks", "Send a finished delivery again")
            .describe("Back to `pending`, due now; attempts made so far are kept. 409 `invalid-transition` while it is pending.")
            .path_id("id")
            .response(202, "The delivery, pending again", Some(one)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented() {
        let mut doc = ApiDoc::new();
        openapi(&mut doc);
        let doc = doc.finish("test", "0");
        for path in [
            "/api/v1/webhooks",
            "/api/v1/webhooks/{id}",
            "/api/v1/webhooks/{id}/restore",
            "/api/v1/webhooks/batch",
            "/api/v1/webhooks/{id}/deliveries",
            "/api/v1/webhooks/{id}/rotate-secret",
            "/api/v1/webhooks/{id}/ping",
            "/api/v1/webhook-deliveries/{id}",
            "/api/v1/webhook-deliveries/{id}/redeliver",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        assert!(doc["components"]["schemas"]["WebhookPayload"].is_object());
    }
}
