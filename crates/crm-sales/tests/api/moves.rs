use crm_core::Role;
use crm_testkit::server::Method;
use serde_json::{Value, json};

use crate::{act, events_of, fields, id, spawn, version};

async fn stage_id(c: &crm_testkit::server::Client, opp: &Value, key: &str) -> Value {
    let stages = c
        .get(&format!(
            "/pipelines/{}/stages",
            opp["pipeline_id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    stages["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .map(|s| s["id"].clone())
        .expect("stage")
}

#[tokio::test]
async fn moving_through_stages_records_history_and_events() {
    let (server, pool, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post(
            "/opportunities",
            &json!({"name": "Deal", "amount": {"amount_micros": 7_000_000, "currency": "EUR"}}),
        )
        .await
        .expect(201);
    let path = format!("/opportunities/{}", id(&opp));
    let opp = act(
        &rep,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "proposal"}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (opp["stage_key"].clone(), opp["probability"].clone()),
        (json!("proposal"), json!(50))
    );
    let negotiation = stage_id(&rep, &opp, "negotiation").await;
    let opp = act(
        &rep,
        &format!("{path}/move"),
        version(&opp),
        &json!({"stage_id": negotiation}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (opp["stage_key"].clone(), opp["forecast_category"].clone()),
        (json!("negotiation"), json!("commit"))
    );

    let history = rep.get(&format!("{path}/stage-history")).await.expect(200);
    let rows = history["data"].as_array().unwrap();
    let steps: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|h| {
            (
                h["from_key"].clone(),
                h["to_key"].clone(),
                h["probability"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (json!(null), json!("prospecting"), json!(10)),
            (json!("prospecting"), json!("proposal"), json!(50)),
            (json!("proposal"), json!("negotiation"), json!(80)),
        ]
    );
    assert_eq!(
        (
            rows[2]["amount_micros"].clone(),
            rows[2]["currency"].clone()
        ),
        (json!(7_000_000), json!("EUR"))
    );
    assert_eq!(rows[2]["changed_by"], rep.actor.user_id.to_string());
    assert_eq!(rows[2]["to_stage_id"], negotiation);

    assert_eq!(
        events_of(&pool, &id(&opp)).await,
        [
            "opportunity.created",
            "opportunity.updated",
            "opportunity.stage_changed",
            "opportunity.updated",
            "opportunity.stage_changed",
        ]
    );
    let changed: Value = sqlx::query_scalar(
        "SELECT payload FROM crm_core.outbox WHERE event = 'opportunity.stage_changed' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        changed["changes"],
        json!({"stage": {"from": "proposal", "to": "negotiation"}})
    );
    assert_eq!(changed["data"]["stage_key"], "negotiation");
    assert_eq!(changed["data"]["version"], opp["version"]);
}

#[tokio::test]
async fn winning_sets_probability_100_and_closed_at() {
    let (server, pool, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post(
            "/opportunities",
            &json!({"name": "Deal", "probability": 35}),
        )
        .await
        .expect(201);
    assert_eq!(opp["probability"], 35);
    let won = act(
        &rep,
        &format!("/opportunities/{}/move", id(&opp)),
        1,
        &json!({"stage_key": "closed_won"}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (won["status"].clone(), won["probability"].clone()),
        (json!("won"), json!(100))
    );
    assert_eq!(won["forecast_category"], "closed");
    assert!(won["closed_at"].is_string());
    let events = events_of(&pool, &id(&opp)).await;
    assert_eq!(events.last().map(String::as_str), Some("opportunity.won"));
}

#[tokio::test]
async fn losing_without_a_reason_is_refused_and_changes_nothing() {
    let (server, pool, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post("/opportunities", &json!({"name": "Deal"}))
        .await
        .expect(201);
    let path = format!("/opportunities/{}", id(&opp));
    let r = act(
        &rep,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "closed_lost"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["errors"],
        json!([{"field": "loss_reason", "message": "is required when the stage is lost"}])
    );
    let r = rep
        .patch(
            &path,
            1,
            &json!({"stage_key": "closed_lost", "loss_reason": "  "}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["loss_reason".to_owned()])
    );
    let same = rep.get(&path).await.expect(200);
    assert_eq!(same, opp);
    assert_eq!(events_of(&pool, &id(&opp)).await, ["opportunity.created"]);

    let lost = act(
        &rep,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "closed_lost", "loss_reason": "Price"}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (lost["status"].clone(), lost["probability"].clone()),
        (json!("lost"), json!(0))
    );
    assert_eq!(lost["loss_reason"], "Price");
    assert!(lost["closed_at"].is_string());
    assert_eq!(
        events_of(&pool, &id(&opp)).await.last().map(String::as_str),
        Some("opportunity.lost")
    );
    // The reason of a lost opportunity can be corrected, not removed.
    let r = rep
        .patch(&path, version(&lost), &json!({"loss_reason": null}))
        .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["loss_reason".to_owned()])
    );
    let fixed = rep
        .patch(&path, version(&lost), &json!({"loss_reason": "Timing"}))
        .await
        .expect(200);
    assert_eq!(fixed["loss_reason"], "Timing");
}

#[tokio::test]
async fn a_closed_opportunity_cannot_change_stage_until_reopened() {
    let (server, pool, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post(
            "/opportunities",
            &json!({"name": "Deal", "stage_key": "closed_won"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (opp["status"].clone(), opp["probability"].clone()),
        (json!("won"), json!(100))
    );
    let path = format!("/opportunities/{}", id(&opp));
    let r = act(
        &rep,
        &format!("{path}/move"),
        1,
        &json!({"stage_key": "proposal"}),
        &[],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    let r = rep
        .patch(
            &path,
            1,
            &json!({"stage_key": "closed_lost", "loss_reason": "x"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    let r = rep.patch(&path, 1, &json!({"probability": 50})).await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["probability".to_owned()])
    );
    assert_eq!(rep.get(&path).await.expect(200), opp);

    let r = act(
        &rep,
        &format!("{path}/reopen"),
        1,
        &json!({"stage_key": "closed_lost"}),
        &[],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stage_key".to_owned()])
    );
    let r = act(&rep, &format!("{path}/reopen"), 1, &json!({}), &[]).await;
    assert_eq!(r.status, 422);
    let reopened = act(
        &rep,
        &format!("{path}/reopen"),
        1,
        &json!({"stage_key": "negotiation"}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (reopened["status"].clone(), reopened["probability"].clone()),
        (json!("open"), json!(80))
    );
    assert_eq!(
        (
            reopened["closed_at"].clone(),
            reopened["loss_reason"].clone()
        ),
        (json!(null), json!(null))
    );
    let r = act(
        &rep,
        &format!("{path}/reopen"),
        version(&reopened),
        &json!({"stage_key": "proposal"}),
        &[],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    assert_eq!(
        events_of(&pool, &id(&opp)).await,
        [
            "opportunity.created",
            "opportunity.won",
            "opportunity.updated",
            "opportunity.stage_changed",
            "opportunity.reopened",
        ]
    );
    let history = rep.get(&format!("{path}/stage-history")).await.expect(200);
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn actions_need_if_match_and_replay_with_an_idempotency_key() {
    let (server, _, _) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let opp = rep
        .post("/opportunities", &json!({"name": "Deal"}))
        .await
        .expect(201);
    let move_path = format!("/opportunities/{}/move", id(&opp));
    let body = json!({"stage_key": "qualification"});
    let r = rep.send(Method::POST, &move_path, Some(&body), &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (428, "precondition-required")
    );
    let r = act(&rep, &move_path, 7, &body, &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["current_version"].clone()),
        (412, json!(1))
    );
    let key = [("idempotency-key", "move-once-1")];
    let first = act(&rep, &move_path, 1, &body, &key).await;
    let again = act(&rep, &move_path, 1, &body, &key).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.expect(200), again.expect(200));
    let history = rep
        .get(&format!("/opportunities/{}/stage-history", id(&opp)))
        .await
        .expect(200);
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
    let r = act(&rep, &move_path, 2, &json!({"loss_reason": "x"}), &[]).await;
    assert_eq!(
        (r.status.as_u16(), fields(&r)),
        (422, vec!["stage_id".to_owned()])
    );
}
