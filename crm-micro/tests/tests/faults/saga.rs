//! A conversion saga under a killed customers service: every conversion ends completed or
//! compensated, never half done.

use std::time::Duration;

use crm_micro_tests::Cluster;
use serde_json::json;

use super::{Api, bin, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversions_end_completed_or_compensated_when_customers_is_killed_midway() {
    let mut c = Cluster::start(bin()).await.unwrap();
    let api = Api::signup(&c).await;
    let mut leads = Vec::new();
    for i in 0..24 {
        let (s, l) = api
            .post(
                "/leads",
                json!({"name": format!("Saga Person {i}"), "company_name": format!("Saga Co {i}")}),
            )
            .await;
        assert_eq!(s, 201);
        leads.push(l["id"].as_str().unwrap().to_owned());
    }
    let mut tasks = Vec::new();
    for id in &leads {
        let (http, base, token, id) = (
            api.http.clone(),
            api.base.clone(),
            api.token.clone(),
            id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/leads/{id}/convert"))
                .bearer_auth(token)
                .header("x-skip-duplicate-check", "true")
                .json(&json!({"opportunity": {}}))
                .send()
                .await;
            r.map(|r| r.status().as_u16()).unwrap_or(0)
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.kill("customers");
    let statuses: Vec<u16> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    eprintln!("answers while customers died: {statuses:?}");
    c.restart("customers").await.unwrap();

    let leads_db = sqlx::PgPool::connect(&c.database("leads")).await.unwrap();
    eventually("every saga ended", 90, || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM crm_leads.conversion_sagas WHERE state NOT IN ('completed', 'compensated', 'failed')",
        )
        .fetch_one(&leads_db)
        .await
        .unwrap();
        open == 0
    })
    .await;
    let (sagas, failed): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE state = 'failed') FROM crm_leads.conversion_sagas",
    )
    .fetch_one(&leads_db)
    .await
    .unwrap();
    assert_eq!(failed, 0, "no saga left records it could not compensate");
    assert!(sagas > 0);

    // No orphans: every live company, contact and opportunity made for these leads belongs to
    // a converted lead, and every converted lead's records are live.
    let converted: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id::text, converted_company_id::text, converted_contact_id::text, converted_opportunity_id::text
         FROM crm_leads.leads WHERE status = 'converted'",
    )
    .fetch_all(&leads_db)
    .await
    .unwrap();
    let customers_db = sqlx::PgPool::connect(&c.database("customers"))
        .await
        .unwrap();
    let sales_db = sqlx::PgPool::connect(&c.database("sales")).await.unwrap();
    let live_companies: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM crm_customers.companies WHERE deleted_at IS NULL AND name LIKE 'Saga Co %'",
    )
    .fetch_all(&customers_db)
    .await
    .unwrap();
    let live_contacts: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM crm_customers.contacts WHERE deleted_at IS NULL")
            .fetch_all(&customers_db)
            .await
            .unwrap();
    let live_opps: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM crm_sales.opportunities WHERE deleted_at IS NULL")
            .fetch_all(&sales_db)
            .await
            .unwrap();
    for (lead, company, contact, opp) in &converted {
        assert!(
            live_companies.contains(company),
            "lead {lead}: company live"
        );
        assert!(live_contacts.contains(contact), "lead {lead}: contact live");
        assert!(live_opps.contains(opp), "lead {lead}: opportunity live");
    }
    assert_eq!(live_companies.len(), converted.len(), "no orphan company");
    assert_eq!(live_contacts.len(), converted.len(), "no orphan contact");
    assert_eq!(live_opps.len(), converted.len(), "no orphan opportunity");
    let not_converted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_leads.leads WHERE status <> 'converted'")
            .fetch_one(&leads_db)
            .await
            .unwrap();
    assert_eq!(not_converted as usize + converted.len(), leads.len());
    eprintln!(
        "{} converted, {not_converted} left open (compensated or never started), {sagas} sagas",
        converted.len()
    );
}
