//! Rows in PostgreSQL's COPY text format: fields separated by tabs, rows by newlines,
//! `\N` for NULL, and backslash, tab, newline and carriage return escaped.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A buffer of COPY rows, written field by field.
#[derive(Default)]
pub(crate) struct Rows {
    pub(crate) buf: Vec<u8>,
    at_start: bool,
    pub(crate) rows: u64,
}

impl Rows {
    pub(crate) fn new() -> Rows {
        Rows {
            buf: Vec::with_capacity(1 << 20),
            at_start: true,
            rows: 0,
        }
    }

    fn sep(&mut self) {
        if !self.at_start {
            self.buf.push(b'\t');
        }
        self.at_start = false;
    }

    fn escaped(&mut self, s: &str) {
        for b in s.bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(b"\\N");
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.escaped(s);
        self
    }

    pub(crate) fn text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => {
                self.sep();
                self.null();
                self
            }
        }
    }

    fn display(&mut self, v: Option<impl std::fmt::Display>) -> &mut Self {
        self.sep();
        match v {
            Some(v) => {
                use std::io::Write;
                write!(self.buf, "{v}").expect("writing to memory");
            }
            None => self.null(),
        }
        self
    }

    pub(crate) fn uuid(&mut self, v: Option<Uuid>) -> &mut Self {
        self.display(v)
    }

    pub(crate) fn int(&mut self, v: Option<i64>) -> &mut Self {
        self.display(v)
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.display(Some(if v { "t" } else { "f" }))
    }

    pub(crate) fn ts(&mut self, v: Option<DateTime<Utc>>) -> &mut Self {
        self.display(v.map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f+00")))
    }

    pub(crate) fn date(&mut self, v: Option<NaiveDate>) -> &mut Self {
        self.display(v)
    }

    /// A `text[]` literal, every element quoted.
    pub(crate) fn array(&mut self, items: &[String]) -> &mut Self {
        let mut lit = String::from("{");
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                lit.push(',');
            }
            lit.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    lit.push('\\');
                }
                lit.push(c);
            }
            lit.push('"');
        }
        lit.push('}');
        self.str(&lit)
    }

    /// Ends the row.
    pub(crate) fn end(&mut self) {
        self.buf.push(b'\n');
        self.at_start = true;
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_and_nulls_are_escaped() {
        let mut r = Rows::new();
        r.str("a\tb\nc\\d")
            .text(None)
            .int(Some(-5))
            .bool(true)
            .array(&["x\"y".into(), "z".into()]);
        r.end();
        assert_eq!(
            String::from_utf8(r.buf).unwrap(),
            "a\\tb\\nc\\\\d\t\\N\t-5\tt\t{\"x\\\\\"y\",\"z\"}\n"
        );
    }
}
