//! Lead conversion as a saga: the same answers as the monolith's transaction, failures
//! compensated, checks before any write, one saga per lead. Outages: `saga_outages`.

use std::time::Duration;

use crm_core::{Backoff, Role};
use crm_leads::convert::saga::{Resumer, SagaSettings};
use crm_testkit::server::{Client, Method};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::flaky::Fault;
use crate::{spawn, spawn_saga};

/// Short enough for tests: a request waits 300 ms, a claim lasts 1 s.
pub(crate) fn quick() -> SagaSettings {
    SagaSettings {
        request_budget: Duration::from_millis(300),
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
        deadline: Duration::from_secs(30),
        lease: Duration::from_secs(1),
        poll: Duration::from_millis(50),
        batch: 16,
    }
}

pub(crate) async fn open_lead(c: &Client, body: Value) -> String {
    c.post("/leads", &body).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `(all rows, live rows)` of a customers/sales table in the client's tenant.
pub(crate) async fn rows(pool: &sqlx::PgPool, c: &Client, table: &str) -> (i64, i64) {
    sqlx::query_as(&format!(
        "SELECT count(*), count(*) FILTER (WHERE deleted_at IS NULL) FROM {table} WHERE tenant_id = $1"
    ))
    .bind(c.actor.tenant_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The states of the lead's sagas, oldest first.
pub(crate) async fn sagas(pool: &sqlx::PgPool, lead: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT state FROM crm_leads.conversion_sagas WHERE lead_id = $1 ORDER BY created_at",
    )
    .bind(Uuid::parse_str(lead).unwrap())
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Runs resumer passes until the lead's newest saga is in `state`.
pub(crate) async fn resume_until(resumer: &Resumer, pool: &sqlx::PgPool, lead: &str, state: &str) {
    for _ in 0..200 {
        resumer.run_once().await.expect("resumer pass");
        if sagas(pool, lead).await.last().map(String::as_str) == Some(state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("saga never became {state}: {:?}", sagas(pool, lead).await);
}

/// A response with ids and timestamps blanked, to compare two builds' answers.
fn shape(v: &Value) -> Value {
    match v {
        Value::String(s) if Uuid::parse_str(s).is_ok() => json!("<id>"),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("<time>"),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn a_saga_conversion_gives_what_the_local_one_gives() {
    let (local, saga) = (spawn().await, spawn_saga(quick()).await);
    let mut answers = Vec::new();
    for (server, pool) in [(&local.server, &local.pool), (&saga.server, &saga.pool)] {
        let rep = server.new_tenant(Role::Rep);
        let kept = rep
            .post(
                "/companies",
                &json!({"name": "Keep Name", "industry": "Old"}),
            )
            .await
            .expect(201);
        let id = open_lead(&rep, json!({"name": "Grace Hopper", "company_name": "Navy Labs", "email": "grace@navy.test", "title": "Admiral", "estimated_value": {"amount_micros": 5_000_000_000i64, "currency": "USD"}})).await;
        rep.post(
            "/activities",
            &json!({"kind": "note", "body": "met", "links": [{"type": "lead", "id": id}]}),
        )
        .await
        .expect(201);
        let created = rep
            .post(&format!("/leads/{id}/convert"), &json!({"opportunity": {}}))
            .await
            .expect(200);
        let contact = created["contact"]["id"].as_str().unwrap();
        let linked = rep
            .get(&format!("/contacts/{contact}/activities"))
            .await
            .expect(200);
        let event: Value = sqlx::query_scalar(
            "SELECT payload->'changes' FROM crm_core.outbox WHERE event = 'lead.converted' AND tenant_id = $1",
        )
        .bind(rep.actor.tenant_id)
        .fetch_one(pool)
        .await
        .unwrap();
        let other = open_lead(&rep, json!({"name": "Al Attached"})).await;
        let attached = rep
            .post(&format!("/leads/{other}/convert"), &json!({"company": {"id": kept["id"], "data": {"name": "New", "industry": "New", "domain": "keep.test"}}}))
            .await
            .expect(200);
        assert_eq!(event["company_id"], created["company"]["id"]);
        answers.push(shape(&json!([
            created,
            attached,
            linked["data"].as_array().unwrap().len(),
            event
        ])));
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn a_failing_opportunity_step_is_compensated() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Roll Back", "company_name": "Never Made"}),
    )
    .await;
    let r = rep
        .post(
            &format!("/leads/{id}/convert"),
            &json!({"opportunity": {"stage_key": "no_such_stage"}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"][0]["field"].as_str()),
        (422, Some("opportunity.stage_key")),
        "{}",
        r.body
    );
    // Created, then soft-deleted by the compensation (as the rep, who may not delete).
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 0)
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.contacts").await,
        (1, 0)
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_sales.opportunities").await,
        (0, 0)
    );
    let lead = rep.get(&format!("/leads/{id}")).await.expect(200);
    assert_eq!(
        (lead["status"].as_str(), lead["version"].as_i64()),
        (Some("new"), Some(1))
    );
    assert_eq!(sagas(&app.pool, &id).await, ["compensated"]);
}

#[tokio::test]
async fn a_refused_compensation_ends_failed_and_keeps_what_is_left() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Stuck", "company_name": "Left Behind"}),
    )
    .await;
    app.customers.fail("delete_company", Fault::Refused);
    let r = rep
        .post(
            &format!("/leads/{id}/convert"),
            &json!({"opportunity": {"stage_key": "no_such_stage"}}),
        )
        .await;
    // The caller still learns why the conversion failed.
    assert_eq!(r.body["errors"][0]["field"], "opportunity.stage_key");
    assert_eq!(sagas(&app.pool, &id).await, ["failed"]);
    let left: Option<Uuid> =
        sqlx::query_scalar("SELECT company_id FROM crm_leads.conversion_sagas WHERE lead_id = $1")
            .bind(Uuid::parse_str(&id).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(left.is_some(), "the row names the company left behind");
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 1)
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.contacts").await,
        (1, 0)
    );
}

#[tokio::test]
async fn concurrent_converts_of_one_lead_run_one_saga() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Con Current", "company_name": "Race Ltd"}),
    )
    .await;
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let (rep, path) = (rep.clone(), format!("/leads/{id}/convert"));
            tokio::spawn(async move { rep.post(&path, &json!({})).await })
        })
        .collect();
    let mut answers = Vec::new();
    for r in runs {
        let r = r.await.unwrap();
        answers.push((r.status.as_u16(), r.problem().to_owned()));
    }
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(s, p)| *s == 200
            || (*s == 409 && p == "already-converted")
            || (*s == 503 && p == "conversion-pending")),
        "{answers:?}"
    );
    assert_eq!(sagas(&app.pool, &id).await, ["completed"]);
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 1)
    );
}

