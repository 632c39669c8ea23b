-- Contact responsibility and full coverage (SQLite). Keep in step with ../postgres/0003_coverage.sql.

-- Who looks after whom, as dated events: a row is inserted when a contact
-- starts; ending it sets until/ended_by/end_reason once. The roster on a date D
-- is `since <= D AND (until IS NULL OR until > D)`. `from_id`/`to_id` point at
-- members, cadres, households or orgs as `from_kind`/`to_kind` say; `org_id`
-- is the organisation of the side looked after (for the scope filter).
CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    level         TEXT NOT NULL,
    from_kind     TEXT NOT NULL,
    from_id       BIGINT NOT NULL,
    to_kind       TEXT NOT NULL,
    to_id         BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    since         DATE NOT NULL,
    until         DATE,
    reason        TEXT,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    ended_by      BIGINT,
    ended_at      TIMESTAMPTZ,
    end_reason    TEXT,
    proposal_id   BIGINT,
    CHECK (until IS NULL OR until >= since)
);
CREATE INDEX contacts_to ON contacts (tenant_id, level, to_kind, to_id);
CREATE INDEX contacts_from ON contacts (tenant_id, level, from_id);
CREATE INDEX contacts_active_to ON contacts (tenant_id, level, to_id) WHERE until IS NULL;
CREATE INDEX contacts_active_from ON contacts (tenant_id, level, from_id) WHERE until IS NULL;
CREATE INDEX contacts_org ON contacts (tenant_id, org_id, level);
-- One member per household at a time, and no contact twice at once.
CREATE UNIQUE INDEX contacts_one_member ON contacts (tenant_id, to_id) WHERE level = 'member_household' AND until IS NULL;
CREATE UNIQUE INDEX contacts_once ON contacts (tenant_id, level, from_id, to_id) WHERE until IS NULL;

-- Quota rules: a range per level (both columns NULL: no quota at that level).
-- An organisation without a row inherits the rule of its nearest ancestor.
CREATE TABLE quota_rules (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    preset        TEXT,
    central_per_building BOOLEAN NOT NULL DEFAULT FALSE,
    member_household_min BIGINT, member_household_max BIGINT,
    central_member_min BIGINT, central_member_max BIGINT,
    central_key_resident_min BIGINT, central_key_resident_max BIGINT,
    group_leader_central_min BIGINT, group_leader_central_max BIGINT,
    branch_committee_group_min BIGINT, branch_committee_group_max BIGINT,
    general_committee_branch_min BIGINT, general_committee_branch_max BIGINT,
    cadre_branch_min BIGINT, cadre_branch_max BIGINT,
    cadre_member_min BIGINT, cadre_member_max BIGINT,
    leader_community_min BIGINT, leader_community_max BIGINT,
    updated_by    BIGINT,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, org_id)
);

-- Exemption from contact duty: three approvals in order, each recorded once.
-- (No foreign key to members: the history outlives a deleted member, like contacts.)
CREATE TABLE exemptions (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    reason        TEXT NOT NULL,
    note          TEXT,
    status        TEXT NOT NULL,
    requested_by  BIGINT,
    requested_at  TIMESTAMPTZ NOT NULL,
    branch_on     DATE, branch_by BIGINT, branch_note TEXT,
    community_on  DATE, community_by BIGINT, community_note TEXT,
    street_on     DATE, street_by BIGINT, street_note TEXT,
    rejected_step TEXT, rejected_on DATE, rejected_by BIGINT, reject_reason TEXT,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX exemptions_member ON exemptions (tenant_id, member_id);
CREATE INDEX exemptions_org ON exemptions (tenant_id, org_id, status);
CREATE UNIQUE INDEX exemptions_open ON exemptions (tenant_id, member_id) WHERE status <> 'rejected';

-- A proposed assignment plan, kept in the database so any server process can
-- show, apply or discard it. Rows hold only the households whose member changes.
CREATE TABLE plan_proposals (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    move_penalty  BIGINT NOT NULL,
    cross_grid    BOOLEAN NOT NULL,
    households    BIGINT NOT NULL,
    members       BIGINT NOT NULL,
    capacity      BIGINT NOT NULL,
    covered_before BIGINT NOT NULL,
    covered_after BIGINT NOT NULL,
    max_coverage  BIGINT NOT NULL,
    cost          BIGINT NOT NULL,
    lower_bound   BIGINT NOT NULL,
    moves         BIGINT NOT NULL,
    gains         BIGINT NOT NULL,
    losses        BIGINT NOT NULL,
    seconds       DOUBLE PRECISION NOT NULL,
    notes         TEXT,
    fingerprint   TEXT NOT NULL,
    created_by    BIGINT,
    created_at    TIMESTAMPTZ NOT NULL,
    decided_by    BIGINT,
    decided_at    TIMESTAMPTZ,
    decision_reason TEXT
);
CREATE INDEX plan_proposals_org ON plan_proposals (tenant_id, org_id, status);

CREATE TABLE plan_proposal_rows (
    tenant_id     BIGINT NOT NULL,
    proposal_id   BIGINT NOT NULL REFERENCES plan_proposals(id) ON DELETE CASCADE,
    household_id  BIGINT NOT NULL,
    old_member_id BIGINT,
    new_member_id BIGINT,
    old_distance  BIGINT,
    new_distance  BIGINT,
    PRIMARY KEY (tenant_id, proposal_id, household_id)
);
CREATE INDEX plan_proposal_rows_new ON plan_proposal_rows (tenant_id, proposal_id, new_member_id);
CREATE INDEX plan_proposal_rows_old ON plan_proposal_rows (tenant_id, proposal_id, old_member_id);
