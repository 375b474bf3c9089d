//! Closed-loop user journeys (goose): each simulated sales rep logs in, then works a lead
//! from creation to a won deal — browse, create, assign, qualify, convert, look at the new
//! customer, move the deal through its stages, log a call, glance at the dashboard — with
//! think time between steps. Every request is timed in µs into the same histograms as the
//! open-loop runs, and every acknowledged write is kept for reconciliation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crm_load::Target;
use crm_load::goose::prelude::*;
use crm_load::journeys::{JourneyConfig, Journeys as GooseRun, send};

use super::ArchCtx;
use super::convert;
use crate::results::{Journeys, Window};
use crate::scenario::JourneysSpec;
use crate::workload::acks::{Acks, Kind};

/// What every simulated user shares (goose transactions are plain functions).
struct Shared {
    email: String,
    password: String,
    acks: Arc<Acks>,
    tag: String,
    seq: AtomicU64,
    completed: AtomicU64,
}

static SHARED: RwLock<Option<Arc<Shared>>> = RwLock::new(None);

fn shared() -> Arc<Shared> {
    SHARED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .expect("journeys run with their shared state set")
}

/// One user's session.
#[derive(Clone, Default)]
struct Session {
    token: String,
    lead: Option<Uuid>,
    company: Option<Uuid>,
    deal: Option<(Uuid, i64)>,
}

fn session(user: &GooseUser) -> Session {
    user.get_session_data::<Session>()
        .cloned()
        .unwrap_or_default()
}

fn update(user: &mut GooseUser, f: impl FnOnce(&mut Session)) {
    if let Some(s) = user.get_session_data_mut::<Session>() {
        f(s);
    }
}

async fn call(
    user: &mut GooseUser,
    op: &'static str,
    method: GooseMethod,
    path: &str,
    body: Option<Value>,
) -> Result<Option<Value>, Box<TransactionError>> {
    let token = session(user).token;
    let mut b = user.get_request_builder(&method, path)?;
    if !token.is_empty() {
        b = b.bearer_auth(token);
    }
    if let Some(body) = body {
        b = b.json(&body);
    }
    let r = send(
        user,
        op,
        GooseRequest::builder().set_request_builder(b).build(),
    )
    .await?;
    Ok(r.status
        .is_success()
        .then(|| serde_json::from_slice(&r.body).ok())
        .flatten())
}

fn id(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}

async fn log_in(user: &mut GooseUser) -> TransactionResult {
    let s = shared();
    let body = json!({"email": s.email, "password": s.password});
    if let Some(r) = call(
        user,
        "journey_login",
        GooseMethod::Post,
        "/api/v1/auth/login",
        Some(body),
    )
    .await?
    {
        let token = r["access_token"].as_str().unwrap_or_default().to_owned();
        user.set_session_data(Session {
            token,
            ..Default::default()
        });
    }
    Ok(())
}

async fn browse_leads(user: &mut GooseUser) -> TransactionResult {
    call(
        user,
        "journey_browse_leads",
        GooseMethod::Get,
        "/api/v1/leads?filter=status[eq]:%22new%22&limit=20",
        None,
    )
    .await?;
    Ok(())
}

async fn create_lead(user: &mut GooseUser) -> TransactionResult {
    let s = shared();
    let marker = format!("{}-j{:07}", s.tag, s.seq.fetch_add(1, Ordering::Relaxed));
    let body = json!({
        "name": format!("Journey lead {marker}"),
        "company_name": format!("Journey {marker}"),
        "email": format!("buyer@{marker}.journeys.bench.example"),
        "source": "web",
        "estimated_value": {"amount_micros": 25_000_000_000i64, "currency": "EUR"},
    });
    let r = call(
        user,
        "journey_create_lead",
        GooseMethod::Post,
        "/api/v1/leads",
        Some(body),
    )
    .await?;
    let lead = r.as_ref().and_then(|r| id(&r["id"]));
    if let (Some(l), Some(r)) = (lead, &r) {
        s.acks
            .created(Kind::Lead, l, r["name"].as_str().map(str::to_owned));
    }
    update(user, |se| {
        se.lead = lead;
        se.company = None;
        se.deal = None;
    });
    Ok(())
}

