-- Duties and their rhythm (SQLite). Keep in step with ../postgres/0005_duties.sql.

-- The tenant's duty rules, seeded from the shipped TOML on first use. `body`
-- is the rule in its flat JSON shape (redcell_domain::duties::RawRule).
CREATE TABLE duty_rules (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    body          TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    updated_by    BIGINT,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code)
);

-- Visits (走访 / 民情日记). `org_id` is the organisation of what was visited
-- (for the scope filter); the visitor is a cadre or a member.
CREATE TABLE duty_visits (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    visitor_kind  TEXT NOT NULL,
    visitor_id    BIGINT NOT NULL,
    target_kind   TEXT NOT NULL,
    target_id     BIGINT NOT NULL,
    visited_on    DATE NOT NULL,
    purpose       TEXT NOT NULL,
    learned       TEXT,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX duty_visits_org ON duty_visits (tenant_id, org_id, visited_on);
CREATE INDEX duty_visits_visitor ON duty_visits (tenant_id, visitor_kind, visitor_id, visited_on);

-- When each household was last visited (read by coverage for freshness).
CREATE TABLE duty_last_visits (
    tenant_id     BIGINT NOT NULL,
    household_id  BIGINT NOT NULL,
    last_visited  DATE NOT NULL,
    PRIMARY KEY (tenant_id, household_id)
);

-- Meetings of organisational life and of the network. The counts are computed
-- from the attendance rows when they are written; quorum_met is NULL for
-- meetings without a quorum rule.
CREATE TABLE duty_meetings (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    held_on        DATE NOT NULL,
    topic          TEXT NOT NULL,
    minutes        TEXT,
    expected_count BIGINT NOT NULL DEFAULT 0,
    present_count  BIGINT NOT NULL DEFAULT 0,
    voting_total   BIGINT NOT NULL DEFAULT 0,
    voting_present BIGINT NOT NULL DEFAULT 0,
    quorum_met     BOOLEAN,
    photo_file_id  BIGINT,
    created_by     BIGINT,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX duty_meetings_org ON duty_meetings (tenant_id, org_id, held_on);

-- Activities (service, publicity, study).
CREATE TABLE duty_activities (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    held_on       DATE NOT NULL,
    title         TEXT NOT NULL,
    note          TEXT,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX duty_activities_org ON duty_activities (tenant_id, org_id, held_on);

-- People at a meeting (attendance) or an activity (participants):
-- presence = present | absent | excused (with reason).
CREATE TABLE duty_people (
    tenant_id     BIGINT NOT NULL,
    record_kind   TEXT NOT NULL,
    record_id     BIGINT NOT NULL,
    person_kind   TEXT NOT NULL,
    person_id     BIGINT NOT NULL,
    presence      TEXT NOT NULL,
    reason        TEXT,
    PRIMARY KEY (tenant_id, record_kind, record_id, person_kind, person_id)
);
CREATE INDEX duty_people_person ON duty_people (tenant_id, person_kind, person_id);

-- Which cadre a login account is (for "my duties").
CREATE TABLE duty_accounts (
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    cadre_id      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- In-app reminders: one per (user, rule, subject, period), whichever server
-- process creates it first. channel_status says what happened outside the app.
CREATE TABLE duty_notices (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    rule_code      TEXT NOT NULL,
    subject_key    TEXT NOT NULL,
    period_start   DATE NOT NULL,
    due            DATE NOT NULL,
    message        TEXT NOT NULL,
    channel_status TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    read_at        TIMESTAMPTZ,
    UNIQUE (tenant_id, user_id, rule_code, subject_key, period_start)
);
CREATE INDEX duty_notices_user ON duty_notices (tenant_id, user_id, created_at);

-- Per-tenant settings of the outbound channel (off while webhook_url is NULL).
CREATE TABLE duty_settings (
    tenant_id     BIGINT NOT NULL PRIMARY KEY,
    webhook_url   TEXT,
    updated_by    BIGINT,
    updated_at    TIMESTAMPTZ NOT NULL
);
