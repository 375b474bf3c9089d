//! From request fields to validated SQL columns, one rule per field for create and patch.
//!
//! Create bodies use `Option<T>` fields (missing = not given), patch bodies `Patch<T>`
//! (missing / null / value). Both go through the same [`ColumnsBuilder`] methods, so a
//! field is validated identically whichever way it arrives, and every bad field is named
//! in one 422.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{FieldError, Result};
use crate::patch::Patch;
use crate::query::SqlValue;
use crate::record::Columns;
use crate::validate::{self, Validator};

impl<T> From<Option<T>> for Patch<T> {
    fn from(o: Option<T>) -> Self {
        match o {
            None => Patch::Absent,
            Some(v) => Patch::Value(v),
        }
    }
}

/// Collects columns and field errors.
pub struct ColumnsBuilder {
    creating: bool,
    v: Validator,
    /// Rules between fields (or with the current record): reported only when every field
    /// is valid on its own, as `inconsistent`.
    between: Vec<FieldError>,
    cols: Columns,
}

impl ColumnsBuilder {
    /// `creating`: required fields must be present.
    pub fn new(creating: bool) -> Self {
        ColumnsBuilder {
            creating,
            v: Validator::new(),
            between: Vec::new(),
            cols: Vec::new(),
        }
    }

    pub fn creating(&self) -> bool {
        self.creating
    }

    /// Whether no field error has been recorded so far.
    pub fn is_ok(&self) -> bool {
        self.v.is_ok()
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.v.push(field, message);
    }

    /// A rule between fields (or with the record's current data) that `field` breaks.
    pub fn inconsistent(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.between.push(FieldError::new(field, message));
    }

    pub fn set(&mut self, column: &'static str, value: SqlValue) {
        self.cols.push((column, value));
    }

    /// Whether a column was set (e.g. to derive another one from it).
    pub fn has(&self, column: &str) -> bool {
        self.cols.iter().any(|(c, _)| *c == column)
    }

