-- redcell registry schema (SQLite). Keep in step with ../postgres/0001_registry.sql.
-- Every row carries tenant_id (the id of the top-level organisation). On SQLite the
-- row id is the rowid; on PostgreSQL the primary key is (tenant_id, id).

CREATE TABLE orgs (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    parent_id     BIGINT REFERENCES orgs(id),
    path          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    secretary     TEXT,
    phone         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX orgs_path ON orgs (tenant_id, path);
CREATE INDEX orgs_parent ON orgs (tenant_id, parent_id);

CREATE TABLE grids (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX grids_org ON grids (tenant_id, org_id);

CREATE TABLE buildings (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    grid_id       BIGINT NOT NULL REFERENCES grids(id),
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    units         INTEGER NOT NULL,
    floors        INTEGER NOT NULL,
    x             DOUBLE PRECISION NOT NULL,
    y             DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION,
    lon           DOUBLE PRECISION,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX buildings_grid ON buildings (tenant_id, grid_id);
CREATE INDEX buildings_org ON buildings (tenant_id, org_id);

CREATE TABLE households (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    building_id   BIGINT NOT NULL REFERENCES buildings(id),
    grid_id       BIGINT NOT NULL REFERENCES grids(id),
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    unit_no       INTEGER NOT NULL,
    room          TEXT NOT NULL,
    tags          BIGINT NOT NULL DEFAULT 0,
    note          TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, building_id, unit_no, room)
);
CREATE INDEX households_grid ON households (tenant_id, grid_id);
CREATE INDEX households_org ON households (tenant_id, org_id);

CREATE TABLE residents (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    household_id  BIGINT REFERENCES households(id),
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    name          TEXT NOT NULL,
    gender        TEXT NOT NULL,
    birth_date    DATE NOT NULL,
    id_number     TEXT NOT NULL,
    phone         TEXT,
    note          TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, id_number)
);
CREATE INDEX residents_household ON residents (tenant_id, household_id);
CREATE INDEX residents_org ON residents (tenant_id, org_id);
CREATE INDEX residents_name ON residents (tenant_id, name);
CREATE INDEX residents_phone ON residents (tenant_id, phone);

CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    grid_id       BIGINT NOT NULL REFERENCES grids(id),
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    address       TEXT,
    contact       TEXT,
    phone         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX units_grid ON units (tenant_id, grid_id);

CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    resident_id   BIGINT NOT NULL REFERENCES residents(id),
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    joined_on     DATE,
    work_unit     TEXT,
    skills        TEXT,
    interests     TEXT,
    free_time     TEXT,
    central_household BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, resident_id)
);
CREATE INDEX members_org ON members (tenant_id, org_id);

CREATE TABLE cadres (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT,
    title         TEXT,
    member_id     BIGINT REFERENCES members(id),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX cadres_org ON cadres (tenant_id, org_id);

-- Where a cadre is stationed: organisations (and optionally one grid of each).
CREATE TABLE cadre_stations (
    tenant_id     BIGINT NOT NULL,
    cadre_id      BIGINT NOT NULL REFERENCES cadres(id) ON DELETE CASCADE,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (tenant_id, cadre_id, org_id)
);
CREATE INDEX cadre_stations_org ON cadre_stations (tenant_id, org_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE grants (
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id        BIGINT NOT NULL REFERENCES orgs(id),
    role          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, org_id, role)
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    user_id       BIGINT,
    action        TEXT NOT NULL,
    entity        TEXT NOT NULL,
    entity_id     BIGINT,
    detail        TEXT
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);
