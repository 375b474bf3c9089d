//! Leads: scoring, the status machine through the action routes, round-robin assignment
//! and roles. Conversion is in [`super::conversion`].

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crm_core::Role;

use crate::server::Client;

use super::{Check, Suite, check, count, fields, id, problem, status, version};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(a_new_lead_is_scored_with_its_reasons),
    check!(the_lead_status_machine_refuses_shortcuts_and_changes_nothing),
    check!(disqualifying_a_lead_needs_a_reason_named_in_the_error),
    check!(leads_are_assigned_round_robin_among_reps),
    check!(a_viewer_cannot_write_leads),
];

pub(super) async fn new_lead(c: &Client, body: Value) -> anyhow::Result<Value> {
    status(c.post("/leads", &body).await, 201).context("create lead")
}

/// The three collections a conversion writes to, counted.
pub(super) async fn written(c: &Client) -> anyhow::Result<(i64, i64, i64)> {
    Ok((
        count(c, "companies").await?,
        count(c, "contacts").await?,
        count(c, "opportunities").await?,
    ))
}

async fn a_new_lead_is_scored_with_its_reasons(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let lead = new_lead(&c, json!({"name": "Ada Lovelace", "email": "ADA@engine.test", "title": "CTO", "source": "referral"})).await?;
    ensure!(
        lead["status"] == "new" && lead["email"] == "ada@engine.test",
        "created: {lead}"
    );
    ensure!(
        lead["score"] == 50 && lead["score_reasons"].as_array().map(Vec::len) == Some(3),
        "score 10 (e-mail) + 20 (senior title) + 20 (referral): {lead}"
    );
    let owned = new_lead(&c, json!({"name": "Bo", "owner_id": c.actor.user_id})).await?;
    ensure!(owned["status"] == "assigned", "an owner assigns: {owned}");
    let r = c
        .post(
            "/leads",
            &json!({"email": "nope", "source": "tv", "estimated_value": {"amount_micros": 1, "currency": "euro"}}),
        )
        .await;
    problem(&r, 422, "validation")?;
    ensure!(
        fields(&r) == ["name", "email", "source", "estimated_value.currency"],
        "every bad field named: {:?}",
        fields(&r)
    );
    ensure!(
        count(&c, "leads").await? == 2,
        "the bad lead was not written"
    );
    Ok(())
}

async fn the_lead_status_machine_refuses_shortcuts_and_changes_nothing(
    s: &Suite,
) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let lead = new_lead(&c, json!({"name": "Machine", "company_name": "Gears"})).await?;
    let path = format!("/leads/{}", id(&lead));
    let act = |action: &'static str, body: Value| {
        let (c, path) = (c.clone(), path.clone());
        async move { c.post(&format!("{path}/{action}"), &body).await }
    };
    let unchanged = |st: &'static str, v: i64| {
        let (c, path) = (c.clone(), path.clone());
        async move {
            let now = status(c.get(&path).await, 200)?;
            ensure!(
                now["status"] == st && version(&now) == v,
                "expected {st} v{v}: {now}"
            );
            anyhow::Ok(())
        }
    };
    // new → working skips assigned; converted comes only through convert.
    problem(&act("qualify", json!({})).await, 409, "invalid-transition")?;
    problem(
        &c.patch(&path, 1, &json!({"status": "converted"})).await,
        409,
        "invalid-transition",
    )?;
    unchanged("new", 1).await?;

    let me = c.actor.user_id;
    let a = status(act("assign", json!({"owner_id": me})).await, 200)?;
    ensure!(
        a["status"] == "assigned" && a["owner_id"] == json!(me),
        "assigned: {a}"
    );
    let w = status(act("qualify", json!({})).await, 200)?;
    ensure!(w["status"] == "working", "working: {w}");
    let r = status(act("recycle", json!({})).await, 200)?;
    ensure!(r["status"] == "recycled", "recycled: {r}");
    problem(&act("qualify", json!({})).await, 409, "invalid-transition")
        .context("recycled → working skips assigned")?;
    unchanged("recycled", version(&r)).await?;
    let a = status(act("assign", json!({"owner_id": me})).await, 200)?;
    ensure!(a["status"] == "assigned", "recycled → assigned: {a}");
    unchanged("assigned", version(&a)).await?;
    let dq = status(act("disqualify", json!({"reason": "no budget"})).await, 200)?;
    ensure!(
        dq["status"] == "disqualified" && dq["disqualify_reason"] == "no budget",
        "disqualified: {dq}"
    );
    for action in ["qualify", "recycle"] {
        problem(&act(action, json!({})).await, 409, "invalid-transition")
            .with_context(|| format!("{action} a disqualified lead"))?;
    }
    problem(&act("convert", json!({})).await, 409, "invalid-transition")?;
    unchanged("disqualified", version(&dq)).await?;
    ensure!(
        written(&c).await? == (0, 0, 0),
        "the refused conversion wrote nothing"
    );
    Ok(())
}

