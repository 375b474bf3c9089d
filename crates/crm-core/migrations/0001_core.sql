-- Events written in the same transaction as the change they describe.
CREATE TABLE crm_core.outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    tenant_id    uuid        NOT NULL,
    event        text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON crm_core.outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON crm_core.outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a consumer has applied: a redelivery finds its id here and changes nothing.
CREATE TABLE crm_core.processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer could not apply after its retries, kept for inspection and replay.
CREATE TABLE crm_core.dead_letters (
    consumer  text        NOT NULL,
    event_id  uuid        NOT NULL,
    payload   jsonb       NOT NULL,
    error     text        NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Responses to requests sent with an Idempotency-Key, kept 24 hours per tenant.
CREATE TABLE crm_core.idempotency_keys (
    tenant_id    uuid        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    status       smallint,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON crm_core.idempotency_keys (created_at);
