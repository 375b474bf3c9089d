//! References name live records of the caller's tenant, in both builds alike: owners,
//! assignees, companies, contacts, pipelines, stages and activity links. A bad one is a 422
//! `unknown-reference` naming the field, single or in a batch, and writes nothing; soft
//! delete keeps existing references, restore makes them whole again.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use uuid::Uuid;

use crm_core::Role;

use crate::server::{Client, Reply};

use super::{Check, Suite, check, count, fields, id, problem, status};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(references_must_name_live_records_of_the_callers_tenant),
    check!(batches_name_each_bad_reference_per_item),
    check!(soft_deleted_records_keep_references_but_take_no_new_ones),
];

fn unknown(r: &Reply, field: &str) -> anyhow::Result<()> {
    problem(r, 422, "unknown-reference")?;
    ensure!(
        fields(r) == [field],
        "expected only {field} named, got {:?}: {}",
        fields(r),
        r.body
    );
    Ok(())
}

async fn counts(c: &Client) -> anyhow::Result<Vec<i64>> {
    let mut v = Vec::new();
    for col in [
        "companies",
        "contacts",
        "leads",
        "opportunities",
        "activities",
    ] {
        v.push(count(c, col).await?);
    }
    Ok(v)
}

async fn references_must_name_live_records_of_the_callers_tenant(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let c = &session.admin;
    let rep = session.user(Role::Rep).await?;
    let other = s.signup().await?.admin;
    let theirs = status(
        other.post("/companies", &json!({"name": "Theirs"})).await,
        201,
    )?;
    let their_user = other.actor.user_id;
    let nobody = Uuid::now_v7();
    let co = status(c.post("/companies", &json!({"name": "Ours"})).await, 201)?;
    let before = counts(c).await?;

    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "/companies",
            json!({"name": "A", "owner_id": nobody}),
            "owner_id",
        ),
        (
            "/companies",
            json!({"name": "A", "owner_id": their_user}),
            "owner_id",
        ),
        (
            "/contacts",
            json!({"first_name": "A", "owner_id": nobody}),
            "owner_id",
        ),
        (
            "/contacts",
            json!({"first_name": "A", "company_id": theirs["id"]}),
            "company_id",
        ),
        (
            "/leads",
            json!({"name": "A", "owner_id": their_user}),
            "owner_id",
        ),
        (
            "/opportunities",
            json!({"name": "A", "owner_id": nobody}),
            "owner_id",
        ),
        (
            "/opportunities",
            json!({"name": "A", "company_id": theirs["id"]}),
            "company_id",
        ),
        (
            "/opportunities",
            json!({"name": "A", "primary_contact_id": nobody}),
            "primary_contact_id",
        ),
        (
            "/opportunities",
            json!({"name": "A", "pipeline_id": nobody}),
            "pipeline_id",
        ),
        (
            "/opportunities",
            json!({"name": "A", "stage_id": nobody}),
            "stage_id",
        ),
        (
            "/activities",
            json!({"kind": "note", "body": "n", "links": [{"type": "company", "id": co["id"]}, {"type": "company", "id": theirs["id"]}]}),
            "links[1].id",
        ),
        (
            "/activities",
            json!({"kind": "note", "body": "n", "links": [{"type": "lead", "id": nobody}]}),
            "links[0].id",
        ),
        (
            "/activities",
            json!({"kind": "note", "body": "n", "links": [{"type": "opportunity", "id": nobody}]}),
            "links[0].id",
        ),
        (
            "/activities",
            json!({"kind": "task", "subject": "t", "assignee_id": their_user, "links": [{"type": "company", "id": co["id"]}]}),
            "assignee_id",
        ),
    ];
    for (path, body, field) in bad {
        unknown(&c.post(path, &body).await, field)
            .with_context(|| format!("POST {path} {body}"))?;
    }
    // PATCH checks the references it sets.
    let r = c
        .patch(
            &format!("/companies/{}", id(&co)),
            1,
            &json!({"owner_id": nobody}),
        )
        .await;
    unknown(&r, "owner_id").context("PATCH owner_id")?;
    let lead = status(c.post("/leads", &json!({"name": "Lee"})).await, 201)?;
    let r = c
        .post(
            &format!("/leads/{}/assign", id(&lead)),
            &json!({"owner_id": their_user}),
        )
        .await;
    unknown(&r, "owner_id").context("assign to another tenant's user")?;
    let mut after = before.clone();
    after[2] += 1;
    ensure!(counts(c).await? == after, "no bad reference was written");

    // The same ids of the right tenant are fine.
    let me = rep.actor.user_id;
    let contact = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Cy", "company_id": co["id"], "owner_id": me}),
        )
        .await,
        201,
    )?;
    let opp = status(
        c.post(
            "/opportunities",
            &json!({"name": "Deal", "company_id": co["id"], "primary_contact_id": contact["id"], "owner_id": me}),
        )
        .await,
        201,
    )?;
    status(
        c.post(
            "/activities",
            &json!({"kind": "task", "subject": "t", "assignee_id": me, "links": [
                {"type": "company", "id": co["id"]}, {"type": "contact", "id": contact["id"]},
                {"type": "lead", "id": lead["id"]}, {"type": "opportunity", "id": opp["id"]}]}),
        )
        .await,
        201,
    )?;
    status(
        c.post(
            &format!("/leads/{}/assign", id(&lead)),
            &json!({"owner_id": me}),
        )
        .await,
        200,
    )?;
    Ok(())
}

