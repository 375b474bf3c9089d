//! The saga's row in `crm_leads.conversion_sagas`, and the claims that keep two runners off
//! one saga: a runner claims a saga (`claimed_by` = its token, `claimed_until` = now + lease)
//! and every write it makes afterwards checks the token, so a runner whose claim ran out and
//! was taken over stops at its next write instead of racing the new holder.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crm_core::{Actor, Error, Problem, Result};
use crm_customers::{Company, Contact};
use crm_sales::Opportunity;

use super::{State, Step};
use crate::convert::plan::Plan;

/// One saga, as loaded and as written back.
#[derive(Clone, Debug)]
pub(super) struct Saga {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    pub actor: Actor,
    pub request: Value,
    pub plan: Plan,
    pub skip: bool,
    pub state: State,
    pub step: Step,
    pub step_in_doubt: bool,
    pub company: Option<Company>,
    pub company_created: bool,
    pub company_filled: Option<Value>,
    pub contact: Option<Contact>,
    pub contact_created: bool,
    pub contact_filled: Option<Value>,
    pub opportunity: Option<Opportunity>,
    pub relinked: bool,
    pub error: Option<Problem>,
    pub reported: bool,
    pub attempts: i32,
    pub deadline: DateTime<Utc>,
}

impl Saga {
    pub(super) fn new(
        actor: &Actor,
        request: Value,
        plan: Plan,
        skip: bool,
        deadline: Duration,
    ) -> Saga {
        Saga {
            id: crm_core::new_id(),
            tenant_id: actor.tenant_id,
            lead_id: plan.lead.meta.id,
            actor: actor.clone(),
            request,
            plan,
            skip,
            state: State::Running,
            step: Step::Company,
            step_in_doubt: false,
            company: None,
            company_created: false,
            company_filled: None,
            contact: None,
            contact_created: false,
            contact_filled: None,
            opportunity: None,
            relinked: false,
            error: None,
            reported: false,
            attempts: 0,
            // Capped, so that no setting can overflow a timestamp.
            deadline: Utc::now()
                + chrono::Duration::from_std(deadline)
                    .unwrap_or(chrono::Duration::MAX)
                    .min(chrono::Duration::days(366)),
        }
    }

    /// The idempotency key of one of this saga's writes.
    pub(super) fn key(&self, what: &str) -> String {
        format!("saga-{}-{what}", self.id)
    }

    /// Whether a convert is this saga's own request again (a retry), not another one.
    pub(super) fn same_request(&self, actor: &Actor, request: &Value, skip: bool) -> bool {
        self.actor.user_id == actor.user_id && self.skip == skip && &self.request == request
    }
}

/// How a write leaves the claim.
#[derive(Clone, Copy, Debug)]
pub(super) enum Hold {
    /// Keep it, renewed for this long.
    Keep(Duration),
    /// Give it up; the resumer may pick the saga up again after this long.
    Release(Duration),
}

const COLUMNS: &str = "id, tenant_id, lead_id, actor, request, plan, skip_duplicate_check, state, \
     step, step_in_doubt, company_created, company_filled, company_record, contact_created, \
     contact_filled, contact_record, opportunity_record, relinked, error, reported, attempts, \
     deadline";

const UNFINISHED: &str = "state IN ('running', 'compensating')";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    lead_id: Uuid,
    actor: Json<Actor>,
    request: Json<Value>,
    plan: Json<Plan>,
    skip_duplicate_check: bool,
    state: String,
    step: String,
    step_in_doubt: bool,
    company_created: bool,
    company_filled: Option<Json<Value>>,
    company_record: Option<Json<Company>>,
    contact_created: bool,
    contact_filled: Option<Json<Value>>,
    contact_record: Option<Json<Contact>>,
    opportunity_record: Option<Json<Opportunity>>,
    relinked: bool,
    error: Option<Json<Problem>>,
    reported: bool,
    attempts: i32,
    deadline: DateTime<Utc>,
}

