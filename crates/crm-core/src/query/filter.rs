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

use sqlx::{Postgres, QueryBuilder};

use super::spec::{self, FieldKind, FieldSpec};
use super::value::SqlValue;
use crate::error::{Error, Result};

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
        let mut p = Parser {
            s: input.as_bytes(),
            src: input,
            pos: 0,
            conditions: 0,
        };
        let mut items = vec![p.expr(0)?];
        p.ws();
        while p.eat(b',') {
            items.push(p.expr(0)?);
            p.ws();
        }
        if p.pos != p.s.len() {
            return Err(syntax(p.pos, "unexpected trailing input"));
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Filter::And(items)
        })
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

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    conditions: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(syntax(self.pos, format_args!("expected '{}'", c as char)))
        }
    }

    fn ident(&mut self) -> Result<&str> {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || matches!(self.s[self.pos], b'_' | b'.'))
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(syntax(start, "expected a field name or and/or/not"));
        }
        Ok(&self.src[start..self.pos])
    }

    fn expr(&mut self, depth: usize) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(syntax(
                self.pos,
                format_args!("nested deeper than {MAX_DEPTH}"),
            ));
        }
        let start = self.pos;
        let name = self.ident()?.to_owned();
        self.ws();
        if self.s.get(self.pos) == Some(&b'(') {
            let combine = name.as_str();
            if !matches!(combine, "and" | "or" | "not") {
                return Err(syntax(
                    start,
                    format_args!("unknown group '{name}'; use and, or or not"),
                ));
            }
            self.pos += 1;
            let mut items = vec![self.expr(depth + 1)?];
            while self.eat(b',') {
                items.push(self.expr(depth + 1)?);
            }
            self.expect(b')')?;
            return Ok(match combine {
                "and" => Filter::And(items),
                "or" => Filter::Or(items),
                _ if items.len() == 1 => Filter::Not(Box::new(items.pop().expect("one item"))),
                _ => return Err(syntax(start, "not() takes exactly one condition")),
            });
        }
        self.expect(b'[')?;
        let op_start = self.pos;
        let op_name = self.ident()?.to_owned();
        let op = Op::parse(&op_name).ok_or_else(|| {
            Error::bad_request(
                "filter",
                format!(
                    "unknown operator '{op_name}' at position {op_start}; operators: {}",
                    Op::ALL.map(|(n, _)| n).join(", ")
                ),
            )
        })?;
        self.expect(b']')?;
        self.expect(b':')?;
        let value = self.value(true)?;
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(syntax(
                self.pos,
                format_args!("more than {MAX_CONDITIONS} conditions"),
            ));
        }
        Ok(Filter::Cond {
            field: name,
            op,
            value,
        })
    }

    fn value(&mut self, allow_list: bool) -> Result<Literal> {
        self.ws();
        match self.s.get(self.pos) {
            None => Err(syntax(self.pos, "expected a value")),
            Some(b'"') => self.string().map(Literal::Str),
            Some(b'[') if allow_list => {
                self.pos += 1;
                let mut items = vec![self.value(false)?];
                while self.eat(b',') {
                    items.push(self.value(false)?);
                }
                self.expect(b']')?;
                Ok(Literal::List(items))
            }
            Some(_) => {
                let start = self.pos;
                while self.pos < self.s.len()
                    && !matches!(self.s[self.pos], b',' | b')' | b']' | b'[' | b'(')
                {
                    self.pos += 1;
                }
                let word = self.src[start..self.pos].trim();
                if word.is_empty() {
                    return Err(syntax(start, "expected a value"));
                }
                Ok(match word.to_ascii_lowercase().as_str() {
                    "null" => Literal::Null,
                    "not_null" => Literal::NotNull,
                    "true" => Literal::Bool(true),
                    "false" => Literal::Bool(false),
                    _ if word.parse::<f64>().is_ok() => Literal::Number(word.to_owned()),
                    _ => Literal::Str(word.to_owned()),
                })
            }
        }
    }

    /// A JSON-style double-quoted string with `\"`, `\\` and `\n`-style escapes.
    fn string(&mut self) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((j, other)) => {
                        return Err(syntax(
                            self.pos + j,
                            format_args!("unknown escape '\\{other}'"),
                        ));
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(syntax(start, "unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STAGES: &[&str] = &["prospecting", "proposal"];
    static FIELDS: &[FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("amount", FieldKind::Int).nullable(),
        FieldSpec::new("stage", FieldKind::Enum(STAGES)),
        FieldSpec::new("won", FieldKind::Bool),
    ];

    fn sql(filter: &str) -> Result<String> {
        let typed = Filter::parse(filter)?.check(FIELDS)?;
        let mut qb = QueryBuilder::new("");
        typed.push_sql(&mut qb);
        Ok(qb.sql().to_owned())
    }

    fn detail(e: Error) -> String {
        match e {
            Error::BadRequest { detail, .. } => detail,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[test]
    fn the_api_example_compiles() {
        assert_eq!(
            sql(r#"and(stage[eq]:"proposal",amount[gte]:1000)"#).unwrap(),
            "((stage = $1) AND (amount >= $2))"
        );
    }

    #[test]
    fn groups_nest_and_top_level_lists_are_and() {
        assert_eq!(
            sql(r#"or(name[ilike]:"%acme%",not(won[eq]:true)),amount[is]:not_null"#).unwrap(),
            "(((name ILIKE $1) OR NOT (won = $2)) AND (amount IS NOT NULL))"
        );
        assert_eq!(
            sql(r#"stage[in]:["proposal","prospecting"]"#).unwrap(),
            "(stage = ANY($1))"
        );
    }

    #[test]
    fn unknown_fields_and_operators_are_named() {
        assert!(detail(sql("colour[eq]:1").unwrap_err()).contains("unknown field 'colour'"));
        assert!(detail(sql("name[like]:1").unwrap_err()).contains("unknown operator 'like'"));
        assert!(detail(sql("won[gt]:true").unwrap_err()).contains("does not apply"));
        assert!(detail(sql("amount[eq]:abc").unwrap_err()).contains("not a valid integer"));
        assert!(detail(sql("stage[eq]:closed").unwrap_err()).contains("not one of"));
        assert!(detail(sql("amount[eq]:null").unwrap_err()).contains("[is]:null"));
    }

    #[test]
    fn syntax_errors_give_positions() {
        for bad in [
            "and(",
            "name[eq]",
            "name[eq]:\"x",
            "x(name[eq]:1)",
            "name[eq]:1)",
        ] {
            assert!(detail(sql(bad).unwrap_err()).contains("position"), "{bad}");
        }
    }

    #[test]
    fn starts_with_escapes_wildcards() {
        let typed = Filter::parse(r#"name[starts_with]:"50%_off""#)
            .unwrap()
            .check(FIELDS)
            .unwrap();
        let TypedFilter::Cond { value, .. } = typed else {
            panic!()
        };
        assert_eq!(value, SqlValue::Text(Some("50\\%\\_off%".into())));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}name[eq]:1{}", "not(".repeat(20), ")".repeat(20));
        assert!(sql(&deep).is_err());
    }

    proptest! {
        #[test]
        fn the_parser_never_panics(s in "\\PC{0,200}") {
            let _ = Filter::parse(&s).and_then(|f| f.check(FIELDS));
        }

        #[test]
        fn quoted_strings_round_trip(s in "[^\\\\\"]{0,40}") {
            let f = Filter::parse(&format!("name[eq]:\"{s}\"")).unwrap();
            prop_assert_eq!(f, Filter::Cond { field: "name".into(), op: Op::Eq, value: Literal::Str(s) });
        }
    }
}
