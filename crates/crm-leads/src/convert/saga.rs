//! Lead conversion as an orchestrated, persisted, compensating saga, for the microservices:
//! company and contact live in the customers service, the opportunity in sales, the
//! activities in activities, so no one transaction spans them. The leads service runs the
//! saga and keeps its state in `crm_leads.conversion_sagas`; the same requests give the same
//! results and the same errors as [`super::local`].
//!
//! # Protocol
//! 1. Before any write, as in the monolith: the lead is checked (404; 409 when closed or
//!    `already-converted`), the duplicate check runs through the customers API (409
//!    `duplicates-found`), and the data is checked with the customers context's own rules, so
//!    bad data is a 422 naming `company.data.*` / `contact.data.*` before anything exists.
//!    Then the saga is written (`running`) under the lead's row lock; a lead with an
//!    unfinished saga refuses another (409 `conversion-in-progress`).
//! 2. [`Step`]s, each recorded before the next starts; each remote write carries the key
//!    `saga-{id}-{step}` (an Idempotency-Key over HTTP), so a step retried after a crash writes
//!    once. `fill_company` / `fill_contact` (attaching fills empty fields) run after the
//!    opportunity on purpose: a fill is the one write compensation cannot undo, so the step
//!    most likely to fail for good (the opportunity's references) runs before them. `finish`
//!    is one local transaction: lead `converted`, `lead.converted`, saga `completed`.
//! 3. A step failing for good (a 4xx) makes the saga `compensating`: what it created is
//!    deleted in reverse order (deletes are idempotent), then `compensated`; the lead is
//!    untouched and the caller gets the step's own error. A write whose outcome is unknown
//!    (sent, then a crash or a timeout) is first replayed under its key to learn what it made.
//! 4. A transient failure (unavailable, timeout, 5xx, 429) is retried with backoff for
//!    [`SagaSettings::request_budget`]; then the saga is left `running` for the [`Resumer`] and
//!    the caller gets 503 `conversion-pending`. The same request again (same body, header and
//!    user: a retry under the same Idempotency-Key, which the idempotency middleware released
//!    on the 503) rejoins that saga, and gets its outcome once it has one. While another
//!    runner holds the saga, it waits for it within its own budget, so concurrent identical
//!    converts end as in the monolith: one 200, the others 409 `already-converted`.
//! 5. The [`Resumer`] continues unfinished sagas forward until [`SagaSettings::deadline`] after
//!    their start, and compensates them after it. Runners claim a saga for
//!    [`SagaSettings::lease`] (`FOR UPDATE SKIP LOCKED`, then every write checks the claim), so
//!    two replicas never run one saga at once, and a crashed runner's claim runs out.
//!
//! Every saga ends `completed` or `compensated`, or `failed` when compensation itself is
//! refused (logged as an error; the row says what is left).
//!
//! # Limits
//! - Fields filled in on attached records are recorded (`company_filled`, `contact_filled`)
//!   and logged when compensating, but not cleared: `CustomersApi` has no write that clears
//!   fields. They were empty and the request asked for them, so nothing is lost.
//! - Activities relinked before a failing `finish` keep their added links to the deleted
//!   records (`ActivitiesApi` has no unlink). `finish` fails for good only when the lead was
//!   closed or deleted while its saga ran.
//! - Compensation deletes as the same user with at least the manager role: a rep may create
//!   companies but not delete them, and only records this saga created are deleted.
//! - Learning an unknown outcome by replay relies on the services honouring idempotency keys;
//!   the in-process implementations ignore keys (they never run a saga outside tests).
//! - A retry is recognised by its content (user, body, header), not its Idempotency-Key,
//!   which [`Converter`](super::Converter) does not see: an outcome owed to a caller told
//!   "pending" goes to the first identical request after it, whoever sends it.
//!
//! # Layout
//! Read in the order a request runs: [`SagaConverter`]'s `convert` (in this file) follows the
//! protocol above step by step and calls each of these.
//! - the plan, the permissions, the duplicate rule and the opportunity's defaults are the
//!   transaction's too: `super::plan`.
//! - `request`: a request meeting a saga already there (a retry rejoining it, an owed
//!   outcome), and the answers a request gets.
//! - `start`: the checks before the saga exists (duplicates through the customers API, the
//!   data by the customers context's rules), and writing the saga.
//! - `drive`: running a saga: retries, postponing, switching to compensation.
//! - `steps`: one function per forward [`Step`]; `compensate`: their undoing, in reverse.
//! - `store`: the saga row. `resumer`: [`Resumer`], which drives unfinished sagas later.

