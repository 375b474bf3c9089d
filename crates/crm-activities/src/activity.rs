//! The activity record as stored and served, and its create/patch bodies.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crm_core::query::{FieldKind, FieldSpec};
use crm_core::record::{Meta, Resource};
use crm_core::{Error, FieldError, Object, Patch};

use crate::domain::{Direction, Kind, Priority, RecordType, TaskStatus};

/// One record an activity belongs to. The record lives in another context; only its type
/// and id are kept; its existence is checked on write through the owning context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    /// `company`, `contact`, `lead` or `opportunity`.
    #[serde(rename = "type")]
    pub record_type: RecordType,
    pub id: Uuid,
}

/// A task, note, call or meeting. Kind-specific fields are null on the other kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Activity {
    #[serde(flatten)]
    pub meta: Meta,
    pub kind: Kind,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// Task: when it is due.
    pub due_at: Option<DateTime<Utc>>,
    /// Task: `todo`, `in_progress` or `done`.
    pub status: Option<TaskStatus>,
    /// Task: `low`, `normal` or `high`.
    pub priority: Option<Priority>,
    /// Task: the user who should do it.
    pub assignee_id: Option<Uuid>,
    /// Call: `inbound` or `outbound`.
    pub direction: Option<Direction>,
    /// Call: length in seconds (0 to 86400).
    pub duration_seconds: Option<i32>,
    /// Call or meeting: what came of it.
    pub outcome: Option<String>,
    /// Meeting: start and end (end after start).
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Meeting: where.
    pub location: Option<String>,
    /// Task: when it became done; cleared when reopened.
    pub completed_at: Option<DateTime<Utc>>,
    /// The records it belongs to, ordered by type and id.
    pub links: Vec<Link>,
}

fn decode<T>(
    column: &str,
    v: Option<String>,
    parse: fn(&str) -> Option<T>,
) -> sqlx::Result<Option<T>> {
    v.map(|s| {
        parse(&s).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: format!("unknown value '{s}'").into(),
        })
    })
    .transpose()
}

impl<'r> FromRow<'r, PgRow> for Activity {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let kind: String = row.try_get("kind")?;
        Ok(Activity {
            meta: Meta::from_row(row)?,
            kind: decode("kind", Some(kind), Kind::parse)?.expect("kind is not null"),
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            due_at: row.try_get("due_at")?,
            status: decode("status", row.try_get("status")?, TaskStatus::parse)?,
            priority: decode("priority", row.try_get("priority")?, Priority::parse)?,
            assignee_id: row.try_get("assignee_id")?,
            direction: decode("direction", row.try_get("direction")?, Direction::parse)?,
            duration_seconds: row.try_get("duration_seconds")?,
            outcome: row.try_get("outcome")?,
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            location: row.try_get("location")?,
            completed_at: row.try_get("completed_at")?,
            links: row.try_get::<sqlx::types::Json<Vec<Link>>, _>("links")?.0,
        })
    }
}

/// The select list. `links` is aggregated per row from the link table (by its primary key),
/// so every generic read, `RETURNING` included, serves the links with the record.
const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", kind, subject, body, due_at, status, priority, assignee_id, direction, duration_seconds,",
    " outcome, starts_at, ends_at, location, completed_at,",
    " (SELECT coalesce(jsonb_agg(jsonb_build_object('type', l.record_type, 'id', l.record_id)",
    " ORDER BY l.record_type, l.record_id), '[]'::jsonb)",
    " FROM crm_activities.activity_links l WHERE l.activity_id = activities.id) AS links"
);