    /// Resolves presence rules; `Some(Some(v))` to validate and set, `Some(None)` to set NULL,
    /// `None` to leave alone.
    fn presence<T>(&mut self, field: &str, value: Patch<T>, required: bool) -> Option<Option<T>> {
        match value {
            Patch::Absent => {
                if self.creating && required {
                    self.v.push(field, "is required");
                }
                None
            }
            Patch::Null if required => {
                self.v.push(field, "must not be null");
                None
            }
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(v)),
        }
    }

    fn check<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        self.v.check(r)
    }

    /// Free text, trimmed, 1..=max characters; blank counts as null.
    pub fn text(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<String>>,
        required: bool,
        max: usize,
    ) {
        let value = match value.into() {
            Patch::Value(s) => {
                // As sent first (the document's pattern and length), then blank is none.
                if let Err(e) = validate::raw_text(field, &s, max) {
                    self.v.check::<()>(Err(e));
                    return;
                }
                if s.trim().is_empty() {
                    Patch::Null
                } else {
                    Patch::Value(s)
                }
            }
            other => other,
        };
        match self.presence(field, value, required) {
            None => {}
            Some(None) => self.set(column, SqlValue::Text(None)),
            Some(Some(s)) => {
                if let Some(s) = self.check(validate::text(field, &s, 1, max)) {
                    self.set(column, SqlValue::Text(Some(s)));
                }
            }
        }
    }

    /// Text checked and normalised by `f` (an e-mail, a domain, a phone number).
    pub fn text_with(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<String>>,
        required: bool,
        f: impl FnOnce(&str, &str) -> std::result::Result<String, FieldError>,
    ) {
        let value = match value.into() {
            Patch::Value(s) if s.trim().is_empty() => Patch::Null,
            other => other,
        };
        match self.presence(field, value, required) {
            None => {}
            Some(None) => self.set(column, SqlValue::Text(None)),
            Some(Some(s)) => {
                if let Some(s) = self.check(f(field, &s)) {
                    self.set(column, SqlValue::Text(Some(s)));
                }
            }
        }
    }

    /// One of a fixed set of values.
    pub fn one_of(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<String>>,
        required: bool,
        allowed: &[&str],
    ) {
        match self.presence(field, value.into(), required) {
            None => {}
            Some(None) => self.set(column, SqlValue::Text(None)),
            Some(Some(s)) => {
                if let Some(s) = self.check(validate::one_of(field, &s, allowed)) {
                    self.set(column, SqlValue::Text(Some(s.to_owned())));
                }
            }
        }
    }

    /// An integer in `min..=max`.
    pub fn int(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<i64>>,
        required: bool,
        min: i64,
        max: i64,
    ) {
        match self.presence(field, value.into(), required) {
            None => {}
            Some(None) => self.set(column, SqlValue::Int(None)),
            Some(Some(n)) => {
                if let Some(n) = self.check(validate::range(field, n, min, max)) {
                    self.set(column, SqlValue::Int(Some(n)));
                }
            }
        }
    }

    pub fn uuid(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<Uuid>>,
        required: bool,
    ) {
        match self.presence(field, value.into(), required) {
            None => {}
            Some(v) => self.set(column, SqlValue::Uuid(v)),
        }
    }

    /// A flag with a column default: absent keeps the default, `null` is refused.
    pub fn bool(&mut self, column: &'static str, field: &str, value: impl Into<Patch<bool>>) {
        match value.into() {
            Patch::Absent => {}
            Patch::Null => self.v.push(field, "must be true or false"),
            Patch::Value(b) => self.set(column, SqlValue::Bool(Some(b))),
        }
    }

    pub fn date(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<NaiveDate>>,
        required: bool,
    ) {
        match self.presence(field, value.into(), required) {
            Some(Some(d)) if !crate::query::value::year_in_range(d) => {
                self.v.push(field, "is out of range: years 1 to 9999")
            }
            None => {}
            Some(v) => self.set(column, SqlValue::Date(v)),
        }
    }

    pub fn timestamp(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<DateTime<Utc>>>,
        required: bool,
    ) {
        match self.presence(field, value.into(), required) {
            Some(Some(t)) if !crate::query::value::year_in_range(t.date_naive()) => {
                self.v.push(field, "is out of range: years 1 to 9999")
            }
            None => {}
            Some(v) => self.set(column, SqlValue::Timestamp(v)),
        }
    }

    /// Money in two columns (`<prefix>_micros`, `<prefix>_currency`).
    pub fn money(
        &mut self,
        amount_column: &'static str,
        currency_column: &'static str,
        field: &str,
        value: impl Into<Patch<crate::Money>>,
        required: bool,
    ) {
        match self.presence(field, value.into(), required) {
            None => {}
            Some(None) => {
                self.set(amount_column, SqlValue::Int(None));
                self.set(currency_column, SqlValue::Text(None));
            }
            Some(Some(m)) => {
                if let Some(m) = self.check(m.validate(field)) {
                    self.set(amount_column, SqlValue::Int(Some(m.amount_micros)));
                    self.set(currency_column, SqlValue::Text(Some(m.currency)));
                }
            }
        }
    }

    /// A list of texts, each checked by `f`, de-duplicated in order, at most `max` items.
    pub fn text_list(
        &mut self,
        column: &'static str,
        field: &str,
        value: impl Into<Patch<Vec<String>>>,
        max: usize,
        f: impl Fn(&str, &str) -> std::result::Result<String, FieldError>,
    ) {
        let items = match value.into() {
            Patch::Absent => return,
            Patch::Null => Vec::new(),
            Patch::Value(v) => v,
        };
        if items.len() > max {
            self.v.push(field, format!("at most {max} items"));
            return;
        }
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match f(&format!("{field}[{i}]"), item) {
                Ok(s) if !out.contains(&s) => out.push(s),
                Ok(_) => {}
                Err(e) => {
                    self.v.check::<()>(Err(e));
                    ok = false;
                }
            }
        }
        if ok {
            self.set(column, SqlValue::TextArray(out));
        }
    }

    /// A JSON value (already validated by its type).
    pub fn json(&mut self, column: &'static str, field: &str, value: Patch<Value>) {
        match self.presence(field, value, false) {
            None => {}
            Some(v) => self.set(column, SqlValue::Json(v)),
        }
    }

    /// The columns, or a 422 naming every bad field: `validation` when a field is bad on
    /// its own (with the inconsistent ones too), else `inconsistent`.
    pub fn finish(mut self) -> Result<Columns> {
        if !self.v.is_ok() {
            for e in std::mem::take(&mut self.between) {
                self.v.push(e.field, e.message);
            }
            self.v.finish()?;
        }
        if !self.between.is_empty() {
            return Err(crate::error::Error::Inconsistent(self.between));
        }
        Ok(self.cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn required_fields_are_named_on_create_only() {
        let mut b = ColumnsBuilder::new(true);
        b.text("name", "name", None::<String>, true, 10);
        b.int("employees", "employees", Some(-1), false, 0, 10);
        let Err(Error::Validation(errors)) = b.finish() else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "employees"]);

        let mut b = ColumnsBuilder::new(false);
        b.text("name", "name", Patch::Absent, true, 10);
        assert!(b.finish().unwrap().is_empty());
    }

    #[test]
    fn null_clears_optional_fields_and_is_refused_for_required_ones() {
        let mut b = ColumnsBuilder::new(false);
        b.text("industry", "industry", Patch::Null, false, 10);
        assert_eq!(
            b.finish().unwrap(),
            vec![("industry", SqlValue::Text(None))]
        );
        let mut b = ColumnsBuilder::new(false);
        b.text("name", "name", Patch::Null, true, 10);
        assert!(b.finish().is_err());
    }

    #[test]
    fn lists_are_checked_item_by_item() {
        let mut b = ColumnsBuilder::new(true);
        b.text_list(
            "emails",
            "emails",
            Some(vec!["a@x.com".into(), "bad".into()]),
            5,
            validate::email,
        );
        let Err(Error::Validation(errors)) = b.finish() else {
            panic!()
        };
        assert_eq!(errors[0].field, "emails[1]");
    }
}
