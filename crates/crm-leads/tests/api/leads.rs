use crm_core::Role;
use serde_json::json;

use crate::{register_tenant, spawn, user};

#[tokio::test]
async fn a_new_lead_is_scored_and_starts_new_or_assigned() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let lead = rep
        .post("/leads", &json!({"name": "Ada Lovelace", "email": "ADA@engine.io", "title": "CTO", "source": "referral"}))
        .await
        .expect(201);
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["email"], "ada@engine.io");
    assert_eq!(lead["score"], 50);
    assert_eq!(lead["score_reasons"].as_array().unwrap().len(), 3);
    let owned = rep
        .post(
            "/leads",
            &json!({"name": "Bo", "owner_id": rep.actor.user_id}),
        )
        .await
        .expect(201);
    assert_eq!(owned["status"], "assigned");
}

#[tokio::test]
async fn bad_leads_name_their_fields_and_are_not_stored() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let r = rep.post("/leads", &json!({"email": "nope", "source": "tv", "estimated_value": {"amount_micros": 1, "currency": "euro"}})).await;
    assert_eq!(r.status, 422);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "email", "source", "estimated_value.currency"]
    );
    assert_eq!(rep.get("/leads?count=true").await.expect(200)["total"], 0);
}

#[tokio::test]
async fn leads_are_assigned_round_robin_among_active_reps() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    register_tenant(&app.pool, &admin).await;
    let r1 = user(&admin, "rep1", "rep").await;
    let r2 = user(&admin, "rep2", "rep").await;
    user(&admin, "boss", "manager").await;
    let mut owners = Vec::new();
    for i in 0..4 {
        let lead = admin
            .post("/leads", &json!({"name": format!("L{i}")}))
            .await
            .expect(201);
        let id = lead["id"].as_str().unwrap();
        let assigned = admin
            .post(&format!("/leads/{id}/assign"), &json!({}))
            .await
            .expect(200);
        assert_eq!(assigned["status"], "assigned");
        owners.push(assigned["owner_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(owners, [r1.clone(), r2.clone(), r1, r2]);
}

#[tokio::test]
async fn assignment_without_reps_is_a_conflict() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let lead = admin
        .post("/leads", &json!({"name": "L"}))
        .await
        .expect(201);
    let r = admin
        .post(
            &format!("/leads/{}/assign", lead["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "no-reps"));
}

#[tokio::test]
async fn the_status_machine_refuses_shortcuts_and_changes_nothing() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let lead = rep.post("/leads", &json!({"name": "M"})).await.expect(201);
    let id = lead["id"].as_str().unwrap();
    let r = rep.post(&format!("/leads/{id}/qualify"), &json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    let r = rep
        .patch(&format!("/leads/{id}"), 1, &json!({"status": "converted"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    let r = rep
        .patch(&format!("/leads/{id}"), 1, &json!({"status": "assigned"}))
        .await;
    assert_eq!(r.status, 422, "assigned needs an owner: {}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "owner_id");
    let unchanged = rep.get(&format!("/leads/{id}")).await.expect(200);
    assert_eq!(
        (unchanged["status"].as_str(), unchanged["version"].as_i64()),
        (Some("new"), Some(1))
    );

    rep.post(
        &format!("/leads/{id}/assign"),
        &json!({"owner_id": rep.actor.user_id}),
    )
    .await
    .expect(200);
    let working = rep
        .post(&format!("/leads/{id}/qualify"), &json!({}))
        .await
        .expect(200);
    assert_eq!(working["status"], "working");
    let r = rep
        .post(&format!("/leads/{id}/disqualify"), &json!({"reason": " "}))
        .await;
    assert_eq!(r.status, 422);
    let dq = rep
        .post(
            &format!("/leads/{id}/disqualify"),
            &json!({"reason": "no budget"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (dq["status"].as_str(), dq["disqualify_reason"].as_str()),
        (Some("disqualified"), Some("no budget"))
    );
    let r = rep.post(&format!("/leads/{id}/recycle"), &json!({})).await;
    assert_eq!(r.status, 409, "disqualified is closed");

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM crm_core.outbox WHERE payload->>'record_id' = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "lead.status_changed")
            .count(),
        3
    );
}

#[tokio::test]
async fn setting_an_owner_on_a_new_lead_assigns_it_and_rescoring_follows_edits() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let lead = rep
        .post("/leads", &json!({"name": "N", "source": "web"}))
        .await
        .expect(201);
    assert_eq!(lead["score"], 10);
    let id = lead["id"].as_str().unwrap();
    let after = rep
        .patch(
            &format!("/leads/{id}"),
            1,
            &json!({"owner_id": rep.actor.user_id, "phone": "+1 555 0100"}),
        )
        .await
        .expect(200);
    assert_eq!(after["status"], "assigned");
    assert_eq!(after["score"], 20);
}
