use chrono::Utc;
use crm_core::Role;
use crm_core::outbox::EventHandler;
use serde_json::json;

use crate::{id, money, opportunity, pipeline, spawn, stage};

#[tokio::test]
async fn an_older_version_arriving_after_a_newer_one_changes_nothing() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let opp = id();
    let v3 = opportunity(
        &rep.actor,
        "updated",
        opp,
        3,
        json!({"amount": money(3_000_000, "EUR")}),
    );
    let v2 = opportunity(
        &rep.actor,
        "updated",
        opp,
        2,
        json!({"amount": money(2_000_000, "EUR")}),
    );
    app.apply_all(&[v3, v2]).await;
    let totals = rep.get("/analytics/totals").await.expect(200);
    assert_eq!(totals["opportunities"]["live"], 1);
    assert_eq!(
        totals["opportunities"]["amounts"],
        json!([{"status": "open", "currency": "EUR", "count": 1, "amount_micros": 3_000_000}])
    );
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM crm_analytics.opportunities WHERE id = $1")
            .bind(opp)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(version, 3);
}

#[tokio::test]
async fn a_duplicate_delivery_is_counted_once() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let created = opportunity(
        &rep.actor,
        "created",
        id(),
        1,
        json!({"amount": money(5, "USD")}),
    );
    assert!(app.apply(&created).await);
    assert!(
        !app.apply(&created).await,
        "the same event id is applied once"
    );
    // A republished change under a new id carries the same version and changes nothing.
    let mut again = created.clone();
    again.event_id = id();
    assert!(app.apply(&again).await);
    let totals = rep.get("/analytics/totals").await.expect(200);
    assert_eq!(totals["opportunities"]["by_status"]["open"], 1);
    assert_eq!(totals["opportunities"]["amounts"][0]["amount_micros"], 5);
}

#[tokio::test]
async fn a_deleted_opportunity_is_excluded_and_included_again_once_restored() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let opp = id();
    let amount = json!({"amount": money(7_000_000, "EUR"), "probability": 50});
    let created = opportunity(&rep.actor, "created", opp, 1, amount.clone());
    app.apply(&created).await;
    let deleted = opportunity(
        &rep.actor,
        "deleted",
        opp,
        2,
        json!({"amount": money(7_000_000, "EUR"), "probability": 50, "deleted_at": Utc::now()}),
    );
    app.apply(&deleted).await;
    let board = rep.get("/analytics/pipeline").await.expect(200);
    assert_eq!(board["total"]["count"], 0);
    let totals = rep.get("/analytics/totals").await.expect(200);
    assert_eq!(
        (
            totals["opportunities"]["live"].clone(),
            totals["opportunities"]["deleted"].clone()
        ),
        (json!(0), json!(1))
    );

    // A late copy of the creation must not bring it back.
    let mut late = created.clone();
    late.event_id = id();
    app.apply(&late).await;
    assert_eq!(
        rep.get("/analytics/pipeline").await.expect(200)["total"]["count"],
        0
    );

    app.apply(&opportunity(&rep.actor, "restored", opp, 3, amount))
        .await;
    let board = rep.get("/analytics/pipeline").await.expect(200);
    assert_eq!(board["total"]["count"], 1);
    assert_eq!(
        board["total"]["by_currency"],
        json!([{"currency": "EUR", "count": 1, "amount_micros": 7_000_000, "weighted_amount_micros": 3_500_000}])
    );
}

#[tokio::test]
async fn currencies_are_never_added_together() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    app.apply_all(&[
        opportunity(
            a,
            "created",
            id(),
            1,
            json!({"amount": money(1_000_000, "EUR"), "probability": 50}),
        ),
        // 333_333 × 50 % = 166_666.5 → rounded down once for the entry.
        opportunity(
            a,
            "created",
            id(),
            1,
            json!({"amount": money(333_333, "EUR"), "probability": 50}),
        ),
        opportunity(
            a,
            "created",
            id(),
            1,
            json!({"amount": money(2_000_000, "usd"), "probability": 25}),
        ),
        opportunity(a, "created", id(), 1, json!({"amount": null})),
    ])
    .await;
    let board = rep.get("/analytics/pipeline").await.expect(200);
    let stages = board["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 1, "one stage: {board}");
    assert_eq!(stages[0]["key"], "prospecting");
    assert_eq!(stages[0]["count"], 4, "the amount-less one is counted");
    assert_eq!(
        stages[0]["by_currency"],
        json!([
            {"currency": "EUR", "count": 2, "amount_micros": 1_333_333, "weighted_amount_micros": 666_666},
            {"currency": "USD", "count": 1, "amount_micros": 2_000_000, "weighted_amount_micros": 500_000},
        ])
    );
}

