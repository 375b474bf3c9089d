-- Webhook subscriptions. The secret is read only by the deliverer and the two responses
-- that show it; record reads select left(secret, 6).
CREATE TABLE crm_notifications.webhooks (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    version     bigint      NOT NULL DEFAULT 1,
    deleted_at  timestamptz,
    url         text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events      text[]      NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    description text,
    active      boolean     NOT NULL DEFAULT true,
    secret      text        NOT NULL CHECK (length(secret) >= 16)
);
-- Keyset orders of the API.
CREATE INDEX webhooks_created ON crm_notifications.webhooks (tenant_id, created_at, id);
CREATE INDEX webhooks_updated ON crm_notifications.webhooks (tenant_id, updated_at, id);
-- Fan-out looks up a tenant's subscribed webhooks on every event.
CREATE INDEX webhooks_subscribed ON crm_notifications.webhooks (tenant_id)
    WHERE active AND deleted_at IS NULL;

-- One event queued for one webhook; retries keep it pending with a later next_attempt_at.
CREATE TABLE crm_notifications.deliveries (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    webhook_id       uuid        NOT NULL REFERENCES crm_notifications.webhooks (id),
    event_id         uuid        NOT NULL,
    event            text        NOT NULL,
    payload          jsonb       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    -- A redelivered event queues nothing new.
    UNIQUE (webhook_id, event_id),
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
);
-- The deliverer's claim: due pending deliveries, oldest due first.
CREATE INDEX deliveries_due ON crm_notifications.deliveries (next_attempt_at)
    WHERE status = 'pending';
-- The delivery log of a webhook, newest first.
CREATE INDEX deliveries_of_webhook ON crm_notifications.deliveries (webhook_id, id);

CREATE TABLE crm_notifications.delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES crm_notifications.deliveries (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    at          timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    error       text,
    duration_ms integer     NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (delivery_id, attempt)
);
