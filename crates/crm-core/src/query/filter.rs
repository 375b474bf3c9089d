//! The filter language: `and(stage[eq]:"proposal",amount[gte]:1000)`.
//!
//! ```text
//! expr    := group | cond
//! group   := ("and" | "or" | "not") "(" expr ("," expr)* ")"
//! cond    := field "[" op "]" ":" value
//! value   := "string" | number | true | false | null | not_null | bareword | "[" value ("," value)* "]"
//! ```
//! A top-level comma-separated list means `and(...)`. Operators: eq, neq, in, is, gt, gte, lt,
//! lte, starts_with, ilike. Parsing is untyped; [`Filter::check`] types every condition
//! against the resource's fields and names the first unknown field or operator.
//!
//! # Layout
//! - this file: the operators, the untyped and typed filters, typing, SQL.
//! - `parse`: the parser (text → [`Filter`]) with its limits; `tests`: the language's tests.

use sqlx::{Postgres, QueryBuilder};

use super::spec::{self, FieldKind, FieldSpec};
use super::value::SqlValue;
use crate::error::{Error, Result};

mod parse;

const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 8;
const MAX_CONDITIONS: usize = 50;
const MAX_IN_ITEMS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    In,
    Is,
    Gt,
    Gte,
    Lt,
    Lte,
    StartsWith,
    Ilike,
}

impl Op {
    const ALL: [(&'static str, Op); 10] = [
        ("eq", Op::Eq),
        ("neq", Op::Neq),
        ("in", Op::In),
        ("is", Op::Is),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("starts_with", Op::StartsWith),
        ("ilike", Op::Ilike),
    ];

    fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == s).map(|(_, op)| *op)
    }

    fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    fn accepts(self, kind: FieldKind) -> bool {
        match self {
            Op::Eq | Op::Neq | Op::In | Op::Is => true,
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => matches!(
                kind,
                FieldKind::Int | FieldKind::Timestamp | FieldKind::Date | FieldKind::Text
            ),
            Op::StartsWith | Op::Ilike => kind == FieldKind::Text,
        }
    }
}

/// An untyped literal as written in the filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    NotNull,
    Bool(bool),
    Number(String),
    Str(String),
    List(Vec<Literal>),
}

/// A parsed, untyped filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond {
        field: String,
        op: Op,
        value: Literal,
    },
}

/// A filter whose every condition has been checked against the fields and typed.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedFilter {
    And(Vec<TypedFilter>),
    Or(Vec<TypedFilter>),
    Not(Box<TypedFilter>),
    Cond {
        column: &'static str,
        op: Op,
        value: SqlValue,
    },
    IsNull {
        column: &'static str,
        negated: bool,
    },
}

fn syntax(pos: usize, msg: impl std::fmt::Display) -> Error {
    Error::bad_request("filter", format!("syntax error at position {pos}: {msg}"))
}

impl Filter {
    pub fn parse(input: &str) -> Result<Filter> {
        if input.len() > MAX_LEN {
            return Err(Error::bad_request(
                "filter",
                format!("longer than {MAX_LEN} characters"),
            ));
        }
        parse::parse(input)
    }

    /// Types every condition against `fields`; unknown fields, operators not valid for a
    /// field's type, and literals of the wrong type answer 400 naming them.
    pub fn check(&self, fields: &'static [FieldSpec]) -> Result<TypedFilter> {
        Ok(match self {
            Filter::And(v) => {
                TypedFilter::And(v.iter().map(|f| f.check(fields)).collect::<Result<_>>()?)
            }
            Filter::Or(v) => {
                TypedFilter::Or(v.iter().map(|f| f.check(fields)).collect::<Result<_>>()?)
            }
            Filter::Not(f) => TypedFilter::Not(Box::new(f.check(fields)?)),
            Filter::Cond { field, op, value } => check_cond(fields, field, *op, value)?,
        })
    }
}

