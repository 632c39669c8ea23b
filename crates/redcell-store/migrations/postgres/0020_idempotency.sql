-- Answers to API writes sent with an Idempotency-Key, kept a day: a retry
-- with the same key gets the first answer instead of doing the write again.
-- status 0: the first request is still being answered.
CREATE TABLE idempotency_keys (
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
