//! Deliveries: one event for one webhook, its state and its attempts (the delivery log).
//!
//! A delivery is `pending` until it is sent with a 2xx answer (`succeeded`), runs out of
//! attempts (`dead`), or finds its webhook deactivated or deleted when its turn comes
//! (`failed`). Retries stay `pending` with a later `next_attempt_at`. Any finished delivery
//! can be sent again ([`redeliver`]); the attempts made so far are kept.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::query::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageInfo};
use crm_core::{Actor, Error, EventEnvelope, Result};

use crate::matching;
use crate::webhook::Webhook;

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const DEAD: &str = "dead";
pub const STATUSES: &[&str] = &[PENDING, SUCCEEDED, FAILED, DEAD];

/// The event of a webhook's ping.
pub const PING: &str = "webhook.ping";

/// The JSON body POSTed to a webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookPayload {
    pub event_id: Uuid,
    /// `{object}.{action}`, e.g. `opportunity.stage_changed`.
    pub event: String,
    pub object: String,
    pub record_id: Uuid,
    pub tenant_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The record after the change.
    pub data: Value,
    /// For updates: `{field: {from, to}}`; otherwise `null`.
    pub changes: Option<Value>,
}

impl From<&EventEnvelope> for WebhookPayload {
    fn from(e: &EventEnvelope) -> Self {
        WebhookPayload {
            event_id: e.event_id,
            event: e.event.clone(),
            object: e.object.clone(),
            record_id: e.record_id,
            tenant_id: e.tenant_id,
            occurred_at: e.occurred_at,
            data: e.data.clone(),
            changes: e.changes.clone(),
        }
    }
}

/// One event queued for one webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    #[sqlx(json)]
    pub payload: WebhookPayload,
    /// `pending`, `succeeded`, `failed` (webhook inactive or deleted) or `dead` (out of attempts).
    pub status: String,
    pub attempts: i32,
    /// When a pending delivery is due (next retry); `null` once finished.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One HTTP attempt of a delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, `null` when none came (connection error, timeout).
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// A delivery with its attempts, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}

pub(crate) const DELIVERY_COLUMNS: &str = "id, tenant_id, webhook_id, event_id, event, payload, status, attempts, \
     next_attempt_at, last_status_code, last_error, created_at, delivered_at";

/// Queues `event` for every active, live webhook of its tenant whose patterns match.
/// A repeated event adds nothing (one delivery per webhook and event). Returns how many
/// deliveries were added.
pub async fn enqueue_event(conn: &mut PgConnection, event: &EventEnvelope) -> Result<u64> {
    let webhooks: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM crm_notifications.webhooks
         WHERE tenant_id = $1 AND active AND deleted_at IS NULL AND events && $2",
    )
    .bind(event.tenant_id)
    .bind(matching::candidates(&event.event))
    .fetch_all(&mut *conn)
    .await?;
    if webhooks.is_empty() {
        return Ok(0);
    }
    // Ids are made here rather than in SQL so they are UUID v7: newest-first lists sort by id.
    let ids: Vec<Uuid> = webhooks.iter().map(|_| crm_core::new_id()).collect();
    let payload = sqlx::types::Json(WebhookPayload::from(event));
    // The consumer's span (tracing on, sampled event) is the deliveries' parent.
    let traceparent = crm_telemetry::propagate::current()
        .filter(|t| t.sampled)
        .map(|t| t.format());
    let added = sqlx::query(
        "INSERT INTO crm_notifications.deliveries
             (id, tenant_id, webhook_id, event_id, event, payload, next_attempt_at, traceparent)
         SELECT t.id, $3, t.webhook_id, $4, $5, $6, now(), $7 FROM unnest($1::uuid[], $2::uuid[]) AS t(id, webhook_id)
         ON CONFLICT (webhook_id, event_id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&webhooks)
    .bind(event.tenant_id)
    .bind(event.event_id)
    .bind(&event.event)
    .bind(payload)
    .bind(traceparent)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added)
}