async fn disqualifying_a_lead_needs_a_reason_named_in_the_error(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let lead = new_lead(&c, json!({"name": "Reasonless"})).await?;
    let path = format!("/leads/{}", id(&lead));
    let mut misnamed = Vec::new();
    for body in [json!({}), json!({"reason": "  "}), json!({"reason": null})] {
        let r = c.post(&format!("{path}/disqualify"), &body).await;
        problem(&r, 422, "validation").with_context(|| body.to_string())?;
        // The request's field is `reason`; the error names it so a form can mark it.
        if fields(&r) != ["reason"] {
            misnamed.push(format!("{body} → {}", r.body["errors"]));
        }
    }
    ensure!(
        status(c.get(&path).await, 200)? == lead,
        "refused disqualifications change nothing"
    );
    let dq = status(
        c.post(
            &format!("{path}/disqualify"),
            &json!({"reason": "no budget"}),
        )
        .await,
        200,
    )?;
    ensure!(
        dq["status"] == "disqualified" && dq["disqualify_reason"] == "no budget",
        "disqualified: {dq}"
    );
    ensure!(
        misnamed.is_empty(),
        "errors should name `reason`: {}",
        misnamed.join("; ")
    );
    Ok(())
}

async fn leads_are_assigned_round_robin_among_reps(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let c = &session.admin;
    let lead = new_lead(c, json!({"name": "Nobody to take it"})).await?;
    problem(
        &c.post(&format!("/leads/{}/assign", id(&lead)), &json!({}))
            .await,
        409,
        "no-reps",
    )?;
    let now = status(c.get(&format!("/leads/{}", id(&lead))).await, 200)?;
    ensure!(now == lead, "the refused assignment changed nothing: {now}");
    let r1 = session.user(Role::Rep).await?.actor.user_id;
    let r2 = session.user(Role::Rep).await?.actor.user_id;
    session.user(Role::Manager).await?;
    let mut owners = Vec::new();
    for i in 0..4 {
        let lead = new_lead(c, json!({"name": format!("Round {i}")})).await?;
        let a = status(
            c.post(&format!("/leads/{}/assign", id(&lead)), &json!({}))
                .await,
            200,
        )?;
        ensure!(a["status"] == "assigned", "assigned: {a}");
        owners.push(a["owner_id"].as_str().unwrap_or_default().to_owned());
    }
    let (r1, r2) = (r1.to_string(), r2.to_string());
    ensure!(
        owners[0] != owners[1]
            && owners[0] == owners[2]
            && owners[1] == owners[3]
            && [&owners[0], &owners[1]].contains(&&r1)
            && [&owners[0], &owners[1]].contains(&&r2),
        "the two reps take turns: {owners:?} (reps {r1}, {r2})"
    );
    Ok(())
}

async fn a_viewer_cannot_write_leads(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let c = &session.admin;
    let viewer = session.user(Role::Viewer).await?;
    let lead = new_lead(c, json!({"name": "Look", "company_name": "Don't Touch"})).await?;
    let path = format!("/leads/{}", id(&lead));
    problem(
        &viewer.post("/leads", &json!({"name": "Nope"})).await,
        403,
        "forbidden",
    )?;
    problem(
        &viewer.patch(&path, 1, &json!({"name": "Nope"})).await,
        403,
        "forbidden",
    )?;
    for (action, body) in [
        ("assign", json!({"owner_id": c.actor.user_id})),
        ("disqualify", json!({"reason": "x"})),
        ("recycle", json!({})),
        ("convert", json!({})),
    ] {
        problem(
            &viewer.post(&format!("{path}/{action}"), &body).await,
            403,
            "forbidden",
        )
        .with_context(|| action.to_owned())?;
    }
    problem(&viewer.delete(&path).await, 403, "forbidden")?;
    let now = status(viewer.get(&path).await, 200).context("viewers read")?;
    ensure!(now == lead, "unchanged: {now}");
    ensure!(count(c, "leads").await? == 1, "one lead");
    ensure!(written(c).await? == (0, 0, 0), "nothing converted");
    Ok(())
}
