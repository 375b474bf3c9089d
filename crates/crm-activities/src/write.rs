//! Creating and updating activities: every field checked against the kind's rules (all bad
//! fields named in one 422), the task status machine (409), links, and the events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::SqlValue;
use crm_core::record::{self, Columns, Writer};
use crm_core::refs::Refs;
use crm_core::{Actor, Error, FieldError, Patch, Result, outbox};

use crate::Activities;
use crate::activity::{Activity, ActivityPatch, Link, LinkInput, NewActivity};
use crate::domain::{self, Direction, Kind, MAX_CALL_SECONDS, Priority, RecordType, TaskStatus};
use crate::links;

pub(crate) const SUBJECT_MAX: usize = 300;
pub(crate) const BODY_MAX: usize = 20_000;
pub(crate) const OUTCOME_MAX: usize = 2_000;
pub(crate) const LOCATION_MAX: usize = 300;

/// What a validated create or patch writes.
pub(crate) struct Plan {
    pub cols: Columns,
    /// The new link set, when the body gave one.
    pub links: Option<Vec<Link>>,
}

/// Multi-line text: trimmed, `1..=max` characters, no control characters but line breaks
/// and tabs (unlike names, bodies and outcomes are paragraphs).
fn long_text(max: usize) -> impl FnOnce(&str, &str) -> std::result::Result<String, FieldError> {
    move |field, value| {
        // As sent, like the document's pattern and maxLength; stored trimmed.
        let v = value.trim();
        if value.chars().count() > max {
            return Err(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(v.to_owned())
    }
}

/// A value the body gives (`Some`), clears (`Some(None)`) or leaves alone (`None`).
fn given<T: Clone>(p: &Patch<T>) -> Option<Option<T>> {
    p.clone().into_update()
}

struct Rules<'a> {
    b: ColumnsBuilder,
    kind: Option<Kind>,
    current: Option<&'a Activity>,
}

impl Rules<'_> {
    /// Passes `value` on when the kind has `field`; otherwise refuses a value (naming the
    /// field) and ignores `null`, which clients that send every field use for "none".
    fn gate<T>(&mut self, field: &str, value: Patch<T>) -> Patch<T> {
        match self.kind {
            Some(k) if !k.allows(field) => {
                if let Patch::Value(_) = value {
                    let e = k.foreign_field(field);
                    self.b.error(e.field, e.message);
                }
                Patch::Absent
            }
            _ => value,
        }
    }

    fn required(&self, field: &str) -> bool {
        self.kind.is_some_and(|k| k.requires(field))
    }

    /// On create, a task's status and priority start from their defaults.
    fn defaulted(&self, value: Patch<String>, default: &str) -> Patch<String> {
        match value {
            Patch::Absent if self.current.is_none() && self.kind == Some(Kind::Task) => {
                Patch::Value(default.to_owned())
            }
            other => other,
        }
    }
}

