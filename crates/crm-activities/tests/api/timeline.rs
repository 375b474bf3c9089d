use chrono::{Duration, Utc};
use crm_activities::TimelineHandler;
use crm_core::outbox::{self, EventHandler};
use crm_core::{Actor, EventEnvelope, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{deliver, id, link, spawn};

fn envelope(actor: &Actor, object: &str, action: &str, record: Uuid, data: Value) -> EventEnvelope {
    EventEnvelope::new(actor, object, action, record, data)
}

fn summaries(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_event_adds_an_entry_on_its_record_and_on_each_linked_record() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (acme, ann) = (Uuid::now_v7(), Uuid::now_v7());
    let created = envelope(
        &rep.actor,
        "company",
        "created",
        acme,
        json!({"id": acme, "name": "Acme"}),
    );
    assert!(
        outbox::apply(&pool, &TimelineHandler, &created)
            .await
            .unwrap()
    );

    let activity = Uuid::now_v7();
    let data = json!({"id": activity, "kind": "task", "subject": "Call Ann",
                      "links": [{"type": "company", "id": acme}, {"type": "contact", "id": ann}]});
    let completed = envelope(&rep.actor, "activity", "completed", activity, data)
        .with_changes(json!({"status": {"from": "todo", "to": "done"}}));
    assert!(TimelineHandler.wants(&completed));
    outbox::apply(&pool, &TimelineHandler, &completed)
        .await
        .unwrap();

    let company = rep
        .get(&format!("/companies/{acme}/timeline"))
        .await
        .expect(200);
    assert_eq!(
        summaries(&company),
        ["Task \"Call Ann\" completed", "Company created"]
    );
    let entry = &company["data"][0];
    assert_eq!(
        (&entry["object"], &entry["object_id"]),
        (&json!("activity"), &json!(activity))
    );
    assert_eq!(entry["changes"]["status"]["to"], "done");
    assert_eq!(entry["actor_id"], json!(rep.actor.user_id));
    let contact = rep
        .get(&format!("/contacts/{ann}/timeline"))
        .await
        .expect(200);
    assert_eq!(summaries(&contact), ["Task \"Call Ann\" completed"]);

    let other_tenant = server.new_tenant(Role::Rep);
    assert_eq!(
        other_tenant
            .get(&format!("/companies/{acme}/timeline"))
            .await
            .expect(200)["data"],
        json!([])
    );
    let ignored = envelope(&rep.actor, "webhook", "created", Uuid::now_v7(), json!({}));
    assert!(!TimelineHandler.wants(&ignored));
}

#[tokio::test]
async fn applying_the_same_event_twice_adds_nothing() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = Uuid::now_v7();
    let e = envelope(
        &rep.actor,
        "opportunity",
        "stage_changed",
        opp,
        json!({"id": opp}),
    )
    .with_changes(json!({"stage": {"from": "proposal", "to": "negotiation"}}));
    assert!(outbox::apply(&pool, &TimelineHandler, &e).await.unwrap());
    assert!(!outbox::apply(&pool, &TimelineHandler, &e).await.unwrap());
    // Even past the processed-events record (a replay), the unique (record, event) holds.
    let mut tx = pool.begin().await.unwrap();
    TimelineHandler.handle(&mut tx, &e).await.unwrap();
    tx.commit().await.unwrap();
    let page = rep
        .get(&format!("/opportunities/{opp}/timeline"))
        .await
        .expect(200);
    assert_eq!(
        summaries(&page),
        ["Stage changed from proposal to negotiation"]
    );
}

