-- Hardship cases (困难帮扶档案) on a member or a household: the situation
-- (seen in scope only), a review date, help given, and the care fund's
-- applications made from the case. Closing keeps the history.
CREATE TABLE hardship_cases (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    member_id     BIGINT,
    household_id  BIGINT,
    subject       TEXT NOT NULL,
    situation     TEXT NOT NULL,
    opened_on     DATE NOT NULL,
    review_on     DATE NOT NULL,
    closed_on     DATE,
    close_reason  TEXT,
    opened_by     BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX hardship_cases_org ON hardship_cases (tenant_id, org_id);
CREATE INDEX hardship_cases_member ON hardship_cases (tenant_id, member_id);
CREATE INDEX hardship_cases_household ON hardship_cases (tenant_id, household_id);

CREATE TABLE hardship_help (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    case_id       BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    given_on      DATE NOT NULL,
    kind          TEXT NOT NULL,
    what          TEXT NOT NULL,
    recorded_by   BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX hardship_help_case ON hardship_help (tenant_id, case_id);

-- The case an application for a payment was made from (if any).
ALTER TABLE care_applications ADD COLUMN case_id BIGINT;
