//! Analytics: the projections reach exactly what was written (eventually), every report
//! answers with the right figures for a fresh tenant and never mixes currencies, bad
//! parameters are named, and the live stream delivers the caller's own events.

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::server::Client;

use super::{
    Check, SETTLE, Suite, check, eventually_get, fields, id, post_at, problem, status, version,
};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(analytics_reach_the_figures_that_were_written),
    check!(bad_analytics_parameters_are_named),
    check!(the_analytics_stream_delivers_the_tenants_own_events),
];

const M: i64 = 1_000_000;

fn money(units: i64, currency: &str) -> Value {
    json!({"amount_micros": units * M, "currency": currency})
}

/// One currency's figures as the pipeline and forecast reports give them.
fn figures(currency: &str, count: i64, units: i64, weighted_units: i64) -> Value {
    json!({"currency": currency, "count": count, "amount_micros": units * M, "weighted_amount_micros": weighted_units * M})
}

/// Writes five opportunities in two currencies (three open, one won, one lost) plus one
/// deleted, and five leads in five statuses. Returns the default pipeline's id.
async fn write_the_book(c: &Client) -> anyhow::Result<Value> {
    let mut pipeline = Value::Null;
    for (name, amount, stage, close) in [
        ("Alpha", money(1000, "EUR"), "proposal", "2031-01-15"),
        ("Bravo", money(2000, "USD"), "prospecting", "2031-02-10"),
        ("Echo", money(700, "EUR"), "negotiation", "2031-01-20"),
    ] {
        let o = status(
            c.post(
                "/opportunities",
                &json!({"name": name, "amount": amount, "stage_key": stage, "close_date": close}),
            )
            .await,
            201,
        )?;
        pipeline = o["pipeline_id"].clone();
    }
    for (name, amount, close, to) in [
        (
            "Charlie",
            money(500, "EUR"),
            "2031-01-05",
            json!({"stage_key": "closed_won"}),
        ),
        (
            "Delta",
            money(300, "USD"),
            "2031-02-01",
            json!({"stage_key": "closed_lost", "loss_reason": "Budget"}),
        ),
    ] {
        let o = status(
            c.post(
                "/opportunities",
                &json!({"name": name, "amount": amount, "close_date": close}),
            )
            .await,
            201,
        )?;
        status(
            post_at(
                c,
                &format!("/opportunities/{}/move", id(&o)),
                version(&o),
                &to,
            )
            .await,
            200,
        )
        .with_context(|| format!("close {name}"))?;
    }
    let gone = status(
        c.post(
            "/opportunities",
            &json!({"name": "Foxtrot", "amount": money(9999, "EUR")}),
        )
        .await,
        201,
    )?;
    status(
        c.delete(&format!("/opportunities/{}", id(&gone))).await,
        200,
    )?;

    let me = json!({"owner_id": c.actor.user_id});
    let mut leads = Vec::new();
    for name in ["New", "Assigned", "Working", "Disqualified", "Converted"] {
        let l = status(
            c.post(
                "/leads",
                &json!({"name": format!("{name} Lead"), "company_name": format!("{name} {}", super::word())}),
            )
            .await,
            201,
        )?;
        leads.push(format!("/leads/{}", id(&l)));
    }
    status(c.post(&format!("{}/assign", leads[1]), &me).await, 200)?;
    status(c.post(&format!("{}/assign", leads[2]), &me).await, 200)?;
    status(
        c.post(&format!("{}/qualify", leads[2]), &json!({})).await,
        200,
    )?;
    status(
        c.post(
            &format!("{}/disqualify", leads[3]),
            &json!({"reason": "spam"}),
        )
        .await,
        200,
    )?;
    status(
        c.post(&format!("{}/convert", leads[4]), &json!({})).await,
        200,
    )?;
    Ok(pipeline)
}