/// Queues a `webhook.ping` for one webhook, whatever its patterns; it must be active.
pub async fn enqueue_ping(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Delivery> {
    let webhook = crm_core::record::get::<Webhook>(conn, actor.tenant_id, id).await?;
    if !webhook.active {
        return Err(Error::conflict(
            "webhook-inactive",
            "the webhook is inactive; activate it before pinging",
        ));
    }
    let event = EventEnvelope::new(
        actor,
        "webhook",
        "ping",
        id,
        serde_json::to_value(&webhook)?,
    );
    debug_assert_eq!(event.event, PING);
    Ok(sqlx::query_as::<_, Delivery>(&format!(
        "INSERT INTO crm_notifications.deliveries
             (id, tenant_id, webhook_id, event_id, event, payload, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(crm_core::new_id())
    .bind(actor.tenant_id)
    .bind(id)
    .bind(event.event_id)
    .bind(&event.event)
    .bind(sqlx::types::Json(WebhookPayload::from(&event)))
    .fetch_one(conn)
    .await?)
}

/// One delivery of the caller's tenant with its attempts.
pub async fn get(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> Result<DeliveryDetail> {
    let delivery = sqlx::query_as::<_, Delivery>(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM crm_notifications.deliveries WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("delivery"))?;
    let attempt_log = sqlx::query_as::<_, Attempt>(
        "SELECT attempt, at, status_code, error, duration_ms FROM crm_notifications.delivery_attempts
         WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(DeliveryDetail {
        delivery,
        attempt_log,
    })
}

/// Sends a finished delivery again: `pending`, due now, attempts kept. A pending delivery
/// (queued, retrying or in flight) answers 409 `invalid-transition`; a delivery of an
/// inactive or deleted webhook 409 `webhook-inactive`.
pub async fn redeliver(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Delivery> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT d.status, w.active AND w.deleted_at IS NULL
         FROM crm_notifications.deliveries d JOIN crm_notifications.webhooks w ON w.id = d.webhook_id
         WHERE d.tenant_id = $1 AND d.id = $2 FOR UPDATE OF d",
    )
    .bind(actor.tenant_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (status, live) = row.ok_or_else(|| Error::not_found("delivery"))?;
    if status == PENDING {
        return Err(Error::conflict(
            "invalid-transition",
            "the delivery is already pending",
        ));
    }
    if !live {
        return Err(Error::conflict(
            "webhook-inactive",
            "the delivery's webhook is inactive or deleted",
        ));
    }
    Ok(sqlx::query_as::<_, Delivery>(&format!(
        "UPDATE crm_notifications.deliveries SET status = 'pending', next_attempt_at = now()
         WHERE id = $1 RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// `GET /webhooks/{id}/deliveries`: newest first, by keyset on the (time-ordered) id.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<String>,
    /// Cursor: return the deliveries older than this one.
    pub starting_after: Option<String>,
    /// Cursor: return the deliveries newer than this one.
    pub ending_before: Option<String>,
    /// Only deliveries in this status: pending, succeeded, failed or dead.
    pub status: Option<String>,
}

/// One page of a webhook's deliveries (deleted webhooks keep their log).
pub async fn list(
    conn: &mut PgConnection,
    tenant: Uuid,
    webhook_id: Uuid,
    p: &DeliveryListParams,
) -> Result<Page<Delivery>> {
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        // Digits only, as the document's `integer` says.
        Some(l) => Some(l)
            .filter(|l| !l.is_empty() && l.len() <= 18 && l.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|l| l.parse::<i64>().ok())
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                Error::bad_request("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
            })?,
    };
    let status = p
        .status
        .as_deref()
        .map(|s| crm_core::validate::one_of("status", s, STATUSES))
        .transpose()
        .map_err(|e| Error::bad_request(e.field, e.message))?;
    let cursor = |field: &str, c: &str| {
        Uuid::parse_str(c.trim())
            .map_err(|_| Error::bad_request(field, format!("'{c}' is not a cursor of this list")))
    };
    let (after, before) = match (&p.starting_after, &p.ending_before) {
        (Some(_), Some(_)) => {
            return Err(Error::bad_request(
                "starting_after",
                "give starting_after or ending_before, not both",
            ));
        }
        (Some(c), None) => (Some(cursor("starting_after", c)?), None),
        (None, Some(c)) => (None, Some(cursor("ending_before", c)?)),
        (None, None) => (None, None),
    };
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM crm_notifications.webhooks WHERE tenant_id = $1 AND id = $2)",
    )
    .bind(tenant)
    .bind(webhook_id)
    .fetch_one(&mut *conn)
    .await?;
    if !known {
        return Err(Error::not_found("webhook"));
    }
    // Backwards pages walk up from the cursor and are reversed afterwards.
    let (cmp, dir) = if before.is_some() {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let mut rows = sqlx::query_as::<_, Delivery>(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM crm_notifications.deliveries
         WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR status = $3)
           AND ($4::uuid IS NULL OR id {cmp} $4)
         ORDER BY id {dir} LIMIT $5"
    ))
    .bind(tenant)
    .bind(webhook_id)
    .bind(status)
    .bind(after.or(before))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if before.is_some() {
        rows.reverse();
    }
    let id_of = |d: Option<&Delivery>| d.map(|d| d.id.to_string());
    let (first, last) = (rows.first(), rows.last());
    let page = if before.is_some() {
        PageInfo {
            next_cursor: id_of(last),
            prev_cursor: if more { id_of(first) } else { None },
            has_more: more,
        }
    } else {
        PageInfo {
            next_cursor: if more { id_of(last) } else { None },
            prev_cursor: after.and(id_of(first)),
            has_more: more,
        }
    };
    Ok(Page {
        data: rows,
        page,
        total: None,
    })
}
