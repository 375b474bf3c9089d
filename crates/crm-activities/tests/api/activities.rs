use crm_core::Role;
use serde_json::json;
use uuid::Uuid;

use crate::{fields, id, link, spawn};

#[tokio::test]
async fn each_kind_is_created_with_its_own_fields() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let company = Uuid::now_v7();
    let links = json!([link("company", company)]);

    let task = rep
        .post(
            "/activities",
            &json!({"kind": "task", "subject": " Send the quote ", "due_at": "2030-01-02T09:00:00Z", "links": links}),
        )
        .await;
    assert!(
        task.header("location")
            .unwrap()
            .starts_with("/api/v1/activities/")
    );
    let task = task.expect(201);
    assert_eq!(task["subject"], "Send the quote");
    assert_eq!(
        (&task["status"], &task["priority"]),
        (&json!("todo"), &json!("normal"))
    );
    assert_eq!(task["completed_at"], json!(null));
    assert_eq!(task["links"], json!([{"type": "company", "id": company}]));

    let note = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "Line one\nLine two", "links": links}),
        )
        .await
        .expect(201);
    assert_eq!(
        note["body"], "Line one\nLine two",
        "line breaks belong in a body"
    );
    assert_eq!(
        (&note["subject"], &note["status"]),
        (&json!(null), &json!(null))
    );

    let call = rep
        .post(
            "/activities",
            &json!({"kind": "call", "subject": "Intro", "direction": "outbound", "duration_seconds": 600, "outcome": "Interested", "links": links}),
        )
        .await
        .expect(201);
    assert_eq!(
        (&call["direction"], &call["duration_seconds"]),
        (&json!("outbound"), &json!(600))
    );

    let meeting = rep
        .post(
            "/activities",
            &json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "location": "Berlin", "links": links}),
        )
        .await
        .expect(201);
    assert_eq!(meeting["location"], "Berlin");
    let got = rep
        .get(&format!("/activities/{}", id(&meeting)))
        .await
        .expect(200);
    assert_eq!(got, meeting, "read back as created, links included");

    let tasks = rep
        .get("/activities?filter=kind[in]:[\"task\",\"call\"]&order_by=created_at[asc]")
        .await
        .expect(200);
    let kinds: Vec<&str> = tasks["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["task", "call"]);
}

#[tokio::test]
async fn fields_of_another_kind_are_refused_by_name_and_nothing_is_written() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let links = json!([link("lead", Uuid::now_v7())]);
    let r = rep
        .post(
            "/activities",
            &json!({"kind": "task", "subject": "S", "duration_seconds": 60, "location": "x", "links": links}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (422, "validation"));
    assert_eq!(fields(&r.body), ["duration_seconds", "location"]);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("task")
    );

    let r = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "status": "done", "outcome": "x", "links": links}),
        )
        .await;
    assert_eq!(fields(&r.body), ["status", "outcome"]);

    // Null stands for "none" and is accepted for a field the kind does not have.
    rep.post(
        "/activities",
        &json!({"kind": "note", "body": "b", "duration_seconds": null, "links": links}),
    )
    .await
    .expect(201);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_activities.activities")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "only the valid note was written");
}

#[tokio::test]
async fn required_fields_depend_on_the_kind_and_all_are_named_at_once() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let links = json!([link("contact", Uuid::now_v7())]);
    let cases = [
        (json!({"links": links}), vec!["kind"]),
        (
            json!({"kind": "meeting", "links": links}),
            vec!["subject", "starts_at", "ends_at"],
        ),
        (
            json!({"kind": "note", "subject": "only a title", "links": links}),
            vec!["body"],
        ),
        (
            json!({"kind": "task", "subject": "   ", "links": links}),
            vec!["subject"],
        ),
        (json!({"kind": "visit", "links": links}), vec!["kind"]),
        (json!({"kind": "note", "body": "b"}), vec!["links"]),
        (
            json!({"kind": "note", "body": "b", "links": []}),
            vec!["links"],
        ),
        (
            json!({"kind": "task", "subject": "s", "priority": "urgent", "duration_seconds": 5, "links": [link("company", Uuid::now_v7()), link("activity", Uuid::now_v7()), link("deal", Uuid::now_v7())]}),
            vec![
                "priority",
                "duration_seconds",
                "links[1].type",
                "links[2].type",
            ],
        ),
        (
            json!({"kind": "call", "subject": "s", "duration_seconds": 86401, "direction": "sideways", "links": links}),
            vec!["direction", "duration_seconds"],
        ),
        (
            json!({"kind": "note", "body": "x".repeat(20_001), "links": links}),
            vec!["body"],
        ),
    ];
    for (body, expected) in cases {
        let r = rep.post("/activities", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(fields(&r.body), expected, "{body}");
    }
    let too_many: Vec<_> = (0..21).map(|_| link("lead", Uuid::now_v7())).collect();
    let r = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": too_many}),
        )
        .await;
    assert_eq!(fields(&r.body), ["links"]);
    let r = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [{"type": "lead", "id": "nope"}]}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r.body)),
        (422, vec!["links[0].id".to_owned()])
    );
    assert_eq!(
        rep.get("/activities?count=true").await.expect(200)["total"],
        0
    );
}

