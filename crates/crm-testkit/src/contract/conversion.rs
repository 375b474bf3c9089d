//! Lead conversion: from a new lead to a won opportunity, the duplicate check, replays
//! with an idempotency key, and all-or-nothing when a step fails.

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::server::Method;

use super::leads::{new_lead, written};
use super::{Check, Suite, check, fields, id, pluck, post_at, problem, status, version, word};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(a_lead_walks_from_new_through_conversion_to_a_won_opportunity),
    check!(possible_duplicates_stop_a_conversion_until_skipped),
    check!(converting_twice_conflicts_but_a_repeated_key_replays),
    check!(a_failing_conversion_step_writes_nothing),
    check!(conversion_errors_name_fields_by_their_place_in_the_request),
];

async fn a_lead_walks_from_new_through_conversion_to_a_won_opportunity(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let w = word();
    let value = json!({"amount_micros": 25_000_000_000i64, "currency": "EUR"});
    let lead = new_lead(
        &c,
        json!({"name": "Grace Hopper", "company_name": format!("Navy {w}"), "email": format!("grace@{w}.test"), "estimated_value": value}),
    )
    .await?;
    let path = format!("/leads/{}", id(&lead));
    let a = status(
        c.post(
            &format!("{path}/assign"),
            &json!({"owner_id": c.actor.user_id}),
        )
        .await,
        200,
    )?;
    ensure!(a["status"] == "assigned", "assigned: {a}");
    let q = status(c.post(&format!("{path}/qualify"), &json!({})).await, 200)?;
    ensure!(q["status"] == "working", "working: {q}");
    let conv = status(
        c.post(&format!("{path}/convert"), &json!({"opportunity": {}}))
            .await,
        200,
    )?;
    let (l, co, ct, o) = (
        &conv["lead"],
        &conv["company"],
        &conv["contact"],
        &conv["opportunity"],
    );
    ensure!(
        l["status"] == "converted"
            && l["converted_company_id"] == co["id"]
            && l["converted_contact_id"] == ct["id"]
            && l["converted_opportunity_id"] == o["id"],
        "lead: {l}"
    );
    ensure!(co["name"] == format!("Navy {w}").as_str(), "company: {co}");
    ensure!(
        ct["first_name"] == "Grace"
            && ct["last_name"] == "Hopper"
            && ct["company_id"] == co["id"]
            && ct["emails"] == json!([format!("grace@{w}.test")]),
        "contact: {ct}"
    );
    ensure!(
        o["amount"] == value
            && o["stage_key"] == "prospecting"
            && o["company_id"] == co["id"]
            && o["primary_contact_id"] == ct["id"]
            && o["original_lead_id"] == lead["id"],
        "opportunity: {o}"
    );
    let read = status(c.get(&path).await, 200)?;
    ensure!(read == *l, "the lead reads as converted");
    ensure!(written(&c).await? == (1, 1, 1), "one of each written");

    let opp = format!("/opportunities/{}", id(o));
    let mut current = o.clone();
    for key in ["qualification", "proposal", "negotiation", "closed_won"] {
        current = status(
            post_at(
                &c,
                &format!("{opp}/move"),
                version(&current),
                &json!({"stage_key": key}),
            )
            .await,
            200,
        )
        .with_context(|| format!("move to {key}"))?;
    }
    ensure!(
        current["status"] == "won"
            && current["probability"] == 100
            && current["closed_at"].is_string()
            && current["forecast_category"] == "closed",
        "won: {current}"
    );
    let history = status(c.get(&format!("{opp}/stage-history")).await, 200)?;
    let steps: Vec<(Value, Value)> = history["data"]
        .as_array()
        .context("history")?
        .iter()
        .map(|h| (h["from_key"].clone(), h["to_key"].clone()))
        .collect();
    let keys = [
        "prospecting",
        "qualification",
        "proposal",
        "negotiation",
        "closed_won",
    ];
    let expected: Vec<(Value, Value)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                i.checked_sub(1).map_or(Value::Null, |p| json!(keys[p])),
                json!(k),
            )
        })
        .collect();
    ensure!(steps == expected, "every step in the history: {steps:?}");
    ensure!(
        pluck(&history, "probability") == [json!(10), json!(20), json!(50), json!(80), json!(100)],
        "probabilities on entering: {history}"
    );
    Ok(())
}

async fn possible_duplicates_stop_a_conversion_until_skipped(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let w = word();
    let company = status(
        c.post(
            "/companies",
            &json!({"name": format!("Globex {w}"), "domain": format!("{w}.test")}),
        )
        .await,
        201,
    )?;
    let contact = status(
        c.post(
            "/contacts",
            &json!({"first_name": "Hank", "last_name": format!("Scorpio{w}")}),
        )
        .await,
        201,
    )?;
    let lead = new_lead(
        &c,
        json!({"name": format!("Hank Scorpio{w}"), "company_name": format!("Globex {w}")}),
    )
    .await?;
    let path = format!("/leads/{}/convert", id(&lead));
    let r = c.post(&path, &json!({})).await;
    problem(&r, 409, "duplicates-found")?;
    let candidates = &r.body["candidates"];
    ensure!(
        candidates["companies"][0]["record"]["id"] == company["id"]
            && candidates["contacts"][0]["record"]["id"] == contact["id"],
        "candidates: {candidates}"
    );
    ensure!(written(&c).await? == (1, 1, 0), "nothing written");
    let now = status(c.get(&format!("/leads/{}", id(&lead))).await, 200)?;
    ensure!(now == lead, "the lead is untouched: {now}");

    let ok = status(
        c.send(
            Method::POST,
            &path,
            Some(&json!({})),
            &[("x-skip-duplicate-check", "true")],
        )
        .await,
        200,
    )?;
    ensure!(
        ok["lead"]["status"] == "converted"
            && ok["company"]["id"] != company["id"]
            && ok["contact"]["id"] != contact["id"]
            && ok["opportunity"].is_null(),
        "converted into new records: {ok}"
    );
    ensure!(written(&c).await? == (2, 2, 0), "one more of each");
    Ok(())
}

