use crm_core::Role;
use crm_testkit::server::Method;
use serde_json::{Value, json};

use crate::both;

async fn count(c: &crm_testkit::server::Client, what: &str) -> i64 {
    c.get(&format!("/{what}?count=true&limit=1"))
        .await
        .expect(200)["total"]
        .as_i64()
        .unwrap()
}

async fn open_lead(c: &crm_testkit::server::Client, body: Value) -> String {
    let lead = c.post("/leads", &body).await.expect(201);
    lead["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_empty_body_converts_using_the_leads_own_data() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
        let rep = app.server.new_tenant(Role::Rep);
        let id = open_lead(&rep, json!({"name": "Grace Brewster Hopper", "company_name": "Navy Labs", "email": "grace@navy.test", "title": "Rear Admiral"})).await;
        let note = rep
        .post("/activities", &json!({"kind": "note", "body": "met at the fair", "links": [{"type": "lead", "id": id}]}))
        .await
        .expect(201);
        let r = rep
            .post(&format!("/leads/{id}/convert"), &json!({}))
            .await
            .expect(200);
        assert_eq!(r["lead"]["status"], "converted");
        assert_eq!(r["company"]["name"], "Navy Labs");
        assert_eq!(
            (
                r["contact"]["first_name"].as_str(),
                r["contact"]["last_name"].as_str()
            ),
            (Some("Grace Brewster"), Some("Hopper"))
        );
        assert_eq!(r["contact"]["company_id"], r["company"]["id"]);
        assert_eq!(r["contact"]["emails"], json!(["grace@navy.test"]));
        assert!(r["opportunity"].is_null());
        assert_eq!(r["lead"]["converted_company_id"], r["company"]["id"]);
        let contact = r["contact"]["id"].as_str().unwrap();
        let linked = rep
            .get(&format!("/contacts/{contact}/activities"))
            .await
            .expect(200);
        assert_eq!(
            linked["data"][0]["id"], note["id"],
            "the lead's activities follow it"
        );
        let events: Vec<String> =
            sqlx::query_scalar("SELECT event FROM crm_core.outbox WHERE event = 'lead.converted'")
                .fetch_all(&app.pool)
                .await
                .unwrap();
        assert_eq!(events.len(), 1);
    }
}

#[tokio::test]
async fn an_opportunity_takes_the_estimated_value_and_points_back_to_the_lead() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
        let rep = app.server.new_tenant(Role::Rep);
        let id = open_lead(&rep, json!({"name": "Ken", "company_name": "Bell", "estimated_value": {"amount_micros": 5_000_000_000i64, "currency": "USD"}})).await;
        let r = rep
            .post(&format!("/leads/{id}/convert"), &json!({"opportunity": {}}))
            .await
            .expect(200);
        let o = &r["opportunity"];
        assert_eq!(
            o["amount"],
            json!({"amount_micros": 5_000_000_000i64, "currency": "USD"})
        );
        assert_eq!(o["original_lead_id"].as_str(), Some(id.as_str()));
        assert_eq!(
            (o["company_id"].clone(), o["primary_contact_id"].clone()),
            (r["company"]["id"].clone(), r["contact"]["id"].clone())
        );
        assert_eq!(o["stage_key"], "prospecting");
        assert_eq!(r["lead"]["converted_opportunity_id"], o["id"]);
    }
}

#[tokio::test]
async fn possible_duplicates_stop_the_conversion_until_skipped() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
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
        let body = json!({"company": {"data": {"name": "Duplicate Ltd", "domain": "other.test"}}});
        let r = rep.post(&format!("/leads/{id}/convert"), &body).await;
        assert_eq!((r.status.as_u16(), r.problem()), (409, "duplicates-found"));
        assert_eq!(
            r.body["candidates"]["companies"][0]["reasons"],
            json!(["similar_name"])
        );
        assert_eq!(count(&rep, "companies").await, 1, "nothing created");
        assert_eq!(
            rep.get(&format!("/leads/{id}")).await.expect(200)["status"],
            "new"
        );
        let ok = rep
            .send(
                Method::POST,
                &format!("/leads/{id}/convert"),
                Some(&body),
                &[("x-skip-duplicate-check", "true")],
            )
            .await
            .expect(200);
        assert_eq!(ok["company"]["domain"], "other.test");
    }
}