/// `amounts` of the totals, in a fixed order (the order is not part of the contract).
fn sorted_amounts(totals: &Value) -> Vec<Value> {
    let mut a = totals["opportunities"]["amounts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    a.sort_by_key(|x| format!("{}/{}", x["status"], x["currency"]));
    a
}

/// The pipeline report reduced to `[key, label is known, count, by_currency]` per stage.
fn board(report: &Value) -> Vec<Value> {
    report["stages"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| {
                    json!([
                        s["key"],
                        s["label"].is_string(),
                        s["count"],
                        s["by_currency"]
                    ])
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn analytics_reach_the_figures_that_were_written(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let pipeline = write_the_book(&c).await?;

    let amounts = vec![
        json!({"status": "lost", "currency": "USD", "count": 1, "amount_micros": 300 * M}),
        json!({"status": "open", "currency": "EUR", "count": 2, "amount_micros": 1700 * M}),
        json!({"status": "open", "currency": "USD", "count": 1, "amount_micros": 2000 * M}),
        json!({"status": "won", "currency": "EUR", "count": 1, "amount_micros": 500 * M}),
    ];
    let lead_statuses = json!({"assigned": 1, "converted": 1, "disqualified": 1, "new": 1, "recycled": 0, "working": 1});
    let totals = eventually_get(&c, "/analytics/totals", SETTLE, |t| {
        t["opportunities"]["live"] == 5
            && t["opportunities"]["deleted"] == 1
            && t["opportunities"]["by_status"] == json!({"lost": 1, "open": 3, "won": 1})
            && sorted_amounts(t) == amounts
            && t["leads"]["live"] == 5
            && t["leads"]["deleted"] == 0
            && t["leads"]["by_status"] == lead_statuses
    })
    .await
    .context("totals")?;
    ensure!(totals["opportunities"].is_object(), "totals: {totals}");

    let expected_board = vec![
        json!(["prospecting", true, 1, [figures("USD", 1, 2000, 200)]]),
        json!(["qualification", true, 0, []]),
        json!(["proposal", true, 1, [figures("EUR", 1, 1000, 500)]]),
        json!(["negotiation", true, 1, [figures("EUR", 1, 700, 560)]]),
        json!(["closed_won", true, 0, []]),
        json!(["closed_lost", true, 0, []]),
    ];
    let expected_total = json!({"count": 3, "by_currency": [figures("EUR", 2, 1700, 1060), figures("USD", 1, 2000, 200)]});
    eventually_get(&c, "/analytics/pipeline", SETTLE, |p| {
        p["pipeline_id"] == pipeline
            && p["pipeline_name"].is_string()
            && board(p) == expected_board
            && p["total"] == expected_total
    })
    .await
    .context("pipeline: open opportunities per stage, per currency")?;
    eventually_get(
        &c,
        &format!(
            "/analytics/pipeline?pipeline_id={}",
            pipeline.as_str().unwrap_or_default()
        ),
        SETTLE,
        |p| p["total"] == expected_total,
    )
    .await
    .context("pipeline by id")?;

    let category = |name: &str, currency: &str, units: i64, weighted: i64| json!({"forecast_category": name, "count": 1, "by_currency": [figures(currency, 1, units, weighted)]});
    let periods = json!([
        {"period": "2031-01", "start": "2031-01-01", "end": "2031-01-31", "categories": [
            category("best_case", "EUR", 1000, 500),
            category("commit", "EUR", 700, 560),
            category("closed", "EUR", 500, 500),
        ]},
        {"period": "2031-02", "start": "2031-02-01", "end": "2031-02-28", "categories": [
            category("pipeline", "USD", 2000, 200),
            category("omitted", "USD", 300, 0),
        ]},
    ]);
    eventually_get(&c, "/analytics/forecast?period=month", SETTLE, |f| {
        f["period"] == "month" && f["periods"] == periods
    })
    .await
    .context("forecast by month")?;
    eventually_get(
        &c,
        "/analytics/forecast?period=quarter&from=2031-01-01&to=2031-03-31",
        SETTLE,
        |f| {
            f["from"] == "2031-01-01"
                && f["periods"].as_array().map(Vec::len) == Some(1)
                && f["periods"][0]["period"] == "2031-Q1"
                && f["periods"][0]["categories"].as_array().map(Vec::len) == Some(5)
        },
    )
    .await
    .context("forecast by quarter")?;

    let by_currency = json!([
        {"currency": "EUR", "won": 1, "lost": 0, "won_amount_micros": 500 * M, "lost_amount_micros": 0, "win_rate_by_amount": 1.0},
        {"currency": "USD", "won": 0, "lost": 1, "won_amount_micros": 0, "lost_amount_micros": 300 * M, "win_rate_by_amount": 0.0},
    ]);
    eventually_get(&c, "/analytics/win-rate", SETTLE, |w| {
        w["won"] == 1 && w["lost"] == 1 && w["win_rate"] == 0.5 && w["by_currency"] == by_currency
    })
    .await
    .context("win rate, per currency")?;
    let none = status(
        c.get("/analytics/win-rate?from=2020-01-01&to=2020-12-31")
            .await,
        200,
    )?;
    ensure!(
        none["won"] == 0 && none["win_rate"].is_null(),
        "nothing closed in 2020: {none}"
    );

    eventually_get(&c, "/analytics/funnel", SETTLE, |f| {
        f["total"] == 5
            && f["by_status"] == lead_statuses
            && f["converted"] == 1
            && f["conversion_rate"] == 0.2
    })
    .await
    .context("funnel")?;
    Ok(())
}

async fn bad_analytics_parameters_are_named(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    for (q, named) in [
        (
            "/analytics/forecast?period=week&from=2025-13-01&to=yesterday",
            vec!["from", "period", "to"],
        ),
        ("/analytics/funnel?from=2025-02-01&to=", vec!["to"]),
        ("/analytics/win-rate?owner_id=42", vec!["owner_id"]),
        ("/analytics/pipeline?pipeline_id=nope", vec!["pipeline_id"]),
        ("/analytics/totals?colour=red", vec!["colour"]),
        ("/analytics/forecast?colour=red", vec!["colour"]),
    ] {
        let r = c.get(q).await;
        problem(&r, 400, "malformed-request").with_context(|| q.to_owned())?;
        let mut got = fields(&r);
        got.sort();
        ensure!(got == named, "{q}: fields {:?}", fields(&r));
    }
    Ok(())
}

/// Opens `GET /analytics/stream`; once the headers are in, the subscription is in place.
async fn subscribe(c: &Client) -> anyhow::Result<reqwest::Response> {
    let res = reqwest::Client::new()
        .get(format!("{}/analytics/stream", c.base))
        .bearer_auth(c.token.as_deref().unwrap_or_default())
        .send()
        .await?;
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ensure!(
        res.status() == 200 && ct.starts_with("text/event-stream"),
        "stream: {} {ct}",
        res.status()
    );
    Ok(res)
}

/// Reads server-sent events until one satisfies `want` (comments and other events are
/// skipped); gives up after `SETTLE`.
async fn next_event(
    res: &mut reqwest::Response,
    want: impl Fn(&str, &Value) -> bool,
) -> anyhow::Result<(String, Value)> {
    let read = async {
        let mut buf = String::new();
        let mut seen = Vec::new();
        loop {
            let Some(chunk) = res.chunk().await? else {
                bail!("the stream ended; seen {seen:?}");
            };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    let data: Value = serde_json::from_str(&data).context("data is JSON")?;
                    if want(&event, &data) {
                        return Ok((event, data));
                    }
                    seen.push(event);
                }
            }
        }
    };
    tokio::time::timeout(SETTLE, read)
        .await
        .map_err(|_| anyhow::anyhow!("no such event within {SETTLE:?}"))?
}

async fn the_analytics_stream_delivers_the_tenants_own_events(s: &Suite) -> anyhow::Result<()> {
    let c = s.signup().await?.admin;
    let other = s.signup().await?.admin;
    let (mut mine, mut theirs) = (subscribe(&c).await?, subscribe(&other).await?);
    let lead = status(c.post("/leads", &json!({"name": "Streamed"})).await, 201)?;
    let (event, data) = next_event(&mut mine, |e, d| {
        e == "lead.created" && d["record_id"] == lead["id"]
    })
    .await
    .context("my lead.created")?;
    ensure!(
        event == "lead.created"
            && data["event"] == "lead.created"
            && data["event_id"].is_string()
            && data["occurred_at"].is_string(),
        "event: {data}"
    );
    let own = status(other.post("/leads", &json!({"name": "Theirs"})).await, 201)?;
    let (_, data) = next_event(&mut theirs, |_, _| true)
        .await
        .context("their first event")?;
    ensure!(
        data["record_id"] == own["id"],
        "the other tenant's first event is its own, not mine: {data}"
    );
    drop((mine, theirs));
    status(c.get("/analytics/totals").await, 200).context("closing streams leaves it serving")?;
    Ok(())
}
