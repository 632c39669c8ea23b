-- Incentives beside assessment: star ratings (五星争创) made from final
-- assessments under a star indicator set, commendations (最美党员中心户 and
-- others) with nominations reviewed level by level, and warnings for members
-- who do not fulfil their duties with their path of decisions.
CREATE TABLE star_ratings (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    rubric_id      BIGINT NOT NULL,
    version_id     BIGINT NOT NULL,
    assessment_id  BIGINT NOT NULL,
    period         TEXT NOT NULL,
    score_tenths   BIGINT NOT NULL,
    of_points      BIGINT NOT NULL,
    satisfaction_permille BIGINT,
    by_score       BIGINT NOT NULL,
    stars          BIGINT NOT NULL,
    limit_note     TEXT,
    previous_stars BIGINT,
    rated_at_org   BIGINT NOT NULL,
    rated_by       BIGINT NOT NULL,
    rated_by_name  TEXT NOT NULL,
    rated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, org_id, rubric_id, period)
);
CREATE INDEX star_ratings_period ON star_ratings (tenant_id, period);

CREATE TABLE commendation_rounds (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    title          TEXT NOT NULL,
    year           BIGINT NOT NULL,
    nominate_from  DATE NOT NULL,
    nominate_until DATE NOT NULL,
    state          TEXT NOT NULL,
    note           TEXT,
    created_by     BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    published_at   TIMESTAMPTZ
);
CREATE INDEX commendation_rounds_year ON commendation_rounds (tenant_id, year);

CREATE TABLE nominations (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    round_id       BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    reasons        TEXT NOT NULL,
    snapshot       TEXT NOT NULL,
    state          TEXT NOT NULL,
    level_org_id   BIGINT,
    nominated_by   BIGINT NOT NULL,
    nominated_at   TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, round_id, member_id)
);

CREATE TABLE nomination_steps (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    nomination_id  BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    org_id         BIGINT NOT NULL,
    note           TEXT,
    by_user        BIGINT NOT NULL,
    by_name        TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX nomination_steps_of ON nomination_steps (tenant_id, nomination_id);

CREATE TABLE member_warnings (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    member_id      BIGINT NOT NULL,
    org_id         BIGINT NOT NULL,
    state          TEXT NOT NULL,
    grounds        TEXT NOT NULL,
    basis          TEXT NOT NULL,
    rectify_until  DATE,
    next_due       DATE,
    proposed_by    BIGINT NOT NULL,
    proposed_at    TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX member_warnings_member ON member_warnings (tenant_id, member_id);
CREATE INDEX member_warnings_org ON member_warnings (tenant_id, org_id);

CREATE TABLE member_warning_steps (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    warning_id     BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    note           TEXT NOT NULL,
    due            DATE,
    by_user        BIGINT NOT NULL,
    by_name        TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX member_warning_steps_of ON member_warning_steps (tenant_id, warning_id);

-- A file attached to an assessor's score as evidence (photo or PDF in `files`).
ALTER TABLE assessment_scores ADD COLUMN file_id BIGINT;

-- Residents' satisfaction from a survey (入户测评), entered by the level above for an
-- assessment whose organisation has no revisits to measure it.
ALTER TABLE assessments ADD COLUMN survey_permille BIGINT;
ALTER TABLE assessments ADD COLUMN survey_note TEXT;
