//! Generic, tenant-scoped reads and writes of a context's records.
//!
//! A context describes a record type with [`Resource`] (its table, columns and fields) and
//! gets listing with filters and keyset cursors, optimistic locking (`version` + `If-Match`),
//! soft delete, restore, and the matching outbox events, without writing that SQL again.
//! Every statement carries `tenant_id = $1`: a foreign tenant's record is simply not found.

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::actor::{Actor, Object};
use crate::error::{Error, Result};
use crate::query::{FieldSpec, ListQuery, Page, SqlValue};

/// The meta column list as a literal, for `concat!` in a resource's `COLUMNS`.
#[macro_export]
macro_rules! meta_columns {
    () => {
        "id, tenant_id, created_at, updated_at, created_by, updated_by, version, deleted_at"
    };
}

/// Columns every record table has, in this order, at the start of its `COLUMNS`.
pub const META_COLUMNS: &str = meta_columns!();

/// The bookkeeping fields of every record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, schemars::JsonSchema)]
pub struct Meta {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
    /// Optimistic-locking version; send it back in `If-Match` to update.
    pub version: i64,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A record type stored in one table of its context's schema.
pub trait Resource:
    for<'r> FromRow<'r, PgRow> + Serialize + Clone + Send + Sync + Unpin + 'static
{
    /// Singular name used in events and messages, e.g. `company`.
    const OBJECT: &'static str;
    /// The collection's path segment under `/api/v1`, e.g. `companies`.
    const COLLECTION: &'static str;
    /// The object the role matrix checks for this record type.
    const PERMISSION: Object;
    /// Schema-qualified table, e.g. `crm_customers.companies`.
    const TABLE: &'static str;
    /// The select list (starting with [`META_COLUMNS`]) that builds `Self`.
    const COLUMNS: &'static str;
    /// Filterable and sortable fields beyond the common ones.
    const FIELDS: &'static [FieldSpec];

    fn meta(&self) -> &Meta;

    /// Maps a violated constraint of this table to a client error (e.g. a duplicate domain).
    fn constraint_error(_constraint: &str) -> Option<Error> {
        None
    }
}

/// A context's write rules for one record type: validation, derived fields, references to
/// other contexts, events. Used by the generic HTTP handlers (POST, PATCH, batch) and by
/// in-process callers such as lead conversion, always inside the caller's transaction.
#[async_trait::async_trait]
pub trait Writer<R: Resource>: Send + Sync + 'static {
    /// The body of `POST /{collection}`.
    type Create: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static;
    /// The body of `PATCH /{collection}/{id}`.
    type Patch: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static;

    fn pool(&self) -> &sqlx::PgPool;

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: Self::Create,
    ) -> Result<R>;

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected_version: Option<i64>,
        patch: Self::Patch,
    ) -> Result<R>;

    /// For batch upserts: the live record a create-shaped item refers to by a natural key
    /// (a company's domain, a contact's e-mail), if any. Matching by `id` is done before.
    async fn find_natural(
        &self,
        _conn: &mut PgConnection,
        _actor: &Actor,
        _item: &serde_json::Value,
    ) -> Result<Option<R>> {
        Ok(None)
    }
}

/// Turns a database error into a client error where it is the client's doing: a violated
/// constraint by the record type's own mapping, anything else by [`crate::sqlstate`].
pub fn db_error<R: Resource>(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &e {
        if let Some(mapped) = db.constraint().and_then(R::constraint_error) {
            return mapped;
        }
        if db.code().as_deref() == Some("23505") {
            let constraint = db.constraint().unwrap_or("a constraint");
            return Error::conflict(
                "duplicate",
                format!(
                    "a {} with the same values already exists ({constraint})",
                    R::OBJECT
                ),
            );
        }
        if let Some(answer) = crate::sqlstate::answer_db(db.as_ref(), R::OBJECT) {
            return answer;
        }
    }
    Error::from(e)
}