impl ActivityPatch {
    /// Validates against `current` (the locked record of a patch, `None` on create).
    /// `Err(Validation)` names every bad field; an invalid status change is a 409 once the
    /// fields themselves are valid.
    pub(crate) fn plan(self, current: Option<&Activity>, now: DateTime<Utc>) -> Result<Plan> {
        let mut r = Rules {
            b: ColumnsBuilder::new(current.is_none()),
            kind: None,
            current,
        };
        r.kind = match (current, self.kind) {
            (Some(c), Patch::Absent) => Some(c.kind),
            (Some(c), Patch::Value(k)) if k == c.kind.as_str() => Some(c.kind),
            (Some(c), _) => {
                r.b.error(
                    "kind",
                    format!("cannot change after create (this is a {})", c.kind),
                );
                Some(c.kind)
            }
            (None, Patch::Absent) => {
                r.b.error("kind", "is required");
                None
            }
            (None, Patch::Null) => {
                r.b.error("kind", "must not be null");
                None
            }
            (None, Patch::Value(k)) => match Kind::parse(&k) {
                Some(kind) => {
                    r.b.set("kind", SqlValue::Text(Some(kind.as_str().to_owned())));
                    Some(kind)
                }
                None => {
                    r.b.error(
                        "kind",
                        format!("'{k}' is not one of: {}", Kind::NAMES.join(", ")),
                    );
                    None
                }
            },
        };

        let subject = r.gate("subject", self.subject);
        let req = r.required("subject");
        r.b.text("subject", "subject", subject, req, SUBJECT_MAX);
        let body = r.gate("body", self.body);
        let req = r.required("body");
        r.b.text_with("body", "body", body, req, long_text(BODY_MAX));

        // Task fields.
        let due_at = r.gate("due_at", self.due_at);
        r.b.timestamp("due_at", "due_at", due_at, false);
        let status = r.gate("status", self.status);
        let status = r.defaulted(status, TaskStatus::Todo.as_str());
        let new_status = given(&status).flatten().and_then(|s| TaskStatus::parse(&s));
        let req = r.required("status");
        r.b.one_of("status", "status", status, req, TaskStatus::NAMES);
        let priority = r.gate("priority", self.priority);
        let priority = r.defaulted(priority, Priority::Normal.as_str());
        let req = r.required("priority");
        r.b.one_of("priority", "priority", priority, req, Priority::NAMES);
        let assignee = r.gate("assignee_id", self.assignee_id);
        r.b.uuid("assignee_id", "assignee_id", assignee, false);

        // Call fields (outcome is shared with meetings).
        let direction = r.gate("direction", self.direction);
        r.b.one_of("direction", "direction", direction, false, Direction::NAMES);
        let duration = r.gate("duration_seconds", self.duration_seconds);
        r.b.int(
            "duration_seconds",
            "duration_seconds",
            duration,
            false,
            0,
            MAX_CALL_SECONDS,
        );
        let outcome = r.gate("outcome", self.outcome);
        r.b.text_with("outcome", "outcome", outcome, false, long_text(OUTCOME_MAX));

        // Meeting fields; the span is checked on the values the record will hold.
        let starts = r.gate("starts_at", self.starts_at);
        let ends = r.gate("ends_at", self.ends_at);
        let span = (
            given(&starts).unwrap_or(current.and_then(|c| c.starts_at)),
            given(&ends).unwrap_or(current.and_then(|c| c.ends_at)),
        );
        let req = r.required("starts_at");
        r.b.timestamp("starts_at", "starts_at", starts, req);
        let req = r.required("ends_at");
        r.b.timestamp("ends_at", "ends_at", ends, req);
        if let (Some(s), Some(e)) = span
            && let Err(fe) = domain::check_meeting_times(s, e)
        {
            r.b.inconsistent(fe.field, fe.message);
        }
        let location = r.gate("location", self.location);
        r.b.text("location", "location", location, false, LOCATION_MAX);

        let links = links::check(&mut r.b, self.links);

        let Rules { b, kind, .. } = r;
        // Field errors first (422): a bad status value is the more basic problem.
        let mut cols = b.finish()?;
        if kind == Some(Kind::Task)
            && let Some(to) = new_status
        {
            let from = current.and_then(|c| c.status);
            if let Some(from) = from {
                from.transition(to)
                    .map_err(|e| Error::conflict("invalid-transition", e.to_string()))?;
            }
            let previous = current.and_then(|c| c.completed_at);
            let completed = domain::completed_at(from, to, previous, now);
            if completed != previous {
                cols.push(("completed_at", SqlValue::Timestamp(completed)));
            }
        }
        Ok(Plan { cols, links })
    }
}

