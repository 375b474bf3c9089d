//! Lead conversion as a saga with services failing underneath it: every conversion ends
//! completed or compensated, nothing is left orphaned, and nothing is written twice.

use std::time::Duration;

use crm_core::Role;
use crm_leads::convert::saga::SagaSettings;
use crm_leads::convert::{ConvertRequest, Converter, OpportunityInput};
use serde_json::json;
use uuid::Uuid;

use crate::flaky::Fault;
use crate::saga::{open_lead, quick, resume_until, rows, sagas};
use crate::spawn_saga;

#[tokio::test]
async fn customers_down_mid_conversion_answers_pending_and_the_resumer_completes_it() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Pat Pending", "company_name": "Later Inc"}),
    )
    .await;
    let path = format!("/leads/{id}/convert");
    // Wholly down, the duplicate check already fails: 503 before any saga exists.
    app.customers.down();
    let r = rep.post(&path, &json!({})).await;
    assert_eq!((r.status.as_u16(), r.problem()), (503, "unavailable"));
    assert!(sagas(&app.pool, &id).await.is_empty());
    // Down from the company step on: the saga has started, and waits.
    app.customers.up();
    app.customers.fail("create_company", Fault::Unavailable);
    for _ in 0..2 {
        let r = rep.post(&path, &json!({})).await;
        assert_eq!(
            (r.status.as_u16(), r.problem()),
            (503, "conversion-pending"),
            "{}",
            r.body
        );
    }
    let r = rep.post(&path, &json!({"opportunity": {}})).await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "conversion-in-progress")
    );
    assert_eq!(
        sagas(&app.pool, &id).await,
        ["running"],
        "retries rejoin the one saga"
    );

    app.customers.up();
    resume_until(&app.converter.resumer(), &app.pool, &id, "completed").await;
    let lead = rep.get(&format!("/leads/{id}")).await.expect(200);
    assert_eq!(lead["status"], "converted");
    // The retry the caller was asked for gets the outcome, once; then it is a second convert.
    let r = rep.post(&path, &json!({})).await.expect(200);
    assert_eq!(r["company"]["id"], lead["converted_company_id"]);
    assert_eq!(r["lead"]["status"], "converted");
    let again = rep.post(&path, &json!({})).await;
    assert_eq!(
        (again.status.as_u16(), again.problem()),
        (409, "already-converted")
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 1)
    );
}

#[tokio::test]
async fn customers_down_past_the_deadline_is_compensated_without_orphans() {
    let settings = SagaSettings {
        deadline: Duration::from_secs(1),
        ..quick()
    };
    let app = spawn_saga(settings).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Dee Deadline", "company_name": "Gone Soon"}),
    )
    .await;
    let path = format!("/leads/{id}/convert");
    // The company is made, then customers go down before the contact.
    app.customers.fail("create_contact", Fault::Unavailable);
    let r = rep.post(&path, &json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (503, "conversion-pending")
    );
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (1, 1)
    );

    app.customers.down();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let resumer = app.converter.resumer();
    resumer.run_once().await.unwrap();
    assert_eq!(
        sagas(&app.pool, &id).await,
        ["compensating"],
        "cannot undo while down"
    );

    app.customers.up();
    resume_until(&resumer, &app.pool, &id, "compensated").await;
    // Nothing alive: the company deleted, and the contact whose creation was in doubt
    // learned (by replaying its key) and deleted too.
    assert_eq!(rows(&app.pool, &rep, "crm_customers.companies").await.1, 0);
    assert_eq!(rows(&app.pool, &rep, "crm_customers.contacts").await.1, 0);
    let lead = rep.get(&format!("/leads/{id}")).await.expect(200);
    assert_eq!(
        (lead["status"].as_str(), lead["version"].as_i64()),
        (Some("new"), Some(1))
    );
    // The waiting caller learns it failed; trying again then converts afresh.
    let r = rep.post(&path, &json!({})).await;
    assert_eq!((r.status.as_u16(), r.problem()), (503, "conversion-failed"));
    rep.post(&path, &json!({})).await.expect(200);
    assert_eq!(sagas(&app.pool, &id).await, ["compensated", "completed"]);
}

