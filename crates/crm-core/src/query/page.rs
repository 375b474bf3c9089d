//! One keyset page over a caller-given scope: order, cursor condition, `limit + 1` rows to
//! learn `has_more`, cursors from the first and last rows, and an optional count. Record
//! lists scope by tenant, deletion and filter; other lists (a record's activities, a
//! timeline) add their own conditions.

use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use super::{ListQuery, Page, PageInfo, Position, cursor};
use crate::error::{Error, Result};

/// Pushes the conditions of a scope (without a leading `AND`).
pub type Scope<'s> = &'s (dyn for<'a> Fn(&mut QueryBuilder<'a, Postgres>) + Send + Sync);

/// One page of `SELECT {columns} FROM {table} WHERE {scope}` in `q`'s order.
pub async fn page<T>(
    conn: &mut PgConnection,
    columns: &str,
    table: &str,
    scope: Scope<'_>,
    q: ListQuery,
    map_err: fn(sqlx::Error) -> Error,
) -> Result<Page<T>>
where
    T: for<'r> FromRow<'r, PgRow> + Serialize + Send + Unpin,
{
    let backwards = matches!(q.position, Position::Before(_));
    let order = if backwards {
        q.order.reversed()
    } else {
        q.order.clone()
    };
    let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {columns} FROM {table} WHERE "));
    scope(&mut qb);
    match q.position.clone() {
        Position::First => {}
        Position::After(values) | Position::Before(values) => {
            qb.push(" AND ");
            cursor::push_after(&mut qb, &order, values);
        }
    }
    qb.push(" ORDER BY ")
        .push(order.sql())
        .push(" LIMIT ")
        .push_bind(q.limit + 1);
    let mut rows: Vec<T> = qb
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    if backwards {
        rows.reverse();
    }
    let cursor_of = |r: Option<&T>| -> Result<Option<String>> {
        r.map(|r| Ok(cursor::encode(&q.order, &serde_json::to_value(r)?)))
            .transpose()
    };
    let (first, last) = (rows.first(), rows.last());
    let page = match q.position {
        Position::First => PageInfo {
            next_cursor: if more { cursor_of(last)? } else { None },
            prev_cursor: None,
            has_more: more,
        },
        Position::After(_) => PageInfo {
            next_cursor: if more { cursor_of(last)? } else { None },
            prev_cursor: cursor_of(first)?,
            has_more: more,
        },
        Position::Before(_) => PageInfo {
            next_cursor: cursor_of(last)?,
            prev_cursor: if more { cursor_of(first)? } else { None },
            has_more: more,
        },
    };
    let total = if q.count {
        let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {table} WHERE "));
        scope(&mut qb);
        Some(
            qb.build_query_scalar::<i64>()
                .fetch_one(conn)
                .await
                .map_err(map_err)?,
        )
    } else {
        None
    };
    Ok(Page {
        data: rows,
        page,
        total,
    })
}
