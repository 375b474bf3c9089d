use crm_core::Role;
use serde_json::json;

use crate::spawn;

#[tokio::test]
async fn merging_companies_fills_moves_contacts_and_retires_duplicates() {
    let (server, pool) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let keep = m
        .post("/companies", &json!({"name": "Acme"}))
        .await
        .expect(201);
    let dup = m
        .post(
            "/companies",
            &json!({"name": "ACME Inc", "domain": "acme.com", "industry": "Tools"}),
        )
        .await
        .expect(201);
    let found = m
        .post("/companies/duplicates", &json!({"name": "Acme Inc."}))
        .await
        .expect(200);
    assert!(
        found["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["record"]["id"] == dup["id"])
    );
    let contact = m
        .post(
            "/contacts",
            &json!({"first_name": "Eve", "company_id": dup["id"]}),
        )
        .await
        .expect(201);

    let merged = m
        .post(
            "/companies/merge",
            &json!({"primary_id": keep["id"], "duplicate_ids": [dup["id"]]}),
        )
        .await
        .expect(200);
    assert_eq!(
        merged["domain"], "acme.com",
        "empty fields are filled from the duplicate"
    );
    assert_eq!(merged["industry"], "Tools");
    let moved = m
        .get(&format!("/contacts/{}", contact["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(moved["company_id"], keep["id"]);
    let gone = m
        .get(&format!("/companies/{}", dup["id"].as_str().unwrap()))
        .await;
    assert_eq!(gone.status, 404);

    let events: Vec<String> = sqlx::query_scalar("SELECT event FROM crm_core.outbox ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(events.contains(&"company.merged".to_owned()));

    let r = m
        .post(
            "/companies/merge",
            &json!({"primary_id": keep["id"], "duplicate_ids": [keep["id"]]}),
        )
        .await;
    assert_eq!(r.status, 422);
    let rep = m.with_role(&server, Role::Rep);
    let r = rep
        .post(
            "/companies/merge",
            &json!({"primary_id": keep["id"], "duplicate_ids": [contact["id"]]}),
        )
        .await;
    assert_eq!(
        r.status, 403,
        "reps may not delete companies, so may not merge them"
    );
}