#[tokio::test]
async fn a_conversion_cut_off_mid_step_is_resumed_without_duplicates() {
    let settings = quick();
    let app = spawn_saga(settings.clone()).await;
    let rep = app.server.new_tenant(Role::Rep);
    let id = open_lead(
        &rep,
        json!({"name": "Cass Crash", "company_name": "Crash Co"}),
    )
    .await;
    // Sales hangs; the leads service "dies" while waiting on it, its claim still held.
    app.sales.fail("create_opportunity", Fault::Hang);
    let req = ConvertRequest {
        opportunity: Some(OpportunityInput::default()),
        ..ConvertRequest::default()
    };
    let lead_id = Uuid::parse_str(&id).unwrap();
    // Cut off once it waits on sales (the company and contact are made by then).
    let in_sales = async {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let step: Option<String> = sqlx::query_scalar(
                "SELECT step FROM crm_leads.conversion_sagas WHERE lead_id = $1 AND step_in_doubt",
            )
            .bind(lead_id)
            .fetch_optional(&app.pool)
            .await
            .unwrap();
            if step.as_deref() == Some("opportunity") {
                return;
            }
        }
    };
    tokio::select! {
        r = app.converter.convert(&rep.actor, lead_id, req, false) => panic!("not cut off: {r:?}"),
        _ = tokio::time::timeout(Duration::from_secs(20), in_sales) => {}
    }
    let (step, company): (String, Option<Uuid>) = sqlx::query_as(
        "SELECT step, company_id FROM crm_leads.conversion_sagas WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(step, "opportunity");

    let restarted = app.restarted(settings);
    resume_until(&restarted.resumer(), &app.pool, &id, "completed").await;
    let one: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM crm_customers.companies WHERE tenant_id = $1 AND name = 'Crash Co'),
                (SELECT count(*) FROM crm_customers.contacts WHERE tenant_id = $1),
                (SELECT count(*) FROM crm_sales.opportunities WHERE tenant_id = $1)",
    )
    .bind(rep.actor.tenant_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(one, (1, 1, 1), "each step wrote once");
    let lead = rep.get(&format!("/leads/{id}")).await.expect(200);
    assert_eq!(
        lead["converted_company_id"].as_str(),
        company.map(|c| c.to_string()).as_deref()
    );
    assert!(lead["converted_opportunity_id"].is_string());
    // The caller, retrying, gets the outcome (sales is not needed for that).
    let r = rep
        .post(&format!("/leads/{id}/convert"), &json!({"opportunity": {}}))
        .await
        .expect(200);
    assert_eq!(r["opportunity"]["id"], lead["converted_opportunity_id"]);
}

#[tokio::test]
async fn two_resumers_never_run_one_saga_twice() {
    let app = spawn_saga(quick()).await;
    let rep = app.server.new_tenant(Role::Rep);
    app.customers.fail("create_company", Fault::Unavailable);
    let mut leads = Vec::new();
    for i in 0..5 {
        let id = open_lead(
            &rep,
            json!({"name": format!("Lee {i}"), "company_name": format!("Twin {i}")}),
        )
        .await;
        let r = rep.post(&format!("/leads/{id}/convert"), &json!({})).await;
        assert_eq!(r.problem(), "conversion-pending");
        leads.push(id);
    }
    app.customers.up();
    // Due once their backoff (at most `backoff.max`) has passed.
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Two replicas of the leads service, side by side.
    let other = app.restarted(quick());
    let (a, b) = (app.converter.resumer(), other.resumer());
    let (x, y) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(x.unwrap() + y.unwrap(), 5, "each saga claimed once");
    for id in &leads {
        assert_eq!(sagas(&app.pool, id).await, ["completed"]);
    }
    assert_eq!(
        rows(&app.pool, &rep, "crm_customers.companies").await,
        (5, 5)
    );
}
