//! Every class of database error a request can reach (`crm_core::sqlstate`'s catalogue)
//! answers a client error and writes nothing.

use anyhow::ensure;
use serde_json::{Value, json};

use super::counts;
use crate::contract::{Suite, fields, problem, status};

/// One request per class of `crm_core::sqlstate`'s catalogue that a client could reach;
/// each must be refused before the database, or mapped on the way back: a 4xx, never 500.
pub(super) async fn every_database_error_class_a_request_can_reach_answers_a_client_error(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let before = counts(&c).await?;
    let long = "x".repeat(10_000);
    let posts: Vec<(&str, &str, Value, u16, &str)> = vec![
        // 22003 numeric_value_out_of_range
        (
            "22003",
            "/companies",
            json!({"name": "N", "employees": 99_999_999_999_i64}),
            422,
            "employees",
        ),
        (
            "22003",
            "/companies",
            json!({"name": "N", "employees": 1e30}),
            422,
            "employees",
        ),
        (
            "22003",
            "/opportunities",
            json!({"name": "O", "amount": {"amount_micros": 9_000_000_000_000_000_000_i64, "currency": "EUR"}}),
            422,
            "amount.amount_micros",
        ),
        (
            "22003",
            "/activities",
            json!({"kind": "call", "subject": "c", "duration_seconds": 3_000_000_000_i64, "links": []}),
            422,
            "duration_seconds",
        ),
        // 22008 datetime_field_overflow
        (
            "22008",
            "/opportunities",
            json!({"name": "O", "close_date": "+300000-01-01"}),
            422,
            "close_date",
        ),
        (
            "22008",
            "/opportunities",
            json!({"name": "O", "close_date": "0000-12-31"}),
            422,
            "close_date",
        ),
        (
            "22008",
            "/activities",
            json!({"kind": "task", "subject": "t", "due_at": "+300000-01-01T00:00:00Z", "links": []}),
            422,
            "due_at",
        ),
        // 54000 program_limit_exceeded (index rows) and 22001 (lengths)
        ("54000", "/companies", json!({"name": long}), 422, "name"),
        (
            "54000",
            "/contacts",
            json!({"first_name": "A", "emails": [format!("{long}@x.com")]}),
            422,
            "emails[0]",
        ),
        (
            "54000",
            "/leads",
            json!({"name": "L", "email": format!("a@{long}.com")}),
            422,
            "email",
        ),
        (
            "54000",
            "/webhooks",
            json!({"url": format!("https://example.com/{long}"), "events": ["*"]}),
            422,
            "url",
        ),
    ];
    for (class, path, body, code, field) in posts {
        let r = c.post(path, &body).await;
        ensure!(
            r.status.as_u16() == code && fields(&r).iter().any(|f| f == field),
            "{class} via POST {path}: expected {code} naming {field}, got {} {}",
            r.status.as_u16(),
            r.body
        );
    }
    let gets: Vec<(&str, String, &str)> = vec![
        // 22025 invalid_escape_sequence: a LIKE pattern ending in a backslash
        (
            "22025",
            "/companies?filter=name%5Bilike%5D%3A%22abc%5C%5C%22".into(),
            "filter",
        ),
        // 22008 in filters and analytics
        (
            "22008",
            "/companies?filter=created_at%5Bgt%5D%3A%22300000-01-01%22".into(),
            "filter",
        ),
        (
            "22008",
            "/opportunities?filter=close_date%5Blt%5D%3A%22-5000-01-01%22".into(),
            "filter",
        ),
        (
            "22008",
            "/analytics/win-rate?from=300000-01-01".into(),
            "from",
        ),
        // 22003 in filters
        (
            "22003",
            "/companies?filter=employees%5Bgt%5D%3A99999999999999999999".into(),
            "filter",
        ),
        // 22P02 invalid_text_representation
        (
            "22P02",
            "/companies?filter=owner_id%5Beq%5D%3A%22nope%22".into(),
            "filter",
        ),
        // 54001 statement_too_complex: nesting
        (
            "54001",
            format!(
                "/companies?filter={}",
                "not(".repeat(12) + "name[eq]:\"a\"" + &")".repeat(12)
            ),
            "filter",
        ),
    ];
    for (class, path, field) in gets {
        let r = c.get(&path).await;
        ensure!(
            r.status.as_u16() == 400 && fields(&r).iter().any(|f| f == field),
            "{class} via GET {path}: expected 400 naming {field}, got {} {}",
            r.status.as_u16(),
            r.body
        );
    }
    // 23505 unique_violation: a conflict, not a 500.
    status(
        c.post(
            "/companies",
            &json!({"name": "U", "domain": "unique-class.io"}),
        )
        .await,
        201,
    )?;
    problem(
        &c.post(
            "/companies",
            &json!({"name": "U2", "domain": "unique-class.io"}),
        )
        .await,
        409,
        "duplicate",
    )?;
    let mut after = before.clone();
    after[0] += 1;
    ensure!(
        counts(&c).await? == after,
        "only the one valid company was written"
    );
    Ok(())
}
