//! Changes with their outbox events: create, modify, delete and restore a record in the
//! caller's transaction, each appending the matching event (`<kind>.created`, `.updated` with
//! the changed fields, `.deleted`, `.restored`).

use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::*;
use crate::actor::Actor;
use crate::error::Result;
use crate::event::EventEnvelope;
use crate::outbox;

/// The top-level fields that differ between two JSON records, as
/// `{field: {"from": old, "to": new}}`, leaving out bookkeeping fields.
pub fn diff(before: &Value, after: &Value) -> Map<String, Value> {
    const SKIP: [&str; 3] = ["updated_at", "updated_by", "version"];
    let mut changes = Map::new();
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return changes;
    };
    for (k, new) in a {
        if SKIP.contains(&k.as_str()) {
            continue;
        }
        let old = b.get(k).unwrap_or(&Value::Null);
        if old != new {
            changes.insert(k.clone(), serde_json::json!({"from": old, "to": new}));
        }
    }
    changes
}

/// An event about `record`, carrying the record itself as `data`.
pub fn event<R: Resource>(actor: &Actor, record: &R, action: &str) -> Result<EventEnvelope> {
    Ok(EventEnvelope::new(
        actor,
        R::OBJECT,
        action,
        record.meta().id,
        serde_json::to_value(record)?,
    ))
}

/// Inserts a record and writes `{object}.created` to the outbox, in the caller's transaction.
pub async fn create<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    cols: Columns,
) -> Result<R> {
    let record = insert::<R>(conn, actor, crate::new_id(), cols).await?;
    outbox::append(conn, &event(actor, &record, "created")?).await?;
    Ok(record)
}

/// Updates a record and writes `{object}.updated` with the field diff, when anything changed.
pub async fn modify<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
    cols: Columns,
) -> Result<R> {
    let (before, after) = update::<R>(conn, actor, id, expected, cols).await?;
    append_updated(conn, actor, &before, &after).await?;
    Ok(after)
}

/// Writes `{object}.updated` with the diff of `before` and `after`, if they differ.
pub async fn append_updated<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &R,
    after: &R,
) -> Result<()> {
    let changes = diff(
        &serde_json::to_value(before)?,
        &serde_json::to_value(after)?,
    );
    if !changes.is_empty() {
        let e = event(actor, after, "updated")?.with_changes(Value::Object(changes));
        outbox::append(conn, &e).await?;
    }
    Ok(())
}

/// Soft-deletes a live record (`{object}.deleted`).
pub async fn delete<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
) -> Result<R> {
    let before = lock::<R>(conn, actor.tenant_id, id).await?;
    if before.meta().deleted_at.is_some() {
        return Err(Error::not_found(R::OBJECT));
    }
    check_version(&before, expected)?;
    let after = write_columns::<R>(
        conn,
        actor,
        id,
        vec![("deleted_at", SqlValue::Timestamp(Some(chrono::Utc::now())))],
    )
    .await?;
    outbox::append(conn, &event(actor, &after, "deleted")?).await?;
    Ok(after)
}

/// Restores a soft-deleted record (`{object}.restored`); restoring a live one is a no-op.
pub async fn restore<R: Resource>(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<R> {
    let before = lock::<R>(conn, actor.tenant_id, id).await?;
    if before.meta().deleted_at.is_none() {
        return Ok(before);
    }
    let after = write_columns::<R>(
        conn,
        actor,
        id,
        vec![("deleted_at", SqlValue::Timestamp(None))],
    )
    .await
    .map_err(|e| match e {
        // Restoring can collide with a live record that took the same unique value.
        Error::Conflict {
            code,
            detail,
            extra,
        } => Error::Conflict {
            code,
            detail: format!("cannot restore: {detail}"),
            extra,
        },
        other => other,
    })?;
    outbox::append(conn, &event(actor, &after, "restored")?).await?;
    Ok(after)
}
