//! Sales: the default pipeline, opportunities, stage moves and their rules, stage history.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::server::Client;

use super::{
    Check, Suite, check, count, fields, id, pluck, post_at, problem, status, version, word,
};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(the_default_pipeline_has_the_six_default_stages),
    check!(opportunities_are_created_filtered_and_ordered),
    check!(stage_moves_follow_the_rules_and_closed_opportunities_reopen),
    check!(stages_of_other_pipelines_and_companies_of_other_tenants_are_refused),
];

fn money(units: i64, currency: &str) -> Value {
    json!({"amount_micros": units * 1_000_000, "currency": currency})
}

async fn opportunity(c: &Client, body: Value) -> anyhow::Result<Value> {
    status(c.post("/opportunities", &body).await, 201).context("create opportunity")
}

async fn the_default_pipeline_has_the_six_default_stages(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let opp = opportunity(&c, json!({"name": "First deal"})).await?;
    ensure!(
        opp["stage_key"] == "prospecting"
            && opp["probability"] == 10
            && opp["status"] == "open"
            && opp["forecast_category"] == "pipeline"
            && opp["owner_id"] == json!(c.actor.user_id)
            && opp["closed_at"].is_null(),
        "a new opportunity starts in the first stage: {opp}"
    );
    let pipelines = status(c.get("/pipelines").await, 200)?;
    ensure!(
        pluck(&pipelines, "id") == [opp["pipeline_id"].clone()]
            && pluck(&pipelines, "is_default") == [json!(true)],
        "one default pipeline: {pipelines}"
    );
    let stages = status(
        c.get(&format!("/pipelines/{}/stages", id(&pipelines["data"][0])))
            .await,
        200,
    )?;
    let got: Vec<Value> = stages["data"]
        .as_array()
        .context("stages")?
        .iter()
        .map(|s| {
            json!([
                s["key"],
                s["position"],
                s["probability"],
                s["is_closed"],
                s["is_won"],
                s["forecast_category"]
            ])
        })
        .collect();
    let expected = [
        json!(["prospecting", 1, 10, false, false, "pipeline"]),
        json!(["qualification", 2, 20, false, false, "pipeline"]),
        json!(["proposal", 3, 50, false, false, "best_case"]),
        json!(["negotiation", 4, 80, false, false, "commit"]),
        json!(["closed_won", 5, 100, true, true, "closed"]),
        json!(["closed_lost", 6, 0, true, false, "omitted"]),
    ];
    ensure!(got == expected, "default stages: {got:?}");
    ensure!(
        stages["data"][0]["id"] == opp["stage_id"],
        "the opportunity is in the first stage"
    );
    Ok(())
}

