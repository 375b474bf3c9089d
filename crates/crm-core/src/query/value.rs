//! Typed SQL values: what filters, cursors and generic writes bind.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::spec::FieldKind;

/// A value bound to a query parameter. `None` binds a typed SQL NULL.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Uuid(Option<Uuid>),
    Timestamp(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Json(Option<Value>),
    TextArray(Vec<String>),
    IntArray(Vec<i64>),
    BoolArray(Vec<bool>),
    UuidArray(Vec<Uuid>),
    TimestampArray(Vec<DateTime<Utc>>),
    DateArray(Vec<NaiveDate>),
}

impl SqlValue {
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            SqlValue::Text(None)
                | SqlValue::Int(None)
                | SqlValue::Bool(None)
                | SqlValue::Uuid(None)
                | SqlValue::Timestamp(None)
                | SqlValue::Date(None)
                | SqlValue::Json(None)
        )
    }

    /// Appends a placeholder for this value to the query and binds it.
    pub fn push_bind(self, qb: &mut QueryBuilder<'_, Postgres>) {
        match self {
            SqlValue::Text(v) => qb.push_bind(v),
            SqlValue::Int(v) => qb.push_bind(v),
            SqlValue::Bool(v) => qb.push_bind(v),
            SqlValue::Uuid(v) => qb.push_bind(v),
            SqlValue::Timestamp(v) => qb.push_bind(v),
            SqlValue::Date(v) => qb.push_bind(v),
            SqlValue::Json(v) => qb.push_bind(v),
            SqlValue::TextArray(v) => qb.push_bind(v),
            SqlValue::IntArray(v) => qb.push_bind(v),
            SqlValue::BoolArray(v) => qb.push_bind(v),
            SqlValue::UuidArray(v) => qb.push_bind(v),
            SqlValue::TimestampArray(v) => qb.push_bind(v),
            SqlValue::DateArray(v) => qb.push_bind(v),
        };
    }

    /// A typed NULL for a field of `kind`.
    pub fn null(kind: FieldKind) -> SqlValue {
        match kind {
            FieldKind::Uuid => SqlValue::Uuid(None),
            FieldKind::Text | FieldKind::Enum(_) => SqlValue::Text(None),
            FieldKind::Int => SqlValue::Int(None),
            FieldKind::Bool => SqlValue::Bool(None),
            FieldKind::Timestamp => SqlValue::Timestamp(None),
            FieldKind::Date => SqlValue::Date(None),
        }
    }

    /// Parses a JSON value (as found in a record or a cursor) into a value of `kind`.
    /// Returns a human-readable reason on failure.
    pub fn from_json(kind: FieldKind, v: &Value) -> Result<SqlValue, String> {
        if v.is_null() {
            return Ok(SqlValue::null(kind));
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("{other} is not a {}", kind.describe())),
        };
        SqlValue::parse(kind, &text)
    }

    /// Parses a literal into a value of `kind`: what the database could not store (a NUL in
    /// text, a date outside years 1 to 9999) is refused here with a reason.
    pub fn parse(kind: FieldKind, s: &str) -> Result<SqlValue, String> {
        let bad = || format!("'{s}' is not a valid {}", kind.describe());
        if s.contains('\0') {
            return Err("must not contain the NUL character".into());
        }
        Ok(match kind {
            FieldKind::Uuid => SqlValue::Uuid(Some(Uuid::parse_str(s).map_err(|_| bad())?)),
            FieldKind::Text => SqlValue::Text(Some(s.to_owned())),
            FieldKind::Enum(allowed) => {
                if !allowed.contains(&s) {
                    return Err(format!("'{s}' is not one of: {}", allowed.join(", ")));
                }
                SqlValue::Text(Some(s.to_owned()))
            }
            FieldKind::Int => SqlValue::Int(Some(s.parse().map_err(|_| bad())?)),
            FieldKind::Bool => SqlValue::Bool(Some(match s {
                "true" => true,
                "false" => false,
                _ => return Err(bad()),
            })),
            FieldKind::Timestamp => {
                let t = parse_timestamp(s).ok_or_else(bad)?;
                check_year(t.date_naive(), s)?;
                SqlValue::Timestamp(Some(t))
            }
            FieldKind::Date => {
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
                check_year(d, s)?;
                SqlValue::Date(Some(d))
            }
        })
    }

    /// Packs scalar values of one kind into the array value `= ANY($1)` binds.
    pub fn array(kind: FieldKind, items: Vec<SqlValue>) -> SqlValue {
        macro_rules! collect {
            ($variant:ident, $arr:ident) => {
                SqlValue::$arr(
                    items
                        .into_iter()
                        .filter_map(|v| match v {
                            SqlValue::$variant(x) => x,
                            _ => None,
                        })
                        .collect(),
                )
            };
        }
        match kind {
            FieldKind::Uuid => collect!(Uuid, UuidArray),
            FieldKind::Text | FieldKind::Enum(_) => collect!(Text, TextArray),
            FieldKind::Int => collect!(Int, IntArray),
            FieldKind::Bool => collect!(Bool, BoolArray),
            FieldKind::Timestamp => collect!(Timestamp, TimestampArray),
            FieldKind::Date => collect!(Date, DateArray),
        }
    }
}

/// The years every date and timestamp of the API must fall in: what ISO 8601 writes with four
/// digits, well inside PostgreSQL's range (a year like 300000 overflows its timestamps).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// An error quoting `s` unless `d` falls in [`YEARS`].
fn check_year(d: NaiveDate, s: &str) -> Result<(), String> {
    if year_in_range(d) {
        Ok(())
    } else {
        Err(format!("'{s}' is out of range: years 1 to 9999"))
    }
}

/// Whether a date falls in [`YEARS`].
pub fn year_in_range(d: NaiveDate) -> bool {
    use chrono::Datelike;
    YEARS.contains(&d.year())
}

/// RFC 3339 timestamps, or a bare date taken as midnight UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}
