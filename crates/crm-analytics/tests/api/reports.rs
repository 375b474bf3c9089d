use crm_core::Role;
use serde_json::json;

use crate::{id, lead, money, opportunity, spawn};

#[tokio::test]
async fn the_forecast_by_quarter_counts_won_as_closed_and_lost_as_omitted() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    let opp = |close: &str, status: &str, category: &str, amount: serde_json::Value, p: i32| {
        opportunity(
            a,
            "updated",
            id(),
            2,
            json!({"close_date": close, "status": status,
            "forecast_category": category, "amount": amount, "probability": p}),
        )
    };
    app.apply_all(&[
        opp("2025-01-15", "open", "pipeline", money(100, "EUR"), 10),
        opp("2025-02-20", "open", "commit", money(200, "EUR"), 80),
        opp("2025-03-31", "won", "commit", money(50, "EUR"), 100),
        opp("2025-04-01", "open", "best_case", money(1000, "USD"), 50),
        opp("2025-05-01", "lost", "pipeline", money(10, "EUR"), 0),
        opp("2024-12-31", "open", "pipeline", money(7, "EUR"), 10),
        opportunity(a, "created", id(), 1, json!({"amount": money(3, "EUR")})),
    ])
    .await;
    let f = rep
        .get("/analytics/forecast?period=quarter&from=2025-01-01&to=2025-06-30")
        .await
        .expect(200);
    let entry = |currency: &str, count: i64, amount: i64, weighted: i64| json!([{"currency": currency, "count": count, "amount_micros": amount, "weighted_amount_micros": weighted}]);
    assert_eq!(
        f,
        json!({
            "period": "quarter", "from": "2025-01-01", "to": "2025-06-30",
            "periods": [
                {"period": "2025-Q1", "start": "2025-01-01", "end": "2025-03-31", "categories": [
                    {"forecast_category": "pipeline", "count": 1, "by_currency": entry("EUR", 1, 100, 10)},
                    {"forecast_category": "commit", "count": 1, "by_currency": entry("EUR", 1, 200, 160)},
                    {"forecast_category": "closed", "count": 1, "by_currency": entry("EUR", 1, 50, 50)},
                ]},
                {"period": "2025-Q2", "start": "2025-04-01", "end": "2025-06-30", "categories": [
                    {"forecast_category": "best_case", "count": 1, "by_currency": entry("USD", 1, 1000, 500)},
                    {"forecast_category": "omitted", "count": 1, "by_currency": entry("EUR", 1, 10, 0)},
                ]},
            ]
        })
    );
    let months = rep
        .get("/analytics/forecast?period=month")
        .await
        .expect(200);
    let labels: Vec<&str> = months["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05"
        ]
    );
}

#[tokio::test]
async fn the_win_rate_counts_what_closed_in_the_range_by_count_and_by_amount() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    let (alice, bob) = (id(), id());
    let closed = |owner, status: &str, at: &str, amount: serde_json::Value| {
        opportunity(
            a,
            status,
            id(),
            3,
            json!({"status": status, "owner_id": owner, "closed_at": at, "amount": amount}),
        )
    };
    app.apply_all(&[
        closed(alice, "won", "2025-03-01T10:00:00Z", money(300, "EUR")),
        closed(alice, "lost", "2025-03-02T10:00:00Z", money(100, "EUR")),
        closed(alice, "won", "2025-03-31T23:59:59Z", money(50, "USD")),
        closed(alice, "lost", "2025-03-15T10:00:00Z", json!(null)),
        closed(bob, "won", "2025-03-10T10:00:00Z", money(1000, "EUR")),
        closed(bob, "won", "2025-04-01T00:00:00Z", money(5, "EUR")),
        opportunity(
            a,
            "created",
            id(),
            1,
            json!({"owner_id": alice, "amount": money(9, "EUR")}),
        ),
    ])
    .await;
    let all = rep
        .get("/analytics/win-rate?from=2025-03-01&to=2025-03-31")
        .await
        .expect(200);
    assert_eq!(
        (
            all["won"].clone(),
            all["lost"].clone(),
            all["win_rate"].clone()
        ),
        (json!(3), json!(2), json!(0.6))
    );
    assert_eq!(
        all["by_currency"],
        json!([
            {"currency": "EUR", "won": 2, "lost": 1, "won_amount_micros": 1300, "lost_amount_micros": 100, "win_rate_by_amount": 1300.0 / 1400.0},
            {"currency": "USD", "won": 1, "lost": 0, "won_amount_micros": 50, "lost_amount_micros": 0, "win_rate_by_amount": 1.0},
        ])
    );
    let mine = rep
        .get(&format!(
            "/analytics/win-rate?from=2025-03-01&to=2025-03-31&owner_id={alice}"
        ))
        .await
        .expect(200);
    assert_eq!(
        (
            mine["won"].clone(),
            mine["lost"].clone(),
            mine["win_rate"].clone()
        ),
        (json!(2), json!(2), json!(0.5))
    );
    assert_eq!(mine["by_currency"][0]["win_rate_by_amount"], 0.75);
    let none = rep
        .get("/analytics/win-rate?from=2020-01-01&to=2020-12-31")
        .await
        .expect(200);
    assert_eq!(
        (none["won"].clone(), none["win_rate"].clone()),
        (json!(0), json!(null))
    );
}