async fn batches_name_each_bad_reference_per_item(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let me = c.actor.user_id;
    let nobody = Uuid::now_v7();
    let before = count(&c, "companies").await?;
    let r = status(
        c.post(
            "/companies/batch",
            &json!({"mode": "create", "items": [
                {"name": "Good", "owner_id": me},
                {"name": "Bad", "owner_id": nobody},
                {"name": "Also good", "owner_id": me}]}),
        )
        .await,
        200,
    )?;
    let results = r["results"].as_array().context("results")?;
    let statuses: Vec<u64> = results
        .iter()
        .filter_map(|x| x["status"].as_u64())
        .collect();
    ensure!(
        statuses == [201, 422, 201],
        "per-item statuses: {statuses:?}"
    );
    ensure!(
        results[1]["error"]["type"] == "/problems/unknown-reference"
            && results[1]["error"]["errors"][0]["field"] == "owner_id",
        "the bad item names its field: {}",
        results[1]
    );
    ensure!(count(&c, "companies").await? == before + 2, "two written");
    let r = c
        .post(
            "/opportunities/batch",
            &json!({"mode": "create", "all_or_none": true, "items": [
                {"name": "O1"}, {"name": "O2", "company_id": nobody}]}),
        )
        .await;
    problem(&r, 422, "batch-rejected")?;
    ensure!(
        fields(&r).iter().any(|f| f == "company_id"),
        "names company_id: {}",
        r.body
    );
    ensure!(
        count(&c, "opportunities").await? == 0,
        "all or none wrote none"
    );
    Ok(())
}

async fn soft_deleted_records_keep_references_but_take_no_new_ones(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let co = status(c.post("/companies", &json!({"name": "Fading"})).await, 201)?;
    let opp = status(
        c.post(
            "/opportunities",
            &json!({"name": "Kept", "company_id": co["id"]}),
        )
        .await,
        201,
    )?;
    status(c.delete(&format!("/companies/{}", id(&co))).await, 200)?;
    let kept = status(c.get(&format!("/opportunities/{}", id(&opp))).await, 200)?;
    ensure!(
        kept["company_id"] == co["id"],
        "the reference stays: {kept}"
    );
    // A PATCH that leaves the reference alone still works.
    status(
        c.patch(
            &format!("/opportunities/{}", id(&opp)),
            super::version(&kept),
            &json!({"name": "Kept too"}),
        )
        .await,
        200,
    )?;
    unknown(
        &c.post(
            "/opportunities",
            &json!({"name": "New", "company_id": co["id"]}),
        )
        .await,
        "company_id",
    )?;
    unknown(
        &c.post(
            "/contacts",
            &json!({"first_name": "New", "company_id": co["id"]}),
        )
        .await,
        "company_id",
    )?;
    status(
        c.post(&format!("/companies/{}/restore", id(&co)), &json!({}))
            .await,
        200,
    )?;
    status(
        c.post(
            "/opportunities",
            &json!({"name": "New", "company_id": co["id"]}),
        )
        .await,
        201,
    )?;
    Ok(())
}
