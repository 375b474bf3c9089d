//! Bad input never answers 500 and never writes: text PostgreSQL cannot store, bodies that
//! are not exactly one JSON value, values out of the database's ranges (one check per class
//! of `crm_core::sqlstate`'s catalogue), webhook events nothing emits. Record counts are
//! compared before and after every run of bad requests.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::server::{Client, Method, Reply};

use super::{Check, Suite, check, count, fields, problem, status};

mod db_errors;
use db_errors::every_database_error_class_a_request_can_reach_answers_a_client_error;

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(text_postgresql_cannot_store_is_refused_naming_the_field),
    check!(a_body_is_exactly_one_json_value),
    check!(every_database_error_class_a_request_can_reach_answers_a_client_error),
    check!(webhooks_subscribe_only_to_events_the_system_emits),
];

/// Live records of every collection a bad request might have written to.
async fn counts(c: &Client) -> anyhow::Result<Vec<i64>> {
    let mut v = Vec::new();
    for col in [
        "companies",
        "contacts",
        "leads",
        "opportunities",
        "activities",
        "webhooks",
    ] {
        v.push(
            count(c, col)
                .await
                .with_context(|| format!("count {col}"))?,
        );
    }
    Ok(v)
}

/// A 4xx problem+json of `code` whose errors name `field`.
fn names(r: &Reply, status_code: u16, code: &str, field: &str) -> anyhow::Result<()> {
    problem(r, status_code, code)?;
    ensure!(
        fields(r).iter().any(|f| f == field),
        "expected {field} named, got {:?}: {}",
        fields(r),
        r.body
    );
    Ok(())
}

fn raw(body: &str) -> Vec<u8> {
    body.as_bytes().to_vec()
}

