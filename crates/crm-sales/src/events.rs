//! The sales events beyond the generic created/updated/deleted/restored, and the handler
//! this context runs on other contexts' events.
//!
//! Emitted (data = the opportunity after the change, `changes = {"stage": {"from", "to"}}`
//! with stage keys; `from` is null on creation):
//! - `opportunity.stage_changed` on every stage change after creation;
//! - `opportunity.won` / `opportunity.lost` on entering a closed stage (creation included);
//! - `opportunity.reopened` when a closed opportunity is reopened.

use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::outbox::{self, EventHandler};
use crm_core::query::SqlValue;
use crm_core::record;
use crm_core::{Actor, EventEnvelope, Result, Role};

use crate::domain::Status;
use crate::opportunity::{self, Opportunity};

/// Announces a stage change (or the first stage, when `before` is `None`).
pub(crate) async fn stage_entered(
    conn: &mut PgConnection,
    actor: &Actor,
    before: Option<&Opportunity>,
    after: &Opportunity,
) -> Result<()> {
    let changes = json!({"stage": {"from": before.map(|b| &b.stage_key), "to": &after.stage_key}});
    let mut actions = Vec::new();
    if before.is_some() {
        actions.push("stage_changed");
    }
    match after.status {
        Status::Won => actions.push("won"),
        Status::Lost => actions.push("lost"),
        Status::Open if before.is_some_and(|b| b.status.is_closed()) => actions.push("reopened"),
        Status::Open => {}
    }
    for action in actions {
        let e = record::event(actor, after, action)?.with_changes(changes.clone());
        outbox::append(conn, &e).await?;
    }
    Ok(())
}

/// Re-points opportunities at the surviving record when companies or contacts are merged
/// (`company.merged` / `contact.merged`: the record id is the primary, `changes.merged_ids`
/// the retired ones). Register it with the outbox dispatcher (monolith) or the consumer
/// (microservices).
#[derive(Clone, Copy, Debug, Default)]
pub struct SalesEvents;

impl SalesEvents {
    pub fn new() -> Self {
        SalesEvents
    }

    fn column(event: &str) -> Option<&'static str> {
        match event {
            "company.merged" => Some("company_id"),
            "contact.merged" => Some("primary_contact_id"),
            _ => None,
        }
    }
}

#[async_trait]
impl EventHandler for SalesEvents {
    fn name(&self) -> &'static str {
        "sales.references"
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        Self::column(&event.event).is_some()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> Result<()> {
        let Some(column) = Self::column(&event.event) else {
            return Ok(());
        };
        let merged: Vec<Uuid> = event
            .changes
            .as_ref()
            .and_then(|c| c.get("merged_ids"))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .collect()
            })
            .unwrap_or_default();
        if merged.is_empty() {
            return Ok(());
        }
        // The merge was the acting user's; the re-pointing is done on their behalf.
        let actor = event.actor(Role::Admin);
        let found: Vec<Opportunity> = sqlx::query_as(&format!(
            "SELECT {} FROM crm_sales.opportunities
             WHERE tenant_id = $1 AND {column} = ANY($2) AND deleted_at IS NULL
             ORDER BY id FOR UPDATE",
            opportunity::COLUMNS
        ))
        .bind(actor.tenant_id)
        .bind(&merged)
        .fetch_all(&mut *conn)
        .await?;
        for before in found {
            let after = record::write_columns::<Opportunity>(
                conn,
                &actor,
                before.meta.id,
                vec![(column, SqlValue::Uuid(Some(event.record_id)))],
            )
            .await?;
            record::append_updated(conn, &actor, &before, &after).await?;
        }
        Ok(())
    }
}