#[tokio::test]
async fn attaching_fills_only_empty_fields() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
        let rep = app.server.new_tenant(Role::Rep);
        let co = rep
            .post(
                "/companies",
                &json!({"name": "Keep Name", "industry": "Old"}),
            )
            .await
            .expect(201);
        let id = open_lead(&rep, json!({"name": "Al"})).await;
        let r = rep
        .post(
            &format!("/leads/{id}/convert"),
            &json!({"company": {"id": co["id"], "data": {"name": "New Name", "industry": "New", "domain": "keep.test"}}}),
        )
        .await
        .expect(200);
        assert_eq!(
            (
                r["company"]["name"].as_str(),
                r["company"]["industry"].as_str(),
                r["company"]["domain"].as_str()
            ),
            (Some("Keep Name"), Some("Old"), Some("keep.test"))
        );
    }
}

#[tokio::test]
async fn a_failing_step_rolls_everything_back() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
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
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("opportunity."),
            "{}",
            r.body
        );
        assert_eq!(
            (
                count(&rep, "companies").await,
                count(&rep, "contacts").await,
                count(&rep, "opportunities").await
            ),
            (0, 0, 0)
        );
        let lead = rep.get(&format!("/leads/{id}")).await.expect(200);
        assert_eq!(
            (lead["status"].as_str(), lead["version"].as_i64()),
            (Some("new"), Some(1))
        );
        let r = rep
            .post(
                &format!("/leads/{id}/convert"),
                &json!({"company": {"id": uuid::Uuid::new_v4()}}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["errors"][0]["field"].as_str()),
            (422, Some("company.id"))
        );
    }
}

#[tokio::test]
async fn converting_twice_conflicts_but_a_repeated_key_replays() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
        let rep = app.server.new_tenant(Role::Rep);
        let id = open_lead(&rep, json!({"name": "Once", "company_name": "Twice"})).await;
        let path = format!("/leads/{id}/convert");
        let first = rep
            .send(
                Method::POST,
                &path,
                Some(&json!({})),
                &[("idempotency-key", "conv-1")],
            )
            .await;
        let again = rep
            .send(
                Method::POST,
                &path,
                Some(&json!({})),
                &[("idempotency-key", "conv-1")],
            )
            .await;
        assert_eq!((first.status.as_u16(), again.status.as_u16()), (200, 200));
        assert_eq!(first.body, again.body);
        let r = rep.post(&path, &json!({})).await;
        assert_eq!((r.status.as_u16(), r.problem()), (409, "already-converted"));
        assert_eq!(count(&rep, "companies").await, 1);
    }
}

#[tokio::test]
async fn closed_leads_and_viewers_cannot_convert() {
    // The same behaviour from both builds: one transaction, and the saga.
    for app in both().await {
        let rep = app.server.new_tenant(Role::Rep);
        let id = open_lead(
            &rep,
            json!({"name": "Closed", "company_name": "C", "owner_id": rep.actor.user_id}),
        )
        .await;
        rep.post(
            &format!("/leads/{id}/disqualify"),
            &json!({"reason": "spam"}),
        )
        .await
        .expect(200);
        let r = rep.post(&format!("/leads/{id}/convert"), &json!({})).await;
        assert_eq!(
            (r.status.as_u16(), r.problem()),
            (409, "invalid-transition")
        );
        let viewer = rep.with_role(&app.server, Role::Viewer);
        let other = open_lead(&rep, json!({"name": "Open", "company_name": "C2"})).await;
        assert_eq!(
            viewer
                .post(&format!("/leads/{other}/convert"), &json!({}))
                .await
                .status,
            403
        );
    }
}
