//! Links between activities and the records they belong to: checking a body's links,
//! storing a link set, listing one record's activities, and re-linking (lead conversion)
//! or re-pointing (merges) every activity of a record.
//!
//! Linked records live in other contexts, possibly other databases, so a link is a typed
//! id and its record's existence is never checked here; a link to a deleted or unknown
//! record simply shows nothing on that record's side.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{ListQuery, Page};
use crm_core::record::{self, Resource, db_error};
use crm_core::validate::Validator;
use crm_core::{Actor, Patch, Result};

use crate::activity::{Activity, Link, LinkInput};
use crate::domain::{RecordRef, RecordType};

/// Most records one activity can belong to (as sent by clients).
pub const MAX_LINKS: usize = 20;

/// Checks a body's `links` (required on create, never empty); duplicates collapse.
pub(crate) fn check(b: &mut ColumnsBuilder, value: Patch<Vec<LinkInput>>) -> Option<Vec<Link>> {
    let items = match value {
        Patch::Absent => {
            if b.creating() {
                b.error(
                    "links",
                    "is required: at least one record the activity belongs to",
                );
            }
            return None;
        }
        Patch::Null => {
            b.error("links", format!("must hold 1 to {MAX_LINKS} links"));
            return None;
        }
        Patch::Value(v) => v,
    };
    if items.is_empty() || items.len() > MAX_LINKS {
        b.error("links", format!("must hold 1 to {MAX_LINKS} links"));
        return None;
    }
    let mut v = Validator::new();
    let out = parse_all(&mut v, "links", items);
    let ok = v.is_ok();
    if let Err(crm_core::Error::Validation(errors)) = v.finish() {
        for e in errors {
            b.error(e.field, e.message);
        }
    }
    ok.then_some(out)
}

/// Parses links named `{field}[i]`, de-duplicated in order.
fn parse_all(v: &mut Validator, field: &str, items: Vec<LinkInput>) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::with_capacity(items.len());
    for (i, l) in items.into_iter().enumerate() {
        let name = format!("{field}[{i}].type");
        if let Some(t) = v.check(RecordType::parse_linkable(&name, &l.record_type)) {
            let link = Link {
                record_type: t,
                id: l.id,
            };
            if !out.contains(&link) {
                out.push(link);
            }
        }
    }
    out
}

/// Makes `links` the activity's whole link set.
pub(crate) async fn replace(
    conn: &mut PgConnection,
    tenant: Uuid,
    activity: Uuid,
    links: &[Link],
) -> Result<()> {
    sqlx::query("DELETE FROM crm_activities.activity_links WHERE activity_id = $1")
        .bind(activity)
        .execute(&mut *conn)
        .await?;
    let types: Vec<&str> = links.iter().map(|l| l.record_type.as_str()).collect();
    let ids: Vec<Uuid> = links.iter().map(|l| l.id).collect();
    sqlx::query(
        "INSERT INTO crm_activities.activity_links (tenant_id, activity_id, record_type, record_id)
         SELECT $1, $2, t, r FROM unnest($3::text[], $4::uuid[]) AS u(t, r)",
    )
    .bind(tenant)
    .bind(activity)
    .bind(&types)
    .bind(&ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of the activities linked to a record, with the list language's filter, order
/// and cursors. The link index yields the record's activity ids; the page is cut from them.
pub async fn list_linked(
    conn: &mut PgConnection,
    tenant: Uuid,
    record_type: RecordType,
    record_id: Uuid,
    q: ListQuery,
) -> Result<Page<Activity>> {
    let filter = q.filter.clone();
    let include_deleted = q.include_deleted;
    let scope = move |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push("tenant_id = ").push_bind(tenant);
        if !include_deleted {
            qb.push(" AND deleted_at IS NULL");
        }
        qb.push(
            " AND id IN (SELECT activity_id FROM crm_activities.activity_links WHERE tenant_id = ",
        )
        .push_bind(tenant)
        .push(" AND record_type = ")
        .push_bind(record_type.as_str())
        .push(" AND record_id = ")
        .push_bind(record_id)
        .push(")");
        if let Some(f) = filter.clone() {
            qb.push(" AND ");
            f.push_sql(qb);
        }
    };
    crm_core::query::page::page(
        conn,
        Activity::COLUMNS,
        Activity::TABLE,
        &scope,
        q,
        db_error::<Activity>,
    )
    .await
}

/// `POST /activities/relink`: the same operation as [`relink`], for remote callers.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelinkRequest {
    /// The record whose activities gain links.
    pub from: LinkInput,
    /// 1 to 20 records to link them to as well.
    #[schemars(length(min = 1, max = 20))]
    pub to: Vec<LinkInput>,
}