async fn advance_lead(user: &mut GooseUser, op: &'static str, action: &str) -> TransactionResult {
    let lead = session(user).lead;
    let Some(l) = lead else { return Ok(()) };
    let r = call(
        user,
        op,
        GooseMethod::Post,
        &format!("/api/v1/leads/{l}/{action}"),
        Some(json!({})),
    )
    .await?;
    match r.and_then(|r| r["version"].as_i64()) {
        Some(v) => shared().acks.updated(Kind::Lead, l, v),
        None => update(user, |se| se.lead = None),
    }
    Ok(())
}

async fn assign(user: &mut GooseUser) -> TransactionResult {
    advance_lead(user, "journey_assign", "assign").await
}

async fn qualify(user: &mut GooseUser) -> TransactionResult {
    advance_lead(user, "journey_qualify", "qualify").await
}

async fn convert_lead(user: &mut GooseUser) -> TransactionResult {
    let Session { token, lead, .. } = session(user);
    let Some(l) = lead else { return Ok(()) };
    let b = user
        .get_request_builder(&GooseMethod::Post, &format!("/api/v1/leads/{l}/convert"))?
        .bearer_auth(token)
        .header("x-skip-duplicate-check", "true")
        .header("idempotency-key", format!("journey-convert-{l}"))
        .json(&json!({"opportunity": {"close_date": "2027-06-30"}}));
    let r = send(
        user,
        "journey_convert",
        GooseRequest::builder().set_request_builder(b).build(),
    )
    .await?;
    let body: Option<Value> = r
        .status
        .is_success()
        .then(|| serde_json::from_slice(&r.body).ok())
        .flatten();
    let s = shared();
    let company = body.as_ref().and_then(|b| id(&b["company"]["id"]));
    let deal = body.as_ref().and_then(|b| {
        Some((
            id(&b["opportunity"]["id"])?,
            b["opportunity"]["version"].as_i64()?,
        ))
    });
    if let Some(b) = &body {
        if let Some(v) = b["lead"]["version"].as_i64() {
            s.acks.updated(Kind::Lead, l, v);
        }
        if let Some(c) = company {
            s.acks.created(
                Kind::Company,
                c,
                b["company"]["name"].as_str().map(str::to_owned),
            );
        }
        if let Some(c) = id(&b["contact"]["id"]) {
            s.acks.created(Kind::Contact, c, None);
        }
        if let Some((o, _)) = deal {
            s.acks.created(
                Kind::Opportunity,
                o,
                b["opportunity"]["name"].as_str().map(str::to_owned),
            );
        }
    }
    update(user, |se| {
        se.company = company;
        se.deal = deal;
    });
    Ok(())
}

async fn view_customer(user: &mut GooseUser) -> TransactionResult {
    let company = session(user).company;
    if let Some(c) = company {
        call(
            user,
            "journey_customer_360",
            GooseMethod::Get,
            &format!("/api/v1/companies/{c}/overview"),
            None,
        )
        .await?;
    }
    Ok(())
}

async fn win_deal(user: &mut GooseUser) -> TransactionResult {
    for stage in ["qualification", "proposal", "negotiation", "closed_won"] {
        let Session { token, deal, .. } = session(user);
        let Some((o, version)) = deal else {
            return Ok(());
        };
        let b = user
            .get_request_builder(
                &GooseMethod::Post,
                &format!("/api/v1/opportunities/{o}/move"),
            )?
            .bearer_auth(token)
            .header("if-match", format!("\"{version}\""))
            .json(&json!({"stage_key": stage}));
        let r = send(
            user,
            "journey_move_deal",
            GooseRequest::builder().set_request_builder(b).build(),
        )
        .await?;
        let v = r
            .status
            .is_success()
            .then(|| serde_json::from_slice::<Value>(&r.body).ok())
            .flatten()
            .and_then(|b| b["version"].as_i64());
        if let Some(v) = v {
            shared().acks.updated(Kind::Opportunity, o, v);
        }
        update(user, |se| se.deal = v.map(|v| (o, v)));
    }
    Ok(())
}

