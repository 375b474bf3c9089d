//! `GET /analytics/totals`: the exact figures the consistency experiment compares with direct
//! counts of the source tables once every event is applied (see METHOD.md, "consistency").

use crm_core::{Action, Actor, Object, Result};

use crate::Analytics;
use crate::queries::micros;
use crate::report::*;

impl Analytics {
    /// Exact live counts and sums, for reconciliation against the source tables.
    pub async fn totals(&self, actor: &Actor) -> Result<Totals> {
        actor.require(Action::Read, Object::Analytics)?;
        let tenant = actor.tenant_id;
        // One snapshot for all four reads, so opportunities and leads are of the same instant.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let opp: Vec<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
            "SELECT status, currency, count(*), sum(amount_micros)::text
             FROM crm_analytics.opportunities WHERE tenant_id = $1 AND deleted_at IS NULL
             GROUP BY status, currency ORDER BY status, currency",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        let leads: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, count(*) FROM crm_analytics.leads
             WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY status",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
        let (opp_deleted, leads_deleted): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM crm_analytics.opportunities
                     WHERE tenant_id = $1 AND deleted_at IS NOT NULL),
                    (SELECT count(*) FROM crm_analytics.leads
                     WHERE tenant_id = $1 AND deleted_at IS NOT NULL)",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;

        let mut by_status = zeroed(&OPPORTUNITY_STATUSES);
        let mut amounts = Vec::new();
        for (status, currency, count, amount) in opp {
            *by_status.entry(status.clone()).or_default() += count;
            if let Some(currency) = currency {
                amounts.push(StatusAmount {
                    status,
                    currency,
                    count,
                    amount_micros: micros(amount)?,
                });
            }
        }
        let mut lead_status = zeroed(&LEAD_STATUSES);
        lead_status.extend(leads);
        Ok(Totals {
            opportunities: OpportunityTotals {
                live: by_status.values().sum(),
                deleted: opp_deleted,
                by_status,
                amounts,
            },
            leads: LeadTotals {
                live: lead_status.values().sum(),
                deleted: leads_deleted,
                by_status: lead_status,
            },
        })
    }
}