#[tokio::test]
async fn the_funnel_counts_leads_created_in_the_range_by_status() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    let jan = "2025-01-10T12:00:00Z";
    let l = |status: &str, created: &str| {
        lead(
            a,
            "updated",
            id(),
            2,
            json!({"status": status, "created_at": created}),
        )
    };
    app.apply_all(&[
        l("new", jan),
        l("working", jan),
        l("converted", jan),
        l("converted", "2025-01-31T23:00:00Z"),
        l("disqualified", jan),
        l("new", "2025-02-01T00:00:00Z"),
        lead(
            a,
            "deleted",
            id(),
            3,
            json!({"status": "converted", "created_at": jan, "deleted_at": jan}),
        ),
    ])
    .await;
    let f = rep
        .get("/analytics/funnel?from=2025-01-01&to=2025-01-31")
        .await
        .expect(200);
    assert_eq!(
        f,
        json!({
            "from": "2025-01-01", "to": "2025-01-31", "total": 5,
            "by_status": {"assigned": 0, "converted": 2, "disqualified": 1, "new": 1, "recycled": 0, "working": 1},
            "converted": 2, "conversion_rate": 0.4,
        })
    );
    assert_eq!(rep.get("/analytics/funnel").await.expect(200)["total"], 6);
}

#[tokio::test]
async fn totals_count_live_records_by_status_and_sum_amounts_by_status_and_currency() {
    let app = spawn().await;
    let rep = app.server.new_tenant(Role::Rep);
    let a = &rep.actor;
    let now = chrono::Utc::now();
    app.apply_all(&[
        opportunity(a, "created", id(), 1, json!({"amount": money(10, "EUR")})),
        opportunity(a, "created", id(), 1, json!({"amount": money(20, "EUR")})),
        opportunity(a, "created", id(), 1, json!({"amount": money(5, "USD")})),
        opportunity(
            a,
            "won",
            id(),
            4,
            json!({"status": "won", "amount": money(100, "EUR")}),
        ),
        opportunity(a, "lost", id(), 4, json!({"status": "lost"})),
        opportunity(
            a,
            "deleted",
            id(),
            2,
            json!({"amount": money(1000, "EUR"), "deleted_at": now}),
        ),
        lead(a, "created", id(), 1, json!({})),
        lead(a, "created", id(), 1, json!({})),
        lead(
            a,
            "converted",
            id(),
            5,
            json!({"status": "converted", "converted_at": now}),
        ),
        lead(
            a,
            "deleted",
            id(),
            2,
            json!({"status": "working", "deleted_at": now}),
        ),
    ])
    .await;
    let totals = rep.get("/analytics/totals").await.expect(200);
    assert_eq!(
        totals,
        json!({
            "opportunities": {
                "live": 5, "deleted": 1,
                "by_status": {"lost": 1, "open": 3, "won": 1},
                "amounts": [
                    {"status": "open", "currency": "EUR", "count": 2, "amount_micros": 30},
                    {"status": "open", "currency": "USD", "count": 1, "amount_micros": 5},
                    {"status": "won", "currency": "EUR", "count": 1, "amount_micros": 100},
                ],
            },
            "leads": {
                "live": 3, "deleted": 1,
                "by_status": {"assigned": 0, "converted": 1, "disqualified": 0, "new": 2, "recycled": 0, "working": 0},
            },
        })
    );
}
