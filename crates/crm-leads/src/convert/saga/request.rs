//! A convert request that meets a saga already there: a retry of one that is unfinished
//! (it rejoins it), or a retry owed the outcome of one that has finished meanwhile (it gets
//! that outcome, once); and the answers a request gets from a saga.

use tokio::time::Instant;
use uuid::Uuid;

use crm_core::{Actor, Error, Problem, Result, record};

use super::drive::{Mode, Outcome};
use super::store::{self, Saga};
use super::{Ctx, State};
use crate::Lead;
use crate::convert::Conversion;

impl Ctx {
    /// A convert while the lead's saga is unfinished: the same request rejoins it (a retry
    /// after 503 `conversion-pending`), another one is refused.
    pub(super) async fn rejoin(
        &self,
        saga: Saga,
        actor: &Actor,
        request: &serde_json::Value,
        skip: bool,
        until: Instant,
    ) -> Result<Conversion> {
        if !saga.same_request(actor, request, skip) {
            return Err(Error::conflict(
                "conversion-in-progress",
                "this lead is being converted by another request; retry once it has finished",
            ));
        }
        // Another runner (the resumer, or a concurrent request) may hold it right now: wait
        // for it within this request's budget, then take over or take its outcome.
        let pause = self.settings.backoff.first;
        loop {
            let token = Uuid::new_v4();
            if let Some(saga) =
                store::claim(&self.pool, saga.id, token, self.settings.lease).await?
            {
                let id = saga.id;
                return answer(self.drive(saga, token, Mode::Request(until)).await?, id);
            }
            if store::load(&self.pool, saga.id).await?.state.is_finished() {
                break;
            }
            if Instant::now() + pause >= until {
                return Err(pending(saga.id));
            }
            tokio::time::sleep(pause).await;
        }
        if let Some(done) = store::take_owed(&self.pool, actor, saga.lead_id, request, skip).await?
        {
            return self.finished(done).await;
        }
        // Finished and answered to the request that ran it: this one was a second convert
        // of the lead, which its state now answers (409 `already-converted`), or, when the
        // lead is still open, the same failure the other request got.
        let mut conn = self.pool.acquire().await?;
        record::get::<Lead>(&mut conn, saga.tenant_id, saga.lead_id)
            .await?
            .status
            .convert()?;
        Err(stored_error(
            saga.id,
            store::load(&self.pool, saga.id).await?.error,
        ))
    }

    /// The outcome of a finished saga, for the retry it is owed to.
    pub(super) async fn finished(&self, saga: Saga) -> Result<Conversion> {
        match (saga.state, saga.company, saga.contact) {
            (State::Completed, Some(company), Some(contact)) => {
                let mut conn = self.pool.acquire().await?;
                let lead = record::get::<Lead>(&mut conn, saga.tenant_id, saga.lead_id).await?;
                Ok(Conversion {
                    lead,
                    company,
                    contact,
                    opportunity: saga.opportunity,
                })
            }
            _ => Err(stored_error(saga.id, saga.error)),
        }
    }
}

/// What the caller of a request-driven run gets.
pub(super) fn answer(outcome: Outcome, id: Uuid) -> Result<Conversion> {
    match outcome {
        Outcome::Completed(c) => Ok(*c),
        Outcome::Failed(e) => Err(e),
        Outcome::Pending => Err(pending(id)),
    }
}

/// 503 `conversion-pending`: started, not finished; the same request later gets the outcome.
pub(super) fn pending(id: Uuid) -> Error {
    let mut p = Problem::new(
        "conversion-pending",
        503,
        "the conversion has started but a service it needs is unavailable; it continues in the \
         background: retry the same request with the same Idempotency-Key later",
    );
    p.extra.insert("saga_id".into(), id.to_string().into());
    Error::Remote(Box::new(p))
}

/// The problem of a saga compensated because its deadline passed.
pub(super) fn deadline_problem(id: Uuid) -> Problem {
    let mut p = Problem::new(
        "conversion-failed",
        503,
        "the conversion could not finish in time because a service it needs stayed \
         unavailable; what it had created was removed and the lead is unchanged: retry",
    );
    p.extra.insert("saga_id".into(), id.to_string().into());
    p
}

/// A stored outcome as the error it was (a problem keeps its status and body).
pub(super) fn stored_error(id: Uuid, problem: Option<Problem>) -> Error {
    Error::Remote(Box::new(problem.unwrap_or_else(|| deadline_problem(id))))
}
