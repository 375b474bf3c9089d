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
//! - this file: settings, states and steps, [`SagaConverter`].
//! - `request`: how a request enters: a new conversion, a retry rejoining one, an owed outcome.
//! - `start`: the checks before the saga exists, and its creation.
//! - `drive`: running a saga: retries, postponing, switching to compensation.
//! - `steps`, `compensate`: the forward steps and their undoing.
//! - `store`: the saga row. `resumer`: [`Resumer`].

mod compensate;
mod drive;
mod request;
mod resumer;
mod start;
mod steps;
mod store;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crm_activities::ActivitiesApi;
use crm_customers::CustomersApi;
use crm_sales::SalesApi;

use request::{deadline_problem, stored_error};
pub use resumer::Resumer;

/// How patient a saga is.
#[derive(Clone, Debug)]
pub struct SagaSettings {
    /// How long a request keeps retrying a transiently failing step before answering 503
    /// `conversion-pending`.
    pub request_budget: Duration,
    /// The first pause between retries; doubled per attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
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
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
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

/// The forward steps, in order; a saga records the next one to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Company,
    Contact,
    Opportunity,
    FillCompany,
    FillContact,
    Relink,
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