mod compensate;
mod drive;
mod request;
mod resumer;
mod start;
mod steps;
mod store;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crm_activities::ActivitiesApi;
use crm_core::{Actor, Backoff, Result, record};
use crm_customers::CustomersApi;
use crm_sales::SalesApi;

use super::plan::{Plan, authorize};
use super::{Conversion, ConvertRequest, Converter};
use crate::Lead;
use drive::Mode;
use request::{answer, deadline_problem, stored_error};
pub use resumer::Resumer;
use start::{Begun, Remote};

/// How patient a saga is.
#[derive(Clone, Debug)]
pub struct SagaSettings {
    /// How long a request keeps retrying a transiently failing step before answering 503
    /// `conversion-pending`.
    pub request_budget: Duration,
    /// The pauses between retries of a step: doubling per attempt up to a cap.
    pub backoff: Backoff,
    /// How long after its start a saga may still go forward; after that it is compensated.
    pub deadline: Duration,
    /// How long a runner's claim lasts without progress (each recorded step renews it).
    pub lease: Duration,
    /// How often the resumer looks for sagas that are due.
    pub poll: Duration,
    /// How many sagas one resumer pass claims.
    pub batch: i64,
}

impl Default for SagaSettings {
    fn default() -> Self {
        SagaSettings {
            request_budget: Duration::from_secs(3),
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
            deadline: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            batch: 16,
        }
    }
}

/// Where a saga stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    Completed,
    Compensating,
    Compensated,
    /// Compensation was refused for good; what is left is in the row and the log.
    Failed,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Running,
        State::Completed,
        State::Compensating,
        State::Compensated,
        State::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Completed => "completed",
            State::Compensating => "compensating",
            State::Compensated => "compensated",
            State::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Completed, compensated or failed: nothing will run it again.
    pub fn is_finished(self) -> bool {
        !matches!(self, State::Running | State::Compensating)
    }
}

/// The forward steps, in order; a saga records the next one to run. Each is run by
/// `steps` (`Ctx::forward`); what they created is deleted by `compensate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create the company, or check the attached one (filled later).
    Company,
    /// Create the contact in the company, or check the attached one (filled later).
    Contact,
    /// Create the opportunity, if the request asks for one.
    Opportunity,
    /// Fill the attached company's empty fields.
    FillCompany,
    /// Fill the attached contact's empty fields (joining the company if it has none).
    FillContact,
    /// Link the lead's activities to what it became.
    Relink,
    /// Lead `converted`, `lead.converted` and saga `completed`, in one local transaction.
    Finish,
    Done,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Company,
        Step::Contact,
        Step::Opportunity,
        Step::FillCompany,
        Step::FillContact,
        Step::Relink,
        Step::Finish,
        Step::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Company => "company",
            Step::Contact => "contact",
            Step::Opportunity => "opportunity",
            Step::FillCompany => "fill_company",
            Step::FillContact => "fill_contact",
            Step::Relink => "relink",
            Step::Finish => "finish",
            Step::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn next(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL.get(i + 1).copied().unwrap_or(Step::Done)
    }
}

/// The conversion saga, run by the leads service; see the module docs.
pub struct SagaConverter {
    ctx: Arc<Ctx>,
}