async fn opportunities_are_created_filtered_and_ordered(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let w = word();
    let company = status(
        c.post("/companies", &json!({"name": format!("Buyer {w}")}))
            .await,
        201,
    )?;
    let contact = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Ann", "company_id": company["id"]}),
        )
        .await,
        201,
    )?;
    let created = c
        .post(
            "/opportunities",
            &json!({"name": " Rollout ", "amount": {"amount_micros": 12_000_000_000i64, "currency": "eur"},
                    "close_date": "2030-06-30", "stage_key": "proposal",
                    "company_id": company["id"], "primary_contact_id": contact["id"]}),
        )
        .await;
    ensure!(created.header("etag") == Some("\"1\""), "ETag");
    let location = created.header("location").unwrap_or_default().to_owned();
    let rollout = status(created, 201)?;
    ensure!(
        location == format!("/api/v1/opportunities/{}", id(&rollout)),
        "Location {location}"
    );
    ensure!(
        rollout["name"] == "Rollout"
            && rollout["amount"] == money(12_000, "EUR")
            && rollout["close_date"] == "2030-06-30"
            && rollout["probability"] == 50
            && rollout["forecast_category"] == "best_case"
            && rollout["company_id"] == company["id"]
            && rollout["primary_contact_id"] == contact["id"],
        "created: {rollout}"
    );
    let read = status(
        c.get(&format!("/opportunities/{}", id(&rollout))).await,
        200,
    )?;
    ensure!(read == rollout, "read back as created");
    for (name, units, currency, stage) in [
        ("Small", 100, "EUR", "proposal"),
        ("Large", 90_000, "EUR", "proposal"),
        ("Dollar", 5_000, "USD", "proposal"),
        ("Early", 1, "EUR", "prospecting"),
    ] {
        opportunity(
            &c,
            json!({"name": name, "amount": money(units, currency), "stage_key": stage}),
        )
        .await?;
    }
    let list = status(
        c.get("/opportunities?filter=and(stage_key[eq]:\"proposal\",amount.currency[eq]:\"EUR\")&order_by=amount.amount_micros[desc]&count=true")
            .await,
        200,
    )?;
    ensure!(
        pluck(&list, "name") == [json!("Large"), json!("Rollout"), json!("Small")]
            && list["total"] == 3,
        "filtered and ordered: {:?}",
        pluck(&list, "name")
    );
    let of_company = status(
        c.get(&format!(
            "/opportunities?filter=company_id[eq]:\"{}\"",
            id(&company)
        ))
        .await,
        200,
    )?;
    ensure!(
        pluck(&of_company, "id") == [rollout["id"].clone()],
        "by company"
    );
    let before = count(&c, "opportunities").await?;
    let r = c
        .post(
            "/opportunities",
            &json!({"amount": {"amount_micros": 5, "currency": "EURO"}, "probability": 150, "stage_key": "nowhere"}),
        )
        .await;
    problem(&r, 422, "validation")?;
    ensure!(
        fields(&r) == ["name", "amount.currency", "probability", "stage_key"],
        "every bad field named: {:?}",
        fields(&r)
    );
    ensure!(
        count(&c, "opportunities").await? == before,
        "nothing written"
    );
    Ok(())
}

async fn stage_moves_follow_the_rules_and_closed_opportunities_reopen(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let opp = opportunity(
        &c,
        json!({"name": "Deal", "amount": money(7, "EUR"), "stage_key": "qualification"}),
    )
    .await?;
    let path = format!("/opportunities/{}", id(&opp));
    let mv = format!("{path}/move");
    let r = c
        .send(
            crate::server::Method::POST,
            &mv,
            Some(&json!({"stage_key": "proposal"})),
            &[],
        )
        .await;
    problem(&r, 428, "precondition-required")?;
    let r = post_at(&c, &mv, 9, &json!({"stage_key": "proposal"})).await;
    problem(&r, 412, "precondition-failed")?;
    let r = post_at(&c, &mv, 1, &json!({"stage_key": "closed_lost"})).await;
    problem(&r, 422, "inconsistent")?;
    ensure!(fields(&r) == ["loss_reason"], "fields {:?}", fields(&r));
    let r = post_at(&c, &mv, 1, &json!({"stage_key": "no_such_stage"})).await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(fields(&r) == ["stage_key"], "fields {:?}", fields(&r));
    ensure!(
        status(c.get(&path).await, 200)? == opp,
        "refused moves change nothing"
    );

    let lost = status(
        post_at(
            &c,
            &mv,
            1,
            &json!({"stage_key": "closed_lost", "loss_reason": "Price"}),
        )
        .await,
        200,
    )?;
    ensure!(
        lost["status"] == "lost"
            && lost["probability"] == 0
            && lost["loss_reason"] == "Price"
            && lost["closed_at"].is_string(),
        "lost: {lost}"
    );
    let r = post_at(&c, &mv, version(&lost), &json!({"stage_key": "proposal"})).await;
    problem(&r, 409, "invalid-transition")?;
    let r = post_at(
        &c,
        &format!("{path}/reopen"),
        version(&lost),
        &json!({"stage_key": "closed_won"}),
    )
    .await;
    problem(&r, 422, "validation").context("reopen into a closed stage")?;
    ensure!(
        status(c.get(&path).await, 200)? == lost,
        "a closed opportunity stays as it was"
    );

    let reopened = status(
        post_at(
            &c,
            &format!("{path}/reopen"),
            version(&lost),
            &json!({"stage_key": "negotiation"}),
        )
        .await,
        200,
    )?;
    ensure!(
        reopened["status"] == "open"
            && reopened["probability"] == 80
            && reopened["closed_at"].is_null()
            && reopened["loss_reason"].is_null(),
        "reopened: {reopened}"
    );
    let r = post_at(
        &c,
        &format!("{path}/reopen"),
        version(&reopened),
        &json!({"stage_key": "proposal"}),
    )
    .await;
    problem(&r, 409, "invalid-transition").context("reopen an open opportunity")?;

    let history = status(c.get(&format!("{path}/stage-history")).await, 200)?;
    let steps: Vec<(Value, Value)> = history["data"]
        .as_array()
        .context("history")?
        .iter()
        .map(|h| (h["from_key"].clone(), h["to_key"].clone()))
        .collect();
    ensure!(
        steps
            == [
                (Value::Null, json!("qualification")),
                (json!("qualification"), json!("closed_lost")),
                (json!("closed_lost"), json!("negotiation")),
            ],
        "history: {steps:?}"
    );
    let last = &history["data"][2];
    ensure!(
        last["amount_micros"] == 7_000_000
            && last["currency"] == "EUR"
            && last["probability"] == 80
            && last["changed_by"] == json!(c.actor.user_id)
            && last["changed_at"].is_string(),
        "a history row: {last}"
    );
    Ok(())
}