impl Resource for Activity {
    const OBJECT: &'static str = "activity";
    const COLLECTION: &'static str = "activities";
    const PERMISSION: Object = Object::Activity;
    const TABLE: &'static str = "crm_activities.activities";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("kind", FieldKind::Enum(Kind::NAMES)).no_sort(),
        FieldSpec::new("status", FieldKind::Enum(TaskStatus::NAMES))
            .nullable()
            .no_sort(),
        FieldSpec::new("priority", FieldKind::Enum(Priority::NAMES))
            .nullable()
            .no_sort(),
        FieldSpec::new("assignee_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("due_at", FieldKind::Timestamp).nullable(),
        FieldSpec::new("starts_at", FieldKind::Timestamp).nullable(),
        FieldSpec::new("completed_at", FieldKind::Timestamp).nullable(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        // The code checks these rules first; a violation here means a rule was missed, and
        // it is still the client's input, so it answers 422 naming the rule's field.
        let field = match constraint {
            "activities_meeting_times" => "ends_at",
            "activities_subject" => "subject",
            "activities_note_body" => "body",
            "activities_task_state" => "status",
            _ => return None,
        };
        Some(Error::Validation(vec![FieldError::new(
            field,
            "violates a rule of this activity",
        )]))
    }
}

/// A link as sent by clients; checked field by field so every bad link is named.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::schema::link_input)]
pub struct LinkInput {
    /// `company`, `contact`, `lead` or `opportunity`.
    #[serde(rename = "type")]
    pub record_type: String,
    pub id: Uuid,
}

impl From<Link> for LinkInput {
    fn from(l: Link) -> Self {
        LinkInput {
            record_type: l.record_type.as_str().to_owned(),
            id: l.id,
        }
    }
}

/// `POST /activities`. Fields of another kind are refused (422 naming them).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::schema::new_activity)]
pub struct NewActivity {
    /// Required: `task`, `note`, `call` or `meeting`; cannot change later.
    pub kind: Option<String>,
    /// Required for tasks, calls and meetings; up to 300 characters.
    pub subject: Option<String>,
    /// Up to 20,000 characters; required for notes.
    pub body: Option<String>,
    /// Task only.
    pub due_at: Option<DateTime<Utc>>,
    /// Task only: `todo` (default), `in_progress` or `done`.
    pub status: Option<String>,
    /// Task only: `low`, `normal` (default) or `high`.
    pub priority: Option<String>,
    /// Task only.
    pub assignee_id: Option<Uuid>,
    /// Call only: `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Call only: 0 to 86400.
    pub duration_seconds: Option<i64>,
    /// Call or meeting.
    pub outcome: Option<String>,
    /// Meeting only, required.
    pub starts_at: Option<DateTime<Utc>>,
    /// Meeting only, required, after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Meeting only.
    pub location: Option<String>,
    /// Required: 1 to 20 live records of the tenant the activity belongs to.
    pub links: Option<Vec<LinkInput>>,
}

/// `PATCH /activities/{id}`: absent fields stay, `null` clears; `links` replaces the set.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::schema::activity_patch)]
pub struct ActivityPatch {
    /// Accepted only when equal to the current kind.
    #[serde(default)]
    pub kind: Patch<String>,
    #[serde(default)]
    pub subject: Patch<String>,
    #[serde(default)]
    pub body: Patch<String>,
    #[serde(default)]
    pub due_at: Patch<DateTime<Utc>>,
    /// Task transitions: todo → in_progress → done, todo → done, in_progress → todo,
    /// done → todo (reopen); anything else is 409 `invalid-transition`.
    #[serde(default)]
    pub status: Patch<String>,
    #[serde(default)]
    pub priority: Patch<String>,
    #[serde(default)]
    pub assignee_id: Patch<Uuid>,
    #[serde(default)]
    pub direction: Patch<String>,
    #[serde(default)]
    pub duration_seconds: Patch<i64>,
    #[serde(default)]
    pub outcome: Patch<String>,
    #[serde(default)]
    pub starts_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    pub location: Patch<String>,
    #[serde(default)]
    pub links: Patch<Vec<LinkInput>>,
}

impl From<NewActivity> for ActivityPatch {
    fn from(n: NewActivity) -> Self {
        ActivityPatch {
            kind: n.kind.into(),
            subject: n.subject.into(),
            body: n.body.into(),
            due_at: n.due_at.into(),
            status: n.status.into(),
            priority: n.priority.into(),
            assignee_id: n.assignee_id.into(),
            direction: n.direction.into(),
            duration_seconds: n.duration_seconds.into(),
            outcome: n.outcome.into(),
            starts_at: n.starts_at.into(),
            ends_at: n.ends_at.into(),
            location: n.location.into(),
            links: n.links.into(),
        }
    }
}
