use std::sync::Arc;

use crm_activities::{
    Activities, ActivitiesApi, ActivitiesEvents, RecordType, TimelineHandler, links,
};
use crm_core::outbox::{self, EventHandler};
use crm_core::{Actor, EventEnvelope, Role};
use serde_json::json;
use uuid::Uuid;

use crate::{deliver, id, link, outbox_events, spawn};

#[tokio::test]
async fn relinking_a_leads_activities_keeps_the_lead_and_adds_the_new_records() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (lead, company, contact) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let call = rep
        .post(
            "/activities",
            &json!({"kind": "call", "subject": "First call", "links": [link("lead", lead)]}),
        )
        .await
        .expect(201);
    let note = rep
        .post("/activities", &json!({"kind": "note", "body": "b", "links": [link("lead", lead), link("company", company)]}))
        .await
        .expect(201);
    rep.post(
        "/activities",
        &json!({"kind": "note", "body": "unrelated", "links": [link("lead", Uuid::now_v7())]}),
    )
    .await
    .expect(201);

    // In-process, inside the caller's transaction, as lead conversion does.
    let mut tx = pool.begin().await.unwrap();
    let n = links::relink(
        &mut tx,
        &rep.actor,
        (RecordType::Lead, lead),
        &[
            (RecordType::Company, company),
            (RecordType::Contact, contact),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 2);

    let got = rep
        .get(&format!("/activities/{}", id(&call)))
        .await
        .expect(200);
    assert_eq!(got["version"], 2);
    let mut types: Vec<&str> = got["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["company", "contact", "lead"]);
    let on_contact = rep
        .get(&format!("/contacts/{contact}/activities"))
        .await
        .expect(200);
    assert_eq!(on_contact["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        rep.get(&format!("/leads/{lead}/activities"))
            .await
            .expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let updated: Vec<EventEnvelope> = outbox_events(&pool)
        .await
        .into_iter()
        .filter(|e| e.event == "activity.updated")
        .collect();
    assert_eq!(updated.len(), 2);
    assert!(
        updated
            .iter()
            .all(|e| e.changes.as_ref().unwrap().get("links").is_some())
    );
    let note_update = updated
        .iter()
        .find(|e| e.record_id.to_string() == id(&note))
        .unwrap();
    assert_eq!(note_update.data["links"].as_array().unwrap().len(), 3);

    // Over HTTP (how the microservices reach it): nothing left to add.
    let r = rep
        .post("/activities/relink", &json!({"from": link("lead", lead), "to": [link("company", company), link("contact", contact)]}))
        .await
        .expect(200);
    assert_eq!(r["relinked"], 0);
    let r = rep
        .post(
            "/activities/relink",
            &json!({"from": link("activity", lead), "to": [], "extra": 1}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = rep
        .post(
            "/activities/relink",
            &json!({"from": link("activity", lead), "to": [link("deal", company)]}),
        )
        .await;
    assert_eq!(crate::fields(&r.body), ["from.type", "to[0].type"]);

    // The timeline hears of the new links on the new records.
    deliver(&pool, &TimelineHandler).await;
    let page = rep
        .get(&format!("/contacts/{contact}/timeline"))
        .await
        .expect(200);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_api_serves_recent_activities_timelines_and_relinks_in_process() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let api: Arc<dyn ActivitiesApi> = Arc::new(Activities::new(pool.clone()));
    let (lead, opp) = (Uuid::now_v7(), Uuid::now_v7());
    for i in 0..3 {
        rep.post(
            "/activities",
            &json!({"kind": "note", "body": format!("n{i}"), "links": [link("lead", lead)]}),
        )
        .await
        .expect(201);
    }
    let recent = api
        .recent(&rep.actor, RecordType::Lead, lead, 2)
        .await
        .unwrap();
    let bodies: Vec<_> = recent.iter().map(|a| a.body.clone().unwrap()).collect();
    assert_eq!(bodies, ["n2", "n1"]);
    assert!(
        api.recent(&rep.actor, RecordType::Lead, lead, 0)
            .await
            .is_err()
    );

    assert_eq!(
        api.relink(
            &rep.actor,
            (RecordType::Lead, lead),
            &[(RecordType::Opportunity, opp)]
        )
        .await
        .unwrap(),
        3
    );
    deliver(&pool, &TimelineHandler).await;
    let entries = api
        .timeline(&rep.actor, RecordType::Opportunity, opp, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e.record_type == RecordType::Opportunity && e.object == "activity")
    );

    let viewer = Actor::new(rep.actor.tenant_id, Uuid::now_v7(), Role::Viewer);
    assert!(api.recent(&viewer, RecordType::Lead, lead, 5).await.is_ok());
    assert!(matches!(
        api.relink(
            &viewer,
            (RecordType::Lead, lead),
            &[(RecordType::Company, opp)]
        )
        .await,
        Err(crm_core::Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_merged_companys_activities_move_to_the_primary() {
    let (server, pool) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let (primary, dup1, dup2, contact) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let on_dup = m
        .post("/activities", &json!({"kind": "note", "body": "b", "links": [link("company", dup1), link("contact", contact)]}))
        .await
        .expect(201);
    let on_both = m
        .post("/activities", &json!({"kind": "note", "body": "b", "links": [link("company", dup2), link("company", primary)]}))
        .await
        .expect(201);
    // A contact with the same id as a merged company is another record: untouched.
    let same_id_contact = m
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [link("contact", dup1)]}),
        )
        .await
        .expect(201);

    let merged = EventEnvelope::new(
        &m.actor,
        "company",
        "merged",
        primary,
        json!({"id": primary, "name": "Acme"}),
    )
    .with_changes(json!({"merged_ids": [dup1, dup2]}));
    assert!(ActivitiesEvents.wants(&merged));
    assert!(!ActivitiesEvents.wants(&EventEnvelope::new(
        &m.actor,
        "company",
        "updated",
        primary,
        json!({})
    )));
    assert!(
        outbox::apply(&pool, &ActivitiesEvents, &merged)
            .await
            .unwrap()
    );
    assert!(
        !outbox::apply(&pool, &ActivitiesEvents, &merged)
            .await
            .unwrap()
    );

    let on_primary = m
        .get(&format!("/companies/{primary}/activities"))
        .await
        .expect(200);
    let mut ids: Vec<String> = on_primary["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    ids.sort();
    let mut expected = vec![id(&on_dup), id(&on_both)];
    expected.sort();
    assert_eq!(ids, expected);
    for dup in [dup1, dup2] {
        assert_eq!(
            m.get(&format!("/companies/{dup}/activities"))
                .await
                .expect(200)["data"],
            json!([])
        );
    }
    let moved = m
        .get(&format!("/activities/{}", id(&on_dup)))
        .await
        .expect(200);
    assert_eq!(
        moved["links"].as_array().unwrap().len(),
        2,
        "the contact link stays, the company link moved"
    );
    let untouched = m
        .get(&format!("/activities/{}", id(&same_id_contact)))
        .await
        .expect(200);
    assert_eq!(untouched["version"], 1);
    let updates = outbox_events(&pool)
        .await
        .into_iter()
        .filter(|e| e.event == "activity.updated")
        .count();
    assert_eq!(updates, 2);
}
