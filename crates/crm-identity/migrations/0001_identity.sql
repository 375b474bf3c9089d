CREATE TABLE crm_identity.tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crm_identity.users (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES crm_identity.tenants (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    updated_by    uuid,
    version       bigint      NOT NULL DEFAULT 1,
    deleted_at    timestamptz,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'manager', 'rep', 'viewer')),
    active        boolean     NOT NULL DEFAULT true,
    password_hash text        NOT NULL,
    last_login_at timestamptz
);
-- Log-in is by e-mail alone, so an address belongs to one live user across all tenants.
CREATE UNIQUE INDEX users_email_key ON crm_identity.users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_tenant ON crm_identity.users (tenant_id, created_at, id);
CREATE INDEX users_tenant_role ON crm_identity.users (tenant_id, role, created_at, id);

CREATE TABLE crm_identity.refresh_tokens (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES crm_identity.users (id),
    tenant_id   uuid        NOT NULL,
    token_hash  text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    replaced_by uuid
);
CREATE INDEX refresh_tokens_user ON crm_identity.refresh_tokens (user_id);

CREATE TABLE crm_identity.api_keys (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    user_id      uuid        NOT NULL REFERENCES crm_identity.users (id),
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('admin', 'manager', 'rep', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON crm_identity.api_keys (tenant_id, created_at);

-- Ed25519 signing keys; the newest unretired one signs, all unretired ones verify.
CREATE TABLE crm_identity.signing_keys (
    kid         text        PRIMARY KEY,
    private_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
