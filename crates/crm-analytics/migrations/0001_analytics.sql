-- Projections of other contexts' records, built only from their domain events.
--
-- Each row is the latest snapshot seen of one record: an event replaces it only when its
-- `version` is greater (events may arrive out of order or twice). Deleted records keep their
-- row with `deleted_at` set so that a late, older event cannot bring them back, and every
-- figure filters on `deleted_at IS NULL`.
--
-- `last_event_id`, `last_occurred_at` and `projected_at` are the lag bookkeeping: which event
-- produced the row, when it happened at the source and when it was projected here. They cost
-- no extra write per event and let anyone measure lag in SQL, beside the in-process
-- histogram behind GET /analytics/lag.

CREATE TABLE crm_analytics.opportunities (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    version           bigint      NOT NULL,
    deleted_at        timestamptz,
    name              text,
    amount_micros     bigint,
    currency          text,
    close_date        date,
    pipeline_id       uuid,
    stage_id          uuid,
    stage_key         text,
    forecast_category text,
    status            text        NOT NULL,
    probability       smallint    NOT NULL,
    owner_id          uuid,
    company_id        uuid,
    closed_at         timestamptz,
    created_at        timestamptz,
    last_event_id     uuid        NOT NULL,
    last_occurred_at  timestamptz NOT NULL,
    projected_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- Money is both columns or neither, as in the source.
    CONSTRAINT opportunities_money CHECK ((amount_micros IS NULL) = (currency IS NULL))
);
-- GET /analytics/pipeline: open opportunities by pipeline and stage.
CREATE INDEX opportunities_open_by_stage ON crm_analytics.opportunities (tenant_id, pipeline_id, stage_id)
    WHERE deleted_at IS NULL AND status = 'open';
-- GET /analytics/forecast: by close date.
CREATE INDEX opportunities_by_close_date ON crm_analytics.opportunities (tenant_id, close_date)
    WHERE deleted_at IS NULL AND close_date IS NOT NULL;
-- GET /analytics/win-rate: closed ones by close time (and owner).
CREATE INDEX opportunities_by_closed_at ON crm_analytics.opportunities (tenant_id, closed_at, owner_id)
    WHERE deleted_at IS NULL AND status IN ('won', 'lost');
-- GET /analytics/totals: live ones by status and currency.
CREATE INDEX opportunities_by_status ON crm_analytics.opportunities (tenant_id, status, currency)
    WHERE deleted_at IS NULL;

CREATE TABLE crm_analytics.leads (
    tenant_id              uuid        NOT NULL,
    id                     uuid        NOT NULL,
    version                bigint      NOT NULL,
    deleted_at             timestamptz,
    status                 text        NOT NULL,
    source                 text,
    owner_id               uuid,
    score                  integer,
    estimated_value_micros bigint,
    currency               text,
    converted_at           timestamptz,
    created_at             timestamptz,
    last_event_id          uuid        NOT NULL,
    last_occurred_at       timestamptz NOT NULL,
    projected_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT leads_money CHECK ((estimated_value_micros IS NULL) = (currency IS NULL))
);
-- GET /analytics/funnel: by creation time.
CREATE INDEX leads_by_created_at ON crm_analytics.leads (tenant_id, created_at, status)
    WHERE deleted_at IS NULL;
-- GET /analytics/totals: live ones by status.
CREATE INDEX leads_by_status ON crm_analytics.leads (tenant_id, status)
    WHERE deleted_at IS NULL;

CREATE TABLE crm_analytics.pipelines (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    version          bigint      NOT NULL,
    deleted_at       timestamptz,
    name             text,
    is_default       boolean     NOT NULL DEFAULT false,
    last_event_id    uuid        NOT NULL,
    last_occurred_at timestamptz NOT NULL,
    projected_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- The tenant's default pipeline, looked up when /analytics/pipeline names none.
CREATE INDEX pipelines_default ON crm_analytics.pipelines (tenant_id)
    WHERE is_default AND deleted_at IS NULL;

CREATE TABLE crm_analytics.stages (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    version           bigint      NOT NULL,
    deleted_at        timestamptz,
    pipeline_id       uuid,
    key               text,
    label             text,
    position          integer,
    probability       smallint,
    is_closed         boolean     NOT NULL DEFAULT false,
    is_won            boolean     NOT NULL DEFAULT false,
    forecast_category text,
    last_event_id     uuid        NOT NULL,
    last_occurred_at  timestamptz NOT NULL,
    projected_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX stages_by_pipeline ON crm_analytics.stages (tenant_id, pipeline_id, position)
    WHERE deleted_at IS NULL;
