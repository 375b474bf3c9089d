CREATE TABLE crm_leads.leads (
    id                       uuid        PRIMARY KEY,
    tenant_id                uuid        NOT NULL,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    created_by               uuid,
    updated_by               uuid,
    version                  bigint      NOT NULL DEFAULT 1,
    deleted_at               timestamptz,
    name                     text        NOT NULL,
    company_name             text,
    email                    text,
    phone                    text,
    title                    text,
    source                   text        NOT NULL DEFAULT 'other',
    status                   text        NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'assigned', 'working', 'converted', 'disqualified', 'recycled')),
    status_changed_at        timestamptz NOT NULL DEFAULT now(),
    disqualify_reason        text,
    score                    integer     NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
    score_reasons            jsonb       NOT NULL DEFAULT '[]',
    owner_id                 uuid,
    estimated_value_micros   bigint      CHECK (estimated_value_micros >= 0),
    estimated_value_currency text,
    description              text,
    converted_at             timestamptz,
    converted_company_id     uuid,
    converted_contact_id     uuid,
    converted_opportunity_id uuid,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(company_name, '') || ' ' ||
                              coalesce(replace(replace(email, '@', ' '), '.', ' '), ''))
    ) STORED,
    CHECK ((estimated_value_micros IS NULL) = (estimated_value_currency IS NULL)),
    CHECK ((status = 'converted') = (converted_at IS NOT NULL))
);
CREATE INDEX leads_created ON crm_leads.leads (tenant_id, created_at, id);
CREATE INDEX leads_updated ON crm_leads.leads (tenant_id, updated_at, id);
CREATE INDEX leads_status ON crm_leads.leads (tenant_id, status, created_at, id);
CREATE INDEX leads_owner ON crm_leads.leads (tenant_id, owner_id, status);
CREATE INDEX leads_score ON crm_leads.leads (tenant_id, score, id);
CREATE INDEX leads_email ON crm_leads.leads (tenant_id, lower(email));
CREATE INDEX leads_search ON crm_leads.leads USING gin (search);

-- Round-robin position per tenant: the rep who got the last lead.
CREATE TABLE crm_leads.assignment_cursor (
    tenant_id    uuid PRIMARY KEY,
    last_user_id uuid NOT NULL
);
