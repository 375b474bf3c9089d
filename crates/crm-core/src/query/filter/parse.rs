//! The filter language's parser: text → [`Filter`], untyped (see the grammar in the parent
//! module), with the limits on depth, conditions and list items.

use super::{Filter, Literal, MAX_CONDITIONS, MAX_DEPTH, Op, syntax};
use crate::error::{Error, Result};

/// Parses a whole filter: a condition or group, or a top-level comma-separated list of them
/// (their `and`).
pub(super) fn parse(input: &str) -> Result<Filter> {
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
