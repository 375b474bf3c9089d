CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE crm_customers.companies (
    id                      uuid        PRIMARY KEY,
    tenant_id               uuid        NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    created_by              uuid,
    updated_by              uuid,
    version                 bigint      NOT NULL DEFAULT 1,
    deleted_at              timestamptz,
    name                    text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    domain                  text,
    industry                text,
    employees               integer     CHECK (employees >= 0),
    annual_revenue_micros   bigint      CHECK (annual_revenue_micros >= 0),
    annual_revenue_currency text,
    address                 jsonb,
    phone                   text,
    description             text,
    owner_id                uuid,
    merged_into             uuid,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(domain, '') || ' ' ||
                              coalesce(replace(domain, '.', ' '), '') || ' ' || coalesce(industry, ''))
    ) STORED,
    CHECK ((annual_revenue_micros IS NULL) = (annual_revenue_currency IS NULL))
);
-- One live company per domain and tenant.
CREATE UNIQUE INDEX companies_tenant_domain_key ON crm_customers.companies (tenant_id, domain)
    WHERE deleted_at IS NULL AND domain IS NOT NULL;
-- Keyset orders used by the API and the benchmarks.
CREATE INDEX companies_created ON crm_customers.companies (tenant_id, created_at, id);
CREATE INDEX companies_updated ON crm_customers.companies (tenant_id, updated_at, id);
CREATE INDEX companies_name ON crm_customers.companies (tenant_id, name, id);
CREATE INDEX companies_industry ON crm_customers.companies (tenant_id, industry, created_at, id);
CREATE INDEX companies_owner ON crm_customers.companies (tenant_id, owner_id);
CREATE INDEX companies_search ON crm_customers.companies USING gin (search);
CREATE INDEX companies_name_trgm ON crm_customers.companies USING gin (lower(name) gin_trgm_ops);

-- array_to_string is only STABLE; for text[] it is in fact immutable, as a generated column needs.
CREATE FUNCTION crm_customers.words_of(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;

CREATE TABLE crm_customers.contacts (
    id             uuid        PRIMARY KEY,
    tenant_id      uuid        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid,
    updated_by     uuid,
    version        bigint      NOT NULL DEFAULT 1,
    deleted_at     timestamptz,
    first_name     text        NOT NULL,
    last_name      text,
    emails         text[]      NOT NULL DEFAULT '{}',
    primary_email  text GENERATED ALWAYS AS (lower(emails[1])) STORED,
    phones         text[]      NOT NULL DEFAULT '{}',
    job_title      text,
    company_id     uuid        REFERENCES crm_customers.companies (id),
    owner_id       uuid,
    lead_source    text,
    do_not_contact boolean     NOT NULL DEFAULT false,
    merged_into    uuid,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
                              coalesce(job_title, '') || ' ' ||
                              replace(replace(crm_customers.words_of(emails), '@', ' '), '.', ' '))
    ) STORED
);
-- One live contact per primary e-mail and tenant.
CREATE UNIQUE INDEX contacts_tenant_email_key ON crm_customers.contacts (tenant_id, primary_email)
    WHERE deleted_at IS NULL AND primary_email IS NOT NULL;
CREATE INDEX contacts_created ON crm_customers.contacts (tenant_id, created_at, id);
CREATE INDEX contacts_updated ON crm_customers.contacts (tenant_id, updated_at, id);
CREATE INDEX contacts_last_name ON crm_customers.contacts (tenant_id, last_name, id);
CREATE INDEX contacts_company ON crm_customers.contacts (tenant_id, company_id, created_at, id);
CREATE INDEX contacts_emails ON crm_customers.contacts USING gin (emails);
CREATE INDEX contacts_search ON crm_customers.contacts USING gin (search);
