use crm_core::Role;
use serde_json::json;

use crate::spawn;

#[tokio::test]
async fn a_contact_links_only_to_a_company_of_its_tenant() {
    let (server, _) = spawn().await;
    let a = server.new_tenant(Role::Rep);
    let b = server.new_tenant(Role::Rep);
    let theirs = b
        .post("/companies", &json!({"name": "Theirs"}))
        .await
        .expect(201);
    let r = a
        .post(
            "/contacts",
            &json!({"first_name": "Ann", "company_id": theirs["id"]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "company_id");
    let mine = a
        .post("/companies", &json!({"name": "Mine"}))
        .await
        .expect(201);
    let c = a
        .post("/contacts", &json!({"first_name": "Ann", "emails": ["Ann@Example.COM", "ann@example.com", "a2@x.org"], "company_id": mine["id"]}))
        .await
        .expect(201);
    assert_eq!(c["emails"], json!(["ann@example.com", "a2@x.org"]));
    assert_eq!(c["primary_email"], "ann@example.com");
}

#[tokio::test]
async fn duplicates_are_found_by_email_and_name() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    rep.post(
        "/contacts",
        &json!({"first_name": "Bob", "last_name": "Stone", "emails": ["bob@stone.io"]}),
    )
    .await
    .expect(201);
    let r = rep
        .post(
            "/contacts/duplicates",
            &json!({"first_name": "Robert", "emails": ["BOB@stone.io"]}),
        )
        .await
        .expect(200);
    assert_eq!(r["data"][0]["reasons"], json!(["same_email"]));
    let r = rep
        .post(
            "/contacts/duplicates",
            &json!({"first_name": "bob", "last_name": "STONE"}),
        )
        .await
        .expect(200);
    assert_eq!(r["data"][0]["reasons"], json!(["same_name"]));
    let r = rep
        .post(
            "/contacts",
            &json!({"first_name": "Bobby", "emails": ["bob@stone.io"]}),
        )
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn batch_upsert_matches_by_email() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    rep.post(
        "/contacts",
        &json!({"first_name": "Cy", "emails": ["cy@x.io"]}),
    )
    .await
    .expect(201);
    let r = rep
        .post(
            "/contacts/batch",
            &json!({"mode": "upsert", "items": [{"first_name": "Cy", "emails": ["cy@x.io"], "job_title": "CTO"}, {"first_name": "Di", "emails": ["di@x.io"]}]}),
        )
        .await
        .expect(200);
    let actions: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["updated", "created"]);
    assert_eq!(r["results"][0]["data"]["job_title"], "CTO");
}
