use crm_core::Role;
use serde_json::json;
use uuid::Uuid;

use crate::{id, link, spawn};

#[tokio::test]
async fn a_records_activities_are_listed_newest_first_by_cursor() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (acme, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut mine = Vec::new();
    for i in 0..7 {
        let links = if i == 3 {
            json!([link("company", acme), link("company", other)])
        } else {
            json!([link("company", acme)])
        };
        let body = if i % 2 == 0 {
            json!({"kind": "note", "body": format!("A{i}"), "links": links})
        } else {
            json!({"kind": "task", "subject": format!("A{i}"), "links": links})
        };
        mine.push(id(&rep.post("/activities", &body).await.expect(201)));
    }
    rep.post(
        "/activities",
        &json!({"kind": "note", "body": "elsewhere", "links": [link("company", other)]}),
    )
    .await
    .expect(201);

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(c) => format!("/companies/{acme}/activities?limit=3&starting_after={c}"),
            None => format!("/companies/{acme}/activities?limit=3"),
        };
        let page = rep.get(&q).await.expect(200);
        seen.extend(page["data"].as_array().unwrap().iter().map(id));
        match page["page"]["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let tasks = rep
        .get(&format!(
            "/companies/{acme}/activities?filter=kind[eq]:task&count=true"
        ))
        .await
        .expect(200);
    assert_eq!(tasks["total"], 3);
    let both = rep
        .get(&format!("/companies/{other}/activities"))
        .await
        .expect(200);
    assert_eq!(both["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        rep.get(&format!("/leads/{acme}/activities"))
            .await
            .expect(200)["data"],
        json!([]),
        "links are typed: the same id as a lead has nothing"
    );
    let r = rep
        .get(&format!(
            "/companies/{acme}/activities?filter=colour[eq]:red"
        ))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (400, "malformed-request"));
    assert_eq!(rep.get("/companies/not-an-id/activities").await.status, 400);
}

#[tokio::test]
async fn patching_links_moves_an_activity_between_records() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (lead, contact) = (Uuid::now_v7(), Uuid::now_v7());
    let note = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [link("lead", lead)]}),
        )
        .await
        .expect(201);
    let path = format!("/activities/{}", id(&note));
    let moved = rep
        .patch(
            &path,
            1,
            &json!({"links": [link("contact", contact), link("contact", contact)]}),
        )
        .await
        .expect(200);
    assert_eq!(
        moved["links"],
        json!([{"type": "contact", "id": contact}]),
        "duplicates collapse"
    );
    assert_eq!(
        rep.get(&format!("/leads/{lead}/activities"))
            .await
            .expect(200)["data"],
        json!([])
    );
    assert_eq!(
        rep.get(&format!("/contacts/{contact}/activities"))
            .await
            .expect(200)["data"][0]["id"],
        note["id"]
    );
    let r = rep.patch(&path, 2, &json!({"links": []})).await;
    assert_eq!(r.status, 422, "an activity always belongs somewhere");

    rep.delete(&path).await.expect(200);
    assert_eq!(
        rep.get(&format!("/contacts/{contact}/activities"))
            .await
            .expect(200)["data"],
        json!([])
    );
    let with_deleted = rep
        .get(&format!(
            "/contacts/{contact}/activities?include_deleted=true"
        ))
        .await
        .expect(200);
    assert_eq!(with_deleted["data"][0]["id"], note["id"]);
}

#[tokio::test]
async fn another_tenants_links_are_invisible() {
    let (server, _) = spawn().await;
    let a = server.new_tenant(Role::Rep);
    let b = server.new_tenant(Role::Rep);
    let company = Uuid::now_v7();
    a.post(
        "/activities",
        &json!({"kind": "note", "body": "secret", "links": [link("company", company)]}),
    )
    .await
    .expect(201);
    let theirs = b
        .get(&format!("/companies/{company}/activities?count=true"))
        .await
        .expect(200);
    assert_eq!(
        (theirs["data"].clone(), theirs["total"].clone()),
        (json!([]), json!(0))
    );
}