/// One live (not deleted) record, or 404.
pub async fn get<R: Resource>(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> Result<R> {
    sqlx::query_as::<_, R>(&format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error::<R>)?
    .ok_or_else(|| Error::not_found(R::OBJECT))
}

/// Locks a record (deleted or not) for a read-modify-write in the caller's transaction.
pub async fn lock<R: Resource>(conn: &mut PgConnection, tenant: Uuid, id: Uuid) -> Result<R> {
    sqlx::query_as::<_, R>(&format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        R::COLUMNS,
        R::TABLE
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error::<R>)?
    .ok_or_else(|| Error::not_found(R::OBJECT))
}

/// One page of records matching `q`, in `q.order`, by keyset.
pub async fn list<R: Resource>(
    conn: &mut PgConnection,
    tenant: Uuid,
    q: ListQuery,
) -> Result<Page<R>> {
    let filter = q.filter.clone();
    let include_deleted = q.include_deleted;
    let scope = move |qb: &mut QueryBuilder<'_, Postgres>| {
        qb.push("tenant_id = ").push_bind(tenant);
        if !include_deleted {
            qb.push(" AND deleted_at IS NULL");
        }
        if let Some(f) = filter.clone() {
            qb.push(" AND ");
            f.push_sql(qb);
        }
    };
    crate::query::page::page(conn, R::COLUMNS, R::TABLE, &scope, q, db_error::<R>).await
}

/// Column assignments of a write: `(column, value)`.
pub type Columns = Vec<(&'static str, SqlValue)>;

/// Inserts a record with the given id and columns; meta columns are filled in.
pub async fn insert<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    cols: Columns,
) -> Result<R> {
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "INSERT INTO {} (id, tenant_id, created_by, updated_by",
        R::TABLE
    ));
    for (c, _) in &cols {
        qb.push(", ").push(*c);
    }
    qb.push(") VALUES (").push_bind(id);
    qb.push(", ").push_bind(actor.tenant_id);
    qb.push(", ").push_bind(actor.user_id);
    qb.push(", ").push_bind(actor.user_id);
    for (_, v) in cols {
        qb.push(", ");
        v.push_bind(&mut qb);
    }
    if !crate::ids::is_keyed() {
        qb.push(") RETURNING ").push(R::COLUMNS);
        return qb
            .build_query_as()
            .fetch_one(conn)
            .await
            .map_err(db_error::<R>);
    }
    // A keyed request run again after a crash derives the same id: its row is already there
    // (committed with its events), and that row is the result.
    qb.push(") ON CONFLICT (id) DO NOTHING RETURNING ")
        .push(R::COLUMNS);
    let inserted: Option<R> = qb
        .build_query_as()
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error::<R>)?;
    match inserted {
        Some(r) => Ok(r),
        None => sqlx::query_as::<_, R>(&format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2",
            R::COLUMNS,
            R::TABLE
        ))
        .bind(actor.tenant_id)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error::<R>)?
        .ok_or_else(|| Error::conflict("duplicate", format!("{} id already taken", R::OBJECT))),
    }
}

/// Checks `If-Match` against the locked record's version.
pub fn check_version<R: Resource>(record: &R, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != record.meta().version => Err(Error::PreconditionFailed {
            expected: v,
            current: record.meta().version,
        }),
        _ => Ok(()),
    }
}

/// Updates a live record's columns, bumping its version; returns `(before, after)`.
/// `expected` is the client's `If-Match` version (`None` for internal updates).
pub async fn update<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
    cols: Columns,
) -> Result<(R, R)> {
    let before = lock::<R>(conn, actor.tenant_id, id).await?;
    if before.meta().deleted_at.is_some() {
        return Err(Error::not_found(R::OBJECT));
    }
    check_version(&before, expected)?;
    let after = write_columns::<R>(conn, actor, id, cols).await?;
    Ok((before, after))
}

/// Writes columns of a record already locked by the caller.
pub async fn write_columns<R: Resource>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    cols: Columns,
) -> Result<R> {
    let mut qb = QueryBuilder::<Postgres>::new(format!("UPDATE {} SET ", R::TABLE));
    for (c, v) in cols {
        qb.push(c).push(" = ");
        v.push_bind(&mut qb);
        qb.push(", ");
    }
    qb.push("version = version + 1, updated_at = now(), updated_by = ")
        .push_bind(actor.user_id);
    qb.push(" WHERE tenant_id = ").push_bind(actor.tenant_id);
    qb.push(" AND id = ").push_bind(id);
    qb.push(" RETURNING ").push(R::COLUMNS);
    qb.build_query_as()
        .fetch_one(conn)
        .await
        .map_err(db_error::<R>)
}

mod change;

pub use change::*;

#[cfg(test)]
mod tests;