async fn text_postgresql_cannot_store_is_refused_naming_the_field(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = status(c.post("/companies", &json!({"name": "Nul Ltd"})).await, 201)?;
    let before = counts(&c).await?;
    let nul_bodies = [
        ("/companies", r#"{"name": "A\u0000B"}"#, "name"),
        (
            "/companies",
            r#"{"name": "A", "address": {"city": "x\u0000"}}"#,
            "address.city",
        ),
        (
            "/contacts",
            r#"{"first_name": "Ann", "emails": ["a\u0000@x.com"]}"#,
            "emails[0]",
        ),
        (
            "/leads",
            r#"{"name": "L", "description": "\u0000"}"#,
            "description",
        ),
        (
            "/companies/batch",
            r#"{"mode": "create", "items": [{"name": "ok"}, {"name": "\u0000"}]}"#,
            "items[1].name",
        ),
        (
            "/webhooks",
            r#"{"url": "https://example.com/\u0000", "events": ["*"]}"#,
            "url",
        ),
    ];
    for (path, body, field) in nul_bodies {
        let r = c
            .send_raw(Method::POST, path, "application/json", raw(body))
            .await;
        names(&r, 400, "malformed-request", field).with_context(|| format!("POST {path}"))?;
    }
    let r = c
        .send_raw(
            Method::PATCH,
            &format!("/companies/{}", co["id"].as_str().unwrap_or_default()),
            "application/json",
            raw(r#"{"industry": "soft\u0000ware"}"#),
        )
        .await;
    // PATCH needs If-Match; the body is judged first or the precondition: either way no 500.
    ensure!(
        matches!(r.status.as_u16(), 400 | 428),
        "PATCH with a NUL: {}",
        r.status
    );
    let queries = [
        ("/companies?filter=name%5Beq%5D%3A%22a%00b%22", "filter"),
        (
            "/companies?filter=name%5Bilike%5D%3A%22%25%00%25%22",
            "filter",
        ),
        (
            "/contacts?filter=email%5Bstarts_with%5D%3A%22%00%22",
            "filter",
        ),
        ("/search?q=acme%00", "q"),
        ("/companies?starting_after=%00", "starting_after"),
        ("/analytics/forecast?period=%00", "period"),
    ];
    for (path, field) in queries {
        names(&c.get(path).await, 400, "malformed-request", field)
            .with_context(|| format!("GET {path}"))?;
    }
    // A cursor is opaque but forgeable: a NUL inside its JSON must not reach the database.
    let forged = base64_url(&json!({"o": "name:a,id:a", "v": ["\u{0}", co["id"]]}));
    let r = c
        .get(&format!(
            "/companies?order_by=name%5Basc%5D&starting_after={forged}"
        ))
        .await;
    names(&r, 400, "malformed-request", "starting_after").context("forged cursor")?;
    // Anonymous routes too: the log-in e-mail is read before anyone is known.
    let r = c
        .anonymous()
        .send_raw(
            Method::POST,
            "/auth/login",
            "application/json",
            raw(r#"{"email": "a\u0000@x.com", "password": "whatever password"}"#),
        )
        .await;
    names(&r, 400, "malformed-request", "email").context("log-in e-mail")?;
    ensure!(counts(&c).await? == before, "nothing was written");
    Ok(())
}

fn base64_url(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn a_body_is_exactly_one_json_value(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let before = counts(&c).await?;
    for body in [
        r#"{"name": "Trailing Ltd"} garbage"#,
        r#"{"name": "Two Ltd"}{"name": "Values Ltd"}"#,
        r#"{"name": "Comma Ltd"},"#,
        r#"{"name": "Bracket Ltd"}]"#,
    ] {
        let r = c
            .send_raw(Method::POST, "/companies", "application/json", raw(body))
            .await;
        names(&r, 400, "malformed-request", "body").with_context(|| body.to_owned())?;
    }
    let r = c
        .send_raw(
            Method::POST,
            "/leads/batch",
            "application/json",
            raw(r#"{"mode": "create", "items": [{"name": "L"}]} {}"#),
        )
        .await;
    names(&r, 400, "malformed-request", "body").context("batch")?;
    let r = c
        .anonymous()
        .send_raw(
            Method::POST,
            "/auth/login",
            "application/json",
            raw(r#"{"email": "a@x.com", "password": "pw pw pw pw"} x"#),
        )
        .await;
    names(&r, 400, "malformed-request", "body").context("log-in")?;
    ensure!(counts(&c).await? == before, "nothing was written");
    // Whitespace around the one value is fine.
    status(
        c.send_raw(
            Method::POST,
            "/companies",
            "application/json",
            raw("\n {\"name\": \"Spaced Ltd\"} \r\n\t"),
        )
        .await,
        201,
    )?;
    Ok(())
}

async fn webhooks_subscribe_only_to_events_the_system_emits(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let before = counts(&c).await?;
    for (events, field) in [
        (json!(["deal.created"]), "events[0]"),
        (json!(["company.created", "company.exploded"]), "events[1]"),
        (json!(["invoice.*"]), "events[0]"),
    ] {
        let r = c
            .post(
                "/webhooks",
                &json!({"url": "https://hooks.example.com/x", "events": events}),
            )
            .await;
        names(&r, 422, "validation", field).with_context(|| events.to_string())?;
    }
    ensure!(counts(&c).await? == before, "nothing was written");
    status(
        c.post(
            "/webhooks",
            &json!({"url": "https://hooks.example.com/x", "events": ["company.created", "opportunity.*", "lead.converted", "*"]}),
        )
        .await,
        201,
    )?;
    // The document lists exactly what may be subscribed to.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.root))
        .await?
        .json()
        .await?;
    let listed = doc["components"]["schemas"]["EventPattern"]["enum"]
        .as_array()
        .context("the EventPattern enum in the document")?;
    for e in [
        "lead.converted",
        "opportunity.stage_changed",
        "company.*",
        "*",
    ] {
        ensure!(listed.iter().any(|x| x == e), "{e} listed");
    }
    ensure!(
        !listed.iter().any(|x| x == "deal.created"),
        "only emitted events"
    );
    Ok(())
}
