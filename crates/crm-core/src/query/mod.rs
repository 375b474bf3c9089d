//! The list language shared by every collection: filter, order_by, keyset cursors, limit.
//!
//! `GET /companies?filter=and(industry[eq]:"software",employees[gte]:50)&order_by=name[asc]&limit=50`
//! is parsed into a [`ListQuery`] checked against the resource's [`FieldSpec`]s, then compiled
//! to parameterised SQL by [`crate::record::list`]. Offsets are never used.

pub mod cursor;
pub mod filter;
pub mod order;
pub mod page;
pub mod spec;
pub mod value;

use serde::{Deserialize, Serialize};

pub use filter::{Filter, TypedFilter};
pub use order::Order;
pub use spec::{FieldKind, FieldSpec};
pub use value::SqlValue;

use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The raw query-string parameters of a list request. Unknown parameters are refused.
#[derive(Clone, Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Filter expression, e.g. `and(stage[eq]:"proposal",amount[gte]:1000)`.
    pub filter: Option<String>,
    /// Sort keys, e.g. `updated_at[desc],name[asc]`; `id` is always the final key.
    pub order_by: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<String>,
    /// Cursor: return the rows after this one.
    pub starting_after: Option<String>,
    /// Cursor: return the rows before this one.
    pub ending_before: Option<String>,
    /// `true` to include `total`, the number of matching rows.
    pub count: Option<String>,
    /// `true` to include soft-deleted rows.
    pub include_deleted: Option<String>,
}

/// Direction and position of a keyset page.
#[derive(Clone, Debug, PartialEq)]
pub enum Position {
    First,
    After(Vec<SqlValue>),
    Before(Vec<SqlValue>),
}

/// A checked, typed list request.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub filter: Option<TypedFilter>,
    pub order: Order,
    pub limit: i64,
    pub position: Position,
    pub count: bool,
    pub include_deleted: bool,
}

fn flag(name: &str, v: &Option<String>) -> Result<bool> {
    match v.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Error::bad_request(
            name,
            format!("'{other}' is not true or false"),
        )),
    }
}

impl ListQuery {
    pub fn parse(p: &ListParams, fields: &'static [FieldSpec]) -> Result<ListQuery> {
        let filter = match p.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(Filter::parse(f)?.check(fields)?),
        };
        let order = Order::parse(p.order_by.as_deref(), fields)?;
        let limit = match p.limit.as_deref() {
            None => DEFAULT_LIMIT,
            // Digits only (no sign, no blank), as the document's `integer` says.
            Some(l) => Some(l)
                .filter(|l| !l.is_empty() && l.len() <= 18 && l.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|l| l.parse::<i64>().ok())
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    Error::bad_request("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
                })?,
        };
        let position = match (&p.starting_after, &p.ending_before) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "starting_after",
                    "give starting_after or ending_before, not both",
                ));
            }
            (Some(c), None) => Position::After(cursor::decode("starting_after", &order, c)?),
            (None, Some(c)) => Position::Before(cursor::decode("ending_before", &order, c)?),
            (None, None) => Position::First,
        };
        Ok(ListQuery {
            filter,
            order,
            limit,
            position,
            count: flag("count", &p.count)?,
            include_deleted: flag("include_deleted", &p.include_deleted)?,
        })
    }

    /// A first page in the default order with `filter` (for in-process callers).
    pub fn first(
        fields: &'static [FieldSpec],
        filter: Option<&str>,
        limit: i64,
    ) -> Result<ListQuery> {
        ListQuery::parse(
            &ListParams {
                filter: filter.map(str::to_owned),
                limit: Some(limit.to_string()),
                ..ListParams::default()
            },
            fields,
        )
    }
}

/// One page of a list.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub page: PageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageInfo {
    /// Pass as `starting_after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Pass as `ending_before` for the previous page; absent on the first page.
    pub prev_cursor: Option<String>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: &[FieldSpec] = &[FieldSpec::new("name", FieldKind::Text)];

    #[test]
    fn limits_are_checked() {
        for bad in ["0", "201", "ten", "-1", "", " 5", "+5"] {
            let p = ListParams {
                limit: Some(bad.into()),
                ..Default::default()
            };
            assert!(ListQuery::parse(&p, FIELDS).is_err(), "{bad}");
        }
        let q = ListQuery::parse(&ListParams::default(), FIELDS).unwrap();
        assert_eq!(q.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn both_cursors_at_once_are_refused() {
        let p = ListParams {
            starting_after: Some("a".into()),
            ending_before: Some("b".into()),
            ..Default::default()
        };
        assert!(ListQuery::parse(&p, FIELDS).is_err());
    }
}
