//! Running a saga: forward step by step while before its deadline, retrying transient
//! failures with backoff while the runner may wait and postponing them when it may not,
//! compensating when a step fails for good or the deadline has passed.
//!
//! Before each attempt the saga is written with the attempt counted and the step marked in
//! doubt, after each step with its result: a crash at any point leaves a row that says what
//! may have happened, which is what the next runner needs.

use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crm_core::{Error, Result};

use super::store::{self, Hold, Saga};
use super::{Ctx, State, deadline_problem, stored_error};
use crate::convert::Conversion;
use crate::convert::plan::prefix;

/// Who runs the saga.
#[derive(Clone, Copy, Debug)]
pub(super) enum Mode {
    /// A request whose caller waits until then at most, and is told the outcome.
    Request(Instant),
    /// The resumer: one attempt per step, then on to the next saga.
    Resume,
}

impl Mode {
    fn until(self) -> Instant {
        match self {
            Mode::Request(until) => until,
            Mode::Resume => Instant::now(),
        }
    }

    fn caller_waits(self) -> bool {
        matches!(self, Mode::Request(_))
    }
}

/// Where a run left the saga, from the caller's side.
pub(super) enum Outcome {
    Completed(Box<Conversion>),
    /// It will not convert (compensated, or being compensated): the caller's error.
    Failed(Error),
    /// Still running; retry later.
    Pending,
}

/// What one forward step did.
pub(super) enum Progress {
    Advanced,
    Completed(Box<Conversion>),
    /// Another runner took the saga over; leave it.
    LostClaim,
}

/// Failures worth retrying: the other side was unavailable, slow, overloaded, or hit a
/// concurrency conflict; or something unexpected, which the deadline bounds. Everything
/// else (4xx) is the request's fault and fails the step for good.
pub(super) fn transient(e: &Error) -> bool {
    const RETRYABLE: [&str; 3] = [
        "serialization-failure",
        "deadlock",
        "idempotency-key-in-flight",
    ];
    match e {
        Error::Unavailable(_)
        | Error::Timeout(_)
        | Error::RateLimited { .. }
        | Error::Internal(_) => true,
        Error::Conflict { code, .. } => RETRYABLE.contains(code),
        Error::Remote(p) => {
            p.status >= 500 || matches!(p.status, 408 | 429) || RETRYABLE.contains(&p.code())
        }
        _ => false,
    }
}

/// A 404 (or 410), in-process or remote.
pub(super) fn missing(e: &Error) -> bool {
    match e {
        Error::NotFound(_) => true,
        Error::Remote(p) => matches!(p.status, 404 | 410),
        _ => false,
    }
}

/// Names a step's invalid fields by their place in the request (`company.data.domain`), for
/// errors raised in-process and for validation problems answered by another service alike.
pub(super) fn at(e: Error, path: &str) -> Error {
    match e {
        Error::Remote(p) if p.status == 422 && !p.errors.is_empty() => match p.code() {
            "validation" => prefix(Error::Validation(p.errors), path),
            "unknown-reference" => prefix(Error::UnknownReference(p.errors), path),
            "inconsistent" => prefix(Error::Inconsistent(p.errors), path),
            _ => Error::Remote(p),
        },
        other => prefix(other, path),
    }
}

impl Ctx {
    /// The pause before attempt `attempts + 1`.
    pub(super) fn backoff(&self, attempts: i32) -> Duration {
        self.settings
            .backoff
            .delay(u32::try_from(attempts).unwrap_or(0))
    }

    pub(super) async fn save(&self, saga: &Saga, token: Uuid) -> Result<bool> {
        store::save(&self.pool, saga, token, Hold::Keep(self.settings.lease)).await
    }

    /// Gives the saga back for the resumer, due after the backoff (no later than the deadline
    /// while running, so compensation starts on time).
    async fn postpone(&self, saga: &Saga, token: Uuid) -> Result<()> {
        let mut wait = self.backoff(saga.attempts);
        if saga.state == State::Running {
            let left = (saga.deadline - chrono::Utc::now())
                .to_std()
                .unwrap_or_default();
            wait = wait.min(left);
        }
        store::save(&self.pool, saga, token, Hold::Release(wait)).await?;
        Ok(())
    }

    /// The pause before retrying within this run, if the runner may wait that long.
    fn retry_within(&self, saga: &Saga, mode: Mode) -> Option<Duration> {
        let wait = self.backoff(saga.attempts);
        (Instant::now() + wait < mode.until()).then_some(wait)
    }