async fn stages_of_other_pipelines_and_companies_of_other_tenants_are_refused(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let other_tenant = s.signup().await?.admin;
    let mine = opportunity(&c, json!({"name": "In the default"})).await?;
    let other = status(
        c.post(
            "/pipelines",
            &json!({"name": format!("Renewals {}", word())}),
        )
        .await,
        201,
    )?;
    let stages = status(
        c.get(&format!("/pipelines/{}/stages", id(&other))).await,
        200,
    )?;
    let foreign_stage = stages["data"][1]["id"].clone();
    ensure!(foreign_stage.is_string(), "stages: {stages}");
    let theirs = status(
        other_tenant
            .post("/companies", &json!({"name": "Theirs"}))
            .await,
        201,
    )?;
    let before = count(&c, "opportunities").await?;
    for (body, field) in [
        (json!({"name": "X", "stage_id": foreign_stage}), "stage_id"),
        (
            json!({"name": "X", "pipeline_id": mine["pipeline_id"], "stage_id": foreign_stage}),
            "stage_id",
        ),
        (
            json!({"name": "X", "company_id": theirs["id"]}),
            "company_id",
        ),
        (
            json!({"name": "X", "pipeline_id": uuid::Uuid::new_v4()}),
            "pipeline_id",
        ),
    ] {
        let r = c.post("/opportunities", &body).await;
        problem(&r, 422, "unknown-reference").with_context(|| body.to_string())?;
        ensure!(fields(&r) == [field], "{body}: fields {:?}", fields(&r));
    }
    ensure!(
        count(&c, "opportunities").await? == before,
        "nothing written"
    );
    let path = format!("/opportunities/{}", id(&mine));
    let r = post_at(
        &c,
        &format!("{path}/move"),
        1,
        &json!({"stage_id": foreign_stage}),
    )
    .await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(fields(&r) == ["stage_id"], "fields {:?}", fields(&r));
    let r = c
        .patch(&path, 1, &json!({"company_id": theirs["id"]}))
        .await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(fields(&r) == ["company_id"], "fields {:?}", fields(&r));
    ensure!(
        status(c.get(&path).await, 200)? == mine,
        "the opportunity is unchanged"
    );
    problem(&other_tenant.get(&path).await, 404, "not-found")?;
    problem(
        &other_tenant.get(&format!("{path}/stage-history")).await,
        404,
        "not-found",
    )?;
    Ok(())
}
