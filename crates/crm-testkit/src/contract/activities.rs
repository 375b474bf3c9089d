//! Activities: every kind, kind-specific rules, task transitions, a record's activities, and
//! the event-fed timeline.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::server::Client;

use super::{
    Check, SETTLE, Suite, check, count, eventually_get, fields, id, pluck, problem, status,
};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(every_activity_kind_is_created_with_its_own_fields),
    check!(activity_rules_depend_on_the_kind_and_bad_ones_write_nothing),
    check!(tasks_move_through_their_statuses_and_record_completion),
    check!(a_records_activities_are_listed_newest_first),
    check!(a_company_timeline_shows_what_happened_newest_first),
];

async fn company(c: &Client, name: &str) -> anyhow::Result<Value> {
    status(c.post("/companies", &json!({"name": name})).await, 201).context("create company")
}

async fn activity(c: &Client, body: Value) -> anyhow::Result<Value> {
    status(c.post("/activities", &body).await, 201).context("create activity")
}

async fn every_activity_kind_is_created_with_its_own_fields(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = company(&c, "Kinds").await?;
    let links = json!([{"type": "company", "id": co["id"]}]);
    let r = c
        .post(
            "/activities",
            &json!({"kind": "task", "subject": " Send the quote ", "due_at": "2030-01-02T09:00:00Z", "links": links}),
        )
        .await;
    let location = r.header("location").unwrap_or_default().to_owned();
    let task = status(r, 201)?;
    ensure!(
        location == format!("/api/v1/activities/{}", id(&task)),
        "Location {location}"
    );
    ensure!(
        task["kind"] == "task"
            && task["subject"] == "Send the quote"
            && task["status"] == "todo"
            && task["priority"] == "normal"
            && task["completed_at"].is_null()
            && task["links"] == links,
        "task: {task}"
    );
    let note = activity(
        &c,
        json!({"kind": "note", "body": "Line one\nLine two", "links": links}),
    )
    .await?;
    ensure!(
        note["body"] == "Line one\nLine two" && note["status"].is_null(),
        "note: {note}"
    );
    let call = activity(
        &c,
        json!({"kind": "call", "subject": "Intro", "direction": "outbound", "duration_seconds": 600, "outcome": "Interested", "links": links}),
    )
    .await?;
    ensure!(
        call["direction"] == "outbound"
            && call["duration_seconds"] == 600
            && call["outcome"] == "Interested",
        "call: {call}"
    );
    let meeting = activity(
        &c,
        json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "location": "Berlin", "links": links}),
    )
    .await?;
    ensure!(
        meeting["location"] == "Berlin" && meeting["starts_at"].is_string(),
        "meeting: {meeting}"
    );
    for a in [&task, &note, &call, &meeting] {
        let read = status(c.get(&format!("/activities/{}", id(a))).await, 200)?;
        ensure!(read == *a, "read back as created: {read}");
    }
    let some = status(
        c.get("/activities?filter=kind[in]:[\"task\",\"call\"]&order_by=created_at[asc]")
            .await,
        200,
    )?;
    ensure!(
        pluck(&some, "kind") == [json!("task"), json!("call")],
        "filtered by kind: {some}"
    );
    Ok(())
}

async fn activity_rules_depend_on_the_kind_and_bad_ones_write_nothing(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = company(&c, "Rules").await?;
    let links = json!([{"type": "company", "id": co["id"]}]);
    // Fields valid one by one that do not fit together are `inconsistent`.
    let r = c
        .post(
            "/activities",
            &json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T09:00:00Z", "links": links}),
        )
        .await;
    problem(&r, 422, "inconsistent")?;
    ensure!(fields(&r) == ["ends_at"], "fields {:?}", fields(&r));
    let cases = [
        (
            json!({"kind": "meeting", "links": links}),
            vec!["subject", "starts_at", "ends_at"],
        ),
        (
            json!({"kind": "task", "subject": "S", "duration_seconds": 60, "location": "x", "links": links}),
            vec!["duration_seconds", "location"],
        ),
        (
            json!({"kind": "note", "subject": "only a title", "links": links}),
            vec!["body"],
        ),
        (
            json!({"kind": "call", "subject": "s", "direction": "sideways", "links": links}),
            vec!["direction"],
        ),
        (json!({"kind": "visit", "links": links}), vec!["kind"]),
        (
            json!({"kind": "note", "body": "b", "links": []}),
            vec!["links"],
        ),
        (
            json!({"kind": "note", "body": "b", "links": [{"type": "deal", "id": co["id"]}]}),
            vec!["links[0].type"],
        ),
    ];
    for (body, expected) in cases {
        let r = c.post("/activities", &body).await;
        problem(&r, 422, "validation").with_context(|| body.to_string())?;
        ensure!(fields(&r) == expected, "{body}: fields {:?}", fields(&r));
    }
    ensure!(count(&c, "activities").await? == 0, "nothing written");

    let m = activity(
        &c,
        json!({"kind": "meeting", "subject": "Demo", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "links": links}),
    )
    .await?;
    let path = format!("/activities/{}", id(&m));
    let r = c
        .patch(&path, 1, &json!({"starts_at": "2030-01-02T12:00:00Z"}))
        .await;
    problem(&r, 422, "inconsistent")?;
    ensure!(fields(&r) == ["ends_at"], "fields {:?}", fields(&r));
    let r = c.patch(&path, 1, &json!({"kind": "task"})).await;
    problem(&r, 422, "validation").context("the kind cannot change")?;
    ensure!(
        status(c.get(&path).await, 200)? == m,
        "the meeting is unchanged"
    );
    Ok(())
}

