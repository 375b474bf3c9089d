-- Tasks, notes, calls and meetings. One table: the kinds share most columns, and the
-- CHECKs below back the per-kind rules the code enforces with friendlier messages.
CREATE TABLE crm_activities.activities (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    version          bigint      NOT NULL DEFAULT 1,
    deleted_at       timestamptz,
    kind             text        NOT NULL CHECK (kind IN ('task', 'note', 'call', 'meeting')),
    subject          text        CHECK (length(subject) BETWEEN 1 AND 300),
    body             text        CHECK (length(body) BETWEEN 1 AND 20000),
    due_at           timestamptz,
    status           text        CHECK (status IN ('todo', 'in_progress', 'done')),
    priority         text        CHECK (priority IN ('low', 'normal', 'high')),
    assignee_id      uuid,
    direction        text        CHECK (direction IN ('inbound', 'outbound')),
    duration_seconds integer     CHECK (duration_seconds BETWEEN 0 AND 86400),
    outcome          text        CHECK (length(outcome) BETWEEN 1 AND 2000),
    starts_at        timestamptz,
    ends_at          timestamptz,
    location         text        CHECK (length(location) BETWEEN 1 AND 300),
    completed_at     timestamptz,
    CONSTRAINT activities_task_fields CHECK (kind = 'task' OR (due_at IS NULL AND status IS NULL
        AND priority IS NULL AND assignee_id IS NULL AND completed_at IS NULL)),
    CONSTRAINT activities_task_state CHECK (kind <> 'task' OR (status IS NOT NULL AND priority IS NOT NULL
        AND (status = 'done') = (completed_at IS NOT NULL))),
    CONSTRAINT activities_call_fields CHECK (kind = 'call' OR (direction IS NULL AND duration_seconds IS NULL)),
    CONSTRAINT activities_meeting_fields CHECK (kind = 'meeting' OR (starts_at IS NULL AND ends_at IS NULL
        AND location IS NULL)),
    CONSTRAINT activities_meeting_times CHECK (kind <> 'meeting' OR (starts_at IS NOT NULL
        AND ends_at IS NOT NULL AND ends_at > starts_at)),
    CONSTRAINT activities_outcome CHECK (kind IN ('call', 'meeting') OR outcome IS NULL),
    CONSTRAINT activities_subject CHECK (kind = 'note' OR subject IS NOT NULL),
    CONSTRAINT activities_note_body CHECK (kind <> 'note' OR body IS NOT NULL)
);
-- Keyset orders of the list API (created_at is the default; the others are sortable fields).
CREATE INDEX activities_created ON crm_activities.activities (tenant_id, created_at, id);
CREATE INDEX activities_updated ON crm_activities.activities (tenant_id, updated_at, id);
CREATE INDEX activities_due ON crm_activities.activities (tenant_id, due_at, id);
CREATE INDEX activities_starts ON crm_activities.activities (tenant_id, starts_at, id);
CREATE INDEX activities_completed ON crm_activities.activities (tenant_id, completed_at, id);
-- "My open tasks": assignee and status first, soonest due first.
CREATE INDEX activities_assignee ON crm_activities.activities (tenant_id, assignee_id, status, due_at, id);

-- Which records an activity belongs to. The records live in other contexts (and, in the
-- microservices, other databases), so these are typed ids without foreign keys.
CREATE TABLE crm_activities.activity_links (
    tenant_id   uuid NOT NULL,
    activity_id uuid NOT NULL REFERENCES crm_activities.activities (id) ON DELETE CASCADE,
    record_type text NOT NULL CHECK (record_type IN ('company', 'contact', 'lead', 'opportunity')),
    record_id   uuid NOT NULL,
    PRIMARY KEY (activity_id, record_type, record_id)
);
-- The record → activities direction (linked lists, re-linking).
CREATE INDEX activity_links_record ON crm_activities.activity_links (tenant_id, record_type, record_id, activity_id);

-- Append-only history per record, written by the timeline event handler.
CREATE TABLE crm_activities.timeline_entries (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    record_type text        NOT NULL,
    record_id   uuid        NOT NULL,
    event       text        NOT NULL,
    event_id    uuid        NOT NULL,
    -- The record the event is about (differs from record_id on linked entries).
    object      text        NOT NULL,
    object_id   uuid        NOT NULL,
    actor_id    uuid,
    occurred_at timestamptz NOT NULL,
    summary     text        NOT NULL,
    changes     jsonb,
    -- A redelivered event cannot add an entry twice.
    CONSTRAINT timeline_entries_record_event_key UNIQUE (record_id, event_id)
);
CREATE INDEX timeline_entries_record ON crm_activities.timeline_entries
    (tenant_id, record_type, record_id, occurred_at DESC, id DESC);