#[tokio::test]
async fn a_converted_lead_leaves_an_entry_on_each_record_it_became() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (lead, company, contact, opp) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let data = json!({"id": lead, "name": "Jane Doe", "converted_company_id": company,
                      "converted_contact_id": contact, "converted_opportunity_id": opp});
    let e = envelope(&rep.actor, "lead", "converted", lead, data);
    outbox::apply(&pool, &TimelineHandler, &e).await.unwrap();
    let own = rep
        .get(&format!("/leads/{lead}/timeline"))
        .await
        .expect(200);
    assert_eq!(summaries(&own), ["Lead converted"]);
    for path in [
        format!("/companies/{company}"),
        format!("/contacts/{contact}"),
        format!("/opportunities/{opp}"),
    ] {
        let page = rep.get(&format!("{path}/timeline")).await.expect(200);
        assert_eq!(
            summaries(&page),
            ["Converted from lead \"Jane Doe\""],
            "{path}"
        );
        assert_eq!(page["data"][0]["object_id"], json!(lead));
    }
    // A conversion without an opportunity names only what it made.
    let lead2 = Uuid::now_v7();
    let e = envelope(
        &rep.actor,
        "lead",
        "converted",
        lead2,
        json!({"id": lead2, "name": "Max", "converted_company_id": company, "converted_opportunity_id": null}),
    );
    outbox::apply(&pool, &TimelineHandler, &e).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_activities.timeline_entries WHERE event_id = $1",
    )
    .bind(e.event_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn a_timeline_pages_newest_first_by_cursor() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let contact = Uuid::now_v7();
    let start = Utc::now() - Duration::hours(1);
    // Delivered out of order: the timeline orders by when things happened.
    for i in [3, 0, 4, 1, 2] {
        let mut e = envelope(
            &rep.actor,
            "contact",
            "updated",
            contact,
            json!({"id": contact}),
        )
        .with_changes(json!({"job_title": {"from": null, "to": format!("T{i}")}}));
        e.occurred_at = start + Duration::minutes(i);
        outbox::apply(&pool, &TimelineHandler, &e).await.unwrap();
    }
    let path = format!("/contacts/{contact}/timeline");
    let first = rep.get(&format!("{path}?limit=2")).await.expect(200);
    assert_eq!(
        summaries(&first),
        ["Job title set to T4", "Job title set to T3"]
    );
    let cursor = first["page"]["next_cursor"].as_str().unwrap();
    let second = rep
        .get(&format!("{path}?limit=2&starting_after={cursor}"))
        .await
        .expect(200);
    assert_eq!(
        summaries(&second),
        ["Job title set to T2", "Job title set to T1"]
    );
    let back = second["page"]["prev_cursor"].as_str().unwrap();
    let again = rep
        .get(&format!("{path}?limit=2&ending_before={back}"))
        .await
        .expect(200);
    assert_eq!(summaries(&again), summaries(&first));
    let cursor = second["page"]["next_cursor"].as_str().unwrap();
    let last = rep
        .get(&format!("{path}?limit=2&starting_after={cursor}"))
        .await
        .expect(200);
    assert_eq!(
        (summaries(&last), &last["page"]["has_more"]),
        (vec!["Job title set to T0".to_owned()], &json!(false))
    );
    let r = rep.get(&format!("{path}?order_by=occurred_at[asc]")).await;
    assert_eq!((r.status.as_u16(), r.problem()), (400, "malformed-request"));
    assert_eq!(rep.get(&format!("{path}?limit=500")).await.status, 400);
}

#[tokio::test]
async fn an_activitys_real_events_fill_the_timelines() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (lead, contact) = (Uuid::now_v7(), Uuid::now_v7());
    let task = rep
        .post(
            "/activities",
            &json!({"kind": "task", "subject": "Qualify", "links": [link("lead", lead)]}),
        )
        .await
        .expect(201);
    let path = format!("/activities/{}", id(&task));
    rep.patch(&path, 1, &json!({"status": "done"}))
        .await
        .expect(200);
    rep.patch(&path, 2, &json!({"links": [link("contact", contact)]}))
        .await
        .expect(200);
    deliver(&pool, &TimelineHandler).await;
    assert_eq!(
        deliver(&pool, &TimelineHandler).await,
        0,
        "a second delivery is a no-op"
    );

    let own = rep.get(&format!("{path}/timeline")).await.expect(200);
    assert_eq!(
        summaries(&own),
        ["Links changed", "Task completed", "Task created"],
        "the update that only marked it done is told by activity.completed"
    );
    let on_lead = rep
        .get(&format!("/leads/{lead}/timeline"))
        .await
        .expect(200);
    assert_eq!(
        summaries(&on_lead),
        [
            "Task \"Qualify\": links changed",
            "Task \"Qualify\" completed",
            "Task \"Qualify\" created"
        ],
        "the record a link was removed from is told so"
    );
    let on_contact = rep
        .get(&format!("/contacts/{contact}/timeline"))
        .await
        .expect(200);
    assert_eq!(summaries(&on_contact), ["Task \"Qualify\": links changed"]);
}
