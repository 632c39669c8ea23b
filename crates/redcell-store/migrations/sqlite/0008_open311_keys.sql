-- Open311 API keys (SQLite). Keep in step with ../postgres/0008_requests2.sql.

-- While a tenant has no active key, Open311 POST stays open; once it has one,
-- a POST must carry a matching `api_key`. Only the key's hash is kept.
CREATE TABLE open311_keys (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    label         TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    BIGINT,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX open311_keys_tenant ON open311_keys (tenant_id);
