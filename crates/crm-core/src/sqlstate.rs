//! The catalogue of database errors a request can provoke, by SQLSTATE, and the answer each
//! one gets. Input is checked at the edge (text PostgreSQL cannot store, numbers and dates
//! out of the columns' ranges, lengths the indexes cannot hold), so none of these should be
//! reached by a client; this is the net under those checks, so that a check forgotten
//! somewhere still answers 4xx and never 500.
//!
//! | SQLSTATE | condition | answer |
//! |---|---|---|
//! | 22021, 22P05 | text the database cannot store (NUL, bytes invalid in UTF-8) | 400 `malformed-request` |
//! | 22025, 22019, 2201B | a bad LIKE escape or regular expression (filter patterns) | 400 `malformed-request` |
//! | 22003 | a number out of the column's range | 422 `validation` |
//! | 22008, 22007 | a date or timestamp out of range or unreadable | 422 `validation` |
//! | 22001 | text longer than the column | 422 `validation` |
//! | 22P02, 22023, 22004, 22012, other 22xxx | any other data exception | 422 `validation` |
//! | 23505 | unique violation | 409 `duplicate` |
//! | 23503, 23514, 23502, other 23xxx | foreign key, check, not-null violation | 422 `validation` |
//! | 54000 | a value too large for an index row (a 10 kB indexed text) | 422 `validation` |
//! | 54001 | a statement too complex (nesting depth) | 400 `malformed-request` |
//! | 40001, 40P01 | serialization failure, deadlock | 409 (retry) |
//! | 57014 | statement timeout or cancel | 503 `unavailable` |
//! | 53xxx, 57P0x, 08xxx | out of resources, shutting down, connection lost | 503 `unavailable` |
//! | anything else | a bug | 500, logged with its cause |
//!
//! `field` names the value when the caller knows it (a record type, `filter`); the database
//! rarely says which column it was.

use crate::error::{Error, FieldError};

/// The answer to a database error with `code` and `message`, or `None` for a 500.
/// Constraint violations (23xxx) are mapped by [`crate::record::db_error`], which knows the
/// record type; here they get the generic answer.
pub fn answer(code: &str, message: &str, constraint: Option<&str>, field: &str) -> Option<Error> {
    let invalid = |msg: &str| Some(Error::Validation(vec![FieldError::new(field, msg)]));
    let bad = |msg: &str| Some(Error::bad_request(field, msg));
    match code {
        "22021" | "22P05" => bad("contains characters that cannot be stored (e.g. NUL)"),
        "22025" | "22019" => bad("a pattern must not end with an unescaped backslash"),
        "2201B" => bad("is not a valid pattern"),
        "22003" => invalid("a number is out of range"),
        "22008" | "22007" => invalid("a date or timestamp is out of range"),
        "22001" => invalid("a text is too long"),
        "23505" => Some(Error::conflict(
            "duplicate",
            format!(
                "a record with the same values already exists ({})",
                constraint.unwrap_or("a unique constraint")
            ),
        )),
        "54000" => invalid("a value is too large to be indexed; shorten it"),
        "54001" => bad("is too complex"),
        "40001" => Some(Error::conflict(
            "serialization-failure",
            "concurrent update; retry the request",
        )),
        "40P01" => Some(Error::conflict(
            "deadlock",
            "concurrent update; retry the request",
        )),
        "57014" => Some(Error::Unavailable(
            "the database cancelled the statement (timeout); retry shortly".into(),
        )),
        c if c.starts_with("22") => invalid(&format!("an invalid value: {message}")),
        c if c.starts_with("23") => Some(Error::Validation(vec![FieldError::new(
            constraint.unwrap_or(field),
            "violates a rule of this record",
        )])),
        c if c.starts_with("53") || c.starts_with("57P0") || c.starts_with("08") => Some(
            Error::Unavailable("the database is unavailable; retry shortly".into()),
        ),
        _ => None,
    }
}

/// [`answer`] for a `sqlx` database error.
pub fn answer_db(db: &dyn sqlx::error::DatabaseError, field: &str) -> Option<Error> {
    answer(db.code().as_deref()?, db.message(), db.constraint(), field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: &str) -> Option<u16> {
        answer(code, "m", Some("c"), "company").map(|e| e.status().as_u16())
    }

    #[test]
    fn every_class_of_the_catalogue_has_its_answer() {
        let table = [
            ("22021", 400),
            ("22P05", 400),
            ("22025", 400),
            ("22019", 400),
            ("2201B", 400),
            ("22003", 422),
            ("22008", 422),
            ("22007", 422),
            ("22001", 422),
            ("22P02", 422),
            ("22012", 422),
            ("23505", 409),
            ("23503", 422),
            ("23514", 422),
            ("23502", 422),
            ("54000", 422),
            ("54001", 400),
            ("40001", 409),
            ("40P01", 409),
            ("57014", 503),
            ("53300", 503),
            ("57P01", 503),
            ("08006", 503),
        ];
        for (code, expected) in table {
            assert_eq!(status(code), Some(expected), "{code}");
        }
    }

    #[test]
    fn client_errors_name_the_field_and_unknown_codes_stay_internal() {
        let Some(Error::BadRequest { errors, .. }) = answer("22021", "m", None, "filter") else {
            panic!("expected a bad request");
        };
        assert_eq!(errors[0].field, "filter");
        let Some(Error::Validation(errors)) = answer("23514", "m", Some("x_check"), "f") else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "x_check");
        assert!(answer("XX000", "internal", None, "f").is_none());
        assert!(answer("42P01", "no such table", None, "f").is_none());
    }
}