impl RelinkRequest {
    /// The typed `(from, to)`, or a 422 naming every bad part.
    pub fn check(self) -> Result<(RecordRef, Vec<RecordRef>)> {
        let mut v = Validator::new();
        let from = v.check(RecordType::parse_linkable(
            "from.type",
            &self.from.record_type,
        ));
        if self.to.is_empty() || self.to.len() > MAX_LINKS {
            v.push("to", format!("must hold 1 to {MAX_LINKS} records"));
        }
        let to = parse_all(&mut v, "to", self.to);
        v.finish()?;
        let from = (from.expect("checked"), self.from.id);
        Ok((
            from,
            to.into_iter().map(|l| (l.record_type, l.id)).collect(),
        ))
    }
}

/// The answer of `POST /activities/relink`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Relinked {
    /// How many activities gained a link.
    pub relinked: u64,
}

/// Links every activity of `from` to the `to` records as well (keeping the link to `from`),
/// with an `activity.updated` event for each activity that changed. Used by lead conversion
/// inside its own transaction; returns the number of activities changed. Soft-deleted
/// activities follow too, so restoring one finds it where its siblings are.
pub async fn relink(
    conn: &mut PgConnection,
    actor: &Actor,
    from: RecordRef,
    to: &[RecordRef],
) -> Result<u64> {
    rewrite(conn, actor, from, to, true).await
}

/// Moves every link to `from` over to `to` (a merged record to the one it was merged into).
pub async fn repoint(
    conn: &mut PgConnection,
    actor: &Actor,
    from: RecordRef,
    to: RecordRef,
) -> Result<u64> {
    rewrite(conn, actor, from, &[to], false).await
}

async fn rewrite(
    conn: &mut PgConnection,
    actor: &Actor,
    from: RecordRef,
    to: &[RecordRef],
    keep_old: bool,
) -> Result<u64> {
    let mut v = Validator::new();
    v.check(RecordType::parse_linkable("from.type", from.0.as_str()));
    for (i, (t, _)) in to.iter().enumerate() {
        v.check(RecordType::parse_linkable(
            &format!("to[{i}].type"),
            t.as_str(),
        ));
    }
    v.finish()?;
    // In id order, like every multi-row lock here, so concurrent rewrites cannot deadlock.
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT activity_id FROM crm_activities.activity_links
         WHERE tenant_id = $1 AND record_type = $2 AND record_id = $3 ORDER BY activity_id",
    )
    .bind(actor.tenant_id)
    .bind(from.0)
    .bind(from.1)
    .fetch_all(&mut *conn)
    .await?;
    let mut changed_activities = 0;
    for id in ids {
        let before = record::lock::<Activity>(conn, actor.tenant_id, id).await?;
        let mut changed = 0;
        for (t, rid) in to {
            changed += sqlx::query(
                "INSERT INTO crm_activities.activity_links (tenant_id, activity_id, record_type, record_id)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(actor.tenant_id)
            .bind(id)
            .bind(*t)
            .bind(*rid)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
        if !keep_old && !to.contains(&from) {
            changed += sqlx::query(
                "DELETE FROM crm_activities.activity_links
                 WHERE activity_id = $1 AND record_type = $2 AND record_id = $3",
            )
            .bind(id)
            .bind(from.0)
            .bind(from.1)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
        if changed == 0 {
            continue;
        }
        // No column changes: this bumps the version and returns the new link set.
        let after = record::write_columns::<Activity>(conn, actor, id, Vec::new()).await?;
        record::append_updated(conn, actor, &before, &after).await?;
        changed_activities += 1;
    }
    Ok(changed_activities)
}
