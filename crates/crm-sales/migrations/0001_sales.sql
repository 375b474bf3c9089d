CREATE TABLE crm_sales.pipelines (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    version     bigint      NOT NULL DEFAULT 1,
    deleted_at  timestamptz,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_default  boolean     NOT NULL DEFAULT false,
    description text
);
-- One live default pipeline per tenant; lazy creation relies on it (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX pipelines_one_default ON crm_sales.pipelines (tenant_id)
    WHERE is_default AND deleted_at IS NULL;
CREATE INDEX pipelines_created ON crm_sales.pipelines (tenant_id, created_at, id);
CREATE INDEX pipelines_updated ON crm_sales.pipelines (tenant_id, updated_at, id);

CREATE TABLE crm_sales.stages (
    id                uuid        PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    created_by        uuid,
    updated_by        uuid,
    version           bigint      NOT NULL DEFAULT 1,
    deleted_at        timestamptz,
    pipeline_id       uuid        NOT NULL REFERENCES crm_sales.pipelines (id),
    key               text        NOT NULL CHECK (key ~ '^[a-z0-9_]{1,40}$'),
    label             text        NOT NULL,
    position          integer     NOT NULL,
    probability       integer     NOT NULL CHECK (probability BETWEEN 0 AND 100),
    is_closed         boolean     NOT NULL DEFAULT false,
    is_won            boolean     NOT NULL DEFAULT false,
    forecast_category text        NOT NULL
        CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')),
    CHECK (is_closed OR NOT is_won)
);
-- A key names one live stage of its pipeline.
CREATE UNIQUE INDEX stages_pipeline_key ON crm_sales.stages (pipeline_id, key)
    WHERE deleted_at IS NULL;
CREATE INDEX stages_pipeline_position ON crm_sales.stages (tenant_id, pipeline_id, position, id);
CREATE INDEX stages_created ON crm_sales.stages (tenant_id, created_at, id);
CREATE INDEX stages_updated ON crm_sales.stages (tenant_id, updated_at, id);

CREATE TABLE crm_sales.opportunities (
    id                 uuid        PRIMARY KEY,
    tenant_id          uuid        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    version            bigint      NOT NULL DEFAULT 1,
    deleted_at         timestamptz,
    name               text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    amount_micros      bigint      CHECK (amount_micros >= 0),
    amount_currency    text,
    close_date         date,
    pipeline_id        uuid        NOT NULL REFERENCES crm_sales.pipelines (id),
    stage_id           uuid        NOT NULL REFERENCES crm_sales.stages (id),
    -- Denormalised from the stage at write time, so lists filter without a join.
    stage_key          text        NOT NULL,
    forecast_category  text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    probability        integer     NOT NULL CHECK (probability BETWEEN 0 AND 100),
    -- References into the customers context: checked through its API, not by foreign keys.
    company_id         uuid,
    primary_contact_id uuid,
    owner_id           uuid,
    original_lead_id   uuid,
    loss_reason        text,
    closed_at          timestamptz,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(name, ''))) STORED,
    CHECK ((amount_micros IS NULL) = (amount_currency IS NULL)),
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status <> 'lost' OR loss_reason IS NOT NULL)
);
-- Keyset orders and the filters the API, the 360 view and the benchmarks use.
CREATE INDEX opportunities_created ON crm_sales.opportunities (tenant_id, created_at, id);
CREATE INDEX opportunities_updated ON crm_sales.opportunities (tenant_id, updated_at, id);
CREATE INDEX opportunities_company ON crm_sales.opportunities (tenant_id, company_id, created_at, id);
CREATE INDEX opportunities_contact ON crm_sales.opportunities (tenant_id, primary_contact_id);
CREATE INDEX opportunities_status_close ON crm_sales.opportunities (tenant_id, status, close_date, id);
CREATE INDEX opportunities_stage ON crm_sales.opportunities (tenant_id, stage_id, created_at, id);
CREATE INDEX opportunities_pipeline ON crm_sales.opportunities (tenant_id, pipeline_id, created_at, id);
CREATE INDEX opportunities_owner ON crm_sales.opportunities (tenant_id, owner_id, created_at, id);
CREATE INDEX opportunities_close_date ON crm_sales.opportunities (tenant_id, close_date, id);
CREATE INDEX opportunities_search ON crm_sales.opportunities USING gin (search);

-- Append-only: one row per stage an opportunity entered, the first one on creation.
CREATE TABLE crm_sales.stage_history (
    seq            bigserial   PRIMARY KEY,
    tenant_id      uuid        NOT NULL,
    opportunity_id uuid        NOT NULL REFERENCES crm_sales.opportunities (id),
    from_stage_id  uuid,
    to_stage_id    uuid        NOT NULL,
    from_key       text,
    to_key         text        NOT NULL,
    amount_micros  bigint,
    currency       text,
    probability    integer     NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    changed_by     uuid
);
CREATE INDEX stage_history_opportunity ON crm_sales.stage_history (tenant_id, opportunity_id, seq);

-- The generic soft delete cannot be hooked from Rust, so the rule that a stage or pipeline
-- holding live opportunities stays is kept here; the constraint name maps to a 409.
CREATE FUNCTION crm_sales.refuse_delete_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL AND EXISTS (
        SELECT 1 FROM crm_sales.opportunities o
        WHERE o.tenant_id = OLD.tenant_id AND o.deleted_at IS NULL
          AND (CASE TG_TABLE_NAME WHEN 'stages' THEN o.stage_id ELSE o.pipeline_id END) = OLD.id
    ) THEN
        RAISE EXCEPTION '% % still holds live opportunities', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_in_use';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stages_in_use BEFORE UPDATE OF deleted_at ON crm_sales.stages
    FOR EACH ROW EXECUTE FUNCTION crm_sales.refuse_delete_in_use();
CREATE TRIGGER pipelines_in_use BEFORE UPDATE OF deleted_at ON crm_sales.pipelines
    FOR EACH ROW EXECUTE FUNCTION crm_sales.refuse_delete_in_use();