#[tokio::test]
async fn the_board_lists_the_default_pipelines_stages_in_position_order() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    let (main, other) = (id(), id());
    let (early, late, elsewhere, gone, retired) = (id(), id(), id(), id(), id());
    let deleted = |stage: crm_core::EventEnvelope| {
        let mut e = stage.clone();
        e.event_id = id();
        e.data["version"] = json!(2);
        e.data["deleted_at"] = json!(Utc::now());
        [stage, e]
    };
    app.apply_all(&deleted(stage(a, gone, main, "dropped", 4, 60)))
        .await;
    app.apply_all(&deleted(stage(a, retired, main, "retired", 5, 70)))
        .await;
    app.apply_all(&[
        pipeline(a, main, "Main", true),
        pipeline(a, other, "Other", false),
        // Stage events arrive in the wrong order; position decides.
        stage(a, late, main, "proposal", 3, 50),
        stage(a, early, main, "qualification", 2, 20),
        stage(a, elsewhere, other, "intro", 1, 10),
        opportunity(a, "created", id(), 1, json!({"pipeline_id": main, "stage_id": late, "stage_key": "proposal", "amount": money(10, "EUR"), "probability": 50})),
        opportunity(a, "created", id(), 1, json!({"pipeline_id": other, "stage_id": elsewhere, "stage_key": "intro", "amount": money(99, "EUR")})),
        // A deleted stage keeps its place while open opportunities still sit in it.
        opportunity(a, "created", id(), 1, json!({"pipeline_id": main, "stage_id": retired, "stage_key": "retired"})),
        // Closed ones are not on the board.
        opportunity(a, "won", id(), 2, json!({"pipeline_id": main, "stage_id": late, "status": "won", "amount": money(1, "EUR")})),
    ])
    .await;
    let board = rep.get("/analytics/pipeline").await.expect(200);
    assert_eq!(board["pipeline_id"], json!(main));
    assert_eq!(board["pipeline_name"], "Main");
    let keys: Vec<&str> = board["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["qualification", "proposal", "retired"]);
    assert_eq!(board["stages"][2]["label"], "RETIRED");
    assert_eq!(board["stages"][0]["label"], "QUALIFICATION");
    assert_eq!(board["stages"][0]["count"], 0);
    assert_eq!(board["stages"][1]["count"], 1);
    assert_eq!(
        board["stages"][1]["by_currency"][0]["weighted_amount_micros"],
        5
    );

    let board = rep
        .get(&format!("/analytics/pipeline?pipeline_id={other}"))
        .await
        .expect(200);
    assert_eq!(board["pipeline_name"], "Other");
    assert_eq!(board["total"]["by_currency"][0]["amount_micros"], 99);
}

#[tokio::test]
async fn unknown_events_are_ignored_and_unreadable_records_are_refused() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let company = crm_core::EventEnvelope::new(
        &rep.actor,
        "company",
        "created",
        id(),
        json!({"name": "Initech"}),
    );
    assert!(!app.handler.wants(&company));
    assert!(app.apply(&company).await, "applied as a no-op");
    // A new action on a projected object still carries the record, so it is projected.
    app.apply(&opportunity(&rep.actor, "merged", id(), 1, json!({})))
        .await;
    assert_eq!(
        rep.get("/analytics/totals").await.expect(200)["opportunities"]["live"],
        1
    );

    let broken = crm_core::EventEnvelope::new(
        &rep.actor,
        "opportunity",
        "updated",
        id(),
        json!({"status": "open"}),
    );
    let result = crm_core::outbox::apply(&app.pool, &app.handler, &broken).await;
    assert!(
        result.is_err(),
        "no version: parked for inspection, not skipped"
    );
}
