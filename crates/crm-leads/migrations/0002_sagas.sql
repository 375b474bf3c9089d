-- Lead conversion as a saga (the microservices build): one row per attempt to convert a lead,
-- written before the first remote call and after every step, so that a crashed or cut-off run
-- can be continued, or undone, by whichever leads-service replica claims it next.
CREATE TABLE crm_leads.conversion_sagas (
    id                   uuid        PRIMARY KEY,
    tenant_id            uuid        NOT NULL,
    lead_id              uuid        NOT NULL,
    -- The caller ({tenant_id, user_id, role}); every step acts as this user.
    actor                jsonb       NOT NULL,
    -- The request as given, to recognise a retry of the same conversion ...
    request              jsonb       NOT NULL,
    -- ... and as resolved against the lead at the start (defaults, lead snapshot), so that
    -- every retry of a step sends the same body under the same idempotency key.
    plan                 jsonb       NOT NULL,
    skip_duplicate_check boolean     NOT NULL DEFAULT false,
    state                text        NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'completed', 'compensating', 'compensated', 'failed')),
    -- The next forward step to run.
    step                 text        NOT NULL DEFAULT 'company'
        CHECK (step IN ('company', 'contact', 'opportunity', 'fill_company', 'fill_contact',
                        'relink', 'finish', 'done')),
    -- The current step's write was sent but its result is not recorded (a crash or a
    -- transient failure): compensation first replays it under its key to learn what it made.
    step_in_doubt        boolean     NOT NULL DEFAULT false,
    company_id           uuid,
    company_created      boolean     NOT NULL DEFAULT false,
    -- What attaching filled in ({field: {from, to}}); not undone, see saga.rs.
    company_filled       jsonb,
    company_record       jsonb,
    contact_id           uuid,
    contact_created      boolean     NOT NULL DEFAULT false,
    contact_filled       jsonb,
    contact_record       jsonb,
    opportunity_id       uuid,
    opportunity_record   jsonb,
    relinked             boolean     NOT NULL DEFAULT false,
    -- Why the saga did not complete, as the problem the caller gets.
    error                jsonb,
    -- Whether a caller has been handed the final outcome; an unreported one is owed to the
    -- next retry of the same request (whose first answer was 503 conversion-pending).
    reported             boolean     NOT NULL DEFAULT false,
    attempts             integer     NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    -- Forward until then, compensate after.
    deadline             timestamptz NOT NULL,
    -- The runner holding the saga, until when: a crashed runner's claim simply runs out.
    claimed_by           uuid,
    claimed_until        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((company_id IS NULL) = (company_record IS NULL)),
    CHECK ((contact_id IS NULL) = (contact_record IS NULL)),
    CHECK ((opportunity_id IS NULL) = (opportunity_record IS NULL))
);
-- A lead has at most one unfinished conversion.
CREATE UNIQUE INDEX conversion_sagas_one_unfinished ON crm_leads.conversion_sagas (tenant_id, lead_id)
    WHERE state IN ('running', 'compensating');
-- The resumer's queue.
CREATE INDEX conversion_sagas_due ON crm_leads.conversion_sagas (next_attempt_at)
    WHERE state IN ('running', 'compensating');
CREATE INDEX conversion_sagas_lead ON crm_leads.conversion_sagas (tenant_id, lead_id, created_at);
