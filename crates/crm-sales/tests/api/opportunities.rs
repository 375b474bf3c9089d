use crm_core::Role;
use serde_json::json;

use crate::{fields, id, spawn, version};

#[tokio::test]
async fn an_opportunity_is_created_with_the_documented_shape_and_read_back() {
    let (server, _, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let company = rep
        .post("/companies", &json!({"name": "Acme"}))
        .await
        .expect(201);
    let contact = rep
        .post(
            "/contacts",
            &json!({"first_name": "Ann", "company_id": id(&company)}),
        )
        .await
        .expect(201);
    let created = rep
        .post(
            "/opportunities",
            &json!({
                "name": " Acme rollout ",
                "amount": {"amount_micros": 12_000_000_000i64, "currency": "eur"},
                "close_date": "2030-06-30",
                "stage_key": "proposal",
                "company_id": id(&company),
                "primary_contact_id": id(&contact),
                "original_lead_id": crm_core::new_id(),
            }),
        )
        .await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let location = created.header("location").unwrap().to_owned();
    let opp = created.expect(201);
    assert!(location.ends_with(&id(&opp)));
    let mut keys: Vec<&str> = opp
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "amount",
            "close_date",
            "closed_at",
            "company_id",
            "created_at",
            "created_by",
            "deleted_at",
            "forecast_category",
            "id",
            "loss_reason",
            "name",
            "original_lead_id",
            "owner_id",
            "pipeline_id",
            "primary_contact_id",
            "probability",
            "stage_id",
            "stage_key",
            "status",
            "tenant_id",
            "updated_at",
            "updated_by",
            "version",
        ]
    );
    assert_eq!(opp["name"], "Acme rollout");
    assert_eq!(
        opp["amount"],
        json!({"amount_micros": 12_000_000_000i64, "currency": "EUR"})
    );
    assert_eq!(opp["close_date"], "2030-06-30");
    assert_eq!(
        (opp["stage_key"].clone(), opp["probability"].clone()),
        (json!("proposal"), json!(50))
    );
    assert_eq!(opp["forecast_category"], "best_case");
    assert_eq!(opp["closed_at"], json!(null));
    let read = rep
        .get(&format!("/opportunities/{}", id(&opp)))
        .await
        .expect(200);
    assert_eq!(read, opp);
}