async fn log_call(user: &mut GooseUser) -> TransactionResult {
    let company = session(user).company;
    let Some(c) = company else { return Ok(()) };
    let s = shared();
    let marker = format!("{}-c{:07}", s.tag, s.seq.fetch_add(1, Ordering::Relaxed));
    let body = json!({"kind": "call", "subject": format!("Call {marker}"), "direction": "outbound",
                      "duration_seconds": 600, "outcome": "won", "links": [{"type": "company", "id": c}]});
    if let Some(r) = call(
        user,
        "journey_log_call",
        GooseMethod::Post,
        "/api/v1/activities",
        Some(body),
    )
    .await?
        && let Some(a) = id(&r["id"])
    {
        s.acks
            .created(Kind::Activity, a, r["subject"].as_str().map(str::to_owned));
    }
    Ok(())
}

async fn dashboard(user: &mut GooseUser) -> TransactionResult {
    call(
        user,
        "journey_dashboard",
        GooseMethod::Get,
        "/api/v1/analytics/pipeline",
        None,
    )
    .await?;
    shared().completed.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

pub(super) async fn run(ctx: &mut ArchCtx, j: &JourneysSpec) -> anyhow::Result<Journeys> {
    let admin = ctx
        .d
        .admin
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no admin credentials"))?;
    let state = Arc::new(Shared {
        email: admin.email,
        password: admin.password,
        acks: ctx.acks.clone(),
        tag: format!("{}{}j", ctx.d.arch, ctx.nonce),
        seq: AtomicU64::new(0),
        completed: AtomicU64::new(0),
    });
    *SHARED.write().unwrap_or_else(|e| e.into_inner()) = Some(state.clone());
    let duration = j.duration_s.unwrap_or(ctx.scenario.load.duration_s);
    let mut config = JourneyConfig::new(j.users as usize, Duration::from_secs_f64(duration));
    config.hatch_rate = j.hatch_rate;
    config.think_min = Duration::from_millis(j.think_ms / 2);
    config.think_max = Duration::from_millis(j.think_ms * 3 / 2);
    config.timeout = Duration::from_millis(ctx.scenario.load.timeout_ms);
    let scenario = scenario!("sales rep")
        .register_transaction(transaction!(log_in).set_on_start())
        .register_transaction(transaction!(browse_leads))
        .register_transaction(transaction!(create_lead))
        .register_transaction(transaction!(assign))
        .register_transaction(transaction!(qualify))
        .register_transaction(transaction!(convert_lead))
        .register_transaction(transaction!(view_customer))
        .register_transaction(transaction!(win_deal))
        .register_transaction(transaction!(log_call))
        .register_transaction(transaction!(dashboard));
    let target = Target::parse(&ctx.d.public_url)?;
    let sampler =
        super::sampler::Sampler::start(ctx.rt.clone(), ctx.d.clone(), Duration::from_millis(500));
    ctx.progress.step(format!(
        "{}: {} goose users for {duration:.0} s",
        ctx.d.arch, j.users
    ));
    let raw = GooseRun::new(&target, config)
        .scenario(scenario)?
        .run()
        .await?;
    let resources = sampler.finish().await;
    *SHARED.write().unwrap_or_else(|e| e.into_inner()) = None;
    let completed = state.completed.load(Ordering::Relaxed);
    let windows: Vec<Window> = Vec::new();
    ctx.progress.note(format!(
        "  {}: {completed} journeys completed by {} users, {:.0} req/s",
        ctx.d.arch, j.users, raw.achieved_rate
    ));
    Ok(Journeys {
        name: j.name.clone().unwrap_or_else(|| "journeys".into()),
        users: j.users,
        journeys_completed: completed,
        run: convert::load_run(&raw, &Default::default(), windows, resources),
    })
}
