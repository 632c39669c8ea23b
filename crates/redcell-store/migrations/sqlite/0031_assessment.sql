-- Assessment (考评): rubrics as versioned TOML texts, an assessment per
-- organisation, rubric and half-year, the scores entered by named assessors
-- (self-assessment and review), the measured items frozen at publication,
-- the steps taken, objections during publication, and the party-building
-- brands a measure counts. The registry fields the six-in-one measures read
-- are on members.
CREATE TABLE rubrics (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE rubric_versions (
    id             INTEGER PRIMARY KEY,
    tenant_id      BIGINT NOT NULL,
    rubric_id      BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    effective_from DATE NOT NULL,
    body           TEXT NOT NULL,
    note           TEXT,
    created_by     BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, rubric_id, version)
);

CREATE TABLE assessments (
    id               INTEGER PRIMARY KEY,
    tenant_id        BIGINT NOT NULL,
    org_id           BIGINT NOT NULL,
    rubric_id        BIGINT NOT NULL,
    version_id       BIGINT NOT NULL,
    period           TEXT NOT NULL,
    state            TEXT NOT NULL,
    objections_until DATE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, org_id, rubric_id, period)
);
CREATE INDEX assessments_period ON assessments (tenant_id, period);

CREATE TABLE assessment_scores (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    item_no       BIGINT NOT NULL,
    stage         TEXT NOT NULL,
    tenths        BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    evidence      TEXT,
    scored_by     BIGINT NOT NULL,
    scorer_name   TEXT NOT NULL,
    scored_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, assessment_id, item_no, stage)
);

CREATE TABLE assessment_measures (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    item_no       BIGINT NOT NULL,
    outcome       TEXT NOT NULL,
    figures       TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, assessment_id, item_no)
);

CREATE TABLE assessment_steps (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    note          TEXT,
    by_user       BIGINT NOT NULL,
    by_name       TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX assessment_steps_of ON assessment_steps (tenant_id, assessment_id);

CREATE TABLE assessment_objections (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    item_no       BIGINT,
    body          TEXT NOT NULL,
    by_user       BIGINT NOT NULL,
    by_name       TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    answer        TEXT,
    answered_by   TEXT,
    answered_at   TIMESTAMPTZ
);
CREATE INDEX assessment_objections_of ON assessment_objections (tenant_id, assessment_id);

CREATE TABLE party_brands (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL,
    name          TEXT NOT NULL,
    since         DATE NOT NULL,
    note          TEXT,
    created_by    BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX party_brands_org ON party_brands (tenant_id, org_id);

ALTER TABLE members ADD COLUMN party_post TEXT;
ALTER TABLE members ADD COLUMN education TEXT;
ALTER TABLE members ADD COLUMN social_worker_cert BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE members ADD COLUMN cross_appointed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE members ADD COLUMN training_year BIGINT;
ALTER TABLE members ADD COLUMN training_days BIGINT;