/// What running a saga needs; shared by the converter and its resumer.
struct Ctx {
    pool: PgPool,
    customers: Arc<dyn CustomersApi>,
    sales: Arc<dyn SalesApi>,
    activities: Arc<dyn ActivitiesApi>,
    settings: SagaSettings,
}

impl SagaConverter {
    pub fn new(
        pool: PgPool,
        customers: Arc<dyn CustomersApi>,
        sales: Arc<dyn SalesApi>,
        activities: Arc<dyn ActivitiesApi>,
        settings: SagaSettings,
    ) -> Self {
        SagaConverter {
            ctx: Arc::new(Ctx {
                pool,
                customers,
                sales,
                activities,
                settings,
            }),
        }
    }

    /// The resumer of this converter's sagas (of every saga in its database, in fact).
    pub fn resumer(&self) -> Resumer {
        Resumer::new(self.ctx.clone())
    }
}

#[async_trait]
impl Converter for SagaConverter {
    async fn convert(
        &self,
        actor: &Actor,
        lead_id: Uuid,
        req: ConvertRequest,
        skip: bool,
    ) -> Result<Conversion> {
        authorize(actor, &req)?;
        let ctx = &self.ctx;
        let until = Instant::now() + ctx.settings.request_budget;
        let request = serde_json::to_value(&req)?;
        let lead = {
            let mut conn = ctx.pool.acquire().await?;
            record::get::<Lead>(&mut conn, actor.tenant_id, lead_id).await?
        };
        if let Some(saga) = store::unfinished(&ctx.pool, actor.tenant_id, lead_id).await? {
            return ctx.rejoin(saga, actor, &request, skip, until).await;
        }
        if let Some(saga) = store::take_owed(&ctx.pool, actor, lead_id, &request, skip).await? {
            return ctx.finished(saga).await;
        }
        lead.status.convert()?;
        let plan = Plan::resolve(lead, req)?;
        let checked = async {
            if !skip {
                let mut candidates = Remote { ctx, actor, until };
                tracing::Instrument::instrument(
                    plan.check_duplicates(&mut candidates),
                    crm_telemetry::propagate::internal("saga check duplicates"),
                )
                .await?;
            }
            tracing::Instrument::instrument(
                ctx.precheck(actor, &plan, until),
                crm_telemetry::propagate::internal("saga precheck"),
            )
            .await
        };
        if let Err(e) = checked.await {
            // What the checks tripped over may be a concurrent conversion of this lead (its
            // new company is a "duplicate"). In the monolith the lead's lock would have let
            // that one finish first and this one see it, so the lead's news wins here too.
            if let Some(saga) = store::unfinished(&ctx.pool, actor.tenant_id, lead_id).await? {
                return ctx.rejoin(saga, actor, &request, skip, until).await;
            }
            let mut conn = ctx.pool.acquire().await?;
            record::get::<Lead>(&mut conn, actor.tenant_id, lead_id)
                .await?
                .status
                .convert()?;
            return Err(e);
        }
        let begin = crm_telemetry::propagate::internal("saga begin");
        match tracing::Instrument::instrument(ctx.begin(actor, request.clone(), plan, skip), begin)
            .await?
        {
            Begun::Started(saga, token) => {
                let id = saga.id;
                answer(ctx.drive(saga, token, Mode::Request(until)).await?, id)
            }
            Begun::Unfinished(saga) => ctx.rejoin(saga, actor, &request, skip, until).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_steps_run_in_order() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for s in Step::ALL {
            assert_eq!(Step::parse(s.as_str()), Some(s));
        }
        let mut s = Step::Company;
        let mut seen = vec![s];
        while s != Step::Done {
            s = s.next();
            seen.push(s);
        }
        assert_eq!(seen, Step::ALL);
        assert_eq!(Step::Done.next(), Step::Done);
    }
}