#[tokio::test]
async fn a_meeting_that_ends_before_it_starts_is_refused_naming_ends_at() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let links = json!([link("opportunity", Uuid::now_v7())]);
    let r = rep
        .post(
            "/activities",
            &json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T09:00:00Z", "links": links}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r.body)),
        (422, vec!["ends_at".to_owned()])
    );

    let m = rep
        .post(
            "/activities",
            &json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "links": links}),
        )
        .await
        .expect(201);
    let path = format!("/activities/{}", id(&m));
    // Moving only the start past the stored end is judged against the stored end.
    let r = rep
        .patch(&path, 1, &json!({"starts_at": "2030-01-02T12:00:00Z"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r.body)),
        (422, vec!["ends_at".to_owned()])
    );
    let r = rep.patch(&path, 1, &json!({"ends_at": null})).await;
    assert_eq!(fields(&r.body), ["ends_at"]);
    let moved = rep
        .patch(&path, 1, &json!({"starts_at": "2030-01-02T12:00:00Z", "ends_at": "2030-01-02T13:00:00Z", "outcome": "Signed"}))
        .await
        .expect(200);
    assert_eq!(
        (moved["version"].as_i64(), &moved["outcome"]),
        (Some(2), &json!("Signed"))
    );
}

#[tokio::test]
async fn the_kind_cannot_change_after_create() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let note = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [link("lead", Uuid::now_v7())]}),
        )
        .await
        .expect(201);
    let path = format!("/activities/{}", id(&note));
    let r = rep
        .patch(&path, 1, &json!({"kind": "task", "subject": "s"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r.body)),
        (422, vec!["kind".to_owned()])
    );
    let r = rep
        .patch(&path, 1, &json!({"kind": "note", "body": "edited"}))
        .await;
    assert_eq!(
        r.expect(200)["body"],
        "edited",
        "repeating the kind is fine"
    );
    let r = rep
        .patch(&path, 2, &json!({"due_at": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(fields(&r.body), ["due_at"]);
    let r = rep.patch(&path, 2, &json!({"body": null})).await;
    assert_eq!(fields(&r.body), ["body"], "a note keeps its body");
}

#[tokio::test]
async fn a_batch_creates_the_valid_items_and_names_the_bad_ones() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let links = json!([link("company", Uuid::now_v7())]);
    let r = rep
        .post(
            "/activities/batch",
            &json!({"mode": "create", "items": [
                {"kind": "note", "body": "ok", "links": links},
                {"kind": "task", "subject": "s", "duration_seconds": 5, "links": links},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(r["results"][0]["status"], 201);
    assert_eq!(r["results"][1]["status"], 422);
    assert_eq!(
        r["results"][1]["error"]["errors"][0]["field"],
        "duration_seconds"
    );
    assert_eq!(
        rep.get("/activities?count=true").await.expect(200)["total"],
        1
    );
}

#[test]
fn every_route_is_in_the_openapi_document() {
    let mut doc = crm_http::openapi::ApiDoc::new();
    crm_activities::http::openapi(&mut doc);
    let v = doc.finish("test", "0");
    for (method, path) in [
        ("get", "/api/v1/activities"),
        ("patch", "/api/v1/activities/{id}"),
        ("post", "/api/v1/activities/relink"),
        ("get", "/api/v1/companies/{id}/activities"),
        ("get", "/api/v1/opportunities/{id}/activities"),
        ("get", "/api/v1/leads/{id}/timeline"),
        ("get", "/api/v1/activities/{id}/timeline"),
    ] {
        assert!(v["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(v["paths"]["/api/v1/activities/{id}/activities"].is_null());
    assert!(v["components"]["schemas"]["TimelineEntry"].is_object());
}
