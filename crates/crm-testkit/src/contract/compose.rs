//! Composed views: the customer 360 overview of a company, and search across record types.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use super::{
    Check, SETTLE, Suite, check, eventually_get, fields, id, pluck, post_at, problem, status,
    version, word,
};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(the_overview_holds_a_company_and_what_belongs_to_it),
    check!(search_finds_every_record_type_by_word_prefix),
];

fn ids(list: &Value) -> Vec<Value> {
    let mut v: Vec<Value> = list
        .as_array()
        .map(|a| a.iter().map(|x| x["id"].clone()).collect())
        .unwrap_or_default();
    v.sort_by_key(|x| x.to_string());
    v
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

async fn the_overview_holds_a_company_and_what_belongs_to_it(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let other = s.signup().await?.admin;
    let co = status(
        c.post("/companies", &json!({"name": format!("Whole {}", word())}))
            .await,
        201,
    )?;
    let elsewhere = status(
        c.post("/companies", &json!({"name": "Elsewhere"})).await,
        201,
    )?;
    let mut contacts = Vec::new();
    for name in ["Ann", "Bob"] {
        let ct = status(
            c.post(
                "/contacts",
                &json!({"first_name": name, "company_id": co["id"]}),
            )
            .await,
            201,
        )?;
        contacts.push(ct["id"].clone());
    }
    status(
        c.post(
            "/contacts",
            &json!({"first_name": "Not here", "company_id": elsewhere["id"]}),
        )
        .await,
        201,
    )?;
    let open = status(
        c.post(
            "/opportunities",
            &json!({"name": "Open deal", "company_id": co["id"]}),
        )
        .await,
        201,
    )?;
    let won = status(
        c.post(
            "/opportunities",
            &json!({"name": "Won deal", "company_id": co["id"]}),
        )
        .await,
        201,
    )?;
    status(
        post_at(
            &c,
            &format!("/opportunities/{}/move", id(&won)),
            version(&won),
            &json!({"stage_key": "closed_won"}),
        )
        .await,
        200,
    )?;
    let note = status(
        c.post(
            "/activities",
            &json!({"kind": "note", "body": "Met them", "links": [{"type": "company", "id": co["id"]}]}),
        )
        .await,
        201,
    )?;

    let path = format!("/companies/{}/overview", id(&co));
    let o = eventually_get(&c, &path, SETTLE, |o| {
        pluck(&json!({"data": o["timeline"]}), "event").contains(&json!("company.created"))
    })
    .await
    .context("the overview's timeline")?;
    let company = status(c.get(&format!("/companies/{}", id(&co))).await, 200)?;
    ensure!(o["company"] == company, "the company: {}", o["company"]);
    ensure!(
        ids(&o["contacts"]) == sorted(contacts),
        "its contacts: {}",
        o["contacts"]
    );
    ensure!(
        ids(&o["open_opportunities"]) == [open["id"].clone()],
        "only open opportunities: {}",
        o["open_opportunities"]
    );
    ensure!(
        ids(&o["recent_activities"]) == [note["id"].clone()],
        "its activities: {}",
        o["recent_activities"]
    );
    ensure!(
        o["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().all(|e| e["record_id"] == co["id"])),
        "the company's own timeline: {}",
        o["timeline"]
    );
    ensure!(o["unavailable"] == json!([]), "everything answered: {o}");

    problem(&other.get(&path).await, 404, "not-found").context("another tenant's company")?;
    problem(
        &c.get(&format!("/companies/{}/overview", uuid::Uuid::new_v4()))
            .await,
        404,
        "not-found",
    )?;
    status(c.delete(&format!("/companies/{}", id(&co))).await, 200)?;
    problem(&c.get(&path).await, 404, "not-found").context("a deleted company")?;
    Ok(())
}

async fn search_finds_every_record_type_by_word_prefix(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let other = s.signup().await?.admin;
    let w = word();
    let mut made = Vec::new();
    for (collection, kind, body) in [
        (
            "companies",
            "company",
            json!({"name": format!("{w} Industries")}),
        ),
        (
            "contacts",
            "contact",
            json!({"first_name": "Sam", "last_name": w}),
        ),
        ("leads", "lead", json!({"name": format!("Lee {w}")})),
        (
            "opportunities",
            "opportunity",
            json!({"name": format!("{w} renewal")}),
        ),
    ] {
        let r = status(c.post(&format!("/{collection}"), &body).await, 201)?;
        made.push(json!([kind, r["id"]]));
    }
    status(
        other
            .post("/companies", &json!({"name": format!("{w} Elsewhere")}))
            .await,
        201,
    )?;
    let hits = |r: &Value| -> Vec<Value> {
        sorted(
            r["data"]
                .as_array()
                .map(|d| d.iter().map(|h| json!([h["type"], h["id"]])).collect())
                .unwrap_or_default(),
        )
    };
    let prefix = &w[..8];
    let all = eventually_get(&c, &format!("/search?q={prefix}"), SETTLE, |r| {
        hits(r).len() >= 4
    })
    .await?;
    ensure!(
        hits(&all) == sorted(made.clone()),
        "one hit of each type, none of another tenant: {all}"
    );
    ensure!(
        all["unavailable"] == json!([])
            && all["data"].as_array().is_some_and(|d| d
                .iter()
                .all(|h| h["title"].is_string() && h["rank"].is_number())),
        "hits: {all}"
    );
    let some = status(
        c.get(&format!("/search?q={prefix}&types=lead,opportunity"))
            .await,
        200,
    )?;
    ensure!(
        hits(&some) == sorted(made[2..].to_vec()),
        "types narrows: {some}"
    );
    let none = status(c.get(&format!("/search?q={w}zzz")).await, 200)?;
    ensure!(none["data"] == json!([]), "no match: {none}");
    for (q, field) in [
        (format!("/search?q={prefix}&types=company,planet"), "types"),
        ("/search".to_owned(), "q"),
        (format!("/search?q={prefix}&limit=0"), "limit"),
    ] {
        let r = c.get(&q).await;
        problem(&r, 400, "malformed-request").with_context(|| q.clone())?;
        ensure!(fields(&r) == [field], "{q}: fields {:?}", fields(&r));
    }
    // Text without a word is a search for nothing, not an error.
    let none = status(c.get("/search?q=%20%26%7C!").await, 200)?;
    ensure!(none["data"] == json!([]), "nothing found: {none}");
    Ok(())
}
