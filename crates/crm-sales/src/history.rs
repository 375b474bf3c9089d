//! Stage history: one append-only row per stage an opportunity entered, the first on
//! creation, with the amount and probability it had on entering.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::{Actor, Result};

use crate::opportunity::Opportunity;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct StageChange {
    /// Increases with every change (orders changes made within one transaction).
    pub id: i64,
    pub opportunity_id: Uuid,
    /// Absent for the stage an opportunity was created in.
    pub from_stage_id: Option<Uuid>,
    pub to_stage_id: Uuid,
    pub from_key: Option<String>,
    pub to_key: String,
    pub amount_micros: Option<i64>,
    pub currency: Option<String>,
    pub probability: i32,
    pub changed_at: DateTime<Utc>,
    pub changed_by: Option<Uuid>,
}

/// `GET /opportunities/{id}/stage-history`, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StageHistory {
    pub data: Vec<StageChange>,
}

/// Appends the change from `before`'s stage (none on creation) to `after`'s.
pub(crate) async fn append(
    conn: &mut PgConnection,
    actor: &Actor,
    before: Option<&Opportunity>,
    after: &Opportunity,
) -> Result<()> {
    let amount = after.amount.as_ref();
    sqlx::query(
        "INSERT INTO crm_sales.stage_history
             (tenant_id, opportunity_id, from_stage_id, to_stage_id, from_key, to_key,
              amount_micros, currency, probability, changed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(actor.tenant_id)
    .bind(after.meta.id)
    .bind(before.map(|b| b.stage_id))
    .bind(after.stage_id)
    .bind(before.map(|b| b.stage_key.as_str()))
    .bind(&after.stage_key)
    .bind(amount.map(|m| m.amount_micros))
    .bind(amount.map(|m| m.currency.as_str()))
    .bind(after.probability)
    .bind(actor.user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stage changes of an opportunity, oldest first.
pub async fn of(
    conn: &mut PgConnection,
    tenant: Uuid,
    opportunity: Uuid,
) -> Result<Vec<StageChange>> {
    Ok(sqlx::query_as(
        "SELECT seq AS id, opportunity_id, from_stage_id, to_stage_id, from_key, to_key,
                amount_micros, currency, probability, changed_at, changed_by
         FROM crm_sales.stage_history WHERE tenant_id = $1 AND opportunity_id = $2 ORDER BY seq",
    )
    .bind(tenant)
    .bind(opportunity)
    .fetch_all(conn)
    .await?)
}
