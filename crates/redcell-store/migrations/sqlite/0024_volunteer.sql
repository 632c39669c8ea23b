-- Volunteering (志愿服务): service posts published by an organisation,
-- members' claims with the agreement (领岗协议) they signed at each version
-- of the post, and service hours that count only once confirmed by someone
-- other than the member.
CREATE TABLE service_posts (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    title         TEXT NOT NULL,
    duty          TEXT NOT NULL,
    place         TEXT NOT NULL,
    schedule      TEXT NOT NULL,
    headcount     BIGINT NOT NULL,
    skills        TEXT NOT NULL,
    -- Raised by every change of the terms; agreements name the version.
    version       BIGINT NOT NULL,
    closed_on     DATE,
    created_by    BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_posts_org ON service_posts (tenant_id, org_id);

CREATE TABLE service_claims (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    post_id       BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    claimed_on    DATE NOT NULL,
    -- Set when the member leaves the post (or it closes); kept for history.
    ended_on      DATE,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_claims_post ON service_claims (tenant_id, post_id);
CREATE INDEX service_claims_member ON service_claims (tenant_id, member_id);

-- Every version of an agreement a member signed, as generated then.
CREATE TABLE service_agreements (
    tenant_id     BIGINT NOT NULL,
    claim_id      BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    body          TEXT NOT NULL,
    signed_on     DATE NOT NULL,
    signed_by     BIGINT NOT NULL
);
CREATE UNIQUE INDEX service_agreements_version ON service_agreements (tenant_id, claim_id, version);

CREATE TABLE service_hours (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    -- The organisation where the service was done (the post's or the request's).
    org_id        BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    post_id       BIGINT,
    request_id    BIGINT,
    work_date     DATE NOT NULL,
    start_min     BIGINT NOT NULL,
    end_min       BIGINT NOT NULL,
    minutes       BIGINT NOT NULL,
    note          TEXT NOT NULL,
    state         TEXT NOT NULL,
    decided_by    BIGINT,
    decided_at    TIMESTAMPTZ,
    decision_note TEXT,
    logged_by     BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_hours_member ON service_hours (tenant_id, member_id, work_date);
CREATE INDEX service_hours_org ON service_hours (tenant_id, org_id, state);

-- In-service members' reports (在职党员报到): a member employed elsewhere
-- reports to the community where they live; returned (with the reason) when
-- they move away. The community's register is the open reports.
CREATE TABLE inservice_reports (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    -- The residence community (or the organisation under it) receiving the report.
    org_id         BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    employer       TEXT NOT NULL,
    -- The employer's party organisation, which receives the feedback card.
    employer_org   TEXT NOT NULL,
    employer_phone TEXT,
    reported_on    DATE NOT NULL,
    handled_by     BIGINT NOT NULL,
    returned_on    DATE,
    return_reason  TEXT,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX inservice_reports_org ON inservice_reports (tenant_id, org_id);
CREATE INDEX inservice_reports_member ON inservice_reports (tenant_id, member_id);
