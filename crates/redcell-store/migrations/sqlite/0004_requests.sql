-- Resident requests, micro-wishes and errands (SQLite). Keep in step with ../postgres/0004_requests.sql.

-- The tenant's holiday calendar. While a tenant has no rows the shipped
-- calendar applies; the first edit (or the demo) copies the shipped days in,
-- and from then on these rows are the whole calendar.
CREATE TABLE holidays (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    date          DATE NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('off', 'work')),
    name          TEXT NOT NULL,
    UNIQUE (tenant_id, date)
);

-- Categories under the request kinds: routing and deadline as data.
CREATE TABLE request_categories (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    org_id        BIGINT REFERENCES orgs(id) ON DELETE SET NULL,
    working_days  BIGINT NOT NULL,
    class         TEXT NOT NULL,
    UNIQUE (tenant_id, code)
);

-- One request. `org_id` is the organisation it is routed to (the scope filter);
-- `code` is what the resident follows it by. While materials are awaited the
-- clock is stopped: `paused_on` is set and `days_left` keeps the working days left.
CREATE TABLE requests (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    code          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    category_id   BIGINT NOT NULL REFERENCES request_categories(id),
    class         TEXT NOT NULL,
    source        TEXT NOT NULL,
    description   TEXT NOT NULL,
    grid_id       BIGINT,
    building_id   BIGINT,
    address       TEXT,
    lat           DOUBLE PRECISION,
    lon           DOUBLE PRECISION,
    contact_name  TEXT,
    contact_phone TEXT,
    photo_file_id BIGINT,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    handler_user_id BIGINT,
    state         TEXT NOT NULL,
    received_on   DATE NOT NULL,
    promised_date DATE,
    due_date      DATE NOT NULL,
    paused_on     DATE,
    days_left     BIGINT,
    materials_requested BOOLEAN NOT NULL DEFAULT FALSE,
    card          TEXT NOT NULL DEFAULT 'none',
    card_at       TIMESTAMPTZ,
    escalated_org_id BIGINT,
    duplicate_of  BIGINT,
    refusal_reason TEXT,
    fix_outcome   TEXT,
    satisfaction  TEXT,
    revisit_comment TEXT,
    wish_stage    TEXT,
    wish_round    BIGINT,
    wish_claimed_by BIGINT,
    wish_claimed_on DATE,
    wish_contacted_on DATE,
    wish_photo_file_id BIGINT,
    submitted_at  TIMESTAMPTZ NOT NULL,
    resolved_at   TIMESTAMPTZ,
    closed_at     TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX requests_code ON requests (code);
CREATE INDEX requests_org ON requests (tenant_id, org_id, state);
CREATE INDEX requests_handler ON requests (tenant_id, handler_user_id, state);
CREATE INDEX requests_due ON requests (tenant_id, state, due_date);

-- Every transition, append-only: who, when, for whom, from which state to which.
CREATE TABLE request_history (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    request_id    BIGINT NOT NULL REFERENCES requests(id),
    at            TIMESTAMPTZ NOT NULL,
    actor_user_id BIGINT,
    actor_role    TEXT NOT NULL,
    acting_for    TEXT,
    action        TEXT NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    note          TEXT,
    public        BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX request_history_req ON request_history (tenant_id, request_id, id);
CREATE TRIGGER request_history_no_update BEFORE UPDATE ON request_history
BEGIN SELECT RAISE(ABORT, 'request_history is append-only'); END;

-- 联办件: the parts of the participating units.
CREATE TABLE request_parts (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    request_id    BIGINT NOT NULL REFERENCES requests(id),
    participant   TEXT NOT NULL,
    part          TEXT NOT NULL,
    status        TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_parts_req ON request_parts (tenant_id, request_id);

-- 上报件: the named contact above and every chase.
CREATE TABLE request_chases (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    request_id    BIGINT NOT NULL REFERENCES requests(id),
    contact       TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    note          TEXT,
    by_user_id    BIGINT
);
CREATE INDEX request_chases_req ON request_chases (tenant_id, request_id);

-- One-time revisit links: only the SHA-256 of the token is kept.
CREATE TABLE revisit_links (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    request_id    BIGINT NOT NULL REFERENCES requests(id),
    token_hash    TEXT NOT NULL UNIQUE,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);

-- Public submissions per client address, for rate limiting across server processes.
CREATE TABLE request_submit_attempts (
    ip            TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_submit_attempts_ip ON request_submit_attempts (ip, at);
