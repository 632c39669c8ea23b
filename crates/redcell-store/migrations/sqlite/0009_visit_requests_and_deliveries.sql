-- Duties, second part (SQLite). Keep in step with ../postgres/0009_duties2.sql.

-- The request a visit raised (民情诉求 registered in the same flow).
ALTER TABLE duty_visits ADD COLUMN request_id BIGINT;

-- Which party member a login account is (the cadre link is duty_accounts).
CREATE TABLE duty_member_accounts (
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- Every attempt of the outbound channel: sent (with the answer) or failed
-- (with the reason). A notice is only ever called sent from a row here.
CREATE TABLE duty_deliveries (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    notice_id     BIGINT,
    url           TEXT NOT NULL,
    ok            BOOLEAN NOT NULL,
    detail        TEXT NOT NULL,
    is_test       BOOLEAN NOT NULL DEFAULT FALSE,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX duty_deliveries_tenant ON duty_deliveries (tenant_id, created_at);