async fn tasks_move_through_their_statuses_and_record_completion(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = company(&c, "Tasks").await?;
    let task = activity(
        &c,
        json!({"kind": "task", "subject": "Follow up", "priority": "high", "assignee_id": c.actor.user_id, "links": [{"type": "company", "id": co["id"]}]}),
    )
    .await?;
    let path = format!("/activities/{}", id(&task));
    let started = status(
        c.patch(&path, 1, &json!({"status": "in_progress"})).await,
        200,
    )?;
    ensure!(
        started["status"] == "in_progress" && started["completed_at"].is_null(),
        "started: {started}"
    );
    let done = status(c.patch(&path, 2, &json!({"status": "done"})).await, 200)?;
    ensure!(
        done["status"] == "done" && done["completed_at"].is_string(),
        "done: {done}"
    );
    let r = c
        .patch(
            &path,
            3,
            &json!({"status": "in_progress", "subject": "Changed too"}),
        )
        .await;
    problem(&r, 409, "invalid-transition")?;
    let r = c.patch(&path, 3, &json!({"status": "finished"})).await;
    problem(&r, 422, "validation")?;
    ensure!(fields(&r) == ["status"], "fields {:?}", fields(&r));
    ensure!(
        status(c.get(&path).await, 200)? == done,
        "refused changes change nothing"
    );
    let reopened = status(c.patch(&path, 3, &json!({"status": "todo"})).await, 200)?;
    ensure!(
        reopened["status"] == "todo" && reopened["completed_at"].is_null(),
        "reopening clears completed_at: {reopened}"
    );
    let logged = activity(
        &c,
        json!({"kind": "task", "subject": "Already sent", "status": "done", "links": [{"type": "company", "id": co["id"]}]}),
    )
    .await?;
    ensure!(
        logged["completed_at"].is_string(),
        "done from the start: {logged}"
    );
    Ok(())
}

async fn a_records_activities_are_listed_newest_first(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = company(&c, "Listed").await?;
    let other = company(&c, "Elsewhere").await?;
    let person = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Lin", "company_id": co["id"]}),
        )
        .await,
        201,
    )?;
    let mut mine = Vec::new();
    for i in 0..5 {
        let mut links = vec![json!({"type": "company", "id": co["id"]})];
        if i == 2 {
            links.push(json!({"type": "contact", "id": person["id"]}));
        }
        let body = if i % 2 == 0 {
            json!({"kind": "note", "body": format!("N{i}"), "links": links})
        } else {
            json!({"kind": "task", "subject": format!("T{i}"), "links": links})
        };
        mine.push(activity(&c, body).await?["id"].clone());
    }
    activity(
        &c,
        json!({"kind": "note", "body": "not ours", "links": [{"type": "company", "id": other["id"]}]}),
    )
    .await?;
    let mut seen = Vec::new();
    let mut path = format!("/companies/{}/activities?limit=2", id(&co));
    loop {
        let page = status(c.get(&path).await, 200)?;
        seen.extend(pluck(&page, "id"));
        match page["page"]["next_cursor"].as_str() {
            Some(next) => {
                path = format!(
                    "/companies/{}/activities?limit=2&starting_after={next}",
                    id(&co)
                )
            }
            None => break,
        }
    }
    mine.reverse();
    ensure!(seen == mine, "newest first, page by page: {seen:?}");
    let tasks = status(
        c.get(&format!(
            "/companies/{}/activities?filter=kind[eq]:\"task\"&count=true",
            id(&co)
        ))
        .await,
        200,
    )?;
    ensure!(tasks["total"] == 2, "filtered: {tasks}");
    let of_contact = status(
        c.get(&format!("/contacts/{}/activities", id(&person)))
            .await,
        200,
    )?;
    ensure!(
        pluck(&of_contact, "id") == [mine[2].clone()],
        "the contact's one activity: {of_contact}"
    );
    let r = c
        .get(&format!(
            "/companies/{}/activities?filter=colour[eq]:\"red\"",
            id(&co)
        ))
        .await;
    problem(&r, 400, "malformed-request")?;
    Ok(())
}

async fn a_company_timeline_shows_what_happened_newest_first(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let other = s.signup().await?.admin;
    let co = company(&c, "Chronicle").await?;
    let path = format!("/companies/{}", id(&co));
    status(
        c.patch(&path, 1, &json!({"industry": "History"})).await,
        200,
    )?;
    let timeline = format!("{path}/timeline");
    let events = |page: &Value| pluck(page, "event");
    let page = eventually_get(&c, &timeline, SETTLE, |p| events(p).len() >= 2).await?;
    ensure!(
        events(&page) == [json!("company.updated"), json!("company.created")],
        "newest first: {page}"
    );
    let updated = &page["data"][0];
    ensure!(
        updated["record_id"] == co["id"]
            && updated["object"] == "company"
            && updated["actor_id"] == json!(c.actor.user_id)
            && updated["changes"]["industry"]["to"] == "History"
            && updated["summary"].as_str().is_some_and(|s| !s.is_empty()),
        "an entry: {updated}"
    );
    let note = activity(
        &c,
        json!({"kind": "note", "body": "Met them", "links": [{"type": "company", "id": co["id"]}]}),
    )
    .await?;
    let page = eventually_get(&c, &timeline, SETTLE, |p| events(p).len() >= 3).await?;
    ensure!(
        events(&page)
            == [
                json!("activity.created"),
                json!("company.updated"),
                json!("company.created")
            ]
            && page["data"][0]["object_id"] == note["id"],
        "a linked activity joins the timeline: {page}"
    );
    let theirs = status(other.get(&timeline).await, 200)?;
    ensure!(
        theirs["data"] == json!([]),
        "another tenant sees nothing: {theirs}"
    );
    Ok(())
}
