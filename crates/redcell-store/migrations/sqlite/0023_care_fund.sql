-- The care fund (党内关爱基金): a double-entry ledger per fund. Entries are
-- never edited (a correction is a reversing entry); balances are derived
-- from the lines (each entry's lines sum to zero). Payments go through an
-- application decided at the fund's configured levels before they are paid.
CREATE TABLE care_funds (
    id              INTEGER PRIMARY KEY,
    tenant_id       BIGINT NOT NULL,
    org_id          BIGINT NOT NULL,
    name            TEXT NOT NULL,
    -- 1: the fund's organisation approves; 2: then the organisation above.
    approval_levels BIGINT NOT NULL,
    -- How many days a payment stays on the public list (公示).
    publish_days    BIGINT NOT NULL,
    created_by      BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX care_funds_name ON care_funds (tenant_id, org_id, name);

CREATE TABLE care_entries (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    fund_id       BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    entry_date    DATE NOT NULL,
    memo          TEXT NOT NULL,
    receipt       TEXT,
    reverses_id   BIGINT,
    application_id BIGINT,
    recorded_by   BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_entries_fund ON care_entries (tenant_id, fund_id, entry_date);
CREATE UNIQUE INDEX care_entries_reverses ON care_entries (tenant_id, reverses_id);

CREATE TABLE care_lines (
    tenant_id     BIGINT NOT NULL,
    entry_id      BIGINT NOT NULL,
    account       TEXT NOT NULL,
    amount        BIGINT NOT NULL
);
CREATE INDEX care_lines_entry ON care_lines (tenant_id, entry_id);

-- Who asked for help, how much and why. The reason (often health or family)
-- is seen only in scope, never published.
CREATE TABLE care_applications (
    id              INTEGER PRIMARY KEY,
    tenant_id       BIGINT NOT NULL,
    fund_id         BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    member_id       BIGINT,
    person_name     TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL,
    approved_amount BIGINT,
    paid_entry_id   BIGINT,
    paid_on         DATE,
    applied_by      BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_applications_fund ON care_applications (tenant_id, fund_id, state);

CREATE TABLE care_decisions (
    tenant_id       BIGINT NOT NULL,
    application_id  BIGINT NOT NULL,
    level           BIGINT NOT NULL,
    decision        TEXT NOT NULL,
    amount          BIGINT,
    reason          TEXT NOT NULL,
    decided_by      BIGINT NOT NULL,
    decided_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX care_decisions_level ON care_decisions (tenant_id, application_id, level);

-- A bank statement's balance on a date against the ledger's.
CREATE TABLE care_assertions (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    fund_id       BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    on_date       DATE NOT NULL,
    statement     BIGINT NOT NULL,
    ledger        BIGINT NOT NULL,
    recorded_by   BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_assertions_fund ON care_assertions (tenant_id, fund_id, on_date);
