//! The rules of activities, without I/O: kinds and the fields each allows or requires, the
//! task status machine and what it does to `completed_at`, and the record types an
//! activity can be linked to.

use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crm_core::{FieldError, Object};

/// Values of an enum stored as text, and their parsing.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// What an activity is; fixed at creation.
    Kind { Task = "task", Note = "note", Call = "call", Meeting = "meeting" }
}

text_enum! {
    /// A task's progress.
    TaskStatus { Todo = "todo", InProgress = "in_progress", Done = "done" }
}

text_enum! {
    Priority { Low = "low", Normal = "normal", High = "high" }
}

text_enum! {
    /// Who called whom.
    Direction { Inbound = "inbound", Outbound = "outbound" }
}

text_enum! {
    /// Records with a timeline. All but `activity` can be linked to activities.
    RecordType {
        Company = "company",
        Contact = "contact",
        Lead = "lead",
        Opportunity = "opportunity",
        Activity = "activity",
    }
}

/// A record by type and id, as activities are linked to it.
pub type RecordRef = (RecordType, uuid::Uuid);

/// The fields every kind has.
const COMMON: &[&str] = &["subject", "body"];
const TASK: &[&str] = &["due_at", "status", "priority", "assignee_id"];
const CALL: &[&str] = &["direction", "duration_seconds", "outcome"];
const MEETING: &[&str] = &["starts_at", "ends_at", "location", "outcome"];

/// Every kind-dependent input field, for error messages and tests.
pub const KIND_FIELDS: &[&str] = &[
    "subject",
    "body",
    "due_at",
    "status",
    "priority",
    "assignee_id",
    "direction",
    "duration_seconds",
    "outcome",
    "starts_at",
    "ends_at",
    "location",
];

/// Longest call the API accepts: one day.
pub const MAX_CALL_SECONDS: i64 = 86_400;

impl Kind {
    fn own_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Task => TASK,
            Kind::Note => &[],
            Kind::Call => CALL,
            Kind::Meeting => MEETING,
        }
    }

    /// Whether an activity of this kind has `field`.
    pub fn allows(self, field: &str) -> bool {
        COMMON.contains(&field) || self.own_fields().contains(&field)
    }

    /// Whether `field` must hold a value. A note is its body; the other kinds need a
    /// subject; a meeting needs its time span.
    pub fn requires(self, field: &str) -> bool {
        match (self, field) {
            (Kind::Note, "body") => true,
            (Kind::Task | Kind::Call | Kind::Meeting, "subject") => true,
            (Kind::Meeting, "starts_at" | "ends_at") => true,
            // Stored with a default when absent, but never null.
            (Kind::Task, "status" | "priority") => true,
            _ => false,
        }
    }

    /// The error for a field this kind does not have.
    pub fn foreign_field(self, field: &str) -> FieldError {
        FieldError::new(field, format!("is not a field of a {self}"))
    }

    /// Capitalised, for summaries: `Task`, `Note`, ...
    pub fn label(self) -> &'static str {
        match self {
            Kind::Task => "Task",
            Kind::Note => "Note",
            Kind::Call => "Call",
            Kind::Meeting => "Meeting",
        }
    }
}

/// A status change the task machine does not allow (409 `invalid-transition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTransition {
    pub from: TaskStatus,
    pub to: TaskStatus,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a task cannot go from {} to {}; reopen it (status todo) first",
            self.from, self.to
        )
    }
}

impl TaskStatus {
    /// `todo → in_progress → done`, `todo → done`, `in_progress → todo`, `done → todo`
    /// (reopen). Staying in the same status is not a transition and always allowed, so a
    /// PATCH that repeats the current status is harmless.
    pub fn transition(self, to: TaskStatus) -> Result<TaskStatus, InvalidTransition> {
        use TaskStatus::*;
        let ok = self == to
            || matches!(
                (self, to),
                (Todo, InProgress)
                    | (InProgress, Done)
                    | (Todo, Done)
                    | (Done, Todo)
                    | (InProgress, Todo)
            );
        if ok {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }
}

/// `completed_at` after a task moves from `from` (`None` when it is being created) to `to`:
/// set when it becomes done, kept while it stays done, cleared when it is reopened.
pub fn completed_at(
    from: Option<TaskStatus>,
    to: TaskStatus,
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match (from, to) {
        (Some(TaskStatus::Done), TaskStatus::Done) => previous.or(Some(now)),
        (_, TaskStatus::Done) => Some(now),
        _ => None,
    }
}

/// A meeting must end after it starts; the error names `ends_at`.
pub fn check_meeting_times(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<(), FieldError> {
    if ends_at > starts_at {
        Ok(())
    } else {
        Err(FieldError::new("ends_at", "must be after starts_at"))
    }
}

impl RecordType {
    /// The types an activity can be linked to.
    pub const LINKABLE: &'static [RecordType] = &[
        RecordType::Company,
        RecordType::Contact,
        RecordType::Lead,
        RecordType::Opportunity,
    ];

    pub fn is_linkable(self) -> bool {
        self != RecordType::Activity
    }

    /// The collection's path segment, e.g. `companies`.
    pub fn collection(self) -> &'static str {
        match self {
            RecordType::Company => "companies",
            RecordType::Contact => "contacts",
            RecordType::Lead => "leads",
            RecordType::Opportunity => "opportunities",
            RecordType::Activity => "activities",
        }
    }

    /// The object the role matrix checks to read this record type.
    pub fn permission(self) -> Object {
        match self {
            RecordType::Company => Object::Company,
            RecordType::Contact => Object::Contact,
            RecordType::Lead => Object::Lead,
            RecordType::Opportunity => Object::Opportunity,
            RecordType::Activity => Object::Activity,
        }
    }

    /// Parses a linkable type, naming `field` on failure.
    pub fn parse_linkable(field: &str, s: &str) -> Result<RecordType, FieldError> {
        RecordType::parse(s)
            .filter(|t| t.is_linkable())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("'{s}' is not one of: company, contact, lead, opportunity"),
                )
            })
    }
}

/// Stored as text, like the event `object` it mirrors.
impl sqlx::Type<sqlx::Postgres> for RecordType {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for RecordType {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        RecordType::parse(s).ok_or_else(|| format!("unknown record type '{s}'").into())
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for RecordType {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
    }
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