/// The `activity.completed` event, when `after` is a task that just became done; its
/// changes are those of the status and `completed_at`.
fn completed_event(
    actor: &Actor,
    before: Option<&Activity>,
    after: &Activity,
) -> Result<Option<crm_core::EventEnvelope>> {
    let was_done = before.is_some_and(|b| b.status == Some(TaskStatus::Done));
    if after.status != Some(TaskStatus::Done) || was_done {
        return Ok(None);
    }
    let from = before.and_then(|b| b.status);
    let changes = serde_json::json!({
        "status": {"from": from, "to": TaskStatus::Done},
        "completed_at": {"from": Value::Null, "to": after.completed_at},
    });
    Ok(Some(
        record::event(actor, after, "completed")?.with_changes(changes),
    ))
}

/// The ids an activity body names: its assignee (a user) and its links, each field named
/// as in the body (`links[2].id`). Links of a type that cannot be linked are the body's
/// error, reported by its validation.
fn references(assignee: Option<Uuid>, links: Option<&[LinkInput]>) -> Refs {
    let mut refs = Refs::new();
    refs.add("assignee_id", "user", assignee);
    for (i, l) in links.unwrap_or_default().iter().enumerate() {
        if let Some(t) = RecordType::parse(&l.record_type).filter(|t| t.is_linkable()) {
            refs.add(format!("links[{i}].id"), t.as_str(), Some(l.id));
        }
    }
    refs
}

/// Creates an activity with its links and writes `activity.created` (and
/// `activity.completed` for a task created done), in the caller's transaction.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: NewActivity,
) -> Result<Activity> {
    let plan = ActivityPatch::from(input).plan(None, Utc::now())?;
    let id = crm_core::new_id();
    record::insert::<Activity>(conn, actor, id, plan.cols).await?;
    links::replace(conn, actor.tenant_id, id, &plan.links.unwrap_or_default()).await?;
    // Read back so the record (and its event) carries the links just written.
    let created = record::get::<Activity>(conn, actor.tenant_id, id).await?;
    outbox::append(conn, &record::event(actor, &created, "created")?).await?;
    if let Some(e) = completed_event(actor, None, &created)? {
        outbox::append(conn, &e).await?;
    }
    Ok(created)
}

/// Applies a patch to a live activity, checking `If-Match` when `expected` is given.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i64>,
    patch: ActivityPatch,
) -> Result<Activity> {
    let before = record::lock::<Activity>(conn, actor.tenant_id, id).await?;
    if before.meta.deleted_at.is_some() {
        return Err(Error::not_found("activity"));
    }
    record::check_version(&before, expected)?;
    let plan = patch.plan(Some(&before), Utc::now())?;
    if let Some(set) = &plan.links {
        links::replace(conn, actor.tenant_id, id, set).await?;
    }
    // Written after the links so the returned row aggregates the new set.
    let after = record::write_columns::<Activity>(conn, actor, id, plan.cols).await?;
    record::append_updated(conn, actor, &before, &after).await?;
    if let Some(e) = completed_event(actor, Some(&before), &after)? {
        outbox::append(conn, &e).await?;
    }
    Ok(after)
}

#[async_trait]
impl Writer<Activity> for Activities {
    type Create = NewActivity;
    type Patch = ActivityPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewActivity,
    ) -> Result<Activity> {
        let refs = references(input.assignee_id, input.links.as_deref());
        // Field errors first (the body's shape), then whether its ids exist.
        ActivityPatch::from(input.clone()).plan(None, Utc::now())?;
        refs.require(actor, self.owners()).await?;
        create(conn, actor, input).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: ActivityPatch,
    ) -> Result<Activity> {
        let refs = references(
            patch.assignee_id.value().copied(),
            patch.links.value().map(Vec::as_slice),
        );
        if !refs.is_empty() {
            let before = record::get::<Activity>(conn, actor.tenant_id, id).await?;
            patch.clone().plan(Some(&before), Utc::now())?;
            refs.require(actor, self.owners()).await?;
        }
        update(conn, actor, id, expected, patch).await
    }
}