impl TryFrom<Row> for Saga {
    type Error = Error;

    fn try_from(r: Row) -> Result<Saga> {
        let bad = |what: &str, v: &str| Error::internal(format!("saga {}: bad {what} '{v}'", r.id));
        Ok(Saga {
            state: State::parse(&r.state).ok_or_else(|| bad("state", &r.state))?,
            step: Step::parse(&r.step).ok_or_else(|| bad("step", &r.step))?,
            id: r.id,
            tenant_id: r.tenant_id,
            lead_id: r.lead_id,
            actor: r.actor.0,
            request: r.request.0,
            plan: r.plan.0,
            skip: r.skip_duplicate_check,
            step_in_doubt: r.step_in_doubt,
            company: r.company_record.map(|j| j.0),
            company_created: r.company_created,
            company_filled: r.company_filled.map(|j| j.0),
            contact: r.contact_record.map(|j| j.0),
            contact_created: r.contact_created,
            contact_filled: r.contact_filled.map(|j| j.0),
            opportunity: r.opportunity_record.map(|j| j.0),
            relinked: r.relinked,
            error: r.error.map(|j| j.0),
            reported: r.reported,
            attempts: r.attempts,
            deadline: r.deadline,
        })
    }
}

fn all(rows: Vec<Row>) -> Result<Vec<Saga>> {
    rows.into_iter().map(Saga::try_from).collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Writes a new saga, claimed by `token`. The caller holds the lead's row lock, so the
/// unique index on unfinished sagas is only a backstop.
pub(super) async fn insert(
    conn: &mut sqlx::PgConnection,
    saga: &Saga,
    token: Uuid,
    lease: Duration,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO crm_leads.conversion_sagas
             (id, tenant_id, lead_id, actor, request, plan, skip_duplicate_check, deadline,
              claimed_by, claimed_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))",
    )
    .bind(saga.id)
    .bind(saga.tenant_id)
    .bind(saga.lead_id)
    .bind(Json(&saga.actor))
    .bind(Json(&saga.request))
    .bind(Json(&saga.plan))
    .bind(saga.skip)
    .bind(saga.deadline)
    .bind(token)
    .bind(secs(lease))
    .execute(conn)
    .await
    .map_err(|e| match Error::constraint(&e) {
        Some("conversion_sagas_one_unfinished") => Error::conflict(
            "conversion-in-progress",
            "this lead is being converted by another request; retry once it has finished",
        ),
        _ => Error::from(e),
    })?;
    Ok(())
}

/// The lead's unfinished saga, if any.
pub(super) async fn unfinished(
    db: impl sqlx::PgExecutor<'_>,
    tenant: Uuid,
    lead: Uuid,
) -> Result<Option<Saga>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM crm_leads.conversion_sagas
         WHERE tenant_id = $1 AND lead_id = $2 AND {UNFINISHED}"
    ))
    .bind(tenant)
    .bind(lead)
    .fetch_optional(db)
    .await?;
    row.map(Saga::try_from).transpose()
}

/// The lead's newest saga when it has finished, nobody was told its outcome yet, and this is
/// its request again; marks the outcome as told, so exactly one retry gets it.
pub(super) async fn take_owed(
    db: impl sqlx::PgExecutor<'_>,
    actor: &Actor,
    lead: Uuid,
    request: &Value,
    skip: bool,
) -> Result<Option<Saga>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE crm_leads.conversion_sagas SET reported = true, updated_at = now()
         WHERE id = (SELECT id FROM crm_leads.conversion_sagas WHERE tenant_id = $1 AND lead_id = $2
                     ORDER BY created_at DESC, id DESC LIMIT 1)
           AND NOT {UNFINISHED} AND NOT reported
           AND request = $3 AND skip_duplicate_check = $4 AND actor->>'user_id' = $5
         RETURNING {COLUMNS}"
    ))
    .bind(actor.tenant_id)
    .bind(lead)
    .bind(Json(request))
    .bind(skip)
    .bind(actor.user_id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(Saga::try_from).transpose()
}

