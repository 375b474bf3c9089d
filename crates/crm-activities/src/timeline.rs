//! The per-record timeline: append-only entries written by [`crate::events::TimelineHandler`]
//! and read newest first by keyset over `(occurred_at, id)`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crm_core::query::{FieldKind, FieldSpec, ListParams, ListQuery, Page};
use crm_core::{Error, EventEnvelope, Result};

use crate::domain::RecordType;

/// One thing that happened to a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The record whose timeline this is.
    pub record_type: RecordType,
    pub record_id: Uuid,
    /// The event, e.g. `opportunity.stage_changed` or `activity.completed`.
    pub event: String,
    pub event_id: Uuid,
    /// The record the event is about: the timeline's own record, or e.g. an activity
    /// linked to it, or the lead a company was converted from.
    pub object: String,
    pub object_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    /// A short sentence, e.g. "Stage changed from proposal to negotiation".
    pub summary: String,
    /// The event's field diff, `{field: {from, to}}`, when it has one.
    pub changes: Option<Value>,
}

const TABLE: &str = "crm_activities.timeline_entries";
const COLUMNS: &str = "id, tenant_id, record_type, record_id, event, event_id, object, object_id, \
                       actor_id, occurred_at, summary, changes";

/// The one order of a timeline: newest first (`id` breaks ties, as in every list).
static FIELDS: &[FieldSpec] = &[FieldSpec::new("occurred_at", FieldKind::Timestamp)];
const ORDER: &str = "occurred_at[desc]";

/// `GET /{collection}/{id}/timeline`: a timeline has one order and no filter.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<String>,
    /// Cursor: the entries older than this one.
    pub starting_after: Option<String>,
    /// Cursor: the entries newer than this one.
    pub ending_before: Option<String>,
}

impl TimelineParams {
    pub fn query(self) -> Result<ListQuery> {
        ListQuery::parse(
            &ListParams {
                order_by: Some(ORDER.to_owned()),
                limit: self.limit,
                starting_after: self.starting_after,
                ending_before: self.ending_before,
                ..ListParams::default()
            },
            FIELDS,
        )
    }

    /// The first `limit` entries (for in-process callers).
    pub fn first(limit: i64) -> Result<ListQuery> {
        TimelineParams {
            limit: Some(limit.to_string()),
            ..TimelineParams::default()
        }
        .query()
    }
}

/// Appends the entry `event` makes on `(record_type, record_id)`; `false` when that event
/// already has its entry there (a redelivery).
pub(crate) async fn append(
    conn: &mut PgConnection,
    event: &EventEnvelope,
    record_type: RecordType,
    record_id: Uuid,
    summary: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO crm_activities.timeline_entries
           (id, tenant_id, record_type, record_id, event, event_id, object, object_id, actor_id,
            occurred_at, summary, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT ON CONSTRAINT timeline_entries_record_event_key DO NOTHING",
    )
    .bind(crm_core::new_id())
    .bind(event.tenant_id)
    .bind(record_type)
    .bind(record_id)
    .bind(&event.event)
    .bind(event.event_id)
    .bind(&event.object)
    .bind(event.record_id)
    .bind(event.actor_id)
    .bind(event.occurred_at)
    .bind(summary)
    .bind(event.changes.as_ref())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of a record's timeline, newest first.
pub async fn page(
    conn: &mut PgConnection,
    tenant: Uuid,
    record_type: RecordType,
    record_id: Uuid,
    q: ListQuery,
) -> Result<Page<TimelineEntry>> {
    let scope = move |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push("tenant_id = ")
            .push_bind(tenant)
            .push(" AND record_type = ")
            .push_bind(record_type)
            .push(" AND record_id = ")
            .push_bind(record_id);
    };
    crm_core::query::page::page(conn, COLUMNS, TABLE, &scope, q, Error::from).await
}
