-- Service teams (服务队: 矛盾调解, 综合信息, 文艺活动 ...): an organisation's
-- standing team with its service items, times and rules on display, and its
-- members over time. Hours may be logged for a team a member belongs to.
CREATE TABLE service_teams (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    name          TEXT NOT NULL,
    items         TEXT NOT NULL,
    schedule      TEXT NOT NULL,
    rules         TEXT NOT NULL,
    closed_on     DATE,
    created_by    BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_teams_org ON service_teams (tenant_id, org_id);

CREATE TABLE service_team_members (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    team_id       BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    joined_on     DATE NOT NULL,
    -- Set when the member leaves; the history stays.
    left_on       DATE,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_team_members_team ON service_team_members (tenant_id, team_id);
CREATE INDEX service_team_members_member ON service_team_members (tenant_id, member_id);

-- Hours may name the team they were served in or the activity (a member
-- present at it); and who confirmed them: the
-- organisation's staff or the resident served (through their revisit link).
ALTER TABLE service_hours ADD COLUMN team_id BIGINT;
ALTER TABLE service_hours ADD COLUMN activity_id BIGINT;
ALTER TABLE service_hours ADD COLUMN decided_via TEXT;

-- A member's yearly evaluation (年度服务评价): drafted from the confirmed
-- record of the year, reviewed by the member's organisation with a grade and
-- a comment. One per member and year.
CREATE TABLE service_evaluations (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    -- The member's organisation when drafted (where it is reviewed).
    org_id        BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    year          BIGINT NOT NULL,
    minutes       BIGINT NOT NULL,
    spans         BIGINT NOT NULL,
    draft         TEXT NOT NULL,
    state         TEXT NOT NULL,
    grade         TEXT,
    comment       TEXT,
    drafted_by    BIGINT NOT NULL,
    drafted_at    TIMESTAMPTZ NOT NULL,
    reviewed_by   BIGINT,
    reviewed_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX service_evaluations_member_year ON service_evaluations (tenant_id, member_id, year);
CREATE INDEX service_evaluations_org ON service_evaluations (tenant_id, org_id, year);

-- Members invited to a published micro-wish (suggested by their skills and
-- interests and where they live); accepting claims the wish as the member.
CREATE TABLE wish_invitations (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    request_id    BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    state         TEXT NOT NULL,
    invited_by    BIGINT NOT NULL,
    answered_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX wish_invitations_member ON wish_invitations (tenant_id, member_id, state);
CREATE INDEX wish_invitations_request ON wish_invitations (tenant_id, request_id);