#[tokio::test]
async fn bad_input_names_every_field_and_writes_nothing() {
    let (server, _, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let r = rep
        .post(
            "/opportunities",
            &json!({"amount": {"amount_micros": 5, "currency": "EURO"}, "probability": 150, "stage_key": "nowhere"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        fields(&r),
        ["name", "amount.currency", "probability", "stage_key"]
    );
    let r = rep
        .post(
            "/opportunities",
            &json!({"name": "X", "close_date": "30/06/2030"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["close_date".to_owned()])
    );
    let r = rep
        .post(
            "/opportunities",
            &json!({"name": "X", "stage_key": "closed_lost"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["errors"][0],
        json!({"field": "loss_reason", "message": "is required when the stage is lost"})
    );
    let r = rep
        .post(
            "/opportunities",
            &json!({"name": "X", "pipeline_id": crm_core::new_id()}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["pipeline_id".to_owned()])
    );
    assert_eq!(
        rep.get("/opportunities?count=true").await.expect(200)["total"],
        0
    );
}

#[tokio::test]
async fn a_stage_of_another_pipeline_is_refused() {
    let (server, _, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let default = m
        .post("/opportunities", &json!({"name": "In default"}))
        .await
        .expect(201);
    let other = m
        .post("/pipelines", &json!({"name": "Other"}))
        .await
        .expect(201);
    let stages = m
        .get(&format!("/pipelines/{}/stages", id(&other)))
        .await
        .expect(200);
    let foreign_stage = stages["data"][1]["id"].clone();
    let r = m
        .post(
            "/opportunities",
            &json!({"name": "X", "stage_id": foreign_stage}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stage_id".to_owned()])
    );
    let r = m
        .post(
            "/opportunities",
            &json!({"name": "X", "pipeline_id": default["pipeline_id"], "stage_id": foreign_stage}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stage_id".to_owned()])
    );
    let path = format!("/opportunities/{}", id(&default));
    let r = m
        .patch(
            &path,
            version(&default),
            &json!({"stage_id": foreign_stage}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stage_id".to_owned()])
    );

    // Naming the pipeline too moves it there.
    let moved = m
        .patch(
            &path,
            version(&default),
            &json!({"pipeline_id": id(&other), "stage_id": foreign_stage}),
        )
        .await
        .expect(200);
    assert_eq!(
        (moved["pipeline_id"].clone(), moved["stage_key"].clone()),
        (other["id"].clone(), json!("qualification"))
    );
}

#[tokio::test]
async fn references_to_another_tenants_company_or_contact_are_refused() {
    let (server, _, _) = spawn().await;
    let mine = server.new_tenant(Role::Rep);
    let theirs = server.new_tenant(Role::Rep);
    let company = theirs
        .post("/companies", &json!({"name": "Theirs"}))
        .await
        .expect(201);
    let contact = theirs
        .post("/contacts", &json!({"first_name": "Bob"}))
        .await
        .expect(201);
    let r = mine
        .post(
            "/opportunities",
            &json!({"name": "X", "company_id": id(&company), "primary_contact_id": id(&contact)}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(fields(&r), ["company_id", "primary_contact_id"]);
    let opp = mine
        .post("/opportunities", &json!({"name": "Mine"}))
        .await
        .expect(201);
    let r = mine
        .patch(
            &format!("/opportunities/{}", id(&opp)),
            1,
            &json!({"company_id": id(&company)}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["company_id".to_owned()])
    );
    assert_eq!(
        mine.get("/opportunities?count=true").await.expect(200)["total"],
        1
    );
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_write_opportunities() {
    let (server, _, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post("/opportunities", &json!({"name": "Deal"}))
        .await
        .expect(201);
    let viewer = rep.with_role(&server, Role::Viewer);
    let r = viewer
        .post("/opportunities", &json!({"name": "Nope"}))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (403, "forbidden"));
    let path = format!("/opportunities/{}", id(&opp));
    assert_eq!(
        viewer
            .patch(&path, 1, &json!({"name": "Nope"}))
            .await
            .status,
        403
    );
    let r = crate::act(
        &viewer,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "proposal"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(viewer.delete(&path).await.status, 403);
    assert_eq!(viewer.get(&path).await.expect(200)["version"], 1);
    assert_eq!(
        viewer.get(&format!("{path}/stage-history")).await.status,
        200
    );
}

#[tokio::test]
async fn another_tenants_opportunity_is_not_found_and_untouched() {
    let (server, _, _) = spawn().await;
    let a = server.new_tenant(Role::Admin);
    let b = server.new_tenant(Role::Admin);
    let opp = a
        .post("/opportunities", &json!({"name": "Mine"}))
        .await
        .expect(201);
    let path = format!("/opportunities/{}", id(&opp));
    assert_eq!(b.get(&path).await.status, 404);
    assert_eq!(
        b.patch(&path, 1, &json!({"name": "Theirs"})).await.status,
        404
    );
    let r = crate::act(
        &b,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "proposal"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(b.get(&format!("{path}/stage-history")).await.status, 404);
    assert_eq!(b.delete(&path).await.status, 404);
    assert_eq!(
        b.get(&format!(
            "/pipelines/{}/stages",
            opp["pipeline_id"].as_str().unwrap()
        ))
        .await
        .status,
        404
    );
    assert_eq!(
        b.get("/opportunities?count=true").await.expect(200)["total"],
        0
    );
    assert_eq!(a.get(&path).await.expect(200)["version"], 1);
}

#[tokio::test]
async fn a_batch_creates_opportunities_item_by_item() {
    let (server, _, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let r = rep
        .post(
            "/opportunities/batch",
            &json!({"mode": "create", "items": [
                {"name": "One", "stage_key": "proposal"},
                {"name": "Two", "stage_key": "closed_lost"},
                {"name": "Three"}
            ]}),
        )
        .await
        .expect(200);
    let statuses: Vec<u64> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 422, 201]);
    assert_eq!(
        r["results"][1]["error"]["errors"][0]["field"],
        "loss_reason"
    );
    let r = rep
        .post(
            "/opportunities/batch",
            &json!({"mode": "create", "all_or_none": true, "items": [{"name": "Four"}, {"probability": 5}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(fields(&r), ["name"]);
    assert_eq!(
        rep.get("/opportunities?count=true").await.expect(200)["total"],
        2
    );
}
