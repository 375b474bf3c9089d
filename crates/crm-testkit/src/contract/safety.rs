//! Bad input changes nothing; idempotency keys; batches; limits; ops endpoints.

use anyhow::{Context, ensure};
use serde_json::json;

use crate::server::Method;

use super::{Check, Suite, check, count, problem, status};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(malformed_bodies_are_refused_and_nothing_is_written),
    check!(an_idempotency_key_replays_and_refuses_another_body),
    check!(batches_report_per_item_and_all_or_none_writes_nothing),
    check!(unknown_routes_and_methods_answer_problems),
    check!(ops_endpoints_and_the_openapi_document_are_served),
];

async fn malformed_bodies_are_refused_and_nothing_is_written(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let before = count(&c, "companies").await?;
    problem(
        &c.send_raw(
            Method::POST,
            "/companies",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await,
        400,
        "malformed-request",
    )?;
    problem(
        &c.send_raw(Method::POST, "/companies", "text/plain", b"name=x".to_vec())
            .await,
        415,
        "unsupported-media-type",
    )?;
    let r = c
        .post("/companies", &json!({"name": "X", "employees": "many"}))
        .await;
    problem(&r, 422, "validation")?;
    ensure!(
        super::fields(&r) == ["employees"],
        "wrong type named: {:?}",
        super::fields(&r)
    );
    let r = c
        .post("/companies", &json!({"name": "X", "shoe_size": 44}))
        .await;
    problem(&r, 422, "validation")?;
    let r = c
        .post(
            "/companies",
            &json!({"name": "X", "tenant_id": uuid::Uuid::new_v4()}),
        )
        .await;
    problem(&r, 422, "validation").context("tenant_id never comes from the body")?;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1_100_000));
    problem(
        &c.send_raw(
            Method::POST,
            "/companies",
            "application/json",
            big.into_bytes(),
        )
        .await,
        413,
        "payload-too-large",
    )?;
    let r = c
        .post(
            "/companies",
            &json!({"name": "", "domain": "no", "employees": -5}),
        )
        .await;
    problem(&r, 422, "validation")?;
    ensure!(
        super::fields(&r) == ["name", "domain", "employees"],
        "every bad field named: {:?}",
        super::fields(&r)
    );
    ensure!(count(&c, "companies").await? == before, "nothing written");
    Ok(())
}

async fn an_idempotency_key_replays_and_refuses_another_body(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"name": "Once Only"});
    let first = c
        .send(
            Method::POST,
            "/companies",
            Some(&body),
            &[("idempotency-key", &key)],
        )
        .await;
    let replay = c
        .send(
            Method::POST,
            "/companies",
            Some(&body),
            &[("idempotency-key", &key)],
        )
        .await;
    ensure!(first.status == 201 && replay.status == 201, "both 201");
    ensure!(
        replay.header("idempotent-replayed") == Some("true"),
        "replay marked"
    );
    ensure!(
        first.body == replay.body && first.header("location") == replay.header("location"),
        "same response"
    );
    ensure!(count(&c, "companies").await? == 1, "one record");
    let r = c
        .send(
            Method::POST,
            "/companies",
            Some(&json!({"name": "Other"})),
            &[("idempotency-key", &key)],
        )
        .await;
    problem(&r, 422, "idempotency-key-reused")?;
    let other_tenant = s.signup().await?.admin;
    let r = other_tenant
        .send(
            Method::POST,
            "/companies",
            Some(&body),
            &[("idempotency-key", &key)],
        )
        .await;
    ensure!(
        r.status == 201 && r.header("idempotent-replayed").is_none(),
        "keys are per tenant"
    );
    ensure!(count(&c, "companies").await? == 1, "still one record");
    Ok(())
}

async fn batches_report_per_item_and_all_or_none_writes_nothing(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    status(
        c.post(
            "/companies",
            &json!({"name": "Taken", "domain": "taken.io"}),
        )
        .await,
        201,
    )?;
    let r = status(
        c.post("/companies/batch", &json!({"mode": "create", "items": [{"name": "B1"}, {"name": "B2", "domain": "taken.io"}, {"employees": 3}]})).await,
        200,
    )?;
    let statuses: Vec<u64> = r["results"]
        .as_array()
        .context("results")?
        .iter()
        .filter_map(|x| x["status"].as_u64())
        .collect();
    ensure!(
        statuses == [201, 409, 422],
        "per-item statuses: {statuses:?}"
    );
    let before = count(&c, "companies").await?;
    let r = c
        .post("/companies/batch", &json!({"mode": "create", "all_or_none": true, "items": [{"name": "C1"}, {"name": "C2", "domain": "taken.io"}]}))
        .await;
    problem(&r, 422, "batch-rejected")?;
    ensure!(
        count(&c, "companies").await? == before,
        "all or none wrote nothing"
    );
    let items: Vec<_> = (0..101).map(|i| json!({"name": format!("N{i}")})).collect();
    problem(
        &c.post(
            "/companies/batch",
            &json!({"mode": "create", "items": items}),
        )
        .await,
        422,
        "validation",
    )?;
    let up = status(
        c.post(
            "/companies/batch",
            &json!({"mode": "upsert", "items": [{"name": "Taken Renamed", "domain": "taken.io"}]}),
        )
        .await,
        200,
    )?;
    ensure!(
        up["results"][0]["action"] == "updated",
        "upsert by domain: {up}"
    );
    Ok(())
}

async fn unknown_routes_and_methods_answer_problems(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    problem(&c.get("/no-such-thing").await, 404, "not-found")?;
    problem(
        &c.send(Method::PUT, "/companies", None, &[]).await,
        405,
        "method-not-allowed",
    )?;
    problem(
        &c.get("/companies/not-a-uuid").await,
        400,
        "malformed-request",
    )?;
    problem(
        &c.get(&format!("/companies/{}", uuid::Uuid::new_v4())).await,
        404,
        "not-found",
    )?;
    Ok(())
}

async fn ops_endpoints_and_the_openapi_document_are_served(s: &Suite) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = http.get(format!("{}{path}", s.root)).send().await?;
        ensure!(r.status() == 200, "{path}: {}", r.status());
    }
    let metrics = http
        .get(format!("{}/metrics", s.root))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        metrics.contains("crm_http_requests_total"),
        "request counters exported"
    );
    let doc: serde_json::Value = http
        .get(format!("{}/api/v1/openapi.json", s.root))
        .send()
        .await?
        .json()
        .await?;
    ensure!(doc["openapi"] == "3.1.0", "OpenAPI 3.1");
    for path in [
        "/api/v1/companies",
        "/api/v1/companies/{id}",
        "/api/v1/auth/login",
        "/api/v1/contacts/merge",
    ] {
        ensure!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    ensure!(
        doc["components"]["schemas"].get("Problem").is_some(),
        "problem schema"
    );
    Ok(())
}
