//! Who may see and change an activity: another tenant sees nothing, a viewer reads only.

use crm_core::Role;
use serde_json::json;
use uuid::Uuid;

use crate::{id, link, spawn};

#[tokio::test]
async fn another_tenants_activity_is_not_found_and_untouched() {
    let (server, _) = spawn().await;
    let a = server.new_tenant(Role::Manager);
    let b = server.new_tenant(Role::Manager);
    let note = a
        .post(
            "/activities",
            &json!({"kind": "note", "body": "mine", "links": [link("lead", Uuid::now_v7())]}),
        )
        .await
        .expect(201);
    let path = format!("/activities/{}", id(&note));
    assert_eq!(b.get(&path).await.status, 404);
    assert_eq!(
        b.patch(&path, 1, &json!({"body": "theirs"})).await.status,
        404
    );
    assert_eq!(b.delete(&path).await.status, 404);
    assert_eq!(b.get(&format!("{path}/timeline")).await.status, 404);
    assert_eq!(
        b.get("/activities?count=true").await.expect(200)["total"],
        0
    );
    assert_eq!(a.get(&path).await.expect(200)["body"], "mine");
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_write() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let viewer = rep.with_role(&server, Role::Viewer);
    let company = Uuid::now_v7();
    let note = rep
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [link("company", company)]}),
        )
        .await
        .expect(201);
    let r = viewer
        .post(
            "/activities",
            &json!({"kind": "note", "body": "b", "links": [link("company", company)]}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (403, "forbidden"));
    let path = format!("/activities/{}", id(&note));
    assert_eq!(
        viewer.patch(&path, 1, &json!({"body": "x"})).await.status,
        403
    );
    assert_eq!(viewer.delete(&path).await.status, 403);
    let r = viewer
        .post(
            "/activities/relink",
            &json!({"from": link("company", company), "to": [link("contact", Uuid::now_v7())]}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(viewer.get(&path).await.status, 200);
    let listed = viewer
        .get(&format!("/companies/{company}/activities"))
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["id"], note["id"]);
    assert_eq!(
        viewer
            .get(&format!("/companies/{company}/timeline"))
            .await
            .status,
        200
    );
    // Reps may delete activities (unlike companies).
    rep.delete(&path).await.expect(200);
}
