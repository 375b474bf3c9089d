//! The resumer: continues the sagas no request is running any more, after an outage (the
//! request answered 503 `conversion-pending`) or a crash (the request's runner died, and its
//! claim ran out). Forward while before the deadline, compensating after it; run one per
//! leads-service replica, as many as there are replicas.

use std::sync::Arc;

use tokio::task::JoinSet;
use uuid::Uuid;

use crm_core::{Backoff, Result};

use super::Ctx;
use super::drive::Mode;
use super::store;

/// Continues unfinished conversion sagas; made by [`super::SagaConverter::resumer`].
pub struct Resumer {
    ctx: Arc<Ctx>,
}

impl Resumer {
    pub(super) fn new(ctx: Arc<Ctx>) -> Self {
        Resumer { ctx }
    }

    /// Claims the sagas that are due and runs each as far as it goes now, side by side (one
    /// slow service does not hold up the others' sagas); returns how many it claimed.
    pub async fn run_once(&self) -> Result<usize> {
        let s = &self.ctx.settings;
        let token = Uuid::new_v4();
        let sagas = store::claim_due(&self.ctx.pool, token, s.lease, s.batch).await?;
        let claimed = sagas.len();
        let mut runs = JoinSet::new();
        for saga in sagas {
            let ctx = self.ctx.clone();
            runs.spawn(async move {
                let id = saga.id;
                if let Err(e) = ctx.drive(saga, token, Mode::Resume).await {
                    // Its claim runs out and a later pass takes it up again.
                    tracing::warn!(saga = %id, error = %e, "resuming a conversion saga failed");
                }
            });
        }
        while runs.join_next().await.is_some() {}
        Ok(claimed)
    }

    /// Runs until `shutdown` resolves: a pass every poll interval, at once again after a full
    /// batch, backing off while its own database fails.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let poll = self.ctx.settings.poll;
        // Its own database failing: from the poll interval, doubling to 30 s.
        let backoff = Backoff::new(poll, std::time::Duration::from_secs(30));
        let mut failures = 0u32;
        loop {
            let wait = match self.run_once().await {
                Ok(n) if n as i64 >= self.ctx.settings.batch => std::time::Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    poll
                }
                Err(e) => {
                    tracing::warn!(error = %e, "conversion saga resumer failed; retrying");
                    failures = failures.saturating_add(1);
                    backoff.delay(failures)
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
