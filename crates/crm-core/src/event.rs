//! Domain events as they travel: through the outbox, over NATS, into webhooks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;

/// Record types whose records announce `created`, `updated`, `deleted` and `restored`.
pub const OBJECTS: &[&str] = &[
    "company",
    "contact",
    "lead",
    "opportunity",
    "pipeline",
    "stage",
    "activity",
    "webhook",
    "user",
];

/// What every record of [`OBJECTS`] announces.
pub const LIFECYCLE: &[&str] = &["created", "updated", "deleted", "restored"];

/// The events beyond the lifecycle ones. With [`OBJECTS`] × [`LIFECYCLE`], every event the
/// system emits: webhooks subscribe to these names only (`outbox::append` asserts it in
/// debug builds, so a new event cannot be forgotten here).
pub const SPECIAL: &[&str] = &[
    "company.merged",
    "contact.merged",
    "lead.status_changed",
    "lead.converted",
    "opportunity.stage_changed",
    "opportunity.won",
    "opportunity.lost",
    "opportunity.reopened",
    "activity.completed",
    "webhook.ping",
];

/// Every event name the system emits, sorted.
pub fn emitted() -> Vec<String> {
    let mut all: Vec<String> = OBJECTS
        .iter()
        .flat_map(|o| LIFECYCLE.iter().map(move |a| format!("{o}.{a}")))
        .chain(SPECIAL.iter().map(|s| (*s).to_owned()))
        .collect();
    all.sort();
    all
}

/// Whether the system emits `event`.
pub fn is_emitted(event: &str) -> bool {
    SPECIAL.contains(&event)
        || event
            .split_once('.')
            .is_some_and(|(o, a)| OBJECTS.contains(&o) && LIFECYCLE.contains(&a))
}

/// The current envelope schema version; bump when a field's meaning changes.
pub const SCHEMA_VERSION: u16 = 1;

/// One domain event. `event` is `{object}.{action}`, e.g. `opportunity.stage_changed`.
/// `data` is the record after the change (with its `version`), `changes` the field diff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub event: String,
    pub object: String,
    pub record_id: Uuid,
    pub tenant_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub schema_version: u16,
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Value>,
    /// The trace this event continues (tracing on, sampled writer): carried beside the
    /// envelope — an outbox column, a NATS header — never inside it, so payloads and webhook
    /// bodies are the same with tracing on or off.
    #[serde(skip)]
    #[schemars(skip)]
    pub trace: Option<crm_telemetry::Traceparent>,
}

impl EventEnvelope {
    pub fn new(actor: &Actor, object: &str, action: &str, record_id: Uuid, data: Value) -> Self {
        EventEnvelope {
            event_id: crate::new_id(),
            event: format!("{object}.{action}"),
            object: object.to_owned(),
            record_id,
            tenant_id: actor.tenant_id,
            actor_id: Some(actor.user_id),
            occurred_at: Utc::now(),
            schema_version: SCHEMA_VERSION,
            data,
            changes: None,
            trace: None,
        }
    }

    pub fn with_changes(mut self, changes: Value) -> Self {
        self.changes = Some(changes);
        self
    }

    /// The part after the dot: `created`, `stage_changed`, ...
    pub fn action(&self) -> &str {
        self.event.split_once('.').map_or("", |(_, a)| a)
    }

    /// A field of `data` as a string.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(Value::as_str)
    }

    /// A field of `data` parsed as a UUID.
    pub fn uuid(&self, field: &str) -> Option<Uuid> {
        self.str(field).and_then(|s| Uuid::parse_str(s).ok())
    }

    /// The acting user as an [`Actor`] of the event's tenant with the given role.
    pub fn actor(&self, role: crate::Role) -> Actor {
        Actor::new(self.tenant_id, self.actor_id.unwrap_or(Uuid::nil()), role)
    }
}