/// Claims one unfinished saga unless another runner holds it.
pub(super) async fn claim(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    lease: Duration,
) -> Result<Option<Saga>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE crm_leads.conversion_sagas
         SET claimed_by = $2, claimed_until = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1 AND {UNFINISHED} AND (claimed_until IS NULL OR claimed_until < now())
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(token)
    .bind(secs(lease))
    .fetch_optional(db)
    .await?;
    row.map(Saga::try_from).transpose()
}

/// Claims up to `batch` unfinished sagas that are due and held by nobody. `SKIP LOCKED`
/// lets replicas claim side by side without waiting on each other's candidates.
pub(super) async fn claim_due(
    db: impl sqlx::PgExecutor<'_>,
    token: Uuid,
    lease: Duration,
    batch: i64,
) -> Result<Vec<Saga>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "WITH due AS (
             SELECT id AS due_id FROM crm_leads.conversion_sagas
             WHERE {UNFINISHED} AND next_attempt_at <= now()
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE crm_leads.conversion_sagas
         SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2), updated_at = now()
         FROM due WHERE id = due.due_id
         RETURNING {COLUMNS}"
    ))
    .bind(token)
    .bind(secs(lease))
    .bind(batch)
    .fetch_all(db)
    .await?;
    all(rows)
}

/// Writes the saga's progress if `token` still holds it; `false` when the claim was lost.
pub(super) async fn save(
    db: impl sqlx::PgExecutor<'_>,
    saga: &Saga,
    token: Uuid,
    hold: Hold,
) -> Result<bool> {
    let (keep, lease, retry_in) = match hold {
        Hold::Keep(lease) => (true, secs(lease), None),
        Hold::Release(after) => (false, 0.0, Some(secs(after))),
    };
    let done = sqlx::query(
        "UPDATE crm_leads.conversion_sagas SET
             state = $3, step = $4, step_in_doubt = $5,
             company_id = $6, company_created = $7, company_filled = $8, company_record = $9,
             contact_id = $10, contact_created = $11, contact_filled = $12, contact_record = $13,
             opportunity_id = $14, opportunity_record = $15, relinked = $16, error = $17,
             reported = $18, attempts = $19,
             next_attempt_at = CASE WHEN $20::float8 IS NULL THEN next_attempt_at
                                    ELSE now() + make_interval(secs => $20) END,
             claimed_by = CASE WHEN $21 THEN claimed_by END,
             claimed_until = CASE WHEN $21 THEN now() + make_interval(secs => $22) END,
             updated_at = now()
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(saga.id)
    .bind(token)
    .bind(saga.state.as_str())
    .bind(saga.step.as_str())
    .bind(saga.step_in_doubt)
    .bind(saga.company.as_ref().map(|c| c.meta.id))
    .bind(saga.company_created)
    .bind(saga.company_filled.as_ref().map(Json))
    .bind(saga.company.as_ref().map(Json))
    .bind(saga.contact.as_ref().map(|c| c.meta.id))
    .bind(saga.contact_created)
    .bind(saga.contact_filled.as_ref().map(Json))
    .bind(saga.contact.as_ref().map(Json))
    .bind(saga.opportunity.as_ref().map(|o| o.meta.id))
    .bind(saga.opportunity.as_ref().map(Json))
    .bind(saga.relinked)
    .bind(saga.error.as_ref().map(Json))
    .bind(saga.reported)
    .bind(saga.attempts)
    .bind(retry_in)
    .bind(keep)
    .bind(lease)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One saga by id.
pub(super) async fn load(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> Result<Saga> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM crm_leads.conversion_sagas WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(db)
    .await?;
    Saga::try_from(row)
}