#[tokio::test]
async fn duplicates_and_bad_data_are_refused_before_any_write() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    rep.post(
        "/companies",
        &json!({"name": "Duplicate Ltd", "domain": "dup.test"}),
    )
    .await
    .expect(201);
    let id = open_lead(
        &rep,
        json!({"name": "Dee", "company_name": "Duplicate Ltd"}),
    )
    .await;
    let path = format!("/leads/{id}/convert");
    let body = json!({"company": {"data": {"name": "Duplicate Ltd", "domain": "other.test"}}});
    let r = rep.post(&path, &body).await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "duplicates-found"));
    assert_eq!(
        r.body["candidates"]["companies"][0]["reasons"],
        json!(["similar_name"])
    );
    let bad = json!({"company": {"data": {"name": "Fresh", "domain": "not a domain"}}});
    let r = rep.post(&path, &bad).await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"][0]["field"].as_str()),
        (422, Some("company.data.domain")),
        "{}",
        r.body
    );
    assert!(
        sagas(&app.pool, &id).await.is_empty(),
        "no saga was started"
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 1)
    );
    let ok = rep
        .send(
            Method::POST,
            &path,
            Some(&body),
            &[("x-skip-duplicate-check", "true")],
        )
        .await
        .expect(200);
    assert_eq!(ok["company"]["domain"], "other.test");
}
