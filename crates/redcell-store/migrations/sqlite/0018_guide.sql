-- The service guide (便民服务指南, SQLite). Keep in step with ../postgres/0018_guide.sql.

-- One errand a resident can bring to an organisation (the street or a
-- community): its handling class, the materials (one per line), the working
-- days it takes, where to go and who may do it on the resident's behalf.
CREATE TABLE service_guide (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL,
    org_id        BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    class         TEXT NOT NULL,
    materials     TEXT NOT NULL,
    working_days  BIGINT NOT NULL,
    place         TEXT NOT NULL,
    proxy         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK (working_days >= 0)
);
CREATE INDEX service_guide_org ON service_guide (tenant_id, org_id);
CREATE UNIQUE INDEX service_guide_name ON service_guide (tenant_id, org_id, name);