    /// Runs a claimed saga as far as it goes now.
    pub(super) async fn drive(&self, mut saga: Saga, token: Uuid, mode: Mode) -> Result<Outcome> {
        // The error for the caller: the failing step's own when it failed in this run (so it
        // is exactly the monolith's), else the one stored with the saga.
        let mut failure: Option<Error> = None;
        loop {
            match saga.state {
                State::Running if chrono::Utc::now() >= saga.deadline => {
                    tracing::warn!(saga = %saga.id, step = saga.step.as_str(),
                        "conversion saga passed its deadline; compensating");
                    saga.state = State::Compensating;
                    saga.error = Some(deadline_problem(saga.id));
                    saga.attempts = 0;
                }
                State::Running => {
                    saga.attempts += 1;
                    saga.step_in_doubt = true;
                    if !self.save(&saga, token).await? {
                        return Ok(Outcome::Pending);
                    }
                    let step = crm_telemetry::propagate::internal(format_args!(
                        "saga step {}",
                        saga.step.as_str()
                    ));
                    match tracing::Instrument::instrument(
                        self.forward(&mut saga, token, mode),
                        step,
                    )
                    .await
                    {
                        Ok(Progress::Advanced) => {
                            // Recorded by the next iteration's write, together with the
                            // start of the next step.
                            saga.attempts = 0;
                            saga.step_in_doubt = false;
                        }
                        Ok(Progress::Completed(c)) => return Ok(Outcome::Completed(c)),
                        Ok(Progress::LostClaim) => return Ok(Outcome::Pending),
                        Err(e) if transient(&e) => {
                            tracing::info!(saga = %saga.id, step = saga.step.as_str(),
                                attempts = saga.attempts, error = %e, "conversion step failed; will retry");
                            if let Some(wait) = self.retry_within(&saga, mode) {
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                            self.postpone(&saga, token).await?;
                            return Ok(Outcome::Pending);
                        }
                        Err(e) => {
                            tracing::info!(saga = %saga.id, step = saga.step.as_str(), error = %e,
                                "conversion step failed for good; compensating");
                            saga.state = State::Compensating;
                            saga.error = Some(e.problem());
                            // A refusal wrote nothing.
                            saga.step_in_doubt = false;
                            saga.attempts = 0;
                            failure = Some(e);
                        }
                    }
                }
                State::Compensating => {
                    let undo = crm_telemetry::propagate::internal("saga compensate");
                    if let Some(outcome) = tracing::Instrument::instrument(
                        self.undo(&mut saga, token, mode, &mut failure),
                        undo,
                    )
                    .await?
                    {
                        return Ok(outcome);
                    }
                }
                _ => return Err(Error::internal(format!("saga {} is finished", saga.id))),
            }
        }
    }
}

impl Ctx {
    /// One attempt at compensating; `None` to go round again (after a pause).
    async fn undo(
        &self,
        saga: &mut Saga,
        token: Uuid,
        mode: Mode,
        failure: &mut Option<Error>,
    ) -> Result<Option<Outcome>> {
        saga.attempts += 1;
        if !self.save(saga, token).await? {
            return Ok(Some(Outcome::Pending));
        }
        let result = self.compensate(saga).await;
        // The caller's error: the step's own when it failed in this run, else the stored one.
        let told = failure
            .take()
            .unwrap_or_else(|| stored_error(saga.id, saga.error.clone()));
        match result {
            Ok(()) => {
                saga.state = State::Compensated;
                saga.step_in_doubt = false;
                saga.reported |= mode.caller_waits();
                store::save(&self.pool, saga, token, Hold::Release(Duration::ZERO)).await?;
                tracing::info!(saga = %saga.id, "conversion saga compensated");
                Ok(Some(Outcome::Failed(told)))
            }
            Err(e) if transient(&e) => {
                tracing::info!(saga = %saga.id, attempts = saga.attempts, error = %e,
                    "compensating a conversion failed; will retry");
                if let Some(wait) = self.retry_within(saga, mode) {
                    *failure = Some(told);
                    tokio::time::sleep(wait).await;
                    return Ok(None);
                }
                // The outcome is settled even though the undoing is not finished: the caller
                // is told now, the resumer finishes the undoing.
                saga.reported |= mode.caller_waits();
                self.postpone(saga, token).await?;
                Ok(Some(Outcome::Failed(told)))
            }
            Err(e) => {
                tracing::error!(saga = %saga.id, tenant = %saga.tenant_id,
                    lead = %saga.lead_id, error = %e,
                    company = ?saga.company.as_ref().map(|c| c.meta.id),
                    contact = ?saga.contact.as_ref().map(|c| c.meta.id),
                    opportunity = ?saga.opportunity.as_ref().map(|o| o.meta.id),
                    "COMPENSATION FAILED for good: records this lead conversion created \
                     may be left behind; the saga row says which");
                saga.state = State::Failed;
                saga.reported |= mode.caller_waits();
                store::save(&self.pool, saga, token, Hold::Release(Duration::ZERO)).await?;
                Ok(Some(Outcome::Failed(told)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_core::Problem;

    fn remote(code: &str, status: u16) -> Error {
        Error::Remote(Box::new(Problem::new(code, status, "x")))
    }

    #[test]
    fn unavailability_is_transient_and_refusals_are_not() {
        assert!(transient(&Error::Unavailable("down".into())));
        assert!(transient(&Error::Timeout("slow".into())));
        assert!(transient(&remote("unavailable", 503)));
        assert!(transient(&remote("bad-gateway", 502)));
        assert!(transient(&remote("idempotency-key-in-flight", 409)));
        assert!(!transient(&remote("validation", 422)));
        assert!(!transient(&remote("forbidden", 403)));
        assert!(!transient(&Error::invalid("x", "y")));
        assert!(!transient(&Error::conflict("duplicate", "d")));
    }

    #[test]
    fn remote_validation_names_fields_by_request_path() {
        let mut p = Problem::new("validation", 422, "invalid fields: stage_key");
        p.errors = vec![crm_core::FieldError::new("stage_key", "unknown")];
        match at(Error::Remote(Box::new(p)), "opportunity") {
            Error::Validation(errors) => assert_eq!(errors[0].field, "opportunity.stage_key"),
            other => panic!("{other:?}"),
        }
        assert!(missing(&remote("not-found", 404)));
    }
}