async fn converting_twice_conflicts_but_a_repeated_key_replays(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let w = word();
    let lead = new_lead(
        &c,
        json!({"name": "Once", "company_name": format!("Twice {w}")}),
    )
    .await?;
    let path = format!("/leads/{}/convert", id(&lead));
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"opportunity": {}});
    let headers = [("idempotency-key", key.as_str())];
    let first = c.send(Method::POST, &path, Some(&body), &headers).await;
    let again = c.send(Method::POST, &path, Some(&body), &headers).await;
    ensure!(
        first.status == 200 && again.status == 200,
        "both 200: {} {}",
        first.status,
        again.body
    );
    ensure!(first.body == again.body, "the same body");
    ensure!(
        again.header("idempotent-replayed") == Some("true"),
        "replay marked"
    );
    problem(&c.post(&path, &body).await, 409, "already-converted")?;
    ensure!(written(&c).await? == (1, 1, 1), "converted once");
    let now = status(c.get(&format!("/leads/{}", id(&lead))).await, 200)?;
    ensure!(now == first.body["lead"], "the lead as first converted");
    Ok(())
}

async fn a_failing_conversion_step_writes_nothing(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let w = word();
    let lead = new_lead(
        &c,
        json!({"name": "Roll Back", "company_name": format!("Never Made {w}")}),
    )
    .await?;
    let path = format!("/leads/{}/convert", id(&lead));
    let r = c
        .post(
            &path,
            &json!({"opportunity": {"stage_key": "no_such_stage"}}),
        )
        .await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(
        fields(&r).iter().any(|f| f.starts_with("opportunity.")),
        "the opportunity's field is named: {:?}",
        fields(&r)
    );
    let r = c
        .post(&path, &json!({"company": {"id": uuid::Uuid::new_v4()}}))
        .await;
    problem(&r, 422, "unknown-reference")?;
    ensure!(fields(&r) == ["company.id"], "fields {:?}", fields(&r));
    ensure!(written(&c).await? == (0, 0, 0), "nothing written");
    let now = status(c.get(&format!("/leads/{}", id(&lead))).await, 200)?;
    ensure!(
        now["status"] == "new" && version(&now) == 1 && now == lead,
        "the lead is still open and unchanged: {now}"
    );
    Ok(())
}

async fn conversion_errors_name_fields_by_their_place_in_the_request(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let lead = new_lead(
        &c,
        json!({"name": "Named", "company_name": format!("Fields {}", word())}),
    )
    .await?;
    let path = format!("/leads/{}/convert", id(&lead));
    // A contact without a name and with a bad e-mail: both are the contact data's fields.
    let body = json!({"contact": {"data": {"emails": ["not-an-email"]}}});
    for skip in ["false", "true"] {
        let r = c
            .send(
                Method::POST,
                &path,
                Some(&body),
                &[("x-skip-duplicate-check", skip)],
            )
            .await;
        problem(&r, 422, "validation").with_context(|| format!("skip {skip}"))?;
        ensure!(
            !fields(&r).is_empty() && fields(&r).iter().all(|f| f.starts_with("contact.data.")),
            "skip {skip}: fields named where they are in the request: {}",
            r.body
        );
    }
    // A target naming no record and giving no data is refused where it stands, and the
    // published schema says so (schema-valid requests are never refused).
    for (body, field, code) in [
        (json!({"contact": {"data": null}}), "contact", "validation"),
        (json!({"company": {}}), "company", "inconsistent"),
    ] {
        let r = c.post(&path, &body).await;
        problem(&r, 422, code).with_context(|| format!("{body}"))?;
        ensure!(fields(&r) == [field], "{body}: names {field}: {}", r.body);
    }
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.root))
        .await?
        .json()
        .await?;
    let schemas = doc["components"]["schemas"]
        .as_object()
        .context("the document's schemas")?;
    let targets: Vec<_> = schemas
        .iter()
        .filter(|(k, _)| k.starts_with("Target"))
        .collect();
    ensure!(
        targets.len() == 2,
        "company and contact targets: {:?}",
        schemas.keys()
    );
    for (name, schema) in targets {
        ensure!(
            schema["anyOf"].as_array().is_some_and(|a| a.len() == 2),
            "{name}: {schema}"
        );
    }
    ensure!(written(&c).await? == (0, 0, 0), "nothing written");
    ensure!(
        status(c.get(&format!("/leads/{}", id(&lead))).await, 200)? == lead,
        "the lead is unchanged"
    );
    Ok(())
}
