use crm_core::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{id, link, outbox_events, spawn};

async fn new_task(rep: &crm_testkit::server::Client) -> (String, Value) {
    let t = rep
        .post(
            "/activities",
            &json!({"kind": "task", "subject": "Follow up", "priority": "high", "links": [link("lead", Uuid::now_v7())]}),
        )
        .await
        .expect(201);
    (format!("/activities/{}", id(&t)), t)
}

#[tokio::test]
async fn completing_a_task_sets_completed_at_and_announces_it() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (path, task) = new_task(&rep).await;
    let started = rep
        .patch(&path, 1, &json!({"status": "in_progress"}))
        .await
        .expect(200);
    assert_eq!(started["completed_at"], Value::Null);
    let done = rep
        .patch(&path, 2, &json!({"status": "done"}))
        .await
        .expect(200);
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());
    // Repeating the status is not a transition and keeps the completion time.
    let again = rep
        .patch(&path, 3, &json!({"status": "done"}))
        .await
        .expect(200);
    assert_eq!(again["completed_at"], done["completed_at"]);

    let events: Vec<(String, Option<Value>)> = outbox_events(&pool)
        .await
        .into_iter()
        .filter(|e| e.record_id.to_string() == id(&task))
        .map(|e| (e.event, e.changes))
        .collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "activity.created",
            "activity.updated",
            "activity.updated",
            "activity.completed"
        ],
        "one completed event beside the update that made the task done; repeating done changes nothing"
    );
    let completed = events[3].1.as_ref().unwrap();
    assert_eq!(
        completed["status"],
        json!({"from": "in_progress", "to": "done"})
    );
}

#[tokio::test]
async fn reopening_a_done_task_clears_completed_at() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (path, _) = new_task(&rep).await;
    let done = rep
        .patch(&path, 1, &json!({"status": "done"}))
        .await
        .expect(200);
    assert!(done["completed_at"].is_string(), "todo → done directly");
    let reopened = rep
        .patch(&path, 2, &json!({"status": "todo"}))
        .await
        .expect(200);
    assert_eq!(
        (&reopened["status"], &reopened["completed_at"]),
        (&json!("todo"), &Value::Null)
    );
    rep.patch(&path, 3, &json!({"status": "in_progress"}))
        .await
        .expect(200);
    let back = rep
        .patch(&path, 4, &json!({"status": "todo"}))
        .await
        .expect(200);
    assert_eq!(back["status"], "todo", "in_progress → todo");
}

#[tokio::test]
async fn an_invalid_transition_is_a_conflict_and_changes_nothing() {
    let (server, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let (path, _) = new_task(&rep).await;
    let done = rep
        .patch(&path, 1, &json!({"status": "done"}))
        .await
        .expect(200);
    let r = rep
        .patch(
            &path,
            2,
            &json!({"status": "in_progress", "subject": "Changed too"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    assert!(r.body["detail"].as_str().unwrap().contains("done"));
    let now = rep.get(&path).await.expect(200);
    assert_eq!(
        now, done,
        "nothing changed, not even the subject or the version"
    );
    // A bad value is a 422 before any transition is judged.
    let r = rep.patch(&path, 2, &json!({"status": "finished"})).await;
    assert_eq!(r.status, 422);
    let r = rep.patch(&path, 2, &json!({"status": null})).await;
    assert_eq!(r.status, 422, "a task always has a status");
}

#[tokio::test]
async fn a_task_logged_as_done_is_complete_from_the_start() {
    let (server, pool) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let t = rep
        .post(
            "/activities",
            &json!({"kind": "task", "subject": "Sent the contract", "status": "done", "links": [link("company", Uuid::now_v7())]}),
        )
        .await
        .expect(201);
    assert!(t["completed_at"].is_string());
    let names: Vec<String> = outbox_events(&pool)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(names, ["activity.created", "activity.completed"]);
    let done = rep
        .get("/activities?filter=and(status[eq]:done,completed_at[is]:not_null)")
        .await
        .expect(200);
    assert_eq!(done["data"].as_array().unwrap().len(), 1);
}
