//! What this context does with events: it writes the timelines of every CRM record
//! ([`TimelineHandler`]) and keeps activity links pointing at live records after merges
//! ([`ActivitiesEvents`]). Both are idempotent: `crm_core::outbox::apply` records each event
//! once per handler, and the timeline's unique `(record_id, event_id)` holds even without it.
//!
//! Events this context emits: `activity.created`, `activity.updated`, `activity.deleted`,
//! `activity.restored`, and `activity.completed` when a task becomes done (besides its
//! `activity.updated`).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::outbox::EventHandler;
use crm_core::{EventEnvelope, Result, Role};

use crate::domain::{RecordRef, RecordType};
use crate::{links, summary, timeline};

/// Appends timeline entries: one on the event's own record, one on each record an activity
/// is (or was, for a link change) linked to, and for `lead.converted` one on each record
/// the lead became.
pub struct TimelineHandler;

impl TimelineHandler {
    pub const NAME: &'static str = "activities.timeline";
}

/// The lead fields naming the records a conversion created or attached.
const CONVERTED: [(&str, RecordType); 3] = [
    ("converted_company_id", RecordType::Company),
    ("converted_contact_id", RecordType::Contact),
    ("converted_opportunity_id", RecordType::Opportunity),
];

fn links_in(v: &Value) -> impl Iterator<Item = RecordRef> + '_ {
    v.as_array().into_iter().flatten().filter_map(|l| {
        let t = RecordType::parse(l["type"].as_str()?)?;
        let id = Uuid::parse_str(l["id"].as_str()?).ok()?;
        Some((t, id))
    })
}

/// The records other than the event's own that get an entry.
fn related(event: &EventEnvelope) -> Vec<RecordRef> {
    let mut out: Vec<RecordRef> = Vec::new();
    if event.object == "activity" {
        out.extend(links_in(&event.data["links"]));
        // A removed link still gets the entry that says so.
        if let Some(c) = &event.changes {
            out.extend(links_in(&c["links"]["from"]));
        }
    }
    if event.event == "lead.converted" {
        out.extend(
            CONVERTED
                .iter()
                .filter_map(|(field, t)| event.uuid(field).map(|id| (*t, id))),
        );
    }
    let mut seen = vec![event.record_id];
    out.retain(|(_, id)| {
        let fresh = !seen.contains(id);
        seen.push(*id);
        fresh
    });
    out
}

#[async_trait]
impl EventHandler for TimelineHandler {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        RecordType::parse(&event.object).is_some()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> Result<()> {
        let Some(own_type) = RecordType::parse(&event.object) else {
            return Ok(());
        };
        if summary::is_redundant(event) {
            return Ok(());
        }
        let own = summary::summary(event, true);
        timeline::append(conn, event, own_type, event.record_id, &own).await?;
        let related = related(event);
        if !related.is_empty() {
            let other = summary::summary(event, false);
            for (t, id) in related {
                timeline::append(conn, event, t, id, &other).await?;
            }
        }
        Ok(())
    }
}

/// Re-points activity links when customers are merged: `company.merged` /
/// `contact.merged` carry the primary record as `data` and the merged ids in
/// `changes.merged_ids`; every activity linked to a merged record is linked to the primary
/// instead (one `activity.updated` each).
pub struct ActivitiesEvents;

impl ActivitiesEvents {
    pub const NAME: &'static str = "activities.references";
}

#[async_trait]
impl EventHandler for ActivitiesEvents {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        matches!(event.event.as_str(), "company.merged" | "contact.merged")
    }

    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> Result<()> {
        let Some(t) = RecordType::parse(&event.object).filter(|t| t.is_linkable()) else {
            return Ok(());
        };
        // The merge was authorised when it was made; this is its consequence, done as the
        // user who merged (their id stays on the activities' `updated_by`).
        let actor = event.actor(Role::Admin);
        let merged = event
            .changes
            .as_ref()
            .and_then(|c| c["merged_ids"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()));
        for id in merged {
            links::repoint(conn, &actor, (t, id), (t, event.record_id)).await?;
        }
        Ok(())
    }
}