fn check_cond(
    fields: &'static [FieldSpec],
    name: &str,
    op: Op,
    value: &Literal,
) -> Result<TypedFilter> {
    let spec = spec::lookup(fields, name)
        .filter(|f| f.filterable)
        .ok_or_else(|| {
            Error::bad_request(
                "filter",
                format!(
                    "unknown field '{name}'; filterable fields: {}",
                    spec::names(fields, |f| f.filterable)
                ),
            )
        })?;
    if !op.accepts(spec.kind) {
        return Err(Error::bad_request(
            "filter",
            format!(
                "operator '{}' does not apply to {} field '{name}'",
                op.name(),
                spec.kind.describe()
            ),
        ));
    }
    let typed = |lit: &Literal| -> Result<SqlValue> {
        let text = match lit {
            Literal::Str(s) | Literal::Number(s) => s.clone(),
            Literal::Bool(b) => b.to_string(),
            Literal::Null | Literal::NotNull => {
                return Err(Error::bad_request(
                    "filter",
                    format!(
                        "'{name}[{}]' cannot compare with null; use {name}[is]:null",
                        op.name()
                    ),
                ));
            }
            Literal::List(_) => {
                return Err(Error::bad_request(
                    "filter",
                    format!("'{name}[{}]' takes a single value, not a list", op.name()),
                ));
            }
        };
        SqlValue::parse(spec.kind, &text)
            .map_err(|m| Error::bad_request("filter", format!("{name}: {m}")))
    };
    Ok(match op {
        Op::Is => match value {
            Literal::Null => TypedFilter::IsNull {
                column: spec.column,
                negated: false,
            },
            Literal::NotNull => TypedFilter::IsNull {
                column: spec.column,
                negated: true,
            },
            _ => {
                return Err(Error::bad_request(
                    "filter",
                    format!("'{name}[is]' takes null or not_null"),
                ));
            }
        },
        Op::In => {
            let Literal::List(items) = value else {
                return Err(Error::bad_request(
                    "filter",
                    format!("'{name}[in]' takes a list such as [\"a\",\"b\"]"),
                ));
            };
            if items.is_empty() || items.len() > MAX_IN_ITEMS {
                return Err(Error::bad_request(
                    "filter",
                    format!("'{name}[in]' takes 1 to {MAX_IN_ITEMS} values"),
                ));
            }
            let values = items.iter().map(typed).collect::<Result<Vec<_>>>()?;
            TypedFilter::Cond {
                column: spec.column,
                op,
                value: SqlValue::array(spec.kind, values),
            }
        }
        Op::StartsWith => {
            let SqlValue::Text(Some(s)) = typed(value)? else {
                unreachable!("starts_with only accepts text fields")
            };
            TypedFilter::Cond {
                column: spec.column,
                op,
                value: SqlValue::Text(Some(format!("{}%", escape_like(&s)))),
            }
        }
        Op::Ilike => {
            let v = typed(value)?;
            // In a LIKE pattern a backslash escapes the next character; one with nothing
            // after it is an error in PostgreSQL (22025).
            if let SqlValue::Text(Some(p)) = &v
                && p.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
            {
                return Err(Error::bad_request(
                    "filter",
                    format!(
                        "'{name}[ilike]': a pattern must not end with a lone backslash (write \\\\ for one)"
                    ),
                ));
            }
            TypedFilter::Cond {
                column: spec.column,
                op,
                value: v,
            }
        }
        _ => TypedFilter::Cond {
            column: spec.column,
            op,
            value: typed(value)?,
        },
    })
}

/// Escapes LIKE wildcards so `starts_with` matches its text literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl TypedFilter {
    /// Appends this filter as a parenthesised SQL condition.
    pub fn push_sql(self, qb: &mut QueryBuilder<'_, Postgres>) {
        match self {
            TypedFilter::And(v) | TypedFilter::Or(v) if v.is_empty() => {
                qb.push("TRUE");
            }
            TypedFilter::And(v) => join(qb, v, " AND "),
            TypedFilter::Or(v) => join(qb, v, " OR "),
            TypedFilter::Not(f) => {
                qb.push("NOT ");
                f.push_sql(qb);
            }
            TypedFilter::IsNull { column, negated } => {
                qb.push(format_args!(
                    "({column} IS {}NULL)",
                    if negated { "NOT " } else { "" }
                ));
            }
            TypedFilter::Cond { column, op, value } => {
                let sql_op = match op {
                    Op::Eq => " = ",
                    Op::Neq => " IS DISTINCT FROM ",
                    Op::In => " = ANY(",
                    Op::Gt => " > ",
                    Op::Gte => " >= ",
                    Op::Lt => " < ",
                    Op::Lte => " <= ",
                    Op::StartsWith => " LIKE ",
                    Op::Ilike => " ILIKE ",
                    Op::Is => unreachable!("typed as IsNull"),
                };
                qb.push("(").push(column).push(sql_op);
                value.push_bind(qb);
                if op == Op::In {
                    qb.push(")");
                }
                qb.push(")");
            }
        }
    }
}

fn join(qb: &mut QueryBuilder<'_, Postgres>, items: Vec<TypedFilter>, sep: &str) {
    qb.push("(");
    for (i, f) in items.into_iter().enumerate() {
        if i > 0 {
            qb.push(sep);
        }
        f.push_sql(qb);
    }
    qb.push(")");
}

#[cfg(test)]
mod tests;
