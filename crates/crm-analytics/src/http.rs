//! REST routes of the analytics context and their OpenAPI operations.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crm_core::{Action, Object};
use crm_http::openapi::{ApiDoc, Op};
use crm_http::{ApiResult, Caller, Json, Query};

use crate::Analytics;
use crate::lag::LagReport;
use crate::params::{Checker, ForecastParams, FunnelParams, PipelineParams, WinRateParams};
use crate::report::{ForecastReport, FunnelReport, PipelineReport, Totals, WinRateReport};
use crate::stream;

/// Routes under `/api/v1` (the caller nests them).
pub fn router(svc: Arc<Analytics>) -> Router {
    Router::new()
        .route("/analytics/pipeline", get(pipeline))
        .route("/analytics/forecast", get(forecast))
        .route("/analytics/win-rate", get(win_rate))
        .route("/analytics/funnel", get(funnel))
        .route("/analytics/totals", get(totals))
        .route("/analytics/lag", get(lag).delete(reset_lag))
        .route("/analytics/stream", get(stream::stream))
        .with_state(svc)
}

async fn pipeline(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(p): Query<PipelineParams>,
) -> ApiResult<Json<PipelineReport>> {
    let mut c = Checker::default();
    let pipeline_id = c.uuid("pipeline_id", p.pipeline_id);
    c.finish()?;
    Ok(Json(svc.pipeline(&actor, pipeline_id).await?))
}

async fn forecast(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(p): Query<ForecastParams>,
) -> ApiResult<Json<ForecastReport>> {
    let mut c = Checker::default();
    let period = c.period(p.period);
    let range = c.range(p.from, p.to);
    c.finish()?;
    Ok(Json(svc.forecast(&actor, period, range).await?))
}

async fn win_rate(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(p): Query<WinRateParams>,
) -> ApiResult<Json<WinRateReport>> {
    let mut c = Checker::default();
    let range = c.range(p.from, p.to);
    let owner_id = c.uuid("owner_id", p.owner_id);
    c.finish()?;
    Ok(Json(svc.win_rate(&actor, range, owner_id).await?))
}

async fn funnel(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(p): Query<FunnelParams>,
) -> ApiResult<Json<FunnelReport>> {
    let mut c = Checker::default();
    let range = c.range(p.from, p.to);
    c.finish()?;
    Ok(Json(svc.funnel(&actor, range).await?))
}

/// No parameters, but an unknown one is still refused rather than silently ignored.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

async fn totals(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(NoParams {}): Query<NoParams>,
) -> ApiResult<Json<Totals>> {
    Ok(Json(svc.totals(&actor).await?))
}

async fn lag(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
    Query(NoParams {}): Query<NoParams>,
) -> ApiResult<Json<LagReport>> {
    actor.require(Action::Read, Object::Analytics)?;
    Ok(Json(svc.lag_report()))
}

/// Clears the lag histogram between benchmark runs; process-wide, hence admins only.
async fn reset_lag(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
) -> ApiResult<Response> {
    actor.require(Action::Delete, Object::Analytics)?;
    svc.reset_lag();
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn date_param(op: Op, name: &str, what: &str) -> Op {
    op.query(
        name,
        what,
        json!({"type": "string", "format": "date", "pattern": crate::params::DATE_PATTERN}),
        false,
    )
}

fn range_params(op: Op, of: &str) -> Op {
    let op = date_param(op, "from", &format!("First day (UTC, inclusive) of {of}"));
    date_param(op, "to", &format!("Last day (UTC, inclusive) of {of}"))
}

/// The context's operations in the OpenAPI document.
pub fn openapi(doc: &mut ApiDoc) {
    let uuid = json!({"type": "string", "format": "uuid"});
    let s = doc.schema::<PipelineReport>();
    doc.add(
        "get",
        "/analytics/pipeline",
        Op::new("analytics", "Open opportunities per stage")
            .describe("Count, amount and weighted amount (amount × probability / 100, rounded down) of open opportunities per stage, by currency. Without pipeline_id: the tenant's default pipeline, or every pipeline while none is known.")
            .query("pipeline_id", "The pipeline to report on", uuid.clone(), false)
            .response(200, "Figures per stage, ordered by position", Some(s)),
    );
    let s = doc.schema::<ForecastReport>();
    let op = Op::new("analytics", "Forecast by period and category")
        .describe("Opportunities by period of close date and forecast category, by currency. Won ones count as closed, lost ones as omitted.")
        .query("period", "month (default) or quarter", json!({"type": "string", "enum": ["month", "quarter"]}), false);
    doc.add(
        "get",
        "/analytics/forecast",
        range_params(op, "close dates").response(200, "Periods in order", Some(s)),
    );
    let s = doc.schema::<WinRateReport>();
    let op = Op::new("analytics", "Win rate")
        .describe("Won and lost opportunities closed in the range; win rate by count and by amount per currency.")
        .query("owner_id", "Only this owner's opportunities", uuid, false);
    doc.add(
        "get",
        "/analytics/win-rate",
        range_params(op, "closing times").response(200, "Win rate", Some(s)),
    );
    let s = doc.schema::<FunnelReport>();
    let op = Op::new("analytics", "Lead funnel").describe(
        "Leads created in the range by current status, converted count and conversion rate.",
    );
    doc.add(
        "get",
        "/analytics/funnel",
        range_params(op, "creation times").response(200, "Lead funnel", Some(s)),
    );
    let s = doc.schema::<Totals>();
    doc.add(
        "get",
        "/analytics/totals",
        Op::new("analytics", "Totals for reconciliation")
            .describe("Exact live counts by status and amount sums by status and currency, to compare with the source tables once events are applied.")
            .response(200, "Totals", Some(s)),
    );
    let s = doc.schema::<LagReport>();
    doc.add(
        "get",
        "/analytics/lag",
        Op::new("analytics", "Event → projection lag")
            .describe("Count, p50, p99 and max of the time from an event's occurred_at to its projection, in this process since start or the last reset.")
            .response(200, "Lag figures", Some(s)),
    );
    doc.add(
        "delete",
        "/analytics/lag",
        Op::new("analytics", "Reset the lag figures")
            .describe("Admins only; used between benchmark runs.")
            .response(204, "Reset", None),
    );
    doc.add(
        "get",
        "/analytics/stream",
        Op::new("analytics", "Live feed of projected events (server-sent events)")
            .describe("text/event-stream: `event:` the event name, `data:` {event_id, event, record_id, occurred_at}, for the caller's tenant, after each is projected. A comment every 15 s keeps the connection open; `event: lagged` with {missed} says events were dropped for a slow reader.")
            .response(200, "An endless text/event-stream", None),
    );
}
